// VFIO cdev and DMA ownership: open, bind to an iommufd (claims the group's DMA ownership),
// attach / replace / detach a page table for the RID or a PASID, interrupts, kernel drivers
// probing a device.
//
// Sources: domain/iommufd.md §2.7–2.8 and §3 (samikhawaja/linux drivers/vfio/device_cdev.c,
// drivers/vfio/iommufd.c, drivers/iommu/iommufd/device.c, drivers/iommu/iommu.c),
// domain/live-update.md §3–4.

import type { ArgsOf } from '../../models/ops.ts'
import { fget, fileOfFd, fput, installFd, newFile } from './files.ts'
import { addHwpt, attachAdd, attachRemove, autoHwpt, dropNewHwpt, mapFor, putAutoHwpt, reclaimRecord } from './iommufd.ts'
import { isUser, reapDomains, replaceGroupDomain, setGroupDomain, setSlot } from './iommu.ts'
import type { AttachRec, Errno, Hwpt, IGroup, IommufdCtx, KDevice, Kern, Ret, VfioFile } from './state.ts'
import { isErr } from './state.ts'

export const VFIO_PCI = 'vfio-pci'

function cdevOf(k: Kern, fd: number): Ret<VfioFile> {
  const f = fileOfFd(k, fd)
  if (isErr(f)) return f
  // a VFIO device ioctl on another kind of file
  return f.kind === 'vfio' ? f : 'ENOTTY'
}

/** Ioctls that need a binding are EINVAL without one (df->access_granted; inferred errno). */
function boundOf(k: Kern, fd: number): Ret<{ vf: VfioFile; ictx: IommufdCtx }> {
  const vf = cdevOf(k, fd)
  if (isErr(vf)) return vf
  return vf.bound === undefined ? 'EINVAL' : { vf, ictx: vf.bound.ictx }
}

export function cdevOpen(k: Kern, a: ArgsOf<'VFIO_CDEV_OPEN'>): Ret<number> {
  const dev = k.deviceByBdf.get(a.bdf)
  // no /dev/vfio/devices/vfioX node unless vfio-pci drives the device
  if (dev === undefined || dev.driver !== VFIO_PCI) return 'ENOENT'
  // a preserved device is reachable only through LUO RETRIEVE_FD after kexec
  if (dev.incoming !== undefined && k.bug.refuseIncomingOpen) return 'EBUSY' // hook refuseIncomingOpen
  return installFd(k, newCdev(k, dev))
}

export function newCdev(k: Kern, dev: KDevice): VfioFile {
  dev.cdevs++
  return newFile<VfioFile>(k, { kind: 'vfio', dev, bound: undefined, irqs: false })
}

// ---------------------------------------------------------------- DMA ownership

/**
 * iommu_device_claim_dma_owner(dev, ictx), the checks. Mainline: another owner is EPERM; an
 * unowned group not on its default domain is EBUSY. A restored group (owned by the preserved
 * iommufd's token) is decided by the ownership axis: token (only the iommufd retrieved with
 * that token; V2 patch 08, V2 selftest EPERM), allow-if-preserved (talk option 1), strict
 * (the mainline claim sees a non-default domain: EBUSY).
 */
function claimCheck(k: Kern, g: IGroup, ictx: IommufdCtx): Ret<void> {
  const o = g.owner
  if (o.kind === 'restored') {
    switch (k.design.ownership) {
      case 'strict':
        return 'EBUSY'
      case 'token':
        if (ictx.lu === undefined || (k.bug.ownerMatchesSession && ictx.lu.session !== o.session) || ictx.lu.token !== o.token) return 'EPERM' // hook ownerMatchesSession
        return
      case 'allow-if-preserved':
        return
    }
  }
  if (g.ownerCnt > 0) return o.kind === 'iommufd' && o.file === ictx ? undefined : 'EPERM'
  if (g.domain !== 'default' || g.pasids.size > 0) return 'EBUSY'
}

