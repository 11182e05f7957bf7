// LUO file handlers (struct liveupdate_file_handler with its liveupdate_file_ops): one object
// per file type, registered in a list that preserve walks in order, the first whose
// can_preserve accepts the file winning (samikhawaja/linux kernel/liveupdate/luo_file.c).
// Each handler serializes its own state into the handover (`serialize` at freeze time, the
// bytes of FORMAT.md's FILE record) and rebuilds it in the next kernel.
//
// Sources: memfd: samikhawaja/linux mm/memfd_luo.c; iommufd: drivers/iommu/iommufd/
// liveupdate.c (domain/live-update.md §2.2–2.3); vfio-pci: drivers/vfio/pci/
// vfio_pci_liveupdate.c (§3).

import type { Errno } from '../../models/ops.ts'
import type { Reader, Writer } from './handover/codec.ts'
import { reject } from './handover/codec.ts'
import { Idr } from './idr.ts'
import { dropLu } from './iommufd.ts'
import { newFile } from './files.ts'
import { pagePut } from './memfd.ts'
import type { Domain, FileKind, HandlerData, Hwpt, IncomingFile, IncomingSession, IommufdCtx, KFile, Kern, LuRecord, MemfdFile, LuoFile, Ret } from './state.ts'
import { isErr } from './state.ts'
import { newCdev } from './vfio.ts'
import { iommufdAttached, iommufdDevicePreserve, iommuUnpreserveDevice, pciLiveupdatePreserve, pciLiveupdateUnpreserve } from './device_preserve.ts'

export interface SerializeCtx {
  domainIndex: Map<Domain, number>
  /** the handover's idea of a u64 token (defect token-truncated-to-u32 narrows it) */
  token: (t: bigint) => bigint
}

export interface DeserializeCtx {
  k: Kern
  /** the DOMAIN records by index; undefined where nothing rebuilt the domain */
  domains: (Domain | undefined)[]
}

export interface FileHandler {
  /** liveupdate_file_handler.compatible */
  compatible: string
  kind: FileKind
  canPreserve(k: Kern, f: KFile): boolean
  preserve(k: Kern, e: LuoFile): Ret<void>
  unpreserve(k: Kern, e: LuoFile): void
  freeze(k: Kern, e: LuoFile): Ret<void>
  /** optional, as in liveupdate_file_ops: luo_file_unfreeze_one calls it only if set */
  unfreeze?(k: Kern, e: LuoFile): void
  serialize(k: Kern, e: LuoFile, w: Writer, ctx: SerializeCtx): void
  /** may call reject() (CodecError): the next kernel panics */
  deserialize(r: Reader, ctx: DeserializeCtx): HandlerData
  retrieve(k: Kern, sess: IncomingSession, inf: IncomingFile): Ret<KFile>
  canFinish(k: Kern, inf: IncomingFile): boolean
  finish(k: Kern, sess: IncomingSession, inf: IncomingFile, discarded: Set<Domain>): void
}

const retrievedFile = (inf: IncomingFile): KFile | undefined => (inf.retrieved === undefined || isErr(inf.retrieved) ? undefined : inf.retrieved)

// ---------------------------------------------------------------- memfd

/** memfd-v1 (torvalds/linux mm/memfd_luo.c 02e117b: "Seals: File seals are not preserved. The
 *  file is unsealed on restore") and memfd-v2 (newer memfd_luo.c, include/linux/kho/abi/
 *  memfd.h MEMFD_LUO_ALL_SEALS: the seals are serialized and re-applied). Which one the
 *  kernel registers is the memfdSeals axis. */
