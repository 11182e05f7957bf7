// `luv campaign`: blocks of runProperty on a worker pool, aggregated in block order into a
// summary, failures bucketed into bundles (one per distinct op list), written as a report.

import { describeDesign } from '../../models/design.ts'
import { bucketTitle, bundleName } from '../report/bucket.ts'
import { titleSentence } from '../report/common.ts'
import { luvVersions } from '../report/from-failure.ts'
import type { BlockProgress } from './block.ts'
import { planBlocks } from './blocks.ts'
import type { CampaignOptions } from './options.ts'
import { inlineRunner, poolRunner, type BlockRunner } from './pool.ts'
import { runSchedule, type BlockOutcome, type ScheduleControl } from './scheduler.ts'
import { buildSummary, fastCheckReplay, type BlockEntry, type CampaignContext, type CampaignSummary, type FailureEntry } from './summary.ts'
import type { BundleSource } from './write.ts'
// issue 13: coverage in model terms
import { mergeCoverage } from '../coverage/coverage.ts'

/** Live figures for the progress display; updated as workers report. */
export interface LiveProgress {
  startedAt: number
  runs: number
  steps: number
  kexecWithPreservedDma: number
  fullRecovery: number
  failures: number
  blocksDone: number
  /** planned blocks (--runs), or undefined (--time) */
  blocksTotal?: number
  /** --runs total, for the bar */
  runsTotal?: number
  /** --time budget in ms, for the bar */
  timeMs?: number
}

export interface CampaignHooks {
  /** called whenever the live figures change (at most every 250 ms per worker) */
  onProgress?: (p: LiveProgress) => void
}

export interface CampaignRunControl extends Pick<ScheduleControl, 'stop' | 'kill' | 'graceMs'> {
  /** run blocks on the calling thread instead of a worker pool (tests) */
  inline?: boolean
  /** run blocks on this runner (shared by several campaigns: luv compare); not closed here */
  runner?: BlockRunner
  /** rework each block outcome before aggregation (luv compare minimizes unshrunk failures) */
  refine?: (outcome: BlockOutcome) => BlockOutcome
}

export interface CampaignResult {
  summary: CampaignSummary
  bundles: Map<string, BundleSource>
}

export function campaignContext(o: CampaignOptions): CampaignContext {
  return {
    name: o.name,
    out: o.out,
    seed: o.seed,
    profile: o.profile,
    overrides: o.overrides,
    design: o.design,
    // --profiles: the label names every profile blocks draw from (the design fields: the first)
    designLabel: o.profiles ? `profiles ${o.profiles.map((p) => describeDesign(p.design, p.profile)).join(', ')}` : describeDesign(o.design, o.profile),
    platformName: o.platformName,
    platform: o.platform,
    platforms: o.platforms,
    impl: o.impl,
    ...(o.defect !== undefined && { defect: o.defect }),
    properties: o.properties,
    budget: { ...(o.runs !== undefined && { runs: o.runs }), ...(o.time !== undefined && { time: o.time }) },
    runsPerBlock: o.blockRuns,
    shard: o.shard ?? null,
    versions: luvVersions(),
    ...(o.profiles && { profiles: o.profiles.map((p) => p.profile) }),
    shrinkBudget: o.shrinkBudget,
    ...(o.failRate && { failRate: o.failRate }),
  }
}

