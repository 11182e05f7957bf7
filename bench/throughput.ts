// Checked throughput (issue 4): steps per second of the model-based property on the default
// platform (2 units, 4 devices, 256 pages) with every property on and the kernel compared
// with the model at every step (impl both), on one core; and the same ops on the bare kernel
// implementation, for the ratio; and the framework floor (bench/floor.ts) in the same run, so
// every figure is also a ratio to it (issue 12 target: impl both ≥ 0.03 × floor). Each row
// says the share of a core it had (process CPU time ÷ wall time) and its steps per CPU-second,
// which other load on the machine moves much less than steps/s. Prints markdown.
//   node --import tsx bench/throughput.ts [--runs 400] [--seed 7] [--floor-seconds 5]

import fc from 'fast-check'
import { parseArgs } from 'node:util'
import { DEFAULT_PLATFORM, resolveDesign } from '../models/index.ts'
import type { Op } from '../models/ops.ts'
import { createExecutor, type ImplChoice } from '../src/check/index.ts'
import { Kernel } from '../src/kernel/index.ts'
import { runCommands, swarmArb } from '../properties/commands.ts'
import { floorRate, measure, type Rate } from './floor.ts'
import { availableParallelism } from 'node:os'
import { campaignBlocks } from './block.ts'

const { values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' }, 'floor-seconds': { type: 'string' }, 'campaign-runs': { type: 'string' } } })
const FLOOR_SECONDS = Number(values['floor-seconds'] ?? 5)
const RUNS = Number(values.runs ?? 400)
const SEED = Number(values.seed ?? 7)
// the default campaign's own blocks (bench/block.ts): generation, guides, coverage and fail-nth
// included, as a worker runs them
const CAMPAIGN_RUNS = values['campaign-runs'] ?? '800'
const campaign = campaignBlocks({ runs: CAMPAIGN_RUNS })
const design = resolveDesign({})

const lists = fc.sample(swarmArb({ maxCommands: 80 }), { seed: SEED, numRuns: RUNS })

/** Run every command list on an executor; returns the ops as resolved, per run, and the time. */
function checked(impl: ImplChoice): Rate & { ops: Op[][] } {
  const ops: Op[][] = []
  const r = measure(() => {
  let steps = 0
  for (const cmds of lists) {
    const exec = createExecutor(DEFAULT_PLATFORM, design, { impl })
    const trace = runCommands(cmds, exec)
    steps += trace.length
    ops.push(trace.map((t) => t.op))
  }
  return steps
  })
  return { ...r, ops }
}

function bare(ops: Op[][]): Rate {
  return measure(() => {
    let steps = 0
    for (const run of ops) {
      const k = new Kernel(DEFAULT_PLATFORM, design)
      for (const op of run) k.apply(op, [])
      steps += run.length
    }
    return steps
  })
}

checked('both') // warm up the JIT on the same work
campaign.run()
const floorBefore = floorRate({ seconds: FLOOR_SECONDS / 2, seed: SEED })
const both = checked('both')
const model = checked('model')
const kernel = bare(both.ops)
const real = measure(campaign.run)
const floorAfter = floorRate({ seconds: FLOOR_SECONDS / 2, seed: SEED + 1000 })
// the floor measured before and after the luv figures, pooled: load that changes during the
// run moves both sides of the ratio
const floor: Rate = {
  steps: floorBefore.steps + floorAfter.steps,
  ms: floorBefore.ms + floorAfter.ms,
  sps: Math.round(((floorBefore.steps + floorAfter.steps) / (floorBefore.ms + floorAfter.ms)) * 1000),
  cpuShare: (floorBefore.cpuShare * floorBefore.ms + floorAfter.cpuShare * floorAfter.ms) / (floorBefore.ms + floorAfter.ms),
}
/** steps per CPU-second of this process */
const perCpu = (x: Rate) => Math.round(x.steps / ((x.ms * x.cpuShare) / 1000))
const fmt = (x: number) => x.toLocaleString('en-US')
const ratio = (x: Rate) => `${(x.sps / floor.sps).toFixed(4)} (CPU: ${(perCpu(x) / perCpu(floor)).toFixed(4)})`
console.log(`## Checked throughput (default platform, every property on, one core)\n`)
console.log(`\`node --import tsx bench/throughput.ts --runs ${RUNS} --seed ${SEED} --floor-seconds ${FLOOR_SECONDS} --campaign-runs ${CAMPAIGN_RUNS}\`, ${availableParallelism()} cores available. The first three rows run ${RUNS} command lists sampled beforehand (no generation, coverage or fail-nth in the timing); the default-campaign row runs the campaign's own blocks (${campaign.describe}) as a worker does, generation, coverage counting and fail-nth included, after a warm-up pass\n`)
console.log('| run | steps | steps/s | share of a core | steps per CPU-second | ÷ floor (steps/s; per CPU-second) |')
console.log('|---|---:|---:|---:|---:|---:|')
const row = (name: string, x: Rate) => console.log(`| ${name} | ${x.steps} | ${fmt(x.sps)} | ${x.cpuShare.toFixed(2)} | ${fmt(perCpu(x))} | ${ratio(x)} |`)
row('model + kernel, conformance and every property (impl both)', both)
row('model and every property (impl model)', model)
row('bare kernel implementation, same ops', kernel)
row('the default campaign\'s blocks (bench/block.ts: impl both, every property, generation, coverage, fail-nth)', real)
row('floor: fast-check commands over a Map model (bench/floor.ts), before and after', floor)
const target = 0.03
const met = both.sps / floor.sps >= target
console.log(`\nchecked (impl both) ÷ bare kernel: ${(both.sps / kernel.sps).toFixed(3)}`)
console.log(`floor ratio: impl both ${(both.sps / floor.sps).toFixed(4)} × floor, impl model ${(model.sps / floor.sps).toFixed(4)} × floor (per CPU-second: ${(perCpu(both) / perCpu(floor)).toFixed(4)}, ${(perCpu(model) / perCpu(floor)).toFixed(4)})`)
console.log(`target impl both ≥ ${target} × floor: ${met ? 'met' : `not met (${(both.sps / floor.sps / target).toFixed(2)} of the target)`} on the sampled lists; the default campaign's blocks ${(real.sps / floor.sps).toFixed(4)} × floor (per CPU-second: ${(perCpu(real) / perCpu(floor)).toFixed(4)}): ${real.sps / floor.sps >= target ? 'met' : `not met (${(real.sps / floor.sps / target).toFixed(2)} of the target)`}`)
