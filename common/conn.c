/* SPDX-License-Identifier: MIT */
/**
 * @file conn.c
 *
 * The transport of dipcfs: framing, handshake, heartbeat and request/reply
 * matching on one TCP connection in a libuv loop.  conn.h has the contract;
 * this note says how it is kept.
 *
 * Framing.  A frame is a 4-byte big-endian length and one packed
 * Dipc__Envelope.  Lengths 0 and above [limits] max_frame are refused
 * (-EMSGSIZE), a body that does not unpack is -EBADMSG; either closes the
 * connection, logged once.  The reader parses frames straight out of the
 * bytes libuv hands it and copies only the tail of a frame that is split
 * across reads.
 *
 * Handshake.  Both sides send Hello at once.  On the peer's Hello a side sends
 * Auth, whose MAC is
 *
 *     HMAC-SHA256(secret, "dipc-auth-v1" 0 side 0 role 0 name 0
 *                         own-nonce peer-nonce)
 *
 * with side "connect" or "accept" and NUL separators.  The NULs make the
 * input unambiguous; the side stops a reflection attack (an impostor feeding
 * one connection's challenge to a second connection to the same daemon and
 * replaying the answer: both answers would come from the accepting side).
 * A peer that claims our own role and name is refused for the same reason.
 * MACs are compared in constant time.  The handshake, TCP connect included,
 * must end within dead_after_ms.
 *
 * Liveness.  One uv_timer_t per connection serves everything that has a
 * deadline: the handshake, the heartbeat (a Ping when nothing was sent for
 * heartbeat_ms), the silence limit (nothing received for dead_after_ms) and
 * per-call time-outs (a GSequence ordered by deadline).  It is re-armed
 * lazily: sending or receiving only records uv_now(), and a timer that fires
 * early just computes the next deadline.  No syscall per message beyond the
 * write itself.
 *
 * Writes.  A frame is packed on the stack when small and written with
 * uv_try_write(); only what the kernel does not take is copied into a
 * uv_write() request.  Bytes queued that way are capped (WRITE_QUEUE_MAX):
 * a peer that does not read is closed (-ENOBUFS) rather than allowed to
 * grow our memory.
 *
 * Closing.  dipc_conn_close() is safe from any callback.  It fails every
 * outstanding call once (ascending req_id), runs on_close, and uv_close()s
 * the handles; the struct is freed in the last close callback (plus a
 * pending getaddrinfo, if any), so it stays valid until the current callback
 * returns.  Frame processing checks after every delivered frame whether the
 * callback closed the connection and stops there.  Errors found while the
 * caller is inside one of our functions (a failed write from
 * dipc_conn_call(), say) close the connection from the timer instead, so
 * on_close never runs nested in a call the caller made.
 */
#define G_LOG_DOMAIN "dipc"

#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#define WIRE_VERSION 1
#define NONCE_LEN 32
#define MAC_LEN 32
#define NAME_MAX_LEN 255
#define WRITE_QUEUE_MAX (64u << 20)
#define SMALL_FRAME 4096
/* Until the peer has proved it knows the secret it may only send Hello and
 * Auth, which are small: do not let it make us allocate max_frame. */
#define HANDSHAKE_MAX_FRAME 4096
#define READ_BUF_SIZE 65536
/* The reader gives back a big buffer after a big frame. */
#define READER_KEEP 65536
/* Outstanding calls beyond the parked limit: room for non-parking calls. */
#define CALLS_SLACK 1024

enum conn_state {
	ST_CONNECTING, /* resolving or TCP connect in progress */
	ST_HANDSHAKE,  /* Hello/Auth */
	ST_READY,
	ST_CLOSED,     /* dipc_conn_close() ran; waiting for uv_close callbacks */
};

typedef struct call {
	int64_t req_id; /* hash key */
	dipc_conn_reply_cb cb;
	void *ud;
	uint64_t deadline;  /* uv_now() ms; 0: none */
	GSequenceIter *tmo; /* in c->deadlines, or NULL */
} call;

