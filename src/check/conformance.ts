// The kernel-backed executors: `kernel` (the kernel implementation's results are the ones
// expectations see; properties are still evaluated on the model run alongside, because the
// model is the spec) and `both` (conformance: results and observations equal after every
// step, and every intermediate hardware state of an op translates the probes the same way).

import { isDeepStrictEqual } from 'node:util'
import { initState, observe, step, liveProbes, sortProbes, translations } from '../../models/index.ts'
import type { Design } from '../../models/design.ts'
import type { Observation, Probe, Translation } from '../../models/observation.ts'
import { err, hex, opToString, resultToString, sameResult, type Op } from '../../models/ops.ts'
import { groupOf, type Platform } from '../../models/platform.ts'
import type { State } from '../../models/state.ts'
import { Kernel } from '../kernel/index.ts'
import { PROPERTY_NAMES, type Executor, type ImplChoice, type PropertyName, type StepOutcome, type Violation } from './executor.types.ts'
import { registerKernelExecutor, UsageError, type ExecutorOptions } from './executor.ts'
import { checkStep } from './properties/index.ts'
import { DEFECT_NAMES, isDefectName } from '../kernel/defects/index.ts' // s4-heldout: held-out names too
import { FAULT_POINTS, failedAllocation, withFailNth } from '../../models/fault.ts' // fault injection (issue 13)

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
  /** The kernel's observation after the previous step and the probes it was taken with: what
   *  a failed op must leave unchanged (kernel atomicity). Whoever applies an op to the kernel
   *  outside step() sets it to the observation after that op (or clears it). */
  private lastKernel?: { probes: Probe[]; obs: Observation }
  /** the kernel's own live probes, read at kernel generation `gen` (Kernel.generation) */
  private kernelLive?: { gen: number; probes: Probe[] }
  /** the kernel invariants are swept in full at the next step (start of a run, after KEXEC) */
  private sweepDue = true
  /** what the invariants said at the last step */
  private lastInvariants: string[] = []
  /** what the kernel implementation threw, if it did (issue 13) */
  private broken?: Error
  /** stepFailNth: fail-nth armed for the next kernel.apply, and what that apply saw */
  private armed?: number
  private applied?: { before: Probe[]; reached: boolean }
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
    const m = step(prev, op)
    this.model = m.state
    const violations: Violation[] = checkStep({ prev, op, result: m.result, next: m.state, transient: m.transient }, this.opts.properties)
    // issue 13: an exception inside the kernel implementation is a conformance failure of
    // the step that raised it (shrunk, bundled and replayed like any other), not a harness
    // error; the kernel is not used again in this run (its state is whatever the throw left)
    let k: ReturnType<Kernel['apply']>, probes: Probe[], before: Probe[], pas: (bigint | null)[]
    try {
      if (this.broken) throw this.broken
      before = this.merged(liveProbes(prev), this.kernelProbes())
      if (this.armed === undefined) k = this.kernel.apply(op, before)
      else {
        k = this.kernel.apply(op, before, { failNth: this.armed })
        this.applied = { before, reached: k.failNthReached === true }
      }
      probes = this.merged(before, liveProbes(m.state), this.kernelProbes())
      // the same probes as last time are the same array (the caches below key on it)
      if (this.lastKernel !== undefined && sameProbes(probes, this.lastKernel.probes)) probes = this.lastKernel.probes
      pas = this.kernel.translate(probes)
    } catch (e) {
      return this.threw(e, op, m, violations)
    }
    const modelObs = observe(m.state, probes)
    // the kernel's observation is built only when it differs from the model's (Kernel.matches
    // reads the kernel's state against the model's observation); where they agree, the
    // model's observation is the kernel's too (issue 12)
    let kernelObs: Observation
    try {
      kernelObs = this.kernel.matches(modelObs, probes, pas) ? modelObs : this.kernel.observe(probes, pas)
    } catch (e) {
      return this.threw(e, op, m, violations)
    }
    if (this.impl === 'both' && (!this.opts.properties || this.opts.properties.has('conformance'))) {
      if (!sameResult(m.result, k.result))
        violations.push({ property: 'conformance', message: `${opToString(op)}: the kernel returned ${resultToString(k.result)}, the model ${resultToString(m.result)}` })
      // compared in one pass; the path of the first difference is worked out only on a mismatch,
      // and not when an armed fail-nth was reached: stepFailNth then judges the step anew
      const diff =
        kernelObs === modelObs || this.applied?.reached || sameObservation(modelObs, kernelObs) ? undefined : firstDifference(modelObs, kernelObs)
      if (diff) violations.push({ property: 'conformance', message: `after ${op.op}: ${diff}` })
      if (m.transient.length > 0 || k.transient.length > 0) {
        const modelMid = m.transient.map((s) => translations(s, before))
        if (modelMid.length !== k.transient.length || !modelMid.every((t, i) => sameTranslations(t, k.transient[i])))
          violations.push({
            property: 'conformance',
            message: `${op.op}: intermediate hardware states differ (model ${modelMid.length}, kernel ${k.transient.length}): ${transientDiff(modelMid, k.transient)}`,
          })
      }
      // what the op touched, every step; everything at the start, after a KEXEC and with
      // --paranoid (Kernel.invariants / checkTouched)
      const full = this.sweepDue || this.opts.paranoid === true
      this.sweepDue = op.op === 'KEXEC'
      this.lastInvariants = full ? this.kernel.invariants() : this.kernel.touchedInvariants()
      for (const message of this.lastInvariants) violations.push(invariantViolation(message))
      // atomicity of the kernel itself: a failed op leaves its observation unchanged (the
      // sticky LUO retrieve failure aside, as in properties/atomicity.ts). Where the model's
      // failure kept changes too (a failed KEXEC under deviceAcrossKexec=reset-at-freeze), the
      // model's own atomicity property judges it and conformance compares the two.
      if (!k.result.ok && op.op !== 'LIVEUPDATE_SESSION_RETRIEVE_FD' && m.state === prev && this.lastKernel) {
        const diff = this.changedSince(this.lastKernel, probes, kernelObs)
        if (diff) violations.push({ property: 'atomicity', message: `kernel: ${op.op} failed but changed the observable state: ${diff.replace('model', 'before').replace('kernel', 'after')}` })
      }
      // ownership of the kernel itself: after KEXEC a preserved device's group is owned by
      // exactly the token its iommufd was preserved with (properties/ownership.ts)
      if (op.op === 'KEXEC' && k.result.ok)
        for (const message of ownersAfterKexec(prev, kernelObs)) violations.push({ property: 'ownership', message: `kernel: ${message}` })
      this.lastKernel = { probes, obs: kernelObs }
    }
    return this.impl === 'kernel'
      ? { result: k.result, violations, observation: kernelObs }
      : { result: m.result, kernelResult: k.result, violations, observation: modelObs, kernelObservation: kernelObs }
  }

  /** What the kernel threw in step(): a conformance failure of this step (once), the kernel
   *  not used again in this run; the step's outcome. */
  private threw(e: unknown, op: Op, m: ReturnType<typeof step>, violations: Violation[]): StepOutcome {
    const first = !this.broken
    this.broken ??= e instanceof Error ? e : new Error(String(e))
    const probes = sortProbes(liveProbes(m.state))
    const modelObs = observe(m.state, probes)
    if (first && this.impl === 'both' && (!this.opts.properties || this.opts.properties.has('conformance')))
      violations.push({ property: 'conformance', message: `${opToString(op)}: the kernel implementation threw ${thrownText(this.broken)} (its result is shown as -EIO)` })
    const kr = err('EIO')
    return this.impl === 'kernel'
      ? { result: kr, violations, observation: modelObs }
      : { result: m.result, kernelResult: kr, violations, observation: modelObs, kernelObservation: modelObs }
  }

  /** The first difference between the kernel's observation `last` (taken after the previous
   *  step) and the kernel now, or undefined; `obs` is the kernel's observation with `probes`. */
  private changedSince(last: { probes: Probe[]; obs: Observation }, probes: Probe[], obs: Observation): string | undefined {
    if (last.probes === probes) return last.obs === obs || sameObservation(last.obs, obs) ? undefined : firstDifference(last.obs, obs)
    const pas = this.kernel.translate(last.probes)
    if (this.kernel.matches(last.obs, last.probes, pas)) return undefined
    const now = this.kernel.observe(last.probes, pas)
    return sameObservation(last.obs, now) ? undefined : firstDifference(last.obs, now)
  }

  /** The end of a run: the kernel invariants swept in full; what the last step did not
   *  already report (a break the per-section check missed) is reported here. */
  finish(): Violation[] {
    if (this.broken || this.impl !== 'both' || (this.opts.properties && !this.opts.properties.has('conformance'))) return []
    this.sweepDue = true
    const reported = new Set(this.lastInvariants)
    return this.kernel
      .invariants()
      .filter((m) => !reported.has(m))
      .map(invariantViolation)
  }
  modelState(): State {
    return this.model
  }

  /** The kernel's live probes now, read again only when the kernel applied an op since; the
   *  same list as last time is the same array (so the merges below are found again). */
  private kernelProbes(): Probe[] {
    const gen = this.kernel.generation
    const live = this.kernelLive
    if (live === undefined) this.kernelLive = { gen, probes: this.kernel.liveProbes() }
    else if (live.gen !== gen) {
      const probes = this.kernel.liveProbes()
      live.gen = gen
      if (!sameProbes(probes, live.probes)) live.probes = probes
    }
    return this.kernelLive!.probes
  }

  /** the last few merges of probe lists (a step that changed no mapping merges the same lists
   *  as the step before), by the identity of the lists merged */
  private readonly merges: { a: Probe[]; b: Probe[]; c?: Probe[]; out: Probe[] }[] = []
  private mergeAt = 0
  /** mergeProbes(a, b, c?), found again when the same lists were merged lately. */
  private merged(a: Probe[], b: Probe[], c?: Probe[]): Probe[] {
    for (const x of this.merges) if (x.a === a && x.b === b && x.c === c) return x.out
    const out = c === undefined ? mergeProbes(a, b) : mergeProbes(a, b, c)
    const entry = { a, b, c, out }
    if (this.merges.length < 4) this.merges.push(entry)
    else this.merges[this.mergeAt++ & 3] = entry
    return out
  }

  // --- fault injection (issue 13) ---
  /** `op` with its n-th fault-injectable allocation failing (PINNED.md; models/fault.ts). The
   *  ordinary step runs with fail-nth n armed for its one kernel.apply. Not reached: that was an ordinary step. Reached: the model steps by
   *  failedAllocation (-ENOMEM, state unchanged) and the step is judged again: the kernel's
   *  result and observation equal the model's, no invariant broke, the kernel's observation is
   *  its own before the op (`this.lastKernel`, the kernel's previous observation, is read and
   *  set here), and the op is one the model says allocates. Excluded ops run unarmed. */
  stepFailNth(op: Op, n: number): StepOutcome & { reached: boolean } {
    const plain = withFailNth(op, undefined)
    const point = FAULT_POINTS[plain.op]
    const ordinary = (out: StepOutcome) => ({ ...out, failNth: { n, reached: false }, reached: false })
    if (point.kind === 'excluded' || this.broken || this.kernel.panic !== undefined) return ordinary(this.step(plain))
    const prev = this.model
    const lastKernel = this.lastKernel
    const kernel = this.kernel
    this.armed = n
    let out: StepOutcome
    try {
      out = this.step(plain)
    } finally {
      this.armed = undefined
    }
    // what the armed apply saw (absent: the kernel threw before or inside it)
    const applied = this.applied
    this.applied = undefined
    if (!applied?.reached) return ordinary(out)
    const before = applied.before
    this.model = prev
    const m = failedAllocation(prev)
    const kr = out.kernelResult ?? out.result
    const violations = checkStep({ prev, op: plain, result: m.result, next: prev, transient: [] }, this.opts.properties)
    let probes = this.merged(before, this.kernelProbes())
    // the same probes as before the op are the same array, as in step(): changedSince and the
    // observation caches key on it
    if (lastKernel !== undefined && sameProbes(probes, lastKernel.probes)) probes = lastKernel.probes
    // the model's observation of its unchanged state (cached on the state, as in step()); the
    // kernel's is built only where Kernel.matches says it differs (issue 12)
    const modelObs = observe(prev, probes)
    const pas = kernel.translate(probes)
    const kernelObs = kernel.matches(modelObs, probes, pas) ? modelObs : kernel.observe(probes, pas)
    if (this.impl === 'both' && (!this.opts.properties || this.opts.properties.has('conformance'))) {
      const what = `${opToString(plain)} with fail-nth ${n}`
      if (!sameResult(m.result, kr)) violations.push({ property: 'conformance', message: `${what}: the kernel returned ${resultToString(kr)}, the model -ENOMEM (models/fault.ts)` })
      if (point.kind === 'none')
        violations.push({ property: 'conformance', message: `${what}: the kernel reached allocation ${n} in ${plain.op}, which the model says allocates nothing (${point.why})` })
      const diff = kernelObs === modelObs ? undefined : firstDifference(modelObs, kernelObs)
      if (diff) violations.push({ property: 'conformance', message: `after ${plain.op} with fail-nth ${n}: ${diff}` })
      for (const message of kernel.invariants()) violations.push(invariantViolation(message))
      // the kernel's own atomicity: its observation is the one after the step before
      const changed = lastKernel && this.changedSince(lastKernel, probes, kernelObs)
      if (changed) violations.push({ property: 'atomicity', message: `kernel: ${what} failed but changed the observable state: ${changed.replace('model', 'before').replace('kernel', 'after')}` })
      this.lastKernel = { probes, obs: kernelObs }
    }
    const failNth = { n, reached: true }
    return this.impl === 'kernel'
      ? { result: kr, violations, observation: kernelObs, failNth, reached: true }
      : { result: m.result, kernelResult: kr, violations, observation: modelObs, kernelObservation: kernelObs, failNth, reached: true }
  }
}

