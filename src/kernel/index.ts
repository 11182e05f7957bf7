// The kernel implementation: the same ops as the model (models/), built the way the kernel
// builds them. `Kernel` is what the conformance executor (src/check/conformance.ts) drives:
// apply one op, observe through the hardware, list the live IOVAs, check structure the model
// cannot see.
//
//   vtd.ts       the VT-d unit: root/context/PASID tables as bytes, DIDs, invalidations, DMA
//   iommu.ts     the IOMMU core: domains, groups, attach/replace per (device, PASID)
//   iommufd.ts   ictx, objects, IOAS areas, HWPTs, the live-update ioctls
//   vfio.ts      cdevs, bind (DMA ownership), attach/detach, kernel drivers
//   memfd.ts     memfds and general memory
//   files.ts     struct file, the fd table, release
//   luo.ts       LUO sessions; luo_file.ts the file handlers
//   kexec.ts     reboot (freeze, serialize, shutdown) and boot (restore from the handover)
//   defects/     seeded defects: one hook each (defects/hooks.ts)

import type { Design } from '../../models/design.ts'
import type { LuoSessionView, Observation, OwnerView, Probe, Translation } from '../../models/observation.ts'
import { sortProbes } from '../../models/observe.ts'
import { err, fault, hex, ok, okText, unreachable, type Op, type Result } from '../../models/ops.ts'
import { tablePagesOf, type Platform } from '../../models/platform.ts'
import { hooksFor } from './defects/index.ts'
import { FaultInjector } from './failnth.ts'
import { IDA_START_DID } from './ida.ts'
import { closeFd, releaseUnreferenced } from './files.ts'
import { destroy, hwptAlloc, ioasAlloc, ioasMap, ioasMapFile, ioasUnmap, iommufdOpen, luRestore, luSetPreserve } from './iommufd.ts'
import { domainRuns, translateProbes } from './iommu.ts'
import { Iotlb } from './iotlb.ts'
import { bootFromHandover, coldBoot, reboot, type BootParams, type RebootArgs } from './kexec.ts'
import { createSession, finish, getName, liveupdateOpen, preserveFd, retrieveFd, retrieveSession } from './luo.ts'
import { memfdCreate, memfdSeal, memfdTruncate } from './memfd.ts'
import { walk, WALK_BAD } from './pagetable.ts'
import { isPanic } from './panic.ts'
import { PhysMem } from './phys.ts'
import { packedOf } from './packed.ts'
import { epoch } from './epoch.ts'
import type { Domain, Errno, IObj, KDevice, KFile, Kern, Machine, Owner, Ret } from './state.ts'
import { isErr } from './state.ts'
import { attach, bind, cdevOpen, detach, driverBind, setIrqs } from './vfio.ts'
import { hwEntry, hwPasids, hwTranslate, iommuZonePages, NO_MAPPING, NOT_PRESENT } from './vtd.ts'

export interface KernelOptions {
  /** a seeded defect (defects/index.ts DEFECT_NAMES) */
  defect?: string
  /** tests: rewrite the handover blob on its way to the next kernel (corruption tests) */
  tamper?: (blob: Uint8Array) => Uint8Array
}

export interface ApplyResult {
  result: Result
  /** the probes translated in each intermediate hardware state of the op */
  transient: Translation[][]
  /** with failNth: the n-th fault-injectable point was reached (and failed) */
  failNthReached?: boolean
}

export class Kernel {
  private k: Kern
  private readonly params: BootParams
  private readonly faults = new FaultInjector()
  private panicked?: { message: string; boot: number }
  /** the last handover blob (tests: round trip, corruption) */
  lastHandover?: Uint8Array
  /** bumped by every apply(): callers cache what they read from the kernel against it */
  private gen = 0

  constructor(
    readonly platform: Platform,
    readonly design: Design,
    private readonly opts: KernelOptions = {},
  ) {
    const m: Machine = {
      phys: new PhysMem(platform.memoryPages, tablePagesOf(platform), this.faults, iommuZonePages(platform.devices, platform.units.length)),
      iotlb: new Iotlb(),
      // built by push, not map(): packed.ts
      rtaddr: packedOf(platform.units, () => -1),
      badWalks: [],
    }
    this.params = { platform, design, bug: hooksFor(opts.defect), faults: this.faults, m }
    this.k = coldBoot(this.params)
  }

  /** The running kernel's state (tests and benches look inside; nothing else should). */
  get internals(): Kern {
    return this.k
  }

  /** How many ops were applied: the kernel's state (everything observe, liveProbes and
   *  invariants read) changes only inside apply(), so a value read at one generation holds
   *  until the next. */
  get generation(): number {
    return this.gen
  }

  /** The panic that stopped the kernel, if any. */
  get panic(): string | undefined {
    return this.panicked?.message
  }

  /** Apply one op; `probes` are translated in every intermediate hardware state; `failNth`
   *  arms the fault injector for this op only. */
  apply(op: Op, probes: Probe[], opts: { failNth?: number } = {}): ApplyResult {
    // a panicked kernel runs nothing: every op gets the same failure
    this.gen++
    if (this.panicked !== undefined) return { result: err('EIO'), transient: NO_TRANSIENT }
    const k = this.k
    k.probes = this.resolve(probes)
    // most ops record no intermediate state: the shared empty list, which nothing appends to
    // (recordTransient starts a list of its own), so no list is made per step
    k.transient = NO_TRANSIENT
    if (opts.failNth !== undefined) this.faults.arm(opts.failNth)
    let result: Result
    try {
      result = this.dispatch(op)
    } finally {
      this.faults.disarm()
      k.probes = undefined
    }
    const out: ApplyResult = { result, transient: result.ok ? this.k.transient : NO_TRANSIENT }
    if (result.ok) releaseUnreferenced(this.k)
    if (opts.failNth !== undefined) out.failNthReached = this.faults.reached()
    return out
  }

