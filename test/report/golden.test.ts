// Each renderer's output, byte for byte against test/report/golden/: for the hand-built
// counterexample (a result difference at the diverging step), and in golden/<defect>/ for a
// seeded defect whose failure is a state difference that the probe search makes observable. Regenerate with UPDATE_GOLDEN=1 npx vitest run test/report, then read
// every changed golden file before committing it.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { renderBundle } from '../../src/report/bundle.ts'
import { defectCounterexample } from './defect-bundles.ts'
import { goldenCounterexample } from './fixture.ts'

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url))
const UPDATE = process.env.UPDATE_GOLDEN === '1'
const files = renderBundle(goldenCounterexample(), 'reports/example/21e5b707093c')

const DEFECT = 'missing-iotlb-flush-on-unmap'
const defectFiles = renderBundle(defectCounterexample(DEFECT), `reports/example/${DEFECT}`)

for (const [where, set] of [['', files], [`${DEFECT}/`, defectFiles]] as const)
  describe(`golden bundle ${where || 'hand-built'}`, () => {
    for (const [name, text] of Object.entries(set)) {
      it(`${name} matches test/report/golden/${where}${name}`, () => {
        const path = GOLDEN + where + name
        if (UPDATE) {
          mkdirSync(GOLDEN + where, { recursive: true })
          writeFileSync(path, text)
        }
        expect(text).toBe(readFileSync(path, 'utf8'))
      })
    }
  })
