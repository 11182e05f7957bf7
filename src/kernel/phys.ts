// Simulated physical memory: the two zones of models/platform.ts, plus a third small zone the
// model does not see.
//
//  * general memory, PFN 0 .. memoryPages-1: memfd and anonymous pages, lowest free PFN first
//    (the model predicts every data PA from that rule);
//  * the IOMMU page-table zone (iommu-pages), PFN memoryPages .. memoryPages+tablePages-1,
//    lowest free first. Table pages have contents: 512 64-bit entries, stored as a
//    Uint32Array(1024) of little-endian (lo, hi) halves, so the array's bytes are the page's bytes.
//    Contents exist only while the page is allocated (≈ 4 KiB per held table page).
//  * the IOMMU structure zone, PFN memoryPages+tablePages .. +iommuPages-1: VT-d root tables,
//    context tables, PASID directories and PASID tables (src/kernel/vtd.ts). The kernel takes
//    those from the page allocator too, but only domain page tables count against
//    platform.tablePages (models/platform.ts), so they live in a zone of their own, sized from
//    the platform (vtd.ts iommuZonePages), with contents like table pages. A PTE can never
//    point into this zone: `table()` does not return its pages, so a walk that reaches one is
//    WALK_BAD.
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
import { epoch } from './epoch.ts'

export type Zone = 'memory' | 'table' | 'iommu'
export type ENOMEM = 'ENOMEM'

/** What crosses a kexec: the machine's shape, the preserved PFNs, the preserved table pages. */
export interface PhysHandover {
  memoryPages: number
  tablePages: number
  /** size of the IOMMU structure zone (0 when absent) */
  iommuPages?: number
  preserved: number[]
  /** contents of preserved table and IOMMU-structure pages, 1024 u32 each */
  tables: Map<number, Uint32Array>
}

// Page contents are recycled: a freed table or IOMMU-structure page, and every page a kexec
// leaves behind, goes to `pagePool` and is zeroed when handed out again. Only the Uint32Array
// is reused, never a PFN's contents: every reader looks a page up by PFN (`table`,
// `iommuPage`), which answers undefined once the page is freed, and no kernel structure keeps
// a page's array beyond the call that looked it up. Allocating a 4 KiB ArrayBuffer costs far
// more than zeroing one (and it is external memory, which drives the GC); a campaign
// allocates thousands per second.
const POOL_PAGES = 2048
const pagePool: Uint32Array[] = []

/** A zeroed page's contents (iommu_alloc_pages zeroes), from the pool when it has one. */
function zeroedPage(): Uint32Array {
  const page = pagePool.pop()
  if (page === undefined) return new Uint32Array(1024)
  page.fill(0)
  return page
}

function recycle(page: Uint32Array | undefined): void {
  if (page !== undefined && page.length === 1024 && pagePool.length < POOL_PAGES && recyclingHeld === 0) pagePool.push(page)
}

// ---- harness, not kernel: the exploration's undo (src/explore/clone.ts Snapshot.restore) ----
// An op the exploration undoes in place must not give the pages it frees to the pool: the
// undo puts those very arrays back into the kernel, and the pool would hand them out again to
// another. While held, a freed page is left to the garbage collector (taking from the pool
// stays allowed: a page in the pool is in no kernel).
let recyclingHeld = 0
/** Run `f` with freed pages kept out of the pool. */
export function withoutPageRecycling<T>(f: () => T): T {
  recyclingHeld++
  try {
    return f()
  } finally {
    recyclingHeld--
  }
}

const bitGet = (bm: Uint32Array, i: number): boolean => (bm[i >>> 5] & (1 << (i & 31))) !== 0
const bitSet = (bm: Uint32Array, i: number): void => void (bm[i >>> 5] |= 1 << (i & 31))
const bitClear = (bm: Uint32Array, i: number): void => void (bm[i >>> 5] &= ~(1 << (i & 31)))

