import { describe, expect, it } from 'vitest'
import { Model, DEV, vmSetup } from './harness.ts'
import { SMALL_PLATFORM } from '../../models/index.ts'

describe('memory and memfds', () => {
  it('allocates the lowest free pages and returns ENOMEM when memory runs out', () => {
    const m = new Model({}, 'lpc2025', SMALL_PLATFORM)
    const a = m.out('MEMFD_CREATE', { pages: 60 })
    expect(a).toBe(3)
    expect(m.errno('MEMFD_CREATE', { pages: 5 })).toBe('ENOMEM')
    expect(m.out('MEMFD_CREATE', { pages: 4 })).toBe(4)
  })

  it('seals: F_SEAL_SEAL forbids more seals, SHRINK/GROW forbid truncation (EPERM)', () => {
    const m = new Model()
    const fd = m.out('MEMFD_CREATE', { pages: 2 })
    m.out('MEMFD_SEAL', { fd, seals: ['SHRINK'] })
    expect(m.errno('MEMFD_TRUNCATE', { fd, pages: 1 })).toBe('EPERM')
    expect(m.errno('MEMFD_TRUNCATE', { fd, pages: 3 })).toBe('ok')
    m.out('MEMFD_SEAL', { fd, seals: ['GROW', 'SEAL'] })
    expect(m.errno('MEMFD_TRUNCATE', { fd, pages: 4 })).toBe('EPERM')
    expect(m.errno('MEMFD_SEAL', { fd, seals: ['WRITE'] })).toBe('EPERM')
  })

  it('seals on a non-memfd are EINVAL, on a closed fd EBADF', () => {
    const m = new Model()
    const ifd = m.out('IOMMUFD_OPEN')
    expect(m.errno('MEMFD_SEAL', { fd: ifd, seals: ['SEAL'] })).toBe('EINVAL')
    expect(m.errno('MEMFD_SEAL', { fd: 42, seals: ['SEAL'] })).toBe('EBADF')
  })

  it('a page cut off by truncate stays allocated while iommufd pins it', () => {
    const m = new Model()
    const vm = vmSetup(m, { seal: false })
    const pa = m.dma(DEV, 0x103000n)
    expect(m.errno('MEMFD_TRUNCATE', { fd: vm.memfd, pages: 2 })).toBe('ok')
    expect(m.s.pages[Number(pa) >> 12].use).toBe('orphan')
    expect(m.dma(DEV, 0x103000n)).toBe(pa)
    m.out('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: vm.cdev })
    m.out('IOMMU_DESTROY', { iommufd: vm.ifd, id: vm.hwpt })
    m.out('IOMMU_IOAS_UNMAP', { iommufd: vm.ifd, ioas: vm.ioas, iova: 0x100000n, length: 0x4000n })
    expect(m.s.pages[Number(pa) >> 12].use).toBe('free')
  })
})

describe('iommufd objects and IOAS', () => {
  it('object ids start at 1 and reuse the lowest free id', () => {
    const m = new Model()
    const ifd = m.out('IOMMUFD_OPEN')
    expect(m.out('IOMMU_IOAS_ALLOC', { iommufd: ifd })).toBe(1)
    expect(m.out('IOMMU_IOAS_ALLOC', { iommufd: ifd })).toBe(2)
    m.out('IOMMU_DESTROY', { iommufd: ifd, id: 1 })
    expect(m.out('IOMMU_IOAS_ALLOC', { iommufd: ifd })).toBe(1)
  })

  it('map: EINVAL for zero or unaligned length, EEXIST on overlap, auto IOVA never 0', () => {
    const m = new Model()
    const ifd = m.out('IOMMUFD_OPEN')
    const ioas = m.out('IOMMU_IOAS_ALLOC', { iommufd: ifd })
    expect(m.errno('IOMMU_IOAS_MAP', { iommufd: ifd, ioas, length: 0n })).toBe('EINVAL')
    expect(m.errno('IOMMU_IOAS_MAP', { iommufd: ifd, ioas, length: 0x1800n })).toBe('EINVAL')
    expect(m.errno('IOMMU_IOAS_MAP', { iommufd: ifd, ioas, length: 0x1000n, iova: 0x800n })).toBe('EINVAL')
    expect(m.out('IOMMU_IOAS_MAP', { iommufd: ifd, ioas, length: 0x2000n, iova: 0x10000n })).toBe(0x10000)
    expect(m.errno('IOMMU_IOAS_MAP', { iommufd: ifd, ioas, length: 0x1000n, iova: 0x11000n })).toBe('EEXIST')
    const auto = m.out('IOMMU_IOAS_MAP', { iommufd: ifd, ioas, length: 0x1000n })
    expect(auto).toBe(0x1000)
    // alignment = roundup_pow_of_two(length): 0x3000 -> aligned to 0x4000, past both areas
    expect(m.out('IOMMU_IOAS_MAP', { iommufd: ifd, ioas, length: 0x3000n })).toBe(0x4000)
    expect(m.errno('IOMMU_IOAS_MAP', { iommufd: ifd, ioas: 9, length: 0x1000n })).toBe('ENOENT')
    expect(m.errno('IOMMU_IOAS_ALLOC', { iommufd: 99 })).toBe('EBADF')
    const memfd = m.out('MEMFD_CREATE', { pages: 1 })
    expect(m.errno('IOMMU_IOAS_ALLOC', { iommufd: memfd })).toBe('ENOTTY')
    expect(m.errno('IOMMU_IOAS_MAP_FILE', { iommufd: ifd, ioas, memfd, start: 0n, length: 0x2000n })).toBe('EINVAL')
  })

  it('unmap: never splits an area (ENOENT), ENOENT on an empty range, unmap-all always works', () => {
    const m = new Model()
    const ifd = m.out('IOMMUFD_OPEN')
    const ioas = m.out('IOMMU_IOAS_ALLOC', { iommufd: ifd })
    m.out('IOMMU_IOAS_MAP', { iommufd: ifd, ioas, length: 0x4000n, iova: 0x10000n })
    expect(m.errno('IOMMU_IOAS_UNMAP', { iommufd: ifd, ioas, iova: 0x10000n, length: 0x1000n })).toBe('ENOENT')
    expect(m.errno('IOMMU_IOAS_UNMAP', { iommufd: ifd, ioas, iova: 0x80000n, length: 0x1000n })).toBe('ENOENT')
    expect(m.errno('IOMMU_IOAS_UNMAP', { iommufd: ifd, ioas, iova: 0x10000n, length: 0n })).toBe('EINVAL')
    expect(m.out('IOMMU_IOAS_UNMAP', { iommufd: ifd, ioas, iova: 0x0n, length: 0x100000n })).toBe(0x4000)
    expect(m.errno('IOMMU_IOAS_UNMAP', { iommufd: ifd, ioas, iova: 0n, length: (1n << 64n) - 1n })).toBe('ok')
    expect(m.s.pages.every((p) => p.use === 'free')).toBe(true)
  })

  it('a HWPT mirrors its IOAS: a later map shows through DMA, an unmap faults', () => {
    const m = new Model()
    const vm = vmSetup(m)
    expect(m.dma(DEV, 0x101000n)).toBe(0x1000n)
    const anon = m.out('IOMMU_IOAS_MAP', { iommufd: vm.ifd, ioas: vm.ioas, length: 0x1000n, iova: 0x200000n })
    expect(anon).toBe(0x200000)
    expect(m.dma(DEV, 0x200010n)).toBe(0x4010n)
    m.out('IOMMU_IOAS_UNMAP', { iommufd: vm.ifd, ioas: vm.ioas, iova: 0x200000n, length: 0x1000n })
    expect(m.dma(DEV, 0x200010n)).toBe('fault')
  })

  it('HWPT_ALLOC: ENOENT for an unknown device, EINVAL for an unknown pt_id, EOPNOTSUPP for a paging pt_id', () => {
    const m = new Model()
    const vm = vmSetup(m)
    expect(m.errno('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: 42, pt_id: vm.ioas })).toBe('ENOENT')
    expect(m.errno('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: vm.devId, pt_id: 42 })).toBe('EINVAL')
    expect(m.errno('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: vm.devId, pt_id: vm.hwpt })).toBe('EOPNOTSUPP')
    expect(m.errno('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: vm.devId, pt_id: vm.devId })).toBe('EINVAL')
    expect(m.errno('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: vm.devId, pt_id: vm.ioas, flags: ['DIRTY_TRACKING'] })).toBe('EOPNOTSUPP')
  })

  it('DESTROY: ENOENT, EBUSY for an IOAS with a HWPT, an attached HWPT and a bound DEVICE', () => {
    const m = new Model()
    const vm = vmSetup(m)
    expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: 77 })).toBe('ENOENT')
    expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: vm.ioas })).toBe('EBUSY')
    expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: vm.hwpt })).toBe('EBUSY')
    expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: vm.devId })).toBe('EBUSY')
    m.out('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: vm.cdev })
    expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: vm.hwpt })).toBe('ok')
    expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: vm.ioas })).toBe('ok')
  })

  it('an auto domain is created by attaching to an IOAS id and freed with its last attachment', () => {
    const m = new Model()
    const vm = vmSetup(m)
    const auto = m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: vm.cdev, pt_id: vm.ioas })
    expect(auto).not.toBe(vm.hwpt)
    expect(m.dma(DEV, 0x100000n)).toBe(0n)
    m.out('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: vm.cdev })
    expect(m.errno('IOMMU_DESTROY', { iommufd: vm.ifd, id: auto })).toBe('ENOENT')
    expect(m.dma(DEV, 0x100000n)).toBe('fault')
  })

  it('a device has one DID per unit; DIDs start at 2; ENOSPC when the unit runs out', () => {
    const m = new Model({}, 'lpc2025', {
      memoryPages: 64,
      units: [{ name: 'dmar0', dids: 3 }],
      devices: [{ bdf: '0000:01:00.0', unit: 'dmar0' }, { bdf: '0000:02:00.0', unit: 'dmar0' }],
    })
    const vm = vmSetup(m)
    expect(m.s.units.dmar0.context[DEV].did).toBe(2)
    const cdev2 = m.out('VFIO_CDEV_OPEN', { bdf: '0000:02:00.0' })
    const dev2 = m.out('VFIO_DEVICE_BIND_IOMMUFD', { cdev: cdev2, iommufd: vm.ifd })
    const h2 = m.out('IOMMU_HWPT_ALLOC', { iommufd: vm.ifd, dev_id: dev2, pt_id: vm.ioas })
    expect(m.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: cdev2, pt_id: h2 })).toBe('ENOSPC')
    // the same domain shares its DID
    expect(m.errno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: cdev2, pt_id: vm.hwpt })).toBe('ok')
    expect(m.s.units.dmar0.context['0000:02:00.0'].did).toBe(2)
  })
})
