// Where blocks run: a tinypool of worker threads (the default, also for --workers 1, so the main
// thread stays free for signals and the progress display), or in-process (tests, debugging).

import { MessageChannel } from 'node:worker_threads'
import Tinypool from 'tinypool'
import { runBlock, type BlockProgress, type BlockResult, type BlockTask, type FailingReport } from './block.ts'

export interface BlockRunner {
  readonly workers: number
  /** Run one block; rejects if `signal` aborts it (the worker running it is terminated). */
  run(task: Omit<BlockTask, 'port'>, onProgress: (p: BlockProgress | FailingReport) => void, signal: AbortSignal): Promise<BlockResult>
  close(): Promise<void>
}

export function poolRunner(workers: number): BlockRunner {
  const pool = new Tinypool({
    filename: new URL('./worker.mjs', import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    // the campaign keeps at most `workers` blocks in flight: nothing should wait in tinypool
    maxQueue: workers,
  })
  return {
    workers,
    async run(task, onProgress, signal) {
      const { port1, port2 } = new MessageChannel()
      port1.on('message', onProgress)
      try {
        return (await pool.run({ ...task, port: port2 }, { transferList: [port2], signal })) as BlockResult
      } catch (e) {
        // an aborted block: let the messages its worker posted before it was terminated (a
        // failing run it found) arrive before the scheduler decides what the block left
        await new Promise((r) => setTimeout(r, 20))
        throw e
      } finally {
        port1.close()
      }
    },
    close: () => pool.destroy(),
  }
}

/** Blocks run on the calling thread, one at a time; an abort is seen between blocks only. */
export function inlineRunner(): BlockRunner {
  return {
    workers: 1,
    async run(task, onProgress, signal) {
      // yield once so timers and signal handlers run between blocks
      await new Promise((r) => setImmediate(r))
      if (signal.aborted) throw new Error('aborted')
      // progress and failures through a channel, as from a worker
      const { port1, port2 } = new MessageChannel()
      port1.on('message', onProgress)
      try {
        return runBlock({ ...task, port: port2 })
      } finally {
        // let the queued messages arrive before the port closes
        await new Promise((r) => setImmediate(r))
        port1.close()
      }
    },
    close: async () => {},
  }
}
