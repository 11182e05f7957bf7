// destroyPreserved (docs/fidelity.md "IOMMU_DESTROY of a preserved HWPT, per version"): each
// case is written from what the cited kernel functions return, and runs on the model and on
// the kernel implementation separately (each must meet every expectation) and then on both
// together (their observations, table pages included, must agree at every step).

import { describe, expect, it } from 'vitest'
import { checkEachImpl, type Step } from './each-impl.ts'

const DEV = '0000:01:00.0'
const OTHER = '0000:03:00.0'

/** Run on model, kernel, both (each-impl.ts); the problems, and the model's final state. */
const check = (steps: Step[], design: Record<string, string>) => checkEachImpl('destroy-preserved', steps, design)

/** A marked HWPT with a 2-page anonymous mapping, nothing attached, its iommufd preserved. */
const preserved = (mark = 'IOMMU_HWPT_LU_SET_PRESERVE'): Step[] => [
  { op: 'MEMFD_CREATE', args: { pages: 2 }, as: 'mfd' },
  { op: 'MEMFD_SEAL', args: { fd: '$mfd', seals: ['SEAL', 'GROW', 'SHRINK'] } },
  { op: 'IOMMUFD_OPEN', as: 'ifd' },
  { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: '$ifd' }, as: 'ioas' },
  { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: '$ifd', ioas: '$ioas', memfd: '$mfd', start: 0, length: '0x2000', iova: '0x100000' } },
  { op: 'VFIO_CDEV_OPEN', args: { bdf: DEV }, as: 'cdev' },
  { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: '$cdev', iommufd: '$ifd' }, as: 'dev' },
  { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: '$ifd', dev_id: '$dev', pt_id: '$ioas' }, as: 'hwpt' },
  { op: mark, args: { iommufd: '$ifd', hwpt_id: '$hwpt', token: '0x1234' }, expect: 'ok' },
  { op: 'LIVEUPDATE_OPEN' },
  { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vm0' }, as: 's' },
  { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: '$s', fd: '$mfd', token: 1 }, expect: 'ok' },
  { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: '$s', fd: '$ifd', token: 2 }, expect: 'ok' },
]

describe('IOMMU_DESTROY of a preserved HWPT', () => {
  it('V1 (rfc-v2) and V2 (phase1): succeeds, and KEXEC carries the freed table pages as KHO-held', () => {
    for (const profile of ['rfc-v2', 'phase1']) {
      const { problems, state } = check(
        [...preserved(), { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: '$hwpt' }, expect: 'ok' }, { op: 'KEXEC', expect: 'ok' }],
        { profile },
      )
      expect(problems, profile).toEqual([])
      // root + level-3, level-2 and level-1 tables of the 0x2000 mapping, held for the boot
      expect(state.tablePagesUsed, profile).toBe(4)
      expect(Object.values(state.domains).map((d) => [d.unrebuilt, d.khoPages]), profile).toEqual([[true, 4]])
    }
  })

  it('V3 (v3) and lpc2025: EBUSY while preserved; closing the session drops the reference', () => {
    for (const profile of ['v3', 'lpc2025']) {
      const { problems } = check(
        [
          ...preserved('IOMMU_HWPT_LU_MARK_PRESERVE'),
          { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: '$hwpt' }, expect: 'EBUSY' },
          { op: 'CLOSE', args: { fd: '$s' }, expect: 'ok' },
          { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: '$hwpt' }, expect: 'ok' },
        ],
        { profile },
      )
      expect(problems, profile).toEqual([])
    }
  })

  it('V1: cancelling the preserve after the destroy drops the record, not the KHO marks; a later KEXEC still carries the pages', () => {
    const { problems, state } = check(
      [
        ...preserved(),
        { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: '$hwpt' }, expect: 'ok' },
        { op: 'CLOSE', args: { fd: '$s' }, expect: 'ok' },
        { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vm1' }, as: 's1' },
        { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: '$s1', fd: '$mfd', token: 1 }, expect: 'ok' },
        { op: 'KEXEC', expect: 'ok' },
        { op: 'LIVEUPDATE_OPEN' },
        { op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name: 'vm1' }, as: 'in' },
        { op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: '$in', token: 1 }, expect: 'ok' },
        // the record went with the cancelled preserve: only the memfd is in vm1, and it finishes
        { op: 'LIVEUPDATE_SESSION_FINISH', args: { session: '$in' }, expect: 'ok' },
      ],
      { profile: 'rfc-v2' },
    )
    expect(problems).toEqual([])
    expect(state.tablePagesUsed).toBe(4)
  })

  it('the last detach of a marked, preserved auto-domain HWPT frees it under V1 and keeps it under V3', () => {
    const auto = (profile: string, afterDetach: string): Step[] => [
      { op: 'IOMMUFD_OPEN', as: 'ifd' },
      { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: '$ifd' }, as: 'ioas' },
      { op: 'VFIO_CDEV_OPEN', args: { bdf: OTHER }, as: 'cdev' },
      { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: '$cdev', iommufd: '$ifd' }, as: 'dev' },
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: '$cdev', pt_id: '$ioas' }, expect: 'ok' },
      // the auto-domain HWPT is the next object id: 3 (IOAS 1, DEVICE 2)
      { op: profile === 'v3' ? 'IOMMU_HWPT_LU_MARK_PRESERVE' : 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: '$ifd', hwpt_id: 3, token: '0x77' }, expect: 'ok' },
      { op: 'LIVEUPDATE_OPEN' },
      { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vm0' }, as: 's' },
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: '$s', fd: '$ifd', token: 2 }, expect: 'ok' },
      { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev: '$cdev' }, expect: 'ok' },
      { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: 3 }, expect: afterDetach },
    ]
    expect(check(auto('rfc-v2', 'ENOENT'), { profile: 'rfc-v2' }).problems).toEqual([])
    expect(check(auto('v3', 'EBUSY'), { profile: 'v3' }).problems).toEqual([])
  })
})