export async function runCampaign(o: CampaignOptions, hooks: CampaignHooks = {}, control: CampaignRunControl = {}): Promise<CampaignResult> {
  const started = new Date()
  const ctx = campaignContext(o)
  // --profiles: each block draws its profile (blocks.ts blockProfileIndex)
  const drawn = o.profiles?.map((p) => p.profile)
  const plan = planBlocks({ seed: o.seed, runs: o.runs, shard: o.shard, blockRuns: o.blockRuns, ...(drawn && { profiles: drawn }) })
  // a --runs campaign knows its blocks up front (for the bar); a --time one does not
  const planned = o.runs === undefined ? undefined : [...planBlocks({ seed: o.seed, runs: o.runs, shard: o.shard, blockRuns: o.blockRuns })]
  const blockDesign = (b: { profile?: string }) => o.profiles?.find((p) => p.profile === b.profile) ?? { profile: o.profile, design: o.design }
  const live: LiveProgress = {
    startedAt: started.getTime(),
    runs: 0,
    steps: 0,
    kexecWithPreservedDma: 0,
    fullRecovery: 0,
    failures: 0,
    blocksDone: 0,
    ...(planned && { blocksTotal: planned.length, runsTotal: planned.reduce((n, b) => n + b.numRuns, 0) }),
    ...(o.timeMs !== undefined && { timeMs: o.timeMs }),
  }

  // live figures: finished blocks' totals plus the latest report of each running block
  const running = new Map<number, BlockProgress>()
  const done = { runs: 0, steps: 0, kd: 0, fr: 0 }
  const failedProps = new Set<string>()
  const refresh = () => {
    const inflight = [...running.values()]
    live.runs = done.runs + inflight.reduce((n, p) => n + p.runs, 0)
    live.steps = done.steps + inflight.reduce((n, p) => n + p.steps, 0)
    live.kexecWithPreservedDma = done.kd + inflight.reduce((n, p) => n + p.kexecWithPreservedDma, 0)
    live.fullRecovery = done.fr + inflight.reduce((n, p) => n + p.fullRecovery, 0)
    live.failures = failedProps.size
    hooks.onProgress?.(live)
  }

  const runner: BlockRunner = control.runner ?? (control.inline ? inlineRunner() : poolRunner(o.workers))
  let schedule
  try {
    schedule = await runSchedule(
      plan,
      o.properties,
      runner,
      (b, properties) => ({
        ...b,
        platforms: o.platforms,
        design: blockDesign(b).design,
        profile: blockDesign(b).profile,
        shrinkBudgetMs: o.shrinkBudgetMs,
        ...(o.paranoid && { paranoid: true }),
        impl: o.impl,
        ...(o.defect !== undefined && { defect: o.defect }),
        properties,
        ...(o.shrink === false && { noShrink: true }),
        ...(o.failRate && { failRate: o.failRate }),
      }),
      {
        onProgress: (p) => {
          running.set(p.index, p)
          refresh()
        },
        // a failure counts from the moment a worker finds it, not when its shrink ends
        onFailing: (f) => {
          failedProps.add(f.property)
          refresh()
        },
        onBlockDone: (r) => {
          running.delete(r.index)
          done.runs += r.runs
          done.steps += r.steps
          done.kd += r.reach.kexecWithPreservedDma
          done.fr += r.reach.fullRecovery
          if (r.failure) failedProps.add(r.failure.property)
          live.blocksDone++
          refresh()
        },
      },
      {
        ...(o.timeMs !== undefined && { deadline: started.getTime() + o.timeMs }),
        ...(control.stop && { stop: control.stop }),
        ...(control.kill && { kill: control.kill }),
        graceMs: control.graceMs ?? 3000,
        finite: o.runs !== undefined && o.timeMs === undefined,
        ...(drawn && { groups: drawn }),
      },
    )
  } finally {
    if (!control.runner) await runner.close()
  }
  const finished = new Date()
  return aggregate(ctx, control.refine ? schedule.blocks.map(control.refine) : schedule.blocks, {
    interrupted: schedule.interrupted,
    aborted: schedule.aborted,
    reruns: schedule.reruns,
    workers: control.runner ? control.runner.workers : control.inline ? 1 : o.workers,
    started,
    finished,
  })
}

