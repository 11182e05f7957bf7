// The Informal Trace Format (apalache ADR-015, as Quint writes it): the counterexample's
// source of truth. State 0 is the initial state, state i the state after step i; the op of
// step i is in state i's `mbt::actionTaken` / `mbt::nondetPicks`, so `parseItf` can replay
// a trace without fast-check.

import type { Observation } from '../../models/observation.ts'
import type { Op, Result } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { PROPERTY_NAMES, type PropertyName, type Violation } from '../check/executor.types.ts'
import { designOverrides, divergingStep, EMPTY_OBSERVATION, kernelRan, titleSentence } from './common.ts'
import { formatJson, type Json } from './json.ts'
import { argSpecs, isOpName, type ArgSpec } from './opArgs.ts'
import { failNthOf, withFailNth } from '../../models/fault.ts'
import type { Observable } from './probe.ts'
import type { Counterexample } from './types.ts'

export const ITF_FORMAT_DESCRIPTION = 'https://apalache-mc.org/docs/adr/015adr-trace.html'

/** Observation fields with an encoding of their own; any other field is encoded generically. */
const KNOWN_VARS = ['boot', 'translations', 'owners', 'luo', 'fds', 'iommufds'] as const

// ---- encoding ------------------------------------------------------------------------------

const big = (v: bigint | number): Json => ({ '#bigint': BigInt(v).toString() })
const some = (v: Json): Json => ({ tag: 'Some', value: v })
const NONE: Json = { tag: 'None', value: { '#tup': [] } }
const option = <T>(v: T | undefined, enc: (x: T) => Json): Json => (v === undefined ? NONE : some(enc(v)))
const cmp = (a: string | number | bigint, b: string | number | bigint): number => (a < b ? -1 : a > b ? 1 : 0)
const map = (entries: [string | number, Json][]): Json => ({ '#map': entries.map(([k, v]) => [k, v]) })

function numericMap<V>(r: Record<number, V>, enc: (v: V) => Json): Json {
  return map(
    Object.entries(r)
      .map(([k, v]) => [Number(k), v] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([k, v]) => [k, enc(v)]),
  )
}

/** Generic encoding: bigint as #bigint, null as None, arrays as lists, objects as records. */
function genericItf(v: unknown): Json {
  if (typeof v === 'bigint') return big(v)
  if (v === null || v === undefined) return NONE
  if (Array.isArray(v)) return v.map(genericItf)
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, genericItf(x)]))
  return v as Json
}

/** The observation variables of a counterexample: the known ones, then any others by name. */
function obsVars(cx: Counterexample): string[] {
  const extra = new Set<string>()
  const all = [cx.initial_obs, cx.initial_kernel_obs, ...cx.steps.flatMap((s) => [s.model_obs, s.kernel_obs])]
  for (const o of [EMPTY_OBSERVATION, ...all])
    if (o) for (const k of Object.keys(o)) if (!(KNOWN_VARS as readonly string[]).includes(k)) extra.add(k)
  return [...KNOWN_VARS, ...[...extra].sort()]
}

/** An observation as ITF values, one per variable (without the `model::` prefix). */
export function observationToItf(o: Observation): Record<string, Json> {
  const translations = [...o.translations]
    .sort((a, b) => cmp(a.bdf, b.bdf) || a.pasid - b.pasid || cmp(a.iova, b.iova))
    .map((t) => ({ bdf: t.bdf, pasid: t.pasid, iova: big(t.iova), pa: option(t.pa ?? undefined, big) }))
  const sessions = (ss: Observation['luo']['outgoing']): Json =>
    [...ss]
      .sort((a, b) => cmp(a.name, b.name))
      .map((s) => ({
        name: s.name,
        files: [...s.files]
          .sort((a, b) => cmp(a.token, b.token))
          .map((f) => ({ token: big(f.token), kind: f.kind, retrieved: option(f.retrieved, (x) => x) })),
        retrieved: option(s.retrieved, (x) => x),
      }))
  const extra = Object.entries(o).filter(([k]) => !(KNOWN_VARS as readonly string[]).includes(k))
  return {
    ...Object.fromEntries(extra.map(([k, v]) => [k, genericItf(v)])),
    boot: o.boot,
    translations,
    owners: map(
      Object.entries(o.owners)
        .sort((a, b) => cmp(a[0], b[0]))
        .map(([g, v]) => [g, v]),
    ),
    luo: { open: o.luo.open, outgoing: sessions(o.luo.outgoing), incoming: sessions(o.luo.incoming) },
    fds: numericMap(o.fds, (v) => v),
    iommufds: numericMap(o.iommufds, (objs) => numericMap(objs, (v) => v)),
  }
}

