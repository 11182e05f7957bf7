// The exhaustive tier (DESIGN.md §2: src/explore/): breadth-first exploration of the reference
// model within a declared scope, TLC-style.
//
//  * From each initial state of the scope (an op prefix run on the model), every transition
//    (actions.ts) is taken, level by level up to the depth bound. Successor states are
//    canonicalised (canonical.ts: ids, fds, pages and DIDs renamed in order of first
//    appearance) and fingerprinted; the visited set holds fingerprints and, per distinct
//    state, its parent and the op that led there: the shortest trace to every distinct state
//    (breadth-first: no shorter one exists within the scope).
//  * Every named safety property (src/check/properties/) is checked on every transition, so on
//    every state reached (the initial states' prefixes included). A violation keeps its
//    trace; the first one per property is a shortest counterexample. One shortcut: a
//    transition that fails with an errno and returns the very same state object (the model's
//    atomicity by construction, models/step.ts) is not evaluated again, since each property
//    (DESIGN.md §2.4) is either about what a step changed — nothing here: no translation,
//    owner or observation moved, no KEXEC happened — or about the state, which was checked
//    when it was reached. DMA, successes and sticky failures are always evaluated;
//    `recheckFailed` (luv explore --recheck-failed) evaluates these too, and test/explore
//    checks that both find the same violations.
//  * Conformance: the kernel implementation (src/kernel/) replays the shortest trace of every
//    state the search expands and takes each of that state's transitions too. A transition
//    that changes the model state runs on a copy of that kernel (clone.ts) and is compared in
//    full, as src/check/conformance.ts compares: result, observation, intermediate hardware
//    states, kernel invariants. The others (error paths and DMA, most transitions) run one
//    after the other on the kernel itself: each result is compared, and the observation and
//    invariants once after all of them; on any difference each is taken again alone on a
//    fresh copy, so the violation names the transition and its trace replays.
//  * Coverage in model terms (src/coverage/) is counted on every transition.

import { isDeepStrictEqual } from 'node:util'
import type { Design } from '../../models/design.ts'
import { initState, liveProbes, observe, sortProbes, step, translations } from '../../models/index.ts'
import type { Probe } from '../../models/observation.ts'
import { opToString, resultToString, sameResult, type Op, type OpName } from '../../models/ops.ts'
import type { State } from '../../models/state.ts'
import { firstDifference, invariantViolation, thrownText } from '../check/conformance.ts'
import { PROPERTY_NAMES, type PropertyName, type Violation } from '../check/executor.types.ts'
import { ModelExecutor } from '../check/executor.ts'
import { checkStep } from '../check/properties/index.ts'
import { Coverage, type CoverageData } from '../coverage/coverage.ts'
import { deviceStates, sessionStates } from '../coverage/model-terms.ts'
import { Kernel } from '../kernel/index.ts'
import { parseScenario } from '../scenario/load.ts'
import { runScenario } from '../scenario/run.ts'
import { cloneGraph } from './clone.ts'
import { enabledOps, exploredOps, opsWithoutEnumerator } from './actions.ts'
import { canonicalForm, collisionProbability, fingerprint } from './canonical.ts'
import type { Scope } from './scope.ts'

export interface ExploreOptions {
  scope: Scope
  design: Design
  /** overrides scope.depth */
  depth?: number
  /** stop after this long (the report says what was explored) */
  timeLimitMs?: number
  /** replay on the kernel implementation (default true) */
  conformance?: boolean
  /** symmetry reduction (default true) */
  symmetry?: boolean
  /** properties to check (default: all) */
  properties?: ReadonlySet<PropertyName>
  /** a seeded kernel defect (tests of the conformance replay) */
  defect?: string
  /** evaluate the properties on transitions that fail with an errno and leave the state as
   *  it was, too (default false: see the header — the answer is the one already given for
   *  that state) */
  recheckFailed?: boolean
  signal?: AbortSignal
  onProgress?: (p: ExploreProgress) => void
  progressEveryMs?: number
  /** called for every distinct state when found (tests; exporting the shortest traces as a
   *  corpus): its depth, its state, and its shortest trace on demand */
  onState?: (s: { depth: number; init: string; state: State; trace: () => Op[] }) => void
}

export interface ExploreProgress {
  elapsedMs: number
  depth: number
  maxDepth: number
  distinct: number
  generated: number
  transitions: number
  queue: number
  /** states of the current level expanded, and the level's size */
  levelDone: number
  levelSize: number
  violations: number
}

export interface InitReport {
  name: string
  ops: Op[]
  /** prefix steps that failed on this design (the state after them is still explored) */
  failed: string[]
  /** distinct: a new state; otherwise the same state as an earlier init's */
  distinct: boolean
}

