/* SPDX-License-Identifier: MIT */
/**
 * @file server.c
 *
 * The network side of dipc-referee: it accepts node connections (conn.c
 * does the handshake and heartbeats), keeps the membership table, turns
 * requests into registry calls (registry.c, the state machine) and pushes
 * NodeList on every change of membership.  docs/referee.md describes the
 * protocol.
 *
 * Membership.  A node is known by the name it authenticated with.  A second
 * connection under a name whose connection is still open is refused (a
 * NodeList with `refused` says why, then it is closed): two daemons must
 * never take turns at one name.  A daemon restarted after a crash is taken
 * as soon as its old connection is gone: at once after a process crash
 * (the kernel closes the socket), within dead_after_ms after a host crash
 * (the heartbeat ends it; the newcomer retries meanwhile).  A node whose
 * connection closes for any reason (EOF, heartbeat, protocol error) is
 * dead: fail-stop, its objects are dropped from the registry at once, and
 * every node hears about it in the next NodeList.
 *
 * Grace (registry.h).  Every start of the referee may be a restart: for
 * [referee] grace_ms it takes the re-registrations of the nodes that
 * reconnect (Commit with rejoin), answers lookups of keys it has heard of,
 * and holds lookups that could create, and Resolves of ids it does not
 * know, until the grace ends.  Its NodeLists say `grace`: the nodes absent
 * from them are not gone.  It ends early once every connected node has
 * said "all sent" and every node they believed alive has too (so a fresh
 * cluster pays one round trip, not grace_ms); a node joining during it
 * moves its end to at least a heartbeat later (its re-registrations are on
 * their way), up to twice grace_ms.
 * Dead names are remembered (alive = false) so that nodes see the
 * transition; the oldest are forgotten beyond MAX_DEAD_NODES.
 *
 * Addresses.  A node advertises the address peers should dial (its Hello
 * listen).  If that is a wildcard (0.0.0.0, [::]), the referee substitutes
 * the address it sees the node connect from, keeping the port.
 */
#include "server.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "conn.h"
#include "dipc_abi.h"
#include "hostport.h"
#include "registry.h"

#define MAX_DEAD_NODES 64
#define MAX_QUEUE_PER_KEY 1024
#define MAX_RESERVED_PER_NODE 4096
#define LISTEN_BACKLOG 128

typedef struct ref_node {
	char *name;
	char *addr;       /* where peers dial it */
	dipc_conn *conn;  /* NULL: dead */
	uint64_t changed; /* uv_now() of the last join or death */
	uint64_t refused_logged; /* uv_now() of the last refusal logged, 0 none */
	bool rejoined;    /* grace: it said "all sent" on this connection */
} ref_node;

/* A Resolve held until the grace ends. */
typedef struct held_resolve {
	char *node;
	uint64_t req_id;
	int32_t id;
} held_resolve;

#define REFUSAL_LOG_MS 10000

struct ref_server {
	uv_loop_t *loop;
	const dipc_conf *conf;
	uv_tcp_t server;
	bool listening;   /* server is open */
	uv_timer_t reg_timer;
	dipc_registry *reg;
	GHashTable *nodes; /* name -> ref_node */
	GHashTable *conns; /* every open dipc_conn */
	uint64_t instance; /* random, nonzero: see NodeList in dipc.proto */
	bool grace;        /* in the grace period */
	uint64_t grace_until; /* its current end */
	uint64_t grace_latest; /* the grace never lasts beyond this */
	GHashTable *expected; /* grace: names some node believed alive (set) */
	GQueue held;       /* held_resolve*, during the grace */
	bool verbose;
	bool stopping;
};

/* g_debug() formats its message before any handler can drop it: skip the
 * work on the request path unless -v asked for it. */
#define ref_debug(rf, ...)                     \
	do {                                   \
		if (G_UNLIKELY((rf)->verbose)) \
			g_debug(__VA_ARGS__);  \
	} while (0)

/* GLib 2.74 lacks g_hash_table_get_values_as_ptr_array(). */
static GPtrArray *table_values(GHashTable *t, bool keys)
{
	GPtrArray *arr = g_ptr_array_sized_new(g_hash_table_size(t));
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, t);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(arr, keys ? k : v);
	return arr;
}

