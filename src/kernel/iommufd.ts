// iommufd: the ictx and its object table (lowest free id from 1, `users` as real reference
// counts), IOAS areas in an interval tree (map, unmap and auto-IOVA in O(log n)), HWPT_PAGING
// with every domain kept in sync with its IOAS, destroy, and the live-update ioctls: mark an
// HWPT for preservation, restore it by token in the next kernel.
//
// Sources: domain/iommufd.md §1–2 (samikhawaja/linux drivers/iommu/iommufd/{main,ioas,
// io_pagetable,hw_pagetable}.c), domain/live-update.md §2 (the iommufd live-update series).

import type { ArgsOf } from '../../models/ops.ts'
import { fget, fileOfFd, fput, installFd, newFile } from './files.ts'
import { Idr } from './idr.ts'
import { IntervalTree } from './intervals.ts'
import { domainGet, domainPut, domainRuns, freeDomain, newDomain, reapDomains, syncDomains } from './iommu.ts'
import { allocPages, pageGet, pagePut, runsOf } from './memfd.ts'
import type { Area, AttachRec, Domain, Hwpt, IDevice, IObj, Ioas, IommufdCtx, KDevice, Kern, LuRecord, Ret } from './state.ts'
import { isErr } from './state.ts'

export const U64_MAX = (1n << 64n) - 1n
/** luv's IOMMU has a 48-bit address width: the domain aperture ends at 2^48 (iommufd.md §2.2). */
export const IOVA_LIMIT = 1n << 48n
/** Highest end page of an automatically placed IOVA range (iopt_alloc_iova stays below the
 *  aperture's last page). */
const AUTO_END = 2 ** 36 - 1

/** The iommufd behind an fd: EBADF if not open, ENOTTY for another kind of file. */
export function ictxOf(k: Kern, fd: number): Ret<IommufdCtx> {
  const f = fileOfFd(k, fd)
  if (isErr(f)) return f
  return f.kind === 'iommufd' ? f : 'ENOTTY'
}

/** iommufd_get_object(): missing or of another type is ENOENT. */
function getObj<T extends IObj['type']>(ictx: IommufdCtx, id: number, type: T): Ret<Extract<IObj, { type: T }>> {
  const o = ictx.objects.get(id)
  return o !== undefined && o.type === type ? (o as Extract<IObj, { type: T }>) : 'ENOENT'
}

export function iommufdOpen(k: Kern): number {
  const f = newFile<IommufdCtx>(k, { kind: 'iommufd', objects: new Map(), ids: new Idr(1), attach: new Map(), lu: undefined, preservedIn: undefined, marks: new Map(), lost: undefined })
  return installFd(k, f)
}

export function ioasAlloc(k: Kern, a: ArgsOf<'IOMMU_IOAS_ALLOC'>): Ret<number> {
  const ictx = ictxOf(k, a.iommufd)
  if (isErr(ictx)) return ictx
  const id = ictx.ids.alloc(k.faults)
  if (isErr(id)) return id
  ictx.objects.set(id, { type: 'IOAS', id, users: 1, areas: new IntervalTree<Area>(), immutable: false, hwpts: new Set() })
  return id
}

// ---------------------------------------------------------------- map / unmap

const roundupPow2 = (x: bigint): bigint => {
  let p = 1n
  while (p < x) p <<= 1n
  return p
}

/** iopt_alloc_iova(): alignment roundup_pow_of_two(length), capped by the lowest set bit of the
 *  source address; the lowest aligned hole from that alignment up, never IOVA 0. */
function allocIova(ioas: Ioas, length: bigint, source: bigint): Ret<number> {
  let align = roundupPow2(length)
  if (source !== 0n) {
    const low = source & -source
    if (low < align) align = low
  }
  if (align < 4096n) align = 4096n
  const alignPages = Number(align >> 12n)
  const pages = Number(length >> 12n)
  if (alignPages + pages > AUTO_END) return 'ENOSPC'
  const at = ioas.areas.findHole(pages, alignPages, alignPages, AUTO_END)
  return at < 0 ? 'ENOSPC' : at
}

/** iommufd_ioas_map / _map_file: the ioctl's own range check, then iopt_map_pages ->
 *  iopt_alloc_area_pages. */
