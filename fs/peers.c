/* SPDX-License-Identifier: MIT */
/**
 * @file peers.c
 *
 * The other nodes: membership as the referee pushes it, and this node's
 * outbound connections to them, on which it forwards its callers' ops to
 * their owners (peer_forward) and makes the other calls the rooms need
 * (peer_call, peer_cancel, peer_notify_exit: announced until confirmed).
 *
 * Connections.  For calls to a peer a node dials its own outbound
 * connection and sends requests only on it; requests that arrive on
 * connections peers dialled are answered on those (serve.c).  So between two
 * nodes there may be two connections, one per direction of calls, and a
 * reply always travels on the connection of its request.
 *
 * Membership.  The referee pushes the node list (name, listen address,
 * alive) on every change.  A node marked dead (the referee lost its
 * connection: EOF, or silence for dead_after_ms) or absent from a complete
 * list is gone (fail-stop): calls to it fail, our cached ids on it are
 * dropped, and every object we own forgets its processes (SEM_UNDO applied,
 * attaches ended).  A list sent during a restarted referee's grace period
 * names only the nodes that have reconnected so far: absence from it means
 * nothing, so it never takes a live node for gone.
 *
 * Errors of a forwarded op: an owner that cannot be reached, or whose
 * connection breaks while the op is outstanding, fails the op with EIDRM: to
 * the caller its object went away.  DIPC's at-most-once rule applies: an op
 * the owner completed just before the connection broke is reported failed.
 */
#include <errno.h>
#include <string.h>

#include "node.h"
#include "opwire.h"

static void peer_flush(dipc_peer *p);
static void pending_fail(dipc_peer *p, int err);
static void node_gone(dipc_node *n, dipc_peer *p);

static dipc_peer *peer_lookup(dipc_node *n, const char *name, const char *addr);
static void peers_update_partial(dipc_node *n, const Dipc__NodeList *nl);

void peers_update(dipc_node *n, const Dipc__NodeList *nl)
{
	GHashTableIter it;
	gpointer v;
	GSList *gone = NULL;

	if (nl->grace) {
		peers_update_partial(n, nl);
		return;
	}

	/* Mark first, then sweep: nodes absent from the list are gone too. */
	g_hash_table_iter_init(&it, n->peers);
	while (g_hash_table_iter_next(&it, NULL, &v))
		((dipc_peer *)v)->node = NULL;

	for (size_t i = 0; i < nl->n_nodes; i++) {
		const Dipc__NodeEntry *e = nl->nodes[i];
		if (!e->name || !*e->name)
			continue;
		dipc_peer *p = g_hash_table_lookup(n->peers, e->name);
		if (!p) {
			p = g_new0(dipc_peer, 1);
			p->name = g_strdup(e->name);
			g_queue_init(&p->waiting);
			g_queue_init(&p->calls);
			g_hash_table_insert(n->peers, p->name, p);
		}
		p->node = n;
		if (g_strcmp0(p->addr, e->addr) != 0) {
			g_free(p->addr);
			p->addr = g_strdup(e->addr);
		}
		if (p->alive && !e->alive)
			gone = g_slist_prepend(gone, p);
		p->alive = e->alive;
	}
	g_hash_table_iter_init(&it, n->peers);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_peer *p = v;
		if (!p->node) {
			p->node = n;
			if (p->alive)
				gone = g_slist_prepend(gone, p);
			p->alive = false;
		}
	}
	for (GSList *l = gone; l; l = l->next)
		node_gone(n, l->data);
	g_slist_free(gone);
}

/* A list of a referee in its grace period: only what it says counts. */
static void peers_update_partial(dipc_node *n, const Dipc__NodeList *nl)
{
	GSList *gone = NULL;

	for (size_t i = 0; i < nl->n_nodes; i++) {
		const Dipc__NodeEntry *e = nl->nodes[i];
		dipc_peer *p;

		if (!e->name || !*e->name)
			continue;
		p = peer_lookup(n, e->name, e->addr);
		if (p->alive && !e->alive)
			gone = g_slist_prepend(gone, p);
		p->alive = e->alive;
	}
	for (GSList *l = gone; l; l = l->next)
		node_gone(n, l->data);
	g_slist_free(gone);
}

