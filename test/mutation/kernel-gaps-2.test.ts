// Checks written for the survivors of shard 0/32 of `npm run mutate` (MUTATION.md, "Shard
// 0/32, session 4"): each test names the mutants of src/kernel/ it kills. Where the model has
// the rule, the op runs with impl both and the kernel must agree with it (stepAll); where the
// rule is the kernel implementation's own machinery, the test cites the kernel function.

import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { resultToString, type Op } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { Kernel } from '../../src/kernel/index.ts'
import { Idr } from '../../src/kernel/idr.ts'
import { Ida } from '../../src/kernel/ida.ts'
import { CodecError, Reader } from '../../src/kernel/handover/codec.ts'
import { failNthSweep } from '../../src/check/failnth.ts'
import { runsOf } from '../../src/kernel/memfd.ts'
import { loadScenario, resolvedOps } from '../kernel/helpers.ts'
import { A, ATTACHED, B, both, bothExecutor, stepAll, stepKernelSide } from './helpers.ts'
import { ONE_UNIT_PLATFORM } from '../kernel/helpers.ts'

describe('iommufd: the V3a token xarray (markImpl=token-xarray-ref)', () => {
  const design = resolveDesign({ overrides: { markImpl: 'token-xarray-ref' } })
  const alloc: Op = { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } }
  const mark = (hwpt_id: number, token: bigint): Op => ({ op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id, token } })

  // kills src/kernel/iommufd.ts:404 `return 'EADDRINUSE'` -> `return ""` (the axis option gets
  // one random run in the profile, which never marks twice with one token) and :227
  // `if (x === h)` -> `if (true)` (destroying a marked HWPT dropped every token of the ictx):
  // xa_cmpxchg(&ictx->liveupdate_tokens, token, NULL, hwpt) fails for a token in use
  // (V3a iommufd_hwpt_liveupdate_mark_preserve); a destroyed HWPT's tokens go with it
  it('a token in use is EADDRINUSE; destroying a marked HWPT frees its tokens and only its own', () => {
    const r = both(
      [
        ...ATTACHED,
        alloc, // hwpt 4
        alloc, // hwpt 5
        mark(4, 1n),
        mark(5, 1n),
        mark(5, 2n),
        { op: 'IOMMU_DESTROY', args: { iommufd: 4, id: 4 } },
        alloc, // hwpt 4 again (lowest free id)
        mark(4, 2n),
        mark(4, 1n),
      ],
      design,
    )
    expect(r.slice(ATTACHED.length + 2)).toEqual(['0', '-EADDRINUSE', '0', '0', '4', '-EADDRINUSE', '0'])
  })
})

describe('iommufd preserve under markImpl=token-xarray-ref walks the tokens in order', () => {
  // kills src/kernel/luo_file.ts:151 (the sort of the token entries removed: insertion order).
  // V3a iommufd_liveupdate_preserve gathers the HWPTs with xa_for_each(&ictx->liveupdate_tokens)
  // (ascending token) and validates them in that order (pass 3): check_iopt_pages_preserved
  // once per IOAS, then iommu_domain_preserve, whose -EBUSY for a domain preserved twice comes
  // from the second entry. HWPT 4 (an anonymous area: -EINVAL) has token 5; HWPT 5 (a sealed
  // memfd) has tokens 1 and 2: token 2's entry is -EBUSY before token 5's is looked at.
  // The model follows the same walk since session 4 (models/luo.ts preserveIommufd; it
  // checked the HWPTs in object-id order and answered -EINVAL before: MUTATION.md).
  it('the lowest failing token decides the errno: -EBUSY, not the later -EINVAL', () => {
    const k = new Kernel(ONE_UNIT_PLATFORM, resolveDesign({ overrides: { markImpl: 'token-xarray-ref' } }))
    const ops: Op[] = [
      { op: 'MEMFD_CREATE', args: { pages: 2 } }, // fd 3
      { op: 'MEMFD_SEAL', args: { fd: 3, seals: ['SEAL', 'GROW', 'SHRINK'] } },
      { op: 'IOMMUFD_OPEN', args: {} }, // fd 4
      { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } }, // ioas 1: anonymous memory
      { op: 'IOMMU_IOAS_MAP', args: { iommufd: 4, ioas: 1, length: 0x1000n, iova: 0x100000n } },
      { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } }, // ioas 2: the sealed memfd
      { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 2, memfd: 3, start: 0n, length: 0x2000n, iova: 0x100000n } },
      { op: 'VFIO_CDEV_OPEN', args: { bdf: A } }, // fd 5
      { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 4 } }, // dev 3
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 3, pt_id: 1 } }, // hwpt 4 (ioas 1)
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 3, pt_id: 2 } }, // hwpt 5 (ioas 2)
      { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 4, token: 5n } },
      { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 5, token: 1n } },
      { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 5, token: 2n } },
      { op: 'LIVEUPDATE_OPEN', args: {} }, // fd 6
      { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 's' } }, // fd 7
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 3, token: 1n } },
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 4, token: 2n } },
    ]
    const r = ops.map((op) => resultToString(k.apply(op, []).result))
    expect(r.slice(0, -1)).not.toContainEqual(expect.stringMatching(/^-E/))
    expect(r.at(-1)).toBe('-EBUSY')
    // and the model agrees, step by step (conformance, every property)
    expect(stepAll(bothExecutor(resolveDesign({ overrides: { markImpl: 'token-xarray-ref' } })), ops).at(-1)).toBe('-EBUSY')
  })
})