export interface ExploreViolation {
  property: PropertyName
  message: string
  /** the initial state's name and the whole op list from a fresh machine (prefix included) */
  init: string
  ops: Op[]
  /** ops after the initial state's prefix */
  depth: number
}

export interface ExploreStats {
  /** successor states computed (duplicates included), TLC's "states generated" */
  generated: number
  distinct: number
  /** (state, op) pairs taken, failing ops included */
  transitions: number
  /** of those, transitions that failed with an errno and left the state identical, whose
   *  properties were therefore not evaluated again (0 with recheckFailed) */
  unchangedNotRechecked: number
  /** the deepest level any distinct state sits at */
  depthReached: number
  maxDepth: number
  /** distinct states per level (0 = the initial states) */
  levels: number[]
  leftOnQueue: number
  complete: boolean
  stoppedBy?: 'time' | 'signal'
  seconds: number
  distinctPerMinute: number
  generatedPerMinute: number
  collisionProbability: number
  /** seconds spent in each part (profiling; they add up to about `seconds`) */
  time: { model: number; properties: number; canonical: number; kernel: number; coverage: number }
}

export interface ConformanceStats {
  enabled: boolean
  /** transitions the kernel took and was compared on */
  transitions: number
  /** kernel replays of a shortest trace (one per expanded state) */
  replays: number
  /** kernel copies taken (one per state-changing transition, one per expanded state) */
  forks: number
  divergences: number
}

export interface ExploreResult {
  scope: string
  design: Design
  symmetry: boolean
  stats: ExploreStats
  conformance: ConformanceStats
  init: InitReport[]
  /** the first (shortest) violation of each property */
  violations: ExploreViolation[]
  /** transitions that violated each property */
  violationCounts: Partial<Record<PropertyName, number>>
  coverage: CoverageData
  ops: OpName[]
  opsNotExplored: OpName[]
}

interface Node {
  parent: number
  op: Op | undefined
  depth: number
  init: number
}

const now = () => performance.now()

