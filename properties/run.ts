// Running the model-based property: fc.check over swarm command lists, every step checked.
// Returns a structured verdict (fast-check's RunDetails turned into luv's terms) so vitest,
// the campaign and the benchmarks share one runner, and artifacts can be written before a
// test fails.

import fc from 'fast-check'
import type { Design } from '../models/design.ts'
import type { Op } from '../models/ops.ts'
import type { Platform } from '../models/platform.ts'
import { createExecutor } from '../src/check/index.ts'
import type { Executor, ImplChoice, PropertyName, StepOutcome, Violation } from '../src/check/executor.types.ts'
import { PropertyFailure, emptyModel, swarmArb, type Real } from './commands.ts'
import { classify, type Reach } from './reach.ts'
import { minimize } from '../src/check/minimize.ts'

export interface PropertyRunOptions {
  platform: Platform
  /** swarm over platforms: each run draws one of these (shrinks towards the first); default [platform] */
  platforms?: Platform[]
  design: Design
  impl: ImplChoice
  defect?: string
  properties?: ReadonlySet<PropertyName>
  seed: number
  numRuns: number
  /** stop generating new runs after this many ms (the verdict counts what ran) */
  timeLimitMs?: number
  maxCommands?: number
  /** issue 13: fraction of steps given a random fail-nth (properties/commands.ts; default 0) */
  failRate?: number
  /** replay: the fast-check path of a failure */
  path?: string
  /** report the first failing run as found, without shrinking it (power tests, time-to-find) */
  noShrink?: boolean
  /** called after every run with what it reached */
  onRun?: (reach: Reach, steps: number) => void
  /** wraps each run's executor (coverage in model terms, src/coverage/: the campaign block) */
  wrapExecutor?: (e: Executor) => Executor
  /** called with every failing run as it happens: the first one found, then each smaller one
   *  the shrinker keeps (src/campaign/block.ts: a failure is reported even if shrinking is cut
   *  short). `run` is the 0-based index of the generated run (shrink attempts keep the index of
   *  the run they shrink). */
  onFailing?: (f: FailingRun) => void
  // --- shrink budget (issue 12, campaign helper) ---
  /** wall-clock ms that shrinking one failure may take (fast-check's shrinker, then delta
   *  debugging), counted from the first failing run; when spent, the smallest failing run
   *  found so far is the result (`failure.shrink.budgetSpent`). Default: no bound. */
  shrinkBudgetMs?: number
  // --- end shrink budget ---
  /** ExecutorOptions.paranoid: kernel invariants swept at every step (campaign --paranoid) */
  paranoid?: boolean
}

// --- shrink budget (issue 12, campaign helper) ---
/** What shrinking one failure cost, for the bundle and the campaign summary. */
export interface ShrinkStats {
  /** ms from the first failing run to the end of delta debugging */
  ms: number
  /** shrink candidates run (fast-check's, then delta debugging's replays) */
  tried: number
  /** fast-check's candidates not run again: the same command list already ran and passed */
  skipped: number
  /** the budget ran out: the trace is the smallest failing one found, not a minimal one */
  budgetSpent: boolean
  /** the budget it had (ms), when one was given */
  budgetMs?: number
  /** ops of the failing run as generated, and of the trace reported */
  originalLength: number
  finalLength: number
}
// --- end shrink budget ---

/** A failing run as it happened, before any replay or minimisation. */
export interface FailingRun {
  violation: Violation
  ops: Op[]
  outcomes: StepOutcome[]
  platformIndex: number
  run: number
  /** failing runs seen before this one in this check (0: the one found, n: n-th kept shrink) */
  shrinks: number
}

export interface Failure {
  violation: Violation
  /** the shrunk op list, resolved, and what each step returned on a fresh replay */
  ops: Op[]
  outcomes: StepOutcome[]
  divergenceIndex: number
  seed: number
  path: string
  shrinks: number
  /** the platform the failing run drew */
  platform: Platform
  /** what shrinking cost (issue 12) */
  shrink?: ShrinkStats
}

export interface PropertyRunResult {
  passed: boolean
  runs: number
  steps: number
  interrupted: boolean
  failure?: Failure
  /** an error that is not a property violation (a harness bug) */
  error?: string
}

