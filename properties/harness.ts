// The vitest side of the model-based properties: the CI profile (fixed seed, bounded runs),
// environment overrides, and a failure message that leads with the shrunk trace and ends
// with the replay instructions. The bundle of every failure is written to reports/vitest/.

import { mkdirSync } from 'node:fs'
import { DEFAULT_PLATFORM, SMALL_PLATFORM, SUPERPAGE_PLATFORM, TINY_PLATFORM, resolveDesign, type Platform } from '../models/index.ts'
import type { ProfileName } from '../models/design.ts'
import { opToString, resultToString } from '../models/ops.ts'
import type { ImplChoice, PropertyName } from '../src/check/executor.types.ts'
import { toCounterexample } from '../src/report/from-failure.ts'
import { writeBundle } from '../src/report/bundle.ts'
import { runProperty, type PropertyRunResult } from './run.ts'
import { DEFECTS } from '../src/kernel/defects/index.ts'
import { loadScenario } from '../src/scenario/load.ts'
import { PROPERTY_NAMES } from '../src/check/executor.types.ts'

/** The platforms the default campaign draws from, run by run, when it hunts a defect (the power
 *  test, bench/defects.ts, bench/heldout.ts): the documented default, a small one, a tiny one
 *  whose scarce DIDs, table pages and memory reach the exhaustion and rollback paths, and the
 *  default machine with 1024 pages of memory (models/platform.ts SUPERPAGE_PLATFORM), the one
 *  `luv campaign` draws beside the default for 2 MiB leaves: without it no run here maps more
 *  than 256 pages, so nothing the superpage flows do (a 2 MiB leaf, a 512-page unmap flushed
 *  past the PSI limit) is tried. The same four as `luv campaign --platform mixed`
 *  (src/campaign/options.ts MIXED_PLATFORMS), in the same order. */
export const CAMPAIGN_PLATFORMS = [DEFAULT_PLATFORM, SMALL_PLATFORM, TINY_PLATFORM, SUPERPAGE_PLATFORM]

/** What the fixed-seed property tests (checkProperty: 60 runs at the CI seed, a 20 s limit)
 *  draw: the first three. With the superpage machine in this draw the streams move, and the
 *  1024-page runs (a second VM, 2 MiB flows) are slower: phase1's dma-safety finding came at
 *  run 199 instead of within 60 (seed 0x1b5), past both bounds. Superpage runs are the power
 *  test's and the benches' (CAMPAIGN_PLATFORMS). */
export const PROPERTY_TEST_PLATFORMS = CAMPAIGN_PLATFORMS.slice(0, 3)

/** CI profile: fixed seed and bounded runs; LUV_SEED, LUV_RUNS, LUV_TIME (ms) override. */
export const CI = {
  seed: Number(process.env.LUV_SEED ?? 0x1b5),
  runs: Number(process.env.LUV_RUNS ?? 60),
  timeMs: process.env.LUV_TIME !== undefined ? Number(process.env.LUV_TIME) : 20_000,
}

export interface PropertyCheck {
  property: PropertyName
  profile: ProfileName
  impl?: ImplChoice
  defect?: string
  platform?: Platform
  seed?: number
  runs?: number
}

export interface PropertyOutcome {
  result: PropertyRunResult
  /** the failure rendered for a human, replay instructions last */
  message: string
  bundle?: string
}

