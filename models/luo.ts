// LUO, the Live Update Orchestrator: /dev/liveupdate, sessions, preserving files by token
// (with the memfd, iommufd and VFIO cdev handlers), retrieving them in the next kernel, and
// finishing a session.
//
// Sources: live-update.md §1 (samikhawaja/linux kernel/liveupdate/{luo_core,luo_session,
// luo_file}.c, include/uapi/linux/liveupdate.h), §2.2 (iommufd handler), §3 (vfio handler).

import type { D } from './context.ts'
import { fail, plain } from './context.ts'
import { fileOfFd, installFd } from './files.ts'
import { khoUnpreserveTables } from './memory.ts'
import { isUserDomain, reapDomains, setGroupDomain } from './iommu.ts'
import { groupOf, resolveDevices } from './platform.ts'
import { ok, okText, type ArgsOf, type Errno, type Result } from './ops.ts'
import type { FileId, IncomingSession, IommufdFile, LuoPreserved, OutgoingSession, SessionFile, State } from './state.ts'

/** LIVEUPDATE_SESSION_NAME_LENGTH is 64 bytes including the NUL (uapi liveupdate.h). */
export const SESSION_NAME_MAX = 63
/** luoCapacity=fixed-arrays: 16 pages of luo_session_ser give 744 sessions (samikhawaja/linux
 *  kernel/liveupdate/luo_session.c LUO_SESSION_MAX); the 2026 kho_block sets grow instead. */
export const LUO_SESSION_MAX = 744
/** luoCapacity=fixed-arrays: a session's file_set holds LUO_FILE_MAX = 128 files
 *  (torvalds/linux kernel/liveupdate/luo_file.c 00d0b37 luo_preserve_file -> -ENOSPC). */
export const LUO_FILE_MAX = 128
/** F_SEAL_SEAL | F_SEAL_GROW | F_SEAL_SHRINK recorded at map time (V2 patch 11). */
const REQUIRED_SEALS = ['SEAL', 'GROW', 'SHRINK'] as const

export function isPreservedOutgoing(s: State | D, file: FileId): boolean {
  return s.luo.outgoing.some((x) => x.files.some((p) => p.file === file))
}

function liveupdateIsOpen(s: State | D): boolean {
  const { fds, files } = plain(s)
  return Object.values(fds).some((f) => files[f]?.kind === 'liveupdate')
}

/** A session ioctl's target: EBADF if not open, ENOTTY if not a session fd. */
function sessionOf(d: D, fd: number): { id: FileId; sf: SessionFile } {
  const id = fileOfFd(d, fd)
  const sf = d.files[id]
  if (sf.kind !== 'session') fail('ENOTTY')
  return { id, sf }
}

/** An outgoing session for PRESERVE_FD; the incoming side cannot take new files (inferred EINVAL). */
function outgoingOf(d: D, fd: number): OutgoingSession {
  const { id, sf } = sessionOf(d, fd)
  if (sf.dir !== 'out') fail('EINVAL')
  return d.luo.outgoing.find((x) => x.file === id)!
}

/** A retrieved incoming session (finished or not: it stays until its fd closes); an outgoing
 *  one is EINVAL (LUO-2026 luo_ioctl_type_valid). */
function incomingOf(d: D, fd: number): IncomingSession {
  const { id, sf } = sessionOf(d, fd)
  const i = sf.dir === 'in' ? plain(d.luo.incoming).findIndex((x) => x.retrievedAs === id) : -1
  if (i < 0) fail('EINVAL')
  return d.luo.incoming[i]
}

// ---------------------------------------------------------------- /dev/liveupdate

export function liveupdateOpen(d: D): Result {
  // exclusive: a second open is EBUSY (luo_core.c)
  if (Object.values(d.files).some((f) => f.kind === 'liveupdate')) fail('EBUSY')
  const id = d.nextFile++
  d.files[id] = { kind: 'liveupdate' }
  return ok(installFd(d, id))
}

