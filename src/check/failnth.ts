// The fail-nth sweep, shaped like torvalds/linux tools/testing/selftests/iommu/
// iommufd_fail_nth.c: for each op of a trace, replay the ops before it on a fresh kernel, arm
// fault injection so the n-th fault-injectable allocation of that op fails, and require that
// the op fails with ENOMEM and leaves everything as it was (the observation before the op, no
// broken invariant). n goes 1, 2, ... until the op no longer reaches the n-th point.

import { isDeepStrictEqual } from 'node:util'
import type { Design } from '../../models/design.ts'
import type { Op, Result } from '../../models/ops.ts'
import type { Probe } from '../../models/observation.ts'
import { opToString, resultToString } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { Kernel } from '../kernel/index.ts'
import { firstDifference } from './conformance.ts'
import { failNthOf } from '../../models/fault.ts'
import type { Executor } from './executor.types.ts'

export interface FailNthFinding {
  /** 0-based index of the op in the trace */
  step: number
  op: Op
  n: number
  message: string
}

export interface FailNthReport {
  /** ops swept */
  ops: number
  /** fault points injected in total (each one a replay) */
  injected: number
  /** per op, the number of fault-injectable points it reached */
  pointsPerOp: number[]
  findings: FailNthFinding[]
}

export interface FailNthOptions {
  defect?: string
  /** stop an op's sweep after this many points (a guard against runaway loops) */
  maxPoints?: number
  /** called at every injected point with the kernel as the failed op left it (luv failnth
   *  reports each point and continues the trace on that kernel) */
  onPoint?: (p: FailNthPoint) => void
}

export interface FailNthPoint {
  step: number
  op: Op
  n: number
  result: Result
  /** the kernel's observation is the one before the op and no invariant broke */
  unchanged: boolean
  probes: Probe[]
  kernel: Kernel
}

export function failNthSweep(platform: Platform, design: Design, ops: readonly Op[], opts: FailNthOptions = {}): FailNthReport {
  const report: FailNthReport = { ops: ops.length, injected: 0, pointsPerOp: [], findings: [] }
  const max = opts.maxPoints ?? 10_000
  for (const [i, op] of ops.entries()) {
    let n = 1
    for (; n <= max; n++) {
      const k = new Kernel(platform, design, { defect: opts.defect })
      for (const prev of ops.slice(0, i)) k.apply(prev, [])
      const probes = k.liveProbes()
      const before = k.observe(probes)
      const r = k.apply(op, probes, { failNth: n })
      if (!r.failNthReached) break
      report.injected++
      const finding = (message: string) => report.findings.push({ step: i, op, n, message: `${opToString(op)} with fail-nth ${n}: ${message}` })
      if (r.result.ok || !('errno' in r.result) || r.result.errno !== 'ENOMEM') finding(`returned ${resultToString(r.result)}, not -ENOMEM`)
      const after = k.observe(probes)
      if (!isDeepStrictEqual(before, after)) finding(`changed the observation: ${firstDifference(before, after)?.replace('model', 'before').replace('kernel', 'after')}`)
      const broken = k.invariants()
      for (const v of broken) finding(`broke an invariant: ${v}`)
      opts.onPoint?.({ step: i, op, n, result: r.result, unchanged: isDeepStrictEqual(before, after) && broken.length === 0, probes, kernel: k })
    }
    report.pointsPerOp.push(n - 1)
  }
  return report
}

// ---- fail-nth inside a run (issue 13): a step whose op carries `failNth` (models/fault.ts)

/** Make `exec.step(op)` honour an op's `failNth` (a faulted step of a campaign trace, a
 *  scenario step's "failNth", a bundle's faulted step), so every path that replays ops
 *  (shrinking, minimisation, bundles, replay) replays the fault too. Executors without
 *  `stepFailNth` (the model alone) run such a step as an ordinary one. */
export function honourFailNth<E extends Executor>(exec: E): E {
  const faulted = exec.stepFailNth
  if (!faulted) return exec
  const ordinary = exec.step.bind(exec)
  exec.step = (op: Op) => {
    const n = failNthOf(op)
    return n === undefined ? ordinary(op) : faulted.call(exec, op, n)
  }
  return exec
}

/** Faulted steps, counted as `exec` runs them (StepOutcome.failNth): how many were armed and
 *  how many reached their n-th allocation (the campaign summary's figures). */
export interface FaultTally {
  armed: number
  reached: number
}

export function countFaultedSteps(exec: Executor, tally: FaultTally): Executor {
  const step = exec.step.bind(exec)
  exec.step = (op: Op) => {
    const out = step(op)
    // armed: the op carries a fail-nth (the model alone runs it as an ordinary step)
    if (failNthOf(op) !== undefined) {
      tally.armed++
      if (out.failNth?.reached) tally.reached++
    }
    return out
  }
  return exec
}
