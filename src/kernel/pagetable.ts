// A VT-d second-stage page table: 4 levels of 512 64-bit entries, 48-bit IOVA, 4 KiB leaves
// and 2 MiB / 1 GiB superpages. Table pages live in the table zone of phys.ts and hold the
// real entry bits, so a kexec carries them as memory and `adopt` rebuilds from the entries.
//
// Entry format (torvalds/linux drivers/iommu/intel/iommu.h): bit 0 read, bit 1 write,
// bit 7 DMA_PTE_LARGE_PAGE, address in bits 51:12; present = (val & 3) != 0
// (dma_pte_present). Non-leaf entries are R|W (pfn_to_dma_pte in drivers/iommu/intel/iommu.c).
//
// Everything is in page numbers (numbers, never bigint): an IOVA page number is < 2^36, a PFN
// < 2^40. Level L (4 = root) indexes IOVA page bits [9(L-1), 9L); a leaf at level L maps
// 512^(L-1) pages.
//
// Table pages that become empty are freed at once (root kept until destroy), so the number of
// table pages held is exactly `tablePagesNeeded(leaves)`, the model's pure function.

import type { PhysMem } from './phys.ts'
import { type Panic, panic } from './panic.ts'
import { epoch } from './epoch.ts'

export const PTE_READ = 1
export const PTE_WRITE = 2
export const PTE_LARGE = 0x80
const RW = PTE_READ | PTE_WRITE

/** 4 KiB pages mapped by one entry at level L. */
const SPAN = [0, 1, 512, 262144, 134217728] as const
export const IOVA_PAGES = 2 ** 36
export const ORDER_4K = 0
export const ORDER_2M = 9
export const ORDER_1G = 18

/** walk() results beside a PFN. */
export const WALK_FAULT = -1
/** The walk met a reserved bit or a pointer to a page that is not an allocated table page. */
export const WALK_BAD = -2

export interface Leaf {
  iovaPfn: number
  pfn: number
  /** log2 of the leaf size in 4 KiB pages: 0, 9 or 18 */
  order: number
}

/** A physically contiguous PFN run, when the caller knows it (maps in O(superpages)). */
export interface PfnRun {
  readonly first: number
  readonly length: number
}
export type Pfns = ArrayLike<number> | PfnRun

export type MapError = 'ENOMEM' | 'EADDRINUSE'

const isRun = (p: Pfns): p is PfnRun => typeof (p as PfnRun).first === 'number'

const entryPfn = (t: Uint32Array, i: number): number => t[2 * i + 1] * 0x100000 + (t[2 * i] >>> 12)

function writeEntry(t: Uint32Array, i: number, pfn: number, flags: number): void {
  t[2 * i] = ((pfn & 0xfffff) << 12) | flags
  t[2 * i + 1] = Math.floor(pfn / 0x100000)
}

function clearEntry(t: Uint32Array, i: number): void {
  t[2 * i] = 0
  t[2 * i + 1] = 0
}

const indexAt = (p: number, level: number): number => (level === 1 ? p & 511 : Math.floor(p / SPAN[level]) & 511)

/**
 * The largest page size usable at IOVA page p for PA page pa when `avail` pages from there are
 * physically contiguous: IOVA, PA and length must all allow it (iommu_pgsize in
 * torvalds/linux drivers/iommu/iommu.c picks the same way).
 */
function pickOrder(p: number, pa: number, avail: number): number {
  if (avail >= 262144 && (p & 262143) === 0 && (pa & 262143) === 0) return ORDER_1G
  if (avail >= 512 && (p & 511) === 0 && (pa & 511) === 0) return ORDER_2M
  return ORDER_4K
}

/** End (exclusive) of the physically contiguous stretch of pfns starting at index i. */
function contigEnd(pfns: ArrayLike<number>, i: number, n: number): number {
  let j = i + 1
  const base = pfns[i] - i
  while (j < n && pfns[j] === base + j) j++
  return j
}

/** Which leaves map(iovaPfn, pfns) writes, in IOVA order. Pure. */
export function splitRun(iovaPfn: number, pfns: Pfns): Leaf[] {
  const n = pfns.length
  const run = isRun(pfns)
  const out: Leaf[] = []
  let end = 0
  for (let i = 0; i < n; ) {
    if (end <= i) end = run ? n : contigEnd(pfns as ArrayLike<number>, i, n)
    const pa = run ? (pfns as PfnRun).first + i : (pfns as ArrayLike<number>)[i]
    const order = pickOrder(iovaPfn + i, pa, end - i)
    out.push({ iovaPfn: iovaPfn + i, pfn: pa, order })
    i += 2 ** order
  }
  return out
}