describe('a preserved domain under ioasFreeze=domain-only, thawed', () => {
  // kills src/kernel/iommu.ts:134 `if (dom.synced)` -> `if (true)`: a domain frozen while
  // preserved keeps its own area list; once the session is closed (unpreserve) the next change
  // of the IOAS brings it to every area of the IOAS, those mapped while it was frozen included
  // (syncDomains; the iopt rule that every domain of an IOAS maps all its areas, as
  // iopt_fill_domain establishes at attach). The model (mirroredDomains) said a
  // domain frozen once "never catches up again" until session 4, when it was made to catch up
  // the same way (MUTATION.md, "Real bugs found"; domain-only is an inferred option).
  it('maps the areas it missed while frozen at the next IOAS change after unpreserve', () => {
    const k = new Kernel(ONE_UNIT_PLATFORM, resolveDesign({ overrides: { ioasFreeze: 'domain-only' } }))
    const mapAt = (page: bigint, iova: bigint): Op => ({
      op: 'IOMMU_IOAS_MAP_FILE',
      args: { iommufd: 4, ioas: 1, memfd: 3, start: page * 0x1000n, length: 0x1000n, iova },
    })
    const dma = (iova: bigint): Op => ({ op: 'DMA', args: { bdf: A, iova } })
    const ops: Op[] = [
      { op: 'MEMFD_CREATE', args: { pages: 4 } }, // fd 3
      { op: 'MEMFD_SEAL', args: { fd: 3, seals: ['SEAL', 'GROW', 'SHRINK'] } },
      { op: 'IOMMUFD_OPEN', args: {} }, // fd 4
      { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } }, // ioas 1
      mapAt(0n, 0x100000n),
      { op: 'VFIO_CDEV_OPEN', args: { bdf: A } }, // fd 5
      { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 4 } }, // dev 2
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } }, // hwpt 3
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3 } },
      { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 3, token: 7n } },
      { op: 'LIVEUPDATE_OPEN', args: {} }, // fd 6
      { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 's' } }, // fd 7
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 3, token: 1n } },
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 4, token: 2n } },
      mapAt(1n, 0x200000n), // reaches the IOAS, not the frozen domain
      dma(0x200000n),
      { op: 'CLOSE', args: { fd: 7 } }, // unpreserve: the domain thaws
      mapAt(2n, 0x300000n), // the next change resyncs the domain with the whole IOAS
      dma(0x200000n),
      dma(0x300000n),
    ]
    const r = ops.map((op) => resultToString(k.apply(op, []).result))
    expect(r.slice(-6)).toEqual(['0x200000', 'fault (no-mapping)', '0', '0x300000', '0x1000', '0x2000'])
    // and the model agrees, step by step (models/iommufd.ts syncToIoas since session 4)
    expect(stepKernelSide(bothExecutor(resolveDesign({ overrides: { ioasFreeze: 'domain-only' } })), ops).slice(-6)).toEqual(r.slice(-6))
  })
})

