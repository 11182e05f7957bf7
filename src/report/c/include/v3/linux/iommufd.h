/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * <linux/iommufd.h> for the V3 series, "[PATCH v2 00/16]" and later (luv profile v3): the installed mainline header
 * (include_next), plus what this version of the series adds, written by luv from the
 * series' uapi definitions: samikhawaja/linux include/uapi/linux/iommufd.h (struct iommu_hwpt_lu_mark_preserve: u64 token, no unmark). The command number is inferred (the slot after IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94, as V2 used). V3 has no restore ioctl.
 * Used only to compile luv's reproducers; a kernel tree with the series has the real one.
 */
#ifndef LUV_IOMMUFD_OVERLAY_H
#define LUV_IOMMUFD_OVERLAY_H
#include_next <linux/iommufd.h>
#include <luv_iommufd_mainline.h>

enum {
	IOMMUFD_CMD_HWPT_LU_MARK_PRESERVE = 0x95,	/* inferred */
};

struct iommu_hwpt_lu_mark_preserve {
	__u32 size;
	__u32 hwpt_id;
	__u64 hwpt_token;
};
#define IOMMU_HWPT_LU_MARK_PRESERVE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_LU_MARK_PRESERVE)

#endif