export function resultToItf(r: Result | undefined): Json {
  if (r === undefined) return NONE
  if ('errno' in r) return { tag: 'Err', value: r.errno }
  if ('fault' in r) return { tag: 'Fault', value: r.fault }
  return { tag: 'Ok', value: option(r.out, (x) => (typeof x === 'bigint' ? big(x) : x)) }
}

function argToItf(spec: ArgSpec, v: unknown): Json {
  switch (spec.kind) {
    case 'u64':
    case 'token':
      return big(v as bigint)
    case 'int':
    case 'str':
    case 'bool':
      return v as Json
    case 'seals':
    case 'flags':
      return [...(v as string[])]
  }
}

/**
 * The op's arguments as `mbt::nondetPicks` in Quint's MBT shape: a record with one field per
 * argument of the op, each an Option variant (`Some(v)`, or `None` for an argument left out).
 */
export function nondetPicks(o: Op): Json {
  const given = o.args as Record<string, unknown>
  const picks: { [k: string]: Json } = {}
  for (const [name, spec] of argSpecs(o.op)) picks[name] = option(given[name], (x) => argToItf(spec, x))
  return picks
}

const violationJson = (v: Violation): Json => ({ property: v.property, message: v.message })

/** trace.itf.json. Same counterexample, same bytes. */
export function renderItf(cx: Counterexample): string {
  const both = kernelRan(cx)
  const prefixes = both ? ['model', 'impl'] : ['model']
  const OBS_VARS = obsVars(cx)
  const vars = [
    ...prefixes.flatMap((p) => [...OBS_VARS.map((v) => `${p}::${v}`), `${p}::result`]),
    'mbt::actionTaken',
    'mbt::nondetPicks',
  ]
  const div = divergingStep(cx)
  const meta: { [k: string]: Json } = {
    format: 'ITF',
    'format-description': ITF_FORMAT_DESCRIPTION,
    source: `luv ${cx.versions.luv}`,
    status: 'violation',
    description: `${titleSentence(cx)}: ${cx.message}`,
  }
  if (cx.timestamp !== undefined) meta.timestamp = cx.timestamp
  if (cx.seed !== undefined) meta.seed = cx.seed
  if (cx.path !== undefined) meta.path = cx.path
  meta.property = cx.property
  meta.message = cx.message
  meta.divergenceIndex = div.index
  if (cx.observable !== undefined) meta.observable = observableJson(cx.observable)
  meta.design = { profile: cx.profile, ...Object.fromEntries(designOverrides(cx)) }
  meta.designLabel = cx.designLabel
  if (cx.defect !== undefined) meta.defect = cx.defect
  meta.platform = platformJson(cx.platform)
  meta.versions = {
    luv: cx.versions.luv,
    node: cx.versions.node,
    fastCheck: cx.versions.fastCheck,
    ...(cx.versions.gitRev !== undefined && { gitRev: cx.versions.gitRev }),
  }

  const state = (
    index: number,
    m: Observation | undefined,
    k: Observation | undefined,
    rm: Result | undefined,
    rk: Result | undefined,
    op: Op | undefined,
    violations: Violation[],
  ): Json => {
    // #meta.index is the state's position (state 0: before any step); `step` the step that led here
    const sm: { [k: string]: Json } = { index: index + 1 }
    if (index >= 0) sm.step = index
    const primary = violations.find((v) => v.property === cx.property) ?? violations[0]
    if (index === div.index) sm.divergence = true
    if (cx.observable && cx.observable.kind !== 'state-only' && index === cx.steps.length - 1) sm.observed = true
    if (cx.observable?.kind === 'probe' && index >= cx.observable.from) sm.probe = true
    // issue 13: a faulted step: its fail-nth, and whether the kernel reached that allocation
    const n = op ? failNthOf(op) : undefined
    if (n !== undefined) sm.failNth = n
    const reached = index >= 0 ? cx.steps[index]?.failNth?.reached : undefined
    if (n !== undefined && reached !== undefined) sm.failNthReached = reached
    if (primary) sm.violation = violationJson(primary)
    const others = violations.filter((v) => v !== primary)
    if (others.length > 0) sm.otherViolations = others.map(violationJson)
    const s: { [k: string]: Json } = { '#meta': sm }
    const add = (p: string, o: Observation | undefined, r: Result | undefined) => {
      const enc = observationToItf(o ?? EMPTY_OBSERVATION)
      for (const v of OBS_VARS) s[`${p}::${v}`] = enc[v] ?? NONE
      s[`${p}::result`] = resultToItf(r)
    }
    add('model', m, rm)
    if (both) add('impl', k, rk)
    s['mbt::actionTaken'] = op ? op.op : 'init'
    s['mbt::nondetPicks'] = op ? nondetPicks(op) : {}
    return s
  }

  const states: Json[] = [
    state(-1, cx.initial_obs, cx.initial_kernel_obs ?? cx.initial_obs, undefined, undefined, undefined, []),
    ...cx.steps.map((st) => state(st.index, st.model_obs, st.kernel_obs, st.model, st.kernel, st.op, st.violations)),
  ]
  return formatJson({ '#meta': meta, vars, states }, { width: 140 })
}

