// Walking a scenario through an Executor: resolve "$name" arguments against earlier bindings,
// run each op, check its `expect`, collect property violations, and finish. Pure apart from
// the executor: no printing (print.ts renders the ScenarioRun this returns).

import { err, resultToString, sameResult } from '../../models/ops.ts'
import type { Op, Result } from '../../models/ops.ts'
import type { Executor, ImplChoice, PropertyName, Violation } from '../check/executor.types.ts'
import { ScenarioError } from './error.ts'
import { U64_MAX, argSpecs } from './schema.ts'
import { isRef } from './types.ts'
import { withFailNth } from '../../models/fault.ts'
import type { Expect, Scenario, ScenarioStep } from './types.ts'

/** An `expect` with its "$name" resolved. */
export type ResolvedExpect = Expect<bigint | string>

export interface StepRecord {
  index: number
  /** the op as executed, references resolved */
  op: Op
  /** the model's result (the kernel's when impl = kernel) */
  result: Result
  /** the kernel's result when impl = both */
  kernelResult?: Result
  expect?: ResolvedExpect
  /** the expectation holds for every result (true when there is no `expect`) */
  expectOk: boolean
  /** impl = both and the two results differ */
  diverged: boolean
  violations: Violation[]
  /** the name this step bound and the value it got */
  bound?: { name: string; value: number | bigint }
  /** issue 13: the step ran with fail-nth n armed; reached: its n-th allocation failed */
  failNth?: { n: number; reached: boolean }
}

export interface ScenarioRun {
  name: string
  source: string
  impl: ImplChoice
  steps: StepRecord[]
  finishViolations: Violation[]
  /** properties the scenario declares it violates on purpose (expectViolations) */
  expected: PropertyName[]
  /** violated properties the scenario did not declare in expectViolations */
  unexpected: PropertyName[]
  /** declared expectViolations that no step violated */
  missing: PropertyName[]
  passed: boolean
}

export interface RunOptions {
  executor: Executor
}

/** A "$name" was unbound when a step needed it; `partial` holds the steps run before. */
export class UnboundNameError extends ScenarioError {
  constructor(
    source: string,
    field: string,
    detail: string,
    readonly partial: ScenarioRun,
  ) {
    super(source, field, detail)
    this.name = 'UnboundNameError'
  }
}

/** What a name is bound to, or why it is not (the step that was to bind it failed). */
type Binding = { value: number | bigint } | { unbound: string }

export function runScenario(scenario: Scenario, { executor }: RunOptions): ScenarioRun {
  const run: ScenarioRun = {
    name: scenario.name,
    source: scenario.source,
    impl: executor.impl,
    steps: [],
    finishViolations: [],
    expected: [...scenario.expectViolations],
    unexpected: [],
    missing: [],
    passed: false,
  }
  const bindings = new Map<string, Binding>()
  const lookup = (step: ScenarioStep, field: string, name: string): number | bigint => {
    const b = bindings.get(name)
    if (b && 'value' in b) return b.value
    const why = b ? b.unbound : 'it is not bound by any earlier step'
    throw new UnboundNameError(scenario.source, `steps[${step.index}].${field}`, `$${name} is unbound: ${why}`, run)
  }

  for (const step of scenario.steps) {
    // issue 13: a "failNth" step's op carries it; kernel-backed executors honour it
    const op = withFailNth(resolveOp(scenario.source, step, lookup), step.failNth)
    const expect = resolveExpect(step, lookup)
    const outcome = executor.step(op)
    const results = outcome.kernelResult ? [outcome.result, outcome.kernelResult] : [outcome.result]
    const record: StepRecord = {
      index: step.index,
      op,
      result: outcome.result,
      ...(outcome.kernelResult && { kernelResult: outcome.kernelResult }),
      ...(expect !== undefined && { expect }),
      expectOk: expect === undefined || results.every((r) => expectMatches(expect, r)),
      diverged: outcome.kernelResult !== undefined && !sameResult(outcome.result, outcome.kernelResult),
      violations: outcome.violations,
      ...(step.failNth !== undefined && { failNth: outcome.failNth ?? { n: step.failNth, reached: false } }),
    }
    if (step.as !== undefined) {
      // The model's result binds (it is the reference); a divergence is reported on its own.
      const r = outcome.result
      if (r.ok && r.out !== undefined) {
        bindings.set(step.as, { value: r.out })
        record.bound = { name: step.as, value: r.out }
      } else {
        const what = r.ok ? 'returned no output' : `failed with ${resultToString(r)}`
        bindings.set(step.as, { unbound: `steps[${step.index}] (${step.op}), which binds it, ${what}` })
      }
    }
    run.steps.push(record)
  }
  run.finishViolations = executor.finish()
  const violated = new Set([...run.steps.flatMap((s) => s.violations), ...run.finishViolations].map((v) => v.property))
  const wanted = new Set(scenario.expectViolations)
  run.unexpected = [...violated].filter((p) => !wanted.has(p))
  run.missing = [...wanted].filter((p) => !violated.has(p))
  run.passed = run.unexpected.length === 0 && run.missing.length === 0 && run.steps.every((s) => s.expectOk && !s.diverged)
  return run
}

/** Does a result satisfy an expectation? "ok" ignores the output; {out} needs ok with that out. */
export function expectMatches(expect: ResolvedExpect, r: Result): boolean {
  if (expect === 'ok') return r.ok
  if (expect === 'fault') return 'fault' in r
  if (typeof expect === 'string') return sameResult(r, err(expect))
  // fidelity (issue 8): a string output (GET_NAME) is Result.text
  if (typeof expect.out === 'string') return r.ok && 'text' in r && r.text === expect.out
  return r.ok && r.out !== undefined && BigInt(r.out) === expect.out
}

type Lookup = (step: ScenarioStep, field: string, name: string) => number | bigint

function resolveOp(source: string, step: ScenarioStep, lookup: Lookup): Op {
  const specs = argSpecs(step.op)
  const args: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(step.args)) {
    const field = `args.${name}`
    if (!isRef(value)) {
      args[name] = value
      continue
    }
    const v = lookup(step, field, value.ref)
    args[name] = convertBound(source, step, field, value.ref, v, specs[name]?.kind === 'u64')
  }
  // The schema checked each argument's kind for this op, so the pair is a well-formed Op.
  return { op: step.op, args } as Op
}

/** A bound output used as an argument: an fd/id must be a safe integer, a u64 must fit. */
function convertBound(source: string, step: ScenarioStep, field: string, name: string, v: number | bigint, u64: boolean) {
  if (u64) {
    const b = BigInt(v)
    if (b < 0n || b > U64_MAX) throw new ScenarioError(source, `steps[${step.index}].${field}`, `$${name} = ${v} is not a u64`)
    return b
  }
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ScenarioError(source, `steps[${step.index}].${field}`, `$${name} = ${v} is not a non-negative safe integer`)
  return n
}

function resolveExpect(step: ScenarioStep, lookup: Lookup): ResolvedExpect | undefined {
  const e = step.expect
  if (e === undefined || typeof e === 'string') return e
  return { out: isRef(e.out) ? BigInt(lookup(step, 'expect.out', e.out.ref)) : e.out }
}
