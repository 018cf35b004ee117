/* SPDX-License-Identifier: MIT */
/**
 * @file test_wire.c
 *
 * The transport: framing (pack/feed round trips, frames split at every byte
 * boundary, several frames per buffer, bad lengths and bodies) and real
 * connections over loopback inside one libuv loop (handshake with the right
 * and a wrong secret, calls, replies, time-outs, a peer that closes, closing
 * inside a callback in the middle of a batch, allowed_hosts, max_connections,
 * handshake time-out, heartbeats keeping an idle connection alive), sealed
 * frames (MAC and encrypted: altered, replayed, reordered, another secret),
 * encryption on both ends or one, unauthenticated connections evicted by
 * max_conn_per_host, and the one host:port splitter (hostport.c).
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "conn.h"
#include "hostport.h"

#define SEAL_SECRET "0123456789abcdef-seal-test"

/* ---- framing -------------------------------------------------------------- */

typedef struct got {
	GPtrArray *envs; /* packed copies of what arrived */
	int stop_after;  /* return -ECANCELED after this many (0: never) */
} got;

static int collect(Dipc__Envelope *env, void *ud)
{
	got *g = ud;
	size_t len;
	uint8_t *buf = dipc_frame_pack(env, &len);

	g_ptr_array_add(g->envs, g_bytes_new_take(buf, len));
	if (g->stop_after && (int)g->envs->len >= g->stop_after)
		return -ECANCELED;
	return 0;
}

static Dipc__Envelope *make_lookup(uint64_t req_id, int kind, int key)
{
	Dipc__Envelope *env = g_new0(Dipc__Envelope, 1);
	Dipc__Lookup *l = g_new0(Dipc__Lookup, 1);
	Dipc__Ident *id = g_new0(Dipc__Ident, 1);

	dipc__envelope__init(env);
	dipc__lookup__init(l);
	dipc__ident__init(id);
	l->kind = kind;
	l->key = key;
	id->node = "n1";
	id->pid = 1234;
	id->uid = 1000;
	id->user = "alice";
	env->req_id = req_id;
	env->caller = id;
	env->body_case = DIPC__ENVELOPE__BODY_LOOKUP;
	env->lookup = l;
	return env;
}

static void free_lookup(Dipc__Envelope *env)
{
	g_free(env->lookup);
	g_free(env->caller);
	g_free(env);
}

static void check_lookup(GBytes *b, uint64_t req_id, int kind, int key)
{
	gsize len;
	const uint8_t *p = g_bytes_get_data(b, &len);
	Dipc__Envelope *env;

	g_assert_cmpuint(len, >, 4);
	env = dipc__envelope__unpack(NULL, len - 4, p + 4);
	g_assert_nonnull(env);
	g_assert_cmpuint(env->req_id, ==, req_id);
	g_assert_cmpint(env->body_case, ==, DIPC__ENVELOPE__BODY_LOOKUP);
	g_assert_cmpint(env->lookup->kind, ==, kind);
	g_assert_cmpint(env->lookup->key, ==, key);
	g_assert_nonnull(env->caller);
	g_assert_cmpstr(env->caller->user, ==, "alice");
	g_assert_cmpint(env->caller->pid, ==, 1234);
	dipc__envelope__free_unpacked(env, NULL);
}

/* Three frames, one of them large, back to back. */
static GByteArray *three_frames(void)
{
	GByteArray *all = g_byte_array_new();

	for (int i = 0; i < 3; i++) {
		Dipc__Envelope *env = make_lookup(100 + i, 1, i == 1 ? 0x7fffffff : i);
		size_t len;
		uint8_t *buf = dipc_frame_pack(env, &len);

		g_assert_cmpuint(len, ==, 4 + dipc__envelope__get_packed_size(env));
		g_assert_cmpuint(((uint32_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3]),
				 ==, len - 4);
		g_byte_array_append(all, buf, (guint)len);
		g_free(buf);
		free_lookup(env);
	}
	return all;
}

static void check_three(got *g)
{
	g_assert_cmpuint(g->envs->len, ==, 3);
	check_lookup(g->envs->pdata[0], 100, 1, 0);
	check_lookup(g->envs->pdata[1], 101, 1, 0x7fffffff);
	check_lookup(g->envs->pdata[2], 102, 1, 2);
}

static void test_frame_roundtrip(void)
{
	g_autoptr(GByteArray) all = three_frames();
	dipc_frame_reader r = { .max_frame = 4096 };
	got g = { .envs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref) };

	/* Several frames in one buffer. */
	g_assert_cmpint(dipc_frame_feed(&r, all->data, all->len, collect, &g), ==, 0);
	check_three(&g);
	g_assert_cmpuint(r.len, ==, 0);
	dipc_frame_reader_clear(&r);
	g_ptr_array_unref(g.envs);
}

static void test_frame_split(void)
{
	g_autoptr(GByteArray) all = three_frames();

	/* Every split into two pieces... */
	for (guint cut = 0; cut <= all->len; cut++) {
		dipc_frame_reader r = { .max_frame = 4096 };
		got g = { .envs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref) };

		g_assert_cmpint(dipc_frame_feed(&r, all->data, cut, collect, &g), ==, 0);
		g_assert_cmpint(dipc_frame_feed(&r, all->data + cut, all->len - cut, collect, &g),
				==, 0);
		check_three(&g);
		dipc_frame_reader_clear(&r);
		g_ptr_array_unref(g.envs);
	}
	/* ...into three pieces... */
	for (guint a = 0; a <= all->len; a += 3) {
		for (guint b = a; b <= all->len; b += 5) {
			dipc_frame_reader r = { .max_frame = 4096 };
			got g = { .envs = g_ptr_array_new_with_free_func(
					  (GDestroyNotify)g_bytes_unref) };

			g_assert_cmpint(dipc_frame_feed(&r, all->data, a, collect, &g), ==, 0);
			g_assert_cmpint(dipc_frame_feed(&r, all->data + a, b - a, collect, &g), ==, 0);
			g_assert_cmpint(dipc_frame_feed(&r, all->data + b, all->len - b, collect, &g),
					==, 0);
			check_three(&g);
			dipc_frame_reader_clear(&r);
			g_ptr_array_unref(g.envs);
		}
	}
	/* ...and one byte at a time, and random chunks. */
	{
		dipc_frame_reader r = { .max_frame = 4096 };
		got g = { .envs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref) };

		for (guint i = 0; i < all->len; i++)
			g_assert_cmpint(dipc_frame_feed(&r, all->data + i, 1, collect, &g), ==, 0);
		check_three(&g);
		dipc_frame_reader_clear(&r);
		g_ptr_array_unref(g.envs);
	}
	for (int round = 0; round < 200; round++) {
		dipc_frame_reader r = { .max_frame = 4096 };
		got g = { .envs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref) };

		for (guint i = 0; i < all->len;) {
			guint n = (guint)g_test_rand_int_range(0, 20);

			n = MIN(n, all->len - i); /* MIN() evaluates twice */

			g_assert_cmpint(dipc_frame_feed(&r, all->data + i, n, collect, &g), ==, 0);
			i += n;
		}
		check_three(&g);
		dipc_frame_reader_clear(&r);
		g_ptr_array_unref(g.envs);
	}
}

