// A counterexample or a property-run failure as the strace-like trace `luv run` prints
// (src/scenario/print.ts), so campaign, replay and run show failures the same way.

import { sameResult } from '../../models/ops.ts'
import type { StepRecord } from '../scenario/run.ts'
import { renderStep, type TraceLine } from '../scenario/print.ts'
import type { Counterexample } from '../report/types.ts'

/** Step records of a counterexample, numbered as its report numbers them (1-based). */
export function counterexampleRecords(cx: Counterexample): StepRecord[] {
  return cx.steps.map((s) => ({
    index: s.index,
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
