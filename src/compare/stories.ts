// The story tier of a comparison: beside its random campaign, every design replays the
// committed scenarios (properties/scenarios: the LPC 2025 flow, both talk discussions under
// each option, the posted versions' flows, the error paths; properties/regressions: failures
// found before) with the scenario's own design replaced by the cell's, expectations ignored,
// properties checked. A documented flow that breaks a property under a design is a finding
// of that design, found deterministically even where random runs rarely go (e.g. the V1
// finish gate's FINISH before the restored HWPT is destroyed, 32 steps deep).
//
// A scenario stops where a step it needs cannot run under this design (a "$name" whose step
// failed): what ran up to there still counts.

import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Design, ProfileName } from '../../models/design.ts'
import type { Op } from '../../models/ops.ts'
import { createExecutor } from '../check/index.ts'
import type { ImplChoice, PropertyName, StepOutcome } from '../check/executor.types.ts'
import { toCounterexample } from '../report/from-failure.ts'
import type { Counterexample } from '../report/types.ts'
import { loadScenario } from '../scenario/load.ts'
import { UnboundNameError, runScenario, type ScenarioRun } from '../scenario/run.ts'
import { minimizeCounterexample } from './minimize.ts'

/** Folders of committed scenarios, relative to the luv tree. */
export const STORY_DIRS = ['properties/scenarios', 'properties/regressions'] as const

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Every committed story scenario, as `properties/…/x.json`, sorted. */
export function storyFiles(): string[] {
  return STORY_DIRS.flatMap((d) =>
    readdirSync(ROOT + d)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => `${d}/${f}`),
  )
}

export interface StoryFinding {
  property: PropertyName
  /** the scenario file, relative to the luv tree */
  scenario: string
  cx: Counterexample
}

export interface StoryResult {
  scenarios: number
  steps: number
  findings: StoryFinding[]
}

/** Run every story scenario under `design`; the first violation of each property not in
 *  `skip` (in file order, then step order) is a finding, delta-debugged. */
export function runStories(o: { design: Design; profile: ProfileName; impl: ImplChoice; properties: readonly PropertyName[]; skip: ReadonlySet<PropertyName> }): StoryResult {
  // properties the campaign already broke are not checked: their violations would stop the
  // delta debugging of the others
  const properties = new Set(o.properties.filter((p) => !o.skip.has(p)))
  const found = new Map<PropertyName, StoryFinding>()
  let steps = 0
  const files = properties.size ? storyFiles() : []
  for (const file of files) {
    const sc = loadScenario(ROOT + file)
    const executor = createExecutor(sc.platform, o.design, { impl: o.impl, properties })
    let run: ScenarioRun
    try {
      run = runScenario(sc, { executor })
    } catch (e) {
      if (!(e instanceof UnboundNameError)) throw e
      run = e.partial
    }
    steps += run.steps.length
    for (const [i, s] of run.steps.entries())
      for (const v of s.violations) {
        if (!properties.has(v.property) || found.has(v.property)) continue
        // the resolved ops up to the violation, replayed for the full outcomes a bundle shows
        const ops: Op[] = run.steps.slice(0, i + 1).map((x) => x.op)
        const ex = createExecutor(sc.platform, o.design, { impl: o.impl, properties })
        const outcomes: StepOutcome[] = ops.map((op) => ex.step(op))
        const violation = outcomes[i].violations.find((x) => x.property === v.property)
        if (!violation) continue
        const cx = toCounterexample({ violation, ops, outcomes, divergenceIndex: i + 1 }, { design: o.design, platform: sc.platform, profile: o.profile })
        found.set(v.property, { property: v.property, scenario: file, cx: minimizeCounterexample(cx, { design: o.design, profile: o.profile, impl: o.impl, properties }) })
      }
  }
  return { scenarios: files.length, steps, findings: [...found.values()] }
}
