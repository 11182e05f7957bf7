// Each renderer's output for the hand-built counterexample, byte for byte against
// test/report/golden/. Regenerate with UPDATE_GOLDEN=1 npx vitest run test/report, then read
// every changed golden file before committing it.

import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { renderBundle } from '../../src/report/bundle.ts'
import { goldenCounterexample } from './fixture.ts'

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url))
const UPDATE = process.env.UPDATE_GOLDEN === '1'
const files = renderBundle(goldenCounterexample(), 'reports/example/21e5b707093c')

describe('golden bundle', () => {
  for (const [name, text] of Object.entries(files)) {
    it(`${name} matches test/report/golden/${name}`, () => {
      const path = GOLDEN + name
      if (UPDATE) writeFileSync(path, text)
      expect(text).toBe(readFileSync(path, 'utf8'))
    })
  }
})
