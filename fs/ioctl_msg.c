/* SPDX-License-Identifier: MIT */
/**
 * @file ioctl_msg.c
 *
 * The ioctl table's message-queue rows: msgsnd and msgrcv with the text
 * inline (three sizes of one layout), staged in a private .control handle
 * (fuse_control.c), or for msgrcv straight into the program's buffer
 * (DIPC_IOC_MSGRCV_DIRECT, whose number carries the buffer's size), or as
 * a read() of a private handle armed with the call's parameters
 * (DIPC_IOC_MSGRCV_ARM, msgrcv_read: the shim's way, which writes nothing
 * into msgp before the message); and msgctl.  Each row decodes its payload into an op for the owner
 * (msgglue.c) and answers the shim from the op's results.
 *
 * No loss: a received message is only handed to a caller that still waits
 * for it; otherwise it goes back to the head of its queue (see
 * msgrcv_deliver_now and the delivery point in fuse_loop.c), unless it is
 * MSG_COPY's duplicate, which is dropped.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "ioctl_table.h"
#include "ipcindex.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

/* S/M/L inline or staged: the layouts share every field but the text's room. */
static int msgsnd_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_msgsnd_l *s = call->in;
	size_t cap = call->in_size - G_STRUCT_OFFSET(struct dipc_ioc_msgsnd_l, mtext);
	const void *text = s->mtext;
	dipc_op *op;

	if (call->cmd == DIPC_IOC_MSGSND_STAGED) {
		if (ctl_staged_text(call->ctl, s->msgsz, &text) < 0)
			return -EINVAL;
	} else if (s->msgsz > cap) {
		return -EINVAL;
	}
	if (s->mtype < 1 || s->msgsz > call->node->msg_lim.msgmax)
		return -EINVAL;
	op = ioc_op_new(call, OP_MSGSND);
	op->id = s->id;
	op->msg.flags = s->msgflg;
	op->msg.m = dipc_msg_new(s->mtype, text, s->msgsz);
	if (call->cmd == DIPC_IOC_MSGSND_STAGED)
		ctl_staged_sent(call->ctl);
	*ret_op = op;
	return 0;
}

/* MSG_COPY's flags are refused before the queue is looked up (do_msgrcv):
 * EINVAL with MSG_EXCEPT or without IPC_NOWAIT, whatever the id. */
static bool msgrcv_flags_ok(int flags)
{
	return !(flags & MSG_COPY) || ((flags & IPC_NOWAIT) && !(flags & MSG_EXCEPT));
}

static int msgrcv_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_msgrcv_l *r = call->in;
	size_t cap = call->in_size - G_STRUCT_OFFSET(struct dipc_ioc_msgrcv_l, mtext);
	bool staged = call->cmd == DIPC_IOC_MSGRCV_STAGED;
	dipc_op *op;

	if (!msgrcv_flags_ok(r->msgflg))
		return -EINVAL;
	if (staged) {
		if (!ctl_can_receive(call->ctl))
			return -EBUSY;
	} else if (r->msgsz > cap) {
		return -EINVAL;
	}
	op = ioc_op_new(call, OP_MSGRCV);
	op->id = r->id;
	op->msg.flags = r->msgflg;
	op->msg.msgtyp = r->msgtyp;
	op->msg.maxsize = r->msgsz;
	op->from.fuse.io_buf = g_memdup2(r, call->in_size);
	op->from.fuse.out_size = call->out_size;
	if (staged) {
		op->from.fuse.ctl = call->ctl;
		ctl_set_busy(op->from.fuse.ctl, true);
	}
	*ret_op = op;
	return 0;
}

/* The buffer is msgp itself: its size is sizeof(long) + msgsz. */
static int msgrcv_direct_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_msgrcv_direct *r = call->in;
	dipc_op *op;

	if (r->msgsz != call->in_size - sizeof(int64_t) || !msgrcv_flags_ok(r->msgflg))
		return -EINVAL;
	op = ioc_op_new(call, OP_MSGRCV);
	op->id = r->id;
	op->msg.flags = r->msgflg;
	op->msg.msgtyp = r->msgtyp;
	op->msg.maxsize = r->msgsz;
	op->from.fuse.direct = true;
	*ret_op = op;
	return 0;
}

/* DIPC_IOC_MSGRCV_ARM: answered at once; the checks come with each read,
 * where the kernel makes them. */
static int msgrcv_arm_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	(void)ret_op;
	if (!call->ctl)
		return -EINVAL;
	ctl_arm(call->ctl, call->in);
	call->reply = g_new0(char, 1);   /* nothing to say: an empty reply */
	call->reply_size = 0;
	return DIPC_IOC_ANSWERED;
}

static void msgrcv_done(dipc_op *op);

/* How an armed read reaches the owner: as an ioctl's op would. */
static const dipc_ioc_row read_row = { .name = "msgrcv read()", .done = msgrcv_done };

