// One vitest test per (named property, design profile): the property must hold, unless the
// design matrix (findings.ts) lists it as a known finding of that profile, in which case the
// campaign must find it again (and its counterexample bundle is written).

import { expect, it, describe } from 'vitest'
import { PROFILE_NAMES } from '../models/design.ts'
import type { PropertyName } from '../src/check/executor.types.ts'
import { FINDINGS } from './findings.ts'
import { checkProperty } from './harness.ts'

export function propertySuite(property: PropertyName): void {
  describe(property, () => {
    for (const profile of PROFILE_NAMES) {
      const finding = FINDINGS[profile][property]
      if (!finding)
        it(`holds on ${profile}`, async () => {
          const o = await checkProperty({ property, profile })
          expect(o.result.error, o.message).toBeUndefined()
          expect(o.result.failure, o.message).toBeUndefined()
          expect(o.result.runs).toBeGreaterThan(0)
        })
      else
        it(`is broken by ${profile} (known finding: ${finding})`, async () => {
          const o = await checkProperty({ property, profile })
          expect(o.result.error, o.message).toBeUndefined()
          expect(o.result.failure, `expected the ${profile} finding for ${property} to be found again`).toBeDefined()
          expect(o.result.failure!.violation.property).toBe(property)
        })
    }
  })
}