static void test_frame_large(void)
{
	/* A frame much bigger than one read, fed in 64 KiB pieces. */
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__StatusTextReply st = DIPC__STATUS_TEXT_REPLY__INIT;
	g_autofree char *text = g_malloc(300000);
	dipc_frame_reader r = { .max_frame = 1 << 20 };
	got g = { .envs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref) };
	size_t len;
	g_autofree uint8_t *buf = NULL;

	memset(text, 'x', 299999);
	text[299999] = 0;
	st.text = text;
	env.req_id = 7;
	env.reply = true;
	env.body_case = DIPC__ENVELOPE__BODY_STATUS_TEXT_REPLY;
	env.status_text_reply = &st;
	buf = dipc_frame_pack(&env, &len);
	for (size_t i = 0; i < len; i += 65536)
		g_assert_cmpint(dipc_frame_feed(&r, buf + i, MIN((size_t)65536, len - i), collect,
						&g), ==, 0);
	g_assert_cmpuint(g.envs->len, ==, 1);
	g_assert_cmpuint(g_bytes_get_size(g.envs->pdata[0]), ==, len);
	g_assert_cmpmem(g_bytes_get_data(g.envs->pdata[0], NULL), len, buf, len);
	dipc_frame_reader_clear(&r);
	g_ptr_array_unref(g.envs);

	/* The same with a smaller limit is refused, whole or split. */
	{
		dipc_frame_reader s = { .max_frame = 4096 };
		got h = { .envs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref) };

		g_assert_cmpint(dipc_frame_feed(&s, buf, len, collect, &h), ==, -EMSGSIZE);
		g_assert_cmpint(dipc_frame_feed(&s, buf, 2, collect, &h), ==, 0);
		g_assert_cmpint(dipc_frame_feed(&s, buf + 2, 10, collect, &h), ==, -EMSGSIZE);
		g_assert_cmpuint(h.envs->len, ==, 0);
		dipc_frame_reader_clear(&s);
		g_ptr_array_unref(h.envs);
	}
}

static void test_frame_bad(void)
{
	got g = { .envs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref) };
	/* field 1 with the invalid wire type 7 */
	static const uint8_t garbage[] = { 0, 0, 0, 3, 0x0f, 0xff, 0xff };
	/* field 10 (hello), length 5, one byte present */
	static const uint8_t truncated[] = { 0, 0, 0, 3, 0x52, 0x05, 0x01 };
	static const uint8_t zero[] = { 0, 0, 0, 0 };
	static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff, 1, 2, 3 };
	static const uint8_t just_over[] = { 0, 0, 0x10, 0x01 }; /* 4097 */
	dipc_frame_reader r = { .max_frame = 4096 };

	g_assert_cmpint(dipc_frame_feed(&r, garbage, sizeof(garbage), collect, &g), ==, -EBADMSG);
	dipc_frame_reader_clear(&r);
	g_assert_cmpint(dipc_frame_feed(&r, truncated, sizeof(truncated), collect, &g), ==,
			-EBADMSG);
	dipc_frame_reader_clear(&r);
	/* garbage split across feeds */
	g_assert_cmpint(dipc_frame_feed(&r, garbage, 5, collect, &g), ==, 0);
	g_assert_cmpint(dipc_frame_feed(&r, garbage + 5, 2, collect, &g), ==, -EBADMSG);
	dipc_frame_reader_clear(&r);
	g_assert_cmpint(dipc_frame_feed(&r, zero, sizeof(zero), collect, &g), ==, -EMSGSIZE);
	dipc_frame_reader_clear(&r);
	g_assert_cmpint(dipc_frame_feed(&r, huge, sizeof(huge), collect, &g), ==, -EMSGSIZE);
	dipc_frame_reader_clear(&r);
	g_assert_cmpint(dipc_frame_feed(&r, just_over, sizeof(just_over), collect, &g), ==,
			-EMSGSIZE);
	dipc_frame_reader_clear(&r);
	g_assert_cmpuint(g.envs->len, ==, 0);

	/* A good frame before a bad one is delivered; a callback's error stops
	 * the feed. */
	{
		g_autoptr(GByteArray) all = three_frames();

		g_byte_array_append(all, garbage, sizeof(garbage));
		g_assert_cmpint(dipc_frame_feed(&r, all->data, all->len, collect, &g), ==, -EBADMSG);
		check_three(&g);
		dipc_frame_reader_clear(&r);
		g_ptr_array_set_size(g.envs, 0);

		g.stop_after = 2;
		g_assert_cmpint(dipc_frame_feed(&r, all->data, all->len, collect, &g), ==,
				-ECANCELED);
		g_assert_cmpuint(g.envs->len, ==, 2);
		dipc_frame_reader_clear(&r);
	}
	g_ptr_array_unref(g.envs);
}

/* ---- sealed frames (seal.h) ------------------------------------------------ */