struct dipc_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect_req;
	uv_getaddrinfo_t gai_req;
	uv_loop_t *loop;
	const dipc_conf *conf;
	const dipc_conn_ops *ops;
	void *ud;

	enum conn_state state;
	bool acceptor;
	bool counted; /* in n_accepted */
	bool has_timer;
	bool resolving; /* gai_req in flight */
	int pending;  /* uv_close callbacks + getaddrinfo still to come */
	int deferred_err;

	char *role, *name, *listen; /* ours */
	uint8_t nonce[NONCE_LEN];

	bool got_hello;
	char *peer_role, *peer_name, *peer_listen;
	uint8_t peer_nonce[NONCE_LEN];
	char peer_addr[INET6_ADDRSTRLEN + 16];
	char *target; /* connect: "host:port" as given */

	dipc_frame_reader rd;
	uint64_t last_rx, last_tx, hs_deadline, timer_due;
	uint64_t ping_seq;

	GHashTable *calls;    /* int64 req_id -> call* */
	GSequence *deadlines; /* call* ordered by (deadline, req_id) */
	int64_t next_req_id;
	unsigned max_calls;

	size_t queued; /* bytes in uv_write requests */
};

typedef struct wreq {
	uv_write_t req;
	dipc_conn *c;
	size_t len;
	uint8_t data[];
} wreq;

/* Accepted connections alive in this process, for [limits] max_connections.
 * The daemons run one loop in one thread, which is what this counter needs. */
static unsigned n_accepted;

static void conn_on_timer(uv_timer_t *t);
static void conn_rearm(dipc_conn *c);

/* libuv reports errno values negated, plus a few of its own. */
static int uv_to_errno(int r)
{
	if (r == UV_EOF)
		return -ECONNRESET;
	if (r <= UV__EAI_ADDRFAMILY && r >= -3100)
		return -EHOSTUNREACH;
	return r;
}

/* ---- framing -------------------------------------------------------------- */