static void forward_reply_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	dipc_op *op = ud;
	int r;

	op->call_id = -1;
	node_activity(op->node);
	/* ETIMEDOUT only for a call's own deadline, on a connection that is
	 * still up; a connection that died (the heartbeat ends it with
	 * ETIMEDOUT too) took the object with it: EIDRM. */
	if (err == -ETIMEDOUT && c && dipc_conn_ready(c))
		r = -ETIMEDOUT;
	else if (err < 0)
		r = -EIDRM;
	else
		r = opwire_apply_reply(op, reply);
	op_complete(op, r);
}

static void send_op(dipc_peer *p, dipc_op *op)
{
	g_autoptr(opwire_msg) m = opwire_request(op);
	/* A semop may wait for ever at the owner; the heartbeat ends it if the
	 * owner dies.  Everything else answers at once. */
	bool may_wait = op->type == OP_SEMOP || op->type == OP_MSGSND || op->type == OP_MSGRCV;
	unsigned timeout = may_wait ? 0 : p->node->conf->request_timeout_ms;

	op->peer = p;
	op->call_id = dipc_conn_call(p->conn, opwire_env(m), timeout, forward_reply_cb, op);
	if (op->call_id < 0) {
		int r = (int)op->call_id;
		op->call_id = -1;
		op_complete(op, r == -ETIMEDOUT ? r : -EIDRM);
	}
}

static void peer_ready(dipc_conn *c, void *ud)
{
	peer_flush(ud);
}

static void peer_request(dipc_conn *c, Dipc__Envelope *env, void *ud)
{
	dipc_peer *p = ud;
	node_activity(p->node);
	serve_peer_request(p->node, c, env);
}

static void fail_waiting(dipc_peer *p, int err)
{
	dipc_op *op;
	while ((op = g_queue_pop_head(&p->waiting)))
		op_complete(op, err);
}

static void peer_closed(dipc_conn *c, int err, void *ud)
{
	dipc_peer *p = ud;

	if (p->conn == c)
		p->conn = NULL;
	serve_conn_closed(p->node, c);
	fail_waiting(p, -EIDRM);
	pending_fail(p, -EIDRM);
}

static const dipc_conn_ops peer_conn_ops = {
	.on_ready = peer_ready,
	.on_request = peer_request,
	.on_close = peer_closed,
};

/* A call queued until the peer's connection is ready: the envelope packed. */
typedef struct pending_call {
	uint8_t *frame;
	size_t len;
	unsigned timeout_ms;
	dipc_conn_reply_cb cb;
	void *ud;
	bool notify;
} pending_call;

static void pending_fail(dipc_peer *p, int err)
{
	pending_call *pc;
	while ((pc = g_queue_pop_head(&p->calls))) {
		if (pc->cb)
			pc->cb(NULL, err, NULL, pc->ud);
		g_free(pc->frame);
		g_free(pc);
	}
}

static void pending_send(dipc_peer *p)
{
	pending_call *pc;
	while ((pc = g_queue_pop_head(&p->calls))) {
		/* Packed once, when it was queued: sent as it is, with its id. */
		int64_t r = dipc_conn_call_packed(p->conn, pc->frame, pc->len, pc->timeout_ms,
						  pc->notify ? NULL : pc->cb, pc->ud);
		if (r < 0 && pc->cb)
			pc->cb(NULL, (int)r, NULL, pc->ud);
		g_free(pc->frame);
		g_free(pc);
	}
}

static void peer_flush(dipc_peer *p)
{
	dipc_op *op;

	if (!p->conn || !dipc_conn_ready(p->conn))
		return;
	pending_send(p);
	while ((op = g_queue_pop_head(&p->waiting))) {
		if (op->interrupted)
			op_complete(op, -EINTR);
		else
			send_op(p, op);
	}
}

