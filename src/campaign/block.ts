// One campaign block: runProperty with the block's seed and run count, its reach counted, and a
// failure turned into a Counterexample where it happened (in the worker), so what crosses the
// thread boundary is plain data. Runs in a pool worker (worker.mjs) or in-process.

import type { MessagePort } from 'node:worker_threads'
import type { Design, ProfileName } from '../../models/design.ts'
import type { Platform } from '../../models/platform.ts'
import { runProperty } from '../../properties/run.ts'
import type { ImplChoice, PropertyName } from '../check/executor.types.ts'
import { toCounterexample } from '../report/from-failure.ts'
import type { Counterexample } from '../report/types.ts'
// issue 13: coverage in model terms, counted per generated run
import { Coverage, countingExecutor, mergeCoverage, type CoverageData } from '../coverage/coverage.ts'

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
    wrapExecutor: (e) => countingExecutor(e, (current = new Coverage())),
    onRun: (reach, n) => {
      steps += n
      // shrinking runs come after the generated ones: keep only the first numRuns
      if (perRun.length < task.numRuns) {
        perRun.push({ kd: reach.kexecWithPreservedDma, fr: reach.fullRecovery, outcomes: reach.outcomes })
        runCoverage.push(current)
        live.runs++
        if (reach.kexecWithPreservedDma) live.kexecWithPreservedDma++
        if (reach.fullRecovery) live.fullRecovery++
      }
      live.steps = steps
      if (task.port && Date.now() - lastPost >= PROGRESS_MS) {
        lastPost = Date.now()
        task.port.postMessage({ ...live })
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
    passed: result.passed,
    runs: result.runs,
    steps: result.steps,
    reach: {
      kexecWithPreservedDma: counted.filter((r) => r.kd).length,
      fullRecovery: counted.filter((r) => r.fr).length,
      outcomes: [...outcomes].sort(),
    },
    coverage: mergeCoverage(runCoverage.slice(0, result.runs).map((c) => c.data())),
  }
  if (result.error !== undefined) return { ...base, passed: false, error: result.error.split('\n').slice(0, 6).join('\n') }
  const f = result.failure
  if (!f) return base
  const cx = toCounterexample(f, { design: task.design, platform: f.platform, profile: task.profile, ...(task.defect !== undefined && { defect: task.defect }) })
  return { ...base, failure: { property: f.violation.property, cx, path: f.path, shrinks: f.shrinks } }
}

/** tinypool's entry point (worker.mjs re-exports it). */
export default function blockTask(task: BlockTask): BlockResult {
  return runBlock(task)
}
