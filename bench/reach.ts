// Reach against a deeper exploration than `npm test` can afford (issue 13): the coverage test
// (test/coverage/coverage.test.ts) explores the default scope to depth 3 and requires the
// default campaign to reach every (op, result) pair and lifecycle transition found there, plus
// the transitions src/coverage/reach.ts DEEP_TRANSITIONS lists as found deeper. This explores to
// depth 5 (about 28 s of CPU), checks that list (every deeper transition listed, nothing
// listed that depth 5 does not reach), and runs the coverage test's campaign (the default
// campaign's platforms, the CI seed, impl model) against the depth-5 exploration.
//   node --import tsx bench/reach.ts [--depth 5] [--runs 400] [--seed N]
// Exit 0 when everything the exploration reaches is reached, 1 otherwise (what is missing is printed).

import { parseArgs } from 'node:util'
import { DEFAULT_SEED } from '../src/campaign/options.ts'
import { DEEP_DEPTH, DEEP_TRANSITIONS, DEFAULT_PLATFORM_GAPS, TEST_DEPTH, defaultCampaignCoverage, exploreDefaultScope, reachGaps, transitionsOf } from '../src/coverage/reach.ts'

const { values } = parseArgs({ options: { depth: { type: 'string' }, runs: { type: 'string' }, seed: { type: 'string' } } })
const depth = Number(values.depth ?? DEEP_DEPTH)
const runs = Number(values.runs ?? 400)
const seed = Number(values.seed ?? DEFAULT_SEED)

const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

let c0 = cpu()
const shallow = await exploreDefaultScope(TEST_DEPTH)
const tShallow = cpu() - c0
c0 = cpu()
const deep = await exploreDefaultScope(depth)
const tDeep = cpu() - c0
console.log(`exploration of the default scope: depth ${TEST_DEPTH} ${tShallow.toFixed(1)} s CPU, depth ${depth} ${tDeep.toFixed(1)} s CPU (${deep.stats.distinct.toLocaleString('en-US')} distinct states)`)

const have = new Set(transitionsOf(shallow.coverage))
const deeper = transitionsOf(deep.coverage).filter((t) => !have.has(t))
const unlisted = deeper.filter((t) => !DEEP_TRANSITIONS.includes(t))
const stale = depth === DEEP_DEPTH ? DEEP_TRANSITIONS.filter((t) => !deeper.includes(t)) : []
console.log(`lifecycle transitions: ${have.size} at depth ${TEST_DEPTH}, ${deeper.length} more at depth ${depth}`)

c0 = cpu()
const { r, data } = defaultCampaignCoverage(runs, seed)
const gaps = reachGaps(data, deep.coverage)
const pairs = gaps.pairs.filter((k) => DEFAULT_PLATFORM_GAPS[k] === undefined)
console.log(`campaign: ${runs} runs at seed ${seed}, ${(cpu() - c0).toFixed(1)} s CPU, ${r.passed ? 'passed' : `FAILED: ${r.failure?.violation.message ?? r.error}`}`)
for (const t of transitionsOf(deep.coverage)) {
  const [kind, ...rest] = t.split(' ')
  const n = (kind === 'device' ? data.deviceTransitions : data.sessionTransitions)[rest.join(' ')] ?? 0
  console.log(`  ${t.padEnd(40)} ${n === 0 ? 'NOT REACHED' : n}`)
}

const problems = [
  ...unlisted.map((t) => `${t}: reached at depth ${depth}, not at depth ${TEST_DEPTH}, and not in src/coverage/reach.ts DEEP_TRANSITIONS`),
  ...stale.map((t) => `${t}: in DEEP_TRANSITIONS but not reached by the depth-${depth} exploration`),
  ...gaps.transitions.map((t) => `${t}: reached by the exploration, not by the campaign`),
  ...pairs.map((k) => `${k}: reached by the exploration, not by the campaign`),
  ...gaps.reachedGaps.map((k) => `${k}: reached by the campaign, but src/coverage/reach.ts DEFAULT_PLATFORM_GAPS says it cannot be`),
  ...(r.passed ? [] : ['the campaign failed']),
]
for (const p of problems) console.log(`MISSING ${p}`)
console.log(problems.length === 0 ? `OK: the campaign reaches every (op, result) pair and lifecycle transition of the depth-${depth} exploration` : `${problems.length} problem(s)`)
process.exitCode = problems.length === 0 ? 0 : 1
