/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * <linux/iommufd.h> for the Dec 2025 RFC v2 (luv profile rfc-v2): the installed mainline header
 * (include_next), plus what this version of the series adds, written by luv from the
 * series' uapi definitions: the V1 iommufd live update code (samikhawaja/linux drivers/iommu/iommufd/liveupdate.c, V1; the V1 selftest vfio_pci_liveupdate_kexec_test.c sets .hwpt_token and .preserve = 1, and restores with .hwpt_token and .hwpt_alloc_flags). The command numbers and the restore struct's output field are inferred (the RFC's uapi hunk is not in luv's sources).
 * Used only to compile luv's reproducers; a kernel tree with the series has the real one.
 */
#ifndef LUV_IOMMUFD_OVERLAY_H
#define LUV_IOMMUFD_OVERLAY_H
#include_next <linux/iommufd.h>
#include <luv_iommufd_mainline.h>

enum {
	IOMMUFD_CMD_HWPT_LU_SET_PRESERVE = 0x95,	/* inferred */
	IOMMUFD_CMD_HWPT_LU_RESTORE = 0x96,		/* inferred */
};

/* mark (preserve = 1) or unmark (preserve = 0) an HWPT; the token is u32 in V1 */
struct iommu_hwpt_lu_set_preserve {
	__u32 size;
	__u32 hwpt_id;
	__u32 hwpt_token;
	__u32 preserve;
};
#define IOMMU_HWPT_LU_SET_PRESERVE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_LU_SET_PRESERVE)

/* wrap the restored domain of a preserved HWPT in a new HWPT object */
struct iommu_hwpt_lu_restore {
	__u32 size;
	__u32 hwpt_token;
	__u32 hwpt_alloc_flags;
	__u32 out_hwpt_id;	/* inferred */
};
#define IOMMU_HWPT_LU_RESTORE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_LU_RESTORE)

#endif
