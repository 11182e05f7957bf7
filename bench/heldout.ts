// The suite's power on bugs it was not built against (issue 13): for each held-out defect
// (src/kernel/defects/heldout.ts) the default campaign as bench/defects.ts runs it for the
// seeded ones — impl both, every property, the default/small/tiny/superpage platforms drawn per run,
// seeds 1000, 1001, ..., a time budget per seed, no shrinking — and whether it was caught,
// how long the first failing run took, and the property that caught it.
//
// Unlike bench/defects.ts nothing here knows a defect's design: a held-out defect is hunted
// on the default profile. `--profiles LIST|all` splits each seed's budget evenly over those
// profiles (what `luv campaign --profiles` does block by block), setting aside on each
// profile the properties it breaks by itself (properties/findings.ts), so a catch there is
// the defect's and not a known design finding.
//   node --import tsx bench/heldout.ts [--seeds 2] [--budget 20] [--profiles all] [--only NAME,NAME] [--platforms harness|mixed|NAME,NAME] [--json FILE]
// (--platforms default,small,tiny: the harness draw before the superpage machine joined it, for A/B)

import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { DEFAULT_PROFILE, PROFILE_NAMES, resolveDesign, type ProfileName } from '../models/design.ts'
import { DEFAULT_PLATFORM, SMALL_PLATFORM, SUPERPAGE_PLATFORM, TINY_PLATFORM, type Platform } from '../models/platform.ts'
import { PROPERTY_NAMES, type PropertyName } from '../src/check/executor.types.ts'
import { HELD_OUT } from '../src/kernel/defects/heldout.ts'
import { FINDINGS } from '../properties/findings.ts'
import { CAMPAIGN_PLATFORMS } from '../properties/harness.ts'
import { runProperty } from '../properties/run.ts'
import { MIXED_PLATFORMS } from '../src/campaign/options.ts'

const { values } = parseArgs({
  options: { seeds: { type: 'string' }, budget: { type: 'string' }, only: { type: 'string' }, profiles: { type: 'string' }, platforms: { type: 'string' }, json: { type: 'string' } },
})
const SEEDS = Number(values.seeds ?? 2)
const BUDGET_MS = Number(values.budget ?? 20) * 1000
const profiles: ProfileName[] =
  values.profiles === undefined ? [DEFAULT_PROFILE] : values.profiles === 'all' ? [...PROFILE_NAMES] : (values.profiles.split(',') as ProfileName[])
// harness: what bench/defects.ts and the power test draw (properties/harness.ts
// CAMPAIGN_PLATFORMS: default, small, tiny, superpage); mixed: what `luv campaign --platform
// mixed` draws (the same four); or a list of named platforms, in draw order
const NAMED: Record<string, Platform> = { default: DEFAULT_PLATFORM, small: SMALL_PLATFORM, tiny: TINY_PLATFORM, superpage: SUPERPAGE_PLATFORM }
const platformSpec = values.platforms ?? 'harness'
const PLATFORMS: Platform[] =
  platformSpec === 'harness'
    ? [...CAMPAIGN_PLATFORMS]
    : platformSpec === 'mixed'
      ? [...MIXED_PLATFORMS]
      : platformSpec.split(',').map((n) => {
          const p = NAMED[n]
          if (p === undefined) throw new Error(`--platforms ${platformSpec}: '${n}' is not harness, mixed or one of ${Object.keys(NAMED).join(', ')}`)
          return p
        })
const platformLabel =
  platformSpec === 'harness' || platformSpec === 'mixed' ? PLATFORMS.map((p) => Object.keys(NAMED).find((n) => NAMED[n] === p) ?? 'custom').join('/') : platformSpec.replaceAll(',', '/')
for (const p of profiles) if (!(PROFILE_NAMES as readonly string[]).includes(p)) throw new Error(`--profiles: unknown profile '${p}' (known: ${PROFILE_NAMES.join(', ')})`)

