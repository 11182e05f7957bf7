// Which posted version of the series a profile follows, and the uapi a reproducer for it
// uses: the mark ioctl's name and token width, and whether an HWPT can be restored. Profiles
// luv does not know here (one added later) get the newest posted uapi.

export interface SeriesUapi {
  /** the folder under src/report/c/include/ holding its <linux/iommufd.h> overlay */
  headers: string
  /** what a reader calls it, for the mail and the reproducer's header */
  title: string
  mark: { ioctl: 'IOMMU_HWPT_LU_SET_PRESERVE' | 'IOMMU_HWPT_LU_MARK_PRESERVE'; struct: string; tokenBits: 32 | 64; preserveField: boolean }
  /** IOMMU_HWPT_LU_RESTORE exists */
  restore: boolean
}

const SERIES: Record<string, SeriesUapi> = {
  lpc2025: {
    headers: 'lpc2025',
    title: "the LPC 2025 talk's design (V3 mark, V1 restore flow)",
    mark: { ioctl: 'IOMMU_HWPT_LU_MARK_PRESERVE', struct: 'iommu_hwpt_lu_mark_preserve', tokenBits: 64, preserveField: false },
    restore: true,
  },
  'rfc-v2': {
    headers: 'rfc-v2',
    title: 'the Dec 2025 "[RFC PATCH v2 00/32]" (V1 code)',
    mark: { ioctl: 'IOMMU_HWPT_LU_SET_PRESERVE', struct: 'iommu_hwpt_lu_set_preserve', tokenBits: 32, preserveField: true },
    restore: true,
  },
  phase1: {
    headers: 'phase1',
    title: 'the Feb 2026 "[PATCH 00/14]" Phase 1 series',
    mark: { ioctl: 'IOMMU_HWPT_LU_SET_PRESERVE', struct: 'iommu_hwpt_lu_set_preserve', tokenBits: 32, preserveField: false },
    restore: false,
  },
  v3: {
    headers: 'v3',
    title: 'the V3 series ("[PATCH v2 00/16]", Apr 2026, and later)',
    mark: { ioctl: 'IOMMU_HWPT_LU_MARK_PRESERVE', struct: 'iommu_hwpt_lu_mark_preserve', tokenBits: 64, preserveField: false },
    restore: false,
  },
}

export function seriesOf(profile: string): SeriesUapi {
  return SERIES[profile] ?? SERIES.v3
}

/** Every header folder a reproducer may be compiled with. */
export const SERIES_HEADER_SETS: readonly string[] = [...new Set(Object.values(SERIES).map((s) => s.headers))]