function checkMap(ictx: IommufdCtx, ioasId: number, length: bigint, iova: bigint | undefined, source: bigint): Ret<{ ioas: Ioas; iovaPfn: number }> {
  const ioas = getObj(ictx, ioasId, 'IOAS')
  if (isErr(ioas)) return ioas
  if (length >= U64_MAX || (iova !== undefined && iova >= U64_MAX)) return 'EOVERFLOW'
  return allocAreaPages(ioas, length, iova, source)
}

/** iopt_alloc_area_pages, under iova_rwsem: iopt_lu_map_immutable (-EBUSY) comes before
 *  `(length & (iova_alignment - 1)) || !length` (-EINVAL) (V2 mail patch "iommufd-lu: ...",
 *  drivers/iommu/iommufd/io_pagetable.c hunk), then iopt_check_iova for a fixed IOVA
 *  (alignment -EINVAL, overflow -EOVERFLOW, aperture -EINVAL, in use -EEXIST) or
 *  iopt_alloc_iova. */
function allocAreaPages(ioas: Ioas, length: bigint, iova: bigint | undefined, source: bigint): Ret<{ ioas: Ioas; iovaPfn: number }> {
  // a preserved IOAS is immutable: map, unmap and cut are EBUSY (live-update.md §2.2 step 3)
  if (ioas.immutable) return 'EBUSY'
  if (length === 0n || length % 4096n !== 0n) return 'EINVAL'
  if (iova !== undefined) {
    if (iova % 4096n !== 0n) return 'EINVAL'
    if (iova + length > U64_MAX) return 'EOVERFLOW'
    if (iova + length > IOVA_LIMIT) return 'EINVAL'
  }
  if (iova === undefined) {
    const at = allocIova(ioas, length, source)
    return isErr(at) ? at : { ioas, iovaPfn: at }
  }
  const iovaPfn = Number(iova >> 12n)
  // no replacement of live IOVA: EEXIST (iopt_alloc_area)
  if (ioas.areas.intersecting(iovaPfn, Number(length >> 12n)).length > 0) return 'EEXIST'
  return { ioas, iovaPfn }
}

/** Insert an area and fill every domain of the IOAS; then it pins its pages (and its file). */
function insertArea(k: Kern, ioas: Ioas, area: Area): Ret<bigint> {
  ioas.areas.insert(area.iovaPfn, area.npages, area)
  const e = syncDomains(k, ioas, area, [])
  if (isErr(e)) {
    ioas.areas.remove(area.iovaPfn)
    return e
  }
  forEachPfn(area, (p) => pageGet(k, p))
  if (area.file !== undefined) fget(area.file)
  return BigInt(area.iovaPfn) << 12n
}

function forEachPfn(area: Area, cb: (pfn: number) => void): void {
  for (const r of area.runs) for (let i = 0; i < r.length; i++) cb(r.first + i)
}

export function ioasMapFile(k: Kern, a: ArgsOf<'IOMMU_IOAS_MAP_FILE'>): Ret<bigint> {
  const ictx = ictxOf(k, a.iommufd)
  if (isErr(ictx)) return ictx
  const memfd = fileOfFd(k, a.memfd)
  if (isErr(memfd)) return memfd
  const c = checkMap(ictx, a.ioas, a.length, a.iova, a.start)
  if (isErr(c)) return c
  // only shmem/memfd files can be mapped (iopt_map_file_pages; inferred EINVAL)
  if (memfd.kind !== 'memfd') return 'EINVAL'
  if (a.start % 4096n !== 0n) return 'EINVAL'
  // beyond the end of the file there is nothing to pin (inferred EINVAL)
  const npages = Number(a.length >> 12n)
  if (a.start / 4096n + BigInt(npages) > BigInt(memfd.pages.length)) return 'EINVAL'
  const first = Number(a.start >> 12n)
  return insertArea(k, c.ioas, {
    iovaPfn: c.iovaPfn,
    npages,
    kind: 'file',
    file: memfd,
    runs: runsOf(memfd.pages, first, first + npages),
    // IOPT_ADDRESS_FILE records the seals at map time (live-update.md §2.2 step 2)
    seals: memfd.seals,
  })
}