  private dispatch(op: Op): Result {
    const k = this.k
    switch (op.op) {
      case 'MEMFD_CREATE':
        return r(memfdCreate(k, op.args))
      case 'MEMFD_SEAL':
        return r(memfdSeal(k, op.args))
      case 'MEMFD_TRUNCATE':
        return r(memfdTruncate(k, op.args))
      case 'IOMMUFD_OPEN':
        return r(iommufdOpen(k))
      case 'IOMMU_IOAS_ALLOC':
        return r(ioasAlloc(k, op.args))
      case 'IOMMU_IOAS_MAP_FILE':
        return r(ioasMapFile(k, op.args))
      case 'IOMMU_IOAS_MAP':
        return r(ioasMap(k, op.args))
      case 'IOMMU_IOAS_UNMAP':
        return r(ioasUnmap(k, op.args))
      case 'IOMMU_HWPT_ALLOC':
        return r(hwptAlloc(k, op.args))
      case 'IOMMU_DESTROY':
        return r(destroy(k, op.args))
      case 'IOMMU_HWPT_LU_SET_PRESERVE':
        return r(luSetPreserve(k, op.args))
      case 'IOMMU_HWPT_LU_RESTORE':
        return r(luRestore(k, op.args))
      // the newer names of the same ioctl (V3 uapi): one handler
      case 'IOMMU_HWPT_LU_MARK_PRESERVE':
      case 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE':
        return r(luSetPreserve(k, op.args))
      case 'VFIO_CDEV_OPEN':
        return r(cdevOpen(k, op.args))
      case 'VFIO_DEVICE_BIND_IOMMUFD':
        return r(bind(k, op.args))
      case 'VFIO_DEVICE_ATTACH_IOMMUFD_PT':
        return r(attach(k, op.args))
      case 'VFIO_DEVICE_DETACH_IOMMUFD_PT':
        return r(detach(k, op.args))
      case 'VFIO_DEVICE_SET_IRQS':
        return r(setIrqs(k, op.args))
      case 'DRIVER_BIND':
        return r(driverBind(k, op.args))
      case 'LIVEUPDATE_OPEN':
        return r(liveupdateOpen(k))
      case 'LIVEUPDATE_IOCTL_CREATE_SESSION':
        return r(createSession(k, op.args))
      case 'LIVEUPDATE_SESSION_PRESERVE_FD':
        return r(preserveFd(k, op.args))
      case 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION':
        return r(retrieveSession(k, op.args))
      case 'LIVEUPDATE_SESSION_RETRIEVE_FD':
        return r(retrieveFd(k, op.args))
      case 'LIVEUPDATE_SESSION_FINISH':
        return r(finish(k, op.args))
      case 'LIVEUPDATE_SESSION_GET_NAME': {
        const name = getName(k, op.args)
        return isErr(name) ? err(name) : okText(name.name)
      }
      case 'CLOSE':
        return r(closeFd(k, op.args.fd))
      case 'KEXEC':
        return this.kexec(op.args)
      case 'DMA':
        return this.dma(op.args)
      default:
        return unreachable(op)
    }
  }

  /** A device performs one access: through the IOTLB, filling it on a miss. */
  private dma(a: Extract<Op, { op: 'DMA' }>['args']): Result {
    const dev = this.k.deviceByBdf.get(a.bdf)
    if (dev === undefined) return err('ENODEV')
    if (dev.reset) return fault('device-reset') // reset at freeze: the device issues nothing
    const pasid = a.pasid ?? 0
    // PASIDs are 20 bits: anything else has no entry
    if (!(pasid >= 0 && pasid < 1 << 20)) return fault('not-present')
    const r = hwTranslate(this.k.m, dev.unit.index, dev.bus, dev.devfn, pasid, Number(a.iova >> 12n), true)
    if (r === NOT_PRESENT) return fault('not-present')
    if (r === NO_MAPPING) return fault('no-mapping')
    return ok((BigInt(r) << 12n) | (a.iova & 0xfffn))
  }

  /** reboot() then boot the next kernel from the handover and the preserved pages only. */
  private kexec(a: RebootArgs = {}): Result {
    const old = this.k
    const blob = reboot(old, a)
    if (isErr(blob)) return err(blob)
    this.lastHandover = blob
    const m = old.m
    m.phys = m.phys.kexec(this.faults)
    const next = bootFromHandover(this.params, this.opts.tamper ? this.opts.tamper(blob) : blob)
    if (isPanic(next)) this.panicked = { message: next.panic, boot: old.boot + 1 }
    else this.k = next
    return ok()
  }

  private resolve(probes: readonly Probe[]): NonNullable<Kern['probes']> {
    const r = lastResolved
    if (r !== undefined && r.probes === probes && r.k === this.k) return r.out
    const out: NonNullable<Kern['probes']> = []
    for (let i = 0; i < probes.length; i++) {
      const p = probes[i]
      const dev = this.k.deviceByBdf.get(p.bdf)
      const ok = dev !== undefined && p.pasid >= 0 && p.pasid < 1 << 20
      out.push({
        unit: ok ? dev.unit.index : -1,
        bus: dev?.bus ?? 0,
        devfn: dev?.devfn ?? 0,
        pasid: p.pasid,
        iovaPfn: Number(p.iova >> 12n),
        bdf: p.bdf,
        iova: p.iova,
      })
    }
    lastResolved = { probes, k: this.k, out }
    return out
  }

  // ---------------------------------------------------------------- observation

