// Coverage in model terms: what a campaign or an exploration reached, counted in the words of
// the model rather than lines of code —
//   * (op, result) pairs: `IOMMU_DESTROY EBUSY`, `DMA fault`, `KEXEC ok`;
//   * (op, design option) pairs: the op ran under a design holding that option
//     (`IOMMU_HWPT_LU_SET_PRESERVE markSemantics=flag`): which rules of which posted version
//     a campaign exercised; axes and options are read from models/design.ts at run time;
//   * per-device lifecycle states and the transitions between them (model-terms.ts);
//   * LUO session states and their transitions.
// Counts are steps (a campaign) or explored transitions / distinct states (an exploration).
// CoverageData is plain JSON: summary.json carries it, `luv merge` adds shards' together.

import { z } from 'zod'
import { AXES, AXIS_NAMES, type Design } from '../../models/design.ts'
import { OP_NAMES, type Op, type Result } from '../../models/ops.ts'
import type { State } from '../../models/state.ts'
import type { Executor } from '../check/executor.types.ts'
import { DOCUMENTED_ERRNOS, notReachedVerdict } from '../../properties/errnos.ts'
import { DEVICE_STATES, SESSION_STATES, deviceStates, sessionStates } from './model-terms.ts'
import { ARG_CLASSES, SHAPES, SHAPE_NAMES, argClasses, stepShapes } from './shapes.ts'
import { joined } from './keys.ts'

export const COVERAGE_FORMAT = 'luv-coverage'

const counts = z.record(z.string().max(300), z.number().int().min(0), { error: 'expected an object of counts' })
/** summary.json's `coverage`, as `luv merge` reads it back (shapes and args: optional, older
 *  summaries lack them). */
export const coverageSchema = z.object({
  format: z.literal(COVERAGE_FORMAT, { error: `expected "${COVERAGE_FORMAT}"` }),
  ops: counts,
  design: counts,
  devices: counts,
  deviceTransitions: counts,
  sessions: counts,
  sessionTransitions: counts,
  shapes: counts.optional(),
  args: counts.optional(),
})

export interface CoverageData {
  format: typeof COVERAGE_FORMAT
  /** `OP ok` / `OP <ERRNO>` / `DMA fault` -> steps */
  ops: Record<string, number>
  /** `OP axis=option` -> steps */
  design: Record<string, number>
  /** device lifecycle state -> device-steps (a step counts each device once) */
  devices: Record<string, number>
  /** `from -> to` -> times a device moved so */
  deviceTransitions: Record<string, number>
  sessions: Record<string, number>
  sessionTransitions: Record<string, number>
  /** sharing shape (shapes.ts SHAPES) -> steps that showed it; absent in older summaries */
  shapes?: Record<string, number>
  /** `OP.arg class` (shapes.ts ARG_CLASSES) -> steps; absent in older summaries */
  args?: Record<string, number>
}

/** A state's lifecycle labels (model-terms.ts), per device in platform order and per session. */
export interface Labels {
  devices: string[]
  sessions: Map<string, string>
}

export const resultKey = (op: Op['op'], r: Result): string => joined(op, 'errno' in r ? r.errno : 'fault' in r ? 'fault' : 'ok')

const bump = (m: Record<string, number>, k: string, n = 1) => void (m[k] = (m[k] ?? 0) + n)

export function emptyCoverage(): CoverageData {
  return { format: COVERAGE_FORMAT, ops: {}, design: {}, devices: {}, deviceTransitions: {}, sessions: {}, sessionTransitions: {}, shapes: {}, args: {} }
}

type RecordKey = (typeof RECORD_KEYS)[number]
/** The counters while counting: a Map per record (a step bumps a few keys of each; Maps take
 *  new string keys faster than objects in dictionary mode), made into CoverageData at data(). */
type Counters = Record<RecordKey, Map<string, number>>
const counters = (): Counters => ({
  ops: new Map(),
  design: new Map(),
  devices: new Map(),
  deviceTransitions: new Map(),
  sessions: new Map(),
  sessionTransitions: new Map(),
  shapes: new Map(),
  args: new Map(),
})
const inc = (m: Map<string, number>, k: string, n = 1) => void m.set(k, (m.get(k) ?? 0) + n)

/** Accumulates coverage step by step. (op, design) pairs are counted per op and expanded
 *  over the design's axes once, at `data()`: a step costs one counter, not one per axis. */
export class Coverage {
  private c = counters()
  private perDesign = new Map<string, { design: Design; ops: Map<string, number> }>()
  /** the last design counted and its per-op counters (a run keeps its design) */
  private lastDesign?: { design: Design; ops: Map<string, number> }