uint8_t *dipc_frame_pack(const Dipc__Envelope *env, size_t *ret_len)
{
	size_t body = dipc__envelope__get_packed_size(env);
	uint8_t *buf;

	if (body > UINT32_MAX)
		return NULL;
	buf = g_malloc(body + 4);
	buf[0] = (uint8_t)(body >> 24);
	buf[1] = (uint8_t)(body >> 16);
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	dipc__envelope__pack(env, buf + 4);
	*ret_len = body + 4;
	return buf;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t reader_max(const dipc_frame_reader *r)
{
	return r->max_frame ? r->max_frame : 1048576;
}

static int deliver(const uint8_t *body, size_t len,
		   int (*fn)(Dipc__Envelope *env, void *ud), void *ud)
{
	Dipc__Envelope *env = dipc__envelope__unpack(NULL, len, body);
	int r;

	if (!env)
		return -EBADMSG;
	r = fn(env, ud);
	dipc__envelope__free_unpacked(env, NULL);
	return r;
}

/* Grow with the bytes that actually arrived, not with the length a peer
 * announces: a frame header alone does not buy a max_frame buffer. */
static void reader_reserve(dipc_frame_reader *r, size_t need)
{
	if (r->cap >= need)
		return;
	r->cap = MAX(need, MAX(r->cap * 2, (size_t)256));
	r->buf = g_realloc(r->buf, r->cap);
}

/* Returns 0, -EMSGSIZE, -EBADMSG, or what fn returned if it was not 0 (which
 * stops the feed; the unread rest of the input is dropped). */
int dipc_frame_feed(dipc_frame_reader *r, const uint8_t *data, size_t n,
		    int (*fn)(Dipc__Envelope *env, void *ud), void *ud)
{
	int ret;

	while (n > 0) {
		uint32_t flen;

		if (r->len == 0) {
			/* Fast path: whole frames straight from the input. */
			if (n < 4) {
				reader_reserve(r, 4);
				memcpy(r->buf, data, n);
				r->len = n;
				return 0;
			}
			flen = be32(data);
			if (flen == 0 || flen > reader_max(r))
				return -EMSGSIZE;
			if (n - 4 >= flen) {
				ret = deliver(data + 4, flen, fn, ud);
				if (ret != 0)
					return ret;
				data += 4 + (size_t)flen;
				n -= 4 + (size_t)flen;
				continue;
			}
			reader_reserve(r, n);
			memcpy(r->buf, data, n);
			r->len = n;
			return 0;
		}

		/* A frame begun in an earlier read. */
		if (r->len < 4) {
			size_t take = MIN(4 - r->len, n);

			memcpy(r->buf + r->len, data, take);
			r->len += take;
			data += take;
			n -= take;
			if (r->len < 4)
				return 0;
		}
		flen = be32(r->buf);
		if (flen == 0 || flen > reader_max(r)) {
			r->len = 0;
			return -EMSGSIZE;
		}
		{
			size_t take = MIN(4 + (size_t)flen - r->len, n);

			reader_reserve(r, r->len + take);
			memcpy(r->buf + r->len, data, take);
			r->len += take;
			data += take;
			n -= take;
		}
		if (r->len < 4 + (size_t)flen)
			return 0;
		r->len = 0;
		ret = deliver(r->buf + 4, flen, fn, ud);
		if (r->cap > READER_KEEP) {
			g_free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
		if (ret != 0)
			return ret;
	}
	return 0;
}

void dipc_frame_reader_clear(dipc_frame_reader *r)
{
	g_free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

/* ---- life cycle ----------------------------------------------------------- */

static void conn_free(dipc_conn *c)
{
	dipc_frame_reader_clear(&c->rd);
	if (c->calls)
		g_hash_table_destroy(c->calls);
	if (c->deadlines)
		g_sequence_free(c->deadlines);
	g_free(c->role);
	g_free(c->name);
	g_free(c->listen);
	g_free(c->peer_role);
	g_free(c->peer_name);
	g_free(c->peer_listen);
	g_free(c->target);
	g_free(c);
}

static void conn_unpend(dipc_conn *c)
{
	if (--c->pending == 0)
		conn_free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	conn_unpend(h->data);
}

static gint call_cmp(gconstpointer a, gconstpointer b, gpointer ud)
{
	const call *x = a, *y = b;

	if (x->deadline != y->deadline)
		return x->deadline < y->deadline ? -1 : 1;
	return x->req_id < y->req_id ? -1 : x->req_id > y->req_id;
}

static bool params_ok(const dipc_conn_params *p)
{
	return p && p->loop && p->conf && p->role && p->name && p->ops &&
	       (strcmp(p->role, "node") == 0 || strcmp(p->role, "referee") == 0) &&
	       *p->name && strlen(p->name) <= NAME_MAX_LEN &&
	       (!p->listen || strlen(p->listen) <= NAME_MAX_LEN);
}

/* A new connection with its TCP handle initialised (and nothing else). */
static dipc_conn *conn_new(const dipc_conn_params *p, bool acceptor)
{
	dipc_conn *c = g_new0(dipc_conn, 1);

	c->loop = p->loop;
	c->conf = p->conf;
	c->ops = p->ops;
	c->ud = p->ud;
	c->acceptor = acceptor;
	c->role = g_strdup(p->role);
	c->name = g_strdup(p->name);
	c->listen = g_strdup(p->listen ? p->listen : "");
	c->rd.max_frame = MIN(p->conf->max_frame, HANDSHAKE_MAX_FRAME);
	c->next_req_id = 1;
	c->max_calls = p->conf->max_parked + CALLS_SLACK;
	c->calls = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
	c->deadlines = g_sequence_new(NULL);
	if (getrandom(c->nonce, sizeof(c->nonce), 0) != (ssize_t)sizeof(c->nonce)) {
		/* getrandom() without GRND_NONBLOCK only fails before the
		 * pool is ready on very old kernels; GLib's generator is seeded
		 * from /dev/urandom. */
		for (size_t i = 0; i < sizeof(c->nonce); i += 4) {
			guint32 v = g_random_int();

			memcpy(c->nonce + i, &v, 4);
		}
	}
	uv_tcp_init(c->loop, &c->tcp);
	c->tcp.data = c;
	c->pending = 1;
	return c;
}

static void conn_start_timer(dipc_conn *c)
{
	uv_timer_init(c->loop, &c->timer);
	c->timer.data = c;
	c->has_timer = true;
	c->pending++;
	uv_update_time(c->loop);
	c->last_rx = c->last_tx = uv_now(c->loop);
	c->hs_deadline = c->last_rx + c->conf->dead_after_ms;
}

static gint int64_cmp(gconstpointer a, gconstpointer b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Every outstanding call fails once, in the order they were made.  A
 * callback may forget calls not yet failed: they stay in the table until
 * their turn, so dipc_conn_forget() still finds them. */
static void fail_calls(dipc_conn *c, int err)
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
		g_hash_table_steal(c->calls, &id);
		if (k->tmo)
			g_sequence_remove(k->tmo);
		if (k->cb)
			k->cb(c, err, NULL, k->ud);
		g_free(k);
	}
	g_array_unref(ids);
}

void dipc_conn_close(dipc_conn *c, int err)
{
	if (!c || c->state == ST_CLOSED)
		return;
	g_debug("connection %s%s%s closing: %s", c->peer_addr,
		c->peer_name ? " " : "", c->peer_name ? c->peer_name : "",
		err ? g_strerror(-err) : "closed locally");
	c->state = ST_CLOSED;
	if (c->counted) { /* its place is free as soon as it closes */
		n_accepted--;
		c->counted = false;
	}
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (c->has_timer)
		uv_timer_stop(&c->timer);
	/* A caller must never see err == 0 together with reply == NULL. */
	fail_calls(c, err ? err : -ECONNABORTED);
	if (c->ops->on_close)
		c->ops->on_close(c, err, c->ud);
	if (c->resolving)
		uv_cancel((uv_req_t *)&c->gai_req); /* on_resolved still runs */
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	if (c->has_timer)
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* Close from the timer: used when an error is found while the caller is
 * inside one of our functions. */
static void conn_close_later(dipc_conn *c, int err)
{
	if (c->state == ST_CLOSED || c->deferred_err)
		return;
	c->deferred_err = err;
	c->timer_due = 0;
	uv_timer_start(&c->timer, conn_on_timer, 0, 0);
}

/* ---- writing -------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
	wreq *w = (wreq *)req;
	dipc_conn *c = w->c;

	c->queued -= w->len;
	g_free(w);
	if (status < 0 && status != UV_ECANCELED)
		dipc_conn_close(c, uv_to_errno(status));
}

static int queue_write(dipc_conn *c, wreq *w, const uint8_t *p, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
	int r;

	w->c = c;
	w->len = len;
	c->queued += len;
	r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (r < 0) {
		c->queued -= len;
		g_free(w);
		return uv_to_errno(r);
	}
	return 0;
}

/* Frame and send env.  Errors that end the connection close it from the
 * timer; the caller gets the error. */
static int conn_send(dipc_conn *c, const Dipc__Envelope *env)
{
	size_t body = dipc__envelope__get_packed_size(env);
	size_t len = body + 4;
	uint8_t small[SMALL_FRAME];
	uint8_t *buf;
	wreq *big = NULL;
	uv_buf_t b;
	int n, r;

	if (c->state == ST_CLOSED)
		return -ENOTCONN;
	if (body == 0 || body > c->conf->max_frame)
		return -EMSGSIZE;
	if (c->queued + len > WRITE_QUEUE_MAX) {
		g_message("peer %s does not read: %zu bytes queued, closing", c->peer_addr,
			  c->queued);
		conn_close_later(c, -ENOBUFS);
		return -ENOBUFS;
	}
	if (len <= sizeof(small)) {
		buf = small;
	} else {
		big = g_malloc(sizeof(wreq) + len);
		buf = big->data;
	}
	buf[0] = (uint8_t)(body >> 24);
	buf[1] = (uint8_t)(body >> 16);
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	dipc__envelope__pack(env, buf + 4);
	c->last_tx = uv_now(c->loop);

	b = uv_buf_init((char *)buf, (unsigned)len);
	n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n == UV_EAGAIN || n == UV_ENOSYS)
		n = 0;
	if (n < 0) {
		g_free(big);
		conn_close_later(c, uv_to_errno(n));
		return uv_to_errno(n);
	}
	if ((size_t)n == len) {
		g_free(big);
		return 0;
	}
	if (big) {
		r = queue_write(c, big, buf + n, len - (size_t)n);
	} else {
		wreq *w = g_malloc(sizeof(wreq) + len - (size_t)n);

		memcpy(w->data, buf + n, len - (size_t)n);
		r = queue_write(c, w, w->data, len - (size_t)n);
	}
	if (r < 0)
		conn_close_later(c, r);
	return r;
}

/* ---- handshake ------------------------------------------------------------ */

static void compute_mac(const dipc_conn *c, bool ours, uint8_t out[MAC_LEN])
{
	static const char label[] = "dipc-auth-v1";
	/* The side of the author of the MAC. */
	bool author_accepts = ours ? c->acceptor : !c->acceptor;
	const char *side = author_accepts ? "accept" : "connect";
	const char *role = ours ? c->role : c->peer_role;
	const char *name = ours ? c->name : c->peer_name;
	const uint8_t *n1 = ours ? c->nonce : c->peer_nonce;
	const uint8_t *n2 = ours ? c->peer_nonce : c->nonce;
	const char *secret = c->conf->secret;
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, (const guchar *)secret, strlen(secret));
	gsize len = MAC_LEN;

	g_hmac_update(h, (const guchar *)label, sizeof(label)); /* with its NUL */
	g_hmac_update(h, (const guchar *)side, strlen(side) + 1);
	g_hmac_update(h, (const guchar *)role, strlen(role) + 1);
	g_hmac_update(h, (const guchar *)name, strlen(name) + 1);
	g_hmac_update(h, n1, NONCE_LEN);
	g_hmac_update(h, n2, NONCE_LEN);
	g_hmac_get_digest(h, out, &len);
	g_hmac_unref(h);
}

static bool const_time_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static int send_hello(dipc_conn *c)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__Hello h = DIPC__HELLO__INIT;

	h.version = WIRE_VERSION;
	h.role = c->role;
	h.name = c->name;
	h.nonce.data = c->nonce;
	h.nonce.len = NONCE_LEN;
	h.listen = c->listen;
	env.body_case = DIPC__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	return conn_send(c, &env);
}

