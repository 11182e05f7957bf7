// Running a comparison: one campaign per design (src/campaign runCampaign), every one on the
// same seed and budget, all on one shared worker pool. Several cells run at once (one worker
// each; the last cell to start takes every free worker), so one cell's single-threaded
// shrinking tail does not idle the machine. A cell's result does not depend on the number of
// workers it got (the campaign scheduler's guarantee), so the matrix depends on the seed and
// the budget alone.

import { runCampaign, type CampaignResult, type LiveProgress } from '../campaign/campaign.ts'
import { inlineRunner, poolRunner, type BlockRunner } from '../campaign/pool.ts'
import type { DesignRow } from './designs.ts'
import { minimizeOutcome } from './minimize.ts'
import { runStories, type StoryResult } from './stories.ts'
import { cellCampaignOptions, type CompareOptions } from './options.ts'

export type CellStatus =
  /** ran to its budget */
  | 'done'
  /** stopped by SIGINT/SIGTERM or the total budget before its own budget */
  | 'interrupted'
  /** never started (SIGINT/SIGTERM, or the total budget ran out first) */
  | 'not-run'

export interface CellResult {
  row: DesignRow
  status: CellStatus
  /** why a cell was interrupted or not run */
  reason?: 'signal' | 'total-budget'
  result?: CampaignResult
  /** the committed story scenarios replayed under the design (src/compare/stories.ts) */
  stories?: StoryResult
  /** wall-clock seconds of the cell (timing only; not part of the matrix) */
  seconds?: number
}

/** Live figures for the progress display. */
export interface CompareProgress {
  startedAt: number
  cellsTotal: number
  cellsDone: number
  /** labels of the cells running now, with their live campaign figures */
  running: { label: string; live?: LiveProgress }[]
  /** breaking cells so far (finished cells' failed properties plus running cells' live ones) */
  findings: number
  runs: number
  steps: number
  runsPerCell?: number
}

export interface CompareHooks {
  onProgress?: (p: CompareProgress) => void
  onCellDone?: (c: CellResult) => void
}

export interface CompareControl {
  /** first signal: no new cells; running cells finish their in-flight blocks (grace), then stop */
  stop?: AbortSignal
  /** abort running blocks now */
  kill?: AbortSignal
  graceMs?: number
  /** run every block on the calling thread, one cell at a time (tests) */
  inline?: boolean
}

export interface CompareRun {
  cells: CellResult[]
  interrupted: boolean
  started: Date
  finished: Date
}

