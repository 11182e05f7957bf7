// KEXEC with LUO, and the next kernel's boot up to the point where userspace runs again.
//
// reboot(): freeze every preserved file (FIFO; a failure unfreezes the frozen ones and
// reboot() returns it: luo_file.c luo_file_freeze), serialize everything preserved into the
// handover blob (handover/FORMAT.md), then shut the IOMMUs down: context and PASID entries of
// devices that are not preserved are cleared, the root/context/PASID tables still in use are
// KHO-preserved, and every unit gets a global invalidation (V3 intel/liveupdate.c).
//
// boot(): a fresh Kern from the blob and the preserved pages only. Translation stays on for
// units with preserved devices: the root table is reused and its tables claimed; each
// preserved domain's page table is adopted once (domain_ser->restored_domain) and shared by its
// devices, which are attached with their old DIDs, reserved in domain_ida per didReservation;
// their groups come up owned by the preserved iommufd's token (live-update.md §4.2). Anything
// the blob says that the machine does not back is a panic: drivers/iommu/liveupdate.c
// (samikhawaja/linux) BUG_ONs rather than run with IOMMU state it cannot trust.

import type { Design } from '../../models/design.ts'
import { resolveDevices, type Platform } from '../../models/platform.ts'
import type { DefectHooks } from './defects/hooks.ts'
import type { FaultInjector } from './failnth.ts'
import { CodecError, decodeHandover, HandoverWriter, Reader, reject, Writer, type HandoverRecord } from './handover/codec.ts'
import { Ida } from './ida.ts'
import { Idr } from './idr.ts'
import { domainGet, setSlot } from './iommu.ts'
import { handlerByCompatible, handlerOf, type SerializeCtx } from './luo_file.ts'
import { PageTable } from './pagetable.ts'
import { isPanic, panic, type Panic } from './panic.ts'
import type { Domain, IGroup, IncomingSession, KDevice, Kern, Machine, LuoFile, Ret, Unit, VfioFile } from './state.ts'
import { isErr } from './state.ts'
import { packedOf } from './packed.ts'
import { adoptStructures, allocRoot, hwEntry, hwPasids, parseBdf, preserveStructures, shutdownEntry, shutdownPasidTable } from './vtd.ts'

export const HANDOVER_VERSION = 1

/** Record tags (handover/FORMAT.md "Records"). */
export const TAG = { KERNEL: 1, UNIT: 2, DOMAIN: 3, SESSION: 4, FILE: 5, DEVICE: 6 } as const

/** What a boot is given besides the blob: the machine and the run's parameters. */
export interface BootParams {
  platform: Platform
  design: Design
  bug: DefectHooks
  faults: FaultInjector
  m: Machine
}

// ---------------------------------------------------------------- a fresh kernel

/** The kernel's state at boot before anything is restored: units, devices and groups probed. */
function freshKern(p: BootParams, boot: number): Kern {
  const units: Unit[] = packedOf(p.platform.units, (u, index) => ({
    index,
    name: u.name,
    dids: u.dids,
    ida: new Ida(u.dids + p.bug.didLimitSlack, p.faults, p.bug.didStart), // hook didLimitSlack
  }))
  const groups = new Map<string, IGroup>()
  const devices: KDevice[] = []
  for (const d of resolveDevices(p.platform)) {
    let g = groups.get(d.group)
    if (g === undefined) groups.set(d.group, (g = { name: d.group, devices: [], owner: { kind: 'none' }, ownerCnt: 0, domain: 'default', pasids: new Map() }))
    const dev: KDevice = {
      bdf: d.bdf,
      ...parseBdf(d.bdf),
      unit: units.find((u) => u.name === d.unit)!,
      group: g,
      pasidCaps: d.pasids,
      // every device starts bound to vfio-pci (driver_override), which does not use the DMA API
      driver: 'vfio-pci',
      pasids: new Map(),
      cdevs: 0,
      // set later by the ops; present from probe so every device keeps one object shape (issue 12)
      preservedIn: undefined,
      incoming: undefined,
      rid: undefined,
      reset: undefined,
      boundBy: undefined,
      liveupdateIncomingState: undefined,
      pciPreserved: undefined,
    }
    g.devices.push(dev)
    devices.push(dev)
  }
  return {
    platform: p.platform,
    design: p.design,
    bug: p.bug,
    faults: p.faults,
    m: p.m,
    boot,
    units,
    devices,
    deviceByBdf: new Map(devices.map((d) => [d.bdf, d])),
    groups: [...groups.values()],
    files: new Map(),
    nextFile: 1,
    fds: new Map(),
    fdIds: new Idr(3),
    pageRef: new Uint32Array(p.platform.memoryPages),
    domains: new Set(),
    nextDomain: 1,
    pending: new Set(),
    outgoing: [],
    incoming: [],
    restoredDids: new Map(),
    zero: new Set(),
    luoFile: undefined,
    probes: undefined,
    transient: [],
  }
}

