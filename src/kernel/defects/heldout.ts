// The held-out defects: realistic bugs of the kernel implementation that the generators,
// the properties and the seeded catalogue (index.ts) were NOT built against. They measure
// the suite's power on bugs nobody tuned it for (issue 13, "Generation that reaches what
// coverage shows missing"): bench/heldout.ts runs the default campaign on each and reports
// caught / not caught; test/kernel/heldout.test.ts proves each one real (a short op
// sequence on which the defective kernel disagrees with the model and the clean one does not).
//
// Same mechanism as the seeded ones: one hook override each (hooks.ts, the held-out section),
// read by the clean code at exactly one place (`k.bug.<hook>`, marked "hook <name>").
// Selected by name wherever a seeded defect is (KernelOptions.defect, `--defect NAME`), but
// kept out of DEFECT_NAMES: `luv defects` and the power test list the seeded catalogue only.
//
// `situation` names the generation situation the bug needs, the ones the issue lists as holes:
//   shared-domain   several preserved devices sharing one domain on one unit across a KEXEC
//   partial-flags   a flag word set only partly (some seals, not others)
//   pasid-teardown  a PASID-only domain torn down outside KEXEC
//   superpage       superpage-sized mappings (more pages than the default platform has)
//   profile         a rule only a non-default profile exercises
//   sessions        two sessions (or files split over sessions) in one live update
//   flow            the documented flow itself (a control: the generators reach it)

import type { DefectHooks } from './hooks.ts'

export type Situation = 'shared-domain' | 'partial-flags' | 'pasid-teardown' | 'superpage' | 'profile' | 'sessions' | 'flow'

export interface HeldOutEntry {
  name: string
  /** the kernel mistake it models */
  description: string
  /** the kernel function it corrupts, with the tree it was read from */
  source: string
  situation: Situation
  hooks: Partial<DefectHooks>
}

const F_SEAL_GROW = 4