  /** models/observation.ts, read from the kernel's state; translations go through the IOTLB
   *  first, then the tables, without filling the IOTLB. `pas`: the probes' translations as
   *  translate() gave them at this generation (no second walk). */
  observe(probes: Probe[], pas?: readonly (bigint | null)[]): Observation {
    if (this.panicked !== undefined)
      return {
        boot: this.panicked.boot,
        translations: probes.map((p) => ({ bdf: p.bdf, pasid: p.pasid, iova: p.iova, pa: null })),
        owners: {},
        luo: { open: false, outgoing: [], incoming: [] },
        fds: {},
        memory: { usedPages: 0, tablePages: 0 },
        iommufds: {},
      }
    const k = this.k
    const owners: Record<string, OwnerView> = {}
    for (const g of k.groups) owners[g.name] = ownerView(g.owner)
    const fds: Record<number, string> = {}
    for (const [fd, f] of k.fds) fds[fd] = fdView(f)
    const iommufds: Record<number, Record<number, string>> = {}
    for (const f of k.files.values()) {
      if (f.kind !== 'iommufd') continue
      const objs: Record<number, string> = {}
      for (const o of f.objects.values()) objs[o.id] = objectView(o)
      iommufds[f.id] = objs
    }
    const outgoing: LuoSessionView[] = k.outgoing.map((s) => ({ name: s.name, files: s.files.map((e) => ({ token: e.token, kind: e.kind })) }))
    const incoming: LuoSessionView[] = k.incoming.map((s) => ({
      name: s.name,
      retrieved: s.retrievedAs !== undefined,
      files: s.files.map((f) => ({
        token: f.token,
        kind: f.data.kind,
        retrieved: incomingRetrieved(f.retrieved),
      })),
    }))
    const translations =
      pas === undefined ? translateProbes(k, this.resolve(probes)) : probes.map((p, i) => ({ bdf: p.bdf, pasid: p.pasid, iova: p.iova, pa: pas[i] }))
    return {
      boot: k.boot,
      translations,
      owners,
      luo: { open: k.luoFile !== undefined, outgoing, incoming },
      fds,
      memory: { usedPages: k.m.phys.used('memory'), tablePages: k.m.phys.used('table') },
      iommufds,
    }
  }

  /** The PA each probe reaches now (null: a fault), as observe() translates them (the same
   *  walks, so the same walks into non-table pages are logged). */
  translate(probes: Probe[]): (bigint | null)[] {
    if (this.panicked !== undefined) return probes.map(() => null)
    const k = this.k
    const resolved = this.resolve(probes)
    const out: (bigint | null)[] = new Array(resolved.length)
    for (let i = 0; i < resolved.length; i++) {
      const p = resolved[i]
      // as iommu.ts translateProbes: a device reset at freeze issues no DMA
      if (k.deviceByBdf.get(p.bdf)?.reset) {
        out[i] = null
        continue
      }
      const r = p.unit < 0 ? NOT_PRESENT : hwTranslate(k.m, p.unit, p.bus, p.devfn, p.pasid, p.iovaPfn, false)
      out[i] = r === NOT_PRESENT || r === NO_MAPPING ? null : (BigInt(r) << 12n) | (p.iova & 0xfffn)
    }
    return out
  }

  /**
   * Whether observe(probes, pas) would be deeply equal (isDeepStrictEqual) to `obs`, read
   * from the kernel's state without building the observation: the conformance executor's
   * per-step check (issue 12), which builds the observation only when this says no. False
   * whenever it is unsure (a shape observe() does not build, a panicked kernel): the caller
   * then compares in full, so a false here is never a verdict. Numbers compare by Object.is
   * and every object's key count is checked, as isDeepStrictEqual does.
   */
  matches(obs: Observation, probes: Probe[], pas: readonly (bigint | null)[]): boolean {
    if (this.panicked !== undefined) return false
    const k = this.k
    if (!plain(obs) || countNamed(obs) !== 7 || !Object.is(obs.boot, k.boot)) return false
    // part by part, in the order observe() builds them; each part is a function below
    return (
      matchTranslationsAgain(obs.translations, probes, pas) &&
      matchOwners(k, obs.owners) &&
      matchFds(k, obs.fds) &&
      matchIommufds(k, obs.iommufds) &&
      matchMemory(k, obs.memory) &&
      matchLuo(k, obs.luo)
    )
  }

  /** The kernel's own live IOVAs: first and last page of each mapped run of every present
   *  context/PASID entry's domain (models/observe.ts liveProbes shape). */
  liveProbes(): Probe[] {
    if (this.panicked !== undefined) return []
    const out: Probe[] = []
    // built in probe order (models/observe.ts sortProbes: BDF, PASID, IOVA): devices by BDF,
    // the RID entry (PASID 0) first, then the PASIDs in order, each domain's runs in IOVA order
    for (const dev of devicesByBdf(this.k)) {
      const start = out.length
      let sorted = true
      if (dev.rid !== undefined) sorted = pushRuns(out, dev.bdf, 0, dev.rid.domain)
      if (dev.pasids.size > 0)
        for (const p of [...dev.pasids.keys()].sort((a, b) => a - b)) {
          // a RID entry beside a PASID-0 entry (nothing programs one) would interleave
          if (p <= 0 && out.length > start) sorted = false
          if (!pushRuns(out, dev.bdf, p, dev.pasids.get(p)!.domain)) sorted = false
        }
      if (!sorted) for (const p of sortProbes(out.splice(start))) out.push(p)
    }
    return out
  }

  // ---------------------------------------------------------------- invariants

  /**
   * Structure the model cannot see, each message prefixed with the property it breaks:
   * table pages owned once and allocated, DIDs unique per unit and allocated in domain_ida,
   * every IOTLB entry agreeing with the tables it caches, the hardware entries matching what
   * the kernel programmed, walks that met something that is not a table. A panic of the next
   * kernel is 'panic: ...'.
   */
  invariants(): string[] {
    return this.sweep(true)
  }

  /**
   * invariants(), walking only the sections whose inputs changed since they were last walked
   * (epoch.ts counts the writes; the kernel objects a section reads are signed below): a
   * section nothing touched would find what it found then, and reports that again. The same
   * messages as invariants(), in the same order, at a fraction of the cost per step.
   */
  touchedInvariants(): string[] {
    return this.sweep(false)
  }

