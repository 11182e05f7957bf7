// The suite's power: the default campaign (impl both, every property, the CI seed) catches
// every seeded defect of the catalogue, and passes with no defect. Runs are not shrunk here
// (time-to-find and shrunk lengths are benchmarked: npm run bench).

import { describe, expect, it } from 'vitest'
import { DEFAULT_PLATFORM, resolveDesign } from '../models/index.ts'
import { DEFECTS } from '../src/kernel/defects/index.ts'
import { CAMPAIGN_PLATFORMS, CI } from './harness.ts'
import { runProperty } from './run.ts'

const RUNS = Number(process.env.LUV_POWER_RUNS ?? 300)
const design = resolveDesign({})

function campaign(defect?: string) {
  return runProperty({ platform: DEFAULT_PLATFORM, platforms: CAMPAIGN_PLATFORMS, design, impl: 'both', defect, seed: CI.seed, numRuns: RUNS, timeLimitMs: 60_000, noShrink: true })
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
      console.log(`${d.name}: caught by ${r.failure!.violation.property} after ${r.runs} runs: ${r.failure!.violation.message}`)
    })
})
