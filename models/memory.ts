// Physical memory and memfds.
//
// General memory is an array of pages, each free or used (models/state.ts Page). Allocation
// takes the lowest free pages (the kernel's allocator is not specified; luv fixes lowest-first
// so that PAs are deterministic in the model and the kernel implementation alike).

import type { D } from './context.ts'
import { before, fail, plain } from './context.ts'
import type { ArgsOf, Seal } from './ops.ts'
import { ok, type Result } from './ops.ts'
import type { DomainId, FileId, MemfdFile, State } from './state.ts'
import { installFd, fileOfFd } from './files.ts'
import { isPreservedOutgoing } from './luo.ts'

/** Take `n` free pages, lowest first; ENOMEM if there are not enough. Every op that
 *  allocates does so before it frees anything, so the pages as they were when the op began
 *  say which are free (read outside the draft: scanning the draft would make a proxy of
 *  every page it looks at). */
export function allocPages(d: D, n: number, use: (i: number) => D['pages'][number]): number[] {
  const got: number[] = []
  const pages = before(d.pages)
  for (let p = 0; p < pages.length && got.length < n; p++) if (pages[p].use === 'free') got.push(p)
  if (got.length < n) fail('ENOMEM')
  got.forEach((p, i) => (d.pages[p] = use(i)))
  return got
}

/** Is this page pinned by an IOAS area of any live iommufd? (iopt pins the folios it maps) */
export function pinnedPages(s: State | D): Set<number> {
  const pinned = new Set<number>()
  for (const f of Object.values(s.files)) {
    if (f.kind !== 'iommufd') continue
    for (const o of Object.values(f.objects)) if (o.type === 'IOAS') for (const a of o.areas) for (const p of a.pages) pinned.add(p)
  }
  return pinned
}

/** Drop a page's owner: a pinned page lingers as an orphan until its last pin goes. */
export function releasePage(d: D, p: number, pinned: Set<number>): void {
  d.pages[p] = pinned.has(p) ? { use: 'orphan' } : { use: 'free' }
}

/** Free orphans that nothing pins any more (after an unmap or an IOAS destroy). */
export function reapOrphans(d: D): void {
  if (!plain(d.pages).some((p) => p.use === 'orphan')) return
  const pinned = pinnedPages(d)
  plain(d.pages).forEach((pg, p) => {
    if (pg.use === 'orphan' && !pinned.has(p)) d.pages[p] = { use: 'free' }
  })
}

function memfdOf(d: D, fd: number): { id: FileId; f: MemfdFile } {
  const id = fileOfFd(d, fd)
  const f = d.files[id]
  // fcntl(F_ADD_SEALS)/ftruncate on a non-shmem file: EINVAL (mm/memfd.c memfd_fcntl)
  if (f.kind !== 'memfd') fail('EINVAL')
  return { id, f }
}

export function memfdCreate(d: D, a: ArgsOf<'MEMFD_CREATE'>): Result {
  const id = d.nextFile++
  const pages = allocPages(d, a.pages, (index) => ({ use: 'memfd', file: id, index }))
  // without MFD_ALLOW_SEALING the memfd starts with F_SEAL_SEAL (mm/memfd.c memfd_create:
  // "file_seals &= ~F_SEAL_SEAL" only when MFD_ALLOW_SEALING is set)
  d.files[id] = { kind: 'memfd', pages, seals: a.allowSealing === false ? ['SEAL'] : [] }
  return ok(installFd(d, id))
}

export function memfdSeal(d: D, a: ArgsOf<'MEMFD_SEAL'>): Result {
  const { f } = memfdOf(d, a.fd)
  // F_SEAL_SEAL forbids further seals: EPERM (mm/memfd.c memfd_add_seals)
  if (f.seals.includes('SEAL')) fail('EPERM')
  for (const s of a.seals) if (!f.seals.includes(s)) f.seals.push(s)
  f.seals.sort()
  return ok()
}

export function memfdTruncate(d: D, a: ArgsOf<'MEMFD_TRUNCATE'>): Result {
  const { id, f } = memfdOf(d, a.fd)
  const old = f.pages.length
  const has = (s: Seal) => f.seals.includes(s)
  // F_SEAL_SHRINK / F_SEAL_GROW: EPERM (mm/shmem.c shmem_setattr)
  if (a.pages < old && has('SHRINK')) fail('EPERM')
  if (a.pages > old && has('GROW')) fail('EPERM')
  // a preserved memfd is SHMEM_F_MAPPING_FROZEN: any size change is EPERM
  // (samikhawaja/linux mm/memfd_luo.c memfd_luo_preserve -> shmem_freeze; mm/shmem.c)
  if (a.pages !== old && isPreservedOutgoing(d, id)) fail('EPERM')
  if (a.pages > old) {
    const more = allocPages(d, a.pages - old, (i) => ({ use: 'memfd', file: id, index: old + i }))
    f.pages.push(...more)
  } else if (a.pages < old) {
    const pinned = pinnedPages(d)
    for (const p of f.pages.splice(a.pages)) releasePage(d, p, pinned)
  }
  return ok()
}