/* A sealed copy of a Lookup frame, as conn_send() makes it. */
static GBytes *seal_lookup(dipc_seal *tx, int key)
{
	Dipc__Envelope *env = make_lookup(0, 1, key);
	size_t body = dipc__envelope__get_packed_size(env);
	uint8_t *buf = g_malloc(4 + body + DIPC_SEAL_TAG);
	size_t len;

	dipc__envelope__pack(env, buf + 4);
	len = dipc_seal_frame(tx, buf, body);
	g_assert_cmpuint(len, ==, 4 + body + DIPC_SEAL_TAG);
	free_lookup(env);
	return g_bytes_new_take(buf, len);
}

static int feed_bytes(dipc_frame_reader *r, GBytes *b, got *g)
{
	gsize len;
	const uint8_t *p = g_bytes_get_data(b, &len);

	return dipc_frame_feed(r, p, len, collect, g);
}

static void seal_case(bool encrypt)
{
	uint8_t nc[DIPC_SEAL_NONCE], na[DIPC_SEAL_NONCE];
	dipc_seal ctx, crx, atx, arx, wtx, wrx;
	got g = { .envs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref) };
	dipc_frame_reader r = { .seal = &arx };
	GBytes *f[4];

	memset(nc, 1, sizeof(nc));
	memset(na, 2, sizeof(na));
	dipc_seal_derive(SEAL_SECRET, nc, na, false, encrypt, &ctx, &crx);
	dipc_seal_derive(SEAL_SECRET, nc, na, true, encrypt, &atx, &arx);
	/* Each direction has its own key. */
	g_assert_cmpmem(ctx.key, sizeof(ctx.key), arx.key, sizeof(arx.key));
	g_assert_cmpmem(atx.key, sizeof(atx.key), crx.key, sizeof(crx.key));
	g_assert_true(memcmp(ctx.key, atx.key, sizeof(ctx.key)) != 0);
	for (int i = 0; i < 4; i++)
		f[i] = seal_lookup(&ctx, 10 + i);
	if (encrypt) { /* the caller's name does not travel in clear */
		gsize len;
		const char *p = g_bytes_get_data(f[0], &len);

		g_assert_null(memmem(p, len, "alice", 5));
	}

	/* In order, whole and split at every byte: delivered. */
	g_assert_cmpint(feed_bytes(&r, f[0], &g), ==, 0);
	{
		gsize len;
		const uint8_t *p = g_bytes_get_data(f[1], &len);

		for (gsize i = 0; i < len; i++)
			g_assert_cmpint(dipc_frame_feed(&r, p + i, 1, collect, &g), ==, 0);
	}
	g_assert_cmpuint(g.envs->len, ==, 2);
	/* Replayed: refused, and the direction stays dead. */
	g_assert_cmpint(feed_bytes(&r, f[1], &g), ==, -EKEYREJECTED);
	g_assert_cmpint(feed_bytes(&r, f[2], &g), ==, -EKEYREJECTED);
	g_assert_cmpuint(g.envs->len, ==, 2);
	dipc_frame_reader_clear(&r);

	/* Reordered: refused. */
	dipc_seal_derive(SEAL_SECRET, nc, na, true, encrypt, &atx, &arx);
	r.seal = &arx;
	g_assert_cmpint(feed_bytes(&r, f[1], &g), ==, -EKEYREJECTED);
	dipc_frame_reader_clear(&r);

	/* One bit flipped anywhere (length, payload, tag): refused. */
	{
		gsize len;
		const uint8_t *p = g_bytes_get_data(f[0], &len);

		for (gsize i = 0; i < len; i++) {
			g_autofree uint8_t *bad = g_memdup2(p, len);
			int ret;

			bad[i] ^= 0x10;
			dipc_seal_derive(SEAL_SECRET, nc, na, true, encrypt, &atx, &arx);
			r.seal = &arx;
			ret = dipc_frame_feed(&r, bad, len, collect, &g);
			/* A changed length is too short/long a frame or a bad tag. */
			g_assert_true(ret == -EKEYREJECTED || ret == -EMSGSIZE ||
				      (ret == 0 && i < 4));
			dipc_frame_reader_clear(&r);
		}
	}
	g_assert_cmpuint(g.envs->len, ==, 2);

	/* Another secret: refused. */
	dipc_seal_derive("another secret, 16+ bytes", nc, na, true, encrypt, &wtx, &wrx);
	r.seal = &wrx;
	g_assert_cmpint(feed_bytes(&r, f[0], &g), ==, -EKEYREJECTED);
	dipc_frame_reader_clear(&r);
	g_assert_cmpuint(g.envs->len, ==, 2);

	for (int i = 0; i < 4; i++)
		g_bytes_unref(f[i]);
	g_ptr_array_unref(g.envs);
}

static void test_seal_mac(void)
{
	seal_case(false);
}

static void test_seal_encrypt(void)
{
	seal_case(true);
}

/* ---- loopback ------------------------------------------------------------- */

#define SECRET "0123456789abcdef-wire-test"

typedef struct side side;
typedef struct world world;

struct side {
	world *w;
	dipc_conn *c;
	int ready, closed, close_err, requests, notifies;
	bool close_on_first_request;
};

typedef struct call_rec {
	int runs, err;
	int32_t id, perr;
} call_rec;

struct world {
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_timer_t check, deadline;
	dipc_conf *srv_conf, *cli_conf;
	side srv[8], cli[8];
	int n_srv, accept_null;
	bool (*pred)(world *w);
	call_rec calls[8];
	bool close_srv_on_request;
	uint64_t until;
	char hostport[64];
};

static char *tmpdir;
/* Timings: heartbeat HB ms, dead after DEAD ms.  DIPC_TEST_SLOW=N multiplies
 * them (for valgrind). */
static unsigned slow = 1;
#define HB (50 * slow)
#define DEAD (150 * slow)

/* cluster_extra and limits_extra: more lines for those groups. */
static dipc_conf *make_conf_ex(const char *secret, const char *allowed, unsigned max_conn,
			       const char *cluster_extra, const char *limits_extra)
{
	static unsigned n;
	g_autofree char *path = g_strdup_printf("%s/w%u.conf", tmpdir, n++);
	g_autofree char *text = g_strdup_printf(
		"[cluster]\nsecret = %s\nreferee = 127.0.0.1:1\nallowed_hosts = %s\n"
		"heartbeat_ms = %u\ndead_after_ms = %u\n%s"
		"[limits]\nmax_connections = %u\n%s",
		secret, allowed, HB, DEAD, cluster_extra, max_conn, limits_extra);
	GError *e = NULL;
	dipc_conf *c;

	g_assert_true(g_file_set_contents(path, text, -1, &e));
	c = dipc_conf_load(path, NULL, false, &e);
	g_assert_no_error(e);
	g_unlink(path);
	return c;
}

