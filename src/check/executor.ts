// Executors: run ops on the model (always: it is the spec the properties are checked on),
// on the kernel implementation, or on both with conformance checked after every step.

import { initState, observe, step } from '../../models/index.ts'
import type { Design } from '../../models/design.ts'
import type { Op } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import type { State } from '../../models/state.ts'
import type { Observation } from '../../models/observation.ts'
import type { Executor, ImplChoice, PropertyName, StepOutcome, Violation } from './executor.types.ts'
import { checkStep } from './properties/index.ts'

export interface ExecutorOptions {
  impl: ImplChoice
  defect?: string
  /** which properties to evaluate (default: all) */
  properties?: ReadonlySet<PropertyName>
  /** kernel invariants swept at every step (perfkernel's; declared here by the campaign helper for --paranoid) */
  paranoid?: boolean
}

export class UsageError extends Error {}

/** The model-only executor; the kernel and both executors wrap it (src/check/conformance.ts). */
export class ModelExecutor implements Executor {
  readonly impl: ImplChoice = 'model'
  state: State
  constructor(
    platform: Platform,
    design: Design,
    private readonly props?: ReadonlySet<PropertyName>,
  ) {
    this.state = initState(platform, design)
  }
  step(op: Op): StepOutcome {
    const prev = this.state
    const s = step(prev, op)
    this.state = s.state
    const violations: Violation[] = checkStep({ prev, op, result: s.result, next: s.state, transient: s.transient }, this.props)
    // observed only when someone reads it (reports do; a campaign's hot loop does not)
    let obs: Observation | undefined
    const next = s.state
    return {
      result: s.result,
      violations,
      get observation() {
        return (obs ??= observe(next))
      },
    }
  }
  finish(): Violation[] {
    return []
  }
  modelState(): State {
    return this.state
  }
}

type KernelFactory = (platform: Platform, design: Design, opts: ExecutorOptions) => Executor
let kernelFactory: KernelFactory | undefined

/** src/check/conformance.ts registers the kernel-backed executors here. */
export function registerKernelExecutor(f: KernelFactory): void {
  kernelFactory = f
}

export function createExecutor(platform: Platform, design: Design, opts: ExecutorOptions): Executor {
  if (opts.impl === 'model') {
    if (opts.defect) throw new UsageError('--defect needs the kernel implementation (--impl kernel or both)')
    return new ModelExecutor(platform, design, opts.properties)
  }
  if (!kernelFactory) throw new UsageError(`--impl ${opts.impl}: the kernel implementation is not built into this version`)
  return kernelFactory(platform, design, opts)
}