static int send_auth(dipc_conn *c)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__Auth a = DIPC__AUTH__INIT;
	uint8_t mac[MAC_LEN];

	compute_mac(c, true, mac);
	a.mac.data = mac;
	a.mac.len = MAC_LEN;
	env.body_case = DIPC__ENVELOPE__BODY_AUTH;
	env.auth = &a;
	return conn_send(c, &env);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void reject(dipc_conn *c, const char *why)
{
	g_message("rejected peer %s: %s", c->peer_addr, why);
	dipc_conn_close(c, -EACCES);
}

/* Returns false if the connection was closed. */
static bool handle_hello(dipc_conn *c, const Dipc__Hello *h)
{
	if (h->version != WIRE_VERSION) {
		g_autofree char *why = g_strdup_printf("wire protocol version %u, we speak %u",
						       h->version, WIRE_VERSION);
		reject(c, why);
		return false;
	}
	if (strcmp(h->role, "node") != 0 && strcmp(h->role, "referee") != 0) {
		reject(c, "unknown role");
		return false;
	}
	if (!*h->name || strlen(h->name) > NAME_MAX_LEN || !printable(h->name) ||
	    strlen(h->listen) > NAME_MAX_LEN || !printable(h->listen)) {
		reject(c, "malformed name or listen address");
		return false;
	}
	if (h->nonce.len != NONCE_LEN) {
		reject(c, "malformed nonce");
		return false;
	}
	if (strcmp(h->role, c->role) == 0 && strcmp(h->name, c->name) == 0) {
		reject(c, "peer claims our own name");
		return false;
	}
	c->got_hello = true;
	c->peer_role = g_strdup(h->role);
	c->peer_name = g_strdup(h->name);
	c->peer_listen = g_strdup(h->listen);
	memcpy(c->peer_nonce, h->nonce.data, NONCE_LEN);
	send_auth(c); /* a failed write closes from the timer */
	return true;
}