static dipc_conf *make_conf(const char *secret, const char *allowed, unsigned max_conn)
{
	return make_conf_ex(secret, allowed, max_conn, "", "");
}

static void s_ready(dipc_conn *c, void *ud)
{
	side *s = ud;

	s->ready++;
}

static void s_close(dipc_conn *c, int err, void *ud)
{
	side *s = ud;

	s->closed++;
	s->close_err = err;
	s->c = NULL;
}

/* The server: Lookup{key} -> LookupReply{id = key + 1}; key 999: close
 * instead; key 998: never answer; key 997: answer twice. */
static void s_request(dipc_conn *c, Dipc__Envelope *env, void *ud)
{
	side *s = ud;
	Dipc__Envelope out = DIPC__ENVELOPE__INIT;
	Dipc__LookupReply lr = DIPC__LOOKUP_REPLY__INIT;

	s->requests++;
	if (env->req_id == 0)
		s->notifies++;
	if (s->close_on_first_request) {
		dipc_conn_close(c, 0);
		return;
	}
	if (env->body_case != DIPC__ENVELOPE__BODY_LOOKUP || env->req_id == 0)
		return;
	g_assert_nonnull(env->caller);
	g_assert_cmpstr(env->caller->user, ==, "alice");
	if (env->lookup->key == 999) {
		dipc_conn_close(c, 0);
		return;
	}
	if (env->lookup->key == 998)
		return;
	lr.id = env->lookup->key + 1;
	out.body_case = DIPC__ENVELOPE__BODY_LOOKUP_REPLY;
	out.lookup_reply = &lr;
	g_assert_cmpint(dipc_conn_reply(c, env->req_id, &out), ==, 0);
	if (env->lookup->key == 997) /* the second reply must be ignored */
		g_assert_cmpint(dipc_conn_reply(c, env->req_id, &out), ==, 0);
}

static const dipc_conn_ops side_ops = {
	.on_ready = s_ready,
	.on_request = s_request,
	.on_close = s_close,
};

static void on_conn(uv_stream_t *server, int status)
{
	world *w = server->data;
	side *s = &w->srv[w->n_srv];
	dipc_conn_params p = {
		.loop = &w->loop,
		.conf = w->srv_conf,
		.role = "referee",
		.name = "referee",
		.listen = "",
		.ops = &side_ops,
		.ud = s,
	};

	g_assert_cmpint(status, ==, 0);
	g_assert_cmpint(w->n_srv, <, (int)G_N_ELEMENTS(w->srv));
	s->w = w;
	s->close_on_first_request = w->close_srv_on_request;
	s->c = dipc_conn_accept(&p, server);
	if (s->c)
		w->n_srv++;
	else
		w->accept_null++;
}

static void world_init(world *w, dipc_conf *srv, dipc_conf *cli)
{
	struct sockaddr_in sa;
	struct sockaddr_storage bound;
	int len = sizeof(bound);

	memset(w, 0, sizeof(*w));
	w->srv_conf = srv;
	w->cli_conf = cli;
	g_assert_cmpint(uv_loop_init(&w->loop), ==, 0);
	uv_tcp_init(&w->loop, &w->listener);
	w->listener.data = w;
	uv_ip4_addr("127.0.0.1", 0, &sa);
	g_assert_cmpint(uv_tcp_bind(&w->listener, (struct sockaddr *)&sa, 0), ==, 0);
	g_assert_cmpint(uv_listen((uv_stream_t *)&w->listener, 16, on_conn), ==, 0);
	uv_tcp_getsockname(&w->listener, (struct sockaddr *)&bound, &len);
	g_snprintf(w->hostport, sizeof(w->hostport), "127.0.0.1:%u",
		   ntohs(((struct sockaddr_in *)&bound)->sin_port));
	uv_timer_init(&w->loop, &w->check);
	uv_timer_init(&w->loop, &w->deadline);
	w->check.data = w->deadline.data = w;
}

static dipc_conn *client(world *w, int i, const char *name)
{
	dipc_conn_params p = {
		.loop = &w->loop,
		.conf = w->cli_conf,
		.role = "node",
		.name = name,
		.listen = "127.0.0.1:9",
		.ops = &side_ops,
		.ud = &w->cli[i],
	};

	w->cli[i].w = w;
	w->cli[i].c = dipc_conn_connect(&p, w->hostport);
	g_assert_nonnull(w->cli[i].c);
	return w->cli[i].c;
}

static void check_cb(uv_timer_t *t)
{
	world *w = t->data;

	if (w->pred(w))
		uv_stop(&w->loop);
}

static void deadline_cb(uv_timer_t *t)
{
	g_error("condition not reached in time");
}

/* Run the loop until pred holds (checked every 2 ms), at most timeout_ms. */
static void run_until(world *w, bool (*pred)(world *w), unsigned timeout_ms)
{
	w->pred = pred;
	uv_timer_start(&w->check, check_cb, 2, 2);
	uv_timer_start(&w->deadline, deadline_cb, timeout_ms * slow, 0);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&w->check);
	uv_timer_stop(&w->deadline);
}

static void world_done(world *w)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(w->cli); i++)
		if (w->cli[i].c)
			dipc_conn_close(w->cli[i].c, 0);
	for (unsigned i = 0; i < G_N_ELEMENTS(w->srv); i++)
		if (w->srv[i].c)
			dipc_conn_close(w->srv[i].c, 0);
	uv_close((uv_handle_t *)&w->listener, NULL);
	uv_close((uv_handle_t *)&w->check, NULL);
	uv_close((uv_handle_t *)&w->deadline, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	/* Every handle of every connection was closed and freed. */
	g_assert_cmpint(uv_loop_close(&w->loop), ==, 0);
	dipc_conf_free(w->srv_conf);
	if (w->cli_conf != w->srv_conf)
		dipc_conf_free(w->cli_conf);
}