describe('kernel drivers on a group of two devices', () => {
  const GROUP: Platform = {
    memoryPages: 16,
    tablePages: 16,
    units: [{ name: 'dmar0', dids: 8 }],
    devices: [
      { bdf: '0000:03:00.0', unit: 'dmar0', group: 'g' },
      { bdf: '0000:03:00.1', unit: 'dmar0', group: 'g' },
    ],
  }
  // kills src/kernel/vfio.ts:119 `owner.kind !== 'dma-api'` -> `=== 'dma-api'`: the second
  // device of a group whose first is already bound to a DMA-API driver joins it
  // (iommu_device_use_default_domain: owner_cnt++ when the group has no user owner and is on
  // its default domain); a group claimed by a user (vfio cdev through iommufd) is EBUSY
  it('a second DMA-API driver in a group joins the first; a user-owned group refuses it', () => {
    const r = both(
      [
        { op: 'DRIVER_BIND', args: { bdf: '0000:03:00.0', driver: 'pci-pf-stub' } },
        { op: 'DRIVER_BIND', args: { bdf: '0000:03:00.1', driver: 'pci-pf-stub' } },
        { op: 'DRIVER_BIND', args: { bdf: '0000:03:00.0', driver: 'vfio-pci' } },
        { op: 'DRIVER_BIND', args: { bdf: '0000:03:00.1', driver: 'vfio-pci' } },
        { op: 'IOMMUFD_OPEN', args: {} }, // fd 3
        { op: 'VFIO_CDEV_OPEN', args: { bdf: '0000:03:00.0' } }, // fd 4
        { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 4, iommufd: 3 } },
        { op: 'DRIVER_BIND', args: { bdf: '0000:03:00.1', driver: 'pci-pf-stub' } },
      ],
      resolveDesign({}),
      GROUP,
    )
    expect(r).toEqual(['0', '0', '0', '0', '3', '4', '1', '-EBUSY'])
  })

  // kills src/kernel/vfio.ts:68 `o.kind === 'iommufd' && o.file === ictx` -> `false`: a group
  // already claimed by this iommufd takes its second device (iommu_device_claim_dma_owner with
  // the same owner cookie: owner_cnt++), another iommufd is EPERM (-EPERM for another owner)
  it('both devices of a group bind to one iommufd; another iommufd is EPERM', () => {
    const r = both(
      [
        { op: 'IOMMUFD_OPEN', args: {} }, // fd 3
        { op: 'IOMMUFD_OPEN', args: {} }, // fd 4
        { op: 'VFIO_CDEV_OPEN', args: { bdf: '0000:03:00.0' } }, // fd 5
        { op: 'VFIO_CDEV_OPEN', args: { bdf: '0000:03:00.1' } }, // fd 6
        { op: 'VFIO_CDEV_OPEN', args: { bdf: '0000:03:00.1' } }, // fd 7
        { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 3 } },
        { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 7, iommufd: 4 } },
        { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 6, iommufd: 3 } },
      ],
      resolveDesign({}),
      GROUP,
    )
    expect(r.slice(5)).toEqual(['1', '-EPERM', '2'])
  })
})

