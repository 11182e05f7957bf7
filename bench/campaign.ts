// Campaign worker scaling: the same block set (same seed and --runs) on 1 and 2 workers.
//   node --import tsx bench/campaign.ts [--runs 1600] [--impl both|model] [--profile P] [--workers 1,2]
// (--impl both, the default, is the default campaign's work: the figure; until session 7
// the default was model, which has less V8 background work per step and scales differently)
// Prints a markdown table: steps/s per worker count and the speed-up over one worker (target
// ≥ 1.8× for 2 workers on a machine with 2 free cores). Both runs must cover the same blocks
// and do the same steps (the campaign is deterministic); the bench checks that too.
// Wall-clock figures include starting the workers; other load on the machine lowers them (the
// table shows the cores the run really had). Failures are reported unshrunk here: shrinking a
// counterexample runs on one worker and would turn the figure into a shrinking benchmark.
//
// The CPU is split per thread (/proc/self/task): the workers' JS threads, and V8's background
// (platform) threads, which run TurboFan's concurrent compiles and the GC's parallel and
// concurrent helpers for every isolate. One worker's background threads use part of a second
// core; on a 2-core machine a second worker cannot have that part. So the last lines print the
// speed-up that CPU per step predicts on free cores (2 x one worker's JS-thread CPU per step
// over two workers' total CPU per step): unlike steps/s it holds on a loaded machine. Session 6
// measured (bench/block.ts, per 800-run pass of one worker): background 34% of the CPU in the
// first pass, 25% in the second, 17-19% from the third on (about half of it GC helpers: 13 µs
// per step with --single-threaded-gc, against 25-30). Each worker pays the warm-up again.

import { availableParallelism, loadavg } from 'node:os'
import { Worker } from 'node:worker_threads'
import { parseArgs } from 'node:util'
import { runCampaign } from '../src/campaign/campaign.ts'
import { resolveCampaignOptions } from '../src/campaign/options.ts'
import { poolRunner } from '../src/campaign/pool.ts'
import { threadCpu, threadDelta } from './block.ts'
import { perCpuSecond, runFloor } from './floor.ts'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1600' },
    impl: { type: 'string', default: 'both' },
    profile: { type: 'string', default: 'lpc2025' },
    workers: { type: 'string', default: '1,2' },
    seed: { type: 'string', default: '437' },
  },
})
const counts = values.workers.split(',').map(Number)
const command = `node --import tsx bench/campaign.ts --runs ${values.runs} --impl ${values.impl} --profile ${values.profile} --seed ${values.seed} --workers ${values.workers}`

interface Row {
  workers: number
  blocks: string
  runs: number
  steps: number
  seconds: number
  /** CPU seconds of all threads: cpu / seconds shows how many cores the run really had */
  cpu: number
  /** of which the workers' JS threads, and the process's other threads except the main one (V8's
   *  platform threads: concurrent TurboFan compiles, GC helpers); undefined without /proc */
  workerCpu?: number
  backgroundCpu?: number
  sps: number
  /** load average (1 min) when the run started */
  load: number
}

const rows: Row[] = []
let failures: string[] = []
for (const w of counts) {
  const o = resolveCampaignOptions({
    runs: values.runs,
    impl: values.impl,
    profile: values.profile,
    seed: values.seed,
    workers: String(w),
    out: '/nonexistent/luv-bench', // nothing is written
  })
  o.shrink = false
  const load = loadavg()[0]
  const th0 = threadCpu()
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  // the campaign's own pool, closed only after the threads' CPU is read (a closed pool's
  // threads are gone from /proc)
  const runner = poolRunner(w)
  const { summary } = await runCampaign(o, {}, { runner })
  const seconds = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  const th = threadDelta(th0, threadCpu())
  await runner.close()
  const cpu = (c.user + c.system) / 1e6
  const split = splitThreads(th0, th, w)
  rows.push({ workers: w, blocks: summary.blocks.indices, runs: summary.runs, steps: summary.steps, seconds, cpu, sps: summary.steps / seconds, load, ...split })
  failures = summary.failures.map((f) => `${f.property} (block ${f.blocks[0]})`)
}

/** The threads' CPU split: the `w` busiest threads born during the run are the pool's workers;
 *  the rest but the main thread (tid = pid) are V8's platform threads (and libuv's). */
function splitThreads(before: Map<number, number>, d: Map<number, number>, w: number): { workerCpu?: number; backgroundCpu?: number } {
  if (!d.has(process.pid)) return {}
  const born = [...d].filter(([tid]) => !before.has(tid)).sort((a, b) => b[1] - a[1])
  const workers = new Set(born.slice(0, w).map(([tid]) => tid))
  let workerCpu = 0
  let backgroundCpu = 0
  for (const [tid, s] of d) {
    if (workers.has(tid)) workerCpu += s
    else if (tid !== process.pid) backgroundCpu += s
  }
  return { workerCpu, backgroundCpu }
}

