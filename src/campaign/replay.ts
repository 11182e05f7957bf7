// `luv replay`: a failure re-run without fast-check (a bundle folder, its scenario.json, or its
// trace.itf.json: stable across generator changes), or with it (seed + path: same luv and
// fast-check versions only).

import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DesignError, resolveDesign, type Design, type DesignSpec, type ProfileName } from '../../models/design.ts'
import { ERRNO_NAMES, type Errno, type Op } from '../../models/ops.ts'
import { DEFAULT_PLATFORM, type Platform } from '../../models/platform.ts'
import { runProperty, type PropertyRunResult } from '../../properties/run.ts'
import type { Executor, ImplChoice, PropertyName } from '../check/executor.types.ts'
import { ITF_FILE, SCENARIO_FILE } from '../report/common.ts'
import { toCounterexample } from '../report/from-failure.ts'
import { ItfError, parseItf, type ParsedItf } from '../report/itf.ts'
import type { Counterexample } from '../report/types.ts'
import { ScenarioError } from '../scenario/error.ts'
import { parseScenario } from '../scenario/load.ts'
import { runScenario, type ScenarioRun } from '../scenario/run.ts'
import type { ArgValue, Expect, Scenario, ScenarioStep } from '../scenario/types.ts'
import { InputError } from './errors.ts'
import { validatePlatform } from './options.ts'

