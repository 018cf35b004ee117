/* SPDX-License-Identifier: MIT */
/**
 * @file cluster.c
 *
 * This node's place in the cluster, started and stopped as one: the
 * listener for peers (serve.c answers what arrives on it), the referee link
 * (referee_link.c), the peer table (peers.c) and the routing cache
 * (route.c); and the `cluster` status file's text.
 *
 * cluster_start runs before fuse_daemonize() and may fail the mount command
 * (a bad or taken listen address); cluster_join runs in the daemon that
 * serves, since connecting to a referee given by host name queues a
 * uv_getaddrinfo in libuv's thread pool, whose threads a fork leaves behind
 * (node.c).
 */
#include <errno.h>
#include <string.h>

#include "node.h"

int cluster_start(dipc_node *n)
{
	struct sockaddr_storage ss;
	g_autoptr(GError) error = NULL;
	int r;

	peers_init(n);
	n->id_owner = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	n->inbound = g_hash_table_new(g_direct_hash, g_direct_equal);
	n->parked_remote = parked_table_new();

	if (dipc_parse_hostport(n->conf->node_listen, &ss, &error) < 0) {
		g_printerr("mount.dipcfs: %s\n", error->message);
		return -EINVAL;
	}
	uv_tcp_init(n->loop, &n->listener);
	n->listener.data = n;
	r = uv_tcp_bind(&n->listener, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&n->listener, 128, serve_on_connection);
	if (r < 0) {
		g_printerr("mount.dipcfs: cannot listen on %s: %s\n", n->conf->node_listen,
			   uv_strerror(r));
		return r;
	}
	return 0;
}

void cluster_join(dipc_node *n)
{
	referee_link_start(n);
}

void cluster_stop(dipc_node *n)
{
	GHashTableIter it;
	gpointer k;
	GSList *conns;

	referee_link_stop(n);
	uv_close((uv_handle_t *)&n->listener, NULL);
	conns = peers_conns(n);
	g_hash_table_iter_init(&it, n->inbound);
	while (g_hash_table_iter_next(&it, &k, NULL))
		conns = g_slist_prepend(conns, k);
	for (GSList *l = conns; l; l = l->next)
		dipc_conn_close(l->data, 0);
	g_slist_free(conns);
	peers_stop(n);
}

char *cluster_describe(dipc_node *n)
{
	GString *s = g_string_new(NULL);
	GHashTableIter it;
	gpointer v;
	GList *names = NULL;

	g_string_append_printf(s, "node %s\n", n->name);
	g_string_append_printf(s, "listen %s\n", n->conf->node_listen);
	g_string_append_printf(s, "referee %s %s\n", n->conf->referee,
			       n->referee_up ? "connected" : "disconnected");
	g_hash_table_iter_init(&it, n->peers);
	while (g_hash_table_iter_next(&it, NULL, &v))
		names = g_list_prepend(names, ((dipc_peer *)v)->name);
	names = g_list_sort(names, (GCompareFunc)g_strcmp0);
	for (GList *l = names; l; l = l->next) {
		dipc_peer *p = g_hash_table_lookup(n->peers, l->data);
		g_string_append_printf(s, "peer %s %s %s\n", p->name, p->addr ? p->addr : "-",
				       p->alive ? "alive" : "dead");
	}
	g_list_free(names);
	g_string_append_printf(s, "owned %u\n", g_hash_table_size(n->owned));
	g_string_append_printf(s, "parked %u\n", n->nparked);
	return g_string_free(s, FALSE);
}
