// The IOTLB: translations cached per (unit, DID, PASID, IOVA page), consulted first on DMA and
// filled from a table walk on a miss. Only the VT-d invalidations remove entries (no capacity
// eviction), so a flush the kernel forgets shows up as a stale translation, which is the bug
// class this cache exists to expose (iommufd.md §5.3).
//
// Layout: one IotlbTag per (unit, DID, PASID), found by a packed numeric key; in it one Map per
// leaf size keyed by IOVA page number >> order. A 4 KiB hit is a single Map.get once the tag is
// known: the last tag is cached, and a caller may hold tags itself (`tag()`; they are emptied by
// flushes, never dropped). A superpage entry is stored once under its aligned key and serves
// every 4 KiB page it covers: after a 4 KiB miss the lookup tries the 2 MiB and then the
// 1 GiB map (skipped when empty).
import { epoch } from './epoch.ts'

export interface IotlbEntry {
  unit: number
  did: number
  pasid: number
  /** first IOVA page the entry covers (aligned to its size) */
  iovaPfn: number
  /** first PFN */
  pfn: number
  /** 0, 9 or 18 */
  order: number
}

const ORDERS = [0, 9, 18] as const

interface Stats {
  hits: number
  misses: number
}

/**
 * The entries of one (unit, DID, PASID). A tag is never dropped, only emptied, so a caller may
 * keep it (e.g. per attached device and PASID) and translate with one Map.get per DMA.
 */
export class IotlbTag {
  /** maps[k]: IOVA page >> ORDERS[k] → first PFN of the leaf */
  readonly maps = [new Map<number, number>(), new Map<number, number>(), new Map<number, number>()]
  constructor(
    readonly unit: number,
    readonly did: number,
    readonly pasid: number,
    private readonly stats: Stats,
  ) {}

  /** The PFN cached for this IOVA page, or -1 (a miss: the caller walks and fills). */
  lookup(iovaPfn: number): number {
    const m = this.maps
    let v = m[0].get(iovaPfn)
    if (v !== undefined) {
      this.stats.hits++
      return v
    }
    if (m[1].size !== 0) {
      v = m[1].get(Math.floor(iovaPfn / 512))
      if (v !== undefined) {
        this.stats.hits++
        return v + (iovaPfn & 511)
      }
    }
    if (m[2].size !== 0) {
      v = m[2].get(Math.floor(iovaPfn / 262144))
      if (v !== undefined) {
        this.stats.hits++
        return v + (iovaPfn & 262143)
      }
    }
    this.stats.misses++
    return -1
  }

  /** Cache the translation iovaPfn → pfn found in a leaf of this order (0, 9 or 18). */
  fill(iovaPfn: number, pfn: number, order: number): void {
    const k = ORDERS.indexOf(order as 0 | 9 | 18)
    if (k < 0) throw new RangeError(`luv: IOTLB fill with order ${order}`)
    const span = 2 ** order
    const off = iovaPfn % span
    epoch.iotlb++
    this.maps[k].set((iovaPfn - off) / span, pfn - off)
  }

  get size(): number {
    return this.maps[0].size + this.maps[1].size + this.maps[2].size
  }

  clear(): void {
    epoch.iotlb++
    for (const m of this.maps) m.clear()
  }
}

// unit < 2^17, did < 2^16, pasid < 2^20: the packed key stays below 2^53.
const domainKey = (unit: number, did: number): number => unit * 65536 + did
const tagKey = (unit: number, did: number, pasid: number): number => domainKey(unit, did) * 1048576 + pasid

function checkTag(unit: number, did: number, pasid: number): void {
  if (!(unit >= 0 && unit < 131072 && did >= 0 && did < 65536 && pasid >= 0 && pasid < 1048576))
    throw new RangeError(`luv: IOTLB tag (${unit}, ${did}, ${pasid}) out of range`)
}

export class Iotlb {
  private readonly stats: Stats = { hits: 0, misses: 0 }
  private readonly tags = new Map<number, IotlbTag>()
  /** (unit, did) → its tags, for domain-selective and page-selective flushes */
  private readonly byDomain = new Map<number, IotlbTag[]>()
  private lastKey = -1
  private lastTag: IotlbTag | undefined

  get hits(): number {
    return this.stats.hits
  }

  get misses(): number {
    return this.stats.misses
  }

