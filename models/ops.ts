// The operation vocabulary (DESIGN.md §2.1). Public contract: scenario files, traces and
// reports use these names and argument names. Extend, never rename or drop.
//
// Names follow the kernel uAPI so a trace reads like a kselftest. Fds are numbers (the
// process's file descriptor table), object ids are numbers (iommufd ids, start at 1),
// u64 quantities (IOVA, length, start, token, PA) are bigint.

export type Seal = 'SEAL' | 'SHRINK' | 'GROW' | 'WRITE'
export const SEALS: readonly Seal[] = ['SEAL', 'SHRINK', 'GROW', 'WRITE']

/** IOMMU_HWPT_ALLOC flags (include/uapi/linux/iommufd.h enum iommufd_hwpt_alloc_flags). */
export type HwptAllocFlag = 'NEST_PARENT' | 'DIRTY_TRACKING' | 'PASID'
export const HWPT_ALLOC_FLAGS: readonly HwptAllocFlag[] = ['NEST_PARENT', 'DIRTY_TRACKING', 'PASID']

export type Op =
  // memory
  // allowSealing: memfd_create(..., MFD_ALLOW_SEALING) (the default, true) or flags 0, which
  // starts the memfd with F_SEAL_SEAL (mm/memfd.c memfd_create; PINNED.md)
  | { op: 'MEMFD_CREATE'; args: { pages: number; allowSealing?: boolean } }
  | { op: 'MEMFD_SEAL'; args: { fd: number; seals: Seal[] } }
  | { op: 'MEMFD_TRUNCATE'; args: { fd: number; pages: number } }
  // iommufd
  | { op: 'IOMMUFD_OPEN'; args: Record<string, never> }
  | { op: 'IOMMU_IOAS_ALLOC'; args: { iommufd: number } }
  | {
      op: 'IOMMU_IOAS_MAP_FILE'
      args: { iommufd: number; ioas: number; memfd: number; start: bigint; length: bigint; iova?: bigint }
    }
  | { op: 'IOMMU_IOAS_MAP'; args: { iommufd: number; ioas: number; length: bigint; iova?: bigint } }
  | { op: 'IOMMU_IOAS_UNMAP'; args: { iommufd: number; ioas: number; iova: bigint; length: bigint } }
  | { op: 'IOMMU_HWPT_ALLOC'; args: { iommufd: number; dev_id: number; pt_id: number; flags?: HwptAllocFlag[] } }
  | { op: 'IOMMU_DESTROY'; args: { iommufd: number; id: number } }
  | {
      op: 'IOMMU_HWPT_LU_SET_PRESERVE'
      // `preserve: false` is the V1 unmark (markSemantics=flag only).
      args: { iommufd: number; hwpt_id: number; token: bigint; preserve?: boolean }
    }
  // the newer names of the mark ioctl, same args and rule (V3 uapi iommufd.h 06fcb4a
  // IOMMU_HWPT_LU_MARK_PRESERVE; V3b liveupdate.c IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE)
  | { op: 'IOMMU_HWPT_LU_MARK_PRESERVE'; args: { iommufd: number; hwpt_id: number; token: bigint } }
  | { op: 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE'; args: { iommufd: number; hwpt_id: number; token: bigint } }
  | { op: 'IOMMU_HWPT_LU_RESTORE'; args: { iommufd: number; token: bigint } }
  // vfio
  | { op: 'VFIO_CDEV_OPEN'; args: { bdf: string } }
  | { op: 'VFIO_DEVICE_BIND_IOMMUFD'; args: { cdev: number; iommufd: number } }
  | { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT'; args: { cdev: number; pt_id: number; pasid?: number } }
  | { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT'; args: { cdev: number; pasid?: number } }
  | { op: 'VFIO_DEVICE_SET_IRQS'; args: { cdev: number; enabled: boolean } }
  | { op: 'DRIVER_BIND'; args: { bdf: string; driver: string } }
  // luo
  | { op: 'LIVEUPDATE_OPEN'; args: Record<string, never> }
  | { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION'; args: { name: string } }
  | { op: 'LIVEUPDATE_SESSION_PRESERVE_FD'; args: { session: number; fd: number; token: bigint } }
  | { op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION'; args: { name: string } }
  | { op: 'LIVEUPDATE_SESSION_RETRIEVE_FD'; args: { session: number; token: bigint } }
  | { op: 'LIVEUPDATE_SESSION_FINISH'; args: { session: number } }
  // LUO-2026 luo_session_get_name: out is the session's name; reserved must be 0 (EINVAL)
  | { op: 'LIVEUPDATE_SESSION_GET_NAME'; args: { session: number; reserved?: number } }
  | { op: 'CLOSE'; args: { fd: number } }
  // machine
  /** `khoFinalizeFails`: reboot() fails after every preserved file was frozen, in
   *  liveupdate_reboot's kho_finalize (-EAGAIN; luo_core.c), so the old kernel keeps running */
  | { op: 'KEXEC'; args: { khoFinalizeFails?: boolean } }
  // device
  | { op: 'DMA'; args: { bdf: string; pasid?: number; iova: bigint; write?: boolean } }

export type OpName = Op['op']
export type ArgsOf<N extends OpName> = Extract<Op, { op: N }>['args']

export const OP_NAMES: readonly OpName[] = [
  'MEMFD_CREATE',
  'MEMFD_SEAL',
  'MEMFD_TRUNCATE',
  'IOMMUFD_OPEN',
  'IOMMU_IOAS_ALLOC',
  'IOMMU_IOAS_MAP_FILE',
  'IOMMU_IOAS_MAP',
  'IOMMU_IOAS_UNMAP',
  'IOMMU_HWPT_ALLOC',
  'IOMMU_DESTROY',
  'IOMMU_HWPT_LU_SET_PRESERVE',
  'IOMMU_HWPT_LU_RESTORE',
  'IOMMU_HWPT_LU_MARK_PRESERVE',
  'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE',
  'VFIO_CDEV_OPEN',
  'VFIO_DEVICE_BIND_IOMMUFD',
  'VFIO_DEVICE_ATTACH_IOMMUFD_PT',
  'VFIO_DEVICE_DETACH_IOMMUFD_PT',
  'VFIO_DEVICE_SET_IRQS',
  'DRIVER_BIND',
  'LIVEUPDATE_OPEN',
  'LIVEUPDATE_IOCTL_CREATE_SESSION',
  'LIVEUPDATE_SESSION_PRESERVE_FD',
  'LIVEUPDATE_IOCTL_RETRIEVE_SESSION',
  'LIVEUPDATE_SESSION_RETRIEVE_FD',
  'LIVEUPDATE_SESSION_FINISH',
  'LIVEUPDATE_SESSION_GET_NAME',
  'CLOSE',
  'KEXEC',
  'DMA',
]

/** The errno names the model returns. Values follow include/uapi/asm-generic/errno*.h. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EBADFD: 77,
  ENODATA: 61,
  EAGAIN: 11,
} as const
export type Errno = keyof typeof ERRNO
export const ERRNO_NAMES = Object.keys(ERRNO) as Errno[]

/** Why a DMA did not translate: no present context/PASID entry, or no PTE for the IOVA; or
 *  the device issues no DMA at all: VFIO's freeze reset it (deviceAcrossKexec=reset-at-freeze)
 *  and nothing re-programmed it in this boot. */
export type FaultReason = 'not-present' | 'no-mapping' | 'device-reset'


/**
 * The result of an op. A DMA that does not translate is not an errno (the ioctl-less device
 * access has no return code): it is a fault, and `expect: "fault"` matches it.
 * `out` is the op's output: an fd, an object id, an IOVA, a length or the PA a DMA reached.
 */
export type Result =
  /** `text`: a string output (LIVEUPDATE_SESSION_GET_NAME's name), matched by `{ "out": "…" }` */
  | { ok: true; out?: number | bigint; text?: string }
  | { ok: false; errno: Errno }
  | { ok: false; fault: FaultReason }

export const ok = (out?: number | bigint): Result => (out === undefined ? { ok: true } : { ok: true, out })
/** Success with a string output (a session name). */
export const okText = (text: string): Result => ({ ok: true, text })
export const err = (errno: Errno): Result => ({ ok: false, errno })
export const fault = (reason: FaultReason): Result => ({ ok: false, fault: reason })

export const PAGE_SIZE = 4096n
export const PAGE_SHIFT = 12n

/** Render a u64 as the kernel prints addresses: lower-case hex with 0x. */
export const hex = (v: bigint | number): string => '0x' + BigInt(v).toString(16)

export function resultToString(r: Result): string {
  if ('errno' in r) return `-${r.errno}`
  if ('fault' in r) return `fault (${r.fault})`
  if ('text' in r && r.text !== undefined) return JSON.stringify(r.text)
  if (r.out === undefined) return '0'
  return typeof r.out === 'bigint' ? hex(r.out) : String(r.out)
}

export function sameResult(a: Result, b: Result): boolean {
  if (a.ok !== b.ok) return false
  if ('errno' in a || 'errno' in b) return 'errno' in a && 'errno' in b && a.errno === b.errno
  if ('fault' in a || 'fault' in b) return 'fault' in a && 'fault' in b && a.fault === b.fault
  if ((a as { text?: string }).text !== (b as { text?: string }).text) return false
  const ao = (a as { out?: number | bigint }).out
  const bo = (b as { out?: number | bigint }).out
  if (ao === undefined || bo === undefined) return ao === bo
  return BigInt(ao) === BigInt(bo)
}

/** One-line rendering in kernel vocabulary: `IOMMU_IOAS_MAP(iommufd=3, ioas=1, length=0x4000)`. */
export function opToString(o: Op): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(o.args as Record<string, unknown>)) {
    if (v === undefined) continue
    parts.push(`${k}=${argToString(k, v)}`)
  }
  return `${o.op}(${parts.join(', ')})`
}

function argToString(key: string, v: unknown): string {
  if (typeof v === 'bigint') return key === 'token' ? v.toString() : hex(v)
  if (Array.isArray(v)) return v.join('|')
  if (typeof v === 'string') return key === 'name' ? JSON.stringify(v) : v
  return String(v)
}

export function unreachable(x: never): never {
  throw new Error(`luv internal error: unreachable case ${JSON.stringify(x)}`)
}
