// The kernel-wide part of the focused mutation profile (vitest.mutate.config.ts, MUTATION.md):
// a cheaper cut of test/kernel/conformance.test.ts and test/kselftests.test.ts, so that a
// mutant that survives costs seconds, not a minute. Run only by Stryker (`npm run mutate`) or
// by `npx vitest run -c vitest.mutate.config.ts`; `npm test` runs the full versions.
//
// 1. every committed scenario, impl both, under its own design (as conformance.test.ts);
// 2. every kselftest translation of at most MAX_STEPS steps under its own profile, impl both:
//    the kernel must agree with the model (expectations are test/kselftests.test.ts's job);
// 3. every option of every design axis on top of lpc2025: a short random differential run
//    (fixed seed) on the small platform, instead of conformance.test.ts's 27 scenarios each.

import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AXES, resolveDesign } from '../../../models/design.ts'
import { SMALL_PLATFORM } from '../../../models/platform.ts'
import { runProperty } from '../../../properties/run.ts'
import { kernelProblems, loadScenario, runOn, scenarioFiles } from '../../kernel/helpers.ts'

const MAX_STEPS = 300
export const AXIS_SEED = 0xa5e5
const AXIS_RUNS = Number(process.env.LUV_AXIS_RUNS ?? 6)

describe('committed scenarios, impl both, own design', () => {
  it.each(scenarioFiles())('%s conforms and passes', (f) => {
    const sc = loadScenario(f)
    const run = runOn(sc, sc.design, 'both')
    expect(kernelProblems(run)).toEqual([])
    expect(run.passed).toBe(true)
  })
})

describe('kselftest translations, impl both, own profile', () => {
  const dir = 'properties/kselftests'
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  for (const f of files) {
    const sc = loadScenario(join(dir, f))
    if (sc.steps.length > MAX_STEPS) continue
    it(`${f} conforms`, () => expect(kernelProblems(runOn(sc, sc.design, 'both'))).toEqual([]))
  }
})

describe('every design-axis option on lpc2025: random differential', () => {
  for (const [axis, options] of Object.entries(AXES))
    for (const option of options) {
      // didReservation=none is a finding the kernel's invariants report (conformance.test.ts)
      if (axis === 'didReservation' && option === 'none') continue
      it(`${axis}=${option}: ${AXIS_RUNS} runs conform`, () => {
        const r = runProperty({
          platform: SMALL_PLATFORM,
          design: resolveDesign({ overrides: { [axis]: option } }),
          impl: 'both',
          properties: new Set(['conformance']),
          seed: AXIS_SEED,
          numRuns: AXIS_RUNS,
        })
        expect(r.error).toBeUndefined()
        expect(r.failure?.violation.message).toBeUndefined()
        expect(r.runs).toBe(AXIS_RUNS)
      })
    }
})
