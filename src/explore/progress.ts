// What `luv explore` shows while it runs: a bar over the current level on a terminal (or over
// the time budget), plain lines every few seconds otherwise. Neither affects the search.

import cliProgress from 'cli-progress'
import type { ExploreProgress } from './explore.ts'

const num = (x: number) => x.toLocaleString('en-US')

export function progressLine(p: ExploreProgress): string {
  const min = p.elapsedMs / 60000
  return (
    `[${(p.elapsedMs / 1000).toFixed(1).padStart(6)}s] depth ${p.depth}/${p.maxDepth} (${num(p.levelDone)}/${num(p.levelSize)} of the level), ` +
    `${num(p.distinct)} distinct, ${num(p.generated)} generated, ${num(p.transitions)} transitions, ${num(p.queue)} on queue, ` +
    `${num(min > 0 ? Math.round(p.distinct / min) : 0)} distinct/min, ${p.violations} violating`
  )
}

export interface ExploreDisplay {
  update(p: ExploreProgress): void
  stop(): void
}

export function progressBar(stream: { write(s: string): unknown; isTTY?: boolean }, timeMs?: number, everyMs = 5000): ExploreDisplay {
  const s = stream as NodeJS.WriteStream
  if (s.isTTY && typeof s.cursorTo === 'function') {
    const bar = new cliProgress.SingleBar(
      {
        stream: s,
        format: 'depth {depth} {bar} {percentage}% | {distinct} distinct | {rate} distinct/min | {queue} queued | {violations} violating | {duration_formatted}',
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    )
    let started = false
    let level = -1
    return {
      update(p) {
        const min = p.elapsedMs / 60000
        const payload = { depth: `${p.depth}/${p.maxDepth}`, distinct: num(p.distinct), rate: num(min > 0 ? Math.round(p.distinct / min) : 0), queue: num(p.queue), violations: p.violations }
        const total = timeMs ?? Math.max(1, p.levelSize)
        const value = timeMs !== undefined ? Math.min(p.elapsedMs, timeMs) : p.levelDone
        if (!started) {
          bar.start(total, value, payload)
          started = true
        } else if (timeMs === undefined && level !== p.depth) bar.setTotal(total)
        level = p.depth
        bar.update(value, payload)
      },
      stop() {
        if (started) bar.stop()
      },
    }
  }
  let last = 0
  return {
    update(p) {
      if (p.elapsedMs - last < everyMs) return
      last = p.elapsedMs
      stream.write(progressLine(p) + '\n')
    },
    stop() {},
  }
}
