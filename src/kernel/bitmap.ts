// A hierarchical free bitmap: lowest free index in O(log32 n), set/clear in O(log32 n).
// Level 0 holds one bit per index (1 = free); bit i of level k+1 says word i of level k is
// non-zero. The top level is a single word, so "lowest free" is a walk down of ctz's.
// Used by both memory zones (phys.ts) and the DID allocator (ida.ts).

const ctz = (x: number): number => 31 - Math.clz32(x & -x)

export class FreeBitmap {
  private readonly levels: Uint32Array[] = []
  private nfree = 0

  constructor(
    readonly size: number,
    allFree = true,
  ) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`FreeBitmap: bad size ${size}`)
    let n = Math.max(size, 1)
    do {
      const words = Math.ceil(n / 32)
      this.levels.push(new Uint32Array(words))
      n = words
    } while (n > 1)
    if (allFree) this.fillFree()
  }

  private fillFree(): void {
    const l0 = this.levels[0]
    l0.fill(0xffffffff, 0, this.size >>> 5)
    if (this.size & 31) l0[this.size >>> 5] = (1 << (this.size & 31)) - 1
    for (let k = 1; k < this.levels.length; k++) {
      const lo = this.levels[k - 1]
      const lv = this.levels[k]
      for (let i = 0; i < lo.length; i++) if (lo[i] !== 0) lv[i >>> 5] |= 1 << (i & 31)
    }
    this.nfree = this.size
  }

  get free(): number {
    return this.nfree
  }

  isFree(i: number): boolean {
    return i >= 0 && i < this.size && (this.levels[0][i >>> 5] & (1 << (i & 31))) !== 0
  }

  /** Mark i free. Returns false if it already was. */
  setFree(i: number): boolean {
    const l0 = this.levels[0]
    const w = i >>> 5
    const bit = 1 << (i & 31)
    if (l0[w] & bit) return false
    this.nfree++
    let wasZero = l0[w] === 0
    l0[w] |= bit
    let idx = w
    for (let k = 1; wasZero && k < this.levels.length; k++) {
      const lv = this.levels[k]
      const ww = idx >>> 5
      wasZero = lv[ww] === 0
      lv[ww] |= 1 << (idx & 31)
      idx = ww
    }
    return true
  }

  /** Mark i used. Returns false if it already was. */
  setUsed(i: number): boolean {
    const l0 = this.levels[0]
    const w = i >>> 5
    const bit = 1 << (i & 31)
    if ((l0[w] & bit) === 0) return false
    this.nfree--
    l0[w] &= ~bit
    let nowZero = l0[w] === 0
    let idx = w
    for (let k = 1; nowZero && k < this.levels.length; k++) {
      const lv = this.levels[k]
      const ww = idx >>> 5
      lv[ww] &= ~(1 << (idx & 31))
      nowZero = lv[ww] === 0
      idx = ww
    }
    return true
  }

  /** Lowest free index, or -1. */
  first(): number {
    const top = this.levels.length - 1
    if (this.levels[top][0] === 0) return -1
    let idx = 0
    for (let k = top; k >= 0; k--) idx = idx * 32 + ctz(this.levels[k][idx])
    return idx
  }
}