/** Block outcomes (in block order) → summary and the bundles to write. */
export function aggregate(
  ctx: CampaignContext,
  outcomes: BlockOutcome[],
  run: { interrupted: boolean; aborted: number[]; reruns: number; workers: number; started: Date; finished: Date },
): CampaignResult {
  const blocks: BlockEntry[] = []
  const failures = new Map<string, FailureEntry>()
  const bundles = new Map<string, BundleSource>()
  const outcomesSeen = new Set<string>()
  const errors: { block: number; seed: number; message: string }[] = []
  const notes: string[] = []
  const shrink: { bundle: string; seconds: number; budgetSpent: boolean }[] = []
  for (const b of [...outcomes].sort((x, y) => x.index - y.index)) {
    for (const s of b.reach.outcomes) outcomesSeen.add(s)
    const entry: BlockEntry = {
      index: b.index,
      seed: b.seed,
      runs: b.runs,
      steps: b.steps,
      properties: b.properties,
      kexecWithPreservedDma: b.reach.kexecWithPreservedDma,
      fullRecovery: b.reach.fullRecovery,
      ...(b.skipped && { skipped: true }),
      ...(ctx.profiles && b.profile !== undefined && { profile: b.profile }),
      ...(b.faults && { faults: b.faults }),
    }
    if (b.error !== undefined) {
      entry.error = b.error.split('\n')[0]
      errors.push({ block: b.index, seed: b.seed, message: b.error })
    }
    const f = b.failure
    if (f) {
      // one bundle per distinct failure: blocks that found the same failure (same property,
      // diverging op and observed result, whatever the shrunk op list) share the first one's
      const title = bucketTitle(f.cx)
      // --profiles: the same failure on two profiles is two findings (two designs)
      const key = ctx.profiles && b.profile !== undefined ? `${b.profile}\n${title}` : title
      const seen = failures.get(key)
      const hash = seen?.bundle ?? bundleName(f.cx)
      entry.failed = f.property
      entry.bundle = hash
      if (seen) seen.blocks.push(b.index)
      else {
        const st = f.cx.shrink
        if (st) shrink.push({ bundle: hash, seconds: st.seconds, budgetSpent: st.budgetSpent })
        if (st?.budgetSpent)
          notes.push(
            `Bundle ${hash}: shrinking stopped when the shrink budget (--shrink-budget ${ctx.shrinkBudget ?? `${(st.budgetMs ?? 0) / 1000}s`}) was spent, after ${st.tried} candidates: it holds the smallest failing trace found by then (${st.originalLength} → ${st.finalLength} steps), not a minimal one. A larger --shrink-budget shrinks further.`,
          )
        failures.set(key, {
          property: f.property,
          bundle: hash,
          title,
          sentence: titleSentence(f.cx),
          message: f.cx.message,
          length: f.cx.steps.length,
          divergenceIndex: f.cx.divergenceIndex,
          blocks: [b.index],
          seed: b.seed,
          path: f.path,
          shrinks: f.shrinks,
          checked: b.properties,
          replay: { bundle: '', fastCheck: fastCheckReplay(ctx, b.seed, f.path, b.properties, b.profile ?? ctx.profile) },
          ...(ctx.profiles && b.profile !== undefined && { profile: b.profile }),
          ...(st && {
            shrink: { tried: st.tried, ...(st.skipped !== undefined && { skipped: st.skipped }), kept: st.kept, budgetSpent: st.budgetSpent, ...(st.budgetMs !== undefined && { budgetMs: st.budgetMs }), originalLength: st.originalLength, finalLength: st.finalLength },
          }),
        })
        bundles.set(hash, { cx: f.cx })
      }
      if (f.unfinishedShrink)
        notes.push(
          `Block ${b.index} was stopped (${f.unfinishedShrink.signal}) while shrinking its ${f.property} failure: bundle ${hash} holds ${f.shrinks > 0 ? `the smallest failing run after ${f.shrinks} shrinks` : 'the unshrunk counterexample'}, not a minimal trace (replay it, or re-run the block: ${fastCheckReplay(ctx, b.seed, f.path, b.properties, b.profile ?? ctx.profile)}).`,
        )
    }
    blocks.push(entry)
  }
  const summary = buildSummary(ctx, blocks, [...failures.values()], {
    interrupted: run.interrupted,
    aborted: run.aborted,
    outcomes: outcomesSeen,
    errors,
    seconds: (run.finished.getTime() - run.started.getTime()) / 1000,
    started: run.started.toISOString(),
    finished: run.finished.toISOString(),
    workers: run.workers,
    reruns: run.reruns,
    coverage: mergeCoverage(outcomes.map((b) => b.coverage)),
    notes,
    shrink,
  })
  return { summary, bundles }
}
