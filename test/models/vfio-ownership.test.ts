import { describe, expect, it } from 'vitest'
import { DEV, DEV2, Model, vmSetup } from './harness.ts'

const GROUPED = {
  memoryPages: 64,
  units: [{ name: 'dmar0', dids: 16 }],
  devices: [
    { bdf: '0000:05:00.0', unit: 'dmar0', group: 'g5' },
    { bdf: '0000:05:00.1', unit: 'dmar0', group: 'g5' },
  ],
}

describe('VFIO cdev', () => {
  it('open: ENOENT for an unknown device', () => {
    const m = new Model()
    expect(m.errno('VFIO_CDEV_OPEN', { bdf: '0000:7f:00.0' })).toBe('ENOENT')
  })

  it('bind: EINVAL when already bound or bound through another cdev fd; EBADFD for a non-iommufd', () => {
    const m = new Model()
    const vm = vmSetup(m)
    expect(m.errno('VFIO_DEVICE_BIND_IOMMUFD', { cdev: vm.cdev, iommufd: vm.ifd })).toBe('EINVAL')
    const again = m.out('VFIO_CDEV_OPEN', { bdf: DEV })
    expect(m.errno('VFIO_DEVICE_BIND_IOMMUFD', { cdev: again, iommufd: vm.ifd })).toBe('EINVAL')
    const c2 = m.out('VFIO_CDEV_OPEN', { bdf: DEV2 })
    expect(m.errno('VFIO_DEVICE_BIND_IOMMUFD', { cdev: c2, iommufd: vm.memfd })).toBe('EBADFD')
  })

  it('attach: EINVAL unbound, ENOENT unknown pt, a second attach is a replace', () => {
    const m = new Model()
    const vm = vmSetup(m)
    const c2 = m.out('VFIO_CDEV_OPEN', { bdf: DEV2 })
    expect(m.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: c2, pt_id: vm.hwpt })).toBe('EINVAL')
    expect(m.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: vm.cdev, pt_id: 99 })).toBe('ENOENT')
    const ioas2 = m.out('IOMMU_IOAS_ALLOC', { iommufd: vm.ifd })
    m.out('IOMMU_IOAS_MAP', { iommufd: vm.ifd, ioas: ioas2, length: 0x1000n, iova: 0x100000n })
    const h2 = m.out('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: vm.devId, pt_id: ioas2 })
    expect(m.dma(DEV, 0x100000n)).toBe(0n)
    expect(m.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: vm.cdev, pt_id: h2 })).toBe('ok')
    expect(m.dma(DEV, 0x100000n)).toBe(0x4000n)
    expect(m.props()).toEqual([])
  })

  it('detach of nothing is a silent success; after detach the owned RID is blocked', () => {
    const m = new Model()
    const vm = vmSetup(m)
    m.out('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: vm.cdev })
    expect(m.errno('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: vm.cdev })).toBe('ok')
    expect(m.dma(DEV, 0x100000n)).toBe('fault')
    expect(m.s.groups[DEV].domain).toBe('blocking')
  })

  it('PASID: EOPNOTSUPP without capability, EINVAL beyond max or for a non-PASID-compatible HWPT', () => {
    const m = new Model()
    const vm = vmSetup(m) // DEV has no PASID support
    expect(m.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: vm.cdev, pt_id: vm.hwpt, pasid: 1 })).toBe('EOPNOTSUPP')
    const m2 = new Model()
    const v2 = vmSetup(m2, { bdf: DEV2 })
    expect(m2.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: v2.cdev, pt_id: v2.hwpt, pasid: 9 })).toBe('EINVAL')
    expect(m2.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: v2.cdev, pt_id: v2.hwpt, pasid: 1 })).toBe('EINVAL')
    const ph = m2.out('IOMMU_HWPT_ALLOC', { iommufd: v2.ifd, dev_id: v2.devId, pt_id: v2.ioas, flags: ['PASID'] })
    // the RID's HWPT is not PASID-compatible: EINVAL; make the RID compatible first
    expect(m2.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: v2.cdev, pt_id: ph, pasid: 1 })).toBe('EINVAL')
    m2.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: v2.cdev, pt_id: ph })
    expect(m2.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: v2.cdev, pt_id: ph, pasid: 1 })).toBe('ok')
    expect(m2.dma(DEV2, 0x100000n, 1)).toBe(0n)
    expect(m2.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: v2.cdev, pt_id: v2.ioas, pasid: 2 })).toBe('EINVAL')
    // the RID cannot go back to a non-compatible HWPT while a PASID is attached
    expect(m2.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: v2.cdev, pt_id: v2.hwpt })).toBe('EINVAL')
    m2.out('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: v2.cdev, pasid: 1 })
    expect(m2.dma(DEV2, 0x100000n, 1)).toBe('fault')
  })

  it('closing the cdev unbinds: detach, DEVICE gone, ownership released, group back on its default domain', () => {
    const m = new Model()
    const vm = vmSetup(m)
    m.out('CLOSE', { fd: vm.cdev })
    expect(m.s.groups[DEV]).toMatchObject({ ownerCnt: 0, owner: { kind: 'none' }, domain: 'default' })
    expect(m.dma(DEV, 0x100000n)).toBe('fault')
    expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: vm.devId })).toBe('ENOENT')
    expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: vm.hwpt })).toBe('ok')
  })
})