void msgrcv_read(fuse_req_t req, ctl_fh *c, const struct dipc_ioc_msgrcv_staged *params,
		 size_t size)
{
	dipc_op *op;

	(void)c;
	/* The shim reads exactly mtype + msgsz (DIPC_MSGRCV_READ_MAX keeps it
	 * one request): anything else is not its read, and takes nothing. */
	if (size < sizeof(int64_t) || size - sizeof(int64_t) != params->msgsz ||
	    size > DIPC_MSGRCV_READ_MAX) {
		fuse_reply_err(req, EPROTO);
		return;
	}
	if (!msgrcv_flags_ok(params->msgflg)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	op = op_new(node_of(req), OP_MSGRCV);
	op->origin = &dipc_fuse_origin;
	op->id = params->id;
	op->msg.flags = params->msgflg;
	op->msg.msgtyp = params->msgtyp;
	op->msg.maxsize = params->msgsz;
	op->from.fuse.by_read = true;
	ioc_dispatch(&read_row, op, req, c);
}

/* A message came: hand it over at the loop's delivery point, not here. */
static void msgrcv_done(dipc_op *op)
{
	if (op->result < 0) {
		ioc_done_plain(op);
		return;
	}
	loop_defer_delivery(op);
}

/* The reply went out, or the message goes back. */
static void reply_or_give_back(dipc_op *op, dipc_msg *m, int len, const void *out, size_t size)
{
	if (fuse_reply_ioctl(op->from.fuse.req, len, out, size) < 0)
		msg_give_back(op->node, op->id, m);
	else
		dipc_msg_free(m);
}

/* Staged: the text waits in the handle for read(). */
static void deliver_staged(dipc_op *op, dipc_msg *m, size_t len)
{
	struct dipc_ioc_msgrcv_staged *r = op->from.fuse.io_buf;

	ctl_set_busy(op->from.fuse.ctl, false);
	r->mtype = m->mtype;
	if (len == 0) {
		/* nothing to read(): delivered with the reply */
		reply_or_give_back(op, m, 0, r, sizeof(*r));
		return;
	}
	ctl_hold(op->from.fuse.ctl, op->id, m, len);
	if (fuse_reply_ioctl(op->from.fuse.req, (int)len, r, sizeof(*r)) < 0)
		msg_give_back(op->node, op->id, ctl_unhold(op->from.fuse.ctl));
}

/*
 * Hand a received message to its caller, or give it back.  The caller must
 * still be waiting: a request that was interrupted (the hook ran: a signal,
 * or SIGKILL, is pending for it) would lose the message on its way out of
 * the kernel, so it is answered EINTR and the message goes back to the head
 * of its queue; so does a message whose reply the kernel refused.  Called at
 * the delivery point (fuse_loop.c); the caller frees the op.
 */
void msgrcv_deliver_now(dipc_op *op)
{
	dipc_msg *m = g_steal_pointer(&op->msg.m);
	size_t len = MIN((size_t)op->result, m->size);

	/* From another owner it came as a plain message: a copy all the same. */
	if (op->msg.flags & MSG_COPY)
		m->is_copy = true;

	if (op->interrupted) {
		ctl_set_busy(op->from.fuse.ctl, false);
		msg_give_back(op->node, op->id, m);
		fuse_reply_err(op->from.fuse.req, EINTR);
		return;
	}
	if (op->from.fuse.by_read || op->from.fuse.direct) {
		/* Straight into msgp: mtype, then the delivered text. */
		g_autofree char *out = g_malloc(sizeof(int64_t) + len);
		int64_t mtype = m->mtype;
		memcpy(out, &mtype, sizeof(mtype));
		memcpy(out + sizeof(mtype), m->data, len);
		if (op->from.fuse.direct)
			reply_or_give_back(op, m, (int)len, out, sizeof(mtype) + len);
		else if (fuse_reply_buf(op->from.fuse.req, out, sizeof(mtype) + len) < 0)
			msg_give_back(op->node, op->id, m);   /* the reader is gone */
		else
			dipc_msg_free(m);
		return;
	}
	if (op->from.fuse.ctl) {
		deliver_staged(op, m, len);
		return;
	}
	struct dipc_ioc_msgrcv_l *r = op->from.fuse.io_buf;   /* S/M/L share the prefix */
	size_t cap = op->from.fuse.out_size - G_STRUCT_OFFSET(struct dipc_ioc_msgrcv_l, mtext);
	if (len > cap) {
		/* the shim picked a struct too small for msgsz: its bug */
		msg_give_back(op->node, op->id, m);
		fuse_reply_err(op->from.fuse.req, EPROTO);
		return;
	}
	r->mtype = m->mtype;
	memcpy(r->mtext, m->data, len);
	reply_or_give_back(op, m, (int)len, r, op->from.fuse.out_size);
}

/* IPC_INFO / MSG_INFO: the cluster's limits, this node's usage. */
static void fill_msginfo(dipc_node *n, struct dipc_msginfo *mi, int cmd)
{
	guint owned = 0;
	GHashTableIter it;
	gpointer v;
	uint64_t qnum = 0, cbytes = 0;

	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		if (o->msg) {
			owned++;
			qnum += dipc_msgq_qnum(o->msg);
			cbytes += dipc_msgq_cbytes(o->msg);
		}
	}
	memset(mi, 0, sizeof(*mi));
	mi->msgmax = (int32_t)n->msg_lim.msgmax;
	mi->msgmnb = (int32_t)n->msg_lim.msgmnb;
	mi->msgmni = (int32_t)n->conf->msgmni;
	mi->msgssz = 16;
	mi->msgseg = 0xffff;
	if (cmd == MSG_INFO) {
		/* as the kernel: in-use queues, queued messages and bytes */
		mi->msgpool = (int32_t)owned;
		mi->msgmap = (int32_t)MIN(qnum, (uint64_t)INT32_MAX);
		mi->msgtql = (int32_t)MIN(cbytes, (uint64_t)INT32_MAX);
	} else {
		mi->msgpool = (int32_t)MIN((uint64_t)n->conf->msgmni * n->msg_lim.msgmnb / 1024,
					   (uint64_t)INT32_MAX);
		mi->msgmap = (int32_t)n->msg_lim.msgmnb;
		mi->msgtql = (int32_t)n->msg_lim.msgmnb;
	}
}

