/* SPDX-License-Identifier: MIT */
/**
 * @file shmseg.c
 *
 * See shmseg.h.  The rules follow Linux ipc/shm.c: newseg() for the initial
 * state, shm_more_checks() + ipcperms() for shmget of an existing key,
 * shmctl_ipc_stat()/shmctl_down()/shmctl_do_lock() for shmctl, do_shmat()'s
 * permission check and shm_open()/shm_close() for the attach counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include "ipcstatus.h"
#include "shmseg.h"

#define S_IXUGO 0111   /* SHM_EXEC: execute access */

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

struct dipc_shmseg {
	dipc_ipc_perm perm;
	uint64_t size, npages;
	int64_t atime, dtime, ctime;
	int32_t cpid, lpid;
	char cnode[sizeof(((dipc_ident *)NULL)->node)];   /* cpid's and lpid's nodes */
	char lnode[sizeof(((dipc_ident *)NULL)->node)];
	uint64_t nattch;
	GHashTable *attaches;   /* node name -> count (GUINT) */

	/* the directory, one entry per page (allocated zeroed: untouched
	 * pages of a large segment cost no memory) */
	uint64_t *readers;      /* bit i: node i holds a copy for reading */
	uint8_t *writer;        /* 0: none, else node index + 1 */
	uint8_t *written;       /* ever granted for writing */
	uint64_t *granted_ms;   /* last grant */
};

dipc_shmseg *dipc_shmseg_new(int32_t key, int32_t id, uint64_t size, int mode,
			     const dipc_ident *creator)
{
	dipc_shmseg *s = g_new0(dipc_shmseg, 1);

	dipc_ipc_perm_init(&s->perm, key, id, (uint32_t)mode, creator);
	s->size = size;
	s->npages = dipc_shm_pages_of(size);
	s->cpid = creator->pid;
	g_strlcpy(s->cnode, creator->node, sizeof(s->cnode));
	s->ctime = dipc_now_sec();
	s->attaches = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	/* Sized by the client: an allocation that fails (or whose size
	 * overflows) is the client's ENOMEM, never an abort of the node. */
	s->readers = g_try_new0(uint64_t, s->npages);
	s->writer = g_try_new0(uint8_t, s->npages);
	s->written = g_try_new0(uint8_t, s->npages);
	s->granted_ms = g_try_new0(uint64_t, s->npages);
	if (s->npages && (!s->readers || !s->writer || !s->written || !s->granted_ms)) {
		dipc_shmseg_free(s);
		return NULL;
	}
	return s;
}

uint64_t dipc_shm_pages_of(uint64_t size)
{
	return size / DIPC_SHM_PAGE + (size % DIPC_SHM_PAGE != 0);
}

void dipc_shmseg_free(dipc_shmseg *s)
{
	if (!s)
		return;
	g_hash_table_destroy(s->attaches);
	g_free(s->readers);
	g_free(s->writer);
	g_free(s->written);
	g_free(s->granted_ms);
	g_free(s);
}

const dipc_ipc_perm *dipc_shmseg_perm(const dipc_shmseg *s)
{
	return &s->perm;
}

uint64_t dipc_shmseg_size(const dipc_shmseg *s)
{
	return s->size;
}

uint64_t dipc_shmseg_npages(const dipc_shmseg *s)
{
	return s->npages;
}

uint64_t dipc_shmseg_nattch(const dipc_shmseg *s)
{
	return s->nattch;
}

bool dipc_shmseg_removed(const dipc_shmseg *s)
{
	return (s->perm.mode & SHM_DEST) != 0;
}

bool dipc_shmseg_gone(const dipc_shmseg *s)
{
	return dipc_shmseg_removed(s) && s->nattch == 0;
}

unsigned dipc_shmseg_node_attaches(const dipc_shmseg *s, const char *node)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(s->attaches, node));
}

int dipc_shmseg_check_get(const dipc_shmseg *s, const dipc_ident *who, int flags,
			  uint64_t size)
{
	if (s->size < size)
		return -EINVAL;
	return dipc_ipc_check_get(&s->perm, who, flags);
}

