// The guided step: "do the next step of the documented live-update flow from wherever the
// state is now". A random walk almost never marks a HWPT, preserves memfd -> iommufd -> cdev
// in order, kexecs and recovers; a guided step resolves against the current state, so a run
// that mixes guided and random steps reaches deep flows, and the shrinker can still drop any
// single guided step (the remaining ones re-resolve to whatever comes next).

import type { Op, Seal } from '../models/ops.ts'
import type { IommufdFile, State, VfioFile } from '../models/state.ts'
import { groupOf, tablePagesOf } from '../models/platform.ts'
import { IDA_START_DID } from '../models/iommu.ts'
import { fdOfFile, fdsOf, ictx, objectsOf, resizeSealsAllow, sealsAllowResize, sessionFds } from './ops.ts'
import type { Picker } from './picker.ts'
import { destroyPreservedStep } from './guides/destroy-preserved.ts'

const IOVA = 0x100000n
/** where the flow maps a 2 MiB-aligned run: a 2 MiB leaf (models/iommu.ts splitRun) */
const SUPER_IOVA = 0x200000n
const SUPER_PAGES = 512

/** A platform with memory for a 2 MiB leaf beside everything else a run allocates. */
const superpageCapable = (s: State) => s.platform.memoryPages >= 2 * SUPER_PAGES
/** The machine with memory to spare (the superpage one `luv campaign` draws by default beside
 *  the default one): the excursions added in session 7 (a live update called off, a cdev
 *  preserved without IOMMU state, a session closed instead of finished) run there only, so the
 *  harness platforms' fixed-seed finding tests keep their streams (as secondVmStep does). */
const spareMachine = superpageCapable

/** Pages a memfd needs so that, allocated lowest free page first (models/memory.ts), it holds
 *  a 512-page run starting on a 2 MiB-aligned PA. */
function superpageMemfdPages(s: State): number {
  const first = s.pages.findIndex((pg) => pg.use === 'free')
  return ((SUPER_PAGES - (first % SUPER_PAGES)) % SUPER_PAGES) + SUPER_PAGES
}

/** The index of the first 2 MiB-aligned, PA-contiguous 512-page run of a memfd, if any. */
function superRunIn(pages: readonly number[]): number | undefined {
  for (let i = 0; i + SUPER_PAGES <= pages.length; i++) {
    if (pages[i] % SUPER_PAGES !== 0 || pages[i + SUPER_PAGES - 1] - pages[i] !== SUPER_PAGES - 1) continue
    let k = 1
    while (k < SUPER_PAGES && pages[i + k] === pages[i] + k) k++
    if (k === SUPER_PAGES) return i
  }
  return undefined
}

/** The platform's devices that are alone in their IOMMU group (the flow's main device is one
 *  of them: a cdev of a multi-device group cannot be preserved). The platform is a fixed
 *  parameter of the run, so this is worked out once per platform (issue 12). */
const singletons = new WeakMap<State['platform'], State['platform']['devices']>()
function singletonDevices(platform: State['platform']): State['platform']['devices'] {
  let ds = singletons.get(platform)
  if (ds === undefined) {
    ds = platform.devices.filter((d) => platform.devices.filter((x) => groupOf(platform, x.bdf) === groupOf(platform, d.bdf)).length === 1)
    singletons.set(platform, ds)
  }
  return ds
}

/** A device's platform entry, its PASID count and the DIDs its unit has for domains
 *  (cap_ndoms - IDA_START_DID), per platform and BDF: fixed for a run, so looked up once
 *  (issue 12: fillUnitStep asked on every guided step). */
const devicesOf = new WeakMap<State['platform'], Map<string, DeviceInfo>>()
interface DeviceInfo {
  dev: State['platform']['devices'][number] | undefined
  caps: number
  usable: number
}
function deviceOf(platform: State['platform'], bdf: string): DeviceInfo {
  let m = devicesOf.get(platform)
  if (m === undefined) devicesOf.set(platform, (m = new Map()))
  let info = m.get(bdf)
  if (info === undefined) {
    const dev = platform.devices.find((d) => d.bdf === bdf)
    info = { dev, caps: dev?.pasids ?? 0, usable: (platform.units.find((u) => u.name === dev?.unit)?.dids ?? 0) - IDA_START_DID }
    m.set(bdf, info)
  }
  return info
}

/** Is the file held by an outgoing session? (The set of such files is made once per LUO
 *  state, which the model shares while no LUO op runs: guided steps ask it often, issue 12.) */
const preservedFiles = new WeakMap<State['luo'], ReadonlySet<number>>()
function preservedFile(s: State, file: number): boolean {
  let set = preservedFiles.get(s.luo)
  if (set === undefined) {
    const files = new Set<number>()
    for (const x of s.luo.outgoing) for (const f of x.files) files.add(f.file)
    preservedFiles.set(s.luo, (set = files))
  }
  return set.has(file)
}

/** Is a file of this kind open (or held) anywhere? */
function anyFile(s: State, kind: State['files'][number]['kind']): boolean {
  for (const id in s.files) if (s.files[id].kind === kind) return true
  return false
}

/** The next op of the flow, or KEXEC / DMA when there is nothing left to set up. */
export function nextFlowStep(s: State, p: Picker): Op {
  return s.luo.incoming.some((x) => !x.closedUnfinished) ? recoverStep(s, p) : prepareStep(s, p)
}