static const char *kind_name(int32_t kind)
{
	switch (kind) {
	case 1: return "sem";
	case 2: return "msg";
	case 3: return "shm";
	default: return "?";
	}
}

/* ---- membership ----------------------------------------------------------- */

static void ref_node_free(gpointer p)
{
	ref_node *n = p;

	g_free(n->name);
	g_free(n->addr);
	g_free(n);
}

/* The node c speaks for, if c is its current connection. */
static ref_node *node_of(ref_server *rf, dipc_conn *c)
{
	ref_node *n = g_hash_table_lookup(rf->nodes, dipc_conn_peer_name(c));

	return n && n->conn == c ? n : NULL;
}

static const char *node_addr(ref_server *rf, const char *name)
{
	ref_node *n = g_hash_table_lookup(rf->nodes, name);

	return n && n->addr ? n->addr : "";
}

/* The listen address to advertise: a wildcard host becomes the address the
 * node connected from, with the port it listens on. */
static char *advertised_addr(dipc_conn *c)
{
	const char *listen = dipc_conn_peer_listen(c);
	g_autofree char *host = NULL, *seen = NULL;
	unsigned port;

	if (dipc_split_hostport(listen, &host, &port, NULL) < 0 || !dipc_host_is_wildcard(host) ||
	    dipc_split_hostport(dipc_conn_peer_addr(c), &seen, NULL, NULL) < 0)
		return g_strdup(listen);
	return dipc_join_hostport(seen, port);
}

static void forget_old_dead(ref_server *rf)
{
	while (true) {
		GHashTableIter it;
		gpointer v;
		ref_node *oldest = NULL;
		unsigned dead = 0;

		g_hash_table_iter_init(&it, rf->nodes);
		while (g_hash_table_iter_next(&it, NULL, &v)) {
			ref_node *n = v;

			if (n->conn)
				continue;
			dead++;
			if (!oldest || n->changed < oldest->changed)
				oldest = n;
		}
		if (dead <= MAX_DEAD_NODES)
			return;
		g_hash_table_remove(rf->nodes, oldest->name);
	}
}

static gint node_cmp(gconstpointer a, gconstpointer b)
{
	const ref_node *x = *(ref_node *const *)a, *y = *(ref_node *const *)b;

	return strcmp(x->name, y->name);
}

/* Push the membership to every connected node. */
static void broadcast_nodes(ref_server *rf)
{
	g_autoptr(GPtrArray) list = table_values(rf->nodes, false);
	Dipc__NodeEntry *entries = g_new0(Dipc__NodeEntry, list->len);
	Dipc__NodeEntry **ptrs = g_new0(Dipc__NodeEntry *, list->len);
	Dipc__NodeList nl = DIPC__NODE_LIST__INIT;
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;

	g_ptr_array_sort(list, node_cmp);
	for (guint i = 0; i < list->len; i++) {
		ref_node *n = list->pdata[i];

		dipc__node_entry__init(&entries[i]);
		entries[i].name = n->name;
		entries[i].addr = n->addr ? n->addr : (char *)"";
		entries[i].alive = n->conn != NULL;
		ptrs[i] = &entries[i];
	}
	nl.n_nodes = list->len;
	nl.nodes = ptrs;
	nl.instance = rf->instance;
	nl.grace = rf->grace;
	env.body_case = DIPC__ENVELOPE__BODY_NODE_LIST;
	env.node_list = &nl;
	for (guint i = 0; i < list->len; i++) {
		ref_node *n = list->pdata[i];

		if (n->conn && dipc_conn_ready(n->conn))
			dipc_conn_notify(n->conn, &env);
	}
	g_free(ptrs);
	g_free(entries);
}

/* ---- the registry's clock ------------------------------------------------- */

static void on_reg_timer(uv_timer_t *t);
static void grace_check(ref_server *rf);

static void rearm_reg_timer(ref_server *rf)
{
	uint64_t next, now;

	if (rf->stopping)
		return;
	next = dipc_registry_next_deadline(rf->reg);
	now = uv_now(rf->loop);
	if (next == UINT64_MAX)
		uv_timer_stop(&rf->reg_timer);
	else
		uv_timer_start(&rf->reg_timer, on_reg_timer, next > now ? next - now : 0, 0);
}

