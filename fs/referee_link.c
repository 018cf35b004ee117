/* SPDX-License-Identifier: MIT */
/**
 * @file referee_link.c
 *
 * This node's connection to the referee: dialled at start and re-dialled
 * every 500 ms while down; the calls other rooms make to the referee
 * (referee_call); and the referee's pushes: the node list that drives
 * membership (peers.c) and tells a restarted referee from the same one.
 */
#include <errno.h>
#include <string.h>

#include "node.h"

#define REFEREE_RETRY_MS 500

static void referee_connect(dipc_node *n);

static void reregister_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	/* EINVAL: it already knows the object (it did not restart). */
	if (err == 0 && reply->err)
		g_debug("referee: object %d not re-registered: %s", GPOINTER_TO_INT(ud),
			g_strerror(reply->err));
}

/* A referee that restarted knows nothing: tell it what this node owns.
 * (To a referee that did not restart this is a no-op.) */
static void reregister_owned(dipc_node *n)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		Dipc__Envelope env = DIPC__ENVELOPE__INIT;
		Dipc__Commit cm = DIPC__COMMIT__INIT;
		cm.kind = o->kind;
		cm.key = o->key;
		cm.id = o->id;
		env.body_case = DIPC__ENVELOPE__BODY_COMMIT;
		env.commit = &cm;
		dipc_conn_call(n->referee, &env, n->conf->request_timeout_ms, reregister_cb,
			       GINT_TO_POINTER(o->id));
	}
}

/*
 * The referee drops a node's objects as soon as it loses the node's
 * connection (fail-stop).  So when this node reconnects to the same referee
 * instance, it was declared dead and its objects are gone for everyone else:
 * they must go here too (their waiters get EIDRM, their ids EINVAL), or a
 * healed partition would bring back ids the cluster was told are removed.
 * A new instance (the referee restarted) lost its registry instead: give it
 * our objects back.
 */
static void referee_instance_seen(dipc_node *n, uint64_t instance)
{
	if (!n->referee_fresh || !instance)
		return;
	n->referee_fresh = false;
	if (n->referee_instance == instance && g_hash_table_size(n->owned)) {
		g_message("the referee declared this node dead: its %u objects are gone",
			  g_hash_table_size(n->owned));
		objects_drop_all(n);
	} else if (n->referee_instance && n->referee_instance != instance) {
		reregister_owned(n);
	}
	n->referee_instance = instance;
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
		referee_instance_seen(n, env->node_list->instance);
		peers_update(n, env->node_list);
	}
	else if (env->req_id)
		dipc_conn_reply_err(c, env->req_id, EPROTO);
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