function prepareStep(s: State, p: Picker): Op {
  // a live update being called off goes on: the session whose cdev's fd was closed goes next
  // (half the time: the preserved file alone, held by LUO, may also cross the KEXEC)
  const gone = spareMachine(s) ? abandonedSession(s) : undefined
  if (gone !== undefined && p.chance(1, 2)) return { op: 'CLOSE', args: { fd: gone } }
  const memfds = fdsOf(s, 'memfd')
  const memfd = memfds.find((fd) => !preservedFile(s, s.fds[fd])) ?? memfds[0]
  // on a platform with the memory for it, a third of the time a memfd that holds a 2 MiB-aligned run
  if (memfd === undefined) return { op: 'MEMFD_CREATE', args: { pages: superpageCapable(s) && p.chance(1, 3) ? superpageMemfdPages(s) : 4 } }
  const mf = s.files[s.fds[memfd]]
  // the seals the preserve rule wants; a third of the time in two F_ADD_SEALS calls, GROW|SHRINK
  // first and F_SEAL_SEAL last (the word built in steps: each call must add to the seals)
  if (mf.kind === 'memfd' && !mf.seals.includes('SEAL') && !preservedFile(s, s.fds[memfd])) {
    const want: Seal[] = mf.seals.length === 0 && p.chance(1, 3) ? ['GROW', 'SHRINK'] : mf.seals.length === 0 ? ['SEAL', 'GROW', 'SHRINK'] : REQUIRED_SEALS.filter((x) => !mf.seals.includes(x))
    return { op: 'MEMFD_SEAL', args: { fd: memfd, seals: want.length > 0 ? want : ['SEAL'] } }
  }
  const iommufd = fdsOf(s, 'iommufd')[0]
  if (iommufd === undefined) return { op: 'IOMMUFD_OPEN', args: {} }
  const ioas = objectsOf(s, iommufd, 'IOAS')[0]
  if (ioas === undefined) return { op: 'IOMMU_IOAS_ALLOC', args: { iommufd } }
  const f = ictx(s, iommufd)!
  const io = f.objects[ioas]
  if (io.type === 'IOAS' && io.areas.length === 0 && mf.kind === 'memfd') {
    const sup = mf.pages.length >= SUPER_PAGES ? superRunIn(mf.pages) : undefined
    if (sup !== undefined)
      return { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd, ioas, memfd, start: BigInt(sup) * 4096n, length: BigInt(SUPER_PAGES) * 4096n, iova: SUPER_IOVA } }
    if (mf.pages.length > 0) return { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd, ioas, memfd, start: 0n, length: BigInt(mf.pages.length) * 4096n, iova: IOVA } }
  }
  // a device: an open cdev bound to this iommufd, or the next one to open
  // stay with the device the flow already started on (a bound cdev, else an open one), so
  // guided steps build on each other instead of scattering over devices
  const devices = singletonDevices(s.platform).filter((d) => !s.devices[d.bdf]?.incoming)
  // (one pass over the open cdevs: the lowest bound one on such a device, else the lowest open one)
  const cdevs = fdsOf(s, 'vfio')
  let startedBound: string | undefined
  let startedOpen: string | undefined
  for (const fd of cdevs) {
    const x = s.files[s.fds[fd]] as VfioFile
    if (!devices.some((d) => d.bdf === x.bdf)) continue
    if (x.bound !== undefined) startedBound ??= x.bdf
    else startedOpen ??= x.bdf
  }
  const bdf = startedBound ?? startedOpen ?? devices[p.int(devices.length)]?.bdf ?? s.platform.devices[0].bdf
  const cdev = cdevs.find((fd) => (s.files[s.fds[fd]] as VfioFile).bdf === bdf)
  if (cdev === undefined) return s.devices[bdf]?.incoming ? kexecOrDma(s, p) : { op: 'VFIO_CDEV_OPEN', args: { bdf } }
  const vf = s.files[s.fds[cdev]] as VfioFile
  if (!vf.bound) return { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd } }
  const bound = fdOfFile(s, vf.bound.iommufd)
  if (bound === undefined) return kexecOrDma(s, p)
  const bf = ictx(s, bound)!
  const hwpts = objectsOf(s, bound, 'HWPT_PAGING').filter((id) => {
    const o = bf.objects[id]
    return o.type === 'HWPT_PAGING' && !o.autoDomain && !o.restored
  })
  const devId = vf.bound.devId
  const bioas = objectsOf(s, bound, 'IOAS')[0]
  if (hwpts.length === 0)
    return bioas === undefined
      ? { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: bound } }
      : { op: 'IOMMU_HWPT_ALLOC', args: p.chance(1, 3) ? { iommufd: bound, dev_id: devId, pt_id: bioas, flags: ['PASID'] } : { iommufd: bound, dev_id: devId, pt_id: bioas } }
  const group = groupOf(s.platform, bdf)
  const at = bf.attach[group]?.[0]
  if (!at || !at.devices.includes(bdf)) return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: hwpts[0] } }
  const h = bf.objects[at.hwpt]
  const hot = hotplugStep(s, p, bf, bound, h, bdf)
  if (hot) return hot
  const fill = fillUnitStep(s, p, bf, bound, cdev, devId, bdf, at.hwpt)
  if (fill) return fill
  // now and then a PASID too, on a PASID-capable device (the pasidPreservation axis decides
  // what preserving it then does)
  const caps = deviceOf(s.platform, bdf).caps
  // Half the time (not on the scarce platforms, see companionStep) the PASID gets a domain of
  // its own, on an IOAS with nothing mapped when there is one: the one DID that domain holds
  // goes when the flow detaches the PASID before the preserve (pasidPreservation=none), a
  // PASID-only teardown outside KEXEC
  if (h.type === 'HWPT_PAGING' && h.pasidCompat && caps > 1 && !bf.attach[group]?.[1] && !bf.preservedIn && p.chance(1, 4)) {
    if (!scarce(s) && p.chance(1, 2)) {
      const used = new Set(Object.values(bf.attach).flatMap((g) => Object.values(g).map((x) => x.hwpt)))
      const own = hwpts.find((id) => !used.has(id) && (bf.objects[id] as { pasidCompat: boolean }).pasidCompat)
      if (own !== undefined) return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: own, pasid: 1 } }
      const empty = objectsOf(s, bound, 'IOAS').find((id) => (bf.objects[id] as { areas?: unknown[] }).areas?.length === 0)
      if (empty === undefined && h.ioas === undefined) return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: at.hwpt, pasid: 1 } }
      return { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: bound, dev_id: devId, pt_id: empty ?? h.ioas!, flags: ['PASID'] } }
    }
    return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: at.hwpt, pasid: 1 } }
  }
  // now and then, before the live update, the VMM moves the device to a second HWPT of the
  // same kind on the same IOAS (iommufd_device_replace: QEMU does it when the guest turns
  // its vIOMMU on or off). A replace has an error path the first attach has not: with
  // teardown-then-setup the old entry is gone before the new domain has its DID, and when
  // the old domain keeps its DID through a PASID, a unit with no DID left fails the setup
  // (ENOSPC) and the old domain must be back. Only while the HWPT is unmarked, so that the
  // mark stays with the device, and only onto a newer HWPT, so replaces do not go round.
  if (h.type === 'HWPT_PAGING' && h.mark === undefined && !h.autoDomain && !h.restored && h.ioas !== undefined && !bf.preservedIn && !vf.preservedIn) {
    const next = hwpts.find((id) => {
      const o = bf.objects[id]
      return id > at.hwpt && o.type === 'HWPT_PAGING' && o.ioas === h.ioas && o.pasidCompat === h.pasidCompat && o.mark === undefined
    })
    if (next !== undefined && p.chance(2, 3)) return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: next } }
    if (next === undefined && p.chance(1, 4))
      return { op: 'IOMMU_HWPT_ALLOC', args: h.pasidCompat ? { iommufd: bound, dev_id: devId, pt_id: h.ioas, flags: ['PASID'] } : { iommufd: bound, dev_id: devId, pt_id: h.ioas } }
  }
  if (h.type === 'HWPT_PAGING' && h.mark === undefined && !bf.preservedIn)
    return { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: bound, hwpt_id: at.hwpt, token: 0x1234n + BigInt(at.hwpt) } }
  if (!anyFile(s, 'liveupdate')) return { op: 'LIVEUPDATE_OPEN', args: {} }
  // this VM's session: the one already holding its iommufd or memory, else the first
  const outs = sessionFds(s, 'out')
  const ours = (fd: number) => sessionAt(s, fd)?.files.some((f) => f.file === vf.bound!.iommufd || backingOf(bf).has(f.file)) ?? false
  const session = outs.find(ours) ?? outs[0]
  if (session === undefined) return { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vm0' } }
  // now and then, once a cdev is in the session, the VMM calls the live update off before
  // KEXEC: it closes the session fd, and luo_session_release unpreserves every file in
  // reverse order (models/luo.ts unpreserveSession): the devices go back to what they were
  // (bound, attached, or, their cdev closed meanwhile, unbound), and the flow starts over
  // (a third of the time the VM's process exits instead: its cdev fd closes first, and
  // prepareStep closes the session next, abandonedSession)
  // (or, now and then, before anything is in it: the session just goes)
  const held = sessionAt(s, session)!.files
  if (spareMachine(s) && (held.length === 0 ? p.chance(1, 8) : held.some((f) => f.kind === 'vfio') && p.chance(1, 10)))
    return { op: 'CLOSE', args: { fd: p.chance(1, 3) && preservedFile(s, s.fds[cdev]) ? cdev : session } }
  const token = freeToken(s, session)
  // memfds backing the marked HWPTs' IOAS first, then the iommufd, then the cdev
  for (const file of [...backingOf(bf)].sort((a, b) => a - b)) {
    const fd = fdOfFile(s, file)
    if (!preservedFile(s, file) && fd !== undefined) return { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd, token } }
  }
  const dp = destroyPreservedStep(s, p, bf, bound, devId, at.hwpt)
  if (dp) return dp
  if (!preservedFile(s, vf.bound.iommufd)) {
    const r = resizePreservedStep(s, p, bf)
    if (r) return r
    const c = companionStep(s, p, cdev, bound, at.hwpt, session)
    if (c) return c
    return { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd: bound, token } }
  }
  if (!preservedFile(s, s.fds[cdev])) {
    // a device with a PASID attached cannot be preserved where PASIDs are not
    // (pasidPreservation=none: EOPNOTSUPP); most of the time the VMM detaches the PASID first,
    // instead of retrying the preserve for the rest of the run
    const pasidAt = Object.keys(bf.attach[group] ?? {}).map(Number).find((k) => k > 0)
    if (pasidAt !== undefined && s.design.pasidPreservation === 'none' && p.chance(2, 3)) return { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev, pasid: pasidAt } }
    return { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd: cdev, token } }
  }
  const second = secondVmStep(s, p, session)
  if (second) return second
  // the companions attached to a marked HWPT of this iommufd cross the KEXEC too; now and then
  // the VMM hands one to the other VM's session, which iommufd_device_preserve refuses (the
  // iommufd is not in that session: ENOENT), and preserves it in its own on the next try
  for (const c of fdsOf(s, 'vfio', (x) => (x as VfioFile).bound?.iommufd === vf.bound!.iommufd)) {
    if (c === cdev || preservedFile(s, s.fds[c])) continue
    const rid = bf.attach[groupOf(s.platform, (s.files[s.fds[c]] as VfioFile).bdf)]?.[0]
    const ho = rid ? bf.objects[rid.hwpt] : undefined
    const wrong = outs.find((fd) => fd !== session)
    if (ho?.type === 'HWPT_PAGING' && ho.mark !== undefined)
      return wrong !== undefined && p.chance(1, 4)
        ? { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: wrong, fd: c, token: freeToken(s, wrong) } }
        : { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd: c, token } }
  }
  // a running VM has interrupts on; the VFIO freeze refuses them (EINVAL), so the flow turns
  // them off before KEXEC, most of the time
  if (!vf.irqs && p.chance(1, 6)) return { op: 'VFIO_DEVICE_SET_IRQS', args: { cdev, enabled: true } }
  if (vf.irqs && !p.chance(1, 4)) return { op: 'VFIO_DEVICE_SET_IRQS', args: { cdev, enabled: false } }
  // now and then the VMM tries to move the preserved device before KEXEC: attach and detach
  // of a preserved device are refused (EBUSY), in every profile
  if (s.devices[vf.bdf]?.preservedIn && p.chance(1, 10))
    return p.chance(1, 2) ? { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev } } : { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: at.hwpt } }
  return kexecOrDma(s, p)
}