static void on_reg_timer(uv_timer_t *t)
{
	ref_server *rf = t->data;

	dipc_registry_expire(rf->reg, uv_now(rf->loop));
	grace_check(rf);
	rearm_reg_timer(rf); /* expire() does not re-arm */
}

/* ---- requests ------------------------------------------------------------- */

static void send_lookup_answer(ref_server *rf, dipc_conn *c, uint64_t req_id,
			       const dipc_reg_answer *a)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__LookupReply lr = DIPC__LOOKUP_REPLY__INIT;

	if (a->err) {
		dipc_conn_reply_err(c, req_id, a->err);
		return;
	}
	lr.found = a->found;
	lr.id = a->id;
	if (a->found) {
		lr.owner = (char *)a->owner;
		lr.owner_addr = (char *)node_addr(rf, a->owner);
	}
	env.body_case = DIPC__ENVELOPE__BODY_LOOKUP_REPLY;
	env.lookup_reply = &lr;
	dipc_conn_reply(c, req_id, &env);
}

/* A queued lookup is answered (registry callback). */
static void on_answer(const char *node, uint64_t req_id, const dipc_reg_answer *a, void *ud)
{
	ref_server *rf = ud;
	ref_node *n = g_hash_table_lookup(rf->nodes, node);

	ref_debug(rf, "%s: queued lookup #%" G_GUINT64_FORMAT " -> %s id 0x%x%s%s", node, req_id,
		a->err ? g_strerror(-a->err) : a->found ? "found" : "reserved", (unsigned)a->id,
		a->found ? " on " : "", a->found ? a->owner : "");
	if (n && n->conn)
		send_lookup_answer(rf, n->conn, req_id, a);
}

static void do_lookup(ref_server *rf, dipc_conn *c, ref_node *n, const Dipc__Envelope *env)
{
	const Dipc__Lookup *l = env->lookup;
	dipc_reg_answer a;
	int r;

	r = dipc_registry_lookup(rf->reg, n->name, env->req_id, l->kind, l->key,
				 uv_now(rf->loop), &a);
	if (r == 1) {
		ref_debug(rf, "%s: lookup %s 0x%08x: queued behind a reservation", n->name,
			kind_name(l->kind), (unsigned)l->key);
		return;
	}
	ref_debug(rf, "%s: lookup %s 0x%08x -> %s id 0x%x%s%s", n->name, kind_name(l->kind),
		(unsigned)l->key,
		a.err ? g_strerror(-a.err) : a.found ? "found" : l->key ? "reserved" : "fresh",
		(unsigned)a.id, a.found ? " on " : "", a.found ? a.owner : "");
	send_lookup_answer(rf, c, env->req_id, &a);
}

/* What a ListObjects asks for: the one object a name lookup names (key, or
 * else id), or every object of a kind for readdir. */
static GPtrArray *list_select(ref_server *rf, const Dipc__ListObjects *lo)
{
	const dipc_reg_object *o;
	GPtrArray *objs;

	if (!lo->key && !lo->id)
		return dipc_registry_list(rf->reg, lo->kind);
	objs = g_ptr_array_new();
	if (lo->key)
		o = dipc_registry_find(rf->reg, lo->kind, lo->key);
	else
		o = dipc_registry_resolve(rf->reg, lo->id);
	if (o && (!lo->kind || o->kind == lo->kind))
		g_ptr_array_add(objs, (gpointer)o);
	return objs;
}

static void do_list(ref_server *rf, dipc_conn *c, const Dipc__Envelope *env)
{
	g_autoptr(GPtrArray) objs = list_select(rf, env->list_objects);
	Dipc__ObjectEntry *entries = g_new0(Dipc__ObjectEntry, MAX(objs->len, 1u));
	Dipc__ObjectEntry **ptrs = g_new0(Dipc__ObjectEntry *, MAX(objs->len, 1u));
	Dipc__ObjectList ol = DIPC__OBJECT_LIST__INIT;
	Dipc__Envelope out = DIPC__ENVELOPE__INIT;
	int r;

	for (guint i = 0; i < objs->len; i++) {
		const dipc_reg_object *o = objs->pdata[i];

		dipc__object_entry__init(&entries[i]);
		entries[i].kind = o->kind;
		entries[i].key = o->key;
		entries[i].id = o->id;
		entries[i].owner = o->owner;
		ptrs[i] = &entries[i];
	}
	ol.n_objects = objs->len;
	ol.objects = ptrs;
	out.body_case = DIPC__ENVELOPE__BODY_OBJECT_LIST;
	out.object_list = &ol;
	r = dipc_conn_reply(c, env->req_id, &out);
	if (r == -EMSGSIZE) /* more objects than one frame holds */
		dipc_conn_reply_err(c, env->req_id, -EOVERFLOW);
	g_free(ptrs);
	g_free(entries);
}

