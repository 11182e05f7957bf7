// Dispatching blocks to the pool so that the result does not depend on the number of workers
// or on which block finishes first.
//
// The rule: block k checks the requested properties minus those that failed in earlier blocks
// (so one design finding does not starve the others). With several workers, block k often
// starts before every earlier block has finished, so it starts with the properties known to be
// still unfailed then (a superset of the rule's set, or equal). Its result stands when
//   * it ran with exactly the rule's set, or
//   * it passed and ran with a superset: checking a property that never fails changes nothing
//     about the runs (generation does not depend on it), so the runs and steps are the same;
// otherwise the block runs again with the rule's set once that set is known (rare: only after
// a failure). A block still running with a property that an earlier block has just failed is
// restarted at once without it: it would most likely fail that property too and spend long
// in shrinking for a result that cannot stand. Results are then taken in block order.
//
// With --profiles, blocks are grouped by the profile they drew and the rule holds within a
// group: a property an rfc-v2 block failed is still checked in lpc2025 blocks (a design
// finding of one profile says nothing about another).

import type { PropertyName } from '../check/executor.types.ts'
import type { ProfileName } from '../../models/design.ts'
import { unfinishedFailure, type BlockProgress, type BlockResult, type BlockTask, type FailingReport } from './block.ts'
import type { PlannedBlock } from './blocks.ts'
import type { BlockRunner } from './pool.ts'

export interface ScheduleControl {
  /** epoch ms: no block (nor rerun) starts after it */
  deadline?: number
  /** stop: no new blocks; in-flight ones get `graceMs` to finish, then are aborted */
  stop?: AbortSignal
  /** abort in-flight blocks now */
  kill?: AbortSignal
  graceMs?: number
  /** the plan ends (a --runs campaign): blocks left when every property failed are listed */
  finite?: boolean
  /** every group (profile) blocks may draw (--profiles); default: one group */
  groups?: readonly string[]
}

export interface ScheduleHooks {
  onProgress?: (p: BlockProgress) => void
  /** a block found a failing run (the first report of each block), before its shrink ends */
  onFailing?: (f: FailingReport) => void
  onBlockDone?: (r: BlockResult) => void
}

/** A block's entry in the campaign's results. */
export type BlockOutcome = BlockResult & {
  /** no property was left to check: the block did not run */
  skipped?: boolean
}

export interface ScheduleResult {
  /** in block order */
  blocks: BlockOutcome[]
  /** blocks started but not finished (SIGINT, SIGTERM, or a restart the budget cut off) */
  aborted: number[]
  interrupted: boolean
  /** blocks run again because a speculative start did not stand */
  reruns: number
}

interface Entry {
  planned: PlannedBlock
  ran?: PropertyName[]
  running: boolean
  result?: BlockResult
  /** the result stands (or, at the end, is taken as it is) */
  final?: BlockOutcome
  aborted?: boolean
  /** aborted to start again with fewer properties */
  restart?: boolean
  /** the latest failing run the running block reported (kept if the block is stopped) */
  found?: FailingReport
  progress?: BlockProgress
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x))
const superset = (a: readonly string[], b: readonly string[]) => b.every((x) => a.includes(x))
const failedIn = (r: BlockResult | undefined): PropertyName | undefined => r?.failure?.property
const groupOf = (b: PlannedBlock): string => b.profile ?? ''

