// The kernel implementation from the inside: VT-d entries are real bytes in the legacy layout,
// DMA goes through the IOTLB, the invalidations happen where the VT-d rules put them, DIDs
// are handed out and freed as domain_attach_iommu does, table pages count against the table
// zone exactly as the model counts them, a restored domain is adopted once and shared.

import { describe, expect, it } from 'vitest'
import { initState, run as modelRun, step } from '../../models/index.ts'
import { resolveDesign } from '../../models/design.ts'
import { resultToString, type Op, type Result } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { ONE_UNIT_PLATFORM } from './helpers.ts'
import { Kernel } from '../../src/kernel/index.ts'
import { hwEntry } from '../../src/kernel/vtd.ts'

const design = resolveDesign({})
const P: Platform = ONE_UNIT_PLATFORM
const A = '0000:01:00.0'
const B = '0000:02:00.0'

/** Run ops on a kernel, each expected to succeed; returns the kernel and the outputs. */
function setup(ops: Op[], platform = P, d = design) {
  const k = new Kernel(platform, d)
  const out: (number | bigint | undefined)[] = []
  for (const o of ops) {
    const r = k.apply(o, [])
    expect(r.result.ok, `${o.op}: ${resultToString(r.result)}`).toBe(true)
    out.push((r.result as { out?: number | bigint }).out)
  }
  return { k, out }
}

const base: Op[] = [
  { op: 'MEMFD_CREATE', args: { pages: 2 } }, // fd 3, pages 0-1
  { op: 'IOMMUFD_OPEN', args: {} }, // fd 4
  { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } }, // ioas 1
  { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 1, memfd: 3, start: 0n, length: 0x1000n, iova: 0x100000n } },
  { op: 'VFIO_CDEV_OPEN', args: { bdf: A } }, // fd 5
  { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 4 } }, // dev 2
  { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1, flags: ['PASID'] } }, // hwpt 3
]
const attachA: Op = { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3 } }
const dmaA: Op = { op: 'DMA', args: { bdf: A, iova: 0x100000n } }

describe('VT-d structures', () => {
  it('a context entry is 128-bit legacy layout: P, the table root, AW, the DID', () => {
    const { k } = setup([...base, attachA])
    const s = k.internals
    const dom = s.deviceByBdf.get(A)!.rid!.domain
    const root = s.m.phys.iommuPage(s.m.rtaddr[0])!
    // bus 1, devfn 0: root entry 1, lower context table
    expect(root[4] & 1).toBe(1)
    const ctp = root[5] * 0x100000 + (root[4] >>> 12)
    const ct = s.m.phys.iommuPage(ctp)!
    expect(ct[0] & 1).toBe(1) // lo bit 0: present
    expect(ct[1] * 0x100000 + (ct[0] >>> 12)).toBe(dom.pt.root) // lo bits 63:12: second-level root
    expect(ct[2] & 7).toBe(2) // hi bits 2:0: AW, 48-bit 4-level
    expect((ct[2] >>> 8) & 0xffff).toBe(2) // hi bits 23:8: DID, the lowest from IDA_START_DID
    // the root and context tables live outside the table zone: only the domain's 4 pages count
    expect(k.observe([]).memory.tablePages).toBe(4)
    expect(s.m.phys.zoneOf(ctp)).toBe('iommu')
  })

  it('a PASID entry sits at directory index pasid >> 6, table index pasid & 63, with P, PGTT and the DID', () => {
    const { k } = setup([...base, attachA, { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3, pasid: 5 } }])
    const s = k.internals
    const e = hwEntry(s.m, 0, 1, 0, 5)
    expect(e).toEqual({ root: s.deviceByBdf.get(A)!.rid!.domain.pt.root, did: 2 })
    expect(hwEntry(s.m, 0, 1, 0, 6)).toBeUndefined()
    expect(k.apply({ op: 'DMA', args: { bdf: A, pasid: 5, iova: 0x100010n } }, []).result).toEqual({ ok: true, out: 0x10n })
  })

  it('detach clears the entry and gives the DID back', () => {
    const { k } = setup([...base, attachA, { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev: 5 } }])
    const s = k.internals
    expect(hwEntry(s.m, 0, 1, 0, 0)).toBeUndefined()
    expect(s.units[0].ida.ids()).toEqual([])
    expect(k.apply(dmaA, []).result).toEqual({ ok: false, fault: 'not-present' })
  })
})

describe('the IOTLB', () => {
  it('DMA fills it, observation reads through it without filling', () => {
    const { k } = setup([...base, attachA])
    const iotlb = k.internals.m.iotlb
    k.observe([{ bdf: A, pasid: 0, iova: 0x100000n }])
    expect(iotlb.size).toBe(0)
    expect(k.apply(dmaA, []).result).toEqual({ ok: true, out: 0n })
    expect(iotlb.size).toBe(1)
  })

  it('unmap flushes every DID of the domain before the page can be reused', () => {
    const { k } = setup([...base, attachA, dmaA, { op: 'IOMMU_IOAS_UNMAP', args: { iommufd: 4, ioas: 1, iova: 0x100000n, length: 0x1000n } }])
    expect(k.internals.m.iotlb.size).toBe(0)
    expect(k.apply(dmaA, []).result).toEqual({ ok: false, fault: 'no-mapping' })
  })

  it('a hitless replace that reuses the DID flushes the old translations', () => {
    const { k } = setup([
      ...base,
      attachA,
      dmaA,
      { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } }, // ioas 4
      { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 4, memfd: 3, start: 0x1000n, length: 0x1000n, iova: 0x100000n } },
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 4 } }, // hwpt 5
    ])
    expect(k.apply({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 5 } }, []).result.ok).toBe(true)
    // the old domain still exists (its HWPT does), but DID 2 was freed and handed to the new one
    expect(k.internals.deviceByBdf.get(A)!.rid!.did).toBe(2)
    expect(k.apply(dmaA, []).result).toEqual({ ok: true, out: 0x1000n })
    expect(k.invariants()).toEqual([])
  })
})

