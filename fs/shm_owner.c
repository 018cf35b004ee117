/* SPDX-License-Identifier: MIT */
/**
 * @file shm_owner.c
 *
 * The owner's side of a segment: its manager (shm_manager.c) wired to the
 * node.  The manager's transport lives here -- a take-back of another node
 * is a ShmRevoke peer call whose written pages come back inline or are
 * fetched, this node's own is a local flush; a grant is the reply to the
 * requester's ShmAcquire, or this node's pages installed directly -- and so
 * do the owner's peer requests (ShmAcquire, ShmDone), the segment's
 * creation and destruction, and what a node leaving the cluster costs.
 *
 * Loop thread only.
 */
#include <errno.h>
#include <sys/sysinfo.h>

#include "shm.h"

/* ---- the transport ---- */

/* A take-back of a remote node in flight. */
typedef struct mrev {
	shm_mgr *m;
	int node;
} mrev;

static shm_local *mgr_local(shm_mgr *m)
{
	return shm_mgr_ud(m);
}

/* For log lines: a node that left has no name any more. */
static const char *mrev_name(const mrev *x)
{
	const char *name = shm_mgr_name(x->m, x->node);
	return name ? name : "?";
}

static void mrev_end(mrev *x)
{
	shm_mgr *m = x->m;
	int node = x->node;
	g_free(x);
	shm_mgr_revoke_end(m, node);
}

/* Once the manager is destroyed its shm_local may be gone: not touched. */
static bool mrev_put(void *ud, uint64_t first, const uint8_t *data, size_t len)
{
	mrev *x = ud;
	return !shm_mgr_destroyed(x->m) &&
	       shm_mem_write(mgr_local(x->m), first * PAGE, data, len) == 0;
}

static void mrev_fetched(void *ud, int err)
{
	mrev *x = ud;
	if (err < 0 && !shm_mgr_destroyed(x->m))
		g_message("shm %d: written pages of %s are lost: %s", mgr_local(x->m)->id,
			  mrev_name(x), g_strerror(-err));
	mrev_end(x);
}

static void mgr_revoke_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	mrev *x = ud;
	bool destroyed = shm_mgr_destroyed(x->m);

	if (destroyed || err < 0 || reply->err ||
	    reply->body_case != DIPC__ENVELOPE__BODY_SHM_REVOKE_REPLY) {
		if (!destroyed)
			g_message("shm %d: %s did not give pages back (%s): its writes are lost",
				  mgr_local(x->m)->id, mrev_name(x),
				  err < 0 ? g_strerror(-err) : "refused");
		mrev_end(x);
		return;
	}
	shm_local *s = mgr_local(x->m);
	GArray *fetch = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	if (shm_pages_install(s, reply->shm_revoke_reply->dirty, fetch) < 0) {
		g_message("shm %d: written pages of %s are lost: not stored", s->id, mrev_name(x));
		g_array_free(fetch, TRUE);
		mrev_end(x);
		return;
	}
	shm_fetch_start(s->n, shm_mgr_name(x->m, x->node), s->id, fetch, mrev_put, mrev_fetched,
			x);
}

static int owner_revoke(shm_mgr *m, int node, const GArray *runs, bool to_read)
{
	shm_local *s = mgr_local(m);

	if (node == 0) {
		shm_revoke_start(s, runs, to_read, NULL, 0, true);
		return 0;
	}
	mrev *x = g_new0(mrev, 1);
	x->m = m;
	x->node = node;
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__ShmRevoke q = DIPC__SHM_REVOKE__INIT;
	Dipc__ShmPages pg = DIPC__SHM_PAGES__INIT;
	g_autofree uint64_t *a = NULL, *b = NULL;
	g_autofree uint8_t *data = NULL;
	shm_pages_fill(s, runs, &pg, &a, &b, &data, false);
	q.id = s->id;
	q.pages = &pg;
	q.to_read = to_read;
	env.body_case = DIPC__ENVELOPE__BODY_SHM_REVOKE;
	env.shm_revoke = &q;
	int e = peer_call(s->n, shm_mgr_name(m, node), &env, 0, mgr_revoke_cb, x);
	if (e < 0)
		g_free(x);
	return e;
}

static int owner_grant(shm_mgr *m, const shm_mreq *r, const GArray *data, const GArray *zero)
{
	shm_local *s = mgr_local(m);

	if (r->node == 0) {
		shm_acquired(s, r->first, r->count, r->write);
		return 0;
	}
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__ShmGrant g = DIPC__SHM_GRANT__INIT;
	Dipc__ShmPages pd = DIPC__SHM_PAGES__INIT, pz = DIPC__SHM_PAGES__INIT;
	g_autofree uint64_t *a = NULL, *b = NULL, *za = NULL, *zb = NULL;
	g_autofree uint8_t *bytes = NULL, *zbytes = NULL;
	int e = shm_pages_fill(s, data, &pd, &a, &b, &bytes, true);
	if (e < 0) {
		/* the requester's waits fail (EIO, SIGBUS): never stale bytes */
		dipc_conn_reply_err(r->conn, r->req_id, -EIO);
		return e;
	}
	shm_pages_fill(s, zero, &pz, &za, &zb, &zbytes, false);   /* runs only */
	g.data = &pd;
	g.zero = &pz;
	env.body_case = DIPC__ENVELOPE__BODY_SHM_GRANT;
	env.shm_grant = &g;
	return dipc_conn_reply(r->conn, r->req_id, &env);
}