  /** The labels of a run's first state (a state no step led to). */
  start(s: State): void {
    for (const l of deviceStates(s)) inc(this.c.devices, l)
    for (const l of sessionStates(s).values()) inc(this.c.sessions, l)
  }

  /** One step: prev --op/result--> next. Returns next's labels (pass them as the next
   *  step's `prevLabels` to save recomputing them). */
  step(prev: State, op: Op, result: Result, next: State, prevLabels?: Labels): Labels {
    inc(this.c.ops, resultKey(op.op, result))
    // (index loops: most steps have none or one, and an iterator per list would cost more)
    const args = argClasses(op)
    for (let i = 0; i < args.length; i++) inc(this.c.args, args[i])
    const shapes = stepShapes(prev, op, result, next)
    for (let i = 0; i < shapes.length; i++) inc(this.c.shapes, shapes[i])
    inc(this.opsOf(prev.design), op.op)
    return this.states(prev, next, prevLabels)
  }

  private opsOf(design: Design): Map<string, number> {
    const last = this.lastDesign
    if (last !== undefined && last.design === design) return last.ops
    const key = designKey(design)
    let pd = this.perDesign.get(key)
    if (!pd) this.perDesign.set(key, (pd = { design, ops: new Map() }))
    this.lastDesign = { design, ops: pd.ops }
    return pd.ops
  }

  /** Lifecycle labels of `next` and the transitions from `prev`'s. */
  states(prev: State, next: State, prevLabels?: Labels): Labels {
    const before = prevLabels ?? { devices: deviceStates(prev), sessions: sessionStates(prev) }
    // the labels read only these parts of a state (model-terms.ts); the model shares a part a
    // step did not change, so the same parts give the same labels (issue 12: no re-walk)
    // ('finished' and 'released' are read from the step before, so labels holding them are not reused)
    const reusable = !before.devices.includes('finished') && !hasRemovalLabel(before.sessions)
    const same = reusable && (next === prev || (next.devices === prev.devices && next.files === prev.files && next.groups === prev.groups && next.domains === prev.domains && next.luo === prev.luo && next.boot === prev.boot))
    const devs = same ? before.devices : deviceStates(next, prev)
    const c = this.c
    for (let i = 0; i < devs.length; i++) {
      const l = devs[i]
      inc(c.devices, l)
      if (l !== before.devices[i]) inc(c.deviceTransitions, joined(before.devices[i], l, ' -> '))
    }
    const sess = same ? before.sessions : sessionStates(next, prev)
    for (const [name, l] of sess) {
      inc(c.sessions, l)
      const was = before.sessions.get(name)
      if (l !== was) inc(c.sessionTransitions, joined(was ?? 'none', l, ' -> '))
    }
    return { devices: devs, sessions: sess }
  }

  /** Count a state's labels once (exploration: per distinct state). */
  visit(s: State): void {
    this.start(s)
  }

  /** An op result seen without its states (the exploration's self-loops). */
  result(design: Design, op: Op['op'], r: Result): void {
    inc(this.c.ops, resultKey(op, r))
    inc(this.opsOf(design), op)
  }

  /** Add another accumulator's counts (a block sums its runs so; one `data()` at the end
   *  sorts and expands once, not once per run). */
  add(o: Coverage): void {
    for (const k of RECORD_KEYS) for (const [key, n] of o.c[k]) inc(this.c[k], key, n)
    for (const [key, { design, ops }] of o.perDesign) {
      let pd = this.perDesign.get(key)
      if (!pd) this.perDesign.set(key, (pd = { design, ops: new Map() }))
      for (const [op, n] of ops) pd.ops.set(op, (pd.ops.get(op) ?? 0) + n)
    }
  }

  /** The counts as CoverageData, every record sorted by key. `{ sorted: false }`: in counting
   *  order, for counts that go to mergeCoverage, which sorts (a campaign block; issue 12). */
  data(o: { sorted?: boolean } = {}): CoverageData {
    const d = emptyCoverage()
    for (const k of RECORD_KEYS) for (const [key, n] of this.c[k]) bump(d[k]!, key, n)
    for (const { design, ops } of this.perDesign.values()) {
      const options = designOptions(design)
      for (const [op, n] of ops) for (const opt of options) bump(d.design, joined(op, opt), n)
    }
    return o.sorted === false ? d : sortData(d)
  }
}

/** A session label read from the step before (the session is gone from the state). */
function hasRemovalLabel(sessions: ReadonlyMap<string, string>): boolean {
  for (const l of sessions.values()) if (l === 'finished' || l === 'released') return true
  return false
}

const RECORD_KEYS = ['ops', 'design', 'devices', 'deviceTransitions', 'sessions', 'sessionTransitions', 'shapes', 'args'] as const

