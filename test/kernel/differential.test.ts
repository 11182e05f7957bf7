// The random differential test: fast-check command sequences (properties/run.ts) run on the
// model and the kernel implementation side by side, conformance checked after every step
// (results, observations, intermediate hardware states, the kernel's own invariants), a few
// hundred runs per profile on the default and the small platform. Fixed seeds (LUV_SEED
// rotates them), so a failure replays.

import { describe, expect, it } from 'vitest'
import { PROFILE_NAMES, resolveDesign } from '../../models/design.ts'
import { opToString, resultToString } from '../../models/ops.ts'
import { DEFAULT_PLATFORM, SMALL_PLATFORM } from '../../models/platform.ts'
import { runProperty, type PropertyRunResult } from '../../properties/run.ts'

const RUNS = Number(process.env.LUV_DIFF_RUNS ?? 300)
const SEED = process.env.LUV_SEED !== undefined ? Number(process.env.LUV_SEED) : 0x1ce

function explain(r: PropertyRunResult): string {
  if (r.passed) return 'passed'
  if (r.error) return r.error
  const f = r.failure!
  const steps = f.ops.map((op, i) => {
    const o = f.outcomes[i]
    const k = o.kernelResult ? ` | kernel ${resultToString(o.kernelResult)}` : ''
    return `  ${i + 1}. ${opToString(op)} = ${resultToString(o.result)}${k}`
  })
  return [`${f.violation.property}: ${f.violation.message}`, `seed ${f.seed} path ${f.path}`, ...steps].join('\n')
}

describe('kernel vs model on random traces', () => {
  for (const profile of PROFILE_NAMES)
    for (const [name, platform] of [
      ['default', DEFAULT_PLATFORM],
      ['small', SMALL_PLATFORM],
    ] as const)
      it(`${profile}, ${name} platform: ${RUNS} runs conform`, () => {
        const r = runProperty({
          platform,
          design: resolveDesign({ profile }),
          impl: 'both',
          properties: new Set(['conformance']),
          seed: SEED,
          numRuns: RUNS,
        })
        expect(r.passed, explain(r)).toBe(true)
        expect(r.runs).toBe(RUNS)
      })
})
