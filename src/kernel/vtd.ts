// The Intel VT-d unit: its in-memory structures (root table, context tables, PASID directories
// and tables, all real bytes in the IOMMU structure zone of phys.ts), what the hardware does on
// a DMA (context/PASID entry → IOTLB → second-level table walk), and what the driver does to
// program an entry: domain IDs (domain_attach_iommu / domain_detach_iommu) and the
// invalidations the VT-d rules require, in their order (domain/iommufd.md §5.3).
//
// Layout (iommufd.md §5.1). Root entry, 128 bit, one per bus: lo = context table for devfn
// 0–127, hi = for devfn 128–255, bit 0 present, bits 63:12 the table (the scalable-mode split,
// because luv's context entries are 256 bit). Context entry, 256 bit, 128 per page:
//   qword 0  bit 0 P, bits 3:2 TT (0: translated), bits 63:12 second-level root (legacy layout)
//   qword 1  bits 2:0 AW (2: 48-bit, 4-level), bits 23:8 DID                 (legacy layout)
//   qword 2  bit 11 PASIDE, bits 63:12 PASID directory (luv: VT-d 2.x extended-context
//            PASIDPTR, so a legacy RID entry and PASID entries coexist; PASID translation needs
//            PASIDE, not the RID's P: the model lets a PASID stay attached with the RID blocked)
// PASID directory entry, 64 bit, 512 per page: bit 0 P, bits 63:12 a PASID table; index
// pasid >> 6. PASID entry, 512 bit, 64 per page, index pasid & 63: qword 0 bit 0 P, bits 4:2
// AW, bits 8:6 PGTT (2: second-level only), bits 63:12 SLPTPTR; qword 1 bits 15:0 DID.
// There is no caching mode: a non-present → present change needs only a write-buffer flush
// (context_present_cache_flush), and the context and PASID caches are not modelled (the
// hardware reads the entry from memory on every DMA), so their invalidations are comments.

import { IOVA_PAGES, walk, WALK_BAD, WALK_FAULT } from './pagetable.ts'
import type { DidInfo, Domain, Entry, Kern, KDevice, Machine, Ret, Unit } from './state.ts'
import { isErr } from './state.ts'
import { epoch } from './epoch.ts'

export const NOT_PRESENT = -1
export const NO_MAPPING = -2

const P = 1
const PASIDE = 1 << 11
const AW_48 = 2
const PGTT_SL = 2

/** PFN held in bits 63:12 of the qword at u32 index i. */
const qpfn = (t: Uint32Array, i: number): number => t[i + 1] * 0x100000 + (t[i] >>> 12)

function writeQ(t: Uint32Array, i: number, pfn: number, low: number): void {
  epoch.iommu++
  t[i + 1] = Math.floor(pfn / 0x100000)
  t[i] = ((pfn & 0xfffff) << 12) | low
}

/** Pages the IOMMU structure zone needs: per unit a root table, per bus two context tables,
 *  per PASID-capable device a directory and its PASID tables; doubled so a kexec's preserved
 *  pages and the next boot's new ones fit side by side. */
export function iommuZonePages(devices: { bdf: string; unit: string; pasids?: number }[], units: number): number {
  const buses = new Set(devices.map((d) => `${d.unit}/${d.bdf.slice(5, 7)}`))
  let n = units + 2 * buses.size
  for (const d of devices) if ((d.pasids ?? 0) > 0) n += 1 + Math.min(512, Math.ceil((d.pasids ?? 0) / 64))
  return 2 * n + 8
}

export function parseBdf(bdf: string): { bus: number; devfn: number } {
  const bus = parseInt(bdf.slice(5, 7), 16)
  const dev = parseInt(bdf.slice(8, 10), 16)
  const fn = parseInt(bdf.slice(11, 12), 16)
  return { bus, devfn: (dev << 3) | fn }
}

// ---------------------------------------------------------------- the hardware

const scratch = { order: 0 }

