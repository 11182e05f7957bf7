// The reference model's state: plain data only (records, arrays, bigint), so a draft
// (models/context.ts produce) can make the next state and a state can be printed, diffed and hashed.
//
// Identities:
//  * fds are the process's file descriptors (lowest free, from 3, as POSIX says);
//  * files are numbered by a per-boot serial (the n-th `struct file` created since boot);
//  * iommufd object ids are per iommufd (xarray ALLOC1: lowest free from 1);
//  * domains are numbered by a global serial (internal; never observed);
//  * pages are numbered from 0 (PA = page << 12).

import type { Design } from './design.ts'
import type { Platform } from './platform.ts'
import type { Seal } from './ops.ts'

export type FileId = number
export type DomainId = number

/** Use of a page of general memory. */
export type Page =
  | { use: 'free' }
  /** page `index` of a memfd file */
  | { use: 'memfd'; file: FileId; index: number }
  /** anonymous memory the VMM mapped with IOMMU_IOAS_MAP (owned by that area) */
  | { use: 'anon' }
  /** a memfd page cut off by truncate while iommufd still pins it: allocated, owned by nobody */
  | { use: 'orphan' }
  /** a KHO-preserved memfd page in the next kernel, waiting for RETRIEVE_FD */
  | { use: 'incoming'; session: string; token: string; index: number }

export interface MemfdFile {
  kind: 'memfd'
  pages: number[]
  seals: Seal[]
}

export interface IommufdFile {
  kind: 'iommufd'
  objects: Record<number, IommufdObject>
  /** per iommu group, per PASID: what this iommufd attached (iommufd_group.pasid_attach) */
  attach: Record<string, Record<number, { hwpt: number; devices: string[] }>>
  /** set when this iommufd was retrieved from LUO (ictx->lu): where it came from, its records */
  lu?: { session: string; token: string; records: HwptRecord[] }
  /** set while this file is preserved in an outgoing session (no new marks: EBUSY) */
  preservedIn?: string
  /** destroyPreserved=frees-domain: the records the preserve wrote for HWPTs destroyed since
   *  (object id, token, domain); they stay in the serialized iommufd_lu until the preserve is
   *  cancelled (V1 iommufd_save_hwpts / V2 patch 11: nothing removes a record) */
  lost?: { id: number; token: string; domain: DomainId }[]
}

export interface HwptRecord {
  /** the HWPT mark token (u64, decimal string so it can be a record key) */
  token: string
  domain: DomainId
  /** iommufd object id once reclaimed by IOMMU_HWPT_LU_RESTORE (or at bind, reassociate-at-bind) */
  reclaimedAs?: number
  /** BDFs that were attached to the domain when preserved (restoreHwpt=needs-rebind) */
  devices: string[]
}

export interface VfioFile {
  kind: 'vfio'
  bdf: string
  /** VFIO_DEVICE_BIND_IOMMUFD: the iommufd file and the DEVICE object id */
  bound?: { iommufd: FileId; devId: number }
  irqs: boolean
  /** set while preserved in an outgoing session: attach/detach EBUSY */
  preservedIn?: string
}

export interface LiveupdateFile {
  kind: 'liveupdate'
}

export interface SessionFile {
  kind: 'session'
  name: string
  dir: 'out' | 'in'
}

export type File = MemfdFile | IommufdFile | VfioFile | LiveupdateFile | SessionFile

export type IommufdObject =
  | { type: 'IOAS'; areas: Area[]; immutable: boolean }
  | {
      type: 'HWPT_PAGING'
      /** undefined for a restored HWPT (no IOAS, no IOVA bookkeeping) */
      ioas?: number
      domain: DomainId
      autoDomain: boolean
      pasidCompat: boolean
      mark?: string
      /** markImpl=token-xarray-ref: every token this HWPT was entered under in
       *  ictx->liveupdate_tokens (V3a xa_cmpxchg keyed by token), first = `mark` */
      xaTokens?: string[]
      restored: boolean
    }
  | { type: 'DEVICE'; bdf: string }

export interface Area {
  iova: bigint
  length: bigint
  /** backing pages (page numbers), one per 4 KiB of the area */
  pages: number[]
  kind: 'file' | 'anon'
  file?: FileId
  /** seals of the memfd at map time (IOPT_ADDRESS_FILE records them) */
  sealsAtMap: Seal[]
}

/** A contiguous run of mapped IOVA: `pages[i]` backs iova + i * 4 KiB. */
export interface Extent {
  iova: bigint
  pages: number[]
}

