// Each property predicate can fail: a hand-made trace step that breaks it is caught, and the
// same step left intact is not.
import { produce } from 'immer'
import { describe, expect, it } from 'vitest'
import type { Op, Result, State } from '../../models/index.ts'
import { step } from '../../models/index.ts'
import { MODEL_PROPERTIES, type TraceStep } from '../../src/check/properties/index.ts'
import { DEV, Model, preserved, retrieved } from '../models/harness.ts'

const OK: Result = { ok: true }

function real(m: Model, op: Op): TraceStep {
  const prev = m.s
  const r = step(prev, op)
  return { prev, op, result: r.result, next: r.state, transient: r.transient }
}

function oldKernel(): { m: Model; vm: ReturnType<typeof preserved> } {
  const m = new Model()
  const vm = preserved(m)
  return { m, vm }
}

describe('dma-continuity', () => {
  it('holds across a real KEXEC, fails when KEXEC loses a preserved device entry', () => {
    const { m } = oldKernel()
    const t = real(m, { op: 'KEXEC', args: {} })
    expect(MODEL_PROPERTIES['dma-continuity'](t)).toEqual([])
    const broken = produce(t.next, (d) => {
      delete d.units.dmar0.context[DEV]
    })
    expect(MODEL_PROPERTIES['dma-continuity']({ ...t, next: broken })[0]).toMatch(/0000:01:00.0 pasid 0 iova 0x100000: 0x0 -> fault at KEXEC/)
  })

  it('fails when an op not aimed at the device changes its mapping', () => {
    const { m } = oldKernel()
    const t = real(m, { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'x' } })
    const dom = t.next.units.dmar0.context[DEV].domain
    const broken = produce(t.next, (d) => {
      d.domains[dom].extents[0].pages[0] = 200
    })
    expect(MODEL_PROPERTIES['dma-continuity']({ ...t, next: broken })).toHaveLength(1)
  })

  it('fails when an intermediate state goes through a third PA', () => {
    const { m } = oldKernel()
    const t = real(m, { op: 'DMA', args: { bdf: DEV, iova: 0n } })
    const dom = t.next.units.dmar0.context[DEV].domain
    const mid = produce(t.next, (d) => {
      d.domains[dom].extents[0].pages[0] = 9
    })
    expect(MODEL_PROPERTIES['dma-continuity']({ ...t, transient: [mid] })[0]).toMatch(/neither the old 0x0 nor the new 0x0/)
  })
})

describe('dma-safety', () => {
  it('fails when a device can reach a free page', () => {
    const { m } = oldKernel()
    const t = real(m, { op: 'DMA', args: { bdf: DEV, iova: 0x100000n } })
    expect(MODEL_PROPERTIES['dma-safety'](t)).toEqual([])
    const broken = produce(t.next, (d) => {
      d.pages[1] = { use: 'free' }
    })
    expect(MODEL_PROPERTIES['dma-safety']({ ...t, next: broken })[0]).toMatch(/can reach PA 0x1000 at iova 0x101000, which is free memory/)
  })

  it('fails when an unpreserved device keeps a context entry across KEXEC', () => {
    const { m } = oldKernel()
    const t = real(m, { op: 'KEXEC', args: {} })
    const broken = produce(t.next, (d) => {
      d.units.dmar1.context['0000:02:00.0'] = { domain: 999, did: 3 }
    })
    expect(MODEL_PROPERTIES['dma-safety']({ ...t, next: broken })).toContain('0000:02:00.0 was not preserved but still has a context entry after KEXEC (I2)')
  })
})

describe('ownership', () => {
  it('fails when a restored group goes to an iommufd that was not retrieved with its token', () => {
    const { m } = oldKernel()
    m.out('KEXEC')
    const r = retrieved(m)
    const fresh = m.out('IOMMUFD_OPEN')
    const t = real(m, { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: r.cdev, iommufd: r.ifd } })
    expect(MODEL_PROPERTIES.ownership(t)).toEqual([])
    const broken = produce(t.next, (d) => {
      d.groups[DEV].owner = { kind: 'iommufd', file: m.s.fds[fresh] }
    })
    expect(MODEL_PROPERTIES.ownership({ ...t, next: broken })[0]).toMatch(/owner moved from restored:vm0\/2 to iommufd:\d+/)
  })

  it('fails when KEXEC brings a preserved group up under the wrong token', () => {
    const { m } = oldKernel()
    const t = real(m, { op: 'KEXEC', args: {} })
    expect(MODEL_PROPERTIES.ownership(t)).toEqual([])
    const broken = produce(t.next, (d) => {
      d.groups[DEV].owner = { kind: 'restored', session: 'vm0', token: '3' }
    })
    expect(MODEL_PROPERTIES.ownership({ ...t, next: broken })[0]).toMatch(/owned by restored:vm0\/3, not by the preserved iommufd restored:vm0\/2/)
  })
})

