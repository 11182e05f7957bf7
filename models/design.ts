// The design axes under discussion on the lists (DESIGN.md §2.3) and the named profiles.
// A design is a profile plus overrides. The model and the kernel implementation both branch
// on these values; nothing else decides a behaviour that the series leaves open.
//
// A profile is a posted version of the series: it names the version (series subject, date,
// the tree and commit its rules were read from), and every axis value in it either cites the
// code it was read from or is marked inferred with the reason. Every option of every axis
// says the same of itself (AXIS_OPTIONS). docs/fidelity.md renders this file; `luv profiles`
// prints it; test/models/profiles.test.ts fails if anything here has neither.

export const AXES = {
  /** talk, Discussion 1 / D2: how the restored HWPT is replaced after kexec. */
  replaceFlow: ['replace-on-attach', 'reassociate-at-bind'],
  /** talk, Discussion 2 / D3: who may claim DMA ownership of a restored group. */
  ownership: ['token', 'allow-if-preserved', 'strict'],
  /** iommufd.md §5.4: VT-d replace is hitless, or tears the entry down then sets it up. */
  replaceSwap: ['hitless', 'teardown-then-setup'],
  /** D5: mark/unmark flag, no unmark, or the mark pins the HWPT (token xarray holds a ref). */
  markSemantics: ['flag', 'no-unmark', 'pin'],
  /** D6: preserving freezes the whole IOAS, or only the preserved domain. */
  ioasFreeze: ['whole-ioas', 'domain-only'],
  /** D7: what memory a preserved domain may map: anything (V1), a memfd preserved in the
   *  same session, or one that was also sealed SEAL|GROW|SHRINK at map time (V2/V3). */
  memoryRule: ['preserved-memfd', 'sealed-preserved-memfd', 'none'],
  /** D8: LU_RESTORE restores the object only, or needs every attached device re-bound. */
  restoreHwpt: ['object-only', 'needs-rebind'],
  /** D10: FINISH with unreclaimed state fails (EBUSY) or discards it. */
  unfinished: ['finish-fails', 'finish-discards'],
  /** V2 review, live-update.md §4.2: where the boot reserves the preserved DIDs. */
  didReservation: ['per-unit', 'all-units', 'none'],
  /** talk, future work: what happens to PASID attachments of a preserved device. */
  pasidPreservation: ['none', 'all', 'selective'],
  /** live-update.md §2.3: the full restore flow (V1/talk) or boot restore only (Phase 1). */
  restoreFlow: ['full', 'boot-only'],
  /** live-update.md §2.3: what the iommufd's can_finish asks of restored HWPTs: only that
   *  none is attached (V1 code, iommufd_liveupdate_can_finish), or that every one has been
   *  destroyed ("replace every restored HWPT with a new one and then destroy it before
   *  FINISH"). Our addition to DESIGN.md §2.3: a campaign found that with the first, FINISH
   *  frees an unretrieved memfd that a restored HWPT still maps, and re-attaching that HWPT
   *  reaches freed memory. */
  finishGate: ['no-attachments', 'restored-destroyed'],
  /** fidelity-audit M-D2: LUO's session and file sets: the fixed arrays of the 6.19-era LUO
   *  (744 sessions, ENOMEM checked before EEXIST; 128 files per session, ENOSPC) or the
   *  growable kho_block sets of the 2026 LUO series. */
  luoCapacity: ['fixed-arrays', 'growable'],
  /** fidelity-audit M-D3: memfd seals across kexec: memfd-v1 drops them (the retrieved file
   *  is unsealed), memfd-v2 preserves and re-applies them. */
  memfdSeals: ['dropped', 'reapplied'],
  /** fidelity-audit M-D6: the code of the mark ioctl: V1's set_preserved (re-marking the same
   *  HWPT overwrites its token, the target is skipped in the token loop), V3a's token xarray
   *  (xa_cmpxchg by token: a second token for the same HWPT is a second entry, which makes
   *  the iommufd's preserve fail EBUSY), V3b's object mark (xa_for_each_marked includes the
   *  target: re-marking it with the same token is EADDRINUSE, another token overwrites). */
  markImpl: ['v1-overwrite-unmark', 'token-xarray-ref', 'v3-mark'],
  /** fidelity-audit §1.1 correction: what iommufd_device_preserve checks of the attached HWPT
   *  before it looks up the iommufd's token: the mark flag (V2 `lu_preserve`, so a cdev
   *  preserved before its iommufd is ENOENT) or that the HWPT was preserved with the iommufd
   *  (V3 `liveupdate_preserved`, so the same order is EINVAL). */
  devicePreserve: ['mark-checked', 'preserved-checked'],
  /** fidelity-audit K5 / M-I1: which preserved domains the next kernel rebuilds: only those a
   *  preserved device's record names (iommu_restore_domain at probe; LU_RESTORE of any other
   *  record is ENOENT, restored_domain NULL) or every preserved domain. */
  restoreScope: ['preserved-device-records', 'every-preserved-domain'],
  /** fidelity-audit M-K1/M-K2: what the VFIO handler's freeze does to a preserved device:
   *  resets it to idle (today's vfio_pci_liveupdate_freeze: vfio_pci_core_try_reset +
   *  pci_restore_state, and no .unfreeze to undo it when reboot() then fails), or leaves it
   *  running (the stated target of VFIO's DOC and LUO's: DMA continues across kexec). */
  deviceAcrossKexec: ['reset-at-freeze', 'keeps-running'],
  /** docs/readings/preserved-hwpt-destroy.md: IOMMU_DESTROY of a HWPT whose domain the
   *  iommufd's preserve preserved: EBUSY (V3: the preserve holds a reference on the HWPT until
   *  unpreserve), or the destroy goes through and frees the domain while its preservation (the
   *  iommufd record, the iommu_domain_ser, the KHO marks on its table pages) stays (V1, V2). */
  destroyPreserved: ['ebusy', 'frees-domain'],
} as const

