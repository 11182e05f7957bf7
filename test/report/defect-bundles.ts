// A bundle for every seeded defect, built the way a campaign builds one: the defect's
// catalogue trace (properties/defects/) run on the model and the kernel with the defect,
// cut at its first violation, then turned into a Counterexample (probe search included).

import { createExecutor } from '../../src/check/index.ts'
import { DEFECTS } from '../../src/kernel/defects/index.ts'
import { toCounterexample } from '../../src/report/from-failure.ts'
import type { Counterexample } from '../../src/report/types.ts'
import { loadScenario } from '../../src/scenario/load.ts'
import { runScenario } from '../../src/scenario/run.ts'

const root = new URL('../../', import.meta.url).pathname

export function defectCounterexample(name: string): Counterexample {
  const d = DEFECTS.find((x) => x.name === name)
  if (!d) throw new Error(`no defect ${name}`)
  const sc = loadScenario(root + d.scenario)
  const run = runScenario(sc, { executor: createExecutor(sc.platform, sc.design, { impl: 'both', defect: d.name }) })
  const at = run.steps.findIndex((s) => s.violations.length > 0)
  if (at < 0) throw new Error(`${name}: its trace violates nothing`)
  const steps = run.steps.slice(0, at + 1)
  const violation = steps[at].violations.find((v) => v.property === d.property) ?? steps[at].violations[0]
  const exec = createExecutor(sc.platform, sc.design, { impl: 'both', defect: d.name })
  const outcomes = steps.map((s) => exec.step(s.op))
  const cx = toCounterexample(
    { violation, ops: steps.map((s) => s.op), outcomes, divergenceIndex: at + 1 },
    { design: sc.design, platform: sc.platform, defect: d.name },
  )
  // the versions of the tree under test vary; goldens pin them
  return { ...cx, versions: { luv: cx.versions.luv, node: 'v20', fastCheck: cx.versions.fastCheck, gitRev: '0123456789ab' } }
}

export const DEFECT_LIST = DEFECTS.map((d) => d.name)
