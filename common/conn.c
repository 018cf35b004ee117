/* SPDX-License-Identifier: MIT */
/**
 * @file conn.c
 *
 * The connection: its life cycle, connecting and accepting, and the bytes
 * in and out of one TCP stream in a libuv loop.  conn.h has the contract;
 * conn_private.h lists the files that keep it with this one (framing in
 * wire.c, authentication in handshake.c, the timer in liveness.c, call
 * matching in calls.c).  This note says how the rest is kept.
 *
 * Reading.  libuv reads into one buffer per thread; wire.c parses frames
 * straight out of it.  Until the handshake is done the frame limit is
 * HANDSHAKE_MAX_FRAME; a frame too long or undecodable closes the
 * connection, logged once.  After the handshake every frame is sealed
 * (seal.h: a MAC or AEAD tag and an implicit sequence number per
 * direction); one that fails its tag closes the connection the same way.
 * Pings only count as traffic; replies go to
 * calls.c, requests and notifications to ops->on_request.
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
#include "conn_private.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostport.h"

#define WRITE_QUEUE_MAX (64u << 20)
#define SMALL_FRAME 4096
#define READ_BUF_SIZE 65536

typedef struct wreq {
	uv_write_t req;
	dipc_conn *c;
	size_t len;
	uint8_t data[];
} wreq;

/* libuv reports errno values negated, plus a few of its own. */
static int uv_to_errno(int r)
{
	if (r == UV_EOF)
		return -ECONNRESET;
	if (r <= UV__EAI_ADDRFAMILY && r >= -3100)
		return -EHOSTUNREACH;
	return r;
}

/* ---- life cycle ----------------------------------------------------------- */

static void conn_free(dipc_conn *c)
{
	dipc_frame_reader_clear(&c->rd);
	dipc_seal_clear(&c->tx);
	dipc_seal_clear(&c->rx);
	conn_calls_free(c);
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
	conn_calls_init(c);
	conn_handshake_init(c);
	uv_tcp_init(c->loop, &c->tcp);
	c->tcp.data = c;
	c->pending = 1;
	return c;
}