static void answer_resolve(ref_server *rf, dipc_conn *c, const char *asker, uint64_t req_id,
			   int32_t id)
{
	const dipc_reg_object *o = dipc_registry_resolve(rf->reg, id);
	Dipc__Envelope out = DIPC__ENVELOPE__INIT;
	Dipc__ResolveReply rr = DIPC__RESOLVE_REPLY__INIT;

	ref_debug(rf, "%s: resolve 0x%x -> %s%s", asker, (unsigned)id, o ? "on " : "unknown",
		o ? o->owner : "");
	if (!o) {
		dipc_conn_reply_err(c, req_id, -EINVAL);
		return;
	}
	rr.kind = o->kind;
	rr.key = o->key;
	rr.owner = o->owner;
	rr.owner_addr = (char *)node_addr(rf, o->owner);
	out.body_case = DIPC__ENVELOPE__BODY_RESOLVE_REPLY;
	out.resolve_reply = &rr;
	dipc_conn_reply(c, req_id, &out);
}

static void do_resolve(ref_server *rf, dipc_conn *c, ref_node *n, const Dipc__Envelope *env)
{
	int32_t id = env->resolve->id;
	held_resolve *h;

	/* An id nobody has re-registered yet may still be alive: not EINVAL
	 * before the grace is over. */
	if (rf->grace && !dipc_registry_resolve(rf->reg, id) &&
	    rf->held.length < rf->conf->max_parked) {
		ref_debug(rf, "%s: resolve 0x%x: held until the grace ends", n->name, (unsigned)id);
		h = g_new0(held_resolve, 1);
		h->node = g_strdup(n->name);
		h->req_id = env->req_id;
		h->id = id;
		g_queue_push_tail(&rf->held, h);
		return;
	}
	answer_resolve(rf, c, n->name, env->req_id, id);
}

/* ---- the grace period ----------------------------------------------------- */

static void grace_over(ref_server *rf, const char *why)
{
	held_resolve *h;

	if (!rf->grace)
		return;
	rf->grace = false;
	g_message("grace period over (%s): %u object%s re-registered", why,
		  dipc_registry_count(rf->reg, 0), dipc_registry_count(rf->reg, 0) == 1 ? "" : "s");
	dipc_registry_end_grace(rf->reg, uv_now(rf->loop));
	while ((h = g_queue_pop_head(&rf->held))) {
		ref_node *n = g_hash_table_lookup(rf->nodes, h->node);

		if (n && n->conn)
			answer_resolve(rf, n->conn, n->name, h->req_id, h->id);
		g_free(h->node);
		g_free(h);
	}
	g_hash_table_remove_all(rf->expected);
	broadcast_nodes(rf); /* complete now: absent means gone */
	rearm_reg_timer(rf);
}

/* The node died: nobody is left to answer its held Resolves. */
static void drop_held(ref_server *rf, const char *node)
{
	GList *l = rf->held.head;

	while (l) {
		GList *next = l->next;
		held_resolve *h = l->data;

		if (strcmp(h->node, node) == 0) {
			g_queue_delete_link(&rf->held, l);
			g_free(h->node);
			g_free(h);
		}
		l = next;
	}
}

/* End the grace when time is up, or early when every connected node has
 * re-registered and so has every node they believed alive. */
