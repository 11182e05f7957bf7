// Allocation failure (fail-nth) in the model.
//
// The rule: an op whose n-th fault-injectable allocation fails returns -ENOMEM and leaves the
// state exactly as it was. That is what the kernel's error unwinding promises (every
// allocation in an ioctl path is followed by `if (!x) { ret = -ENOMEM; goto err_...; }` and
// the labels undo, in reverse, what the path did before: e.g. iommufd_hwpt_alloc's
// out_hwpt/out_put_pt, iommufd_device_do_attach's err_unlock, luo_preserve_file's
// err_kfree/err_erase/err_fput), and what torvalds/linux
// tools/testing/selftests/iommu/iommufd_fail_nth.c sweeps: the same call sequence with
// /proc/self/task/<tid>/fail-nth = 1, 2, ... until the n-th point is no longer reached,
// looking for what the error paths leave behind.
//
// The model has no allocator of its own, so its failure points are per op: FAULT_POINTS says
// which ops allocate (the kernel implementation may fail their n-th allocation, and the model
// then steps by `failedAllocation`), which do not (a kernel allocation inside one is a
// conformance failure: the model or the kernel implementation is wrong about the op), and
// which are excluded from injection because the posted code is not atomic there (an injected
// failure would not be a bug of the implementation under test but the series' own rule).

import type { Op, OpName, Result } from './ops.ts'
import { err } from './ops.ts'
import type { State } from './state.ts'

export type FaultPoint =
  /** the op allocates: what, and where the kernel allocates it */
  | { kind: 'allocates'; what: string }
  /** the op allocates nothing that can fail with -ENOMEM */
  | { kind: 'none'; why: string }
  /** never armed: the series' error path is not atomic here, or the op is not a syscall */
  | { kind: 'excluded'; why: string }

const allocates = (what: string): FaultPoint => ({ kind: 'allocates', what })
const none = (why: string): FaultPoint => ({ kind: 'none', why })
const excluded = (why: string): FaultPoint => ({ kind: 'excluded', why })