describe('DMA ownership', () => {
  it('a kernel driver on an owned group is EBUSY; an iommufd on a DMA-API group is EPERM', () => {
    const m = new Model()
    const vm = vmSetup(m)
    expect(m.errno('DRIVER_BIND', { bdf: DEV, driver: 'pci-pf-stub' })).toBe('EBUSY')
    const m2 = new Model()
    expect(m2.errno('DRIVER_BIND', { bdf: DEV2, driver: 'e1000e' })).toBe('ok')
    expect(m2.s.groups[DEV2].owner.kind).toBe('dma-api')
    expect(m2.errno('VFIO_CDEV_OPEN', { bdf: DEV2 })).toBe('ENOENT')
    expect(m2.errno('DRIVER_BIND', { bdf: DEV2, driver: 'e1000e' })).toBe('EBUSY')
    expect(m2.errno('DRIVER_BIND', { bdf: DEV2, driver: 'vfio-pci' })).toBe('ok')
    expect(m2.s.groups[DEV2].ownerCnt).toBe(0)
    void vm
  })

  it('two devices of one group: the same iommufd nests, another iommufd is EPERM', () => {
    const m = new Model({}, 'lpc2025', GROUPED)
    const a = m.out('IOMMUFD_OPEN')
    const b = m.out('IOMMUFD_OPEN')
    const c0 = m.out('VFIO_CDEV_OPEN', { bdf: '0000:05:00.0' })
    const c1 = m.out('VFIO_CDEV_OPEN', { bdf: '0000:05:00.1' })
    m.out('VFIO_DEVICE_BIND_IOMMUFD', { cdev: c0, iommufd: a })
    expect(m.errno('VFIO_DEVICE_BIND_IOMMUFD', { cdev: c1, iommufd: b })).toBe('EPERM')
    expect(m.errno('VFIO_DEVICE_BIND_IOMMUFD', { cdev: c1, iommufd: a })).toBe('ok')
    expect(m.s.groups.g5.ownerCnt).toBe(2)
  })

  it('a device of a multi-device group cannot be preserved: the PCI layer says EINVAL (audit L31; no longer ENOENT)', () => {
    const m = new Model({}, 'lpc2025', GROUPED)
    const c0 = m.out('VFIO_CDEV_OPEN', { bdf: '0000:05:00.0' })
    m.out('LIVEUPDATE_OPEN')
    const s = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 's' })
    expect(m.errno('LIVEUPDATE_SESSION_PRESERVE_FD', { session: s, fd: c0, token: 1n })).toBe('EINVAL')
  })
})
