// A counterexample or a property-run failure as the strace-like trace `luv run` prints
// (src/scenario/print.ts), so campaign, replay and run show failures the same way.

import { sameResult } from '../../models/ops.ts'
import type { StepRecord } from '../scenario/run.ts'
import { renderStep, type TraceLine } from '../scenario/print.ts'
import type { Counterexample } from '../report/types.ts'

/** Step records of a counterexample, numbered as scenario files number steps: 0-based, the
 *  index into its scenario.json's `steps` (PINNED.md), whatever the report's own numbering. */
export function counterexampleRecords(cx: Counterexample): StepRecord[] {
  return cx.steps.map((s, i) => ({
    index: i,
    op: s.op,
    result: s.model,
    ...(s.kernel && { kernelResult: s.kernel }),
    expectOk: true,
    diverged: s.kernel !== undefined && !sameResult(s.model, s.kernel),
    violations: s.violations,
  }))
}

export function counterexampleTrace(cx: Counterexample): TraceLine[] {
  return counterexampleRecords(cx).flatMap((r) => renderStep(r))
}
