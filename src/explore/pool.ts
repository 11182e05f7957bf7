// Worker threads for `luv explore --workers N`: one single-thread tinypool per worker, so the
// search chooses which worker expands a state (the one that kept its parent: explore.ts);
// each runs src/explore/expand.ts runExpandTask (worker.mjs registers tsx first, as the
// campaign's worker does).

import Tinypool from 'tinypool'

export function expandPool(workers: number): Tinypool[] {
  return Array.from(
    { length: workers },
    () =>
      new Tinypool({
        filename: new URL('./worker.mjs', import.meta.url).href,
        minThreads: 1,
        maxThreads: 1,
        // the thread keeps the last level's states and kernels between tasks
        isolateWorkers: false,
      }),
  )
}