export async function runCompare(o: CompareOptions, hooks: CompareHooks = {}, control: CompareControl = {}): Promise<CompareRun> {
  const started = new Date()
  const totalDeadline = o.totalTimeMs !== undefined ? started.getTime() + o.totalTimeMs : undefined
  const capacity = control.inline ? 1 : o.workers
  const shared: BlockRunner = control.inline ? inlineRunner() : poolRunner(capacity)
  const cells: CellResult[] = o.rows.map((row) => ({ row, status: 'not-run' }))
  const running = new Map<number, { label: string; live?: LiveProgress; share: number }>()
  const done = { cells: 0, findings: 0, runs: 0, steps: 0 }
  let interrupted = false
  let stopping = false

  const refresh = () => {
    const live = [...running.values()]
    hooks.onProgress?.({
      startedAt: started.getTime(),
      cellsTotal: cells.length,
      cellsDone: done.cells,
      running: live.map((r) => ({ label: r.label, ...(r.live && { live: r.live }) })),
      findings: done.findings + live.reduce((n, r) => n + (r.live?.failures ?? 0), 0),
      runs: done.runs + live.reduce((n, r) => n + (r.live?.runs ?? 0), 0),
      steps: done.steps + live.reduce((n, r) => n + (r.live?.steps ?? 0), 0),
      ...(o.runs !== undefined && { runsPerCell: o.runs }),
    })
  }

  const onStop = () => {
    interrupted = true
    stopping = true
  }
  if (control.stop?.aborted) onStop()
  else control.stop?.addEventListener('abort', onStop, { once: true })
  // the total budget stops running cells the way a signal does, but a cell that ends its own
  // budget first is complete
  const budgetStop = new AbortController()
  const budgetTimer = totalDeadline !== undefined ? setTimeout(() => budgetStop.abort(), Math.max(0, totalDeadline - Date.now())) : undefined
  budgetTimer?.unref?.()

  const runCell = async (i: number, share: number): Promise<void> => {
    const cell = cells[i]
    const remaining = totalDeadline !== undefined ? Math.max(1, totalDeadline - Date.now()) : undefined
    const timeMs = remaining !== undefined && (o.cellTimeMs === undefined || remaining < o.cellTimeMs) ? remaining : o.cellTimeMs
    const opts = cellCampaignOptions(o, cell.row, timeMs)
    const cutByTotal = timeMs !== undefined && timeMs !== o.cellTimeMs
    const runner: BlockRunner = { workers: share, run: (t, p, s) => shared.run(t, p, s), close: async () => {} }
    running.set(i, { label: cell.row.label, share })
    refresh()
    const t0 = Date.now()
    const stop = anySignal([control.stop, budgetStop.signal])
    const result = await runCampaign(
      opts,
      {
        onProgress: (p) => {
          const r = running.get(i)
          if (r) r.live = { ...p }
          refresh()
        },
      },
      { runner, stop, ...(control.kill && { kill: control.kill }), graceMs: control.graceMs ?? 3000, refine: (b) => minimizeOutcome(b, opts) },
    )
    if (!control.kill?.aborted) {
      const broken = new Set(result.summary.failures.map((f) => f.property))
      cell.stories = runStories({ design: cell.row.design, profile: cell.row.profile, impl: o.impl, properties: o.properties, skip: broken })
    }
    running.delete(i)
    const bySignal = control.stop?.aborted === true
    const byBudget = cutByTotal && (budgetStop.signal.aborted || (totalDeadline !== undefined && Date.now() >= totalDeadline))
    cell.result = result
    cell.seconds = (Date.now() - t0) / 1000
    cell.status = result.summary.interrupted || bySignal || (byBudget && o.runs !== undefined && result.summary.runs < o.runs) ? 'interrupted' : 'done'
    if (cell.status === 'interrupted') cell.reason = bySignal ? 'signal' : 'total-budget'
    done.cells++
    done.findings += result.summary.failures.length + (cell.stories?.findings.length ?? 0)
    done.runs += result.summary.runs
    done.steps += result.summary.steps
    hooks.onCellDone?.(cell)
    refresh()
  }

  try {
    let next = 0
    const inflight = new Set<Promise<void>>()
    let used = 0
    while (next < cells.length) {
      if (stopping) break
      if (totalDeadline !== undefined && Date.now() >= totalDeadline) {
        for (let k = next; k < cells.length; k++) cells[k].reason = 'total-budget'
        break
      }
      if (used >= capacity) {
        await Promise.race(inflight)
        continue
      }
      // the last cell to start takes every free worker; the others one each
      const share = next === cells.length - 1 ? capacity - used : 1
      used += share
      const i = next++
      const p = runCell(i, share).finally(() => {
        used -= share
        inflight.delete(p)
      })
      inflight.add(p)
    }
    await Promise.all(inflight)
    if (stopping) for (const c of cells) if (c.status === 'not-run') c.reason = 'signal'
  } finally {
    clearTimeout(budgetTimer)
    control.stop?.removeEventListener('abort', onStop)
    await shared.close()
  }
  return { cells, interrupted, started, finished: new Date() }
}

/** An AbortSignal that aborts when any of `signals` does. */
function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal {
  const ac = new AbortController()
  for (const s of signals) {
    if (!s) continue
    if (s.aborted) ac.abort()
    else s.addEventListener('abort', () => ac.abort(), { once: true })
  }
  return ac.signal
}