/** ... and the claim itself; a transfer keeps the restored domain attached (transfer=true). */
function claimCommit(k: Kern, g: IGroup, ictx: IommufdCtx): void {
  if (g.owner.kind === 'restored') {
    g.owner = { kind: 'iommufd', file: ictx }
    return
  }
  if (g.ownerCnt > 0) {
    g.ownerCnt++
    return
  }
  g.owner = { kind: 'iommufd', file: ictx }
  g.ownerCnt = 1
  if (isErr(setGroupDomain(k, g, 0, 'blocking'))) throw new Error('luv: moving a group to blocking allocated')
}

/** iommu_device_release_dma_owner(): the last release sends the group to its default domain. */
export function releaseDmaOwner(k: Kern, g: IGroup): void {
  if (g.ownerCnt > 1) {
    g.ownerCnt--
    return
  }
  g.ownerCnt = 0
  if (k.bug.clearOwnerOnRelease) g.owner = { kind: 'none' }
  resetGroup(k, g)
}

/** Every PASID dropped and the RID on the default domain (cannot fail: only clears). */
export function resetGroup(k: Kern, g: IGroup): void {
  for (const p of [...g.pasids.keys()]) setSlot(k, g, p, undefined)
  if (isErr(setGroupDomain(k, g, 0, 'default'))) throw new Error('luv: moving a group to default allocated')
}

/** iommu_device_use_default_domain() for a DMA-API driver, after the old driver's unuse:
 *  EBUSY while the group is owned by a user or not on its default domain. */
export function driverBind(k: Kern, a: ArgsOf<'DRIVER_BIND'>): Ret<void> {
  const dev = k.deviceByBdf.get(a.bdf)
  if (dev === undefined) return 'ENODEV'
  // already bound to that driver (bind_store)
  if (dev.driver === a.driver) return 'EBUSY'
  // unbinding vfio-pci waits for its open cdevs; luv reports that as EBUSY (inferred)
  if (dev.driver === VFIO_PCI && dev.cdevs > 0) return 'EBUSY'
  const g = dev.group
  let cnt = g.ownerCnt
  let owner = g.owner
  if (dev.driver !== VFIO_PCI && --cnt === 0) owner = { kind: 'none' }
  if (a.driver !== VFIO_PCI) {
    // V2 cover letter: pci-pf-stub on a preserved device fails "Device or resource busy"
    if (cnt > 0 && (g.domain !== 'default' || owner.kind !== 'dma-api' || g.pasids.size > 0)) return 'EBUSY'
    cnt++
    owner = { kind: 'dma-api' }
  }
  g.ownerCnt = cnt
  g.owner = owner
  dev.driver = a.driver
}

// ---------------------------------------------------------------- bind

export function bind(k: Kern, a: ArgsOf<'VFIO_DEVICE_BIND_IOMMUFD'>): Ret<number> {
  const vf = cdevOf(k, a.cdev)
  if (isErr(vf)) return vf
  const f = fileOfFd(k, a.iommufd)
  if (isErr(f)) return f
  // iommufd_ctx_from_fd: not an iommufd file
  if (f.kind !== 'iommufd') return 'EBADFD'
  const ictx = f
  const dev = vf.dev
  // already bound, or bound through another cdev fd (vfio_df_open)
  if (vf.bound !== undefined || dev.boundBy !== undefined) return 'EINVAL'
  const g = dev.group
  const c = claimCheck(k, g, ictx)
  if (isErr(c)) return c
  const devId = ictx.ids.alloc(k.faults)
  if (isErr(devId)) return devId
  // replaceFlow=reassociate-at-bind: binding to the iommufd that holds the restored domain's
  // record re-attaches the restored HWPT (talk, Discussion 1 option B)
  const rec =
    k.design.replaceFlow === 'reassociate-at-bind' && isUser(g.domain) && ictx.lu !== undefined
      ? ictx.lu.records.find((r) => r.domain === g.domain)
      : undefined
  let hwptId = rec?.reclaimedAs
  const needHwpt = rec !== undefined && (hwptId === undefined || !ictx.objects.has(hwptId))
  if (needHwpt) {
    const id = ictx.ids.alloc(k.faults)
    if (isErr(id)) {
      ictx.ids.free(devId)
      return id
    }
    hwptId = id
  }
  claimCommit(k, g, ictx)
  // vfio_df_open -> vfio_pci_core_enable: the retrieved device is enabled and "set
  // liveupdate_incoming_state to NULL ... once it's done using it" (mail by David Matlack)
  if (k.bug.clearIncomingStateOnBind) dev.liveupdateIncomingState = undefined // hook clearIncomingStateOnBind
  ictx.objects.set(devId, { type: 'DEVICE', id: devId, users: 2, dev })
  vf.bound = { ictx, devId }
  dev.boundBy = vf
  fget(ictx)
  if (rec !== undefined) {
    if (needHwpt) {
      addHwpt(ictx, hwptId!, rec.domain!, undefined, false, false, true) // found by g.domain: rebuilt
      reclaimRecord(k, rec, hwptId!)
    }
    const per = mapFor(ictx, g)
    let at = per.get(0)
    if (at === undefined) per.set(0, (at = { hwpt: ictx.objects.get(hwptId!) as Hwpt, devices: [] }))
    if (!at.devices.includes(dev)) attachAdd(ictx, at, dev)
  }
  return devId
}

