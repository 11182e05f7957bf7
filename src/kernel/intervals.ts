// Disjoint half-open intervals [start, end) with a payload, ordered by start: an IOAS's areas
// (io_pagetable's area interval tree). A treap (deterministic priorities, so runs repeat)
// augmented per subtree with its leftmost start, rightmost end and largest gap between
// consecutive intervals, so "lowest hole that fits" skips whole subtrees.
//
// Units are the caller's: any safe integers. The kernel implementation uses IOVA page numbers
// (an IOVA >> 12 of any u64 is < 2^52, exact in a double); convert bigint at the edge.
// Costs, n intervals: insert/remove/find O(log n); intersecting O(log n + k); findHole
// O(log n), plus O(log n) per gap that is long enough but misses because of alignment.

export interface Interval<T> {
  readonly start: number
  readonly end: number
  value: T
}

class Node<T> implements Interval<T> {
  left: Node<T> | null = null
  right: Node<T> | null = null
  minStart: number
  maxEnd: number
  maxGap = 0
  constructor(
    readonly start: number,
    readonly end: number,
    public value: T,
    readonly prio: number,
  ) {
    this.minStart = start
    this.maxEnd = end
  }
}

function update<T>(n: Node<T>): void {
  const l = n.left
  const r = n.right
  let g = 0
  if (l !== null) {
    g = Math.max(l.maxGap, n.start - l.maxEnd)
    n.minStart = l.minStart
  } else n.minStart = n.start
  if (r !== null) {
    g = Math.max(g, r.maxGap, r.minStart - n.end)
    n.maxEnd = r.maxEnd
  } else n.maxEnd = n.end
  n.maxGap = g
}

function rotateRight<T>(n: Node<T>): Node<T> {
  const l = n.left!
  n.left = l.right
  l.right = n
  update(n)
  update(l)
  return l
}

function rotateLeft<T>(n: Node<T>): Node<T> {
  const r = n.right!
  n.right = r.left
  r.left = n
  update(n)
  update(r)
  return r
}

function insertNode<T>(n: Node<T> | null, x: Node<T>): Node<T> {
  if (n === null) return x
  if (x.start < n.start) {
    n.left = insertNode(n.left, x)
    if (n.left.prio > n.prio) return rotateRight(n)
  } else {
    n.right = insertNode(n.right, x)
    if (n.right.prio > n.prio) return rotateLeft(n)
  }
  update(n)
  return n
}

function merge<T>(a: Node<T> | null, b: Node<T> | null): Node<T> | null {
  if (a === null) return b
  if (b === null) return a
  if (a.prio > b.prio) {
    a.right = merge(a.right, b)
    update(a)
    return a
  }
  b.left = merge(a, b.left)
  update(b)
  return b
}

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a

export class IntervalTree<T> {
  private root: Node<T> | null = null
  private count = 0
  private seed = 0x2545f491

  get size(): number {
    return this.count
  }

  /** Insert [start, start + length). False (nothing changes) if it overlaps an interval. */
  insert(start: number, length: number, value: T): boolean {
    checkSpan(start, length)
    const end = start + length
    // the nearest interval starting before `start` and the nearest starting at/after it
    let pred: Node<T> | null = null
    let succ: Node<T> | null = null
    for (let n = this.root; n !== null; ) {
      if (n.start < start) {
        pred = n
        n = n.right
      } else {
        succ = n
        n = n.left
      }
    }
    if ((pred !== null && pred.end > start) || (succ !== null && succ.start < end)) return false
    this.root = insertNode(this.root, new Node(start, end, value, this.nextPrio()))
    this.count++
    return true
  }

  /** Remove the interval that starts exactly at `start`; its value, or undefined. */
  remove(start: number): T | undefined {
    removed = undefined
    this.root = removeAt(this.root, start)
    const found = removed as Node<T> | undefined
    removed = undefined
    if (found === undefined) return undefined
    this.count--
    return found.value
  }

  /** The interval starting exactly at `start`. */
  get(start: number): Interval<T> | undefined {
    for (let n = this.root; n !== null; n = start < n.start ? n.left : n.right) if (n.start === start) return n
    return undefined
  }

  /** The interval containing `point`. */
  find(point: number): Interval<T> | undefined {
    for (let n = this.root; n !== null; ) {
      if (point < n.start) n = n.left
      else if (point < n.end) return n
      else n = n.right
    }
    return undefined
  }