export type Axis = keyof typeof AXES
export type Design = { [A in Axis]: (typeof AXES)[A][number] }
export const AXIS_NAMES = Object.keys(AXES) as Axis[]

/** Where a rule comes from: code or mail that was read (`owner/repo path function`, or the
 *  mail subject), or an inference and its reason. */
export type Citation = { source: string } | { inferred: string }
export const isInferred = (c: Citation): c is { inferred: string } => 'inferred' in c

/** Per axis, per option: where the behaviour that option models comes from. */
export const AXIS_OPTIONS: { [A in Axis]: Record<(typeof AXES)[A][number], Citation> } = {
  replaceFlow: {
    'replace-on-attach': { source: 'samikhawaja/linux tools/testing/selftests/iommu/iommufd_liveupdate.c (V1: ATTACH of a new HWPT after bind replaces the restored domain); RFC-v2 vfio_pci_liveupdate_kexec_test.c' },
    'reassociate-at-bind': { inferred: 'LPC 2025 talk, Discussion 1 option B; no posted code' },
  },
  ownership: {
    token: { source: 'mail "[PATCH 00/14] iommu: Add live update state preservation" (V2 __iommu_group_maybe_restore_domain: group->owner = device_ser->token); samikhawaja/linux drivers/iommu/liveupdate.c iommu_preserve_device (dma_owner_token)' },
    'allow-if-preserved': {
      source:
        'LPC 2025 talk, Discussion 2 option 1, as the V1-era core has it: samikhawaja/linux drivers/iommu/iommu.c 02881d0 __iommu_group_maybe_restore_domain (restores the domain, records no owner: owner_cnt stays 0) and iommu_device_claim_dma_owner(dev, owner, transfer) -> __iommu_take_dma_ownership ("if (!transfer && ((group->domain && group->domain != group->default_domain) || ...)) return -EBUSY"; with transfer the restored domain stays, no token is compared); drivers/vfio/iommufd.c 21c0f1b vfio_iommufd_physical_bind passes the preserved device\'s iommufd_ser.token as restore_token to iommufd_device_bind (whose V1 body is not in the index)',
    },
    strict: { inferred: 'LPC 2025 talk, Discussion 2: the mainline claim (iommu_device_claim_dma_owner) applied unchanged' },
  },
  replaceSwap: {
    hitless: {
      source:
        'mail "[PATCH 1/3] iommu/vt-d: Allow replacing no_pasid iommu_domain" <20260107201800.2486137-2-skhawaja@google.com> of "[PATCH 0/3] iommu/vt-d: Add support to hitless replace IOMMU domain" (7 Jan 2026): intel_iommu_attach_device skips device_block_translation when old is the attached paging domain; device_replace_dmar_domain rewrites the present entry in place (legacy: "*context = new_context", then intel_context_flush_no_pasid for the new and the old DID; scalable mode: old passed to domain_setup_{first,second}_level, the intel_pasid_replace_* in-place write); no non-present window. Review <20260107204607.GE340082@ziepe.ca>: hitless only while the IOMMU holds the entry in its cache; no reworked version posted',
    },
    'teardown-then-setup': {
      source:
        'samikhawaja/linux drivers/iommu/intel/iommu.c 0295931 intel_iommu_attach_device (device_block_translation(dev) first, unconditionally), __domain_setup_first_level / domain_setup_second_level ("if (old) intel_pasid_tear_down_entry(iommu, dev, pasid, false)", then intel_pasid_setup_*); mainline c3b1edea3791 "iommu/vt-d: Fix race condition during PASID entry replacement" (removes intel_pasid_replace_*: "following the clear-then-update flow"; 6.19-stable mail <20260225012408.441554266@linuxfoundation.org>)',
    },
  },
  markSemantics: {
    flag: { source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V1) iommufd_hwpt_lu_set_preserved: hwpt_target->lu_preserved = cmd->preserved' },
    'no-unmark': { source: 'samikhawaja/linux include/uapi/linux/iommufd.h 06fcb4a ("There is no \'unmark\' operation")' },
    pin: { source: 'drivers/iommu/iommufd/liveupdate.c V3a text ("liveupdate_tokens xarray still holds a reference"); V3b iommufd_preserve_hwpt iommufd_lock_obj' },
  },
  ioasFreeze: {
    'whole-ioas': { source: 'mail "[PATCH 00/14] iommu: Add live update state preservation" (V2 iopt_lu_map_immutable in iopt_alloc_area_pages / iopt_unmap_iova_range); V3b iommufd_preserve_hwpt ioas_set_immutable' },
    'domain-only': { inferred: 'the rejected alternative D6 of the domain notes; no code' },
  },
  memoryRule: {
    'preserved-memfd': { inferred: 'D7 without the seal requirement; no posted version checks the memfd without its seals' },
    'sealed-preserved-memfd': { source: 'V2/V3 check_iopt_pages_preserved (req_seals = F_SEAL_SEAL | F_SEAL_GROW | F_SEAL_SHRINK; liveupdate_get_token_outgoing -> -ENOENT), samikhawaja/linux drivers/iommu/iommufd/liveupdate.c' },
    none: { source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V1) iommufd_save_hwpts: checks only hwpt->common.domain, nothing about the IOAS areas or their files' },
  },
  restoreHwpt: {
    'object-only': { source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V1) iommufd_hwpt_lu_restore (_iommufd_hwpt_paging_alloc + iommufd_hwpt_init_from_domain)' },
    'needs-rebind': { source: 'V1 variant of drivers/iommu/iommufd/liveupdate.c with struct iommufd_attach_lu (-ENODEV until the recorded device is bound); selftest iommufd_liveupdate_duo.c' },
  },
  unfinished: {
    'finish-fails': { source: 'samikhawaja/linux kernel/liveupdate/luo_file.c luo_file_finish (any can_finish false -> -EBUSY, nothing finished)' },
    'finish-discards': { inferred: 'the old global-state LUO uAPI (D10); not read in code' },
  },
  didReservation: {
    'per-unit': { source: 'drivers/iommu/intel/liveupdate.c (V3) __restore_used_domain_ids filters on iommu_hw_ser->intel.phys_addr == iommu->reg_phys' },
    'all-units': { source: 'mail "[PATCH 07/14] iommu/vt-d: Restore IOMMU state and reclaimed domain ids" (V2 __restore_used_domain_ids, no unit filter); the V1 drivers/iommu/intel/liveupdate.c text has the same function' },
    none: { source: 'a drivers/iommu/intel/liveupdate.c variant with the reservation body commented out (fidelity-audit K4)' },
  },
  pasidPreservation: {
    none: { source: 'samikhawaja/linux drivers/iommu/iommufd/device.c 027f82d iommufd_device_preserve (PASID attachments -> -EOPNOTSUPP)' },
    all: { inferred: 'LPC 2025 talk, future work' },
    selective: { inferred: 'LPC 2025 talk, future work (per-PASID opt-in)' },
  },
  restoreFlow: {
    full: { source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V1) iommufd_liveupdate_retrieve, iommufd_hwpt_lu_restore' },
    'boot-only': { source: 'mail "[PATCH 00/14] iommu: Add live update state preservation" (V2) and V3b drivers/iommu/iommufd/liveupdate.c: iommufd_liveupdate_retrieve returns -EOPNOTSUPP, can_finish false' },
  },
  finishGate: {
    'no-attachments': { source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V1) iommufd_liveupdate_can_finish (!hwpt->common.domain || iommu_domain_has_attachments)' },
    'restored-destroyed': {
      inferred:
        'no posted code; the notes\' reading of the talk\'s flow ("destroy it before FINISH"), kept because with the V1 rule FINISH frees an unretrieved memfd that a restored HWPT still maps (properties/regressions/finish-gate-frees-memory-a-restored-hwpt-maps.json)',
    },
  },
  luoCapacity: {
    'fixed-arrays': { source: 'samikhawaja/linux kernel/liveupdate/luo_session.c 0f15271 luo_session_insert (LUO_SESSION_MAX -> -ENOMEM before the EEXIST loop); torvalds/linux kernel/liveupdate/luo_file.c 00d0b37 luo_preserve_file (LUO_FILE_MAX -> -ENOSPC)' },
    growable: { source: 'torvalds/linux kernel/liveupdate/kho_block.c 637315c; mail "[PATCH v6 10/13] liveupdate: Remove limit on the number of files per session" (kho_block_set_grow)' },
  },
  memfdSeals: {
    dropped: { source: 'torvalds/linux mm/memfd_luo.c 02e117b DOC ("Seals: File seals are not preserved. The file is unsealed on restore"), compatible memfd-v1' },
    reapplied: { source: 'newer mm/memfd_luo.c and include/linux/kho/abi/memfd.h (MEMFD_LUO_ALL_SEALS, compatible memfd-v2)' },
  },
  markImpl: {
    'v1-overwrite-unmark': { source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V1) iommufd_hwpt_lu_set_preserved: "if (hwpt == hwpt_target) continue", no check of a preserved iommufd ("TODO: return error if iommufd is already preserved")' },
    'token-xarray-ref': { source: 'drivers/iommu/iommufd/liveupdate.c V3a iommufd_hwpt_liveupdate_mark_preserve (xa_cmpxchg(&ictx->liveupdate_tokens, token, ...)); the second entry makes iommu_preserve_domain -EBUSY at preserve' },
    'v3-mark': { source: 'drivers/iommu/iommufd/liveupdate.c V3b iommufd_hwpt_liveupdate_mark_preserve (xa_for_each_marked(..., IOMMUFD_OBJ_LIVEUPDATE_MARK) without skipping the target, __xa_set_mark; liveupdate_mutex serialises, does not refuse)' },
  },
  restoreScope: {
    'preserved-device-records': { source: 'mail "[PATCH 00/14] iommu: Add live update state preservation" (V2 __iommu_group_maybe_restore_domain -> iommu_restore_domain, per preserved device at probe); samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V1) iommufd_hwpt_lu_restore: domain_ser->restored_domain NULL -> -ENOENT' },
    'every-preserved-domain': { inferred: 'luv\'s first model: every HWPT the VMM marked comes back and can be reclaimed; no posted code does this' },
  },
  deviceAcrossKexec: {
    'reset-at-freeze': {
      source:
        'samikhawaja/linux drivers/vfio/pci/vfio_pci_liveupdate.c 03855e7 vfio_pci_liveupdate_freeze (pci_load_saved_state, vfio_pci_core_try_reset, pci_restore_state; vfio_pci_liveupdate_file_ops has no .unfreeze) and its DOC ("VFIO currently resets and restores preserved devices back into an idle state during kexec"); torvalds/linux kernel/liveupdate/luo_file.c __luo_file_unfreeze (calls .unfreeze only if the handler has one)',
    },
    'keeps-running': {
      inferred:
        'no posted code: the goal stated in vfio_pci_liveupdate.c\'s DOC ("This will be relaxed in future versions of the kernel once it is safe to allow the device to keep running across kexec") and torvalds/linux kernel/liveupdate/luo_core.c DOC ("DMA activity may continue throughout the kernel transition")',
    },
  },
  destroyPreserved: {
    ebusy: {
      source:
        'drivers/iommu/iommufd/liveupdate.c V3b iommufd_liveupdate_preserve (iommufd_lock_obj(obj): "HWPT is locked so it will not be destroyed", dropped in _iommufd_unpreserve by iommufd_put_object) and V3a iommufd_hwpt_lu_mark_preserve ("liveupdate_tokens xarray still holds a reference to the HWPT"); samikhawaja/linux drivers/iommu/iommufd/main.c 0240b60 iommufd_object_remove (refcount_dec_if_one(&obj->users) fails: -EBUSY)',
    },
    'frees-domain': {
      source:
        'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c 039a263 (V1) iommufd_save_hwpts ("TODO: The HWPT should be made immutable, and cannot be destroyed"; no reference kept) and mail "[PATCH 10/14]" / "[PATCH 11/14]" of "[PATCH 00/14] iommu: Add live update state preservation" <20260203220948.2176157-1-skhawaja@google.com> (V2: a flag, iommufd_put_object; hw_pagetable.c not in the diffstat): iommufd_hwpt_paging_destroy -> iopt_table_remove_domain -> iommu_domain_free (iommu.c 02881d0, no preserved_state test) frees the table pages, never kho_unpreserve_folio (torvalds/linux kernel/liveupdate/kexec_handover.c dd03dd6: only kho_unpreserve_* clear a kho_radix_tree bit); the record and iommu_domain_ser stay',
    },
  },
  devicePreserve: {
    'mark-checked': { source: 'mail "iommufd: … preserve/unpreserve device" (V2 drivers/iommu/iommufd/device.c iommufd_device_preserve: !hwpt_paging->lu_preserve -> -EINVAL, then liveupdate_get_token_outgoing -> -ENOENT)' },
    'preserved-checked': { source: 'samikhawaja/linux drivers/iommu/iommufd/device.c 027f82d iommufd_device_preserve (!hwpt_paging->liveupdate_preserved -> -EINVAL, set only by the iommufd\'s preserve)' },
  },
}

