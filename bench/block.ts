// The default campaign's own per-step cost (issue 12): the blocks `luv campaign --runs N` runs
// (generation by fast-check and the guides, the model, the kernel, conformance, every property,
// coverage counting, fail-nth at the default rate), on this thread, as a worker runs them; the
// first pass warms the JIT, the second is measured. Unlike bench/throughput.ts (command lists
// sampled beforehand, no coverage, no faults), this is the work a campaign's worker really does.
//   node --import tsx bench/block.ts [--runs 800] [--seed 437] [--passes 2] [--fail-rate R] [--impl both|model|kernel] [--platform default]
// Prints one line per pass: steps, µs per step (wall and CPU), steps per CPU-second.
import { parseArgs } from 'node:util'
import { runBlock } from '../src/campaign/block.ts'
import { planBlocks } from '../src/campaign/blocks.ts'
import { resolveCampaignOptions } from '../src/campaign/options.ts'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '800' },
    seed: { type: 'string', default: '437' },
    passes: { type: 'string', default: '2' },
    'fail-rate': { type: 'string' },
    impl: { type: 'string' },
    platform: { type: 'string' },
  },
})
const o = resolveCampaignOptions({
  runs: values.runs,
  seed: values.seed,
  out: '/nonexistent/luv-bench',
  ...(values['fail-rate'] !== undefined && { 'fail-rate': values['fail-rate'] }),
  ...(values.impl !== undefined && { impl: values.impl }),
  ...(values.platform !== undefined && { platform: values.platform }),
})
const blocks = [...planBlocks({ seed: o.seed, runs: o.runs })]

/** One pass over the campaign's blocks; returns steps and the thread's CPU and wall time. */
export function pass(): { steps: number; wallMs: number; cpuMs: number } {
  let steps = 0
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (const b of blocks) {
    const r = runBlock({ ...b, platforms: o.platforms, design: o.design, profile: o.profile, impl: o.impl, properties: o.properties, noShrink: true, ...(o.failRate && { failRate: o.failRate }) })
    if (r.error !== undefined) throw new Error(`block ${b.index}: ${r.error}`)
    steps += r.steps
  }
  const c = process.cpuUsage(c0)
  return { steps, wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 }
}

console.log(`\`node --import tsx bench/block.ts --runs ${o.runs} --seed ${o.seed}\` (impl ${o.impl}, fail-rate ${o.failRate}, platform ${o.platformName})\n`)
console.log('| pass | steps | µs per step (wall) | µs CPU per step (process) | steps per CPU-second |')
console.log('|--:|--:|--:|--:|--:|')
for (let i = 1; i <= Number(values.passes); i++) {
  const r = pass()
  console.log(`| ${i}${i === 1 ? ' (JIT warm-up)' : ''} | ${r.steps} | ${((r.wallMs * 1000) / r.steps).toFixed(1)} | ${((r.cpuMs * 1000) / r.steps).toFixed(1)} | ${Math.round(r.steps / (r.cpuMs / 1000)).toLocaleString('en-US')} |`)
}