// ---------------------------------------------------------------- per-step bookkeeping
// The model's state is immutable, and its live probes and observation are cached where they
// are computed, part by part, by the identity of the state's parts (models/memo.ts
// memoByParts: models/observe.ts liveProbes, and each part of observe(), the translations by
// the probe list's identity too): a failed op returns the same state, and a step that
// touched no mapping observes the translations it observed before, as the same object.
// (Until session 8 a ring of the last few states here cached both again.)


const cmpProbe = (a: Probe, b: Probe): number =>
  a.bdf !== b.bdf ? (a.bdf < b.bdf ? -1 : 1) : a.pasid !== b.pasid ? a.pasid - b.pasid : a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0

/** The union of probe lists each in sortProbes order, in that order, without duplicates: a
 *  merge (models/observe.ts sortProbes of the concatenation gives the same list). */
export function mergeProbes(...lists: Probe[][]): Probe[] {
  let out = lists[0]
  for (let l = 1; l < lists.length; l++) {
    const a = out
    const b = lists[l]
    if (b.length === 0) continue
    if (a.length === 0) {
      out = b
      continue
    }
    // b adds nothing to a (the usual case: the model's and the kernel's live probes are the
    // same): a itself, so the caches keyed on a probe list's identity (models/observe.ts
    // translations, Kernel.resolve, matchTranslationsAgain) find it again
    if (within(b, a)) continue
    const m: Probe[] = []
    let i = 0
    let j = 0
    while (i < a.length && j < b.length) {
      const c = cmpProbe(a[i], b[j])
      if (c < 0) m.push(a[i++])
      else if (c > 0) m.push(b[j++])
      else {
        m.push(a[i++])
        j++
      }
    }
    while (i < a.length) m.push(a[i++])
    while (j < b.length) m.push(b[j++])
    out = m
  }
  return out
}

