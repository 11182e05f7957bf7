// What a comparison shows while it runs: a cli-progress bar on a terminal (cells done, the
// cells running now, findings so far), a plain line every few seconds otherwise (CI logs).
// Neither affects results.

import cliProgress from 'cli-progress'
import type { ProgressDisplay, ProgressStream } from '../campaign/progress.ts'
import type { CompareProgress } from './run.ts'

export type CompareDisplay = Omit<ProgressDisplay, 'update'> & { update(p: CompareProgress): void }

const num = (x: number) => x.toLocaleString('en-US')

/** The cells running now: `lpc2025 ownership=strict (75/200 runs)`, joined. */
export function currentText(p: CompareProgress): string {
  if (p.running.length === 0) return p.cellsDone === p.cellsTotal ? 'done' : 'starting'
  return p.running.map((r) => `${r.label}${r.live && p.runsPerCell !== undefined ? ` (${num(r.live.runs)}/${num(p.runsPerCell)} runs)` : ''}`).join(', ')
}

/** `[  5.0s] cells 3/17, running: lpc2025 ownership=strict (75/200 runs), 2 findings, 4,100 runs`. */
export function compareLine(p: CompareProgress, now = Date.now()): string {
  const elapsed = (now - p.startedAt) / 1000
  return `[${elapsed.toFixed(1).padStart(6)}s] cells ${p.cellsDone}/${p.cellsTotal}, running: ${currentText(p)}, ${p.findings} finding${p.findings === 1 ? '' : 's'}, ${num(p.runs)} runs, ${num(p.steps)} steps`
}

export function plainCompareProgress(stream: ProgressStream, everyMs = 5000): CompareDisplay {
  let last: CompareProgress | undefined
  const timer = setInterval(() => {
    if (last) stream.write(compareLine(last) + '\n')
  }, everyMs)
  timer.unref()
  return {
    update: (p) => {
      last = p
    },
    stop: () => clearInterval(timer),
  }
}

export function ttyCompareProgress(stream: NodeJS.WritableStream): CompareDisplay {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{bar} {cells} cells | {findings} findings | {current} | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  return {
    update: (p) => {
      // progress by runs when every cell has a run budget (smooth), else by cells
      const total = p.runsPerCell !== undefined ? p.cellsTotal * p.runsPerCell : p.cellsTotal
      const value = p.runsPerCell !== undefined ? Math.min(total, p.cellsDone * p.runsPerCell + p.running.reduce((n, r) => n + Math.min(r.live?.runs ?? 0, p.runsPerCell!), 0)) : p.cellsDone
      const payload = { cells: `${p.cellsDone}/${p.cellsTotal}`, findings: p.findings, current: currentText(p).slice(0, 60) }
      if (!started) {
        bar.start(Math.max(1, total), 0, payload)
        started = true
      }
      bar.update(value, payload)
    },
    stop: () => {
      if (started) bar.stop()
    },
  }
}

export function compareProgressDisplay(stream: ProgressStream): CompareDisplay {
  const s = stream as ProgressStream & Partial<NodeJS.WriteStream>
  if (s.isTTY && typeof s.cursorTo === 'function') return ttyCompareProgress(s as NodeJS.WriteStream)
  return plainCompareProgress(stream)
}
