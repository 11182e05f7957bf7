// One campaign block: runProperty with the block's seed and run count, its reach counted, and a
// failure turned into a Counterexample where it happened (in the worker), so what crosses the
// thread boundary is plain data. Runs in a pool worker (worker.mjs) or in-process.

import type { MessagePort } from 'node:worker_threads'
import type { Design, ProfileName } from '../../models/design.ts'
import type { Platform } from '../../models/platform.ts'
import { runProperty } from '../../properties/run.ts'
import type { Op } from '../../models/ops.ts'
import { createExecutor } from '../check/index.ts'
import type { ImplChoice, PropertyName, StepOutcome } from '../check/executor.types.ts'
import { countFaultedSteps } from '../check/failnth.ts' // issue 13
import { toCounterexample } from '../report/from-failure.ts'
import type { Counterexample } from '../report/types.ts'
// issue 13: coverage in model terms, counted per generated run
import { Coverage, countingExecutor, type CoverageData } from '../coverage/coverage.ts'

export interface BlockTask {
  index: number
  seed: number
  numRuns: number
  /** each run draws one (one platform: every run on it) */
  platforms: Platform[]
  design: Design
  profile: ProfileName
  impl: ImplChoice
  defect?: string
  /** the properties this block checks */
  properties: PropertyName[]
  /** report a failing run as found, unshrunk (benchmarks: no single-worker shrinking tail) */
  noShrink?: boolean
  /** --paranoid: ExecutorOptions.paranoid */
  paranoid?: boolean
  /** --shrink-budget in ms: shrinking a failure stops when spent (issue 12) */
  shrinkBudgetMs?: number
  /** issue 13: fraction of steps given a random fail-nth (0 or absent: none) */
  failRate?: number
  /** progress messages (BlockProgress) go here, at most every PROGRESS_MS */
  port?: MessagePort
}

/** What a block reached, counted over its generated runs (shrinking runs left out). */
export interface BlockReach {
  kexecWithPreservedDma: number
  fullRecovery: number
  /** `OP errno` / `OP ok` pairs seen, sorted */
  outcomes: string[]
}

export interface BlockFailure {
  property: PropertyName
  cx: Counterexample
  /** fast-check's counterexample path (replay with the block seed) */
  path: string
  shrinks: number
  /** set when the block was stopped before its shrink ended: the trace is the smallest failing
   *  one found so far (`shrinks` > 0) or the unshrunk counterexample, not a minimal one */
  unfinishedShrink?: { signal: string }
}

/** A failing run reported by a worker the moment it happens (the first, then each kept shrink):
 *  if the block is stopped before it ends, the campaign still has the failure. */
export interface FailingReport {
  kind: 'failing'
  index: number
  property: PropertyName
  ops: Op[]
  platformIndex: number
  /** 0-based index of the generated run that failed */
  run: number
  shrinks: number
}

export interface BlockResult {
  index: number
  seed: number
  numRuns: number
  properties: PropertyName[]
  passed: boolean
  /** generated runs (the failing one included) */
  runs: number
  /** ops executed, shrinking included: the throughput figure */
  steps: number
  reach: BlockReach
  failure?: BlockFailure
  /** a harness error (not a property violation), first lines of its stack */
  error?: string
  /** coverage in model terms over the generated runs (src/coverage/) */
  coverage?: CoverageData
  /** the profile the block ran (--profiles draws one per block) */
  profile?: ProfileName
  /** issue 13: faulted steps of the generated runs, and how many reached their n-th allocation */
  faults?: { armed: number; reached: number }
}

/** Cumulative figures of a running block, for the progress display. */
export interface BlockProgress {
  index: number
  runs: number
  steps: number
  kexecWithPreservedDma: number
  fullRecovery: number
}

const PROGRESS_MS = 250