static void reply_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	call_rec *r = ud;

	r->runs++;
	r->err = err;
	if (reply) {
		g_assert_cmpint(err, ==, 0);
		g_assert_true(reply->reply);
		r->perr = reply->err;
		if (reply->body_case == DIPC__ENVELOPE__BODY_LOOKUP_REPLY)
			r->id = reply->lookup_reply->id;
	} else {
		g_assert_cmpint(err, <, 0);
	}
}

static int64_t call_lookup(dipc_conn *c, int key, unsigned timeout, call_rec *r)
{
	Dipc__Envelope *env = make_lookup(0, 1, key);
	int64_t id = dipc_conn_call(c, env, timeout, reply_cb, r);

	free_lookup(env);
	return id;
}

static bool both_ready(world *w)
{
	return w->cli[0].ready && w->n_srv == 1 && w->srv[0].ready;
}

static bool calls_done_3(world *w)
{
	return w->calls[0].runs && w->calls[1].runs && w->calls[2].runs;
}

static bool all_closed(world *w)
{
	return w->cli[0].closed && (w->n_srv == 0 || w->srv[0].closed);
}

static bool idle_long(world *w)
{
	return uv_now(&w->loop) >= w->until;
}

static void test_conn_ok(void)
{
	world w;
	int64_t id;

	world_init(&w, make_conf(SECRET, "127.0.0.0/8", 16), make_conf(SECRET, "127.0.0.0/8", 16));
	client(&w, 0, "n1");
	/* Not ready yet: calls are refused. */
	g_assert_cmpint(call_lookup(w.cli[0].c, 1, 0, &w.calls[7]), <, 0);
	run_until(&w, both_ready, 3000);
	g_assert_cmpstr(dipc_conn_peer_name(w.cli[0].c), ==, "referee");
	g_assert_cmpstr(dipc_conn_peer_role(w.cli[0].c), ==, "referee");
	g_assert_cmpstr(dipc_conn_peer_name(w.srv[0].c), ==, "n1");
	g_assert_cmpstr(dipc_conn_peer_role(w.srv[0].c), ==, "node");
	g_assert_cmpstr(dipc_conn_peer_listen(w.srv[0].c), ==, "127.0.0.1:9");
	g_assert_true(g_str_has_prefix(dipc_conn_peer_addr(w.srv[0].c), "127.0.0.1:"));
	g_assert_true(dipc_conn_ready(w.cli[0].c));

	/* A call and its reply; a reply sent twice runs the callback once; a
	 * call without answer times out. */
	id = call_lookup(w.cli[0].c, 41, 1000, &w.calls[0]);
	g_assert_cmpint(id, ==, 1);
	g_assert_cmpint(call_lookup(w.cli[0].c, 997, 0, &w.calls[1]), ==, 2);
	g_assert_cmpint(call_lookup(w.cli[0].c, 998, 2 * HB, &w.calls[2]), ==, 3);
	/* A forgotten call never runs. */
	id = call_lookup(w.cli[0].c, 5, 0, &w.calls[6]);
	dipc_conn_forget(w.cli[0].c, id);
	run_until(&w, calls_done_3, 3000);
	g_assert_cmpint(w.calls[0].runs, ==, 1);
	g_assert_cmpint(w.calls[0].err, ==, 0);
	g_assert_cmpint(w.calls[0].id, ==, 42);
	g_assert_cmpint(w.calls[1].runs, ==, 1);
	g_assert_cmpint(w.calls[1].id, ==, 998);
	g_assert_cmpint(w.calls[2].runs, ==, 1);
	g_assert_cmpint(w.calls[2].err, ==, -ETIMEDOUT);
	g_assert_cmpint(w.calls[6].runs, ==, 0);
	g_assert_cmpint(w.calls[7].runs, ==, 0);

	/* An error reply. */
	g_assert_cmpint(dipc_conn_reply_err(w.srv[0].c, 12345, ENOENT), ==, 0);

	/* Idle for 3 * dead_after_ms: heartbeats keep both ends alive. */
	w.until = uv_now(&w.loop) + 3 * DEAD;
	run_until(&w, idle_long, 3000);
	g_assert_cmpint(w.cli[0].closed, ==, 0);
	g_assert_cmpint(w.srv[0].closed, ==, 0);
	g_assert_cmpint(w.cli[0].ready, ==, 1);

	/* The server dies: the client's outstanding call fails once, and the
	 * client is closed. */
	g_assert_cmpint(call_lookup(w.cli[0].c, 998, 0, &w.calls[3]), >, 0);
	g_assert_cmpint(call_lookup(w.cli[0].c, 999, 0, &w.calls[4]), >, 0);
	run_until(&w, all_closed, 3000);
	g_assert_cmpint(w.calls[3].runs, ==, 1);
	g_assert_cmpint(w.calls[3].err, <, 0);
	g_assert_cmpint(w.calls[4].runs, ==, 1);
	g_assert_cmpint(w.calls[4].err, <, 0);
	g_assert_cmpint(w.cli[0].closed, ==, 1);
	g_assert_cmpint(w.srv[0].closed, ==, 1);
	g_assert_cmpint(w.srv[0].close_err, ==, 0); /* closed by itself */
	g_assert_cmpint(w.cli[0].close_err, <, 0);
	world_done(&w);
}

static void test_conn_bad_secret(void)
{
	world w;

	world_init(&w, make_conf(SECRET, "127.0.0.0/8", 16),
		   make_conf("another-secret-0123456789", "127.0.0.0/8", 16));
	client(&w, 0, "n1");
	run_until(&w, all_closed, 3000);
	g_assert_cmpint(w.n_srv, ==, 1);
	g_assert_cmpint(w.cli[0].ready, ==, 0);
	g_assert_cmpint(w.srv[0].ready, ==, 0);
	g_assert_cmpint(w.cli[0].closed, ==, 1);
	g_assert_cmpint(w.srv[0].closed, ==, 1);
	g_assert_cmpint(w.cli[0].close_err, <, 0);
	g_assert_cmpint(w.srv[0].close_err, <, 0);
	g_assert_true(w.cli[0].close_err == -EACCES || w.srv[0].close_err == -EACCES);
	world_done(&w);
}

