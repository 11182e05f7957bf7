// Expanding one state of the search (explore.ts): every transition on the model, the
// properties, coverage, the successors' fingerprints, and the same transitions on the kernel
// implementation. The same code runs in the searching thread (--workers 1) and in worker
// threads (worker.mjs), which get the state's trace and replay it; both report plain data,
// so the search's result does not depend on where a state was expanded.

import type { Design, ProfileName } from '../../models/design.ts'
import { initState, liveProbes, observe, step, translations } from '../../models/index.ts'
import type { Observation, Probe } from '../../models/observation.ts'
import { opToString, resultToString, sameResult, type Op, type Result } from '../../models/ops.ts'
import type { State } from '../../models/state.ts'
import { firstDifference, invariantViolation, mergeProbes, thrownText } from '../check/conformance.ts'
import type { PropertyName, Violation } from '../check/executor.types.ts'
import { checkStep } from '../check/properties/index.ts'
import { Coverage } from '../coverage/coverage.ts'
import { deviceStates, sessionStates } from '../coverage/model-terms.ts'
import { Kernel } from '../kernel/index.ts'
import { withoutPageRecycling } from '../kernel/phys.ts'
import { epochMark, epochRewind } from '../kernel/epoch.ts'
import { EnabledOps, exploredOps } from './actions.ts'
import { canonicalFingerprint, keepParts } from './canonical.ts'
import { Snapshot } from './clone.ts'
import type { Scope } from './scope.ts'

export interface ExpandContext {
  scope: Scope
  design: Design
  profile?: ProfileName
  properties?: ReadonlySet<PropertyName>
  conformance: boolean
  symmetry: boolean
  recheckFailed: boolean
  defect?: string
  /** the kernel's state-changing transitions on the state's kernel itself, each undone
   *  (clone.ts Snapshot.restore) before the next, instead of each on a copy (default true;
   *  false: the copies, which the tests compare it with) */
  undo?: boolean
}

/** A violation seen while expanding a state: at one of its transitions (`op`), or at step
 *  `prefixLength` of an initial state's prefix (checked on the kernel once, at the root). */
export interface Found extends Violation {
  op?: Op
  prefixLength?: number
}

export interface Successor {
  op: Op
  fp: number
  /** the successor state (in-process only; workers send fingerprints) */
  state?: State
}

export interface Counters {
  transitions: number
  generated: number
  unchangedNotRechecked: number
  /** replays: kernels replayed from a fresh machine; fromParent: kernels forked from the
   *  parent state's kept kernel plus one op */
  conf: { transitions: number; replays: number; fromParent: number; forks: number; undos: number; divergences: number }
  time: { model: number; properties: number; canonical: number; kernel: number; coverage: number }
}

export const emptyCounters = (): Counters => ({
  transitions: 0,
  generated: 0,
  unchangedNotRechecked: 0,
  conf: { transitions: 0, replays: 0, fromParent: 0, forks: 0, undos: 0, divergences: 0 },
  time: { model: 0, properties: 0, canonical: 0, kernel: 0, coverage: 0 },
})

export function addCounters(a: Counters, b: Counters): void {
  a.transitions += b.transitions
  a.generated += b.generated
  a.unchangedNotRechecked += b.unchangedNotRechecked
  for (const k of Object.keys(a.conf) as (keyof Counters['conf'])[]) a.conf[k] += b.conf[k]
  for (const k of Object.keys(a.time) as (keyof Counters['time'])[]) a.time[k] += b.time[k]
}

type Step = ReturnType<typeof step>
const now = () => performance.now()

/** At most this many kernel snapshots are kept per level (25-130 KB each on the default
 *  scope, mostly page-table pages: at most ~1 GB); the children of the others replay their
 *  traces. */
const MAX_KEPT_KERNELS = 8192

export class Expander {
  coverage = new Coverage()
  c = emptyCounters()
  private readonly ops: EnabledOps
  private readonly shared: Set<unknown>