describe('isolation', () => {
  it('fails when one DID tags two domains on a unit', () => {
    const { m } = oldKernel()
    const t = real(m, { op: 'DMA', args: { bdf: DEV, iova: 0n } })
    expect(MODEL_PROPERTIES.isolation(t)).toEqual([])
    const broken = produce(t.next, (d) => {
      d.units.dmar0.context['0000:00:02.0'] = { domain: 4242, did: d.units.dmar0.context[DEV].did }
    })
    expect(MODEL_PROPERTIES.isolation({ ...t, next: broken })[0]).toMatch(/DID 2 tags two live domains/)
  })
})

describe('atomicity', () => {
  it('fails when a failed op changed the observation', () => {
    const { m } = oldKernel()
    const t = real(m, { op: 'IOMMU_DESTROY', args: { iommufd: 99, id: 1 } })
    expect(t.result.ok).toBe(false)
    expect(MODEL_PROPERTIES.atomicity(t)).toEqual([])
    const broken = produce(t.prev, (d: State) => {
      delete d.fds[3]
    })
    expect(MODEL_PROPERTIES.atomicity({ ...t, next: broken })).toEqual(['IOMMU_DESTROY failed but changed the observable state'])
  })
})

describe('recoverability', () => {
  it('fails when the documented recovery cannot complete after KEXEC', () => {
    const m = new Model({ restoreFlow: 'boot-only' })
    preserved(m)
    const t = real(m, { op: 'KEXEC', args: {} })
    expect(MODEL_PROPERTIES.recoverability(t)[0]).toMatch(/retrieve iommufd token 2: .* returned -EOPNOTSUPP/)
    const good = new Model()
    preserved(good)
    expect(MODEL_PROPERTIES.recoverability(real(good, { op: 'KEXEC', args: {} }))).toEqual([])
  })

  it('fails when a finish leaves handover pages behind', () => {
    const { m } = oldKernel()
    m.out('KEXEC')
    const r = retrieved(m)
    const t = real(m, { op: 'LIVEUPDATE_SESSION_FINISH', args: { session: r.session } })
    const done = produce(t.prev, (d) => {
      d.luo.incoming = []
      d.pages[5] = { use: 'incoming', session: 'vm0', token: '1', index: 5 }
    })
    expect(MODEL_PROPERTIES.recoverability({ ...t, result: OK, next: done })).toEqual(['1 handover page(s) still held after every session finished'])
  })
})

describe('dma-continuity and deferred releases', () => {
  it('a cdev closed after retrieve is released at FINISH: its detach then is the user\'s, not a violation', () => {
    const m = new Model()
    preserved(m)
    m.out('KEXEC')
    const r = retrieved(m)
    m.out('VFIO_DEVICE_BIND_IOMMUFD', { cdev: r.cdev, iommufd: r.ifd })
    const restored = m.out('IOMMU_HWPT_LU_RESTORE', { iommufd: r.ifd, token: 0x1234n })
    const ioas = m.out('IOMMU_IOAS_ALLOC', { iommufd: r.ifd })
    m.out('IOMMU_IOAS_MAP_FILE', { iommufd: r.ifd, ioas, memfd: r.memfd, start: 0n, length: 0x4000n, iova: 0x100000n })
    const dev = m.s.files[m.s.fds[r.ifd]]
    const devId = dev.kind === 'iommufd' ? Number(Object.entries(dev.objects).find(([, o]) => o.type === 'DEVICE')![0]) : 0
    const hwpt = m.out('IOMMU_HWPT_ALLOC', { iommufd: r.ifd, dev_id: devId, pt_id: ioas })
    m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: r.cdev, pt_id: hwpt })
    m.out('IOMMU_DESTROY', { iommufd: r.ifd, id: restored })
    m.out('CLOSE', { fd: r.cdev })
    expect(m.dma(DEV, 0x100000n)).toBe(0n) // LUO still holds the cdev: still bound
    const t = real(m, { op: 'LIVEUPDATE_SESSION_FINISH', args: { session: r.session } })
    expect(t.result.ok).toBe(true)
    expect(MODEL_PROPERTIES['dma-continuity'](t)).toEqual([])
    // the same translation change with the cdev still alive is a violation
    const kept = produce(t.next, (d) => {
      for (const [id, f] of Object.entries(t.prev.files)) if (f.kind === 'vfio') d.files[Number(id)] = f
    })
    expect(MODEL_PROPERTIES['dma-continuity']({ ...t, next: kept })[0]).toMatch(/at LIVEUPDATE_SESSION_FINISH, which was not aimed at it/)
  })
})