export class PhysMem {
  readonly tableBase: number
  readonly iommuBase: number
  readonly total: number
  /** present-entry count per table page, indexed by pfn - tableBase (see header) */
  readonly tableUse: Uint16Array
  private readonly memFree: FreeBitmap
  private readonly tabFree: FreeBitmap
  private readonly iommuFree: FreeBitmap
  private readonly tables: (Uint32Array | undefined)[]
  private readonly iommuTables: (Uint32Array | undefined)[]
  private readonly preserved: Uint32Array
  private readonly incoming: Uint32Array
  private npreserved = 0
  private nincoming = 0
  private retired = false

  constructor(
    readonly memoryPages: number,
    readonly tablePages: number,
    readonly faults: FaultInjector = new FaultInjector(),
    readonly iommuPages = 0,
  ) {
    const ok = (n: number) => Number.isInteger(n) && n >= 0
    if (!ok(memoryPages) || !ok(tablePages) || !ok(iommuPages))
      throw new RangeError(`PhysMem: bad zone sizes ${memoryPages}/${tablePages}/${iommuPages}`)
    this.tableBase = memoryPages
    this.iommuBase = memoryPages + tablePages
    this.total = memoryPages + tablePages + iommuPages
    if (this.total > 2 ** 40) throw new RangeError('PhysMem: more than 2^40 pages')
    this.memFree = new FreeBitmap(memoryPages)
    this.tabFree = new FreeBitmap(tablePages)
    this.iommuFree = new FreeBitmap(iommuPages)
    this.tables = new Array<Uint32Array | undefined>(tablePages).fill(undefined)
    this.iommuTables = new Array<Uint32Array | undefined>(iommuPages).fill(undefined)
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
    epoch.memory++
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
    epoch.memory++
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
    epoch.tables++
    this.tables[i] = zeroedPage()
    this.tableUse[i] = 0
    return this.tableBase + i
  }

  /** One zeroed page of the IOMMU structure zone (root/context/PASID tables), lowest free PFN. */
  allocIommu(): number | ENOMEM {
    this.live()
    if (this.faults.shouldFail()) return 'ENOMEM'
    const i = this.iommuFree.first()
    if (i < 0) return 'ENOMEM'
    this.iommuFree.setUsed(i)
    epoch.iommu++
    this.iommuTables[i] = zeroedPage()
    return this.iommuBase + i
  }

  /**
   * Free a page of any zone. Freeing a free page is a bug of the caller: throws. The KHO mark
   * is left alone: freeing a preserved page is a bug the next boot must be able to show.
   */
  free(pfn: number): void {
    this.live()
    const z = this.zoneOf(pfn)
    if (z === undefined) throw new RangeError(`luv: freeing pfn ${pfn} outside memory`)
    epoch[z === 'table' ? 'tables' : z]++
    if (z === 'table') {
      const i = pfn - this.tableBase
      if (!this.tabFree.setFree(i)) throw new Error(`luv: double free of table page ${pfn}`)
      recycle(this.tables[i])
      this.tables[i] = undefined
      this.tableUse[i] = 0
    } else if (z === 'iommu') {
      const i = pfn - this.iommuBase
      if (!this.iommuFree.setFree(i)) throw new Error(`luv: double free of IOMMU page ${pfn}`)
      recycle(this.iommuTables[i])
      this.iommuTables[i] = undefined
    } else if (!this.memFree.setFree(pfn)) throw new Error(`luv: double free of page ${pfn}`)
    this.clearIncoming(pfn)
  }

  // ---- queries ----