export async function explore(o: ExploreOptions): Promise<ExploreResult> {
  const t0 = now()
  const scope = o.scope
  const maxDepth = o.depth ?? scope.depth
  const symmetry = o.symmetry ?? true
  const conformanceOn = o.conformance ?? true
  const props = o.properties
  const ops = exploredOps(scope)
  const platform = scope.platform
  const time = { model: 0, properties: 0, canonical: 0, kernel: 0, coverage: 0 }
  const coverage = new Coverage()
  const rootsChecked = new Set<number>()

  const nodes: Node[] = []
  const seen = new Map<number, number>()
  const violations = new Map<PropertyName, ExploreViolation>()
  const violationCounts: Partial<Record<PropertyName, number>> = {}
  const conf: ConformanceStats = { enabled: conformanceOn, transitions: 0, replays: 0, forks: 0, divergences: 0 }
  let generated = 0
  let transitions = 0
  let quietChecks = 0

  // ---- initial states
  const inits: InitReport[] = []
  const initOps: Op[][] = []
  let frontier: { id: number; state: State }[] = []
  const traceOf = (id: number): Op[] => {
    const path: Op[] = []
    let n = nodes[id]
    while (n.parent >= 0) {
      path.push(n.op!)
      n = nodes[n.parent]
    }
    return [...initOps[n.init], ...path.reverse()]
  }

  /** `prefixLength`: the violation is at that step of the node's (initial) prefix */
  const record = (v: Violation, from: number, op: Op | undefined, prefixLength?: number) => {
    violationCounts[v.property] = (violationCounts[v.property] ?? 0) + 1
    if (violations.has(v.property)) return
    const n = nodes[from]
    violations.set(v.property, {
      property: v.property,
      message: v.message,
      init: scope.init[n.init].name,
      ops: prefixLength !== undefined ? initOps[n.init].slice(0, prefixLength) : op ? [...traceOf(from), op] : traceOf(from),
      depth: prefixLength !== undefined ? 0 : n.depth + (op ? 1 : 0),
    })
  }

  for (const [i, spec] of scope.init.entries()) {
    const sc = parseScenario({ name: spec.name, platform, steps: spec.steps }, `init '${spec.name}'`)
    // the prefix is held to the properties too: its steps are transitions into the state
    const exec = new ModelExecutor(platform, o.design, props)
    const run = runScenario(sc, { executor: exec })
    const failed = run.steps.filter((s) => !s.result.ok && !('fault' in s.result)).map((s) => `steps[${s.index}] ${s.op.op} ${resultToString(s.result)}`)
    const state = exec.modelState()
    initOps.push(run.steps.map((s) => s.op))
    const fp = fingerprint(canonicalForm(state, symmetry))
    const distinct = !seen.has(fp)
    inits.push({ name: spec.name, ops: initOps[i], failed, distinct })
    if (!distinct) continue
    const id = nodes.length
    nodes.push({ parent: -1, op: undefined, depth: 0, init: i })
    run.steps.forEach((st, j) => st.violations.forEach((v) => record(v, id, undefined, j + 1)))
    seen.set(fp, id)
    frontier.push({ id, state })
    coverage.visit(state)
    o.onState?.({ depth: 0, init: spec.name, state, trace: () => traceOf(id) })
  }

  // ---- the kernel side
  const newKernel = () => new Kernel(platform, o.design, { defect: o.defect })
  const shared = new Set<unknown>([platform, o.design])
  /** A kernel at node `id`: its trace replayed (an initial state's prefix is compared step
   *  by step, once). */
  const kernelAt = (id: number): Kernel => {
    const k = newKernel()
    const trace = traceOf(id)
    conf.replays++
    if (nodes[id].parent < 0 && !rootsChecked.has(id)) {
      rootsChecked.add(id)
      let prev = initState(platform, o.design)
      for (const [i, op] of trace.entries()) {
        const m = step(prev, op)
        compare(k, prev, op, m.result, m.state, m.transient, id, i + 1)
        prev = m.state
      }
      return k
    }
    for (const op of trace) k.apply(op, [])
    return k
  }
  /** A copy of `k` to take one transition on (src/explore/clone.ts). */
  const fork = (k: Kernel): Kernel => {
    conf.forks++
    return cloneGraph(k, shared)
  }

  /** The kernel side of one expanded state: every state-changing transition on a fork of the
   *  state's kernel, compared in full; the others (error paths, DMA) one after the other on
   *  the kernel itself, results compared, and its observation and invariants compared once
   *  after all of them; on a difference each is taken again alone to name the one. */
  const kernelTransitions = (id: number, state: State, taken: { op: Op; s: Step }[]) => {
    const k = kernelAt(id)
    const quiet: { op: Op; s: Step }[] = []
    for (const t of taken) {
      if (t.s.state === state) quiet.push(t)
      else compare(fork(k), state, t.op, t.s.result, t.s.state, t.s.transient, id)
    }
    if (!quiet.length) return
    let suspect = false
    const before = sortProbes([...liveProbes(state), ...k.liveProbes()])
    for (const t of quiet) {
      conf.transitions++
      let r
      try {
        r = k.apply(t.op, before).result
      } catch {
        suspect = true
        break
      }
      if (!sameResult(r, t.s.result)) {
        suspect = true
        break
      }
    }
    if (!suspect) {
      const probes = sortProbes([...before, ...k.liveProbes()])
      suspect = firstDifference(observe(state, probes), k.observe(probes)) !== undefined || k.invariants().length > 0
    }
    if (!suspect) return
    // name the transition(s): each alone, on a fork of the state's kernel
    conf.transitions -= quiet.length
    const pristine = kernelAt(id)
    for (const t of quiet) compare(fork(pristine), state, t.op, t.s.result, t.s.state, t.s.transient, id)
  }

  /** Apply `op` to `k` and compare with the model's step prev -> next. Returns true when the
   *  kernel agreed. */
  const compare = (k: Kernel, prev: State, op: Op, result: Step['result'], next: State, transient: State[], from: number, prefixLength?: number): boolean => {
    conf.transitions++
    const before = sortProbes([...liveProbes(prev), ...k.liveProbes()])
    let kr
    try {
      kr = k.apply(op, before)
    } catch (e) {
      const v: Violation = { property: 'conformance', message: `${opToString(op)}: the kernel implementation threw ${thrownText(e instanceof Error ? e : new Error(String(e)))} (its result is shown as -EIO)` }
      conf.divergences++
      if (want('conformance')) record(v, from, op, prefixLength)
      return false
    }
    const out: Violation[] = []
    if (!sameResult(result, kr.result)) out.push({ property: 'conformance', message: `${opToString(op)}: the kernel returned ${resultToString(kr.result)}, the model ${resultToString(result)}` })
    const probes: Probe[] = sortProbes([...before, ...liveProbes(next), ...k.liveProbes()])
    const diff = firstDifference(observe(next, probes), k.observe(probes))
    if (diff) out.push({ property: 'conformance', message: `after ${op.op}: ${diff}` })
    const mid = transient.map((s) => translations(s, before))
    if (!isDeepStrictEqual(mid, kr.transient)) out.push({ property: 'conformance', message: `${op.op}: intermediate hardware states differ (model ${mid.length}, kernel ${kr.transient.length})` })
    for (const message of k.invariants()) out.push(invariantViolation(message))
    const relevant = out.filter((v) => want(v.property))
    if (relevant.length) conf.divergences++
    for (const v of relevant) record(v, from, op, prefixLength)
    return relevant.length === 0 && sameResult(result, kr.result)
  }
  const want = (p: PropertyName) => !props || props.has(p)

  // ---- breadth-first search
  const everyMs = o.progressEveryMs ?? 250
  let lastProgress = now()
  let stoppedBy: ExploreStats['stoppedBy']
  const deadline = o.timeLimitMs !== undefined ? t0 + o.timeLimitMs : Infinity
  const levels = [frontier.length]
  let depth = 0
  let leftOnQueue = 0
  const progress = (levelDone: number, levelSize: number, queue: number) => {
    o.onProgress?.({
      elapsedMs: now() - t0,
      depth,
      maxDepth,
      distinct: nodes.length,
      generated,
      transitions,
      queue,
      levelDone,
      levelSize,
      violations: Object.values(violationCounts).reduce((a, b) => a + (b ?? 0), 0),
    })
  }

  for (; depth < maxDepth && frontier.length > 0 && !stoppedBy; depth++) {
    const next: { id: number; state: State }[] = []
    for (let fi = 0; fi < frontier.length; fi++) {
      const t = now()
      if (t > deadline) stoppedBy = 'time'
      else if (o.signal?.aborted) stoppedBy = 'signal'
      if (stoppedBy) {
        leftOnQueue = frontier.length - fi + next.length
        break
      }
      if (t - lastProgress >= everyMs) {
        lastProgress = t
        progress(fi, frontier.length, frontier.length - fi + next.length)
        // let signal handlers and timers run (SIGINT stops the search at the next state)
        await new Promise((r) => setImmediate(r))
      }
      const { id, state } = frontier[fi]
      const labels = { devices: deviceStates(state), sessions: sessionStates(state) }
      const taken: { op: Op; s: Step }[] = []
      for (const op of enabledOps(state, scope, ops)) {
        transitions++
        let t1 = now()
        const s = step(state, op)
        let t2 = now()
        time.model += t2 - t1
        // a transition that failed with an errno and left the very same state needs no second
        // look (header); everything else is checked
        if (o.recheckFailed || s.state !== state || !('errno' in s.result) || s.transient.length)
          for (const v of checkStep({ prev: state, op, result: s.result, next: s.state, transient: s.transient }, props)) record(v, id, op)
        else quietChecks++
        t1 = now()
        time.properties += t1 - t2
        coverage.step(state, op, s.result, s.state, labels)
        t2 = now()
        time.coverage += t2 - t1
        if (conformanceOn) taken.push({ op, s })
        if (s.state === state) continue
        generated++
        const fp = fingerprint(canonicalForm(s.state, symmetry))
        if (!seen.has(fp)) {
          const newId = nodes.length
          nodes.push({ parent: id, op, depth: depth + 1, init: nodes[id].init })
          seen.set(fp, newId)
          next.push({ id: newId, state: s.state })
          o.onState?.({ depth: depth + 1, init: scope.init[nodes[id].init].name, state: s.state, trace: () => traceOf(newId) })
        }
        time.canonical += now() - t2
      }
      if (conformanceOn) {
        const t3 = now()
        kernelTransitions(id, state, taken)
        time.kernel += now() - t3
      }
    }
    if (stoppedBy) {
      // what was discovered at the next level still counts as distinct states
      if (next.length) levels.push(next.length)
      break
    }
    frontier = next
    if (frontier.length) levels.push(frontier.length)
  }
  const seconds = (now() - t0) / 1000
  for (const k of Object.keys(time) as (keyof typeof time)[]) time[k] = Math.round(time[k]) / 1000
  return {
    scope: scope.name,
    design: o.design,
    symmetry,
    stats: {
      generated,
      distinct: nodes.length,
      transitions,
      unchangedNotRechecked: quietChecks,
      depthReached: levels.length - 1,
      maxDepth,
      levels,
      leftOnQueue,
      complete: !stoppedBy,
      ...(stoppedBy && { stoppedBy }),
      seconds: Math.round(seconds * 1000) / 1000,
      distinctPerMinute: seconds > 0 ? Math.round((nodes.length / seconds) * 60) : 0,
      generatedPerMinute: seconds > 0 ? Math.round((generated / seconds) * 60) : 0,
      collisionProbability: collisionProbability(nodes.length),
      time,
    },
    conformance: conf,
    init: inits,
    violations: PROPERTY_NAMES.flatMap((p) => (violations.has(p) ? [violations.get(p)!] : [])),
    violationCounts,
    coverage: coverage.data(),
    ops,
    opsNotExplored: opsWithoutEnumerator(),
  }
}

type Step = ReturnType<typeof step>