static dipc_peer *peer_lookup(dipc_node *n, const char *name, const char *addr)
{
	dipc_peer *p = g_hash_table_lookup(n->peers, name);
	if (!p) {
		p = g_new0(dipc_peer, 1);
		p->name = g_strdup(name);
		p->addr = g_strdup(addr);
		p->alive = true;   /* the referee just named it as an owner */
		p->node = n;
		g_queue_init(&p->waiting);
		g_queue_init(&p->calls);
		g_hash_table_insert(n->peers, p->name, p);
	} else if (addr && *addr && g_strcmp0(p->addr, addr) != 0) {
		g_free(p->addr);
		p->addr = g_strdup(addr);
	}
	return p;
}

void peer_forward(dipc_node *n, const char *owner, const char *addr, dipc_op *op)
{
	dipc_peer *p = peer_lookup(n, owner, addr);

	if (!p->alive || !p->addr || !*p->addr) {
		op_complete(op, -EIDRM);
		return;
	}
	if (!p->conn) {
		dipc_conn_params cp = node_conn_params(n, &peer_conn_ops, p);
		p->conn = dipc_conn_connect(&cp, p->addr);
		if (!p->conn) {
			op_complete(op, -EIDRM);
			return;
		}
	}
	if (!dipc_conn_ready(p->conn)) {
		op->peer = p;
		g_queue_push_tail(&p->waiting, op);
		return;
	}
	send_op(p, op);
}

/* A call (or, cb NULL, a notification) to a named peer that is not an op:
 * connects if needed, queues until the connection is ready.  cb runs once:
 * with the reply, or with err < 0. */
int peer_call(dipc_node *n, const char *name, Dipc__Envelope *env, unsigned timeout_ms,
	      dipc_conn_reply_cb cb, void *ud)
{
	dipc_peer *p = g_hash_table_lookup(n->peers, name);

	if (!p || !p->alive || !p->addr || !*p->addr)
		return -EHOSTDOWN;
	if (!p->conn) {
		dipc_conn_params cp = node_conn_params(n, &peer_conn_ops, p);
		p->conn = dipc_conn_connect(&cp, p->addr);
		if (!p->conn)
			return -EHOSTDOWN;
	}
	if (dipc_conn_ready(p->conn) && g_queue_is_empty(&p->calls)) {
		int64_t r = cb ? dipc_conn_call(p->conn, env, timeout_ms, cb, ud)
			       : dipc_conn_notify(p->conn, env);
		return r < 0 ? (int)r : 0;
	}
	pending_call *pc = g_new0(pending_call, 1);
	pc->len = dipc__envelope__get_packed_size(env);
	pc->frame = g_malloc(MAX(pc->len, 1));
	dipc__envelope__pack(env, pc->frame);
	pc->timeout_ms = timeout_ms;
	pc->cb = cb;
	pc->ud = ud;
	pc->notify = cb == NULL;
	g_queue_push_tail(&p->calls, pc);
	return 0;
}

void peer_cancel(dipc_op *op)
{
	dipc_peer *p = op->peer;
	g_autoptr(opwire_msg) m = NULL;

	if (!p)
		return;
	if (op->call_id < 0) {
		/* Not sent yet: it never reaches the owner. */
		if (g_queue_remove(&p->waiting, op))
			op_complete(op, -EINTR);
		return;
	}
	if (op->cancel_sent || !p->conn)
		return;
	m = opwire_cancel((uint64_t)op->call_id);
	op->cancel_sent = true;
	/* The owner answers the op itself: with EINTR if it was still parked,
	 * with its real result if it had completed.  Either way the caller
	 * learns what really happened. */
	dipc_conn_notify(p->conn, opwire_env(m));
}

