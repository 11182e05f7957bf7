// The IOMMU core: paging domains (their page tables kept in sync with the IOAS they mirror),
// the domains' lifetime, and iommu groups: which domain a group's RID and PASIDs use, pushed
// down to every device of the group (iommu_group_set_domain, iommu_attach_device_pasid), with
// replace either swapped in place or torn down then set up (design axis replaceSwap).
//
// Sources: torvalds/linux drivers/iommu/iommu.c, drivers/iommu/iommufd/io_pagetable.c
// (iopt_fill_domain / iopt_unmap_domain), domain/iommufd.md §5.4.

import type { Translation } from '../../models/observation.ts'
import { packedOf } from './packed.ts'
import { PageTable } from './pagetable.ts'
import type { Area, Domain, GroupDomain, IGroup, Ioas, Kern, Ret } from './state.ts'
import { isErr } from './state.ts'
import { flushDomainRange, hwTranslate, NO_MAPPING, NOT_PRESENT, programEntry, undoEntry, type EntryChange } from './vtd.ts'

export const isUser = (x: GroupDomain | undefined): x is Domain => typeof x === 'object'

// ---------------------------------------------------------------- domains

/** iommu_paging_domain_alloc + iopt_table_add_domain: a new table holding every area of the
 *  IOAS (none for a restored domain's shell). Each table page is a fault-injectable point. */
export function newDomain(k: Kern, ioas: Ioas | undefined): Ret<Domain> {
  const pt = PageTable.create(k.m.phys)
  if (isErr(pt)) return pt
  // every field present from the start, in one order (kexec.ts builds restored domains the
  // same way): one object shape for every domain (issue 12: V8 deopts on a late-added field)
  const dom: Domain = { serial: k.nextDomain++, pt, ioas, synced: true, own: undefined, restoredRuns: undefined, iommus: new Map(), refs: 0, slots: 0, preserved: undefined, restored: undefined, tablesGone: false }
  if (ioas !== undefined)
    for (const { value: area } of ioas.areas) {
      const e = mapArea(dom, area)
      if (isErr(e)) {
        pt.destroy()
        k.nextDomain--
        return e
      }
    }
  k.domains.add(dom)
  return dom
}

/** Map one area (its PFN runs) into a domain; all or nothing. */
export function mapArea(dom: Domain, area: Area): Ret<void> {
  let iova = area.iovaPfn
  for (const [i, run] of area.runs.entries()) {
    const e = dom.pt.map(iova, run)
    if (e === 'EADDRINUSE') throw new Error(`luv: domain ${dom.serial} already maps IOVA page ${iova}`)
    if (e !== undefined) {
      if (i > 0) dom.pt.unmap(area.iovaPfn, iova - area.iovaPfn)
      return e
    }
    iova += run.length
  }
}

/** Unmap an area and flush the IOTLB of every DID tagging the domain before the pages go. */
export function unmapArea(k: Kern, dom: Domain, area: Area): void {
  dom.pt.unmap(area.iovaPfn, area.npages)
  flushDomainRange(k, dom, area.iovaPfn, area.npages)
}

export function domainGet(dom: Domain): void {
  dom.refs++
}

/** Drop a holder; the last one queues the domain for the next reap point. */
export function domainPut(k: Kern, dom: Domain): void {
  if (--dom.refs === 0) k.pending.add(dom)
}

/** Free every queued domain nothing holds any more: its table pages go back to the zone. */
export function reapDomains(k: Kern): void {
  for (const dom of k.pending) if (dom.refs === 0) freeDomain(k, dom)
  k.pending.clear()
}

/** Free a domain at once (reap, or an error path dropping the domain it just made). */
export function freeDomain(k: Kern, dom: Domain): void {
  // a preserved domain can still go: the model lets the last detach put a marked, preserved
  // auto-domain HWPT (models/iommufd.ts putAutoHwpt); its pages leave KHO first
  // (iommu_unpreserve_domain)
  if (dom.preserved !== undefined) for (const p of dom.pt.tablePages()) k.m.phys.unpreserve(p)
  if (!dom.tablesGone) dom.pt.destroy()
  k.domains.delete(dom)
  k.pending.delete(dom)
}

/** The IOVA runs a domain maps: its IOAS's areas, its own list while frozen, or for a
 *  restored domain the runs its table holds (read once: it never changes). */
