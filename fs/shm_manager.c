/* SPDX-License-Identifier: MIT */
/**
 * @file shm_manager.c
 *
 * The manager's state machine of one segment (see shm_manager.h): its
 * request queue, the plan of the current request, the take-backs it waits
 * for, the grant, and the ShmDone that ends it.
 *
 * One request at a time.  The current one (cur) goes through:
 *
 *   planned   dipc_shmseg_plan(); if the quantum of a holder has not run
 *             out, the timer plans it again later;
 *   taking    pending counts the take-backs not ended, plus one for the
 *             planning itself (so that one that ends at once cannot grant
 *             before the others are asked);
 *   granted   the directory records the grant; this node's request ends
 *             here, a remote one waits for ShmDone (or its connection's
 *             close, or a deadline) before the next request starts.
 *
 * Lifetime: a remote take-back in flight holds the manager (calls); the
 * manager is freed when it is destroyed, nothing holds it, and its timer
 * has closed.
 */
#include <errno.h>

#include "shm_manager.h"

struct shm_mgr {
	uv_loop_t *loop;
	int32_t id;
	unsigned quantum_ms, done_timeout_ms;
	bool trace;
	const shm_mgr_ops *ops;
	void *ud;
	dipc_shmseg *seg;
	char *names[DIPC_SHM_MAX_NODES];   /* [0] = this node */
	unsigned nnames;
	GQueue reqs;
	shm_mreq *cur;
	unsigned pending;        /* take-backs outstanding */
	unsigned calls;          /* remote take-backs outstanding (keep alive) */
	uv_timer_t timer;
	bool destroyed;
};

#define MGR_TRACE(m, ...)                                                      \
	do {                                                                   \
		if (G_UNLIKELY((m)->trace))                                    \
			g_debug(__VA_ARGS__);                                  \
	} while (0)

static void mgr_kick(shm_mgr *m);
static void mgr_plan(shm_mgr *m);

shm_mgr *shm_mgr_new(const shm_mgr_params *p, dipc_shmseg *seg)
{
	shm_mgr *m = g_new0(shm_mgr, 1);
	m->loop = p->loop;
	m->id = p->id;
	m->quantum_ms = p->quantum_ms;
	m->done_timeout_ms = p->done_timeout_ms;
	m->trace = p->trace;
	m->ops = p->ops;
	m->ud = p->ud;
	m->seg = seg;
	m->names[0] = g_strdup(p->self);
	m->nnames = 1;
	g_queue_init(&m->reqs);
	uv_timer_init(p->loop, &m->timer);
	m->timer.data = m;
	return m;
}

void *shm_mgr_ud(const shm_mgr *m)
{
	return m->ud;
}

dipc_shmseg *shm_mgr_seg(const shm_mgr *m)
{
	return m->seg;
}

bool shm_mgr_destroyed(const shm_mgr *m)
{
	return m->destroyed;
}

const char *shm_mgr_name(const shm_mgr *m, int idx)
{
	if (idx < 0 || (unsigned)idx >= m->nnames || !m->names[idx])
		return NULL;
	return m->names[idx];
}

const char *const *shm_mgr_names(const shm_mgr *m, unsigned *ret_n)
{
	*ret_n = m->nnames;
	return (const char *const *)m->names;
}

int shm_mgr_node_index(shm_mgr *m, const char *name)
{
	for (unsigned i = 0; i < m->nnames; i++)
		if (g_strcmp0(m->names[i], name) == 0)
			return (int)i;
	for (unsigned i = 1; i < m->nnames; i++)
		if (!m->names[i]) {
			m->names[i] = g_strdup(name);
			return (int)i;
		}
	if (m->nnames >= DIPC_SHM_MAX_NODES)
		return -1;
	m->names[m->nnames] = g_strdup(name);
	return (int)m->nnames++;
}

void shm_mgr_request(shm_mgr *m, int node, uint64_t first, uint64_t count, bool write,
		     struct dipc_conn *conn, uint64_t req_id)
{
	shm_mreq *r = g_new0(shm_mreq, 1);
	r->node = node;
	r->first = first;
	r->count = count;
	r->write = write;
	r->conn = conn;
	r->req_id = req_id;
	g_queue_push_tail(&m->reqs, r);
	mgr_kick(m);
}

/* The current request is over: the next one may start. */
static void mgr_end_cur(shm_mgr *m)
{
	shm_mreq *r = m->cur;
	m->cur = NULL;
	uv_timer_stop(&m->timer);
	dipc_shm_plan_free(r->plan);
	g_free(r);
	mgr_kick(m);
}

static void mgr_timer_cb(uv_timer_t *t)
{
	shm_mgr *m = t->data;
	shm_mreq *r = m->cur;

	if (!r)
		return;
	if (r->waiting_done) {
		const char *name = shm_mgr_name(m, r->node);
		g_message("shm %d: %s did not confirm a grant; going on", m->id,
			  name ? name : "?");
		mgr_end_cur(m);
		return;
	}
	mgr_plan(m);
}

static void mgr_grant_local(shm_mgr *m, uint64_t now)
{
	shm_mreq *r = m->cur;

	dipc_shmseg_grant(m->seg, 0, r->first, r->count, r->write, now);
	/* Not current any more before this node installs the pages: what it
	 * asks for next (from within the grant) may start at once. */
	m->cur = NULL;
	m->ops->grant(m, r, NULL, NULL);
	dipc_shm_plan_free(r->plan);
	g_free(r);
	mgr_kick(m);
}

