// The errnos each op documents (the model returns them; models/*.ts cites where each comes
// from), for the reach requirement "every op returns each of its documented errnos somewhere
// in a default campaign". Where random generation cannot reach an errno on the campaign's
// platforms, NOT_REACHED says why and which unit test covers it instead.

import type { Errno, OpName } from '../models/ops.ts'

const FD: Errno[] = ['EBADF', 'ENOTTY']

export const DOCUMENTED_ERRNOS: Record<OpName, Errno[]> = {
  MEMFD_CREATE: ['ENOMEM'],
  MEMFD_SEAL: ['EBADF', 'EINVAL', 'EPERM'],
  MEMFD_TRUNCATE: ['EBADF', 'EINVAL', 'EPERM', 'ENOMEM'],
  IOMMUFD_OPEN: [],
  IOMMU_IOAS_ALLOC: [...FD],
  IOMMU_IOAS_MAP_FILE: [...FD, 'ENOENT', 'EINVAL', 'EBUSY', 'EEXIST', 'EOVERFLOW', 'ENOSPC', 'ENOMEM'],
  IOMMU_IOAS_MAP: [...FD, 'ENOENT', 'EINVAL', 'EBUSY', 'EEXIST', 'EOVERFLOW', 'ENOSPC', 'ENOMEM'],
  IOMMU_IOAS_UNMAP: [...FD, 'ENOENT', 'EINVAL', 'EBUSY', 'EOVERFLOW'],
  IOMMU_HWPT_ALLOC: [...FD, 'ENOENT', 'EINVAL', 'EOPNOTSUPP', 'ENOMEM'],
  IOMMU_DESTROY: [...FD, 'ENOENT', 'EBUSY'],
  // no EBUSY any more: no posted version refuses a mark while the iommufd is preserved (audit I13)
  IOMMU_HWPT_LU_SET_PRESERVE: [...FD, 'ENOENT', 'EINVAL', 'EOPNOTSUPP', 'EADDRINUSE'],
  IOMMU_HWPT_LU_MARK_PRESERVE: [...FD, 'ENOENT', 'EADDRINUSE'],
  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE: [...FD, 'ENOENT', 'EADDRINUSE'],
  IOMMU_HWPT_LU_RESTORE: [...FD, 'ENOENT'],
  VFIO_CDEV_OPEN: ['ENOENT', 'EBUSY'],
  VFIO_DEVICE_BIND_IOMMUFD: [...FD, 'EBADFD', 'EINVAL', 'EPERM'],
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: [...FD, 'EINVAL', 'EBUSY', 'ENOENT', 'EOPNOTSUPP', 'ENOSPC'],
  VFIO_DEVICE_DETACH_IOMMUFD_PT: [...FD, 'EINVAL', 'EBUSY', 'EOPNOTSUPP'],
  VFIO_DEVICE_SET_IRQS: [...FD, 'EINVAL'],
  DRIVER_BIND: ['ENODEV', 'EBUSY'],
  LIVEUPDATE_OPEN: ['EBUSY'],
  LIVEUPDATE_IOCTL_CREATE_SESSION: ['EBADF', 'EINVAL', 'EEXIST', 'ENOMEM'],
  LIVEUPDATE_SESSION_PRESERVE_FD: [...FD, 'EINVAL', 'EEXIST', 'ENOSPC', 'ENOENT', 'EBUSY', 'EOPNOTSUPP'],
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: ['EBADF', 'ENOENT', 'EINVAL'],
  LIVEUPDATE_SESSION_RETRIEVE_FD: [...FD, 'EINVAL', 'ENOENT'],
  LIVEUPDATE_SESSION_FINISH: [...FD, 'EINVAL', 'EBUSY'],
  LIVEUPDATE_SESSION_GET_NAME: [...FD, 'EINVAL'],
  CLOSE: ['EBADF'],
  KEXEC: ['EINVAL'],
  DMA: ['ENODEV'],
}

