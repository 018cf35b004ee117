/* SPDX-License-Identifier: MIT */
/**
 * @file fuse_priv.h
 *
 * What the files of the FUSE face share, and nothing else sees:
 *
 *   fuse_ns.c       the tree: inode numbers, lookup, getattr, readdir, and
 *                   which room serves open/read/write/release of an inode
 *   fuse_status.c   object status: attributes and status text from the owner
 *   fuse_control.c  .control handles and the texts they stage
 *   fuse_ioctl.c    the ioctl entry: generic checks, the table, dispatch
 *   ioctl_*.c       the table's rows of each kind, beside its glue
 *   fuse_loop.c     the session in the libuv loop, interrupts, deliveries
 *   ident.c         who a request's caller is
 *
 * Inode numbers: the fixed entries are small numbers; an object's file is
 * INO_OBJ_FLAG | kind << 40 | id, so its inode number names it and nothing
 * needs to be remembered per inode.
 */
#ifndef DIPC_FS_FUSE_PRIV_H
#define DIPC_FS_FUSE_PRIV_H

#include "node.h"

enum {
	INO_ROOT = FUSE_ROOT_ID,
	INO_CONTROL,
	INO_POLICY,
	INO_CLUSTER,
	INO_DIR_SEM,
	INO_DIR_MSG,
	INO_DIR_SHM,
	INO_DIR_SHMSTAT,
};

/* Files of MOUNT/shmstat/: the status text of a segment (its shm/ file is
 * its bytes).  Only in inode numbers, never on the wire. */
#define KIND_SHMSTAT 4
#define SHM_FH_CACHED 1   /* the shim's mapping handle (O_RDWR|O_NONBLOCK, O_RDONLY) */
#define SHM_FH_DIRECT 2   /* read(2)/write(2) by other programs */

#define INO_OBJ_FLAG (1ULL << 48)

static inline dipc_node *node_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline fuse_ino_t obj_ino(int kind, int32_t id)
{
	return INO_OBJ_FLAG | ((uint64_t)kind << 40) | (uint32_t)id;
}

static inline bool ino_is_obj(fuse_ino_t ino, int *kind, int32_t *id)
{
	if (!(ino & INO_OBJ_FLAG))
		return false;
	*kind = (int)((ino >> 40) & 0xff);
	*id = (int32_t)(uint32_t)ino;
	return true;
}

/* The kind the referee knows. */
static inline int wire_kind(int kind)
{
	return kind == KIND_SHMSTAT ? DIPC_KIND_SHM : kind;
}

/* ---- fuse_ns.c ---- */
void ns_init(void);   /* at the session's init: the fixed entries' times */
void ns_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void ns_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ns_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ns_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void ns_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ns_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ns_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi);
void ns_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
void ns_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* The attributes of an object's file from its status (op->st_*, size). */
void ns_obj_attr(fuse_ino_t ino, const dipc_op *op, struct stat *st);

/* ---- fuse_status.c ---- */
enum status_purpose { FOR_LOOKUP, FOR_GETATTR, FOR_OPEN };
/* Ask the owner of id for its status, and answer req (an entry, attributes,
 * or an open handle) with it.  fi: the open's, for FOR_OPEN. */
void status_start(dipc_node *n, fuse_req_t req, enum status_purpose purpose,
		  int kind, int32_t id, const struct fuse_file_info *fi);
/* Answer an open with a handle serving text (taken). */
void status_open_text(fuse_req_t req, struct fuse_file_info *fi, char *text);
void status_read(fuse_req_t req, uint64_t fh, size_t size, off_t off);
void status_release(uint64_t fh);

/* ---- fuse_control.c ---- */
typedef struct ctl_fh ctl_fh;
ctl_fh *ctl_new(void);
/* Free a handle (NULL ok); a received text still unread goes back. */
void ctl_free(dipc_node *n, ctl_fh *c);
/* The handle an ioctl came through, if it is a .control handle. */
ctl_fh *ctl_of(fuse_ino_t ino, const struct fuse_file_info *fi);
/* A number that names this open of .control for its whole life, never
 * reused by a later one; 0 for NULL. */
uint64_t ctl_serial(const ctl_fh *c);
void ctl_open(fuse_req_t req, struct fuse_file_info *fi);
void ctl_read(fuse_req_t req, ctl_fh *c, size_t size);
/* Stage size more bytes of the next staged msgsnd: 0 or -EINVAL (msgmax). */
int ctl_append(ctl_fh *c, const void *buf, size_t size, size_t msgmax);
/* The staged text, if it is exactly msgsz bytes and no op is in flight:
 * 0 (*ret_text set; NULL for no bytes) or -EINVAL.  c may be NULL. */
int ctl_staged_text(ctl_fh *c, uint64_t msgsz, const void **ret_text);
void ctl_staged_sent(ctl_fh *c);   /* the text was copied into a message */
/* A staged msgrcv may start: no op in flight, no text unread. */
bool ctl_can_receive(const ctl_fh *c);   /* c may be NULL: false */
void ctl_set_busy(ctl_fh *c, bool busy);   /* c may be NULL */
/* A received message waits in the handle for read() (len bytes of it). */
void ctl_hold(ctl_fh *c, int32_t id, dipc_msg *m, size_t len);
dipc_msg *ctl_unhold(ctl_fh *c);   /* the reply failed: take it back */
/* DIPC_IOC_MSGRCV_ARM: the receive parameters of the handle's read()s. */
void ctl_arm(ctl_fh *c, const struct dipc_ioc_msgrcv_staged *params);

/* ---- fuse_ioctl.c ---- */
void ioc_entry(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		      struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		      size_t in_bufsz, size_t out_bufsz);

/* ---- fuse_loop.c ---- */
/* Hand a received message over at the loop's delivery point (see there). */
void loop_defer_delivery(dipc_op *op);

/* ---- ident.c ---- */
void ident_init(dipc_node *n);
/* The caller of req, read fresh from /proc/TID/status: 0, -ESRCH (gone)
 * or -EACCES (unreadable, or more groups than an identity carries). */
int req_ident(dipc_node *n, fuse_req_t req, dipc_ident *who);
/* The same for an ioctl through the .control open with serial ctl: a
 * thread without capabilities may be answered from its last read (ident.c
 * says when that is exact). */
int req_ident_on(dipc_node *n, fuse_req_t req, uint64_t ctl, dipc_ident *who);

/* ---- ioctl_msg.c ---- */
/* Answer a msgrcv that received op->msg (at the delivery point). */
void msgrcv_deliver_now(dipc_op *op);
/* A read() of an armed handle: the msgrcv it stands for (fuse_control.c). */
void msgrcv_read(fuse_req_t req, ctl_fh *c, const struct dipc_ioc_msgrcv_staged *params,
		 size_t size);

#endif /* DIPC_FS_FUSE_PRIV_H */