const REQUIRED_SEALS: Seal[] = ['SEAL', 'GROW', 'SHRINK']

/** The fd of an outgoing session holding a preserved cdev no fd is open on any more. */
function abandonedSession(s: State): number | undefined {
  for (const x of s.luo.outgoing)
    for (const f of x.files) if (f.kind === 'vfio' && fdOfFile(s, f.file) === undefined) return fdOfFile(s, x.file)
  return undefined
}

/** Platforms made scarce on purpose (the tiny one): 12 table pages, units with 2 and 1 DIDs. */
const scarce = (s: State) => tablePagesOf(s.platform) < 64 || s.platform.units.some((u) => u.dids < 8)

const sessionAt = (s: State, fd: number) => s.luo.outgoing.find((x) => x.file === s.fds[fd])

/** The lowest LUO token free in this outgoing session: tokens are unique per session only
 *  (luo_preserve_file), so every VM numbers its files from 1. */
function freeToken(s: State, session: number): bigint {
  const used = new Set(sessionAt(s, session)?.files.map((f) => f.token) ?? [])
  for (let t = 1n; ; t++) if (!used.has(t.toString())) return t
}

/** Now and then, once the memory is handed to LUO, the VMM resizes a preserved memfd its seals
 *  do not pin (one the VM mapped besides the flow's own, sealed one): smaller without
 *  F_SEAL_SHRINK, larger without F_SEAL_GROW. Only the frozen mapping refuses it (-EPERM:
 *  samikhawaja/linux mm/memfd_luo.c memfd_luo_preserve -> shmem_freeze), the one case where
 *  that rule and not the seals (mm/shmem.c shmem_setattr) decides. */
