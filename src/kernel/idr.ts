// Lowest-free id allocation: the iommufd object xarray (xa_alloc with XA_FLAGS_ALLOC1, lowest
// free index from 1; torvalds/linux drivers/iommu/iommufd/main.c iommufd_object_alloc) and the
// process fd table (POSIX: the lowest unused descriptor, from 3 here). A min-heap of freed ids
// below the high-water mark: alloc and free are O(log n), no scan.

import type { FaultInjector } from './failnth.ts'

export class Idr {
  private next: number
  private readonly freed: number[] = []
  private readonly isFreed = new Set<number>()

  constructor(readonly base: number) {
    this.next = base
  }

  /** The lowest free id. With `faults`, one fault-injectable point (xa_alloc may allocate). */
  alloc(faults?: FaultInjector): number | 'ENOMEM' {
    if (faults?.shouldFail()) return 'ENOMEM'
    if (this.freed.length === 0) return this.next++
    const id = pop(this.freed)
    this.isFreed.delete(id)
    return id
  }

  free(id: number): void {
    if (id < this.base || id >= this.next || this.isFreed.has(id)) throw new Error(`luv: idr double free of ${id}`)
    this.isFreed.add(id)
    push(this.freed, id)
  }
}

function push(h: number[], v: number): void {
  h.push(v)
  let i = h.length - 1
  while (i > 0) {
    const p = (i - 1) >> 1
    if (h[p] <= h[i]) break
    ;[h[p], h[i]] = [h[i], h[p]]
    i = p
  }
}

function pop(h: number[]): number {
  const top = h[0]
  const last = h.pop()!
  if (h.length > 0) {
    h[0] = last
    siftDown(h, 0)
  }
  return top
}

function siftDown(h: number[], i: number): void {
  for (;;) {
    const l = 2 * i + 1
    const r = l + 1
    let m = i
    if (l < h.length && h[l] < h[m]) m = l
    if (r < h.length && h[r] < h[m]) m = r
    if (m === i) return
    ;[h[m], h[i]] = [h[i], h[m]]
    i = m
  }
}
