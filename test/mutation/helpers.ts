// Shared by the gap-closing checks (test/mutation/*.test.ts): run ops with impl both, the
// kernel implementation side by side with the model, and require agreement on every step.

import { expect } from 'vitest'
import { resolveDesign, type Design } from '../../models/design.ts'
import { resultToString, type Op } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { createExecutor, type Executor, type Violation } from '../../src/check/index.ts'
import { ONE_UNIT_PLATFORM } from '../kernel/helpers.ts'

/** A new impl-both executor on the one-unit test platform (or another) and a design. */
export function bothExecutor(design: Design = resolveDesign({}), platform: Platform = ONE_UNIT_PLATFORM): Executor {
  return createExecutor(platform, design, { impl: 'both' })
}

/** Step `ops` with impl both; returns each step's result (the model's) as text, after checking
 *  that the kernel returned the same and that no property (conformance included) was violated. */
export function stepAll(e: Executor, ops: readonly Op[]): string[] {
  return ops.map((op) => {
    const o = e.step(op)
    const r = resultToString(o.result)
    expect(o.violations.map((v) => `${op.op}: ${v.property}: ${v.message}`)).toEqual([])
    expect(o.kernelResult && resultToString(o.kernelResult), op.op).toBe(r)
    return r
  })
}

/** The violations that are the kernel implementation's: conformance, and the kernel's own
 *  invariants ("kernel: ..."); a named property the design itself breaks (a finding of
 *  properties/findings.ts) is left out. */
export function kernelSide(vs: readonly Violation[]): string[] {
  return vs.filter((v) => v.property === 'conformance' || v.message.startsWith('kernel:')).map((v) => `${v.property}: ${v.message}`)
}

/** Step `ops` with impl both, requiring no kernel-side violation at any step nor at finish();
 *  returns each step's result (the model's) as text. For designs that break a named property
 *  by themselves. */
export function stepKernelSide(e: Executor, ops: readonly Op[]): string[] {
  const out = ops.map((op) => {
    const o = e.step(op)
    expect(kernelSide(o.violations), op.op).toEqual([])
    return resultToString(o.result)
  })
  expect(kernelSide(e.finish())).toEqual([])
  return out
}

/** stepAll on a fresh executor. */
export function both(ops: readonly Op[], design?: Design, platform?: Platform): string[] {
  return stepAll(bothExecutor(design, platform), ops)
}

/** The one-unit platform's PASID-capable device, and the plain one. */
export const A = '0000:01:00.0'
export const B = '0000:02:00.0'

/** Device A attached (RID) to a paging HWPT that maps 2 pages of a memfd at IOVA 0x100000:
 *  memfd fd 3, iommufd fd 4, IOAS 1, cdev fd 5, device object 2, HWPT 3 (PASID-compatible). */
export const ATTACHED: readonly Op[] = [
  { op: 'MEMFD_CREATE', args: { pages: 2 } },
  { op: 'IOMMUFD_OPEN', args: {} },
  { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } },
  { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 1, memfd: 3, start: 0n, length: 0x2000n, iova: 0x100000n } },
  { op: 'VFIO_CDEV_OPEN', args: { bdf: A } },
  { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 4 } },
  { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1, flags: ['PASID'] } },
  { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3 } },
]