/**
 * One DMA as the unit performs it: root entry, context entry (RID) or PASID directory and
 * entry, then the IOTLB tagged (unit, DID, PASID), then on a miss the second-level walk, filling
 * the IOTLB when `fill` (a real access; observation passes false). Returns the PFN, NOT_PRESENT
 * or NO_MAPPING. A walk into something that is not a page-table page is logged in `badWalks`.
 */
export function hwTranslate(m: Machine, unit: number, bus: number, devfn: number, pasid: number, iovaPfn: number, fill: boolean): number {
  const rt = m.rtaddr[unit]
  if (rt === undefined || rt < 0) return NOT_PRESENT
  const root = m.phys.iommuPage(rt)
  if (root === undefined) return bad(m, `unit ${unit}: root table ${rt} is not an IOMMU structure page`)
  const ri = 4 * bus + (devfn >= 128 ? 2 : 0)
  if (!(root[ri] & P)) return NOT_PRESENT
  const ct = m.phys.iommuPage(qpfn(root, ri))
  if (ct === undefined) return bad(m, `unit ${unit} bus ${bus}: context table ${qpfn(root, ri)} is not an IOMMU structure page`)
  const ci = 8 * (devfn & 127)
  let slpt: number
  let did: number
  if (pasid === 0) {
    if (!(ct[ci] & P)) return NOT_PRESENT
    slpt = qpfn(ct, ci)
    did = (ct[ci + 2] >>> 8) & 0xffff
  } else {
    if (!(ct[ci + 4] & PASIDE)) return NOT_PRESENT
    const dir = m.phys.iommuPage(qpfn(ct, ci + 4))
    if (dir === undefined) return bad(m, `unit ${unit} ${bus}:${devfn}: PASID directory ${qpfn(ct, ci + 4)} is not an IOMMU structure page`)
    const di = pasid >>> 6
    if (di >= 512 || !(dir[2 * di] & P)) return NOT_PRESENT
    const pt = m.phys.iommuPage(qpfn(dir, 2 * di))
    if (pt === undefined) return bad(m, `unit ${unit} ${bus}:${devfn}: PASID table ${qpfn(dir, 2 * di)} is not an IOMMU structure page`)
    const pi = 16 * (pasid & 63)
    if (!(pt[pi] & P)) return NOT_PRESENT
    slpt = qpfn(pt, pi)
    did = pt[pi + 2] & 0xffff
  }
  if (iovaPfn >= IOVA_PAGES) return NO_MAPPING
  const hit = m.iotlb.lookup(unit, did, pasid, iovaPfn)
  if (hit >= 0) return hit
  const w = walk(m.phys, slpt, iovaPfn, scratch)
  if (w === WALK_FAULT) return NO_MAPPING
  if (w === WALK_BAD) return bad(m, `unit ${unit} DID ${did}: the walk of IOVA page ${iovaPfn} from root ${slpt} met a page that is not a page-table page`, NO_MAPPING)
  if (fill) m.iotlb.fill(unit, did, pasid, iovaPfn, w, scratch.order)
  return w
}

function bad(m: Machine, what: string, ret = NOT_PRESENT): number {
  if (!m.badWalks.includes(what)) m.badWalks.push(what)
  return ret
}

/** The hardware entry for (device, pasid) as the IOMMU reads it: root and DID, or undefined. */
export function hwEntry(m: Machine, unit: number, bus: number, devfn: number, pasid: number): { root: number; did: number } | undefined {
  const slot = pasid === 0 ? ctxSlot(m, unit, bus, devfn) : pasidSlotRO(m, unit, bus, devfn, pasid)
  if (slot === undefined) return undefined
  const { t, i } = slot
  if (!(t[i] & P)) return undefined
  return { root: qpfn(t, i), did: pasid === 0 ? (t[i + 2] >>> 8) & 0xffff : t[i + 2] & 0xffff }
}