  zoneOf(pfn: number): Zone | undefined {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.total) return undefined
    return pfn < this.tableBase ? 'memory' : pfn < this.iommuBase ? 'table' : 'iommu'
  }

  isAllocated(pfn: number): boolean {
    const z = this.zoneOf(pfn)
    if (z === undefined) return false
    if (z === 'memory') return !this.memFree.isFree(pfn)
    return z === 'table' ? !this.tabFree.isFree(pfn - this.tableBase) : !this.iommuFree.isFree(pfn - this.iommuBase)
  }

  /** Contents of an allocated table page, or undefined (not a table page, or free). Hot path. */
  table(pfn: number): Uint32Array | undefined {
    return this.tables[pfn - this.tableBase]
  }

  /** Contents of an allocated page of the IOMMU structure zone, or undefined. */
  iommuPage(pfn: number): Uint32Array | undefined {
    return this.iommuTables[pfn - this.iommuBase]
  }

  used(zone: Zone): number {
    return zone === 'memory'
      ? this.memoryPages - this.memFree.free
      : zone === 'table'
        ? this.tablePages - this.tabFree.free
        : this.iommuPages - this.iommuFree.free
  }

  available(zone: Zone): number {
    return zone === 'memory' ? this.memFree.free : zone === 'table' ? this.tabFree.free : this.iommuFree.free
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

  /** How many pages are incoming (incomingPfns().length, without the list). */
  get incomingCount(): number {
    return this.nincoming
  }

  private clearIncoming(pfn: number): void {
    if (bitGet(this.incoming, pfn)) this.nincoming--
    bitClear(this.incoming, pfn)
  }

  /** Claim an incoming page (kho_restore_folio): true once, false if not incoming. */
  restore(pfn: number): boolean {
    if (!this.isIncoming(pfn)) return false
    epoch[this.zoneOf(pfn) === 'table' ? 'tables' : this.zoneOf(pfn) === 'iommu' ? 'iommu' : 'memory']++
    this.clearIncoming(pfn)
    return true
  }

  /** The handover image, copying table contents (the old memory stays usable). */
  handover(): PhysHandover {
    const preserved = this.preservedPfns()
    const tables = new Map<number, Uint32Array>()
    for (const pfn of preserved) {
      const t = this.contents(pfn)
      if (t !== undefined) tables.set(pfn, t.slice())
    }
    return { memoryPages: this.memoryPages, tablePages: this.tablePages, iommuPages: this.iommuPages, preserved, tables }
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
      const t = this.contents(pfn)
      if (t !== undefined) tables.set(pfn, t)
    }
    this.retired = true
    // what the next boot does not take over is gone with this boot: its pages are recycled
    for (const list of [this.tables, this.iommuTables])
      for (let i = 0; i < list.length; i++) {
        const t = list[i]
        if (t !== undefined && !tables.has((list === this.tables ? this.tableBase : this.iommuBase) + i)) recycle(t)
        list[i] = undefined
      }
    return PhysMem.boot(
      { memoryPages: this.memoryPages, tablePages: this.tablePages, iommuPages: this.iommuPages, preserved, tables },
      faults,
    )
  }

  /** Build a boot's memory from a handover: preserved pages allocated and incoming, the rest free. */
  static boot(h: PhysHandover, faults?: FaultInjector): PhysMem {
    const m = new PhysMem(h.memoryPages, h.tablePages, faults, h.iommuPages ?? 0)
    for (const pfn of h.preserved) {
      const z = m.zoneOf(pfn)
      if (z === undefined) throw new RangeError(`luv: preserved pfn ${pfn} outside memory`)
      if (z === 'memory') m.memFree.setUsed(pfn)
      else {
        const src = h.tables.get(pfn)
        const page = src === undefined ? new Uint32Array(1024) : src.length === 1024 ? src : Uint32Array.from(src)
        if (z === 'table') {
          m.tabFree.setUsed(pfn - m.tableBase)
          m.tables[pfn - m.tableBase] = page
        } else {
          m.iommuFree.setUsed(pfn - m.iommuBase)
          m.iommuTables[pfn - m.iommuBase] = page
        }
      }
      if (!bitGet(m.incoming, pfn)) m.nincoming++
      bitSet(m.incoming, pfn)
    }
    return m
  }

  private contents(pfn: number): Uint32Array | undefined {
    // general memory has no contents here; indexing the zone arrays with its (negative)
    // offsets would be a slow dictionary lookup for every preserved memfd page (issue 12)
    if (pfn < this.tableBase) return undefined
    return pfn < this.iommuBase ? this.table(pfn) : this.iommuPage(pfn)
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
