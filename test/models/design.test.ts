// Every design axis option changes behaviour the way the domain notes describe.
import { describe, expect, it } from 'vitest'
import { AXES, DesignError, PROFILES, resolveDesign } from '../../models/index.ts'
import { DEV, Model, TOKEN, preserved, recoverAll, retrieved, vmSetup } from './harness.ts'

function afterKexec(overrides: Record<string, string> = {}, profile = 'lpc2025') {
  const m = new Model(overrides, profile)
  const vm = preserved(m)
  m.out('KEXEC')
  return { m, vm }
}

describe('design resolution', () => {
  it('profiles carry the table of DESIGN.md §2.3 and unknown names are errors', () => {
    expect(PROFILES['rfc-v2'].design.replaceSwap).toBe('teardown-then-setup')
    expect(PROFILES.phase1.design.restoreFlow).toBe('boot-only')
    // memoryRule is read now (V1 iommufd_save_hwpts checks no areas: 'none'); see profiles.test.ts
    // session 9 read the V1 claim, VT-d replace, DID reservation and device preserve (docs/readings/session9-inferred-rules.md)
    expect(PROFILES['rfc-v2'].inferred).toEqual(['didReservation', 'pasidPreservation', 'devicePreserve'])
    expect(PROFILES['rfc-v2'].design.memoryRule).toBe('none')
    expect(() => resolveDesign({ profile: 'v9' })).toThrow(DesignError)
    expect(() => resolveDesign({ overrides: { ownership: 'maybe' } })).toThrow(/unknown option 'maybe' for axis 'ownership'/)
    expect(() => resolveDesign({ overrides: { colour: 'red' } })).toThrow(/unknown design axis 'colour'/)
    for (const [axis, options] of Object.entries(AXES))
      for (const o of options) expect(resolveDesign({ overrides: { [axis]: o } })[axis as keyof typeof AXES]).toBe(o)
  })
})

describe('replaceFlow', () => {
  it('replace-on-attach: LU_RESTORE gives the HWPT, the first attach replaces the restored domain', () => {
    const { m } = afterKexec({ replaceFlow: 'replace-on-attach' })
    const r = retrieved(m)
    expect(recoverAll(m, r).finish).toBe('ok')
  })

  it('reassociate-at-bind: bind re-attaches the restored HWPT, LU_RESTORE returns it, attach is a replace', () => {
    const { m } = afterKexec({ replaceFlow: 'reassociate-at-bind' })
    const r = retrieved(m)
    const devId = m.out('VFIO_DEVICE_BIND_IOMMUFD', { cdev: r.cdev, iommufd: r.ifd })
    const objs = m.s.files[m.s.fds[r.ifd]]
    expect(objs.kind === 'iommufd' && Object.values(objs.objects).some((o) => o.type === 'HWPT_PAGING' && o.restored)).toBe(true)
    const restored = m.out('IOMMU_HWPT_LU_RESTORE', { iommufd: r.ifd, token: TOKEN })
    expect(m.errno('IOMMU_DESTROY', { iommufd: r.ifd, id: restored })).toBe('EBUSY')
    const ioas = m.out('IOMMU_IOAS_ALLOC', { iommufd: r.ifd })
    m.out('IOMMU_IOAS_MAP_FILE', { iommufd: r.ifd, ioas, memfd: r.memfd, start: 0n, length: 0x4000n, iova: 0x100000n })
    const hwpt = m.out('IOMMU_HWPT_ALLOC', { iommufd: r.ifd, dev_id: devId, pt_id: ioas })
    m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: r.cdev, pt_id: hwpt })
    m.out('IOMMU_DESTROY', { iommufd: r.ifd, id: restored })
    expect(m.errno('LIVEUPDATE_SESSION_FINISH', { session: r.session })).toBe('ok')
    expect(m.props()).toEqual([])
  })
})

describe('ownership', () => {
  it('token: only the retrieved iommufd may bind; allow-if-preserved: anyone (an ownership finding); strict: EBUSY', () => {
    for (const [option, foreign, own] of [
      ['token', 'EPERM', 'ok'],
      ['allow-if-preserved', 'ok', 'ok'],
      ['strict', 'EBUSY', 'EBUSY'],
    ] as const) {
      const { m } = afterKexec({ ownership: option })
      const r = retrieved(m)
      const fresh = m.out('IOMMUFD_OPEN')
      expect(m.errno('VFIO_DEVICE_BIND_IOMMUFD', { cdev: r.cdev, iommufd: fresh }), option).toBe(foreign)
      if (foreign === 'ok') {
        expect(m.props()).toContain('ownership')
        continue
      }
      expect(m.errno('VFIO_DEVICE_BIND_IOMMUFD', { cdev: r.cdev, iommufd: r.ifd }), option).toBe(own)
    }
  })

  it('strict makes the documented recovery impossible (recoverability)', () => {
    const { m } = afterKexec({ ownership: 'strict' })
    expect(m.props()).toContain('recoverability')
  })
})