/** PASIDs with a present hardware PASID entry for this device (invariants, shutdown). */
export function hwPasids(m: Machine, unit: number, bus: number, devfn: number): number[] {
  const c = ctxSlot(m, unit, bus, devfn)
  if (c === undefined || !(c.t[c.i + 4] & PASIDE)) return []
  const dir = m.phys.iommuPage(qpfn(c.t, c.i + 4))
  if (dir === undefined) return []
  const out: number[] = []
  for (let di = 0; di < 512; di++) {
    if (!(dir[2 * di] & P)) continue
    const pt = m.phys.iommuPage(qpfn(dir, 2 * di))
    if (pt === undefined) continue
    for (let j = 0; j < 64; j++) if (pt[16 * j] & P) out.push(di * 64 + j)
  }
  return out
}

function ctxSlot(m: Machine, unit: number, bus: number, devfn: number): { t: Uint32Array; i: number } | undefined {
  const rt = m.rtaddr[unit]
  const root = rt === undefined || rt < 0 ? undefined : m.phys.iommuPage(rt)
  if (root === undefined) return undefined
  const ri = 4 * bus + (devfn >= 128 ? 2 : 0)
  if (!(root[ri] & P)) return undefined
  const t = m.phys.iommuPage(qpfn(root, ri))
  return t === undefined ? undefined : { t, i: 8 * (devfn & 127) }
}

function pasidSlotRO(m: Machine, unit: number, bus: number, devfn: number, pasid: number): { t: Uint32Array; i: number } | undefined {
  const c = ctxSlot(m, unit, bus, devfn)
  if (c === undefined || !(c.t[c.i + 4] & PASIDE)) return undefined
  const dir = m.phys.iommuPage(qpfn(c.t, c.i + 4))
  const di = pasid >>> 6
  if (dir === undefined || di >= 512 || !(dir[2 * di] & P)) return undefined
  const t = m.phys.iommuPage(qpfn(dir, 2 * di))
  return t === undefined ? undefined : { t, i: 16 * (pasid & 63) }
}

// ---------------------------------------------------------------- the driver: structures

/** A fresh, empty root table for a unit, and translation on (iommu_alloc_root_entry). */
export function allocRoot(k: Kern, unit: Unit): Ret<void> {
  const pfn = k.m.phys.allocIommu()
  if (isErr(pfn)) return pfn
  k.m.rtaddr[unit.index] = pfn
  epoch.iommu++
}

/** iommu_context_addr(): the context entry's slot, allocating the context table on demand
 *  (a fault-injectable allocation; context tables are never freed while the unit lives). */
function contextSlot(k: Kern, dev: KDevice): Ret<{ t: Uint32Array; i: number }> {
  const m = k.m
  const root = m.phys.iommuPage(m.rtaddr[dev.unit.index])!
  const ri = 4 * dev.bus + (dev.devfn >= 128 ? 2 : 0)
  if (!(root[ri] & P)) {
    const pfn = m.phys.allocIommu()
    if (isErr(pfn)) return pfn
    writeQ(root, ri, pfn, P)
  }
  return { t: m.phys.iommuPage(qpfn(root, ri))!, i: 8 * (dev.devfn & 127) }
}

/** intel_pasid_get_entry(): the PASID entry's slot; the directory and PASID tables are
 *  allocated on demand (fault-injectable) and kept until the device goes. */
function pasidSlot(k: Kern, dev: KDevice, pasid: number): Ret<{ t: Uint32Array; i: number }> {
  const c = contextSlot(k, dev)
  if (isErr(c)) return c
  const phys = k.m.phys
  if (!(c.t[c.i + 4] & PASIDE)) {
    const pfn = phys.allocIommu()
    if (isErr(pfn)) return pfn
    writeQ(c.t, c.i + 4, pfn, PASIDE)
  }
  const dir = phys.iommuPage(qpfn(c.t, c.i + 4))!
  const di = pasid >>> 6
  if (!(dir[2 * di] & P)) {
    const pfn = phys.allocIommu()
    if (isErr(pfn)) return pfn
    writeQ(dir, 2 * di, pfn, P)
  }
  return { t: phys.iommuPage(qpfn(dir, 2 * di))!, i: 16 * (pasid & 63) }
}

