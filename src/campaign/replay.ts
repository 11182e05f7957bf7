// `luv replay`: a failure re-run without fast-check (a bundle folder, its scenario.json, or its
// trace.itf.json: stable across generator changes), or with it (seed + path: same luv and
// fast-check versions only).

import { existsSync, lstatSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { z } from 'zod'
import { AXES, AXIS_NAMES, type Design, type ProfileName } from '../../models/design.ts'
import { ERRNO_NAMES, type Errno, type Op } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { runProperty, type PropertyRunResult } from '../../properties/run.ts'
import { PROPERTY_NAMES, type Executor, type ImplChoice, type PropertyName } from '../check/executor.types.ts'
import { InputFileError, parseWith, readJsonFile } from '../input/read.ts'
import { LIMITS, tooManySteps } from '../input/limits.ts'
import { BLOCK_RUNS } from './blocks.ts'
import { excerpt, safeText, showPath } from '../input/text.ts'
import { KNOWN_DEFECT_NAMES } from '../kernel/defects/index.ts' // s4-heldout: held-out names too
import { ITF_FILE, SCENARIO_FILE } from '../report/common.ts'
import { toCounterexample } from '../report/from-failure.ts'
import { ItfError, parseItf, type ParsedItf } from '../report/itf.ts'
import type { Counterexample } from '../report/types.ts'
import { ScenarioError } from '../scenario/error.ts'
import { parseScenario } from '../scenario/load.ts'
import { failNthOf } from '../../models/fault.ts'
import { runScenario, type ScenarioRun } from '../scenario/run.ts'
import type { Scenario } from '../scenario/types.ts'
import { InputError } from './errors.ts'

/** What a trace file says about the failure it recorded (ITF #meta). */
export interface Recorded {
  property?: PropertyName
  divergenceIndex?: number
  /** the failing step, 0-based (steps[N]), from the state marked `divergence` */
  step?: number
  defect?: string
  seed?: number
  path?: string
}

export interface ReplayInput {
  kind: 'bundle' | 'scenario' | 'itf'
  /** the file the ops come from */
  source: string
  scenario: Scenario
  recorded: Recorded
  /** where `recorded` comes from (the ITF file), when anywhere */
  recordedFrom?: string
  /** what was checked besides the source (a bundle's two files agree) */
  checked: string[]
  /** things the user should know before the verdict (a sibling trace records a defect, ...) */
  notes: string[]
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Every file read under the input discipline (src/input/read.ts); its errors are exit 2. */
function readJson(path: string, what: string): unknown {
  try {
    return readJsonFile(path, { what })
  } catch (e) {
    if (e instanceof InputFileError) throw new InputError(e.message)
    throw e
  }
}

const looksLikeItf = (json: unknown) => isObj(json) && (Object.hasOwn(json, 'states') || Object.hasOwn(json, 'vars')) && !Object.hasOwn(json, 'steps')

/** A bundle folder, a scenario.json or an ITF trace → the scenario to run. */
export function loadReplayInput(path: string): ReplayInput {
  let st
  try {
    st = lstatSync(path)
    if (st.isSymbolicLink()) st = statSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(`${showPath(path)}: ${code === 'ENOENT' ? 'no such file or directory' : safeText((e as Error).message, 200)}`)
  }
  if (st.isDirectory()) return loadBundle(path)
  const json = readJson(path, 'scenario file or ITF trace')
  if (looksLikeItf(json)) {
    const itf = fromItf(json, path)
    return { kind: 'itf', source: path, scenario: itf.scenario, recorded: itf.recorded, recordedFrom: path, checked: [], notes: [] }
  }
  const scenario = scenarioOf(json, path)
  const notes: string[] = []
  // a bundle's scenario.json alone: its trace beside it may record a defect the scenario cannot
  const sibling = join(dirname(path), ITF_FILE)
  if (basename(path) === SCENARIO_FILE && existsSync(sibling)) {
    try {
      const itf = fromItf(readJson(sibling, 'ITF trace'), sibling)
      if (itf.recorded.defect !== undefined)
        notes.push(`${sibling} records defect ${itf.recorded.defect}, which a scenario file cannot: replay the folder ${dirname(path)} (or add --defect ${itf.recorded.defect}) to seed it`)
    } catch {
      notes.push(`${sibling} beside it does not load: this replays ${path} alone`)
    }
  }
  return { kind: 'scenario', source: path, scenario, recorded: {}, checked: [], notes }
}

/**
 * A bundle folder: scenario.json is what runs, trace.itf.json records what scenario.json cannot
 * (the defect, the property, the step). Both must load, strictly, and agree on the platform, the
 * design, the ops and their expected results; any disagreement is an error naming it.
 */
function loadBundle(dir: string): ReplayInput {
  const file = join(dir, SCENARIO_FILE)
  const itfPath = join(dir, ITF_FILE)
  const has = (p: string) => existsSync(p)
  if (!has(file) && !has(itfPath)) throw new InputError(`${safeText(dir, 200)}: not a bundle folder (no ${SCENARIO_FILE} or ${ITF_FILE} in it)`)
  if (!has(itfPath))
    throw new InputError(`${safeText(dir, 200)}: ${ITF_FILE} is missing: it records the defect and the failure, so the bundle cannot be replayed as recorded (replay ${file} to run the scenario alone)`)
  if (!has(file)) {
    // the trace holds everything a replay needs (ops, results, platform, design, defect)
    const itf = fromItf(readJson(itfPath, 'ITF trace'), itfPath)
    return { kind: 'bundle', source: itfPath, scenario: itf.scenario, recorded: itf.recorded, recordedFrom: itfPath, checked: [], notes: [`no ${SCENARIO_FILE} in ${dir}: replaying its ${ITF_FILE}`] }
  }
  const scenario = scenarioOf(readJson(file, 'scenario file'), file)
  const itf = fromItf(readJson(itfPath, 'ITF trace'), itfPath)
  agree(dir, scenario, itf.scenario, itf.recorded)
  return { kind: 'bundle', source: file, scenario, recorded: itf.recorded, recordedFrom: itfPath, checked: [`${ITF_FILE} agrees (platform, design, ${scenario.steps.length} ops, results)`], notes: [] }
}

const canon = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))