describe('replaceSwap', () => {
  it('teardown-then-setup exposes a window with no translation; hitless does not', () => {
    for (const [swap, windows] of [['hitless', 0], ['teardown-then-setup', 1]] as const) {
      const m = new Model({ replaceSwap: swap })
      const vm = vmSetup(m)
      const h2 = m.out('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: vm.devId, pt_id: vm.ioas })
      m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: vm.cdev, pt_id: h2 })
      expect(m.transient.length).toBe(windows)
      // an ordinary (non-restored) replace may fault in the window: the core only forbids a third domain
      expect(m.props()).toEqual([])
    }
  })

  it('teardown-then-setup breaks dma-continuity when the domain replaced is a restored one', () => {
    const { m } = afterKexec({ replaceSwap: 'teardown-then-setup' })
    expect(m.violations.some((v) => v.property === 'dma-continuity' && /not hitless/.test(v.message))).toBe(true)
  })
})

describe('markSemantics', () => {
  it('flag allows unmark; no-unmark and pin do not (EOPNOTSUPP); pin holds the HWPT (destroy EBUSY)', () => {
    for (const [option, unmark, destroy] of [
      ['flag', 'ok', 'ok'],
      ['no-unmark', 'EOPNOTSUPP', 'ok'],
      ['pin', 'EOPNOTSUPP', 'EBUSY'],
    ] as const) {
      const m = new Model({ markSemantics: option })
      const vm = vmSetup(m)
      m.out('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: vm.cdev })
      expect(m.errno('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: vm.ifd, hwpt_id: vm.hwpt, token: TOKEN, preserve: false }), option).toBe(unmark)
      if (unmark === 'ok') m.out('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: vm.ifd, hwpt_id: vm.hwpt, token: TOKEN })
      expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: vm.hwpt }), option).toBe(destroy)
    }
  })

  it('pin holds a reference (destroy EBUSY) but refuses no re-mark (audit I12: V3a fails later, at preserve); no-unmark overwrites the token', () => {
    const p = new Model({ markSemantics: 'pin' })
    const a = vmSetup(p)
    expect(p.errno('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: a.ifd, hwpt_id: a.hwpt, token: 5n })).toBe('ok')
    p.out('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: a.cdev })
    expect(p.errno('IOMMU_DESTROY', { iommufd: a.ifd, id: a.hwpt })).toBe('EBUSY')
    const n = new Model({ markSemantics: 'no-unmark' })
    const b = vmSetup(n)
    expect(n.errno('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: b.ifd, hwpt_id: b.hwpt, token: 5n })).toBe('ok')
  })
})

describe('ioasFreeze', () => {
  it('whole-ioas: map is EBUSY; domain-only: the IOAS stays mutable and only the domain is frozen', () => {
    const w = new Model({ ioasFreeze: 'whole-ioas' })
    const a = preserved(w)
    expect(w.errno('IOMMU_IOAS_MAP', { iommufd: a.ifd, ioas: a.ioas, length: 0x1000n, iova: 0x400000n })).toBe('EBUSY')
    const m = new Model({ ioasFreeze: 'domain-only' })
    const vm = preserved(m)
    expect(m.errno('IOMMU_IOAS_MAP', { iommufd: vm.ifd, ioas: vm.ioas, length: 0x1000n, iova: 0x400000n })).toBe('ok')
    expect(m.dma(DEV, 0x400000n)).toBe('fault')
    expect(m.props()).toEqual([])
  })

  it('domain-only: the frozen domain and its IOAS drift apart; once unpreserved, freed memory stays mapped (dma-safety)', () => {
    const m = new Model({ ioasFreeze: 'domain-only' })
    const vm = preserved(m)
    expect(m.errno('IOMMU_IOAS_UNMAP', { iommufd: vm.ifd, ioas: vm.ioas, iova: 0x100000n, length: 0x4000n })).toBe('ok')
    expect(m.dma(DEV, 0x100000n)).toBe(0n) // the frozen domain still maps it
    m.out('CLOSE', { fd: vm.session }) // unpreserve: LUO lets go of the memfd
    expect(m.props()).toEqual([])
    m.out('CLOSE', { fd: vm.memfd }) // nothing pins the pages any more: they are freed
    expect(m.violations.find((v) => v.property === 'dma-safety')?.message).toMatch(/0000:01:00.0 .* which is free memory/)
  })
})

describe('memoryRule across kexec', () => {
  it('preserved-memfd admits a memfd that later shrinks; the orphaned page is lost at kexec (dma-safety)', () => {
    const m = new Model({ memoryRule: 'preserved-memfd' })
    const vm = vmSetup(m, { seal: false })
    m.out('MEMFD_TRUNCATE', { fd: vm.memfd, pages: 2 })
    m.out('LIVEUPDATE_OPEN')
    const s = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'vm0' })
    m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.memfd, token: 1n })
    m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.ifd, token: 2n })
    m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.cdev, token: 3n })
    expect(m.props()).toEqual([])
    m.out('KEXEC')
    expect(m.violations.find((v) => v.property === 'dma-safety')?.message).toMatch(/which is free memory/)
  })
})

