/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * <linux/iommufd.h> for the LPC 2025 talk's design (luv profile lpc2025): the installed mainline header
 * (include_next), plus what this version of the series adds, written by luv from the
 * series' uapi definitions: the V3 mark (samikhawaja/linux include/uapi/linux/iommufd.h, struct iommu_hwpt_lu_mark_preserve: u64 token, no unmark) with the V1 restore of the talk's flow (IOMMU_HWPT_LU_RESTORE, given the u64 token; the restore struct's layout and both command numbers are inferred).
 * Used only to compile luv's reproducers; a kernel tree with the series has the real one.
 */
#ifndef LUV_IOMMUFD_OVERLAY_H
#define LUV_IOMMUFD_OVERLAY_H
#include_next <linux/iommufd.h>
#include <luv_iommufd_mainline.h>

enum {
	IOMMUFD_CMD_HWPT_LU_MARK_PRESERVE = 0x95,	/* inferred */
	IOMMUFD_CMD_HWPT_LU_RESTORE = 0x96,		/* inferred */
};

struct iommu_hwpt_lu_mark_preserve {
	__u32 size;
	__u32 hwpt_id;
	__u64 hwpt_token;
};
#define IOMMU_HWPT_LU_MARK_PRESERVE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_LU_MARK_PRESERVE)

/* wrap the restored domain of a preserved HWPT in a new HWPT object (inferred layout) */
struct iommu_hwpt_lu_restore {
	__u32 size;
	__u32 hwpt_alloc_flags;
	__aligned_u64 hwpt_token;
	__u32 out_hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_LU_RESTORE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_LU_RESTORE)

#endif
