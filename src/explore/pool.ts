// Worker threads for `luv explore --workers N`: a tinypool running src/explore/expand.ts
// runExpandTask (worker.mjs registers tsx first, as the campaign's worker does).

import Tinypool from 'tinypool'

export function expandPool(workers: number): Promise<Tinypool> {
  return Promise.resolve(
    new Tinypool({
      filename: new URL('./worker.mjs', import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
    }),
  )
}