export function ioasMap(k: Kern, a: ArgsOf<'IOMMU_IOAS_MAP'>): Ret<bigint> {
  const ictx = ictxOf(k, a.iommufd)
  if (isErr(ictx)) return ictx
  const c = checkMap(ictx, a.ioas, a.length, a.iova, 0n)
  if (isErr(c)) return c
  const npages = Number(a.length >> 12n)
  const pages = allocPages(k, npages)
  if (isErr(pages)) return pages
  // `file` present (undefined) as in a file area: one shape for every area (issue 12)
  const r = insertArea(k, c.ioas, { iovaPfn: c.iovaPfn, npages, kind: 'anon', file: undefined, runs: runsOf(pages), seals: 0 })
  if (isErr(r)) for (const p of pages) pagePut(k, p)
  return r
}

/** An area goes: its pins, its file reference, and (owner) the VMM's anonymous memory. */
function dropArea(k: Kern, area: Area, owner: boolean): void {
  forEachPfn(area, (p) => {
    if (owner && area.kind === 'anon') pagePut(k, p)
    pagePut(k, p)
  })
  if (area.file !== undefined) fput(k, area.file)
}

export function ioasUnmap(k: Kern, a: ArgsOf<'IOMMU_IOAS_UNMAP'>): Ret<bigint> {
  const ictx = ictxOf(k, a.iommufd)
  if (isErr(ictx)) return ictx
  const ioas = getObj(ictx, a.ioas, 'IOAS')
  if (isErr(ioas)) return ioas
  const all = a.iova === 0n && a.length === U64_MAX
  if (!all) {
    if (a.iova >= U64_MAX || a.length >= U64_MAX) return 'EOVERFLOW'
    if (a.length === 0n) return 'EINVAL'
  }
  if (ioas.immutable) return 'EBUSY'
  let hit: Area[]
  if (all) hit = [...ioas.areas].map((x) => x.value)
  else {
    const lo = a.iova >> 12n
    const end = (a.iova + a.length + 4095n) >> 12n
    const hi = end > 2n ** 36n ? 2 ** 36 : Number(end)
    hit = lo >= 2n ** 36n ? [] : ioas.areas.intersecting(Number(lo), hi - Number(lo)).map((x) => x.value)
    // every area touched must lie inside the range, and something must be: ENOENT
    // (iopt_unmap_iova_range; ioas.c for an empty range)
    if (hit.length === 0) return 'ENOENT'
    const inside = (x: Area) => BigInt(x.iovaPfn) << 12n >= a.iova && BigInt(x.iovaPfn + x.npages) << 12n <= a.iova + a.length
    if (!hit.every(inside)) return 'ENOENT'
  }
  for (const x of hit) ioas.areas.remove(x.iovaPfn)
  const e = syncDomains(k, ioas, undefined, hit)
  if (isErr(e)) {
    for (const x of hit) ioas.areas.insert(x.iovaPfn, x.npages, x)
    return e
  }
  let n = 0
  for (const x of hit) {
    dropArea(k, x, true)
    n += x.npages
  }
  return BigInt(n) << 12n
}

// ---------------------------------------------------------------- HWPT

export function addHwpt(ictx: IommufdCtx, id: number, domain: Domain, ioas: Ioas | undefined, auto: boolean, pasidCompat: boolean, restored: boolean): Hwpt {
  const h: Hwpt = { type: 'HWPT_PAGING', id, users: 1, ioas, domain, auto, pasidCompat, mark: undefined, restored }
  ictx.objects.set(id, h)
  domainGet(domain)
  if (ioas !== undefined) {
    ioas.users++
    ioas.hwpts.add(h)
  }
  return h
}

function removeHwpt(k: Kern, ictx: IommufdCtx, h: Hwpt): void {
  ictx.objects.delete(h.id)
  ictx.ids.free(h.id)
  if (h.mark !== undefined) for (const [t, x] of [...ictx.marks]) if (x === h) ictx.marks.delete(t)
  if (h.ioas !== undefined) {
    if (k.bug.putIoasOnHwptDestroy) h.ioas.users-- // hook putIoasOnHwptDestroy
    h.ioas.hwpts.delete(h)
  }
  domainPut(k, h.domain)
}