export function createSession(d: D, a: ArgsOf<'LIVEUPDATE_IOCTL_CREATE_SESSION'>): Result {
  if (!liveupdateIsOpen(d)) fail('EBADF')
  if (a.name.length === 0 || Buffer.byteLength(a.name) > SESSION_NAME_MAX) fail('EINVAL')
  // names are unique within the outgoing list; the incoming list is separate (live-update.md §1.2)
  // fixed-arrays: room in the serialization array is checked first, -ENOMEM, then the names
  // (samikhawaja/linux luo_session.c 0f15271 luo_session_insert); growable: the kho_block
  // set grows (its 10000-block cap is far beyond any run)
  if (d.design.luoCapacity === 'fixed-arrays' && d.luo.outgoing.length >= LUO_SESSION_MAX) fail('ENOMEM')
  if (plain(d.luo.outgoing).some((x) => x.name === a.name)) fail('EEXIST')
  const id = d.nextFile++
  d.files[id] = { kind: 'session', name: a.name, dir: 'out' }
  d.luo.outgoing.push({ name: a.name, file: id, files: [] })
  return ok(installFd(d, id))
}

export function retrieveSession(d: D, a: ArgsOf<'LIVEUPDATE_IOCTL_RETRIEVE_SESSION'>): Result {
  if (!liveupdateIsOpen(d)) fail('EBADF')
  const sess = d.luo.incoming[plain(d.luo.incoming).findIndex((x) => x.name === a.name)]
  // no such session: ENOENT; already retrieved: EINVAL (luo_session.c)
  if (!sess) fail('ENOENT')
  if (sess.retrievedAs !== undefined || sess.closedUnfinished) fail('EINVAL')
  const id = d.nextFile++
  d.files[id] = { kind: 'session', name: a.name, dir: 'in' }
  sess.retrievedAs = id
  return ok(installFd(d, id))
}

// ---------------------------------------------------------------- preserve

/** luo_preserve_file(): token unique in the session (EEXIST), room (ENOSPC), a valid fd
 *  (EBADF), a handler whose can_preserve accepts it (ENOENT), then the handler's preserve. */
export function preserveFd(d: D, a: ArgsOf<'LIVEUPDATE_SESSION_PRESERVE_FD'>): Result {
  const sess = outgoingOf(d, a.session)
  const token = a.token.toString()
  if (sess.files.some((p) => p.token === token)) fail('EEXIST')
  if (d.design.luoCapacity === 'fixed-arrays' && sess.files.length >= LUO_FILE_MAX) fail('ENOSPC')
  const fileId = fileOfFd(d, a.fd)
  const f = d.files[fileId]
  const kind = canPreserve(d, fileId)
  if (!kind) fail('ENOENT')
  // a file is preserved once: LUO keys preserved files by the handler's get_id (inferred EBUSY)
  if (isPreservedOutgoing(d, fileId)) fail('EBUSY')
  const entry: LuoPreserved = { token, file: fileId, kind }
  if (f.kind === 'iommufd') entry.froze = preserveIommufd(d, sess, f)
  else if (f.kind === 'vfio') entry.iommu = preserveVfio(d, sess, fileId)
  sess.files.push(entry)
  return ok()
}

function canPreserve(d: D, id: FileId): LuoPreserved['kind'] | undefined {
  const f = d.files[id]
  if (f.kind === 'memfd' || f.kind === 'iommufd') return f.kind
  // vfio_pci_liveupdate_can_preserve: a cdev-opened vfio-pci device (every luv vfio file is
  // one); the singleton-group rule is not here but in the preserve (samikhawaja/linux
  // drivers/vfio/pci/vfio_pci_liveupdate.c 03855e7)
  if (f.kind === 'vfio') return 'vfio'
  return undefined
}

/** The iommufd handler's preserve (live-update.md §2.2): every marked HWPT's IOAS must be
 *  admissible memory, then the IOAS freezes and the domain is preserved. Returns the IOAS
 *  ids it froze. */