// ---------------------------------------------------------------- the driver: DIDs

/** domain_attach_iommu(): the domain's DID on this unit, the lowest free one from domain_ida
 *  on first use (ENOSPC when exhausted). `restore` takes back the exact DID an error path
 *  released a moment ago. */
export function attachDid(unit: Unit, dom: Domain, restore?: PutDid): Ret<number> {
  const info = dom.iommus.get(unit)
  if (info !== undefined) {
    info.refcnt++
    return info.did
  }
  let did: number
  if (restore !== undefined) {
    if (restore.freed && !unit.ida.retake(restore.did)) throw new Error(`luv: DID ${restore.did} of ${unit.name} was taken while its error path ran`)
    did = restore.did
  } else {
    const r = unit.ida.alloc()
    if (isErr(r)) return r
    did = r
  }
  dom.iommus.set(unit, { did, refcnt: 1 } satisfies DidInfo)
  return did
}

export interface PutDid {
  did: number
  /** the DID went back to domain_ida (false: still in use, or never in the ida) */
  freed: boolean
}

/** domain_detach_iommu(): drop one user; the last one frees the DID. */
export function detachDid(unit: Unit, dom: Domain): PutDid {
  const info = dom.iommus.get(unit)!
  if (--info.refcnt > 0) return { did: info.did, freed: false }
  dom.iommus.delete(unit)
  return { did: info.did, freed: unit.ida.free(info.did) }
}

// ---------------------------------------------------------------- the driver: entries

/** Non-present → present: write the high half, then publish with P (domain_context_mapping_one,
 *  intel_pasid_setup_second_level). Not caching mode: no invalidation needed. */
function writeEntry(k: Kern, dev: KDevice, pasid: number, dom: Domain, did: number): Ret<void> {
  const slot = pasid === 0 ? contextSlot(k, dev) : pasidSlot(k, dev, pasid)
  if (isErr(slot)) return slot
  const { t, i } = slot
  if (pasid === 0) {
    t[i + 2] = (did << 8) | AW_48
    t[i + 3] = 0
    writeQ(t, i, dom.pt.root, P)
  } else {
    t[i + 2] = did
    t[i + 3] = 0
    writeQ(t, i, dom.pt.root, P | (AW_48 << 2) | (PGTT_SL << 6))
  }
}

/** Present → non-present, in the order the VT-d rules require (iommufd.md §5.3). */
function clearEntry(k: Kern, dev: KDevice, pasid: number, oldDid: number): void {
  const slot = pasid === 0 ? ctxSlot(k.m, dev.unit.index, dev.bus, dev.devfn) : pasidSlotRO(k.m, dev.unit.index, dev.bus, dev.devfn, pasid)
  if (slot === undefined) return
  const { t, i } = slot
  const iotlb = k.m.iotlb
  epoch.iommu++
  // 1. clear P and publish (the 2025 stable fix "Clear Present bit before tearing down ...")
  t[i] &= ~P
  if (pasid === 0) {
    // 2. device-selective context-cache invalidation; 3. domain-selective IOTLB flush of the
    // old DID (domain_context_clear_one, intel_context_flush_no_pasid)
    iotlb.flushDomain(dev.unit.index, oldDid)
    // 4. then clear the rest of the entry (the PASID pointer in qword 2 stays)
    t[i] = 0
    t[i + 1] = 0
    t[i + 2] = 0
    t[i + 3] = 0
  } else {
    // 2. PASID-cache invalidation (did, pasid); 3. PASID-based IOTLB flush (intel_pasid_tear_down_entry)
    if (k.bug.flushOnPasidTeardown) iotlb.flushPasid(dev.unit.index, oldDid, pasid) // hook flushOnPasidTeardown
    t.fill(0, i, i + 16)
  }
}

/** Present → present with another domain, in place (the hitless replace of "[PATCH 0/3]
 *  iommu/vt-d: Add support to hitless replace IOMMU domain"; v6.14's intel_pasid_replace_*):
 *  rewrite the DID and the root, then invalidate the context/PASID cache and the old DID's
 *  IOTLB entries, which still translate through the old tables. */
