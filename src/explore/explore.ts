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
//    that changes the model state runs on that kernel and is then undone (clone.ts: the
//    kernel is snapshotted once per state, and the snapshot's record put back in place
//    after each such transition; `kernelUndo: false` takes each on a copy built from the
//    snapshot instead) and is compared in full, as src/check/conformance.ts compares: result, observation, intermediate hardware
//    states, kernel invariants. The others (error paths and DMA, most transitions) run one
//    after the other on the kernel itself: each result is compared, and the observation and
//    invariants once after all of them; on any difference each is taken again alone on a
//    fresh copy of the snapshot, so the violation names the transition and its trace
//    replays. test/explore/reference.test.ts holds all this to a search without shortcuts.
//  * Coverage in model terms (src/coverage/) is counted on every transition.

import { isDeepStrictEqual } from 'node:util'
import { DEFAULT_PROFILE, PROFILE_NAMES, PROFILES, type Design, type ProfileName } from '../../models/design.ts'
import { resultToString, type Op, type OpName } from '../../models/ops.ts'
import type { State } from '../../models/state.ts'
import { PROPERTY_NAMES, type PropertyName, type Violation } from '../check/executor.types.ts'
import { ModelExecutor } from '../check/executor.ts'
import { Coverage, mergeCoverage, type CoverageData } from '../coverage/coverage.ts'
import { parseScenario } from '../scenario/load.ts'
import { runScenario, UnboundNameError } from '../scenario/run.ts'
import { exploredOps, opsWithoutEnumerator } from './actions.ts'
import { canonicalFingerprint, collisionProbability } from './canonical.ts'
import { addCounters, Expander, type ExpandContext, type ExpandTask, type ExpandTaskResult, type Found, type Successor } from './expand.ts'
import { expandPool } from './pool.ts'
import type { Scope } from './scope.ts'

export interface ExploreOptions {
  scope: Scope
  design: Design
  /** the profile the design was resolved from (it names the mark ioctl explored, actions.ts
   *  POSTED_MARK_OP); default: the profile whose design this is, else the default profile */
  profile?: ProfileName
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
  /** conformance: take a state's state-changing transitions on its kernel itself, undoing
   *  each (default true), or each on a copy of the kernel (false: tests compare the two) */
  kernelUndo?: boolean
  signal?: AbortSignal
  onProgress?: (p: ExploreProgress) => void
  progressEveryMs?: number
  /** called for every distinct state when found (tests; exporting the shortest traces as a
   *  corpus): its depth, its state, and its shortest trace on demand */
  onState?: (s: { depth: number; init: string; state: State; trace: () => Op[] }) => void
  /** worker threads expanding states (default 1: this thread); the result does not depend
   *  on it. With workers, onState is not called (the states stay in the workers). */
  workers?: number
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
  /** kernel replays of a shortest trace from a fresh machine (an initial state, a state
   *  expanded on a worker thread, or a suspect transition taken again alone) */
  replays: number
  /** expanded states whose kernel is a fork of the parent's kept kernel plus one op (the
   *  in-process search; replays + fromParent = expanded states) */
  fromParent: number
  /** kernel copies taken from a snapshot (one per state-changing transition, one per
   *  expanded state whose parent's kernel was kept) */
  forks: number
  /** state-changing transitions taken on the state's kernel itself and undone (clone.ts
   *  Snapshot.restore) instead of on a copy */
  undos: number
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
  const platform = scope.platform
  const coverage = new Coverage()
  const profile = o.profile ?? PROFILE_NAMES.find((p) => isDeepStrictEqual(PROFILES[p].design, o.design)) ?? DEFAULT_PROFILE

  const nodes: Node[] = []
  const seen = new Map<number, number>()
  const violations = new Map<PropertyName, ExploreViolation>()
  const violationCounts: Partial<Record<PropertyName, number>> = {}

