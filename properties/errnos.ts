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

/** Documented, but out of reach of a random campaign on the campaign platforms. */
export const NOT_REACHED: Partial<Record<OpName, Partial<Record<Errno, string>>>> = {
  IOMMU_IOAS_MAP_FILE: {
    ENOSPC: 'auto IOVA exhaustion needs the 2^48 IOVA space filled',
    EOVERFLOW: 'the memfd bounds check (EINVAL) comes first for any length a memfd can back',
    ENOMEM: 'file pages exist already; only the table zone can fail, and MAP/HWPT_ALLOC reach that',
  },
  IOMMU_IOAS_MAP: { ENOSPC: 'auto IOVA exhaustion needs the 2^48 IOVA space filled' },
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: { ENOSPC: 'covered by test/models/memory-iommufd.test.ts (a 3-DID unit)' },
  LIVEUPDATE_IOCTL_CREATE_SESSION: { ENOMEM: 'LUO_SESSION_MAX is about 744 sessions, and only luoCapacity=fixed-arrays has it (test/models/fidelity.test.ts)' },
  LIVEUPDATE_SESSION_PRESERVE_FD: { ENOSPC: 'LUO_FILE_MAX is about 128 files in one session, and only luoCapacity=fixed-arrays has it (test/models/fidelity.test.ts)' },
}
