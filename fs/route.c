/* SPDX-License-Identifier: MIT */
/**
 * @file route.c
 *
 * Routing: an op goes to the owner of its object.  Owned here: executed in
 * place (exec.c), one FUSE round trip and no network.  Otherwise it is
 * forwarded to the owner (peers.c), found in a cache of id -> owner node,
 * or asked of the referee (Resolve) when the cache does not know it.  The
 * referee knows every live id, so an id it does not know is stale: EINVAL.
 *
 * Before any op, exits the loop has not polled yet are announced, so that
 * an op that follows a waitpid() sees the exited process's SEM_UNDO applied
 * and its attaches ended.  A SEM_UNDO semop first makes sure its process is
 * watched (procwatch.c): one that cannot be fails with ENOSPC before it
 * takes effect.
 */
#include <errno.h>
#include <string.h>
#include <sys/sem.h>

#include "node.h"
#include "opwire.h"

static void resolve_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	dipc_op *op = ud;
	dipc_node *n = op->node;

	if (err == 0 && reply->err)
		err = reply->err;
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

static bool semop_has_undo(const dipc_op *op)
{
	if (op->type != OP_SEMOP || !op->sem.sops)
		return false;
	for (unsigned i = 0; i < op->sem.nsops; i++)
		if (op->sem.sops[i].sem_flg & SEM_UNDO)
			return true;
	return false;
}

void route_op(dipc_op *op)
{
	dipc_node *n = op->node;
	const char *owner;
	int r;

	procwatch_flush(n);
	if (op->interrupted) {
		op_complete(op, -EINTR);
		return;
	}
	if (semop_has_undo(op) && (r = procwatch_reserve(n, op->who.pid)) < 0) {
		op_complete(op, r);
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

	g_autoptr(opwire_msg) m = opwire_resolve(op->id);

	if (referee_call(n, opwire_env(m), resolve_cb, op) < 0)
		op_complete(op, -EHOSTUNREACH);
}

/* The node left the cluster: its ids are not cached any more. */
void route_forget_node(dipc_node *n, const char *name)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->id_owner);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (g_strcmp0(v, name) == 0)
			g_hash_table_iter_remove(&it);
}

/* Which node owns id, if known without asking (for SEM_UNDO bookkeeping). */
const char *cluster_owner_of(dipc_node *n, int32_t id)
{
	if (obj_find(n, id))
		return n->name;
	return g_hash_table_lookup(n->id_owner, GINT_TO_POINTER(id));
}