function resizePreservedStep(s: State, p: Picker, f: IommufdFile): Op | undefined {
  for (const file of backingOf(f)) {
    const m = s.files[file]
    const fd = fdOfFile(s, file)
    if (m?.kind !== 'memfd' || fd === undefined || !preservedFile(s, file) || !sealsAllowResize(m)) continue
    return p.chance(1, 4) ? resizeSealsAllow(fd, m, p, () => 1) : undefined
  }
  return undefined
}

/** The memfd files backing the marked HWPTs' IOASes of an iommufd. */
function backingOf(f: IommufdFile): Set<number> {
  const backing = new Set<number>()
  for (const o of Object.values(f.objects))
    if (o.type === 'HWPT_PAGING' && o.mark !== undefined && o.ioas !== undefined) {
      const ia = f.objects[o.ioas]
      if (ia?.type === 'IOAS') for (const a of ia.areas) if (a.file !== undefined) backing.add(a.file)
    }
  return backing
}

/**
 * Now and then, once the first VM's iommufd is preserved, a second VM is live-updated beside it
 * in a session of its own: a memfd and an iommufd (no devices), numbered from token 1 like the
 * first VM's, so both iommufds carry the same LUO token. After KEXEC the recovery sometimes
 * binds the first VM's device to the second VM's retrieved iommufd (recoverStep): ownership
 * must be decided by session and token, not by the token alone.
 */
function secondVmStep(s: State, p: Picker, mainSession: number): Op | undefined {
  // Only on the machine with memory to spare (the 1024-page one `luv campaign` draws by
  // default): on the harness platforms the extra picks moved the fixed-seed finding tests'
  // streams past their 60 runs (rfc-v2 ownership, phase1 dma-safety)
  if (!superpageCapable(s)) return undefined
  const other = sessionFds(s, 'out').find((fd) => fd !== mainSession)
  if (other === undefined) {
    const name = ['vm1', 'vm2', 'vm0'].find((n) => !s.luo.outgoing.some((x) => x.name === n))
    return name !== undefined && p.chance(1, 5) ? { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name } } : undefined
  }
  const sess = sessionAt(s, other)!
  const token = freeToken(s, other)
  const kinds = new Set(sess.files.map((f) => s.files[f.file]?.kind))
  if (!kinds.has('memfd')) {
    const m = fdsOf(s, 'memfd').find((fd) => !preservedFile(s, s.fds[fd]))
    return m === undefined ? { op: 'MEMFD_CREATE', args: { pages: 2 } } : { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: other, fd: m, token } }
  }
  if (!kinds.has('iommufd')) {
    // an iommufd of its own: one with nothing marked (its preserve checks nothing), or a new one
    const i = fdsOf(s, 'iommufd').find((fd) => !preservedFile(s, s.fds[fd]) && !Object.values(ictx(s, fd)!.objects).some((o) => o.type === 'HWPT_PAGING' && o.mark !== undefined))
    return i === undefined ? { op: 'IOMMUFD_OPEN', args: {} } : { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: other, fd: i, token } }
  }
  return undefined
}