const designKeys = new WeakMap<Design, string>()
/** A design's axis values as one key, made once per design object (a run keeps its design). */
const designKey = (d: Design): string => {
  let k = designKeys.get(d)
  if (k === undefined) designKeys.set(d, (k = AXIS_NAMES.map((a) => d[a]).join('|')))
  return k
}

const optionLists = new WeakMap<Design, readonly string[]>()
/** A design's `axis=option` words, in AXIS_NAMES order, made once per design object. */
const designOptions = (d: Design): readonly string[] => {
  let l = optionLists.get(d)
  if (l === undefined) optionLists.set(d, (l = AXIS_NAMES.map((a) => `${a}=${d[a]}`)))
  return l
}

function sortRecord(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

function sortData(d: CoverageData): CoverageData {
  return {
    format: COVERAGE_FORMAT,
    ops: sortRecord(d.ops),
    design: sortRecord(d.design),
    devices: sortRecord(d.devices),
    deviceTransitions: sortRecord(d.deviceTransitions),
    sessions: sortRecord(d.sessions),
    sessionTransitions: sortRecord(d.sessionTransitions),
    shapes: sortRecord(d.shapes ?? {}),
    args: sortRecord(d.args ?? {}),
  }
}

/** Sum coverage records (shards, blocks). Missing inputs count as empty. */
export function mergeCoverage(list: readonly (CoverageData | undefined)[]): CoverageData {
  const out = emptyCoverage()
  for (const c of list) {
    if (!c) continue
    for (const k of RECORD_KEYS)
      for (const [key, n] of Object.entries(c[k] ?? {})) bump(out[k]!, key, n)
  }
  return sortData(out)
}

// ---------------------------------------------------------------- what could be reached

/** The (op, result) universe: each op's `ok` (DMA's `fault` too) and its documented errnos
 *  (properties/errnos.ts), for the "not reached" column. */
export function opUniverse(): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (const op of OP_NAMES) m.set(op, ['ok', ...(op === 'DMA' ? ['fault'] : []), ...(DOCUMENTED_ERRNOS[op] ?? [])])
  return m
}

/** Every `axis=option` of models/design.ts. */
export function optionUniverse(): string[] {
  return AXIS_NAMES.flatMap((a) => (AXES[a] as readonly string[]).map((o) => `${a}=${o}`))
}

// ---------------------------------------------------------------- rendering

const n = (x: number) => x.toLocaleString('en-US')

/** The coverage section of summary.md (a campaign) or explore.md (an exploration), as lines. */
export function renderCoverageMd(c: CoverageData | undefined, unit = 'steps'): string[] {
  if (!c) return []
  const L: string[] = ['## Coverage in model terms', '']
  // (op, result)
  const universe = opUniverse()
  const seen = new Map<string, Map<string, number>>()
  for (const [k, v] of Object.entries(c.ops)) {
    const [op, r] = k.split(' ')
    if (!seen.has(op)) seen.set(op, new Map())
    seen.get(op)!.set(r, v)
  }
  let reached = 0
  let total = 0
  const rows: string[] = []
  for (const [op, results] of universe) {
    const got = seen.get(op) ?? new Map<string, number>()
    const extra = [...got.keys()].filter((r) => !results.includes(r))
    const all = [...results, ...extra]
    total += results.length
    reached += results.filter((r) => got.has(r)).length
    const hit = all.filter((r) => got.has(r)).map((r) => `${r} ${n(got.get(r)!)}`)
    // an unreached pair with a known reason says which kind (properties/errnos.ts NOT_REACHED:
    // unreachable under the default design, a generator hole, or a platform limit)
    const miss = results.filter((r) => !got.has(r)).map((r) => {
      const verdict = notReachedVerdict(op, r)
      return verdict !== undefined ? `${r} (${verdict})` : r
    })
    rows.push(`| ${op} | ${hit.join(', ') || '—'} | ${miss.join(', ') || '—'} |`)
  }
  L.push(`### (op, result): ${reached} of ${total} documented pairs reached`, '', `Counts are ${unit}. Not reached: documented results (properties/errnos.ts) no ${unit === 'steps' ? 'step' : 'transition'} returned; in brackets, the reason properties/errnos.ts NOT_REACHED gives (unreachable: not under the default design; generator hole: the generators never draw it; platform: not on these machines).`, '')
  L.push('| op | reached | not reached |', '|---|---|---|', ...rows, '')
  // (op, design option)
  const byOption = new Map<string, { steps: number; ops: Set<string> }>()
  for (const [k, v] of Object.entries(c.design)) {
    const [op, opt] = k.split(' ')
    const e = byOption.get(opt) ?? { steps: 0, ops: new Set<string>() }
    e.steps += v
    e.ops.add(op)
    byOption.set(opt, e)
  }
  const opts = optionUniverse()
  const ran = opts.filter((o) => byOption.has(o)).length
  L.push(`### (op, design option): ${ran} of ${opts.length} options exercised`, '', `An op counts under every option of the design it ran on. Options never run are rules of a posted version this report says nothing about.`, '')
  L.push(`| option | ${unit} | ops run under it | ops never run under it |`, '|---|--:|--:|---|')
  for (const o of opts) {
    const e = byOption.get(o)
    const never = OP_NAMES.filter((op) => !e?.ops.has(op))
    L.push(`| ${o} | ${n(e?.steps ?? 0)} | ${e?.ops.size ?? 0} | ${e ? (never.length ? never.join(', ') : '—') : 'all'} |`)
  }
  L.push('')
  // lifecycles
  const states = (title: string, names: readonly string[], counts: Record<string, number>, trans: Record<string, number>) => {
    const hit = names.filter((s) => counts[s] !== undefined).length
    L.push(`### ${title}: ${hit} of ${names.length} states reached`, '', '| state | count |', '|---|--:|')
    for (const s of names) L.push(`| ${s} | ${counts[s] === undefined ? 'not reached' : n(counts[s])} |`)
    L.push('', '| transition | count |', '|---|--:|')
    const ts = Object.entries(trans)
    for (const [t, v] of ts) L.push(`| ${t} | ${n(v)} |`)
    if (!ts.length) L.push('| (none) | |')
    L.push('')
  }
  states('Device lifecycle', DEVICE_STATES, c.devices, c.deviceTransitions)
  states('LUO sessions', SESSION_STATES, c.sessions, c.sessionTransitions)
  L.push(...renderShapesMd(c, unit))
  return L
}

