// Fail-nth fault injection, shaped like the kernel's per-task `fail-nth` counter
// (torvalds/linux lib/fault-inject.c should_fail_ex; driven from userspace by
// torvalds/linux tools/testing/selftests/iommu/iommufd_fail_nth.c).
//
// Every fault-injectable allocation point (a page from any zone: general memory, page tables,
// IOMMU structures; an iommufd object id; a DID) calls `shouldFail()`.
// `arm(n)` makes the n-th point from now fail once; afterwards the injector is disarmed, as the
// kernel's counter is (it counts down to 0 and then stays 0). `reached()` is the selftest's
// "read fail-nth back and see 0": the n-th point happened, so try n+1 next; when it says false
// the op no longer reaches n points and the sweep is over.

export class FaultInjector {
  private remaining = 0
  private fired = false
  /** fault-injectable points passed since the last `arm`/`resetCount` (for reports and benches) */
  points = 0

  /** Make the n-th point from now fail (n >= 1); n = 0 disarms. */
  arm(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`fail-nth: bad n ${n}`)
    this.remaining = n
    this.fired = false
    this.points = 0
  }

  disarm(): void {
    this.remaining = 0
  }

  resetCount(): void {
    this.points = 0
  }

  /** True when an injected failure happened since the last `arm`. */
  reached(): boolean {
    return this.fired
  }

  get armed(): boolean {
    return this.remaining > 0
  }

  /** A fault-injectable point: true means "this allocation fails with ENOMEM". */
  shouldFail(): boolean {
    this.points++
    if (this.remaining === 0) return false
    if (--this.remaining > 0) return false
    this.fired = true
    return true
  }
}