/** First boot: every unit gets an empty root table. */
export function coldBoot(p: BootParams): Kern {
  const k = freshKern(p, 0)
  for (const u of k.units) if (isErr(allocRoot(k, u))) throw new Error('luv: the IOMMU structure zone is too small')
  return k
}

// ---------------------------------------------------------------- the old kernel's side

/** luo_file_unfreeze_one: the handler's .unfreeze, if it has one (VFIO has none). */
function unfreezeOne(k: Kern, e: LuoFile): void {
  handlerOf(k, e.kind).unfreeze?.(k, e)
  e.frozen = false
}

/** luo_file_freeze: a session's files in FIFO order; on a failure __luo_file_unfreeze walks
 *  the files frozen before it, forwards (torvalds/linux kernel/liveupdate/luo_file.c). */
function fileFreeze(k: Kern, files: LuoFile[]): Ret<void> {
  for (const [i, e] of files.entries()) {
    const r = handlerOf(k, e.kind).freeze(k, e)
    if (isErr(r)) {
      for (const x of files.slice(0, i)) unfreezeOne(k, x)
      return r
    }
    e.frozen = true
  }
}

/** What a KEXEC asks of reboot() beyond the freeze: `khoFinalizeFails` makes kho_finalize
 *  fail once every file is frozen. */
export interface RebootArgs {
  khoFinalizeFails?: boolean
}

/** reboot(LINUX_REBOOT_CMD_KEXEC) as liveupdate_reboot runs it: luo_session_serialize (each
 *  session's luo_file_freeze; a failure unfreezes the sessions frozen before, in reverse:
 *  luo_session.c err_undo), then kho_finalize, whose failure is -EAGAIN with nothing
 *  unfrozen (luo_core.c). Then serialize and shut the IOMMUs down. The blob, or the errno;
 *  what a freeze did and no .unfreeze undid (VFIO's reset) stays. */
export function reboot(k: Kern, a: RebootArgs = {}): Ret<Uint8Array> {
  for (const [i, sess] of k.outgoing.entries()) {
    const r = fileFreeze(k, sess.files)
    if (isErr(r)) {
      for (const s of k.outgoing.slice(0, i).reverse()) for (const x of s.files) unfreezeOne(k, x)
      return r
    }
  }
  if (a.khoFinalizeFails) return 'EAGAIN'
  k.faults.disarm() // past the point of no return nothing may fail
  const blob = encodeHandover(collect(k))
  shutdown(k)
  return blob
}

/** Devices whose IOMMU state was preserved (iommufd_device_preserve ran for their file). */
const preservedDevices = (k: Kern): { dev: KDevice; e: LuoFile }[] =>
  k.outgoing.flatMap((s) => s.files.flatMap((e) => (e.file.kind === 'vfio' && e.iommu === true ? [{ dev: e.file.dev, e }] : [])))

/** What the old kernel hands over, gathered from its state (encodeHandover writes it). Its
 *  lists are built by packedOf (packed.ts): encodeHandover reads them at every KEXEC. */