describe('table zone accounting matches the model', () => {
  it('ENOMEM exactly when the model says so', () => {
    const small: Platform = { ...P, tablePages: 9 }
    const ops: Op[] = [
      ...base.slice(0, 6),
      // each domain mapping one 4 KiB page needs 4 table pages: two fit in 9, a third does not
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } },
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } },
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } },
      { op: 'IOMMU_IOAS_MAP', args: { iommufd: 4, ioas: 1, length: 0x1000n, iova: 0x200000n } },
      { op: 'IOMMU_IOAS_MAP', args: { iommufd: 4, ioas: 1, length: 0x1000n, iova: 0x101000n } },
    ]
    const k = new Kernel(small, design)
    const kr: Result[] = ops.map((o) => k.apply(o, []).result)
    const mr = modelRun(small, design, ops).results
    expect(kr).toEqual(mr)
    expect(kr.slice(6).map((r) => ('errno' in r ? r.errno : 'ok'))).toEqual(['ok', 'ok', 'ENOMEM', 'ENOMEM', 'ok'])
  })
})

describe('restored domains', () => {
  it('two preserved devices on one domain share one adopted table after KEXEC', () => {
    const two: Platform = { ...P, devices: [{ bdf: A, unit: 'dmar0' }, { bdf: B, unit: 'dmar0' }] }
    const ops: Op[] = [
      { op: 'MEMFD_CREATE', args: { pages: 2 } }, // 3
      { op: 'MEMFD_SEAL', args: { fd: 3, seals: ['SEAL', 'GROW', 'SHRINK'] } },
      { op: 'IOMMUFD_OPEN', args: {} }, // 4
      { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } }, // 1
      { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 1, memfd: 3, start: 0n, length: 0x2000n, iova: 0x100000n } },
      { op: 'VFIO_CDEV_OPEN', args: { bdf: A } }, // 5
      { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 4 } }, // 2
      { op: 'VFIO_CDEV_OPEN', args: { bdf: B } }, // 6
      { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 6, iommufd: 4 } }, // 3
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } }, // 4
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 4 } },
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 6, pt_id: 4 } },
      { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 4, token: 7n } },
      { op: 'LIVEUPDATE_OPEN', args: {} }, // 7
      { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 's' } }, // 8
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 3, token: 1n } },
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 4, token: 2n } },
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 5, token: 3n } },
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 6, token: 4n } },
    ]
    const { k } = setup(ops, two)
    const rtaddr = k.internals.m.rtaddr[0]
    const tables = k.observe([]).memory.tablePages
    expect(k.apply({ op: 'KEXEC', args: {} }, []).result).toEqual({ ok: true })
    const s = k.internals
    const [a, b] = [s.deviceByBdf.get(A)!, s.deviceByBdf.get(B)!]
    expect(a.rid!.domain).toBe(b.rid!.domain)
    expect(a.rid!.did).toBe(2)
    expect(b.rid!.did).toBe(2)
    expect(s.units[0].ida.ids()).toEqual([2])
    expect(s.m.rtaddr[0]).toBe(rtaddr) // translation stayed on: the root table is reused
    expect(k.observe([]).memory.tablePages).toBe(tables)
    expect(k.apply({ op: 'DMA', args: { bdf: B, iova: 0x101008n } }, []).result).toEqual({ ok: true, out: 0x1008n })
    expect(k.invariants()).toEqual([])
    // and the model agrees on the owners
    let m = initState(two, design)
    for (const o of [...ops, { op: 'KEXEC', args: {} } as Op]) m = step(m, o).state
    expect(k.observe([]).owners).toEqual({ [A]: 'restored:s/2', [B]: 'restored:s/2' })
    expect(m.groups[A].owner).toEqual({ kind: 'restored', session: 's', token: '2' })
  })
})

describe('PhysMem: the IOMMU structure zone', () => {
  it('sits after the table zone, is not counted as table pages, and crosses a kexec when preserved', async () => {
    const { PhysMem } = await import('../../src/kernel/phys.ts')
    const m = new PhysMem(4, 2, undefined, 3)
    const r = m.allocIommu() as number
    expect(r).toBe(6)
    expect(m.zoneOf(6)).toBe('iommu')
    expect(m.table(6)).toBeUndefined() // a PTE can never lead into it
    m.iommuPage(6)![3] = 0xabc
    expect(m.used('table')).toBe(0)
    expect(m.used('iommu')).toBe(1)
    m.preserve(6)
    const next = m.kexec()
    expect(next.isIncoming(6)).toBe(true)
    expect(next.iommuPage(6)![3]).toBe(0xabc)
    expect(next.restore(6)).toBe(true)
    expect(next.allocIommu()).toBe(7)
  })
})
