/* SPDX-License-Identifier: MIT */
/**
 * @file serve.c
 *
 * The peer origin: requests other nodes send to this one, because it owns
 * the object their caller names.  A request envelope becomes a dipc_op (the
 * codec, opwire.c), runs at the owner (exec.c), and its completion answers
 * the peer on the connection the request came on (peer_done).  Requests
 * that are not ops (a process exit, a Cancel of a parked op, the shared-
 * memory protocol) go to the room that owns them.
 *
 * A peer speaks only for callers on itself: the caller's node in an op is
 * the connection's authenticated name, whatever the envelope says.
 */
#include <errno.h>
#include <string.h>

#include "node.h"
#include "opwire.h"

/* ---- the peer origin: parked ops by (connection, request id) ----------- */

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

/* A parked op can be ended by its peer (Cancel) or by its connection's end. */
static void peer_parked(dipc_op *op, bool parked)
{
	GHashTable *t = op->node->parked_remote;

	if (!op->from.peer.conn)
		return;
	if (parked)
		g_hash_table_insert(t, &op->from.peer, op);
	else
		g_hash_table_remove(t, &op->from.peer);
}

static const dipc_origin peer_origin = {
	.name = "peer",
	.parked = peer_parked,
};

static void parked_cancel_remote(dipc_node *n, dipc_conn *c, uint64_t req_id)
{
	dipc_remote_key k = { c, req_id };
	dipc_op *op = g_hash_table_lookup(n->parked_remote, &k);
	if (op)
		op_interrupt(op);
}

/* Cancel every op parked on behalf of conn (it closed): nobody to answer. */
static void parked_conn_closed(dipc_node *n, dipc_conn *c)
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
		g_hash_table_remove(n->parked_remote, &op->from.peer);
		op->from.peer.conn = NULL;
		op_unpark(op, -ECONNRESET);
	}
	g_slist_free(ops);
}

/* ---- requests ------------------------------------------------------------ */

static void peer_done(dipc_op *op)
{
	int r = -ECONNRESET;
	if (op->from.peer.conn) {
		g_autoptr(opwire_msg) m = opwire_reply(op);
		r = dipc_conn_reply(op->from.peer.conn, op->from.peer.req, opwire_env(m));
	}
	/* A received message that cannot even be sent to the receiver's node
	 * goes back to its queue. */
	if (r < 0 && op->type == OP_MSGRCV && op->result >= 0 && op->msg.m)
		msg_give_back(op->node, op->id, g_steal_pointer(&op->msg.m));
	op_free(op);
}

void serve_peer_request(dipc_node *n, dipc_conn *c, Dipc__Envelope *env)
{
	const char *peer = dipc_conn_peer_name(c);
	int r;

	switch (env->body_case) {
	case DIPC__ENVELOPE__BODY_PROC_EXIT:
		/* Confirmed, so that the caller's node stops repeating it (a
		 * repeat finds nothing left to undo). */
		objects_proc_exit(n, peer, env->proc_exit->pid);
		if (env->req_id)
			dipc_conn_reply_err(c, env->req_id, 0);
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
	g_strlcpy(op->who.node, peer, sizeof(op->who.node));
	op->origin = &peer_origin;
	op->from.peer.conn = c;
	op->from.peer.req = env->req_id;
	op->done = peer_done;
	if (r < 0) {
		op_complete(op, r);
		return;
	}
	exec_local(op);
}

void serve_conn_closed(dipc_node *n, dipc_conn *c)
{
	shmglue_conn_closed(n, c);
	parked_conn_closed(n, c);
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
	serve_conn_closed(n, c);
}

static const dipc_conn_ops inbound_conn_ops = {
	.on_ready = inbound_ready,
	.on_request = inbound_request,
	.on_close = inbound_closed,
};

void serve_on_connection(uv_stream_t *server, int status)
{
	dipc_node *n = server->data;
	if (status < 0) {
		g_message("accept failed: %s", uv_strerror(status));
		return;
	}
	dipc_conn_params p = node_conn_params(n, &inbound_conn_ops, n);
	dipc_conn_accept(&p, server);
}