function memfdHandler(compatible: 'memfd-v1' | 'memfd-v2'): FileHandler {
  const v2 = compatible === 'memfd-v2'
  return {
    compatible,
    kind: 'memfd',
    canPreserve: (_k, f) => f.kind === 'memfd',
    preserve(k, e) {
      const f = e.file as MemfdFile
      // memfd_luo_preserve: KHO-preserve every folio and freeze the mapping's size
      for (const p of f.pages) k.m.phys.preserve(p)
      f.frozen = k.bug.freezeMemfd
    },
    unpreserve(k, e) {
      const f = e.file as MemfdFile
      for (const p of f.pages) k.m.phys.unpreserve(p)
      f.frozen = false
    },
    freeze: () => undefined,
    unfreeze: () => undefined,
    serialize(_k, e, w) {
      const f = e.file as MemfdFile
      w.u32(f.pages.length)
      if (v2) w.u8(f.seals)
      for (const p of f.pages) w.u64n(p)
    },
    deserialize(r, { k }) {
      const n = r.u32()
      const seals = v2 ? r.u8() : 0
      if (seals > 15) reject(`memfd seals 0x${seals.toString(16)}`)
      const pfns: number[] = []
      const seen = new Set<number>()
      for (let i = 0; i < n; i++) {
        const p = r.u64n()
        if (k.m.phys.zoneOf(p) !== 'memory' || !k.m.phys.isIncoming(p) || seen.has(p)) reject(`memfd page ${p} is not a preserved page`)
        seen.add(p)
        pfns.push(p)
      }
      return { kind: 'memfd', pfns, seals }
    },
    retrieve(k, _sess, inf) {
      const d = inf.data as Extract<HandlerData, { kind: 'memfd' }>
      // kho_restore_folio for each page; the file owns them from now on
      for (const p of d.pfns) k.m.phys.restore(p)
      return newFile<MemfdFile>(k, { kind: 'memfd', pages: [...d.pfns], seals: d.seals & k.bug.reappliedSealMask, frozen: false }) // hook reappliedSealMask
    },
    canFinish: () => true,
    finish(k, _sess, inf) {
      // memfd_luo_finish without retrieve: the preserved folios are put back
      if (retrievedFile(inf) !== undefined) return
      for (const p of (inf.data as Extract<HandlerData, { kind: 'memfd' }>).pfns) pagePut(k, p)
    },
  }
}

// ---------------------------------------------------------------- iommufd

/** F_SEAL_SEAL | F_SEAL_GROW | F_SEAL_SHRINK recorded at map time (V2 patch 11). */
const REQUIRED_SEALS = 1 | 4 | 2

const markedHwpts = (ictx: IommufdCtx) =>
  [...ictx.objects.values()].flatMap((o) => (o.type === 'HWPT_PAGING' && o.mark !== undefined ? [o] : [])).sort((a, b) => a.id - b.id)