export type ProfileName = 'lpc2025' | 'rfc-v2' | 'phase1' | 'v3'

/** The posted version a profile is. */
export interface Version {
  /** the series (mail subject) and its date */
  series: string
  date: string
  /** the tree (and commit) the profile's rules were read from; several where the series
   *  spans trees (LUO, iommufd, VFIO) */
  trees: string[]
}

export interface Profile {
  description: string
  version: Version
  design: Design
  /** per axis: where this profile's value comes from (read code, or inferred with why) */
  cite: Record<Axis, Citation>
  /** Axes whose value is inferred from the sources rather than read (DESIGN.md: marked *). */
  inferred: Axis[]
}

type Entries = { [A in Axis]: [Design[A], Citation?] }

/** A profile from its axis values; a value without its own citation takes its option's. */
function profile(description: string, version: Version, entries: Entries): Profile {
  const design = {} as Record<Axis, string>
  const cite = {} as Record<Axis, Citation>
  for (const axis of AXIS_NAMES) {
    const [value, own] = entries[axis] as [string, Citation?]
    design[axis] = value
    cite[axis] = own ?? (AXIS_OPTIONS[axis] as Record<string, Citation>)[value]
  }
  return { description, version, design: design as Design, cite, inferred: AXIS_NAMES.filter((a) => isInferred(cite[a])) }
}