static bool first_closed(world *w)
{
	return w->cli[0].closed;
}

static void test_conn_not_allowed(void)
{
	world w;

	world_init(&w, make_conf(SECRET, "10.0.0.0/8, ::1", 16),
		   make_conf(SECRET, "127.0.0.0/8", 16));
	client(&w, 0, "n1");
	run_until(&w, first_closed, 3000);
	g_assert_cmpint(w.accept_null, ==, 1);
	g_assert_cmpint(w.n_srv, ==, 0);
	g_assert_cmpint(w.cli[0].ready, ==, 0);
	g_assert_cmpint(w.cli[0].close_err, <, 0);
	world_done(&w);
}

static bool two_ready_one_refused(world *w)
{
	return w->cli[0].ready && w->cli[1].ready && w->cli[2].closed && w->accept_null == 1;
}

static bool two_ready(world *w)
{
	return w->cli[0].ready && w->cli[1].ready && w->n_srv == 2 && w->srv[0].ready &&
	       w->srv[1].ready;
}

static bool fourth_ready(world *w)
{
	return w->cli[3].ready;
}

static void test_conn_max_connections(void)
{
	world w;

	world_init(&w, make_conf(SECRET, "127.0.0.0/8", 2), make_conf(SECRET, "127.0.0.0/8", 2));
	client(&w, 0, "n1");
	client(&w, 1, "n2");
	run_until(&w, two_ready, 3000);
	client(&w, 2, "n3");
	run_until(&w, two_ready_one_refused, 3000);
	g_assert_cmpint(w.n_srv, ==, 2);
	g_assert_cmpint(w.cli[2].ready, ==, 0);
	/* A closed connection frees its place. */
	dipc_conn_close(w.cli[0].c, 0);
	run_until(&w, all_closed, 3000);
	client(&w, 3, "n4");
	run_until(&w, fourth_ready, 3000);
	g_assert_cmpint(w.n_srv, ==, 3);
	g_assert_cmpint(w.accept_null, ==, 1);
	world_done(&w);
}

static bool srv_closed(world *w)
{
	return w->n_srv == 1 && w->srv[0].closed && w->cli[0].closed;
}

/* Three notifications arrive in one read; the server closes on the first:
 * it must not see the other two (nor crash). */
static void test_conn_close_mid_batch(void)
{
	world w;
	Dipc__Envelope *env;

	world_init(&w, make_conf(SECRET, "127.0.0.0/8", 16), make_conf(SECRET, "127.0.0.0/8", 16));
	client(&w, 0, "n1");
	run_until(&w, both_ready, 3000);
	w.srv[0].close_on_first_request = true;
	env = make_lookup(0, 1, 1);
	for (int i = 0; i < 3; i++)
		g_assert_cmpint(dipc_conn_notify(w.cli[0].c, env), ==, 0);
	g_assert_cmpint(call_lookup(w.cli[0].c, 1, 0, &w.calls[0]), >, 0);
	free_lookup(env);
	run_until(&w, srv_closed, 3000);
	g_assert_cmpint(w.srv[0].requests, ==, 1);
	g_assert_cmpint(w.srv[0].closed, ==, 1);
	g_assert_cmpint(w.calls[0].runs, ==, 1);
	g_assert_cmpint(w.calls[0].err, <, 0);
	world_done(&w);
}

/* A client that connects and says nothing is dropped after dead_after_ms. */
typedef struct raw {
	uv_tcp_t tcp;
	uv_connect_t req;
	bool connected, eof;
} raw;

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char b[4096];

	*buf = uv_buf_init(b, sizeof(b));
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	raw *r = s->data;

	if (n < 0)
		r->eof = true;
}

static void raw_connected(uv_connect_t *req, int status)
{
	raw *r = req->data;

	g_assert_cmpint(status, ==, 0);
	r->connected = true;
	uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
}

static raw *the_raw;

static bool raw_dropped(world *w)
{
	return the_raw->eof && w->n_srv == 1 && w->srv[0].closed;
}

static void test_conn_handshake_timeout(void)
{
	world w;
	raw r = { 0 };
	struct sockaddr_in sa;
	uint64_t t0;

	world_init(&w, make_conf(SECRET, "127.0.0.0/8", 16), make_conf(SECRET, "127.0.0.0/8", 16));
	uv_tcp_init(&w.loop, &r.tcp);
	r.tcp.data = r.req.data = &r;
	uv_ip4_addr("127.0.0.1", atoi(strrchr(w.hostport, ':') + 1), &sa);
	uv_tcp_connect(&r.req, &r.tcp, (struct sockaddr *)&sa, raw_connected);
	the_raw = &r;
	t0 = uv_now(&w.loop);
	run_until(&w, raw_dropped, 3000);
	g_assert_cmpint(w.srv[0].close_err, ==, -ETIMEDOUT);
	g_assert_cmpint(w.srv[0].ready, ==, 0);
	g_assert_cmpuint(uv_now(&w.loop) - t0, >=, DEAD - 10);
	uv_close((uv_handle_t *)&r.tcp, NULL);
	world_done(&w);
}


/* Both ends with [cluster] encrypt = yes talk; one end without is refused
 * at the handshake with a line that says why. */
static bool both_closed(world *w)
{
	return w->cli[0].closed && w->n_srv == 1 && w->srv[0].closed;
}

static void test_conn_encrypt(void)
{
	world w;

	world_init(&w, make_conf_ex(SECRET, "127.0.0.0/8", 16, "encrypt = yes\n", ""),
		   make_conf_ex(SECRET, "127.0.0.0/8", 16, "encrypt = yes\n", ""));
	client(&w, 0, "n1");
	run_until(&w, both_ready, 3000);
	g_assert_cmpint(call_lookup(w.cli[0].c, 41, 1000, &w.calls[0]), ==, 1);
	g_assert_cmpint(call_lookup(w.cli[0].c, 43, 1000, &w.calls[1]), ==, 2);
	g_assert_cmpint(call_lookup(w.cli[0].c, 45, 1000, &w.calls[2]), ==, 3);
	run_until(&w, calls_done_3, 3000);
	g_assert_cmpint(w.calls[0].id, ==, 42);
	g_assert_cmpint(w.calls[2].id, ==, 46);
	world_done(&w);

	world_init(&w, make_conf_ex(SECRET, "127.0.0.0/8", 16, "encrypt = yes\n", ""),
		   make_conf(SECRET, "127.0.0.0/8", 16));
	client(&w, 0, "n1");
	run_until(&w, both_closed, 3000);
	g_assert_cmpint(w.cli[0].ready, ==, 0);
	g_assert_cmpint(w.srv[0].ready, ==, 0);
	g_assert_cmpint(w.srv[0].close_err, ==, -EACCES);
	world_done(&w);
}

