/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the shared-memory engine (common/shmseg.c): shmget checks,
 * shmctl and attach counting as ipc/shm.c does them, and the page
 * directory -- the plans that give one writer or many readers per page,
 * never both, with the time quantum.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <glib.h>

#include "shmseg.h"

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

#define KEY 0x1234
#define ID 32513
#define PAGES 8

static dipc_ident who(uint32_t uid, int32_t pid, const char *node)
{
	dipc_ident w = { 0 };
	w.uid = uid;
	w.gid = uid;
	w.pid = pid;
	g_strlcpy(w.node, node, sizeof(w.node));
	return w;
}

static dipc_ident root(const char *node)
{
	dipc_ident w = who(0, 1, node);
	w.caps = DIPC_CAPS_ALL;
	return w;
}

static dipc_shmseg *seg_new(int mode)
{
	dipc_ident c = who(1000, 100, "n0");
	return dipc_shmseg_new(KEY, ID, PAGES * DIPC_SHM_PAGE - 10, mode, &c);
}

static void test_get_checks(void)
{
	dipc_shmseg *s = seg_new(0640);
	dipc_ident owner = who(1000, 5, "n1"), other = who(2000, 6, "n1");

	g_assert_cmpint(dipc_shmseg_check_get(s, &owner, 0600, 0), ==, 0);
	g_assert_cmpint(dipc_shmseg_check_get(s, &owner, 0600, PAGES * DIPC_SHM_PAGE - 10), ==, 0);
	/* larger than the segment: EINVAL before permission */
	g_assert_cmpint(dipc_shmseg_check_get(s, &other, 0600, PAGES * DIPC_SHM_PAGE), ==, -EINVAL);
	g_assert_cmpint(dipc_shmseg_check_get(s, &other, 0400, 1), ==, -EACCES);
	g_assert_cmpint(dipc_shmseg_check_get(s, &other, 0, 1), ==, 0);
	dipc_shmseg_free(s);
}

static void test_ctl(void)
{
	dipc_shmseg *s = seg_new(0600);
	dipc_ident owner = who(1000, 5, "n1"), other = who(2000, 6, "n2"), r = root("n3");
	struct dipc_shmid_ds ds, in = { 0 };

	g_assert_cmpint(dipc_shmseg_ctl(s, &other, IPC_STAT, NULL, &ds), ==, -EACCES);
	g_assert_cmpint(dipc_shmseg_ctl(s, &other, SHM_STAT_ANY, NULL, &ds), ==, 0);
	g_assert_cmpint(ds.segsz, ==, PAGES * DIPC_SHM_PAGE - 10);
	g_assert_cmpint(ds.cpid, ==, 100);
	g_assert_cmpint(ds.perm.seq, ==, ID >> 15);
	g_assert_cmpint(dipc_shmseg_ctl(s, &other, IPC_SET, &in, NULL), ==, -EPERM);
	in.perm.uid = 3000;
	in.perm.gid = 3000;
	in.perm.mode = 01644;   /* only the low bits are taken */
	g_assert_cmpint(dipc_shmseg_ctl(s, &owner, IPC_SET, &in, NULL), ==, 0);
	g_assert_cmpint(dipc_shmseg_ctl(s, &r, IPC_STAT, NULL, &ds), ==, 0);
	g_assert_cmpint(ds.perm.uid, ==, 3000);
	g_assert_cmpint(ds.perm.mode, ==, 0644);
	/* SHM_LOCK: owner or creator (cuid stays 1000) */
	g_assert_cmpint(dipc_shmseg_ctl(s, &other, SHM_LOCK, NULL, NULL), ==, -EPERM);
	g_assert_cmpint(dipc_shmseg_ctl(s, &owner, SHM_LOCK, NULL, NULL), ==, 0);
	g_assert_cmpint(dipc_shmseg_ctl(s, &r, IPC_STAT, NULL, &ds), ==, 0);
	g_assert_cmpint(ds.perm.mode, ==, 0644 | SHM_LOCKED);
	g_assert_cmpint(dipc_shmseg_ctl(s, &owner, SHM_UNLOCK, NULL, NULL), ==, 0);
	g_assert_cmpint(dipc_shmseg_ctl(s, &owner, 12345, NULL, NULL), ==, -EINVAL);
	dipc_shmseg_free(s);
}

