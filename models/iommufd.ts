// iommufd: contexts, objects, IOAS areas, HWPT_PAGING, destroy, and the live-update ioctls
// (mark an HWPT for preservation, restore it by token in the next kernel).
//
// Sources: iommufd.md §1–2 (samikhawaja/linux drivers/iommu/iommufd/{main,ioas,io_pagetable,
// hw_pagetable,device}.c), live-update.md §2 (the iommufd live-update series).

import type { D } from './context.ts'
import { fail, plain } from './context.ts'
import { installFd, fileOfFd } from './files.ts'
import { allocPages } from './memory.ts'
import { addExtent, checkTableZone, newDomain, reapDomains, removeExtent, tablePagesFor } from './iommu.ts'
import { ok, PAGE_SIZE, type ArgsOf, type Result } from './ops.ts'
import type { Area, DomainId, FileId, IommufdFile, IommufdObject } from './state.ts'

const U64_MAX = (1n << 64n) - 1n
/** iommufd limits IOVAs to ULONG_MAX; luv's IOMMU has a 48-bit address width, so a map beyond
 *  2^48 has nowhere to go (the domain aperture reserves it: EINVAL at map, iommufd.md §2.2). */
export const IOVA_LIMIT = 1n << 48n

/** The iommufd behind an fd: EBADF if not open, ENOTTY if the fd is not /dev/iommu
 *  (an unknown ioctl on another file). */
export function ictxOf(d: D, fd: number): { id: FileId; f: IommufdFile } {
  const id = fileOfFd(d, fd)
  const f = d.files[id]
  if (f.kind !== 'iommufd') fail('ENOTTY')
  return { id, f }
}

/** xarray ALLOC1 with a 31-bit limit: lowest free id from 1 (iommufd.md §1.1). */
export function allocObjectId(f: IommufdFile): number {
  let id = 1
  while (f.objects[id] !== undefined) id++
  return id
}

/** iommufd_get_object(): missing or wrong type is ENOENT. */
export function getObject<T extends IommufdObject['type']>(
  f: IommufdFile,
  id: number,
  type: T,
): Extract<IommufdObject, { type: T }> {
  const o = f.objects[id]
  if (!o || o.type !== type) fail('ENOENT')
  return o as Extract<IommufdObject, { type: T }>
}

/** `users` of an object: 1 (the xarray) + every edge pointing at it (iommufd.md §1.2 table). */
export function users(d: D, f: IommufdFile, id: number): number {
  const o = f.objects[id]
  let n = 1
  if (o.type === 'IOAS') {
    for (const x of Object.values(f.objects)) if (x.type === 'HWPT_PAGING' && x.ioas === id) n++
  } else if (o.type === 'HWPT_PAGING') {
    for (const per of Object.values(f.attach)) for (const at of Object.values(per)) if (at.hwpt === id) n += at.devices.length
    // markSemantics=pin: the token xarray holds a reference (live-update.md §2.1 (b))
    if (d.design.markSemantics === 'pin' && o.mark !== undefined) n++
  } else {
    n++ // the binding driver's reference (iommufd_device_bind)
    for (const per of Object.values(f.attach)) for (const at of Object.values(per)) if (at.devices.includes(o.bdf)) n++
  }
  return n
}

export function iommufdOpen(d: D): Result {
  const id = d.nextFile++
  d.files[id] = { kind: 'iommufd', objects: {}, attach: {} }
  return ok(installFd(d, id))
}

export function ioasAlloc(d: D, a: ArgsOf<'IOMMU_IOAS_ALLOC'>): Result {
  const { f } = ictxOf(d, a.iommufd)
  const id = allocObjectId(f)
  f.objects[id] = { type: 'IOAS', areas: [], immutable: false }
  return ok(id)
}

// ---------------------------------------------------------------- IOAS map / unmap

const overlaps = (a: { iova: bigint; length: bigint }, iova: bigint, length: bigint) =>
  a.iova < iova + length && iova < a.iova + a.length

const roundupPow2 = (x: bigint): bigint => {
  let p = 1n
  while (p < x) p <<= 1n
  return p
}