function preserveIommufd(d: D, sess: OutgoingSession, f: IommufdFile): number[] {
  const marked = Object.entries(f.objects)
    .map(([id, o]) => [Number(id), o] as const)
    .filter(([, o]) => o.type === 'HWPT_PAGING' && o.mark !== undefined)
  // the order the checks run in decides which errno a preserve with several bad HWPTs gets.
  // markImpl=token-xarray-ref: V3a iommufd_liveupdate_preserve (samikhawaja/linux
  // drivers/iommu/iommufd/liveupdate.c) gathers one entry per token by
  // xa_for_each(&ictx->liveupdate_tokens), ascending token (pass 2), then checks each IOAS
  // once and preserves each entry's domain in that order (pass 3): the lowest failing token
  // decides, and an HWPT's second token is EBUSY at its own place in the walk. The other
  // mark implementations: one entry per marked HWPT, in object-id order.
  const byToken = d.design.markImpl === 'token-xarray-ref'
  const entries = byToken
    ? marked
        .flatMap(([, h]) => (h.type === 'HWPT_PAGING' ? (h.xaTokens ?? [h.mark!]).map((t) => [BigInt(t), h] as const) : []))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, h]) => h)
    : marked.map(([, h]) => h)
  const visitedIoas = new Set<number>()
  const preservedHere = new Set<number>()
  for (const h of entries) {
    if (h.type !== 'HWPT_PAGING' || h.ioas === undefined) continue
    const ioas = f.objects[h.ioas]
    if (ioas.type !== 'IOAS') continue
    // memoryRule=none: V1 iommufd_save_hwpts checks nothing about the IOAS's areas
    if (d.design.memoryRule !== 'none' && !visitedIoas.has(h.ioas)) for (const area of ioas.areas) {
      // check_iopt_pages_preserved: file-backed (EINVAL), sealed at map time (EINVAL, D7),
      // backed by a memfd already preserved in this session (ENOENT)
      if (area.kind !== 'file') fail('EINVAL')
      if (d.design.memoryRule === 'sealed-preserved-memfd' && !REQUIRED_SEALS.every((s) => area.sealsAtMap.includes(s)))
        fail('EINVAL')
      if (!sess.files.some((p) => p.kind === 'memfd' && p.file === area.file)) fail('ENOENT')
    }
    visitedIoas.add(h.ioas)
    // iommu_domain_preserve: EBUSY if this domain is already preserved (also V3a's second
    // token entry for the same HWPT: its domain is preserved twice, markImpl=token-xarray-ref)
    if (d.domains[h.domain].preserved || preservedHere.has(h.domain)) fail('EBUSY')
    preservedHere.add(h.domain)
  }
  const froze: number[] = []
  for (const [, h] of marked) {
    if (h.type !== 'HWPT_PAGING' || h.ioas === undefined) continue
    const ioas = f.objects[h.ioas]
    // D6: the whole IOAS becomes immutable (map/unmap EBUSY), or only the domain is frozen
    if (d.design.ioasFreeze === 'whole-ioas' && ioas.type === 'IOAS' && !ioas.immutable) {
      ioas.immutable = true
      froze.push(h.ioas)
    }
    d.domains[h.domain].preserved = { session: sess.name, token: h.mark! }
  }
  f.preservedIn = sess.name
  return froze
}

/** vfio_pci_liveupdate_preserve (samikhawaja/linux drivers/vfio/pci/vfio_pci_liveupdate.c
 *  03855e7): the IOMMU state is preserved only "if iommufd is attached" (the RID attached
 *  through this cdev), then the PCI layer's checks. Returns whether IOMMU state was preserved.
 *  A cdev that is not bound or not attached is preserved without it. */
function preserveVfio(d: D, sess: OutgoingSession, id: FileId): boolean {
  const vf = d.files[id]
  if (vf.kind !== 'vfio') return false
  const group = groupOf(d.platform, vf.bdf)
  const f = vf.bound ? (d.files[vf.bound.iommufd] as IommufdFile) : undefined
  const attached = f?.attach[group]?.[0]?.devices.includes(vf.bdf) ?? false
  if (attached) iommufdDevicePreserve(d, sess, vf)
  // pci_liveupdate_preserve -> pci_liveupdate_validate_iommu_group: a device sharing its
  // iommu group is -EINVAL (drivers/pci/liveupdate.c text and its review mail, audit L31)
  if (resolveDevices(d.platform).filter((x) => x.group === group).length !== 1) fail('EINVAL')
  // the PCI layer keeps one record per device: a device already preserved through another
  // of its files is refused, EBUSY (samikhawaja/linux drivers/pci/liveupdate.c @ 16d3d0d
  // pci_liveupdate_preserve: `if (dev->liveupdate_outgoing) return -EBUSY`)
  const other = d.luo.outgoing.some((s) => s.files.some((p) => p.kind === 'vfio' && p.file !== id && (d.files[p.file] as { bdf?: string }).bdf === vf.bdf))
  if (other) fail('EBUSY')
  if (attached) d.devices[vf.bdf].preservedIn = sess.name
  return attached
}

