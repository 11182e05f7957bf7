// The suite's power: the default campaign (impl both, every property, the CI seed, the
// default/small/tiny platforms drawn per run) catches every seeded defect of the catalogue,
// and passes with no defect. A defect whose code path exists only under another design
// option (e.g. the rollback of a teardown-then-setup replace) is hunted on the design of its
// catalogue scenario, with that scenario's platform added to the draw. Runs are not shrunk
// here: time-to-find and shrunk lengths are benchmarked (npm run bench).

import { describe, expect, it } from 'vitest'
import { DEFAULT_PLATFORM, resolveDesign } from '../models/index.ts'
import { DEFECTS } from '../src/kernel/defects/index.ts'
import { loadScenario } from '../src/scenario/load.ts'
import { CAMPAIGN_PLATFORMS, CI } from './harness.ts'
import { runProperty } from './run.ts'
import { PROPERTY_NAMES, type PropertyName } from '../src/check/executor.types.ts'

const RUNS = Number(process.env.LUV_POWER_RUNS ?? 1000)
const ALL = new Set<PropertyName>(PROPERTY_NAMES)

function campaign(defect?: string) {
  const sc = defect ? loadScenario(DEFECTS.find((d) => d.name === defect)!.scenario) : undefined
  const design = sc ? sc.design : resolveDesign({})
  const platforms = sc && !CAMPAIGN_PLATFORMS.includes(sc.platform) ? [...CAMPAIGN_PLATFORMS, sc.platform] : CAMPAIGN_PLATFORMS
  const run = (properties: Set<PropertyName>, d?: string) =>
    runProperty({ platform: DEFAULT_PLATFORM, platforms, design, impl: 'both', defect: d, properties, seed: CI.seed, numRuns: RUNS, timeLimitMs: 60_000, noShrink: true })
  // a defect must be caught by a property the clean design keeps: on a non-default design,
  // first drop the properties that design breaks by itself (its findings)
  const kept = new Set(ALL)
  if (sc)
    for (let clean = run(kept); clean.failure && kept.size > 1; clean = run(kept)) kept.delete(clean.failure.violation.property)
  return { ...run(kept, defect), kept }
}

describe('the default campaign catches every seeded defect', () => {
  it('passes with no defect', () => {
    const r = campaign()
    expect(r.error).toBeUndefined()
    expect(r.failure?.violation).toBeUndefined()
    expect(r.runs).toBe(RUNS)
  })
  for (const d of DEFECTS)
    it(`catches ${d.name} (expected: ${d.property})`, () => {
      const r = campaign(d.name)
      expect(r.error).toBeUndefined()
      expect(r.failure, `${d.name} was not caught in ${r.runs} runs (${r.steps} steps)`).toBeDefined()
      const dropped = PROPERTY_NAMES.filter((p) => !r.kept.has(p))
      console.log(`${d.name}: caught by ${r.failure!.violation.property} after ${r.runs} runs${dropped.length ? ` (its design breaks ${dropped.join(', ')} by itself)` : ''}: ${r.failure!.violation.message}`)
    })
})
