/* SPDX-License-Identifier: MIT */
/**
 * @file handshake.c
 *
 * Authentication: the Hello/Auth exchange by which both ends of a
 * connection prove they know the cluster secret, before anything else is
 * read.
 *
 * Both sides send Hello{version, role, name, nonce, listen, encrypt} at
 * once.  On the peer's Hello a side checks it and sends Auth, whose MAC is
 *
 *     HMAC-SHA256(secret, "dipc-auth-v2" 0 side 0 role 0 name 0 listen 0
 *                         encrypt own-nonce peer-nonce)
 *
 * with side "connect" or "accept", encrypt one byte 0 or 1, and NUL
 * separators.  Every field of the author's Hello is covered, the listen
 * address in particular: the referee advertises it to the whole cluster,
 * so a host on the path must not be able to change where peers connect.  The NULs make the
 * input unambiguous; the side stops a reflection attack (an impostor feeding
 * one connection's challenge to a second connection to the same daemon and
 * replaying the answer: both answers would come from the accepting side).
 * A peer that claims our own role and name is refused for the same reason.
 * MACs are compared in constant time.  A verified Auth makes the connection
 * ready: the frame limit rises from HANDSHAKE_MAX_FRAME to [limits]
 * max_frame and ops->on_ready runs.  (The deadline of the handshake is
 * liveness.c's.)
 *
 * Session keys.  With the peer's Hello both nonces are known, so the keys
 * of both directions are derived there (seal.h).  Every frame we send after
 * our Auth is sealed; every frame received after the peer's verified Auth
 * must be.  TCP keeps each direction in order, so each side switches at
 * exactly the frame the other expects.  Both ends must agree on [cluster]
 * encrypt: a Hello that disagrees is refused with a line that says so.
 */
#include "conn_private.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void conn_handshake_init(dipc_conn *c)
{
	if (getrandom(c->nonce, sizeof(c->nonce), 0) != (ssize_t)sizeof(c->nonce)) {
		/* getrandom() without GRND_NONBLOCK only fails before the
		 * pool is ready on very old kernels; GLib's generator is seeded
		 * from /dev/urandom. */
		for (size_t i = 0; i < sizeof(c->nonce); i += 4) {
			guint32 v = g_random_int();

			memcpy(c->nonce + i, &v, 4);
		}
	}
}

static void compute_mac(const dipc_conn *c, bool ours, uint8_t out[MAC_LEN])
{
	static const char label[] = "dipc-auth-v2";
	/* The side of the author of the MAC. */
	bool author_accepts = ours ? c->acceptor : !c->acceptor;
	const char *side = author_accepts ? "accept" : "connect";
	const char *role = ours ? c->role : c->peer_role;
	const char *name = ours ? c->name : c->peer_name;
	const char *listen = ours ? c->listen : c->peer_listen;
	uint8_t encrypt = c->conf->encrypt ? 1 : 0; /* both agree, handle_hello checked */
	const uint8_t *n1 = ours ? c->nonce : c->peer_nonce;
	const uint8_t *n2 = ours ? c->peer_nonce : c->nonce;
	const char *secret = c->conf->secret;
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, (const guchar *)secret, strlen(secret));
	gsize len = MAC_LEN;

	g_hmac_update(h, (const guchar *)label, sizeof(label)); /* with its NUL */
	g_hmac_update(h, (const guchar *)side, strlen(side) + 1);
	g_hmac_update(h, (const guchar *)role, strlen(role) + 1);
	g_hmac_update(h, (const guchar *)name, strlen(name) + 1);
	g_hmac_update(h, (const guchar *)listen, strlen(listen) + 1);
	g_hmac_update(h, &encrypt, 1);
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

int conn_send_hello(dipc_conn *c)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__Hello h = DIPC__HELLO__INIT;

	h.version = WIRE_VERSION;
	h.role = c->role;
	h.name = c->name;
	h.nonce.data = c->nonce;
	h.nonce.len = NONCE_LEN;
	h.listen = c->listen;
	h.encrypt = c->conf->encrypt;
	env.body_case = DIPC__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	return conn_send(c, &env);
}

static int send_auth(dipc_conn *c)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__Auth a = DIPC__AUTH__INIT;
	uint8_t mac[MAC_LEN];
	int r;

	compute_mac(c, true, mac);
	a.mac.data = mac;
	a.mac.len = MAC_LEN;
	env.body_case = DIPC__ENVELOPE__BODY_AUTH;
	env.auth = &a;
	r = conn_send(c, &env);
	c->tx_sealed = true; /* whatever follows our Auth */
	return r;
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
	conn_log_refusal(c->loop, "rejected peer %s: %s", c->peer_addr, why);
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
	if (h->encrypt != c->conf->encrypt) {
		reject(c, h->encrypt ? "peer has [cluster] encrypt = yes, we have no"
				     : "peer has [cluster] encrypt = no, we have yes");
		return false;
	}
	c->got_hello = true;
	c->peer_role = g_strdup(h->role);
	c->peer_name = g_strdup(h->name);
	c->peer_listen = g_strdup(h->listen);
	memcpy(c->peer_nonce, h->nonce.data, NONCE_LEN);
	dipc_seal_derive(c->conf->secret, c->acceptor ? c->peer_nonce : c->nonce,
			 c->acceptor ? c->nonce : c->peer_nonce, c->acceptor, c->conf->encrypt,
			 &c->tx, &c->rx);
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
	c->rd.seal = &c->rx; /* from the next frame on */
	conn_admit_authenticated(c);
	c->last_rx = uv_now(c->loop);
	g_debug("connection %s ready: %s '%s'", c->peer_addr, c->peer_role, c->peer_name);
	conn_rearm(c);
	if (c->ops->on_ready)
		c->ops->on_ready(c, c->ud);
	return c->state != ST_CLOSED;
}


int conn_handshake_frame(dipc_conn *c, const Dipc__Envelope *env)
{
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
