// fast-check commands for every op, built from the op-spec table (ops.ts), plus the guided
// step (guide.ts). Each command carries only picks; it resolves them against the model's
// state when it runs, applies the op through an Executor (model, or model + kernel with
// conformance), and throws a PropertyFailure on the first violated property. `toString`
// prints the resolved op in kernel vocabulary, so a counterexample reads like a kselftest.

import fc from 'fast-check'
import type { Op, OpName } from '../models/ops.ts'
import { opToString, resultToString } from '../models/ops.ts'
import type { State } from '../models/state.ts'
import type { Executor, PropertyName, StepOutcome, Violation } from '../src/check/executor.types.ts'
import { nextFlowStep } from './guide.ts'
import { OP_NAMES, RESOLVE, WEIGHTS } from './ops.ts'
import { PICKS, PICK_MAX, Picker } from './picker.ts'
import { faultArmable, failNthOf, withFailNth } from '../models/fault.ts'

/** What a run drives: an executor and the model state the picks resolve against. */
export interface Real {
  exec: Executor
  /** the model state before the next command (resolution reads it) */
  state(): State
  /** every step of this run, for reports and statistics */
  trace: { op: Op; outcome: StepOutcome }[]
}

export class PropertyFailure extends Error {
  constructor(
    readonly violation: Violation,
    readonly stepIndex: number,
    readonly op: Op,
    readonly outcome: StepOutcome,
  ) {
    super(`${violation.property}: ${violation.message}\n  at step ${stepIndex + 1}: ${opToString(op)} = ${resultToString(outcome.result)}`)
    this.name = 'PropertyFailure'
  }
}

type Model = Record<string, never>

export class LuvCommand implements fc.Command<Model, Real> {
  private resolved?: Op
  constructor(
    readonly kind: OpName | 'GUIDE',
    readonly picks: readonly number[],
    /** issue 13: fail the n-th fault-injectable allocation of this step's op (models/fault.ts);
     *  shrinking can drop it, so a shrunk counterexample shows whether the fault matters */
    readonly failNth?: number,
  ) {}
  check(): boolean {
    return true
  }
  run(_m: Model, r: Real): void {
    const s = r.state()
    const p = new Picker(this.picks)
    const resolved = this.kind === 'GUIDE' ? nextFlowStep(s, p) : RESOLVE[this.kind](s, p)
    // an op excluded from injection (models/fault.ts FAULT_POINTS) runs unarmed; an armed one
    // carries failNth into the trace, and the executor's step honours it (src/check/failnth.ts)
    const op = this.failNth !== undefined && faultArmable(resolved) ? withFailNth(resolved, this.failNth) : resolved
    this.resolved = op
    const outcome = r.exec.step(op)
    r.trace.push({ op, outcome })
    const v = outcome.violations[0]
    if (v) throw new PropertyFailure(v, r.trace.length - 1, op, outcome)
  }
  toString(): string {
    const n = this.resolved ? failNthOf(this.resolved) : this.failNth
    const fault = n !== undefined ? ` [fail-nth ${n}]` : ''
    return (this.resolved ? opToString(this.resolved) : `${this.kind}(picks=${this.picks.join(',')})`) + fault
  }
}

export interface CommandOptions {
  /** how many ops a run has at most */
  maxCommands?: number
  /** weight of the guided step relative to the sum of op weights (default: as heavy as all ops) */
  guideWeight?: number
  /** ops this run may generate (swarm testing: a run draws a subset) */
  enabled?: readonly OpName[]
  /** issue 13: the fraction of steps given a random fail-nth 1..FAIL_NTH_MAX (0 or left out:
   *  none, and generation draws exactly what it drew before fault injection existed) */
  failRate?: number
}

/** The largest n a generated fail-nth takes: the kernel's ops reach at most a few allocation
 *  points each (luv failnth over the committed scenarios: 7 at most, an attach). */
export const FAIL_NTH_MAX = 8

/** undefined (no fault) with probability 1 - rate, else n: 1 or 2 for 3 faults in 5 (most
 *  ops reach one or two points: an object id, a page), up to FAIL_NTH_MAX for the rest (an
 *  attach or HWPT allocation reaches more). Shrinks towards undefined (no fault), then n = 1. */