static void fill_ds(const dipc_shmseg *s, struct dipc_shmid_ds *out)
{
	memset(out, 0, sizeof(*out));
	dipc_ipc_perm_export(&s->perm, &out->perm);
	out->segsz = s->size;
	out->atime = s->atime;
	out->dtime = s->dtime;
	out->ctime = s->ctime;
	out->cpid = s->cpid;
	out->lpid = s->lpid;
	out->nattch = s->nattch;
}

int dipc_shmseg_ctl(dipc_shmseg *s, const dipc_ident *who, int cmd,
		    const struct dipc_shmid_ds *in, struct dipc_shmid_ds *out)
{
	int r;

	switch (cmd) {
	case IPC_STAT:
	case SHM_STAT:
	case SHM_STAT_ANY:
		if ((r = dipc_ipc_stat_check(&s->perm, who, cmd != SHM_STAT_ANY)) < 0)
			return r;
		if (out)
			fill_ds(s, out);
		return 0;
	case IPC_SET:
		/* A segment marked for destruction still takes IPC_SET, as in
		 * Linux: it lives on while attached. */
		if ((r = dipc_ipc_ctl_check(&s->perm, who, false)) < 0)
			return r;
		dipc_ipc_set_perm(&s->perm, &s->ctime, in->perm.uid, in->perm.gid, in->perm.mode);
		return 0;
	case IPC_RMID:
		if ((r = dipc_ipc_ctl_check(&s->perm, who, false)) < 0)
			return r;
		/* Marked; the key becomes private at once (do_shm_rmid). */
		s->perm.mode |= SHM_DEST;
		s->perm.key = IPC_PRIVATE;
		return 0;
	case SHM_LOCK:
	case SHM_UNLOCK:
		/* shmctl_do_lock: without CAP_IPC_LOCK only the owner or creator.
		 * The flag is recorded; residency is the nodes' business. */
		if ((r = dipc_ipc_owner_or_cap(&s->perm, who, DIPC_CAP_IPC_LOCK)) < 0)
			return r;
		if (cmd == SHM_LOCK)
			s->perm.mode |= SHM_LOCKED;
		else
			s->perm.mode &= ~(uint32_t)SHM_LOCKED;
		return 0;
	default:
		return -EINVAL;
	}
}

int dipc_shmseg_attach(dipc_shmseg *s, const dipc_ident *who, int shmflg, bool fork,
		       struct dipc_shmid_ds *out)
{
	if (!fork) {
		int acc = (shmflg & SHM_RDONLY) ? DIPC_IPC_READ : (DIPC_IPC_READ | DIPC_IPC_WRITE);
		int r;
#ifdef SHM_EXEC
		if (shmflg & SHM_EXEC)
			acc |= S_IXUGO;
#endif
		r = dipc_ipcperms(&s->perm, who, acc);
		if (r < 0)
			return r;
	}
	s->nattch++;
	s->atime = dipc_now_sec();
	s->lpid = who->pid;
	g_strlcpy(s->lnode, who->node, sizeof(s->lnode));
	unsigned c = dipc_shmseg_node_attaches(s, who->node);
	g_hash_table_replace(s->attaches, g_strdup(who->node), GUINT_TO_POINTER(c + 1));
	if (out)
		fill_ds(s, out);
	return 0;
}

void dipc_shmseg_detach(dipc_shmseg *s, const char *node, int32_t pid, unsigned count)
{
	unsigned c = dipc_shmseg_node_attaches(s, node);

	count = MIN(count, c);
	if (count == 0)
		return;
	s->nattch -= count;
	s->dtime = dipc_now_sec();
	s->lpid = pid;
	g_strlcpy(s->lnode, node, sizeof(s->lnode));
	if (c == count)
		g_hash_table_remove(s->attaches, node);
	else
		g_hash_table_replace(s->attaches, g_strdup(node), GUINT_TO_POINTER(c - count));
}

void dipc_shmseg_node_down(dipc_shmseg *s, const char *node, int idx)
{
	unsigned c = dipc_shmseg_node_attaches(s, node);

	if (c) {
		s->nattch -= c;
		g_hash_table_remove(s->attaches, node);
	}
	if (idx < 0)
		return;
	for (uint64_t p = 0; p < s->npages; p++) {
		s->readers[p] &= ~(1ull << idx);
		if (s->writer[p] == idx + 1)
			s->writer[p] = 0;
	}
}

