// Simulated physical memory: the two zones of models/platform.ts.
//
//  * general memory, PFN 0 .. memoryPages-1: memfd and anonymous pages, lowest free PFN first
//    (the model predicts every data PA from that rule);
//  * the IOMMU page-table zone (iommu-pages), PFN memoryPages .. memoryPages+tablePages-1,
//    lowest free first. Table pages have contents: 512 64-bit entries, stored as a
//    Uint32Array(1024) of little-endian (lo, hi) halves, so the array's bytes are the page's bytes.
//    Contents exist only while the page is allocated (≈ 4 KiB per held table page).
//
// Beside the contents, each table page has a software counter of present entries (`tableUse`),
// the kind of metadata the kernel keeps in the page's struct ptdesc rather than in the page.
//
// KHO bookkeeping: `preserve(pfn)` marks a page to survive kexec; `kexec()` / `PhysMem.boot`
// build the next boot's memory where exactly the preserved pages are allocated (and "incoming")
// with table contents intact; `restore(pfn)` claims an incoming page once, as
// kho_restore_folio does (samikhawaja/linux kernel/liveupdate/kexec_handover.c).

import { FreeBitmap } from './bitmap.ts'
import { FaultInjector } from './failnth.ts'

export type Zone = 'memory' | 'table'
export type ENOMEM = 'ENOMEM'

/** What crosses a kexec: the machine's shape, the preserved PFNs, the preserved table pages. */
export interface PhysHandover {
  memoryPages: number
  tablePages: number
  preserved: number[]
  /** contents of preserved table pages, 1024 u32 each */
  tables: Map<number, Uint32Array>
}

const bitGet = (bm: Uint32Array, i: number): boolean => (bm[i >>> 5] & (1 << (i & 31))) !== 0
const bitSet = (bm: Uint32Array, i: number): void => void (bm[i >>> 5] |= 1 << (i & 31))
const bitClear = (bm: Uint32Array, i: number): void => void (bm[i >>> 5] &= ~(1 << (i & 31)))

export class PhysMem {
  readonly tableBase: number
  readonly total: number
  /** present-entry count per table page, indexed by pfn - tableBase (see header) */
  readonly tableUse: Uint16Array
  private readonly memFree: FreeBitmap
  private readonly tabFree: FreeBitmap
  private readonly tables: (Uint32Array | undefined)[]
  private readonly preserved: Uint32Array
  private readonly incoming: Uint32Array
  private npreserved = 0
  private retired = false

  constructor(
    readonly memoryPages: number,
    readonly tablePages: number,
    readonly faults: FaultInjector = new FaultInjector(),
  ) {
    if (!Number.isInteger(memoryPages) || memoryPages < 0 || !Number.isInteger(tablePages) || tablePages < 0)
      throw new RangeError(`PhysMem: bad zone sizes ${memoryPages}/${tablePages}`)
    this.tableBase = memoryPages
    this.total = memoryPages + tablePages
    if (this.total > 2 ** 40) throw new RangeError('PhysMem: more than 2^40 pages')
    this.memFree = new FreeBitmap(memoryPages)
    this.tabFree = new FreeBitmap(tablePages)
    this.tables = new Array<Uint32Array | undefined>(tablePages).fill(undefined)
    this.tableUse = new Uint16Array(tablePages)
    this.preserved = new Uint32Array(Math.ceil(this.total / 32))
    this.incoming = new Uint32Array(Math.ceil(this.total / 32))
  }

  // ---- allocation (each call is one fault-injectable point) ----

  /** One page of general memory, lowest free PFN. */
  alloc(): number | ENOMEM {
    this.live()
    if (this.faults.shouldFail()) return 'ENOMEM'
    const i = this.memFree.first()
    if (i < 0) return 'ENOMEM'
    this.memFree.setUsed(i)
    return i
  }

  /**
   * n pages of general memory, each the lowest free one in turn (same PFNs as n `alloc` calls),
   * all or nothing. One fault-injectable point for the whole batch (alloc_pages_bulk-like),
   * so a fail-nth sweep does not walk every page of a large memfd.
   */
  allocMany(n: number): number[] | ENOMEM {
    this.live()
    if (this.faults.shouldFail()) return 'ENOMEM'
    if (n > this.memFree.free) return 'ENOMEM'
    const out = new Array<number>(n)
    for (let k = 0; k < n; k++) {
      const i = this.memFree.first()
      this.memFree.setUsed(i)
      out[k] = i
    }
    return out
  }

  /** One zeroed page of the table zone, lowest free PFN (iommu_alloc_pages zeroes). */
  allocTable(): number | ENOMEM {
    this.live()
    if (this.faults.shouldFail()) return 'ENOMEM'
    const i = this.tabFree.first()
    if (i < 0) return 'ENOMEM'
    this.tabFree.setUsed(i)
    this.tables[i] = new Uint32Array(1024)
    this.tableUse[i] = 0
    return this.tableBase + i
  }