function failNthArb(rate: number): fc.Arbitrary<number | undefined> {
  const w = Math.round(rate * 10_000)
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 10_000 - w, arbitrary: fc.constant(undefined) },
    { weight: Math.round(w * 0.6), arbitrary: fc.integer({ min: 1, max: 2 }) },
    { weight: w - Math.round(w * 0.6), arbitrary: fc.integer({ min: 1, max: FAIL_NTH_MAX }) },
  )
}

const picksArb = fc.array(fc.nat(PICK_MAX - 1), { minLength: PICKS, maxLength: PICKS })

/** The arbitrary of one kind of command at one fail rate. Arbitraries are immutable, so each is
 *  built once and shared by every run's commandArb (issue 12: swarmArb builds a commandArb per
 *  run: about 640 bytes of a step's ~32 KB allocation went on building them); a shared one
 *  draws what a new one would. */
const kindArbs = new Map<number, Map<OpName | 'GUIDE', fc.Arbitrary<LuvCommand>>>()
function kindArb(kind: OpName | 'GUIDE', rate: number): fc.Arbitrary<LuvCommand> {
  let byKind = kindArbs.get(rate)
  if (byKind === undefined) kindArbs.set(rate, (byKind = new Map()))
  let a = byKind.get(kind)
  if (a === undefined) {
    a = rate > 0 ? fc.tuple(picksArb, failNthArb(rate)).map(([p, n]) => new LuvCommand(kind, p, n)) : picksArb.map((p) => new LuvCommand(kind, p))
    byKind.set(kind, a)
  }
  return a
}

/** The arbitrary of one command: weighted op kinds and the guided step. */
export function commandArb(opts: CommandOptions = {}): fc.Arbitrary<LuvCommand> {
  const enabled = opts.enabled ?? OP_NAMES
  const total = enabled.reduce((n, o) => n + WEIGHTS[o], 0)
  const rate = opts.failRate ?? 0
  const arbs = [
    { weight: opts.guideWeight ?? total, arbitrary: kindArb('GUIDE', rate) },
    ...enabled.map((o) => ({ weight: WEIGHTS[o], arbitrary: kindArb(o, rate) })),
  ]
  return fc.oneof(...arbs)
}

/** Swarm testing (Hypothesis FeatureStrategy): each run disables a random few op kinds, so
 *  runs differ in mix; KEXEC, DMA and the LUO path always stay on. */
export const ALWAYS_ON: readonly OpName[] = ['KEXEC', 'DMA', 'LIVEUPDATE_SESSION_PRESERVE_FD']

export function swarmArb(opts: CommandOptions = {}): fc.Arbitrary<Iterable<fc.Command<Model, Real>>> {
  return fc
    .subarray(OP_NAMES.filter((o) => !ALWAYS_ON.includes(o)) as OpName[], { minLength: 0, maxLength: 6 })
    .chain((off) =>
      // how strongly this run follows the documented flow, relative to all random ops
      fc.constantFrom(0.5, 2, 6).chain((guide) => {
        const enabled = OP_NAMES.filter((o) => !off.includes(o))
        const total = enabled.reduce((n, o) => n + WEIGHTS[o], 0)
        return fc.commands([commandArb({ ...opts, enabled, guideWeight: opts.guideWeight ?? Math.round(guide * total) })], {
          maxCommands: opts.maxCommands ?? 80,
          size: 'max',
        })
      }),
    )
}

export function emptyModel(): Model {
  return {}
}

/** Run a generated command list on `exec` as fc.modelRun would, up to the first property
 *  failure; returns the steps it took (op and outcome each). For tests and benches that replay
 *  generated runs outside fast-check. */
export function runCommands(cmds: Iterable<fc.Command<Model, Real>>, exec: Executor): Real['trace'] {
  const real: Real = { exec, state: () => exec.modelState(), trace: [] }
  for (const c of cmds) {
    try {
      c.run({}, real)
    } catch (e) {
      if (!(e instanceof PropertyFailure)) throw e
      break
    }
  }
  return real.trace
}

export type { PropertyName }