static void grace_check(ref_server *rf)
{
	GHashTableIter it;
	gpointer k, v;
	bool any = false;

	if (!rf->grace)
		return;
	if (!dipc_registry_in_grace(rf->reg, uv_now(rf->loop))) {
		grace_over(rf, "time is up");
		return;
	}
	g_hash_table_iter_init(&it, rf->nodes);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		ref_node *n = v;

		if (!n->conn)
			continue;
		if (!n->rejoined)
			return;
		any = true;
	}
	g_hash_table_iter_init(&it, rf->expected);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		ref_node *n = g_hash_table_lookup(rf->nodes, k);

		if (!n || !n->conn || !n->rejoined)
			return;
	}
	if (any)
		grace_over(rf, "every node re-registered");
}

/* A node joined during the grace: its re-registrations are on their way. */
static void grace_joined(ref_server *rf)
{
	uint64_t until;

	if (!rf->grace)
		return;
	until = MAX(rf->grace_until, uv_now(rf->loop) + rf->conf->heartbeat_ms);
	rf->grace_until = MIN(until, rf->grace_latest);
	dipc_registry_set_grace(rf->reg, rf->grace_until);
	rearm_reg_timer(rf);
}

#define MAX_EXPECTED 4096

/* Commit: a creation, a re-registration, or a node's "all sent". */
static void do_commit(ref_server *rf, dipc_conn *c, ref_node *n, const Dipc__Envelope *env)
{
	const Dipc__Commit *m = env->commit;
	int r;

	if (m->rejoin && m->kind == 0) {
		n->rejoined = true;
		for (size_t i = 0; rf->grace && i < m->n_alive_peers; i++) {
			const char *p = m->alive_peers[i];

			if (*p && strlen(p) <= 64 && strcmp(p, n->name) != 0 &&
			    g_hash_table_size(rf->expected) < MAX_EXPECTED)
				g_hash_table_add(rf->expected, g_strdup(p));
		}
		ref_debug(rf, "%s: re-registration done (%zu peers believed alive)", n->name,
			m->n_alive_peers);
		dipc_conn_reply_err(c, env->req_id, 0);
		grace_check(rf);
		return;
	}
	if (m->rejoin) {
		r = dipc_registry_rejoin(rf->reg, n->name, m->kind, m->key, m->id);
		if (r == -EEXIST)
			g_warning("%s: re-registration of %s key 0x%08x id 0x%x refused: it conflicts "
				  "with an object registered first, which wins (%s removes its own)",
				  n->name, kind_name(m->kind), (unsigned)m->key, (unsigned)m->id,
				  n->name);
	} else {
		r = dipc_registry_commit(rf->reg, n->name, m->kind, m->key, m->id,
					 uv_now(rf->loop));
	}
	ref_debug(rf, "%s: %s %s 0x%08x id 0x%x -> %s", n->name, m->rejoin ? "rejoin" : "commit",
		kind_name(m->kind), (unsigned)m->key, (unsigned)m->id, r ? g_strerror(-r) : "ok");
	dipc_conn_reply_err(c, env->req_id, r);
}

static void on_request(dipc_conn *c, Dipc__Envelope *env, void *ud)
{
	ref_server *rf = ud;
	ref_node *n = node_of(rf, c);
	uint64_t now = uv_now(rf->loop);
	int r;

	if (!n) { /* replaced meanwhile: it is being closed */
		dipc_conn_reply_err(c, env->req_id, -ENOTCONN);
		return;
	}
	switch (env->body_case) {
	case DIPC__ENVELOPE__BODY_LOOKUP:
		do_lookup(rf, c, n, env);
		break;
	case DIPC__ENVELOPE__BODY_COMMIT:
		do_commit(rf, c, n, env);
		break;
	case DIPC__ENVELOPE__BODY_ABORT: {
		const Dipc__Abort *m = env->abort;

		r = dipc_registry_abort(rf->reg, n->name, m->kind, m->key, now);
		ref_debug(rf, "%s: abort %s 0x%08x -> %s", n->name, kind_name(m->kind),
			(unsigned)m->key, r ? g_strerror(-r) : "ok");
		dipc_conn_reply_err(c, env->req_id, r);
		break;
	}
	case DIPC__ENVELOPE__BODY_RESOLVE:
		do_resolve(rf, c, n, env);
		break;
	case DIPC__ENVELOPE__BODY_REMOVED:
		r = env->removed->unkey
			    ? dipc_registry_unkey(rf->reg, n->name, env->removed->id)
			    : dipc_registry_removed(rf->reg, n->name, env->removed->id);
		ref_debug(rf, "%s: removed 0x%x -> %s", n->name, (unsigned)env->removed->id,
			r ? g_strerror(-r) : "ok");
		dipc_conn_reply_err(c, env->req_id, r);
		break;
	case DIPC__ENVELOPE__BODY_LIST_OBJECTS:
		ref_debug(rf, "%s: list %s", n->name,
			env->list_objects->kind ? kind_name(env->list_objects->kind) : "all");
		do_list(rf, c, env);
		break;
	default:
		ref_debug(rf, "%s: unexpected message %d", n->name, (int)env->body_case);
		dipc_conn_reply_err(c, env->req_id, -EOPNOTSUPP);
		break;
	}
	rearm_reg_timer(rf);
}

