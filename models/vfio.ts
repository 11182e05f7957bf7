// VFIO cdev: open, bind to an iommufd (claims DMA ownership), attach / replace / detach a
// page table for the RID or a PASID, interrupts, and kernel drivers probing a device.
//
// Sources: iommufd.md §2.7–2.8 (samikhawaja/linux drivers/vfio/device_cdev.c,
// drivers/vfio/iommufd.c, drivers/iommu/iommufd/device.c), live-update.md §3.

import type { D, OpContext } from './context.ts'
import { fail, plain } from './context.ts'
import { fileOfFd, installFd } from './files.ts'
import { autoHwpt, allocObjectId, ictxOf, putAutoHwpt } from './iommufd.ts'
import { isUserDomain, reapDomains, replaceGroupDomain, setGroupDomain } from './iommu.ts'
import { claimDmaOwner, releaseDmaOwner, unuseDefaultDomain, useDefaultDomain } from './ownership.ts'
import { groupOf } from './platform.ts'
import { ok, type ArgsOf, type Result } from './ops.ts'
import type { FileId, IommufdFile, VfioFile } from './state.ts'

export const VFIO_PCI = 'vfio-pci'

function cdevOf(d: D, fd: number): { id: FileId; vf: VfioFile } {
  const id = fileOfFd(d, fd)
  const vf = d.files[id]
  // a VFIO device ioctl on another kind of file: ENOTTY
  if (vf.kind !== 'vfio') fail('ENOTTY')
  return { id, vf }
}

/** The iommufd a cdev is bound to; ioctls that need a binding are EINVAL without one
 *  (vfio_df_ioctl_attach_pt checks df->access_granted; inferred errno). */
function boundOf(d: D, fd: number) {
  const { id, vf } = cdevOf(d, fd)
  if (!vf.bound) fail('EINVAL')
  return { id, vf, f: d.files[vf.bound.iommufd] as IommufdFile, group: groupOf(d.platform, vf.bdf) }
}

export function cdevOpen(d: D, a: ArgsOf<'VFIO_CDEV_OPEN'>): Result {
  const dev = d.devices[a.bdf]
  // no /dev/vfio/devices/vfioX node unless vfio-pci drives the device
  if (!dev || dev.driver !== VFIO_PCI) fail('ENOENT')
  // a preserved device is reachable only through LUO RETRIEVE_FD after kexec (I11)
  if (dev.incoming) fail('EBUSY')
  const id = d.nextFile++
  d.files[id] = { kind: 'vfio', bdf: a.bdf, irqs: false }
  return ok(installFd(d, id))
}

export function bind(d: D, a: ArgsOf<'VFIO_DEVICE_BIND_IOMMUFD'>): Result {
  const { id, vf } = cdevOf(d, a.cdev)
  const ictxId = fileOfFd(d, a.iommufd)
  // iommufd_ctx_from_fd: not an iommufd file is EBADFD
  if (d.files[ictxId].kind !== 'iommufd') fail('EBADFD')
  const f = d.files[ictxId] as IommufdFile
  // already bound (df->access_granted), or the device is open through another cdev fd:
  // "the device cdev path doesn't have a secure way" to share it (vfio_main.c vfio_df_open)
  if (vf.bound) fail('EINVAL')
  for (const [other, x] of Object.entries(plain(d.files)))
    if (Number(other) !== id && x.kind === 'vfio' && x.bdf === vf.bdf && x.bound) fail('EINVAL')
  const group = groupOf(d.platform, vf.bdf)
  claimDmaOwner(d, group, ictxId)
  // the retrieved device is enabled (vfio_pci_core_enable) and drops its LUO incoming state,
  // which the vfio can_finish waits for (drivers/vfio/pci/vfio_pci_liveupdate.c)
  d.devices[vf.bdf].incomingState = undefined
  const devId = allocObjectId(f)
  f.objects[devId] = { type: 'DEVICE', bdf: vf.bdf }
  vf.bound = { iommufd: ictxId, devId }
  reassociateAtBind(d, f, group, vf.bdf)
  return ok(devId)
}

