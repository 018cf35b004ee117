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
 * owner always applies the adjustments after the last operation.  An
 * announcement is repeated until the owner confirms it (peers.c), and
 * applying one twice is harmless (the first one consumed the adjustments).
 *
 * Limits.  A watch is taken before a SEM_UNDO operation runs
 * (procwatch_reserve, from route.c), not after: a node that cannot watch
 * the process ([limits] max_watched_procs reached, or pidfd_open failing
 * with EMFILE/ENFILE/ENOMEM) refuses the operation with ENOSPC instead of
 * taking an adjustment it could never undo.  Only ESRCH means "exited".
 * The node raises its RLIMIT_NOFILE to fit the limit (procwatch_init).
 */
#include <errno.h>
#include <sys/resource.h>
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

/* A new watch of pid (no owners yet); -ESRCH: it exited already; -ENOSPC:
 * it cannot be watched (the limit, or no file descriptor left). */
static int watch_new(dipc_node *n, int32_t pid, proc_watch **ret)
{
	proc_watch *w;
	int fd;

	if (g_hash_table_size(n->procs) >= n->conf->max_watched_procs) {
		g_message("pid %d: %u processes watched for SEM_UNDO already ([limits] "
			  "max_watched_procs): ENOSPC", pid, g_hash_table_size(n->procs));
		return -ENOSPC;
	}
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && errno == ESRCH)
		return -ESRCH;
	if (fd < 0) {
		g_warning("cannot watch pid %d for SEM_UNDO: pidfd_open: %s: ENOSPC", pid,
			  g_strerror(errno));
		return -ENOSPC;
	}
	w = g_new0(proc_watch, 1);
	w->node = n;
	w->pid = pid;
	w->pidfd = fd;
	w->owners = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (exitwatch_add(n, &w->exit, fd, exited_cb, w) < 0) {
		g_warning("cannot watch pid %d for SEM_UNDO: %s: ENOSPC", pid, g_strerror(errno));
		close(fd);
		g_hash_table_destroy(w->owners);
		g_free(w);
		return -ENOSPC;
	}
	g_hash_table_insert(n->procs, GINT_TO_POINTER(pid), w);
	*ret = w;
	return 0;
}

int procwatch_reserve(dipc_node *n, int32_t pid)
{
	proc_watch *w;
	int r;

	if (g_hash_table_contains(n->procs, GINT_TO_POINTER(pid)))
		return 0;
	r = watch_new(n, pid, &w);
	/* Exited while its call was on the way: the operation still runs,
	 * and procwatch_note_undo announces the exit after it. */
	return r == -ESRCH ? 0 : r;
}

void procwatch_note_undo(dipc_node *n, int32_t pid, const char *owner)
{
	proc_watch *w = g_hash_table_lookup(n->procs, GINT_TO_POINTER(pid));
	int r;

	if (!w) {
		/* Not reserved (or its watch fired meanwhile). */
		r = watch_new(n, pid, &w);
		if (r == -ESRCH) {
			/* Already gone (killed while its call was on the way):
			 * its operation is ahead of this announcement on every
			 * path. */
			g_autoptr(GHashTable) one = g_hash_table_new(g_str_hash, g_str_equal);
			g_hash_table_add(one, (gpointer)owner);
			announce(n, pid, one);
			return;
		}
		if (r < 0) {
			/* Alive but not watchable: never apply a live process's
			 * undo; the owner applies it if this node goes. */
			g_warning("pid %d: its SEM_UNDO adjustments on %s wait for this node's end",
				  pid, owner);
			return;
		}
	}
	if (!g_hash_table_contains(w->owners, owner))
		g_hash_table_add(w->owners, g_strdup(owner));
}

/* Exits already readable are announced before every operation; see
 * exitwatch.c for why. */
void procwatch_flush(dipc_node *n)
{
	exitwatch_flush(n);
}

/* One pidfd per watched process, one socket per connection, and room for
 * FUSE, shm files and the loop: the soft limit rises to fit (never above
 * the hard one). */
static void raise_nofile(const dipc_conf *conf)
{
	rlim_t want = (rlim_t)conf->max_watched_procs + 2 * (rlim_t)conf->max_connections + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : MIN(want, rl.rlim_max);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		g_message("open files limited to %lu (the limits want %lu): SEM_UNDO operations"
			  " may get ENOSPC sooner", (unsigned long)rl.rlim_cur, (unsigned long)want);
}

void procwatch_init(dipc_node *n)
{
	n->procs = g_hash_table_new(g_direct_hash, g_direct_equal);
	raise_nofile(n->conf);
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