describe('restoreHwpt', () => {
  it('needs-rebind: LU_RESTORE is ENODEV until the device is bound', () => {
    const { m } = afterKexec({ restoreHwpt: 'needs-rebind' })
    const r = retrieved(m)
    expect(m.errno('IOMMU_HWPT_LU_RESTORE', { iommufd: r.ifd, token: TOKEN })).toBe('ENODEV')
    m.out('VFIO_DEVICE_BIND_IOMMUFD', { cdev: r.cdev, iommufd: r.ifd })
    expect(m.errno('IOMMU_HWPT_LU_RESTORE', { iommufd: r.ifd, token: TOKEN })).toBe('ok')
    expect(m.errno('IOMMU_HWPT_LU_RESTORE', { iommufd: r.ifd, token: TOKEN })).toBe('ENOENT')
  })
})

describe('unfinished', () => {
  it('finish-fails: EBUSY with an unreclaimed token; finish-discards: succeeds and the device loses its translation', () => {
    const a = afterKexec({ unfinished: 'finish-fails' }).m
    const ra = retrieved(a)
    expect(a.errno('LIVEUPDATE_SESSION_FINISH', { session: ra.session })).toBe('EBUSY')
    const b = afterKexec({ unfinished: 'finish-discards' }).m
    const rb = retrieved(b)
    expect(b.errno('LIVEUPDATE_SESSION_FINISH', { session: rb.session })).toBe('ok')
    expect(b.dma(DEV, 0x100000n)).toBe('fault')
    expect(b.props()).toContain('dma-continuity')
    expect(b.props()).toContain('ownership')
  })
})

describe('didReservation', () => {
  it('per-unit reserves on the device unit only; all-units on every unit (leaks after finish); none not at all', () => {
    const per = afterKexec({ didReservation: 'per-unit' }).m
    expect(per.s.units.dmar0.ida).toEqual([2])
    expect(per.s.units.dmar1.ida).toEqual([])
    const all = afterKexec({ didReservation: 'all-units' }).m
    expect(all.s.units.dmar1.ida).toEqual([2])
    expect(all.violations.some((v) => v.property === 'recoverability' && /dmar1: DID 2 reserved but used by no domain/.test(v.message))).toBe(true)
    const none = afterKexec({ didReservation: 'none' }).m
    expect(none.s.units.dmar0.ida).toEqual([])
    expect(none.props()).toContain('isolation')
  })
})

describe('pasidPreservation', () => {
  function withPasid(option: string) {
    const m = new Model({ pasidPreservation: option })
    const vm = vmSetup(m, { bdf: '0000:00:02.0' })
    const ph = m.out('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: vm.devId, pt_id: vm.ioas, flags: ['PASID'] })
    m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: vm.cdev, pt_id: ph })
    m.out('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: vm.ifd, hwpt_id: ph, token: 77n })
    const other = m.out('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: vm.devId, pt_id: vm.ioas, flags: ['PASID'] })
    m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: vm.cdev, pt_id: other, pasid: 1 })
    m.out('LIVEUPDATE_OPEN')
    const s = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'vm0' })
    m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.memfd, token: 1n })
    m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.ifd, token: 2n })
    return { m, r: m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.cdev, token: 3n }) }
  }
  it('none: EOPNOTSUPP; all: EINVAL while the PASID HWPT is not preserved; selective: the PASID is dropped', () => {
    expect(withPasid('none').r).toBe('EOPNOTSUPP')
    expect(withPasid('all').r).toBe('EINVAL')
    const sel = withPasid('selective')
    expect(sel.r).toBe('ok')
    sel.m.out('KEXEC')
    expect(sel.m.dma('0000:00:02.0', 0x100000n)).toBe(0n)
    expect(sel.m.dma('0000:00:02.0', 0x100000n, 1)).toBe('fault')
  })
})

describe('restoreFlow', () => {
  it('boot-only: DMA survives but the iommufd cannot be retrieved (sticky EOPNOTSUPP) and finish never succeeds', () => {
    const { m } = afterKexec({ restoreFlow: 'boot-only' })
    expect(m.dma(DEV, 0x100000n)).toBe(0n)
    const r = retrieved(m)
    expect(r.ifd).toBe(-1)
    expect(m.errno('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: r.session, token: 2n })).toBe('EOPNOTSUPP')
    expect(m.errno('LIVEUPDATE_SESSION_FINISH', { session: r.session })).toBe('EBUSY')
    expect(m.props()).toContain('recoverability')
  })
})
