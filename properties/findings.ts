// The design matrix as luv currently finds it: which named property each profile breaks, and
// why. A profile breaking a property is a finding about the posted design, not a luv failure
// (DESIGN.md §2.3–2.4); the property tests require each listed finding to be found again and
// every other property to hold.

import type { ProfileName } from '../models/design.ts'
import type { PropertyName } from '../src/check/executor.types.ts'

export const FINDINGS: Record<ProfileName, Partial<Record<PropertyName, string>>> = {
  lpc2025: {},
  'rfc-v2': {
    atomicity:
      'deviceAcrossKexec=reset-at-freeze (vfio_pci_liveupdate_freeze 03855e7, no .unfreeze): a reboot() that fails after the VFIO freeze (kho_finalize -EAGAIN, or a later file\'s freeze) leaves the preserved device reset in the old kernel, its DMA reaching nothing, though the failed KEXEC should have changed nothing (properties/scenarios/v3-device-reset-by-failed-kexec.json)',
    'dma-continuity':
      'replaceSwap=teardown-then-setup: replacing the restored domain after KEXEC clears the entry before setting the new one, so the running device faults in that window',
    ownership:
      'ownership=allow-if-preserved (RFC-era core iommu.c 02881d0: the restore records no owner, claim(transfer) compares no token; docs/readings/session9-inferred-rules.md): a fresh iommufd that was not retrieved with the token takes DMA ownership of a preserved device',
    'dma-safety':
      'memoryRule=none (V1 iommufd_save_hwpts checks no areas): a preserved domain may map anonymous memory, which is not KHO memory, so after KEXEC the device translates to freed pages (properties/scenarios/rfc-v2-anonymous-mapping-preserved.json)',
    recoverability:
      'restoreScope=preserved-device-records (V1/V2 code): a marked HWPT preserved without its device is never rebuilt, LU_RESTORE is ENOENT and V1 can_finish keeps FINISH at EBUSY (properties/scenarios/rfc-v2-marked-hwpt-without-device.json)',
  },
  phase1: {
    atomicity:
      'deviceAcrossKexec=reset-at-freeze (vfio_pci_liveupdate_freeze 03855e7, no .unfreeze): a reboot() that fails after the VFIO freeze (kho_finalize -EAGAIN, or a later file\'s freeze) leaves the preserved device reset in the old kernel, its DMA reaching nothing, though the failed KEXEC should have changed nothing (properties/scenarios/v3-device-reset-by-failed-kexec.json)',
    'dma-continuity':
      'deviceAcrossKexec=reset-at-freeze (vfio_pci_liveupdate_freeze 03855e7, no .unfreeze): a reboot() that fails after the VFIO freeze (kho_finalize -EAGAIN, or a later file\'s freeze) leaves the preserved device reset in the old kernel, its DMA reaching nothing, at a step not aimed at it (properties/scenarios/v3-device-reset-by-failed-kexec.json)',
    'dma-safety':
      'memfdSeals=dropped (memfd-v1, inferred for Feb 2026): the retrieved memfd is unsealed, so truncating it frees pages the domain restored at boot still maps (properties/scenarios/phase1-unsealed-memfd-after-kexec.json)',
    recoverability:
      'restoreFlow=boot-only: the iommufd cannot be retrieved (EOPNOTSUPP), so no restored HWPT can be reclaimed and the session never finishes',
  },
  v3: {
    atomicity:
      'deviceAcrossKexec=reset-at-freeze (vfio_pci_liveupdate_freeze 03855e7, no .unfreeze): a reboot() that fails after the VFIO freeze (kho_finalize -EAGAIN, or a later file\'s freeze) leaves the preserved device reset in the old kernel, its DMA reaching nothing, though the failed KEXEC should have changed nothing (properties/scenarios/v3-device-reset-by-failed-kexec.json)',
    'dma-continuity':
      'deviceAcrossKexec=reset-at-freeze (vfio_pci_liveupdate_freeze 03855e7, no .unfreeze): a reboot() that fails after the VFIO freeze (kho_finalize -EAGAIN, or a later file\'s freeze) leaves the preserved device reset in the old kernel, its DMA reaching nothing, at a step not aimed at it (properties/scenarios/v3-device-reset-by-failed-kexec.json)',
    recoverability:
      'restoreFlow=boot-only: V3 has no iommufd retrieve either (EOPNOTSUPP), so no restored HWPT can be reclaimed and the session never finishes',
  },
}
