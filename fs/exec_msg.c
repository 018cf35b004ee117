/* SPDX-License-Identifier: MIT */
/**
 * @file exec_msg.c
 *
 * Message-queue operations at the owner node, and the giving back of
 * messages that could not be delivered.
 *
 * A message leaves its queue only towards a receiver that really gets it.
 * The owner hands a message to a receiver's request; if that request cannot
 * be answered with it -- the receiving process was interrupted or killed
 * while the message was on its way, the connection to its node broke, the
 * FUSE reply did not reach it, or a staged handle was closed unread -- the
 * message is given back (OP_MSGREQUEUE) and goes to the head of its queue,
 * or straight to a receiver already waiting for it.  The owner always sends
 * the whole message, even when MSG_NOERROR truncates what the receiver gets,
 * so that what is given back is what was taken.
 *
 * What remains of the window: a message in flight between the owner and the
 * receiver's node when either node dies, or when the connection breaks
 * after the owner sent it, is lost (with the at-most-once rule of every
 * remote call); and a receiver whose buffer is under 24 bytes gets its text
 * through a copy that follows the ioctl (see docs/design.md).  Otherwise,
 * between two live nodes, nothing is lost or duplicated.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "node.h"

#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif

static void msg_wake(dipc_msg_waiter *w, int result, void *ud)
{
	dipc_op *op = w->ud;

	unpark(op);
	if (!w->is_send && result >= 0) {
		op->msg.m = g_steal_pointer(&w->msg);
		op->msg.mtype = op->msg.m->mtype;
	}
	op_complete(op, result);
}

dipc_msg_wake_fn msgglue_wake_fn(void)
{
	return msg_wake;
}

static int exec_msgctl(dipc_op *op, dipc_obj *obj)
{
	dipc_node *n = op->node;
	int r;

	switch (op->msg.cmd) {
	case IPC_STAT:
	case MSG_STAT:
	case MSG_STAT_ANY:
		r = dipc_msgq_stat(obj->msg, &op->who, op->msg.cmd != MSG_STAT_ANY, &op->msg.ds);
		if (r < 0)
			return r;
		return op->msg.cmd == IPC_STAT ? 0 : obj->id;
	case IPC_SET:
		return dipc_msgq_ipc_set(obj->msg, &op->who, op->msg.set_uid, op->msg.set_gid,
					 op->msg.set_mode, op->msg.set_qbytes);
	case IPC_RMID:
		r = dipc_msgq_rmid(obj->msg, &op->who);
		if (r == 0)
			obj_destroy(n, obj);
		return r;
	default:
		return -EINVAL;
	}
}

void exec_msg(dipc_op *op, dipc_obj *obj)
{
	dipc_msg_waiter *w = &op->msg.waiter;
	int r;

	switch (op->type) {
	case OP_MSGSND:
		w->who = op->who;
		w->is_send = true;
		w->flags = op->msg.flags;
		w->msg = g_steal_pointer(&op->msg.m);
		w->ud = op;
		r = dipc_msgq_send(obj->msg, w);
		break;
	case OP_MSGRCV:
		if (op->msg.flags & 040000 /* MSG_COPY */) {
			r = -EINVAL;
			break;
		}
		w->who = op->who;
		w->is_send = false;
		w->flags = op->msg.flags;
		w->msgtyp = op->msg.msgtyp;
		w->maxsize = op->msg.maxsize;
		w->ud = op;
		r = dipc_msgq_recv(obj->msg, w);
		/* 1 is both "queued" and a delivered size of one byte: the
		 * waiter's queued flag tells them apart. */
		if (r >= 0 && !w->queued) {
			op->msg.m = g_steal_pointer(&w->msg);
			op->msg.mtype = op->msg.m->mtype;
		}
		break;
	case OP_MSGREQUEUE:
		dipc_msgq_requeue(obj->msg, g_steal_pointer(&op->msg.m));
		r = 0;
		break;
	case OP_MSGCTL:
		r = exec_msgctl(op, obj);
		break;
	default:
		r = -EINVAL;
	}

	if (w->queued) {
		if (exec_may_park(op, obj))
			return;
		dipc_msgq_cancel(obj->msg, w);
		r = -ENOMEM;
	}
	op_complete(op, r);
}

/* ---- giving back -------------------------------------------------------- */

static void give_back_done(dipc_op *op)
{
	if (op->result < 0 && op->result != -EINVAL)
		g_message("could not give a message back to queue %d: %s", op->id,
			  g_strerror(-op->result));
	op_free(op);
}

void msg_give_back(dipc_node *n, int32_t id, dipc_msg *m)
{
	dipc_op *op = op_new(n, OP_MSGREQUEUE);

	/* The daemon itself gives it back: no process, root's rights. */
	g_strlcpy(op->who.node, n->name, sizeof(op->who.node));
	g_strlcpy(op->who.user, "root", sizeof(op->who.user));
	op->who.caps = DIPC_CAPS_ALL;
	op->id = id;
	op->msg.m = m;
	op->msg.mtype = m->mtype;
	op->done = give_back_done;
	route_op(op);
}