/** Whether every probe of `b` is in `a` (both in sortProbes order, without duplicates). */
function within(b: Probe[], a: Probe[]): boolean {
  if (b.length > a.length) return false
  let i = 0
  for (let j = 0; j < b.length; j++) {
    while (i < a.length && cmpProbe(a[i], b[j]) < 0) i++
    if (i === a.length || cmpProbe(a[i], b[j]) !== 0) return false
    i++
  }
  return true
}

function sameProbes(a: Probe[], b: Probe[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (cmpProbe(a[i], b[i]) !== 0) return false
  return true
}

/** Deep equality of plain data (observations, translations): Object.is on leaves (bigints by
 *  value), arrays element-wise, objects by own enumerable keys. Agrees with isDeepStrictEqual
 *  on what observe() builds (plain objects and arrays of strings, numbers, bigints, booleans,
 *  null); firstDifference then names the difference. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  const keys = Object.keys(x)
  if (keys.length !== Object.keys(y).length) return false
  for (const key of keys) if (!Object.hasOwn(y, key) || !sameValue(x[key], y[key])) return false
  return true
}

/** sameValue for two observations: the parts observe() builds compared by their shape (the
 *  translations field by field, the tables as string records), anything else, including
 *  fields added to Observation later, by sameValue. */
export function sameObservation(a: Observation, b: Observation): boolean {
  if (a === b) return true
  if (a.boot !== b.boot || !sameTranslations(a.translations, b.translations)) return false
  if (!sameRecord(a.owners, b.owners) || !sameRecord(a.fds, b.fds) || !sameValue(a.memory, b.memory) || !sameValue(a.luo, b.luo)) return false
  if (!sameRecordBy(a.iommufds, b.iommufds, sameRecord)) return false
  let n = 0
  for (const key in a) {
    if (!Object.hasOwn(a, key)) continue
    n++
    if (!OBSERVATION_KEYS.has(key) && !(Object.hasOwn(b, key) && sameValue((a as unknown as Record<string, unknown>)[key], (b as unknown as Record<string, unknown>)[key]))) return false
  }
  for (const key in b) if (Object.hasOwn(b, key)) n--
  return n === 0
}
const OBSERVATION_KEYS = new Set(['boot', 'translations', 'owners', 'fds', 'memory', 'luo', 'iommufds'])

/** Two records of strings (or of anything `same` compares), key for key. */
function sameRecordBy<T>(a: Record<string, T>, b: Record<string, T>, same: (x: T, y: T) => boolean): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  // Object.keys, not for-in: the fd and object tables have integer keys, which for-in
  // enumerates slowly
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) if (!Object.hasOwn(b, key) || !same(a[key], b[key])) return false
  return true
}
const sameRecord = (a: Record<string, unknown>, b: Record<string, unknown>): boolean => sameRecordBy(a, b, sameValue)