static bool handle_auth(dipc_conn *c, const Dipc__Auth *a)
{
	uint8_t want[MAC_LEN];

	compute_mac(c, false, want);
	if (a->mac.len != MAC_LEN || !const_time_equal(a->mac.data, want, MAC_LEN)) {
		reject(c, "bad cluster secret");
		return false;
	}
	c->state = ST_READY;
	c->rd.max_frame = c->conf->max_frame;
	c->last_rx = uv_now(c->loop);
	g_debug("connection %s ready: %s '%s'", c->peer_addr, c->peer_role, c->peer_name);
	conn_rearm(c);
	if (c->ops->on_ready)
		c->ops->on_ready(c, c->ud);
	return c->state != ST_CLOSED;
}

/* ---- reading -------------------------------------------------------------- */

static int on_frame(Dipc__Envelope *env, void *ud)
{
	dipc_conn *c = ud;

	if (c->state == ST_HANDSHAKE) {
		if (!c->got_hello && env->body_case == DIPC__ENVELOPE__BODY_HELLO) {
			if (!handle_hello(c, env->hello))
				return -ECANCELED;
		} else if (c->got_hello && env->body_case == DIPC__ENVELOPE__BODY_AUTH) {
			if (!handle_auth(c, env->auth))
				return -ECANCELED;
		} else {
			reject(c, "protocol error during the handshake");
			return -ECANCELED;
		}
		return 0;
	}
	if (c->state != ST_READY)
		return -ECANCELED;

	switch (env->body_case) {
	case DIPC__ENVELOPE__BODY_PING:
		return 0;
	case DIPC__ENVELOPE__BODY_HELLO:
	case DIPC__ENVELOPE__BODY_AUTH:
		g_message("closing connection to %s (%s): handshake message after the handshake",
			  c->peer_addr, c->peer_name);
		dipc_conn_close(c, -EPROTO);
		return -ECANCELED;
	default:
		break;
	}

	if (env->reply) {
		int64_t id = (int64_t)env->req_id;
		call *k = g_hash_table_lookup(c->calls, &id);

		if (!k) {
			g_debug("reply to unknown request %" G_GINT64_FORMAT " from %s", id,
				c->peer_addr);
			return 0;
		}
		g_hash_table_steal(c->calls, &id);
		if (k->tmo)
			g_sequence_remove(k->tmo);
		if (k->cb)
			k->cb(c, 0, env, k->ud);
		g_free(k);
	} else if (c->ops->on_request) {
		c->ops->on_request(c, env, c->ud);
	}
	return c->state == ST_CLOSED ? -ECANCELED : 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	/* Frames are consumed (or their tail copied) before the next read
	 * anywhere in this thread, so one buffer serves every connection. */
	static __thread char rbuf[READ_BUF_SIZE];

	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	dipc_conn *c = s->data;
	int r;

	if (c->state == ST_CLOSED)
		return;
	if (nread < 0) {
		dipc_conn_close(c, uv_to_errno((int)nread));
		return;
	}
	if (nread == 0)
		return;
	c->last_rx = uv_now(c->loop);
	r = dipc_frame_feed(&c->rd, (const uint8_t *)buf->base, (size_t)nread, on_frame, c);
	if (r < 0 && c->state != ST_CLOSED) {
		if (r == -EMSGSIZE)
			g_message("closing connection to %s: frame of length 0 or above %zu bytes",
				  c->peer_addr, c->rd.max_frame);
		else
			g_message("closing connection to %s: undecodable message", c->peer_addr);
		dipc_conn_close(c, r);
	}
}

