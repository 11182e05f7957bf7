// The documented userspace recovery after a live update (live-update.md §2.3, the V1 selftest
// and the LPC 2025 talk): retrieve every incoming session and its files, bind each retrieved
// cdev to the iommufd it was preserved with, restore each HWPT by token, rebuild the same
// mappings in a new IOAS, allocate a new HWPT, replace the restored one, destroy it, finish.
//
// `recover(state)` plays that script on the model and reports the first step that failed.
// The `recoverability` property runs it after every KEXEC.

import { step } from './step.ts'
import type { Op, Result } from './ops.ts'
import { resultToString, opToString } from './ops.ts'
import type { IommufdFile, State, VfioFile } from './state.ts'
import { groupOf } from './platform.ts'

export interface Recovery {
  ops: Op[]
  results: Result[]
  /** states after each op (for property checks along the way) */
  states: State[]
  transients: State[][]
  failed?: { op: Op; result: Result; why: string }
  final: State
}

export function recover(start: State): Recovery {
  const rec: Recovery = { ops: [], results: [], states: [], transients: [], final: start }
  let s = start
  const run = (o: Op): Result | undefined => {
    const r = step(s, o)
    rec.ops.push(o)
    rec.results.push(r.result)
    rec.states.push(r.state)
    rec.transients.push(r.transient)
    s = r.state
    rec.final = s
    return r.result
  }
  const must = (o: Op, why: string): number | bigint | undefined => {
    const r = run(o)!
    if (!r.ok) {
      rec.failed ??= { op: o, result: r, why: `${why}: ${opToString(o)} returned ${resultToString(r)}` }
      return undefined
    }
    return r.out
  }
  const fdOfFile = (file: number) => Number(Object.entries(s.fds).find(([, f]) => f === file)?.[0])

  const luFd = Object.entries(s.fds).find(([, f]) => s.files[f].kind === 'liveupdate')?.[0]
  const liveupdate = luFd !== undefined ? Number(luFd) : must({ op: 'LIVEUPDATE_OPEN', args: {} }, 'open /dev/liveupdate')
  if (liveupdate === undefined) return rec

  for (const sess of [...start.luo.incoming]) {
    if (rec.failed) break
    const mine = s.luo.incoming.find((x) => x.name === sess.name)
    if (!mine || mine.closedUnfinished || mine.finished) continue
    const sfd =
      mine.retrievedAs !== undefined
        ? fdOfFile(mine.retrievedAs)
        : Number(must({ op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name: sess.name } }, 'retrieve the session'))
    if (Number.isNaN(sfd) || rec.failed) break
    // retrieve every file (idempotent for files already retrieved)
    const fdByToken = new Map<string, number>()
    for (const f of mine.files) {
      const fd = must({ op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: sfd, token: BigInt(f.token) } }, `retrieve ${f.ser.kind} token ${f.token}`)
      if (fd === undefined) break
      fdByToken.set(f.token, Number(fd))
    }
    if (rec.failed) break
    const cur = () => s.luo.incoming.find((x) => x.name === sess.name)!
    for (const inf of cur().files.filter((x) => x.ser.kind === 'iommufd')) {
      if (rec.failed) break
      const ictxFd = fdByToken.get(inf.token)!
      const ictx = () => s.files[s.fds[ictxFd]] as IommufdFile
      // bind every cdev preserved with this iommufd
      const devIds = new Map<string, number>()
      const cdevOf = new Map<string, number>()
      for (const vf of cur().files) {
        if (vf.ser.kind !== 'vfio' || vf.ser.iommufdToken !== inf.token) continue
        const cdev = fdByToken.get(vf.token)!
        const bound = (s.files[s.fds[cdev]] as VfioFile).bound
        const devId = bound ? bound.devId : must({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: ictxFd } }, `bind ${vf.ser.bdf}`)
        if (devId === undefined) break
        devIds.set(vf.ser.bdf, Number(devId))
        cdevOf.set(vf.ser.bdf, cdev)
      }
      if (rec.failed) break
      // restoreHwpt=needs-rebind: every device that was attached to a preserved HWPT is bound
      // to the retrieved iommufd before the restore, preserved or not. The selftest that
      // defines the rule preserves only the iommufd and, after the kexec, opens both cdevs
      // afresh and binds them (samikhawaja/linux tools/testing/selftests/iommu/
      // iommufd_liveupdate_duo.c @ 6f01758 restore_iommufd: "cannot restore an HWPT without
      // already rebind all the attached devices").
      if (s.design.restoreHwpt === 'needs-rebind') {
        for (const bdf of new Set((ictx().lu?.records ?? []).flatMap((r) => r.devices))) {
          if (rec.failed || devIds.has(bdf)) continue
          const open = Object.entries(s.fds).find(([, f]) => {
            const v = s.files[f]
            return v.kind === 'vfio' && v.bdf === bdf && !v.bound
          })
          const cdev = open ? Number(open[0]) : must({ op: 'VFIO_CDEV_OPEN', args: { bdf } }, `open the cdev of ${bdf}`)
          if (cdev === undefined) break
          const devId = must({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: Number(cdev), iommufd: ictxFd } }, `bind ${bdf}`)
          if (devId === undefined) break
          devIds.set(bdf, Number(devId))
          cdevOf.set(bdf, Number(cdev))
        }
        if (rec.failed) break
      }
      // the records nothing will be attached to again first: restoring and destroying them
      // gives their table pages back before the replacements need new ones (destroying a
      // restored HWPT frees its domain: hw_pagetable.c __iommufd_hwpt_destroy). Userspace
      // chooses this order; the posted selftests restore a single HWPT.
      const withUsers = (ictx().lu?.records ?? []).map((r) => ({ r, users: r.devices.filter((b) => devIds.has(b)) }))
      const ordered = [...withUsers.filter((x) => x.users.length === 0), ...withUsers.filter((x) => x.users.length > 0)]
      for (const { r, users } of ordered) {
        if (rec.failed) break
        const restored = must({ op: 'IOMMU_HWPT_LU_RESTORE', args: { iommufd: ictxFd, token: BigInt(r.token) } }, `restore HWPT token ${r.token}`)
        if (restored === undefined) break
        if (users.length > 0) {
          // a new IOAS with the same IOVA -> memory as the restored domain, from the retrieved memfds
          const ioas = must({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: ictxFd } }, 'allocate the new IOAS')
          if (ioas === undefined) break
          for (const ext of s.domains[r.domain]?.extents ?? []) {
            const src = findMemfd(s, ext.pages)
            if (!src) {
              rec.failed ??= { op: { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: ictxFd, ioas: Number(ioas), memfd: -1, start: 0n, length: BigInt(ext.pages.length) * 4096n, iova: ext.iova } }, result: { ok: false, errno: 'ENOENT' }, why: `no retrieved memfd holds the memory the restored domain maps at 0x${ext.iova.toString(16)}` }
              break
            }
            must(
              { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: ictxFd, ioas: Number(ioas), memfd: src.fd, start: BigInt(src.index) * 4096n, length: BigInt(ext.pages.length) * 4096n, iova: ext.iova } },
              'rebuild the mappings',
            )
          }
          if (rec.failed) break
          // a device whose group still has PASID attachments (pasidPreservation kept them) only
          // takes a PASID-compatible RID domain: the VMM allocates the replacement with
          // IOMMU_HWPT_ALLOC_PASID, as it did the original (torvalds/linux
          // drivers/iommu/iommufd/device.c iommufd_hwpt_pasid_compat; hw_pagetable.c
          // iommufd_hwpt_paging_alloc: pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID)
          const pasidInUse = users.some((b) => Object.keys(s.groups[groupOf(s.platform, b)]?.pasids ?? {}).length > 0)
          const hwpt = must(
            { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: ictxFd, dev_id: devIds.get(users[0])!, pt_id: Number(ioas), ...(pasidInUse && { flags: ['PASID'] }) } },
            'allocate the new HWPT',
          )
          if (hwpt === undefined) break
          for (const bdf of users) {
            const cdev = cdevOf.get(bdf)!
            must({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: Number(hwpt) } }, `replace the restored HWPT on ${bdf}`)
            // PASIDs still translating through the restored domain (pasidPreservation kept
            // them) move to the new HWPT too, or the restored one can never be destroyed
            const pasids = s.groups[groupOf(s.platform, bdf)]?.pasids ?? {}
            for (const [pasid, dom] of Object.entries(pasids)) {
              if (rec.failed || dom !== r.domain) continue
              must({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: Number(hwpt), pasid: Number(pasid) } }, `replace the restored HWPT at PASID ${pasid} on ${bdf}`)
            }
          }
        }
        if (!rec.failed) must({ op: 'IOMMU_DESTROY', args: { iommufd: ictxFd, id: Number(restored) } }, 'destroy the restored HWPT')
      }
    }
    // a cdev preserved without IOMMU state (it was not attached) is enabled by binding it to an
    // iommufd of its own: the vfio can_finish waits for that (vfio_pci_liveupdate_can_finish)
    for (const vf of cur().files) {
      if (rec.failed || vf.ser.kind !== 'vfio' || vf.ser.iommufdToken !== undefined) continue
      const cdev = fdByToken.get(vf.token)!
      if ((s.files[s.fds[cdev]] as VfioFile).bound) continue
      const ifd = must({ op: 'IOMMUFD_OPEN', args: {} }, 'open an iommufd for a device preserved without IOMMU state')
      if (ifd !== undefined) must({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: Number(ifd) } }, `bind ${vf.ser.bdf}`)
    }
    if (!rec.failed) must({ op: 'LIVEUPDATE_SESSION_FINISH', args: { session: sfd } }, `finish session "${sess.name}"`)
  }
  return rec
}

