// The seeded-defect catalogue: realistic bugs of the kind review threads catch, each a change
// of ONE behaviour of the kernel implementation through one hook (hooks.ts), off by default,
// selected by name (Kernel opts.defect, `luv run --defect NAME`). Each names the property
// expected to catch it and the shortest known trace (a scenario file that passes without the
// defect and fails with it: test/kernel/defects.test.ts).

import type { PropertyName } from '../../check/executor.types.ts'
import { CLEAN, type DefectHooks } from './hooks.ts'
import { HELD_OUT, HELD_OUT_NAMES } from './heldout.ts'

export interface DefectEntry {
  name: string
  /** what changed, which kernel function it mimics, which review comment catches this kind of bug */
  description: string
  /** the named property expected to catch it */
  property: PropertyName
  /** the shortest known trace, a scenario file in the public format */
  scenario: string
  /** its number of steps */
  shortestLength: number
  hooks: Partial<DefectHooks>
}

const at = (name: string) => `properties/defects/${name}.json`

export const DEFECTS: DefectEntry[] = [
  {
    name: 'missing-iotlb-flush-on-replace',
    description:
      'The hitless replace rewrites the present context entry with the new DID and table but skips the IOTLB flush of the old DID ' +
      '(the in-place swap of "[PATCH 0/3] iommu/vt-d: Add support to hitless replace IOMMU domain", intel_pasid_replace_second_level). ' +
      'When the old DID is freed and handed to the new domain, DMA keeps hitting the old translations. Review: "after changing a present ' +
      'entry you must flush with the old DID" (VT-d spec, Guidance to Software for Invalidations).',
    property: 'isolation',
    scenario: at('missing-iotlb-flush-on-replace'),
    shortestLength: 12,
    hooks: { flushOnReplace: false },
  },
  {
    name: 'missing-iotlb-flush-on-unmap',
    description:
      'IOMMU_IOAS_UNMAP clears the PTEs but does not flush the IOTLB of the DIDs tagging the domain before the pages are freed ' +
      '(iopt_unmap_domain without iommu_iotlb_sync / cache_tag_flush_range). A device keeps reaching memory that went back to the allocator. ' +
      'Review: "the gather must be synced before the pages are released".',
    property: 'dma-safety',
    scenario: at('missing-iotlb-flush-on-unmap'),
    shortestLength: 9,
    hooks: { flushOnUnmap: false },
  },
  {
    name: 'dids-not-reserved-at-boot',
    description:
      'The boot restore attaches preserved devices with their old DIDs but does not reserve them in domain_ida ' +
      '(intel_iommu_restore_device without ida_alloc_range), so the allocator can hand a live DID to a new domain. ' +
      'Review on "[PATCH 07/14] iommu/vt-d: Restore IOMMU state and reclaimed domain ids".',
    property: 'isolation',
    scenario: at('dids-not-reserved-at-boot'),
    shortestLength: 15,
    hooks: { reserveDids: 'none' },
  },
  {
    name: 'dids-reserved-on-every-unit',
    description:
      'The boot reserves every preserved device\'s DID in every unit\'s domain_ida, not only in the unit it came from: the V2 bug ' +
      '("[PATCH 07/14] iommu/vt-d: Restore IOMMU state and reclaimed domain ids" reserved the DIDs of all preserved devices on each IOMMU; ' +
      'V3 filters by iommu_phys). The other units leak those DIDs for good, and a unit with a small DID space runs out of them.',
    property: 'recoverability',
    scenario: at('dids-reserved-on-every-unit'),
    shortestLength: 15,
    hooks: { reserveDids: 'all-units' },
  },

  {
    name: 'ioas-mutable-after-preserve',
    description:
      'Preserving the iommufd checks the IOAS but never sets iopt.lu_map_immutable, so IOMMU_IOAS_MAP/UNMAP still succeed and change a ' +
      'domain whose table pages are already KHO-preserved (check_iopt_pages_preserved without the freeze). V1 selftest: "IOMMU_IOAS_UNMAP ' +
      'fails after preserve".',
    property: 'conformance',
    scenario: at('ioas-mutable-after-preserve'),
    shortestLength: 14,
    hooks: { freezeIoas: false },
  },
  {
    name: 'token-truncated-to-u32',
    description:
      'The handover stores the u64 HWPT and iommufd tokens in 32 bits (the V1/V2 uapi had hwpt_token:u32 and iommufd_ser.token u32). ' +
      'A token above 2^32 comes back as another token: the restored group is owned by the wrong token and LU_RESTORE by the real one fails. ' +
      'Review: "tokens are u64 in the LUO uapi, do not narrow them".',
    property: 'ownership',
    scenario: at('token-truncated-to-u32'),
    shortestLength: 15,
    hooks: { tokenBits: 32 },
  },
  {
    name: 'unpreserved-context-entries-survive-kexec',
    description:
      'The kexec shutdown preserves every active context table and does not clear the entries of devices that are not preserved ' +
      '(V3 intel/liveupdate.c shutdown without the clear of unpreserved devices and their aliases; every unit with a live entry is handed ' +
      'over). In the next kernel such a device still translates, through a page table nobody preserved. Review: "unpreserved devices must ' +
      'be blocked before kexec".',
    property: 'dma-safety',
    scenario: at('unpreserved-context-entries-survive-kexec'),
    shortestLength: 19,
    hooks: { clearUnpreserved: false },
  },

  {
    name: 'table-pages-freed-at-finish-while-attached',
    description:
      'The iommufd handler\'s finish releases every restored domain\'s table pages (kho_unpreserve + iommu_put_pages_list in ' +
      'iommufd_liveupdate_finish) without checking who still uses the domain: in the V1 selftest order FINISH comes before the restored ' +
      'HWPT is destroyed, and a device attached to it (again) walks freed pages. Review: "finish must not free what an HWPT still holds".',
    property: 'dma-safety',
    scenario: at('table-pages-freed-at-finish-while-attached'),
    shortestLength: 28,
    hooks: { freeTablesAtFinish: true },
  },

  {
    name: 'replace-no-rollback-on-failure',
    description:
      'A teardown-then-setup replace whose setup fails (no DID left: ENOSPC) returns the error without putting the old domain back ' +
      '(the error path of iommu_group_replace_domain / intel_iommu_set_dev_pasid missing its "goto err_restore"). The device is left blocked. ' +
      'Review: "on failure the old domain must stay attached".',
    property: 'atomicity',
    scenario: at('replace-no-rollback-on-failure'),
    shortestLength: 11,
    hooks: { rollbackReplace: false },
  },
  {
    name: 'group-owner-left-set-after-release',
    description:
      'iommu_device_release_dma_owner drops owner_cnt to 0 and restores the default domain but leaves group->owner set to the released ' +
      'iommufd. Review: "__iommu_release_dma_ownership must clear group->owner".',
    property: 'ownership',
    scenario: at('group-owner-left-set-after-release'),
    shortestLength: 4,
    hooks: { clearOwnerOnRelease: false },
  },
  {
    name: 'did-alloc-off-by-one',
    description:
      'domain_ida is allocated from FLPT_DEFAULT_DID instead of IDA_START_DID (ida_alloc_range(&iommu->domain_ida, IDA_START_DID - 1, ...) in ' +
      'domain_attach_iommu), so the first paging domain on a unit shares DID 1 with the pass-through entries and their IOTLB tags. ' +
      'Review: "DIDs 0 and 1 are reserved, start at IDA_START_DID".',
    property: 'isolation',
    scenario: at('did-alloc-off-by-one'),
    shortestLength: 5,
    hooks: { didStart: 1 },
  },

  {
    name: 'preserved-memfd-truncatable',
    description:
      'memfd_luo_preserve KHO-preserves the folios but does not freeze the mapping (shmem_freeze), so ftruncate still shrinks a preserved ' +
      'memfd and frees pages the next kernel will hand to a device. V1 selftest: "ftruncate on the preserved memfd fails".',
    property: 'conformance',
    scenario: at('preserved-memfd-truncatable'),
    shortestLength: 5,
    hooks: { freezeMemfd: false },
  },
  {
    name: 'auto-domain-leaked-on-detach',
    description:
      'Detaching the last device from an auto-domain HWPT drops the attachment but not the HWPT (iommufd_hw_pagetable_put missing on the ' +
      'detach path): the HWPT object and its table pages leak until the iommufd is closed. Review: "who puts the auto domain on detach?".',
    property: 'conformance',
    scenario: at('auto-domain-leaked-on-detach'),
    shortestLength: 6,
    hooks: { putAutoOnDetach: false },
  },
]

export const DEFECT_NAMES: string[] = DEFECTS.map((d) => d.name)

export { HELD_OUT, HELD_OUT_NAMES }

/** Every name `--defect` / KernelOptions.defect accept: the seeded ones, then the held-out ones. */
export const KNOWN_DEFECT_NAMES: string[] = [...DEFECT_NAMES, ...HELD_OUT_NAMES]

/** A seeded or a held-out defect's name (heldout.ts). */
export const isDefectName = (name: string): boolean => KNOWN_DEFECT_NAMES.includes(name)

/** The hooks for a defect, seeded or held out (the clean kernel for undefined); an unknown name throws. */
export function hooksFor(name?: string): DefectHooks {
  if (name === undefined) return { ...CLEAN }
  const d = DEFECTS.find((x) => x.name === name) ?? HELD_OUT.find((x) => x.name === name)
  if (d === undefined) throw new Error(`unknown defect '${name}' (known: ${DEFECT_NAMES.join(', ')}; held out: ${HELD_OUT_NAMES.join(', ')})`)
  return { ...CLEAN, ...d.hooks }
}