/** The sharing-shape and argument-class tables (src/coverage/shapes.ts). */
function renderShapesMd(c: CoverageData, unit: string): string[] {
  const L: string[] = []
  const shapes = c.shapes ?? {}
  const hit = SHAPE_NAMES.filter((s) => shapes[s] !== undefined).length
  L.push(`### Sharing shapes: ${hit} of ${SHAPE_NAMES.length} reached`, '', `Situations the rules were tried in (src/coverage/shapes.ts). Counts are ${unit}.`, '')
  L.push(`| shape | ${unit} | what it is |`, '|---|--:|---|')
  for (const s of SHAPE_NAMES) L.push(`| ${s} | ${shapes[s] === undefined ? 'not reached' : n(shapes[s])} | ${SHAPES[s]} |`)
  L.push('')
  const args = c.args ?? {}
  const byArg = new Map<string, { hit: string[]; miss: string[] }>()
  for (const k of ARG_CLASSES) {
    const [arg, cls] = [k.slice(0, k.indexOf(' ')), k.slice(k.indexOf(' ') + 1)]
    const e = byArg.get(arg) ?? { hit: [], miss: [] }
    if (args[k] === undefined) e.miss.push(cls)
    else e.hit.push(`${cls} ${n(args[k])}`)
    byArg.set(arg, e)
  }
  const got = ARG_CLASSES.filter((k) => args[k] !== undefined).length
  L.push(`### Argument classes: ${got} of ${ARG_CLASSES.length} reached`, '', 'Flag words: none / partial / all and each bit; addresses and lengths: their alignment; tokens: their width.', '')
  L.push('| argument | reached | not reached |', '|---|---|---|')
  for (const [arg, e] of byArg) L.push(`| ${arg} | ${e.hit.join(', ') || '—'} | ${e.miss.join(', ') || '—'} |`)
  L.push('')
  return L
}

/** Shapes and argument classes the tables define that `c` never reached. */
export function unreachedShapes(c: CoverageData): { shapes: string[]; args: string[] } {
  return { shapes: SHAPE_NAMES.filter((s) => !(c.shapes ?? {})[s]), args: ARG_CLASSES.filter((a) => !(c.args ?? {})[a]) }
}

/** (op, result) pairs in `want` that `have` never reached. */
export function unreachedPairs(have: CoverageData, want: Iterable<string>): string[] {
  return [...want].filter((k) => !(k in have.ops)).sort()
}

// ---------------------------------------------------------------- the campaign hook

/** An executor that counts every step it takes into `cov` (the campaign block wraps each
 *  run's executor with it: properties/run.ts wrapExecutor). */
export function countingExecutor(e: Executor, cov: Coverage): Executor {
  let started = false
  let labels: Labels | undefined
  return {
    impl: e.impl,
    step(op) {
      const prev = e.modelState()
      if (!started) {
        cov.start(prev)
        started = true
      }
      const out = e.step(op)
      labels = cov.step(prev, op, out.result, e.modelState(), labels)
      return out
    },
    finish: () => e.finish(),
    modelState: () => e.modelState(),
  }
}