  /** per section: the kernel, memory and write counters it was last walked at, and what it found */
  private swept: Partial<Record<Section, { k: Kern; phys: PhysMem; epochs: Sig; out: string[] }>> = {}
  /** the domain and entry signatures at the previous sweep (a section depending on one is
   *  walked whenever it changed), and a buffer each for the next (swapped: no allocation per step) */
  private sigs?: { doms: Sig; ents: Sig }
  private sigNext = { doms: new Sig(), ents: new Sig() }
  /** the write counters a section reads now (filled per section, compared in place) */
  private readonly epochsNow = new Sig()

  private sweep(full: boolean): string[] {
    if (this.panicked !== undefined) return [`panic: ${this.panicked.message}`]
    const k = this.k
    const phys = k.m.phys
    const out: string[] = []
    const next = this.sigNext
    domainSig(k, next.doms)
    entrySig(k, next.ents)
    const last = this.sigs
    const domsMoved = last === undefined || !last.doms.same(next.doms)
    const entsMoved = last === undefined || !last.ents.same(next.ents)
    this.sigs = next
    this.sigNext = last ?? { doms: new Sig(), ents: new Sig() }
    const epochs = this.epochsNow
    // the sections in the order of the full walk: table pages, DIDs, the IOTLB, the entries
    for (let si = 0; si < SECTIONS.length; si++) {
      const name = SECTIONS[si]
      let moved: boolean
      epochs.reset()
      switch (name) {
        case 'tables':
          epochs.add(epoch.tables)
          epochs.add(phys.used('table'))
          moved = domsMoved
          break
        case 'dids':
          epochs.add(epoch.ida)
          epochs.add(k.restoredDids.size)
          moved = entsMoved
          break
        case 'iotlb':
          epochs.add(epoch.iotlb)
          epochs.add(epoch.tables)
          epochs.add(epoch.memory)
          moved = domsMoved || entsMoved
          break
        case 'entries':
          epochs.add(epoch.iommu)
          moved = entsMoved
          break
      }
      const c = this.swept[name]
      const same = !full && !moved && c !== undefined && c.k === k && c.phys === phys && c.epochs.same(epochs)
      const found = same ? c.out : name === 'tables' ? tableChecks(k) : name === 'dids' ? didChecks(k) : name === 'iotlb' ? iotlbChecks(k, didMap(k)) : hwChecks(k)
      if (!same) {
        if (c === undefined) this.swept[name] = { k, phys, epochs: new Sig().copy(epochs), out: found }
        else {
          c.k = k
          c.phys = phys
          c.epochs.copy(epochs)
          c.out = found
        }
      }
      for (let i = 0; i < found.length; i++) out.push(found[i])
    }
    // DMA ownership: an owner exactly while owner_cnt > 0 (__iommu_release_dma_ownership)
    for (let i = 0; i < k.groups.length; i++) {
      const g = k.groups[i]
      if ((g.ownerCnt === 0) !== (g.owner.kind === 'none'))
        out.push(`ownership: group ${g.name} has owner ${ownerView(g.owner)} with owner_cnt ${g.ownerCnt}`)
    }
    if (k.m.badWalks.length > 0) {
      for (const b of k.m.badWalks) out.push(`dma-safety: ${b}`)
      k.m.badWalks.length = 0
    }
    return out
  }
}

/** The last probes resolved against a running boot (apply, then observe and translate, use
 *  the same): a function of the boot's devices, which a boot (Kern) never changes, and of
 *  the probes. Harness (issue 12), kept outside the Kernel object: the exploration's undo
 *  and copies record a kernel's whole graph (src/explore/clone.ts), which must not take in
 *  the caller's probe lists (the model's, frozen in tests) or copy them per fork. */
/** The transient list of an op that recorded no intermediate state (and of a failed op): one
 *  empty list for every step. Never appended to: recordTransient (iommu.ts) replaces an empty
 *  list by a new one, so an empty list a caller kept stays empty. */
const NO_TRANSIENT: Translation[][] = []

let lastResolved: { probes: readonly Probe[]; k: Kern; out: NonNullable<Kern['probes']> } | undefined

/** A kernel function's return (a value, nothing, or an errno) as the op's Result. (Module
 *  level: dispatch() runs at every step and would make a closure per call.) */
function r(x: Ret<number | bigint | void>): Result {
  return isErr(x) ? err(x) : ok(x === undefined ? undefined : x)
}

// ---------------------------------------------------------------- invariant sections
// Kernel.invariants, section by section; each reads only what its signature covers.

type Section = 'tables' | 'dids' | 'iotlb' | 'entries'
const SECTIONS: readonly Section[] = ['tables', 'dids', 'iotlb', 'entries']

/** What the table-page and IOTLB sections read of the domains, into `sig`. */
function domainSig(k: Kern, sig: Sig): void {
  sig.reset()
  sig.add(k.domains.size)
  for (const d of k.domains) {
    sig.add(d.serial)
    sig.add(d.slots)
    sig.add(d.tablesGone ? 1 : 0)
    sig.add(d.pt.root)
  }
}

/** What the DID, hardware-entry and IOTLB sections read of the devices' entries, into `sig`. */
function entrySig(k: Kern, sig: Sig): void {
  sig.reset()
  for (let i = 0; i < k.devices.length; i++) {
    const dev = k.devices[i]
    if (dev.rid === undefined) sig.add(-1)
    else {
      sig.add(dev.rid.did)
      sig.add(dev.rid.domain.serial)
      sig.add(dev.rid.domain.pt.root)
    }
    sig.add(dev.pasids.size)
    if (dev.pasids.size > 0)
      for (const p of dev.pasids.keys()) {
        const e = dev.pasids.get(p)!
        sig.add(p)
        sig.add(e.did)
        sig.add(e.domain.serial)
        sig.add(e.domain.pt.root)
      }
  }
}

