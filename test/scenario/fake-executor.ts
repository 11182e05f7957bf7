// A scripted Executor for tests: records the ops it is given and answers from `respond`
// (default: DMA faults, every other op succeeds with the next number from 3, like fds).
// With impl 'both' the kernel gives the same result unless an Answer names another.

import type { Op, Result } from '../../models/ops.ts'
import type { Observation } from '../../models/observation.ts'
import type { Executor, ImplChoice, StepOutcome, Violation } from '../../src/check/executor.types.ts'

export interface Answer {
  result: Result
  kernelResult?: Result
  violations?: Violation[]
}

export interface FakeExecutor extends Executor {
  ops: Op[]
  finishCalls: number
}

// Nothing in src/scenario reads observations; a stand-in keeps the fake independent of the
// Observation shape, which the model work is still extending.
const EMPTY = {} as Observation

export function fakeExecutor(
  opts: { impl?: ImplChoice; respond?: (op: Op, n: number) => Result | Answer; finish?: Violation[] } = {},
): FakeExecutor {
  let next = 3
  const defaultRespond = (op: Op): Result =>
    op.op === 'DMA' ? { ok: false, fault: 'not-present' } : { ok: true, out: next++ }
  const ex: FakeExecutor = {
    impl: opts.impl ?? 'model',
    ops: [],
    finishCalls: 0,
    modelState() {
      throw new Error('the fake executor has no model state')
    },
    step(op: Op): StepOutcome {
      const a = (opts.respond ?? defaultRespond)(op, ex.ops.length)
      ex.ops.push(op)
      const answer: Answer = 'result' in a ? a : { result: a }
      // impl both: the kernel agrees unless the answer says otherwise.
      const kernelResult = answer.kernelResult ?? (ex.impl === 'both' ? answer.result : undefined)
      return {
        result: answer.result,
        ...(kernelResult && { kernelResult }),
        violations: answer.violations ?? [],
        observation: EMPTY,
      }
    },
    finish() {
      ex.finishCalls++
      return opts.finish ?? []
    },
  }
  return ex
}