/** Undo an HWPT this op created: the object, its id and its domain go at once. */
export function dropNewHwpt(k: Kern, ictx: IommufdCtx, h: Hwpt): void {
  removeHwpt(k, ictx, h)
  freeDomain(k, h.domain)
}

export function hwptAlloc(k: Kern, a: ArgsOf<'IOMMU_HWPT_ALLOC'>): Ret<number> {
  const ictx = ictxOf(k, a.iommufd)
  if (isErr(ictx)) return ictx
  const dev = getObj(ictx, a.dev_id, 'DEVICE')
  if (isErr(dev)) return dev
  const pt = ictx.objects.get(a.pt_id)
  // pt_id lookup failure is EINVAL (iommufd_hwpt_alloc); a paging pt_id asks for a nested
  // HWPT, which needs user data luv never passes: EOPNOTSUPP
  if (pt === undefined) return 'EINVAL'
  if (pt.type === 'HWPT_PAGING') return 'EOPNOTSUPP'
  if (pt.type !== 'IOAS') return 'EINVAL'
  const flags = a.flags ?? []
  // DIRTY_TRACKING needs a device capability the modelled devices lack
  if (flags.includes('DIRTY_TRACKING')) return 'EOPNOTSUPP'
  const dom = newDomain(k, pt)
  if (isErr(dom)) return dom
  const id = ictx.ids.alloc(k.faults)
  if (isErr(id)) {
    freeDomain(k, dom)
    return id
  }
  addHwpt(ictx, id, dom, pt, false, flags.includes('PASID'), false)
  return id
}

/** iommufd_device_auto_get_domain(): this IOAS's auto-domain HWPT, or a new one. */
export function autoHwpt(k: Kern, ictx: IommufdCtx, ioas: Ioas): Ret<{ hwpt: Hwpt; created: boolean }> {
  for (const h of ioas.hwpts) if (h.auto) return { hwpt: h, created: false }
  const dom = newDomain(k, ioas)
  if (isErr(dom)) return dom
  const id = ictx.ids.alloc(k.faults)
  if (isErr(id)) {
    freeDomain(k, dom)
    return id
  }
  return { hwpt: addHwpt(ictx, id, dom, ioas, true, false, false), created: true }
}

/** iommufd_hw_pagetable_put(): an auto-domain HWPT goes with its last attachment. */
export function putAutoHwpt(k: Kern, ictx: IommufdCtx, h: Hwpt): void {
  // iommufd_object_put_and_try_destroy -> iommufd_object_remove: the same refcount_dec_if_one
  // as IOMMU_DESTROY, so a preserved domain's HWPT stays under destroyPreserved=ebusy (V3's
  // reference) and goes, freeing the domain, under frees-domain (V1/V2: no reference)
  if (!h.auto || h.users !== 1 || ictx.objects.get(h.id) !== h) return
  if (h.domain.preserved !== undefined) {
    if (k.design.destroyPreserved === 'ebusy') return
    hwptPagingDestroyPreserved(k, ictx, h)
    return
  }
  removeHwpt(k, ictx, h)
  reapDomains(k)
}

/** The DEVICE object of a device bound to this ictx. */
export function deviceObj(ictx: IommufdCtx, dev: KDevice): IDevice | undefined {
  const b = dev.boundBy?.bound
  return b !== undefined && b.ictx === ictx ? (ictx.objects.get(b.devId) as IDevice) : undefined
}

export function attachAdd(ictx: IommufdCtx, rec: AttachRec, dev: KDevice): void {
  rec.devices.push(dev)
  rec.hwpt.users++
  deviceObj(ictx, dev)!.users++
}

export function attachRemove(ictx: IommufdCtx, rec: AttachRec, dev: KDevice): void {
  rec.devices.splice(rec.devices.indexOf(dev), 1)
  rec.hwpt.users--
  const d = deviceObj(ictx, dev)
  if (d !== undefined) d.users--
}

