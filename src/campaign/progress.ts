// What a campaign shows while it runs: a cli-progress bar on a terminal, a plain line every few
// seconds otherwise (CI logs). Both read the campaign's LiveProgress; neither affects results.

import cliProgress from 'cli-progress'
import type { LiveProgress } from './campaign.ts'

export interface ProgressDisplay {
  update(p: LiveProgress): void
  stop(): void
}

export interface ProgressStream {
  write(text: string): unknown
  isTTY?: boolean
}

const pct = (n: number, d: number) => (d === 0 ? '0' : ((100 * n) / d).toFixed(0))
const num = (x: number) => x.toLocaleString('en-US')

/** The figures both displays show. */
export function progressFields(p: LiveProgress, now = Date.now()): { elapsed: number; sps: number; kd: string; fr: string } {
  const elapsed = (now - p.startedAt) / 1000
  return {
    elapsed,
    sps: elapsed > 0 ? Math.round(p.steps / elapsed) : 0,
    kd: pct(p.kexecWithPreservedDma, p.runs),
    fr: pct(p.fullRecovery, p.runs),
  }
}

/** One plain line: `[   5.0s] 0 failed, 250 runs, 12,500 steps (2,500 steps/s), …`: the elapsed
 *  time and the failures first, so a narrow log or terminal that cuts the line keeps them. */
export function progressLine(p: LiveProgress, now = Date.now()): string {
  const f = progressFields(p, now)
  const blocks = p.blocksTotal !== undefined ? `${p.blocksDone}/${p.blocksTotal}` : `${p.blocksDone}`
  return (
    `[${f.elapsed.toFixed(1).padStart(6)}s] ${p.failures} failed, ${num(p.runs)} runs, ${num(p.steps)} steps (${num(f.sps)} steps/s), ` +
    `KEXEC+preserved DMA ${f.kd}%, full recovery ${f.fr}%, blocks ${blocks}`
  )
}

/** Plain lines every `everyMs` (default 5 s). */
export function plainProgress(stream: ProgressStream, everyMs = 5000): ProgressDisplay {
  let last: LiveProgress | undefined
  let failures = 0
  const timer = setInterval(() => {
    if (last) stream.write(progressLine(last) + '\n')
  }, everyMs)
  timer.unref()
  return {
    update: (p) => {
      last = p
      // a failure is news at once: a log shows when it was found, not 5 s later
      if (p.failures > failures) {
        failures = p.failures
        stream.write(progressLine(p) + '\n')
      }
    },
    stop: () => clearInterval(timer),
  }
}

/** A bar by runs (--runs) or by time (--time), with the live figures beside it. */
/** The bar's line: failures and elapsed time leftmost (cli-progress cuts the line at the
 *  terminal's width), the bar sized so that at 80 columns runs and steps/s fit too. */
export const TTY_FORMAT = '{failures} failed | {elapsed} | {bar} {percentage}% | {runs} runs | {sps} steps/s | KEXEC+DMA {kd}% | recovery {fr}%'

export function ttyProgress(stream: NodeJS.WritableStream): ProgressDisplay {
  const columns = (stream as Partial<NodeJS.WriteStream>).columns ?? 80
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: TTY_FORMAT,
      barsize: Math.max(10, Math.min(40, columns - 70)),
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  let byRuns = true
  return {
    update: (p) => {
      const f = progressFields(p)
      // the campaign's elapsed time (cli-progress's own duration starts with the bar, later)
      const payload = { runs: num(p.runs), sps: num(f.sps), kd: f.kd, fr: f.fr, failures: p.failures, elapsed: clock(f.elapsed) }
      if (!started) {
        byRuns = p.runsTotal !== undefined
        bar.start(byRuns ? Math.max(1, p.runsTotal!) : Math.max(1, p.timeMs ?? 1), 0, payload)
        started = true
      }
      bar.update(byRuns ? Math.min(p.runs, p.runsTotal!) : Math.min(Date.now() - p.startedAt, p.timeMs ?? 0), payload)
    },
    stop: () => {
      if (started) bar.stop()
    },
  }
}

/** `42s`, `5m07s`, `1h02m`. */
export function clock(seconds: number): string {
  const s = Math.floor(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

/** The terminal's bar when the stream is a terminal, plain lines otherwise. */
export function progressDisplay(stream: ProgressStream): ProgressDisplay {
  const s = stream as ProgressStream & Partial<NodeJS.WriteStream>
  if (s.isTTY && typeof s.cursorTo === 'function') return ttyProgress(s as NodeJS.WriteStream)
  return plainProgress(stream)
}