/** iopt_alloc_iova(): alignment = roundup_pow_of_two(length), capped by the lowest set bit of
 *  the source address when it has one; the lowest aligned hole in [PAGE_SIZE, limit) that
 *  avoids every area; never IOVA 0; ENOSPC when none (iommufd.md §2.2). */
function allocIova(areas: Area[], length: bigint, source: bigint): bigint {
  let align = roundupPow2(length)
  if (source !== 0n) {
    const low = source & -source
    if (low < align) align = low
  }
  if (align < PAGE_SIZE) align = PAGE_SIZE
  const sorted = [...areas].sort((x, y) => (x.iova < y.iova ? -1 : 1))
  let cand = PAGE_SIZE > align ? PAGE_SIZE : align
  for (const ar of sorted) {
    if (cand + length <= ar.iova) break
    if (ar.iova + ar.length > cand) cand = ((ar.iova + ar.length + align - 1n) / align) * align
  }
  if (cand + length > IOVA_LIMIT - PAGE_SIZE) fail('ENOSPC')
  return cand
}

/** Checks shared by IOMMU_IOAS_MAP and MAP_FILE, in the kernel's order: the ioctl's
 *  EOVERFLOW, then under iova_rwsem the frozen IOAS (EBUSY) before the length and IOVA checks
 *  (V2 mail patch, iopt_alloc_area_pages: iopt_lu_map_immutable is tested before
 *  `(length & (iova_alignment - 1)) || !length`), then the overlap (EEXIST). */
function checkMap(d: D, f: IommufdFile, ioasId: number, length: bigint, iova: bigint | undefined, source: bigint) {
  const ioas = getObject(f, ioasId, 'IOAS')
  if (length >= U64_MAX || (iova !== undefined && iova >= U64_MAX)) fail('EOVERFLOW')
  // a preserved IOAS is immutable: map, unmap and cut are EBUSY (live-update.md §2.2 step 3)
  if (ioas.immutable) fail('EBUSY')
  if (length === 0n || length % PAGE_SIZE !== 0n) fail('EINVAL')
  if (iova !== undefined) {
    if (iova % PAGE_SIZE !== 0n) fail('EINVAL')
    if (iova + length > U64_MAX) fail('EOVERFLOW')
    if (iova + length > IOVA_LIMIT) fail('EINVAL')
  }
  if (iova !== undefined) {
    // no replacement of live IOVA: EEXIST (io_pagetable.c iopt_alloc_area)
    if (ioas.areas.some((ar) => overlaps(ar, iova, length))) fail('EEXIST')
    return { ioas, iova }
  }
  return { ioas, iova: allocIova(ioas.areas, length, source) }
}

/** Every paging domain of the IOAS mirrors its areas (iopt.domains, iommufd.md §2.9): a map
 *  or unmap is applied to each; a preserved domain is left alone when only the domain is
 *  frozen (ioasFreeze=domain-only) and catches up at the first change after it thaws
 *  (syncToIoas). */
function mirroredDomains(d: D, f: IommufdFile, ioasId: number): DomainId[] {
  const out: DomainId[] = []
  for (const o of Object.values(f.objects)) {
    if (o.type !== 'HWPT_PAGING' || o.ioas !== ioasId) continue
    if (d.domains[o.domain].preserved && d.design.ioasFreeze === 'domain-only') continue
    out.push(o.domain)
  }
  return out
}

/** Bring a domain that mirrors the IOAS to exactly its areas: unmap what the IOAS no longer
 *  has, map what the domain lacks (iopt_unmap_domain / iopt_fill_domain). For a domain that
 *  followed every change, that is the one area just mapped or the areas just unmapped; a
 *  domain frozen under ioasFreeze=domain-only, then thawed (its session closed: unpreserve),
 *  catches up here with what it missed. Inferred: domain-only has no posted code; iopt keeps
 *  every domain of an IOAS mapping all its areas, and the kernel implementation (src/kernel/
 *  iommu.ts syncDomains) resyncs at the next change the same way. */
