// Every committed scenario (the story scenarios and the regressions) runs in every test pass.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../src/scenario/load.ts'
import { runScenario } from '../src/scenario/run.ts'
import { createExecutor } from '../src/check/index.ts'
import { renderRun } from '../src/scenario/print.ts'

const DIRS = ['properties/scenarios', 'properties/regressions']
const IMPLS = (process.env.LUV_SCENARIO_IMPLS ?? 'model').split(',') as ('model' | 'kernel' | 'both')[]

for (const dir of DIRS) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  describe(dir, () => {
    for (const f of files)
      for (const impl of IMPLS)
        it(`${f} (${impl})`, () => {
          const sc = loadScenario(join(dir, f))
          const run = runScenario(sc, { executor: createExecutor(sc.platform, sc.design, { impl }) })
          expect(run.passed, renderRun(run).map((l) => l.text).join('\n')).toBe(true)
        })
  })
}