const base = rows[0]
const floor = runFloor()

/** The machine's own ceiling for this figure: the framework floor (a tight fast-check loop that
 *  allocates little and has little code to compile) run on 1, then n worker threads at once, for
 *  the same seconds each; steps/s summed over the threads. What the floor cannot reach over n
 *  threads, luv's campaign cannot either. */
async function floorOnWorkers(n: number, seconds: number): Promise<number> {
  const rates = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise<{ sps: number }>((resolve, reject) => {
        const w = new Worker(new URL('./floor-worker.mjs', import.meta.url), { workerData: { seconds, seed: 7 + i } })
        w.once('message', resolve)
        w.once('error', reject)
      }),
    ),
  )
  return rates.reduce((a, r) => a + r.sps, 0)
}
const ceiling = counts.length > 1 ? { one: await floorOnWorkers(1, 6), many: await floorOnWorkers(counts[1], 6) } : undefined
/** µs of CPU (every thread of the process) per step: other load moves it much less than steps/s */
const cpuPerStep = (r: Row) => (r.cpu * 1e6) / r.steps
const us = (s: number | undefined, r: Row) => (s === undefined ? 'n/a' : fmt((s * 1e6) / r.steps))
const same = rows.every((r) => r.blocks === base.blocks && r.steps === base.steps && r.runs === base.runs)
const fmt = (x: number) => Math.round(x).toLocaleString('en-US')
const out = [
  '## luv campaign: worker scaling',
  '',
  `\`${command}\``,
  '',
  `${availableParallelism()} cores available, load average ${loadavg()[0].toFixed(2)} before the last run.`,
  '',
  '| workers | blocks | runs | steps | seconds | load at start | CPU seconds | cores used | µs CPU per step | of which workers\' JS threads | of which V8 background threads | CPU per step vs 1st | steps/s | ÷ floor | speed-up |',
  '|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ...rows.map(
    (r) =>
      `| ${r.workers} | ${r.blocks} | ${fmt(r.runs)} | ${fmt(r.steps)} | ${r.seconds.toFixed(2)} | ${r.load.toFixed(2)} | ${r.cpu.toFixed(2)} | ${(r.cpu / r.seconds).toFixed(2)} | ${fmt(cpuPerStep(r))} | ${us(r.workerCpu, r)} | ${us(r.backgroundCpu, r)} | ${(cpuPerStep(r) / cpuPerStep(base)).toFixed(2)}× | ${fmt(r.sps)} | ${(r.sps / floor.sps).toFixed(4)} | ${(r.sps / base.sps).toFixed(2)}× |`,
  ),
  '',
  `Floor (bench/floor.ts, measured by ${floor.from}): ${fmt(floor.sps)} steps/s, ${fmt(perCpuSecond(floor))} per CPU-second, ${floor.cpuShare.toFixed(2)} of a core.`,
  '',
  ...(failures.length
    ? [`Failures found (reported unshrunk, later blocks no longer check them): ${failures.join(', ')}.`, '']
    : []),
  same ? 'Same block set, runs and steps on every worker count.' : '**The runs differ: the campaign is not deterministic across worker counts.**',
  'cores used = CPU seconds / seconds: below the worker count, other processes held the cores.',
  ...(rows.length > 1 ? [`Speed-up of ${rows[1].workers} workers over ${base.workers}: ${(rows[1].sps / base.sps).toFixed(2)}× (target ≥ 1.8× for 2 workers).`] : []),
  // on a machine with exactly `n` free cores: one worker runs at its JS thread's pace (its V8
  // background threads use another core), n workers share the n cores with all their
  // threads; both from CPU per step, which other load moves much less than steps/s
  ...(rows.length > 1 && base.workers === 1 && base.workerCpu !== undefined && rows[1].workers === availableParallelism()
    ? [
        `From CPU per step, on ${rows[1].workers} free cores: 1 worker's pace is its JS thread (${us(base.workerCpu, base)} µs per step; its V8 background threads, ${us(base.backgroundCpu, base)} µs per step, run on another core), ${rows[1].workers} workers share the cores with all their threads (${fmt(cpuPerStep(rows[1]))} µs per step): expected speed-up ${((rows[1].workers * base.workerCpu) / base.steps / (rows[1].cpu / rows[1].steps)).toFixed(2)}×.`,
      ]
    : []),
  ...(ceiling
    ? [
        `The machine's ceiling, measured right after: the framework floor on 1 worker thread ${fmt(ceiling.one)} steps/s, on ${counts[1]} at once ${fmt(ceiling.many)} steps/s summed: **${(ceiling.many / ceiling.one).toFixed(2)}×** (6 s each). luv's speed-up above is ${((rows[1].sps / base.sps / (ceiling.many / ceiling.one)) * 100).toFixed(0)}% of it.`,
      ]
    : []),
]
console.log(out.join('\n'))
if (!same) process.exitCode = 1