/** Documented, but not reached by the default campaign (lpc2025, default axes, the platforms
 *  `luv campaign` draws: models/platform.ts DEFAULT_CAMPAIGN_PLATFORMS). Each reason starts with
 *  its verdict, so a coverage table can print it beside the pair:
 *    `unreachable:`    no run of the default campaign can return it (the rule cited says why);
 *    `generator hole:` one step away on every platform, but the op generators never draw the
 *                      argument that reaches it (properties/ops.ts). None is left: the last
 *                      three (MAP_FILE EOVERFLOW and ENOSPC, MAP ENOSPC: u64-edge IOVAs and
 *                      lengths, auto-IOVA lengths of 2^47 and more) are drawn since session 6,
 *                      and test/coverage/holes.test.ts holds the resolvers to it;
 *    `platform:`       unreachable on the default campaign's platforms, reached on another.
 *  test/coverage/holes.test.ts holds each verdict to the model: a pair marked reachable must be
 *  reached by the step it names, and an `unreachable` pair's bound must still hold. */
export const NOT_REACHED: Partial<Record<OpName, Partial<Record<Errno, string>>>> = {
  IOMMU_IOAS_MAP_FILE: {
    ENOMEM:
      'platform: file pages exist already, so only the table zone can fail (models/iommufd.ts insertArea -> checkTableZone); the default ' +
      'machines\' 1024 table pages do not fill in a run, the tiny platform\'s 12 do (the harness, `--platform mixed`); `luv campaign`\'s ' +
      'fail-nth reaches it too, by failing a table-page allocation on purpose',
  },
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: {
    ENOSPC:
      'platform: a unit runs out of DIDs only with more entries than usable DIDs (cap_ndoms - IDA_START_DID; models/iommu.ts getDid, ' +
      'one DID per domain with an entry on the unit, freed with its last entry by putDid); the default and superpage machines have 14 ' +
      'usable DIDs per unit (cap_ndoms 16, VT-d ND=0, the smallest the spec allows) and at most 9 entries per unit (RID + 7 PASIDs, ' +
      'and a RID). The tiny platform (`--platform mixed`, the harness) reaches it, on purpose since session 6 (properties/guide.ts ' +
      'fillUnitStep fills dmar0\'s 2 usable DIDs and attaches one more domain); test/models/memory-iommufd.test.ts covers it (a 3-DID unit)',
  },
  LIVEUPDATE_IOCTL_CREATE_SESSION: {
    ENOMEM:
      'unreachable: only luoCapacity=fixed-arrays has LUO_SESSION_MAX (about 744 sessions, models/luo.ts createSession; samikhawaja/linux ' +
      'kernel/liveupdate/luo_session.c luo_session_insert), lpc2025 is growable; the other ENOMEM, luo_session_alloc\'s kzalloc ' +
      '(torvalds/linux kernel/liveupdate/luo_session.c), is no fail-nth point (test/models/fidelity.test.ts covers fixed-arrays)',
  },
  LIVEUPDATE_SESSION_PRESERVE_FD: {
    ENOSPC:
      'unreachable: only luoCapacity=fixed-arrays has LUO_FILE_MAX (about 128 files in one session, models/luo.ts preserveFd; ' +
      'torvalds/linux kernel/liveupdate/luo_file.c 00d0b37 luo_preserve_file), lpc2025 is growable, and a run has at most 80 steps ' +
      '(test/models/fidelity.test.ts covers fixed-arrays)',
  },
}

export const VERDICTS = ['unreachable', 'generator hole', 'platform'] as const
export type Verdict = (typeof VERDICTS)[number]

/** NOT_REACHED's reason for a pair (`OP`, `ERRNO`), if it gives one. */
export function notReachedReason(op: string, errno: string): string | undefined {
  return (NOT_REACHED as Record<string, Record<string, string> | undefined>)[op]?.[errno]
}

/** The verdict a pair's NOT_REACHED reason leads with (the text before its first colon). */
export function notReachedVerdict(op: string, errno: string): string | undefined {
  return notReachedReason(op, errno)?.split(':')[0]
}