/**
 * Table pages a set of leaves needs: 1 (root) + |{iova >> 39}| + |{iova >> 30 of leaves of
 * size <= 2 MiB}| + |{iova >> 21 of 4 KiB leaves}| (iova in bytes).
 */
export function tablePagesNeeded(leaves: Iterable<{ iovaPfn: number; order: number }>): number {
  const l3 = new Set<number>()
  const l2 = new Set<number>()
  const l1 = new Set<number>()
  for (const { iovaPfn: p, order } of leaves) {
    l3.add(Math.floor(p / SPAN[4]))
    if (order <= ORDER_2M) l2.add(Math.floor(p / SPAN[3]))
    if (order === ORDER_4K) l1.add(Math.floor(p / SPAN[2]))
  }
  return 1 + l3.size + l2.size + l1.size
}

/**
 * The IOMMU's own table walk from a root PFN (what the hardware does on an IOTLB miss; it knows
 * no PageTable object, only the context/PASID entry's root). Returns the PFN for IOVA page p,
 * WALK_FAULT or WALK_BAD; `out.order` gets the leaf's order.
 */
export function walk(phys: PhysMem, rootPfn: number, p: number, out?: { order: number }): number {
  let t = phys.table(rootPfn)
  if (t === undefined) return WALK_BAD
  let i = Math.floor(p / 134217728) & 511
  let lo = t[2 * i]
  if ((lo & 3) === 0) return WALK_FAULT
  if (lo & PTE_LARGE) return WALK_BAD // no 512 GiB pages in VT-d
  t = phys.table(t[2 * i + 1] * 0x100000 + (lo >>> 12))
  if (t === undefined) return WALK_BAD
  i = Math.floor(p / 262144) & 511
  lo = t[2 * i]
  if ((lo & 3) === 0) return WALK_FAULT
  if (lo & PTE_LARGE) {
    if (out) out.order = ORDER_1G
    return t[2 * i + 1] * 0x100000 + (lo >>> 12) + (p & 262143)
  }
  t = phys.table(t[2 * i + 1] * 0x100000 + (lo >>> 12))
  if (t === undefined) return WALK_BAD
  i = Math.floor(p / 512) & 511
  lo = t[2 * i]
  if ((lo & 3) === 0) return WALK_FAULT
  if (lo & PTE_LARGE) {
    if (out) out.order = ORDER_2M
    return t[2 * i + 1] * 0x100000 + (lo >>> 12) + (p & 511)
  }
  t = phys.table(t[2 * i + 1] * 0x100000 + (lo >>> 12))
  if (t === undefined) return WALK_BAD
  i = p & 511
  lo = t[2 * i]
  if ((lo & 3) === 0) return WALK_FAULT
  if (out) out.order = ORDER_4K
  return t[2 * i + 1] * 0x100000 + (lo >>> 12)
}

const NO_MEM = -1
const IN_USE = -3

export class PageTable {
  private npages: number
  private dead = false
  private readonly scratch = { order: 0 }

  private constructor(
    readonly phys: PhysMem,
    readonly root: number,
    npages: number,
  ) {
    this.npages = npages
  }

  /** A new, empty table: one root page (one fault-injectable point). */
  static create(phys: PhysMem): PageTable | 'ENOMEM' {
    const root = phys.allocTable()
    return root === 'ENOMEM' ? root : new PageTable(phys, root, 1)
  }

  /**
   * Rebuild from preserved table pages after kexec: walk the entries (they are the truth),
   * recount each table's present entries and claim every table page from KHO (once: a second
   * adopt of the same pages panics, as a second kho_restore_folio fails). Anything that is not a
   * tree of incoming table pages with well-formed entries is a panic.
   */
  static adopt(phys: PhysMem, rootPfn: number): PageTable | Panic {
    const seen = new Set<number>()
    const visit = (pfn: number, level: number): string | undefined => {
      if (phys.zoneOf(pfn) !== 'table' || !phys.isIncoming(pfn))
        return `level-${level} table page ${pfn} is not a preserved table page`
      if (seen.has(pfn)) return `table page ${pfn} is reached twice`
      seen.add(pfn)
      const t = phys.table(pfn)!
      let used = 0
      for (let i = 0; i < 512; i++) {
        const lo = t[2 * i]
        if ((lo & 3) === 0) continue
        used++
        if (level === 1) continue
        if (lo & PTE_LARGE) {
          if (level === 4) return `level-4 entry ${i} of page ${pfn} has the large-page bit`
          if (entryPfn(t, i) % SPAN[level] !== 0) return `superpage entry ${i} of page ${pfn} is misaligned`
          continue
        }
        const e = visit(entryPfn(t, i), level - 1)
        if (e !== undefined) return e
      }
      phys.tableUse[pfn - phys.tableBase] = used
      return undefined
    }
    const e = visit(rootPfn, 4)
    if (e !== undefined) return panic(`iommu: cannot restore page table at root ${rootPfn}: ${e}`)
    for (const pfn of seen) phys.restore(pfn)
    return new PageTable(phys, rootPfn, seen.size)
  }

