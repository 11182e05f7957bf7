// The default campaign's own per-step cost (issue 12): the blocks `luv campaign --runs N` runs
// (generation by fast-check and the guides, the model, the kernel, conformance, every property,
// coverage counting, fail-nth at the default rate), on this thread, as a worker runs them; the
// first pass warms the JIT, the others are measured. Unlike the pre-sampled rows of
// bench/throughput.ts (command lists drawn beforehand, no coverage, no faults), this is the work
// a campaign's worker really does; bench/throughput.ts prints it as its "default campaign" row.
//   node --import tsx bench/block.ts [--runs 800] [--seed 437] [--passes 2] [--fail-rate R] [--impl both|model|kernel] [--platform default]
// Prints one line per pass: steps, µs per step (wall and CPU, the CPU split into the JS thread and
// V8's background threads: concurrent TurboFan compiles and GC helpers), steps per CPU-second.
import { readdirSync, readFileSync } from 'node:fs'
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

/** CPU seconds so far of each thread of this process, by thread id, from /proc/self/task/<tid>/stat
 *  (utime + stime in clock ticks of 1/100 s; Linux only, empty elsewhere). The JS thread of
 *  the process has tid = pid; worker threads and V8's platform threads (TurboFan's concurrent
 *  compiles, parallel and concurrent GC) are the others. Issue 12: where the second core goes. */
export function threadCpu(): Map<number, number> {
  const m = new Map<number, number>()
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return m
  }
  for (const t of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8')
      // the fields after the command name, which is in parentheses and may hold spaces
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      m.set(Number(t), (Number(f[11]) + Number(f[12])) / 100)
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return m
}

/** CPU seconds each thread spent between two threadCpu() samples (threads born since count from 0). */
export function threadDelta(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  const d = new Map<number, number>()
  for (const [tid, s] of after) d.set(tid, s - (before.get(tid) ?? 0))
  return d
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
  // the process's CPU splits into this (the JS) thread and V8's background threads: a worker's
  // background share is what a second worker on a 2-core machine cannot have (issue 12)
  console.log('| pass | steps | µs per step (wall) | µs CPU per step (process) | of which JS thread | of which V8 background threads | steps per CPU-second |')
  console.log('|--:|--:|--:|--:|--:|--:|--:|')
  for (let i = 1; i <= Number(values.passes); i++) {
    const c0 = process.cpuUsage()
    const th0 = threadCpu()
    const t0 = performance.now()
    const steps = c.run()
    const wallMs = performance.now() - t0
    const u = process.cpuUsage(c0)
    const th = threadDelta(th0, threadCpu())
    const cpuMs = (u.user + u.system) / 1000
    const js = th.get(process.pid)
    const us = (seconds: number) => ((seconds * 1e6) / steps).toFixed(1)
    const split = js === undefined ? '| n/a | n/a' : `| ${us(js)} | ${us([...th.values()].reduce((a, x) => a + x, 0) - js)}`
    console.log(`| ${i}${i === 1 ? ' (JIT warm-up)' : ''} | ${steps} | ${((wallMs * 1000) / steps).toFixed(1)} | ${((cpuMs * 1000) / steps).toFixed(1)} ${split} | ${Math.round(steps / (cpuMs / 1000)).toLocaleString('en-US')} |`)
  }
}