// ---------------------------------------------------------------- attach / detach

function checkPasid(dev: KDevice, pasid: number): Ret<void> {
  // no PASID capability: EOPNOTSUPP; beyond max_pasids: EINVAL (iommu_attach_device_pasid)
  if (dev.pasidCaps === 0) return 'EOPNOTSUPP'
  if (pasid >= dev.pasidCaps) return 'EINVAL'
}

export function attach(k: Kern, a: ArgsOf<'VFIO_DEVICE_ATTACH_IOMMUFD_PT'>): Ret<number> {
  const b = boundOf(k, a.cdev)
  if (isErr(b)) return b
  const { vf, ictx } = b
  const dev = vf.dev
  const g = dev.group
  // [LU] no attach/detach/replace on a preserved device (live-update.md §3)
  if (dev.preservedIn !== undefined) return 'EBUSY'
  const pasid = a.pasid ?? 0
  if (pasid > 0) {
    const e = checkPasid(dev, pasid)
    if (isErr(e)) return e
  }
  const pt = ictx.objects.get(a.pt_id)
  // pt_id unknown: ENOENT; a DEVICE: EINVAL (iommufd_device_change_pt)
  if (pt === undefined) return 'ENOENT'
  if (pt.type === 'DEVICE') return 'EINVAL'
  // auto domains are allocated without IOMMU_HWPT_ALLOC_PASID: no IOAS on the PASID path
  if (pt.type === 'IOAS' && pasid > 0) return 'EINVAL'
  let hwpt: Hwpt
  let created = false
  if (pt.type === 'IOAS') {
    const r = autoHwpt(k, ictx, pt)
    if (isErr(r)) return r
    hwpt = r.hwpt
    created = r.created
  } else hwpt = pt
  const fail = (e: Errno): Ret<number> => {
    if (created) dropNewHwpt(k, ictx, hwpt)
    return e
  }
  // PASID compatibility ("Enforce PASID-compatible domain in PASID path / for RID")
  if (pasid > 0 && !hwpt.pasidCompat) return fail('EINVAL')
  if (pasid === 0 && g.pasids.size > 0 && !hwpt.pasidCompat) return fail('EINVAL')
  const per = ictx.attach.get(g)
  if (pasid > 0) {
    const rid = per?.get(0)
    if (rid !== undefined && !rid.hwpt.pasidCompat) return fail('EINVAL')
  }
  const rec = per?.get(pasid)
  if (rec !== undefined && rec.devices.includes(dev)) {
    // at the VFIO level a second attach is a replace (iommufd_device_replace)
    if (rec.hwpt === hwpt) return hwpt.id
    const old = rec.hwpt
    retarget(rec, hwpt)
    const e = replaceGroupDomain(k, g, pasid, hwpt.domain)
    if (isErr(e)) {
      retarget(rec, old)
      return fail(e)
    }
    putAutoHwpt(k, ictx, old)
    return hwpt.id
  }
  if (rec !== undefined) {
    // another device of the group attached this pasid: the same HWPT joins, another is EINVAL
    if (rec.hwpt !== hwpt) return fail('EINVAL')
    attachAdd(ictx, rec, dev)
    return hwpt.id
  }
  const cur = pasid === 0 ? g.domain : g.pasids.get(pasid)
  let e: Ret<unknown>
  if (isUser(cur)) {
    // replace-on-attach: the first attach over a domain restored at boot replaces it (V1
    // selftest); over any other domain: __iommu_attach_group / pasid already attached EBUSY
    if (pasid !== 0 || cur.restored === undefined) return fail('EBUSY')
    e = replaceGroupDomain(k, g, 0, hwpt.domain)
  } else e = setGroupDomain(k, g, pasid, hwpt.domain)
  if (isErr(e)) return fail(e)
  const nrec: AttachRec = { hwpt, devices: [] }
  mapFor(ictx, g).set(pasid, nrec)
  attachAdd(ictx, nrec, dev)
  return hwpt.id
}

