// KEXEC: reboot(LINUX_REBOOT_CMD_KEXEC) with LUO, and the next kernel's boot up to the point
// where userspace runs again.
//
// 1. Freeze every preserved file, sessions and files in FIFO order; the first failure
//    unfreezes the rest and reboot() returns it: the update is cancelled (luo_file.c
//    luo_file_freeze). The VFIO handler refuses to freeze a device with interrupts enabled.
//    Once every file is frozen, kho_finalize can still fail (`khoFinalizeFails`): reboot()
//    returns -EAGAIN and nothing is unfrozen (luo_core.c liveupdate_reboot). Under
//    deviceAcrossKexec=reset-at-freeze each VFIO device frozen so far was reset and VFIO has
//    no .unfreeze: after a failed reboot() the old kernel runs on with those devices idle.
// 2. Shutdown: context entries of unpreserved devices are cleared (V3 intel/liveupdate.c).
// 3. The next kernel keeps only what was handed over: KHO-preserved pages (preserved memfds,
//    table pages of preserved domains), the outgoing sessions (now incoming), and per IOMMU
//    unit the root/context tables with the preserved devices' entries. Every fd, every
//    unpreserved object is gone and unpreserved memory is free. Incoming sessions of the
//    previous boot that were never finished are dropped (luo_session_serialize walks only the
//    outgoing list).
// 4. Boot restore (live-update.md §4.2): translation stays on, each preserved device's
//    domain is restored and attached with its old DID (reserved per didReservation), and its
//    group comes up owned by the preserved iommufd's token.

import type { D, OpContext } from './context.ts'
import { fail, plain } from './context.ts'
import { ok, type Errno, type Result } from './ops.ts'
import { groupOf, resolveDevices } from './platform.ts'
import { tablePagesFor } from './iommu.ts'
import { khoHeldByFreed } from './memory.ts'
import type { Domain, DomainId, Entry, Group, HwptRecord, IncomingSession, IommufdFile, Page, State, Unit } from './state.ts'

export function kexec(d: D, ctx: OpContext, a: { khoFinalizeFails?: boolean } = {}): Result {
  const reset: string[] = []
  let failed: Errno | undefined
  freeze: for (const sess of d.luo.outgoing)
    for (const p of sess.files) {
      const f = d.files[p.file]
      if (f.kind !== 'vfio') continue
      // vfio_pci_liveupdate freeze: interrupts still enabled is EINVAL, reboot() fails
      if (f.irqs) {
        failed = 'EINVAL'
        break freeze
      }
      if (d.design.deviceAcrossKexec === 'reset-at-freeze') reset.push(f.bdf)
    }
  if (failed === undefined && a.khoFinalizeFails) failed = 'EAGAIN'
  if (failed !== undefined) {
    // the unfreeze that follows undoes nothing luv models, and no reset: the failure keeps
    // them (sticky), reboot() returns the errno and the old kernel carries on
    for (const bdf of reset) d.devices[bdf].reset = true
    fail(failed, reset.length > 0)
  }
  ctx.becomes = nextKernel(plain(d) as State)
  return ok()
}

interface PreservedDevice {
  bdf: string
  session: string
  /** the cdev's own LUO token */
  token: string
  iommufdToken: string
  rid: Entry
  pasids: Record<number, Entry>
}