export function runBlock(task: BlockTask): BlockResult {
  const perRun: { kd: boolean; fr: boolean; outcomes: Set<string> }[] = []
  let steps = 0
  let lastPost = Date.now()
  const live: BlockProgress = { index: task.index, runs: 0, steps: 0, kexecWithPreservedDma: 0, fullRecovery: 0 }
  // issue 13: each run's coverage; only the generated runs' are kept (as perRun)
  const runCoverage: Coverage[] = []
  let current = new Coverage()
  // issue 13: faulted steps per run (kept for the generated runs, as perRun)
  const runFaults: { armed: number; reached: number }[] = []
  let currentFaults = { armed: 0, reached: 0 }
  const post = (m: BlockProgress | FailingReport) => task.port?.postMessage(m)
  const result = runProperty({
    platform: task.platforms[0],
    platforms: task.platforms,
    design: task.design,
    impl: task.impl,
    ...(task.defect !== undefined && { defect: task.defect }),
    properties: new Set(task.properties),
    seed: task.seed,
    numRuns: task.numRuns,
    ...(task.noShrink && { noShrink: true }),
    ...(task.shrinkBudgetMs !== undefined && { shrinkBudgetMs: task.shrinkBudgetMs }),
    ...(task.paranoid && { paranoid: true }),
    ...(task.failRate && { failRate: task.failRate }),
    wrapExecutor: (e) => countFaultedSteps(countingExecutor(e, (current = new Coverage())), (currentFaults = { armed: 0, reached: 0 })),
    // counted as failed from the moment it is found; the ops are small (at most 80 steps)
    onFailing: (f) => post({ kind: 'failing', index: task.index, property: f.violation.property, ops: f.ops, platformIndex: f.platformIndex, run: f.run, shrinks: f.shrinks }),
    onRun: (reach, n) => {
      steps += n
      // shrinking runs come after the generated ones: keep only the first numRuns
      if (perRun.length < task.numRuns) {
        perRun.push({ kd: reach.kexecWithPreservedDma, fr: reach.fullRecovery, outcomes: reach.outcomes })
        runCoverage.push(current)
        runFaults.push(currentFaults)
        live.runs++
        if (reach.kexecWithPreservedDma) live.kexecWithPreservedDma++
        if (reach.fullRecovery) live.fullRecovery++
      }
      live.steps = steps
      if (task.port && Date.now() - lastPost >= PROGRESS_MS) {
        lastPost = Date.now()
        post({ ...live })
      }
    },
  })
  const counted = perRun.slice(0, result.runs)
  const outcomes = new Set<string>()
  for (const r of counted) for (const o of r.outcomes) outcomes.add(o)
  const base: BlockResult = {
    index: task.index,
    seed: task.seed,
    numRuns: task.numRuns,
    properties: task.properties,
    profile: task.profile,
    passed: result.passed,
    runs: result.runs,
    steps: result.steps,
    reach: {
      kexecWithPreservedDma: counted.filter((r) => r.kd).length,
      fullRecovery: counted.filter((r) => r.fr).length,
      outcomes: [...outcomes].sort(),
    },
    coverage: sumRuns(runCoverage.slice(0, result.runs)),
    ...(task.failRate && {
      faults: runFaults.slice(0, result.runs).reduce((a, f) => ({ armed: a.armed + f.armed, reached: a.reached + f.reached }), { armed: 0, reached: 0 }),
    }),
  }
  if (result.error !== undefined) return { ...base, passed: false, error: result.error.split('\n').slice(0, 6).join('\n') }
  const f = result.failure
  if (!f) return base
  const t0 = performance.now()
  const made = toCounterexample(f, { design: task.design, platform: f.platform, profile: task.profile, ...(task.defect !== undefined && { defect: task.defect }) })
  // the shrink's cost goes in the bundle (issue 12), the probe search of toCounterexample
  // included; a noShrink block did not shrink
  const st = f.shrink
  const ms = (st?.ms ?? 0) + (performance.now() - t0)
  const cx: Counterexample =
    st && !task.noShrink
      ? { ...made, shrink: { tried: st.tried, skipped: st.skipped, kept: f.shrinks, budgetSpent: st.budgetSpent, ...(st.budgetMs !== undefined && { budgetMs: st.budgetMs }), originalLength: st.originalLength, finalLength: st.finalLength, seconds: Math.round(ms / 100) / 10 } }
      : made
  return { ...base, failure: { property: f.violation.property, cx, path: f.path, shrinks: f.shrinks } }
}

/**
 * The failure a stopped block had found: its latest failing run replayed on a fresh executor
 * (on the campaign's thread, so it does not depend on the terminated worker), as a BlockFailure
 * whose message says that shrinking was cut short.
 */
export function unfinishedFailure(task: Omit<BlockTask, 'port'>, f: FailingReport, signal: string): BlockFailure {
  const platform = task.platforms[f.platformIndex] ?? task.platforms[0]
  const exec = createExecutor(platform, task.design, { impl: task.impl, ...(task.defect !== undefined && { defect: task.defect }), properties: new Set(task.properties) })
  const outcomes: StepOutcome[] = []
  let violation = undefined as StepOutcome['violations'][number] | undefined
  for (const op of f.ops) {
    const out = exec.step(op)
    outcomes.push(out)
    if (out.violations.length > 0) {
      violation = out.violations.find((v) => v.property === f.property) ?? out.violations[0]
      break
    }
  }
  const ops = f.ops.slice(0, outcomes.length)
  const what = f.shrinks > 0 ? `the smallest failing run after ${f.shrinks} shrink${f.shrinks === 1 ? '' : 's'}` : 'the unshrunk counterexample'
  const note = ` [shrinking cut short by ${signal}: ${what}, not a minimal trace]`
  const v = violation ?? { property: f.property, message: 'the failure did not recur on replay' }
  const made = toCounterexample(
    { violation: { ...v, message: v.message + note }, ops, outcomes, divergenceIndex: ops.length, seed: task.seed, path: `${f.run}` },
    { design: task.design, platform, profile: task.profile, ...(task.defect !== undefined && { defect: task.defect }) },
  )
  // the headline is re-derived from the trace (src/report/from-failure.ts): the note goes on it
  const cx = made.message.includes(note) ? made : { ...made, message: made.message + note }
  return { property: v.property, cx, path: `${f.run}`, shrinks: f.shrinks, unfinishedShrink: { signal } }
}

/** tinypool's entry point (worker.mjs re-exports it). */
export default function blockTask(task: BlockTask): BlockResult {
  return runBlock(task)
}

/** The block's coverage: its runs' counters summed, then expanded once (issue 12); unsorted:
 *  the campaign's mergeCoverage sorts the sum of the blocks. */
function sumRuns(runs: readonly Coverage[]): CoverageData {
  const total = new Coverage()
  for (const c of runs) total.add(c)
  return total.data({ sorted: false })
}