  constructor(private readonly x: ExpandContext) {
    this.ops = new EnabledOps(x.scope, exploredOps(x.scope, x.profile))
    this.shared = new Set<unknown>([x.scope.platform, x.design])
  }

  private want(p: PropertyName): boolean {
    return !this.x.properties || this.x.properties.has(p)
  }

  /** Snapshots (clone.ts) of the kernels of the states expanded at the previous level
   *  (in-process search only), by node id, as they were before any transition: a state's
   *  kernel is a copy of its parent's plus the one op, not a replay of its whole trace. Holds
   *  one level at a time. */
  private kernels = new Map<number, Snapshot<Kernel>>()
  private nextKernels = new Map<number, Snapshot<Kernel>>()

  /** The search finished a level: the kernels kept at it serve the next one. */
  endLevel(): void {
    this.kernels = this.nextKernels
    this.nextKernels = new Map()
  }

  /** Expand the state `trace` leads to. `root`: an initial state whose prefix the kernel has
   *  not been compared on yet. `keepStates`: return the successor states (in-process).
   *  `node` (in-process): the state's node id and its parent's, and whether its children will
   *  be expanded (then its kernel is kept for them, see `kernels`). */
  expand(trace: readonly Op[], state: State, root: boolean, keepStates: boolean, node?: { id: number; parent: number; keepKernel: boolean }): { succ: Successor[]; found: Found[] } {
    const { properties: props, symmetry } = this.x
    const c = this.c
    const found: Found[] = []
    const succ: Successor[] = []
    const labels = { devices: deviceStates(state), sessions: sessionStates(state) }
    // the successors share this state's objects: their canonical parts are kept once here
    let t0 = now()
    keepParts(state, symmetry)
    // every transition on the model, then the properties, coverage and fingerprints of all
    // of them, each part timed once (a clock read per transition and part was 1% of a search)
    let t1 = now()
    c.time.canonical += t1 - t0
    // building a state's op list (on a miss of the kept lists) is model time
    const ops = this.ops.of(state)
    const steps: Step[] = new Array(ops.length)
    for (let i = 0; i < ops.length; i++) steps[i] = step(state, ops[i])
    c.transitions += ops.length
    t0 = now()
    c.time.model += t0 - t1
    for (let i = 0; i < ops.length; i++) {
      const s = steps[i]
      // a transition that failed with an errno and left the very same state needs no second
      // look (explore.ts header); everything else is checked
      if (this.x.recheckFailed || s.state !== state || !('errno' in s.result) || s.transient.length) {
        const op = ops[i]
        for (const v of checkStep({ prev: state, op, result: s.result, next: s.state, transient: s.transient }, props)) found.push({ ...v, op })
      } else c.unchangedNotRechecked++
    }
    t1 = now()
    c.time.properties += t1 - t0
    for (let i = 0; i < ops.length; i++) this.coverage.step(state, ops[i], steps[i].result, steps[i].state, labels)
    t0 = now()
    c.time.coverage += t0 - t1
    for (let i = 0; i < ops.length; i++) {
      const next = steps[i].state
      if (next === state) continue
      c.generated++
      const fp = canonicalFingerprint(next, symmetry)
      succ.push(keepStates ? { op: ops[i], fp, state: next } : { op: ops[i], fp })
    }
    c.time.canonical += now() - t0
    if (this.x.conformance) {
      const t3 = now()
      this.kernelTransitions(trace, state, ops, steps, root, found, node)
      c.time.kernel += now() - t3
    }
    return { succ, found }
  }

  private newKernel(): Kernel {
    return new Kernel(this.x.scope.platform, this.x.design, { defect: this.x.defect })
  }

  /** A kernel at the end of `trace`; at a root, each prefix step compared on the way. */
  private kernelAt(trace: readonly Op[], root: boolean, found: Found[]): Kernel {
    const k = this.newKernel()
    this.c.conf.replays++
    if (root) {
      let prev = initState(this.x.scope.platform, this.x.design)
      for (const [i, op] of trace.entries()) {
        const m = step(prev, op)
        this.compare(k, prev, op, m.result, m.state, m.transient, found, i + 1)
        prev = m.state
      }
      return k
    }
    for (const op of trace) k.apply(op, [])
    return k
  }

