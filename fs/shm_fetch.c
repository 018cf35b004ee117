/* SPDX-License-Identifier: MIT */
/**
 * @file shm_fetch.c
 *
 * Page bytes between nodes, both ways: the ShmPages of a grant or a
 * take-back's answer (runs, with the bytes inline when they are few), and
 * ShmFetch, which pulls the rest from a peer's memfd in frame-sized chunks
 * -- as the client (shm_fetch_start) and as the server (shm_fetch_serve).
 *
 * Loop thread only.
 */
#include <errno.h>

#include "shm.h"

/* Pages that fit one frame ([limits] max_frame) with their envelope. */
static uint64_t frame_pages(const dipc_node *n, uint64_t want)
{
	uint64_t fit = n->conf->max_frame > FRAME_SLACK ? (n->conf->max_frame - FRAME_SLACK) / PAGE : 0;
	return MIN(want, fit);
}

static uint64_t runs_pages(const GArray *runs)
{
	uint64_t t = 0;
	for (guint i = 0; i < runs->len; i++)
		t += g_array_index(runs, dipc_shm_run, i).count;
	return t;
}

/* ---- fetching pages from a peer's memfd (ShmFetch) ----
 *
 * The requester of a grant fetches the pages it lacks from the owner; the
 * owner fetches the written pages a node gave back.  Runs are fetched in
 * chunks that fit max_frame, FETCH_INFLIGHT at a time; put() stores each
 * chunk (false: stop), end() runs once, when nothing is in flight any more,
 * with 0 or the first error. */

typedef struct fetcher {
	dipc_node *n;
	char *from;
	int32_t id;
	GArray *runs;
	guint next;
	uint64_t next_page;
	unsigned inflight;
	int failed;
	shm_fetch_put_fn put;
	shm_fetch_end_fn end;
	void *ud;
} fetcher;

typedef struct fetch_call {
	fetcher *f;
	uint64_t first, count;
} fetch_call;

static void fetch_pump(fetcher *f);

static void fetch_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	fetch_call *fc = ud;
	fetcher *f = fc->f;

	if (err == 0 && reply->err)
		err = reply->err;
	if (err == 0 && reply->body_case != DIPC__ENVELOPE__BODY_SHM_FETCH_REPLY)
		err = -EPROTO;
	if (err == 0 && reply->shm_fetch_reply->data.len != fc->count * PAGE)
		err = -EPROTO;
	if (err == 0 && !f->put(f->ud, fc->first, reply->shm_fetch_reply->data.data,
				fc->count * PAGE))
		err = -ECANCELED;
	if (err < 0 && !f->failed)
		f->failed = err;
	g_free(fc);
	f->inflight--;
	fetch_pump(f);
}

static void fetch_pump(fetcher *f)
{
	uint64_t chunk = MAX(frame_pages(f->n, FETCH_PAGES), 1);

	while (!f->failed && f->inflight < FETCH_INFLIGHT && f->next < f->runs->len) {
		dipc_shm_run *r = &g_array_index(f->runs, dipc_shm_run, f->next);
		if (f->next_page < r->first)
			f->next_page = r->first;
		if (f->next_page >= r->first + r->count) {
			f->next++;
			continue;
		}
		fetch_call *fc = g_new0(fetch_call, 1);
		fc->f = f;
		fc->first = f->next_page;
		fc->count = MIN(chunk, r->first + r->count - f->next_page);
		f->next_page += fc->count;
		Dipc__Envelope env = DIPC__ENVELOPE__INIT;
		Dipc__ShmFetch q = DIPC__SHM_FETCH__INIT;
		q.id = f->id;
		q.first = fc->first;
		q.count = fc->count;
		env.body_case = DIPC__ENVELOPE__BODY_SHM_FETCH;
		env.shm_fetch = &q;
		int e = peer_call(f->n, f->from, &env, f->n->conf->request_timeout_ms, fetch_cb, fc);
		if (e < 0) {
			g_free(fc);
			f->failed = e;
			break;
		}
		f->inflight++;
	}
	if (f->inflight || (!f->failed && f->next < f->runs->len))
		return;
	shm_fetch_end_fn end = f->end;
	void *ud = f->ud;
	int err = f->failed;
	g_array_free(f->runs, TRUE);
	g_free(f->from);
	g_free(f);
	end(ud, err);
}

/* Fetch runs (taken over) of segment id from peer `from`. */
void shm_fetch_start(dipc_node *n, const char *from, int32_t id, GArray *runs,
			shm_fetch_put_fn put, shm_fetch_end_fn end, void *ud)
{
	if (!from) {   /* the peer left the cluster meanwhile */
		g_array_free(runs, TRUE);
		end(ud, -EHOSTDOWN);
		return;
	}
	fetcher *f = g_new0(fetcher, 1);
	f->n = n;
	f->from = g_strdup(from);
	f->id = id;
	f->runs = runs;
	f->put = put;
	f->end = end;
	f->ud = ud;
	fetch_pump(f);
}

/* ---- ShmPages: runs, and their bytes inline when they are few ---- */

