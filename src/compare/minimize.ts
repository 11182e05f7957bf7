// How a comparison shrinks a breaking cell's failure: the campaign reports the first failing
// run unshrunk (CampaignOptions.shrink = false), and luv's delta debugging
// (src/check/minimize.ts) then drops every step the failure does not need. Measured on the
// default profile's one-axis designs, this reaches the same trace length as fast-check's
// shrinker followed by delta debugging (12-19 steps), in about a second instead of minutes:
// fast-check shrinking replays the whole command list, properties and recovery included,
// thousands of times. The failing run's fast-check coordinates (seed, path) stay in the
// summary: `luv replay --seed --path` re-runs it with fast-check's own shrinking.

import type { Op } from '../../models/ops.ts'
import type { BlockOutcome } from '../campaign/scheduler.ts'
import type { CampaignOptions } from '../campaign/options.ts'
import { createExecutor } from '../check/index.ts'
import type { StepOutcome } from '../check/executor.types.ts'
import { minimize } from '../check/minimize.ts'
import { toCounterexample } from '../report/from-failure.ts'

/** A block outcome whose failure trace has been delta-debugged (a new bundle, same property). */
export function minimizeOutcome(b: BlockOutcome, o: CampaignOptions): BlockOutcome {
  const f = b.failure
  if (!f) return b
  const cx = f.cx
  const properties = new Set(b.properties)
  const fresh = () => createExecutor(cx.platform, o.design, { impl: o.impl, properties })
  const unshrunk: Op[] = cx.steps.map((s) => s.op)
  const ops =
    unshrunk.length > 1
      ? minimize(unshrunk, cx.steps.map((s) => s.model), f.property, () => {
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
  let divergenceIndex = ops.length
  for (const [i, op] of ops.entries()) {
    const out = exec.step(op)
    outcomes.push(out)
    if (out.violations.length > 0) {
      divergenceIndex = i + 1
      break
    }
  }
  const violation = outcomes[divergenceIndex - 1]?.violations.find((v) => v.property === f.property)
  // the minimized trace must still fail the same property; if it somehow does not, keep the
  // unshrunk one (never lose a failure)
  if (!violation) return b
  const minimized = toCounterexample(
    {
      violation,
      ops: ops.slice(0, divergenceIndex),
      outcomes,
      divergenceIndex,
      ...(cx.seed !== undefined && { seed: cx.seed }),
      ...(cx.path !== undefined && { path: cx.path }),
    },
    { design: o.design, platform: cx.platform, profile: o.profile },
  )
  return { ...b, failure: { ...f, cx: minimized } }
}
