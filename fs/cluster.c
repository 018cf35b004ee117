/* SPDX-License-Identifier: MIT */
/**
 * @file cluster.c
 *
 * This node's place in the cluster: its connection to the referee, its
 * connections to the other nodes, and the routing of an op to the owner of
 * its object.
 *
 * Connections.  The node keeps one connection to the referee (re-dialled
 * every 500 ms while down) and listens for peers.  For calls to a peer it
 * dials its own outbound connection and sends requests only on it; requests
 * that arrive on connections peers dialled are answered on those.  So between
 * two nodes there may be two connections, one per direction of calls, and a
 * reply always travels on the connection of its request.
 *
 * Membership.  The referee pushes the node list (name, listen address,
 * alive) on every change.  A node that leaves the list or is marked dead is
 * gone (fail-stop): calls to it fail, our cached ids on it are dropped, and
 * every set we own applies the SEM_UNDO adjustments of its processes.
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

#define REFEREE_RETRY_MS 500

static void peer_flush(dipc_peer *p);
static void node_gone(dipc_node *n, dipc_peer *p);
static void pending_fail(dipc_peer *p, int err);

static dipc_conn_params params(dipc_node *n, const dipc_conn_ops *ops, void *ud)
{
	dipc_conn_params p = {
		.loop = n->loop,
		.conf = n->conf,
		.role = "node",
		.name = n->name,
		.listen = n->conf->node_listen,
		.ops = ops,
		.ud = ud,
	};
	return p;
}

/* ---- the referee -------------------------------------------------------- */

static void referee_connect(dipc_node *n);

static void reregister_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	/* EINVAL: it already knows the object (it did not restart). */
	if (err == 0 && reply->err)
		g_debug("referee: object %d not re-registered: %s", GPOINTER_TO_INT(ud),
			g_strerror(reply->err));
}

/* A referee that restarted knows nothing: tell it what this node owns.
 * (To a referee that did not restart this is a no-op.) */
static void reregister_owned(dipc_node *n)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		Dipc__Envelope env = DIPC__ENVELOPE__INIT;
		Dipc__Commit cm = DIPC__COMMIT__INIT;
		cm.kind = o->kind;
		cm.key = o->key;
		cm.id = o->id;
		env.body_case = DIPC__ENVELOPE__BODY_COMMIT;
		env.commit = &cm;
		dipc_conn_call(n->referee, &env, n->conf->request_timeout_ms, reregister_cb,
			       GINT_TO_POINTER(o->id));
	}
}

/*
 * The referee drops a node's objects as soon as it loses the node's
 * connection (fail-stop).  So when this node reconnects to the same referee
 * instance, it was declared dead and its objects are gone for everyone else:
 * they must go here too (their waiters get EIDRM, their ids EINVAL), or a
 * healed partition would bring back ids the cluster was told are removed.
 * A new instance (the referee restarted) lost its registry instead: give it
 * our objects back.
 */
static void referee_instance_seen(dipc_node *n, uint64_t instance)
{
	if (!n->referee_fresh || !instance)
		return;
	n->referee_fresh = false;
	if (n->referee_instance == instance && g_hash_table_size(n->owned)) {
		g_message("the referee declared this node dead: its %u objects are gone",
			  g_hash_table_size(n->owned));
		objects_drop_all(n);
	} else if (n->referee_instance && n->referee_instance != instance) {
		reregister_owned(n);
	}
	n->referee_instance = instance;
}

static void referee_ready(dipc_conn *c, void *ud)
{
	dipc_node *n = ud;
	n->referee_up = true;
	n->referee_fresh = true;
	g_message("connected to referee %s", n->conf->referee);
}