/** destroyPreserved=frees-domain: the destroy of a HWPT whose domain the iommufd's preserve
 *  preserved, as V1/V2 run it. iommufd_hwpt_paging_destroy -> iopt_table_remove_domain
 *  (io_pagetable.c 1cbddb4: iopt_unfill_domain unmaps every area; no immutability test there)
 *  -> __iommufd_hwpt_destroy -> iommu_domain_free (iommu.c 02881d0: ops->free, no
 *  preserved_state test) frees the table pages through iommu-pages, which never calls
 *  kho_unpreserve_folio (V2 patch 04): the KHO marks stay in kho_out.radix_tree
 *  (kexec_handover.c dd03dd6: only kho_unpreserve_* clear a bit, nothing on the free path).
 *  The domain's iommu_domain_ser stays live with top_table = the freed root (only
 *  iommu_domain_unpreserve would mark it deleted), and the iommufd record (token,
 *  domain_data) stays in the serialized iommufd_lu: both are handed over at KEXEC. */
function hwptPagingDestroyPreserved(k: Kern, ictx: IommufdCtx, h: Hwpt): void {
  const dom = h.domain
  // iopt_table_remove_domain: every area unmapped from the domain (its IOTLB flushed)
  // (a domain frozen alone, ioasFreeze=domain-only, maps its own list: domainRuns)
  for (const r of [...domainRuns(dom)]) dom.pt.unmap(r.iovaPfn, r.npages)
  ;(ictx.lost ??= []).push({ id: h.id, token: dom.preserved!.token, domain: dom })
  // the serialized domain keeps the struct alive for KEXEC (collect() writes its DOMAIN
  // record from dom.preserved and dom.pt.root): one reference for the iommu_domain_ser
  domainGet(dom)
  removeHwpt(k, ictx, h)
  // iommu_domain_free -> ops->free: the table pages go back to the allocator, still KHO-marked
  dom.pt.destroy()
  dom.tablesGone = true
  reapDomains(k)
}

export function destroy(k: Kern, a: ArgsOf<'IOMMU_DESTROY'>): Ret<void> {
  const ictx = ictxOf(k, a.iommufd)
  if (isErr(ictx)) return ictx
  const o = ictx.objects.get(a.id)
  if (o === undefined) return 'ENOENT'
  // users must be exactly 1, the xarray's: EBUSY otherwise (iommufd_object_remove)
  if (o.users !== 1) return 'EBUSY'
  if (o.type === 'HWPT_PAGING') {
    // iommufd_object_remove (main.c 0240b60): a domain still attached (a restored domain
    // attached at boot) is -EBUSY first
    if (o.domain.slots > 0) return 'EBUSY'
    // [LU] a HWPT whose domain is preserved (destroyPreserved): V3b iommufd_liveupdate_preserve
    // took iommufd_lock_obj (users + 1) until _iommufd_unpreserve, V3a's liveupdate_tokens
    // entry keeps the mark's reference: refcount_dec_if_one fails, -EBUSY. V1 (039a263
    // iommufd_save_hwpts: "TODO: The HWPT should be made immutable, and cannot be destroyed")
    // and V2 (patches 10/11: a flag, iommufd_put_object) hold nothing: the destroy goes on
    if (o.domain.preserved !== undefined) {
      if (k.design.destroyPreserved === 'ebusy') return 'EBUSY'
      hwptPagingDestroyPreserved(k, ictx, o)
      return
    }
    removeHwpt(k, ictx, o)
  } else {
    ictx.objects.delete(o.id)
    ictx.ids.free(o.id)
    // iopt_destroy_table: areas unpin their pages and drop their file; the VMM's anonymous
    // pages go back with them, as on unmap
    if (o.type === 'IOAS') for (const { value } of o.areas) dropArea(k, value, true)
  }
  reapDomains(k)
}

/** The ictx's ->release: every object goes; the records of a retrieved ictx go with it. Bound
 *  devices hold the ictx, so none is attached any more. */
export function releaseIommufd(k: Kern, ictx: IommufdCtx): void {
  for (const o of ictx.objects.values()) {
    if (o.type === 'IOAS') for (const { value } of o.areas) dropArea(k, value, true)
    else if (o.type === 'HWPT_PAGING') domainPut(k, o.domain)
  }
  ictx.objects.clear()
  ictx.marks.clear()
  dropLu(k, ictx)
  reapDomains(k)
}