/* ---- the directory -------------------------------------------------------- */

void dipc_shm_runs_add(GArray *runs, uint64_t first, uint64_t count)
{
	if (runs->len) {
		dipc_shm_run *last = &g_array_index(runs, dipc_shm_run, runs->len - 1);
		if (last->first + last->count == first) {
			last->count += count;
			return;
		}
	}
	dipc_shm_run r = { first, count };
	g_array_append_val(runs, r);
}

static void revoke_free(gpointer p)
{
	dipc_shm_revoke *r = p;
	g_array_free(r->runs, TRUE);
	g_free(r);
}

void dipc_shm_plan_free(dipc_shm_plan *p)
{
	if (!p)
		return;
	g_ptr_array_free(p->revokes, TRUE);
	g_array_free(p->lacking, TRUE);
	g_free(p);
}

dipc_shm_plan *dipc_shmseg_plan(const dipc_shmseg *s, int node, uint64_t first,
				uint64_t count, bool write, uint64_t now_ms,
				unsigned quantum_ms)
{
	dipc_shm_plan *p = g_new0(dipc_shm_plan, 1);
	dipc_shm_revoke *by_node[DIPC_SHM_MAX_NODES] = { 0 };
	uint64_t me = 1ull << node;

	p->revokes = g_ptr_array_new_with_free_func(revoke_free);
	p->lacking = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	if (first >= s->npages)
		return p;
	count = MIN(count, s->npages - first);
	for (uint64_t pg = first; pg < first + count; pg++) {
		uint64_t give = 0;   /* nodes that must give the page up (or downgrade) */
		int w = (int)s->writer[pg] - 1;

		if (write)
			give = s->readers[pg] | (w >= 0 ? 1ull << w : 0);
		else if (w >= 0)
			give = 1ull << w;
		give &= ~me;
		if (!(s->readers[pg] & me) && w != node)
			dipc_shm_runs_add(p->lacking, pg, 1);
		if (!give)
			continue;
		if (s->granted_ms[pg] + quantum_ms > p->not_before)
			p->not_before = s->granted_ms[pg] + quantum_ms;
		for (int j = 0; j < DIPC_SHM_MAX_NODES && give; j++) {
			if (!(give & (1ull << j)))
				continue;
			give &= ~(1ull << j);
			if (!by_node[j]) {
				by_node[j] = g_new0(dipc_shm_revoke, 1);
				by_node[j]->node = j;
				by_node[j]->to_read = !write;
				by_node[j]->runs = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
				g_ptr_array_add(p->revokes, by_node[j]);
			}
			dipc_shm_runs_add(by_node[j]->runs, pg, 1);
		}
	}
	if (p->not_before <= now_ms)
		p->not_before = 0;
	return p;
}

void dipc_shmseg_grant(dipc_shmseg *s, int node, uint64_t first, uint64_t count,
		       bool write, uint64_t now_ms)
{
	if (first >= s->npages)
		return;
	count = MIN(count, s->npages - first);
	for (uint64_t pg = first; pg < first + count; pg++) {
		int w = (int)s->writer[pg] - 1;
		if (write) {
			s->readers[pg] = 1ull << node;
			s->writer[pg] = (uint8_t)(node + 1);
			s->written[pg] = 1;
		} else if (w == node) {
			/* A read of a range that takes in pages the requester
			 * holds for writing (segment mode): it keeps them so. */
			continue;
		} else {
			s->readers[pg] |= 1ull << node;
			if (w >= 0)
				s->readers[pg] |= 1ull << w;   /* downgraded */
			s->writer[pg] = 0;
		}
		s->granted_ms[pg] = now_ms;
	}
}

bool dipc_shmseg_page_written(const dipc_shmseg *s, uint64_t page)
{
	return page < s->npages && s->written[page];
}

uint64_t dipc_shmseg_holders(const dipc_shmseg *s, uint64_t page, int *writer)
{
	if (page >= s->npages) {
		*writer = -1;
		return 0;
	}
	*writer = (int)s->writer[page] - 1;
	return s->readers[page];
}

/* "0-3,7,9-12" for the pages node holds for writing (want_write) or only
 * for reading, or "-". */