  /**
   * Free a page of either zone. Freeing a free page is a bug of the caller: throws. The KHO mark
   * is left alone: freeing a preserved page is a bug the next boot must be able to show.
   */
  free(pfn: number): void {
    this.live()
    const z = this.zoneOf(pfn)
    if (z === undefined) throw new RangeError(`luv: freeing pfn ${pfn} outside memory`)
    if (z === 'table') {
      const i = pfn - this.tableBase
      if (!this.tabFree.setFree(i)) throw new Error(`luv: double free of table page ${pfn}`)
      this.tables[i] = undefined
      this.tableUse[i] = 0
    } else if (!this.memFree.setFree(pfn)) throw new Error(`luv: double free of page ${pfn}`)
    bitClear(this.incoming, pfn)
  }

  // ---- queries ----

  zoneOf(pfn: number): Zone | undefined {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.total) return undefined
    return pfn < this.tableBase ? 'memory' : 'table'
  }

  isAllocated(pfn: number): boolean {
    const z = this.zoneOf(pfn)
    if (z === undefined) return false
    return z === 'memory' ? !this.memFree.isFree(pfn) : !this.tabFree.isFree(pfn - this.tableBase)
  }

  /** Contents of an allocated table page, or undefined (not a table page, or free). Hot path. */
  table(pfn: number): Uint32Array | undefined {
    return this.tables[pfn - this.tableBase]
  }

  used(zone: Zone): number {
    return zone === 'memory' ? this.memoryPages - this.memFree.free : this.tablePages - this.tabFree.free
  }

  available(zone: Zone): number {
    return zone === 'memory' ? this.memFree.free : this.tabFree.free
  }

  // ---- KHO ----

  /** Mark a page to be carried over the next kexec (kho_preserve_folio). */
  preserve(pfn: number): void {
    if (!this.isAllocated(pfn)) throw new Error(`luv: preserving unallocated page ${pfn}`)
    if (!bitGet(this.preserved, pfn)) this.npreserved++
    bitSet(this.preserved, pfn)
  }

  unpreserve(pfn: number): void {
    if (bitGet(this.preserved, pfn)) this.npreserved--
    bitClear(this.preserved, pfn)
  }

  isPreserved(pfn: number): boolean {
    return pfn >= 0 && pfn < this.total && bitGet(this.preserved, pfn)
  }

  get preservedCount(): number {
    return this.npreserved
  }

  /** Preserved PFNs in increasing order. */
  preservedPfns(): number[] {
    return bitList(this.preserved)
  }

  /** An incoming page: preserved by the previous kernel and not yet claimed with `restore`. */
  isIncoming(pfn: number): boolean {
    return pfn >= 0 && pfn < this.total && bitGet(this.incoming, pfn)
  }

  incomingPfns(): number[] {
    return bitList(this.incoming)
  }

  /** Claim an incoming page (kho_restore_folio): true once, false if not incoming. */
  restore(pfn: number): boolean {
    if (!this.isIncoming(pfn)) return false
    bitClear(this.incoming, pfn)
    return true
  }

  /** The handover image, copying table contents (the old memory stays usable). */
  handover(): PhysHandover {
    const preserved = this.preservedPfns()
    const tables = new Map<number, Uint32Array>()
    for (const pfn of preserved) {
      const t = this.table(pfn)
      if (t !== undefined) tables.set(pfn, t.slice())
    }
    return { memoryPages: this.memoryPages, tablePages: this.tablePages, preserved, tables }
  }

  /**
   * Reboot into the next kernel: a new PhysMem holding exactly the preserved pages, incoming,
   * with their table contents moved over (no copy). This instance is unusable afterwards.
   */
  kexec(faults: FaultInjector = this.faults): PhysMem {
    this.live()
    const preserved = this.preservedPfns()
    const tables = new Map<number, Uint32Array>()
    for (const pfn of preserved) {
      const t = this.table(pfn)
      if (t !== undefined) tables.set(pfn, t)
    }
    this.retired = true
    return PhysMem.boot({ memoryPages: this.memoryPages, tablePages: this.tablePages, preserved, tables }, faults)
  }

  /** Build a boot's memory from a handover: preserved pages allocated and incoming, the rest free. */
  static boot(h: PhysHandover, faults?: FaultInjector): PhysMem {
    const m = new PhysMem(h.memoryPages, h.tablePages, faults)
    for (const pfn of h.preserved) {
      const z = m.zoneOf(pfn)
      if (z === undefined) throw new RangeError(`luv: preserved pfn ${pfn} outside memory`)
      if (z === 'memory') m.memFree.setUsed(pfn)
      else {
        const i = pfn - m.tableBase
        m.tabFree.setUsed(i)
        const src = h.tables.get(pfn)
        m.tables[i] = src === undefined ? new Uint32Array(1024) : src.length === 1024 ? src : Uint32Array.from(src)
      }
      bitSet(m.incoming, pfn)
    }
    return m
  }

  private live(): void {
    if (this.retired) throw new Error('luv: this boot of physical memory is gone (kexec happened)')
  }
}

function bitList(bm: Uint32Array): number[] {
  const out: number[] = []
  for (let w = 0; w < bm.length; w++) {
    let x = bm[w]
    while (x !== 0) {
      const b = 31 - Math.clz32(x & -x)
      out.push(w * 32 + b)
      x &= x - 1
    }
  }
  return out
}