  /** Table pages held, root included. */
  get tableCount(): number {
    return this.npages
  }

  /** PFN for IOVA page p, or -1. */
  lookup(p: number): number {
    this.alive()
    const r = walk(this.phys, this.root, p)
    return r < 0 ? -1 : r
  }

  /** PFN for IOVA page p (or -1) and the order of the leaf holding it in `out.order`. */
  lookupLeaf(p: number, out: { order: number }): number {
    const r = walk(this.phys, this.root, p, out)
    return r < 0 ? -1 : r
  }

  /**
   * Map pfns at IOVA page iovaPfn, the largest fitting page size chunk by chunk. All or nothing:
   * on ENOMEM (table zone full or fail-nth) or EADDRINUSE (something already mapped there:
   * generic_pt's clear_contig in torvalds/linux drivers/iommu/generic_pt/iommu_pt.h) every
   * entry written and every table allocated by this call is undone.
   */
  map(iovaPfn: number, pfns: Pfns): MapError | undefined {
    this.alive()
    epoch.tables++
    const n = pfns.length
    checkRange(iovaPfn, n)
    const run = isRun(pfns)
    const first = run ? pfns.first : 0
    const arr = pfns as ArrayLike<number>
    const tu = this.phys.tableUse
    const base = this.phys.tableBase
    let end = 0
    let i = 0
    while (i < n) {
      if (end <= i) end = run ? n : contigEnd(arr, i, n)
      const order = pickOrder(iovaPfn + i, run ? first + i : arr[i], end - i)
      const level = order / 9 + 1
      const t = this.tableFor(iovaPfn + i, level)
      if (t < 0) return this.unwind(iovaPfn, i, t === NO_MEM ? 'ENOMEM' : 'EADDRINUSE')
      const tab = this.phys.table(t)!
      const span = SPAN[level]
      const flags = order === 0 ? RW : RW | PTE_LARGE
      let idx = indexAt(iovaPfn + i, level)
      let added = 0
      for (;;) {
        if (tab[2 * idx] & 3) {
          tu[t - base] += added
          return this.unwind(iovaPfn, i, 'EADDRINUSE')
        }
        writeEntry(tab, idx, run ? first + i : arr[i], flags)
        added++
        i += span
        if (++idx === 512 || i >= n) break
        if (end <= i) end = run ? n : contigEnd(arr, i, n)
        if (pickOrder(iovaPfn + i, run ? first + i : arr[i], end - i) !== order) break
      }
      tu[t - base] += added
    }
    return undefined
  }

  /**
   * Unmap [iovaPfn, iovaPfn + npages); holes are skipped. Returns the pages unmapped. A leaf
   * crossing either end would be split: callers never do that (IOAS unmap removes whole areas,
   * each mapped by its own map call), so it throws before touching anything.
   */
  unmap(iovaPfn: number, npages: number): number {
    this.alive()
    checkRange(iovaPfn, npages)
    if (npages === 0) return 0
    epoch.tables++
    const hi = iovaPfn + npages
    const o = this.scratch
    if (walk(this.phys, this.root, iovaPfn, o) >= 0 && iovaPfn % SPAN[o.order / 9 + 1] !== 0)
      throw new Error(`luv: unmap at page ${iovaPfn} would split a 2^${o.order}-page leaf`)
    if (walk(this.phys, this.root, hi - 1, o) >= 0 && hi % SPAN[o.order / 9 + 1] !== 0)
      throw new Error(`luv: unmap ending at page ${hi} would split a 2^${o.order}-page leaf`)
    return this.unmapLevel(this.root, 4, 0, iovaPfn, hi)
  }

  /** Every table page's PFN, root first (what KHO must preserve for this domain), appended
   *  to `out` (a new list by default). */
  tablePages(out: number[] = []): number[] {
    this.alive()
    this.collectTables(this.root, 4, out)
    return out
  }

  /** tablePages: `pfn` (a table at `level`) and the tables under it, appended to `out`
   *  (a method, not a closure: the invariant sweep walks every domain's tables). */
  private collectTables(pfn: number, level: number, out: number[]): void {
    out.push(pfn)
    if (level === 1) return
    const t = this.phys.table(pfn)!
    for (let i = 0; i < 512; i++) {
      const lo = t[2 * i]
      if (lo & 3 && !(lo & PTE_LARGE)) this.collectTables(entryPfn(t, i), level - 1, out)
    }
  }

