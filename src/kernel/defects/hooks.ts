// The seams where a seeded defect changes one behaviour of the kernel implementation. The clean
// code reads `k.bug.<hook>` at exactly one place per hook (named in the comment); a defect is an
// override of one hook (defects/index.ts). No other code knows defect names.

export interface DefectHooks {
  /** vtd.ts swapEntry: IOTLB flush of the old DID after an in-place (hitless) entry swap */
  flushOnReplace: boolean
  /** vtd.ts flushDomainRange: IOTLB flush of every DID of a domain after its PTEs are cleared */
  flushOnUnmap: boolean
  /** kexec.ts restoreDevices: which units' domain_ida get a restored device's DIDs ('design' = didReservation) */
  reserveDids: 'design' | 'none' | 'all-units'
  /** luo handlers iommufdPreserve: make the IOAS immutable (ioasFreeze=whole-ioas) */
  freezeIoas: boolean
  /** kexec.ts serialize: bits of a u64 token the handover keeps */
  tokenBits: 64 | 32
  /** kexec.ts shutdown: clear the context/PASID entries of devices that are not preserved and
   *  hand over only the IOMMU structures of units with preserved devices */
  clearUnpreserved: boolean
  /** luo_file.ts iommufd finish: release every restored domain's table pages, even one still
   *  wrapped by a restored HWPT or attached */
  freeTablesAtFinish: boolean
  /** iommu.ts replaceGroupDomain: put the old domain back when setting up the new one fails */
  rollbackReplace: boolean
  /** iommu.ts releaseDmaOwner: clear group->owner when owner_cnt drops to 0 */
  clearOwnerOnRelease: boolean
  /** kexec.ts freshKern: the first DID domain_ida hands out (IDA_START_DID) */
  didStart: number
  /** luo handlers memfdPreserve: freeze the memfd's size (shmem_freeze) */
  freezeMemfd: boolean
  /** vfio.ts detachOne: put the auto-domain HWPT when its last device detaches */
  putAutoOnDetach: boolean

  // ---- hooks of the held-out defects (heldout.ts); same rule: one read each, named here ----
  /** vtd.ts clearEntry: PASID-based IOTLB flush when a PASID entry is torn down */
  flushOnPasidTeardown: boolean
  /** vtd.ts flushDomainRange: most 4 KiB pages one page-selective flush covers (Infinity:
   *  the range is flushed whole, as cache_tag_flush_range falls back to a domain flush) */
  psiMaxPages: number
  /** kexec.ts bootFromHandover: a second restored device of a domain on one unit takes a
   *  reference on the domain's DID info */
  countSharedRestoredDid: boolean
  /** kexec.ts freshKern: DIDs domain_ida hands out beyond cap_ndoms - 1 (0, or 1: off by one) */
  didLimitSlack: number
  /** luo.ts sessionInsert: an outgoing session's name must be unique (EEXIST) */
  sessionNameUnique: boolean
  /** luo.ts releaseSession: closing an outgoing session unpreserves its files */
  unpreserveOnClose: boolean
  /** luo.ts fileSetFinish: every file's can_finish is asked before FINISH */
  finishChecksCanFinish: boolean
  /** luo_file.ts iommufd preserve: every one of F_SEAL_SEAL|GROW|SHRINK is required (false:
   *  any one of them passes) */
  requireAllSeals: boolean
  /** luo_file.ts memfd retrieve: seal bits memfd-v2 re-applies (MEMFD_LUO_ALL_SEALS) */
  reappliedSealMask: number
  /** luo_file.ts vfio freeze: interrupts still enabled refuse the freeze (EINVAL) */
  freezeChecksIrqs: boolean
  /** luo_file.ts iommufd unpreserve: the IOAS frozen at preserve becomes mutable again */
  thawIoasOnUnpreserve: boolean
  /** iommufd.ts removeHwpt: a destroyed HWPT_PAGING drops its reference on the IOAS */
  putIoasOnHwptDestroy: boolean
  /** iommufd.ts luRestore: the restored record is marked reclaimed (a token restores once) */
  markRecordReclaimed: boolean
  /** vfio.ts cdevOpen: a preserved device is EBUSY until LUO retrieves it */
  refuseIncomingOpen: boolean
  /** vfio.ts bind: vfio_pci_core_enable drops liveupdate_incoming_state */
  clearIncomingStateOnBind: boolean
  /** vfio.ts claimCheck: a restored group's owner is matched on session and token */
  ownerMatchesSession: boolean
  /** device_preserve.ts iommufdDevicePreserve: the iommufd must be in the cdev's session */
  deviceSessionCheck: boolean
  /** vfio.ts releaseVfio: unbind detaches every PASID before the RID */
  detachPasidsOnUnbind: boolean
  /** memfd.ts memfdSeal: F_ADD_SEALS adds to the seals (false: overwrites them) */
  addSealsOr: boolean
  /** iommufd.ts setPreservedV1: the target HWPT is skipped in the duplicate-token walk */
  v1SkipsTarget: boolean
}

export const CLEAN: Readonly<DefectHooks> = {
  flushOnReplace: true,
  flushOnUnmap: true,
  reserveDids: 'design',
  freezeIoas: true,
  tokenBits: 64,
  clearUnpreserved: true,
  freeTablesAtFinish: false,
  rollbackReplace: true,
  clearOwnerOnRelease: true,
  didStart: 2,
  freezeMemfd: true,
  putAutoOnDetach: true,
  flushOnPasidTeardown: true,
  psiMaxPages: Number.POSITIVE_INFINITY,
  countSharedRestoredDid: true,
  didLimitSlack: 0,
  sessionNameUnique: true,
  unpreserveOnClose: true,
  finishChecksCanFinish: true,
  requireAllSeals: true,
  reappliedSealMask: 15,
  freezeChecksIrqs: true,
  thawIoasOnUnpreserve: true,
  putIoasOnHwptDestroy: true,
  markRecordReclaimed: true,
  refuseIncomingOpen: true,
  clearIncomingStateOnBind: true,
  ownerMatchesSession: true,
  deviceSessionCheck: true,
  detachPasidsOnUnbind: true,
  addSealsOr: true,
  v1SkipsTarget: true,
}