/** A list of numbers refilled in place (the sweep's signatures and write counters, the IOAS
 *  view's runs): `reset` keeps the storage. (Not `array.length = 0`: V8 drops an array's
 *  storage when its length is set to 0, so every refill would allocate it again.) */
class Sig {
  private readonly v: number[] = []
  n = 0
  reset(): void {
    this.n = 0
  }
  add(x: number): void {
    this.v[this.n++] = x
  }
  at(i: number): number {
    return this.v[i]
  }
  same(o: Sig): boolean {
    if (o.n !== this.n) return false
    for (let i = 0; i < this.n; i++) if (this.v[i] !== o.v[i]) return false
    return true
  }
  copy(o: Sig): this {
    this.n = 0
    for (let i = 0; i < o.n; i++) this.add(o.v[i])
    return this
  }
}

/** Per unit: DID → the domain of the last present entry tagged with it. (The maps are reused
 *  from sweep to sweep, emptied first: iotlbChecks reads them before the next call.) */
function didMap(k: Kern): Map<number, Domain>[] {
  const byDid = emptyDidMaps(didMapMaps, k.units.length)
  for (const dev of k.devices) {
    const m = byDid[dev.unit.index]
    if (dev.rid !== undefined) m.set(dev.rid.did, dev.rid.domain)
    for (const e of dev.pasids.values()) m.set(e.did, e.domain)
  }
  return byDid
}

/** Table pages: no page owned by two domains or by a domain and free, none leaked. */
function tableChecks(k: Kern): string[] {
  const phys = k.m.phys
  const out: string[] = []
  // (the set and the page list are reused from sweep to sweep: this runs at most steps)
  const seen = tableSeen
  const pages: number[] = []
  seen.clear()
  for (const dom of k.domains) {
    if (dom.tablesGone) {
      if (dom.slots > 0) out.push(`dma-safety: domain ${dom.serial} is attached but its table pages went back to the allocator`)
      continue
    }
    const from = pages.length
    dom.pt.tablePages(pages)
    for (let i = from; i < pages.length; i++) {
      const pfn = pages[i]
      if (!phys.isAllocated(pfn)) out.push(`isolation: table page ${pfn} of domain ${dom.serial} is free`)
      if (seen.has(pfn)) out.push(`isolation: table page ${pfn} is owned by two domains`)
      seen.add(pfn)
    }
  }
  // pages of a preserved page table nothing rebuilt stay KHO-incoming, held for this boot
  // (restoreScope=preserved-device-records): allocated, owned by KHO, not leaked by a domain
  let kho = 0
  if (phys.incomingCount > 0) for (const pfn of phys.incomingPfns()) if (phys.zoneOf(pfn) === 'table' && !seen.has(pfn)) kho++
  if (seen.size + kho < phys.used('table')) out.push(`isolation: ${phys.used('table') - seen.size - kho} table page(s) allocated but owned by no domain`)
  return out
}
const tableSeen = new Set<number>()

/** DIDs unique per unit among present entries, allocated in the unit's domain_ida, and no
 *  other DID allocated (leaked). */
function didChecks(k: Kern): string[] {
  const out: string[] = []
  const byDid = emptyDidMaps(didCheckMaps, k.units.length)
  for (const dev of k.devices) {
    // the RID entry, then the PASID entries
    if (dev.rid !== undefined) didCheck(out, byDid, dev.unit, dev.rid)
    for (const e of dev.pasids.values()) didCheck(out, byDid, dev.unit, e)
  }
  // ... and nothing else is: a DID no entry uses is leaked, except where the design reserves
  // the restored DIDs of other units too (didReservation=all-units, the model's own finding)
  const foreign = didForeign
  for (const u of k.units) {
    foreign.clear()
    if (k.design.didReservation === 'all-units') for (const [i, dids] of k.restoredDids) if (i !== u.index) for (const d of dids) foreign.add(d)
    for (const did of u.ida.ids())
      if (!byDid[u.index].has(did) && !foreign.has(did)) out.push(`recoverability: ${u.name}: DID ${did} is allocated in domain_ida but no entry uses it (leaked)`)
  }
  return out
}

/** By unit count: one empty map per unit, for didMap and for didChecks. */
const didMapMaps = new Map<number, Map<number, Domain>[]>()
const didCheckMaps = new Map<number, Map<number, Domain>[]>()
const didForeign = new Set<number>()

/** n maps, one per unit, emptied: made once per unit count and reused by every sweep (the
 *  maps hold domains until the next sweep empties them: harness state outside the Kernel). */
function emptyDidMaps(byCount: Map<number, Map<number, Domain>[]>, n: number): Map<number, Domain>[] {
  let maps = byCount.get(n)
  if (maps === undefined) {
    maps = []
    for (let i = 0; i < n; i++) maps.push(new Map())
    byCount.set(n, maps)
  }
  for (let i = 0; i < n; i++) maps[i].clear()
  return maps
}

/** didChecks for one present entry `e` of a device behind unit `u`. */
function didCheck(out: string[], byDid: Map<number, Domain>[], u: Kern['units'][number], e: { did: number; domain: Domain }): void {
  const other = byDid[u.index].get(e.did)
  if (other !== undefined && other !== e.domain) out.push(`isolation: ${u.name}: DID ${e.did} tags two live domains`)
  byDid[u.index].set(e.did, e.domain)
  if (e.did < IDA_START_DID) out.push(`isolation: ${u.name}: DID ${e.did} is below IDA_START_DID (0: caching mode, 1: FLPT_DEFAULT_DID)`)
  else if (!u.ida.has(e.did)) out.push(`isolation: ${u.name}: DID ${e.did} is in use but not allocated in domain_ida`)
}

/** The hardware holds what the kernel programmed, nothing more: per device, PASID 0 (the
 *  RID entry), the PASIDs the kernel attached, then the PASIDs present in the hardware only. */
