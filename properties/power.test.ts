// The suite's power: the default campaign (impl both, every property, the CI seed, the
// default/small/tiny platforms drawn per run) catches every seeded defect of the catalogue,
// and passes with no defect. A defect whose code path exists only under another design
// option (e.g. the rollback of a teardown-then-setup replace) is hunted on the design of its
// catalogue scenario, with that scenario's platform added to the draw. Runs are not shrunk
// here: time-to-find and shrunk lengths are benchmarked (npm run bench).

import { describe, expect, it } from 'vitest'
import { DEFECTS } from '../src/kernel/defects/index.ts'
import { PROPERTY_NAMES } from '../src/check/executor.types.ts'
import { CI, defectCampaign } from './harness.ts'

const RUNS = Number(process.env.LUV_POWER_RUNS ?? 1000)
// no time limit: the verdict is a function of (seed, runs), not of how busy the machine is
const campaign = (defect?: string) => defectCampaign(defect, { seed: CI.seed, runs: RUNS })

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