/** Move an attachment to another HWPT, its devices' references with it. */
function retarget(rec: AttachRec, to: Hwpt): void {
  rec.hwpt.users -= rec.devices.length
  to.users += rec.devices.length
  rec.hwpt = to
}

/** Remove a device from its attachment of `pasid`; the last one out sends the RID to the
 *  blocking domain or drops the PASID, and puts the HWPT. */
function detachOne(k: Kern, ictx: IommufdCtx, g: IGroup, dev: KDevice, pasid: number): void {
  const per = ictx.attach.get(g)
  const rec = per?.get(pasid)
  if (rec === undefined || !rec.devices.includes(dev)) return
  attachRemove(ictx, rec, dev)
  if (rec.devices.length > 0) return
  per!.delete(pasid)
  if (isErr(setGroupDomain(k, g, pasid, 'blocking'))) throw new Error('luv: detaching allocated')
  if (k.bug.putAutoOnDetach) putAutoHwpt(k, ictx, rec.hwpt)
  reapDomains(k)
}

export function detach(k: Kern, a: ArgsOf<'VFIO_DEVICE_DETACH_IOMMUFD_PT'>): Ret<void> {
  const b = boundOf(k, a.cdev)
  if (isErr(b)) return b
  const dev = b.vf.dev
  if (dev.preservedIn !== undefined) return 'EBUSY'
  const pasid = a.pasid ?? 0
  if (pasid > 0) {
    const e = checkPasid(dev, pasid)
    if (isErr(e)) return e
  }
  // detaching what is not attached is a silent success
  detachOne(k, b.ictx, dev.group, dev, pasid)
}

export function setIrqs(k: Kern, a: ArgsOf<'VFIO_DEVICE_SET_IRQS'>): Ret<void> {
  const b = boundOf(k, a.cdev)
  if (isErr(b)) return b
  b.vf.irqs = a.enabled
}

/** The cdev's ->release: unbind detaches every PASID then the RID, destroys the DEVICE object
 *  and releases DMA ownership (iommufd.md §2.7 "Unbind"). */
export function releaseVfio(k: Kern, vf: VfioFile): void {
  const dev = vf.dev
  dev.cdevs--
  if (vf.bound === undefined) return
  const { ictx, devId } = vf.bound
  const g = dev.group
  const pasids = [...(ictx.attach.get(g)?.keys() ?? [])].filter((p) => p === 0 || k.bug.detachPasidsOnUnbind).sort((x, y) => y - x) // hook detachPasidsOnUnbind
  for (const p of pasids) detachOne(k, ictx, g, dev, p)
  ictx.objects.delete(devId)
  ictx.ids.free(devId)
  vf.bound = undefined
  dev.boundBy = undefined
  fput(k, ictx)
  releaseDmaOwner(k, g)
  reapDomains(k)
}