void dipc_conn_close(dipc_conn *c, int err)
{
	if (!c || c->state == ST_CLOSED)
		return;
	g_debug("connection %s%s%s closing: %s", c->peer_addr,
		c->peer_name ? " " : "", c->peer_name ? c->peer_name : "",
		err ? g_strerror(-err) : "closed locally");
	c->state = ST_CLOSED;
	conn_admit_forget(c);
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (c->has_timer)
		uv_timer_stop(&c->timer);
	/* A caller must never see err == 0 together with reply == NULL. */
	conn_calls_fail(c, err ? err : -ECONNABORTED);
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
void conn_close_later(dipc_conn *c, int err)
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

/* The protobuf encoding of Envelope's req_id (field 1, a varint) appended
 * to a packed envelope: a parser takes the last value of a scalar field, so
 * this names the request of an envelope packed before its id was known. */
static size_t put_req_id(uint8_t *p, uint64_t id)
{
	size_t n = 0;

	p[n++] = 0x08;
	do {
		p[n++] = (uint8_t)((id & 0x7f) | (id > 0x7f ? 0x80 : 0));
		id >>= 7;
	} while (id);
	return n;
}

/*
 * Frame and send one envelope, given as the envelope (env) or as its packed
 * bytes (pb, plen) followed by req_id if it is not 0.  Errors that end the
 * connection close it from the timer; the caller gets the error.
 */
static int send_frame(dipc_conn *c, const Dipc__Envelope *env, const uint8_t *pb, size_t plen,
		      uint64_t req_id)
{
	uint8_t idbuf[11];
	size_t idlen = req_id ? put_req_id(idbuf, req_id) : 0;
	size_t body = env ? dipc__envelope__get_packed_size(env) : plen + idlen;
	size_t tag = c->tx_sealed ? DIPC_SEAL_TAG : 0;
	size_t len = body + 4 + tag;
	uint8_t small[SMALL_FRAME];
	uint8_t *buf;
	wreq *big = NULL;
	uv_buf_t b;
	int n, r;

	if (c->state == ST_CLOSED)
		return -ENOTCONN;
	if (body == 0 || body + tag > c->conf->max_frame)
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
	if (env) {
		dipc__envelope__pack(env, buf + 4);
	} else {
		memcpy(buf + 4, pb, plen);
		memcpy(buf + 4 + plen, idbuf, idlen);
	}
	if (c->tx_sealed) {
		dipc_seal_frame(&c->tx, buf, body);
	} else {
		buf[0] = (uint8_t)(body >> 24);
		buf[1] = (uint8_t)(body >> 16);
		buf[2] = (uint8_t)(body >> 8);
		buf[3] = (uint8_t)body;
	}
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

int conn_send(dipc_conn *c, const Dipc__Envelope *env)
{
	return send_frame(c, env, NULL, 0, 0);
}

int conn_send_packed(dipc_conn *c, const uint8_t *pb, size_t plen, uint64_t req_id)
{
	return send_frame(c, NULL, pb, plen, req_id);
}

/* ---- reading -------------------------------------------------------------- */

static int on_frame(Dipc__Envelope *env, void *ud)
{
	dipc_conn *c = ud;

	if (c->state == ST_HANDSHAKE)
		return conn_handshake_frame(c, env);
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

	if (env->reply)
		conn_calls_reply(c, env);
	else if (c->ops->on_request)
		c->ops->on_request(c, env, c->ud);
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
		else if (r == -EKEYREJECTED)
			g_message("closing connection to %s (%s): a frame failed its integrity "
				  "check (altered, replayed, reordered or dropped on the way)",
				  c->peer_addr, c->peer_name ? c->peer_name : "?");
		else
			g_message("closing connection to %s: undecodable message", c->peer_addr);
		dipc_conn_close(c, r);
	}
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

/* The source address alone (no port), for the per-host budget.  Every
 * loopback address is one host: a local user can connect from any of
 * 127.0.0.0/8 and must not get a budget for each. */
static void format_host(const struct sockaddr *sa, char *out, size_t size)
{
	char buf[INET6_ADDRSTRLEN + 16];
	char *colon;

	format_addr(sa, buf, sizeof(buf));
	if (g_str_has_prefix(buf, "127.") || g_str_has_prefix(buf, "[::1]:")) {
		g_strlcpy(out, "loopback", size);
		return;
	}
	colon = strrchr(buf, ':');
	if (colon)
		*colon = '\0';
	g_strlcpy(out, buf, size);
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
	conn_send_hello(c);
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
	struct sockaddr_storage ss;
	unsigned portnum;
	char port[8];
	dipc_conn *c;

	if (!params_ok(p) || !hostport || !*hostport)
		return NULL;
	/* Only split here: dipc_parse_hostport() would resolve names
	 * synchronously, which must not happen inside the loop. */
	if (dipc_split_hostport(hostport, &host, &portnum, NULL) < 0)
		return NULL;
	g_snprintf(port, sizeof(port), "%u", portnum);

	c = conn_new(p, false);
	c->target = g_strdup(hostport);
	g_strlcpy(c->peer_addr, hostport, sizeof(c->peer_addr));
	conn_timer_init(c);
	c->state = ST_CONNECTING;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)portnum);
		conn_connect_addr(c, (struct sockaddr *)&ss);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)portnum);
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
	format_host((struct sockaddr *)&ss, c->peer_host, sizeof(c->peer_host));
	if (!dipc_conf_host_allowed(p->conf, (struct sockaddr *)&ss)) {
		conn_log_refusal(c->loop, "rejected peer %s: address not in [cluster] allowed_hosts",
				 c->peer_addr);
		abandon(c);
		return NULL;
	}
	if (!conn_admit(c)) {
		abandon(c);
		return NULL;
	}
	conn_timer_init(c);
	conn_start(c);
	conn_rearm(c);
	return c;
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