/** ictx->lu goes (finish, or the ictx is released): its unreclaimed records stop holding
 *  their domains (a reclaimed one let go at LU_RESTORE). */
export function dropLu(k: Kern, ictx: IommufdCtx): void {
  if (ictx.lu === undefined) return
  for (const r of ictx.lu.records) if (r.domain !== undefined && r.reclaimedAs === undefined) domainPut(k, r.domain)
  ictx.lu = undefined
}

/** Mark a record reclaimed by HWPT `id`, which holds the domain from now on; the record lets
 *  go of it the first time (reclaimed again after its HWPT went, it holds nothing). */
export function reclaimRecord(k: Kern, rec: LuRecord, id: number): void {
  if (rec.reclaimedAs === undefined && rec.domain !== undefined) domainPut(k, rec.domain)
  rec.reclaimedAs = id
}

// ---------------------------------------------------------------- live update

/** The mark ioctl under its three names (IOMMU_HWPT_LU_SET_PRESERVE, IOMMU_HWPT_LU_MARK_PRESERVE,
 *  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE), one body per posted version (markImpl). None of them
 *  refuses a mark while the iommufd is preserved (V1: "TODO: return error if iommufd is
 *  already preserved"; V3b: ictx->liveupdate_mutex only serialises): the record was taken at
 *  preserve time, so such a mark changes nothing that crosses the kexec. */
export function luSetPreserve(k: Kern, a: ArgsOf<'IOMMU_HWPT_LU_SET_PRESERVE'>): Ret<void> {
  const ictx = ictxOf(k, a.iommufd)
  if (isErr(ictx)) return ictx
  // iommufd_get_hwpt_paging
  const h = getObj(ictx, a.hwpt_id, 'HWPT_PAGING')
  if (isErr(h)) return h
  // a restored HWPT has no IOAS to check or freeze (inferred EINVAL)
  if (h.restored) return 'EINVAL'
  if (a.preserve === false) {
    // V1 `hwpt_target->lu_preserved = cmd->preserved`: only markSemantics=flag has the field
    if (k.design.markSemantics !== 'flag') return 'EOPNOTSUPP'
    unmark(ictx, h)
    return
  }
  switch (k.design.markImpl) {
    case 'v1-overwrite-unmark':
      return setPreservedV1(k, ictx, h, a.token)
    case 'token-xarray-ref':
      return markTokenXarray(k, ictx, h, a.token)
    case 'v3-mark':
      return markPreserveV3(k, ictx, h, a.token)
  }
}

/** V1 iommufd_hwpt_lu_set_preserved: xa_for_each over HWPT_PAGING objects, "if (hwpt ==
 *  hwpt_target) continue", another marked one with the token is -EADDRINUSE; then the
 *  target's flag and token are (over)written. */
function setPreservedV1(k: Kern, ictx: IommufdCtx, target: Hwpt, token: bigint): Ret<void> {
  for (const obj of ictx.objects.values()) {
    if (obj.type !== 'HWPT_PAGING' || (obj === target && k.bug.v1SkipsTarget)) continue // hook v1SkipsTarget
    if (obj.mark !== undefined && obj.mark === token) return 'EADDRINUSE'
  }
  setMark(k, ictx, target, token)
}

/** V3b iommufd_hwpt_liveupdate_mark_preserve: xa_for_each_marked(IOMMUFD_OBJ_LIVEUPDATE_MARK)
 *  does not skip the target, so its own token again is -EADDRINUSE; __xa_set_mark, and
 *  liveupdate_token is overwritten ("Overwriting HWPT liveupdate token"). */
function markPreserveV3(k: Kern, ictx: IommufdCtx, target: Hwpt, token: bigint): Ret<void> {
  for (const obj of ictx.objects.values()) if (obj.type === 'HWPT_PAGING' && obj.mark === token) return 'EADDRINUSE'
  setMark(k, ictx, target, token)
}

/** V3a: xa_cmpxchg(&ictx->liveupdate_tokens, token, NULL, hwpt) — a token already in the
 *  xarray is -EADDRINUSE; a new token for a marked HWPT is simply a second entry (the
 *  iommufd preserve then fails, luo_file.ts). */