/* max_conn_per_host: idle strangers from one address are evicted oldest
 * first, and a real peer from the same address gets in and stays. */
static raw flood[3];

static bool flood_connected(world *w)
{
	return flood[0].connected && flood[1].connected && flood[2].connected &&
	       w->n_srv == 3;
}

static bool peer_in_first_out(world *w)
{
	return w->cli[0].ready && w->srv[3].ready && flood[0].eof;
}

static dipc_conf *make_conf_long_ex(const char *limits_extra)
{
	g_autofree char *path = g_strdup_printf("%s/long.conf", tmpdir);
	g_autofree char *text = g_strdup_printf(
		"[cluster]\nsecret = %s\nreferee = 127.0.0.1:1\n"
		"heartbeat_ms = 1000\ndead_after_ms = 10000\nhandshake_ms = 10000\n"
		"[limits]\n%s", SECRET, limits_extra);
	GError *e = NULL;
	dipc_conf *c;

	g_assert_true(g_file_set_contents(path, text, -1, &e));
	c = dipc_conf_load(path, NULL, false, &e);
	g_assert_no_error(e);
	g_unlink(path);
	return c;
}

static bool flood_upto_0(world *w)
{
	return w->n_srv >= 1;
}

static bool flood_upto_1(world *w)
{
	return w->n_srv >= 2;
}

static bool flood_upto_2(world *w)
{
	return w->n_srv >= 3;
}

static bool (*const flood_connected_upto[3])(world *w) = {
	flood_upto_0, flood_upto_1, flood_upto_2,
};

static void test_conn_per_host(void)
{
	world w;
	struct sockaddr_in sa;

	/* The server's timings are long: strangers must not time out first. */
	world_init(&w, make_conf_long_ex("max_conn_per_host = 3\n"),
		   make_conf(SECRET, "127.0.0.0/8", 16));
	uv_ip4_addr("127.0.0.1", atoi(strrchr(w.hostport, ':') + 1), &sa);
	memset(flood, 0, sizeof(flood));
	for (int i = 0; i < 3; i++) {
		uv_tcp_init(&w.loop, &flood[i].tcp);
		flood[i].tcp.data = flood[i].req.data = &flood[i];
		uv_tcp_connect(&flood[i].req, &flood[i].tcp, (struct sockaddr *)&sa,
			       raw_connected);
		/* One at a time, so that "oldest" is flood[0]. */
		run_until(&w, flood_connected_upto[i], 3000);
	}
	run_until(&w, flood_connected, 3000);
	client(&w, 0, "n1");
	run_until(&w, peer_in_first_out, 3000);
	g_assert_false(flood[1].eof);
	g_assert_false(flood[2].eof);
	g_assert_cmpint(w.srv[0].close_err, ==, -ECONNREFUSED);
	for (int i = 0; i < 3; i++)
		uv_close((uv_handle_t *)&flood[i].tcp, NULL);
	world_done(&w);
}

static dipc_conf *make_conf_timed(unsigned hb, unsigned dead)
{
	g_autofree char *path = g_strdup_printf("%s/timed.conf", tmpdir);
	g_autofree char *text = g_strdup_printf(
		"[cluster]\nsecret = %s\nreferee = 127.0.0.1:1\n"
		"heartbeat_ms = %u\ndead_after_ms = %u\n", SECRET, hb, dead);
	GError *e = NULL;
	dipc_conf *c;

	g_assert_true(g_file_set_contents(path, text, -1, &e));
	c = dipc_conf_load(path, NULL, false, &e);
	g_assert_no_error(e);
	g_unlink(path);
	return c;
}

static bool cli_ready(world *w)
{
	return w->cli[0].ready || w->cli[0].closed;
}

static void stall_cb(uv_timer_t *t)
{
	world *w = t->data;

	/* Block the loop for 3 * DEAD: the peer's pings pile up unread. */
	g_usleep(3 * DEAD * 1000);
	w->until = 0;
}

/* A peer in another process keeps talking while our loop is held up for
 * longer than dead_after_ms: when the loop runs again, its timers fire before
 * its reads, and the connection must survive. */
static void test_conn_stall(void)
{
	world w;
	int sv[2];
	pid_t pid;
	char port[16] = "";

	g_assert_cmpint(pipe(sv), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		/* Never outlive the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(30);
		/* The peer: patient (dead after 20 * DEAD), pings every HB. */
		world_init(&w, make_conf_timed(HB, 20 * DEAD), NULL);
		if (write(sv[1], w.hostport, strlen(w.hostport) + 1) < 0)
			_exit(2);
		uv_run(&w.loop, UV_RUN_DEFAULT); /* until killed */
		_exit(0);
	}
	g_assert_cmpint(read(sv[0], port, sizeof(port)), >, 0);
	close(sv[0]);
	close(sv[1]);

	memset(&w, 0, sizeof(w));
	uv_loop_init(&w.loop);
	w.cli_conf = w.srv_conf = make_conf_timed(HB, DEAD);
	uv_tcp_init(&w.loop, &w.listener);
	uv_timer_init(&w.loop, &w.check);
	uv_timer_init(&w.loop, &w.deadline);
	w.check.data = w.deadline.data = &w;
	g_strlcpy(w.hostport, port, sizeof(w.hostport));
	client(&w, 0, "n1");
	run_until(&w, cli_ready, 3000);
	g_assert_cmpint(w.cli[0].ready, ==, 1);
	{
		uv_timer_t stall;

		uv_timer_init(&w.loop, &stall);
		stall.data = &w;
		uv_timer_start(&stall, stall_cb, 1, 0);
		w.until = 1;
		while (w.until)
			uv_run(&w.loop, UV_RUN_ONCE);
		uv_close((uv_handle_t *)&stall, NULL);
	}
	/* A little while after: still alive. */
	w.until = uv_now(&w.loop) + 2 * DEAD;
	run_until(&w, idle_long, 3000);
	g_assert_cmpint(w.cli[0].closed, ==, 0);
	g_assert_true(dipc_conn_ready(w.cli[0].c));

	kill(pid, SIGKILL);
	g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
	/* And a dead peer is noticed. */
	run_until(&w, first_closed, 3000);
	g_assert_cmpint(w.cli[0].close_err, <, 0);
	world_done(&w);
}