export function domainRuns(dom: Domain): Iterable<{ iovaPfn: number; npages: number }> {
  if (dom.ioas !== undefined) return dom.synced ? [...dom.ioas.areas].map((x) => x.value) : dom.own!
  if (dom.restoredRuns === undefined) {
    const runs: { iovaPfn: number; npages: number }[] = []
    if (!dom.tablesGone)
      dom.pt.forEachLeaf((p, _pfn, order) => {
        const last = runs[runs.length - 1]
        if (last !== undefined && last.iovaPfn + last.npages === p) last.npages += 2 ** order
        else runs.push({ iovaPfn: p, npages: 2 ** order })
      })
    dom.restoredRuns = runs
  }
  return dom.restoredRuns
}

// ---------------------------------------------------------------- IOAS → domains

/**
 * After an IOAS gained `added` or lost `removed`, bring every domain mirroring it to its areas
 * (iopt_fill_domain / iopt_unmap_domain). A preserved domain under ioasFreeze=domain-only is
 * left alone and keeps its own area list; the next sync after it thaws maps and unmaps the
 * difference. Unmaps go first, so the table zone runs out exactly when the final tables do not
 * fit; on ENOMEM everything is put back.
 */
export function syncDomains(k: Kern, ioas: Ioas, added: Area | undefined, removed: readonly Area[]): Ret<void> {
  const unmapped: [Domain, Area][] = []
  const mapped: [Domain, Area][] = []
  const resynced: [Domain, Area[] | undefined][] = []
  const frozenNow: Domain[] = []
  let before: Area[] | undefined
  const areasBefore = (): Area[] => {
    if (before === undefined) {
      const now = [...ioas.areas].map((x) => x.value).filter((a) => a !== added)
      before = [...now, ...removed].sort((a, b) => a.iovaPfn - b.iovaPfn)
    }
    return before
  }
  const plan: [Domain, Area[], Area[]][] = []
  for (const h of ioas.hwpts) {
    const dom = h.domain
    if (dom.preserved !== undefined && k.design.ioasFreeze === 'domain-only') {
      if (dom.synced) {
        dom.own = areasBefore()
        dom.synced = false
        frozenNow.push(dom)
      }
      continue
    }
    if (dom.synced) plan.push([dom, [...removed], added ? [added] : []])
    else {
      const now = new Set([...ioas.areas].map((x) => x.value))
      const had = new Set(dom.own!)
      plan.push([dom, dom.own!.filter((a) => !now.has(a)), [...now].filter((a) => !had.has(a))])
      resynced.push([dom, dom.own])
    }
  }
  for (const [dom, out] of plan)
    for (const a of out) {
      unmapArea(k, dom, a)
      unmapped.push([dom, a])
    }
  for (const [dom, , inn] of plan)
    for (const a of inn) {
      const e = mapArea(dom, a)
      if (isErr(e)) {
        for (const [d, x] of mapped.reverse()) unmapArea(k, d, x)
        for (const [d, x] of unmapped.reverse()) if (isErr(mapArea(d, x))) throw new Error('luv: re-mapping an unmapped area failed')
        for (const d of frozenNow) {
          d.synced = true
          d.own = undefined
        }
        return e
      }
      mapped.push([dom, a])
    }
  for (const [dom] of resynced) {
    dom.synced = true
    dom.own = undefined
  }
}

// ---------------------------------------------------------------- groups

/** What a group change replaced, so an error path (or a failed replace) can restore it. */
export interface GroupChange {
  g: IGroup
  pasid: number
  prev: GroupDomain | undefined
  entries: EntryChange[]
}

/** Point a group's RID (pasid 0) or PASID slot at a domain, moving the domain references. */
export function setSlot(k: Kern, g: IGroup, pasid: number, to: GroupDomain | undefined): void {
  const prev = pasid === 0 ? g.domain : g.pasids.get(pasid)
  if (prev === to) return
  if (isUser(to)) {
    domainGet(to)
    to.slots++
  }
  if (pasid === 0) g.domain = to ?? 'blocking'
  else if (isUser(to)) g.pasids.set(pasid, to)
  else g.pasids.delete(pasid)
  if (isUser(prev)) {
    prev.slots--
    domainPut(k, prev)
  }
}

/**
 * Make the hardware follow the core's view of a group: every device's RID entry points at
 * group.domain (blocking and default domains translate nothing the user mapped: non-present),
 * each PASID entry at group.pasids. All or nothing.
 */
