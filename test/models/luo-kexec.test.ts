import { describe, expect, it } from 'vitest'
import { DEV, DEV2, Model, TOKEN, preserved, recoverAll, retrieved, vmSetup } from './harness.ts'

describe('LUO sessions and preservation (old kernel)', () => {
  it('/dev/liveupdate is exclusive; session names are unique and at most 63 bytes', () => {
    const m = new Model()
    expect(m.errno('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'a' })).toBe('EBADF')
    m.out('LIVEUPDATE_OPEN')
    expect(m.errno('LIVEUPDATE_OPEN')).toBe('EBUSY')
    m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'a' })
    expect(m.errno('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'a' })).toBe('EEXIST')
    expect(m.errno('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'x'.repeat(64) })).toBe('EINVAL')
  })

  it('tokens are unique per session (EEXIST); a file nobody handles is ENOENT; a file is preserved once', () => {
    const m = new Model()
    const luo = m.out('LIVEUPDATE_OPEN')
    const s = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'a' })
    const s2 = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'b' })
    const fd = m.out('MEMFD_CREATE', { pages: 1 })
    const fd2 = m.out('MEMFD_CREATE', { pages: 1 })
    m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd, token: 7n })
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: fd2, token: 7n })).toBe('EEXIST')
    // another session may reuse the token
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s2, fd: fd2, token: 7n })).toBe('ok')
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: luo, token: 8n })).toBe('ENOENT')
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s2, fd, token: 9n })).toBe('EBUSY')
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: fd, fd, token: 9n })).toBe('ENOTTY')
  })

  it('preserve order is memfd -> iommufd -> cdev', () => {
    const m = new Model()
    const vm = vmSetup(m)
    m.out('LIVEUPDATE_OPEN')
    const s = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'vm0' })
    // cdev first: its HWPT's domain is not preserved yet (EINVAL)
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.cdev, token: 3n })).toBe('EINVAL')
    // iommufd before its memfd: ENOENT
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.ifd, token: 2n })).toBe('ENOENT')
    m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.memfd, token: 1n })
    m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.ifd, token: 2n })
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.cdev, token: 3n })).toBe('ok')
  })

  it('the memory rule: anonymous areas are EINVAL; unsealed memfds are EINVAL under sealed-preserved-memfd only', () => {
    for (const [rule, want] of [['sealed-preserved-memfd', 'EINVAL'], ['preserved-memfd', 'ok']] as const) {
      const m = new Model({ memoryRule: rule })
      const vm = vmSetup(m, { seal: false })
      m.out('LIVEUPDATE_OPEN')
      const s = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'vm0' })
      m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.memfd, token: 1n })
      expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.ifd, token: 2n })).toBe(want)
    }
    const m = new Model()
    const vm = vmSetup(m)
    m.out('IOMMU_IOAS_MAP', { iommufd: vm.ifd, ioas: vm.ioas, length: 0x1000n, iova: 0x400000n })
    m.out('LIVEUPDATE_OPEN')
    const s = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'vm0' })
    m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.memfd, token: 1n })
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: vm.ifd, token: 2n })).toBe('EINVAL')
  })

  it('while preserved: IOAS map/unmap EBUSY, attach/detach EBUSY, memfd truncate EPERM, marking allowed (audit I13)', () => {
    const m = new Model()
    const vm = preserved(m)
    expect(m.errno('IOMMU_IOAS_MAP', { iommufd: vm.ifd, ioas: vm.ioas, length: 0x1000n, iova: 0x400000n })).toBe('EBUSY')
    expect(m.errno('IOMMU_IOAS_UNMAP', { iommufd: vm.ifd, ioas: vm.ioas, iova: 0x100000n, length: 0x4000n })).toBe('EBUSY')
    expect(m.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: vm.cdev, pt_id: vm.ioas })).toBe('EBUSY')
    expect(m.errno('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: vm.cdev })).toBe('EBUSY')
    expect(m.errno('MEMFD_TRUNCATE', { fd: vm.memfd, pages: 8 })).toBe('EPERM')
    // V1 "TODO: return error if iommufd is already preserved"; V3b's liveupdate_mutex does not
    // refuse either: the mark succeeds and does not reach the record taken at preserve
    expect(m.errno('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: vm.ifd, hwpt_id: vm.hwpt, token: 5n })).toBe('ok')
  })

  it('closing the session before reboot unpreserves everything (I10)', () => {
    const m = new Model()
    const vm = preserved(m)
    m.out('CLOSE', { fd: vm.session })
    expect(m.errno('IOMMU_IOAS_MAP', { iommufd: vm.ifd, ioas: vm.ioas, length: 0x1000n, iova: 0x400000n })).toBe('ok')
    expect(m.errno('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: vm.cdev })).toBe('ok')
    expect(Object.values(m.s.domains).some((d) => d.preserved)).toBe(false)
  })

  it('a freeze failure (IRQs enabled) cancels the reboot and changes nothing', () => {
    const m = new Model()
    const vm = preserved(m)
    m.out('VFIO_DEVICE_SET_IRQS', { cdev: vm.cdev, enabled: true })
    const before = m.s
    expect(m.errno('KEXEC')).toBe('EINVAL')
    expect(m.s).toBe(before)
    m.out('VFIO_DEVICE_SET_IRQS', { cdev: vm.cdev, enabled: false })
    expect(m.errno('KEXEC')).toBe('ok')
  })

  it('marks: duplicate token EADDRINUSE, only HWPT_PAGING (ENOENT)', () => {
    const m = new Model()
    const vm = vmSetup(m)
    const h2 = m.out('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: vm.devId, pt_id: vm.ioas })
    expect(m.errno('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: vm.ifd, hwpt_id: h2, token: TOKEN })).toBe('EADDRINUSE')
    expect(m.errno('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: vm.ifd, hwpt_id: vm.ioas, token: 9n })).toBe('ENOENT')
  })
})

describe('KEXEC and the next kernel', () => {
  it('a preserved device keeps its translation and its DID; an unpreserved one is cleared', () => {
    const m = new Model()
    const vm2 = vmSetup(m, { bdf: DEV2 })
    void vm2
    const other = m.dma(DEV2, 0x101000n)
    expect(other).not.toBe('fault')
    const m2 = new Model()
    preserved(m2)
    const pa = m2.dma(DEV, 0x101000n)
    const did = m2.s.units.dmar0.context[DEV].did
    m2.out('KEXEC')
    expect(m2.dma(DEV, 0x101000n)).toBe(pa)
    expect(m2.s.units.dmar0.context[DEV].did).toBe(did)
    expect(m2.s.units.dmar0.ida).toContain(did)
    expect(m2.s.groups[DEV].owner).toEqual({ kind: 'restored', session: 'vm0', token: '2' })
    expect(Object.keys(m2.s.fds)).toEqual([])
    expect(m2.props()).toEqual([])
  })

  it('after kexec: the cdev cannot be opened (EBUSY), a foreign iommufd is EPERM, a kernel driver EBUSY, finish EBUSY', () => {
    const m = new Model()
    preserved(m)
    m.out('KEXEC')
    expect(m.errno('VFIO_CDEV_OPEN', { bdf: DEV })).toBe('EBUSY')
    expect(m.errno('DRIVER_BIND', { bdf: DEV, driver: 'pci-pf-stub' })).toBe('EBUSY')
    const r = retrieved(m)
    const fresh = m.out('IOMMUFD_OPEN')
    expect(m.errno('VFIO_DEVICE_BIND_IOMMUFD', { cdev: r.cdev, iommufd: fresh })).toBe('EPERM')
    expect(m.errno('LIVEUPDATE_SESSION_FINISH', { session: r.session })).toBe('EBUSY')
    expect(m.errno('IOMMU_HWPT_LU_RESTORE', { iommufd: fresh, token: TOKEN })).toBe('ENOTTY')
    expect(m.errno('IOMMU_HWPT_LU_RESTORE', { iommufd: r.ifd, token: 999n })).toBe('ENOENT')
  })

  it('retrieve: ENOENT for unknown names and tokens, EINVAL when retrieved twice, idempotent files', () => {
    const m = new Model()
    preserved(m)
    m.out('KEXEC')
    m.out('LIVEUPDATE_OPEN')
    expect(m.errno('LIVEUPDATE_IOCTL_RETRIEVE_SESSION', { name: 'nope' })).toBe('ENOENT')
    const s = m.out('LIVEUPDATE_IOCTL_RETRIEVE_SESSION', { name: 'vm0' })
    expect(m.errno('LIVEUPDATE_IOCTL_RETRIEVE_SESSION', { name: 'vm0' })).toBe('EINVAL')
    expect(m.errno('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: s, token: 99n })).toBe('ENOENT')
    const a = m.out('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: s, token: 1n })
    const b = m.out('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: s, token: 1n })
    expect(a).not.toBe(b)
    expect(m.s.fds[a]).toBe(m.s.fds[b])
  })

  it('the full documented recovery succeeds, DMA never changes, nothing leaks', () => {
    const m = new Model()
    preserved(m)
    const pa = m.dma(DEV, 0x102000n)
    m.out('KEXEC')
    const r = retrieved(m)
    const rec = recoverAll(m, r)
    expect(rec.finish).toBe('ok')
    expect(m.dma(DEV, 0x102000n)).toBe(pa)
    // the finished session stays, empty, until its fd is closed (luo_session_release)
    expect(m.s.luo.incoming).toEqual([{ name: 'vm0', files: [], retrievedAs: m.s.fds[r.session], finished: true }])
    m.out('CLOSE', { fd: r.session })
    expect(m.s.luo.incoming).toEqual([])
    expect(m.s.pages.filter((p) => p.use === 'incoming')).toEqual([])
    expect(m.props()).toEqual([])
  })

  it('an unpreserved memfd is gone after kexec and its memory is free', () => {
    const m = new Model()
    m.out('MEMFD_CREATE', { pages: 3 })
    m.out('KEXEC')
    expect(m.s.pages.every((p) => p.use === 'free')).toBe(true)
    expect(m.out('MEMFD_CREATE', { pages: 1 })).toBe(3)
  })
})