static void mgr_grant(shm_mgr *m)
{
	shm_mreq *r = m->cur;
	uint64_t now = uv_now(m->loop);

	if (r->node == 0) {
		mgr_grant_local(m, now);
		return;
	}
	/* What the requester lacks: never-written pages travel as "zero". */
	g_autoptr(GArray) data = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	g_autoptr(GArray) zero = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	const GArray *lack = r->plan->lacking;
	for (guint i = 0; i < lack->len; i++) {
		const dipc_shm_run *lr = &g_array_index(lack, dipc_shm_run, i);
		for (uint64_t p = lr->first; p < lr->first + lr->count; p++)
			dipc_shm_runs_add(dipc_shmseg_page_written(m->seg, p) ? data : zero, p, 1);
	}
	dipc_shmseg_grant(m->seg, r->node, r->first, r->count, r->write, now);
	if (!r->conn) {
		/* The requester went away: nothing to wait for. */
		mgr_end_cur(m);
		return;
	}
	r->waiting_done = true;
	if (m->ops->grant(m, r, data, zero) < 0) {
		mgr_end_cur(m);
		return;
	}
	uv_timer_start(&m->timer, mgr_timer_cb, m->done_timeout_ms, 0);
}

void shm_mgr_revoked(shm_mgr *m, int node)
{
	(void)node;
	if (m->pending && --m->pending == 0)
		mgr_grant(m);
}

static void mgr_free_if_idle(shm_mgr *m);

void shm_mgr_revoke_end(shm_mgr *m, int node)
{
	m->calls--;
	if (m->destroyed) {
		mgr_free_if_idle(m);
		return;
	}
	shm_mgr_revoked(m, node);
}

static void mgr_plan(shm_mgr *m)
{
	shm_mreq *r = m->cur;
	uint64_t now = uv_now(m->loop);

	dipc_shm_plan_free(r->plan);
	r->plan = dipc_shmseg_plan(m->seg, r->node, r->first, r->count, r->write, now,
				   m->quantum_ms);
	if (r->plan->not_before) {
		uv_timer_start(&m->timer, mgr_timer_cb, r->plan->not_before - now, 0);
		return;
	}
	MGR_TRACE(m, "shm: mgr %d: req %s %lu+%lu %s, %u revokes", m->id, m->names[r->node],
		  (unsigned long)r->first, (unsigned long)r->count, r->write ? "W" : "R",
		  r->plan->revokes->len);
	m->pending = r->plan->revokes->len + 1;
	for (guint i = 0; i < r->plan->revokes->len; i++) {
		dipc_shm_revoke *rv = g_ptr_array_index(r->plan->revokes, i);
		if (rv->node != 0)
			m->calls++;
		if (m->ops->revoke(m, rv->node, rv->runs, rv->to_read) < 0) {
			if (rv->node != 0)
				m->calls--;
			m->pending--;
		}
	}
	shm_mgr_revoked(m, -1);
}

static void mgr_kick(shm_mgr *m)
{
	shm_mreq *r;
	while (!m->cur && !m->destroyed && (r = g_queue_pop_head(&m->reqs))) {
		if (r->node != 0 && !r->conn) {
			g_free(r);
			continue;
		}
		m->cur = r;
		mgr_plan(m);
	}
}

void shm_mgr_done(shm_mgr *m, struct dipc_conn *conn)
{
	if (m->cur && m->cur->waiting_done && m->cur->conn == conn)
		mgr_end_cur(m);
}

void shm_mgr_conn_closed(shm_mgr *m, struct dipc_conn *conn)
{
	for (GList *l = m->reqs.head; l; l = l->next)
		if (((shm_mreq *)l->data)->conn == conn)
			((shm_mreq *)l->data)->conn = NULL;
	if (m->cur && m->cur->conn == conn) {
		m->cur->conn = NULL;
		if (m->cur->waiting_done)
			mgr_end_cur(m);
	}
}

void shm_mgr_node_down(shm_mgr *m, const char *name)
{
	int idx = -1;
	for (unsigned i = 1; i < m->nnames; i++)
		if (g_strcmp0(m->names[i], name) == 0)
			idx = (int)i;
	dipc_shmseg_node_down(m->seg, name, idx);
	if (idx > 0) {
		g_free(m->names[idx]);
		m->names[idx] = NULL;
	}
}

static void mgr_timer_closed(uv_handle_t *h)
{
	shm_mgr *m = h->data;
	for (unsigned i = 0; i < m->nnames; i++)
		g_free(m->names[i]);
	g_free(m);
}

static void mgr_free_if_idle(shm_mgr *m)
{
	if (m->destroyed && m->calls == 0 && !uv_is_closing((uv_handle_t *)&m->timer))
		uv_close((uv_handle_t *)&m->timer, mgr_timer_closed);
}

void shm_mgr_destroy(shm_mgr *m)
{
	shm_mreq *r;

	m->destroyed = true;
	uv_timer_stop(&m->timer);
	while ((r = g_queue_pop_head(&m->reqs))) {
		if (r->conn)
			m->ops->refuse(m, r, -EIDRM);
		g_free(r);
	}
	if (m->cur) {
		dipc_shm_plan_free(m->cur->plan);
		g_free(m->cur);
		m->cur = NULL;
	}
	mgr_free_if_idle(m);
}