static void test_conn_refused(void)
{
	world w;

	world_init(&w, make_conf(SECRET, "127.0.0.0/8", 16), make_conf(SECRET, "127.0.0.0/8", 16));
	/* Nothing listens on port 1 of localhost (for an unprivileged test). */
	g_strlcpy(w.hostport, "127.0.0.1:1", sizeof(w.hostport));
	client(&w, 0, "n1");
	run_until(&w, first_closed, 3000);
	g_assert_cmpint(w.cli[0].ready, ==, 0);
	g_assert_cmpint(w.cli[0].close_err, <, 0);
	/* Bad arguments: NULL, not "connection refused later". */
	{
		dipc_conn_params p = { .loop = &w.loop, .conf = w.cli_conf, .role = "node",
				       .name = "x", .ops = &side_ops };

		g_assert_null(dipc_conn_connect(&p, "127.0.0.1"));
		g_assert_null(dipc_conn_connect(&p, "127.0.0.1:0"));
		g_assert_null(dipc_conn_connect(&p, "::1:80"));
		p.role = "king";
		g_assert_null(dipc_conn_connect(&p, "127.0.0.1:80"));
	}
	world_done(&w);
}

/* ---- host:port ------------------------------------------------------------ */

static void expect_split(const char *s, const char *want_host, unsigned want_port)
{
	g_autofree char *host = NULL;
	const char *why = NULL;
	unsigned port = 0;

	g_assert_cmpint(dipc_split_hostport(s, &host, &port, &why), ==, 0);
	g_assert_cmpstr(host, ==, want_host);
	g_assert_cmpuint(port, ==, want_port);
}

static void expect_no_split(const char *s)
{
	char *host = (char *)"untouched";
	const char *why = NULL;
	unsigned port = 7;

	g_assert_cmpint(dipc_split_hostport(s, &host, &port, &why), ==, -EINVAL);
	g_assert_nonnull(why);
	g_assert_cmpstr(host, ==, "untouched");
	g_assert_cmpuint(port, ==, 7);
}

static void test_hostport(void)
{
	g_autofree char *j4 = dipc_join_hostport("10.0.0.1", 7000);
	g_autofree char *j6 = dipc_join_hostport("fe80::1", 7000);

	expect_split("127.0.0.1:80", "127.0.0.1", 80);
	expect_split("[::1]:65535", "::1", 65535);
	expect_split("node-a.example:7001", "node-a.example", 7001);
	expect_split("[127.0.0.1]:80", "127.0.0.1", 80); /* syntax only */
	expect_split("h:000080", "h", 80);
	expect_no_split(NULL);
	expect_no_split("");
	expect_no_split("127.0.0.1");
	expect_no_split("::1:80");
	expect_no_split("[::1:80");
	expect_no_split("[::1]80");
	expect_no_split(":80");
	expect_no_split("[]:80");
	expect_no_split("h:");
	expect_no_split("h:0");
	expect_no_split("h:65536");
	expect_no_split("h:+80");
	expect_no_split("h:80x");
	expect_no_split("h:99999999999999999999");
	g_assert_cmpstr(j4, ==, "10.0.0.1:7000");
	g_assert_cmpstr(j6, ==, "[fe80::1]:7000");
	g_assert_true(dipc_host_is_wildcard("0.0.0.0"));
	g_assert_true(dipc_host_is_wildcard("::"));
	g_assert_true(dipc_host_is_wildcard("0:0:0:0:0:0:0:0"));
	g_assert_false(dipc_host_is_wildcard("127.0.0.1"));
	g_assert_false(dipc_host_is_wildcard("::1"));
	g_assert_false(dipc_host_is_wildcard("localhost"));
	g_assert_false(dipc_host_is_wildcard(""));
}

int main(int argc, char **argv)
{
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (g_getenv("DIPC_TEST_SLOW"))
		slow = MAX(1, atoi(g_getenv("DIPC_TEST_SLOW")));
	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("dipc-test-wire-XXXXXX", NULL);
	g_test_add_func("/wire/hostport", test_hostport);
	g_test_add_func("/wire/frame/roundtrip", test_frame_roundtrip);
	g_test_add_func("/wire/frame/split", test_frame_split);
	g_test_add_func("/wire/frame/large", test_frame_large);
	g_test_add_func("/wire/frame/bad", test_frame_bad);
	g_test_add_func("/wire/seal/mac", test_seal_mac);
	g_test_add_func("/wire/seal/encrypt", test_seal_encrypt);
	g_test_add_func("/wire/conn/ok", test_conn_ok);
	g_test_add_func("/wire/conn/bad-secret", test_conn_bad_secret);
	g_test_add_func("/wire/conn/not-allowed", test_conn_not_allowed);
	g_test_add_func("/wire/conn/max-connections", test_conn_max_connections);
	g_test_add_func("/wire/conn/close-mid-batch", test_conn_close_mid_batch);
	g_test_add_func("/wire/conn/handshake-timeout", test_conn_handshake_timeout);
	g_test_add_func("/wire/conn/encrypt", test_conn_encrypt);
	g_test_add_func("/wire/conn/per-host", test_conn_per_host);
	g_test_add_func("/wire/conn/refused", test_conn_refused);
	g_test_add_func("/wire/conn/stall", test_conn_stall);
	r = g_test_run();
	g_rmdir(tmpdir);
	g_free(tmpdir);
	return r;
}
