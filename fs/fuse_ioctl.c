/* SPDX-License-Identifier: MIT */
/**
 * @file fuse_ioctl.c
 *
 * The ioctl entry: the shim makes every SysV call as one ioctl on a file of
 * the mount.  This file owns what every command shares -- the checks on
 * sizes and the ABI version, finding the command's row in the table
 * (ioctl_table.h), the caller's identity, the interrupt hook, routing -- and
 * nothing of any one command.
 *
 * Sizes: only restricted ioctls are served (FUSE_IOCTL_COMPAT is refused,
 * the daemon never asks the kernel to retry with other iovecs), so the
 * kernel copies exactly _IOC_SIZE(cmd) bytes in (and out, for _IOWR), and a
 * payload of any other size is refused before a row sees it.
 *
 * Interrupts: every op that may wait registers an interrupt hook before it
 * is routed.  The hook may run at once (inside the registration) or later
 * (inside fuse_session_process_buf); it only queues the op, and the queue
 * is drained after each processed request (fuse_loop.c), where the op is
 * ended (parked locally: EINTR) or cancelled at its owner (which then
 * answers it).
 */
#include <errno.h>
#include <string.h>

#include "ioctl_table.h"

static const struct {
	const dipc_ioc_row *rows;
	const size_t *n;
} kinds[] = {
	{ dipc_ioc_get_rows, &dipc_ioc_get_nrows },
	{ dipc_ioc_sem_rows, &dipc_ioc_sem_nrows },
	{ dipc_ioc_msg_rows, &dipc_ioc_msg_nrows },
	{ dipc_ioc_shm_rows, &dipc_ioc_shm_nrows },
};

/* Rows by _IOC_NR, built on first use (every command has its own number). */
static const dipc_ioc_row *by_nr[1u << _IOC_NRBITS];
static bool indexed;

const dipc_ioc_row *dipc_ioc_row_at(size_t i)
{
	for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
		if (i < *kinds[k].n)
			return &kinds[k].rows[i];
		i -= *kinds[k].n;
	}
	return NULL;
}

static const dipc_ioc_row *row_of(unsigned cmd)
{
	const dipc_ioc_row *row;

	if (!indexed) {
		for (size_t i = 0; (row = dipc_ioc_row_at(i)); i++) {
			g_assert(!by_nr[_IOC_NR(row->cmd)]);
			by_nr[_IOC_NR(row->cmd)] = row;
		}
		indexed = true;
	}
	row = by_nr[_IOC_NR(cmd)];
	if (!row)
		return NULL;
	if (row->flags & IOC_ANY_SIZE)
		return (cmd & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) == row->cmd ? row : NULL;
	return cmd == row->cmd ? row : NULL;
}

int dipc_ioc_check(unsigned cmd, unsigned flags, const void *in, size_t in_size,
		   size_t out_size, const dipc_ioc_row **ret_row)
{
	const struct dipc_ioc_hdr *hdr = in;
	const dipc_ioc_row *row;

	if (flags & FUSE_IOCTL_COMPAT)
		return -ENOSYS;   /* 32-bit callers: layouts differ */
	if (_IOC_TYPE(cmd) != DIPC_IOC_MAGIC)
		return -ENOTTY;
	if (in_size != _IOC_SIZE(cmd) || in_size < sizeof(*hdr))
		return -EINVAL;
	if (hdr->version != DIPC_ABI_VERSION)
		return -EPROTO;
	row = row_of(cmd);
	if (!row)
		return -ENOTTY;
	if (in_size < row->in_min || in_size > row->in_max)
		return -EINVAL;
	if (row->out == IOC_OUT_IN && out_size != in_size)
		return -EINVAL;
	*ret_row = row;
	return 0;
}

/* ---- the FUSE origin ------------------------------------------------------ */

static void origin_release(dipc_op *op)
{
	if (op->from.fuse.intr_link)
		g_queue_delete_link(&op->node->interrupted, op->from.fuse.intr_link);
	g_free(op->from.fuse.io_buf);
}

const dipc_origin dipc_fuse_origin = {
	.name = "fuse",
	.release = origin_release,
};

/* An op for an ioctl: its origin is the FUSE request (set at dispatch). */
dipc_op *ioc_op_new(const dipc_ioc_call *call, enum dipc_op_type type)
{
	dipc_op *op = op_new(call->node, type);
	op->origin = &dipc_fuse_origin;
	return op;
}

void ioc_reply_op(dipc_op *op, const void *reply, size_t size)
{
	ctl_set_busy(op->from.fuse.ctl, false);
	if (op->result < 0)
		fuse_reply_err(op->from.fuse.req, -op->result);
	else
		fuse_reply_ioctl(op->from.fuse.req, op->result, reply, size);
	op_free(op);
}

void ioc_done_plain(dipc_op *op)
{
	ioc_reply_op(op, NULL, 0);
}

static void intr_hook(fuse_req_t req, void *data)
{
	dipc_op *op = data;

	if (op->interrupted)
		return;
	op->interrupted = true;
	op->from.fuse.intr_link = g_list_alloc();
	op->from.fuse.intr_link->data = op;
	g_queue_push_tail_link(&op->node->interrupted, op->from.fuse.intr_link);
}

void ioc_dispatch(const dipc_ioc_row *row, dipc_op *op, fuse_req_t req, ctl_fh *ctl)
{
	dipc_node *n = op->node;
	int r;

	if ((r = req_ident_on(n, req, ctl_serial(ctl), &op->who)) < 0) {
		op_free(op);
		fuse_reply_err(req, -r);
		return;
	}
	if (row->admit && (r = row->admit(op)) < 0) {
		op_free(op);
		fuse_reply_err(req, -r);
		return;
	}
	op->from.fuse.req = req;
	op->done = row->done;
	/* Register first: the hook may run right here if a signal already came. */
	if (!(row->flags & IOC_NO_INTR))
		fuse_req_interrupt_func(req, intr_hook, op);
	if (row->start)
		row->start(op);
	else
		route_op(op);
}

void ioc_entry(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		      struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		      size_t in_bufsz, size_t out_bufsz)
{
	const dipc_ioc_row *row = NULL;
	dipc_ioc_call call = {
		.node = node_of(req), .cmd = cmd, .in = in_buf,
		.in_size = in_bufsz, .out_size = out_bufsz, .ctl = ctl_of(ino, fi),
	};
	dipc_op *op = NULL;
	int r = dipc_ioc_check(cmd, flags, in_buf, in_bufsz, out_bufsz, &row);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (row->serve) {
		row->serve(&call, req);
		return;
	}
	r = row->decode(&call, &op);
	if (r < 0) {
		fuse_reply_err(req, -r);
	} else if (r == DIPC_IOC_ANSWERED) {
		fuse_reply_ioctl(req, 0, call.reply, call.reply_size);
		g_free(call.reply);
	} else {
		ioc_dispatch(row, op, req, call.ctl);
	}
}
