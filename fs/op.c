/* SPDX-License-Identifier: MIT */
/**
 * @file op.c
 *
 * The life of one operation (dipc_op), whatever its kind and its origin:
 * creation, completion, and parking at the owner.
 *
 * An op is made by its origin (a FUSE request on this node, fuse_ioctl.c and
 * fuse_status.c; a peer's request envelope, serve.c; or the daemon itself),
 * routed (route.c), executed at the owner (exec.c and the glue of its kind)
 * and answered to its origin through op->done, its origin's reply hook,
 * which runs exactly once and frees the op.  The origin's other hooks
 * (struct dipc_origin) free its own state and learn when the op parks, so
 * that a peer's Cancel can find it.
 *
 * An op the engine cannot finish at once is "parked": it holds no thread and
 * no stack, only its dipc_op, and it ends in exactly one of these ways:
 *
 *   - the engine wakes it (values changed: result 0; object removed: -EIDRM);
 *   - its timer fires (semtimedop: -EAGAIN);
 *   - its caller is interrupted by a signal (FUSE_INTERRUPT locally, a Cancel
 *     envelope from a peer): -EINTR;
 *   - the peer connection it came from closes: ended without a reply.
 *
 * Every parked op counts against [limits] max_parked (exec.c refuses a wait
 * beyond it with ENOMEM, as the kernel does when it cannot allocate its
 * queue entry).
 */
#include <errno.h>
#include <string.h>

#include "node.h"

/* Which payload an op type uses (the member of the union in struct dipc_op). */
int op_kind_of(enum dipc_op_type type)
{
	switch (type) {
	case OP_GET:
		return OP_KIND_GET;
	case OP_STATUS:
		return OP_KIND_STATUS;
	case OP_SEMOP:
	case OP_SEMCTL:
	case OP_SEMARRAY:
		return DIPC_KIND_SEM;
	case OP_MSGSND:
	case OP_MSGRCV:
	case OP_MSGCTL:
	case OP_MSGREQUEUE:
		return DIPC_KIND_MSG;
	case OP_SHMCTL:
		return DIPC_KIND_SHM;
	}
	return 0;
}

dipc_op *op_new(dipc_node *n, enum dipc_op_type type)
{
	dipc_op *op = g_new0(dipc_op, 1);
	op->node = n;
	op->type = type;
	op->timeout_ns = -1;
	op->call_id = -1;
	return op;
}

static void timer_free_cb(uv_handle_t *h)
{
	g_free(h);
}

void op_free(dipc_op *op)
{
	if (!op)
		return;
	if (op->origin && op->origin->release)
		op->origin->release(op);
	if (op->timer)
		uv_close((uv_handle_t *)op->timer, timer_free_cb);
	switch (op_kind_of(op->type)) {
	case DIPC_KIND_SEM:
		g_free(op->sem.sops);
		g_free(op->sem.vals);
		break;
	case DIPC_KIND_MSG:
		dipc_msg_free(op->msg.m);
		dipc_msg_free(op->msg.waiter.msg);
		break;
	case OP_KIND_STATUS:
		g_free(op->st.text);
		break;
	default:
		break;
	}
	g_free(op);
}

void op_complete(dipc_op *op, int result)
{
	op->result = result;
	op->done(op);
}

/* ---- parking ------------------------------------------------------------ */

void unpark(dipc_op *op)
{
	dipc_node *n = op->node;

	op->parked = false;
	n->nparked--;
	if (op->timer)
		uv_timer_stop(op->timer);
	if (op->origin && op->origin->parked)
		op->origin->parked(op, false);
}

static void park_timeout_cb(uv_timer_t *t)
{
	dipc_op *op = t->data;
	op_unpark(op, -EAGAIN);
}

void op_unpark(dipc_op *op, int err)
{
	if (!op->parked)
		return;
	if (op->obj->sem)
		dipc_semset_cancel(op->obj->sem, &op->sem.waiter);
	else
		dipc_msgq_cancel(op->obj->msg, &op->msg.waiter);
	unpark(op);
	op_complete(op, err);
}

void park(dipc_op *op, dipc_obj *obj)
{
	dipc_node *n = op->node;

	op->parked = true;
	op->obj = obj;
	n->nparked++;
	if (op->origin && op->origin->parked)
		op->origin->parked(op, true);
	if (op->timeout_ns >= 0) {
		if (!op->timer) {
			op->timer = g_new0(uv_timer_t, 1);
			uv_timer_init(n->loop, op->timer);
			op->timer->data = op;
		}
		/* A semtimedop must never return before its time: round up, and
		 * add the millisecond libuv's clock may lag (uv_now() is the
		 * loop's time truncated to ms, so a timer may fire up to 1 ms
		 * early in real time). */
		uint64_t ms = ((uint64_t)op->timeout_ns + 999999) / 1000000 + 1;
		/* The loop's clock is the time its last poll returned; after a
		 * long batch of requests that is stale, and a timer started
		 * from it fires early by as much. */
		uv_update_time(n->loop);
		uv_timer_start(op->timer, park_timeout_cb, ms, 0);
	}
}

/* The origin wants op ended: wherever it is, it ends with EINTR (parked at
 * this owner), or the owner is asked to end it (forwarded); on its way to
 * either, route_op and peer_flush see op->interrupted before sending it. */
void op_interrupt(dipc_op *op)
{
	op->interrupted = true;
	if (op->parked)
		op_unpark(op, -EINTR);
	else if (op->peer)
		peer_cancel(op);
}