function hwChecks(k: Kern): string[] {
  const out: string[] = []
  for (const dev of k.devices) {
    hwCheck(out, k, dev, 0)
    for (const p of dev.pasids.keys()) if (p !== 0) hwCheck(out, k, dev, p)
    for (const p of hwPasids(k.m, dev.unit.index, dev.bus, dev.devfn)) if (p !== 0 && !dev.pasids.has(p)) hwCheck(out, k, dev, p)
  }
  return out
}

/** hwChecks for one (device, PASID). */
function hwCheck(out: string[], k: Kern, dev: KDevice, p: number): void {
  const hw = hwEntry(k.m, dev.unit.index, dev.bus, dev.devfn, p)
  const sw = p === 0 ? dev.rid : dev.pasids.get(p)
  if (hw !== undefined && sw === undefined)
    out.push(`dma-safety: ${dev.bdf} pasid ${p} has a present entry (DID ${hw.did}, table ${hw.root}) the kernel did not program`)
  else if (hw === undefined && sw !== undefined) out.push(`isolation: ${dev.bdf} pasid ${p}: the kernel attached a domain but the entry is not present`)
  else if (hw !== undefined && sw !== undefined && (hw.did !== sw.did || hw.root !== sw.domain.pt.root))
    out.push(`isolation: ${dev.bdf} pasid ${p}: the entry holds DID ${hw.did} table ${hw.root}, the kernel programmed DID ${sw.did} table ${sw.domain.pt.root}`)
}

/** The IOTLB agrees with the tables it caches. */
function iotlbChecks(k: Kern, byDid: Map<number, Domain>[]): string[] {
  const out: string[] = []
  const o = { order: 0 }
  const phys = k.m.phys
  k.m.iotlb.forEach((e) => {
    const dom = byDid[e.unit].get(e.did)
    const w = dom === undefined || dom.tablesGone ? WALK_BAD : walk(phys, dom.pt.root, e.iovaPfn, o)
    if (dom !== undefined && w === e.pfn && o.order === e.order) return
    // a stale entry: into freed memory it is a DMA-safety hole, else a cross-domain leak
    const to = `${k.units[e.unit].name} DID ${e.did} pasid ${e.pasid} iova ${hex(BigInt(e.iovaPfn) << 12n)} -> ${hex(BigInt(e.pfn) << 12n)}`
    if (phys.zoneOf(e.pfn) === 'memory' && !phys.isAllocated(e.pfn)) out.push(`dma-safety: stale IOTLB entry ${to} reaches free memory`)
    else if (dom === undefined) out.push(`isolation: IOTLB entry ${to} is tagged with a DID no live entry uses`)
    else out.push(`isolation: IOTLB entry ${to} disagrees with the tables`)
  })
  return out
}

const byBdf = new WeakMap<KDevice[], KDevice[]>()
function devicesByBdf(k: Kern): KDevice[] {
  let d = byBdf.get(k.devices)
  if (d === undefined) byBdf.set(k.devices, (d = [...k.devices].sort((a, b) => (a.bdf < b.bdf ? -1 : a.bdf > b.bdf ? 1 : 0))))
  return d
}

/** First and last page of each run `dom` maps, for (bdf, pasid); false if the runs came out
 *  of IOVA order. (Module-level state, no closure per call: this runs at every step.) */
function pushRuns(out: Probe[], bdf: string, pasid: number, dom: Domain): boolean {
  const r = runAcc
  r.out = out
  r.bdf = bdf
  r.pasid = pasid
  r.last = -1
  r.sorted = true
  if (dom.ioas !== undefined && dom.synced) dom.ioas.areas.forEach(pushArea)
  else for (const run of domainRuns(dom)) pushRun(run)
  r.out = undefined
  return r.sorted
}
const runAcc: { out?: Probe[]; bdf: string; pasid: number; last: number; sorted: boolean } = { bdf: '', pasid: 0, last: -1, sorted: true }
function pushArea(x: { value: { iovaPfn: number; npages: number } }): void {
  pushRun(x.value)
}
function pushRun(run: { iovaPfn: number; npages: number }): void {
  const r = runAcc
  if (run.iovaPfn <= r.last) r.sorted = false
  r.out!.push({ bdf: r.bdf, pasid: r.pasid, iova: BigInt(run.iovaPfn) << 12n })
  r.last = run.iovaPfn + run.npages - 1
  if (run.npages > 1) r.out!.push({ bdf: r.bdf, pasid: r.pasid, iova: BigInt(r.last) << 12n })
}

// ---------------------------------------------------------------- Kernel.matches, part by part
// Each says whether the observation's part is what observe() would build from the kernel's
// state; false when unsure (see Kernel.matches).

/** translations: probe by probe, the PAs translate() gave */
function matchTranslations(ts: Observation['translations'], probes: Probe[], pas: readonly (bigint | null)[]): boolean {
  if (!Array.isArray(ts) || ts.length !== probes.length) return false
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]
    const p = probes[i]
    if (!plain(t) || t.pa !== pas[i] || t.bdf !== p.bdf || !Object.is(t.pasid, p.pasid) || t.iova !== p.iova || countNamed(t) !== 4) return false
  }
  return true
}

/** matchTranslations, answered from the last call when it was asked about the same
 *  translations list (an observation part is never changed once built: the model shares
 *  its parts between states and freezes them in tests), the same probes and the same PAs,
 *  and said yes then (harness, issue 12: most steps leave the model's list as it was). The
 *  answer reads no kernel state, so one cache serves every kernel; it is kept outside the
 *  Kernel object, whose graph the exploration's undo records (src/explore/clone.ts). */