function nextKernel(s: State): State {
  const incoming: IncomingSession[] = []
  const devices: PreservedDevice[] = []
  const bareDevices: { bdf: string; session: string; token: string }[] = []
  const keepPages = new Map<number, Page>()
  for (const sess of s.luo.outgoing) {
    const inc: IncomingSession = { name: sess.name, files: [] }
    for (const p of sess.files) {
      const f = s.files[p.file]
      if (f.kind === 'memfd') {
        f.pages.forEach((pg, index) => keepPages.set(pg, { use: 'incoming', session: sess.name, token: p.token, index }))
        inc.files.push({ token: p.token, ser: { kind: 'memfd', pages: f.pages.length, seals: [...f.seals] } })
      } else if (f.kind === 'iommufd') {
        inc.files.push({ token: p.token, ser: { kind: 'iommufd', records: hwptRecords(s, f, sess.name) } })
      } else if (f.kind === 'vfio' && !p.iommu) {
        // preserved without IOMMU state (not attached): the device comes back behind the
        // cdev (open EBUSY until RETRIEVE_FD) but its IOMMU entries were cleared at shutdown
        inc.files.push({ token: p.token, ser: { kind: 'vfio', bdf: f.bdf } })
        bareDevices.push({ bdf: f.bdf, session: sess.name, token: p.token })
      } else if (f.kind === 'vfio' && f.bound) {
        const ictxToken = sess.files.find((x) => x.file === f.bound!.iommufd)!.token
        inc.files.push({ token: p.token, ser: { kind: 'vfio', bdf: f.bdf, iommufdToken: ictxToken } })
        const unit = s.units[s.platform.devices.find((x) => x.bdf === f.bdf)!.unit]
        const pasids: Record<number, Entry> = {}
        for (const [pasid, e] of Object.entries(unit.pasid[f.bdf] ?? {}))
          if (s.domains[e.domain].preserved) pasids[Number(pasid)] = { ...e }
        devices.push({ bdf: f.bdf, session: sess.name, token: p.token, iommufdToken: ictxToken, rid: { ...unit.context[f.bdf] }, pasids })
      }
    }
    incoming.push(inc)
  }

  // KHO keeps the preserved domains' table pages; the domains come back as restored ones.
  // restoreScope=preserved-device-records: only a preserved device's record rebuilds its
  // domain (V2 __iommu_group_maybe_restore_domain -> iommu_restore_domain); any other stays
  // an unclaimed KHO page table whose record LU_RESTORE cannot use (V1: restored_domain NULL)
  const named = new Set(devices.flatMap((pd) => [pd.rid.domain, ...Object.values(pd.pasids).map((e) => e.domain)]))
  const everyDomain = s.design.restoreScope === 'every-preserved-domain'
  const domains: Record<DomainId, Domain> = {}
  // KHO reserves each marked page once (its bitmap is a set: models/memory.ts "Table pages and
  // KHO"): a page a freed domain had marked and a preserved domain took since is that domain's
  const heldByFreed = khoHeldByFreed(s)
  for (const dom of Object.values(s.domains))
    if (dom.preserved && dom.freed !== undefined) {
      // destroyPreserved=frees-domain: IOMMU_DESTROY freed it after the preserve. Its
      // iommu_domain_ser still names the freed top table and KHO still carries every page it
      // had marked and nothing unmarked since (kexec_handover.c: freeing never clears a
      // kho_radix_tree bit; the next kernel's kho_mem_retrieve reserves them). No device names
      // it, so nothing rebuilds it: its pages stay held for the boot, and LU_RESTORE of its
      // record is ENOENT
      const held = heldByFreed.get(dom.id)!
      domains[dom.id] = { id: dom.id, extents: [], slots: {}, restored: dom.preserved, unrebuilt: true, khoPages: Object.keys(held).length, tables: held }
    } else if (dom.preserved)
      domains[dom.id] = {
        id: dom.id,
        extents: dom.extents,
        slots: dom.slots,
        restored: dom.preserved,
        ...(!everyDomain && !named.has(dom.id) && { unrebuilt: true }),
        // a restored domain keeps its table pages (generic_pt restore() -> iommu_restore_page)
        ...(dom.tables && { tables: dom.tables }),
      }

  const units: Record<string, Unit> = {}
  for (const u of s.platform.units) units[u.name] = { ida: [], context: {}, pasid: {} }
  const groups: Record<string, Group> = {}
  const devs: State['devices'] = {}
  for (const dev of resolveDevices(s.platform)) {
    groups[dev.group] = { owner: { kind: 'none' }, ownerCnt: 0, domain: 'default', pasids: {} }
    devs[dev.bdf] = { driver: 'vfio-pci' }
  }
  for (const pd of devices) {
    const unitName = s.platform.devices.find((x) => x.bdf === pd.bdf)!.unit
    const unit = units[unitName]
    // attached with the old DID and without rewriting the context entry (intel_iommu_restore_device)
    unit.context[pd.bdf] = { ...pd.rid }
    if (Object.keys(pd.pasids).length > 0) unit.pasid[pd.bdf] = { ...pd.pasids }
    const dids = [pd.rid.did, ...Object.values(pd.pasids).map((e) => e.did)]
    // didReservation: reserve in this unit's domain_ida (V3), in every unit's (the V2 bug),
    // or not at all (the allocator does not know the restored DIDs)
    const reserveIn =
      s.design.didReservation === 'per-unit' ? [unitName] : s.design.didReservation === 'all-units' ? Object.keys(units) : []
    for (const name of reserveIn) for (const did of dids) if (!units[name].ida.includes(did)) units[name].ida.push(did)
    const g = groups[groupOf(s.platform, pd.bdf)]
    g.owner = { kind: 'restored', session: pd.session, token: pd.iommufdToken }
    g.ownerCnt = 1
    g.domain = pd.rid.domain
    for (const [pasid, e] of Object.entries(pd.pasids)) g.pasids[Number(pasid)] = e.domain
    devs[pd.bdf].incoming = { session: pd.session, token: pd.token }
  }
  for (const bd of bareDevices) devs[bd.bdf].incoming = { session: bd.session, token: bd.token }
  for (const u of Object.values(units)) u.ida.sort((a, b) => a - b)

  return {
    platform: s.platform,
    design: s.design,
    boot: s.boot + 1,
    // (a page free already stays the record it was: shared, nothing to finish again)
    pages: s.pages.map((pg, p) => keepPages.get(p) ?? (pg.use === 'free' ? pg : { use: 'free' })),
    files: {},
    nextFile: 1,
    fds: {},
    domains,
    nextDomain: s.nextDomain,
    tablePagesUsed: Object.values(domains).reduce((n, dom) => n + tablePagesFor(dom), 0),
    units,
    groups,
    devices: devs,
    luo: { outgoing: [], incoming },
  }
}

/** The iommufd handler's serialized record: one per marked HWPT whose domain it preserved. */
function hwptRecords(s: State, f: IommufdFile, session: string): HwptRecord[] {
  const recs: (HwptRecord & { id: number })[] = []
  for (const [id, o] of Object.entries(f.objects)) {
    if (o.type !== 'HWPT_PAGING' || o.mark === undefined || s.domains[o.domain].preserved?.session !== session) continue
    const devices = Object.values(f.attach)
      .flatMap((per) => Object.values(per))
      .filter((at) => at.hwpt === Number(id))
      .flatMap((at) => at.devices)
    // the token the preserve took (a later re-mark does not change the record: audit I13)
    recs.push({ token: s.domains[o.domain].preserved!.token, domain: o.domain, devices: [...new Set(devices)].sort(), id: Number(id) })
  }
  // destroyPreserved=frees-domain: a destroyed HWPT's record keeps its place (the preserve
  // wrote the records in object order; nothing removed this one)
  for (const x of f.lost ?? []) if (s.domains[x.domain]?.preserved?.session === session) recs.push({ token: x.token, domain: x.domain, devices: [], id: x.id })
  return recs.sort((a, b) => a.id - b.id).map(({ id: _id, ...r }) => r)
}
