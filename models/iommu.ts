// The IOMMU: domains (I/O page tables), VT-d units with their DID space, context entries
// (RID translation) and PASID entries, and the translation a DMA goes through.
//
// A domain here is a list of extents (one per IOAS area it mirrors); the kernel
// implementation holds real radix tables. The model only needs how many table pages the
// kernel holds for a domain, and that is a pure function of its leaves (tablePagesFor).

import type { D, OpContext } from './context.ts'
import { fail, plain, snapshot } from './context.ts'
import type { DomainId, Domain, Entry, Extent, State } from './state.ts'
import { resolveDevices, tablePagesOf } from './platform.ts'
import { nameTablePages } from './memory.ts'

/** DID 0 is the caching-mode non-present domain and 1 is FLPT_DEFAULT_DID; allocation
 *  starts at IDA_START_DID = 2 (torvalds/linux drivers/iommu/intel/iommu.h). */
export const IDA_START_DID = 2

// ---------------------------------------------------------------- page-table geometry

/** One leaf PTE: 4 KiB (order 0), 2 MiB (order 9) or 1 GiB (order 18). */
export interface Leaf {
  iovaPfn: number
  pfn: number
  order: 0 | 9 | 18
}

const SUPERPAGE_ORDERS = [18, 9] as const

/** How the kernel maps one run: at each position the largest page size whose IOVA and PA are
 *  aligned and whose PA run is contiguous for the whole page (iommu_map splits by pgsize_bitmap:
 *  torvalds/linux drivers/iommu/iommu.c iommu_pgsize). */
export function splitRun(iovaPfn: number, pfns: readonly number[]): Leaf[] {
  const leaves: Leaf[] = []
  let i = 0
  while (i < pfns.length) {
    let order: 0 | 9 | 18 = 0
    for (const o of SUPERPAGE_ORDERS) {
      const n = 2 ** o
      if ((iovaPfn + i) % n !== 0 || pfns[i] % n !== 0 || i + n > pfns.length) continue
      if (pfns[i + n - 1] - pfns[i] !== n - 1 || !contiguous(pfns, i, n)) continue
      order = o
      break
    }
    leaves.push({ iovaPfn: iovaPfn + i, pfn: pfns[i], order })
    i += 2 ** order
  }
  return leaves
}

function contiguous(pfns: readonly number[], from: number, n: number): boolean {
  for (let k = 1; k < n; k++) if (pfns[from + k] !== pfns[from] + k) return false
  return true
}

/** Table pages a 4-level table needs for these leaves: the root, one level-3 table per 512 GiB
 *  slot used, one level-2 table per 1 GiB slot holding 2 MiB/4 KiB leaves, one level-1 table per
 *  2 MiB slot holding 4 KiB leaves. Empty tables are freed on unmap, so this is exact. */
export function tablePagesNeeded(leaves: readonly Leaf[]): number {
  const l3 = new Set<number>()
  const l2 = new Set<number>()
  const l1 = new Set<number>()
  for (const lf of leaves) {
    l3.add(Math.floor(lf.iovaPfn / 2 ** 27))
    if (lf.order <= 9) l2.add(Math.floor(lf.iovaPfn / 2 ** 18))
    if (lf.order === 0) l1.add(Math.floor(lf.iovaPfn / 2 ** 9))
  }
  return 1 + l3.size + l2.size + l1.size
}

export const iovaPfnOf = (iova: bigint): number => Number(iova >> 12n)

/** The slots a leaf occupies: its level-3 table, and its level-2 / level-1 tables when the
 *  leaf sits below them. A slot that holds any leaf is one table page (tablePagesNeeded). */
function leafSlots(lf: Leaf): string[] {
  const out = [`l3:${Math.floor(lf.iovaPfn / 2 ** 27)}`]
  if (lf.order <= 9) out.push(`l2:${Math.floor(lf.iovaPfn / 2 ** 18)}`)
  if (lf.order === 0) out.push(`l1:${Math.floor(lf.iovaPfn / 2 ** 9)}`)
  return out
}

