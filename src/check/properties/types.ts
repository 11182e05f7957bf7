// What a property predicate sees: one step of a model trace.

import type { Op, Result } from '../../../models/ops.ts'
import type { State } from '../../../models/state.ts'

export interface TraceStep {
  prev: State
  op: Op
  result: Result
  next: State
  /** intermediate hardware states inside the op (a teardown-then-setup replace's window) */
  transient: State[]
}

/** A property predicate: messages describing each violation at this step (empty: it holds). */
export type StepPredicate = (t: TraceStep) => string[]