/** The two files of a bundle describe one run, or the bundle is an error. */
function agree(dir: string, sc: Scenario, it: Scenario, rec: Recorded): void {
  const bad = (what: string) => {
    throw new InputError(`${safeText(dir, 200)}: ${SCENARIO_FILE} and ${ITF_FILE} disagree: ${what}; the bundle is damaged or was edited (replay one of the files by itself to run it)`)
  }
  if (canon(sc.platform) !== canon(it.platform)) bad('platform')
  if (canon(sc.design) !== canon(it.design)) bad(`design (${describeDesignSafe(sc)} against ${describeDesignSafe(it)})`)
  if (sc.steps.length !== it.steps.length) bad(`${sc.steps.length} steps against ${it.steps.length}`)
  for (const [i, a] of sc.steps.entries()) {
    const b = it.steps[i]
    if (a.op !== b.op) bad(`step ${i}: ${a.op} against ${b.op}`)
    if (canon(a.args) !== canon(b.args)) bad(`step ${i} (${a.op}): arguments ${excerpt(canon(a.args))} against ${excerpt(canon(b.args))}`)
    if (a.expect !== undefined && b.expect !== undefined && canon(a.expect) !== canon(b.expect))
      bad(`step ${i} (${a.op}): expected result ${excerpt(canon(a.expect))} against ${excerpt(canon(b.expect))}`)
  }
  const named = sc.description !== undefined ? /\bdefect ([A-Za-z0-9_-]+)/.exec(sc.description)?.[1] : undefined
  if (named !== undefined && named !== rec.defect) bad(`defect: the scenario's description names ${safeText(named, 60)}, the trace ${rec.defect === undefined ? 'none' : rec.defect}`)
}

const describeDesignSafe = (s: Scenario): string =>
  [s.designSpec.profile ?? 'default', ...Object.entries(s.designSpec.overrides ?? {}).map(([a, o]) => `${a}=${o}`)].join(' ')

function scenarioOf(json: unknown, source: string): Scenario {
  try {
    return parseScenario(json, source)
  } catch (e) {
    if (e instanceof ScenarioError) throw new InputError(e.message)
    throw e
  }
}

// ---- ITF: the #meta and every state checked, the ops validated as scenario steps ------------