const V1_IOMMUFD = 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V1 text: iommufd_hwpt_lu_set_preserved, iommufd_hwpt_lu_restore; stored at 039a263)'
const LUO_619 = 'samikhawaja/linux kernel/liveupdate/{luo_session,luo_file}.c 34c266a/0f15271 (fixed arrays)'
const LUO_2026 = 'torvalds/linux kernel/liveupdate/kho_block.c 637315c + mail "[PATCH v6 10/13] liveupdate: Remove limit on the number of files per session" (3 Jun 2026)'
const VFIO = 'samikhawaja/linux drivers/vfio/pci/vfio_pci_liveupdate.c 03855e7'

export const PROFILES: Record<ProfileName, Profile> = {
  lpc2025: profile(
    "LPC 2025 talk: the talk's design with its ongoing work landed (default)",
    {
      series: 'the LPC 2025 talk on IOMMU live update (its two discussions) with the RFC v2 flow; no single posted version: each axis names the version it takes its rule from',
      date: '2025-12 (talk), rules up to 2026-06',
      trees: [V1_IOMMUFD, 'samikhawaja/linux drivers/iommu/iommufd/device.c 027f82d (V3 preserve checks)', LUO_2026, VFIO],
    },
    {
      replaceFlow: ['replace-on-attach'],
      ownership: ['token'],
      replaceSwap: [
        'hitless',
        {
          source:
            'the hitless VT-d replace series "[PATCH 0/3] iommu/vt-d: Add support to hitless replace IOMMU domain" (Jan 2026), "needed for the Live update IOMMU persistence to hotswap the iommu domain after liveupdate": its [PATCH 1/3] swaps the present entry in place (see the option). The series\' rule, not a proven implementation: review found the posted code hitless only while the entry stays cached, and no reworked version is posted',
        },
      ],
      markSemantics: ['no-unmark'],
      ioasFreeze: ['whole-ioas'],
      memoryRule: ['sealed-preserved-memfd'],
      restoreHwpt: ['object-only'],
      unfinished: ['finish-fails'],
      didReservation: ['per-unit'],
      pasidPreservation: ['none'],
      restoreFlow: ['full'],
      finishGate: ['restored-destroyed'],
      luoCapacity: ['growable'],
      memfdSeals: ['reapplied'],
      markImpl: ['v3-mark'],
      devicePreserve: ['preserved-checked'],
      destroyPreserved: ['ebusy', { inferred: "the talk's flow never destroys a preserved HWPT before KEXEC; the V3 code (iommufd_liveupdate_preserve's iommufd_lock_obj) refuses it, EBUSY" }],
      deviceAcrossKexec: [
        'keeps-running',
        {
          inferred:
            'the talk\'s flow has the VM\'s devices doing DMA across kexec; that is the target both DOCs state, while every posted VFIO handler (03855e7) still resets the device at freeze',
        },
      ],
      restoreScope: [
        'every-preserved-domain',
        {
          inferred:
            'the talk\'s flow restores every marked HWPT; the posted code rebuilds a domain only from a preserved device\'s record, and then a marked HWPT without a preserved device can never be reclaimed, so FINISH stays EBUSY (shown under rfc-v2)',
        },
      ],
    },
  ),
  'rfc-v2': profile(
    'the Dec 2025 "[RFC PATCH v2 00/32]" as posted',
    {
      series: '"[RFC PATCH v2 00/32]" iommu live update (V1 iommufd code: SET_PRESERVED with unmark, u32 token, LU_RESTORE)',
      date: '2025-12',
      trees: [V1_IOMMUFD, LUO_619, 'torvalds/linux mm/memfd_luo.c 02e117b (memfd-v1)', VFIO],
    },
    {
      replaceFlow: ['replace-on-attach'],
      ownership: ['allow-if-preserved'],
      replaceSwap: [
        'teardown-then-setup',
        {
          source:
            'the RID replace of the RFC\'s base: intel_iommu_attach_device calls device_block_translation(dev) unconditionally (the pre-patch lines of "[PATCH 1/3] iommu/vt-d: Allow replacing no_pasid iommu_domain", base-commit 6cd6c12031130a349a098dbeb19d8c3070d2dfbe, Jan 2026, posted after the RFC and not part of it); a PASID replace in that base still used the v6.14 intel_pasid_replace_* in-place write (removed by c3b1edea3791), which this one axis does not separate; only the RID replace of a restored domain is judged (dma-continuity)',
        },
      ],
      markSemantics: ['flag'],
      ioasFreeze: ['whole-ioas', { source: 'RFC-v2 selftest iommufd_liveupdate.c expects IOMMU_IOAS_UNMAP to fail after preserve (fidelity-audit I3); the V1 liveupdate.c text read has only a TODO, so the freeze comes from the test' }],
      memoryRule: ['none'],
      restoreHwpt: ['object-only'],
      unfinished: ['finish-fails'],
      didReservation: ['per-unit', { inferred: 'kept while the switch is checked: the V1 drivers/iommu/intel/liveupdate.c text (read_file id 67195222218) __restore_used_domain_ids reserves every preserved DID on every unit with no unit filter, which is all-units (docs/readings/session9-inferred-rules.md); switching breaks properties/scenarios/rfc-v2-full-flow.json and the rfc-v2 campaign replay test, not yet understood' }],
      pasidPreservation: [
        'none',
        {
          inferred:
            'the V1 caller of iommu_preserve_device was not found, and what was read refuses nothing: V1 iommu_preserve_device (drivers/iommu/liveupdate.c, id 63165346022) has no PASID check, V1 intel_iommu_preserve_device (id 67195222218) KHO-preserves the whole PASID directory and tables and intel_pasid_try_restore_table reinstalls them at boot, while the device record names only the RID domain; V2/V3\'s refusal assumed',
        },
      ],
      restoreFlow: ['full'],
      finishGate: ['no-attachments'],
      luoCapacity: ['fixed-arrays'],
      memfdSeals: ['dropped'],
      markImpl: ['v1-overwrite-unmark'],
      devicePreserve: ['mark-checked', { inferred: 'kept while the switch is checked: V1 iommu_preserve_device (drivers/iommu/liveupdate.c, read_file id 63165346022) returns -EINVAL for a domain not yet preserved and has no token lookup, which is preserved-checked (docs/readings/session9-inferred-rules.md); switching breaks properties/scenarios/rfc-v2-full-flow.json and the rfc-v2 campaign replay test, not yet understood' }],
      destroyPreserved: ['frees-domain', { source: 'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c 039a263 (V1) iommufd_hwpt_lu_set_preserved (iommufd_put_object) and iommufd_save_hwpts ("TODO: The HWPT should be made immutable, and cannot be destroyed"): nothing holds the HWPT; destroy path read in hw_pagetable.c 0869dd9 and main.c 0240b60 (the V1 hw_pagetable.c is not in the index)' }],
      deviceAcrossKexec: ['reset-at-freeze', { source: 'samikhawaja/linux drivers/vfio/pci/vfio_pci_liveupdate.c 03855e7 vfio_pci_liveupdate_freeze (the VFIO handler the RFC\'s vfio_pci_liveupdate_kexec_test.c runs on; its comment: in-flight DMA is dropped at kexec, fidelity-audit M-K1)' }],
      restoreScope: ['preserved-device-records'],
    },
  ),
  phase1: profile(
    'the Feb 2026 "[PATCH 00/14] iommu: Add live update state preservation" (Phase 1)',
    {
      series: '"[PATCH 00/14] iommu: Add live update state preservation" (V2, "Phase 1": boot restore only, the mark flag, V2 device-preserve checks)',
      date: '2026-02-03',
      trees: ['mail patches of the series (V2 iommufd_hwpt_lu_set_preserve cmd 0x95, check_iopt_pages_preserved, iommufd_device_preserve, __restore_used_domain_ids)', LUO_619, VFIO],
    },
    {
      replaceFlow: ['replace-on-attach', { inferred: 'Phase 1 has no replace flow of its own (retrieve fails); the selftests\' flow assumed' }],
      ownership: ['token'],
      replaceSwap: [
        'teardown-then-setup',
        {
          source:
            'mail "[PATCH 08/14] iommu: Restore and reattach preserved domains to devices" <20260203220948.2176157-9-skhawaja@google.com>: intel_iommu_attach_device is not changed (device_block_translation first); dmar_domain_attach_device skips programming only while the device has a restored record, which __iommu_attach_device clears after the boot attach, so a later replace tears the entry down then sets it up',
        },
      ],
      markSemantics: ['no-unmark', { source: 'mail "[PATCH 10/14] iommufd-lu: Implement ioctl to let userspace mark an HWPT to be preserved" (struct without a preserve field)' }],
      ioasFreeze: ['whole-ioas'],
      memoryRule: ['sealed-preserved-memfd'],
      restoreHwpt: ['object-only', { inferred: 'Phase 1 has no LU_RESTORE; unreachable' }],
      unfinished: ['finish-fails'],
      didReservation: ['all-units'],
      pasidPreservation: ['none', { inferred: 'the V2 iommufd_device_preserve read has no PASID check; the V3 refusal assumed' }],
      restoreFlow: ['boot-only'],
      finishGate: ['no-attachments', { inferred: 'Phase 1 never finishes an iommufd (can_finish false); the V1 rule kept for overrides' }],
      luoCapacity: ['fixed-arrays', { inferred: 'the series of Feb 2026 predates the kho_block LUO (Jun 2026); based on the 6.19-era LUO' }],
      memfdSeals: ['dropped', { inferred: 'memfd-v1 was the mainline memfd handler in Feb 2026; the series does not touch it' }],
      markImpl: ['v1-overwrite-unmark', { source: 'mail "[PATCH 10/14] iommufd-lu: Implement ioctl to let userspace mark an HWPT to be preserved" <20260203220948.2176157-11-skhawaja@google.com> iommufd_hwpt_lu_set_preserve: V1\'s loop ("if (hwpt == hwpt_target) continue"; another marked HWPT with the token is -EADDRINUSE), so re-marking a HWPT with its own token succeeds; no unmark (markSemantics=no-unmark)' }],
      devicePreserve: ['mark-checked'],
      destroyPreserved: ['frees-domain', { source: 'mail "[PATCH 10/14] iommufd-lu: Implement ioctl to let userspace mark an HWPT to be preserved" <20260203220948.2176157-11-skhawaja@google.com> (lu_preserve flag, iommufd_put_object) and "[PATCH 11/14] iommufd-lu: Persist iommu hardware pagetables for live update" <20260203220948.2176157-12-skhawaja@google.com> (iommufd_save_hwpts takes no reference); hw_pagetable.c and iommu_domain_free are not in the series\' diffstat' }],
      deviceAcrossKexec: ['reset-at-freeze'],
      restoreScope: ['preserved-device-records'],
    },
  ),
  v3: profile(
    'the newest posted iommu series (V3: MARK_PRESERVE, u64 token) on the 2026 LUO',
    {
      series: '"[PATCH v2 00/16] iommu: Add live update state preservation" (27 Apr 2026) and later v4/v5 as in samikhawaja/linux (IOMMU_HWPT_LU_MARK_PRESERVE / IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE, u64 token)',
      date: '2026-04-27 .. 2026-06',
      trees: [
        'samikhawaja/linux drivers/iommu/iommufd/liveupdate.c (V3b: __xa_set_mark IOMMUFD_OBJ_LIVEUPDATE_MARK, iommufd_preserve_hwpt)',
        'samikhawaja/linux drivers/iommu/iommufd/device.c 027f82d, drivers/iommu/liveupdate.c e76a119',
        'samikhawaja/linux include/uapi/linux/iommufd.h 06fcb4a',
        LUO_2026,
        VFIO,
      ],
    },
    {
      replaceFlow: ['replace-on-attach', { inferred: 'V3 has no restore path (retrieve -EOPNOTSUPP); the selftests\' flow assumed' }],
      ownership: ['token'],
      replaceSwap: [
        'teardown-then-setup',
        {
          source:
            'samikhawaja/linux drivers/iommu/intel/iommu.c 0295931 (a live-update tree: CONFIG_IOMMU_LIVEUPDATE clear_unpreserved_context_entries) intel_iommu_attach_device: device_block_translation(dev) first; __domain_setup_first_level: "if (old) intel_pasid_tear_down_entry(...)". The hitless series is not in it',
        },
      ],
      markSemantics: ['no-unmark', { source: "samikhawaja/linux include/uapi/linux/iommufd.h 06fcb4a (no unmark); V3b takes the HWPT's reference (iommufd_lock_obj) in iommufd_preserve_hwpt, not at mark" }],
      ioasFreeze: ['whole-ioas'],
      memoryRule: ['sealed-preserved-memfd'],
      restoreHwpt: ['object-only', { inferred: 'V3 has no LU_RESTORE; unreachable' }],
      unfinished: ['finish-fails'],
      didReservation: ['per-unit'],
      pasidPreservation: ['none'],
      restoreFlow: ['boot-only'],
      finishGate: ['no-attachments', { inferred: 'V3 can_finish is false; the V1 rule kept for overrides' }],
      luoCapacity: ['growable'],
      memfdSeals: ['reapplied'],
      markImpl: ['v3-mark'],
      devicePreserve: ['preserved-checked'],
      destroyPreserved: ['ebusy'],
      deviceAcrossKexec: ['reset-at-freeze'],
      restoreScope: ['preserved-device-records'],
    },
  ),
}

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[]

