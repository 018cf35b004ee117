/* SPDX-License-Identifier: MIT */
/**
 * @file calls.c
 *
 * Call matching: the requests a connection sent and waits for, found again
 * by the request id of their reply, and the per-call time-outs.
 *
 * Request ids are assigned per connection, ascending from 1, and never
 * reused on it; 0 is a notification (no reply wanted).  Outstanding calls
 * live in a hash table keyed by id; those with a time-out are also in a
 * GSequence ordered by (deadline, id), whose head is what liveness.c's timer
 * waits for.  The table is capped at [limits] max_parked + CALLS_SLACK, so a
 * caller that never gets answers cannot grow it without bound (-EAGAIN).
 *
 * Every call's callback runs exactly once: with the reply, with -ETIMEDOUT,
 * or with the close reason (conn_calls_fail(), by ascending id) -- unless the
 * caller forgot the call first.  A callback may forget calls not yet run:
 * they stay in the table until their turn, so dipc_conn_forget() still finds
 * them.
 */
#include "conn_private.h"

#include <errno.h>

typedef struct call {
	int64_t req_id; /* hash key */
	dipc_conn_reply_cb cb;
	void *ud;
	uint64_t deadline;  /* uv_now() ms; 0: none */
	GSequenceIter *tmo; /* in c->deadlines, or NULL */
} call;

static gint call_cmp(gconstpointer a, gconstpointer b, gpointer ud)
{
	const call *x = a, *y = b;

	if (x->deadline != y->deadline)
		return x->deadline < y->deadline ? -1 : 1;
	return x->req_id < y->req_id ? -1 : x->req_id > y->req_id;
}