/**
 * Before the iommufd is preserved, now and then a second device joins the VM (a companion):
 * its cdev opened and bound to the same iommufd, then, drawn each time it stands bound with
 * nothing attached,
 *   * attached to the main device's marked HWPT: one preserved domain behind two devices, on
 *     one unit or across units (whichever unit the companion sits behind);
 *   * given a HWPT of its own, which the flow then marks: two preserved domains;
 *   * attached only at a PASID (PASID-capable devices), used, and torn down again by a PASID
 *     detach or by closing the cdev, outside any KEXEC (pasidPreservation=none refuses to
 *     preserve a device with a PASID attachment, so the flow takes it down first).
 * Returns undefined when the companions are done (or none is wanted) and the flow goes on.
 */
function companionStep(s: State, p: Picker, mainCdev: number, iommufd: number, mainHwpt: number, session: number): Op | undefined {
  // Not on platforms made scarce on purpose (the tiny one): the documented recovery holds the
  // restored and the new domains at once, and two preserved domains' tables and DIDs do not
  // fit twice in 12 table pages and 2 DIDs, so every such run would end in a recoverability
  // "failure" that is the platform's size, not the design
  if (scarce(s)) return undefined
  const f = ictx(s, iommufd)!
  const mainBdf = (s.files[s.fds[mainCdev]] as VfioFile).bdf
  const free = s.platform.devices.filter(
    (d) => d.bdf !== mainBdf && groupOf(s.platform, d.bdf) === d.bdf && !s.devices[d.bdf]?.incoming && !s.devices[d.bdf]?.preservedIn && s.groups[d.bdf]?.owner.kind !== 'dma-api',
  )
  const comps = fdsOf(s, 'vfio', (x) => (x as VfioFile).bdf !== mainBdf && free.some((d) => d.bdf === (x as VfioFile).bdf))
  for (const c of comps) {
    const cv = s.files[s.fds[c]] as VfioFile
    const ours = cv.bound === undefined || cv.bound.iommufd === s.fds[iommufd]
    const slots = cv.bound ? (f.attach[cv.bdf] ?? {}) : {}
    const held = preservedFile(s, s.fds[c])
    // now and then the companion's cdev is preserved while nothing is attached at its RID
    // (unbound, bound with no domain, or a PASID-only domain): LUO takes the cdev without
    // IOMMU state (vfio_pci_liveupdate_preserve preserves it only "if iommufd is attached"),
    // the selftests' case; the flow may still bind and attach it afterwards, and it comes
    // back unowned after KEXEC
    if (spareMachine(s) && ours && !held && slots[0] === undefined && p.chance(1, 3))
      return { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd: c, token: freeToken(s, session) } }
    // a cdev preserved unbound stays so half the time
    if (!cv.bound) return s.devices[cv.bdf]?.preservedIn || (held && p.chance(1, 2)) ? undefined : { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: c, iommufd } }
    if (cv.bound.iommufd !== s.fds[iommufd]) continue
    // and one preserved bound is left with nothing attached half the time
    if (held && Object.keys(slots).length === 0 && p.chance(1, 2)) continue
    const pasid = Object.keys(slots).map(Number).find((k) => k > 0)
    if (pasid !== undefined && slots[0] === undefined) {
      // a PASID-only domain: the VM uses it, then it goes away outside KEXEC
      if (p.chance(1, 3)) return { op: 'DMA', args: { bdf: cv.bdf, pasid, iova: dmaIova(s, p, cv.bdf, pasid) } }
      return p.chance(1, 2) ? { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev: c, pasid } } : { op: 'CLOSE', args: { fd: c } }
    }
    if (pasid !== undefined) return { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev: c, pasid } }
    const rid = slots[0]
    if (rid) {
      const h = f.objects[rid.hwpt]
      // its own HWPT: marked with a token of its own
      if (h?.type === 'HWPT_PAGING' && h.mark === undefined && !h.autoDomain)
        return { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd, hwpt_id: rid.hwpt, token: 0x1234n + BigInt(rid.hwpt) } }
      continue
    }
    // bound, nothing attached: a HWPT nothing uses yet, else the main one or a new one
    const attachedHwpts = new Set(Object.values(f.attach).flatMap((g) => Object.values(g).map((x) => x.hwpt)))
    const spare = objectsOf(s, iommufd, 'HWPT_PAGING').find((id) => {
      const o = f.objects[id]
      return o.type === 'HWPT_PAGING' && !attachedHwpts.has(id) && !o.autoDomain && !o.restored && o.ioas !== undefined && o.mark === undefined
    })
    const caps = deviceOf(s.platform, cv.bdf).caps
    if (spare !== undefined) {
      const so = f.objects[spare] as { pasidCompat: boolean }
      if (so.pasidCompat && caps > 1 && p.chance(2, 3)) return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: c, pt_id: spare, pasid: 1 } }
      return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: c, pt_id: spare } }
    }
    const ioas = (f.objects[mainHwpt] as { ioas?: number }).ioas
    if (ioas === undefined || p.chance(1, 2)) return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: c, pt_id: mainHwpt } }
    const devId = cv.bound.devId
    return { op: 'IOMMU_HWPT_ALLOC', args: caps > 1 && p.chance(1, 2) ? { iommufd, dev_id: devId, pt_id: ioas, flags: ['PASID'] } : { iommufd, dev_id: devId, pt_id: ioas } }
  }
  // a new companion, now and then, while a device is free for it
  const unopened = free.filter((d) => !comps.some((c) => (s.files[s.fds[c]] as VfioFile).bdf === d.bdf))
  if (unopened.length > 0 && comps.length === 0 && p.chance(1, 2)) return { op: 'VFIO_CDEV_OPEN', args: { bdf: unopened[p.int(unopened.length)].bdf } }
  return undefined
}

