// The framework's floor (issue 12): fast-check model-based commands (fc.commands + fc.modelRun)
// over a trivial model, a Map checked against a Map, with command lists of up to 80 commands
// generated as luv's are (size 'max'), on the same core. Nothing luv-specific runs, so its
// steps/s is the most any fast-check model-based suite can reach here; luv's throughput is
// quoted as a ratio to it, measured in the same run (the machine is shared: absolute figures
// move with the load, ratios taken in one run much less).
//   node --import tsx bench/floor.ts [--seconds 5] [--seed 7]

import fc from 'fast-check'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

type Model = { m: Map<number, number> }
type Real = { m: Map<number, number>; steps: number }

class SetCmd implements fc.Command<Model, Real> {
  constructor(
    readonly k: number,
    readonly v: number,
  ) {}
  check = () => true
  run(m: Model, r: Real): void {
    m.m.set(this.k, this.v)
    r.m.set(this.k, this.v)
    r.steps++
  }
  toString = () => `set(${this.k}, ${this.v})`
}
class GetCmd implements fc.Command<Model, Real> {
  constructor(readonly k: number) {}
  check = () => true
  run(m: Model, r: Real): void {
    if (m.m.get(this.k) !== r.m.get(this.k)) throw new Error(`get(${this.k}) differs`)
    r.steps++
  }
  toString = () => `get(${this.k})`
}
class DeleteCmd implements fc.Command<Model, Real> {
  constructor(readonly k: number) {}
  check = () => true
  run(m: Model, r: Real): void {
    if (m.m.delete(this.k) !== r.m.delete(this.k)) throw new Error(`delete(${this.k}) differs`)
    r.steps++
  }
  toString = () => `delete(${this.k})`
}
class SizeCmd implements fc.Command<Model, Real> {
  check = () => true
  run(m: Model, r: Real): void {
    if (m.m.size !== r.m.size) throw new Error('size differs')
    r.steps++
  }
  toString = () => 'size()'
}

const key = fc.nat(15)
const commands = fc.commands(
  [
    fc.tuple(key, fc.nat()).map(([k, v]) => new SetCmd(k, v)),
    key.map((k) => new GetCmd(k)),
    key.map((k) => new DeleteCmd(k)),
    fc.constant(new SizeCmd()),
  ],
  { maxCommands: 80, size: 'max' },
)

export interface Rate {
  steps: number
  ms: number
  /** steps per wall-clock second */
  sps: number
  /** CPU time of this process during the run ÷ wall time: the share of a core the run had */
  cpuShare: number
}

/** Measure `f` (which returns the steps it ran): wall time and this process's CPU share. */
export function measure(f: () => number): Rate {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const steps = f()
  const ms = performance.now() - t0
  const c = process.cpuUsage(c0)
  return { steps, ms, sps: Math.round((steps / ms) * 1000), cpuShare: (c.user + c.system) / 1000 / ms }
}

/** The floor: fast-check model-based runs for about `seconds`, in rounds of 200 runs. */
export function floorRate(o: { seconds?: number; seed?: number } = {}): Rate {
  const budget = (o.seconds ?? 5) * 1000
  let seed = o.seed ?? 7
  const round = () => {
    const real: Real = { m: new Map(), steps: 0 }
    fc.assert(
      fc.property(commands, (cmds) => {
        fc.modelRun(() => {
          real.m = new Map()
          return { model: { m: new Map() }, real }
        }, cmds)
      }),
      { seed: seed++, numRuns: 200 },
    )
    return real.steps
  }
  round() // JIT warm-up
  const t0 = performance.now()
  return measure(() => {
    let steps = 0
    while (performance.now() - t0 < budget) steps += round()
    return steps
  })
}

/** The floor bench/run.ts measured for this run (LUV_BENCH_FLOOR, JSON of a Rate), or one
 *  measured now for `seconds`: a bench run alone still quotes its ratio. */
export function runFloor(seconds = 3): Rate & { from: 'npm run bench' | 'this bench' } {
  const env = process.env.LUV_BENCH_FLOOR
  if (env) return { ...(JSON.parse(env) as Rate), from: 'npm run bench' }
  return { ...floorRate({ seconds }), from: 'this bench' }
}

/** Steps per CPU-second of a Rate (load on the machine moves it much less than steps/s). */
export const perCpuSecond = (r: Rate): number => Math.round(r.steps / ((r.ms * r.cpuShare) / 1000))

/** `1 of 2 cores, 0.97 of a core` for a one-thread figure. */
export const coresText = (r: Rate): string => `${availableParallelism()} cores available, this run had ${r.cpuShare.toFixed(2)} of a core`

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, seed: { type: 'string' } } })
  const r = floorRate({ seconds: Number(values.seconds ?? 5), seed: Number(values.seed ?? 7) })
  console.log('## Framework floor (fast-check model-based commands over a Map, lists of up to 80, one core)\n')
  console.log(`\`node --import tsx bench/floor.ts --seconds ${values.seconds ?? 5}\`\n`)
  console.log('| run | steps | steps/s | cores |')
  console.log('|---|---:|---:|---|')
  console.log(`| floor: fc.commands + fc.modelRun, Map model | ${r.steps} | ${r.sps.toLocaleString('en-US')} | ${coresText(r)} |`)
}
