// The running kernel's state: the objects the kernel keeps (struct file, iommufd_ctx and its
// objects, iommu_group, dmar_domain with its per-unit DID info, device_domain_info, LUO
// sessions and files) and the machine underneath (physical memory, the IOMMU units' root-table
// registers, the IOTLB). One `Kern` per boot: KEXEC builds a new one from the handover bytes
// and the machine (src/kernel/kexec.ts); nothing else crosses.
//
// Everything is linked by object reference and counted by real reference counts (struct file
// f_count, iommufd_object users, the IOMMU core's domain users), so no op scans the whole state.

import type { Design } from '../../models/design.ts'
import type { Errno } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import type { DefectHooks } from './defects/hooks.ts'
import type { FaultInjector } from './failnth.ts'
import type { Ida } from './ida.ts'
import type { Idr } from './idr.ts'
import type { IntervalTree } from './intervals.ts'
import type { Iotlb } from './iotlb.ts'
import type { PageTable, PfnRun } from './pagetable.ts'
import type { PhysMem } from './phys.ts'

export type { Errno }
/** A value or the errno the kernel returns instead (negative errno, as a name). */
export type Ret<T> = T | Errno
export const isErr = (x: unknown): x is Errno => typeof x === 'string'

// ---------------------------------------------------------------- the machine

/** What survives a kexec because it is hardware, not kernel state. */
export interface Machine {
  phys: PhysMem
  iotlb: Iotlb
  /** per unit: the root-table address register (RTADDR_REG) as a PFN, -1 when translation is off */
  rtaddr: number[]
  /** walks that met something that is not a page-table page (pagetable.ts WALK_BAD): findings */
  badWalks: string[]
}

// ---------------------------------------------------------------- IOMMU

export interface Unit {
  index: number
  name: string
  /** cap_ndoms */
  dids: number
  /** iommu->domain_ida */
  ida: Ida
}

/** device_domain_info / dev_pasid_info: what the driver programmed for (device, pasid). */
export interface Entry {
  domain: Domain
  did: number
}

/** Per (domain, unit): the DID and how many entries on that unit use it (domain_attach_iommu). */
export interface DidInfo {
  did: number
  refcnt: number
}

export interface Domain {
  serial: number
  pt: PageTable
  /** the IOAS this domain mirrors (iopt.domains); undefined for a domain restored at boot */
  ioas?: Ioas
  /** true: the domain maps exactly ioas.areas; false: `own` (a domain frozen by ioasFreeze=domain-only) */
  synced: boolean
  own?: Area[]
  /** restored domains: the mapped IOVA runs, read from the table once when first needed */
  restoredRuns?: { iovaPfn: number; npages: number }[]
  iommus: Map<Unit, DidInfo>
  /** holders: HWPT objects, group attachments, preserved-HWPT records */
  refs: number
  /** group (RID or PASID) attachments pointing here */
  slots: number
  preserved?: { session: string; token: bigint }
  restored?: { session: string; token: bigint }
  /** defect table-pages-freed-at-finish-while-attached: the pages went back, the PTEs did not */
  tablesGone: boolean
}

export type Owner =
  | { kind: 'none' }
  | { kind: 'dma-api' }
  | { kind: 'iommufd'; file: IommufdCtx }
  | { kind: 'restored'; session: string; token: bigint }

export type GroupDomain = Domain | 'blocking' | 'default'

export interface IGroup {
  name: string
  devices: KDevice[]
  owner: Owner
  ownerCnt: number
  domain: GroupDomain
  pasids: Map<number, Domain>
}

export interface KDevice {
  bdf: string
  bus: number
  devfn: number
  unit: Unit
  group: IGroup
  /** PASID capability (max_pasids); 0: none */
  pasidCaps: number
  driver: string
  /** outgoing: preserved in this session */
  preservedIn?: string
  /** incoming: waiting for LUO retrieval */
  incoming?: { session: string; token: bigint }
  rid?: Entry
  pasids: Map<number, Entry>
  /** live vfio files for this device (cdev open count) */
  cdevs: number
  /** vfio_pci_core_try_reset ran at freeze (deviceAcrossKexec=reset-at-freeze) and
   *  pci_restore_state put back the config space saved at open: the device's DMA setup is
   *  gone and it issues nothing. A fresh boot probes a fresh device; nothing else clears it. */
  reset?: boolean
  /** the cdev file bound to an iommufd, if any */
  boundBy?: VfioFile
  /** vdev->liveupdate_incoming_state: the vfio record, set by the LUO retrieve and dropped
   *  by vfio_pci_core_enable (the retrieved cdev's bind) */
  liveupdateIncomingState?: HandlerData
  /** pci_liveupdate_preserve took this device (any of its files, with or without IOMMU state) */
  pciPreserved?: boolean
}

// ---------------------------------------------------------------- files

interface FileBase {
  id: number
  /** f_count: fds, LUO, IOAS areas mapping it, a bound device holding the ictx */
  refs: number
  /** preserved in an outgoing session */
  luo?: LuoFile
}

export interface MemfdFile extends FileBase {
  kind: 'memfd'
  pages: number[]
  /** F_SEAL_* bits (SEAL_BITS) */
  seals: number
  /** SHMEM_F_MAPPING_FROZEN: set while preserved, the size cannot change */
  frozen: boolean
}

