// How each op's arguments are typed and written in files: the table the renderers (scenario,
// ITF, pseudo-C) and the ITF decoder share. Keyed by OpName so a new op fails to compile
// until it is described here; each entry's `kind` is checked against the Op type.

import type { ArgsOf, HwptAllocFlag, OpName, Seal } from '../../models/ops.ts'

/**
 * int: a small number (fd, object id, pages, pasid) · u64: bigint written as hex ·
 * token: bigint written as decimal · str · bool · seals: Seal[] · flags: HwptAllocFlag[]
 */
export type ArgKind = 'int' | 'u64' | 'token' | 'str' | 'bool' | 'seals' | 'flags'

type KindOf<T> = [T] extends [bigint]
  ? 'u64' | 'token'
  : [T] extends [number]
    ? 'int'
    : [T] extends [string]
      ? 'str'
      : [T] extends [boolean]
        ? 'bool'
        : [T] extends [Seal[]]
          ? 'seals'
          : [T] extends [HwptAllocFlag[]]
            ? 'flags'
            : never

type SpecOf<A> = {
  [K in keyof A]-?: undefined extends A[K]
    ? { kind: KindOf<Exclude<A[K], undefined>>; optional: true }
    : { kind: KindOf<A[K]>; optional?: false }
}

export interface ArgSpec {
  kind: ArgKind
  optional?: boolean
}

type ArgTable = { [N in OpName]: SpecOf<ArgsOf<N>> }

const req = <K extends ArgKind>(kind: K) => ({ kind })
const opt = <K extends ArgKind>(kind: K) => ({ kind, optional: true as const })

/** Argument order here is the order files and renderings use. */
const TABLE: ArgTable = {
  MEMFD_CREATE: { pages: req('int'), allowSealing: opt('bool') },
  MEMFD_SEAL: { fd: req('int'), seals: req('seals') },
  MEMFD_TRUNCATE: { fd: req('int'), pages: req('int') },
  IOMMUFD_OPEN: {},
  IOMMU_IOAS_ALLOC: { iommufd: req('int') },
  IOMMU_IOAS_MAP_FILE: {
    iommufd: req('int'),
    ioas: req('int'),
    memfd: req('int'),
    start: req('u64'),
    length: req('u64'),
    iova: opt('u64'),
  },
  IOMMU_IOAS_MAP: { iommufd: req('int'), ioas: req('int'), length: req('u64'), iova: opt('u64') },
  IOMMU_IOAS_UNMAP: { iommufd: req('int'), ioas: req('int'), iova: req('u64'), length: req('u64') },
  IOMMU_HWPT_ALLOC: { iommufd: req('int'), dev_id: req('int'), pt_id: req('int'), flags: opt('flags') },
  IOMMU_DESTROY: { iommufd: req('int'), id: req('int') },
  IOMMU_HWPT_LU_SET_PRESERVE: {
    iommufd: req('int'),
    hwpt_id: req('int'),
    token: req('token'),
    preserve: opt('bool'),
  },
  IOMMU_HWPT_LU_RESTORE: { iommufd: req('int'), token: req('token') },
  // fidelity (issue 8): the newer names of the mark ioctl
  IOMMU_HWPT_LU_MARK_PRESERVE: { iommufd: req('int'), hwpt_id: req('int'), token: req('token') },
  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE: { iommufd: req('int'), hwpt_id: req('int'), token: req('token') },
  VFIO_CDEV_OPEN: { bdf: req('str') },
  VFIO_DEVICE_BIND_IOMMUFD: { cdev: req('int'), iommufd: req('int') },
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: { cdev: req('int'), pt_id: req('int'), pasid: opt('int') },
  VFIO_DEVICE_DETACH_IOMMUFD_PT: { cdev: req('int'), pasid: opt('int') },
  VFIO_DEVICE_SET_IRQS: { cdev: req('int'), enabled: req('bool') },
  DRIVER_BIND: { bdf: req('str'), driver: req('str') },
  LIVEUPDATE_OPEN: {},
  LIVEUPDATE_IOCTL_CREATE_SESSION: { name: req('str') },
  LIVEUPDATE_SESSION_PRESERVE_FD: { session: req('int'), fd: req('int'), token: req('token') },
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: { name: req('str') },
  LIVEUPDATE_SESSION_RETRIEVE_FD: { session: req('int'), token: req('token') },
  LIVEUPDATE_SESSION_FINISH: { session: req('int') },
  LIVEUPDATE_SESSION_GET_NAME: { session: req('int'), reserved: opt('int') },
  CLOSE: { fd: req('int') },
  KEXEC: { khoFinalizeFails: opt('bool') },
  DMA: { bdf: req('str'), pasid: opt('int'), iova: req('u64'), write: opt('bool') },
}

/** The argument specs of an op, in file order. */
export function argSpecs(op: OpName): [string, ArgSpec][] {
  return Object.entries(TABLE[op] as Record<string, ArgSpec>)
}

export function isOpName(s: unknown): s is OpName {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(TABLE, s)
}
