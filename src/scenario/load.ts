// Reading a scenario file: JSON → schema (schema.ts) → typed Scenario (types.ts), with every
// problem reported as one ScenarioError naming the file, the field and what is wrong.

import { resolveDesignStrict } from '../input/design.ts'
import { InputFileError, readJsonFile } from '../input/read.ts'
import { platformOverLimit, tooManySteps } from '../input/limits.ts'
import { excerpt } from '../input/text.ts'
import type { core } from 'zod'
import { OP_NAMES } from '../../models/ops.ts'
import type { OpName } from '../../models/ops.ts'
import { AXIS_NAMES, DesignError } from '../../models/design.ts'
import type { DesignSpec } from '../../models/design.ts'
import { DEFAULT_PLATFORM, PlatformError, checkPlatform } from '../../models/platform.ts'
import type { Platform } from '../../models/platform.ts'
import type { PropertyName } from '../check/executor.types.ts'
import { FAULT_POINTS } from '../../models/fault.ts'
import { FILE_KEYS, STEP_KEYS, U64_DEC_RE, U64_HEX_RE, argSpecs, scenarioFileSchema } from './schema.ts'
import type { ScenarioFile } from './schema.ts'
import { ScenarioError, fieldPath } from './error.ts'
import { isRef } from './types.ts'
import type { ArgValue, Expect, Scenario, ScenarioStep } from './types.ts'

export { ScenarioError } from './error.ts'

/** Read and validate a scenario file. Throws ScenarioError (unreadable, bad JSON, bad content). */
export function loadScenario(path: string): Scenario {
  let json: unknown
  try {
    // a regular file of bounded size, strict UTF-8, no duplicate keys (src/input/read.ts)
    json = readJsonFile(path, { what: 'scenario file' })
  } catch (e) {
    if (e instanceof InputFileError) throw new ScenarioError(path, e.at, e.detail)
    throw e
  }
  return parseScenario(json, path)
}

/** Validate an already-parsed JSON value; `sourceName` is what messages call it. */
export function parseScenario(json: unknown, sourceName: string): Scenario {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ScenarioError(sourceName, '', 'expected a JSON object with "name" and "steps"')
  const steps0 = (json as Record<string, unknown>).steps
  const many = Array.isArray(steps0) ? tooManySteps(steps0.length) : undefined
  if (many) throw new ScenarioError(sourceName, 'steps', many)
  const parsed = scenarioFileSchema.safeParse(json)
  if (!parsed.success) {
    const { field, detail } = describeIssue(parsed.error.issues[0], json)
    throw new ScenarioError(sourceName, field, detail)
  }
  const file = parsed.data as ScenarioFile
  const platform = (file.platform as Platform | undefined) ?? DEFAULT_PLATFORM
  try {
    checkPlatform(platform)
  } catch (e) {
    if (e instanceof PlatformError) {
      // checkPlatform says `devices[0].unit: …`; anchor that path at `platform.`.
      const m = /^([\w.[\]]+): (.*)$/.exec(e.message)
      throw m ? new ScenarioError(sourceName, `platform.${m[1]}`, m[2]) : new ScenarioError(sourceName, 'platform', e.message)
    }
    throw e
  }
  const over = platformOverLimit(platform)
  if (over) throw new ScenarioError(sourceName, `platform.${over[0]}`, over[1])
  const { profile, ...overrides } = (file.design ?? {}) as Record<string, string>
  const designSpec: DesignSpec = { profile, overrides }
  let design
  try {
    design = resolveDesignStrict(designSpec)
  } catch (e) {
    if (e instanceof DesignError) throw new ScenarioError(sourceName, 'design', e.message)
    throw e
  }
  const steps = file.steps.map((s, index) => convertStep(s as RawStep, index, sourceName))
  checkStaticBindings(steps, sourceName)
  return {
    name: file.name,
    ...(file.description !== undefined && { description: file.description }),
    expectViolations: (file.expectViolations ?? []) as PropertyName[],
    source: sourceName,
    platform,
    designSpec,
    design,
    steps,
  }
}

// ---- conversion (after the schema accepted the file) ----------------------------------------

interface RawStep {
  op: OpName
  args?: Record<string, unknown>
  as?: string
  expect?: string | { out: string | number }
  failNth?: number
}

/** "0x10", "16" or 16 → 16n; "$x" → { ref: "x" }. The schema has already checked the syntax. */
function toU64(v: unknown): bigint | { ref: string } {
  if (typeof v === 'string' && v.startsWith('$')) return { ref: v.slice(1) }
  return BigInt(v as string | number)
}

