/* SPDX-License-Identifier: MIT */
/**
 * @file semglue.c
 *
 * Operations at the owner node: the glue between a dipc_op and the engines.
 *
 * An op runs here when this node owns its object, whether the caller is a
 * local process (the op came from a FUSE ioctl) or a process on another node
 * (the op came in a peer's request envelope).  The engine answers at once or
 * queues the waiter; a queued op is "parked": it holds no thread and no
 * stack, only its dipc_op, and it ends in exactly one of these ways:
 *
 *   - the engine wakes it (values changed: result 0; set removed: -EIDRM);
 *   - its semtimedop timer fires (-EAGAIN);
 *   - its caller is interrupted by a signal (FUSE_INTERRUPT locally, a Cancel
 *     envelope from a peer): -EINTR;
 *   - the peer connection it came from closes: ended without a reply.
 *
 * Every parked op counts against [limits] max_parked; beyond it a semop that
 * would block fails with ENOMEM, as the kernel's does when it cannot
 * allocate its queue entry.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "node.h"
#include "opwire.h"

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

/* The engine's wake function: the op's semop completed or the set died. */
static void sem_wake(dipc_sem_waiter *w, int result, void *ud)
{
	dipc_op *op = w->ud;
	unpark(op);
	op_complete(op, result);
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

	shmglue_conn_closed(n, c);
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

dipc_sem_wake_fn semglue_wake_fn(void)
{
	return sem_wake;
}

/* ---- execution at the owner --------------------------------------------- */

static int exec_semctl(dipc_op *op, dipc_obj *obj)
{
	dipc_semset *s = obj->sem;
	dipc_node *n = op->node;
	int r;

	switch (op->cmd) {
	case IPC_STAT:
	case SEM_STAT:
	case SEM_STAT_ANY:
		r = dipc_semset_stat(s, &op->who, op->cmd != SEM_STAT_ANY, &op->ds);
		if (r < 0)
			return r;
		return op->cmd == IPC_STAT ? 0 : obj->id;
	case IPC_SET:
		return dipc_semset_ipc_set(s, &op->who, op->set_uid, op->set_gid, op->set_mode);
	case IPC_RMID:
		r = dipc_semset_rmid(s, &op->who);
		if (r == 0)
			obj_destroy(n, obj);
		return r;
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
		return dipc_semset_get(s, &op->who, op->cmd, op->semnum);
	case SETVAL:
		return dipc_semset_setval(s, &op->who, op->semnum, op->val);
	default:
		return -EINVAL;
	}
}

static int exec_semarray(dipc_op *op, dipc_obj *obj)
{
	int r;

	if (op->cmd == GETALL) {
		if (!op->vals) {
			op->nvals = DIPC_SEMMSL_MAX;
			op->vals = g_new0(uint16_t, op->nvals);
		}
		r = dipc_semset_getall(obj->sem, &op->who, op->vals, op->nvals);
		if (r == 0)
			op->nvals = dipc_semset_nsems(obj->sem);
		return r;
	}
	if (op->cmd == SETALL)
		return dipc_semset_setall(obj->sem, &op->who, op->vals, op->nvals);
	return -EINVAL;
}

void exec_local(dipc_op *op)
{
	dipc_node *n = op->node;
	dipc_obj *obj;
	int r;

	if (op->type == OP_GET) {
		op_complete(op, obj_check_get(n, op));
		return;
	}
	if (op->type == OP_STATUS) {
		exec_status(op);
		return;
	}

	obj = obj_find(n, op->id);
	if (op->type == OP_SHMCTL) {
		if (!obj || obj->kind != DIPC_KIND_SHM)
			op_complete(op, -EINVAL);
		else
			exec_shm(op, obj);
		return;
	}
	if (obj && obj->kind == DIPC_KIND_MSG &&
	    (op->type == OP_MSGSND || op->type == OP_MSGRCV || op->type == OP_MSGCTL ||
	     op->type == OP_MSGREQUEUE)) {
		exec_msg(op, obj);
		return;
	}
	if (!obj || obj->kind != DIPC_KIND_SEM) {
		/* A message given back to a queue that is gone is dropped
		 * with the queue. */
		op_complete(op, -EINVAL);
		return;
	}

	switch (op->type) {
	case OP_SEMOP:
		op->waiter.who = op->who;
		op->waiter.sops = op->sops;
		op->waiter.nsops = op->nsops;
		op->waiter.ud = op;
		r = dipc_semset_op(obj->sem, &op->waiter);
		if (r == 1) {
			if (n->nparked >= n->conf->max_parked) {
				dipc_semset_cancel(obj->sem, &op->waiter);
				r = -ENOMEM;
			} else {
				park(op, obj);
				return;
			}
		}
		op_complete(op, r);
		return;
	case OP_SEMCTL:
		op_complete(op, exec_semctl(op, obj));
		return;
	case OP_SEMARRAY:
		op_complete(op, exec_semarray(op, obj));
		return;
	default:
		op_complete(op, -EINVAL);
	}
}

/* ---- requests from peers ------------------------------------------------ */

static void peer_done(dipc_op *op)
{
	int r = -ECONNRESET;
	if (op->from.conn) {
		g_autoptr(opwire_msg) m = opwire_reply(op);
		r = dipc_conn_reply(op->from.conn, op->from.req, opwire_env(m));
	}
	/* A received message that cannot even be sent to the receiver's node
	 * goes back to its queue. */
	if (r < 0 && op->type == OP_MSGRCV && op->result >= 0 && op->msg)
		msg_give_back(op->node, op->id, g_steal_pointer(&op->msg));
	op_free(op);
}

void serve_peer_request(dipc_node *n, dipc_conn *c, Dipc__Envelope *env)
{
	const char *peer = dipc_conn_peer_name(c);
	int r;

	switch (env->body_case) {
	case DIPC__ENVELOPE__BODY_PROC_EXIT:
		objects_proc_exit(n, peer, env->proc_exit->pid);
		return;
	case DIPC__ENVELOPE__BODY_CANCEL:
		parked_cancel_remote(n, c, env->cancel->target);
		return;
	case DIPC__ENVELOPE__BODY_SHM_ACQUIRE:
	case DIPC__ENVELOPE__BODY_SHM_DONE:
	case DIPC__ENVELOPE__BODY_SHM_REVOKE:
	case DIPC__ENVELOPE__BODY_SHM_FETCH:
		shmglue_serve(n, c, env);
		return;
	default:
		break;
	}

	dipc_op *op = op_new(n, OP_SEMOP);
	r = opwire_parse_request(env, op);
	/* A peer speaks only for callers on itself: the authenticated name wins. */
	g_strlcpy(op->who.node, peer, sizeof(op->who.node));
	op->from.conn = c;
	op->from.req = env->req_id;
	op->done = peer_done;
	if (r < 0) {
		op_complete(op, r);
		return;
	}
	exec_local(op);
}