/** An IOVA for a device's DMA: a page of the first run its (RID or PASID) domain maps, among
 *  its first four or, a third of the time, its last four (DMA lands anywhere in what is
 *  mapped: a flush that covers only the start of a long range shows at its tail); the flow's
 *  IOVA when nothing is mapped (a fault). */
function dmaIova(s: State, p: Picker, bdf: string, pasid: number): bigint {
  const { dev } = deviceOf(s.platform, bdf)
  const e = dev ? (pasid === 0 ? s.units[dev.unit]?.context[bdf] : s.units[dev.unit]?.pasid[bdf]?.[pasid]) : undefined
  const ext = e ? s.domains[e.domain]?.extents[0] : undefined
  if (ext && ext.pages.length > 4 && p.chance(1, 3)) return ext.iova + BigInt(ext.pages.length - 1 - p.int(4)) * 4096n
  return (ext?.iova ?? IOVA) + BigInt(p.int(4)) * 4096n
}

/** Where the flow hot-plugs guest RAM: 4 KiB off a 2 MiB boundary, so 2 MiB of it is mapped
 *  with 4 KiB leaves whatever the PAs (a long run no superpage covers). */
const HOTPLUG_IOVA = 0x4000_0000n + 0x1000n

/**
 * On a platform with the memory for it, now and then before the mark, the VMM hot-plugs 2 MiB
 * of anonymous guest RAM into the device's IOAS at HOTPLUG_IOVA, the device does DMA into it
 * (its tail too), and the VMM unplugs it again (balloon / memory hot-unplug): a long unmap of
 * 4 KiB leaves whose IOTLB entries must all go. The area is gone before the preserve, which
 * refuses anonymous memory.
 */
function hotplugStep(s: State, p: Picker, f: IommufdFile, iommufd: number, h: IommufdFile['objects'][number], bdf: string): Op | undefined {
  if (h.type !== 'HWPT_PAGING' || h.ioas === undefined || h.mark !== undefined || f.preservedIn || !superpageCapable(s)) return undefined
  const io = f.objects[h.ioas]
  if (io?.type !== 'IOAS' || io.immutable) return undefined
  const area = io.areas.find((a) => a.iova === HOTPLUG_IOVA)
  if (area === undefined) return p.chance(1, 6) ? { op: 'IOMMU_IOAS_MAP', args: { iommufd, ioas: h.ioas, length: BigInt(SUPER_PAGES) * 4096n, iova: HOTPLUG_IOVA } } : undefined
  if (p.chance(1, 2)) return { op: 'DMA', args: { bdf, iova: area.iova + area.length - 4096n * BigInt(1 + p.int(4)) } }
  return { op: 'IOMMU_IOAS_UNMAP', args: { iommufd, ioas: h.ioas, iova: area.iova, length: area.length } }
}

/**
 * On a platform where one device can hold more domains than its IOMMU unit has DIDs (RID + the
 * PASIDs 1..pasids-1 against cap_ndoms - IDA_START_DID: the tiny platform's dmar0), now and
 * then before the mark the VMM gives the device's PASIDs domains of their own (PASID-capable
 * HWPTs on an IOAS with nothing mapped: one table page each) until every DID of the unit is
 * in use, tries one more (-ENOSPC: domain_attach_iommu's ida_alloc_range(&iommu->domain_ida,
 * IDA_START_DID, cap_ndoms(iommu->cap) - 1), torvalds/linux drivers/iommu/intel/iommu.c), and
 * takes them all down again (PASID detach, IOMMU_DESTROY), so the live update goes on from
 * where it was: a unit's DID limit is tried at its edge, not only on units with fewer slots
 * than DIDs. (No other flow fills a unit: three domains side by side are not what a VM does,
 * and random attaches almost never line them up.) Undefined when it does not apply or is
 * not drawn; once begun it goes on until its domains are gone.
 */
