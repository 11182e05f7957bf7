// Exploration (issue 13): the documented default scope of `luv explore` on one core, every
// property on every transition and every transition replayed on the kernel implementation
// (conformance on), then the same search with conformance off; TLC's figures, where the time
// goes, and the targets (default scope under 5 minutes, >= 100,000 distinct states/min).
// Reports wall-clock and CPU time of this process: on a shared machine the CPU figure is the
// one-core rate. Prints markdown.
//   node --import tsx bench/explore.ts [--depth N] [--quick]

import { parseArgs } from 'node:util'
import { resolveDesign } from '../models/design.ts'
import { explore, type ExploreResult } from '../src/explore/explore.ts'
import { defaultScope } from '../src/explore/scope.ts'

const { values } = parseArgs({ options: { depth: { type: 'string' }, quick: { type: 'boolean' } } })
const scope = defaultScope()
const depth = values.depth !== undefined ? Number(values.depth) : values.quick ? scope.depth - 1 : scope.depth
const design = resolveDesign({})
const n = (x: number) => Math.round(x).toLocaleString('en-US')

async function measure(conformance: boolean): Promise<{ r: ExploreResult; wall: number; cpu: number }> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const r = await explore({ scope, design, depth, conformance })
  const wall = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  return { r, wall, cpu: (c.user + c.system) / 1e6 }
}

// warm-up: the JIT, on a shallow search
await explore({ scope, design, depth: Math.min(2, depth), conformance: true })
const on = await measure(true)
const off = await measure(false)

console.log(`## Exploration of the default scope (one core)\n`)
console.log(`\`node --import tsx bench/explore.ts${values.depth !== undefined ? ` --depth ${depth}` : values.quick ? ' --quick' : ''}\` — the search \`luv explore${depth !== scope.depth ? ` --depth ${depth}` : ''}\` runs; default depth ${scope.depth}, ${scope.init.length} initial states, ${on.r.ops.length} ops.\n`)
console.log('| run | distinct | generated | transitions | depth | wall s | CPU s | distinct/min (CPU) | distinct/min (wall) |')
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|')
for (const [name, m] of [['conformance on (every property, kernel replay)', on], ['conformance off (model and properties)', off]] as const) {
  const s = m.r.stats
  console.log(`| ${name} | ${n(s.distinct)} | ${n(s.generated)} | ${n(s.transitions)} | ${s.depthReached} | ${m.wall.toFixed(1)} | ${m.cpu.toFixed(1)} | ${n((s.distinct / m.cpu) * 60)} | ${n((s.distinct / m.wall) * 60)} |`)
}
const t = on.r.stats.time
const total = Object.values(t).reduce((a, b) => a + b, 0)
console.log(`\nwhere the time went (conformance on, wall s): ${Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(2)} (${((100 * v) / total).toFixed(0)}%)`).join(', ')}; kernel: ${n(on.r.conformance.replays)} replays, ${n(on.r.conformance.forks)} forks, ${n(on.r.conformance.transitions)} transitions compared.`)
const rate = (on.r.stats.distinct / on.cpu) * 60
console.log(`\ntargets: default scope under 5 minutes on one core: ${on.cpu < 300 ? `met (${on.cpu.toFixed(0)} s CPU)` : `NOT met (${on.cpu.toFixed(0)} s CPU)`}; >= 100,000 distinct states/min: ${rate >= 100_000 ? `met (${n(rate)})` : `NOT met (${n(rate)}, ${(rate / 100_000).toFixed(2)}×)`}.`)