export async function checkProperty(c: PropertyCheck): Promise<PropertyOutcome> {
  const design = resolveDesign({ profile: c.profile })
  const platform = c.platform ?? DEFAULT_PLATFORM
  const impl = c.impl ?? (c.property === 'conformance' || c.defect ? 'both' : 'model')
  const seed = c.seed ?? CI.seed
  const result = runProperty({
    platform,
    platforms: c.platform ? [c.platform] : PROPERTY_TEST_PLATFORMS,
    design,
    impl,
    defect: c.defect,
    properties: new Set([c.property]),
    seed,
    numRuns: c.runs ?? CI.runs,
    timeLimitMs: CI.timeMs,
  })
  if (result.error) return { result, message: `harness error (not a property violation):\n${result.error}` }
  if (!result.failure) return { result, message: `${c.property} holds on ${c.profile}: ${result.runs} runs, ${result.steps} steps, seed ${seed}` }
  const f = result.failure
  const cx = toCounterexample(f, { design, platform: f.platform, profile: c.profile, defect: c.defect })
  const root = `reports/vitest/${c.property}`
  mkdirSync(root, { recursive: true })
  const bundle = await writeBundle(root, cx)
  return { result, bundle, message: failureMessage(c, result, bundle) }
}

/** Shrunk trace first, then the diverging step and the model/kernel difference, replay last. */
export function failureMessage(c: PropertyCheck, r: PropertyRunResult, bundle: string): string {
  const f = r.failure!
  const lines = [`${f.violation.property} fails on ${c.profile}${c.defect ? ` with --defect ${c.defect}` : ''}: shrunk to ${f.ops.length} steps`, '']
  f.ops.forEach((op, i) => {
    const o = f.outcomes[i]
    const k = o.kernelResult && resultToString(o.kernelResult) !== resultToString(o.result) ? `  (kernel ${resultToString(o.kernelResult)})` : ''
    lines.push(`${i + 1 === f.divergenceIndex ? '>>' : '  '} ${String(i + 1).padStart(3)}. ${opToString(op)} = ${resultToString(o.result)}${k}`)
  })
  lines.push('', `step ${f.divergenceIndex}: ${f.violation.property}: ${f.violation.message}`)
  for (const v of f.outcomes[f.divergenceIndex - 1]?.violations.slice(1) ?? []) lines.push(`         ${v.property}: ${v.message}`)
  lines.push(
    '',
    `seed ${f.seed}, path "${f.path}", ${f.shrinks} shrinks; bundle ${bundle}`,
    'replay without fast-check:',
    `  node bin/luv.mjs replay ${bundle}`,
    `  node bin/luv.mjs run ${bundle}/scenario.json --impl both${c.defect ? ` --defect ${c.defect}` : ''}`,
    `replay with fast-check: LUV_SEED=${f.seed} npx vitest run properties -t "${c.property}"`,
    `keep it as a regression: cp ${bundle}/scenario.json properties/regressions/<name>.json`,
  )
  return lines.join('\n')
}

/** The default campaign hunting one seeded defect (properties/power.test.ts, bench/defects.ts).
 *  A defect whose code path exists only under another design option (its catalogue scenario
 *  says which) is hunted on that design, with the scenario's platform added to the draw and
 *  the properties that design breaks by itself set aside first, so that the defect is caught
 *  by a property the clean design keeps. */
export function defectCampaign(defect: string | undefined, o: { seed: number; runs: number; timeLimitMs?: number; shrink?: boolean }) {
  const entry = defect === undefined ? undefined : DEFECTS.find((d) => d.name === defect)
  const sc = entry ? loadScenario(entry.scenario) : undefined
  const design = sc ? sc.design : resolveDesign({})
  const platforms = sc && !CAMPAIGN_PLATFORMS.includes(sc.platform) ? [...CAMPAIGN_PLATFORMS, sc.platform] : CAMPAIGN_PLATFORMS
  const run = (properties: Set<PropertyName>, d?: string, shrink = false) =>
    runProperty({ platform: DEFAULT_PLATFORM, platforms, design, impl: 'both', defect: d, properties, seed: o.seed, numRuns: o.runs, timeLimitMs: o.timeLimitMs, noShrink: !shrink })
  const kept = new Set<PropertyName>(PROPERTY_NAMES)
  if (sc && JSON.stringify(sc.design) !== JSON.stringify(resolveDesign({})))
    for (let clean = run(kept); clean.failure && kept.size > 1; clean = run(kept)) kept.delete(clean.failure.violation.property)
  return { ...run(kept, defect, o.shrink), kept }
}