/** iommufd_device_preserve, then iommu_preserve_device. V3 (samikhawaja/linux
 *  drivers/iommu/iommufd/device.c 027f82d): PASID attachments -EOPNOTSUPP, no RID attach
 *  -ENOENT, HWPT not preserved -EINVAL, iommufd token -ENOENT. V2 (mail "iommufd: ... preserve
 *  device"): no RID attach -ENOENT, HWPT not marked (lu_preserve) -EINVAL, token -ENOENT.
 *  iommu_preserve_device (drivers/iommu/liveupdate.c e76a119): owner not claimed -EINVAL,
 *  domain without preserved_state -EINVAL, a non-singleton group -EOPNOTSUPP (checked last). */
function iommufdDevicePreserve(d: D, sess: OutgoingSession, vf: Extract<State['files'][number], { kind: 'vfio' }>): void {
  const f = d.files[vf.bound!.iommufd] as IommufdFile
  const group = groupOf(d.platform, vf.bdf)
  const attached = f.attach[group] ?? {}
  for (const [pasid, at] of Object.entries(attached)) {
    if (Number(pasid) === 0 || !at.devices.includes(vf.bdf)) continue
    // pasidPreservation=none: any PASID attachment makes preserve fail (V3 EOPNOTSUPP);
    // all: every PASID's HWPT must be preserved too (EINVAL); selective: unpreserved ones are dropped
    if (d.design.pasidPreservation === 'none') fail('EOPNOTSUPP')
    const h = f.objects[at.hwpt]
    if (d.design.pasidPreservation === 'all' && h.type === 'HWPT_PAGING' && !d.domains[h.domain].preserved) fail('EINVAL')
  }
  const rid = attached[0]
  if (!rid || !rid.devices.includes(vf.bdf)) fail('ENOENT')
  const h = f.objects[rid.hwpt]
  if (h.type !== 'HWPT_PAGING') fail('EINVAL')
  // devicePreserve: V2 checks the mark flag, V3 that the iommufd's preserve preserved the HWPT
  if (d.design.devicePreserve === 'mark-checked' ? h.mark === undefined : !d.domains[h.domain].preserved) fail('EINVAL')
  // liveupdate_get_token_outgoing(s, idev->ictx->file): the iommufd must be in this session
  if (!sess.files.some((p) => p.kind === 'iommufd' && p.file === vf.bound!.iommufd)) fail('ENOENT')
  // iommu_preserve_device
  if (d.groups[group].ownerCnt === 0) fail('EINVAL')
  if (!d.domains[h.domain].preserved) fail('EINVAL')
  if (resolveDevices(d.platform).filter((x) => x.group === group).length !== 1) fail('EOPNOTSUPP')
}

/** Closing an outgoing session unpreserves its files in reverse order (I10): the IOAS this
 *  preserve froze thaws, domains and devices are unpreserved. */
function unpreserveSession(d: D, sess: OutgoingSession): void {
  for (const p of [...sess.files].reverse()) {
    const f = d.files[p.file]
    if (f.kind === 'vfio' && p.iommu) d.devices[f.bdf].preservedIn = undefined
    if (f.kind === 'iommufd') {
      for (const id of p.froze ?? []) {
        const o = f.objects[id]
        if (o?.type === 'IOAS') o.immutable = false
      }
      for (const o of Object.values(f.objects))
        if (o.type === 'HWPT_PAGING' && d.domains[o.domain]?.preserved?.session === sess.name) {
          khoUnpreserveTables(d, o.domain)
          d.domains[o.domain].preserved = undefined
        }
      // V1 iommufd_liveupdate_unpreserve walks the existing HWPTs only: a domain freed by
      // IOMMU_DESTROY (destroyPreserved=frees-domain) keeps its preservation; the serialized
      // iommufd state, with the destroyed HWPT's record, goes
      f.lost = undefined
      f.preservedIn = undefined
    }
  }
  d.luo.outgoing = plain(d.luo.outgoing).filter((x) => x.name !== sess.name)
}