function observableJson(o: Observable): Json {
  switch (o.kind) {
    case 'result':
      return { kind: o.kind, step: o.step }
    case 'probe':
      return { kind: o.kind, from: o.from, step: o.step, reason: o.reason }
    case 'state-only':
      return { kind: o.kind, reason: o.reason, inspect: o.inspect }
  }
}

export function platformJson(p: Platform): Json {
  return {
    memoryPages: p.memoryPages,
    ...(p.tablePages !== undefined && { tablePages: p.tablePages }),
    units: p.units.map((u) => ({ name: u.name, dids: u.dids })),
    devices: p.devices.map((d) => ({
      bdf: d.bdf,
      unit: d.unit,
      ...(d.group !== undefined && { group: d.group }),
      ...(d.pasids !== undefined && { pasids: d.pasids }),
    })),
  }
}

// ---- decoding ------------------------------------------------------------------------------

/** A trace file that does not decode; the message names the state and the field. */
export class ItfError extends Error {}

export interface ParsedItf {
  ops: Op[]
  /** what the trace's #meta says about the run (unvalidated beyond its JSON type) */
  meta: {
    property?: PropertyName
    seed?: number
    path?: string
    defect?: string
    divergenceIndex?: number
    /** `{ profile, ...overrides }` as in a scenario file */
    design?: Record<string, string>
    platform?: Platform
  }
}

const U64_MAX = (1n << 64n) - 1n
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const show = (v: unknown): string => {
  const s = JSON.stringify(v)
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s
}

function decodeBig(v: unknown): bigint | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v)
  if (isObj(v) && typeof v['#bigint'] === 'string' && /^-?[0-9]+$/.test(v['#bigint'])) return BigInt(v['#bigint'])
  return undefined
}

function decodeArg(spec: ArgSpec, v: unknown, where: string): unknown {
  const fail = (what: string): never => {
    throw new ItfError(`${where}: expected ${what}, got ${show(v)}`)
  }
  switch (spec.kind) {
    case 'u64':
    case 'token': {
      const b = decodeBig(v)
      if (b === undefined || b < 0n || b > U64_MAX) return fail('a u64 ({"#bigint": "<decimal>"})')
      return b
    }
    case 'int': {
      const b = decodeBig(v)
      if (b === undefined || b < 0n || b > BigInt(Number.MAX_SAFE_INTEGER)) return fail('a non-negative integer')
      return Number(b)
    }
    case 'str':
      return typeof v === 'string' ? v : fail('a string')
    case 'bool':
      return typeof v === 'boolean' ? v : fail('a boolean')
    case 'seals':
    case 'flags': {
      const names: readonly string[] =
        spec.kind === 'seals' ? ['SEAL', 'SHRINK', 'GROW', 'WRITE'] : ['NEST_PARENT', 'DIRTY_TRACKING', 'PASID']
      const xs = isObj(v) && Array.isArray(v['#set']) ? v['#set'] : v
      if (!Array.isArray(xs) || !xs.every((x) => typeof x === 'string' && names.includes(x)))
        return fail(`a list of ${names.join('|')}`)
      return [...xs]
    }
  }
}