const intAtLeast = (min: number) => z.number().int().min(min).max(Number.MAX_SAFE_INTEGER)
const metaSchema = z.strictObject({
  // what luv writes, and the ITF fields Quint and Apalache write (ADR-015): anything else is
  // an unknown key (a renamed `defect` must not silently replay on the clean kernel)
  format: z.literal('ITF', { error: 'expected "ITF"' }).optional(),
  'format-description': z.string().optional(),
  source: z.string().optional(),
  status: z.string().optional(),
  description: z.string().optional(),
  timestamp: z.union([z.string(), z.number()]).optional(),
  designLabel: z.string().optional(),
  versions: z.record(z.string(), z.string()).optional(),
  property: z.enum(PROPERTY_NAMES as unknown as [string, ...string[]], { error: `expected a property name (${PROPERTY_NAMES.join(', ')})` }).optional(),
  divergenceIndex: intAtLeast(0).optional(),
  seed: z.number({ error: 'expected an integer seed' }).int({ error: 'expected an integer seed' }).min(-(2 ** 31)).max(2 ** 32 - 1).optional(),
  path: z.string().regex(/^\d{1,9}(:\d{1,9}){0,9999}$/, { error: "expected fast-check's path, digits separated by ':'" }).optional(),
  defect: z.enum(KNOWN_DEFECT_NAMES as [string, ...string[]], { error: `expected a seeded defect's name or a held-out one (luv defects lists the seeded ones)` }).optional(),
  design: z.record(z.string(), z.string({ error: 'expected an option name (a string)' }), { error: 'expected { profile?, AXIS: OPTION... }' }).optional(),
  platform: z.unknown().optional(),
  message: z.string().optional(),
  // how the failure shows (src/report/probe.ts): at a step's result, through a probe luv added,
  // or only in kernel state (then what to inspect)
  observable: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('result'), step: intAtLeast(0) }),
      z.strictObject({ kind: z.literal('probe'), from: intAtLeast(0), step: intAtLeast(0), reason: z.string() }),
      z.strictObject({ kind: z.literal('state-only'), reason: z.string(), inspect: z.array(z.string()) }),
    ], { error: "expected { kind: 'result' | 'probe' | 'state-only', ... }" })
    .optional(),
})
const itfSchema = z.looseObject({
  '#meta': z.unknown().optional(),
  vars: z.array(z.string({ error: 'expected a variable name (a string)' }), { error: 'expected a list of variable names' }),
  states: z.array(z.looseObject({}, { error: 'expected a state (an object)' }), { error: 'expected a list of states' }).min(2, { error: 'expected the initial state and at least one step (a trace with no step replays nothing)' }),
})

/** ITF values → a scenario file's JSON (u64 as "0x..", so the scenario schema checks each one). */
function argToScenario(v: unknown): unknown {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`
  return v
}

/** The `model::result` of a state as an `expect`, or an error naming what is wrong with it. */
function expectOf(state: Record<string, unknown>, op: Op, where: string): unknown {
  if (!Object.hasOwn(state, 'model::result')) return undefined
  const r = state['model::result']
  const fail = (what: string): never => {
    throw new InputError(`${where}.model::result: ${what}; got ${excerpt(r)}`)
  }
  if (!isObj(r) || typeof r.tag !== 'string') return fail('expected {"tag": "Ok"|"Err"|"Fault"|"None", "value": ...}')
  switch (r.tag) {
    case 'None':
      return undefined
    case 'Err':
      return ERRNO_NAMES.includes(r.value as Errno) ? r.value : fail(`expected an errno name (${ERRNO_NAMES.join(', ')})`)
    case 'Fault':
      return 'fault'
    case 'Ok': {
      const v = r.value
      if (op.op === 'DMA' && isObj(v) && v.tag === 'Some') {
        const b = isObj(v.value) ? v.value['#bigint'] : undefined
        if (typeof b !== 'string' || !/^[0-9]{1,20}$/.test(b)) return fail('expected the PA a DMA reached as {"#bigint": "<decimal>"}')
        return { out: `0x${BigInt(b).toString(16)}` }
      }
      return 'ok'
    }
    default:
      return fail('expected {"tag": "Ok"|"Err"|"Fault"|"None", "value": ...}')
  }
}

/** `steps[3].args.bdf` (a message of the scenario schema) → where it is in the trace. */
function itfField(field: string): string {
  const m = /^steps\[(\d+)\](?:\.args)?(.*)$/.exec(field)
  if (m) return `states[${Number(m[1]) + 1}].mbt::nondetPicks${m[2]}`
  if (field.startsWith('platform')) return `#meta.${field}`
  if (field.startsWith('design')) return `#meta.${field}`
  return field
}