/* Install the bytes of a ShmPages message (inline) or list them to fetch.
 * The runs come from a peer: each is inside the segment, their sum and its
 * bytes are checked products, and a page whose bytes did not reach the
 * memfd fails the whole message (its caller marks nothing installed).
 * Returns 0, -EPROTO (a malformed message) or the memfd's -errno. */
int shm_pages_install(shm_local *s, const Dipc__ShmPages *pg, GArray *fetch)
{
	uint64_t total = 0, bytes;
	if (!pg)
		return 0;
	if (pg->n_first != pg->n_count)
		return -EPROTO;
	for (size_t i = 0; i < pg->n_first; i++) {
		if (pg->first[i] >= s->npages || pg->count[i] > s->npages - pg->first[i] ||
		    !g_uint64_checked_add(&total, total, pg->count[i]))
			return -EPROTO;
	}
	if (!g_uint64_checked_mul(&bytes, total, PAGE) || (pg->data.len && pg->data.len != bytes))
		return -EPROTO;
	uint64_t off = 0;
	for (size_t i = 0; i < pg->n_first; i++) {
		if (pg->data.len) {
			/* in the segment: first + count <= npages, no overflow */
			int r = shm_mem_write(s, pg->first[i] * PAGE, pg->data.data + off,
					      pg->count[i] * PAGE);
			if (r < 0) {
				g_warning("shm %d: cannot store pages %" G_GUINT64_FORMAT
					  "+%" G_GUINT64_FORMAT ": %s", s->id, pg->first[i],
					  pg->count[i], g_strerror(-r));
				return r;
			}
			off += pg->count[i] * PAGE;
		} else if (fetch) {
			dipc_shm_runs_add(fetch, pg->first[i], pg->count[i]);
		}
	}
	return 0;
}

/* Fill a ShmPages with runs, and their bytes when they are few.  Returns 0,
 * or the memfd's -errno (then no bytes are attached: never stale ones). */
int shm_pages_fill(shm_local *s, const GArray *runs, Dipc__ShmPages *pg, uint64_t **a,
		   uint64_t **b, uint8_t **data, bool allow_inline)
{
	uint64_t total = runs_pages(runs);
	*a = g_new(uint64_t, MAX(runs->len, 1));
	*b = g_new(uint64_t, MAX(runs->len, 1));
	*data = NULL;
	for (guint i = 0; i < runs->len; i++) {
		(*a)[i] = g_array_index(runs, dipc_shm_run, i).first;
		(*b)[i] = g_array_index(runs, dipc_shm_run, i).count;
	}
	pg->n_first = pg->n_count = runs->len;
	pg->first = *a;
	pg->count = *b;
	if (allow_inline && total && total <= frame_pages(s->n, INLINE_MAX_PAGES)) {
		uint64_t off = 0;
		*data = g_malloc(total * PAGE);
		for (guint i = 0; i < runs->len; i++) {
			const dipc_shm_run *r = &g_array_index(runs, dipc_shm_run, i);
			int e = shm_mem_read(s, r->first * PAGE, *data + off, r->count * PAGE);
			if (e < 0) {
				g_warning("shm %d: cannot read pages %" G_GUINT64_FORMAT
					  "+%" G_GUINT64_FORMAT ": %s", s->id, r->first, r->count,
					  g_strerror(-e));
				g_clear_pointer(data, g_free);
				return e;
			}
			off += r->count * PAGE;
		}
		pg->data.data = *data;
		pg->data.len = total * PAGE;
	}
	return 0;
}

GArray *shm_runs_from_pb(const Dipc__ShmPages *pg)
{
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	if (!pg)
		return runs;
	for (size_t i = 0; i < pg->n_first && i < pg->n_count; i++)
		dipc_shm_runs_add(runs, pg->first[i], pg->count[i]);
	return runs;
}

/* ShmFetch: a peer reads pages of our memfd. */
void shm_fetch_serve(dipc_node *n, dipc_conn *c, Dipc__Envelope *env)
{
	const Dipc__ShmFetch *f = env->shm_fetch;
	shm_local *s = shm_local_find(n, f->id);

	if (!s) {
		dipc_conn_reply_err(c, env->req_id, -EIDRM);
		return;
	}
	if (f->first >= s->npages || f->count == 0 ||
	    f->count > MAX(frame_pages(n, FETCH_PAGES), 1) ||
	    f->count > s->npages - f->first) {
		dipc_conn_reply_err(c, env->req_id, -EINVAL);
		return;
	}
	Dipc__Envelope r = DIPC__ENVELOPE__INIT;
	Dipc__ShmFetchReply fr = DIPC__SHM_FETCH_REPLY__INIT;
	g_autofree uint8_t *buf = g_malloc(f->count * PAGE);
	int e = shm_mem_read(s, f->first * PAGE, buf, f->count * PAGE);
	if (e < 0) {
		dipc_conn_reply_err(c, env->req_id, -EIO);
		return;
	}
	fr.data.data = buf;
	fr.data.len = f->count * PAGE;
	r.body_case = DIPC__ENVELOPE__BODY_SHM_FETCH_REPLY;
	r.shm_fetch_reply = &fr;
	dipc_conn_reply(c, env->req_id, &r);
}
