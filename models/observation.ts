// What both implementations must agree on after every step (the `conformance` property), and
// what the safety properties read: translations of the devices' live IOVAs, DMA ownership of
// every group, the LUO-visible state, the process's fd table and the iommufd object tables.
// Internal identities (domain serials, DIDs, table-page PAs) are deliberately absent: the
// kernel implementation is free to number those its own way.

/** One DMA probe: a device, a PASID (0 = RID, IOMMU_NO_PASID) and a page-aligned IOVA. */
export interface Probe {
  bdf: string
  pasid: number
  iova: bigint
}

/** A probe's outcome: the PA reached, or null for a fault. */
export interface Translation extends Probe {
  pa: bigint | null
}

/**
 * DMA ownership of an iommu group (iommufd.md §3 plus the live-update token owner):
 * `unowned` (owner_cnt 0), `dma-api` (kernel driver users, owner NULL), `iommufd:<n>` (owned by
 * the n-th file of this boot, an iommufd), `restored:<session>/<token>` (owned by the preserved
 * iommufd's token after kexec).
 */
export type OwnerView = string

export interface LuoFileView {
  token: bigint
  kind: 'memfd' | 'iommufd' | 'vfio'
  /** incoming only: 'no', 'ok' or the sticky errno of a failed retrieve */
  retrieved?: string
}

export interface LuoSessionView {
  name: string
  files: LuoFileView[]
  retrieved?: boolean
}

export interface Observation {
  /** liveupdate-number: how many kexecs happened */
  boot: number
  translations: Translation[]
  owners: Record<string, OwnerView>
  luo: { open: boolean; outgoing: LuoSessionView[]; incoming: LuoSessionView[] }
  /** fd → `memfd:<pages>`, `iommufd:<n>`, `vfio:<bdf>`, `liveupdate`, `session:<name>` */
  fds: Record<number, string>
  /** general-memory pages in use and IOMMU page-table pages held (leaks show here) */
  memory: { usedPages: number; tablePages: number }
  /** per iommufd file serial: object id → `IOAS [iova+len,…]`, `HWPT_PAGING ioas=<id>`, `DEVICE <bdf>` */
  iommufds: Record<number, Record<number, string>>
}