/** fidelity (issue 8): `{ "out": "vm0" }`, a string that is neither a u64 nor a "$name", is a
 *  string output (LIVEUPDATE_SESSION_GET_NAME's name) and stays a string. */
function expectOut(v: string | number): bigint | { ref: string } | string {
  if (typeof v === 'string' && !v.startsWith('$') && !U64_HEX_RE.test(v) && !U64_DEC_RE.test(v)) return v
  return toU64(v)
}

function convertStep(raw: RawStep, index: number, source: string): ScenarioStep {
  const specs = argSpecs(raw.op)
  const args: Record<string, ArgValue> = {}
  for (const [name, value] of Object.entries(raw.args ?? {})) {
    if (value === undefined) continue
    const kind = specs[name].kind
    if (kind === 'u64') args[name] = toU64(value)
    else if (kind === 'int' && typeof value === 'string') args[name] = { ref: value.slice(1) }
    else args[name] = value as ArgValue
  }
  const step: ScenarioStep = { index, op: raw.op, args }
  if (raw.as !== undefined) step.as = raw.as
  if (raw.expect !== undefined)
    step.expect = (typeof raw.expect === 'string' ? raw.expect : { out: expectOut(raw.expect.out) }) as Expect
  // issue 13: an op excluded from fault injection cannot be armed (models/fault.ts says why)
  if (raw.failNth !== undefined) {
    const point = FAULT_POINTS[raw.op]
    if (point.kind === 'excluded') throw new ScenarioError(source, `steps[${index}].failNth`, `${raw.op} is not fault-injectable: ${point.why}`)
    step.failNth = raw.failNth
  }
  return step
}

/** A "$name" must be bound by an `as` of an earlier step (whether that step succeeds is known
 *  only when the scenario runs: run.ts checks that part). */
function checkStaticBindings(steps: ScenarioStep[], source: string): void {
  const bound = new Set<string>()
  for (const s of steps) {
    const refs: [string, string][] = Object.entries(s.args).flatMap(([k, v]) =>
      isRef(v) ? [[`args.${k}`, v.ref] as [string, string]] : [],
    )
    if (typeof s.expect === 'object' && isRef(s.expect.out)) refs.push(['expect.out', s.expect.out.ref])
    for (const [field, name] of refs)
      if (!bound.has(name))
        throw new ScenarioError(source, `steps[${s.index}].${field}`, `$${name} is not bound by any earlier step ("as": "${name}")`)
    if (s.as !== undefined) bound.add(s.as)
  }
}

// ---- schema issues → one readable message ---------------------------------------------------

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root
  for (const p of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[p] : undefined
  return v
}

function opAt(root: unknown, path: readonly PropertyKey[]): OpName | undefined {
  const i = path.indexOf('steps')
  if (i < 0 || typeof path[i + 1] !== 'number') return undefined
  const op = valueAt(root, [...path.slice(0, i + 2), 'op'])
  return OP_NAMES.includes(op as OpName) ? (op as OpName) : undefined
}

const argList = (op: OpName) => {
  const names = Object.entries(argSpecs(op)).map(([n, s]) => (s.optional ? `${n}?` : n))
  return names.length ? `${op} takes ${names.join(', ')}` : `${op} takes no arguments`
}

function describeIssue(issue: core.$ZodIssue, root: unknown): { field: string; detail: string } {
  const path = issue.path
  const value = valueAt(root, path)
  const last = path[path.length - 1]

  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]
    const field = fieldPath([...path, key])
    const op = opAt(root, path)
    if (last === 'args' && op) return { field, detail: `unknown argument (${argList(op)})` }
    if (typeof last === 'number' && path[0] === 'steps')
      return { field, detail: `unknown key (a step has ${STEP_KEYS.join(', ')})` }
    if (path.length === 0) return { field, detail: `unknown key (a scenario has ${FILE_KEYS.join(', ')})` }
    if (last === 'design') return { field, detail: `unknown design axis (known: profile, ${AXIS_NAMES.join(', ')})` }
    return { field, detail: 'unknown key' }
  }
  // The discriminated union of steps reports a missing or unknown op at steps[i].op.
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    const field = fieldPath(path)
    if (value === undefined) return { field, detail: `missing (one of ${OP_NAMES.join(', ')})` }
    return { field, detail: `unknown op ${excerpt(value)} (known: ${OP_NAMES.join(', ')})` }
  }
  const field = fieldPath(path)
  if (value === null) return { field, detail: `null is not allowed (optional fields are left out, never null); ${issue.message}` }
  if (value === undefined) {
    const op = opAt(root, path)
    if (last === 'args' && op) return { field, detail: `missing (${argList(op)})` }
    return { field, detail: `missing; ${issue.message}` }
  }
  return { field, detail: issue.message }
}
