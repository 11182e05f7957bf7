// Profile summary (issue 12): where a checked step's time goes. Runs the default campaign's
// work (its blocks, as a worker runs them: impl both, every property, coverage counted, fail-nth) on this
// thread under V8's sampling profiler (node:inspector, no external tool), then sums self time
// by area: each models/ file, the properties (src/check/properties), conformance, the kernel
// implementation, immer, the generators (properties/*), fast-check, GC, the rest.
//   node --import tsx bench/profile.ts [--runs 200] [--seed 437] [--top 0] [--area src/kernel]
// (--area: the top functions of one area only, by file and line)
// Failures found are reported unshrunk (shrinking would profile the shrinker, not a step).

import { Session } from 'node:inspector'
import { parseArgs } from 'node:util'
import { runBlock } from '../src/campaign/block.ts'
import { campaignBlocks } from './block.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' }, seed: { type: 'string', default: '437' }, top: { type: 'string', default: '0' }, area: { type: 'string' } } })

interface CallFrame {
  functionName: string
  url: string
  lineNumber?: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const session = new Session()
session.connect()
const post = <T>(method: string, params?: object) =>
  new Promise<T>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))))

/** The area a function's self time counts for. */
export function area(f: CallFrame): string {
  const url = f.url
  if (f.functionName === '(garbage collector)') return 'GC'
  if (f.functionName === '(program)' || f.functionName === '(idle)') return 'V8 (program, idle)'
  if (/node_modules\/immer\//.test(url)) return 'immer'
  if (/node_modules\/fast-check\//.test(url)) return 'fast-check'
  if (/node_modules\//.test(url)) return `other libraries (${/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1]})`
  const m = /\/(models\/[^/?]+)/.exec(url)
  if (m && !/\/src\//.test(url.slice(0, url.indexOf(m[1])))) return m[1]
  if (/\/src\/check\/properties\//.test(url)) return 'src/check/properties'
  if (/\/src\/check\/conformance\.ts/.test(url)) return 'src/check/conformance'
  if (/\/src\/check\//.test(url)) return 'src/check (other)'
  if (/\/src\/kernel\//.test(url)) return 'src/kernel'
  if (/\/src\/coverage\//.test(url)) return 'src/coverage (coverage counting)'
  if (/\/properties\//.test(url)) return `generators ${/(properties\/[^/?]+)/.exec(url)?.[1]}`
  if (/\/src\//.test(url)) return `src (other: ${/\/src\/([^/]+)/.exec(url)?.[1]})`
  if (url === '' || url.startsWith('node:')) return 'Node built-ins (deep equality, Map/Set, …)'
  return 'other'
}

// the campaign's own block tasks (bench/block.ts), fail-nth at the default rate included
const blocks = campaignBlocks({ runs: values.runs, seed: values.seed }).tasks
// JIT warm-up on the first block, unprofiled
runBlock(blocks[0])

await post('Profiler.enable')
await post('Profiler.setSamplingInterval', { interval: 200 })
await post('Profiler.start')
const t0 = performance.now()
let steps = 0
for (const b of blocks) steps += runBlock(b).steps
const ms = performance.now() - t0
const { profile } = await post<{ profile: Profile }>('Profiler.stop')
session.disconnect()

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<string, number>()
const fns = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const n = byId.get(profile.samples[i])!
  const dt = profile.timeDeltas[i] ?? 0
  total += dt
  const a = area(n.callFrame)
  self.set(a, (self.get(a) ?? 0) + dt)
  // --area NAME: that area's functions by file and line, instead of by area
  const where = values.area !== undefined ? ` (${/[^/]*\/[^/]+$/.exec(n.callFrame.url)?.[0] ?? n.callFrame.url}:${(n.callFrame.lineNumber ?? 0) + 1})` : ''
  if (values.area !== undefined && !a.startsWith(values.area)) continue
  const k = `${a}: ${n.callFrame.functionName || '(anonymous)'}${where}`
  fns.set(k, (fns.get(k) ?? 0) + dt)
}
const us = (x: number) => ((x / steps) * (ms / (total / 1000))).toFixed(1)

console.log(`## Profile summary: where a checked step's time goes\n`)
console.log(`\`node --import tsx bench/profile.ts --runs ${values.runs} --seed ${values.seed}\`: the default campaign's ${blocks.length} blocks (impl both, every property, coverage counted, fail-nth at the default rate, default platform) on one thread under the V8 sampling profiler (node:inspector); ${steps.toLocaleString('en-US')} steps in ${(ms / 1000).toFixed(1)} s; self time by area.\n`)
console.log('| area | self time | µs per step |')
console.log('|---|--:|--:|')
for (const [a, t] of [...self].sort((x, y) => y[1] - x[1])) console.log(`| ${a} | ${((100 * t) / total).toFixed(1)}% | ${us(t)} |`)
const top = Number(values.top)
if (top > 0) {
  console.log(`\nTop ${top} functions by self time:\n`)
  console.log('| function | self time |')
  console.log('|---|--:|')
  for (const [k, t] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`| ${k.replace(/\|/g, '\\|')} | ${((100 * t) / total).toFixed(1)}% |`)
}