/* Every msgctl is an op: IPC_INFO/MSG_INFO too, answered from its payload
 * (filled here) with the highest index in use as the result. */
static int msgctl_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_msgctl *c = call->in;
	struct dipc_ioc_msgctl *io = g_memdup2(c, sizeof(*c));
	dipc_op *op;

	if (c->cmd == IPC_INFO || c->cmd == MSG_INFO)
		fill_msginfo(call->node, &io->info, c->cmd);
	op = ioc_op_new(call, OP_MSGCTL);
	op->id = c->id;
	op->msg.cmd = c->cmd;
	op->msg.set_uid = c->ds.perm.uid;
	op->msg.set_gid = c->ds.perm.gid;
	op->msg.set_mode = c->ds.perm.mode;
	op->msg.set_qbytes = c->ds.qbytes;
	op->from.fuse.io_buf = io;
	op->from.fuse.out_size = call->out_size;
	*ret_op = op;
	return 0;
}

/* The commands of the kernel's index (ipcindex.c) before the owner. */
static void msgctl_start(dipc_op *op)
{
	index_start(op, DIPC_KIND_MSG, op->msg.cmd);
}

static void msgctl_done(dipc_op *op)
{
	struct dipc_ioc_msgctl *c = op->from.fuse.io_buf;

	if (op->result < 0 || op->from.fuse.out_size != sizeof(*c)) {
		ioc_done_plain(op);
		return;
	}
	c->ds = op->msg.ds;
	ioc_reply_op(op, c, sizeof(*c));
}

#define MSGSND_ROW(c, type) \
	{ IOC_SIZED(c, type), .name = #c, .decode = msgsnd_decode, .done = ioc_done_plain }
#define MSGRCV_ROW(c, type) \
	{ IOC_SIZED(c, type), .name = #c, .out = IOC_OUT_IN, .decode = msgrcv_decode, .done = msgrcv_done }

const dipc_ioc_row dipc_ioc_msg_rows[] = {
	MSGSND_ROW(DIPC_IOC_MSGSND_S, struct dipc_ioc_msgsnd_s),
	MSGSND_ROW(DIPC_IOC_MSGSND_M, struct dipc_ioc_msgsnd_m),
	MSGSND_ROW(DIPC_IOC_MSGSND_L, struct dipc_ioc_msgsnd_l),
	MSGSND_ROW(DIPC_IOC_MSGSND_STAGED, struct dipc_ioc_msgsnd_staged),
	MSGRCV_ROW(DIPC_IOC_MSGRCV_S, struct dipc_ioc_msgrcv_s),
	MSGRCV_ROW(DIPC_IOC_MSGRCV_M, struct dipc_ioc_msgrcv_m),
	MSGRCV_ROW(DIPC_IOC_MSGRCV_L, struct dipc_ioc_msgrcv_l),
	MSGRCV_ROW(DIPC_IOC_MSGRCV_STAGED, struct dipc_ioc_msgrcv_staged),
	{ .cmd = _IOC(_IOC_READ | _IOC_WRITE, DIPC_IOC_MAGIC, DIPC_IOC_MSGRCV_DIRECT_NR, 0),
	  .name = "DIPC_IOC_MSGRCV_DIRECT", .flags = IOC_ANY_SIZE,
	  .in_min = sizeof(struct dipc_ioc_msgrcv_direct), .in_max = _IOC_SIZEMASK,
	  .out = IOC_OUT_IN, .decode = msgrcv_direct_decode, .done = msgrcv_done },
	{ IOC_EXACT(DIPC_IOC_MSGRCV_ARM, struct dipc_ioc_msgrcv_staged), .flags = IOC_NO_INTR,
	  .decode = msgrcv_arm_decode, .done = ioc_done_plain },
	{ IOC_EXACT(DIPC_IOC_MSGCTL, struct dipc_ioc_msgctl),
	  .decode = msgctl_decode, .done = msgctl_done, .start = msgctl_start },
};
const size_t dipc_ioc_msg_nrows = G_N_ELEMENTS(dipc_ioc_msg_rows);