const iommufdHandler: FileHandler = {
  compatible: 'iommufd-v1',
  kind: 'iommufd',
  canPreserve: (_k, f) => f.kind === 'iommufd',
  /** For each marked HWPT: check_iopt_pages_preserved, then the IOAS freezes and the domain
   *  is preserved (iommu_domain_preserve KHO-preserves every table page). */
  preserve(k, e) {
    const ictx = e.file as IommufdCtx
    const marked = markedHwpts(ictx)
    // check_iopt_pages_preserved: file-backed (EINVAL), sealed at map time (EINVAL, D7), backed
    // by a memfd already preserved in this session (ENOENT); memoryRule=none: V1
    // iommufd_save_hwpts looks at nothing but hwpt->common.domain
    const areasProblem = (h: Hwpt): Errno | undefined => {
      if (h.ioas === undefined || k.design.memoryRule === 'none') return undefined
      for (const { value: area } of h.ioas.areas) {
        if (area.kind !== 'file') return 'EINVAL'
        if (k.design.memoryRule === 'sealed-preserved-memfd' && (k.bug.requireAllSeals ? (area.seals & REQUIRED_SEALS) !== REQUIRED_SEALS : (area.seals & REQUIRED_SEALS) === 0)) return 'EINVAL' // hook requireAllSeals
        if (area.file?.luo?.session !== e.session) return 'ENOENT'
      }
      return undefined
    }
    if (k.design.markImpl === 'token-xarray-ref') {
      // V3a iommufd_liveupdate_preserve, pass 3: xa_for_each(&ictx->liveupdate_tokens) in token
      // order; each IOAS's areas checked once (ioas_array), then iommu_domain_preserve. Two
      // tokens for one HWPT preserve its domain twice: the second sees it preserved, -EBUSY
      // (but only after the first entry's IOAS passed its check)
      const visited = new Set<unknown>()
      const preserved = new Set<Hwpt>()
      for (const [, h] of [...ictx.marks.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (h.ioas !== undefined && !visited.has(h.ioas)) {
          const bad = areasProblem(h)
          if (bad) return bad
          visited.add(h.ioas)
        }
        if (preserved.has(h) || h.domain.preserved !== undefined) return 'EBUSY'
        preserved.add(h)
      }
    } else
      for (const h of marked) {
        if (h.ioas === undefined) continue
        const bad = areasProblem(h)
        if (bad) return bad
        // iommu_domain_preserve: EBUSY if this domain is already preserved
        if (h.domain.preserved !== undefined) return 'EBUSY'
      }
    const froze = []
    for (const h of marked) {
      if (h.ioas === undefined) continue
      // D6: the whole IOAS becomes immutable, or only the domain is frozen
      if (k.design.ioasFreeze === 'whole-ioas' && k.bug.freezeIoas && !h.ioas.immutable) {
        h.ioas.immutable = true
        froze.push(h.ioas)
      }
      h.domain.preserved = { session: e.session.name, token: h.mark! }
      for (const p of h.domain.pt.tablePages()) k.m.phys.preserve(p)
    }
    ictx.preservedIn = e.session.name
    e.froze = froze
  },
  unpreserve(k, e) {
    const ictx = e.file as IommufdCtx
    for (const io of e.froze ?? []) io.immutable = !k.bug.thawIoasOnUnpreserve // hook thawIoasOnUnpreserve
    for (const o of ictx.objects.values()) {
      if (o.type !== 'HWPT_PAGING' || o.domain.preserved?.session !== e.session.name) continue
      for (const p of o.domain.pt.tablePages()) k.m.phys.unpreserve(p)
      o.domain.preserved = undefined
    }
    // V1 iommufd_liveupdate_unpreserve walks ictx->objects only: a destroyed HWPT's domain is
    // never iommu_domain_unpreserve'd, so its KHO marks and its iommu_domain_ser stay; the
    // serialized iommufd_lu with its record goes
    ictx.lost = undefined
    ictx.preservedIn = undefined
  },
  // "everything should be made read-only" already: nothing to do
  freeze: () => undefined,
  unfreeze: () => undefined,
  serialize(_k, e, w, ctx) {
    const ictx = e.file as IommufdCtx
    const recs = markedHwpts(ictx).filter((h) => h.domain.preserved?.session === e.session.name)
    // destroyPreserved=frees-domain: iommufd_save_hwpts wrote a record at preserve for each
    // marked HWPT, in object order; one destroyed since keeps its place (nothing removes it)
    const rows: { id: number; token: bigint; domain: Domain; h?: Hwpt }[] = recs.map((h) => ({ id: h.id, token: h.domain.preserved!.token, domain: h.domain, h }))
    for (const x of ictx.lost ?? []) rows.push(x)
    rows.sort((a, b) => a.id - b.id)
    w.u32(rows.length)
    for (const row of rows) {
      const devs = new Set<string>()
      const h = row.h
      if (h !== undefined) for (const per of ictx.attach.values()) for (const at of per.values()) if (at.hwpt === h) for (const d of at.devices) devs.add(d.bdf)
      // the token taken at preserve: a mark after it does not reach the record
      w.u64(ctx.token(row.token)).u32(ctx.domainIndex.get(row.domain)!).u16(devs.size)
      for (const bdf of [...devs].sort()) w.str(bdf)
    }
  },
  deserialize(r, { k, domains }) {
    const n = r.u32()
    const records: LuRecord[] = []
    for (let i = 0; i < n; i++) {
      const token = r.u64()
      const idx = r.u32()
      if (idx >= domains.length) reject(`HWPT record names domain ${idx} of ${domains.length}`)
      const devices: string[] = []
      for (let j = r.u16(); j > 0; j--) {
        const bdf = r.str()
        if (!k.deviceByBdf.has(bdf)) reject(`HWPT record names unknown device ${bdf}`)
        devices.push(bdf)
      }
      if (records.some((x) => x.token === token)) reject(`two HWPT records with token ${token}`)
      records.push({ token, domain: domains[idx], devices })
    }
    return { kind: 'iommufd', records }
  },
  retrieve(k, sess, inf) {
    // Phase 1 (V2): the iommufd cannot be retrieved yet (and LUO makes that stick)
    if (k.design.restoreFlow === 'boot-only') return 'EOPNOTSUPP'
    const d = inf.data as Extract<HandlerData, { kind: 'iommufd' }>
    // ictx->lu = the record; its records now hold the restored domains (the incoming
    // session's hold ends at the same moment: the counts do not move)
    const records = d.records.map((r) => ({ token: r.token, domain: r.domain, devices: [...r.devices] }))
    return newFile<IommufdCtx>(k, {
      kind: 'iommufd',
      objects: new Map(),
      ids: new Idr(1),
      attach: new Map(),
      lu: { session: sess.name, token: inf.token, records },
      preservedIn: undefined,
      marks: new Map(),
      lost: undefined,
    })
  },
  canFinish(k, inf) {
    if (k.design.restoreFlow === 'boot-only') return false
    const ictx = retrievedFile(inf) as IommufdCtx | undefined
    if (ictx?.lu === undefined || ictx.lu.records.some((r) => r.reclaimedAs === undefined)) return false
    // no restored HWPT may still be attached: the user must replace it first
    // with finishGate=restored-destroyed it must be destroyed altogether
    const gateDestroyed = k.design.finishGate === 'restored-destroyed'
    for (const o of ictx.objects.values()) if (o.type === 'HWPT_PAGING' && o.restored && (gateDestroyed || o.domain.slots > 0)) return false
    return true
  },
  finish(k, _sess, inf, discarded) {
    const ictx = retrievedFile(inf) as IommufdCtx | undefined
    const recs = ictx !== undefined ? (ictx.lu?.records ?? []) : (inf.data as Extract<HandlerData, { kind: 'iommufd' }>).records
    for (const r of recs) if (r.reclaimedAs === undefined && r.domain !== undefined) discarded.add(r.domain)
    if (k.bug.freeTablesAtFinish)
      for (const r of recs)
        if (r.domain !== undefined && !r.domain.tablesGone) {
          for (const p of r.domain.pt.tablePages()) k.m.phys.free(p)
          r.domain.tablesGone = true
        }
    if (ictx !== undefined) dropLu(k, ictx)
  },
}

// ---------------------------------------------------------------- vfio-pci

const vfioHandler: FileHandler = {
  compatible: 'vfio-pci-v1',
  kind: 'vfio',
  // vfio_pci_liveupdate_can_preserve: a cdev-opened vfio-pci device; nothing about its group
  // (samikhawaja/linux drivers/vfio/pci/vfio_pci_liveupdate.c 03855e7)
  canPreserve: (_k, f) => f.kind === 'vfio',
  /** vfio_pci_liveupdate_preserve: "If iommufd is attached, preserve the underlying domain"
   *  (iommufd_device_preserve), then pci_liveupdate_preserve; its failure unwinds the first. */
  preserve(k, e) {
    if (e.file.kind !== 'vfio') return
    const vf = e.file
    const dev = vf.dev
    const attached = vf.bound !== undefined && iommufdAttached(vf.bound.ictx, dev)
    if (attached) {
      const r = iommufdDevicePreserve(k, e.session, vf.bound!.ictx, dev)
      if (isErr(r)) return r
    }
    const p = pciLiveupdatePreserve(dev)
    if (isErr(p)) {
      if (attached) iommuUnpreserveDevice(dev) // err_iommufd_unpreserve
      return p
    }
    e.iommu = attached
  },
  unpreserve(_k, e) {
    if (e.file.kind !== 'vfio') return
    if (e.iommu) iommuUnpreserveDevice(e.file.dev)
    pciLiveupdateUnpreserve(e.file.dev)
  },
  /** vfio_pci_liveupdate_freeze (03855e7): interrupts still enabled is -EINVAL, reboot()
   *  fails; otherwise pci_load_saved_state, vfio_pci_core_try_reset, pci_restore_state: the
   *  device goes back to idle (deviceAcrossKexec=reset-at-freeze). The handler has no
   *  .unfreeze, so when reboot() fails later the reset stays. Under keeps-running the freeze
   *  only checks the interrupts (no posted code: the DOC's target). */
  freeze(k, e) {
    if (e.file.kind !== 'vfio') return
    if (e.file.irqs && k.bug.freezeChecksIrqs) return 'EINVAL' // hook freezeChecksIrqs
    if (k.design.deviceAcrossKexec === 'reset-at-freeze') e.file.dev.reset = true
  },
  serialize(_k, e, w, ctx) {
    if (e.file.kind !== 'vfio') return
    // our record: the BDF, then whether IOMMU state went with it and the iommufd's token
    w.str(e.file.dev.bdf).u8(e.iommu ? 1 : 0)
    if (e.iommu) w.u64(ctx.token(e.file.bound!.ictx.luo!.token))
  },
  deserialize(r, { k }) {
    const bdf = r.str()
    if (!k.deviceByBdf.has(bdf)) reject(`vfio file names unknown device ${bdf}`)
    const iommu = r.u8()
    if (iommu > 1) reject(`vfio file for ${bdf}: iommu flag ${iommu}`)
    return iommu === 1 ? { kind: 'vfio', bdf, iommufdToken: r.u64() } : { kind: 'vfio', bdf }
  },
  /** vfio_pci_liveupdate_retrieve: find the device, open a cdev file for it, and keep the
   *  record in vdev->liveupdate_incoming_state until vfio_pci_core_enable is done with it. */
  retrieve(k, _sess, inf) {
    const dev = k.deviceByBdf.get((inf.data as Extract<HandlerData, { kind: 'vfio' }>).bdf)!
    dev.incoming = undefined
    dev.liveupdateIncomingState = inf.data
    return newCdev(k, dev)
  },
  /** vfio_pci_liveupdate_can_finish: retrieve_status > 0 and !vdev->liveupdate_incoming_state. */
  canFinish(k, inf) {
    if (retrievedFile(inf) === undefined) return false
    return k.deviceByBdf.get((inf.data as Extract<HandlerData, { kind: 'vfio' }>).bdf)!.liveupdateIncomingState === undefined
  },
  finish(k, _sess, inf) {
    const dev = k.deviceByBdf.get((inf.data as Extract<HandlerData, { kind: 'vfio' }>).bdf)!
    dev.incoming = undefined
    dev.liveupdateIncomingState = undefined
  },
}

/** The registered handlers, in liveupdate_register_file_handler order: the memfd handler is
 *  memfd-v1 or memfd-v2 (memfdSeals). */
const HANDLERS_V1: readonly FileHandler[] = [memfdHandler('memfd-v1'), iommufdHandler, vfioHandler]
const HANDLERS_V2: readonly FileHandler[] = [memfdHandler('memfd-v2'), iommufdHandler, vfioHandler]

export function fileHandlers(k: { design: Kern['design'] }): readonly FileHandler[] {
  return k.design.memfdSeals === 'reapplied' ? HANDLERS_V2 : HANDLERS_V1
}

export function handlerOf(k: { design: Kern['design'] }, kind: FileKind): FileHandler {
  return fileHandlers(k).find((h) => h.kind === kind)!
}

/** The next kernel finds a handler by the compatible string the old one wrote. */
export function handlerByCompatible(k: { design: Kern['design'] }, compatible: string): FileHandler | undefined {
  return fileHandlers(k).find((h) => h.compatible === compatible)
}