/** Table pages of a domain: its root plus one per occupied slot. */
export const tablePagesFor = (dom: Pick<Domain, 'slots' | 'freed' | 'khoPages'>): number =>
  // a domain freed while preserved holds none (destroyPreserved=frees-domain); in the next
  // kernel KHO holds what it had (models/kexec.ts)
  dom.freed !== undefined ? 0 : (dom.khoPages ?? 1 + Object.keys(dom.slots).length)

/** The same count from first principles, for paranoid mode: every domain's leaves, per map call. */
export function tablePagesByFormula(s: State): number {
  let n = 0
  for (const dom of Object.values(s.domains))
    n += dom.freed !== undefined || dom.khoPages !== undefined ? tablePagesFor(dom) : tablePagesNeeded(dom.extents.flatMap((e) => splitRun(iovaPfnOf(e.iova), e.pages)))
  return n
}

export function tablePagesInUse(s: State | D): number {
  return s.tablePagesUsed
}

/** Table pages come from their own zone (models/platform.ts): ENOMEM when it is exhausted. */
export function checkTableZone(d: D): void {
  if (d.tablePagesUsed > tablePagesOf(d.platform)) fail('ENOMEM')
}

// The two functions below work on the domain's extents and slots as plain data and write each
// back whole: through the draft (models/context.ts), every element, page and count they read
// would be a Proxy trap, and a map of 512 pages reads 1,500 counts.

/** Map one run into a domain (one map call: its leaves never merge with another run's). */
export function addExtent(d: D, id: DomainId, ext: Extent): void {
  const dom = d.domains[id]
  const run = { iova: ext.iova, pages: plain(ext.pages) }
  const extents = plain(dom.extents)
  const at = extents.findIndex((e) => e.iova > run.iova)
  // copied by spreading, then spliced: slice()/filter() of a frozen list is V8's slow path
  const next = [...extents]
  next.splice(at < 0 ? next.length : at, 0, run)
  dom.extents = next
  const slots = { ...plain(dom.slots) }
  let newTables = 0
  for (const lf of splitRun(iovaPfnOf(run.iova), run.pages))
    for (const k of leafSlots(lf)) {
      if (slots[k] === undefined) newTables++
      slots[k] = (slots[k] ?? 0) + 1
    }
  dom.slots = slots
  d.tablePagesUsed += newTables
  nameTablePages(d, id)
}

/** Unmap the run that starts at iova; a table page whose last leaf goes is freed. */
export function removeExtent(d: D, id: DomainId, iova: bigint): void {
  const dom = d.domains[id]
  const extents = plain(dom.extents)
  const at = extents.findIndex((e) => e.iova === iova)
  if (at < 0) return
  const next = [...extents]
  const [ext] = next.splice(at, 1)
  dom.extents = next
  const slots = { ...plain(dom.slots) }
  let freedTables = 0
  for (const lf of splitRun(iovaPfnOf(ext.iova), ext.pages))
    for (const k of leafSlots(lf)) {
      if (--slots[k] === 0) {
        delete slots[k]
        freedTables++
      }
    }
  dom.slots = slots
  d.tablePagesUsed -= freedTables
  nameTablePages(d, id)
}

export function newDomain(d: D, extents: Extent[]): DomainId {
  const id = d.nextDomain++
  d.domains[id] = { id, extents: [], slots: {} }
  d.tablePagesUsed++ // the root
  nameTablePages(d, id)
  for (const e of extents) addExtent(d, id, e)
  checkTableZone(d)
  return id
}

// ---------------------------------------------------------------- translation

export function unitOf(s: State | D, bdf: string): string {
  const dev = s.platform.devices.find((x) => x.bdf === bdf)
  if (!dev) throw new Error(`luv internal error: no device ${bdf}`)
  return dev.unit
}

export function entryFor(s: State | D, bdf: string, pasid: number): Entry | undefined {
  const u = s.units[unitOf(s, bdf)]
  return pasid === 0 ? u.context[bdf] : u.pasid[bdf]?.[pasid]
}

