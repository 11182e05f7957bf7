// Delta debugging on the resolved trace, after fast-check's shrinker (pbt-anchors.md §1.3:
// fast-check shrinks command lists but cannot turn one guided step into another, so a
// shrunk trace can still carry setup that the failure does not need).
//
// The trace is made symbolic first: an argument that names an fd or an object id made by an
// earlier step refers to that step, so dropping an unrelated step (which shifts every later
// fd number) keeps the references right. Then steps are dropped greedily, each together with
// every step that uses its output, as long as the same property still fails.

import type { Op, Result } from '../../models/ops.ts'
import type { PropertyName, Violation } from './executor.types.ts'

/** Arguments that name an fd, and the ops whose output is an fd. */
const FD_ARGS = new Set(['fd', 'memfd', 'iommufd', 'cdev', 'session'])
const FD_MAKERS = new Set<Op['op']>([
  'MEMFD_CREATE',
  'IOMMUFD_OPEN',
  'VFIO_CDEV_OPEN',
  'LIVEUPDATE_OPEN',
  'LIVEUPDATE_IOCTL_CREATE_SESSION',
  'LIVEUPDATE_IOCTL_RETRIEVE_SESSION',
  'LIVEUPDATE_SESSION_RETRIEVE_FD',
])
/** Arguments that name an iommufd object id, and the ops whose output is one. */
const ID_ARGS = new Set(['ioas', 'id', 'hwpt_id', 'pt_id', 'dev_id'])
const ID_MAKERS = new Set<Op['op']>([
  'IOMMU_IOAS_ALLOC',
  'IOMMU_HWPT_ALLOC',
  'VFIO_DEVICE_BIND_IOMMUFD',
  'IOMMU_HWPT_LU_RESTORE',
  'VFIO_DEVICE_ATTACH_IOMMUFD_PT',
])

/** An argument that refers to the output of step `from`. */
interface Ref {
  from: number
}

interface SymbolicStep {
  op: Op
  refs: Record<string, Ref>
}

/** Which earlier step made each fd / object id an op uses (the latest one with that value). */
export function symbolize(ops: readonly Op[], results: readonly Result[]): SymbolicStep[] {
  const steps: SymbolicStep[] = []
  for (const [j, op] of ops.entries()) {
    const refs: Record<string, Ref> = {}
    for (const [k, v] of Object.entries(op.args as Record<string, unknown>)) {
      if (typeof v !== 'number') continue
      const makers = FD_ARGS.has(k) ? FD_MAKERS : ID_ARGS.has(k) ? ID_MAKERS : undefined
      if (!makers) continue
      for (let i = j - 1; i >= 0; i--) {
        const r = results[i]
        if (makers.has(ops[i].op) && r.ok && r.out !== undefined && Number(r.out) === v) {
          refs[k] = { from: i }
          break
        }
      }
    }
    steps.push({ op, refs })
  }
  return steps
}

/** The steps that (transitively) use step i's output. */
function dependents(steps: SymbolicStep[], i: number): Set<number> {
  const out = new Set([i])
  for (let j = i + 1; j < steps.length; j++) if (Object.values(steps[j].refs).some((r) => out.has(r.from))) out.add(j)
  return out
}

export interface Replay {
  /** the first violation, if the trace fails */
  violation?: Violation
  results: Result[]
}

/** Concrete ops for a subset of symbolic steps: each reference takes the value its maker
 *  returned in this replay (run step by step through `exec`). */
export function materialize(steps: SymbolicStep[], keep: number[], exec: (op: Op) => { result: Result; violation?: Violation }): { ops: Op[]; violation?: Violation } {
  const outs = new Map<number, number | bigint | undefined>()
  const ops: Op[] = []
  for (const i of keep) {
    const s = steps[i]
    const args: Record<string, unknown> = { ...(s.op.args as Record<string, unknown>) }
    for (const [k, r] of Object.entries(s.refs)) {
      const v = outs.get(r.from)
      if (v !== undefined) args[k] = Number(v)
    }
    const op = { op: s.op.op, args } as Op
    ops.push(op)
    const { result, violation } = exec(op)
    outs.set(i, result.ok ? result.out : undefined)
    if (violation) return { ops, violation }
  }
  return { ops }
}

/**
 * Drop steps while `property` still fails. `fresh()` returns a step function on a fresh
 * executor. At most `budget` replays.
 */
export function minimize(
  ops: readonly Op[],
  results: readonly Result[],
  property: PropertyName,
  fresh: () => (op: Op) => { result: Result; violation?: Violation },
  budget = 400,
): Op[] {
  const steps = symbolize(ops, results)
  let keep = steps.map((_, i) => i)
  let best = ops.slice()
  let replays = 0
  let progress = true
  while (progress && replays < budget) {
    progress = false
    // try the latest steps first: setup near the failure is most often what can go
    for (let idx = keep.length - 2; idx >= 0 && replays < budget; idx--) {
      const drop = dependents(steps, keep[idx])
      const cand = keep.filter((i) => !drop.has(i))
      if (cand.length === keep.length || cand.length === 0) continue
      replays++
      const m = materialize(steps, cand, fresh())
      if (m.violation?.property === property) {
        // the failure may now come earlier: keep only what led to it
        keep = cand.slice(0, m.ops.length)
        best = m.ops
        progress = true
        idx = Math.min(idx, keep.length - 1)
      }
    }
  }
  return best
}