static void owner_refuse(shm_mgr *m, const shm_mreq *r, int err)
{
	(void)m;
	dipc_conn_reply_err(r->conn, r->req_id, err);
}

static const shm_mgr_ops owner_ops = {
	.revoke = owner_revoke,
	.grant = owner_grant,
	.refuse = owner_refuse,
};

/* ---- peer requests at the owner ---- */

/* ShmAcquire: a node asks for pages. */
void shm_owner_serve_acquire(dipc_node *n, dipc_conn *c, Dipc__Envelope *env)
{
	const Dipc__ShmAcquire *q = env->shm_acquire;
	shm_local *s = shm_local_find(n, q->id);

	if (!s || !s->m || shm_mgr_destroyed(s->m)) {
		dipc_conn_reply_err(c, env->req_id, -EIDRM);
		return;
	}
	int idx = shm_mgr_node_index(s->m, dipc_conn_peer_name(c));
	if (idx < 0 || q->first >= s->npages || q->count == 0) {
		dipc_conn_reply_err(c, env->req_id, idx < 0 ? -ENOSPC : -EINVAL);
		return;
	}
	shm_mgr_request(s->m, idx, q->first, MIN(q->count, s->npages - q->first), q->write, c,
			env->req_id);
}

/* ShmDone: the node granted last has installed its pages. */
void shm_owner_serve_done(dipc_node *n, dipc_conn *c, Dipc__Envelope *env)
{
	shm_local *s = shm_local_find(n, env->shm_done->id);
	if (s && s->m)
		shm_mgr_done(s->m, c);
}

/* ---- the segment's life at its owner (dipc_obj->shm) ---- */

/*
 * What bounds a segment's size.  shmmax and shmall stay the kernel's
 * (dipc.conf's defaults are the kernel's, and shmglue_init() takes this
 * node's /proc/sys/kernel/shm{max,all} when dipc.conf leaves them at that
 * default): over shmmax is EINVAL, over shmall ENOSPC (objects.c).  Those
 * defaults are about 2^64, so what stops a huge segment in the kernel is
 * the memory accounting of newseg() (security_vm_enough_memory, heuristic
 * overcommit): more pages than RAM + swap is ENOMEM.  The owner does the
 * same with its own RAM + swap, before anything is sized by the request
 * -- the page directory costs 18 bytes a page, the local copy one -- and
 * any allocation that still fails is ENOMEM too, never an abort.
 */
static bool fits_node_memory(uint64_t size)
{
	struct sysinfo si;
	uint64_t ram, swap, total;

	if (sysinfo(&si) < 0)
		return true;   /* unknown: the try-allocations still decide */
	if (!g_uint64_checked_mul(&ram, si.totalram, si.mem_unit) ||
	    !g_uint64_checked_mul(&swap, si.totalswap, si.mem_unit) ||
	    !g_uint64_checked_add(&total, ram, swap))
		return true;
	return size <= total;
}

dipc_shmseg *shmglue_create(dipc_node *n, int32_t key, int32_t id, uint64_t size, int mode,
			    const dipc_ident *who)
{
	if (!fits_node_memory(size))
		return NULL;
	shm_local *s = shm_local_get(n, id, size, n->name);
	if (!s)
		return NULL;
	dipc_shmseg *seg = dipc_shmseg_new(key, id, size, mode, who);
	if (!seg) {
		s->gone = true;
		shm_local_free_if_idle(s);
		return NULL;
	}
	shm_mgr_params p = {
		.loop = n->loop,
		.id = id,
		.self = n->name,
		.quantum_ms = n->conf->shm_quantum_ms,
		.done_timeout_ms = n->conf->request_timeout_ms,
		.trace = shm_trace,
		.ops = &owner_ops,
		.ud = s,
	};
	s->m = shm_mgr_new(&p, seg);
	return seg;
}

/* The segment is gone at its owner (destroyed, or the node stops). */
void shmglue_destroy(dipc_node *n, int32_t id)
{
	shm_local *s = shm_local_find(n, id);

	if (!s || !s->m)
		return;
	shm_mgr_destroy(s->m);
	s->m = NULL;
	s->gone = true;
	s->acquiring = false;
	shm_fail_waits(s, -EIDRM);
	shm_local_free_if_idle(s);
}

void shmglue_node_down(dipc_node *n, const char *name)
{
	GHashTableIter it;
	gpointer v;

	if (!shm_st(n))
		return;
	g_hash_table_iter_init(&it, shm_st(n)->locals);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		shm_local *s = v;
		if (s->m) {
			shm_mgr_node_down(s->m, name);
		} else if (g_strcmp0(s->owner, name) == 0) {
			/* Its manager is gone: the segment with it. */
			s->gone = true;
			shm_fail_waits(s, -EIDRM);
		}
	}
}

char *shmglue_describe(dipc_node *n, dipc_shmseg *seg, int32_t id)
{
	shm_local *s = shm_local_find(n, id);
	unsigned nn;

	if (!s || !s->m)
		return dipc_shmseg_describe(seg, n->name, NULL, 0);
	const char *const *names = shm_mgr_names(s->m, &nn);
	return dipc_shmseg_describe(seg, n->name, names, nn);
}