function decodeOp(state: unknown, i: number): Op {
  const at = `states[${i}] (step ${i - 1})`
  if (!isObj(state)) throw new ItfError(`${at}: expected an object`)
  const name = state['mbt::actionTaken']
  if (!isOpName(name)) throw new ItfError(`${at}: mbt::actionTaken: unknown op ${show(name)}`)
  const picks = state['mbt::nondetPicks']
  if (!isObj(picks)) throw new ItfError(`${at}: mbt::nondetPicks: expected a record, got ${show(picks)}`)
  const specs = argSpecs(name)
  const known = new Set(specs.map(([k]) => k))
  for (const k of Object.keys(picks))
    if (!known.has(k)) throw new ItfError(`${at}: mbt::nondetPicks.${k}: not an argument of ${name}`)
  const args: Record<string, unknown> = {}
  for (const [k, spec] of specs) {
    const where = `${at}: mbt::nondetPicks.${k}`
    let v = picks[k]
    const isOption = isObj(v) && (v.tag === 'Some' || v.tag === 'None') && 'value' in v
    if (isOption) {
      if ((v as Record<string, unknown>).tag === 'None') {
        if (!spec.optional) throw new ItfError(`${where}: None, but ${name} needs it`)
        continue
      }
      v = (v as Record<string, unknown>).value
    } else if (spec.optional) {
      if (v === undefined) continue
      throw new ItfError(`${where}: expected an Option ({"tag": "Some"|"None", "value": ...}), got ${show(v)}`)
    } else if (v === undefined) {
      throw new ItfError(`${where}: missing (${name} needs it)`)
    }
    args[k] = decodeArg(spec, v, where)
  }
  return { op: name, args } as Op
}

/** `#meta.failNth` of a state: an integer >= 1, or absent. */
function decodeFailNth(state: unknown, i: number): number | undefined {
  const m = isObj(state) && isObj(state['#meta']) ? state['#meta'] : undefined
  const n = m?.failNth
  if (n === undefined) return undefined
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new ItfError(`states[${i}] (step ${i - 1}): #meta.failNth: expected an integer >= 1, got ${show(n)}`)
  return n
}

/** Decode a trace (JSON text or parsed value): its op list and the run parameters in #meta. */
export function parseItf(json: unknown): ParsedItf {
  let doc = json
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json)
    } catch (e) {
      throw new ItfError(`not JSON: ${(e as Error).message}`)
    }
  }
  if (!isObj(doc)) throw new ItfError('expected an ITF object with "vars" and "states"')
  const vars = doc.vars
  if (!Array.isArray(vars)) throw new ItfError('vars: expected a list of variable names')
  for (const v of ['mbt::actionTaken', 'mbt::nondetPicks'])
    if (!vars.includes(v)) throw new ItfError(`vars: ${v} is missing (not an MBT trace)`)
  const states = doc.states
  if (!Array.isArray(states) || states.length === 0) throw new ItfError('states: expected a non-empty list')
  for (const [i, s] of states.entries()) {
    const idx = isObj(s) && isObj(s['#meta']) ? s['#meta'].index : undefined
    if (idx !== undefined && idx !== i) throw new ItfError(`states[${i}]: #meta.index is ${show(idx)}, expected ${i}`)
  }
  // issue 13: a faulted step's fail-nth is in its state's #meta
  const ops = states.slice(1).map((s, i) => withFailNth(decodeOp(s, i + 1), decodeFailNth(s, i + 1)))

  const m = isObj(doc['#meta']) ? doc['#meta'] : {}
  const meta: ParsedItf['meta'] = {}
  if (typeof m.property === 'string' && (PROPERTY_NAMES as readonly string[]).includes(m.property))
    meta.property = m.property as PropertyName
  if (typeof m.seed === 'number') meta.seed = m.seed
  if (typeof m.path === 'string') meta.path = m.path
  if (typeof m.defect === 'string') meta.defect = m.defect
  if (typeof m.divergenceIndex === 'number') meta.divergenceIndex = m.divergenceIndex
  if (isObj(m.design)) {
    const d: Record<string, string> = {}
    for (const [k, v] of Object.entries(m.design)) {
      if (typeof v !== 'string') throw new ItfError(`#meta.design.${k}: expected a string, got ${show(v)}`)
      d[k] = v
    }
    meta.design = d
  }
  if (isObj(m.platform)) meta.platform = m.platform as unknown as Platform
  return { ops, meta }
}

/** The op list of a trace, bigints revived: replays without fast-check. */
export const itfToOps = (json: unknown): Op[] => parseItf(json).ops