static void describe_runs(GString *out, const dipc_shmseg *s, int node, bool want_write)
{
	uint64_t start = 0;
	bool in = false, any = false;

	for (uint64_t pg = 0; pg <= s->npages; pg++) {
		bool holds = false;
		if (pg < s->npages) {
			int w = (int)s->writer[pg] - 1;
			holds = want_write ? w == node
					   : (w != node && (s->readers[pg] & (1ull << node)));
		}
		if (holds && !in) {
			start = pg;
			in = true;
		} else if (!holds && in) {
			g_string_append_printf(out, "%s%" G_GUINT64_FORMAT, any ? "," : "", start);
			if (pg - 1 > start)
				g_string_append_printf(out, "-%" G_GUINT64_FORMAT, pg - 1);
			any = true;
			in = false;
		}
	}
	if (!any)
		g_string_append(out, "-");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Attaches per node, by name (the hash table's order is no order). */
static void describe_attaches(GString *out, const dipc_shmseg *s)
{
	g_autoptr(dipc_status_table) t = dipc_status_table_new(2);
	g_autofree gpointer *names = g_hash_table_get_keys_as_array(s->attaches, NULL);
	guint n = g_hash_table_size(s->attaches);

	qsort(names, n, sizeof(*names), cmp_names);
	dipc_status_table_cell(t, "node");
	dipc_status_table_cell(t, "attaches");
	for (guint i = 0; i < n; i++) {
		dipc_status_table_cell(t, "%s", (const char *)names[i]);
		dipc_status_table_cell(t, "%u", dipc_shmseg_node_attaches(s, names[i]));
	}
	dipc_status_table_render(t, out, "");
}

/* Which node holds which pages: one row per node the directory knows. */
static void describe_holders(GString *out, const dipc_shmseg *s, const char *const *node_names,
			     unsigned nnodes)
{
	g_autoptr(dipc_status_table) t = dipc_status_table_new(3);
	g_autoptr(GString) runs = g_string_new(NULL);

	dipc_status_table_cell(t, "node");
	dipc_status_table_cell(t, "write");
	dipc_status_table_cell(t, "read");
	for (unsigned i = 0; i < nnodes && i < DIPC_SHM_MAX_NODES; i++) {
		if (!node_names[i])
			continue;
		dipc_status_table_cell(t, "%s", node_names[i]);
		g_string_truncate(runs, 0);
		describe_runs(runs, s, (int)i, true);
		dipc_status_table_cell(t, "%s", runs->str);
		g_string_truncate(runs, 0);
		describe_runs(runs, s, (int)i, false);
		dipc_status_table_cell(t, "%s", runs->str);
	}
	dipc_status_table_render(t, out, "");
}

/* The layout of sem/KEY and msg/KEY (common/ipcstatus.h): the labelled
 * fields, then the attaches and the page holders as tables. */
char *dipc_shmseg_describe(const dipc_shmseg *s, const char *owner_node,
			   const char *const *node_names, unsigned nnodes)
{
	GString *t = g_string_new(NULL);
	char who[DIPC_STATUS_PID_LEN];

	dipc_status_perm(t, &s->perm, owner_node);
	dipc_status_line(t, "segsz", "%" G_GUINT64_FORMAT, s->size);
	dipc_status_line(t, "pages", "%" G_GUINT64_FORMAT, s->npages);
	dipc_status_line(t, "nattch", "%" G_GUINT64_FORMAT, s->nattch);
	dipc_status_pid_or_dash(who, sizeof(who), s->cpid, s->cnode);
	dipc_status_line(t, "cpid", "%s", who);
	dipc_status_pid_or_dash(who, sizeof(who), s->lpid, s->lnode);
	dipc_status_line(t, "lpid", "%s", who);
	dipc_status_time(t, "atime", s->atime);
	dipc_status_time(t, "dtime", s->dtime);
	dipc_status_time(t, "ctime", s->ctime);
	if (s->perm.mode & SHM_LOCKED)
		dipc_status_line(t, "locked", "%s", "yes");
	dipc_status_removed(t, (s->perm.mode & SHM_DEST) != 0);
	g_string_append_c(t, '\n');
	describe_attaches(t, s);
	g_string_append_c(t, '\n');
	describe_holders(t, s, node_names, nnodes);
	return g_string_free(t, FALSE);
}