export interface Area {
  iovaPfn: number
  npages: number
  kind: 'file' | 'anon'
  file?: MemfdFile
  /** the backing PFNs as contiguous runs, in IOVA order */
  runs: PfnRun[]
  /** seals of the memfd at map time (IOPT_ADDRESS_FILE) */
  seals: number
}

export interface Ioas {
  type: 'IOAS'
  id: number
  users: number
  areas: IntervalTree<Area>
  immutable: boolean
  /** HWPTs whose domain mirrors this IOAS, in creation order (iopt.domains) */
  hwpts: Set<Hwpt>
}

export interface Hwpt {
  type: 'HWPT_PAGING'
  id: number
  users: number
  ioas?: Ioas
  domain: Domain
  auto: boolean
  pasidCompat: boolean
  mark?: bigint
  restored: boolean
}

export interface IDevice {
  type: 'DEVICE'
  id: number
  users: number
  dev: KDevice
}

export type IObj = Ioas | Hwpt | IDevice

export interface AttachRec {
  hwpt: Hwpt
  devices: KDevice[]
}

export interface LuRecord {
  token: bigint
  /** domain_ser->restored_domain: undefined when no preserved device's record rebuilt it at
   *  boot (restoreScope=preserved-device-records); LU_RESTORE of it is then ENOENT */
  domain: Domain | undefined
  /** BDFs attached to the HWPT when preserved (restoreHwpt=needs-rebind) */
  devices: string[]
  reclaimedAs?: number
}

export interface IommufdCtx extends FileBase {
  kind: 'iommufd'
  objects: Map<number, IObj>
  ids: Idr
  /** per group, per PASID: what this ictx attached (iommufd_group.pasid_attach) */
  attach: Map<IGroup, Map<number, AttachRec>>
  /** ictx->lu: set when retrieved from LUO */
  lu?: { session: string; token: bigint; records: LuRecord[] }
  preservedIn?: string
  /** marked HWPTs by token (ictx->liveupdate_tokens) */
  marks: Map<bigint, Hwpt>
  /** destroyPreserved=frees-domain: the records iommufd_save_hwpts wrote at preserve for
   *  HWPTs destroyed since (id, token, domain); they stay in the serialized iommufd_lu until
   *  the preserve is cancelled (V1 039a263 / V2 patch 11: nothing removes them) */
  lost: { id: number; token: bigint; domain: Domain }[] | undefined
}

export interface VfioFile extends FileBase {
  kind: 'vfio'
  dev: KDevice
  bound?: { ictx: IommufdCtx; devId: number }
  irqs: boolean
}

export interface LiveupdateFile extends FileBase {
  kind: 'liveupdate'
}

export interface SessionFile extends FileBase {
  kind: 'session'
  name: string
  dir: 'out' | 'in'
}

export type KFile = MemfdFile | IommufdCtx | VfioFile | LiveupdateFile | SessionFile

// ---------------------------------------------------------------- LUO

export type FileKind = 'memfd' | 'iommufd' | 'vfio'

/** What a file handler serialized for one preserved file (decoded from the handover). */
export type HandlerData =
  | { kind: 'memfd'; pfns: number[]; seals: number }
  | { kind: 'iommufd'; records: LuRecord[] }
  /** iommufdToken: the iommufd's LUO token when IOMMU state was preserved with the device */
  | { kind: 'vfio'; bdf: string; iommufdToken?: bigint }

/** A luo_file in an outgoing session. */
export interface LuoFile {
  session: LuoSession
  token: bigint
  file: KFile
  kind: FileKind
  /** iommufd: the IOAS this preserve made immutable */
  froze?: Ioas[]
  /** vfio: iommufd_device_preserve ran (device->iommufd_attached at preserve time) */
  iommu?: boolean
  frozen: boolean
}

export interface LuoSession {
  name: string
  file: SessionFile
  files: LuoFile[]
}

export interface IncomingFile {
  token: bigint
  data: HandlerData
  /** undefined: not yet; the file (idempotent); or the sticky errno */
  retrieved?: KFile | Errno
}

export interface IncomingSession {
  name: string
  files: IncomingFile[]
  retrievedAs?: SessionFile
  closedUnfinished: boolean
}

/** The state of one boot of the kernel. */
export interface Kern {
  readonly platform: Platform
  readonly design: Design
  readonly bug: DefectHooks
  readonly faults: FaultInjector
  readonly m: Machine
  /** liveupdate-number */
  boot: number
  units: Unit[]
  devices: KDevice[]
  deviceByBdf: Map<string, KDevice>
  groups: IGroup[]
  files: Map<number, KFile>
  nextFile: number
  fds: Map<number, KFile>
  fdIds: Idr
  /** general memory: holders of each page (owner + IOAS pins); free at 0 */
  pageRef: Uint32Array
  domains: Set<Domain>
  nextDomain: number
  /** domains whose last holder went: freed at the next reap point (reapDomains) */
  pending: Set<Domain>
  luoFile?: LiveupdateFile
  outgoing: LuoSession[]
  incoming: IncomingSession[]
  /** per unit index: the DIDs its restored devices came back with at this boot */
  restoredDids: Map<number, Set<number>>
  /** files whose f_count reached 0: released after a successful op, lowest id first */
  zero: Set<KFile>
  /** while an op runs: the probes to translate in each intermediate hardware state */
  probes?: { unit: number; bus: number; devfn: number; pasid: number; iovaPfn: number; bdf: string; iova: bigint }[]
  transient: import('../../models/observation.ts').Translation[][]
}
