/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * What mainline <linux/iommufd.h> gained after v6.12 (the newest tree Debian packages)
 * and luv's reproducers use: IOMMU_IOAS_MAP_FILE (v6.13) and IOMMU_HWPT_ALLOC_PASID
 * (v6.14), defined only where the installed header lacks them.
 */
#ifndef IOMMU_IOAS_MAP_FILE
#define IOMMUFD_CMD_IOAS_MAP_FILE 0x8f
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;	/* in/out */
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)
#define IOMMU_HWPT_ALLOC_PASID (1 << 2)
#endif