function programGroup(k: Kern, g: IGroup, swap: boolean): Ret<EntryChange[]> {
  const done: EntryChange[] = []
  const step = (c: Ret<EntryChange | null>): boolean => {
    if (isErr(c)) return false
    if (c !== null) done.push(c)
    return true
  }
  for (const dev of g.devices) {
    let c = programEntry(k, dev, 0, isUser(g.domain) ? g.domain : undefined, swap)
    if (!step(c)) return unwind(k, done, c as string)
    const pasids = [...dev.pasids.keys()].sort((a, b) => a - b)
    for (const p of [...g.pasids.keys()].sort((a, b) => a - b)) if (!dev.pasids.has(p)) pasids.push(p)
    for (const p of pasids) {
      c = programEntry(k, dev, p, g.pasids.get(p), swap)
      if (!step(c)) return unwind(k, done, c as string)
    }
  }
  return done
}

function unwind(k: Kern, done: EntryChange[], e: string): Ret<never> {
  for (let i = done.length - 1; i >= 0; i--) undoEntry(k, done[i])
  return e as Ret<never>
}

/** iommu_group_set_domain / attach or remove a PASID: all or nothing. */
export function setGroupDomain(k: Kern, g: IGroup, pasid: number, to: GroupDomain, swap = false): Ret<GroupChange> {
  const prev = pasid === 0 ? g.domain : g.pasids.get(pasid)
  setSlot(k, g, pasid, pasid === 0 || isUser(to) ? to : undefined)
  const entries = programGroup(k, g, swap)
  if (isErr(entries)) {
    setSlot(k, g, pasid, prev)
    return entries
  }
  return { g, pasid, prev, entries }
}

/** Put a group back as it was before `c` (error paths). */
export function undoGroup(k: Kern, c: GroupChange): void {
  for (let i = c.entries.length - 1; i >= 0; i--) undoEntry(k, c.entries[i])
  setSlot(k, c.g, c.pasid, c.prev)
}

/**
 * Replace what a group's RID or PASID translates through. `hitless` swaps each entry in place;
 * `teardown-then-setup` (VT-d scalable mode today, iommufd.md §5.4) clears them first, and that
 * window is an observable intermediate state. If the setup fails, the old domain is put back.
 */
export function replaceGroupDomain(k: Kern, g: IGroup, pasid: number, to: Domain): Ret<void> {
  const from = pasid === 0 ? g.domain : g.pasids.get(pasid)
  if (from === to) return
  const both = isUser(from)
  if (k.design.replaceSwap === 'teardown-then-setup' && both) {
    const down = setGroupDomain(k, g, pasid, 'blocking')
    if (isErr(down)) return down
    recordTransient(k)
    const up = setGroupDomain(k, g, pasid, to)
    if (isErr(up)) {
      if (k.bug.rollbackReplace) undoGroup(k, down)
      return up
    }
    return
  }
  const r = setGroupDomain(k, g, pasid, to, k.design.replaceSwap === 'hitless' && both)
  if (isErr(r)) return r
}

/** Translate the op's probes in the hardware state right now (an intermediate state). */
export function recordTransient(k: Kern): void {
  if (k.probes === undefined) return
  const t = translateProbes(k, k.probes)
  // an empty list may be the one shared by every step (Kernel.apply): never appended to
  if (k.transient.length === 0) k.transient = [t]
  else k.transient.push(t)
}

export function translateProbes(k: Kern, probes: NonNullable<Kern['probes']>): Translation[] {
  // packedOf, not map(): one element kind for every step's list (packed.ts)
  return packedOf(probes, (p) => {
    // a device VFIO reset at freeze issues no DMA (luo_file.ts vfio freeze)
    if (k.deviceByBdf.get(p.bdf)?.reset) return { bdf: p.bdf, pasid: p.pasid, iova: p.iova, pa: null }
    const r = p.unit < 0 ? NOT_PRESENT : hwTranslate(k.m, p.unit, p.bus, p.devfn, p.pasid, p.iovaPfn, false)
    return { bdf: p.bdf, pasid: p.pasid, iova: p.iova, pa: r === NOT_PRESENT || r === NO_MAPPING ? null : (BigInt(r) << 12n) | (p.iova & 0xfffn) }
  })
}