function collect(k: Kern): Handover {
  const token = (t: bigint): bigint => (k.bug.tokenBits === 32 ? t & 0xffffffffn : t)
  const devs = preservedDevices(k)
  const domains = [...k.domains].filter((d) => d.preserved !== undefined).sort((a, b) => a.serial - b.serial)
  const ctx: SerializeCtx = { domainIndex: new Map(domains.map((d, i) => [d, i])), token }
  return {
    boot: k.boot + 1,
    nunits: k.units.length,
    ndevices: k.devices.length,
    units: packedOf(handedOverUnits(k), (u) => ({ index: u.index, name: u.name, dids: u.dids, root: k.m.rtaddr[u.index] })),
    domains: packedOf(domains, (d) => ({ session: d.preserved!.session, token: token(d.preserved!.token), root: d.pt.root, level: 4, freed: d.tablesGone })),
    sessions: packedOf(k.outgoing, (sess) => ({
      name: sess.name,
      files: packedOf(sess.files, (e) => {
        const h = handlerOf(k, e.kind)
        const data = new Writer()
        h.serialize(k, e, data, ctx)
        return { compatible: h.compatible, token: e.token, data: data.toBytes() }
      }),
    })),
    devices: packedOf(devs, ({ dev, e }) => ({
      bdf: dev.bdf,
      unit: dev.unit.index,
      session: e.session.name,
      cdevToken: e.token,
      iommufdToken: token((e.file as VfioFile).bound!.ictx.luo!.token),
      did: dev.rid!.did,
      domain: ctx.domainIndex.get(dev.rid!.domain)!,
      pasids: packedOf(
        [...dev.pasids].filter(([, x]) => x.domain.preserved !== undefined).sort((a, b) => a[0] - b[0]),
        ([pasid, x]) => ({ pasid, did: x.did, domain: ctx.domainIndex.get(x.domain)! }),
      ),
    })),
  }
}

/** The handover blob (FORMAT.md): KERNEL, UNITs, DOMAINs, each SESSION with its FILEs, DEVICEs. */
export function encodeHandover(h: Handover): Uint8Array {
  const w = new HandoverWriter(HANDOVER_VERSION)
  w.record(TAG.KERNEL, (b) => b.u32(h.boot).u16(h.nunits).u16(h.ndevices))
  for (const u of h.units) w.record(TAG.UNIT, (b) => b.u16(u.index).str(u.name).u32(u.dids).u64n(u.root))
  h.domains.forEach((d, i) => w.record(TAG.DOMAIN, (b) => b.u32(i).str(d.session).u64(d.token).u64n(d.root).u8(d.level).u8(d.freed ? 1 : 0)))
  for (const s of h.sessions) {
    w.record(TAG.SESSION, (b) => b.str(s.name).u32(s.files.length))
    for (const f of s.files) w.record(TAG.FILE, (b) => b.str(f.compatible).u64(f.token).bytes(f.data))
  }
  for (const d of h.devices)
    w.record(TAG.DEVICE, (b) => {
      b.str(d.bdf).u16(d.unit).str(d.session).u64(d.cdevToken).u64(d.iommufdToken).u16(d.did).u32(d.domain).u16(d.pasids.length)
      for (const x of d.pasids) b.u32(x.pasid).u16(x.did).u32(x.domain)
    })
  return w.finish()
}

/** Decode a blob against this machine (a panic when it is corrupt or from another one). */
export function decodeHandoverBlob(blob: Uint8Array, platform: Platform): Handover | Panic {
  return decodeHandover(blob, HANDOVER_VERSION, (recs) => parse(recs, platform))
}

/** Units whose root table the next kernel reuses: those with a preserved device (the defect
 *  unpreserved-context-entries-survive-kexec: every unit with a live entry). */
function handedOverUnits(k: Kern): Unit[] {
  const keep = (d: KDevice) => (k.bug.clearUnpreserved ? d.preservedIn !== undefined : d.rid !== undefined || d.pasids.size > 0)
  return k.units.filter((u) => k.devices.some((d) => d.unit === u && keep(d)))
}