export interface Domain {
  id: DomainId
  /** one extent per map call mirrored, sorted by IOVA */
  extents: Extent[]
  /** leaves under each page-table slot ('l3:…', 'l2:…', 'l1:…'): a slot with leaves is a table
   *  page (models/iommu.ts); kept with the extents so table pages are counted in O(map) */
  slots: Record<string, number>
  /** outgoing: preserved by the iommufd in this session under this HWPT token */
  preserved?: { session: string; token: string }
  /** incoming: restored at boot from a preserved domain */
  restored?: { session: string; token: string }
  /** incoming, restoreScope=preserved-device-records: preserved, but no preserved device's
   *  record names it, so nothing rebuilt it (restored_domain NULL): its KHO table pages stay
   *  held for this boot and LU_RESTORE of its record is ENOENT */
  unrebuilt?: boolean
  /** outgoing, destroyPreserved=frees-domain: IOMMU_DESTROY freed this preserved domain. It
   *  maps nothing and holds no table page any more; this many pages it held are still
   *  KHO-marked, and its iommu_domain_ser stays, so KEXEC hands it over (never rebuilt) */
  freed?: number
  /** incoming: the KHO-held table pages of a domain the old kernel freed (`freed` there),
   *  each page counted once (models/kexec.ts) */
  khoPages?: number
  /** destroyPreserved=frees-domain only: the table-zone PFN of the root ('root') and of each
   *  occupied slot, so that KHO's marks can be counted as the set of pages they are
   *  (models/memory.ts "Table pages and KHO"). For a freed domain: the pages it had that are
   *  still KHO-marked (they are free). */
  tables?: Record<string, number>
}

/** A context entry (RID) or PASID entry: the domain and the DID it is tagged with. */
export interface Entry {
  domain: DomainId
  did: number
}

export interface Unit {
  /** DIDs allocated in domain_ida (includes reserved ones) */
  ida: number[]
  /** per BDF: the context entry (RID translation) */
  context: Record<string, Entry>
  /** per BDF, per PASID > 0: the PASID entries */
  pasid: Record<string, Record<number, Entry>>
}

export type GroupOwner =
  | { kind: 'none' }
  | { kind: 'dma-api' }
  | { kind: 'iommufd'; file: FileId }
  | { kind: 'restored'; session: string; token: string }

export interface Group {
  owner: GroupOwner
  ownerCnt: number
  /** the core's current RID domain: a user domain, or the core domain (blocking/default) */
  domain: DomainId | 'blocking' | 'default'
  pasids: Record<number, DomainId>
}

export interface Device {
  driver: string
  /** outgoing: preserved in this session */
  preservedIn?: string
  /** incoming: still waiting for LUO retrieval (cdev open EBUSY) */
  incoming?: { session: string; token: string }
  /** vdev->liveupdate_incoming_state: set by the vfio retrieve, cleared when the retrieved
   *  cdev is bound (vfio_pci_core_enable); while set, the vfio can_finish is false */
  incomingState?: boolean
  /** deviceAcrossKexec=reset-at-freeze: vfio_pci_liveupdate_freeze reset this device
   *  (vfio_pci_core_try_reset + pci_restore_state to its state at open) and reboot() then
   *  failed: VFIO has no .unfreeze, so the old kernel runs on with the device idle, its DMA
   *  setup lost, until the boot ends. */
  reset?: true
}

export interface LuoPreserved {
  token: string
  file: FileId
  kind: 'memfd' | 'iommufd' | 'vfio'
  /** iommufd: the IOAS objects this preserve made immutable (thawed again on unpreserve) */
  froze?: number[]
  /** vfio: IOMMU state was preserved with it (the cdev was attached: device->iommufd_attached) */
  iommu?: boolean
}

export interface OutgoingSession {
  name: string
  file: FileId
  files: LuoPreserved[]
}

/** A preserved file as it crossed the kexec: what its handler serialized. */
export type SerializedFile =
  | { kind: 'memfd'; pages: number; seals: Seal[] }
  | { kind: 'iommufd'; records: HwptRecord[] }
  /** iommufdToken is absent for a cdev preserved without iommufd state (not attached) */
  | { kind: 'vfio'; bdf: string; iommufdToken?: string }

export interface IncomingFile {
  token: string
  ser: SerializedFile
  /** undefined: not yet; a file id on success (idempotent); an errno string (sticky) */
  retrieved?: FileId | string
}

export interface IncomingSession {
  name: string
  files: IncomingFile[]
  /** the session fd's file once retrieved */
  retrievedAs?: FileId
  /** set when a close of the retrieved fd failed to finish: it cannot be retrieved again */
  closedUnfinished?: boolean
  /** FINISH succeeded: the files are gone, the session stays (retrieved) until its fd closes
   *  (luo_session_finish only calls luo_file_finish; luo_session_release removes it) */
  finished?: boolean
}

export interface State {
  platform: Platform
  design: Design
  boot: number
  pages: Page[]
  files: Record<FileId, File>
  nextFile: FileId
  fds: Record<number, FileId>
  domains: Record<DomainId, Domain>
  nextDomain: DomainId
  /** table-zone pages held by all domains: Σ (1 + slots) (checked against the formula in paranoid mode) */
  tablePagesUsed: number
  units: Record<string, Unit>
  groups: Record<string, Group>
  devices: Record<string, Device>
  luo: { outgoing: OutgoingSession[]; incoming: IncomingSession[] }
}