/** The retrieved memfd (fd, first page index) whose pages back this run contiguously. */
function findMemfd(s: State, pages: number[]): { fd: number; index: number } | undefined {
  for (const [fd, id] of Object.entries(s.fds)) {
    const f = s.files[id]
    if (f.kind !== 'memfd') continue
    const at = f.pages.indexOf(pages[0])
    if (at >= 0 && pages.every((p, i) => f.pages[at + i] === p)) return { fd: Number(fd), index: at }
  }
  return undefined
}

/** What a finished update must not leave behind: KHO pages no session will claim, DIDs
 *  reserved for domains that are gone, restored domains nothing uses. */
export function leaks(s: State): string[] {
  // a finished session stays until its fd is closed, holding nothing (luo_session_finish)
  if (unfinishedSessions(s)) return []
  const out: string[] = []
  const held = s.pages.filter((p) => p.use === 'incoming').length
  if (held > 0) out.push(`${held} handover page(s) still held after every session finished`)
  for (const [name, u] of Object.entries(s.units)) {
    const used = new Set<number>()
    for (const e of Object.values(u.context)) used.add(e.did)
    for (const per of Object.values(u.pasid)) for (const e of Object.values(per)) used.add(e.did)
    const stale = u.ida.filter((did) => !used.has(did))
    if (stale.length > 0) out.push(`${name}: DID ${stale.join(', ')} reserved but used by no domain`)
  }
  const unclaimed = Object.values(s.domains).filter((d) => d.unrebuilt)
  if (unclaimed.length > 0) out.push(`${unclaimed.length} preserved domain(s) no preserved device rebuilt still hold their KHO table pages`)
  return out
}

/** Is any incoming session still to be finished? (A finished one stays until its fd closes.) */
export function unfinishedSessions(s: State): boolean {
  return s.luo.incoming.some((x) => !x.finished)
}