  /** The tag for (unit, DID, PASID), created empty on first use; stable for the cache's life. */
  tag(unit: number, did: number, pasid: number): IotlbTag {
    const key = tagKey(unit, did, pasid)
    let tag = this.tags.get(key)
    if (tag === undefined) {
      checkTag(unit, did, pasid)
      tag = new IotlbTag(unit, did, pasid, this.stats)
      this.tags.set(key, tag)
      const dk = domainKey(unit, did)
      const list = this.byDomain.get(dk)
      if (list === undefined) this.byDomain.set(dk, [tag])
      else list.push(tag)
    }
    return tag
  }

  /** The PFN cached for this IOVA page, or -1 (a miss: the caller walks and fills). */
  lookup(unit: number, did: number, pasid: number, iovaPfn: number): number {
    const key = tagKey(unit, did, pasid)
    if (key === this.lastKey) return this.lastTag!.lookup(iovaPfn)
    const tag = this.tags.get(key)
    if (tag === undefined) {
      this.stats.misses++
      return -1
    }
    this.lastKey = key
    this.lastTag = tag
    return tag.lookup(iovaPfn)
  }

  /** Cache the translation iovaPfn → pfn found in a leaf of this order (0, 9 or 18). */
  fill(unit: number, did: number, pasid: number, iovaPfn: number, pfn: number, order: number): void {
    this.tag(unit, did, pasid).fill(iovaPfn, pfn, order)
  }

  /** Global invalidation of one unit. */
  flushGlobal(unit: number): void {
    for (const tag of this.tags.values()) if (tag.unit === unit) tag.clear()
  }

  /** Domain-selective: every entry tagged with this DID, any PASID. */
  flushDomain(unit: number, did: number): void {
    const list = this.byDomain.get(domainKey(unit, did))
    if (list !== undefined) for (const tag of list) tag.clear()
  }

  /** PASID-based: entries tagged (DID, PASID). */
  flushPasid(unit: number, did: number, pasid: number): void {
    this.tags.get(tagKey(unit, did, pasid))?.clear()
  }

  /**
   * Page-selective within a domain: every entry of this DID (of one PASID when given) whose
   * translation overlaps [iovaPfn, iovaPfn + npages), superpage entries included. Exactly that
   * range: the kernel rounds a PSI up to an aligned power of two (qi_flush_iotlb's address
   * mask), which a caller can pass here if it wants the wider flush.
   */
  flushPages(unit: number, did: number, iovaPfn: number, npages: number, pasid?: number): void {
    if (npages <= 0) return
    if (pasid !== undefined) {
      const tag = this.tags.get(tagKey(unit, did, pasid))
      if (tag !== undefined) flushRange(tag, iovaPfn, npages)
      return
    }
    const list = this.byDomain.get(domainKey(unit, did))
    if (list !== undefined) for (const tag of list) flushRange(tag, iovaPfn, npages)
  }

  /** Number of cached entries (a superpage entry counts once). */
  get size(): number {
    let n = 0
    for (const tag of this.tags.values()) n += tag.size
    return n
  }

  /** Visit every cached entry (for the isolation check: no entry may disagree with its table). */
  forEach(cb: (e: IotlbEntry) => void): void {
    for (const tag of this.tags.values())
      for (let k = 0; k < 3; k++)
        for (const [key, pfn] of tag.maps[k])
          cb({ unit: tag.unit, did: tag.did, pasid: tag.pasid, iovaPfn: key * 2 ** ORDERS[k], pfn, order: ORDERS[k] })
  }

  resetStats(): void {
    this.stats.hits = 0
    this.stats.misses = 0
  }
}

// Remove entries overlapping [p, p + n): per key when the range is small, by scanning the map
// when the map is smaller than the range, so a flush costs O(min(range, entries)).
function flushRange(tag: IotlbTag, p: number, n: number): void {
  epoch.iotlb++
  for (let k = 0; k < 3; k++) {
    const m = tag.maps[k]
    if (m.size === 0) continue
    const span = 2 ** ORDERS[k]
    const lo = Math.floor(p / span)
    const hi = Math.floor((p + n - 1) / span)
    if (hi - lo + 1 <= m.size) for (let key = lo; key <= hi; key++) m.delete(key)
    else for (const key of m.keys()) if (key >= lo && key <= hi) m.delete(key)
  }
}
