// Checks written to kill mutants of src/kernel/ that the focused profile let live
// (MUTATION.md, "Score on src/kernel/"): each test names the mutant it kills. Every op runs on
// the model and the kernel implementation side by side (impl both): the kernel must return
// what the model returns, with no conformance violation, and the result is pinned too.

import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { resultToString } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { ONE_UNIT_PLATFORM } from '../kernel/helpers.ts'
import { createExecutor } from '../../src/check/index.ts'
import { A, ATTACHED as base, B, both } from './helpers.ts'

const P: Platform = ONE_UNIT_PLATFORM

describe('kernel gaps found by mutation testing', () => {
  // kills src/kernel/vfio.ts:188 `pasid >= dev.pasidCaps` -> `pasid > dev.pasidCaps`: the
  // generators draw PASIDs below the device's capability, never the first one past it
  it('a PASID equal to the device capability is EINVAL, the one below it attaches', () => {
    const r = both([
      ...base,
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3, pasid: 8 } },
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3, pasid: 7 } },
    ])
    expect(r.slice(-2)).toEqual([expect.stringMatching(/EINVAL/), expect.not.stringMatching(/E[A-Z]+/)])
  })

  // kills src/kernel/iommufd.ts:179 `if (!all)` -> `if (true)` (an unmap-all answered
  // EOVERFLOW) and covers the unmap-all branch (iommufd.ts:185, no test reached it):
  // IOMMU_IOAS_UNMAP with iova 0 and length U64_MAX unmaps every area (iommufd ioas.c)
  it('IOMMU_IOAS_UNMAP of iova 0, length U64_MAX unmaps everything and DMA then faults', () => {
    const r = both([
      ...base,
      { op: 'DMA', args: { bdf: A, iova: 0x101000n } },
      { op: 'IOMMU_IOAS_UNMAP', args: { iommufd: 4, ioas: 1, iova: 0n, length: 2n ** 64n - 1n } },
      { op: 'DMA', args: { bdf: A, iova: 0x101000n } },
      { op: 'IOMMU_IOAS_UNMAP', args: { iommufd: 4, ioas: 1, iova: 0n, length: 2n ** 64n - 1n } },
    ])
    // DMA reaches memfd page 1; the unmap reports the 2 pages (0x2000 bytes) it removed; the
    // same DMA then faults; a second unmap-all of the now empty IOAS unmaps 0 bytes
    expect(r.slice(-4)).toEqual(['0x1000', '0x2000', 'fault (no-mapping)', '0x0'])
  })

  // covers src/kernel/iommufd.ts:195 (no test reached it): an unmap that cuts into an area
  // without covering all of it is ENOENT (iopt_unmap_iova_range: areas are unmapped whole),
  // and the area stays mapped
  it('IOMMU_IOAS_UNMAP of part of an area is ENOENT and leaves it mapped', () => {
    const r = both([
      ...base,
      { op: 'IOMMU_IOAS_UNMAP', args: { iommufd: 4, ioas: 1, iova: 0x100000n, length: 0x1000n } },
      { op: 'DMA', args: { bdf: A, iova: 0x101000n } },
    ])
    expect(r.slice(-2)).toEqual([expect.stringMatching(/ENOENT/), '0x1000'])
  })

  // covers src/kernel/iommufd.ts:250 (no test reached it): a paging HWPT as pt_id asks for a
  // nested HWPT, which needs user data luv never passes: EOPNOTSUPP (iommufd_hwpt_alloc)
  it('IOMMU_HWPT_ALLOC on a paging HWPT is EOPNOTSUPP', () => {
    const r = both([...base, { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 3 } }])
    expect(r.at(-1)).toMatch(/EOPNOTSUPP/)
  })

  // kills src/kernel/index.ts:383 (`case 'dma-api'` removed from the observation of owners;
  // no test observed a group owned by a kernel driver): a kernel driver bound to a device
  // that no cdev holds takes the group for the DMA API, and VFIO can no longer claim it
  it('DRIVER_BIND of a kernel driver makes the group DMA-API owned, observed the same on both sides', () => {
    const e = createExecutor(P, resolveDesign({}), { impl: 'both' })
    const o = e.step({ op: 'DRIVER_BIND', args: { bdf: B, driver: 'pci-pf-stub' } })
    expect(o.violations).toEqual([])
    expect(resultToString(o.result)).toBe(resultToString(o.kernelResult!))
    expect(o.observation.owners).toEqual({ [A]: 'unowned', [B]: 'dma-api' })
    expect(o.kernelObservation?.owners).toEqual({ [A]: 'unowned', [B]: 'dma-api' })
  })
})
