// The fidelity tests' driver: a scenario written from what the cited kernel functions return,
// run on the model and on the kernel implementation, each alone (each must meet every
// expectation), then on both together (their observations must agree at every step).

import { resultToString } from '../../models/ops.ts'
import type { State } from '../../models/state.ts'
import { createExecutor } from '../../src/check/index.ts'
import { parseScenario } from '../../src/scenario/load.ts'
import { runScenario } from '../../src/scenario/run.ts'

export type Step = { op: string; args?: Record<string, unknown>; as?: string; expect?: unknown }

/** What went wrong on either implementation or between them, and the model's final state. */
export function checkEachImpl(name: string, steps: Step[], design: Record<string, string> = {}, platform?: unknown): { problems: string[]; state: State } {
  const sc = parseScenario({ name, design, ...(platform !== undefined && { platform }), steps }, name)
  const problems: string[] = []
  for (const impl of ['model', 'kernel'] as const) {
    const run = runScenario(sc, { executor: createExecutor(sc.platform, sc.design, { impl }) })
    for (const s of run.steps)
      if (!s.expectOk)
        problems.push(`${impl}: steps[${s.index}] ${s.op.op} returned ${resultToString(s.result)}, expected ${JSON.stringify(s.expect, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`)
  }
  const ex = createExecutor(sc.platform, sc.design, { impl: 'both' })
  const both = runScenario(sc, { executor: ex })
  for (const s of both.steps) {
    if (s.diverged) problems.push(`both: steps[${s.index}] ${s.op.op}: the results diverge`)
    for (const v of s.violations) if (v.property === 'conformance') problems.push(`both: steps[${s.index}] ${s.op.op}: ${v.message}`)
  }
  return { problems, state: ex.modelState() as State }
}