static void update_nodes(dipc_node *n, const Dipc__NodeList *nl)
{
	GHashTableIter it;
	gpointer v;
	GSList *gone = NULL;

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

static void referee_request(dipc_conn *c, Dipc__Envelope *env, void *ud)
{
	dipc_node *n = ud;

	if (env->body_case == DIPC__ENVELOPE__BODY_NODE_LIST) {
		referee_instance_seen(n, env->node_list->instance);
		update_nodes(n, env->node_list);
	}
	else if (env->req_id)
		dipc_conn_reply_err(c, env->req_id, EPROTO);
}

static void referee_retry_cb(uv_timer_t *t)
{
	referee_connect(t->data);
}

static void referee_closed(dipc_conn *c, int err, void *ud)
{
	dipc_node *n = ud;

	if (n->referee_up)
		g_message("lost the referee %s: %s", n->conf->referee, g_strerror(-err));
	n->referee = NULL;
	n->referee_up = false;
	if (!n->stopping)
		uv_timer_start(&n->referee_retry, referee_retry_cb, REFEREE_RETRY_MS, 0);
}

static const dipc_conn_ops referee_conn_ops = {
	.on_ready = referee_ready,
	.on_request = referee_request,
	.on_close = referee_closed,
};

static void referee_connect(dipc_node *n)
{
	dipc_conn_params p = params(n, &referee_conn_ops, n);
	n->referee = dipc_conn_connect(&p, n->conf->referee);
	if (!n->referee)
		uv_timer_start(&n->referee_retry, referee_retry_cb, REFEREE_RETRY_MS, 0);
}

int referee_call(dipc_node *n, Dipc__Envelope *env, dipc_conn_reply_cb cb, void *ud)
{
	if (!n->referee || !n->referee_up)
		return -EHOSTUNREACH;
	int64_t id = dipc_conn_call(n->referee, env, n->conf->request_timeout_ms, cb, ud);
	return id < 0 ? (int)id : 0;
}

/* ---- peers: outbound connections ---------------------------------------- */

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
	parked_conn_closed(p->node, c);
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
		Dipc__Envelope *env = dipc__envelope__unpack(NULL, pc->len, pc->frame);
		int64_t r = -EPROTO;
		if (env) {
			if (pc->notify)
				r = dipc_conn_notify(p->conn, env);
			else
				r = dipc_conn_call(p->conn, env, pc->timeout_ms, pc->cb, pc->ud);
			dipc__envelope__free_unpacked(env, NULL);
		}
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
		dipc_conn_params cp = params(n, &peer_conn_ops, p);
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
		dipc_conn_params cp = params(n, &peer_conn_ops, p);
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
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__Cancel cancel = DIPC__CANCEL__INIT;

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
	cancel.target = (uint64_t)op->call_id;
	env.body_case = DIPC__ENVELOPE__BODY_CANCEL;
	env.cancel = &cancel;
	op->cancel_sent = true;
	/* The owner answers the op itself: with EINTR if it was still parked,
	 * with its real result if it had completed.  Either way the caller
	 * learns what really happened. */
	dipc_conn_notify(p->conn, &env);
}

void peer_notify_exit(dipc_node *n, const char *owner, int32_t pid)
{
	dipc_peer *p = g_hash_table_lookup(n->peers, owner);
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__ProcExit pe = DIPC__PROC_EXIT__INIT;

	if (!p || !p->alive)
		return;   /* its objects are gone with it */
	if (!p->conn || !dipc_conn_ready(p->conn)) {
		g_message("cannot announce the exit of pid %d to %s: not connected", pid, owner);
		return;
	}
	pe.pid = pid;
	env.body_case = DIPC__ENVELOPE__BODY_PROC_EXIT;
	env.proc_exit = &pe;
	dipc_conn_notify(p->conn, &env);
}

static void node_gone(dipc_node *n, dipc_peer *p)
{
	GHashTableIter it;
	gpointer v;

	if (g_strcmp0(p->name, n->name) == 0)
		return;
	g_message("node %s left the cluster", p->name);
	objects_node_down(n, p->name);
	g_hash_table_iter_init(&it, n->id_owner);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (g_strcmp0(v, p->name) == 0)
			g_hash_table_iter_remove(&it);
	shmglue_node_down(n, p->name);
	if (p->conn)
		dipc_conn_close(p->conn, -EHOSTDOWN);   /* fails its calls: EIDRM */
	fail_waiting(p, -EIDRM);
	pending_fail(p, -EIDRM);
}

/* ---- inbound connections ------------------------------------------------ */

static void inbound_ready(dipc_conn *c, void *ud)
{
	dipc_node *n = ud;
	g_hash_table_add(n->inbound, c);
}

static void inbound_request(dipc_conn *c, Dipc__Envelope *env, void *ud)
{
	node_activity(ud);
	serve_peer_request(ud, c, env);
}

static void inbound_closed(dipc_conn *c, int err, void *ud)
{
	dipc_node *n = ud;
	g_hash_table_remove(n->inbound, c);
	parked_conn_closed(n, c);
}

static const dipc_conn_ops inbound_conn_ops = {
	.on_ready = inbound_ready,
	.on_request = inbound_request,
	.on_close = inbound_closed,
};

static void on_peer_connection(uv_stream_t *server, int status)
{
	dipc_node *n = server->data;
	if (status < 0) {
		g_message("accept failed: %s", uv_strerror(status));
		return;
	}
	dipc_conn_params p = params(n, &inbound_conn_ops, n);
	dipc_conn_accept(&p, server);
}

/* ---- routing ------------------------------------------------------------ */

static void resolve_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	dipc_op *op = ud;
	dipc_node *n = op->node;

	if (err == 0 && reply->err)
		err = -reply->err;
	if (err == 0 && reply->body_case != DIPC__ENVELOPE__BODY_RESOLVE_REPLY)
		err = -EPROTO;
	if (err < 0) {
		/* The referee knows every live id: unknown means stale. */
		op_complete(op, err == -EINVAL ? -EINVAL : -EHOSTUNREACH);
		return;
	}
	const Dipc__ResolveReply *rr = reply->resolve_reply;
	if (g_strcmp0(rr->owner, n->name) == 0) {
		exec_local(op);   /* not ours any more: EINVAL there */
		return;
	}
	g_hash_table_replace(n->id_owner, GINT_TO_POINTER(op->id), g_strdup(rr->owner));
	if (op->interrupted) {
		op_complete(op, -EINTR);
		return;
	}
	peer_forward(n, rr->owner, rr->owner_addr, op);
}

