/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The live update uapi (/dev/liveupdate and session fds) as the series posts it, written
 * by luv from its definitions (samikhawaja/linux include/uapi/linux/liveupdate.h, the 2026
 * session-based LUO: ioctl type 0xBA, one struct per ioctl with the size first). No Debian
 * package ships it; a kernel tree with the series has the real header, which this one
 * must match name for name and field for field. Used only to compile luv's reproducers.
 */
#ifndef _UAPI_LIVEUPDATE_H
#define _UAPI_LIVEUPDATE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define LIVEUPDATE_IOCTL_TYPE		0xBA
#define LIVEUPDATE_SESSION_NAME_LENGTH	64

enum {
	LIVEUPDATE_CMD_BASE = 0x00,
	LIVEUPDATE_CMD_CREATE_SESSION = LIVEUPDATE_CMD_BASE,
	LIVEUPDATE_CMD_RETRIEVE_SESSION = 0x01,
};

enum {
	LIVEUPDATE_CMD_SESSION_BASE = 0x40,
	LIVEUPDATE_CMD_SESSION_PRESERVE_FD = LIVEUPDATE_CMD_SESSION_BASE,
	LIVEUPDATE_CMD_SESSION_RETRIEVE_FD = 0x41,
	LIVEUPDATE_CMD_SESSION_FINISH = 0x42,
	LIVEUPDATE_CMD_SESSION_GET_NAME = 0x43,
	LIVEUPDATE_CMD_SESSION_PRESERVE_FDS = 0x44,
};

struct liveupdate_ioctl_create_session {
	__u32	size;
	__s32	fd;		/* out */
	__u8	name[LIVEUPDATE_SESSION_NAME_LENGTH];
};
#define LIVEUPDATE_IOCTL_CREATE_SESSION \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_CREATE_SESSION)

struct liveupdate_ioctl_retrieve_session {
	__u32	size;
	__s32	fd;		/* out */
	__u8	name[LIVEUPDATE_SESSION_NAME_LENGTH];
};
#define LIVEUPDATE_IOCTL_RETRIEVE_SESSION \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_RETRIEVE_SESSION)

struct liveupdate_session_preserve_fd {
	__u32		size;
	__s32		fd;
	__aligned_u64	token;
};
#define LIVEUPDATE_SESSION_PRESERVE_FD \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_PRESERVE_FD)

struct liveupdate_session_retrieve_fd {
	__u32		size;
	__s32		fd;		/* out */
	__aligned_u64	token;
};
#define LIVEUPDATE_SESSION_RETRIEVE_FD \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_RETRIEVE_FD)

struct liveupdate_session_finish {
	__u32	size;
	__u32	reserved;
};
#define LIVEUPDATE_SESSION_FINISH \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_FINISH)

struct liveupdate_session_get_name {
	__u32	size;
	__u32	reserved;
	__u8	name[LIVEUPDATE_SESSION_NAME_LENGTH];	/* out */
};
#define LIVEUPDATE_SESSION_GET_NAME \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_GET_NAME)

struct liveupdate_session_preserve_fds {
	__u32		size;
	__u32		nr;
	__aligned_u64	fds;
	__aligned_u64	tokens;
	__u32		out_failed_index;	/* out */
	__u32		__reserved;
};
#define LIVEUPDATE_SESSION_PRESERVE_FDS \
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_PRESERVE_FDS)

#endif /* _UAPI_LIVEUPDATE_H */