function swapEntry(k: Kern, dev: KDevice, pasid: number, dom: Domain, did: number, oldDid: number): void {
  const slot = pasid === 0 ? ctxSlot(k.m, dev.unit.index, dev.bus, dev.devfn) : pasidSlotRO(k.m, dev.unit.index, dev.bus, dev.devfn, pasid)
  const { t, i } = slot!
  if (pasid === 0) {
    t[i + 2] = (did << 8) | AW_48
    writeQ(t, i, dom.pt.root, P)
  } else {
    t[i + 2] = did
    writeQ(t, i, dom.pt.root, P | (AW_48 << 2) | (PGTT_SL << 6))
  }
  if (!k.bug.flushOnReplace) return
  if (pasid === 0) k.m.iotlb.flushDomain(dev.unit.index, oldDid)
  else k.m.iotlb.flushPasid(dev.unit.index, oldDid, pasid)
}

/** What one entry change replaced, so an error path can put it back exactly. */
export interface EntryChange {
  dev: KDevice
  pasid: number
  old?: Entry & { put: PutDid }
}

const entryOf = (dev: KDevice, pasid: number): Entry | undefined => (pasid === 0 ? dev.rid : dev.pasids.get(pasid))

function setSw(dev: KDevice, pasid: number, e: Entry | undefined): void {
  if (pasid === 0) dev.rid = e
  else if (e) dev.pasids.set(pasid, e)
  else dev.pasids.delete(pasid)
}

/**
 * Make (device, pasid) translate through `to` (undefined: blocked). The old entry goes first and
 * its DID is put, then the new domain's DID is got, as the model's setEntry does (so DIDs are
 * handed out in the same order). `swap`: rewrite a present entry in place. All or nothing:
 * on ENOSPC/ENOMEM the old entry and DID are back. Returns null when nothing changed.
 */
export function programEntry(k: Kern, dev: KDevice, pasid: number, to: Domain | undefined, swap: boolean, restore?: PutDid): Ret<EntryChange | null> {
  const old = entryOf(dev, pasid)
  if (old?.domain === to) return null
  const unit = dev.unit
  if (old !== undefined && to !== undefined && swap) {
    const put = detachDid(unit, old.domain)
    const did = attachDid(unit, to, restore)
    if (isErr(did)) {
      attachDid(unit, old.domain, put)
      return did
    }
    swapEntry(k, dev, pasid, to, did, old.did)
    setSw(dev, pasid, { domain: to, did })
    return { dev, pasid, old: { ...old, put } }
  }
  let put: PutDid | undefined
  if (old !== undefined) {
    clearEntry(k, dev, pasid, old.did)
    setSw(dev, pasid, undefined)
    put = detachDid(unit, old.domain)
  }
  const change: EntryChange = { dev, pasid, ...(old && { old: { ...old, put: put! } }) }
  if (to === undefined) return change
  const did = attachDid(unit, to, restore)
  const e = isErr(did) ? did : writeEntry(k, dev, pasid, to, did)
  if (isErr(e)) {
    if (!isErr(did)) detachDid(unit, to)
    if (old !== undefined) {
      attachDid(unit, old.domain, put)
      if (isErr(writeEntry(k, dev, pasid, old.domain, old.did))) throw new Error('luv: rewriting a cleared entry allocated')
      setSw(dev, pasid, old)
    }
    return e
  }
  setSw(dev, pasid, { domain: to, did: did as number })
  return change
}

/** Put back what a programEntry changed (error paths; never fails). */
export function undoEntry(k: Kern, c: EntryChange): void {
  const r = programEntry(k, c.dev, c.pasid, c.old?.domain, false, c.old?.put)
  if (isErr(r)) throw new Error(`luv: undoing an entry change failed with ${r}`)
}