/** replaceFlow=reassociate-at-bind (talk, Discussion 1 option B): binding to the iommufd that
 *  holds the restored domain's record re-attaches the restored HWPT, so the user's later
 *  attach is an ordinary replace. */
function reassociateAtBind(d: D, f: IommufdFile, group: string, bdf: string): void {
  const g = d.groups[group]
  if (d.design.replaceFlow !== 'reassociate-at-bind' || !isUserDomain(g.domain) || !f.lu) return
  const rec = f.lu.records.find((r) => r.domain === g.domain)
  if (!rec) return
  if (rec.reclaimedAs === undefined || !f.objects[rec.reclaimedAs]) {
    rec.reclaimedAs = allocObjectId(f)
    f.objects[rec.reclaimedAs] = { type: 'HWPT_PAGING', domain: rec.domain, autoDomain: false, pasidCompat: false, restored: true }
  }
  const at = ((f.attach[group] ??= {})[0] ??= { hwpt: rec.reclaimedAs, devices: [] })
  if (!at.devices.includes(bdf)) at.devices.push(bdf)
}

function checkPasid(d: D, bdf: string, pasid: number): void {
  const caps = d.platform.devices.find((x) => x.bdf === bdf)?.pasids ?? 0
  // no PASID capability: the driver has no pasid_attach_ioas for it (EOPNOTSUPP);
  // beyond max_pasids: EINVAL (iommu.c iommu_attach_device_pasid)
  if (caps === 0) fail('EOPNOTSUPP')
  if (pasid >= caps) fail('EINVAL')
}

export function attach(d: D, ctx: OpContext, a: ArgsOf<'VFIO_DEVICE_ATTACH_IOMMUFD_PT'>): Result {
  const { vf, f, group } = boundOf(d, a.cdev)
  // [LU] no attach/detach/replace on a preserved device (live-update.md §3)
  if (d.devices[vf.bdf].preservedIn) fail('EBUSY')
  const pasid = a.pasid ?? 0
  if (pasid > 0) checkPasid(d, vf.bdf, pasid)
  const pt = f.objects[a.pt_id]
  // pt_id unknown: ENOENT; a DEVICE: EINVAL (device.c iommufd_device_change_pt)
  if (!pt) fail('ENOENT')
  if (pt.type === 'DEVICE') fail('EINVAL')
  // auto domains are allocated without IOMMU_HWPT_ALLOC_PASID: an IOAS id on the PASID path
  // is EINVAL (iommufd.md §2.8, inferred from iommufd_device_auto_get_domain)
  if (pt.type === 'IOAS' && pasid > 0) fail('EINVAL')
  const hwptId = pt.type === 'IOAS' ? autoHwpt(d, f, a.pt_id) : a.pt_id
  const hwpt = f.objects[hwptId] as Extract<IommufdFile['objects'][number], { type: 'HWPT_PAGING' }>
  const g = d.groups[group]
  // PASID compatibility (iommufd: "Enforce PASID-compatible domain in PASID path / for RID")
  if (pasid > 0 && !hwpt.pasidCompat) fail('EINVAL')
  if (pasid === 0 && Object.keys(g.pasids).length > 0 && !hwpt.pasidCompat) fail('EINVAL')
  if (pasid > 0) {
    const rid = f.attach[group]?.[0]
    if (rid && !(f.objects[rid.hwpt] as typeof hwpt).pasidCompat) fail('EINVAL')
  }
  const rec = f.attach[group]?.[pasid]
  if (rec?.devices.includes(vf.bdf)) {
    // at the VFIO level a second attach is a replace (iommufd_device_replace)
    if (rec.hwpt === hwptId) return ok(hwptId)
    const old = rec.hwpt
    rec.hwpt = hwptId
    replaceGroupDomain(d, ctx, group, pasid, hwpt.domain)
    putAutoHwpt(d, f, old)
    return ok(hwptId)
  }
  if (rec) {
    // another device of the group attached this pasid: same HWPT joins, another is EINVAL
    if (rec.hwpt !== hwptId) fail('EINVAL')
    rec.devices.push(vf.bdf)
    return ok(hwptId)
  }
  const cur = pasid === 0 ? g.domain : g.pasids[pasid]
  if (isUserDomain(cur)) {
    // replaceFlow=replace-on-attach: the first attach over a domain restored at boot is a
    // replace of it (V1 selftest; the core allows attaching over a restored domain). Any
    // other domain already there: __iommu_attach_group EBUSY / pasid already attached EBUSY.
    if (pasid !== 0 || !d.domains[cur].restored) fail('EBUSY')
    replaceGroupDomain(d, ctx, group, 0, hwpt.domain)
  } else {
    setGroupDomain(d, group, pasid, hwpt.domain)
  }
  ;(f.attach[group] ??= {})[pasid] = { hwpt: hwptId, devices: [vf.bdf] }
  return ok(hwptId)
}