/** Clear what is not preserved, KHO-preserve the IOMMU structures still in use, flush all. */
function shutdown(k: Kern): void {
  for (const dev of k.devices) {
    const hw = hwPasids(k.m, dev.unit.index, dev.bus, dev.devfn)
    if (dev.preservedIn === undefined) {
      if (!k.bug.clearUnpreserved) continue
      shutdownEntry(k, dev, 0)
      for (const p of hw) shutdownEntry(k, dev, p)
      shutdownPasidTable(k, dev)
      continue
    }
    // a preserved device keeps the PASID entries whose domains are preserved (pasidPreservation)
    let kept = 0
    for (const p of hw)
      if (dev.pasids.get(p)?.domain.preserved !== undefined) kept++
      else shutdownEntry(k, dev, p)
    if (kept === 0) shutdownPasidTable(k, dev)
  }
  for (const u of handedOverUnits(k)) preserveStructures(k, u)
  for (const u of k.units) k.m.iotlb.flushGlobal(u.index)
}

// ---------------------------------------------------------------- the next kernel's side

/** The handover's content, as the records carry it (FORMAT.md). */
export interface Handover {
  /** liveupdate-number of the next kernel */
  boot: number
  /** the machine it was written on */
  nunits: number
  ndevices: number
  units: { index: number; name: string; dids: number; root: number }[]
  /** freed: the old kernel freed this domain's table after preserving it
   *  (destroyPreserved=frees-domain); see FORMAT.md DOMAIN flags */
  domains: { session: string; token: bigint; root: number; level: number; freed: boolean }[]
  sessions: { name: string; files: { compatible: string; token: bigint; data: Uint8Array }[] }[]
  devices: {
    bdf: string
    unit: number
    session: string
    cdevToken: bigint
    iommufdToken: bigint
    did: number
    domain: number
    pasids: { pasid: number; did: number; domain: number }[]
  }[]
}

/** The records, checked against the schema (FORMAT.md); reject() for anything else. */
function parse(recs: HandoverRecord[], platform: Platform): Handover {
  const h: Handover = { boot: 0, nunits: 0, ndevices: 0, units: [], domains: [], sessions: [], devices: [] }
  if (recs.length === 0 || recs[0].tag !== TAG.KERNEL) reject('the first record is not KERNEL')
  let want = 0 // files still expected in the current session
  for (const [i, { tag, body: r }] of recs.entries()) {
    if (want > 0 && tag !== TAG.FILE) reject(`record ${i}: session "${h.sessions[h.sessions.length - 1].name}" is missing ${want} FILE record(s)`)
    switch (tag) {
      case TAG.KERNEL: {
        if (i !== 0) reject(`record ${i}: a second KERNEL record`)
        h.boot = r.u32()
        h.nunits = r.u16()
        h.ndevices = r.u16()
        if (h.nunits !== platform.units.length || h.ndevices !== platform.devices.length) reject('the handover is from another machine (unit or device count)')
        break
      }
      case TAG.UNIT: {
        const u = { index: r.u16(), name: r.str(), dids: r.u32(), root: r.u64n() }
        const spec = platform.units[u.index]
        if (spec === undefined || spec.name !== u.name || spec.dids !== u.dids) reject(`UNIT ${u.index} "${u.name}" does not match this machine`)
        if (h.units.some((x) => x.index === u.index)) reject(`two UNIT records for unit ${u.index}`)
        h.units.push(u)
        break
      }
      case TAG.DOMAIN: {
        const index = r.u32()
        if (index !== h.domains.length) reject(`DOMAIN ${index} out of order`)
        const d = { session: r.str(), token: r.u64(), root: r.u64n(), level: r.u8(), freed: false }
        if (d.level !== 4) reject(`DOMAIN ${index}: a ${d.level}-level table (this kernel builds 4-level ones)`)
        const flags = r.u8()
        if (flags > 1) reject(`DOMAIN ${index}: unknown flags ${flags}`)
        d.freed = flags === 1
        h.domains.push(d)
        break
      }
      case TAG.SESSION: {
        const s = { name: r.str(), files: [] }
        want = r.u32()
        if (h.sessions.some((x) => x.name === s.name)) reject(`two sessions named "${s.name}"`)
        h.sessions.push(s)
        break
      }
      case TAG.FILE: {
        if (want === 0) reject(`record ${i}: a FILE record outside a session`)
        want--
        h.sessions[h.sessions.length - 1].files.push({ compatible: r.str(), token: r.u64(), data: r.bytes() })
        break
      }
      case TAG.DEVICE: {
        const d = {
          bdf: r.str(),
          unit: r.u16(),
          session: r.str(),
          cdevToken: r.u64(),
          iommufdToken: r.u64(),
          did: r.u16(),
          domain: r.u32(),
          pasids: [] as Handover['devices'][number]['pasids'],
        }
        for (let n = r.u16(); n > 0; n--) d.pasids.push({ pasid: r.u32(), did: r.u16(), domain: r.u32() })
        h.devices.push(d)
        break
      }
      default:
        reject(`record ${i}: unknown tag ${tag}`)
    }
    r.done()
  }
  if (want > 0) reject(`the last session is missing ${want} FILE record(s)`)
  return h
}