/* ---- timer ---------------------------------------------------------------- */

static void conn_rearm(dipc_conn *c)
{
	uint64_t now = uv_now(c->loop), due;
	GSequenceIter *first;

	if (c->state == ST_CLOSED)
		return;
	if (c->deferred_err) {
		due = now;
	} else if (c->state != ST_READY) {
		due = c->hs_deadline;
	} else {
		due = MIN(c->last_tx + c->conf->heartbeat_ms,
			  c->last_rx + c->conf->dead_after_ms);
		first = g_sequence_get_begin_iter(c->deadlines);
		if (!g_sequence_iter_is_end(first))
			due = MIN(due, ((call *)g_sequence_get(first))->deadline);
	}
	/* An earlier wake-up only recomputes, so keep an armed earlier one. */
	if (uv_is_active((uv_handle_t *)&c->timer) && c->timer_due <= due)
		return;
	c->timer_due = due;
	uv_timer_start(&c->timer, conn_on_timer, due > now ? due - now : 0, 0);
}

/* Bytes the kernel holds for us that we have not read yet.  libuv runs
 * timers before it polls for I/O, so after the loop was held up (a stopped
 * process, a long callback) a deadline can pass with the peer's frames
 * sitting in the socket: they must not count as silence. */
static bool input_waiting(dipc_conn *c)
{
	uv_os_fd_t fd;
	int n = 0;

	return uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 && ioctl(fd, FIONREAD, &n) == 0 &&
	       n > 0;
}