/** Per op: where its fault-injectable allocations are, in the model's terms. */
export const FAULT_POINTS: Readonly<Record<OpName, FaultPoint>> = {
  MEMFD_CREATE: allocates('the memfd and its pages (memfd_create, shmem_file_setup; the page zone)'),
  MEMFD_SEAL: none('memfd_add_seals only sets seal bits'),
  // luv allocates a memfd's pages when it grows (models/memory.ts memfdTruncate: -ENOMEM when
  // the page zone is exhausted); the kernel allocates them at first touch (shmem_get_folio, e.g.
  // by IOMMU_IOAS_MAP_FILE's pin), which luv folds into the grow. Shrinking allocates nothing.
  // Was `none` until a 4,000-run campaign injected a failure into a grow (regression
  // memfd-truncate-grow-fail-nth).
  MEMFD_TRUNCATE: allocates('the pages growing adds (luv takes them from the page zone at the grow; the kernel at first touch, shmem_get_folio); shrinking frees'),
  IOMMUFD_OPEN: allocates('the iommufd context (iommufd_fops_open: kzalloc of the ictx)'),
  IOMMU_IOAS_ALLOC: allocates('the IOAS object and its id (iommufd_ioas_alloc_ioctl: iommufd_object_alloc, xa_alloc)'),
  IOMMU_IOAS_MAP_FILE: allocates('the area, its pages and the page-table pages of every domain the IOAS fills (iopt_map_file_pages, iopt_area_fill_domains)'),
  IOMMU_IOAS_MAP: allocates('the area, anonymous pages and page-table pages of every domain the IOAS fills (iopt_map_user_pages, iopt_area_fill_domains)'),
  IOMMU_IOAS_UNMAP: none('unfill uses a backup batch so it cannot fail (iopt_area_unfill_domains; pages.c batch_init_backup)'),
  IOMMU_HWPT_ALLOC: allocates('the HWPT object and id, the domain, its DID and table pages (iommufd_hwpt_alloc, iommufd_hwpt_paging_alloc)'),
  IOMMU_DESTROY: none('iommufd_destroy only drops references'),
  IOMMU_HWPT_LU_SET_PRESERVE: allocates('the token entry (the V3 mark: xa_insert into the token xarray)'),
  IOMMU_HWPT_LU_MARK_PRESERVE: allocates('the token entry (the V3 mark: xa_insert into the token xarray)'),
  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE: allocates('the token entry (the V3 mark: xa_insert into the token xarray)'),
  IOMMU_HWPT_LU_RESTORE: allocates('the restored HWPT object and its id (iommufd_hwpt_lu_restore: iommufd_object_alloc)'),
  VFIO_CDEV_OPEN: allocates('the cdev file (vfio_device_fops_cdev_open: kzalloc of the vfio_device_file)'),
  VFIO_DEVICE_BIND_IOMMUFD: allocates('the iommufd device object and its id (iommufd_device_bind)'),
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: allocates('an auto domain, a DID, context/PASID table and page-table pages (iommufd_device_attach, domain_attach_iommu, intel_pasid_setup_*)'),
  VFIO_DEVICE_DETACH_IOMMUFD_PT: none('detach moves the device to the blocking domain, which is static'),
  VFIO_DEVICE_SET_IRQS: allocates('the interrupt contexts (vfio_pci_set_irqs_ioctl)'),
  DRIVER_BIND: excluded('a kernel driver probing a device is not a uAPI call; its allocations are the driver\'s'),
  LIVEUPDATE_OPEN: allocates('the /dev/liveupdate file'),
  LIVEUPDATE_IOCTL_CREATE_SESSION: allocates('the session and its file (luo_session_alloc, luo_session_getfile; removed again on error)'),
  LIVEUPDATE_SESSION_PRESERVE_FD: allocates('the luo_file and the handler\'s serialization (luo_preserve_file: err_kfree, err_erase, err_fput undo it)'),
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: allocates('the session file (luo_session_getfile; `retrieved` is set only on success)'),
  LIVEUPDATE_SESSION_RETRIEVE_FD: excluded(
    'not atomic in the 2026 LUO: luo_retrieve_file keeps a .retrieve error in retrieve_status, so a failed allocation makes every later retrieve of the token fail the same way (sticky); ' +
      'the 6.19 LUO (a `retrieved` bool) left no trace. The kernel implementation has no allocation point in .retrieve, so neither version can be exercised here',
  ),
  LIVEUPDATE_SESSION_FINISH: none('luo_file_finish only calls .finish after every .can_finish agreed; nothing is allocated'),
  LIVEUPDATE_SESSION_GET_NAME: none('copies the name out'),
  CLOSE: none('close cannot fail'),
  KEXEC: excluded(
    'not atomic: liveupdate_reboot does not undo what a .freeze did when a later step fails (VFIO\'s reset at freeze has no .unfreeze; a kho_finalize failure unfreezes nothing: luo_core.c), ' +
      'and past kho_finalize nothing may fail. The model has KEXEC {khoFinalizeFails} for that failure; the kernel implementation disarms fail-nth at the point of no return',
  ),
  DMA: none('a device access, not a syscall'),
}

/** An op with fail-nth armed: the n-th fault-injectable allocation inside it fails. The op
 *  itself is unchanged; `failNth` rides along through traces, shrinking and bundles. */
export type FaultedOp = Op & { readonly failNth?: number }

export function failNthOf(op: Op): number | undefined {
  return (op as FaultedOp).failNth
}

/** `op` with fail-nth n armed, or (n undefined) disarmed. */
export function withFailNth(op: Op, n: number | undefined): Op {
  if (n === undefined) {
    if (failNthOf(op) === undefined) return op
    const { failNth: _drop, ...plain } = op as FaultedOp
    return plain as Op
  }
  return { ...op, failNth: n } as FaultedOp
}

/** May fail-nth be armed on this op? (excluded ops run as ordinary steps) */
export function faultArmable(op: Op): boolean {
  return FAULT_POINTS[op.op].kind !== 'excluded'
}

/** The model's step of an op whose n-th allocation failed: -ENOMEM, the state as it was. */
export function failedAllocation(state: State): { state: State; result: Result } {
  return { state, result: err('ENOMEM') }
}