function markTokenXarray(k: Kern, ictx: IommufdCtx, target: Hwpt, token: bigint): Ret<void> {
  if (ictx.marks.has(token)) return 'EADDRINUSE'
  ictx.marks.set(token, target)
  if (target.mark === undefined) {
    target.mark = token
    // markSemantics=pin: "the liveupdate_tokens xarray still holds a reference to the HWPT"
    if (k.design.markSemantics === 'pin') target.users++
  }
}

function setMark(k: Kern, ictx: IommufdCtx, h: Hwpt, token: bigint): void {
  if (h.mark !== undefined) ictx.marks.delete(h.mark)
  // markSemantics=pin: the mark holds a reference on the HWPT (live-update.md §2.1 (b))
  else if (k.design.markSemantics === 'pin') h.users++
  h.mark = token
  ictx.marks.set(token, h)
}

function unmark(ictx: IommufdCtx, h: Hwpt): void {
  for (const [t, x] of [...ictx.marks]) if (x === h) ictx.marks.delete(t)
  h.mark = undefined
}

/** IOMMU_HWPT_LU_RESTORE: wrap a restored domain in a new HWPT_PAGING with no IOAS
 *  (V1: samikhawaja/linux drivers/iommu/iommufd/liveupdate.c; live-update.md §2.3). */
export function luRestore(k: Kern, a: ArgsOf<'IOMMU_HWPT_LU_RESTORE'>): Ret<number> {
  const ictx = ictxOf(k, a.iommufd)
  if (isErr(ictx)) return ictx
  // not retrieved from LUO (or already finished)
  if (ictx.lu === undefined) return 'ENOTTY'
  const rec = ictx.lu.records.find((r) => r.token === a.token)
  if (rec === undefined) return 'ENOENT'
  // V1 iommufd_hwpt_lu_restore: `domain = domain_ser->restored_domain; if (!domain) rc =
  // -ENOENT` (the HWPT it began to allocate is aborted; the record stays unreclaimed)
  const domain = rec.domain
  if (domain === undefined) return 'ENOENT'
  if (rec.reclaimedAs !== undefined) {
    // reassociate-at-bind reclaimed it at bind: hand back that HWPT (inferred)
    if (k.design.replaceFlow === 'reassociate-at-bind' && ictx.objects.has(rec.reclaimedAs)) return rec.reclaimedAs
    return 'ENOENT'
  }
  // restoreHwpt=needs-rebind: ENODEV until every device that was attached is bound here
  const rebind = k.design.restoreHwpt === 'needs-rebind'
  const devs: KDevice[] = []
  if (rebind)
    for (const bdf of rec.devices) {
      const dev = k.deviceByBdf.get(bdf)
      if (dev === undefined || deviceObj(ictx, dev) === undefined) return 'ENODEV'
      devs.push(dev)
    }
  const id = ictx.ids.alloc(k.faults)
  if (isErr(id)) return id
  const h = addHwpt(ictx, id, domain, undefined, false, false, true)
  // `hwpt_lu->reclaimed = true`: the HWPT owns the restored domain now (iommufd_hwpt_init_
  // from_domain) and the record lets go of it, so IOMMU_DESTROY of this HWPT frees the domain
  // and its table pages (__iommufd_hwpt_destroy -> iommu_domain_free), not FINISH
  if (k.bug.markRecordReclaimed) reclaimRecord(k, rec, id) // hook markRecordReclaimed
  // ... then re-attach them all (V1 variant)
  for (const dev of devs) {
    const g = dev.group
    if (g.domain !== rec.domain) continue
    const per = mapFor(ictx, g)
    let at = per.get(0)
    if (at === undefined) per.set(0, (at = { hwpt: h, devices: [] }))
    if (at.hwpt === h && !at.devices.includes(dev)) attachAdd(ictx, at, dev)
  }
  return id
}

export function mapFor(ictx: IommufdCtx, g: KDevice['group']): Map<number, AttachRec> {
  let per = ictx.attach.get(g)
  if (per === undefined) ictx.attach.set(g, (per = new Map()))
  return per
}