export async function runSchedule(
  plan: Iterator<PlannedBlock>,
  requested: readonly PropertyName[],
  runner: BlockRunner,
  makeTask: (b: PlannedBlock, properties: PropertyName[]) => Omit<BlockTask, 'port'>,
  hooks: ScheduleHooks = {},
  control: ScheduleControl = {},
): Promise<ScheduleResult> {
  const entries: Entry[] = []
  const inflight = new Map<Entry, AbortController>()
  let planDone = false
  let stopping = false
  let interrupted = false
  let reruns = 0
  /** the next planned block, drawn but waiting for its group's earlier blocks */
  let peeked: PlannedBlock | undefined
  const allGroups = control.groups && control.groups.length > 0 ? control.groups : ['']
  let wake: (() => void) | undefined
  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }

  const abortAll = () => {
    for (const ac of inflight.values()) ac.abort()
  }
  let graceTimer: NodeJS.Timeout | undefined
  const onStop = () => {
    interrupted = true
    stopping = true
    graceTimer = setTimeout(abortAll, control.graceMs ?? 3000)
    graceTimer.unref?.()
    notify()
  }
  const onKill = () => {
    interrupted = true
    stopping = true
    abortAll()
    notify()
  }
  if (control.stop?.aborted) onStop()
  else control.stop?.addEventListener('abort', onStop, { once: true })
  if (control.kill?.aborted) onKill()
  else control.kill?.addEventListener('abort', onKill, { once: true })

  const pastDeadline = () => control.deadline !== undefined && Date.now() >= control.deadline
  const remaining = (failed: Iterable<PropertyName | undefined>) => {
    const f = new Set(failed)
    return requested.filter((p) => !f.has(p))
  }

  /** Walk the entries in order; settle each whose earlier blocks have all settled. */
  const settle = () => {
    const failedBy = new Map<string, PropertyName[]>()
    for (const e of entries) {
      const g = groupOf(e.planned)
      if (!failedBy.has(g)) failedBy.set(g, [])
      const failed = failedBy.get(g)!
      if (e.final) {
        const f = failedIn(e.final)
        if (f) failed.push(f)
        continue
      }
      const rule = remaining(failed)
      if (rule.length === 0) {
        if (!e.running) e.final = skippedOutcome(e.planned)
        if (e.final) continue
        return
      }
      if (!e.result) return
      const r = e.result
      const ran = e.ran!
      if (sameSet(ran, rule) || (r.passed && superset(ran, rule))) {
        e.final = { ...r, properties: rule }
        const f = failedIn(r)
        if (f) failed.push(f)
        continue
      }
      return // needs a rerun with `rule`; dispatch() starts it
    }
  }

  /** The properties known to be unfailed before entry i (settled or not), in group `g`. */
  const speculative = (i: number, g = groupOf(entries[i].planned)) =>
    remaining(entries.slice(0, i).filter((e) => groupOf(e.planned) === g).map((e) => failedIn(e.final ?? e.result)))
  /** groups whose every property failed in blocks that have all settled */
  const deadGroups = new Set<string>()

  const start = (e: Entry, properties: PropertyName[]) => {
    const ac = new AbortController()
    e.ran = properties
    e.running = true
    e.result = undefined
    e.found = undefined
    e.progress = undefined
    inflight.set(e, ac)
    const task = makeTask(e.planned, properties)
    const onMessage = (m: BlockProgress | FailingReport) => {
      if ('kind' in m) {
        if (e.found === undefined) hooks.onFailing?.(m)
        e.found = m
        return
      }
      e.progress = m
      hooks.onProgress?.(m)
    }
    runner
      .run(task, onMessage, ac.signal)
      .then(
        (r) => {
          e.result = r
          hooks.onBlockDone?.(r)
          const f = failedIn(r)
          if (f) restartLaterWith(e, f)
        },
        (err: unknown) => {
          if (e.restart && !stopping) e.restart = false
          else if (stopping && e.found && !e.restart) {
            // stopped while shrinking: the failure found so far is the block's result
            e.result = stoppedResult(e.planned, properties, e.progress, unfinishedFailure(task, e.found, reasonOf(control)))
          } else if (stopping) e.aborted = true
          else {
            // the worker died (not a property violation, not an abort): record it as a harness
            // error and start nothing more, a broken worker would fail every block the same way
            e.result = crashResult(e.planned, properties, err)
            stopping = true
          }
        },
      )
      .finally(() => {
        e.running = false
        inflight.delete(e)
        notify()
      })
  }

  const restartLaterWith = (e: Entry, failed: PropertyName) => {
    for (const x of entries.slice(entries.indexOf(e) + 1))
      if (groupOf(x.planned) === groupOf(e.planned) && x.running && x.ran!.includes(failed) && !x.restart) {
        x.restart = true
        reruns++
        inflight.get(x)?.abort()
      }
  }

  const dispatch = () => {
    while (!stopping && inflight.size < runner.workers && !pastDeadline()) {
      // a rerun first: the first unsettled entry whose rule set is now known
      const firstOpen = entries.findIndex((x) => !x.final)
      const open = firstOpen >= 0 ? entries[firstOpen] : undefined
      if (open && open.result && !open.running) {
        const rule = speculative(firstOpen)
        reruns++
        start(open, rule)
        continue
      }
      // then a block aborted to restart
      const pending = entries.findIndex((x) => !x.final && !x.result && !x.running && !x.aborted && speculative(entries.indexOf(x)).length > 0)
      if (pending >= 0) {
        start(entries[pending], speculative(pending))
        continue
      }
      if (planDone) return
      if (peeked === undefined) {
        const next = plan.next()
        if (next.done) {
          planDone = true
          return
        }
        peeked = next.value
      }
      const g = groupOf(peeked)
      const props = speculative(entries.length, g)
      if (props.length === 0) {
        // every property of its group failed in blocks that have not all settled: wait for them
        if (entries.some((x) => !x.final && groupOf(x.planned) === g)) return
        deadGroups.add(g)
        // every group is done: nothing is left to check (a --runs plan lists the rest as skipped)
        if (allGroups.every((x) => deadGroups.has(x))) {
          planDone = true
          return
        }
        // another group still checks something: this block is skipped, the plan goes on
        entries.push({ planned: peeked, running: false, final: skippedOutcome(peeked) })
        peeked = undefined
        continue
      }
      const e: Entry = { planned: peeked, running: false }
      peeked = undefined
      entries.push(e)
      start(e, props)
    }
  }

  try {
    for (;;) {
      settle()
      dispatch()
      // dispatch fills every free slot it can: nothing in flight means nothing left to run
      if (inflight.size === 0) {
        settle()
        break
      }
      await new Promise<void>((r) => (wake = r))
    }
  } finally {
    clearTimeout(graceTimer)
    control.stop?.removeEventListener('abort', onStop)
    control.kill?.removeEventListener('abort', onKill)
  }

  // stopped early (budget, signal): what ran counts as it ran
  const blocks: BlockOutcome[] = []
  for (const e of entries) {
    if (e.final) blocks.push(e.final)
    else if (e.result) blocks.push(e.result)
  }
  // a --runs plan whose properties all failed: the remaining blocks are listed as skipped
  if (control.finite && !stopping && !pastDeadline()) {
    if (peeked !== undefined) blocks.push(skippedOutcome(peeked))
    for (let n = plan.next(); !n.done; n = plan.next()) blocks.push(skippedOutcome(n.value))
  }
  return {
    blocks,
    // aborted by a signal, or waiting to restart when the budget ran out
    aborted: entries.filter((e) => !e.final && !e.result).map((e) => e.planned.index),
    interrupted,
    reruns,
  }
}