/** What a trace file says about the failure it recorded (ITF #meta). */
export interface Recorded {
  property?: PropertyName
  divergenceIndex?: number
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
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function readJson(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(`${path}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)})`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new InputError(`${path}: invalid JSON: ${(e as Error).message}`)
  }
}

const looksLikeItf = (json: unknown) => isObj(json) && ('states' in json || 'vars' in json) && !('steps' in json)

/** A bundle folder, a scenario.json or an ITF trace → the scenario to run. */
export function loadReplayInput(path: string): ReplayInput {
  let isDir: boolean
  try {
    isDir = statSync(path).isDirectory()
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(`${path}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`)
  }
  if (isDir) {
    let names: string[]
    try {
      names = readdirSync(path)
    } catch (e) {
      throw new InputError(`${path}: cannot read the folder: ${(e as Error).message}`)
    }
    const itfPath = join(path, ITF_FILE)
    // the trace's #meta has what the scenario format has no field for (the defect, the property)
    const recorded = names.includes(ITF_FILE) ? recordedOf(itfPath) : {}
    if (names.includes(SCENARIO_FILE)) {
      const file = join(path, SCENARIO_FILE)
      return { kind: 'bundle', source: file, scenario: scenarioOf(readJson(file), file), recorded }
    }
    if (names.includes(ITF_FILE)) return { kind: 'bundle', ...fromItf(readJson(itfPath), itfPath) }
    throw new InputError(`${path}: not a bundle folder (no ${SCENARIO_FILE} or ${ITF_FILE} in it)`)
  }
  const json = readJson(path)
  if (looksLikeItf(json)) return { kind: 'itf', ...fromItf(json, path) }
  return { kind: 'scenario', source: path, scenario: scenarioOf(json, path), recorded: {} }
}

function scenarioOf(json: unknown, source: string): Scenario {
  try {
    return parseScenario(json, source)
  } catch (e) {
    if (e instanceof ScenarioError) throw new InputError(e.message)
    throw e
  }
}

/** The recorded facts of a bundle's trace, best effort (a bad trace beside a good scenario
 *  costs the defect and the comparison, not the replay). */
function recordedOf(itfPath: string): Recorded {
  try {
    return recordedMeta(parseItf(readFileSync(itfPath, 'utf8')))
  } catch {
    return {}
  }
}

function recordedMeta(p: ParsedItf): Recorded {
  const m = p.meta
  return {
    ...(m.property !== undefined && { property: m.property }),
    ...(m.divergenceIndex !== undefined && { divergenceIndex: m.divergenceIndex }),
    ...(m.defect !== undefined && { defect: m.defect }),
    ...(m.seed !== undefined && { seed: m.seed }),
    ...(m.path !== undefined && { path: m.path }),
  }
}

/** The `model::result` of a state as an `expect`. */
function expectOf(state: unknown, op: Op): Expect | undefined {
  const r = isObj(state) ? state['model::result'] : undefined
  if (!isObj(r)) return undefined
  if (r.tag === 'Err' && ERRNO_NAMES.includes(r.value as Errno)) return r.value as Errno
  if (r.tag === 'Fault') return 'fault'
  if (r.tag !== 'Ok') return undefined
  const v = r.value
  if (op.op === 'DMA' && isObj(v) && v.tag === 'Some' && isObj(v.value) && typeof v.value['#bigint'] === 'string')
    return { out: BigInt(v.value['#bigint']) }
  return 'ok'
}

function fromItf(json: unknown, source: string): Omit<ReplayInput, 'kind'> {
  let parsed: ParsedItf
  try {
    parsed = parseItf(json)
  } catch (e) {
    if (e instanceof ItfError) throw new InputError(`${source}: ${e.message}`)
    throw e
  }
  const meta = parsed.meta
  const rawPlatform = isObj(json) && isObj(json['#meta']) ? json['#meta'].platform : undefined
  const platform: Platform = rawPlatform === undefined ? DEFAULT_PLATFORM : validatePlatform(rawPlatform, `${source}: #meta.platform`)
  const { profile, ...overrides } = meta.design ?? {}
  const designSpec: DesignSpec = { ...(profile !== undefined && { profile }), overrides }
  let design: Design
  try {
    design = resolveDesign(designSpec)
  } catch (e) {
    if (e instanceof DesignError) throw new InputError(`${source}: #meta.design: ${e.message}`)
    throw e
  }
  const states = (json as { states: unknown[] }).states
  const steps: ScenarioStep[] = parsed.ops.map((op, i) => {
    const expect = expectOf(states[i + 1], op)
    return { index: i, op: op.op, args: op.args as Record<string, ArgValue>, ...(expect !== undefined && { expect }) }
  })
  const scenario: Scenario = {
    name: `${meta.property ?? 'trace'}-replay`,
    source,
    platform,
    designSpec,
    design,
    expectViolations: [],
    steps,
  }
  return { source, scenario, recorded: recordedMeta(parsed) }
}

export interface ReplayOutcome {
  run: ScenarioRun
  /** a property was violated or the implementations diverged */
  reproduced: boolean
  /** the first violated property and its step (0-based, as the trace prints it) */
  first?: { property: PropertyName | 'divergence'; step: number }
}

export function replayScenario(scenario: Scenario, executor: Executor): ReplayOutcome {
  const run = runScenario(scenario, { executor })
  let first: ReplayOutcome['first']
  for (const s of run.steps) {
    if (s.violations.length > 0) first = { property: s.violations[0].property, step: s.index }
    else if (s.diverged) first = { property: 'divergence', step: s.index }
    if (first) break
  }
  if (!first && run.finishViolations.length > 0) first = { property: run.finishViolations[0].property, step: run.steps.length - 1 }
  return { run, reproduced: first !== undefined, ...(first && { first }) }
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
}

export interface SeedReplayResult {
  result: PropertyRunResult
  cx?: Counterexample
  /** the path the re-run shrank to differs from the one given: the generators changed */
  pathDiffers: boolean
}

/** `--path` as fast-check writes it: `run:shrink:shrink…`. */
export function parsePath(path: string): number {
  if (!/^\d+(:\d+)*$/.test(path)) throw new InputError(`--path ${path.length > 40 ? path.slice(0, 37) + '...' : path}: expected fast-check's path, digits separated by ':'`)
  return Number(path.split(':')[0])
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
  })
  const f = result.failure
  const cx = f && toCounterexample(f, { design: o.design, platform: f.platform, profile: o.profile, ...(o.defect !== undefined && { defect: o.defect }) })
  return { result, ...(cx && { cx }), pathDiffers: f !== undefined && f.path !== o.path }
}