function fromItf(json: unknown, source: string): { scenario: Scenario; recorded: Recorded } {
  const loc = (e: InputFileError) => new InputError(e.message)
  let doc, meta
  try {
    doc = parseWith(itfSchema, json, source)
    const rawMeta = isObj(json) && Object.hasOwn(json, '#meta') ? json['#meta'] : {}
    meta = parseWith(metaSchema, rawMeta, source, ['#meta'])
  } catch (e) {
    if (e instanceof InputFileError) throw loc(e)
    throw e
  }
  checkItfStates(doc.vars, doc.states, source)
  const many = tooManySteps(doc.states.length - 1)
  if (many) throw new InputError(`${safeText(source, 200)}: states: ${many}`)
  const rawDesign = isObj(json) && isObj(json['#meta']) ? json['#meta'].design : undefined
  if (isObj(rawDesign)) for (const k of Object.keys(rawDesign)) resolveDesignKey(source, k)
  let parsed: ParsedItf
  try {
    parsed = parseItf(json)
  } catch (e) {
    if (e instanceof ItfError) throw new InputError(`${safeText(source, 200)}: ${safeText(e.message, 400)}`)
    throw e
  }
  // the ops as a scenario file, through the scenario schema: an ITF argument is checked as a
  // scenario's is (a bdf that is no PCI address, a u64 out of range, an unknown design option)
  const file: Record<string, unknown> = {
    name: `${meta.property ?? 'trace'}-replay`,
    ...(meta.platform !== undefined && { platform: meta.platform }),
    ...(meta.design !== undefined && { design: meta.design }),
    steps: parsed.ops.map((op, i) => {
      const args = Object.fromEntries(Object.entries(op.args as Record<string, unknown>).map(([k, v]) => [k, argToScenario(v)]))
      const expect = expectOf(doc.states[i + 1], op, `${safeText(source, 200)}: states[${i + 1}]`)
      const failNth = failNthOf(op) // issue 13: a faulted step
      return { op: op.op, ...(Object.keys(args).length > 0 && { args }), ...(expect !== undefined && { expect }), ...(failNth !== undefined && { failNth }) }
    }),
  }
  let scenario: Scenario
  try {
    scenario = parseScenario(file, source)
  } catch (e) {
    if (e instanceof ScenarioError) throw new InputError(`${safeText(source, 200)}: ${e.field ? `${itfField(e.field)}: ` : ''}${e.detail}`)
    throw e
  }
  const recorded: Recorded = {
    ...(meta.property !== undefined && { property: meta.property as PropertyName }),
    ...(meta.divergenceIndex !== undefined && { divergenceIndex: meta.divergenceIndex }),
    ...(meta.defect !== undefined && { defect: meta.defect }),
    ...(meta.seed !== undefined && { seed: meta.seed }),
    ...(meta.path !== undefined && { path: meta.path }),
  }
  const marked = doc.states.findIndex((st) => isObj(st['#meta']) && st['#meta'].divergence === true)
  if (marked >= 1) recorded.step = marked - 1
  // divergenceIndex is the diverging step's index (0-based, steps[N]), as every report numbers steps
  else if (recorded.divergenceIndex !== undefined) recorded.step = recorded.divergenceIndex
  if (recorded.divergenceIndex !== undefined && recorded.divergenceIndex >= scenario.steps.length)
    throw new InputError(`${safeText(source, 200)}: #meta.divergenceIndex: ${recorded.divergenceIndex} is past the trace's ${scenario.steps.length} steps`)
  return { scenario, recorded }
}

/** ITF's value grammar (ADR-015): what every state variable must be, whatever its meaning. */
function itfValueProblem(v: unknown, depth = 0): string | undefined {
  if (depth > 64) return 'nested too deeply'
  if (typeof v === 'string' || typeof v === 'boolean') return undefined
  if (typeof v === 'number') return Number.isSafeInteger(v) ? undefined : 'a number that is not a safe integer (large integers are {"#bigint": "..."})'
  if (v === null) return 'null is not an ITF value'
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const p = itfValueProblem(x, depth + 1)
      if (p) return `[${i}]: ${p}`
    }
    return undefined
  }
  const o = v as Record<string, unknown>
  const keys = Object.keys(o)
  const special = keys.filter((k) => k.startsWith('#'))
  if (special.length > 0) {
    if (keys.length !== 1) return `a ${special[0]} value has other keys`
    const [k] = keys
    const x = o[k]
    switch (k) {
      case '#bigint':
        return typeof x === 'string' && /^-?[0-9]{1,80}$/.test(x) ? undefined : 'expected {"#bigint": "<decimal>"}'
      case '#tup':
      case '#set':
        return Array.isArray(x) ? itfValueProblem(x, depth + 1) : `expected {"${k}": [...]}`
      case '#map':
        if (!Array.isArray(x) || !x.every((e) => Array.isArray(e) && e.length === 2)) return 'expected {"#map": [[key, value], ...]}'
        return itfValueProblem(x, depth + 1)
      case '#unserializable':
        return typeof x === 'string' ? undefined : 'expected {"#unserializable": "..."}'
      default:
        return `unknown ITF value ${k}`
    }
  }
  for (const k of keys) {
    const p = itfValueProblem(o[k], depth + 1)
    if (p) return `.${k}: ${p}`
  }
  return undefined
}