/* ---- connections ---------------------------------------------------------- */

/* A second daemon under the name of a connected node: it is told why (a
 * NodeList with only `refused`), then closed.  Logged as a warning, at most
 * every REFUSAL_LOG_MS per name (the newcomer retries twice a second). */
static void refuse_second(ref_server *rf, ref_node *n, dipc_conn *c)
{
	g_autofree char *why = g_strdup_printf(
		"a daemon named %s is connected already (from %s): one daemon per node name",
		n->name, dipc_conn_peer_addr(n->conn));
	Dipc__NodeList nl = DIPC__NODE_LIST__INIT;
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	uint64_t now = uv_now(rf->loop);

	if (!n->refused_logged || now - n->refused_logged >= REFUSAL_LOG_MS) {
		g_warning("refused node %s from %s: %s", n->name, dipc_conn_peer_addr(c), why);
		n->refused_logged = now;
	} else {
		ref_debug(rf, "refused node %s from %s again", n->name, dipc_conn_peer_addr(c));
	}
	nl.instance = rf->instance;
	nl.refused = why;
	env.body_case = DIPC__ENVELOPE__BODY_NODE_LIST;
	env.node_list = &nl;
	dipc_conn_notify(c, &env);
	dipc_conn_close(c, -EADDRINUSE);
}

static void on_ready(dipc_conn *c, void *ud)
{
	ref_server *rf = ud;
	const char *name = dipc_conn_peer_name(c);
	ref_node *n;

	if (strcmp(dipc_conn_peer_role(c), "node") != 0) {
		g_message("rejected peer %s: role '%s' (only nodes talk to the referee)",
			  dipc_conn_peer_addr(c), dipc_conn_peer_role(c));
		dipc_conn_close(c, -EACCES);
		return;
	}
	n = g_hash_table_lookup(rf->nodes, name);
	if (n && n->conn) {
		refuse_second(rf, n, c);
		return;
	}
	if (!n) {
		n = g_new0(ref_node, 1);
		n->name = g_strdup(name);
		g_hash_table_insert(rf->nodes, n->name, n);
	}
	g_free(n->addr);
	n->addr = advertised_addr(c);
	n->conn = c;
	n->changed = uv_now(rf->loop);
	n->rejoined = false;
	n->refused_logged = 0;
	g_message("node %s joined from %s (peers reach it at %s)%s", name,
		  dipc_conn_peer_addr(c), n->addr, rf->grace ? " during the grace period" : "");
	grace_joined(rf);
	broadcast_nodes(rf);
}

static void on_close(dipc_conn *c, int err, void *ud)
{
	ref_server *rf = ud;
	ref_node *n;
	unsigned dropped;

	g_hash_table_remove(rf->conns, c);
	if (rf->stopping)
		return;
	n = node_of(rf, c);
	if (!n)
		return; /* never became a node: conn.c logged why, if it matters */
	n->conn = NULL;
	n->changed = uv_now(rf->loop);
	drop_held(rf, n->name);
	dropped = dipc_registry_node_dead(rf->reg, n->name, uv_now(rf->loop));
	g_message("node %s left: %s (%u object%s dropped)", n->name,
		  err ? g_strerror(-err) : "closed", dropped, dropped == 1 ? "" : "s");
	forget_old_dead(rf);
	broadcast_nodes(rf);
	grace_check(rf);
	rearm_reg_timer(rf);
}

