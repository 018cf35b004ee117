/* SPDX-License-Identifier: MIT */
/**
 * @file referee_link.c
 *
 * This node's connection to the referee: dialled at start and re-dialled
 * every 500 ms while down; the calls other rooms make to the referee
 * (referee_call); and the referee's pushes: the node list that drives
 * membership (peers.c) and tells a restarted referee from the same one,
 * whose grace period takes this node's objects back (re-registration), and
 * the refusal of a second daemon under this node's name.
 */
#include <errno.h>
#include <string.h>

#include "node.h"
#include "opwire.h"

#define REFEREE_RETRY_MS 500

static void referee_connect(dipc_node *n);

/* The referee refused one of our objects: it conflicts with one it holds
 * (that one wins, registry.h) or does not fit.  Nobody can find ours any
 * more, so it goes here too: its users get EIDRM, never a split key. */
static void drop_refused(dipc_node *n, int32_t id, int err)
{
	dipc_obj *o = obj_find(n, id);
	dipc_ident root = { .uid = 0, .caps = DIPC_CAPS_ALL };

	if (!o)
		return;
	g_warning("the referee refused object %d (kind %d, key 0x%08x) on re-registration: %s;"
		  " it is removed here (its users get EIDRM)", id, o->kind, (unsigned)o->key,
		  err == EEXIST ? "another object holds its key or id" : g_strerror(err));
	if (o->sem)
		dipc_semset_rmid(o->sem, &root);
	else if (o->msg)
		dipc_msgq_rmid(o->msg, &root);
	else
		shmglue_destroy(n, o->id);
	obj_destroy(n, o);
}

static void reregister_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	dipc_node *n = dipc_conn_get_ud(c);

	/* A link that broke meanwhile: the next instance check decides. */
	if (err < 0 || !n)
		return;
	if (reply->err)
		drop_refused(n, GPOINTER_TO_INT(ud), -reply->err);
}

static void rejoin_done_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
}

/* A referee that restarted knows nothing: tell it what this node owns, then
 * "all sent" with the peers this node believed alive, which its grace
 * period waits for (dipc.proto, Commit). */
static void reregister_owned(dipc_node *n)
{
	g_autoptr(GPtrArray) alive = g_ptr_array_new();
	g_autoptr(opwire_msg) done = NULL;
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		/* The key it is registered under: 0 once a removed shm segment
		 * lives on as a private one (obj_rekey), whatever o->key says. */
		g_autoptr(opwire_msg) m =
			opwire_commit(o->kind, (int32_t)(uint32_t)(o->slot & 0xffffffffu), o->id, true);

		dipc_conn_call(n->referee, opwire_env(m), n->conf->request_timeout_ms,
			       reregister_cb, GINT_TO_POINTER(o->id));
	}
	g_hash_table_iter_init(&it, n->peers);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (((dipc_peer *)v)->alive && g_strcmp0(((dipc_peer *)v)->name, n->name) != 0)
			g_ptr_array_add(alive, ((dipc_peer *)v)->name);
	done = opwire_rejoin_done((char **)alive->pdata, alive->len);
	dipc_conn_call(n->referee, opwire_env(done), n->conf->request_timeout_ms, rejoin_done_cb,
		       NULL);
}

/*
 * The referee drops a node's objects as soon as it loses the node's
 * connection (fail-stop).  So when this node reconnects to the same referee
 * instance, it was declared dead and its objects are gone for everyone else:
 * they must go here too (their waiters get EIDRM, their ids EINVAL), or a
 * healed partition would bring back ids the cluster was told are removed.
 * A new instance (the referee restarted) lost its registry instead: during
 * its grace period, give it our objects back.  A new instance past its
 * grace has told every node that we are gone (its first complete NodeList
 * did not name us): our objects are gone too.
 */