function matchTranslationsAgain(ts: Observation['translations'], probes: Probe[], pas: readonly (bigint | null)[]): boolean {
  const last = lastTranslations
  if (last.ts === ts && last.probes === probes && samePas(last, pas)) return true
  if (!matchTranslations(ts, probes, pas)) return false
  last.ts = ts
  last.probes = probes
  // refilled in place, its storage kept (as Sig: `length = 0` would drop it at every step)
  for (let i = 0; i < pas.length; i++) last.pas[i] = pas[i]
  last.n = pas.length
  return true
}
const lastTranslations: { ts?: Observation['translations']; probes?: Probe[]; pas: (bigint | null)[]; n: number } = { pas: [], n: 0 }

/** The PAs kept in `a` (its first a.n) are `b`. */
function samePas(a: { pas: (bigint | null)[]; n: number }, b: readonly (bigint | null)[]): boolean {
  if (a.n !== b.length) return false
  for (let i = 0; i < b.length; i++) if (a.pas[i] !== b[i]) return false
  return true
}

/** owners: one per group (a repeated group name would collapse in observe(): unsure) */
function matchOwners(k: Kern, owners: Observation['owners']): boolean {
  if (!plain(owners) || countKeys(owners) !== k.groups.length) return false
  for (const g of k.groups) if (owners[g.name] !== ownerView(g.owner) || !Object.hasOwn(owners, g.name)) return false
  return true
}

/** fds: the fd table */
function matchFds(k: Kern, fds: Observation['fds']): boolean {
  if (!plain(fds) || countKeys(fds) !== k.fds.size) return false
  // forEach, not for-of over entries: no [fd, file] pair made per fd per step
  const acc = fdAcc
  acc.fds = fds
  acc.same = true
  k.fds.forEach(matchFd)
  acc.fds = undefined
  return acc.same
}
const fdAcc: { fds?: Observation['fds']; same: boolean } = { same: true }
function matchFd(f: KFile, fd: number): void {
  if (fdAcc.same && fdAcc.fds![fd] !== fdView(f)) fdAcc.same = false
}

/** iommufds: per iommufd file, its objects */
function matchIommufds(k: Kern, ifds: Observation['iommufds']): boolean {
  if (!plain(ifds)) return false
  let files = 0
  for (const f of k.files.values()) {
    if (f.kind !== 'iommufd') continue
    files++
    const objs = ifds[f.id]
    if (!plain(objs) || !Object.hasOwn(ifds, f.id) || countKeys(objs) !== f.objects.size) return false
    for (const o of f.objects.values()) if (objs[o.id] !== objectView(o)) return false
  }
  return countKeys(ifds) === files
}

/** memory: pages in use per zone */
function matchMemory(k: Kern, mem: Observation['memory']): boolean {
  return plain(mem) && countNamed(mem) === 2 && Object.is(mem.usedPages, k.m.phys.used('memory')) && Object.is(mem.tablePages, k.m.phys.used('table'))
}

/** luo: /dev/liveupdate open, the outgoing sessions and their files, the incoming ones */
function matchLuo(k: Kern, luo: Observation['luo']): boolean {
  if (!plain(luo) || countNamed(luo) !== 3 || luo.open !== (k.luoFile !== undefined)) return false
  const out = luo.outgoing
  if (!Array.isArray(out) || out.length !== k.outgoing.length) return false
  for (let i = 0; i < out.length; i++) {
    const v = out[i]
    const s = k.outgoing[i]
    if (!plain(v) || countNamed(v) !== 2 || v.name !== s.name || !Array.isArray(v.files) || v.files.length !== s.files.length) return false
    for (let j = 0; j < s.files.length; j++) {
      const x = v.files[j]
      const e = s.files[j]
      if (!plain(x) || countNamed(x) !== 2 || x.token !== e.token || x.kind !== e.kind) return false
    }
  }
  const inc = luo.incoming
  if (!Array.isArray(inc) || inc.length !== k.incoming.length) return false
  for (let i = 0; i < inc.length; i++) {
    const v = inc[i]
    const s = k.incoming[i]
    if (!plain(v) || countNamed(v) !== 3 || v.name !== s.name || v.retrieved !== (s.retrievedAs !== undefined)) return false
    if (!Array.isArray(v.files) || v.files.length !== s.files.length) return false
    for (let j = 0; j < s.files.length; j++) {
      const x = v.files[j]
      const f = s.files[j]
      if (!plain(x) || countNamed(x) !== 3 || x.token !== f.token || x.kind !== f.data.kind || x.retrieved !== incomingRetrieved(f.retrieved)) return false
    }
  }
  return true
}

/** A plain object, as observe() builds them (isDeepStrictEqual compares prototypes too). */
function plain(x: unknown): x is Record<string, never> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype
}

/** Own enumerable keys (Object.keys: V8 answers it from the object's enum cache, faster than
 *  a for-in count, most of all on the integer-keyed fd and object tables), remembered for the
 *  last few objects asked about: an observation part is never changed once built (see
 *  matchTranslationsAgain) and the model's parts are the same objects from step to step while
 *  what they show does not change, so most steps would make the same key list again (an
 *  array, and a string per integer key). A changed part is a new object, counted anew. */
function countKeys(o: object): number {
  const objs = keyCountObjs
  for (let i = 0; i < KEY_COUNT_SLOTS; i++) if (objs[i] === o) return keyCounts[i]
  const n = Object.keys(o).length
  objs[keyCountNext] = o
  keyCounts[keyCountNext] = n
  keyCountNext = (keyCountNext + 1) % KEY_COUNT_SLOTS
  return n
}
const KEY_COUNT_SLOTS = 16
// harness (issue 12), outside the Kernel object as lastTranslations
const keyCountObjs: (object | undefined)[] = []
const keyCounts: number[] = []
for (let i = 0; i < KEY_COUNT_SLOTS; i++) {
  keyCountObjs.push(undefined)
  keyCounts.push(0)
}
let keyCountNext = 0