function syncToIoas(d: D, dom: DomainId, ioasAreas: readonly Area[]): void {
  // compared as plain data (through the draft, every page compared is a Proxy trap)
  const areas = plain(ioasAreas)
  const same = (e: { iova: bigint; pages: number[] }, a: Area) => e.iova === a.iova && e.pages.length === a.pages.length && e.pages.every((p, i) => p === a.pages[i])
  for (const e of plain(d.domains[dom].extents)) if (!areas.some((a) => same(e, a))) removeExtent(d, dom, e.iova)
  for (const a of areas) if (!plain(d.domains[dom].extents).some((e) => same(e, a))) addExtent(d, dom, { iova: a.iova, pages: a.pages })
}

function insertArea(d: D, f: IommufdFile, ioasId: number, area: Area): Result {
  const ioas = getObject(f, ioasId, 'IOAS')
  const at = ioas.areas.findIndex((a) => a.iova > area.iova)
  if (at < 0) ioas.areas.push(area)
  else ioas.areas.splice(at, 0, area)
  for (const dom of mirroredDomains(d, f, ioasId)) syncToIoas(d, dom, ioas.areas)
  checkTableZone(d)
  return ok(area.iova)
}

export function ioasMapFile(d: D, a: ArgsOf<'IOMMU_IOAS_MAP_FILE'>): Result {
  const { f } = ictxOf(d, a.iommufd)
  const memfdId = fileOfFd(d, a.memfd)
  const memfd = d.files[memfdId]
  const { iova } = checkMap(d, f, a.ioas, a.length, a.iova, a.start)
  // only shmem/memfd files can be mapped (iopt_map_file_pages; inferred EINVAL)
  if (memfd.kind !== 'memfd') fail('EINVAL')
  if (a.start % PAGE_SIZE !== 0n) fail('EINVAL')
  const first = Number(a.start / PAGE_SIZE)
  const n = Number(a.length / PAGE_SIZE)
  // beyond the end of the file there is nothing to pin (inferred EINVAL)
  if (first + n > memfd.pages.length) fail('EINVAL')
  return insertArea(d, f, a.ioas, {
    iova,
    length: a.length,
    pages: memfd.pages.slice(first, first + n),
    kind: 'file',
    file: memfdId,
    // IOPT_ADDRESS_FILE records the seals at map time (live-update.md §2.2 step 2)
    sealsAtMap: [...memfd.seals],
  })
}

export function ioasMap(d: D, a: ArgsOf<'IOMMU_IOAS_MAP'>): Result {
  const { f } = ictxOf(d, a.iommufd)
  const { iova } = checkMap(d, f, a.ioas, a.length, a.iova, 0n)
  const pages = allocPages(d, Number(a.length / PAGE_SIZE), () => ({ use: 'anon' }))
  return insertArea(d, f, a.ioas, { iova, length: a.length, pages, kind: 'anon', sealsAtMap: [] })
}

/** Drop areas: anonymous pages go back (the VMM's memory was only there for this map, and
 *  no other area pins it), file pages are unpinned (orphans left by truncate are freed once
 *  nothing pins them, after the op: models/files.ts releaseUnreferenced). */
function dropAreas(d: D, areas: readonly Area[]): void {
  for (const ar of areas) if (ar.kind === 'anon') for (const p of ar.pages) d.pages[p] = { use: 'free' }
}

export function ioasUnmap(d: D, a: ArgsOf<'IOMMU_IOAS_UNMAP'>): Result {
  const { f } = ictxOf(d, a.iommufd)
  const ioas = getObject(f, a.ioas, 'IOAS')
  const all = a.iova === 0n && a.length === U64_MAX
  if (!all) {
    if (a.iova >= U64_MAX || a.length >= U64_MAX) fail('EOVERFLOW')
    if (a.length === 0n) fail('EINVAL')
  }
  if (ioas.immutable) fail('EBUSY')
  const hit = all ? ioas.areas : ioas.areas.filter((ar) => overlaps(ar, a.iova, a.length))
  // every area touched must lie fully inside the range; none touched: ENOENT
  // (io_pagetable.c iopt_unmap_iova_range; ioas.c for the empty range)
  if (!all && hit.length === 0) fail('ENOENT')
  if (!all && hit.some((ar) => ar.iova < a.iova || ar.iova + ar.length > a.iova + a.length)) fail('ENOENT')
  const removed = [...hit]
  ioas.areas = ioas.areas.filter((ar) => !hit.includes(ar))
  for (const dom of mirroredDomains(d, f, a.ioas)) syncToIoas(d, dom, ioas.areas)
  checkTableZone(d)
  dropAreas(d, removed)
  return ok(removed.reduce((n, ar) => n + ar.length, 0n))
}