static void test_attach_rmid(void)
{
	dipc_shmseg *s = seg_new(0644);
	dipc_ident a = who(1000, 5, "n1"), b = who(2000, 6, "n2");
	struct dipc_shmid_ds ds;

	/* read-only needs read, read-write needs both */
	g_assert_cmpint(dipc_shmseg_attach(s, &b, 0, false, &ds), ==, -EACCES);
	g_assert_cmpint(dipc_shmseg_attach(s, &b, SHM_RDONLY, false, &ds), ==, 0);
	g_assert_cmpint(dipc_shmseg_attach(s, &a, 0, false, &ds), ==, 0);
	g_assert_cmpint(ds.nattch, ==, 2);
	g_assert_cmpint(ds.lpid, ==, 5);
	/* a fork child of b's process: no check */
	dipc_ident child = who(2000, 7, "n2");
	g_assert_cmpint(dipc_shmseg_attach(s, &child, 0, true, NULL), ==, 0);
	g_assert_cmpuint(dipc_shmseg_node_attaches(s, "n2"), ==, 2);
	g_assert_cmpuint(dipc_shmseg_nattch(s), ==, 3);

	/* IPC_RMID while attached: marked, key private, alive */
	g_assert_cmpint(dipc_shmseg_ctl(s, &b, IPC_RMID, NULL, NULL), ==, -EPERM);
	g_assert_cmpint(dipc_shmseg_ctl(s, &a, IPC_RMID, NULL, NULL), ==, 0);
	g_assert_true(dipc_shmseg_removed(s));
	g_assert_false(dipc_shmseg_gone(s));
	g_assert_cmpint(dipc_shmseg_perm(s)->key, ==, IPC_PRIVATE);
	dipc_shmseg_detach(s, "n2", 7, 5);   /* more than it has: clamped */
	g_assert_cmpuint(dipc_shmseg_nattch(s), ==, 1);
	g_assert_false(dipc_shmseg_gone(s));
	/* the last node goes away: destroyed */
	dipc_shmseg_node_down(s, "n1", 1);
	g_assert_true(dipc_shmseg_gone(s));
	dipc_shmseg_free(s);
}

/* Check the invariant on every page: one writer and nobody else, or readers. */
static void check_invariant(dipc_shmseg *s)
{
	for (uint64_t p = 0; p < PAGES; p++) {
		int w;
		uint64_t r = dipc_shmseg_holders(s, p, &w);
		if (w >= 0)
			g_assert_cmphex(r, ==, 1ull << w);
	}
}

static const dipc_shm_revoke *revoke_of(const dipc_shm_plan *p, int node)
{
	for (guint i = 0; i < p->revokes->len; i++) {
		const dipc_shm_revoke *r = g_ptr_array_index(p->revokes, i);
		if (r->node == node)
			return r;
	}
	return NULL;
}