/** Walk a domain: the page backing an IOVA page, or undefined. */
export function lookup(dom: Domain, iovaPfn: number): number | undefined {
  for (const e of dom.extents) {
    const off = iovaPfn - iovaPfnOf(e.iova)
    if (off >= 0 && off < e.pages.length) return e.pages[off]
  }
  return undefined
}

export type Walk = { pa: bigint } | { fault: 'not-present' | 'no-mapping' | 'device-reset' }

/** What a DMA from (bdf, pasid) to iova reaches: context/PASID entry, then the page table. */
export function translate(s: State | D, bdf: string, pasid: number, iova: bigint): Walk {
  // a device VFIO reset at freeze issues no DMA: its access never reaches the IOMMU
  if (s.devices[bdf]?.reset) return { fault: 'device-reset' }
  const e = entryFor(s, bdf, pasid)
  if (!e) return { fault: 'not-present' }
  const page = lookup(s.domains[e.domain] as Domain, iovaPfnOf(iova))
  if (page === undefined) return { fault: 'no-mapping' }
  return { pa: (BigInt(page) << 12n) | (iova & 0xfffn) }
}

// ---------------------------------------------------------------- DIDs and entries

/** The DID a domain has on a unit: shared by all its entries there (iommufd.md §5.2). */
export function didOn(s: State | D, unit: string, domain: DomainId): number | undefined {
  const u = s.units[unit]
  for (const e of Object.values(u.context)) if (e.domain === domain) return e.did
  for (const per of Object.values(u.pasid)) for (const e of Object.values(per)) if (e.domain === domain) return e.did
  return undefined
}

/** domain_attach_iommu: the domain's DID on this unit, allocating the lowest free one
 *  from domain_ida on first use; ENOSPC when the space is exhausted. */
function getDid(d: D, unit: string, domain: DomainId): number {
  const have = didOn(d, unit, domain)
  if (have !== undefined) return have
  const u = d.units[unit]
  const size = d.platform.units.find((x) => x.name === unit)!.dids
  for (let did = IDA_START_DID; did < size; did++) {
    if (!u.ida.includes(did)) {
      u.ida.push(did)
      u.ida.sort((a, b) => a - b)
      return did
    }
  }
  fail('ENOSPC')
}

/** domain_detach_iommu: when no entry on the unit uses the domain any more, free its DID. */
function putDid(d: D, unit: string, domain: DomainId, did: number): void {
  if (didOn(d, unit, domain) !== undefined) return
  const u = d.units[unit]
  u.ida = u.ida.filter((x) => x !== did)
}

/** Program one entry (RID when pasid = 0) to a domain, or clear it (undefined). */
export function setEntry(d: D, bdf: string, pasid: number, domain: DomainId | undefined): void {
  const unit = unitOf(d, bdf)
  const u = d.units[unit]
  const old = entryFor(d, bdf, pasid)
  if (old?.domain === domain) return
  if (old) {
    if (pasid === 0) delete u.context[bdf]
    else delete u.pasid[bdf][pasid]
    putDid(d, unit, old.domain, old.did)
  }
  if (domain === undefined) return
  const did = getDid(d, unit, domain)
  if (pasid === 0) u.context[bdf] = { domain, did }
  else (u.pasid[bdf] ??= {})[pasid] = { domain, did }
}

export function groupDevices(s: State | D, group: string): string[] {
  return resolveDevices(s.platform)
    .filter((x) => x.group === group)
    .map((x) => x.bdf)
}

export const isUserDomain = (x: DomainId | 'blocking' | 'default' | undefined): x is DomainId => typeof x === 'number'

/** Make the hardware follow the core's view of a group: the RID entries of all its devices
 *  point at group.domain (blocking and default domains translate nothing the user mapped,
 *  so they are non-present entries), and each PASID entry at group.pasids[pasid]. */