// ---------------------------------------------------------------- retrieve

export function retrieveFd(d: D, a: ArgsOf<'LIVEUPDATE_SESSION_RETRIEVE_FD'>): Result {
  const sess = incomingOf(d, a.session)
  const token = a.token.toString()
  const inf = sess.files.find((x) => x.token === token)
  if (!inf) fail('ENOENT')
  // a failed retrieve is sticky; a successful one is idempotent: the same file, a new fd
  // (luo_file.c luo_retrieve_file)
  if (typeof inf.retrieved === 'string') fail(inf.retrieved as Errno)
  if (typeof inf.retrieved === 'number') return ok(installFd(d, inf.retrieved))
  const id = d.nextFile
  switch (inf.ser.kind) {
    case 'memfd': {
      const pages: number[] = []
      plain(d.pages).forEach((pg, p) => {
        if (pg.use === 'incoming' && pg.session === sess.name && pg.token === token) pages[pg.index] = p
      })
      pages.forEach((p, index) => (d.pages[p] = { use: 'memfd', file: id, index }))
      // memfdSeals: memfd-v1 restores the file unsealed, memfd-v2 re-applies the seals
      d.files[id] = { kind: 'memfd', pages, seals: d.design.memfdSeals === 'reapplied' ? [...inf.ser.seals] : [] }
      break
    }
    case 'iommufd':
      // Phase 1 (V2): the iommufd cannot be retrieved yet: EOPNOTSUPP, and it sticks
      if (d.design.restoreFlow === 'boot-only') {
        inf.retrieved = 'EOPNOTSUPP'
        fail('EOPNOTSUPP', true)
      }
      d.files[id] = {
        kind: 'iommufd',
        objects: {},
        attach: {},
        lu: { session: sess.name, token, records: inf.ser.records.map((r) => ({ ...r, devices: [...r.devices] })) },
      }
      break
    case 'vfio':
      d.files[id] = { kind: 'vfio', bdf: inf.ser.bdf, irqs: false }
      d.devices[inf.ser.bdf].incoming = undefined
      // vfio_pci_liveupdate_retrieve: vdev->liveupdate_incoming_state = ser
      d.devices[inf.ser.bdf].incomingState = true
      break
  }
  d.nextFile++
  inf.retrieved = id
  return ok(installFd(d, id))
}

// ---------------------------------------------------------------- finish

/** can_finish of every file (live-update.md §1.3, §2.3, §3); all must agree. */
function canFinish(d: D, sess: IncomingSession): boolean {
  return sess.files.every((inf) => {
    switch (inf.ser.kind) {
      case 'memfd':
        return true
      case 'vfio':
        // vfio_pci_liveupdate_can_finish: retrieved, and liveupdate_incoming_state no longer
        // in use (cleared when the retrieved cdev is bound: vfio_pci_core_enable)
        return typeof inf.retrieved === 'number' && !d.devices[inf.ser.bdf].incomingState
      case 'iommufd': {
        if (d.design.restoreFlow === 'boot-only' || typeof inf.retrieved !== 'number') return false
        const f = d.files[inf.retrieved] as IommufdFile
        if (!f.lu || f.lu.records.some((r) => r.reclaimedAs === undefined)) return false
        // no restored HWPT may still have attachments: the user must replace it first; with
        // finishGate=restored-destroyed it must be gone altogether
        const gateDestroyed = d.design.finishGate === 'restored-destroyed'
        return !Object.values(f.objects).some((o) => o.type === 'HWPT_PAGING' && o.restored && (gateDestroyed || domainAttached(d, o.domain)))
      }
    }
  })
}

function domainAttached(d: D, dom: number): boolean {
  return Object.values(d.groups).some((g) => g.domain === dom || Object.values(g.pasids).includes(dom))
}

/** Finish every file in reverse order; with unfinished=finish-discards, whatever was not
 *  reclaimed is dropped and devices still on it lose their translation (old LUO uapi). */