// ---------------------------------------------------------------- HWPT

export function hwptAlloc(d: D, a: ArgsOf<'IOMMU_HWPT_ALLOC'>): Result {
  const { f } = ictxOf(d, a.iommufd)
  getObject(f, a.dev_id, 'DEVICE')
  const pt = f.objects[a.pt_id]
  // pt_id lookup failure is reported as EINVAL (hw_pagetable.c iommufd_hwpt_alloc)
  if (!pt) fail('EINVAL')
  // a paging pt_id asks for a nested HWPT, which needs user data luv never passes: EOPNOTSUPP
  if (pt.type === 'HWPT_PAGING') fail('EOPNOTSUPP')
  if (pt.type !== 'IOAS') fail('EINVAL')
  const flags = a.flags ?? []
  // DIRTY_TRACKING needs a device capability the modelled devices lack: EOPNOTSUPP
  if (flags.includes('DIRTY_TRACKING')) fail('EOPNOTSUPP')
  // iopt_table_add_domain copies every existing area into the new domain
  const dom = newDomain(
    d,
    pt.areas.map((ar) => ({ iova: ar.iova, pages: ar.pages })),
  )
  const id = allocObjectId(f)
  f.objects[id] = {
    type: 'HWPT_PAGING',
    ioas: a.pt_id,
    domain: dom,
    autoDomain: false,
    pasidCompat: flags.includes('PASID'),
    restored: false,
  }
  return ok(id)
}

/** An auto-domain HWPT for attaching a device straight to an IOAS id: reuse this IOAS's
 *  existing auto domain, else allocate one (device.c iommufd_device_auto_get_domain). */
export function autoHwpt(d: D, f: IommufdFile, ioasId: number): number {
  for (const [id, o] of Object.entries(f.objects))
    if (o.type === 'HWPT_PAGING' && o.autoDomain && o.ioas === ioasId) return Number(id)
  const ioas = getObject(f, ioasId, 'IOAS')
  const dom = newDomain(
    d,
    ioas.areas.map((ar) => ({ iova: ar.iova, pages: ar.pages })),
  )
  const id = allocObjectId(f)
  f.objects[id] = { type: 'HWPT_PAGING', ioas: ioasId, domain: dom, autoDomain: true, pasidCompat: false, restored: false }
  return id
}

/** Drop an auto-domain HWPT once its last attachment is gone (iommufd_hw_pagetable_put ->
 *  iommufd_object_put_and_try_destroy: the same removal as IOMMU_DESTROY). A preserved
 *  domain's HWPT stays where IOMMU_DESTROY would be EBUSY (destroyPreserved=ebusy), and goes,
 *  freeing its domain, where it would not (frees-domain). */
export function putAutoHwpt(d: D, f: IommufdFile, id: number): void {
  const o = f.objects[id]
  if (o?.type !== 'HWPT_PAGING' || !o.autoDomain || users(d, f, id) !== 1) return
  if (d.domains[o.domain].preserved) {
    if (d.design.destroyPreserved === 'frees-domain') freePreservedHwpt(d, f, id)
    return
  }
  delete f.objects[id]
  reapDomains(d)
}