export function programGroup(d: D, group: string): void {
  const g = d.groups[group]
  for (const bdf of groupDevices(d, group)) {
    setEntry(d, bdf, 0, isUserDomain(g.domain) ? g.domain : undefined)
    const pasids = new Set([...Object.keys(d.units[unitOf(d, bdf)].pasid[bdf] ?? {}), ...Object.keys(g.pasids)].map(Number))
    for (const p of pasids) setEntry(d, bdf, p, g.pasids[p])
  }
}

/** Replace what a group's RID (pasid 0) or PASID translates through. `hitless` swaps the
 *  entry in place; `teardown-then-setup` clears it first (VT-d scalable mode today:
 *  iommufd.md §5.4), and that window is an observable intermediate state. */
export function replaceGroupDomain(
  d: D,
  ctx: OpContext,
  group: string,
  pasid: number,
  to: DomainId | 'blocking',
): void {
  const g = d.groups[group]
  const from = pasid === 0 ? g.domain : g.pasids[pasid]
  if (from === to) return
  if (d.design.replaceSwap === 'teardown-then-setup' && isUserDomain(from) && isUserDomain(to)) {
    setGroupDomain(d, group, pasid, 'blocking')
    snapshot(ctx, d)
  }
  setGroupDomain(d, group, pasid, to)
}

export function setGroupDomain(d: D, group: string, pasid: number, to: DomainId | 'blocking' | 'default'): void {
  const g = d.groups[group]
  if (pasid === 0) g.domain = to
  else if (isUserDomain(to)) g.pasids[pasid] = to
  else delete g.pasids[pasid]
  programGroup(d, group)
}

// ---------------------------------------------------------------- domain lifetime

/** Everything that keeps a domain alive: an HWPT, a group or entry using it, a
 *  preserved record not yet reclaimed (in an incoming session or a retrieved iommufd). */
export function liveDomains(s: State | D): Set<DomainId> {
  const live = new Set<DomainId>()
  for (const f of Object.values(s.files)) {
    if (f.kind !== 'iommufd') continue
    for (const o of Object.values(f.objects)) if (o.type === 'HWPT_PAGING') live.add(o.domain)
    // a record holds its domain only until LU_RESTORE reclaims it: from then on the HWPT owns
    // the domain (iommufd_hwpt_init_from_domain), and destroying that HWPT frees it and its
    // table pages at once, not at FINISH (samikhawaja/linux drivers/iommu/iommufd/
    // hw_pagetable.c __iommufd_hwpt_destroy -> iommu_domain_free; the restored pages were
    // re-adopted as ordinary iommu pages at boot: generic_pt restore() -> __restore_tables ->
    // iommu_restore_page, which the series adds to iommu-pages)
    for (const r of f.lu?.records ?? []) if (r.reclaimedAs === undefined) live.add(r.domain)
  }
  for (const g of Object.values(s.groups)) {
    if (isUserDomain(g.domain)) live.add(g.domain)
    for (const p of Object.values(g.pasids)) live.add(p)
  }
  for (const sess of s.luo.incoming)
    for (const f of sess.files) if (f.ser.kind === 'iommufd' && typeof f.retrieved !== 'number') for (const r of f.ser.records) live.add(r.domain)
  // a preserved page table nothing rebuilt stays held by KHO for the whole boot; a domain
  // freed while preserved stays for its iommu_domain_ser until KEXEC hands it over
  for (const dom of Object.values(s.domains)) if (dom.unrebuilt || dom.freed !== undefined) live.add(dom.id)
  return live
}

/** Free domains nothing references: their table pages go back to the table zone. */
export function reapDomains(d: D): void {
  // no domain, nothing to reap (and no need to walk every file and session through the draft)
  if (Object.keys(plain(d.domains)).length === 0) return
  // counted on the state as it is now, as plain data (a scan through the draft would make a
  // proxy of every file, object, group and session it passes)
  const live = liveDomains(plain(d))
  for (const id of Object.keys(d.domains).map(Number))
    if (!live.has(id)) {
      d.tablePagesUsed -= tablePagesFor(d.domains[id])
      delete d.domains[id]
    }
}
