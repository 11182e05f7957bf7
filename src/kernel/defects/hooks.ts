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
}
