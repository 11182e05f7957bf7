// `luv failnth`'s sweep: src/check/failnth.ts (after torvalds/linux
// tools/testing/selftests/iommu/iommufd_fail_nth.c) fails the n-th fault-injectable allocation
// of each op of a trace in turn, n = 1, 2, ... until the op reaches no n-th point, on a fresh
// kernel each time. For every injected point this reports what the op returned, whether the
// kernel's observation stayed as it was before the op, whether it equals the model's
// observation of the state before the op (the model has no allocation failure points: an
// op that failed must look exactly as if it had not run), and then continues the rest of the
// trace on that kernel against the model with the op left out: the run must go on in step.

import type { Design } from '../../models/design.ts'
import { liveProbes, observe, sortProbes, step } from '../../models/index.ts'
import { opToString, resultToString, sameResult, type Op } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import type { State } from '../../models/state.ts'
import { initState } from '../../models/step.ts'
import { failNthSweep } from '../check/failnth.ts'
import { firstDifference } from '../check/conformance.ts'

export interface FailNthRow {
  /** 0-based step index in the trace */
  step: number
  op: string
  n: number
  /** what the op returned with its n-th allocation failed */
  result: string
  /** ENOMEM, as every fault-injectable point must give */
  enomem: boolean
  /** the kernel's observation and invariants are as before the op */
  unchanged: boolean
  /** the kernel's observation equals the model's of the state before the op */
  modelAgrees: boolean
  /** the rest of the trace, on this kernel and on the model without the op: first
   *  difference (result or observation), or undefined when every later step agreed */
  continuation?: string
  /** steps run after the failed op */
  continued: number
  /** the first problem of this row, for the summary */
  problem?: string
}

export interface FailNthResult {
  ops: number
  points: number
  /** per step, how many points its op reached */
  pointsPerOp: number[]
  rows: FailNthRow[]
  failed: number
}

export function sweepFailNth(platform: Platform, design: Design, ops: readonly Op[], opts: { defect?: string; continueRest?: boolean } = {}): FailNthResult {
  // the model's state before each op
  const states: State[] = [initState(platform, design)]
  for (const op of ops) states.push(step(states[states.length - 1], op).state)
  const rows: FailNthRow[] = []
  const rep = failNthSweep(platform, design, ops, {
    ...(opts.defect !== undefined && { defect: opts.defect }),
    onPoint: (p) => {
      const enomem = !p.result.ok && 'errno' in p.result && p.result.errno === 'ENOMEM'
      const modelBefore = states[p.step]
      const probes = sortProbes([...p.probes, ...liveProbes(modelBefore)])
      const d = firstDifference(observe(modelBefore, probes), p.kernel.observe(probes))
      const row: FailNthRow = {
        step: p.step,
        op: opToString(p.op),
        n: p.n,
        result: resultToString(p.result),
        enomem,
        unchanged: p.unchanged,
        modelAgrees: d === undefined,
        continued: 0,
      }
      if (opts.continueRest ?? true) {
        let m = modelBefore
        for (const op of ops.slice(p.step + 1)) {
          const before = sortProbes([...liveProbes(m), ...p.kernel.liveProbes()])
          const ms = step(m, op)
          const kr = p.kernel.apply(op, before)
          row.continued++
          if (!sameResult(ms.result, kr.result)) {
            row.continuation = `${opToString(op)}: the kernel returned ${resultToString(kr.result)}, the model ${resultToString(ms.result)}`
            break
          }
          const after = sortProbes([...before, ...liveProbes(ms.state), ...p.kernel.liveProbes()])
          const diff = firstDifference(observe(ms.state, after), p.kernel.observe(after))
          if (diff) {
            row.continuation = `after ${op.op}: ${diff}`
            break
          }
          m = ms.state
        }
      }
      row.problem = !enomem
        ? `returned ${row.result}, not -ENOMEM`
        : !row.unchanged
          ? 'changed the kernel (observation or invariants)'
          : !row.modelAgrees
            ? `differs from the model's state before the op: ${d}`
            : row.continuation !== undefined
              ? `the rest of the trace diverged: ${row.continuation}`
              : undefined
      rows.push(row)
    },
  })
  return { ops: ops.length, points: rep.injected, pointsPerOp: rep.pointsPerOp, rows, failed: rows.filter((r) => r.problem !== undefined).length }
}

/** The report's table, one line per injected point. */
export function failNthTable(r: FailNthResult): string[] {
  const L = ['| step | op | n | result | unchanged | model agrees | rest of trace | verdict |', '|--:|---|--:|---|---|---|---|---|']
  for (const x of r.rows)
    L.push(
      `| ${x.step} | \`${x.op.replace(/\|/g, '\\|')}\` | ${x.n} | ${x.result} | ${x.unchanged ? 'yes' : 'NO'} | ${x.modelAgrees ? 'yes' : 'NO'} | ${x.continuation === undefined ? `${x.continued} steps agree` : `diverged: ${x.continuation.replace(/\|/g, '\\|')}`} | ${x.problem ? 'FAIL' : 'ok'} |`,
    )
  return L
}
