// Scenario JSON shared by the scenario and CLI tests.

/** The example of DESIGN.md §2.2, verbatim. */
export const DESIGN_EXAMPLE = {
  name: 'lpc2025-preserved-dma-survives-kexec',
  description: 'optional prose',
  platform: {
    memoryPages: 256,
    units: [{ name: 'dmar0', dids: 16 }],
    devices: [{ bdf: '0000:01:00.0', unit: 'dmar0' }],
  },
  design: { profile: 'lpc2025', ownership: 'token' },
  steps: [
    { op: 'MEMFD_CREATE', args: { pages: 4 }, as: 'mfd' },
    { op: 'MEMFD_SEAL', args: { fd: '$mfd', seals: ['SEAL', 'GROW', 'SHRINK'] } },
    { op: 'IOMMUFD_OPEN', as: 'ifd' },
    { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: '$ifd' }, as: 'ioas' },
    {
      op: 'IOMMU_IOAS_MAP_FILE',
      args: { iommufd: '$ifd', ioas: '$ioas', memfd: '$mfd', start: '0x0', length: '0x4000', iova: '0x100000' },
    },
    { op: 'DMA', args: { bdf: '0000:01:00.0', iova: '0x100000' }, expect: 'fault' },
    { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: '$ioas' }, expect: 'ok' },
    { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: '$ioas' }, expect: 'ENOENT' },
  ],
}