describe('LUO sessions: which session a file goes into', () => {
  // kills src/kernel/luo.ts:43 (both conditions of outgoingOf -> true): a file goes into the
  // session whose fd was passed, not the first outgoing one (luo_session_preserve_fd on
  // session->file_set), and an incoming session takes no new files (inferred EINVAL)
  it('PRESERVE_FD lands in the session named by the fd; an incoming session is EINVAL', () => {
    const e = bothExecutor()
    const r = stepAll(e, [
      { op: 'MEMFD_CREATE', args: { pages: 1 } }, // fd 3
      { op: 'MEMFD_CREATE', args: { pages: 1 } }, // fd 4
      { op: 'LIVEUPDATE_OPEN', args: {} }, // fd 5
      { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'a' } }, // fd 6
      { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'b' } }, // fd 7
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 3, token: 1n } },
      { op: 'KEXEC', args: {} },
      { op: 'LIVEUPDATE_OPEN', args: {} }, // fd 3 in the new kernel
      { op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name: 'b' } }, // fd 4
      { op: 'MEMFD_CREATE', args: { pages: 1 } }, // fd 5
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 4, fd: 5, token: 2n } },
    ])
    expect(r.slice(5)).toEqual(['0', '0', '3', '4', '5', '-EINVAL'])
  })
  it('before KEXEC, the observation shows the file in session b and none in a', () => {
    const e = bothExecutor()
    stepAll(e, [
      { op: 'MEMFD_CREATE', args: { pages: 1 } },
      { op: 'LIVEUPDATE_OPEN', args: {} },
      { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'a' } }, // fd 5
      { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'b' } }, // fd 6
    ])
    const o = e.step({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 6, fd: 3, token: 1n } })
    expect(o.violations).toEqual([])
    expect(o.kernelObservation?.luo.outgoing).toEqual([
      { name: 'a', files: [] },
      { name: 'b', files: [{ token: 1n, kind: 'memfd' }] },
    ])
  })
})

describe('an area of two PFN runs whose second run fails to map', () => {
  // kills src/kernel/iommu.ts:45 `if (i > 0)` -> `if (i <= 0)` (mapArea's unwind of the runs
  // already mapped): memfd 3 holds PFNs 0 and 2 (PFN 1 went to memfd 4 first), so its area is
  // two runs; at IOVA 0x1ff000 they fall in two 2 MiB slots, and the second needs a level-1
  // table of its own. Failing that allocation must undo the first run too: iopt_map_pages is
  // all or nothing (iommufd_fail_nth: -ENOMEM and nothing changed, at every point)
  it('every fail-nth point of the map is -ENOMEM and changes nothing', () => {
    const ops: Op[] = [
      { op: 'MEMFD_CREATE', args: { pages: 1 } }, // fd 3, PFN 0
      { op: 'MEMFD_CREATE', args: { pages: 1 } }, // fd 4, PFN 1
      { op: 'MEMFD_TRUNCATE', args: { fd: 3, pages: 2 } }, // PFN 2
      { op: 'IOMMUFD_OPEN', args: {} }, // fd 5
      { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 5 } }, // ioas 1
      { op: 'VFIO_CDEV_OPEN', args: { bdf: A } }, // fd 6
      { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 6, iommufd: 5 } }, // dev 2
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 5, dev_id: 2, pt_id: 1 } }, // hwpt 3
      { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 5, ioas: 1, memfd: 3, start: 0n, length: 0x2000n, iova: 0x1ff000n } },
    ]
    expect(both(ops).at(-1)).toBe('0x1ff000')
    const r = failNthSweep(ONE_UNIT_PLATFORM, resolveDesign({}), ops)
    expect(r.findings).toEqual([])
    // the level-3, level-2 and two level-1 tables of the one domain
    expect(r.pointsPerOp.at(-1)).toBe(4)
  })
})

