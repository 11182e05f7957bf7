// Arguments are generated as a short sequence of small numbers ("picks") and resolved
// against the model's current state when the command runs: "the k-th live iommufd", "the
// k-th area + an offset" (the iommufd selftest's syzkaller trick). fast-check generates and
// shrinks the picks; shrinking a pick towards 0 moves the argument towards the first live
// object, so a shrunk counterexample stays meaningful (pbt-anchors.md §1.8, the GoToTrack idiom).

export const PICKS = 8
export const PICK_MAX = 1 << 16

export class Picker {
  private i = 0
  constructor(private readonly picks: readonly number[]) {}
  /** the next raw pick */
  next(): number {
    const v = this.picks[this.i % this.picks.length] ?? 0
    this.i++
    return v
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n
  }
  /** true with probability num/den; a pick of 0 (the shrink target) is always false */
  chance(num: number, den: number): boolean {
    const v = this.next()
    return v !== 0 && v % den < num
  }
  pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[this.int(xs.length)]
  }
  /** a list element most of the time, `other()` for the rest (deliberately invalid values) */
  mostly<T>(xs: readonly T[], other: () => T, num = 1, den = 10): T {
    if (xs.length === 0 || this.chance(num, den)) return other()
    return xs[this.int(xs.length)]
  }
}