static void conn_on_timer(uv_timer_t *t)
{
	dipc_conn *c = t->data;
	uint64_t now = uv_now(c->loop);
	GSequenceIter *first;
	bool expiring;

	if (c->state == ST_CLOSED)
		return;
	if (c->deferred_err) {
		dipc_conn_close(c, c->deferred_err);
		return;
	}
	if (c->state != ST_READY) {
		if (now >= c->hs_deadline) {
			g_message("connection %s%s: no handshake within %u ms", c->peer_addr,
				  c->state == ST_CONNECTING ? " (connecting)" : "",
				  c->conf->dead_after_ms);
			dipc_conn_close(c, -ETIMEDOUT);
			return;
		}
		conn_rearm(c);
		return;
	}
	first = g_sequence_get_begin_iter(c->deadlines);
	expiring = now >= c->last_rx + c->conf->dead_after_ms ||
		   (!g_sequence_iter_is_end(first) &&
		    ((call *)g_sequence_get(first))->deadline <= now);
	if (expiring && input_waiting(c)) {
		/* Read first (this loop iteration), judge after. */
		c->timer_due = now + 1;
		uv_timer_start(&c->timer, conn_on_timer, 1, 0);
		return;
	}
	if (now >= c->last_rx + c->conf->dead_after_ms) {
		g_debug("connection %s (%s): silent for %" G_GUINT64_FORMAT " ms", c->peer_addr,
			c->peer_name, now - c->last_rx);
		dipc_conn_close(c, -ETIMEDOUT);
		return;
	}
	while (!g_sequence_iter_is_end(first = g_sequence_get_begin_iter(c->deadlines))) {
		call *k = g_sequence_get(first);

		if (k->deadline > now)
			break;
		g_sequence_remove(first);
		g_hash_table_steal(c->calls, &k->req_id);
		if (k->cb)
			k->cb(c, -ETIMEDOUT, NULL, k->ud);
		g_free(k);
		if (c->state == ST_CLOSED)
			return;
	}
	if (now >= c->last_tx + c->conf->heartbeat_ms) {
		Dipc__Envelope env = DIPC__ENVELOPE__INIT;
		Dipc__Ping p = DIPC__PING__INIT;

		p.seq = ++c->ping_seq;
		env.body_case = DIPC__ENVELOPE__BODY_PING;
		env.ping = &p;
		conn_send(c, &env);
		if (c->state == ST_CLOSED)
			return;
	}
	conn_rearm(c);
}

/* ---- connecting and accepting --------------------------------------------- */

static void format_addr(const struct sockaddr *sa, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		g_snprintf(out, size, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			g_snprintf(out, size, "%s:%u", ip, ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			g_snprintf(out, size, "[%s]:%u", ip, ntohs(s6->sin6_port));
		}
	} else {
		g_strlcpy(out, "?", size);
	}
}

/* TCP is up: start reading and say Hello. */
static void conn_start(dipc_conn *c)
{
	int r;

	c->state = ST_HANDSHAKE;
	uv_tcp_nodelay(&c->tcp, 1);
	r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (r < 0) {
		conn_close_later(c, uv_to_errno(r));
		return;
	}
	send_hello(c);
}

