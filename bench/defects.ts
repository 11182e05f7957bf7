// Time to find each seeded defect (issue 4): the default campaign (impl both, every property,
// default platform) over 5 seeds on one core; the time to the first failing run (no
// shrinking), then the shrunk length of that failure against the shortest known trace.
//   node --import tsx bench/defects.ts [--seeds 5] [--budget 60]

import { parseArgs } from 'node:util'
import { DEFECTS } from '../src/kernel/defects/index.ts'
import { defectCampaign } from '../properties/harness.ts'

const { values } = parseArgs({ options: { seeds: { type: 'string' }, budget: { type: 'string' }, only: { type: 'string' } } })
const SEEDS = Number(values.seeds ?? 5)
const BUDGET_MS = Number(values.budget ?? 60) * 1000
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

console.log(`## Seeded defects: time to find and shrunk length\n`)
console.log(`\`node --import tsx bench/defects.ts --seeds ${SEEDS} --budget ${BUDGET_MS / 1000}\` (the default campaign: default, small, tiny and superpage platforms drawn per run (properties/harness.ts CAMPAIGN_PLATFORMS), impl both, every property, one core)\n`)
console.log(`| defect | caught by | found in (${SEEDS} seeds) | median time to find | shrunk length | shortest known | within +2 |`)
console.log('|---|---|---:|---:|---:|---:|---|')
for (const d of DEFECTS) {
  if (values.only && d.name !== values.only) continue
  const times: number[] = []
  const props = new Set<string>()
  let found = 0
  let shrunk: number | undefined
  for (let s = 0; s < SEEDS; s++) {
    const seed = 1000 + s
    const t0 = performance.now()
    const r = defectCampaign(d.name, { seed, runs: 1_000_000, timeLimitMs: BUDGET_MS })
    const ms = performance.now() - t0
    if (r.failure) {
      found++
      times.push(ms)
      props.add(r.failure.violation.property)
      if (shrunk === undefined) shrunk = defectCampaign(d.name, { seed, runs: 1_000_000, timeLimitMs: 4 * BUDGET_MS, shrink: true }).failure?.divergenceIndex
    } else times.push(Number.POSITIVE_INFINITY)
  }
  const med = median(times)
  const ok = shrunk !== undefined && shrunk <= d.shortestLength + 2
  console.log(
    `| ${d.name} | ${[...props].join(', ') || '—'} | ${found}/${SEEDS} | ${Number.isFinite(med) ? (med / 1000).toFixed(2) + ' s' : 'not found'} | ${shrunk ?? '—'} | ${d.shortestLength} | ${ok ? 'yes' : 'no'} |`,
  )
}
console.log('\nTime to find includes, for a defect hunted on a non-default design, the clean runs that set aside the properties that design breaks by itself.')
