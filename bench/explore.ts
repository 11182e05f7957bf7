// Exploration (issue 13): the documented default scope of `luv explore` on one thread, every
// property on every transition and every transition replayed on the kernel implementation
// (conformance on), then the same search with conformance off, then conformance on with
// worker threads; TLC's figures, where the time goes, and the targets (default scope under
// 5 minutes on one core, >= 100,000 distinct states/min).
//
// Two rates, labelled: per minute of CPU time (process.cpuUsage, all threads of this process:
// the one-core figure for a one-thread run, and for a run with workers the CPU the workers and
// the searching thread used together), and per minute of wall time (what the user waits; with
// workers, the scaling). On a shared machine the wall figure depends on the load, which is
// printed (os.loadavg) before and after each run. Prints markdown.
//   node --import tsx bench/explore.ts [--depth N] [--quick] [--workers 2] [--skip-off]

import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { resolveDesign } from '../models/design.ts'
import { explore, type ExploreResult } from '../src/explore/explore.ts'
import { defaultScope } from '../src/explore/scope.ts'

const { values } = parseArgs({ options: { depth: { type: 'string' }, quick: { type: 'boolean' }, workers: { type: 'string' }, 'skip-off': { type: 'boolean' } } })
const scope = defaultScope()
const depth = values.depth !== undefined ? Number(values.depth) : values.quick ? scope.depth - 1 : scope.depth
const workers = values.workers !== undefined ? Number(values.workers) : 2
const design = resolveDesign({})
const n = (x: number) => Math.round(x).toLocaleString('en-US')
const load = () => loadavg()[0].toFixed(1)

interface Measured {
  name: string
  r: ExploreResult
  wall: number
  cpu: number
  load: string
}

async function measure(name: string, conformance: boolean, w: number): Promise<Measured> {
  const l0 = load()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const r = await explore({ scope, design, depth, conformance, workers: w })
  const wall = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  return { name, r, wall, cpu: (c.user + c.system) / 1e6, load: `${l0} → ${load()}` }
}

// warm-up: the JIT, on a shallow search
await explore({ scope, design, depth: Math.min(2, depth), conformance: true })
const runs: Measured[] = []
runs.push(await measure('conformance on (every property, kernel replay), 1 thread', true, 1))
if (!values['skip-off']) runs.push(await measure('conformance off (model and properties), 1 thread', false, 1))
if (workers > 1) runs.push(await measure(`conformance on, ${workers} worker threads`, true, workers))
const on = runs[0]

console.log(`## Exploration of the default scope\n`)
const flags = [values.depth !== undefined ? ` --depth ${depth}` : values.quick ? ' --quick' : '', values.workers !== undefined ? ` --workers ${workers}` : '', values['skip-off'] ? ' --skip-off' : ''].join('')
console.log(
  `\`node --import tsx bench/explore.ts${flags}\` — the search \`luv explore${depth !== scope.depth ? ` --depth ${depth}` : ''}\` runs; default depth ${scope.depth}, ${scope.init.length} initial states, ${on.r.ops.length} ops. ` +
    `CPU = process.cpuUsage (all threads); wall = elapsed; load = 1-minute load average before → after (2 cores).\n`,
)
console.log('| run | distinct | generated | transitions | depth | CPU s | wall s | distinct/min (CPU) | distinct/min (wall) | load |')
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|---|')
for (const m of runs) {
  const s = m.r.stats
  console.log(`| ${m.name} | ${n(s.distinct)} | ${n(s.generated)} | ${n(s.transitions)} | ${s.depthReached} | ${m.cpu.toFixed(1)} | ${m.wall.toFixed(1)} | ${n((s.distinct / m.cpu) * 60)} | ${n((s.distinct / m.wall) * 60)} | ${m.load} |`)
}
const same = runs.every((m) => m.r.stats.distinct === on.r.stats.distinct && m.r.stats.transitions === on.r.stats.transitions)
console.log(`\nevery run found the same ${n(on.r.stats.distinct)} distinct states and ${n(on.r.stats.transitions)} transitions: ${same ? 'yes' : 'NO'}.`)
const t = on.r.stats.time
const total = Object.values(t).reduce((a, b) => a + b, 0)
const c = on.r.conformance
console.log(
  `\nwhere the time went (conformance on, 1 thread; wall, so inflated under load): ${Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(2)} s (${((100 * v) / total).toFixed(0)}%)`).join(', ')}; ` +
    `kernel: ${n(c.replays)} replays from a fresh machine, ${n(c.fromParent)} kernels forked from the parent's, ${n(c.forks)} forks, ${n(c.undos)} state-changing transitions undone in place, ${n(c.transitions)} transitions compared.`,
)
const w = runs.find((m) => m.name.includes('worker'))
if (w) console.log(`\nworkers: ${workers} threads took ${w.wall.toFixed(1)} s wall against ${on.wall.toFixed(1)} s on one (${(on.wall / w.wall).toFixed(2)}× wall; CPU ${w.cpu.toFixed(1)} s against ${on.cpu.toFixed(1)} s).`)
const rate = (on.r.stats.distinct / on.cpu) * 60
console.log(
  `\ntargets: default scope under 5 minutes on one core: ${on.cpu < 300 ? `met (${on.cpu.toFixed(0)} s CPU)` : `NOT met (${on.cpu.toFixed(0)} s CPU)`}; ` +
    `>= 100,000 distinct states/min (one core, conformance on): ${rate >= 100_000 ? `met (${n(rate)})` : `NOT met (${n(rate)}, ${(rate / 100_000).toFixed(2)}×)`}.`,
)