void route_op(dipc_op *op)
{
	dipc_node *n = op->node;
	const char *owner;

	procwatch_flush(n);
	shmglue_flush_exits(n);
	if (op->interrupted) {
		op_complete(op, -EINTR);
		return;
	}
	if (obj_find(n, op->id)) {
		exec_local(op);
		return;
	}
	owner = g_hash_table_lookup(n->id_owner, GINT_TO_POINTER(op->id));
	if (owner) {
		dipc_peer *p = g_hash_table_lookup(n->peers, owner);
		if (p && p->alive) {
			peer_forward(n, owner, p->addr, op);
			return;
		}
		g_hash_table_remove(n->id_owner, GINT_TO_POINTER(op->id));
	}

	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__Resolve rs = DIPC__RESOLVE__INIT;
	rs.id = op->id;
	env.body_case = DIPC__ENVELOPE__BODY_RESOLVE;
	env.resolve = &rs;
	if (referee_call(n, &env, resolve_cb, op) < 0)
		op_complete(op, -EHOSTUNREACH);
}

/* Which node owns id, if known without asking (for SEM_UNDO bookkeeping). */
const char *cluster_owner_of(dipc_node *n, int32_t id)
{
	if (obj_find(n, id))
		return n->name;
	return g_hash_table_lookup(n->id_owner, GINT_TO_POINTER(id));
}

/* ---- start/stop, status ------------------------------------------------- */

static void peer_free(gpointer ptr)
{
	dipc_peer *p = ptr;
	g_free(p->name);
	g_free(p->addr);
	g_free(p);
}

int cluster_start(dipc_node *n)
{
	struct sockaddr_storage ss;
	g_autoptr(GError) error = NULL;
	int r;

	n->peers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, peer_free);
	n->id_owner = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	n->inbound = g_hash_table_new(g_direct_hash, g_direct_equal);
	n->parked_remote = parked_table_new();
	uv_timer_init(n->loop, &n->referee_retry);
	n->referee_retry.data = n;

	if (dipc_parse_hostport(n->conf->node_listen, &ss, &error) < 0) {
		g_printerr("mount.dipcfs: %s\n", error->message);
		return -EINVAL;
	}
	uv_tcp_init(n->loop, &n->listener);
	n->listener.data = n;
	r = uv_tcp_bind(&n->listener, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&n->listener, 128, on_peer_connection);
	if (r < 0) {
		g_printerr("mount.dipcfs: cannot listen on %s: %s\n", n->conf->node_listen,
			   uv_strerror(r));
		return r;
	}
	referee_connect(n);
	return 0;
}

void cluster_stop(dipc_node *n)
{
	GHashTableIter it;
	gpointer k, v;
	GSList *conns = NULL;

	uv_timer_stop(&n->referee_retry);
	uv_close((uv_handle_t *)&n->referee_retry, NULL);
	uv_close((uv_handle_t *)&n->listener, NULL);
	if (n->referee)
		dipc_conn_close(n->referee, 0);
	g_hash_table_iter_init(&it, n->peers);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (((dipc_peer *)v)->conn)
			conns = g_slist_prepend(conns, ((dipc_peer *)v)->conn);
	g_hash_table_iter_init(&it, n->inbound);
	while (g_hash_table_iter_next(&it, &k, NULL))
		conns = g_slist_prepend(conns, k);
	for (GSList *l = conns; l; l = l->next)
		dipc_conn_close(l->data, 0);
	g_slist_free(conns);
}

char *cluster_describe(dipc_node *n)
{
	GString *s = g_string_new(NULL);
	GHashTableIter it;
	gpointer v;
	GList *names = NULL;

	g_string_append_printf(s, "node %s\n", n->name);
	g_string_append_printf(s, "listen %s\n", n->conf->node_listen);
	g_string_append_printf(s, "referee %s %s\n", n->conf->referee,
			       n->referee_up ? "connected" : "disconnected");
	g_hash_table_iter_init(&it, n->peers);
	while (g_hash_table_iter_next(&it, NULL, &v))
		names = g_list_prepend(names, ((dipc_peer *)v)->name);
	names = g_list_sort(names, (GCompareFunc)g_strcmp0);
	for (GList *l = names; l; l = l->next) {
		dipc_peer *p = g_hash_table_lookup(n->peers, l->data);
		g_string_append_printf(s, "peer %s %s %s\n", p->name, p->addr ? p->addr : "-",
				       p->alive ? "alive" : "dead");
	}
	g_list_free(names);
	g_string_append_printf(s, "owned %u\n", g_hash_table_size(n->owned));
	g_string_append_printf(s, "parked %u\n", n->nparked);
	return g_string_free(s, FALSE);
}