export function runProperty(o: PropertyRunOptions): PropertyRunResult {
  let steps = 0
  const platforms = o.platforms ?? [o.platform]
  let platform = platforms[0]
  const setup = (): { model: ReturnType<typeof emptyModel>; real: Real } => {
    const made = createExecutor(platform, o.design, { impl: o.impl, defect: o.defect, properties: o.properties, ...(o.paranoid && { paranoid: true }) })
    // shrink budget (issue 12): shrink runs are not counted (coverage), so not wrapped either
    const exec = o.wrapExecutor && failing === 0 ? o.wrapExecutor(made) : made
    const real: Real = { exec, state: () => exec.modelState(), trace: [] }
    lastReal = real
    return { model: emptyModel(), real }
  }
  let lastReal: Real | undefined
  let generated = 0
  let failing = 0
  // --- shrink budget (issue 12, campaign helper) ---
  let shrinkStart = 0
  let shrinkTried = 0
  let budgetSpent = false
  let originalLength = 0
  const pastShrinkBudget = () => o.shrinkBudgetMs !== undefined && failing > 0 && performance.now() - shrinkStart >= o.shrinkBudgetMs
  // shrink candidates that already ran and passed: a run is a function of (platform, command
  // list), so the same candidate passes again and fast-check's shrinker proposes many twice
  const passed = new Set<string>()
  let shrinkSkipped = 0
  const candidateKey = (pi: number, cmds: Iterable<unknown>): string => {
    let k = `${pi}`
    for (const c of cmds as Iterable<{ cmd: { kind: string; picks: readonly number[] } }>) k += `;${c.cmd.kind}:${c.cmd.picks.join(',')}`
    return k
  }
  // --- end shrink budget ---
  const prop = fc.property(fc.nat(platforms.length - 1), swarmArb({ maxCommands: o.maxCommands ?? 80, ...(o.failRate && { failRate: o.failRate }) }), (pi, cmds) => {
    platform = platforms[pi]
    if (failing === 0) generated++
    // --- shrink budget: spent, fast-check stops here and keeps the smallest failure so far ---
    else if (pastShrinkBudget()) {
      budgetSpent = true
      throw new fc.PreconditionFailure(true)
    }
    const key = failing > 0 ? candidateKey(pi, cmds) : undefined
    if (key !== undefined && passed.has(key)) {
      shrinkSkipped++
      return
    }
    if (failing > 0) shrinkTried++
    // --- end shrink budget ---
    try {
      fc.modelRun(setup, cmds)
      // the end-of-run sweep (issue 12): invariants are checked on what each op touched, in
      // full at KEXEC and here; a violation found only here is charged to the run's last step
      const end = lastReal?.exec.finish() ?? []
      const last = lastReal?.trace.at(-1)
      if (end[0] && last) throw new PropertyFailure(end[0], lastReal!.trace.length - 1, last.op, last.outcome)
      if (key !== undefined) passed.add(key)
    } catch (e) {
      if (e instanceof PropertyFailure && failing === 0 && lastReal) {
        shrinkStart = performance.now()
        originalLength = lastReal.trace.length
      }
      if (e instanceof PropertyFailure && o.onFailing && lastReal) {
        const t = lastReal.trace
        o.onFailing({ violation: e.violation, ops: t.map((x) => x.op), outcomes: t.map((x) => x.outcome), platformIndex: pi, run: generated - 1, shrinks: failing })
      }
      if (e instanceof PropertyFailure) failing++
      throw e
    } finally {
      if (lastReal) {
        steps += lastReal.trace.length
        o.onRun?.(classify(lastReal.trace), lastReal.trace.length)
      }
    }
  })
  const details = fc.check(prop, {
    seed: o.seed,
    numRuns: o.numRuns,
    ...(o.timeLimitMs !== undefined && { interruptAfterTimeLimit: o.timeLimitMs, markInterruptAsFailure: false }),
    ...(o.path !== undefined && { path: o.path, endOnFailure: true }),
    ...(o.noShrink && { endOnFailure: true }),
  })
  const base = { runs: details.numRuns, steps, interrupted: details.interrupted }
  if (!details.failed) return { passed: true, ...base }
  const err = details.errorInstance
  if (!(err instanceof PropertyFailure)) return { passed: false, ...base, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }
  // replay the shrunk list on a fresh executor: the ops as resolved, every outcome
  platform = platforms[(details.counterexample?.[0] as number | undefined) ?? 0]
  const cx = details.counterexample?.[1] as Iterable<{ toString(): string }> | undefined
  const fresh = () => createExecutor(platform, o.design, { impl: o.impl, defect: o.defect, properties: o.properties, ...(o.paranoid && { paranoid: true }) })
  let ops = replayOps(fresh, cx)
  if (!o.noShrink && ops.length > 1) {
    // fast-check shrank the command list; delta debugging on the resolved ops goes further
    const first = fresh()
    const results = ops.map((op) => first.step(op).result)
    ops = minimize(ops, results, err.violation.property, () => {
      // --- shrink budget: once spent, every further replay is a cheap non-failing one, so
      // minimize ends at once with the smallest trace it has ---
      if (pastShrinkBudget()) {
        budgetSpent = true
        return () => ({ result: { ok: true } })
      }
      shrinkTried++
      // --- end shrink budget ---
      const ex = fresh()
      return (op) => {
        const out = ex.step(op)
        return { result: out.result, violation: out.violations[0] }
      }
    })
  }
  const outcomes: StepOutcome[] = []
  const exec = fresh()
  let divergenceIndex = ops.length
  for (const [i, op] of ops.entries()) {
    const out = exec.step(op)
    outcomes.push(out)
    if (out.violations.length > 0 && divergenceIndex === ops.length) divergenceIndex = i + 1
  }
  return {
    passed: false,
    ...base,
    failure: {
      violation: err.violation,
      ops: ops.slice(0, divergenceIndex),
      outcomes: outcomes.slice(0, divergenceIndex),
      divergenceIndex,
      seed: details.seed,
      path: details.counterexamplePath ?? '',
      shrinks: details.numShrinks,
      platform,
      shrink: {
        ms: Math.round(performance.now() - shrinkStart),
        tried: shrinkTried,
        skipped: shrinkSkipped,
        budgetSpent,
        ...(o.shrinkBudgetMs !== undefined && { budgetMs: o.shrinkBudgetMs }),
        originalLength,
        finalLength: divergenceIndex,
      },
    },
  }
}

/** The resolved ops of the shrunk command list (commands that ran, in order). */
function replayOps(fresh: () => Executor, cx: Iterable<{ toString(): string }> | undefined): Op[] {
  if (!cx) return []
  const exec = fresh()
  const real: Real = { exec, state: () => exec.modelState(), trace: [] }
  for (const c of cx as Iterable<{ run(m: unknown, r: Real): void; hasRan?: boolean }>) {
    try {
      c.run({}, real)
    } catch (e) {
      if (e instanceof PropertyFailure) break
      throw e
    }
  }
  return real.trace.map((t) => t.op)
}