export const pageToPa = (p: number): bigint => BigInt(p) << 12n

// ---------------------------------------------------------------- table pages and KHO
//
// KHO keeps one bit per preserved page, a set: kho_preserve_folio -> kho_radix_add_page
// `__set_bit(idx, leaf->bitmap)` (marking a marked page changes nothing), kho_unpreserve_folio
// -> kho_radix_del_page `__clear_bit` is the only way a bit goes (freeing a marked page clears
// nothing), and the next kernel's kho_mem_retrieve walks the set bits (for_each_set_bit ->
// kho_preserved_memory_reserve): each marked page is reserved once (torvalds/linux
// kernel/liveupdate/kexec_handover.c, read_file id 3005386942, find_files dd03dd60e8cd). A
// domain's preserve marks its top table and every lower table it holds now, and its unpreserve
// clears the bits of the tables it holds now (mail "[PATCH 05/14] iommupt: Implement
// preserve/unpreserve/restore callbacks" <20260203220948.2176157-6-skhawaja@google.com>:
// __collect_tables, then iommu_preserve_pages / iommu_unpreserve_pages -> kho_*_folio).
//
// While every marked table page belongs to a live preserved domain (destroyPreserved=ebusy),
// the set is the preserved domains' tables, which share no page: a count per domain says it
// all (models/iommu.ts tablePagesFor). Under destroyPreserved=frees-domain, IOMMU_DESTROY frees
// a preserved domain's pages with their bits set, and a table allocated later may take one:
// a domain preserved afterwards marks it again (one bit), and cancelling that preserve clears
// it. Only then does the count need the pages' names: the model gives each table page of a
// domain its PFN in the table zone (Domain.tables), lowest free first as for general memory
// (allocPages), in the order a map walk allocates them (root at alloc, then per leaf its
// level-3, level-2, level-1 tables).

/** Does the model name table pages (destroyPreserved=frees-domain: see above)? */
export const namesTablePages = (s: State | D): boolean => s.design.destroyPreserved === 'frees-domain'

/** Bring a domain's named table pages in line with its root and occupied slots (after a map
 *  or an unmap changed its slots): an emptied slot's page goes back to the table zone, a new
 *  slot takes the lowest free PFN, in the order its slots were filled. */
export function nameTablePages(d: D, id: DomainId): void {
  if (!namesTablePages(d)) return
  const domains = plain(d.domains)
  const had = domains[id].tables ?? {}
  const tables: Record<string, number> = {}
  const wanted = ['root', ...Object.keys(domains[id].slots)]
  for (const k of wanted) if (had[k] !== undefined) tables[k] = had[k]
  // in use: every other domain's pages but a freed one's, and what this one keeps
  const used = new Set(Object.values(tables))
  for (const dom of Object.values(domains)) if (dom.id !== id && dom.freed === undefined) for (const p of Object.values(dom.tables ?? {})) used.add(p)
  let next = 0
  for (const k of wanted) {
    if (tables[k] !== undefined) continue
    while (used.has(next)) next++
    tables[k] = next
    used.add(next)
  }
  d.domains[id].tables = tables
}

/** The preserve of this domain is cancelled (kho_unpreserve_folio on every table it holds): a
 *  page a freed domain had marked and this domain took since loses its bit with it. */
export function khoUnpreserveTables(d: D, id: DomainId): void {
  if (!namesTablePages(d)) return
  const domains = plain(d.domains)
  const cleared = new Set(Object.values(domains[id].tables ?? {}))
  for (const dom of Object.values(domains))
    if (dom.freed !== undefined && Object.values(dom.tables ?? {}).some((p) => cleared.has(p)))
      d.domains[dom.id].tables = Object.fromEntries(Object.entries(dom.tables!).filter(([, p]) => !cleared.has(p)))
}

/** KEXEC: the table pages KHO reserves in the next kernel, each once. A preserved domain that
 *  is still there holds its own pages (they are all marked); a freed one is left with the pages
 *  it marked that are still marked and that no preserved domain, and no freed domain before it,
 *  holds. Returns, per freed domain, those pages (its KHO-held share). */
export function khoHeldByFreed(s: State): Map<DomainId, Record<string, number>> {
  const counted = new Set<number>()
  for (const dom of Object.values(s.domains)) if (dom.preserved && dom.freed === undefined) for (const p of Object.values(dom.tables ?? {})) counted.add(p)
  const held = new Map<DomainId, Record<string, number>>()
  for (const dom of Object.values(s.domains)) {
    if (!dom.preserved || dom.freed === undefined) continue
    const own = Object.entries(dom.tables ?? {}).filter(([, p]) => !counted.has(p))
    for (const [, p] of own) counted.add(p)
    held.set(dom.id, Object.fromEntries(own))
  }
  return held
}