  /** Every interval meeting [start, start + length), in order. */
  intersecting(start: number, length: number): Interval<T>[] {
    checkSpan(start, length)
    const end = start + length
    const out: Interval<T>[] = []
    intersect(this.root, start, end, out)
    return out
  }

  /**
   * The lowest s >= lo, a multiple of `alignment`, with [s, s + length) free and s + length <= hi;
   * -1 if there is none. Auto IOVA allocation passes lo >= 1 page: IOMMU_IOAS_MAP without
   * FIXED_IOVA never returns IOVA 0 (iopt_alloc_iova, drivers/iommu/iommufd/io_pagetable.c).
   */
  findHole(length: number, alignment: number, lo: number, hi: number): number {
    checkSpan(lo, length)
    if (!Number.isSafeInteger(alignment) || alignment < 1) throw new RangeError(`luv: alignment ${alignment}`)
    const h = hole
    h.cursor = lo
    h.found = -1
    h.length = length
    h.alignment = alignment
    h.hi = hi
    if (holeIn(this.root)) return h.found
    return fits(hi) ? h.found : -1
  }

  /** All intervals in order. */
  entries(): Interval<T>[] {
    const out: Interval<T>[] = []
    collect(this.root, out)
    return out
  }

  /** Every interval in order, without building the list. */
  forEach(cb: (i: Interval<T>) => void): void {
    visit(this.root, cb)
  }

  [Symbol.iterator](): Iterator<Interval<T>> {
    return this.entries()[Symbol.iterator]()
  }

  // xorshift32: deterministic priorities, so the same ops build the same tree.
  private nextPrio(): number {
    let x = this.seed
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.seed = x >>> 0
    return this.seed
  }
}

// The walks of IntervalTree, as module-level functions: the sweep and the observation walk
// the IOAS areas at every step, and a closure per call is an allocation per call.

/** IntervalTree.remove: the subtree `n` without the node starting at `start` (left in `removed`). */
let removed: Node<unknown> | undefined
function removeAt<T>(n: Node<T> | null, start: number): Node<T> | null {
  if (n === null) return null
  if (start === n.start) {
    removed = n as Node<unknown>
    return merge(n.left, n.right)
  }
  if (start < n.start) n.left = removeAt(n.left, start)
  else n.right = removeAt(n.right, start)
  update(n)
  return n
}

/** IntervalTree.intersecting: the nodes of `n` meeting [start, end), in order, onto `out`. */
function intersect<T>(n: Node<T> | null, start: number, end: number, out: Interval<T>[]): void {
  if (n === null || n.maxEnd <= start || n.minStart >= end) return
  intersect(n.left, start, end, out)
  if (n.start < end && n.end > start) out.push(n)
  if (n.start < end) intersect(n.right, start, end, out)
}

/** IntervalTree.entries: the nodes of `n` in order, onto `out`. */
function collect<T>(n: Node<T> | null, out: Interval<T>[]): void {
  if (n === null) return
  collect(n.left, out)
  out.push(n)
  collect(n.right, out)
}

/** IntervalTree.forEach: `cb` on the nodes of `n` in order. */
function visit<T>(n: Node<T> | null, cb: (i: Interval<T>) => void): void {
  if (n === null) return
  visit(n.left, cb)
  cb(n)
  visit(n.right, cb)
}

/** IntervalTree.findHole's search: the lowest aligned start at or after `cursor` with
 *  `length` free below `hi`, into `found`. */
const hole = { cursor: 0, found: -1, length: 0, alignment: 1, hi: 0 }
function fits(gapEnd: number): boolean {
  const h = hole
  const s = alignUp(h.cursor, h.alignment)
  if (s + h.length > Math.min(gapEnd, h.hi)) return false
  h.found = s
  return true
}
function holeIn<T>(n: Node<T> | null): boolean {
  const h = hole
  if (n === null || n.maxEnd <= h.cursor) return false
  if (n.maxGap < h.length || n.minStart >= h.hi) {
    // only the gap before this subtree can hold the hole
    if (fits(n.minStart)) return true
    h.cursor = Math.max(h.cursor, n.maxEnd)
    return false
  }
  if (holeIn(n.left)) return true
  if (fits(n.start)) return true
  h.cursor = Math.max(h.cursor, n.end)
  return holeIn(n.right)
}

function checkSpan(start: number, length: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || length < 1 || !Number.isSafeInteger(start + length))
    throw new RangeError(`luv: bad interval [${start}, +${length})`)
}