/** IOMMU_DESTROY of a HWPT whose domain the iommufd's preserve preserved, per version
 *  (destroyPreserved):
 *  * V3 (`ebusy`): the preserve holds a reference on the HWPT (V3b iommufd_liveupdate_preserve
 *    iommufd_lock_obj, dropped in _iommufd_unpreserve; V3a's liveupdate_tokens entry), so
 *    iommufd_object_remove's refcount_dec_if_one fails: EBUSY;
 *  * V1, V2 (`frees-domain`): nothing holds it (V1 TODO "The HWPT should be made immutable, and
 *    cannot be destroyed"). The destroy unmaps the domain and frees its table pages
 *    (iopt_table_remove_domain, iommu_domain_free); nothing unpreserves them: the iommufd's
 *    record (token, domain) stays in the session, the domain's serialized state stays, and
 *    KHO keeps every table page it had marked. */
function freePreservedHwpt(d: D, f: IommufdFile, id: number): void {
  const o = f.objects[id] as Extract<IommufdObject, { type: 'HWPT_PAGING' }>
  const dom = d.domains[o.domain]
  ;(f.lost ??= []).push({ id, token: dom.preserved!.token, domain: o.domain })
  delete f.objects[id]
  const held = tablePagesFor(dom)
  d.tablePagesUsed -= held
  dom.extents = []
  dom.slots = {}
  dom.freed = held
  reapDomains(d)
}

export function destroy(d: D, a: ArgsOf<'IOMMU_DESTROY'>): Result {
  const { f } = ictxOf(d, a.iommufd)
  const o = f.objects[a.id]
  if (!o) fail('ENOENT')
  // users must be exactly 1 (the xarray's): EBUSY otherwise (main.c iommufd_object_remove)
  if (users(d, f, a.id) !== 1) fail('EBUSY')
  if (o.type === 'HWPT_PAGING') {
    // [LU] a HWPT whose domain is preserved: EBUSY in V3, freed in V1/V2 (freePreservedHwpt)
    const preserved = d.domains[o.domain].preserved !== undefined
    if (preserved && d.design.destroyPreserved === 'ebusy') fail('EBUSY')
    // [LU] a HWPT whose domain still has attachments (a restored domain attached at boot)
    if (Object.values(d.groups).some((g) => g.domain === o.domain || Object.values(g.pasids).includes(o.domain)))
      fail('EBUSY')
    if (preserved) {
      freePreservedHwpt(d, f, a.id)
      return ok()
    }
  }
  delete f.objects[a.id]
  // an IOAS goes with its areas: their pages are unpinned, the VMM's anonymous ones freed
  if (o.type === 'IOAS') dropAreas(d, o.areas)
  reapDomains(d)
  return ok()
}

/** Closing the iommufd: every object goes (leaves first); records of a retrieved iommufd go
 *  with it. Bound devices hold the ictx, so none is attached any more. */
export function releaseIommufd(d: D, id: FileId): void {
  const f = d.files[id] as IommufdFile
  const areas = Object.values(f.objects).flatMap((o) => (o.type === 'IOAS' ? o.areas : []))
  f.objects = {}
  f.lu = undefined
  dropAreas(d, areas)
  reapDomains(d)
}

// ---------------------------------------------------------------- live update

/** IOMMU_HWPT_LU_SET_PRESERVE (and its newer names IOMMU_HWPT_LU_MARK_PRESERVE /
 *  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE): mark a paging HWPT to be preserved with a token.
 *  Which re-marks are refused is the markImpl axis; whether an unmark exists and whether the
 *  mark holds a reference is markSemantics. No version refuses a mark while the iommufd is
 *  preserved: V1 leaves it a TODO, V3b's liveupdate_mutex only serialises; the mark then has
 *  no effect on the record already taken (audit I13). */
