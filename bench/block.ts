// The default campaign's own per-step cost (issue 12): the blocks `luv campaign --runs N` runs
// (generation by fast-check and the guides, the model, the kernel, conformance, every property,
// coverage counting, fail-nth at the default rate), on this thread, as a worker runs them; the
// first pass warms the JIT, the others are measured. Unlike the pre-sampled rows of
// bench/throughput.ts (command lists drawn beforehand, no coverage, no faults), this is the work
// a campaign's worker really does; bench/throughput.ts prints it as its "default campaign" row.
//   node --import tsx bench/block.ts [--runs 800] [--seed 437] [--passes 2] [--fail-rate R] [--impl both|model|kernel] [--platform default]
// Prints one line per pass: steps, µs per step (wall and CPU), steps per CPU-second.
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { runBlock, type BlockTask } from '../src/campaign/block.ts'
import { planBlocks } from '../src/campaign/blocks.ts'
import { resolveCampaignOptions } from '../src/campaign/options.ts'

export interface BlockFlags {
  runs?: string
  seed?: string
  'fail-rate'?: string
  impl?: string
  platform?: string
}

/** The default campaign's blocks for these flags, as the tasks a worker gets (unshrunk, as
 *  bench/campaign.ts runs them), and a function running all of them once; it returns the
 *  steps run. */
export function campaignBlocks(f: BlockFlags): { describe: string; tasks: BlockTask[]; run: () => number } {
  const o = resolveCampaignOptions({
    runs: f.runs ?? '800',
    seed: f.seed ?? '437',
    out: '/nonexistent/luv-bench',
    ...(f['fail-rate'] !== undefined && { 'fail-rate': f['fail-rate'] }),
    ...(f.impl !== undefined && { impl: f.impl }),
    ...(f.platform !== undefined && { platform: f.platform }),
  })
  const tasks: BlockTask[] = [...planBlocks({ seed: o.seed, runs: o.runs })].map((b) => ({
    ...b,
    platforms: o.platforms,
    design: o.design,
    profile: o.profile,
    impl: o.impl,
    properties: o.properties,
    noShrink: true,
    ...(o.failRate && { failRate: o.failRate }),
  }))
  return {
    describe: `--runs ${o.runs} --seed ${o.seed}: impl ${o.impl}, fail-rate ${o.failRate}, platform ${o.platformName}`,
    tasks,
    run: () => {
      let steps = 0
      for (const t of tasks) {
        const r = runBlock(t)
        if (r.error !== undefined) throw new Error(`block ${t.index}: ${r.error}`)
        steps += r.steps
      }
      return steps
    },
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      passes: { type: 'string', default: '2' },
      'fail-rate': { type: 'string' },
      impl: { type: 'string' },
      platform: { type: 'string' },
    },
  })
  const c = campaignBlocks(values)
  console.log(`\`node --import tsx bench/block.ts\` (${c.describe})\n`)
  console.log('| pass | steps | µs per step (wall) | µs CPU per step (process) | steps per CPU-second |')
  console.log('|--:|--:|--:|--:|--:|')
  for (let i = 1; i <= Number(values.passes); i++) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const steps = c.run()
    const wallMs = performance.now() - t0
    const u = process.cpuUsage(c0)
    const cpuMs = (u.user + u.system) / 1000
    console.log(`| ${i}${i === 1 ? ' (JIT warm-up)' : ''} | ${steps} | ${((wallMs * 1000) / steps).toFixed(1)} | ${((cpuMs * 1000) / steps).toFixed(1)} | ${Math.round(steps / (cpuMs / 1000)).toLocaleString('en-US')} |`)
  }
}
