// The kernel-backed executors: `kernel` (the kernel implementation's results are the ones
// expectations see; properties are still evaluated on the model run alongside, because the
// model is the spec) and `both` (conformance: results and observations equal after every
// step, and every intermediate hardware state of an op translates the probes the same way).

import { isDeepStrictEqual } from 'node:util'
import { initState, observe, step, liveProbes, sortProbes, translations } from '../../models/index.ts'
import type { Design } from '../../models/design.ts'
import type { Observation, Probe, Translation } from '../../models/observation.ts'
import { hex, opToString, resultToString, sameResult, type Op } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import type { State } from '../../models/state.ts'
import { Kernel } from '../kernel/index.ts'
import type { Executor, ImplChoice, StepOutcome, Violation } from './executor.types.ts'
import { registerKernelExecutor, UsageError, type ExecutorOptions } from './executor.ts'
import { checkStep } from './properties/index.ts'
import { DEFECT_NAMES } from '../kernel/defects/index.ts'

/** The first difference between two observations, as a path and both values. */
export function firstDifference(model: Observation, kernel: Observation): string | undefined {
  const walk = (a: unknown, b: unknown, path: string): string | undefined => {
    if (isDeepStrictEqual(a, b)) return undefined
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b))
      return `${path}: model ${show(a)}, kernel ${show(b)}`
    if (Array.isArray(a) && Array.isArray(b) && path === 'translations') return translationDiff(a as Translation[], b as Translation[])
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    for (const k of keys) {
      const d = walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k)
      if (d) return d
    }
    return `${path}: model ${show(a)}, kernel ${show(b)}`
  }
  return walk(model, kernel, '')
}

function translationDiff(a: Translation[], b: Translation[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i]
    const y = b[i]
    if (!x || !y || x.pa !== y.pa || x.iova !== y.iova || x.bdf !== y.bdf || x.pasid !== y.pasid) {
      const p = x ?? y
      return `translation of ${p.bdf} pasid ${p.pasid} iova ${hex(p.iova)}: model ${x?.pa == null ? 'fault' : hex(x.pa)}, kernel ${y?.pa == null ? 'fault' : hex(y.pa)}`
    }
  }
  return 'translations differ'
}

const show = (v: unknown): string =>
  v === undefined ? 'absent' : typeof v === 'bigint' ? hex(v) : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? hex(x) : x))

export class KernelExecutor implements Executor {
  readonly impl: ImplChoice
  model: State
  readonly kernel: Kernel
  constructor(
    platform: Platform,
    design: Design,
    private readonly opts: ExecutorOptions,
  ) {
    this.impl = opts.impl
    this.model = initState(platform, design)
    this.kernel = new Kernel(platform, design, { defect: opts.defect })
  }

  step(op: Op): StepOutcome {
    const prev = this.model
    // probe the IOVAs both sides consider live, before and after: a stale translation left
    // behind by the kernel shows up even where the model has nothing mapped any more
    const before = sortProbes([...liveProbes(prev), ...this.kernel.liveProbes()])
    const m = step(prev, op)
    const k = this.kernel.apply(op, before)
    this.model = m.state
    const probes = sortProbes([...before, ...liveProbes(m.state), ...this.kernel.liveProbes()])
    const modelObs = observe(m.state, probes)
    const kernelObs = this.kernel.observe(probes)
    const violations: Violation[] = checkStep({ prev, op, result: m.result, next: m.state, transient: m.transient }, this.opts.properties)
    if (this.impl === 'both' && (!this.opts.properties || this.opts.properties.has('conformance'))) {
      if (!sameResult(m.result, k.result))
        violations.push({ property: 'conformance', message: `${opToString(op)}: the kernel returned ${resultToString(k.result)}, the model ${resultToString(m.result)}` })
      const diff = firstDifference(modelObs, kernelObs)
      if (diff) violations.push({ property: 'conformance', message: `after ${op.op}: ${diff}` })
      const modelMid = m.transient.map((s) => translations(s, before))
      if (!isDeepStrictEqual(modelMid, k.transient))
        violations.push({
          property: 'conformance',
          message: `${op.op}: intermediate hardware states differ (model ${modelMid.length}, kernel ${k.transient.length}): ${transientDiff(modelMid, k.transient)}`,
        })
      for (const message of this.kernel.invariants()) violations.push({ property: 'isolation', message: `kernel: ${message}` })
    }
    return this.impl === 'kernel'
      ? { result: k.result, violations, observation: kernelObs }
      : { result: m.result, kernelResult: k.result, violations, observation: modelObs, kernelObservation: kernelObs }
  }

  finish(): Violation[] {
    return []
  }
  modelState(): State {
    return this.model
  }
}

function transientDiff(a: Translation[][], b: Translation[][]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (!a[i] || !b[i]) return `state ${i + 1} exists only in the ${a[i] ? 'model' : 'kernel'}`
    if (!isDeepStrictEqual(a[i], b[i])) return `state ${i + 1}: ${translationDiff(a[i], b[i])}`
  }
  return 'none'
}

registerKernelExecutor((platform, design, opts) => {
  if (opts.defect !== undefined && !DEFECT_NAMES.includes(opts.defect))
    throw new UsageError(`unknown defect '${opts.defect}' (luv defects lists them: ${DEFECT_NAMES.join(', ')})`)
  return new KernelExecutor(platform, design, opts)
})

export type { Probe }
