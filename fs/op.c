/* SPDX-License-Identifier: MIT */
/**
 * @file op.c
 *
 * The life of one operation (dipc_op), whatever its kind and its origin:
 * creation, completion, and parking at the owner.
 *
 * An op is made by its origin (a FUSE request on this node, fuse_*.c, or a
 * peer's request envelope, serve.c), routed (route.c), executed at the owner
 * (exec.c and the glue of its kind) and answered to its origin through
 * op->done, which runs exactly once and after which the origin frees the op.
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
	if (op->intr_link)
		g_queue_delete_link(&op->node->interrupted, op->intr_link);
	if (op->timer)
		uv_close((uv_handle_t *)op->timer, timer_free_cb);
	g_free(op->sops);
	g_free(op->vals);
	dipc_msg_free(op->msg);
	dipc_msg_free(op->mwaiter.msg);
	g_free(op->text);
	g_free(op->io_buf);
	g_free(op);
}

void op_complete(dipc_op *op, int result)
{
	op->result = result;
	op->done(op);
}

/* ---- parking ------------------------------------------------------------ */

static guint remote_key_hash(gconstpointer p)
{
	const dipc_remote_key *k = p;
	return g_direct_hash(k->conn) ^ (guint)(k->req * 2654435761u);
}

static gboolean remote_key_equal(gconstpointer a, gconstpointer b)
{
	const dipc_remote_key *x = a, *y = b;
	return x->conn == y->conn && x->req == y->req;
}

GHashTable *parked_table_new(void)
{
	return g_hash_table_new(remote_key_hash, remote_key_equal);
}

void unpark(dipc_op *op)
{
	dipc_node *n = op->node;

	op->parked = false;
	n->nparked--;
	if (op->timer)
		uv_timer_stop(op->timer);
	if (op->from.conn)
		g_hash_table_remove(n->parked_remote, &op->from);
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
		dipc_semset_cancel(op->obj->sem, &op->waiter);
	else
		dipc_msgq_cancel(op->obj->msg, &op->mwaiter);
	unpark(op);
	op_complete(op, err);
}

void park(dipc_op *op, dipc_obj *obj)
{
	dipc_node *n = op->node;

	op->parked = true;
	op->obj = obj;
	n->nparked++;
	if (op->from.conn)
		g_hash_table_insert(n->parked_remote, &op->from, op);
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
		uv_timer_start(op->timer, park_timeout_cb, ms, 0);
	}
}

void parked_cancel_remote(dipc_node *n, dipc_conn *c, uint64_t req_id)
{
	dipc_remote_key k = { c, req_id };
	dipc_op *op = g_hash_table_lookup(n->parked_remote, &k);
	if (op)
		op_unpark(op, -EINTR);
}

void parked_conn_closed(dipc_node *n, dipc_conn *c)
{
	GHashTableIter it;
	gpointer k, v;
	GSList *ops = NULL;

	g_hash_table_iter_init(&it, n->parked_remote);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (((dipc_remote_key *)k)->conn == c)
			ops = g_slist_prepend(ops, v);
	for (GSList *l = ops; l; l = l->next) {
		dipc_op *op = l->data;
		g_hash_table_remove(n->parked_remote, &op->from);
		op->from.conn = NULL;   /* nobody to answer */
		op_unpark(op, -ECONNRESET);
	}
	g_slist_free(ops);
}
