// Phrases and look-ups the renderers share, so report.md, email.txt and the bucket title
// describe a failure with the same words.

import { AXIS_NAMES, PROFILES, type Axis } from '../../models/design.ts'
import type { Observation } from '../../models/observation.ts'
import { hex, resultToString, type Result } from '../../models/ops.ts'
import type { Counterexample, CounterexampleStep } from './types.ts'
import { opToString, type Op } from '../../models/ops.ts'
import { failNthOf } from '../../models/fault.ts'

/** issue 13: an op as the step lists show it, a faulted step marked with its fail-nth
 *  (`IOMMU_HWPT_ALLOC(...) [fail-nth 2]`). */
export function stepOpText(op: Op): string {
  const n = failNthOf(op)
  return n === undefined ? opToString(op) : `${opToString(op)} [fail-nth ${n}]`
}

export const ITF_FILE = 'trace.itf.json'
export const SCENARIO_FILE = 'scenario.json'

/** True when the kernel implementation ran beside the model (impl = both). */
export const kernelRan = (cx: Counterexample): boolean => cx.steps.some((s) => s.kernel !== undefined)

/** The step the counterexample diverges at (the last one if the index is out of range). */
export function divergingStep(cx: Counterexample): CounterexampleStep {
  const s = cx.steps.find((x) => x.index === cx.divergenceIndex) ?? cx.steps[cx.steps.length - 1]
  if (!s) throw new Error('luv internal error: a counterexample without steps')
  return s
}

/**
 * The step that shows the failure: the last one when the probe search ran (the diverging
 * step itself, or the end of the probe appended after it), else the diverging step.
 */
export function observingStep(cx: Counterexample): CounterexampleStep {
  if (cx.observable !== undefined && cx.observable.kind !== 'state-only') return cx.steps[cx.steps.length - 1]
  return divergingStep(cx)
}

/** `ok`, an errno name or `fault`: the part of a result that is stable across runs. */
export function resultClass(r: Result): string {
  if ('errno' in r) return r.errno
  if ('fault' in r) return 'fault'
  return 'ok'
}

/** "succeeds", "returns -EPERM", "faults (not-present)", "reaches PA 0x3000". */
export function outcome(r: Result, dma: boolean): string {
  if ('errno' in r) return `returns -${r.errno}`
  if ('fault' in r) return `faults (${r.fault})`
  if (dma && r.out !== undefined) return `reaches PA ${hex(r.out)}`
  return 'succeeds'
}

export const resultsDiffer = (s: CounterexampleStep): boolean =>
  s.kernel !== undefined && resultToString(s.kernel) !== resultToString(s.model)

/** " after KEXEC" when a KEXEC succeeded before the diverging step. */
function afterKexec(cx: Counterexample, at: CounterexampleStep): string {
  const n = cx.steps.filter((s) => s.index < at.index && s.op.op === 'KEXEC' && s.model.ok).length
  return n === 0 ? '' : n === 1 ? ' after KEXEC' : ` after ${n} KEXECs`
}

/**
 * The report's title sentence, from the step that shows the failure, e.g. "ownership:
 * VFIO_DEVICE_BIND_IOMMUFD after KEXEC returns -EPERM in the kernel where the model succeeds".
 */
export function titleSentence(cx: Counterexample): string {
  const s = observingStep(cx)
  const div = divergingStep(cx)
  const dma = s.op.op === 'DMA'
  const head = `${cx.property}: ${s.op.op}${afterKexec(cx, s)}`
  const after = s.index !== div.index ? ` (the state diverged at step ${div.index}, ${div.op.op})` : ''
  if (s.kernel !== undefined && resultsDiffer(s)) {
    let [k, m] = [outcome(s.kernel, dma), outcome(s.model, dma)]
    if (k === m) [k, m] = [`returns ${resultToString(s.kernel)}`, `returns ${resultToString(s.model)}`]
    return `${head} ${k} in the kernel where the model ${m}${after}`
  }
  // a property judged on the model's state (a design finding: model and kernel agree) is named
  // by its own message; only conformance has a kernel state that differs from the model's
  if (s.kernel !== undefined && cx.property !== 'conformance') return `${cx.property}: after ${div.op.op}${afterKexec(cx, div)}: ${cx.message.split('\n')[0]}`
  if (s.kernel !== undefined) return `${cx.property}: after ${div.op.op}${afterKexec(cx, div)} the kernel's state differs from the model's, and no call luv tried shows it`
  return `${head} ${outcome(s.model, dma)}`
}

/**
 * The syzbot-like title failures are grouped by: property, diverging op, the op that shows
 * it and its result classes, no numbers. "ownership: KEXEC then VFIO_DEVICE_BIND_IOMMUFD
 * kernel=EPERM model=ok".
 */
export function bucketTitle(cx: Counterexample): string {
  const s = observingStep(cx)
  const div = divergingStep(cx)
  const head = `${cx.property}: ${div.op.op}${s.index !== div.index ? ` then ${s.op.op}` : ''}`
  if (s.kernel !== undefined && resultClass(s.kernel) !== resultClass(s.model))
    return `${head} kernel=${resultClass(s.kernel)} model=${resultClass(s.model)}`
  if (s.kernel !== undefined && resultsDiffer(s)) return `${head} kernel!=model ${resultClass(s.model)}`
  if (s.kernel !== undefined && cx.observable?.kind === 'state-only') return `${head} state-only`
  return `${head} ${resultClass(s.model)}`
}

/** The axes where the design differs from its profile (all axes for an unknown profile). */
export function designOverrides(cx: Counterexample): [Axis, string][] {
  const base = (PROFILES as Record<string, { design: Record<Axis, string> } | undefined>)[cx.profile]?.design
  return AXIS_NAMES.filter((a) => base === undefined || base[a] !== cx.design[a]).map((a) => [a, cx.design[a]])
}

/** `--profile P --set AXIS=OPTION ... [--defect NAME]` for the command line. */
export function designFlags(cx: Counterexample): string {
  const parts = [`--profile ${cx.profile}`, ...designOverrides(cx).map(([a, o]) => `--set ${a}=${o}`)]
  if (cx.defect) parts.push(`--defect ${cx.defect}`)
  return parts.join(' ')
}

export const seedText = (seed: number): string => `${seed} (0x${(seed >>> 0).toString(16)})`

export const EMPTY_OBSERVATION: Observation = {
  boot: 0,
  translations: [],
  owners: {},
  luo: { open: false, outgoing: [], incoming: [] },
  fds: {},
  memory: { usedPages: 0, tablePages: 0 },
  iommufds: {},
}

/** The observations before each step: [initial, after step 1, ...] shifted by one. */
export function previousObs(cx: Counterexample, i: number, side: 'model' | 'kernel'): Observation | undefined {
  if (i === 0) return side === 'model' ? cx.initial_obs : (cx.initial_kernel_obs ?? cx.initial_obs)
  const p = cx.steps[i - 1]
  return side === 'model' ? p.model_obs : p.kernel_obs
}
