// A unit's domain-ID allocator (iommu->domain_ida): lowest free DID in [2, size-1].
// DID 0 is the caching-mode "non-present" domain and DID 1 is FLPT_DEFAULT_DID, so neither is
// ever handed out (IDA_START_DID = 2; torvalds/linux drivers/iommu/intel/iommu.h, and
// domain_attach_iommu in drivers/iommu/intel/iommu.c). `size` is cap_ndoms.

import { FreeBitmap } from './bitmap.ts'
import { FaultInjector } from './failnth.ts'
import { epoch } from './epoch.ts'

export const IDA_START_DID = 2

export class Ida {
  private readonly bits: FreeBitmap

  constructor(
    readonly size: number,
    readonly faults: FaultInjector = new FaultInjector(),
    /** the first DID handed out: IDA_START_DID (the kernel implementation's seeded defect
     *  did-alloc-off-by-one starts one lower) */
    readonly start = IDA_START_DID,
  ) {
    if (!Number.isInteger(size) || size < IDA_START_DID + 1 || size > 65536)
      throw new RangeError(`luv: DID space of ${size} (must be 3..65536)`)
    if (!Number.isInteger(start) || start < 0 || start > IDA_START_DID) throw new RangeError(`luv: first DID ${start}`)
    this.bits = new FreeBitmap(size)
    for (let i = 0; i < start; i++) this.bits.setUsed(i)
  }

  /**
   * The lowest free DID. ENOSPC when none is left (checked first: a full ida allocates nothing);
   * otherwise one fault-injectable point (ida_alloc may allocate a bitmap chunk: ENOMEM).
   */
  alloc(): number | 'ENOSPC' | 'ENOMEM' {
    const id = this.bits.first()
    if (id < 0) return 'ENOSPC'
    if (this.faults.shouldFail()) return 'ENOMEM'
    this.bits.setUsed(id)
    epoch.ida++
    return id
  }

  /**
   * Take a specific DID (ida_alloc_range(id, id), as the restore path does for preserved DIDs).
   * EINVAL outside [2, size-1], ENOSPC if taken, else one fault-injectable point.
   */
  reserve(id: number): undefined | 'EINVAL' | 'ENOSPC' | 'ENOMEM' {
    if (!Number.isInteger(id) || id < this.start || id >= this.size) return 'EINVAL'
    if (!this.bits.isFree(id)) return 'ENOSPC'
    if (this.faults.shouldFail()) return 'ENOMEM'
    this.bits.setUsed(id)
    epoch.ida++
    return undefined
  }

  /**
   * Take back a specific DID that this op freed a moment ago (an error path undoing its own
   * work, which the kernel does without allocating: the bit is still in the ida's bitmap
   * chunk). Not a fault-injectable point. False when it is not free.
   */
  retake(id: number): boolean {
    if (!Number.isInteger(id) || id < this.start || id >= this.size) return false
    epoch.ida++
    return this.bits.setUsed(id)
  }

  /** Release a DID. False when it was not allocated (the kernel WARNs in ida_free). */
  free(id: number): boolean {
    if (!Number.isInteger(id) || id < this.start || id >= this.size) return false
    epoch.ida++
    return this.bits.setFree(id)
  }

  has(id: number): boolean {
    return Number.isInteger(id) && id >= this.start && id < this.size && !this.bits.isFree(id)
  }

  /** DIDs in use, in increasing order. */
  ids(): number[] {
    const out: number[] = []
    for (let i = this.start; i < this.size; i++) if (!this.bits.isFree(i)) out.push(i)
    return out
  }

  get count(): number {
    return this.size - this.start - this.bits.free
  }
}
