// The property part of the models/ mutation profile (vitest.mutate.models.config.ts): every
// named property on every profile where the design matrix (properties/findings.ts) says it
// holds, on the model, with fixed seed and LUV_RUNS runs. The known-finding tests ("is broken
// by") need the CI run count to find their finding again and are left to `npm test`.
import { describe, expect, it } from 'vitest'
import { PROFILE_NAMES } from '../../../models/design.ts'
import { PROPERTY_NAMES } from '../../../src/check/executor.types.ts'
import { FINDINGS } from '../../../properties/findings.ts'
import { checkProperty } from '../../../properties/harness.ts'

describe('named properties where they hold (model)', () => {
  for (const property of PROPERTY_NAMES)
    for (const profile of PROFILE_NAMES)
      if (!FINDINGS[profile][property])
        it(`${property} holds on ${profile}`, async () => {
          const o = await checkProperty({ property, profile })
          expect(o.result.error, o.message).toBeUndefined()
          expect(o.result.failure, o.message).toBeUndefined()
          expect(o.result.runs).toBeGreaterThan(0)
        })
})
