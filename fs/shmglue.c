/* SPDX-License-Identifier: MIT */
/**
 * @file shmglue.c
 *
 * Distributed shared memory: the front door.  The rest of fs/ reaches the
 * shm rooms (listed in shm.h) through the shmglue_* calls of node.h; this
 * file holds the ones that belong to no single room: starting and stopping
 * the node-wide state, dispatching the peers' shm messages to the room that
 * serves them, a closed connection, the interrupts drained after each FUSE
 * request, and shmctl at the owner.  docs/design.md ("Shared memory") is
 * the long version of the protocol; the short one:
 *
 *   - Each node keeps its copy of a segment in a sparse memfd, and per page
 *     a state: Invalid, Read or Write (shm_copy.c).  Accesses it cannot
 *     answer wait, and the node asks the owner (shm_acquire.c).
 *   - The owner is the manager: the page directory (common/shmseg.c), one
 *     request at a time per segment (shm_manager.c, wired in shm_owner.c).
 *     Holders are asked to give pages up, their written pages come back
 *     (shm_fetch.c), the requester is granted the pages it lacks and
 *     answers ShmDone when it has installed them -- so a take-back can
 *     never overtake the grant it follows.
 *   - Giving pages up on a node goes through the helper threads of the
 *     attached processes (shm_takeback.c) and the invalidation thread
 *     (shm_inval.c).
 *
 * Everything runs on the loop thread except the invalidation thread.
 */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "shm.h"

bool shm_trace;

void shmglue_serve(dipc_node *n, dipc_conn *c, Dipc__Envelope *env)
{
	switch (env->body_case) {
	case DIPC__ENVELOPE__BODY_SHM_ACQUIRE:
		shm_owner_serve_acquire(n, c, env);
		return;
	case DIPC__ENVELOPE__BODY_SHM_DONE:
		shm_owner_serve_done(n, c, env);
		return;
	case DIPC__ENVELOPE__BODY_SHM_REVOKE:
		shm_takeback_serve(n, c, env);
		return;
	case DIPC__ENVELOPE__BODY_SHM_FETCH:
		shm_fetch_serve(n, c, env);
		return;
	default:
		dipc_conn_reply_err(c, env->req_id, -EPROTO);
	}
}

/* A connection closed: requests it carried cannot be answered any more. */
void shmglue_conn_closed(dipc_node *n, dipc_conn *c)
{
	GHashTableIter it;
	gpointer v;

	if (!shm_st(n))
		return;
	g_hash_table_iter_init(&it, shm_st(n)->locals);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		shm_local *s = v;
		shm_takeback_conn_closed(s, c);
		if (s->m)
			shm_mgr_conn_closed(s->m, c);
	}
}

/* Interrupt hooks queue their object; this runs after each FUSE request. */
void shmglue_drain_interrupts(dipc_node *n)
{
	if (!shm_st(n))
		return;
	shm_procs_drain_interrupts(n);
	shm_waits_drain_interrupts(n);
}

/* OP_SHMCTL at the owner. */
void exec_shm(dipc_op *op, dipc_obj *o)
{
	dipc_node *n = op->node;
	dipc_shmseg *seg = o->shm;
	int r;

	switch (op->shm.cmd) {
	case DIPC_SHM_CMD_ATTACH:
		r = dipc_shmseg_attach(seg, &op->who, op->shm.flags, op->shm.fork, &op->shm.ds);
		break;
	case DIPC_SHM_CMD_DETACH:
		dipc_shmseg_detach(seg, op->who.node, op->who.pid, (unsigned)MAX(op->shm.count, 0));
		r = 0;
		break;
	default: {
		struct dipc_shmid_ds in = { 0 };
		in.perm.uid = op->shm.set_uid;
		in.perm.gid = op->shm.set_gid;
		in.perm.mode = op->shm.set_mode;
		r = dipc_shmseg_ctl(seg, &op->who, op->shm.cmd, &in, &op->shm.ds);
		if (r == 0 && op->shm.cmd == IPC_RMID && !dipc_shmseg_gone(seg)) {
			/* the key is free again: other nodes may create it */
			g_hash_table_remove(n->owned_keys, &o->slot);
			o->key = IPC_PRIVATE;
			obj_rekey(n, o);
		}
		if (r == 0 && (op->shm.cmd == SHM_STAT || op->shm.cmd == 15 /* SHM_STAT_ANY */))
			r = o->id;
		break;
	}
	}
	if (r >= 0 && dipc_shmseg_gone(seg)) {
		op->shm.destroyed = true;
		shmglue_destroy(n, o->id);
		obj_destroy(n, o);
	}
	op_complete(op, r);
}

/* ---- start, stop ---- */

/* /proc/sys/kernel/NAME, or fallback. */
static uint64_t kernel_limit(const char *name, uint64_t fallback)
{
	g_autofree char *path = g_strdup_printf("/proc/sys/kernel/%s", name);
	g_autofree char *text = NULL;
	uint64_t v;

	if (!g_file_get_contents(path, &text, NULL, NULL) ||
	    !g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, G_MAXUINT64, &v, NULL))
		return fallback;
	return v;
}

/* dipc.conf's shmmax and shmall default to the kernel's defaults; left
 * there, they are this node's kernel's values (an administrator may have
 * lowered them), so that shmget and IPC_INFO say what the kernel would.
 * See shm_owner.c (fits_node_memory) for what bounds a segment beyond. */
static void limits_from_kernel(dipc_node *n)
{
	if (n->conf->shmmax == DIPC_SHMMAX_DEFAULT)
		n->conf->shmmax = kernel_limit("shmmax", DIPC_SHMMAX_DEFAULT);
	if (n->conf->shmall == DIPC_SHMALL_DEFAULT)
		n->conf->shmall = kernel_limit("shmall", DIPC_SHMALL_DEFAULT);
}

void shmglue_init(dipc_node *n)
{
	limits_from_kernel(n);
	shm_state *st = g_new0(shm_state, 1);
	n->shm = st;
	shm_trace = g_getenv("DIPC_DEBUG") != NULL;
	st->locals = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_queue_init(&st->intr_waits);
	shm_takeback_init(n);
}

/* After fuse_daemonize(): a thread started before it would stay in the
 * parent, and every take-back of the daemon would wait for it (node.c). */
void shmglue_start(dipc_node *n)
{
	shm_inval_start(n);
}

void shmglue_fini(dipc_node *n)
{
	shm_state *st = shm_st(n);
	if (!st)
		return;
	shm_inval_stop(n);
	uv_close((uv_handle_t *)&st->reaper, NULL);
}