const citationProblem = (c: Citation | undefined): string | undefined => {
  if (c === undefined) return 'has neither a source nor an inferred mark'
  const text = isInferred(c) ? c.inferred : (c as { source?: string }).source
  if (typeof text !== 'string' || text.trim().length < 8) return `has an empty ${isInferred(c) ? 'inference' : 'source'}`
  return undefined
}

/** What docs/fidelity.md promises of this file, checked: every profile says which version it
 *  is, every axis value of every profile and every option of every axis has a source or an
 *  inferred mark with its reason. Empty when all is well (test/models/profiles.test.ts). */
export function fidelityProblems(
  profiles: Record<string, Profile> = PROFILES,
  options: Record<string, Record<string, Citation>> = AXIS_OPTIONS,
): string[] {
  const out: string[] = []
  for (const axis of AXIS_NAMES)
    for (const o of AXES[axis] as readonly string[]) {
      const p = citationProblem(options[axis]?.[o])
      if (p) out.push(`axis option ${axis}=${o} ${p}`)
    }
  for (const [name, prof] of Object.entries(profiles)) {
    const v = prof.version
    if (!v || !v.series?.trim() || !v.date?.trim() || !(v.trees?.length > 0)) out.push(`profile ${name} does not say which posted version it is (series, date, trees)`)
    for (const axis of AXIS_NAMES) {
      const p = citationProblem(prof.cite?.[axis])
      if (p) out.push(`profile ${name} axis ${axis}=${prof.design[axis]} ${p}`)
    }
    const inferred = AXIS_NAMES.filter((a) => prof.cite?.[a] !== undefined && isInferred(prof.cite[a]))
    if (inferred.join() !== prof.inferred.join()) out.push(`profile ${name}: inferred list ${prof.inferred.join(',')} does not match its citations (${inferred.join(',')})`)
  }
  return out
}
export const DEFAULT_PROFILE: ProfileName = 'lpc2025'