static const dipc_conn_ops conn_ops = {
	.on_ready = on_ready,
	.on_request = on_request,
	.on_close = on_close,
};

static void on_connection(uv_stream_t *server, int status)
{
	ref_server *rf = server->data;
	dipc_conn_params p = {
		.loop = rf->loop,
		.conf = rf->conf,
		.role = "referee",
		.name = "referee",
		.listen = "",
		.ops = &conn_ops,
		.ud = rf,
	};
	dipc_conn *c;

	if (status < 0) {
		g_message("accept: %s", uv_strerror(status));
		return;
	}
	c = dipc_conn_accept(&p, server);
	if (c)
		g_hash_table_add(rf->conns, c);
}

/* ---- start and stop ------------------------------------------------------- */

ref_server *ref_server_new(uv_loop_t *loop, const dipc_conf *conf, bool verbose)
{
	ref_server *rf = g_new0(ref_server, 1);
	dipc_reg_limits lim = {
		.max_objects = conf->semmni,
		.max_objects_of = { [DIPC_KIND_MSG] = conf->msgmni, [DIPC_KIND_SHM] = conf->shmmni },
		.reserve_timeout_ms = conf->reserve_timeout_ms,
		.max_queue_per_key = MAX_QUEUE_PER_KEY,
		.max_waiting_per_node = conf->max_parked,
		.max_pending_per_node = MAX_RESERVED_PER_NODE,
	};

	rf->loop = loop;
	rf->conf = conf;
	rf->verbose = verbose;
	rf->reg = dipc_registry_new(&lim, 0, on_answer, rf);
	do
		rf->instance = ((uint64_t)g_random_int() << 32) | g_random_int();
	while (rf->instance == 0);
	rf->nodes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, ref_node_free);
	rf->conns = g_hash_table_new(g_direct_hash, g_direct_equal);
	rf->expected = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_queue_init(&rf->held);
	uv_timer_init(loop, &rf->reg_timer);
	rf->reg_timer.data = rf;
	if (conf->grace_ms) {
		uv_update_time(loop);
		rf->grace = true;
		rf->grace_until = uv_now(loop) + conf->grace_ms;
		rf->grace_latest = uv_now(loop) + 2ull * conf->grace_ms;
		dipc_registry_set_grace(rf->reg, rf->grace_until);
		rearm_reg_timer(rf);
	}
	return rf;
}

int ref_server_listen(ref_server *rf)
{
	struct sockaddr_storage ss;
	GError *error = NULL;
	int r;

	if (dipc_parse_hostport(rf->conf->referee_listen, &ss, &error) < 0) {
		g_printerr("dipc-referee: cannot listen on %s: %s\n", rf->conf->referee_listen,
			   error->message);
		g_error_free(error);
		return -EINVAL;
	}
	uv_tcp_init_ex(rf->loop, &rf->server, ss.ss_family);
	rf->server.data = rf;
	r = uv_tcp_bind(&rf->server, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&rf->server, LISTEN_BACKLOG, on_connection);
	if (r < 0) {
		g_printerr("dipc-referee: cannot listen on %s: %s\n", rf->conf->referee_listen,
			   uv_strerror(r));
		uv_close((uv_handle_t *)&rf->server, NULL);
		return r;
	}
	rf->listening = true;
	return 0;
}

void ref_server_stop(ref_server *rf)
{
	g_autoptr(GPtrArray) conns = NULL;

	if (rf->stopping)
		return;
	rf->stopping = true;
	conns = table_values(rf->conns, true);
	for (guint i = 0; i < conns->len; i++)
		dipc_conn_close(conns->pdata[i], 0);
	if (rf->listening)
		uv_close((uv_handle_t *)&rf->server, NULL);
	rf->listening = false;
	uv_close((uv_handle_t *)&rf->reg_timer, NULL);
}

void ref_server_free(ref_server *rf)
{
	held_resolve *h;

	if (!rf)
		return;
	while ((h = g_queue_pop_head(&rf->held))) {
		g_free(h->node);
		g_free(h);
	}
	g_hash_table_destroy(rf->expected);
	g_hash_table_destroy(rf->conns);
	g_hash_table_destroy(rf->nodes);
	dipc_registry_free(rf->reg);
	g_free(rf);
}
