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
  ) {}
  check(): boolean {
    return true
  }
  run(_m: Model, r: Real): void {
    const s = r.state()
    const p = new Picker(this.picks)
    const op = this.kind === 'GUIDE' ? nextFlowStep(s, p) : RESOLVE[this.kind](s, p)
    this.resolved = op
    const outcome = r.exec.step(op)
    r.trace.push({ op, outcome })
    const v = outcome.violations[0]
    if (v) throw new PropertyFailure(v, r.trace.length - 1, op, outcome)
  }
  toString(): string {
    return this.resolved ? opToString(this.resolved) : `${this.kind}(picks=${this.picks.join(',')})`
  }
}

export interface CommandOptions {
  /** how many ops a run has at most */
  maxCommands?: number
  /** weight of the guided step relative to the sum of op weights (default: as heavy as all ops) */
  guideWeight?: number
  /** ops this run may generate (swarm testing: a run draws a subset) */
  enabled?: readonly OpName[]
}

const picksArb = fc.array(fc.nat(PICK_MAX - 1), { minLength: PICKS, maxLength: PICKS })

/** The arbitrary of one command: weighted op kinds and the guided step. */
export function commandArb(opts: CommandOptions = {}): fc.Arbitrary<LuvCommand> {
  const enabled = opts.enabled ?? OP_NAMES
  const total = enabled.reduce((n, o) => n + WEIGHTS[o], 0)
  const arbs = [
    { weight: opts.guideWeight ?? total, arbitrary: picksArb.map((p) => new LuvCommand('GUIDE', p)) },
    ...enabled.map((o) => ({ weight: WEIGHTS[o], arbitrary: picksArb.map((p) => new LuvCommand(o, p)) })),
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

export type { PropertyName }