const RESULT_TAGS = ['Ok', 'Err', 'Fault', 'None']

/** Each state has exactly the declared variables (and #meta), each an ITF value; results have their shape. */
function checkItfStates(vars: string[], states: Record<string, unknown>[], source: string): void {
  const bad = (at: string, what: string) => new InputError(`${safeText(source, 200)}: ${at}: ${what}`)
  const declared = new Set(vars)
  if (declared.size !== vars.length) throw bad('vars', 'a variable is declared twice')
  for (const [i, st] of states.entries()) {
    for (const k of Object.keys(st)) if (k !== '#meta' && !declared.has(k)) throw bad(`states[${i}].${safeText(k, 60)}`, 'not a variable declared in vars')
    for (const v of vars) {
      if (!Object.hasOwn(st, v)) throw bad(`states[${i}]`, `variable ${safeText(v, 60)} is missing (every state has every variable)`)
      const p = itfValueProblem(st[v])
      if (p) throw bad(`states[${i}].${safeText(v, 60)}`, safeText(p, 300))
      if (v.endsWith('::result')) {
        const r = st[v] as Record<string, unknown>
        if (typeof r !== 'object' || r === null || Array.isArray(r) || !RESULT_TAGS.includes(r.tag as string) || !Object.hasOwn(r, 'value'))
          throw bad(`states[${i}].${v}`, `expected {"tag": "Ok"|"Err"|"Fault"|"None", "value": ...}; got ${excerpt(r)}`)
        if (r.tag === 'Err' && !ERRNO_NAMES.includes(r.value as Errno)) throw bad(`states[${i}].${v}.value`, `expected an errno name; got ${excerpt(r.value)}`)
        if (r.tag === 'Ok' && !(isObj(r.value) && (r.value.tag === 'None' || (r.value.tag === 'Some' && Object.hasOwn(r.value, 'value')))))
          throw bad(`states[${i}].${v}.value`, `expected an Option ({"tag": "Some"|"None", "value": ...}); got ${excerpt(r.value)}`)
        if (r.tag === 'Ok' && isObj(r.value) && r.value.tag === 'Some') {
          const x = r.value.value
          if (!(typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) && !(isObj(x) && typeof x['#bigint'] === 'string' && /^[0-9]{1,20}$/.test(x['#bigint'])))
            throw bad(`states[${i}].${v}.value.value`, `expected a non-negative integer or {"#bigint": "<decimal>"}; got ${excerpt(x)}`)
        }
      }
    }
    const m = st['#meta']
    if (m !== undefined) {
      if (!isObj(m)) throw bad(`states[${i}].#meta`, `expected an object; got ${excerpt(m)}`)
      for (const k of Object.keys(m))
        if (!['index', 'step', 'divergence', 'observed', 'probe', 'violation', 'otherViolations', 'failNth', 'failNthReached'].includes(k)) throw bad(`states[${i}].#meta.${safeText(k, 60)}`, 'unknown key')
      if (m.index !== undefined && m.index !== i) throw bad(`states[${i}].#meta.index`, `${excerpt(m.index)}, expected ${i}`)
      // state i follows step i-1 (state 0 is the initial state)
      if (m.step !== undefined && m.step !== i - 1) throw bad(`states[${i}].#meta.step`, `${excerpt(m.step)}, expected ${i - 1}`)
      for (const flag of ['divergence', 'observed', 'probe'] as const)
        if (m[flag] !== undefined && m[flag] !== true) throw bad(`states[${i}].#meta.${flag}`, `expected true; got ${excerpt(m[flag])}`)
    }
  }
}

