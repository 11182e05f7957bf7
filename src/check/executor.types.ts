// The contract between the scenario runner / campaign and whatever executes ops: the model
// alone, the kernel implementation alone, or both side by side with conformance checked.

import type { Op, Result } from '../../models/ops.ts'
import type { Observation } from '../../models/observation.ts'
import type { State } from '../../models/state.ts'

export type ImplChoice = 'model' | 'kernel' | 'both'

/** A named property failed at this step (DESIGN.md §2.4 names). */
export interface Violation {
  property: PropertyName
  message: string
}

export type PropertyName =
  | 'conformance'
  | 'dma-continuity'
  | 'dma-safety'
  | 'ownership'
  | 'isolation'
  | 'atomicity'
  | 'recoverability'

export const PROPERTY_NAMES: readonly PropertyName[] = [
  'conformance',
  'dma-continuity',
  'dma-safety',
  'ownership',
  'isolation',
  'atomicity',
  'recoverability',
]

export interface StepOutcome {
  /** the model's result (or the kernel's when impl = kernel) */
  result: Result
  /** the kernel's result when impl = both */
  kernelResult?: Result
  violations: Violation[]
  /** observations after the step, for reports and diffs */
  observation: Observation
  kernelObservation?: Observation
  /** issue 13: the step ran with fail-nth n armed (models/fault.ts); `reached`: the kernel
   *  reached its n-th fault-injectable allocation, which failed */
  failNth?: { n: number; reached: boolean }
}

export interface Executor {
  readonly impl: ImplChoice
  step(op: Op): StepOutcome
  /** properties evaluated once at the end of a trace (e.g. recoverability's leak check) */
  finish(): Violation[]
  /** the model's current state (generators resolve their picks against it) */
  modelState(): State
  /** issue 13: run `op` with its n-th fault-injectable allocation failing (kernel-backed
   *  executors only). Not reached: an ordinary step. Reached: the model steps by
   *  models/fault.ts failedAllocation (-ENOMEM, state unchanged) and the kernel must agree. */
  stepFailNth?(op: Op, n: number): StepOutcome & { reached: boolean }
}