const reasonOf = (c: ScheduleControl): string => {
  const r = c.kill?.aborted ? c.kill.reason : c.stop?.reason
  return typeof r === 'string' ? r : 'an interrupt'
}

/** A block stopped after it found a failure: what it ran, and that failure. */
function stoppedResult(b: PlannedBlock, properties: PropertyName[], p: BlockProgress | undefined, failure: NonNullable<BlockResult['failure']>): BlockResult {
  return { ...failedBlock(b, properties, p), runs: Math.max(p?.runs ?? 0, Number(failure.path) + 1), failure }
}

/** A block that did not pass, with what its progress reports said it ran (nothing, without one). */
function failedBlock(b: PlannedBlock, properties: PropertyName[], p?: BlockProgress): BlockResult {
  return {
    index: b.index,
    seed: b.seed,
    numRuns: b.numRuns,
    properties,
    ...(b.profile !== undefined && { profile: b.profile as ProfileName }),
    passed: false,
    runs: p?.runs ?? 0,
    steps: p?.steps ?? 0,
    reach: { kexecWithPreservedDma: p?.kexecWithPreservedDma ?? 0, fullRecovery: p?.fullRecovery ?? 0, outcomes: [] },
  }
}

function crashResult(b: PlannedBlock, properties: PropertyName[], err: unknown): BlockResult {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
  return { ...failedBlock(b, properties), error: `worker failed: ${message.split('\n').slice(0, 6).join('\n')}` }
}

function skippedOutcome(b: PlannedBlock): BlockOutcome {
  return {
    index: b.index,
    seed: b.seed,
    numRuns: b.numRuns,
    properties: [],
    ...(b.profile !== undefined && { profile: b.profile as ProfileName }),
    passed: true,
    runs: 0,
    steps: 0,
    reach: { kexecWithPreservedDma: 0, fullRecovery: 0, outcomes: [] },
    skipped: true,
  }
}