describe('VFIO_DEVICE_DETACH_IOMMUFD_PT', () => {
  // kills src/kernel/luo_file.ts:286 (err_iommufd_unpreserve -> never): the device's first
  // cdev (not bound) is preserved, so preserving its second, attached cdev passes
  // iommufd_device_preserve and then fails in pci_liveupdate_preserve (one record per device,
  // inferred EBUSY); vfio_pci_liveupdate_preserve must then unpreserve the IOMMU side, so the
  // device is not preserved and may detach
  it('after a preserve that failed in the PCI layer, the device is not preserved', () => {
    const r = both(
      [
        ...ATTACHED,
        { op: 'VFIO_CDEV_OPEN', args: { bdf: A } }, // fd 6, a second cdev of A
        { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 3, token: 9n } },
        { op: 'LIVEUPDATE_OPEN', args: {} }, // fd 7
        { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 's' } }, // fd 8
        { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 3, token: 1n } },
        { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 4, token: 2n } },
        { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 6, token: 3n } },
        { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 5, token: 4n } },
        { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev: 5 } },
      ],
      resolveDesign({ overrides: { memoryRule: 'preserved-memfd' } }),
    )
    expect(r.slice(ATTACHED.length + 6)).toEqual(['0', '-EBUSY', '0'])
  })

  // kills src/kernel/vfio.ts:290 `return 'EBUSY'` -> `return ""` and :292 `if (pasid > 0)` ->
  // `if (true)`: a preserved device cannot detach (live-update.md §3: no attach, detach or
  // replace on a preserved device); a RID detach of a device without PASID capability is
  // not a PASID operation, so it cannot fail for lack of one (iommufd_device_detach)
  it('is EBUSY on a preserved device and works on the RID of a device without PASIDs', () => {
    const r = both([
      ...ATTACHED,
      { op: 'VFIO_CDEV_OPEN', args: { bdf: B } }, // fd 6
      { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 6, iommufd: 4 } }, // dev 4
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 6, pt_id: 1 } }, // auto HWPT 5
      { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev: 6 } },
      { op: 'DMA', args: { bdf: B, iova: 0x100000n } },
      { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 3, token: 9n } },
      { op: 'LIVEUPDATE_OPEN', args: {} }, // fd 7
      { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 's' } }, // fd 8
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 3, token: 1n } },
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 4, token: 2n } },
      { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 8, fd: 5, token: 3n } },
      { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev: 5 } },
      { op: 'DMA', args: { bdf: A, iova: 0x100000n } },
    ], resolveDesign({ overrides: { memoryRule: 'preserved-memfd' } }))
    expect(r.slice(ATTACHED.length + 2)).toEqual(['5', '0', 'fault (not-present)', '0', '7', '8', '0', '0', '0', '-EBUSY', '0x0'])
  })
})

describe('didReservation=all-units across KEXEC', () => {
  // kills src/kernel/index.ts:474 `i !== u.index` -> `i === u.index` (the DID sweep's list of
  // DIDs another unit restored, which all-units reserves here too): the LPC flow on two units
  // under all-units, impl both, with the full invariant sweep at KEXEC and at the end: the
  // kernel agrees with the model and no unit reports the DIDs reserved for the other unit's
  // restored domains as leaked (the model's own recoverability finding for all-units, "DID
  // reserved but used by no domain", is not the kernel's and is left out)
  it('the DIDs reserved for another unit are not leaks', () => {
    const sc = loadScenario('properties/scenarios/lpc2025-full-flow.json')
    const design = resolveDesign({ overrides: { didReservation: 'all-units' } })
    stepKernelSide(bothExecutor(design, sc.platform), resolvedOps(sc, design))
  })
})

describe('more survivors of shard 0/32', () => {
  // kills src/kernel/iommufd.ts:367 `markSemantics !== 'flag'` -> `true`: V1's
  // iommufd_hwpt_lu_set_preserved takes `preserved = 0` (hwpt_target->lu_preserved =
  // cmd->preserved): under markSemantics=flag the unmark succeeds and frees the token
  it('markSemantics=flag: an unmark succeeds and the token can be taken again', () => {
    const r = both(
      [
        ...ATTACHED,
        { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 3, token: 5n } },
        { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 3, token: 5n, preserve: false } },
        { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 3, token: 5n } },
      ],
      resolveDesign({ overrides: { markSemantics: 'flag' } }),
    )
    expect(r.slice(-3)).toEqual(['0', '0', '0'])
  })

  // kills src/kernel/pagetable.ts:178 (PageTable.create ignoring a failed root allocation) and
  // src/kernel/vtd.ts:217 (attachDid's `restore` never used: an error path took the lowest
  // free DID instead of the one it had just released): iommufd_fail_nth on these ops, every
  // injected point -ENOMEM with nothing changed. B holds DID 2 then detaches, so the lowest
  // free DID (2) is not the one A's domain gives back (3) when its replace fails.
  it('fail-nth over HWPT allocation, attach and a replace whose new DID fails', () => {
    const ops: Op[] = [
      ...ATTACHED.slice(0, 6),
      { op: 'VFIO_CDEV_OPEN', args: { bdf: B } }, // fd 6
      { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 6, iommufd: 4 } }, // dev 3
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } }, // hwpt 4
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } }, // hwpt 5
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } }, // hwpt 6
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 6, pt_id: 4 } }, // B: DID 2
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 5 } }, // A: DID 3
      { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev: 6 } }, // DID 2 free
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 6 } }, // replace: a new DID
    ]
    expect(both(ops).slice(-4)).toEqual(['4', '5', '0', '6'])
    const r = failNthSweep(ONE_UNIT_PLATFORM, resolveDesign({}), ops)
    expect(r.findings.map((f) => f.message)).toEqual([])
    expect(r.pointsPerOp.at(-1)).toBeGreaterThan(0)
  })
})