static void test_directory(void)
{
	dipc_shmseg *s = seg_new(0600);
	const dipc_shm_revoke *rv;
	int w;

	/* node 1 reads page 2: nothing to take back, it lacks the page */
	g_autoptr(dipc_shm_plan) p1 = dipc_shmseg_plan(s, 1, 2, 1, false, 1000, 5);
	g_assert_cmpuint(p1->revokes->len, ==, 0);
	g_assert_cmpuint(p1->lacking->len, ==, 1);
	g_assert_false(dipc_shmseg_page_written(s, 2));
	dipc_shmseg_grant(s, 1, 2, 1, false, 1000);
	/* node 2 reads it too */
	dipc_shmseg_grant(s, 2, 2, 1, false, 1001);
	g_assert_cmphex(dipc_shmseg_holders(s, 2, &w), ==, 0x6);
	check_invariant(s);

	/* node 3 writes pages 1-3: readers of page 2 give it up, after the quantum */
	g_autoptr(dipc_shm_plan) p2 = dipc_shmseg_plan(s, 3, 1, 3, true, 1002, 5);
	g_assert_cmpuint(p2->revokes->len, ==, 2);
	g_assert_cmpuint(p2->not_before, ==, 1006);
	rv = revoke_of(p2, 1);
	g_assert_nonnull(rv);
	g_assert_false(rv->to_read);
	g_assert_cmpuint(rv->runs->len, ==, 1);
	g_assert_cmpuint(g_array_index(rv->runs, dipc_shm_run, 0).first, ==, 2);
	/* later than the quantum: no wait */
	g_autoptr(dipc_shm_plan) p3 = dipc_shmseg_plan(s, 3, 1, 3, true, 2000, 5);
	g_assert_cmpuint(p3->not_before, ==, 0);
	g_assert_cmpuint(p3->lacking->len, ==, 1);
	g_assert_cmpuint(g_array_index(p3->lacking, dipc_shm_run, 0).count, ==, 3);
	dipc_shmseg_grant(s, 3, 1, 3, true, 2000);
	g_assert_cmphex(dipc_shmseg_holders(s, 2, &w), ==, 1ull << 3);
	g_assert_cmpint(w, ==, 3);
	g_assert_true(dipc_shmseg_page_written(s, 2));
	check_invariant(s);

	/* node 0 reads page 3: the writer keeps it for reading */
	g_autoptr(dipc_shm_plan) p4 = dipc_shmseg_plan(s, 0, 3, 1, false, 3000, 5);
	rv = revoke_of(p4, 3);
	g_assert_nonnull(rv);
	g_assert_true(rv->to_read);
	dipc_shmseg_grant(s, 0, 3, 1, false, 3000);
	g_assert_cmphex(dipc_shmseg_holders(s, 3, &w), ==, (1ull << 3) | 1);
	g_assert_cmpint(w, ==, -1);
	check_invariant(s);

	/* node 3 writes 3 again: only node 0 gives it up; it lacks nothing */
	g_autoptr(dipc_shm_plan) p5 = dipc_shmseg_plan(s, 3, 3, 1, true, 4000, 5);
	g_assert_cmpuint(p5->revokes->len, ==, 1);
	g_assert_nonnull(revoke_of(p5, 0));
	g_assert_cmpuint(p5->lacking->len, ==, 0);

	/* node 3 reads pages 2-4 (segment mode) while writing page 3: it keeps
	 * page 3 for writing, and the directory says so */
	g_autoptr(dipc_shm_plan) p7 = dipc_shmseg_plan(s, 3, 2, 3, false, 4500, 5);
	g_assert_null(revoke_of(p7, 3));
	dipc_shmseg_grant(s, 3, 3, 1, true, 4500);
	dipc_shmseg_grant(s, 3, 2, 3, false, 4600);
	dipc_shmseg_holders(s, 3, &w);
	g_assert_cmpint(w, ==, 3);
	check_invariant(s);

	/* a requester beyond the end gets nothing planned */
	g_autoptr(dipc_shm_plan) p6 = dipc_shmseg_plan(s, 1, PAGES + 3, 1, true, 5000, 5);
	g_assert_cmpuint(p6->revokes->len, ==, 0);
	g_assert_cmpuint(p6->lacking->len, ==, 0);

	/* a dead node's pages are dropped */
	dipc_shmseg_node_down(s, "n3", 3);
	g_assert_cmphex(dipc_shmseg_holders(s, 2, &w), ==, 0);
	g_assert_cmpint(w, ==, -1);
	check_invariant(s);

	const char *names[] = { "n0", "n1", "n2", "n3" };
	g_autofree char *t = dipc_shmseg_describe(s, "n0", names, 4);
	/* the layout of sem/KEY and msg/KEY (common/ipcstatus.h) */
	g_assert_nonnull(strstr(t, "\nowner     n0\n"));
	g_assert_nonnull(strstr(t, "\nsegsz     "));
	g_assert_nonnull(strstr(t, "\nctime     20"));   /* a formatted time */
	g_assert_nonnull(strstr(t, " UTC\n"));
	g_assert_nonnull(strstr(t, "\n\nnode  attaches\n"));
	g_assert_nonnull(strstr(t, "\nnode  write  read\nn0    -      -\nn1    -      -\n"));
	dipc_shmseg_free(s);
}

/* Issue 9: a size no node can hold is NULL (the client's ENOMEM), never an
 * abort; the page count never wraps. */
static void test_huge(void)
{
	dipc_ident c = who(65534, 100, "n0");

	g_assert_cmpuint(dipc_shm_pages_of(1), ==, 1);
	g_assert_cmpuint(dipc_shm_pages_of(DIPC_SHM_PAGE), ==, 1);
	g_assert_cmpuint(dipc_shm_pages_of(DIPC_SHM_PAGE + 1), ==, 2);
	g_assert_cmpuint(dipc_shm_pages_of(UINT64_MAX), ==, UINT64_MAX / DIPC_SHM_PAGE + 1);
	g_assert_null(dipc_shmseg_new(KEY, ID, UINT64_MAX, 0600, &c));
	g_assert_null(dipc_shmseg_new(KEY, ID, UINT64_MAX - DIPC_SHM_PAGE * 3, 0600, &c));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/shmseg/get", test_get_checks);
	g_test_add_func("/shmseg/ctl", test_ctl);
	g_test_add_func("/shmseg/attach-rmid", test_attach_rmid);
	g_test_add_func("/shmseg/directory", test_directory);
	g_test_add_func("/shmseg/huge", test_huge);
	return g_test_run();
}
