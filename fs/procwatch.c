/* SPDX-License-Identifier: MIT */
/**
 * @file procwatch.c
 *
 * SEM_UNDO across nodes: the node where a process runs watches it and
 * announces its exit to every node that owns a set the process adjusted with
 * SEM_UNDO.  The watch is a pidfd (pidfd_open(2)) in the node's exit watch
 * set (exitwatch.c): it becomes readable when the process exits for any
 * reason, SIGKILL included, and it cannot be fooled by pid reuse.
 *
 * Ordering: the exit announcement travels on the same connection as the
 * process's operations, after them; and a process cannot exit while one of
 * its operations is still unanswered (it waits in the FUSE request), so the
 * owner always applies the adjustments after the last operation.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "node.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

typedef struct proc_watch {
	dipc_node *node;
	int32_t pid;
	int pidfd;
	dipc_exit_watch exit;
	GHashTable *owners;   /* node names (set) */
} proc_watch;

static void announce(dipc_node *n, int32_t pid, GHashTable *owners)
{
	GHashTableIter it;
	gpointer k;

	g_hash_table_iter_init(&it, owners);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		if (g_strcmp0(k, n->name) == 0)
			objects_proc_exit(n, n->name, pid);
		else
			peer_notify_exit(n, k, pid);
	}
}

static void watch_end(proc_watch *w)
{
	g_hash_table_steal(w->node->procs, GINT_TO_POINTER(w->pid));
	exitwatch_del(w->node, &w->exit);
	close(w->pidfd);
	g_hash_table_destroy(w->owners);
	g_free(w);
}

/* Out of the table before announcing: the announcement may run operations,
 * and those flush the table again. */
static void watch_exited(proc_watch *w)
{
	g_hash_table_steal(w->node->procs, GINT_TO_POINTER(w->pid));
	announce(w->node, w->pid, w->owners);
	watch_end(w);
}

static void exited_cb(void *ud)
{
	watch_exited(ud);
}

void procwatch_note_undo(dipc_node *n, int32_t pid, const char *owner)
{
	proc_watch *w = g_hash_table_lookup(n->procs, GINT_TO_POINTER(pid));
	int fd;

	if (w) {
		if (!g_hash_table_contains(w->owners, owner))
			g_hash_table_add(w->owners, g_strdup(owner));
		return;
	}
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		/* Already gone (killed while its call was on the way): its
		 * operation is ahead of this announcement on every path. */
		g_autoptr(GHashTable) one = g_hash_table_new(g_str_hash, g_str_equal);
		g_hash_table_add(one, (gpointer)owner);
		announce(n, pid, one);
		return;
	}
	w = g_new0(proc_watch, 1);
	w->node = n;
	w->pid = pid;
	w->pidfd = fd;
	w->owners = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_hash_table_add(w->owners, g_strdup(owner));
	if (exitwatch_add(n, &w->exit, fd, exited_cb, w) < 0) {
		g_warning("cannot watch pid %d for SEM_UNDO: %s", pid, g_strerror(errno));
		close(fd);
		g_hash_table_destroy(w->owners);
		g_free(w);
		return;
	}
	g_hash_table_insert(n->procs, GINT_TO_POINTER(pid), w);
}

/* Exits already readable are announced before every operation; see
 * exitwatch.c for why. */
void procwatch_flush(dipc_node *n)
{
	exitwatch_flush(n);
}

void procwatch_init(dipc_node *n)
{
	n->procs = g_hash_table_new(g_direct_hash, g_direct_equal);
}

void procwatch_fini(dipc_node *n)
{
	GHashTableIter it;
	gpointer v;
	GSList *all = NULL;

	g_hash_table_iter_init(&it, n->procs);
	while (g_hash_table_iter_next(&it, NULL, &v))
		all = g_slist_prepend(all, v);
	for (GSList *l = all; l; l = l->next)
		watch_end(l->data);
	g_slist_free(all);
	g_hash_table_destroy(n->procs);
	n->procs = NULL;
}