export const HELD_OUT: HeldOutEntry[] = [
  // ---------------------------------------------------------------- VT-d entries and IOTLB
  {
    name: 'pasid-teardown-skips-piotlb-flush',
    description:
      'Tearing down a PASID entry clears it but skips the PASID-based IOTLB invalidation of the old DID. When the domain had that DID only ' +
      'through this PASID, the DID goes back to domain_ida and the next domain that gets it at that PASID hits the old translations.',
    source: 'torvalds/linux drivers/iommu/intel/pasid.c intel_pasid_tear_down_entry (pasid_cache_invalidation_with_pasid, qi_flush_piotlb / devtlb_invalidation_with_pasid after clearing P)',
    situation: 'pasid-teardown',
    hooks: { flushOnPasidTeardown: false },
  },
  {
    name: 'psi-flush-truncated-for-large-unmap',
    description:
      'The unmap flush issues one page-selective invalidation whose address mask is capped at 256 pages (1 MiB, the unit\'s MAMV) instead ' +
      'of falling back to a domain-selective flush: IOTLB entries of 4 KiB leaves past the first MiB of a larger unmapped range survive and ' +
      'reach freed memory.',
    source: 'torvalds/linux drivers/iommu/intel/cache.c cache_tag_flush_iotlb (mask > cap_max_amask_val(iommu->cap) must use DMA_TLB_DSI_FLUSH), via cache_tag_flush_range',
    situation: 'superpage',
    hooks: { psiMaxPages: 256 },
  },
  // ---------------------------------------------------------------- DIDs
  {
    name: 'shared-restored-did-not-refcounted',
    description:
      'At boot, the second preserved device of a domain on the same unit finds the domain\'s DID info already set up and does not take a ' +
      'reference on it (refcnt stays 1 for two devices). When the VMM replaces one device\'s restored domain, the DID is freed while the ' +
      'other device still translates with it, and a new domain gets the same DID.',
    source: 'samikhawaja/linux drivers/iommu/intel/liveupdate.c restore of a preserved device (the domain_attach_iommu bookkeeping: info->refcnt++ for an existing iommu/DID pair)',
    situation: 'shared-domain',
    hooks: { countSharedRestoredDid: false },
  },
  {
    name: 'did-limit-off-by-one',
    description:
      'domain_ida is allocated up to cap_ndoms instead of cap_ndoms - 1, so a unit hands out one DID more than it has: a domain that should ' +
      'fail with ENOSPC gets a DID the hardware does not implement.',
    source: 'torvalds/linux drivers/iommu/intel/iommu.c domain_attach_iommu: ida_alloc_range(&iommu->domain_ida, IDA_START_DID, cap_ndoms(iommu->cap) - 1, GFP_KERNEL)',
    situation: 'flow',
    hooks: { didLimitSlack: 1 },
  },
  // ---------------------------------------------------------------- LUO sessions and files
  {
    name: 'duplicate-session-name-accepted',
    description:
      'luo_session_insert checks room but not the outgoing list for the name: two outgoing sessions share a name, and the next kernel finds two ' +
      'sessions with one name in the handover.',
    source: 'samikhawaja/linux kernel/liveupdate/luo_session.c luo_session_insert (list_for_each_entry over sh->list, -EEXIST)',
    situation: 'sessions',
    hooks: { sessionNameUnique: false },
  },
  {
    name: 'closed-session-keeps-files-preserved',
    description:
      'Closing an outgoing session drops its files from LUO without calling each handler\'s unpreserve: a memfd stays size-frozen and ' +
      'KHO-preserved, an iommufd\'s IOAS stays immutable, a device stays preserved, though nothing will cross the kexec.',
    source: 'samikhawaja/linux kernel/liveupdate/luo_session.c luo_session_release -> luo_file_unpreserve_files (kernel/liveupdate/luo_file.c)',
    situation: 'sessions',
    hooks: { unpreserveOnClose: false },
  },
  {
    name: 'finish-ignores-can-finish',
    description:
      'LIVEUPDATE_SESSION_FINISH finishes every file without asking the handlers\' can_finish first: a session whose restored HWPT is still ' +
      'attached, or whose iommufd was never retrieved, finishes and its domains are discarded under a running device.',
    source: 'samikhawaja/linux kernel/liveupdate/luo_file.c luo_file_finish (the can_finish pass before the finish pass, -EBUSY)',
    situation: 'flow',
    hooks: { finishChecksCanFinish: false },
  },
  {
    name: 'retrieved-memfd-loses-grow-seal',
    description:
      'memfd-v2 re-applies the serialized seals through a mask that lacks F_SEAL_GROW: a memfd sealed SEAL|GROW|SHRINK comes back without ' +
      'GROW, so the next kernel lets it grow though the VMM sealed it.',
    source: 'torvalds/linux mm/memfd_luo.c memfd_luo_retrieve (memfd_add_seals with ser->seals) and include/linux/kho/abi/memfd.h MEMFD_LUO_ALL_SEALS',
    situation: 'partial-flags',
    hooks: { reappliedSealMask: 15 & ~F_SEAL_GROW },
  },
  {
    name: 'preserve-accepts-partial-seals',
    description:
      'The iommufd preserve checks that the memfd behind each area was sealed at map time with ANY of SEAL|GROW|SHRINK instead of ALL of them ' +
      '(a `seals & MASK` test where `(seals & MASK) == MASK` is meant): a memfd sealed only GROW passes, and its size can still shrink under a ' +
      'preserved domain.',
    source: 'V2 mail "iommufd: ... check_iopt_pages_preserved" (samikhawaja/linux drivers/iommu/iommufd/liveupdate.c): F_SEAL_SEAL | F_SEAL_GROW | F_SEAL_SHRINK required',
    situation: 'partial-flags',
    hooks: { requireAllSeals: false },
  },
  {
    name: 'add-seals-overwrites',
    description:
      'F_ADD_SEALS stores the new seals instead of or-ing them in: sealing SHRINK after GROW drops GROW, and F_SEAL_SEAL set by a later call ' +
      'erases the seals before it.',
    source: 'torvalds/linux mm/memfd.c memfd_add_seals: *file_seals |= seals',
    situation: 'partial-flags',
    hooks: { addSealsOr: false },
  },
  // ---------------------------------------------------------------- vfio-pci live update
  {
    name: 'freeze-ignores-enabled-irqs',
    description:
      'The VFIO freeze does not refuse a device whose interrupts are still enabled, so reboot() goes on with a device that will raise ' +
      'interrupts nobody handles in the next kernel.',
    source: 'samikhawaja/linux drivers/vfio/pci/vfio_pci_liveupdate.c 03855e7 vfio_pci_liveupdate_freeze (-EINVAL while interrupts are enabled)',
    situation: 'flow',
    hooks: { freezeChecksIrqs: false },
  },
  {
    name: 'cdev-open-of-incoming-device',
    description:
      'A preserved device can be opened through its /dev/vfio/devices node before LUO retrieves it: a second, unrelated cdev reaches a device ' +
      'whose IOMMU state still belongs to the incoming session.',
    source: 'samikhawaja/linux drivers/vfio/pci/vfio_pci_liveupdate.c DOC (open is -EBUSY until LIVEUPDATE_SESSION_RETRIEVE_FD) / vfio_pci_core open path',
    situation: 'flow',
    hooks: { refuseIncomingOpen: false },
  },
  {
    name: 'incoming-state-kept-after-bind',
    description:
      'Enabling the retrieved device does not clear vdev->liveupdate_incoming_state, so vfio_pci_liveupdate_can_finish never agrees and ' +
      'FINISH stays EBUSY for good.',
    source: 'samikhawaja/linux drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_enable ("set liveupdate_incoming_state to NULL once it\'s done using it", mail by David Matlack)',
    situation: 'flow',
    hooks: { clearIncomingStateOnBind: false },
  },
  {
    name: 'ownership-token-ignores-session',
    description:
      'The claim of a restored group compares the iommufd\'s token but not its session: an iommufd retrieved from another session that happens ' +
      'to use the same token takes DMA ownership of a device preserved elsewhere.',
    source: 'V2 patch 08 "iommu: ... claim DMA ownership with a token" (samikhawaja/linux drivers/iommu/iommu.c iommu_device_claim_dma_owner on a restored group)',
    situation: 'sessions',
    hooks: { ownerMatchesSession: false },
  },
  {
    name: 'device-preserve-ignores-iommufd-session',
    description:
      'iommufd_device_preserve does not check that the iommufd is preserved in the cdev\'s own session: a device preserved in session B with ' +
      'its iommufd in session A crosses the kexec owned by a token session B cannot retrieve.',
    source: 'samikhawaja/linux drivers/iommu/iommufd/device.c 027f82d iommufd_device_preserve: liveupdate_get_token_outgoing(s, ictx->file) (-ENOENT)',
    situation: 'sessions',
    hooks: { deviceSessionCheck: false },
  },
  {
    name: 'unbind-leaves-pasids-attached',
    description:
      'Unbinding a cdev (closing it) detaches the RID but not the PASID attachments: the PASID-only HWPT keeps the device\'s reference and ' +
      'cannot be destroyed, and the iommufd keeps an attachment for a device that is gone.',
    source: 'torvalds/linux drivers/vfio/iommufd.c vfio_iommufd_physical_unbind / iommufd_device_unbind (domain/iommufd.md §2.7 "Unbind": every PASID, then the RID)',
    situation: 'pasid-teardown',
    hooks: { detachPasidsOnUnbind: false },
  },
  // ---------------------------------------------------------------- iommufd objects
  {
    name: 'hwpt-destroy-leaks-ioas-ref',
    description:
      'Destroying a HWPT_PAGING removes it from the IOAS but does not drop its reference on the IOAS object: the IOAS can never be destroyed (EBUSY).',
    source: 'torvalds/linux drivers/iommu/iommufd/hw_pagetable.c iommufd_hwpt_paging_destroy: refcount_dec(&hwpt_paging->ioas->obj.users)',
    situation: 'flow',
    hooks: { putIoasOnHwptDestroy: false },
  },
  {
    name: 'unpreserve-leaves-ioas-immutable',
    description:
      'Unpreserving the iommufd (its session closed before kexec) restores the domains but leaves the IOAS frozen: IOMMU_IOAS_MAP/UNMAP stay EBUSY ' +
      'for a VM that is no longer being live-updated.',
    source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c iommufd_liveupdate_unpreserve (clearing iopt.lu_map_immutable)',
    situation: 'sessions',
    hooks: { thawIoasOnUnpreserve: false },
  },
  {
    name: 'restored-token-reusable',
    description:
      'IOMMU_HWPT_LU_RESTORE wraps the restored domain in a HWPT but does not mark the record reclaimed: the same token restores again (a second ' +
      'HWPT on one domain) and can_finish never sees the record reclaimed.',
    source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c iommufd_hwpt_lu_restore (the record\'s restored_domain handed out once)',
    situation: 'flow',
    hooks: { markRecordReclaimed: false },
  },
  {
    name: 'v1-mark-rejects-own-token',
    description:
      'The V1 mark ioctl walks every HWPT_PAGING for the token without skipping the target itself, so marking a HWPT again with its own token ' +
      'is EADDRINUSE (rfc-v2 only: markImpl=v1-overwrite-unmark).',
    source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V1) iommufd_hwpt_lu_set_preserved: "if (hwpt == hwpt_target) continue"',
    situation: 'profile',
    hooks: { v1SkipsTarget: false },
  },
]

export const HELD_OUT_NAMES: string[] = HELD_OUT.map((d) => d.name)
