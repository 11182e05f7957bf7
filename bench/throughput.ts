// Checked throughput (issue 4): steps per second of the model-based property on the default
// platform (2 units, 4 devices, 256 pages) with every property on and the kernel compared
// with the model at every step (impl both), on one core; and the same ops on the bare kernel
// implementation, for the ratio. Prints markdown.
//   node --import tsx bench/throughput.ts [--runs 400] [--seed 7]

import fc from 'fast-check'
import { parseArgs } from 'node:util'
import { DEFAULT_PLATFORM, resolveDesign } from '../models/index.ts'
import type { Op } from '../models/ops.ts'
import { createExecutor, type ImplChoice } from '../src/check/index.ts'
import { Kernel } from '../src/kernel/index.ts'
import { PropertyFailure, swarmArb, type Real } from '../properties/commands.ts'

const { values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' } } })
const RUNS = Number(values.runs ?? 400)
const SEED = Number(values.seed ?? 7)
const design = resolveDesign({})

const lists = fc.sample(swarmArb({ maxCommands: 80 }), { seed: SEED, numRuns: RUNS })

/** Run every command list on an executor; returns the ops as resolved, per run, and the time. */
function checked(impl: ImplChoice): { ops: Op[][]; steps: number; ms: number } {
  const ops: Op[][] = []
  let steps = 0
  const t0 = performance.now()
  for (const cmds of lists) {
    const exec = createExecutor(DEFAULT_PLATFORM, design, { impl })
    const real: Real = { exec, state: () => exec.modelState(), trace: [] }
    for (const c of cmds as Iterable<fc.Command<object, Real>>) {
      try {
        c.run({}, real)
      } catch (e) {
        if (!(e instanceof PropertyFailure)) throw e
        break
      }
    }
    steps += real.trace.length
    ops.push(real.trace.map((t) => t.op))
  }
  return { ops, steps, ms: performance.now() - t0 }
}

function bare(ops: Op[][]): { steps: number; ms: number } {
  let steps = 0
  const t0 = performance.now()
  for (const run of ops) {
    const k = new Kernel(DEFAULT_PLATFORM, design)
    for (const op of run) k.apply(op, [])
    steps += run.length
  }
  return { steps, ms: performance.now() - t0 }
}

checked('both') // warm up the JIT on the same work
const both = checked('both')
const model = checked('model')
const kernel = bare(both.ops)
const rate = (x: { steps: number; ms: number }) => Math.round((x.steps / x.ms) * 1000)
console.log(`## Checked throughput (default platform, every property on, one core)\n`)
console.log(`\`node --import tsx bench/throughput.ts --runs ${RUNS} --seed ${SEED}\`\n`)
console.log('| run | steps | steps/s |')
console.log('|---|---:|---:|')
console.log(`| model + kernel, conformance and every property (impl both) | ${both.steps} | ${rate(both)} |`)
console.log(`| model and every property (impl model) | ${model.steps} | ${rate(model)} |`)
console.log(`| bare kernel implementation, same ops | ${kernel.steps} | ${rate(kernel)} |`)
console.log(`\nchecked (impl both) ÷ bare kernel: ${(rate(both) / rate(kernel)).toFixed(3)}; target 20,000 checked steps/s: ${rate(both) >= 20000 ? 'met' : `not met (${(rate(both) / 20000).toFixed(2)}×)`}`)