static gint int64_cmp(gconstpointer a, gconstpointer b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

void conn_calls_init(dipc_conn *c)
{
	c->next_req_id = 1;
	c->max_calls = c->conf->max_parked + CALLS_SLACK;
	c->calls = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
	c->deadlines = g_sequence_new(NULL);
}

void conn_calls_free(dipc_conn *c)
{
	if (c->calls)
		g_hash_table_destroy(c->calls);
	if (c->deadlines)
		g_sequence_free(c->deadlines);
}

/* Take k out of the table and the deadlines (the caller frees it). */
static void call_steal(dipc_conn *c, call *k)
{
	g_hash_table_steal(c->calls, &k->req_id);
	if (k->tmo)
		g_sequence_remove(k->tmo);
}

void conn_calls_fail(dipc_conn *c, int err)
{
	GArray *ids;
	GHashTableIter it;
	gpointer v;

	if (g_hash_table_size(c->calls) == 0)
		return;
	ids = g_array_sized_new(FALSE, FALSE, sizeof(int64_t), g_hash_table_size(c->calls));
	g_hash_table_iter_init(&it, c->calls);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_array_append_val(ids, ((call *)v)->req_id);
	g_array_sort(ids, int64_cmp);
	for (guint i = 0; i < ids->len; i++) {
		int64_t id = g_array_index(ids, int64_t, i);
		call *k = g_hash_table_lookup(c->calls, &id);

		if (!k)
			continue; /* forgotten meanwhile */
		call_steal(c, k);
		if (k->cb)
			k->cb(c, err, NULL, k->ud);
		g_free(k);
	}
	g_array_unref(ids);
}

void conn_calls_reply(dipc_conn *c, Dipc__Envelope *env)
{
	int64_t id = (int64_t)env->req_id;
	call *k = g_hash_table_lookup(c->calls, &id);

	if (!k) {
		g_debug("reply to unknown request %" G_GINT64_FORMAT " from %s", id, c->peer_addr);
		return;
	}
	call_steal(c, k);
	/* The wire carries -errno; a peer that sends anything else is wrong. */
	if (env->err > 0 || env->err < -4095)
		env->err = -EPROTO;
	if (k->cb)
		k->cb(c, 0, env, k->ud);
	g_free(k);
}

uint64_t conn_calls_next_deadline(const dipc_conn *c)
{
	GSequenceIter *first = g_sequence_get_begin_iter(c->deadlines);

	return g_sequence_iter_is_end(first) ? UINT64_MAX
					     : ((call *)g_sequence_get(first))->deadline;
}

bool conn_calls_expire(dipc_conn *c, uint64_t now)
{
	GSequenceIter *first;

	/* The head is re-read after every callback: it may have forgotten or
	 * made calls. */
	while (!g_sequence_iter_is_end(first = g_sequence_get_begin_iter(c->deadlines))) {
		call *k = g_sequence_get(first);

		if (k->deadline > now)
			break;
		call_steal(c, k);
		if (k->cb)
			k->cb(c, -ETIMEDOUT, NULL, k->ud);
		g_free(k);
		if (c->state == ST_CLOSED)
			return false;
	}
	return true;
}

/* ---- the API -------------------------------------------------------------- */

/* The request just sent with id c->next_req_id: wait for its reply. */
static int64_t call_expect(dipc_conn *c, unsigned timeout_ms, dipc_conn_reply_cb cb, void *ud)
{
	call *k = g_new0(call, 1);

	k->req_id = c->next_req_id++;
	k->cb = cb;
	k->ud = ud;
	g_hash_table_insert(c->calls, &k->req_id, k);
	if (timeout_ms) {
		k->deadline = uv_now(c->loop) + timeout_ms;
		k->tmo = g_sequence_insert_sorted(c->deadlines, k, call_cmp, NULL);
		conn_rearm(c);
	}
	return k->req_id;
}

int64_t dipc_conn_call(dipc_conn *c, Dipc__Envelope *env, unsigned timeout_ms,
		       dipc_conn_reply_cb cb, void *ud)
{
	int r;

	if (!c || !env)
		return -EINVAL;
	if (c->state != ST_READY || c->deferred_err)
		return -ENOTCONN;
	if (g_hash_table_size(c->calls) >= c->max_calls)
		return -EAGAIN;
	env->req_id = (uint64_t)c->next_req_id;
	env->reply = false;
	r = conn_send(c, env);
	if (r < 0)
		return r;
	return call_expect(c, timeout_ms, cb, ud);
}

int64_t dipc_conn_call_packed(dipc_conn *c, const uint8_t *pb, size_t plen, unsigned timeout_ms,
			      dipc_conn_reply_cb cb, void *ud)
{
	int r;

	if (!c || !pb)
		return -EINVAL;
	if (c->state != ST_READY || c->deferred_err)
		return -ENOTCONN;
	if (g_hash_table_size(c->calls) >= c->max_calls)
		return -EAGAIN;
	if (!cb)   /* a notification: no id, nobody waits */
		return conn_send_packed(c, pb, plen, 0);
	r = conn_send_packed(c, pb, plen, (uint64_t)c->next_req_id);
	if (r < 0)
		return r;
	return call_expect(c, timeout_ms, cb, ud);
}

int dipc_conn_notify(dipc_conn *c, Dipc__Envelope *env)
{
	if (!c || !env)
		return -EINVAL;
	if (c->state != ST_READY || c->deferred_err)
		return -ENOTCONN;
	env->req_id = 0;
	env->reply = false;
	return conn_send(c, env);
}

int dipc_conn_reply(dipc_conn *c, uint64_t req_id, Dipc__Envelope *env)
{
	if (!c || !env)
		return -EINVAL;
	if (req_id == 0) /* a notification: nobody waits for an answer */
		return 0;
	if (c->state != ST_READY || c->deferred_err)
		return -ENOTCONN;
	env->req_id = req_id;
	env->reply = true;
	return conn_send(c, env);
}

int dipc_conn_reply_err(dipc_conn *c, uint64_t req_id, int err)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;

	env.err = err > 0 ? -err : err;   /* -errno on the wire, as everywhere */
	return dipc_conn_reply(c, req_id, &env);
}

void dipc_conn_forget(dipc_conn *c, int64_t req_id)
{
	call *k;

	if (!c)
		return;
	k = g_hash_table_lookup(c->calls, &req_id);
	if (!k)
		return;
	call_steal(c, k);
	g_free(k);
}
