// Valid inputs the fuzzer mutates, made in-process in well under a second: a scenario file, a
// platform file, a bundle (scenario.json + trace.itf.json, rendered by luv from a real seeded-
// defect run) and a shard report folder (summary.json naming that bundle), all as luv writes them.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_PLATFORM } from '../../models/platform.ts'
import { aggregate, campaignContext } from '../../src/campaign/campaign.ts'
import { planBlocks } from '../../src/campaign/blocks.ts'
import { resolveCampaignOptions } from '../../src/campaign/options.ts'
import { writeReport } from '../../src/campaign/write.ts'
import { createExecutor } from '../../src/check/index.ts'
import type { StepOutcome } from '../../src/check/executor.types.ts'
import { bundleName } from '../../src/report/bucket.ts'
import { toCounterexample } from '../../src/report/from-failure.ts'
import type { Counterexample } from '../../src/report/types.ts'
import { loadScenario } from '../../src/scenario/load.ts'
import { runScenario } from '../../src/scenario/run.ts'

const DEFECT = 'token-truncated-to-u32'
export const SCENARIO_PATH = new URL(`../../properties/defects/${DEFECT}.json`, import.meta.url).pathname

export interface Seeds {
  scenario: string
  platform: string
  /** a bundle folder's two JSON files */
  bundleScenario: string
  itf: string
  /** a shard report folder: summary.json and the bundle folder it names */
  shardDir: string
  summary: string
  bundle: string
}

/** The defect's catalogue scenario run with the defect seeded, as a counterexample. */
export function defectCounterexample(): Counterexample {
  const sc = loadScenario(SCENARIO_PATH)
  const exec = createExecutor(sc.platform, sc.design, { impl: 'both', defect: DEFECT })
  const outcomes: StepOutcome[] = []
  const wrapped = { ...exec, impl: exec.impl, step: (op: Parameters<typeof exec.step>[0]) => {
    const o = exec.step(op)
    outcomes.push(o)
    return o
  }, finish: () => exec.finish(), modelState: () => exec.modelState() }
  const run = runScenario(sc, { executor: wrapped })
  const at = run.steps.findIndex((s) => s.violations.length > 0)
  if (at < 0) throw new Error(`fuzz seed: ${DEFECT} no longer fails its scenario`)
  return toCounterexample(
    { violation: run.steps[at].violations[0], ops: run.steps.slice(0, at + 1).map((s) => s.op), outcomes: outcomes.slice(0, at + 1), divergenceIndex: at + 1, seed: 1, path: '0' },
    { design: sc.design, platform: sc.platform, profile: 'lpc2025', defect: DEFECT },
  )
}

export async function makeSeeds(dir: string): Promise<Seeds> {
  const cx = defectCounterexample()
  const opts = resolveCampaignOptions({ runs: '25', impl: 'both', defect: DEFECT, out: join(dir, 'shard') })
  const [b] = [...planBlocks({ seed: opts.seed, runs: 25 })]
  const started = new Date(0)
  const result = aggregate(
    campaignContext(opts),
    [{ index: b.index, seed: b.seed, numRuns: 25, properties: opts.properties, passed: false, runs: 3, steps: 40, reach: { kexecWithPreservedDma: 1, fullRecovery: 0, outcomes: [] }, failure: { property: cx.property, cx, path: '2:0', shrinks: 1 } }],
    { interrupted: false, aborted: [], reruns: 0, workers: 1, started, finished: started },
  )
  mkdirSync(opts.out, { recursive: true })
  await writeReport(result.summary, result.bundles)
  const bundle = bundleName(cx)
  const read = (...p: string[]) => readFileSync(join(...p), 'utf8')
  return {
    scenario: readFileSync(SCENARIO_PATH, 'utf8'),
    platform: JSON.stringify(DEFAULT_PLATFORM, null, 2),
    bundleScenario: read(opts.out, bundle, 'scenario.json'),
    itf: read(opts.out, bundle, 'trace.itf.json'),
    shardDir: opts.out,
    summary: read(opts.out, 'summary.json'),
    bundle,
  }
}

export const writeText = (path: string, text: string | Uint8Array) => writeFileSync(path, text)