static void referee_instance_seen(dipc_node *n, const Dipc__NodeList *nl)
{
	uint64_t instance = nl->instance;

	if (!n->referee_fresh || !instance)
		return;
	n->referee_fresh = false;
	if (n->referee_instance == instance) {
		if (g_hash_table_size(n->owned)) {
			g_message("the referee declared this node dead: its %u objects are gone",
				  g_hash_table_size(n->owned));
			objects_drop_all(n);
		}
		if (nl->grace)
			reregister_owned(n); /* nothing left: only "all sent" */
	} else if (n->referee_instance != instance && nl->grace) {
		reregister_owned(n);
	} else if (n->referee_instance != instance && g_hash_table_size(n->owned)) {
		g_warning("the referee restarted and its grace period ended before this node came"
			  " back: the cluster took it for gone, and its %u objects are gone",
			  g_hash_table_size(n->owned));
		objects_drop_all(n);
	}
	n->referee_instance = instance;
}

/* The referee does not take this connection (another daemon has our name).
 * It closes it next; we retry, and succeed once the other one is gone. */
static void referee_refused(dipc_node *n, const char *why)
{
	static gint64 logged; /* one daemon per process: one node */
	gint64 now = g_get_monotonic_time();

	if (!logged || now - logged >= 10 * G_USEC_PER_SEC) {
		g_warning("the referee refused this node: %s (retrying)", why);
		logged = now;
	}
}

static void referee_ready(dipc_conn *c, void *ud)
{
	dipc_node *n = ud;
	n->referee_up = true;
	n->referee_fresh = true;
	g_message("connected to referee %s", n->conf->referee);
}

static void referee_request(dipc_conn *c, Dipc__Envelope *env, void *ud)
{
	dipc_node *n = ud;

	if (env->body_case == DIPC__ENVELOPE__BODY_NODE_LIST) {
		if (env->node_list->refused && *env->node_list->refused) {
			referee_refused(n, env->node_list->refused);
			return;
		}
		referee_instance_seen(n, env->node_list);
		peers_update(n, env->node_list);
	}
	else if (env->req_id)
		dipc_conn_reply_err(c, env->req_id, -EPROTO);
}

static void referee_retry_cb(uv_timer_t *t)
{
	referee_connect(t->data);
}

static void referee_closed(dipc_conn *c, int err, void *ud)
{
	dipc_node *n = ud;

	if (n->referee_up)
		g_message("lost the referee %s: %s", n->conf->referee, g_strerror(-err));
	n->referee = NULL;
	n->referee_up = false;
	if (!n->stopping)
		uv_timer_start(&n->referee_retry, referee_retry_cb, REFEREE_RETRY_MS, 0);
}

static const dipc_conn_ops referee_conn_ops = {
	.on_ready = referee_ready,
	.on_request = referee_request,
	.on_close = referee_closed,
};

static void referee_connect(dipc_node *n)
{
	dipc_conn_params p = node_conn_params(n, &referee_conn_ops, n);
	n->referee = dipc_conn_connect(&p, n->conf->referee);
	if (!n->referee)
		uv_timer_start(&n->referee_retry, referee_retry_cb, REFEREE_RETRY_MS, 0);
}

int referee_call(dipc_node *n, Dipc__Envelope *env, dipc_conn_reply_cb cb, void *ud)
{
	if (!n->referee || !n->referee_up)
		return -EHOSTUNREACH;
	int64_t id = dipc_conn_call(n->referee, env, n->conf->request_timeout_ms, cb, ud);
	return id < 0 ? (int)id : 0;
}


void referee_link_start(dipc_node *n)
{
	uv_timer_init(n->loop, &n->referee_retry);
	n->referee_retry.data = n;
	referee_connect(n);
}

void referee_link_stop(dipc_node *n)
{
	uv_timer_stop(&n->referee_retry);
	uv_close((uv_handle_t *)&n->referee_retry, NULL);
	if (n->referee)
		dipc_conn_close(n->referee, 0);
}