function fillUnitStep(s: State, p: Picker, f: IommufdFile, iommufd: number, cdev: number, devId: number, bdf: string, rid: number): Op | undefined {
  const { dev, caps, usable } = deviceOf(s.platform, bdf)
  const h = f.objects[rid]
  if (!dev || caps <= usable || h?.type !== 'HWPT_PAGING' || !h.pasidCompat || h.mark !== undefined || f.preservedIn || s.devices[bdf]?.preservedIn) return undefined
  const slots = f.attach[groupOf(s.platform, bdf)] ?? {}
  // the excursion's domains: PASID slots on another HWPT than the RID's, and HWPTs of its kind
  // nothing is attached to
  const extra = Object.keys(slots).map(Number).filter((k) => k > 0 && slots[k].hwpt !== rid)
  const used = new Set(Object.values(f.attach).flatMap((g) => Object.values(g).map((x) => x.hwpt)))
  const bare = (id: number) => (f.objects[id] as { areas?: unknown[] }).areas?.length === 0
  const spares = objectsOf(s, iommufd, 'HWPT_PAGING').filter((id) => {
    const o = f.objects[id]
    return !used.has(id) && o.type === 'HWPT_PAGING' && o.pasidCompat && o.mark === undefined && !o.autoDomain && !o.restored && o.ioas !== undefined && bare(o.ioas)
  })
  const full = s.units[dev.unit].ida.length >= usable
  const free = Array.from({ length: caps - 1 }, (_, i) => i + 1).find((k) => slots[k] === undefined)
  const grow = (): Op => {
    if (spares.length > 0 && free !== undefined) return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: spares[0], pasid: free } }
    const empty = objectsOf(s, iommufd, 'IOAS').find(bare)
    return empty === undefined ? { op: 'IOMMU_IOAS_ALLOC', args: { iommufd } } : { op: 'IOMMU_HWPT_ALLOC', args: { iommufd, dev_id: devId, pt_id: empty, flags: ['PASID'] } }
  }
  const detach = (): Op => ({ op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev, pasid: extra[extra.length - 1] } })
  // begun: domains at PASIDs until the unit is full; then the attach that must fail (and the
  // spare HWPT it needs first), retried now and then; then down again, PASID by PASID, and
  // the spare HWPTs destroyed (a finite walk: each state leaves towards the end with odds >= 1/4)
  if (extra.length > 0) {
    if (free === undefined) return detach()
    if (!full) return p.chance(3, 4) ? grow() : detach()
    return (spares.length > 0 ? p.chance(1, 2) : p.chance(3, 4)) ? grow() : detach()
  }
  if (spares.length > 0) return free !== undefined && p.chance(1, 2) ? grow() : { op: 'IOMMU_DESTROY', args: { iommufd, id: spares[0] } }
  // not begun: half the time when an IOAS with nothing mapped is at hand, else a third (the
  // flow passes here about once a run, between the attach and the mark)
  return p.chance(1, objectsOf(s, iommufd, 'IOAS').some(bare) ? 2 : 3) ? grow() : undefined
}

function kexecOrDma(s: State, p: Picker): Op {
  const preserved = Object.entries(s.devices).filter(([, d]) => d.preservedIn || d.incoming)
  if (preserved.length > 0 && p.chance(1, 3)) {
    const bdf = preserved[p.int(preserved.length)][0]
    return { op: 'DMA', args: { bdf, iova: dmaIova(s, p, bdf, 0) } }
  }
  // now and then reboot() fails in kho_finalize once everything is frozen (-EAGAIN): what the
  // freeze did to the devices (deviceAcrossKexec) is then seen by the old kernel
  return { op: 'KEXEC', args: p.chance(1, 10) ? { khoFinalizeFails: true } : {} }
}