describe('a preserved device with a PASID entry across KEXEC (pasidPreservation=all)', () => {
  // kills src/kernel/vtd.ts:452 (adoptStructures' walk of a preserved PASID directory, `di++`
  // -> `di--`: the next kernel never finishes booting): the VT-d preserve keeps "all currently
  // active context tables" and the PASID directories and tables they point at, and the next
  // kernel claims each of them from KHO; the PASID entry then still translates
  // (the model's own recoverability finding for this option, after the DMA, is left out)
  it('the PASID directory is adopted and the PASID still translates after KEXEC', () => {
    const r = stepKernelSide(
      bothExecutor(resolveDesign({ overrides: { pasidPreservation: 'all', memoryRule: 'preserved-memfd' } })),
      [
        ...ATTACHED,
        { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3, pasid: 1 } },
        { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 3, token: 9n } },
        { op: 'LIVEUPDATE_OPEN', args: {} }, // fd 6
        { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 's' } }, // fd 7
        { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 3, token: 1n } },
        { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 4, token: 2n } },
        { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 5, token: 3n } },
        { op: 'KEXEC', args: {} },
        { op: 'DMA', args: { bdf: A, pasid: 1, iova: 0x101000n } },
      ],
    )
    expect(r.slice(-3)).toEqual(['0', '0', '0x1000'])
  })
})

describe('IOMMU_HWPT_LU_RESTORE with its allocation failing', () => {
  // kills src/kernel/iommufd.ts:454 `if (isErr(id)) return id` -> never: the restored HWPT's
  // id (iommufd_object_alloc in iommufd_hwpt_lu_restore) failing must leave everything as it
  // was (fail-nth: -ENOMEM, the observation unchanged) and a retry must then succeed
  it('fail-nth 1 is -ENOMEM and atomic; the retry restores the HWPT', () => {
    const sc = loadScenario('properties/scenarios/lpc2025-full-flow.json')
    const ops = resolvedOps(sc)
    const at = ops.findIndex((o) => o.op === 'IOMMU_HWPT_LU_RESTORE')
    const e = bothExecutor(sc.design, sc.platform)
    stepAll(e, ops.slice(0, at))
    const f = e.stepFailNth!(ops[at], 1)
    expect(f.reached).toBe(true)
    expect(f.violations.map((v) => `${v.property}: ${v.message}`)).toEqual([])
    expect([f.result, f.kernelResult]).toEqual([
      { ok: false, errno: 'ENOMEM' },
      { ok: false, errno: 'ENOMEM' },
    ])
    expect(stepAll(e, ops.slice(at))).not.toContain('-ENOMEM')
  })
})