function resolveDesignKey(source: string, key: string): void {
  if (key !== 'profile' && !Object.hasOwn(AXES, key))
    throw new InputError(`${safeText(source, 200)}: #meta.design.${safeText(key, 60)}: unknown design axis (known: profile, ${AXIS_NAMES.join(', ')})`)
}

export interface ReplayOutcome {
  run: ScenarioRun
  /** a property was violated or the implementations diverged */
  reproduced: boolean
  /** the first violated property and its step (0-based, as the trace prints it) */
  first?: { property: PropertyName | 'divergence'; step: number }
  /** the recorded property, where the replay violates it too (its first step): a step can
   *  violate several properties, and the one the bundle recorded need not come first */
  recorded?: { property: PropertyName | 'divergence'; step: number }
}

/** Replay `scenario`; `recordedProperty` (the bundle's) is looked for among every violation,
 *  not only the first, so a replay confirms the failure that was recorded. */
export function replayScenario(scenario: Scenario, executor: Executor, recordedProperty?: PropertyName): ReplayOutcome {
  const run = runScenario(scenario, { executor })
  let first: ReplayOutcome['first']
  let recorded: ReplayOutcome['recorded']
  const wanted = (p: PropertyName | 'divergence') => recordedProperty !== undefined && (p === recordedProperty || (p === 'divergence' && recordedProperty === 'conformance'))
  for (const s of run.steps) {
    const here: (PropertyName | 'divergence')[] = [...s.violations.map((v) => v.property), ...(s.diverged ? ['divergence' as const] : [])]
    if (!first && here.length > 0) first = { property: here[0], step: s.index }
    const hit = here.find(wanted)
    if (hit !== undefined) recorded = { property: hit, step: s.index }
    if (first && (recorded || recordedProperty === undefined)) break
  }
  const last = run.steps.length - 1
  if (!first && run.finishViolations.length > 0) first = { property: run.finishViolations[0].property, step: last }
  if (!recorded) {
    const hit = run.finishViolations.find((v) => wanted(v.property))
    if (hit) recorded = { property: hit.property, step: last }
  }
  return { run, reproduced: first !== undefined, ...(first && { first }), ...(recorded && { recorded }) }
}

// ---- fast-check replay --------------------------------------------------------------------

export interface SeedReplayOptions {
  seed: number
  path: string
  platforms: Platform[]
  design: Design
  profile: ProfileName
  impl: ImplChoice
  defect?: string
  properties: PropertyName[]
  /** issue 13: the campaign's --fail-rate (the commands' draws depend on it) */
  failRate?: number
}

export interface SeedReplayResult {
  result: PropertyRunResult
  cx?: Counterexample
  /** the path the re-run shrank to differs from the one given: the generators changed */
  pathDiffers: boolean
}

/** `--path` as fast-check writes it: `run:shrink:shrink…`. */
export function parsePath(path: string): number {
  if (path.length > 100_000 || !/^\d{1,9}(:\d{1,9})*$/.test(path))
    throw new InputError(`--path ${safeText(path, 40)}: expected fast-check's path, numbers of at most 9 digits separated by ':'`)
  const run = Number(path.split(':')[0])
  // the re-run generates every run up to this one: bounded so a typo cannot run for hours
  if (run > LIMITS.replayRun)
    throw new InputError(`--path ${safeText(path, 40)}: run index ${run} is past luv's limit of ${LIMITS.replayRun} (a campaign block has ${BLOCK_RUNS} runs)`)
  return run
}

/**
 * Re-run the block's first runs up to the failing one and let fast-check shrink again. Walking
 * the path directly needs the commands' replayPath, which runProperty does not take yet; the
 * re-run gives the same shrunk trace (shrinking is deterministic) and checks it by its path.
 */
export function replaySeed(o: SeedReplayOptions): SeedReplayResult {
  const runIndex = parsePath(o.path)
  const result = runProperty({
    platform: o.platforms[0],
    platforms: o.platforms,
    design: o.design,
    impl: o.impl,
    ...(o.defect !== undefined && { defect: o.defect }),
    properties: new Set(o.properties),
    seed: o.seed,
    numRuns: runIndex + 1,
    ...(o.failRate && { failRate: o.failRate }),
  })
  const f = result.failure
  const cx = f && toCounterexample(f, { design: o.design, platform: f.platform, profile: o.profile, ...(o.defect !== undefined && { defect: o.defect }) })
  return { result, ...(cx && { cx }), pathDiffers: f !== undefined && f.path !== o.path }
}
