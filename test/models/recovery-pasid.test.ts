// The documented recovery (models/recovery.ts) on a device that had PASID attachments when
// its domain was preserved (pasidPreservation=all, an inferred axis). Before session 5 the
// recovery allocated the replacement HWPT without IOMMU_HWPT_ALLOC_PASID, which the RID attach
// refuses while PASIDs are attached (iommufd_hwpt_pasid_compat: -EINVAL): the design matrix
// reported that as the design's recoverability failure when it was the script's. Now the
// replacement is PASID-compatible and the PASIDs are moved too; what is left is the design's
// own gap: a PASID still on the restored domain cannot be replaced (-EBUSY).

import { describe, expect, it } from 'vitest'
import { recover } from '../../models/recovery.ts'
import { DEV2, Model } from './harness.ts'

/** The design-matrix bundle 1c42156103a8 (lpc2025 pasidPreservation=all): a PASID-capable HWPT
 *  attached at the RID and at PASID 1, marked, preserved with its iommufd and cdev, KEXEC. */
function pasidPreserved(overrides: Record<string, string>): Model {
  const m = new Model(overrides)
  const ifd = m.out('IOMMUFD_OPEN')
  const cdev = m.out('VFIO_CDEV_OPEN', { bdf: DEV2 })
  const ioas = m.out('IOMMU_IOAS_ALLOC', { iommufd: ifd })
  const dev = m.out('VFIO_DEVICE_BIND_IOMMUFD', { cdev, iommufd: ifd })
  const hwpt = m.out('IOMMU_HWPT_ALLOC', { iommufd: ifd, dev_id: dev, pt_id: ioas, flags: ['PASID'] })
  m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev, pt_id: hwpt })
  m.out('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: ifd, hwpt_id: hwpt, token: 4663n })
  m.out('LIVEUPDATE_OPEN')
  m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev, pt_id: hwpt, pasid: 1 })
  const session = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'vm0' })
  m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session, fd: ifd, token: 2n })
  m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session, fd: cdev, token: 3n })
  m.out('KEXEC')
  return m
}

describe('recovery of a domain with PASID attachments', () => {
  it('allocates the replacement HWPT PASID-compatible and stops at the PASID replace the design cannot do', () => {
    const rec = recover(pasidPreserved({ pasidPreservation: 'all' }).s)
    const alloc = rec.ops.find((o) => o.op === 'IOMMU_HWPT_ALLOC')
    expect(alloc?.args).toMatchObject({ flags: ['PASID'] })
    // the RID replace succeeded: the failure is the PASID one
    const ridReplace = rec.ops.findIndex((o) => o.op === 'VFIO_DEVICE_ATTACH_IOMMUFD_PT' && !('pasid' in o.args))
    expect(rec.results[ridReplace]).toMatchObject({ ok: true })
    expect(rec.failed?.why).toMatch(/^replace the restored HWPT at PASID 1 on 0000:00:02\.0: .* returned -EBUSY$/)
  })
})