describe('memfd page runs and superpages', () => {
  // kills src/kernel/memfd.ts:42 `pfns[i] + (j - i)` -> `pfns[i] + (j + i)`: a run that does
  // not start at the file's first page was cut into single pages, so a 2 MiB-aligned,
  // physically contiguous 512-page range got 4 KiB leaves (iommu_pgsize picks the largest page
  // size whose IOVA and PA are aligned: one level-1 table more)
  it('runsOf finds the maximal contiguous runs from any start', () => {
    expect(runsOf([5, 6, 7, 10, 11, 12, 20], 1, 6)).toEqual([
      { first: 6, length: 2 },
      { first: 10, length: 3 },
    ])
  })

  const BIG: Platform = {
    memoryPages: 2048,
    tablePages: 16,
    units: [{ name: 'dmar0', dids: 8 }],
    devices: [
      { bdf: A, unit: 'dmar0', pasids: 8 },
      { bdf: B, unit: 'dmar0' },
    ],
  }
  it('the second 2 MiB of a contiguous memfd maps as one superpage, as the model counts it', () => {
    const e = bothExecutor(resolveDesign({}), BIG)
    stepAll(e, [
      { op: 'MEMFD_CREATE', args: { pages: 1024 } }, // fd 3, PFNs 0-1023
      { op: 'IOMMUFD_OPEN', args: {} },
      { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } },
      { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 1, memfd: 3, start: 0x200000n, length: 0x200000n, iova: 0x200000n } },
      { op: 'VFIO_CDEV_OPEN', args: { bdf: A } },
      { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 4 } },
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } },
      { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3 } },
    ])
    const o = e.step({ op: 'DMA', args: { bdf: A, iova: 0x3ff123n } })
    expect(o.kernelResult).toEqual({ ok: true, out: 0x3ff123n })
    // root, level 3, level 2 holding the 2 MiB leaf: no level-1 table
    expect(o.kernelObservation?.memory.tablePages).toBe(3)
    expect(o.observation.memory.tablePages).toBe(3)
  })
})

describe('Idr and Ida: object ids, fds, domain IDs', () => {
  // kills src/kernel/idr.ts:27 (the double-free guard -> never): xa_alloc with
  // XA_FLAGS_ALLOC1 hands out the lowest free index (iommufd_object_alloc), and freeing an id
  // that is not allocated is a kernel bug luv must turn into a failure, not a reused id
  it('hands out the lowest free id and refuses a double free or a never-allocated id', () => {
    const ids = new Idr(1)
    expect([ids.alloc(), ids.alloc(), ids.alloc(), ids.alloc()]).toEqual([1, 2, 3, 4])
    ids.free(3)
    ids.free(1)
    expect(() => ids.free(3)).toThrow(/double free of 3/)
    expect(() => ids.free(5)).toThrow(/double free of 5/)
    expect(() => ids.free(0)).toThrow(/double free of 0/)
    expect([ids.alloc(), ids.alloc(), ids.alloc()]).toEqual([1, 3, 5])
  })

  // kills src/kernel/ida.ts:22 `size > 65536` -> `size >= 65536` and :24 (the check of the
  // first DID -> never): VT-d's ND field goes up to 2^16 domain IDs (cap_ndoms), so a unit
  // with 65536 DIDs is valid and its last DID is 65535; a first DID other than 0..2 is not
  it('takes a DID space of 65536 and refuses a first DID outside 0..2', () => {
    const ida = new Ida(65536)
    expect(ida.reserve(65535)).toBeUndefined()
    expect(ida.reserve(65536)).toBe('EINVAL')
    expect(() => new Ida(8, undefined, 3)).toThrow(/first DID 3/)
    expect(() => new Ida(8, undefined, -1)).toThrow(/first DID -1/)
    expect(new Ida(8, undefined, 1).alloc()).toBe(1)
  })
})

describe('handover decoding of malformed fields', () => {
  // kills src/kernel/handover/codec.ts:21 (TextDecoder without fatal: bad UTF-8 would decode
  // to U+FFFD) and :195 (the u64n message emptied): the next kernel must refuse a record it
  // cannot read exactly (the KHO deserializers fail the restore, luv panics) and say what
  it('a string that is not UTF-8 and a u64 beyond 2^53 are CodecErrors that say so', () => {
    // a u16 length, then the bytes: 0xc3 0x28 is not UTF-8, 0xc3 0xa9 is 'é'
    const bad = () => new Reader(Uint8Array.of(2, 0, 0xc3, 0x28)).str()
    expect(bad).toThrow(CodecError)
    expect(bad).toThrow(/not UTF-8/)
    expect(new Reader(Uint8Array.of(2, 0, 0xc3, 0xa9)).str()).toBe('é')
    const big = Uint8Array.of(0, 0, 0, 0, 0, 0, 0x20, 0)
    expect(() => new Reader(big).u64n()).toThrow(/u64 at 0 is not a safe integer/)
  })
})