export function luSetPreserve(d: D, a: ArgsOf<'IOMMU_HWPT_LU_SET_PRESERVE'>): Result {
  const { f } = ictxOf(d, a.iommufd)
  // iommufd_get_hwpt_paging: only HWPT_PAGING can be marked, anything else ENOENT
  const h = getObject(f, a.hwpt_id, 'HWPT_PAGING')
  // a restored HWPT has no IOAS to check or freeze: it cannot be preserved again (inferred)
  if (h.restored) fail('EINVAL')
  const token = a.token.toString()
  if (a.preserve === false) {
    // only V1's flag has an unmark (`preserved = 0`); V2+ have no such field (EOPNOTSUPP)
    if (d.design.markSemantics !== 'flag') fail('EOPNOTSUPP')
    h.mark = undefined
    h.xaTokens = undefined
    return ok()
  }
  const hwpts = Object.entries(f.objects).flatMap(([id, o]) => (o.type === 'HWPT_PAGING' ? [[Number(id), o] as const] : []))
  switch (d.design.markImpl) {
    case 'v1-overwrite-unmark':
      // V1 iommufd_hwpt_lu_set_preserved: the target is skipped; another marked HWPT with the
      // token is EADDRINUSE; the target's token is overwritten
      for (const [id, o] of hwpts) if (id !== a.hwpt_id && o.mark === token) fail('EADDRINUSE')
      h.mark = token
      break
    case 'v3-mark':
      // V3b: xa_for_each_marked over every marked HWPT, the target included: the same token
      // again is EADDRINUSE; another token overwrites (pr_warn "Overwriting HWPT liveupdate token")
      for (const [, o] of hwpts) if (o.mark === token) fail('EADDRINUSE')
      h.mark = token
      break
    case 'token-xarray-ref':
      // V3a: xa_cmpxchg(&ictx->liveupdate_tokens, token, NULL, hwpt): a token in use is
      // EADDRINUSE; another token for the same HWPT is a second entry (preserve fails later)
      for (const [, o] of hwpts) if (o.mark === token || o.xaTokens?.includes(token)) fail('EADDRINUSE')
      h.xaTokens = [...(h.xaTokens ?? (h.mark !== undefined ? [h.mark] : [])), token]
      h.mark ??= token
      break
  }
  return ok()
}

/** IOMMU_HWPT_LU_RESTORE: wrap a restored domain in a new HWPT_PAGING with no IOAS
 *  (V1: samikhawaja/linux drivers/iommu/iommufd/liveupdate.c; live-update.md §2.3). */
export function luRestore(d: D, a: ArgsOf<'IOMMU_HWPT_LU_RESTORE'>): Result {
  const { f } = ictxOf(d, a.iommufd)
  // not retrieved from LUO (or already finished): ENOTTY
  if (!f.lu) fail('ENOTTY')
  const token = a.token.toString()
  const rec = f.lu.records.find((r) => r.token === token)
  if (!rec) fail('ENOENT')
  if (rec.reclaimedAs !== undefined) {
    // reassociate-at-bind reclaimed it at bind: hand back that HWPT (inferred)
    if (d.design.replaceFlow === 'reassociate-at-bind' && f.objects[rec.reclaimedAs]) return ok(rec.reclaimedAs)
    fail('ENOENT')
  }
  // V1 iommufd_hwpt_lu_restore: domain_ser->restored_domain NULL (no preserved device's
  // record rebuilt it, restoreScope=preserved-device-records) is -ENOENT, record untouched
  if (d.domains[rec.domain]?.unrebuilt) fail('ENOENT')
  // restoreHwpt=needs-rebind: ENODEV until every device that was attached is bound here,
  // then re-attach them all (V1 variant, live-update.md §2.3)
  const rebind = d.design.restoreHwpt === 'needs-rebind'
  if (rebind) {
    for (const bdf of rec.devices) if (!Object.values(f.objects).some((o) => o.type === 'DEVICE' && o.bdf === bdf)) fail('ENODEV')
  }
  const id = allocObjectId(f)
  f.objects[id] = { type: 'HWPT_PAGING', domain: rec.domain, autoDomain: false, pasidCompat: false, restored: true }
  rec.reclaimedAs = id
  if (rebind) {
    for (const bdf of rec.devices) {
      const group = d.platform.devices.find((x) => x.bdf === bdf)?.group ?? bdf
      if (d.groups[group].domain !== rec.domain) continue
      const at = ((f.attach[group] ??= {})[0] ??= { hwpt: id, devices: [] })
      if (at.hwpt === id && !at.devices.includes(bdf)) at.devices.push(bdf)
    }
  }
  return ok(id)
}
