/* SPDX-License-Identifier: MIT */
/**
 * @file ioctl_table.h
 *
 * The ioctl table: one row per command of common/dipc_abi.h.  Each kind
 * keeps its rows beside its glue (ioctl_get.c, ioctl_sem.c, ioctl_msg.c,
 * ioctl_shm.c); fuse_ioctl.c runs the checks every command shares, finds the
 * row and runs it.  Adding a command is adding one row.
 *
 * A row either decodes the payload into an op (decode, then the op is
 * routed and its done answers the request), or serves the request itself
 * (serve: the shm fault and mailbox calls, which are not ops).
 *
 * Decoders are pure enough to run without a FUSE session (the unit test
 * tests/unit/test_ioctl.c drives every row with hostile sizes and fields):
 * they read the payload and the node's limits, allocate the op, and touch
 * no request.  They return 0 (*ret_op set), DIPC_IOC_ANSWERED (the reply
 * is in call->reply, nothing to route), or -errno (*ret_op untouched).
 */
#ifndef DIPC_FS_IOCTL_TABLE_H
#define DIPC_FS_IOCTL_TABLE_H

#include "fuse_priv.h"

#define DIPC_IOC_ANSWERED 1

/* One ioctl as it arrived; what dipc_ioc_check already vouched for:
 * in_size bytes at in, within the row's bounds, and the header's version. */
typedef struct dipc_ioc_call {
	dipc_node *node;
	unsigned cmd;
	const void *in;
	size_t in_size;
	size_t out_size;
	ctl_fh *ctl;            /* the .control handle it came through, or NULL */
	void *reply;            /* DIPC_IOC_ANSWERED: g_malloc'd, reply_size bytes */
	size_t reply_size;
} dipc_ioc_call;

typedef int (*dipc_ioc_decode_fn)(dipc_ioc_call *call, dipc_op **ret_op);
typedef void (*dipc_ioc_serve_fn)(dipc_ioc_call *call, fuse_req_t req);
/* After identity is known, before routing: 0 or -errno (the op is freed). */
typedef int (*dipc_ioc_admit_fn)(dipc_op *op);

/* out_size rules.  Restricted ioctls get exactly _IOC_SIZE each way from the
 * kernel; the daemon checks only what its replies rely on. */
enum dipc_ioc_out {
	IOC_OUT_ANY = 0,        /* not checked: replies are cut to out_size */
	IOC_OUT_IN,             /* out_size == in_size: the reply is the payload */
};

enum {
	IOC_ANY_SIZE = 1 << 0,  /* cmd carries the payload size: match dir|type|nr */
	IOC_NO_INTR = 1 << 1,   /* answered at once by the owner: no interrupt hook */
};

typedef struct dipc_ioc_row {
	unsigned cmd;           /* IOC_ANY_SIZE: with size 0 */
	const char *name;
	size_t in_min, in_max;  /* in_size bounds (exact rows: the struct) */
	enum dipc_ioc_out out;
	unsigned flags;
	dipc_ioc_decode_fn decode;   /* or serve */
	dipc_ioc_serve_fn serve;
	dipc_ioc_admit_fn admit;     /* optional */
	dipc_op_done_fn done;        /* answers the request and frees the op */
	void (*start)(dipc_op *op);  /* NULL: route_op */
} dipc_ioc_row;

/* A row whose number fixes the payload's size (IOC_EXACT names it too). */
#define IOC_SIZED(c, type) .cmd = (c), .in_min = sizeof(type), .in_max = sizeof(type)
#define IOC_EXACT(c, type) IOC_SIZED(c, type), .name = #c

/* Identity, admit, the interrupt hook, then start or route: how an op of
 * row reaches its owner (an ioctl's; also msgrcv's armed read). */
void ioc_dispatch(const dipc_ioc_row *row, dipc_op *op, fuse_req_t req, ctl_fh *ctl);

/* Each kind's rows. */
extern const dipc_ioc_row dipc_ioc_get_rows[];
extern const size_t dipc_ioc_get_nrows;
extern const dipc_ioc_row dipc_ioc_sem_rows[];
extern const size_t dipc_ioc_sem_nrows;
extern const dipc_ioc_row dipc_ioc_msg_rows[];
extern const size_t dipc_ioc_msg_nrows;
extern const dipc_ioc_row dipc_ioc_shm_rows[];
extern const size_t dipc_ioc_shm_nrows;

/* The checks every command shares, in the order the shim relies on:
 * -ENOSYS (32-bit caller), -ENOTTY (not ours), -EINVAL (sizes), -EPROTO
 * (ABI version), -ENOTTY (no such command).  0: *ret_row is its row. */
int dipc_ioc_check(unsigned cmd, unsigned flags, const void *in, size_t in_size,
		   size_t out_size, const dipc_ioc_row **ret_row);
/* Every row, for walking the table (tests). */
const dipc_ioc_row *dipc_ioc_row_at(size_t i);

/* The common answer of an op: its error, or its result with out_size bytes
 * of reply (reply NULL: none); ends the control handle's op; frees the op. */
dipc_op *ioc_op_new(const dipc_ioc_call *call, enum dipc_op_type type);
void ioc_reply_op(dipc_op *op, const void *reply, size_t size);
void ioc_done_plain(dipc_op *op);

#endif /* DIPC_FS_IOCTL_TABLE_H */