export function sameTranslations(a: readonly Translation[], b: readonly Translation[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i]
    const y = b[i]
    if (x.pa !== y.pa || x.iova !== y.iova || x.pasid !== y.pasid || x.bdf !== y.bdf || Object.keys(x).length !== Object.keys(y).length) return false
  }
  return true
}
/** `TypeError: x is undefined at src/kernel/iommu.ts:12` — the message and the first frame
 *  inside luv's sources, one line. */
export function thrownText(e: Error): string {
  const frame = (e.stack ?? '').split('\n').slice(1).map((l) => /((?:src|models)\/[\w/.-]+:\d+)/.exec(l)?.[1]).find(Boolean)
  return `${e.name}: ${e.message.split('\n')[0]}${frame ? ` at ${frame}` : ''}`
}

export function ownersAfterKexec(prev: State, obs: Observation): string[] {
  const out: string[] = []
  for (const sess of prev.luo.outgoing)
    for (const p of sess.files) {
      const f = prev.files[p.file]
      // as in properties/ownership.ts: a cdev preserved without IOMMU state carries no owner
      if (f.kind !== 'vfio' || !f.bound || !p.iommu) continue
      const token = sess.files.find((x) => x.file === f.bound!.iommufd)?.token
      const want = `restored:${sess.name}/${token}`
      const got = obs.owners[groupOf(prev.platform, f.bdf)]
      if (got !== want) out.push(`${f.bdf}: after KEXEC its group is owned by ${got}, not by the preserved iommufd ${want}`)
    }
  return out
}