/** Clear an entry in hardware only (kexec shutdown of devices that are not preserved). */
export function shutdownEntry(k: Kern, dev: KDevice, pasid: number): void {
  const e = hwEntry(k.m, dev.unit.index, dev.bus, dev.devfn, pasid)
  if (e !== undefined) clearEntry(k, dev, pasid, e.did)
}

/** Clear PASIDE once no PASID entry of the device is kept (kexec shutdown). */
export function shutdownPasidTable(k: Kern, dev: KDevice): void {
  const c = ctxSlot(k.m, dev.unit.index, dev.bus, dev.devfn)
  if (c !== undefined) {
    epoch.iommu++
    c.t[c.i + 4] = 0
    c.t[c.i + 5] = 0
  }
}

/** After PTEs of a domain were cleared: flush every DID tagging it, on every unit, before the
 *  pages can be reused (iommu_iotlb_sync → cache_tag_flush_range). */
export function flushDomainRange(k: Kern, dom: Domain, iovaPfn: number, npages: number): void {
  if (!k.bug.flushOnUnmap) return
  for (const [unit, info] of dom.iommus) k.m.iotlb.flushPages(unit.index, info.did, iovaPfn, Math.min(npages, k.bug.psiMaxPages)) // hook psiMaxPages
}

// ---------------------------------------------------------------- KHO of the structures

/**
 * Preserve a unit's root table, the context tables still holding a present entry, and the
 * PASID directories and tables they point at (VT-d preserve / preserve_device: "all currently
 * active context tables"); clear the root entries of context tables left empty. Returns the
 * root PFN.
 */
export function preserveStructures(k: Kern, unit: Unit): number {
  const m = k.m
  const phys = m.phys
  const rt = m.rtaddr[unit.index]
  const root = phys.iommuPage(rt)!
  phys.preserve(rt)
  for (let ri = 0; ri < 1024; ri += 2) {
    if (!(root[ri] & P)) continue
    const cpfn = qpfn(root, ri)
    const ct = phys.iommuPage(cpfn)!
    let used = false
    for (let ci = 0; ci < 1024; ci += 8) {
      if (ct[ci] & P) used = true
      if (!(ct[ci + 4] & PASIDE)) continue
      used = true
      const dpfn = qpfn(ct, ci + 4)
      const dir = phys.iommuPage(dpfn)!
      phys.preserve(dpfn)
      for (let di = 0; di < 512; di++) if (dir[2 * di] & P) phys.preserve(qpfn(dir, 2 * di))
    }
    if (used) phys.preserve(cpfn)
    else {
      epoch.iommu++
      root[ri] = 0
      root[ri + 1] = 0
    }
  }
  return rt
}

/**
 * Next boot: reuse a preserved root table (translation stays on) and claim every structure page
 * it reaches from KHO. A page that is not an incoming IOMMU structure page is a panic message.
 */
export function adoptStructures(k: Kern, unit: Unit, rootPfn: number): string | undefined {
  const phys = k.m.phys
  const claim = (pfn: number, what: string): Uint32Array | string => {
    if (phys.zoneOf(pfn) !== 'iommu' || !phys.restore(pfn)) return `${unit.name}: ${what} ${pfn} is not a preserved IOMMU structure page`
    return phys.iommuPage(pfn)!
  }
  const root = claim(rootPfn, 'root table')
  if (typeof root === 'string') return root
  for (let ri = 0; ri < 1024; ri += 2) {
    if (!(root[ri] & P)) continue
    const ct = claim(qpfn(root, ri), 'context table')
    if (typeof ct === 'string') return ct
    for (let ci = 0; ci < 1024; ci += 8) {
      if (!(ct[ci + 4] & PASIDE)) continue
      const dir = claim(qpfn(ct, ci + 4), 'PASID directory')
      if (typeof dir === 'string') return dir
      for (let di = 0; di < 512; di++) {
        if (!(dir[2 * di] & P)) continue
        const pt = claim(qpfn(dir, 2 * di), 'PASID table')
        if (typeof pt === 'string') return pt
      }
    }
  }
  k.m.rtaddr[unit.index] = rootPfn
  epoch.iommu++
  return undefined
}
