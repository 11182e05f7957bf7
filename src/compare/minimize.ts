// How a comparison shrinks a breaking cell's failure: the campaign reports the first failing
// run unshrunk (CampaignOptions.shrink = false), and luv's delta debugging
// (src/check/minimize.ts) then drops every step the failure does not need. Measured on the
// default profile's one-axis designs, this reaches the same trace length as fast-check's
// shrinker followed by delta debugging (12-19 steps), in about a second instead of minutes:
// fast-check shrinking replays the whole command list, properties and recovery included,
// thousands of times. The failing run's fast-check coordinates (seed, path) stay in the
// summary: `luv replay --seed --path` re-runs it with fast-check's own shrinking.

import type { Design, ProfileName } from '../../models/design.ts'
import type { Op } from '../../models/ops.ts'
import type { BlockOutcome } from '../campaign/scheduler.ts'
import type { CampaignOptions } from '../campaign/options.ts'
import { createExecutor } from '../check/index.ts'
import type { ImplChoice, PropertyName, StepOutcome } from '../check/executor.types.ts'
import { minimize } from '../check/minimize.ts'
import { toCounterexample } from '../report/from-failure.ts'
import type { Counterexample } from '../report/types.ts'

export interface MinimizeContext {
  design: Design
  profile: ProfileName
  impl: ImplChoice
  /** the properties the failing run checked */
  properties: ReadonlySet<PropertyName>
}

/** The counterexample delta-debugged: the same property fails, on fewer steps. If the
 *  minimized trace does not fail it again, the counterexample is kept as it is (a failure is
 *  never lost). */
export function minimizeCounterexample(cx: Counterexample, c: MinimizeContext): Counterexample {
  const fresh = () => createExecutor(cx.platform, c.design, { impl: c.impl, properties: c.properties })
  const unshrunk: Op[] = cx.steps.map((s) => s.op)
  const ops =
    unshrunk.length > 1
      ? minimize(unshrunk, cx.steps.map((s) => s.model), cx.property, () => {
          const ex = fresh()
          return (op) => {
            const out = ex.step(op)
            return { result: out.result, violation: out.violations[0] }
          }
        })
      : unshrunk
  // replay the minimized trace on a fresh executor: every outcome, up to the first violation
  const exec = fresh()
  const outcomes: StepOutcome[] = []
  for (const op of ops) {
    const out = exec.step(op)
    outcomes.push(out)
    if (out.violations.length > 0) break
  }
  const last = outcomes[outcomes.length - 1]
  const violation = last?.violations.find((v) => v.property === cx.property)
  if (!violation) return cx
  return toCounterexample(
    {
      violation,
      ops: ops.slice(0, outcomes.length),
      outcomes,
      divergenceIndex: outcomes.length,
      ...(cx.seed !== undefined && { seed: cx.seed }),
      ...(cx.path !== undefined && { path: cx.path }),
    },
    { design: c.design, platform: cx.platform, profile: c.profile },
  )
}

/** A block outcome whose failure trace has been delta-debugged (a new bundle, same property). */
export function minimizeOutcome(b: BlockOutcome, o: CampaignOptions): BlockOutcome {
  const f = b.failure
  if (!f) return b
  const cx = minimizeCounterexample(f.cx, { design: o.design, profile: o.profile, impl: o.impl, properties: new Set(b.properties) })
  return cx === f.cx ? b : { ...b, failure: { ...f, cx } }
}