  // ---- initial states
  const inits: InitReport[] = []
  const initOps: Op[][] = []
  let frontier: { id: number; state?: State }[] = []
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
    const n = nodes[from]
    const depth = prefixLength !== undefined ? 0 : n.depth + (op ? 1 : 0)
    // the first of the shallowest: breadth-first finds them in depth order, except that an
    // initial state's prefix (depth 0) is checked when that state is expanded, after the
    // earlier initial states' transitions (depth 1)
    const had = violations.get(v.property)
    if (had && had.depth <= depth) return
    violations.set(v.property, {
      property: v.property,
      message: v.message,
      init: scope.init[n.init].name,
      ops: prefixLength !== undefined ? initOps[n.init].slice(0, prefixLength) : op ? [...traceOf(from), op] : traceOf(from),
      depth,
    })
  }

  for (const [i, spec] of scope.init.entries()) {
    const sc = parseScenario({ name: spec.name, platform, steps: spec.steps }, `init '${spec.name}'`)
    // the prefix is held to the properties too: its steps are transitions into the state
    const exec = new ModelExecutor(platform, o.design, props)
    let run
    let cut: string | undefined
    try {
      run = runScenario(sc, { executor: exec })
    } catch (e) {
      // a step that needs what an earlier, failed step should have bound (this design refuses
      // part of the prefix): the initial state is where the prefix stopped
      if (!(e instanceof UnboundNameError)) throw e
      run = e.partial
      cut = e.message
    }
    const failed = [
      ...run.steps.filter((s) => !s.result.ok && !('fault' in s.result)).map((s) => `steps[${s.index}] ${s.op.op} ${resultToString(s.result)}`),
      ...(cut !== undefined ? [`stopped: ${cut}`] : []),
    ]
    const state = exec.modelState()
    initOps.push(run.steps.map((s) => s.op))
    const fp = canonicalFingerprint(state, symmetry)
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

  // ---- breadth-first search
  const ctx: ExpandContext = {
    scope,
    design: o.design,
    profile,
    ...(props && { properties: props }),
    conformance: conformanceOn,
    symmetry,
    recheckFailed: o.recheckFailed ?? false,
    ...(o.defect !== undefined && { defect: o.defect }),
    ...(o.kernelUndo === false && { undo: false }),
  }
  const ex = new Expander(ctx)
  const counters = ex.c
  const extraCoverage: CoverageData[] = []
  const workers = Math.max(1, o.workers ?? 1)
  const pools = workers > 1 ? expandPool(workers) : undefined
  const pool = pools !== undefined
  /** the worker thread that expanded each node (worker searches) */
  const owner: number[] = []
  const runId = `${process.pid}-${Math.random().toString(36).slice(2)}-${Date.now()}`
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
      generated: counters.generated,
      transitions: counters.transitions,
      queue,
      levelDone,
      levelSize,
      violations: Object.values(violationCounts).reduce((a, b) => a + (b ?? 0), 0),
    })
  }
  /** One expanded state's outcome, in frontier order: violations, then new states. */
  const take = (id: number, r: { succ: Successor[]; found: Found[] }, next: { id: number; state?: State }[]) => {
    for (const f of r.found) record(f, id, f.prefixLength !== undefined ? undefined : f.op, f.prefixLength)
    for (const x of r.succ) {
      if (seen.has(x.fp)) continue
      const newId = nodes.length
      nodes.push({ parent: id, op: x.op, depth: depth + 1, init: nodes[id].init })
      seen.set(x.fp, newId)
      next.push({ id: newId, ...(x.state && { state: x.state }) })
      if (o.onState && x.state) o.onState({ depth: depth + 1, init: scope.init[nodes[id].init].name, state: x.state, trace: () => traceOf(newId) })
    }
  }
  const stopNow = (): boolean => {
    if (now() > deadline) stoppedBy = 'time'
    else if (o.signal?.aborted) stoppedBy = 'signal'
    return stoppedBy !== undefined
  }

  try {
    for (; depth < maxDepth && frontier.length > 0 && !stoppedBy; depth++) {
      const next: { id: number; state?: State }[] = []
      // the last level's states are never expanded: their model states are not kept (only
      // their fingerprints), unless onState wants them; holding them to the end of the
      // search made every young-generation collection copy them
      const keepStates = depth + 1 < maxDepth || o.onState !== undefined
      if (!pool) {
        for (let fi = 0; fi < frontier.length; fi++) {
          if (stopNow()) {
            leftOnQueue = frontier.length - fi + next.length
            break
          }
          if (now() - lastProgress >= everyMs) {
            lastProgress = now()
            progress(fi, frontier.length, frontier.length - fi + next.length)
            // let signal handlers and timers run (SIGINT stops the search at the next state)
            await new Promise((r) => setImmediate(r))
          }
          const { id, state } = frontier[fi]
          take(id, ex.expand(traceOf(id), state!, nodes[id].parent < 0, keepStates, { id, parent: nodes[id].parent, keepKernel: depth + 1 < maxDepth }), next)
        }
      } else {
        // Each state goes to the worker thread that expanded its parent, which kept the
        // parent's model state and kernel: a step and a fork plus one op there, not a replay
        // of the whole trace. The initial states go round-robin; a worker given more than its
        // share hands the excess to the others (who replay those). Each worker takes its
        // chunks one after the other; the results are taken in frontier order.
        const CHUNK = 64
        const groups: { id: number }[][] = Array.from({ length: workers }, () => [])
        let rr = 0
        for (const f of frontier) {
          const p = nodes[f.id].parent
          groups[p >= 0 && owner[p] !== undefined ? owner[p] : rr++ % workers].push(f)
        }
        const share = Math.ceil(frontier.length / workers)
        const excess = groups.flatMap((g) => g.splice(share))
        for (const g of groups) while (g.length < share && excess.length) g.push(excess.pop()!)
        const results = new Map<number, { succ: Successor[]; found: Found[] }>()
        let done = 0
        const keepKernel = depth + 1 < maxDepth
        await Promise.all(
          groups.map(async (g, w) => {
            for (let ci = 0; ci < g.length; ci += CHUNK) {
              if (stopNow()) return
              if (now() - lastProgress >= everyMs) {
                lastProgress = now()
                progress(done, frontier.length, frontier.length - done + next.length)
              }
              const chunk = g.slice(ci, ci + CHUNK)
              const task: ExpandTask = { ctx, run: runId, level: depth, items: chunk.map(({ id }) => ({ id, parent: nodes[id].parent, keepKernel, trace: traceOf(id), root: nodes[id].parent < 0 })) }
              const res = (await pools![w].run(task)) as ExpandTaskResult
              chunk.forEach(({ id }, j) => {
                results.set(id, res.results[j])
                owner[id] = w
              })
              done += chunk.length
              addCounters(counters, res.counters)
              extraCoverage.push(res.coverage)
            }
          }),
        )
        for (const { id } of frontier) {
          const r = results.get(id)
          if (r) take(id, r, next)
        }
        if (stoppedBy) leftOnQueue = frontier.length - results.size + next.length
      }
      if (stoppedBy) {
        // what was discovered at the next level still counts as distinct states
        if (next.length) levels.push(next.length)
        break
      }
      frontier = next
      ex.endLevel()
      if (frontier.length) levels.push(frontier.length)
    }
  } finally {
    await Promise.all((pools ?? []).map((p) => p.destroy()))
  }
  const { generated, transitions } = counters
  const conf: ConformanceStats = { enabled: conformanceOn, ...counters.conf }
  const time = counters.time

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
      unchangedNotRechecked: counters.unchangedNotRechecked,
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
    coverage: mergeCoverage([coverage.data(), ex.coverage.data(), ...extraCoverage]),
    ops: exploredOps(scope, profile),
    opsNotExplored: opsWithoutEnumerator(),
  }
}