static void on_connect(uv_connect_t *req, int status)
{
	dipc_conn *c = req->data;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (c->state == ST_CLOSED)
		return;
	if (status < 0) {
		g_debug("cannot connect to %s: %s", c->target, uv_strerror(status));
		dipc_conn_close(c, uv_to_errno(status));
		return;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
		format_addr((struct sockaddr *)&ss, c->peer_addr, sizeof(c->peer_addr));
	conn_start(c);
	if (c->state != ST_CLOSED)
		conn_rearm(c);
}

static void conn_connect_addr(dipc_conn *c, const struct sockaddr *sa)
{
	int r;

	c->connect_req.data = c;
	r = uv_tcp_connect(&c->connect_req, &c->tcp, sa, on_connect);
	if (r < 0)
		conn_close_later(c, uv_to_errno(r));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	dipc_conn *c = req->data;

	c->resolving = false;
	if (c->state != ST_CLOSED) {
		if (status < 0 || !res) {
			g_debug("cannot resolve %s: %s", c->target, uv_strerror(status));
			dipc_conn_close(c, -EHOSTUNREACH);
		} else {
			conn_connect_addr(c, res->ai_addr);
		}
	}
	uv_freeaddrinfo(res);
	conn_unpend(c);
}

dipc_conn *dipc_conn_connect(const dipc_conn_params *p, const char *hostport)
{
	g_autofree char *host = NULL;
	const char *colon, *hs, *he;
	struct sockaddr_storage ss;
	char port[8];
	dipc_conn *c;

	if (!params_ok(p) || !hostport || !*hostport)
		return NULL;
	/* Split "host:port" / "[v6]:port"; dipc_parse_hostport() would resolve
	 * names synchronously, which must not happen inside the loop. */
	if (hostport[0] == '[') {
		hs = hostport + 1;
		he = strchr(hs, ']');
		if (!he || he[1] != ':')
			return NULL;
		colon = he + 1;
	} else {
		hs = hostport;
		colon = he = strrchr(hostport, ':');
		if (!colon || memchr(hs, ':', (size_t)(he - hs)))
			return NULL;
	}
	if (he == hs || strlen(colon + 1) == 0 || strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
		return NULL;
	host = g_strndup(hs, (size_t)(he - hs));
	g_strlcpy(port, colon + 1, sizeof(port));

	c = conn_new(p, false);
	c->target = g_strdup(hostport);
	g_strlcpy(c->peer_addr, hostport, sizeof(c->peer_addr));
	conn_start_timer(c);
	c->state = ST_CONNECTING;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)atoi(port));
		conn_connect_addr(c, (struct sockaddr *)&ss);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)atoi(port));
		conn_connect_addr(c, (struct sockaddr *)&ss);
	} else {
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
					  .ai_flags = AI_NUMERICSERV };
		int r;

		c->gai_req.data = c;
		r = uv_getaddrinfo(c->loop, &c->gai_req, on_resolved, host, port, &hints);
		if (r < 0) {
			conn_close_later(c, -EHOSTUNREACH);
		} else {
			c->resolving = true;
			c->pending++;
		}
	}
	conn_rearm(c);
	return c;
}

static void abandon(dipc_conn *c)
{
	c->state = ST_CLOSED;
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

dipc_conn *dipc_conn_accept(const dipc_conn_params *p, uv_stream_t *server)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	dipc_conn *c;

	if (!params_ok(p) || !server)
		return NULL;
	c = conn_new(p, true);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		abandon(c);
		return NULL;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) < 0) {
		abandon(c);
		return NULL;
	}
	format_addr((struct sockaddr *)&ss, c->peer_addr, sizeof(c->peer_addr));
	if (!dipc_conf_host_allowed(p->conf, (struct sockaddr *)&ss)) {
		g_message("rejected peer %s: address not in [cluster] allowed_hosts",
			  c->peer_addr);
		abandon(c);
		return NULL;
	}
	if (n_accepted >= p->conf->max_connections) {
		g_message("rejected peer %s: too many connections ([limits] max_connections = %u)",
			  c->peer_addr, p->conf->max_connections);
		abandon(c);
		return NULL;
	}
	n_accepted++;
	c->counted = true;
	conn_start_timer(c);
	conn_start(c);
	conn_rearm(c);
	return c;
}

/* ---- requests ------------------------------------------------------------- */

int64_t dipc_conn_call(dipc_conn *c, Dipc__Envelope *env, unsigned timeout_ms,
		       dipc_conn_reply_cb cb, void *ud)
{
	call *k;
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
	k = g_new0(call, 1);
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

	env.err = err < 0 ? -err : err;
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
	g_hash_table_steal(c->calls, &req_id);
	if (k->tmo)
		g_sequence_remove(k->tmo);
	g_free(k);
}

/* ---- accessors ------------------------------------------------------------ */

bool dipc_conn_ready(const dipc_conn *c)
{
	return c && c->state == ST_READY && !c->deferred_err;
}

const char *dipc_conn_peer_name(const dipc_conn *c)
{
	return c && c->peer_name ? c->peer_name : "";
}

const char *dipc_conn_peer_role(const dipc_conn *c)
{
	return c && c->peer_role ? c->peer_role : "";
}

const char *dipc_conn_peer_listen(const dipc_conn *c)
{
	return c && c->peer_listen ? c->peer_listen : "";
}

const char *dipc_conn_peer_addr(const dipc_conn *c)
{
	return c ? c->peer_addr : "";
}

void dipc_conn_set_ud(dipc_conn *c, void *ud)
{
	if (c)
		c->ud = ud;
}

void *dipc_conn_get_ud(const dipc_conn *c)
{
	return c ? c->ud : NULL;
}
