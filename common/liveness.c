/* SPDX-License-Identifier: MIT */
/**
 * @file liveness.c
 *
 * Liveness: the one uv_timer_t of a connection, which serves everything that
 * has a deadline -- the handshake ([cluster] handshake_ms for an accepted
 * peer; TCP connect included, within dead_after_ms, for our own), the heartbeat (a Ping when nothing was sent for
 * heartbeat_ms), the silence limit (nothing received for dead_after_ms:
 * -ETIMEDOUT), per-call time-outs (calls.c keeps them ordered) and the
 * deferred closes of conn_close_later().
 *
 * It is re-armed lazily: sending or receiving only records uv_now(), and a
 * timer that fires early just computes the next deadline.  No syscall per
 * message beyond the write itself.
 */
#include "conn_private.h"

#include <errno.h>
#include <sys/ioctl.h>

void conn_timer_init(dipc_conn *c)
{
	uv_timer_init(c->loop, &c->timer);
	c->timer.data = c;
	c->has_timer = true;
	c->pending++;
	uv_update_time(c->loop);
	c->last_rx = c->last_tx = uv_now(c->loop);
	/* An accepted peer gets the short [cluster] handshake_ms: until it has
	 * proved itself it holds a slot of admit.c's.  Our own connects may
	 * also be resolving and connecting, within dead_after_ms. */
	c->hs_deadline = c->last_rx + (c->acceptor ? c->conf->handshake_ms
						  : c->conf->dead_after_ms);
}

void conn_rearm(dipc_conn *c)
{
	uint64_t now = uv_now(c->loop), due;

	if (c->state == ST_CLOSED)
		return;
	if (c->deferred_err) {
		due = now;
	} else if (c->state != ST_READY) {
		due = c->hs_deadline;
	} else {
		due = MIN(c->last_tx + c->conf->heartbeat_ms,
			  c->last_rx + c->conf->dead_after_ms);
		due = MIN(due, conn_calls_next_deadline(c));
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

/* Before the handshake is done only its deadline counts. */
static void handshake_timer(dipc_conn *c, uint64_t now)
{
	if (now >= c->hs_deadline) {
		conn_log_refusal(c->loop, "connection %s%s: no handshake within %u ms",
				 c->peer_addr, c->state == ST_CONNECTING ? " (connecting)" : "",
				 c->acceptor ? c->conf->handshake_ms : c->conf->dead_after_ms);
		dipc_conn_close(c, -ETIMEDOUT);
		return;
	}
	conn_rearm(c);
}

static void send_ping(dipc_conn *c)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__Ping p = DIPC__PING__INIT;

	p.seq = ++c->ping_seq;
	env.body_case = DIPC__ENVELOPE__BODY_PING;
	env.ping = &p;
	conn_send(c, &env);
}

void conn_on_timer(uv_timer_t *t)
{
	dipc_conn *c = t->data;
	uint64_t now = uv_now(c->loop);
	bool expiring;

	if (c->state == ST_CLOSED)
		return;
	if (c->deferred_err) {
		dipc_conn_close(c, c->deferred_err);
		return;
	}
	if (c->state != ST_READY) {
		handshake_timer(c, now);
		return;
	}
	expiring = now >= c->last_rx + c->conf->dead_after_ms ||
		   conn_calls_next_deadline(c) <= now;
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
	if (!conn_calls_expire(c, now))
		return;
	if (now >= c->last_tx + c->conf->heartbeat_ms) {
		send_ping(c);
		if (c->state == ST_CLOSED)
			return;
	}
	conn_rearm(c);
}