function recoverStep(s: State, p: Picker): Op {
  // the VM keeps running: now and then a restored device does DMA between recovery steps
  const restored = Object.entries(s.groups).filter(([, g]) => typeof g.domain === 'number').map(([name]) => name)
  const dev = s.platform.devices.find((d) => restored.includes(groupOf(s.platform, d.bdf)))
  if (dev && p.chance(1, 4)) return { op: 'DMA', args: { bdf: dev.bdf, iova: dmaIova(s, p, dev.bdf, 0) } }
  if (!anyFile(s, 'liveupdate')) return { op: 'LIVEUPDATE_OPEN', args: {} }
  const sess = s.luo.incoming.find((x) => !x.closedUnfinished)!
  // a finished session stays until its fd is closed (luo_session_release): close it, the
  // last step of the documented flow, so the next cycle can begin
  if (sess.finished) {
    const fd = sess.retrievedAs !== undefined ? fdOfFile(s, sess.retrievedAs) : undefined
    return fd === undefined ? kexecOrDma(s, p) : { op: 'CLOSE', args: { fd } }
  }
  if (sess.retrievedAs === undefined || !s.files[sess.retrievedAs]) {
    if (sess.retrievedAs !== undefined) return kexecOrDma(s, p)
    return { op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name: sess.name } }
  }
  const session = fdOfFile(s, sess.retrievedAs)
  if (session === undefined) return kexecOrDma(s, p)
  for (const f of sess.files) {
    if (f.retrieved === undefined) return { op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session, token: BigInt(f.token) } }
  }
  const fileFd = (file: number | string | undefined) => (typeof file === 'number' ? fdOfFile(s, file) : undefined)
  for (const inf of sess.files) {
    if (inf.ser.kind !== 'iommufd') continue
    const ifd = fileFd(inf.retrieved)
    if (ifd === undefined) continue
    const f = s.files[s.fds[ifd]] as IommufdFile
    // bind the cdevs preserved with this iommufd
    for (const vfi of sess.files) {
      if (vfi.ser.kind !== 'vfio' || vfi.ser.iommufdToken !== inf.token) continue
      const cdev = fileFd(vfi.retrieved)
      if (cdev === undefined) continue
      if (!(s.files[s.fds[cdev]] as VfioFile).bound) {
        // sometimes a foreign iommufd tries first: the ownership rule must turn it away. A
        // fresh one, or the iommufd another session brought across (the second VM's, which
        // may carry the same LUO token as this one: retrieved first when it is not yet)
        // (a retrieval of the other session's iommufd once begun is carried through: the
        // other VM's recovery runs alongside)
        const other = fdsOf(s, 'iommufd', (x) => x.kind === 'iommufd' && x.lu !== undefined && x.lu.session !== sess.name)[0]
        const begun = other === undefined ? retrieveOtherIommufd(s, sess.name, true) : undefined
        if (begun) return begun
        if (p.chance(1, 5) || (other !== undefined && p.chance(1, 2))) {
          const fresh = fdsOf(s, 'iommufd', (x) => x.kind === 'iommufd' && !x.lu)[0]
          const step = other === undefined ? retrieveOtherIommufd(s, sess.name) : undefined
          if (step && p.chance(1, 2)) return step
          const foreign = other ?? fresh
          return foreign === undefined ? { op: 'IOMMUFD_OPEN', args: {} } : { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: foreign } }
        }
        return { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: ifd } }
      }
    }
    for (const r of f.lu?.records ?? []) {
      if (r.reclaimedAs === undefined) return { op: 'IOMMU_HWPT_LU_RESTORE', args: { iommufd: ifd, token: BigInt(r.token) } }
      const restored = r.reclaimedAs
      if (!f.objects[restored]) continue
      const users = Object.entries(s.groups).filter(([, g]) => g.domain === r.domain).map(([name]) => name)
      if (users.length > 0) {
        const ext = s.domains[r.domain]?.extents ?? []
        // the new IOAS: the lowest IOAS that mirrors the restored domain (or a fresh one)
        const ioas = objectsOf(s, ifd, 'IOAS').find((id) => {
          const o = f.objects[id]
          return o.type === 'IOAS' && !o.immutable
        })
        if (ioas === undefined) return { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: ifd } }
        const io = f.objects[ioas]
        if (io.type === 'IOAS') {
          for (const e of ext) {
            if (io.areas.some((a) => a.iova === e.iova)) continue
            const src = memfdHolding(s, e.pages)
            if (src) return { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: ifd, ioas, memfd: src.fd, start: BigInt(src.index) * 4096n, length: BigInt(e.pages.length) * 4096n, iova: e.iova } }
          }
        }
        const dev = objectsOf(s, ifd, 'DEVICE')[0]
        const hwpt = objectsOf(s, ifd, 'HWPT_PAGING').find((id) => {
          const o = f.objects[id]
          return o.type === 'HWPT_PAGING' && o.ioas === ioas
        })
        if (hwpt === undefined) return dev === undefined ? kexecOrDma(s, p) : { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: ifd, dev_id: dev, pt_id: ioas } }
        const bdf = s.platform.devices.find((d) => users.includes(groupOf(s.platform, d.bdf)))!.bdf
        const cdev = fdsOf(s, 'vfio', (x) => (x as VfioFile).bdf === bdf && !!(x as VfioFile).bound)[0]
        if (cdev !== undefined) return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: hwpt } }
        return kexecOrDma(s, p)
      }
      // both documented orders: destroy the replaced restored HWPT, then finish (the talk), or
      // finish first (the V1 selftest: can_finish only looks at attachments)
      if (p.chance(1, 3)) return { op: 'LIVEUPDATE_SESSION_FINISH', args: { session } }
      return { op: 'IOMMU_DESTROY', args: { iommufd: ifd, id: restored } }
    }
  }
  // a cdev preserved without IOMMU state is enabled by binding it to an iommufd of its own:
  // the vfio can_finish waits for that (vfio_pci_liveupdate_can_finish)
  for (const vfi of sess.files) {
    if (vfi.ser.kind !== 'vfio' || vfi.ser.iommufdToken !== undefined) continue
    const cdev = fileFd(vfi.retrieved)
    if (cdev === undefined || (s.files[s.fds[cdev]] as VfioFile).bound) continue
    const own = fdsOf(s, 'iommufd', (x) => x.kind === 'iommufd' && !x.lu)[0]
    return own === undefined ? { op: 'IOMMUFD_OPEN', args: {} } : { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: own } }
  }
  // everything is reclaimed: FINISH, or now and then the VMM creates the next live update's
  // session of this VM's name first (the outgoing list is separate from the incoming one,
  // models/luo.ts createSession) and then just closes this session's fd, whose release runs
  // finish (luo_session_release)
  const next = spareMachine(s) && s.luo.outgoing.some((x) => x.name === sess.name)
  if (!next && spareMachine(s) && p.chance(1, 3)) return { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: sess.name } }
  if (next && p.chance(1, 2)) return { op: 'CLOSE', args: { fd: session } }
  return { op: 'LIVEUPDATE_SESSION_FINISH', args: { session } }
}

/** The next step to get hold of an iommufd another incoming session carries: retrieve that
 *  session, then its iommufd file; undefined when there is none left to retrieve (`begunOnly`:
 *  only where that session is retrieved already). */
function retrieveOtherIommufd(s: State, current: string, begunOnly = false): Op | undefined {
  for (const o of s.luo.incoming) {
    if (o.name === current || o.closedUnfinished || o.finished) continue
    const inf = o.files.find((f) => f.ser.kind === 'iommufd' && f.retrieved === undefined)
    if (inf === undefined || (begunOnly && o.retrievedAs === undefined)) continue
    if (o.retrievedAs === undefined) return { op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name: o.name } }
    const fd = fdOfFile(s, o.retrievedAs)
    if (fd !== undefined) return { op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: fd, token: BigInt(inf.token) } }
  }
  return undefined
}

function memfdHolding(s: State, pages: number[]): { fd: number; index: number } | undefined {
  for (const fd of fdsOf(s, 'memfd')) {
    const f = s.files[s.fds[fd]]
    if (f.kind !== 'memfd') continue
    const at = f.pages.indexOf(pages[0])
    if (at >= 0 && pages.every((pg, i) => f.pages[at + i] === pg)) return { fd, index: at }
  }
  return undefined
}
