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

/** A property predicate: messages describing each violation at this step (empty: it holds).
 *  Read-only: a predicate may hand back a list it keeps (a memoised state-wide check). */
export type StepPredicate = (t: TraceStep) => readonly string[]
