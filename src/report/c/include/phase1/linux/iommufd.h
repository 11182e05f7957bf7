/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * <linux/iommufd.h> for the Feb 2026 Phase 1 series (luv profile phase1): the installed mainline header
 * (include_next), plus what this version of the series adds, written by luv from the
 * series' uapi definitions: mail "[PATCH 10/14] iommufd-lu: Implement ioctl to let userspace mark an HWPT to be preserved" (IOMMUFD_CMD_HWPT_LU_SET_PRESERVE = 0x95, u32 token, no unmark). Phase 1 has no restore ioctl: retrieving the iommufd fails with EOPNOTSUPP.
 * Used only to compile luv's reproducers; a kernel tree with the series has the real one.
 */
#ifndef LUV_IOMMUFD_OVERLAY_H
#define LUV_IOMMUFD_OVERLAY_H
#include_next <linux/iommufd.h>
#include <luv_iommufd_mainline.h>

enum {
	IOMMUFD_CMD_HWPT_LU_SET_PRESERVE = 0x95,
};

struct iommu_hwpt_lu_set_preserve {
	__u32 size;
	__u32 hwpt_id;
	__u32 hwpt_token;
};
#define IOMMU_HWPT_LU_SET_PRESERVE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_LU_SET_PRESERVE)

#endif