export interface HeldOutRow {
  name: string
  situation: string
  caught: number
  seeds: number
  /** ms to the first failing run, per seed (null: not caught within the budget) */
  times: (number | null)[]
  properties: string[]
  /** profiles it was caught on */
  on: string[]
  runs: number
  errors: string[]
}

/** One seed of the default campaign on one defect: each profile gets its share of the budget. */
function hunt(defect: string, seed: number) {
  const t0 = performance.now()
  let runs = 0
  for (const profile of profiles) {
    const kept = new Set<PropertyName>(PROPERTY_NAMES.filter((p) => FINDINGS[profile][p] === undefined))
    const r = runProperty({
      platform: DEFAULT_PLATFORM,
      platforms: PLATFORMS,
      design: resolveDesign({ profile }),
      impl: 'both',
      defect,
      properties: kept,
      seed,
      numRuns: 1_000_000,
      timeLimitMs: BUDGET_MS / profiles.length,
      noShrink: true,
    })
    runs += r.runs
    if (r.failure || r.error) return { ms: performance.now() - t0, runs, profile, property: r.failure?.violation.property, error: r.error?.split('\n')[0] }
  }
  return { ms: null, runs }
}

const rows: HeldOutRow[] = []
const label = `node --import tsx bench/heldout.ts --seeds ${SEEDS} --budget ${BUDGET_MS / 1000}${values.profiles ? ` --profiles ${values.profiles}` : ''}${values.platforms ? ` --platforms ${values.platforms}` : ''}`
console.log(`## Held-out defects: caught by the default campaign\n`)
console.log(
  `\`${label}\` (impl both, every property${profiles.length > 1 ? ' a profile keeps' : ''}, ${platformLabel} platforms drawn per run, ` +
    `profile${profiles.length > 1 ? `s ${profiles.join(', ')} (budget split evenly)` : ` ${profiles[0]}`}, seeds 1000..${999 + SEEDS}, ${BUDGET_MS / 1000} s per seed, no shrinking)\n`,
)
console.log(`| held-out defect | situation | caught (${SEEDS} seeds) | first finding (median) | by | runs |`)
console.log('|---|---|---:|---:|---|---:|')
for (const d of HELD_OUT) {
  if (values.only && !values.only.split(',').includes(d.name)) continue
  const row: HeldOutRow = { name: d.name, situation: d.situation, caught: 0, seeds: SEEDS, times: [], properties: [], on: [], runs: 0, errors: [] }
  for (let s = 0; s < SEEDS; s++) {
    const h = hunt(d.name, 1000 + s)
    row.runs += h.runs
    row.times.push(h.ms === null ? null : Math.round(h.ms))
    if (h.ms === null) continue
    row.caught++
    const by = h.property ?? 'harness error'
    if (!row.properties.includes(by)) row.properties.push(by)
    if (h.profile && !row.on.includes(h.profile)) row.on.push(h.profile)
    if (h.error) row.errors.push(h.error)
  }
  rows.push(row)
  const found = row.times.filter((t): t is number => t !== null).sort((a, b) => a - b)
  const med = found.length > 0 ? `${(found[Math.floor((found.length - 1) / 2)] / 1000).toFixed(2)} s` : 'not caught'
  const by = row.properties.join(', ') + (profiles.length > 1 && row.on.length > 0 ? ` (on ${row.on.join(', ')})` : '')
  console.log(`| ${d.name} | ${d.situation} | ${row.caught}/${SEEDS} | ${med} | ${by || '—'} | ${row.runs} |`)
}
const caught = rows.filter((r) => r.caught > 0).length
console.log(`\n**${caught} of ${rows.length}** held-out defects caught by at least one seed; ${rows.filter((r) => r.caught === SEEDS).length} by every seed.`)
for (const r of rows) for (const e of r.errors) console.log(`- ${r.name}: the kernel threw (${e})`)
if (values.json) writeFileSync(values.json, JSON.stringify({ command: label, profiles, seeds: SEEDS, budgetMs: BUDGET_MS, rows }, null, 2) + '\n')