/* An exit announcement, kept until the owner confirms it or is gone. */
typedef struct exit_note {
	dipc_node *node;
	char *owner;
	int32_t pid;
	bool in_flight;   /* a call is out (its callback will run) */
	uv_timer_t retry;
	GList link;       /* in exit_notes */
} exit_note;

#define EXIT_RETRY_MS 200

static GQueue exit_notes; /* one node per process */

static void exit_send(exit_note *x);

static void exit_note_closed(uv_handle_t *h)
{
	exit_note *x = h->data;

	g_free(x->owner);
	g_free(x);
}

static void exit_note_end(exit_note *x)
{
	g_queue_unlink(&exit_notes, &x->link);
	uv_close((uv_handle_t *)&x->retry, exit_note_closed);
}

static void exit_retry_cb(uv_timer_t *t)
{
	exit_send(t->data);
}

static void exit_sent_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	exit_note *x = ud;
	dipc_peer *p = g_hash_table_lookup(x->node->peers, x->owner);

	x->in_flight = false;
	/* Confirmed; or the owner is gone, and its objects with it. */
	if (err == 0 || x->node->stopping || !p || !p->alive) {
		exit_note_end(x);
		return;
	}
	/* The connection broke first: again, on the next one. */
	uv_timer_start(&x->retry, exit_retry_cb, EXIT_RETRY_MS, 0);
}

static void exit_send(exit_note *x)
{
	g_autoptr(opwire_msg) m = opwire_proc_exit(x->pid);
	int r;

	x->in_flight = true;
	r = peer_call(x->node, x->owner, opwire_env(m), x->node->conf->request_timeout_ms, exit_sent_cb,
		      x);
	if (r < 0)
		exit_sent_cb(NULL, r, NULL, x);
}

/* Announce to owner that process pid of this node exited: a call, repeated
 * until the owner answers (it queues while the connection is being made,
 * and starts again if it breaks), given up only when the owner is gone. */
void peer_notify_exit(dipc_node *n, const char *owner, int32_t pid)
{
	dipc_peer *p = g_hash_table_lookup(n->peers, owner);
	exit_note *x;

	if (!p || !p->alive)
		return;   /* its objects are gone with it */
	x = g_new0(exit_note, 1);
	x->node = n;
	x->owner = g_strdup(owner);
	x->pid = pid;
	x->link.data = x;
	uv_timer_init(n->loop, &x->retry);
	x->retry.data = x;
	g_queue_push_tail_link(&exit_notes, &x->link);
	exit_send(x);
}

/* The node stops (after its connections closed): announcements still
 * waiting to be repeated end here. */
void peers_stop(dipc_node *n)
{
	GList *l = exit_notes.head;

	while (l) {
		GList *next = l->next;
		exit_note *x = l->data;

		if (!x->in_flight)
			exit_note_end(x);
		l = next;
	}
}

static void node_gone(dipc_node *n, dipc_peer *p)
{
	if (g_strcmp0(p->name, n->name) == 0)
		return;
	g_message("node %s left the cluster", p->name);
	objects_node_down(n, p->name);
	route_forget_node(n, p->name);
	shmglue_node_down(n, p->name);
	if (p->conn)
		dipc_conn_close(p->conn, -EHOSTDOWN);   /* fails its calls: EIDRM */
	fail_waiting(p, -EIDRM);
	pending_fail(p, -EIDRM);
}

static void peer_free(gpointer ptr)
{
	dipc_peer *p = ptr;
	g_free(p->name);
	g_free(p->addr);
	g_free(p);
}

void peers_init(dipc_node *n)
{
	n->peers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, peer_free);
}

/* The outbound connections, for cluster_stop to close. */
GSList *peers_conns(dipc_node *n)
{
	GHashTableIter it;
	gpointer v;
	GSList *conns = NULL;

	g_hash_table_iter_init(&it, n->peers);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (((dipc_peer *)v)->conn)
			conns = g_slist_prepend(conns, ((dipc_peer *)v)->conn);
	return conns;
}
