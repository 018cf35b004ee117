/* SPDX-License-Identifier: MIT */
/**
 * @file shm_acquire.c
 *
 * The requester's side of a grant: this node lacks pages that a waiting
 * READ, WRITE or fault needs, so it asks the segment's manager for them
 * (ShmAcquire, or a direct call when this node is the owner), installs the
 * grant (inline bytes, zeroed pages, the rest fetched from the owner), and
 * answers ShmDone once the pages are in place.  One acquisition at a time
 * per segment; the waits it serves are shm_copy.c's.
 *
 * Loop thread only.
 */
#include <errno.h>

#include "shm.h"

typedef struct acq {
	shm_local *s;
	uint64_t first, count;
	bool write;
} acq;

#define STORE_MIN_PAGES 16

void shm_acquired(shm_local *s, uint64_t first, uint64_t count, bool write)
{
	GArray *fresh = NULL;

	SHM_TRACE("shm: acquired %d: %lu+%lu %s", s->id, (unsigned long)first, (unsigned long)count,
		write ? "W" : "R");
	if (!write && count >= STORE_MIN_PAGES)
		fresh = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	for (uint64_t p = first; p < first + count && p < s->npages; p++) {
		if (write) {
			s->state[p] = PG_W;
		} else if (s->state[p] < PG_R) {
			s->state[p] = PG_R;
			if (fresh)
				dipc_shm_runs_add(fresh, p, 1);
		}
	}
	/* A large read grant (segment mode): its pages go into the page cache
	 * at once, so that reading them costs no FUSE READ each. */
	if (fresh && fresh->len)
		shm_store_queue(s, fresh);
	else if (fresh)
		g_array_free(fresh, TRUE);
	s->acquiring = false;
	shm_serve_waits(s);
	shm_acquire_next(s);
	shm_local_free_if_idle(s);
}

static void acq_fail(acq *a, int err)
{
	shm_local *s = a->s;

	g_message("shm %d: pages %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT " unavailable: %s",
		  s->id, a->first, a->count, g_strerror(-err));
	s->acquiring = false;
	/* Whoever waits for these pages gets an error: SIGBUS for a fault of a
	 * mapping, EIO for read(2) -- never a silent wrong value. */
	GList *l = s->waits.head;
	while (l) {
		GList *next = l->next;
		shm_wait *w = l->data;
		if (!w->flushing && w->first < a->first + a->count && a->first < w->first + w->count) {
			g_queue_delete_link(&s->waits, l);
			shm_wait_answer(w, w->kind == W_FAULT ? -EIDRM : -EIO);
		}
		l = next;
	}
	g_free(a);
	shm_acquire_next(s);
	shm_local_free_if_idle(s);
}

static void send_done_to(dipc_node *n, const char *owner, int32_t id)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__ShmDone d = DIPC__SHM_DONE__INIT;
	d.id = id;
	env.body_case = DIPC__ENVELOPE__BODY_SHM_DONE;
	env.shm_done = &d;
	peer_call(n, owner, &env, 0, NULL, NULL);
}

static void send_done(shm_local *s)
{
	send_done_to(s->n, s->owner, s->id);
}

static void acq_finish(acq *a)
{
	shm_local *s = a->s;
	SHM_TRACE("shm: installed %d at %lu us", s->id, (unsigned long)(uv_hrtime() / 1000));
	uint64_t first = a->first, count = a->count;
	bool write = a->write;
	g_free(a);
	/* Answer the waiting faults first, then tell the manager: on a busy
	 * CPU its wake-up would otherwise come before our answer.  (A next
	 * ShmAcquire sent meanwhile travels ahead of ShmDone on the same
	 * connection and simply waits in the manager's queue.) */
	dipc_node *n = s->n;
	g_autofree char *owner = g_strdup(s->owner);
	int32_t id = s->id;
	shm_acquired(s, first, count, write);   /* may free s */
	send_done_to(n, owner, id);
}

static bool acq_put(void *ud, uint64_t first, const uint8_t *data, size_t len)
{
	acq *a = ud;
	return shm_mem_write(a->s, first * PAGE, data, len) == 0;
}

static void acq_end(void *ud, int err)
{
	if (err < 0)
		acq_fail(ud, err);
	else
		acq_finish(ud);
}

static void acquire_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	acq *a = ud;
	shm_local *s = a->s;

	if (err == 0 && reply->err)
		err = reply->err;
	if (err == 0 && reply->body_case != DIPC__ENVELOPE__BODY_SHM_GRANT)
		err = -EPROTO;
	if (err < 0) {
		acq_fail(a, err);
		return;
	}
	const Dipc__ShmGrant *g = reply->shm_grant;
	SHM_TRACE("shm: grant %d %lu+%lu at %lu us", s->id, (unsigned long)a->first,
		(unsigned long)a->count, (unsigned long)(uv_hrtime() / 1000));
	if (g->zero) {
		const Dipc__ShmPages *z = g->zero;
		for (size_t i = 0; i < z->n_first && i < z->n_count; i++)
			if (z->first[i] < s->npages && z->count[i] <= s->npages - z->first[i])
				shm_mem_zero(s, z->first[i], z->count[i]);
	}
	GArray *fetch = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	int r = shm_pages_install(s, g->data, fetch);
	if (r < 0) {
		/* nothing is marked held: the waits fail, none sees stale bytes */
		g_array_free(fetch, TRUE);
		send_done(s);
		acq_fail(a, r);
		return;
	}
	shm_fetch_start(s->n, s->owner, s->id, fetch, acq_put, acq_end, a);
}

/* Ask for what the first unsatisfied wait needs, if nothing is on its way. */
void shm_acquire_next(shm_local *s)
{
	dipc_node *n = s->n;

	if (s->acquiring || s->gone)
		return;
	for (GList *l = s->waits.head; l; l = l->next) {
		shm_wait *w = l->data;
		if (w->flushing || shm_pages_ok(s, w->first, w->count, w->write))
			continue;
		uint64_t first = w->first, count = w->count;
		if (n->conf->shm_segment_mode) {
			first = 0;
			count = s->npages;
		}
		s->acquiring = true;
		if (s->m) {
			shm_mgr_request(s->m, 0, first, count, w->write, NULL, 0);
			return;
		}
		acq *a = g_new0(acq, 1);
		a->s = s;
		a->first = first;
		a->count = count;
		a->write = w->write;
		Dipc__Envelope env = DIPC__ENVELOPE__INIT;
		Dipc__ShmAcquire q = DIPC__SHM_ACQUIRE__INIT;
		q.id = s->id;
		q.first = first;
		q.count = count;
		q.write = w->write;
		SHM_TRACE("shm: acquire %d %lu+%lu at %lu us", s->id, (unsigned long)first,
			(unsigned long)count, (unsigned long)(uv_hrtime() / 1000));
		env.body_case = DIPC__ENVELOPE__BODY_SHM_ACQUIRE;
		env.shm_acquire = &q;
		/* No deadline of its own: the manager may wait for quanta and
		 * other nodes; a dead manager ends it (heartbeats). */
		int e = peer_call(n, s->owner, &env, 0, acquire_cb, a);
		if (e < 0)
			acq_fail(a, e);
		return;
	}
}
