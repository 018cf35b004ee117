/* SPDX-License-Identifier: MIT */
/**
 * @file conn_private.h
 *
 * The inside of a dipc_conn, shared by the files that together keep the
 * contract of conn.h and by nothing else:
 *
 *   conn.c       life cycle, connecting and accepting, reading and writing
 *   handshake.c  Hello/Auth: proving both sides know the cluster secret
 *   liveness.c   the one timer: handshake deadline, heartbeats, silence
 *   calls.c      request/reply matching and per-call time-outs
 *   admit.c      which accepted connections are kept; refusal log lines
 *   seal.c       (seal.h, its own contract) the frames after the handshake
 *
 * The rules every one of them follows (conn.c's note has the reasons): a
 * callback of the caller's may close the connection, so after calling one
 * check c->state == ST_CLOSED and stop; an error found while the caller is
 * inside one of our functions closes through conn_close_later(), never
 * directly.
 */
#ifndef DIPC_CONN_PRIVATE_H
#define DIPC_CONN_PRIVATE_H

#include <arpa/inet.h>

#include "conn.h"

/* 2: the handshake MAC covers listen and the encrypt flag; frames after it
 * are sealed (seal.h). */
#define WIRE_VERSION 2
#define NONCE_LEN DIPC_SEAL_NONCE
#define MAC_LEN 32
#define NAME_MAX_LEN 255
/* Until the peer has proved it knows the secret it may only send Hello and
 * Auth, which are small: do not let it make us allocate max_frame. */
#define HANDSHAKE_MAX_FRAME 4096
/* Outstanding calls beyond the parked limit: room for non-parking calls. */
#define CALLS_SLACK 1024

enum conn_state {
	ST_CONNECTING, /* resolving or TCP connect in progress */
	ST_HANDSHAKE,  /* Hello/Auth */
	ST_READY,
	ST_CLOSED,     /* dipc_conn_close() ran; waiting for uv_close callbacks */
};

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
	bool counted; /* in admit.c's n_accepted */
	GList *pending_link; /* in admit.c's queue of unauthenticated ones */
	char peer_host[INET6_ADDRSTRLEN]; /* accepted: the source address */
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

	/* Frames we send after our Auth are sealed with tx; frames after the
	 * peer's Auth are opened with rx (rd.seal points at it then). */
	dipc_seal tx, rx;
	bool tx_sealed;

	dipc_frame_reader rd;
	uint64_t last_rx, last_tx, hs_deadline, timer_due;
	uint64_t ping_seq;

	GHashTable *calls;    /* int64 req_id -> call* */
	GSequence *deadlines; /* call* ordered by (deadline, req_id) */
	int64_t next_req_id;
	unsigned max_calls;

	size_t queued; /* bytes in uv_write requests */
};

/* ---- conn.c --------------------------------------------------------------- */

/* Frame and send env.  Errors that end the connection close it from the
 * timer; the caller gets the error. */
int conn_send(dipc_conn *c, const Dipc__Envelope *env);
/* The same for an envelope packed earlier, which then gets req_id. */
int conn_send_packed(dipc_conn *c, const uint8_t *pb, size_t plen, uint64_t req_id);
/* Close from the timer: for errors found while the caller is inside one of
 * our functions. */
void conn_close_later(dipc_conn *c, int err);

/* ---- handshake.c ---------------------------------------------------------- */

/* Fill c->nonce. */
void conn_handshake_init(dipc_conn *c);
int conn_send_hello(dipc_conn *c);
/* A frame that arrived in ST_HANDSHAKE.  Returns 0, or -ECANCELED when the
 * connection was closed (a rejected peer, or on_ready closed it). */
int conn_handshake_frame(dipc_conn *c, const Dipc__Envelope *env);

/* ---- liveness.c ----------------------------------------------------------- */

/* Create the timer and start the handshake deadline from now. */
void conn_timer_init(dipc_conn *c);
/* Make sure the timer fires by the next deadline. */
void conn_rearm(dipc_conn *c);
void conn_on_timer(uv_timer_t *t);

/* ---- admit.c -------------------------------------------------------------- */

/* Count an accepted connection (c->peer_host set), evicting unauthenticated
 * ones to make room.  false: refused (every slot is an authenticated peer). */
bool conn_admit(dipc_conn *c);
/* The handshake succeeded: no longer in the unauthenticated budgets. */
void conn_admit_authenticated(dipc_conn *c);
/* Closing: give its slots back. */
void conn_admit_forget(dipc_conn *c);
/* g_message(), at most a few per ten seconds, then one line with a count. */
void conn_log_refusal(uv_loop_t *loop, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- calls.c -------------------------------------------------------------- */

void conn_calls_init(dipc_conn *c);
void conn_calls_free(dipc_conn *c);
/* Every outstanding call's callback runs once with err, by ascending id. */
void conn_calls_fail(dipc_conn *c, int err);
/* A reply arrived: run its call's callback (if the call is still known). */
void conn_calls_reply(dipc_conn *c, Dipc__Envelope *env);
/* The earliest call deadline; UINT64_MAX: none. */
uint64_t conn_calls_next_deadline(const dipc_conn *c);
/* Time out the calls whose deadline is <= now.  Returns false if a callback
 * closed the connection. */
bool conn_calls_expire(dipc_conn *c, uint64_t now);

#endif /* DIPC_CONN_PRIVATE_H */