/** Kernel invariants come prefixed with the property they break ('dma-safety: ...'); a panic
 *  of the next kernel stops every recovery ('panic: ...' is recoverability). */
export function invariantViolation(message: string): Violation {
  const m = /^([a-z-]+): /.exec(message)
  const named = m && (PROPERTY_NAMES as readonly string[]).includes(m[1]) ? (m[1] as PropertyName) : undefined
  const property: PropertyName = named ?? (m?.[1] === 'panic' ? 'recoverability' : 'isolation')
  return { property, message: `kernel: ${named ? message.slice(m![0].length) : message}` }
}

function transientDiff(a: Translation[][], b: Translation[][]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (!a[i] || !b[i]) return `state ${i + 1} exists only in the ${a[i] ? 'model' : 'kernel'}`
    if (!isDeepStrictEqual(a[i], b[i])) return `state ${i + 1}: ${translationDiff(a[i], b[i])}`
  }
  return 'none'
}

registerKernelExecutor((platform, design, opts) => {
  if (opts.defect !== undefined && !isDefectName(opts.defect)) // s4-heldout: seeded or held-out (defects/heldout.ts)
    throw new UsageError(`unknown defect '${opts.defect}' (luv defects lists them: ${DEFECT_NAMES.join(', ')})`)
  return new KernelExecutor(platform, design, opts)
})

export type { Probe }