/** Remove a device from its attachment of `pasid`; the last one out sends the RID to the
 *  blocking domain (owned) or the PASID to blocked, and puts the HWPT. */
function detachOne(d: D, f: IommufdFile, group: string, bdf: string, pasid: number): void {
  const rec = f.attach[group]?.[pasid]
  if (!rec || !rec.devices.includes(bdf)) return
  rec.devices = rec.devices.filter((x) => x !== bdf)
  if (rec.devices.length > 0) return
  delete f.attach[group][pasid]
  setGroupDomain(d, group, pasid, 'blocking')
  putAutoHwpt(d, f, rec.hwpt)
  reapDomains(d)
}

export function detach(d: D, a: ArgsOf<'VFIO_DEVICE_DETACH_IOMMUFD_PT'>): Result {
  const { vf, f, group } = boundOf(d, a.cdev)
  if (d.devices[vf.bdf].preservedIn) fail('EBUSY')
  const pasid = a.pasid ?? 0
  if (pasid > 0) checkPasid(d, vf.bdf, pasid)
  // detaching what is not attached is a silent success (iommufd.md §2.7)
  detachOne(d, f, group, vf.bdf, pasid)
  return ok()
}

export function setIrqs(d: D, a: ArgsOf<'VFIO_DEVICE_SET_IRQS'>): Result {
  const { vf } = boundOf(d, a.cdev)
  vf.irqs = a.enabled
  return ok()
}

/** A kernel driver probing the device (after the current one is unbound). */
export function driverBind(d: D, a: ArgsOf<'DRIVER_BIND'>): Result {
  const dev = d.devices[a.bdf]
  if (!dev) fail('ENODEV')
  // already bound to that driver: EBUSY (driver core bind_store)
  if (dev.driver === a.driver) fail('EBUSY')
  // unbinding vfio-pci waits for its open cdevs; luv reports that as EBUSY (inferred)
  if (dev.driver === VFIO_PCI && Object.values(d.files).some((x) => x.kind === 'vfio' && x.bdf === a.bdf)) fail('EBUSY')
  const group = groupOf(d.platform, a.bdf)
  if (dev.driver !== VFIO_PCI) unuseDefaultDomain(d, group)
  // a DMA-API driver: iommu_device_use_default_domain, EBUSY while the group is owned
  // (V2 cover letter: pci-pf-stub on a preserved device fails "Device or resource busy")
  if (a.driver !== VFIO_PCI) useDefaultDomain(d, group)
  dev.driver = a.driver
  return ok()
}

/** The cdev's release: unbind detaches every PASID then the RID, destroys the DEVICE object
 *  and releases DMA ownership (iommufd.md §2.7 "Unbind"). */
export function releaseVfio(d: D, id: FileId): void {
  const vf = d.files[id] as VfioFile
  if (!vf.bound) return
  const f = d.files[vf.bound.iommufd] as IommufdFile
  const group = groupOf(d.platform, vf.bdf)
  const pasids = Object.keys(f.attach[group] ?? {})
    .map(Number)
    .sort((x, y) => y - x)
  for (const p of pasids) detachOne(d, f, group, vf.bdf, p)
  delete f.objects[vf.bound.devId]
  vf.bound = undefined
  releaseDmaOwner(d, group)
  reapDomains(d)
}
