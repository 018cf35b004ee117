/* SPDX-License-Identifier: MIT */
/**
 * @file conn.h
 *
 * One authenticated, framed, heartbeated TCP connection between two dipcfs
 * daemons (node <-> referee, node <-> node), living in a libuv loop.
 *
 * Life of a connection:
 *   1. dipc_conn_connect() or dipc_conn_accept() creates it (handshake state).
 *   2. Both sides send Hello{version, role, name, nonce, listen, encrypt},
 *      then Auth{HMAC-SHA256(secret, "dipc-auth-v2" | side | own role |
 *      own name | own listen | encrypt | own nonce | peer nonce)}; each side
 *      verifies the other's MAC with constant-time comparison.  An acceptor
 *      first checks the peer's address against [cluster] allowed_hosts and
 *      its admission budgets (admit.c), and gives it [cluster] handshake_ms.
 *      Nothing but Hello/Auth is accepted before both are verified; every
 *      frame after a side's Auth is sealed (seal.h: MAC or AEAD under a
 *      per-connection key, implicit sequence numbers), and one that fails
 *      closes the connection (-EKEYREJECTED).
 *   3. ops->on_ready() runs once; from then on ops->on_request() receives
 *      requests and notifications (req_id == 0 means no reply wanted), and
 *      replies to dipc_conn_call() reach the call's callback.
 *   4. Pings are sent every heartbeat_ms; a connection from which nothing
 *      arrived for dead_after_ms is closed with -ETIMEDOUT.
 *   5. On close (any cause) every outstanding call's callback runs once with
 *      err = the close reason and reply = NULL, then ops->on_close() runs; the
 *      struct is freed after libuv's close callbacks, never inside a callback
 *      of the caller's.
 *
 * Errors are negative errno values.  Nothing here logs except through g_debug /
 * g_message in the "dipc" domain.  The framing (wire.h) is separate; this
 * header includes it.
 */
#ifndef DIPC_CONN_H
#define DIPC_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "dipc.pb-c.h"
#include "conf.h"
#include "wire.h" /* the framing; included for the callers that used it from here */

typedef struct dipc_conn dipc_conn;

typedef struct dipc_conn_ops {
	/* Handshake done; dipc_conn_peer_*() are valid from now on. */
	void (*on_ready)(dipc_conn *c, void *ud);
	/* A request (env->reply == false).  env is freed after the callback
	 * returns: copy what you keep.  Answer with dipc_conn_reply(). */
	void (*on_request)(dipc_conn *c, Dipc__Envelope *env, void *ud);
	/* The connection is closing; err < 0 says why (0 = closed by us). */
	void (*on_close)(dipc_conn *c, int err, void *ud);
} dipc_conn_ops;

/* The callback of a call.  err: 0 and reply != NULL on a reply (the peer's
 * errno is reply->err, positive); < 0 and reply == NULL when the connection
 * closed or the call timed out.  reply is freed after the callback returns. */
typedef void (*dipc_conn_reply_cb)(dipc_conn *c, int err, Dipc__Envelope *reply,
				   void *ud);

typedef struct dipc_conn_params {
	uv_loop_t *loop;
	const dipc_conf *conf;  /* secret, allowed hosts, timings, max_frame */
	const char *role;       /* "node" or "referee" */
	const char *name;       /* own name */
	const char *listen;     /* own listen address, "" for the referee */
	const dipc_conn_ops *ops;
	void *ud;
} dipc_conn_params;

/* Connect to "host:port".  Returns NULL only on invalid arguments; a failed
 * connect is reported through ops->on_close(). */
dipc_conn *dipc_conn_connect(const dipc_conn_params *p, const char *hostport);

/* Accept a pending connection on a listening uv_tcp_t (call from its
 * connection callback).  Rejected peers are closed without a callback. */
dipc_conn *dipc_conn_accept(const dipc_conn_params *p, uv_stream_t *server);

/* Send a request; cb runs exactly once.  timeout_ms 0: no time-out (for
 * calls that may legitimately park, e.g. a blocking semop); the heartbeat
 * still ends them if the peer dies.  env->req_id is assigned here (returned
 * through the result, > 0).  Returns < 0 if the connection is not ready. */
int64_t dipc_conn_call(dipc_conn *c, Dipc__Envelope *env, unsigned timeout_ms,
		       dipc_conn_reply_cb cb, void *ud);

/* The same for an envelope packed earlier (dipc__envelope__pack, with no
 * req_id): sent as it is, plus its request id, so that a call queued until
 * its connection is ready is packed once.  cb NULL: a notification (0). */
int64_t dipc_conn_call_packed(dipc_conn *c, const uint8_t *pb, size_t plen, unsigned timeout_ms,
			      dipc_conn_reply_cb cb, void *ud);

/* Fire-and-forget notification (req_id = 0). */
int dipc_conn_notify(dipc_conn *c, Dipc__Envelope *env);

/* Reply to request req_id; env->req_id and env->reply are set here. */
int dipc_conn_reply(dipc_conn *c, uint64_t req_id, Dipc__Envelope *env);
/* Reply with only an error (positive errno). */
int dipc_conn_reply_err(dipc_conn *c, uint64_t req_id, int err);

/* Forget the callback of an outstanding call (it will never run). */
void dipc_conn_forget(dipc_conn *c, int64_t req_id);

void dipc_conn_close(dipc_conn *c, int err);

bool dipc_conn_ready(const dipc_conn *c);
const char *dipc_conn_peer_name(const dipc_conn *c);
const char *dipc_conn_peer_role(const dipc_conn *c);
const char *dipc_conn_peer_listen(const dipc_conn *c);
const char *dipc_conn_peer_addr(const dipc_conn *c); /* "ip:port" seen */
void dipc_conn_set_ud(dipc_conn *c, void *ud);
void *dipc_conn_get_ud(const dipc_conn *c);

#endif /* DIPC_CONN_H */