/** Enumerable keys of a small object with named keys (a translation, a session view), by
 *  for-in: no array. Inherited enumerable keys count too, so a polluted Object.prototype
 *  makes the count too high: matches() then says no and the full comparison decides. */
function countNamed(o: object): number {
  let n = 0
  for (const _ in o) n++
  return n
}

/** An incoming LUO file's retrieve state as the observation shows it. */
function incomingRetrieved(r: KFile | Errno | undefined): string {
  return r === undefined ? 'no' : isErr(r) ? r : 'ok'
}

/** `IOAS [iova+len,…]`, remade only when the areas or the immutable flag changed since the
 *  last view of this IOAS (observe and matches read it every step; the hex of every area
 *  is most of the cost). */
function ioasView(o: Extract<IObj, { type: 'IOAS' }>): string {
  const runs = ioasRuns
  runs.reset()
  o.areas.forEach(pushAreaRun)
  const c = ioasViews.get(o)
  if (c !== undefined && c.immutable === o.immutable && c.runs.same(runs)) return c.view
  const view = ioasViewOf(runs, o.immutable)
  if (c === undefined) ioasViews.set(o, { runs: new Sig().copy(runs), immutable: o.immutable, view })
  else {
    c.runs.copy(runs)
    c.immutable = o.immutable
    c.view = view
  }
  return view
}
const ioasViews = new WeakMap<IObj, { runs: Sig; immutable: boolean; view: string }>()

/** The text of an IOAS view (the rare path of ioasView, kept out of the per-step one). */
function ioasViewOf(runs: Sig, immutable: boolean): string {
  const parts: string[] = []
  for (let i = 0; i < runs.n; i += 2) parts.push(`${hex(BigInt(runs.at(i)) << 12n)}+${hex(BigInt(runs.at(i + 1)) << 12n)}`)
  return `IOAS [${parts.join(',')}]${immutable ? ' immutable' : ''}`
}
const ioasRuns = new Sig()
function pushAreaRun(x: { value: { iovaPfn: number; npages: number } }): void {
  ioasRuns.add(x.value.iovaPfn)
  ioasRuns.add(x.value.npages)
}

/** A group's owner as the observation shows it; an iommufd owner's view made once per
 *  serial (matches() reads every group's at every step). */
function ownerView(o: Owner): OwnerView {
  switch (o.kind) {
    case 'none':
      return 'unowned'
    case 'dma-api':
      return 'dma-api'
    case 'iommufd':
      return (iommufdTexts[o.file.id] ??= `iommufd:${o.file.id}`)
    case 'restored':
      // not cached: tokens are drawn from a u64 range, a cache would only grow
      return `restored:${o.session}/${o.token}`
  }
}
/** `iommufd:N` by file serial: an iommufd owner's view and an iommufd fd's view are the same text */
const iommufdTexts: string[] = []

/** An fd's view, made once per what it shows (of a file other than a memfd that never
 *  changes: the iommufd's serial, the cdev's BDF, the session's name, this one per session
 *  file), a memfd's once per size. (A trace holding thousands of sessions reads every one at
 *  every step.) */
function fdView(f: KFile): string {
  switch (f.kind) {
    case 'memfd':
      return (memfdViews[f.pages.length] ??= `memfd:${f.pages.length}`)
    // the texts shared by every kernel, by what they show (a serial, a BDF: small bounded
    // sets), looked up without a WeakMap probe per file per step (issue 12)
    case 'iommufd':
      return (iommufdTexts[f.id] ??= `iommufd:${f.id}`)
    case 'vfio': {
      let v = vfioViews.get(f.dev.bdf)
      if (v === undefined) vfioViews.set(f.dev.bdf, (v = `vfio:${f.dev.bdf}`))
      return v
    }
    case 'liveupdate':
      return 'liveupdate'
    case 'session': {
      let v = fdViews.get(f)
      if (v === undefined) fdViews.set(f, (v = `session:${f.name}`))
      return v
    }
  }
}
const fdViews = new WeakMap<KFile, string>()
const memfdViews: string[] = []
const vfioViews = new Map<string, string>()

function objectView(o: IObj): string {
  switch (o.type) {
    case 'IOAS':
      return ioasView(o)
    case 'HWPT_PAGING':
      return hwptView(o)
    case 'DEVICE':
      return deviceView(o.dev.bdf)
  }
}

/** `DEVICE bdf`, made once per BDF (the platform's devices: a bounded set). */
function deviceView(bdf: string): string {
  let v = deviceViews.get(bdf)
  if (v === undefined) deviceViews.set(bdf, (v = `DEVICE ${bdf}`))
  return v
}
const deviceViews = new Map<string, string>()

/** `HWPT_PAGING ioas=N [auto] [mark=T]` (or `restored`), remade only when what it shows
 *  changed since the last view of this HWPT (matches reads every HWPT's at every step). */
function hwptView(o: Extract<IObj, { type: 'HWPT_PAGING' }>): string {
  const ioas = o.restored ? -1 : o.ioas!.id
  const c = hwptViews.get(o)
  if (c !== undefined && c.ioas === ioas && c.auto === o.auto && c.mark === o.mark) return c.view
  const view = hwptViewOf(o)
  if (c === undefined) hwptViews.set(o, { ioas, auto: o.auto, mark: o.mark, view })
  else {
    c.ioas = ioas
    c.auto = o.auto
    c.mark = o.mark
    c.view = view
  }
  return view
}
function hwptViewOf(o: Extract<IObj, { type: 'HWPT_PAGING' }>): string {
  return `HWPT_PAGING ${o.restored ? 'restored' : `ioas=${o.ioas!.id}`}${o.auto ? ' auto' : ''}${o.mark !== undefined ? ` mark=${o.mark}` : ''}`
}
const hwptViews = new WeakMap<IObj, { ioas: number; auto: boolean; mark: bigint | undefined; view: string }>()

export { DEFECT_NAMES, DEFECTS } from './defects/index.ts'