  /** the write counters before an undone op (epoch.ts epochMark) */
  private readonly epochs: number[] = []

  private fork(snap: Snapshot<Kernel>): Kernel {
    this.c.conf.forks++
    return snap.instantiate()
  }

  /** The kernel side of one expanded state: every state-changing transition on the state's
   *  kernel, compared in full, then undone (clone.ts Snapshot.restore; with `undo: false`,
   *  each on a copy of the kernel instead); the others (error paths, DMA) one after the other on
   *  the kernel itself, results compared, and its observation and invariants compared once
   *  after all of them; on a difference each is taken again alone to name the one. */
  private kernelTransitions(trace: readonly Op[], state: State, ops: Op[], steps: Step[], root: boolean, found: Found[], node?: { id: number; parent: number; keepKernel: boolean }): void {
    const conf = this.c.conf
    const parentKernel = node && !root ? this.kernels.get(node.parent) : undefined
    let k: Kernel
    if (parentKernel) {
      // the parent's kernel before its transitions, copied, and the op that led here
      k = this.fork(parentKernel)
      k.apply(trace[trace.length - 1], [])
      conf.fromParent++
    } else k = this.kernelAt(trace, root, found)
    let changing = 0
    for (const t of steps) if (t.state !== state) changing++
    // k as it is now, before any transition: the record each state-changing transition is
    // undone to (or copied from), the children copy it (keepKernel), and k itself then runs
    // the others
    const keep = node?.keepKernel === true && this.nextKernels.size < MAX_KEPT_KERNELS
    // with the undo, k's invariants swept once now (so each transition's sweep, and each
    // undo, start from a sweep of k as it is: see compare), unless walks are pending, which
    // the first transition's sweep reports as the copies' would
    if (changing > 0 && this.x.undo !== false && k.internals.m.badWalks.length === 0) k.touchedInvariants()
    const snap = changing > 0 || keep ? new Snapshot(k, this.shared) : undefined
    if (keep) this.nextKernels.set(node!.id, snap!)
    try {
      this.changingThenQuiet(trace, state, ops, steps, found, k, snap)
    } finally {
      // a kept snapshot serves its children's copies, not as an undo record of k
      snap?.forget()
    }
  }

  private changingThenQuiet(trace: readonly Op[], state: State, ops: Op[], steps: Step[], found: Found[], k: Kernel, snap: Snapshot<Kernel> | undefined): void {
    const conf = this.c.conf
    const undo = this.x.undo !== false
    // the probes before a transition: the same for every transition of this state (each runs
    // on k as it is now: k undone, or a copy of it), so computed once
    const before = mergeProbes(liveProbes(state), k.liveProbes())
    let quiet = 0
    for (let i = 0; i < ops.length; i++) {
      const t = steps[i]
      if (t.state === state) quiet++
      else if (undo) {
        undone(snap!, this.epochs, () => this.compare(k, state, ops[i], t.result, t.state, t.transient, found, undefined, before))
        conf.undos++
      } else this.compare(this.fork(snap!), state, ops[i], t.result, t.state, t.transient, found, undefined, before)
    }
    if (quiet === 0) return
    let suspect = false
    // the quiet transitions taken here before a difference stopped the loop (all of them when
    // none did)
    let taken = 0
    for (let i = 0; i < ops.length; i++) {
      const t = steps[i]
      if (t.state !== state) continue
      taken++
      let r: Result
      try {
        r = k.apply(ops[i], before).result
      } catch {
        suspect = true
        break
      }
      if (!sameResult(r, t.result)) {
        suspect = true
        break
      }
    }
    if (!suspect) {
      const probes = mergeProbes(before, k.liveProbes())
      // the sections of the sweep the quiet ops wrote to: the same messages as a full sweep
      // (Kernel.touchedInvariants), as after every other transition
      suspect = observationDiff(k, observe(state, probes), probes) !== undefined || k.touchedInvariants().length > 0
    }
    if (!suspect) {
      conf.transitions += taken
      return
    }
    // name the transition(s): each alone, on a copy of the state's kernel as it was before
    // the first of them (the snapshot, or a fresh replay of the trace); compare() counts each
    // (so each quiet transition is counted once, however far the loop above went: it counted
    // fewer than `quiet` when it stopped at a difference, which undercounted defect runs)
    const pristine = snap ?? new Snapshot(this.kernelAt(trace, false, found), this.shared)
    for (let i = 0; i < ops.length; i++) {
      const t = steps[i]
      if (t.state === state) this.compare(this.fork(pristine), state, ops[i], t.result, t.state, t.transient, found)
    }
  }

