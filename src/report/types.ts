// The typed counterexample every renderer in src/report/ reads. The campaign (or a replay)
// fills it from the executor's StepOutcomes; renderers are pure functions of it.

import type { Design } from '../../models/design.ts'
import type { Observation } from '../../models/observation.ts'
import type { Op, Result } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import type { PropertyName, Violation } from '../check/executor.types.ts'
import type { Observable } from './probe.ts'

export interface CounterexampleStep {
  /** the step's 0-based index in the scenario's `steps` ("step N" everywhere) */
  index: number
  op: Op
  /** the model's result */
  model: Result
  /** the kernel implementation's result, when both ran */
  kernel?: Result
  violations: Violation[]
  /** observations after the step */
  model_obs?: Observation
  kernel_obs?: Observation
  /** issue 13: the step ran with fail-nth n armed (its op carries it); reached: the kernel's
   *  n-th allocation failed */
  failNth?: { n: number; reached: boolean }
}

export interface Counterexample {
  /** the property that failed first */
  property: PropertyName
  /** the failure's one-line description */
  message: string
  design: Design
  profile: string
  /** e.g. "lpc2025 ownership=strict" (models/design.ts describeDesign) */
  designLabel: string
  platform: Platform
  seed?: number
  path?: string
  defect?: string
  /** 0-based index of the step where the state first diverged (the property's first violation) */
  divergenceIndex: number
  steps: CounterexampleStep[]
  /** how the last step shows the failure (set when the kernel ran beside the model) */
  observable?: Observable
  versions: { luv: string; node: string; fastCheck: string; gitRev?: string }
  /** the only field allowed to differ between identical runs */
  timestamp?: string
  /** observation before step 1 (ITF state 0, diff of step 1); empty when left out */
  initial_obs?: Observation
  initial_kernel_obs?: Observation
  // --- shrink budget (issue 12, campaign helper) ---
  /** how the trace was shrunk (campaign bundles); `seconds` is timing, like `timestamp` */
  shrink?: ShrinkReport
  // --- end shrink budget ---
}

// --- shrink budget (issue 12, campaign helper) ---
export interface ShrinkReport {
  /** shrink candidates run (fast-check's shrinker, then delta debugging) */
  tried: number
  /** shrinks fast-check kept */
  kept: number
  /** candidates not run again (the same command list had passed already) */
  skipped?: number
  /** the budget ran out: the smallest failing trace found so far, not a minimal one */
  budgetSpent: boolean
  /** the budget, in ms (--shrink-budget), when one was set */
  budgetMs?: number
  /** ops of the failing run as generated, and of the shrunk trace */
  originalLength: number
  finalLength: number
  seconds: number
}
// --- end shrink budget ---
