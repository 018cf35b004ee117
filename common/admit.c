/* SPDX-License-Identifier: MIT */
/**
 * @file admit.c
 *
 * Admission: which accepted connections a daemon keeps when it is full, and
 * how refusals are logged.  Every local user can reach a daemon's port, and
 * so can every host in allowed_hosts, so before the handshake nobody is
 * trusted with a slot for long.
 *
 * Budgets ([limits], checked in conf.c):
 *   max_connections    accepted connections in every state;
 *   max_handshakes     of those, not yet authenticated;
 *   max_conn_per_host  of those, from one source address.
 * A new connection that would exceed a budget evicts the oldest
 * unauthenticated connection that counts against that budget (same address
 * first).  Authenticated peers are never evicted: when every slot is held by
 * one, the new connection is refused.  So a flood of idle connections costs
 * the flooder its own older connections, and a real peer, which finishes its
 * handshake in a round trip or two, gets in and stays in.  Unauthenticated
 * connections also have a short deadline ([cluster] handshake_ms,
 * liveness.c).
 *
 * Log lines about refused peers (refusals, evictions, failed handshakes,
 * handshake deadlines) go through conn_log_refusal(): at most LOG_BURST per
 * LOG_WINDOW_MS, then one line counting what was left out.
 *
 * The daemons run one loop in one thread, which is what these process-wide
 * counters need.
 */
#include "conn_private.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define LOG_BURST 5
#define LOG_WINDOW_MS 10000

static unsigned n_accepted;
static GQueue pending = G_QUEUE_INIT;   /* dipc_conn*, oldest first */
static GHashTable *pending_per_host;    /* host -> GUINT_TO_POINTER(count) */

static struct {
	uint64_t window_start;
	unsigned in_window, suppressed;
} rl;

void conn_log_refusal(uv_loop_t *loop, const char *fmt, ...)
{
	uint64_t now = uv_now(loop);
	va_list ap;

	if (now - rl.window_start >= LOG_WINDOW_MS) {
		if (rl.suppressed)
			g_message("%u more refused peer%s not logged in the last %u s",
				  rl.suppressed, rl.suppressed == 1 ? "" : "s",
				  LOG_WINDOW_MS / 1000);
		rl.window_start = now;
		rl.in_window = rl.suppressed = 0;
	}
	if (rl.in_window >= LOG_BURST) {
		rl.suppressed++;
		return;
	}
	rl.in_window++;
	va_start(ap, fmt);
	g_logv(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, fmt, ap);
	va_end(ap);
}

static unsigned host_count(const char *host)
{
	return pending_per_host
		       ? GPOINTER_TO_UINT(g_hash_table_lookup(pending_per_host, host))
		       : 0;
}

static void host_add(const char *host, int d)
{
	unsigned n = host_count(host) + (unsigned)d;

	if (!pending_per_host)
		pending_per_host = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (n == 0)
		g_hash_table_remove(pending_per_host, host);
	else
		g_hash_table_insert(pending_per_host, g_strdup(host), GUINT_TO_POINTER(n));
}

/* No longer unauthenticated (authenticated, or closing). */
static void leave_pending(dipc_conn *c)
{
	if (!c->pending_link)
		return;
	g_queue_delete_link(&pending, c->pending_link);
	c->pending_link = NULL;
	host_add(c->peer_host, -1);
}

void conn_admit_authenticated(dipc_conn *c)
{
	leave_pending(c);
}

void conn_admit_forget(dipc_conn *c)
{
	leave_pending(c);
	if (c->counted) { /* its place is free as soon as it closes */
		n_accepted--;
		c->counted = false;
	}
}

/* The oldest unauthenticated connection, from host if host != NULL. */
static dipc_conn *oldest(const char *host)
{
	for (GList *l = pending.head; l; l = l->next) {
		dipc_conn *o = l->data;

		if (!host || strcmp(o->peer_host, host) == 0)
			return o;
	}
	return NULL;
}

static void evict(dipc_conn *o, const char *why, const char *newcomer)
{
	conn_log_refusal(o->loop, "dropped unauthenticated peer %s for %s: %s", o->peer_addr,
			 newcomer, why);
	conn_admit_forget(o);
	conn_close_later(o, -ECONNREFUSED);
}

bool conn_admit(dipc_conn *c)
{
	const dipc_conf *conf = c->conf;
	dipc_conn *o;

	if (host_count(c->peer_host) >= conf->max_conn_per_host) {
		o = oldest(c->peer_host);
		evict(o, "too many handshakes from one address ([limits] max_conn_per_host)",
		      c->peer_addr);
	}
	if (pending.length >= conf->max_handshakes)
		evict(oldest(NULL), "too many handshakes ([limits] max_handshakes)", c->peer_addr);
	if (n_accepted >= conf->max_connections) {
		o = oldest(NULL);
		if (!o) {
			conn_log_refusal(c->loop, "rejected peer %s: too many connections "
				     "([limits] max_connections = %u)", c->peer_addr,
				     conf->max_connections);
			return false;
		}
		evict(o, "too many connections ([limits] max_connections)", c->peer_addr);
	}
	n_accepted++;
	c->counted = true;
	g_queue_push_tail(&pending, c);
	c->pending_link = pending.tail;
	host_add(c->peer_host, 1);
	return true;
}