  /** Apply `op` to `k` and compare with the model's step prev -> next, as
   *  src/check/conformance.ts compares. */
  private compare(k: Kernel, prev: State, op: Op, result: Result, next: State, transient: State[], found: Found[], prefixLength?: number, probesBefore?: Probe[]): void {
    const conf = this.c.conf
    conf.transitions++
    const before = probesBefore ?? mergeProbes(liveProbes(prev), k.liveProbes())
    let kr
    try {
      kr = k.apply(op, before)
    } catch (e) {
      conf.divergences++
      if (this.want('conformance'))
        found.push({ property: 'conformance', message: `${opToString(op)}: the kernel implementation threw ${thrownText(e instanceof Error ? e : new Error(String(e)))} (its result is shown as -EIO)`, ...where(op, prefixLength) })
      return
    }
    // (the list of differences is made only when there is one: most transitions agree)
    let out: Violation[] | undefined
    if (!sameResult(result, kr.result)) (out ??= []).push({ property: 'conformance', message: `${opToString(op)}: the kernel returned ${resultToString(kr.result)}, the model ${resultToString(result)}` })
    // each list is in probe order (models/observe.ts sortProbes): merged, as conformance.ts does
    const probes: Probe[] = mergeProbes(before, liveProbes(next), k.liveProbes())
    const diff = observationDiff(k, observe(next, probes), probes)
    if (diff) (out ??= []).push({ property: 'conformance', message: `after ${op.op}: ${diff}` })
    if (transient.length > 0 || kr.transient.length > 0) {
      const mid = transient.map((s) => translations(s, before))
      if (!sameObservation(mid, kr.transient)) (out ??= []).push({ property: 'conformance', message: `${op.op}: intermediate hardware states differ (model ${mid.length}, kernel ${kr.transient.length})` })
    }
    // the sections of the sweep the op wrote to (Kernel.touchedInvariants: the same messages
    // as a full sweep), as conformance.ts sweeps; a copy, or a kernel just replayed, walks all
    for (const message of k.touchedInvariants()) (out ??= []).push(invariantViolation(message))
    if (out === undefined) return
    const relevant = out.filter((v) => this.want(v.property))
    if (relevant.length) conf.divergences++
    for (const v of relevant) found.push({ ...v, ...where(op, prefixLength) })
  }
}

/** Where a violation was seen: at a transition, or at step `prefixLength` of a prefix.
 *  (Module level: compare() runs at every state-changing transition and made a closure.) */
function where(op: Op, prefixLength: number | undefined): { op: Op; prefixLength?: number } {
  return prefixLength === undefined ? { op } : { op, prefixLength }
}

/** `f` (one transition taken on the kernel `snap` was taken of, and compared), then the
 *  kernel put back as `snap` recorded it (clone.ts Snapshot.restore) and the write counters
 *  wound back to their values before `f` (epoch.ts epochRewind: sound once the kernel is
 *  back, and what lets the next transition's touchedInvariants walk only what it wrote).
 *  While `f` runs, the pages it frees stay out of the page pool (phys.ts
 *  withoutPageRecycling): the undo puts those very arrays back into the kernel, and the pool
 *  would hand them to another. `marks`: a buffer for the counters. */
