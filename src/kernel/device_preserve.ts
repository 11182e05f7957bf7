// Preserving a device's IOMMU and PCI state, in the three layers the series splits it into:
// iommufd_device_preserve (drivers/iommu/iommufd/device.c), iommu_preserve_device
// (drivers/iommu/liveupdate.c) and pci_liveupdate_preserve (drivers/pci/liveupdate.c). The
// vfio-pci file handler (luo_file.ts) calls the first only "if iommufd is attached"
// (samikhawaja/linux drivers/vfio/pci/vfio_pci_liveupdate.c 03855e7), the last always.

import type { Domain, IommufdCtx, KDevice, Kern, LuoSession, Ret } from './state.ts'

/** device->iommufd_attached: the RID of this device is attached through this ictx. */
export function iommufdAttached(ictx: IommufdCtx, dev: KDevice): boolean {
  return ictx.attach.get(dev.group)?.get(0)?.devices.includes(dev) ?? false
}

/**
 * iommufd_device_preserve(s, idev, &token). V3 (samikhawaja/linux drivers/iommu/iommufd/
 * device.c 027f82d): PASID attachments first (-EOPNOTSUPP), xa_load(&igroup->pasid_attach,
 * IOMMU_NO_PASID) (-ENOENT), the attached hwpt_paging's liveupdate_preserved, which only the
 * iommufd's own preserve sets (-EINVAL), liveupdate_get_token_outgoing(s, ictx->file) (-ENOENT
 * if the iommufd is not in this session), then iommu_preserve_device. V2 (mail "iommufd: …
 * preserve/unpreserve device") checks the mark flag lu_preserve in the third place instead:
 * the devicePreserve axis.
 */
export function iommufdDevicePreserve(k: Kern, s: LuoSession, ictx: IommufdCtx, dev: KDevice): Ret<void> {
  const igroup = ictx.attach.get(dev.group)
  for (const [pasid, at] of [...(igroup ?? [])].sort((a, b) => a[0] - b[0])) {
    if (pasid === 0 || !at.devices.includes(dev)) continue
    // pasidPreservation=none: a PASID attachment makes preserve fail (V3 EOPNOTSUPP);
    // all: every PASID's HWPT must be preserved too; selective: the others are dropped
    if (k.design.pasidPreservation === 'none') return 'EOPNOTSUPP'
    if (k.design.pasidPreservation === 'all' && at.hwpt.domain.preserved === undefined) return 'EINVAL'
  }
  const attach = igroup?.get(0)
  if (attach === undefined || !attach.devices.includes(dev)) return 'ENOENT'
  const hwpt = attach.hwpt
  const ok = k.design.devicePreserve === 'mark-checked' ? hwpt.mark !== undefined : hwpt.domain.preserved !== undefined
  if (!ok) return 'EINVAL'
  if (ictx.luo?.session !== s && k.bug.deviceSessionCheck) return 'ENOENT' // hook deviceSessionCheck
  return iommuPreserveDevice(hwpt.domain, dev, s.name)
}

/**
 * iommu_preserve_device(domain, dev, dma_owner_token) (samikhawaja/linux
 * drivers/iommu/liveupdate.c e76a119): the group's DMA owner must be claimed (-EINVAL), the
 * domain preserved (!domain->preserved_state: -EINVAL), the device not preserved yet
 * (-EBUSY); after ops->preserve_device, "Validate that no sibling device was added": a
 * group that is not a singleton unwinds and is -EOPNOTSUPP.
 */
export function iommuPreserveDevice(domain: Domain, dev: KDevice, session: string): Ret<void> {
  if (dev.group.ownerCnt === 0) return 'EINVAL'
  if (domain.preserved === undefined) return 'EINVAL'
  if (dev.preservedIn !== undefined) return 'EBUSY'
  dev.preservedIn = session
  if (dev.group.devices.length !== 1) {
    dev.preservedIn = undefined
    return 'EOPNOTSUPP'
  }
}

/** iommu_unpreserve_device: the device's record goes. */
export function iommuUnpreserveDevice(dev: KDevice): void {
  dev.preservedIn = undefined
}

/**
 * pci_liveupdate_preserve(pdev): pci_liveupdate_validate_iommu_group refuses a device that
 * shares its iommu group (-EINVAL; a drivers/pci/liveupdate.c text and its review mail, audit
 * L31). VFs/PFs are refused too (-EINVAL), but luv's platforms have none. A device preserved
 * through another of its files is refused: `if (dev->liveupdate_outgoing) return -EBUSY`
 * (samikhawaja/linux drivers/pci/liveupdate.c @ 16d3d0d pci_liveupdate_preserve; the flag is
 * cleared by pci_liveupdate_unpreserve).
 */
export function pciLiveupdatePreserve(dev: KDevice): Ret<void> {
  if (dev.group.devices.length !== 1) return 'EINVAL'
  if (dev.pciPreserved) return 'EBUSY'
  dev.pciPreserved = true
}

export function pciLiveupdateUnpreserve(dev: KDevice): void {
  dev.pciPreserved = false
}