function doFinish(d: D, sess: IncomingSession): void {
  const discarded = new Set<number>()
  for (const inf of [...sess.files].reverse()) {
    if (inf.ser.kind === 'memfd' && typeof inf.retrieved !== 'number') {
      // memfd finish without retrieve: the preserved folios are put back (memfd_luo_finish)
      plain(d.pages).forEach((pg, p) => {
        if (pg.use === 'incoming' && pg.session === sess.name && pg.token === inf.token) d.pages[p] = { use: 'free' }
      })
    }
    if (inf.ser.kind === 'vfio') {
      d.devices[inf.ser.bdf].incoming = undefined
      d.devices[inf.ser.bdf].incomingState = undefined
    }
    if (inf.ser.kind === 'iommufd') {
      const recs = typeof inf.retrieved === 'number' ? ((d.files[inf.retrieved] as IommufdFile).lu?.records ?? []) : inf.ser.records
      for (const r of recs) if (r.reclaimedAs === undefined) discarded.add(r.domain)
      if (typeof inf.retrieved === 'number') (d.files[inf.retrieved] as IommufdFile).lu = undefined
    }
  }
  for (const [name, g] of Object.entries(d.groups)) {
    // PASIDs on a discarded domain are blocked; the RID is handled below
    for (const [pasid, dom] of Object.entries(g.pasids)) if (discarded.has(dom)) setGroupDomain(d, name, Number(pasid), 'blocking')
    if (isUserDomain(g.domain) && discarded.has(g.domain)) {
      if (g.owner.kind === 'restored') {
        g.owner = { kind: 'none' }
        g.ownerCnt = 0
        g.pasids = {}
        setGroupDomain(d, name, 0, 'default')
      } else setGroupDomain(d, name, 0, 'blocking')
    }
  }
  // luo_file_finish empties the file set; the session itself stays (retrieved) until its fd
  // is released (samikhawaja/linux kernel/liveupdate/luo_session.c luo_session_finish,
  // luo_session_release): FINISH again is 0, RETRIEVE_FD -ENOENT, RETRIEVE_SESSION -EINVAL
  sess.files = []
  sess.finished = true
  reapDomains(d)
}

export function finish(d: D, a: ArgsOf<'LIVEUPDATE_SESSION_FINISH'>): Result {
  const sess = incomingOf(d, a.session)
  // any can_finish false: EBUSY and nothing finished; finish is atomic and may be retried
  if (d.design.unfinished === 'finish-fails' && !canFinish(d, sess)) fail('EBUSY')
  doFinish(d, sess)
  return ok()
}

/** Release of a session fd: an outgoing session unpreserves everything; a retrieved incoming
 *  session runs finish, and if that fails it stays but cannot be retrieved again. */
export function releaseSession(d: D, id: FileId): void {
  const sf = d.files[id] as SessionFile
  if (sf.dir === 'out') {
    const sess = plain(d.luo.outgoing).find((x) => x.file === id)
    if (sess) unpreserveSession(d, sess)
    return
  }
  const i = plain(d.luo.incoming).findIndex((x) => x.retrievedAs === id)
  if (i < 0) return
  const sess = d.luo.incoming[i]
  // the other sessions, taken before doFinish changes this one (finish touches no other)
  const others = plain(d.luo.incoming).filter((_, j) => j !== i)
  // luo_session_release: finish (a no-op once finished); on success the session goes
  if (d.design.unfinished === 'finish-discards' || canFinish(d, sess)) {
    doFinish(d, sess)
    d.luo.incoming = others
  } else sess.closedUnfinished = true
}

/** LIVEUPDATE_SESSION_GET_NAME (LUO-2026 luo_session_get_name): the session's name, on an
 *  outgoing or incoming session fd; reserved must be 0 (EINVAL). The 6.19-era LUO has no such
 *  ioctl: its luo_session_ioctl answers a number past its table with -EINVAL
 *  (samikhawaja/linux kernel/liveupdate/luo_session.c 0f15271). */
export function getName(d: D, a: ArgsOf<'LIVEUPDATE_SESSION_GET_NAME'>): Result {
  const { sf } = sessionOf(d, a.session)
  if (d.design.luoCapacity === 'fixed-arrays') fail('EINVAL')
  if ((a.reserved ?? 0) !== 0) fail('EINVAL')
  return okText(sf.name)
}