  /** Visit every leaf in IOVA order. */
  forEachLeaf(cb: (iovaPfn: number, pfn: number, order: number) => void): void {
    this.alive()
    this.leavesOf(this.root, 4, 0, cb)
  }

  /** forEachLeaf under the table `pfn` at `level`, which maps from IOVA page `base`. */
  private leavesOf(pfn: number, level: number, base: number, cb: (iovaPfn: number, pfn: number, order: number) => void): void {
    const t = this.phys.table(pfn)!
    const span = SPAN[level]
    for (let i = 0; i < 512; i++) {
      const lo = t[2 * i]
      if ((lo & 3) === 0) continue
      if (level === 1 || lo & PTE_LARGE) cb(base + i * span, entryPfn(t, i), 9 * (level - 1))
      else this.leavesOf(entryPfn(t, i), level - 1, base + i * span, cb)
    }
  }

  /** Free every table page, root included. The table is unusable afterwards. */
  destroy(): void {
    for (const pfn of this.tablePages().reverse()) this.phys.free(pfn)
    this.npages = 0
    this.dead = true
  }

  // The table at `level` covering IOVA page p, allocating missing ones (each a fail-nth point).
  private tableFor(p: number, level: number): number {
    const tu = this.phys.tableUse
    const base = this.phys.tableBase
    let t = this.root
    for (let l = 4; l > level; l--) {
      const tab = this.phys.table(t)!
      const i = indexAt(p, l)
      const lo = tab[2 * i]
      if (lo & 3) {
        if (lo & PTE_LARGE) return IN_USE
        t = entryPfn(tab, i)
        continue
      }
      const c = this.phys.allocTable()
      if (c === 'ENOMEM') return NO_MEM
      writeEntry(tab, i, c, RW)
      tu[t - base]++
      this.npages++
      t = c
    }
    return t
  }

  // Clear leaves within [lo, hi) under table t (covering IOVA pages from `start`), freeing
  // tables that become empty. Returns pages unmapped.
  private unmapLevel(t: number, level: number, start: number, lo: number, hi: number): number {
    const tab = this.phys.table(t)!
    const span = SPAN[level]
    const i0 = Math.floor((lo - start) / span)
    const i1 = Math.floor((hi - 1 - start) / span)
    let removed = 0
    let cleared = 0
    for (let i = i0; i <= i1; i++) {
      const e = tab[2 * i]
      if ((e & 3) === 0) continue
      const eStart = start + i * span
      if (level === 1 || e & PTE_LARGE) {
        removed += span
      } else {
        const c = entryPfn(tab, i)
        removed += this.unmapLevel(c, level - 1, eStart, Math.max(lo, eStart), Math.min(hi, eStart + span))
        if (this.phys.tableUse[c - this.phys.tableBase] !== 0) continue
        this.phys.free(c)
        this.npages--
      }
      clearEntry(tab, i)
      cleared++
    }
    this.phys.tableUse[t - this.phys.tableBase] -= cleared
    return removed
  }

  // Undo a failed map: the `done` pages already written, then any table left empty on the
  // path of the chunk that failed (allocated for it before the failure).
  private unwind(iovaPfn: number, done: number, e: MapError): MapError {
    if (done > 0) this.unmapLevel(this.root, 4, 0, iovaPfn, iovaPfn + done)
    const p = iovaPfn + done
    const path = [this.root]
    const idx: number[] = []
    for (let l = 4; l > 1; l--) {
      const tab = this.phys.table(path[path.length - 1])!
      const i = indexAt(p, l)
      const lo = tab[2 * i]
      if ((lo & 3) === 0 || lo & PTE_LARGE) break
      idx.push(i)
      path.push(entryPfn(tab, i))
    }
    const tu = this.phys.tableUse
    const base = this.phys.tableBase
    for (let k = path.length - 1; k >= 1 && tu[path[k] - base] === 0; k--) {
      this.phys.free(path[k])
      this.npages--
      clearEntry(this.phys.table(path[k - 1])!, idx[k - 1])
      tu[path[k - 1] - base]--
    }
    return e
  }

  private alive(): void {
    if (this.dead) throw new Error('luv: page table used after destroy')
  }
}

function checkRange(iovaPfn: number, n: number): void {
  if (!Number.isInteger(iovaPfn) || !Number.isInteger(n) || iovaPfn < 0 || n < 0 || iovaPfn + n > IOVA_PAGES)
    throw new RangeError(`luv: IOVA pages [${iovaPfn}, +${n}) outside the 48-bit space`)
}