// KHO's bitmap is a set (models/memory.ts "Table pages and KHO"; kexec_handover.c
// kho_radix_add_page __set_bit, kho_radix_del_page __clear_bit): a page the freed domain had
// marked and a later domain took is one page, marked or not as that domain's preserve leaves it.
describe('KHO counts a freed, still-marked table page once', () => {
  /** destroy after the preserve, then call the update off: the 4 freed pages keep their marks */
  const freedThenCalledOff: Step[] = [
    ...preserved(),
    { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: '$hwpt' }, expect: 'ok' },
    { op: 'CLOSE', args: { fd: '$s' }, expect: 'ok' },
  ]
  const preserveAgain: Step[] = [
    { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vm1' }, as: 's1' },
    { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: '$s1', fd: '$mfd', token: 1 }, expect: 'ok' },
    { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: '$s1', fd: '$ifd', token: 2 }, expect: 'ok' },
  ]
  /** a new HWPT on the same IOAS takes the freed pages (lowest free first) and is preserved */
  const reusedAndPreserved: Step[] = [
    ...freedThenCalledOff,
    { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: '$ifd', dev_id: '$dev', pt_id: '$ioas' }, as: 'h2' },
    { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: '$ifd', hwpt_id: '$h2', token: '0x99' }, expect: 'ok' },
    ...preserveAgain,
  ]

  it('a domain on a new IOAS takes one freed page (its root) and is preserved: 4 pages held, not 5', () => {
    const { problems, state } = check(
      [
        ...freedThenCalledOff,
        { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: '$ifd' }, as: 'ioas2' },
        { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: '$ifd', dev_id: '$dev', pt_id: '$ioas2' }, as: 'h2' },
        { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: '$ifd', hwpt_id: '$h2', token: '0x99' }, expect: 'ok' },
        ...preserveAgain,
        { op: 'KEXEC', expect: 'ok' },
      ],
      { profile: 'rfc-v2' },
    )
    expect(problems).toEqual([])
    // the new domain's root, and the freed domain's other three pages
    expect(state.tablePagesUsed).toBe(4)
    expect(Object.values(state.domains).map((d) => d.khoPages ?? 1 + Object.keys(d.slots).length)).toEqual([3, 1])
  })

  it('a domain that took the freed pages is preserved, and that preserve is cancelled too: the marks go with it', () => {
    const { problems, state } = check(
      [
        ...reusedAndPreserved,
        // iommu_unpreserve_pages on the new domain's tables: the same four pages, unmarked
        { op: 'CLOSE', args: { fd: '$s1' }, expect: 'ok' },
        { op: 'KEXEC', expect: 'ok' },
      ],
      { profile: 'rfc-v2' },
    )
    expect(problems).toEqual([])
    expect(state.tablePagesUsed).toBe(0)
  })

  it('two freed domains that shared a page: counted once', () => {
    const { problems, state } = check(
      [
        ...reusedAndPreserved,
        { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: '$h2' }, expect: 'ok' },
        { op: 'KEXEC', expect: 'ok' },
      ],
      { profile: 'rfc-v2' },
    )
    expect(problems).toEqual([])
    expect(state.tablePagesUsed).toBe(4)
  })
})