/** A design as written in a scenario file or on the command line. */
export interface DesignSpec {
  profile?: string
  overrides?: Partial<Record<string, string>>
}

export class DesignError extends Error {}

/** Resolve a profile plus overrides; an unknown profile, axis or option is a DesignError. */
export function resolveDesign(spec: DesignSpec = {}): Design {
  const profileName = spec.profile ?? DEFAULT_PROFILE
  if (!(profileName in PROFILES))
    throw new DesignError(`unknown profile '${profileName}' (known: ${PROFILE_NAMES.join(', ')})`)
  const design: Design = { ...PROFILES[profileName as ProfileName].design }
  for (const [axis, option] of Object.entries(spec.overrides ?? {})) {
    if (option === undefined) continue
    if (!(axis in AXES)) throw new DesignError(`unknown design axis '${axis}' (known: ${AXIS_NAMES.join(', ')})`)
    const options = AXES[axis as Axis] as readonly string[]
    if (!options.includes(option))
      throw new DesignError(`unknown option '${option}' for axis '${axis}' (known: ${options.join(', ')})`)
    ;(design as Record<string, string>)[axis] = option
  }
  return design
}

/** `profile` plus the axes that differ from it, e.g. `lpc2025 ownership=strict`. */
export function describeDesign(design: Design, profile: ProfileName = DEFAULT_PROFILE): string {
  const base = PROFILES[profile].design
  const diffs = AXIS_NAMES.filter((a) => design[a] !== base[a]).map((a) => `${a}=${design[a]}`)
  return [profile, ...diffs].join(' ')
}