export function undone<T>(snap: Snapshot<Kernel>, marks: number[], f: () => T): T {
  epochMark(marks)
  try {
    return withoutPageRecycling(f)
  } finally {
    snap.restore()
    epochRewind(marks)
  }
}

/** The first difference between the model's observation `mo` and the kernel's with the
 *  same probes, or undefined: as src/check/conformance.ts compares, the kernel's observation
 *  is built only when Kernel.matches (which reads the kernel's state against `mo`, and says
 *  no whenever it is unsure) does not vouch for it; the probes are translated once. */
function observationDiff(k: Kernel, mo: Observation, probes: Probe[]): string | undefined {
  const pas = k.translate(probes)
  if (k.matches(mo, probes, pas)) return undefined
  const ko = k.observe(probes, pas)
  return sameObservation(mo, ko) ? undefined : firstDifference(mo, ko)
}

/** Equality of two observations (plain data: records, arrays, strings, numbers, bigints,
 *  booleans, null), without isDeepStrictEqual's generality: most comparisons are equal, and
 *  only a difference needs firstDifference's walk to name it. Keys are walked with for-in
 *  (observations are plain records: no inherited enumerable keys), not collected in arrays. */
export function sameObservation(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameObservation(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const rb = b as Record<string, unknown>
  const ra = a as Record<string, unknown>
  let n = 0
  for (const key in ra) {
    if (!Object.hasOwn(ra, key)) continue
    n++
    if (!Object.hasOwn(rb, key) || !sameObservation(ra[key], rb[key])) return false
  }
  for (const key in rb) if (Object.hasOwn(rb, key)) n--
  return n === 0
}

/** What a worker thread gets: the context, the search it belongs to (`run`) and the level,
 *  and the states to expand: node id, parent id, whether to keep the state and its kernel
 *  for its children, and the trace (replayed when the parent was expanded elsewhere). */
export interface ExpandTask {
  ctx: ExpandContext
  run: string
  level: number
  items: { id: number; parent: number; keepKernel: boolean; trace: Op[]; root: boolean }[]
}

export interface ExpandTaskResult {
  results: { succ: Successor[]; found: Found[] }[]
  coverage: ReturnType<Coverage['data']>
  counters: Counters
}

/** A worker thread's part of one search: its expander (which keeps the kernels of the
 *  states it expanded at the previous level) and those states. */
let session: { run: string; level: number; ex: Expander; states: Map<number, State>; nextStates: Map<number, State> } | undefined

/** A worker's job (worker.mjs): each state from its parent's kept state plus one step, or by
 *  replaying its trace on the model; then expand it. Coverage and counters are this task's. */
export function runExpandTask(task: ExpandTask): ExpandTaskResult {
  if (!session || session.run !== task.run) session = { run: task.run, level: task.level, ex: new Expander(task.ctx), states: new Map(), nextStates: new Map() }
  const w = session
  if (task.level !== w.level) {
    w.ex.endLevel()
    w.states = w.nextStates
    w.nextStates = new Map()
    w.level = task.level
  }
  const ex = w.ex
  ex.coverage = new Coverage()
  ex.c = emptyCounters()
  const results = task.items.map(({ id, parent, keepKernel, trace, root }) => {
    const t = now()
    const ps = root ? undefined : w.states.get(parent)
    let s: State
    if (ps) s = step(ps, trace[trace.length - 1]).state
    else {
      s = initState(task.ctx.scope.platform, task.ctx.design)
      for (const op of trace) s = step(s, op).state
    }
    ex.c.time.model += now() - t
    if (keepKernel) w.nextStates.set(id, s)
    return ex.expand(trace, s, root, false, { id, parent, keepKernel })
  })
  return { results, coverage: ex.coverage.data(), counters: ex.c }
}