/** Boot from a handover: a fresh kernel holding what the blob and the preserved pages say, or
 *  the panic that stops it. */
export function bootFromHandover(p: BootParams, blob: Uint8Array): Kern | Panic {
  const h = decodeHandoverBlob(blob, p.platform)
  if (isPanic(h)) return h
  const k = freshKern(p, h.boot)
  const die = (why: string): Panic => panic(`liveupdate: cannot restore: ${why}`)
  // 1. IOMMU units: translation stays on where devices were preserved
  for (const u of h.units) {
    const why = adoptStructures(k, k.units[u.index], u.root)
    if (why !== undefined) return die(why)
  }
  for (const u of k.units) if (!h.units.some((x) => x.index === u.index) && isErr(allocRoot(k, u))) return die('no memory for a root table')
  // 2. preserved domains: each page table adopted once, shared by its devices. With
  // restoreScope=preserved-device-records a domain is rebuilt only for a preserved device
  // (V2 __iommu_group_maybe_restore_domain -> iommu_restore_domain at probe): a DOMAIN no
  // DEVICE record names is never claimed, its table pages stay KHO-incoming for this boot
  const named = new Set(h.devices.flatMap((d) => [d.domain, ...d.pasids.map((x) => x.domain)]))
  const domains: (Domain | undefined)[] = []
  for (const [i, d] of h.domains.entries()) {
    // a domain whose table the old kernel freed (destroyPreserved=frees-domain) is never
    // rebuilt: no device names it (its HWPT had no attachment when destroyed), and what its
    // pages hold now depends on what the old kernel put there after the free, which luv does
    // not model (FORMAT.md DOMAIN flags); they stay KHO-incoming, held for this boot
    if ((p.design.restoreScope === 'preserved-device-records' && !named.has(i)) || d.freed) {
      domains[i] = undefined
      continue
    }
    const pt = PageTable.adopt(k.m.phys, d.root)
    if (isPanic(pt)) return pt
    // the fields in iommu.ts newDomain's order, all present (one shape for every domain)
    const restored = { session: d.session, token: d.token }
    const dom: Domain = { serial: k.nextDomain++, pt, ioas: undefined, synced: true, own: undefined, restoredRuns: undefined, iommus: new Map(), refs: 0, slots: 0, preserved: undefined, restored, tablesGone: false }
    k.domains.add(dom)
    domains[i] = dom
  }
  // 3. incoming sessions: each file's handler data
  try {
    for (const s of h.sessions) {
      const sess: IncomingSession = { name: s.name, files: [], retrievedAs: undefined, closedUnfinished: false }
      for (const f of s.files) {
        const handler = handlerByCompatible(k, f.compatible)
        if (handler === undefined) reject(`session "${s.name}": no handler for "${f.compatible}"`)
        if (sess.files.some((x) => x.token === f.token)) reject(`session "${s.name}": token ${f.token} twice`)
        const r = new Reader(f.data)
        const data = handler.deserialize(r, { k, domains })
        r.done()
        sess.files.push({ token: f.token, data, retrieved: undefined })
      }
      k.incoming.push(sess)
    }
  } catch (e) {
    if (e instanceof CodecError) return die(e.message)
    throw e
  }
  for (const sess of k.incoming)
    for (const inf of sess.files) {
      if (inf.data.kind === 'memfd') for (const pfn of inf.data.pfns) k.pageRef[pfn] = 1
      // an iommufd nobody retrieved yet still holds its restored domains
      if (inf.data.kind === 'iommufd') for (const r of inf.data.records) if (r.domain !== undefined) domainGet(r.domain)
    }
  // every preserved vfio device is held for its LUO file: a cdev open is EBUSY until
  // RETRIEVE_FD (vfio_pci_liveupdate.c DOC), with or without IOMMU state
  for (const sess of k.incoming)
    for (const inf of sess.files)
      if (inf.data.kind === 'vfio') {
        const dev = k.deviceByBdf.get(inf.data.bdf)!
        if (dev.incoming !== undefined) return die(`device ${dev.bdf} is in two vfio files`)
        dev.incoming = { session: sess.name, token: inf.token }
      }
  // 4. devices with IOMMU state: attached with their old DIDs, without rewriting the entries
  const restoredDevs = new Set<KDevice>()
  const reserve = k.bug.reserveDids === 'design' ? k.design.didReservation : k.bug.reserveDids
  for (const d of h.devices) {
    const dev = k.deviceByBdf.get(d.bdf)
    if (dev === undefined || dev.unit.index !== d.unit) return die(`device ${d.bdf} is not behind unit ${d.unit} on this machine`)
    const cdev = k.incoming.find((s) => s.name === d.session)?.files.find((f) => f.token === d.cdevToken)?.data
    if (cdev?.kind !== 'vfio' || cdev.bdf !== d.bdf || cdev.iommufdToken !== d.iommufdToken)
      return die(`device ${d.bdf}: session "${d.session}" has no vfio file with token ${d.cdevToken} for it`)
    if (restoredDevs.has(dev)) return die(`device ${d.bdf} twice`)
    restoredDevs.add(dev)
    const entries = [{ pasid: 0, did: d.did, domain: d.domain }, ...d.pasids]
    for (const x of entries) {
      const dom = domains[x.domain]
      if (dom === undefined) return die(`device ${d.bdf} names domain ${x.domain} of ${domains.length}`)
      const hw = hwEntry(k.m, dev.unit.index, dev.bus, dev.devfn, x.pasid)
      if (hw === undefined || hw.root !== dom.pt.root || hw.did !== x.did)
        return die(`device ${d.bdf} pasid ${x.pasid}: the preserved entry does not hold DID ${x.did} and table ${dom.pt.root}`)
      const info = dom.iommus.get(dev.unit)
      if (info !== undefined && info.did !== x.did) return die(`a domain with DIDs ${info.did} and ${x.did} on ${dev.unit.name}`)
      if (info !== undefined) info.refcnt += k.bug.countSharedRestoredDid ? 1 : 0 // hook countSharedRestoredDid
      else dom.iommus.set(dev.unit, { did: x.did, refcnt: 1 })
      if (x.pasid === 0) dev.rid = { domain: dom, did: x.did }
      else dev.pasids.set(x.pasid, { domain: dom, did: x.did })
      setSlot(k, dev.group, x.pasid, dom)
      let dids = k.restoredDids.get(dev.unit.index)
      if (dids === undefined) k.restoredDids.set(dev.unit.index, (dids = new Set()))
      dids.add(x.did)
      // didReservation: this unit's domain_ida (V3), every unit's (the V2 bug), or none
      const into = reserve === 'per-unit' ? [dev.unit] : reserve === 'all-units' ? k.units : []
      for (const u of into) u.ida.reserve(x.did)
    }
    const g = dev.group
    g.owner = { kind: 'restored', session: d.session, token: d.iommufdToken }
    g.ownerCnt = 1
  }
  return k
}
