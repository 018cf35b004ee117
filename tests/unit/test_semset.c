/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the semaphore-set engine (common/semset.c): every errno
 * path, atomicity, the wake-up order, SEM_UNDO, semctl and describe().
 *
 * Every wake is logged as "pid:result" and the woken waiter is then poisoned
 * (0xa5 over it and its sembufs), because the glue may free it at once: an
 * engine that touched a waiter after waking it would crash or misbehave here.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

#include <glib.h>

#include "semset.h"

#define KEY 0x162e
#define ID  32513
#define VMX 32767

/* ---- harness ------------------------------------------------------------- */

typedef struct wake_log {
	GString *text;
	unsigned n;
} wake_log;

/* A waiter as the glue would park it: the sembufs live next to it. */
typedef struct tw {
	dipc_sem_waiter w;
	struct dipc_sembuf sops[16];
} tw;

static const dipc_sem_limits default_lim = {
	.semmsl = 250, .semopm = 8, .semvmx = VMX, .semaem = VMX,
};

static dipc_ident OWNER, ROOT, OTHER, GROUP, SUPP, CREATOR2;

static dipc_ident make_ident(const char *node, int32_t pid, uint32_t uid, uint32_t gid)
{
	dipc_ident who;

	memset(&who, 0, sizeof(who));
	g_strlcpy(who.node, node, sizeof(who.node));
	who.pid = pid;
	who.uid = uid;
	who.gid = gid;
	who.caps = uid == 0 ? DIPC_CAPS_ALL : 0;   /* root with every capability */
	return who;
}

static void idents_init(void)
{
	OWNER = make_ident("node1", 100, 1000, 100);
	ROOT = make_ident("node1", 1, 0, 0);
	OTHER = make_ident("node3", 300, 4000, 400);
	GROUP = make_ident("node2", 200, 3000, 100);
	SUPP = make_ident("node2", 201, 3001, 9);
	SUPP.groups[0] = 5;
	SUPP.groups[1] = 100;
	SUPP.ngroups = 2;
	CREATOR2 = make_ident("node2", 400, 2000, 200);
}

static const char *errname(int r)
{
	switch (r) {
	case 0: return "0";
	case -EINVAL: return "-EINVAL";
	case -E2BIG: return "-E2BIG";
	case -EFBIG: return "-EFBIG";
	case -EACCES: return "-EACCES";
	case -EAGAIN: return "-EAGAIN";
	case -ERANGE: return "-ERANGE";
	case -EIDRM: return "-EIDRM";
	case -EPERM: return "-EPERM";
	default: return "?";
	}
}

static void on_wake(dipc_sem_waiter *w, int result, void *ud)
{
	wake_log *log = ud;

	/* Unlinked before the call, so the glue may free it right here. */
	g_assert_false(w->queued);
	g_string_append_printf(log->text, "%s%d:%s", log->n ? " " : "", (int) w->who.pid,
			       errname(result));
	log->n++;
	memset((tw *) w, 0xa5, sizeof(tw));
}

#define assert_log(log, expected)                                    \
	do {                                                         \
		g_assert_cmpstr((log)->text->str, ==, (expected));   \
		g_string_truncate((log)->text, 0);                   \
		(log)->n = 0;                                        \
	} while (0)

/* spec: space-separated "NUM:OP" with optional suffixes u (SEM_UNDO) and
 * n (IPC_NOWAIT), e.g. "0:-1u 1:+2 2:0n". */
static dipc_sem_waiter *tw_set(tw *t, const dipc_ident *who, int32_t pid, const char *spec)
{
	g_auto(GStrv) tok = g_strsplit(spec, " ", -1);
	unsigned n = 0;

	memset(t, 0, sizeof(*t));
	t->w.who = *who;
	t->w.who.pid = pid;
	for (unsigned i = 0; tok[i]; i++) {
		unsigned num;
		int op, used = 0;

		if (!*tok[i])
			continue;
		g_assert_cmpuint(n, <, G_N_ELEMENTS(t->sops));
		g_assert_cmpint(sscanf(tok[i], "%u:%d%n", &num, &op, &used), ==, 2);
		t->sops[n].sem_num = (uint16_t) num;
		t->sops[n].sem_op = (int16_t) op;
		for (const char *f = tok[i] + used; *f; f++) {
			if (*f == 'u')
				t->sops[n].sem_flg |= SEM_UNDO;
			else if (*f == 'n')
				t->sops[n].sem_flg |= IPC_NOWAIT;
			else
				g_assert_not_reached();
		}
		n++;
	}
	t->w.sops = t->sops;
	t->w.nsops = n;
	return &t->w;
}

static int do_op(dipc_semset *s, tw *t, const dipc_ident *who, int32_t pid, const char *spec)
{
	return dipc_semset_op(s, tw_set(t, who, pid, spec));
}

static dipc_semset *new_set_lim(unsigned nsems, unsigned mode, const dipc_sem_limits *lim,
				wake_log *log)
{
	dipc_semset *s;

	log->text = g_string_new(NULL);
	log->n = 0;
	s = dipc_semset_new(KEY, ID, nsems, mode, &OWNER, lim, on_wake, log);
	g_assert_nonnull(s);
	return s;
}

static dipc_semset *new_set(unsigned nsems, unsigned mode, wake_log *log)
{
	return new_set_lim(nsems, mode, &default_lim, log);
}

static void free_set(dipc_semset *s, wake_log *log)
{
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);
	dipc_semset_free(s);
	g_assert_cmpstr(log->text->str, ==, "");
	g_string_free(log->text, TRUE);
}

static int val(const dipc_semset *s, int n)
{
	return dipc_semset_get(s, &ROOT, GETVAL, n);
}

static int pid_of(const dipc_semset *s, int n)
{
	return dipc_semset_get(s, &ROOT, GETPID, n);
}

static int ncnt(const dipc_semset *s, int n)
{
	return dipc_semset_get(s, &ROOT, GETNCNT, n);
}

static int zcnt(const dipc_semset *s, int n)
{
	return dipc_semset_get(s, &ROOT, GETZCNT, n);
}

static void setval(dipc_semset *s, int n, int v)
{
	g_assert_cmpint(dipc_semset_setval(s, &ROOT, n, v), ==, 0);
}

/* ---- creation, semget ---------------------------------------------------- */

static void test_new(void)
{
	wake_log log;
	int64_t t0 = dipc_now_sec();
	int32_t id = dipc_id_from_serial(300); /* seq part 1 */
	dipc_semset *s;
	const dipc_ipc_perm *p;
	struct dipc_semid_ds ds;

	log.text = g_string_new(NULL);
	log.n = 0;
	s = dipc_semset_new(KEY, id, 3, IPC_CREAT | IPC_EXCL | 01640, &CREATOR2, &default_lim,
			    on_wake, &log);
	g_assert_nonnull(s);

	p = dipc_semset_perm(s);
	g_assert_cmpint(p->key, ==, KEY);
	g_assert_cmpint(p->id, ==, id);
	g_assert_cmpuint(p->uid, ==, 2000);
	g_assert_cmpuint(p->gid, ==, 200);
	g_assert_cmpuint(p->cuid, ==, 2000);
	g_assert_cmpuint(p->cgid, ==, 200);
	g_assert_cmpuint(p->mode, ==, 0640);
	g_assert_cmpuint(dipc_semset_nsems(s), ==, 3);
	g_assert_cmpint(dipc_semset_id(s), ==, id);
	g_assert_cmpint(dipc_semset_key(s), ==, KEY);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);

	for (int i = 0; i < 3; i++) {
		g_assert_cmpint(val(s, i), ==, 0);
		g_assert_cmpint(pid_of(s, i), ==, 0);
		g_assert_cmpint(ncnt(s, i), ==, 0);
		g_assert_cmpint(zcnt(s, i), ==, 0);
	}

	g_assert_cmpint(dipc_semset_stat(s, &ROOT, true, &ds), ==, 0);
	g_assert_cmpint(ds.perm.key, ==, KEY);
	g_assert_cmpuint(ds.perm.uid, ==, 2000);
	g_assert_cmpuint(ds.perm.gid, ==, 200);
	g_assert_cmpuint(ds.perm.cuid, ==, 2000);
	g_assert_cmpuint(ds.perm.cgid, ==, 200);
	g_assert_cmpuint(ds.perm.mode, ==, 0640);
	g_assert_cmpuint(ds.perm.seq, ==, 1);
	g_assert_cmpint(ds.otime, ==, 0);
	g_assert_cmpint(ds.ctime, >=, t0);
	g_assert_cmpint(ds.ctime, <=, dipc_now_sec());
	g_assert_cmpuint(ds.nsems, ==, 3);

	free_set(s, &log);
}

static void test_check_get(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0640, &log);

	/* nsems is checked before permission, as sem_more_checks() runs
	 * before ipc_check_perms(). */
	g_assert_cmpint(dipc_semset_check_get(s, &OTHER, 0600, 3), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_check_get(s, &OWNER, 0600, 3), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_check_get(s, &OTHER, 0600, 2), ==, -EACCES);
	g_assert_cmpint(dipc_semset_check_get(s, &OTHER, 0004, 1), ==, -EACCES);
	g_assert_cmpint(dipc_semset_check_get(s, &OTHER, 0, 2), ==, 0);
	g_assert_cmpint(dipc_semset_check_get(s, &OTHER, 0, 0), ==, 0);
	g_assert_cmpint(dipc_semset_check_get(s, &GROUP, 0440, 0), ==, 0);
	g_assert_cmpint(dipc_semset_check_get(s, &GROUP, 0660, 0), ==, -EACCES);
	g_assert_cmpint(dipc_semset_check_get(s, &SUPP, 0444, 0), ==, 0);
	g_assert_cmpint(dipc_semset_check_get(s, &OWNER, IPC_CREAT | 0600, 2), ==, 0);
	g_assert_cmpint(dipc_semset_check_get(s, &ROOT, 0777, 1), ==, 0);

	free_set(s, &log);
}

/* ---- semop: errors ------------------------------------------------------- */

static void test_op_errors(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0644, &log);
	struct dipc_semid_ds ds;
	tw t;

	/* nsops < 1 */
	tw_set(&t, &OWNER, 100, "");
	g_assert_cmpint(dipc_semset_op(s, &t.w), ==, -EINVAL);

	/* nsops > semopm (8), before the sem_num check */
	g_assert_cmpint(do_op(s, &t, &OWNER, 100, "0:1 0:1 0:1 0:1 0:1 0:1 0:1 0:1 9:1"), ==, -E2BIG);
	/* exactly semopm is fine */
	g_assert_cmpint(do_op(s, &t, &OWNER, 100, "0:1 0:1 0:1 0:1 0:-1 0:-1 0:-1 0:-1"), ==, 0);

	/* sem_num >= nsems, also by someone with no permission at all */
	g_assert_cmpint(do_op(s, &t, &OWNER, 100, "2:1"), ==, -EFBIG);
	g_assert_cmpint(do_op(s, &t, &OWNER, 100, "0:1 65535:0"), ==, -EFBIG);
	g_assert_cmpint(do_op(s, &t, &OTHER, 300, "0:0 2:1"), ==, -EFBIG);

	/* 0644: others may read (wait for zero) but not alter */
	g_assert_cmpint(do_op(s, &t, &OTHER, 300, "0:-1n"), ==, -EACCES);
	g_assert_cmpint(do_op(s, &t, &OTHER, 300, "0:1"), ==, -EACCES);
	g_assert_cmpint(do_op(s, &t, &OTHER, 300, "0:0 1:1"), ==, -EACCES);
	g_assert_cmpint(do_op(s, &t, &OTHER, 300, "0:0 1:0"), ==, 0);
	g_assert_cmpint(pid_of(s, 1), ==, 300);

	/* Nothing of the refused calls happened. */
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(val(s, 1), ==, 0);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);
	dipc_semset_free(s);
	g_string_free(log.text, TRUE);

	/* 0600: no read access for others */
	s = new_set(1, 0600, &log);
	g_assert_cmpint(do_op(s, &t, &OTHER, 300, "0:0"), ==, -EACCES);
	g_assert_cmpint(do_op(s, &t, &GROUP, 200, "0:0"), ==, -EACCES);
	g_assert_cmpint(dipc_semset_stat(s, NULL, false, &ds), ==, 0);
	g_assert_cmpint(ds.otime, ==, 0);
	free_set(s, &log);

	/* 0622: others may alter but not wait for zero */
	s = new_set(1, 0622, &log);
	g_assert_cmpint(do_op(s, &t, &OTHER, 300, "0:0"), ==, -EACCES);
	g_assert_cmpint(do_op(s, &t, &OTHER, 300, "0:1"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 1);
	free_set(s, &log);
}

/* ---- semop: success, sequences, atomicity -------------------------------- */

static void test_op_basic(void)
{
	wake_log log;
	dipc_semset *s = new_set(3, 0600, &log);
	struct dipc_semid_ds ds;
	int64_t t0 = dipc_now_sec();
	tw t;

	g_assert_cmpint(do_op(s, &t, &OWNER, 1234, "0:+2"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 2);
	g_assert_cmpint(pid_of(s, 0), ==, 1234);
	g_assert_cmpint(pid_of(s, 1), ==, 0);
	g_assert_cmpint(dipc_semset_stat(s, &OWNER, true, &ds), ==, 0);
	g_assert_cmpint(ds.otime, >=, t0);
	g_assert_cmpint(ds.otime, <=, dipc_now_sec());

	g_assert_cmpint(do_op(s, &t, &OWNER, 1235, "0:-1 1:+3"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 1);
	g_assert_cmpint(val(s, 1), ==, 3);
	g_assert_cmpint(pid_of(s, 0), ==, 1235);
	g_assert_cmpint(pid_of(s, 1), ==, 1235);
	g_assert_cmpint(pid_of(s, 2), ==, 0);

	/* A completed wait-for-zero also records its pid. */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1236, "2:0"), ==, 0);
	g_assert_cmpint(pid_of(s, 2), ==, 1236);
	g_assert_cmpint(pid_of(s, 0), ==, 1235);
	g_assert_cmpint(val(s, 2), ==, 0);

	/* Caller's sembufs are left as they were. */
	g_assert_cmpuint(t.w.nsops, ==, 1);
	g_assert_cmpint(t.sops[0].sem_op, ==, 0);
	g_assert_false(t.w.queued);

	free_set(s, &log);
}

static void test_sequence_same_sem(void)
{
	wake_log log;
	dipc_semset *s = new_set(1, 0600, &log);
	tw t;

	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+2 0:-1 0:-1"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1 0:-1"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+3 0:-2"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 1);
	/* The later sembuf sees the earlier one's result: from 1, -1 then
	 * wait-for-zero completes; from 0, +1 then wait-for-zero cannot,
	 * although the value was zero when the call came. */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-1 0:0"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1 0:0n"), ==, -EAGAIN);
	g_assert_cmpint(val(s, 0), ==, 0);
	/* -1 before +1 on 0 blocks (first sembuf) */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-1n 0:+1"), ==, -EAGAIN);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(do_op(s, &t, &OWNER, 7, "0:-1 0:+1"), ==, 1);
	g_assert_cmpint(t.w.blocking, ==, 0);
	g_assert_true(t.w.queued);
	/* +1 wakes it: -1 then +1 leaves 1 */
	{
		tw p;

		g_assert_cmpint(do_op(s, &p, &OWNER, 2, "0:+1"), ==, 0);
	}
	assert_log(&log, "7:0");
	g_assert_cmpint(val(s, 0), ==, 1);
	g_assert_cmpint(pid_of(s, 0), ==, 7);

	free_set(s, &log);
}

static void test_rollback(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0600, &log);
	struct dipc_semid_ds ds;
	tw t;

	/* Second sembuf blocks: the first is undone. */
	g_assert_cmpint(do_op(s, &t, &OWNER, 5, "0:+1 1:-1n"), ==, -EAGAIN);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(pid_of(s, 0), ==, 0);
	g_assert_cmpint(dipc_semset_stat(s, &OWNER, true, &ds), ==, 0);
	g_assert_cmpint(ds.otime, ==, 0);

	/* Second sembuf overflows: ERANGE even without IPC_NOWAIT, not queued,
	 * and the first is undone. */
	setval(s, 1, VMX);
	g_assert_cmpint(do_op(s, &t, &OWNER, 5, "0:+5 1:+1"), ==, -ERANGE);
	g_assert_false(t.w.queued);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(val(s, 1), ==, VMX);
	setval(s, 1, 0);

	/* A failed SEM_UNDO call leaves no record and no adjustment. */
	g_assert_cmpint(do_op(s, &t, &OWNER, 5, "0:+1u 1:-1un"), ==, -EAGAIN);
	g_assert_false(dipc_semset_has_undo(s, "node1", 5));
	g_assert_cmpint(do_op(s, &t, &OWNER, 5, "0:+1u"), ==, 0);
	g_assert_true(dipc_semset_has_undo(s, "node1", 5));
	setval(s, 1, VMX);
	g_assert_cmpint(do_op(s, &t, &OWNER, 5, "0:+1u 0:+1u 1:+1u"), ==, -ERANGE);
	g_assert_cmpint(val(s, 0), ==, 1);
	/* Exit undoes exactly the one +1 that happened. */
	dipc_semset_exit(s, "node1", 5);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(val(s, 1), ==, VMX);

	/* And a failed first-time SEM_UNDO call does not leave scratch state
	 * that a later caller would inherit. */
	setval(s, 1, 0);
	g_assert_cmpint(do_op(s, &t, &OWNER, 6, "0:+3u 1:-1un"), ==, -EAGAIN);
	g_assert_cmpint(do_op(s, &t, &OWNER, 8, "0:+2u"), ==, 0);
	dipc_semset_exit(s, "node1", 8);
	g_assert_cmpint(val(s, 0), ==, 0);

	free_set(s, &log);
}

static void test_nowait(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0600, &log);
	tw t;

	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-1n"), ==, -EAGAIN);
	g_assert_false(t.w.queued);
	/* As in Linux, only the flag of the sembuf that blocks counts: here
	 * sembuf 0 blocks without IPC_NOWAIT, so the call waits. */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-1 1:+1n"), ==, 1);
	g_assert_cmpint(val(s, 1), ==, 0);
	dipc_semset_cancel(s, &t.w);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "1:+1 0:-1n"), ==, -EAGAIN);
	g_assert_cmpint(val(s, 1), ==, 0);
	setval(s, 0, 1);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:0n"), ==, -EAGAIN);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);
	/* An IPC_NOWAIT call that can proceed just does. */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-1n"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 0);
	/* A queued call that, retried, blocks on a sembuf with IPC_NOWAIT is
	 * woken with EAGAIN (update_queue() in Linux). */
	{
		tw q;
		g_assert_cmpint(do_op(s, &q, &OWNER, 9, "0:-1 1:-1n"), ==, 1);
		setval(s, 0, 1);
		assert_log(&log, "9:-EAGAIN");
		g_assert_cmpint(val(s, 0), ==, 1);
		g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);
	}

	free_set(s, &log);
}

static void test_overflow(void)
{
	wake_log log;
	dipc_semset *s = new_set(1, 0600, &log);
	tw t;

	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+32767"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, VMX);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1"), ==, -ERANGE);
	/* ERANGE wins over IPC_NOWAIT: it is an error, not a wait. */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1n"), ==, -ERANGE);
	/* The intermediate value counts: -1 then +2 passes through VMX+1. */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-1 0:+2"), ==, -ERANGE);
	g_assert_cmpint(val(s, 0), ==, VMX);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-1 0:+1"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, VMX);

	free_set(s, &log);
}

/* ---- waiting and waking -------------------------------------------------- */

static void test_block_and_wake(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0600, &log);
	tw a, b, p;

	g_assert_cmpint(do_op(s, &a, &OWNER, 11, "0:-1"), ==, 1);
	g_assert_true(a.w.queued);
	g_assert_cmpint(a.w.blocking, ==, 0);
	g_assert_cmpint(do_op(s, &b, &OWNER, 12, "1:+1 0:-2"), ==, 1);
	g_assert_cmpint(b.w.blocking, ==, 1);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 2);
	/* The blocked call left its +1 on sem 1 undone. */
	g_assert_cmpint(val(s, 1), ==, 0);
	assert_log(&log, "");

	g_assert_cmpint(do_op(s, &p, &OWNER, 10, "0:+1"), ==, 0);
	assert_log(&log, "11:0");
	g_assert_cmpint(val(s, 0), ==, 0);
	/* The woken waiter did the last operation on sem 0. */
	g_assert_cmpint(pid_of(s, 0), ==, 11);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 1);
	g_assert_true(b.w.queued);

	g_assert_cmpint(do_op(s, &p, &OWNER, 10, "0:+2"), ==, 0);
	assert_log(&log, "12:0");
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(val(s, 1), ==, 1);
	g_assert_cmpint(pid_of(s, 1), ==, 12);

	free_set(s, &log);
}

static void test_fifo_three(void)
{
	wake_log log;
	dipc_semset *s = new_set(1, 0600, &log);
	tw a, b, c, p;

	g_assert_cmpint(do_op(s, &a, &OWNER, 1, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &b, &OWNER, 2, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &c, &OWNER, 3, "0:-1"), ==, 1);
	g_assert_cmpint(ncnt(s, 0), ==, 3);

	g_assert_cmpint(do_op(s, &p, &OWNER, 9, "0:+1"), ==, 0);
	assert_log(&log, "1:0");
	g_assert_cmpint(do_op(s, &p, &OWNER, 9, "0:+1"), ==, 0);
	assert_log(&log, "2:0");
	setval(s, 0, 5);
	assert_log(&log, "3:0");
	g_assert_cmpint(val(s, 0), ==, 4);

	/* All three at once are woken in arrival order. */
	setval(s, 0, 0);
	g_assert_cmpint(do_op(s, &a, &OWNER, 4, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &b, &OWNER, 5, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &c, &OWNER, 6, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &p, &OWNER, 9, "0:+3"), ==, 0);
	assert_log(&log, "4:0 5:0 6:0");
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(pid_of(s, 0), ==, 6);

	/* Only as many as the value allows, the oldest first. */
	g_assert_cmpint(do_op(s, &a, &OWNER, 4, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &b, &OWNER, 5, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &c, &OWNER, 6, "0:-1"), ==, 1);
	setval(s, 0, 2);
	assert_log(&log, "4:0 5:0");
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 1);
	g_assert_true(c.w.queued);
	setval(s, 0, 1);
	assert_log(&log, "6:0");

	free_set(s, &log);
}

/* A blocked head does not hold back a later waiter that can proceed. */
static void test_no_head_of_line(void)
{
	wake_log log;
	dipc_semset *s = new_set(1, 0600, &log);
	tw a, b, p;

	g_assert_cmpint(do_op(s, &a, &OWNER, 1, "0:-2"), ==, 1);
	g_assert_cmpint(do_op(s, &b, &OWNER, 2, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &p, &OWNER, 9, "0:+1"), ==, 0);
	assert_log(&log, "2:0");
	g_assert_true(a.w.queued);
	g_assert_cmpint(do_op(s, &p, &OWNER, 9, "0:+1"), ==, 0);
	assert_log(&log, "");
	g_assert_cmpint(val(s, 0), ==, 1);
	g_assert_cmpint(do_op(s, &p, &OWNER, 9, "0:+1"), ==, 0);
	assert_log(&log, "1:0");
	g_assert_cmpint(val(s, 0), ==, 0);

	free_set(s, &log);
}

/* A waiter for zero ahead in the queue is retried after a later waiter's
 * decrement brings the value to zero: the walk restarts from the head. */
static void test_restart_after_change(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0600, &log);
	tw z, d, p;

	setval(s, 0, 1);
	g_assert_cmpint(do_op(s, &z, &OWNER, 21, "0:0"), ==, 1);
	g_assert_cmpint(do_op(s, &d, &OWNER, 22, "1:-1 0:-1"), ==, 1);
	g_assert_cmpint(d.w.blocking, ==, 0);
	g_assert_cmpint(zcnt(s, 0), ==, 1);
	g_assert_cmpint(ncnt(s, 1), ==, 1);

	g_assert_cmpint(do_op(s, &p, &OWNER, 20, "1:+1"), ==, 0);
	assert_log(&log, "22:0 21:0");
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(val(s, 1), ==, 0);
	g_assert_cmpint(pid_of(s, 0), ==, 21);
	g_assert_cmpint(pid_of(s, 1), ==, 22);

	/* A chain: each completion enables the one queued before it. */
	setval(s, 0, 0);
	setval(s, 1, 0);
	{
		tw w1, w2, w3;

		g_assert_cmpint(do_op(s, &w1, &OWNER, 31, "1:-2"), ==, 1);
		g_assert_cmpint(do_op(s, &w2, &OWNER, 32, "0:-1 1:+1"), ==, 1);
		g_assert_cmpint(do_op(s, &w3, &OWNER, 33, "0:-1 1:+1"), ==, 1);
		setval(s, 0, 2);
		/* w2 then w3 complete (no restart helps w1 until both did);
		 * w1 completes after the restart that follows w3. */
		assert_log(&log, "32:0 33:0 31:0");
		g_assert_cmpint(val(s, 0), ==, 0);
		g_assert_cmpint(val(s, 1), ==, 0);
	}

	free_set(s, &log);
}

/* A queued waiter that can no longer succeed (ERANGE) is removed and woken
 * with the error; the walk goes on with the next one. */
static void test_queued_erange(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0600, &log);
	tw w, w2;

	g_assert_cmpint(do_op(s, &w, &OWNER, 41, "0:-1 1:+1"), ==, 1);
	g_assert_cmpint(do_op(s, &w2, &OWNER, 42, "0:-1"), ==, 1);
	setval(s, 1, VMX);
	assert_log(&log, "");
	setval(s, 0, 1);
	assert_log(&log, "41:-ERANGE 42:0");
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(val(s, 1), ==, VMX);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);

	free_set(s, &log);
}

static void test_ncnt_zcnt(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0600, &log);
	tw a, b, c, d;

	setval(s, 1, 1);
	g_assert_cmpint(do_op(s, &a, &OWNER, 1, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &b, &OWNER, 2, "1:0"), ==, 1);
	/* Only the blocking sembuf counts: C waits on 0, not on 1's zero. */
	g_assert_cmpint(do_op(s, &c, &OWNER, 3, "0:-2 1:0"), ==, 1);
	g_assert_cmpint(c.w.blocking, ==, 0);
	/* D passes 1:-1 and blocks at 0:-5 */
	g_assert_cmpint(do_op(s, &d, &OWNER, 4, "1:-1 0:-5"), ==, 1);
	g_assert_cmpint(d.w.blocking, ==, 1);

	g_assert_cmpint(ncnt(s, 0), ==, 3);
	g_assert_cmpint(zcnt(s, 0), ==, 0);
	g_assert_cmpint(ncnt(s, 1), ==, 0);
	g_assert_cmpint(zcnt(s, 1), ==, 1);

	/* A completes; D is retried and still blocks at index 1. */
	setval(s, 0, 1);
	assert_log(&log, "1:0");
	g_assert_cmpint(ncnt(s, 0), ==, 2);
	g_assert_cmpint(zcnt(s, 1), ==, 1);
	g_assert_cmpint(d.w.blocking, ==, 1);

	/* B completes; D now blocks at its first sembuf (1:-1). */
	setval(s, 1, 0);
	assert_log(&log, "2:0");
	g_assert_cmpint(d.w.blocking, ==, 0);
	g_assert_cmpint(ncnt(s, 0), ==, 1);
	g_assert_cmpint(ncnt(s, 1), ==, 1);
	g_assert_cmpint(zcnt(s, 1), ==, 0);
	g_assert_cmpint(zcnt(s, 0), ==, 0);

	g_assert_cmpint(dipc_semset_get(s, &ROOT, GETNCNT, 2), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_get(s, &ROOT, GETZCNT, -1), ==, -EINVAL);

	dipc_semset_cancel(s, &c.w);
	dipc_semset_cancel(s, &d.w);
	g_assert_cmpint(ncnt(s, 0), ==, 0);
	g_assert_cmpint(ncnt(s, 1), ==, 0);
	free_set(s, &log);
}

static void test_cancel(void)
{
	wake_log log;
	dipc_semset *s = new_set(1, 0600, &log);
	tw a, b, c, never;

	g_assert_cmpint(do_op(s, &a, &OWNER, 1, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &b, &OWNER, 2, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &c, &OWNER, 3, "0:-1"), ==, 1);

	/* the middle one */
	dipc_semset_cancel(s, &b.w);
	g_assert_false(b.w.queued);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 2);
	dipc_semset_cancel(s, &b.w); /* again: no-op */
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 2);
	g_assert_cmpint(ncnt(s, 0), ==, 2);
	assert_log(&log, "");
	setval(s, 0, 3);
	assert_log(&log, "1:0 3:0");
	g_assert_cmpint(val(s, 0), ==, 1);

	/* head and tail */
	setval(s, 0, 0);
	g_assert_cmpint(do_op(s, &a, &OWNER, 1, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &b, &OWNER, 2, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &c, &OWNER, 3, "0:-1"), ==, 1);
	dipc_semset_cancel(s, &a.w);
	dipc_semset_cancel(s, &c.w);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 1);
	setval(s, 0, 5);
	assert_log(&log, "2:0");
	g_assert_cmpint(val(s, 0), ==, 4);

	/* a cancelled waiter may be submitted again, at the tail */
	setval(s, 0, 0);
	g_assert_cmpint(do_op(s, &a, &OWNER, 1, "0:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &b, &OWNER, 2, "0:-1"), ==, 1);
	dipc_semset_cancel(s, &a.w);
	g_assert_cmpint(dipc_semset_op(s, &a.w), ==, 1);
	setval(s, 0, 2);
	assert_log(&log, "2:0 1:0");

	/* never queued */
	tw_set(&never, &OWNER, 4, "0:-1");
	dipc_semset_cancel(s, &never.w);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);

	free_set(s, &log);
}

/* ---- SEM_UNDO ------------------------------------------------------------ */

static void test_undo_exit(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0666, &log);
	dipc_ident p2 = make_ident("node2", 10, 4000, 400);
	tw t, w;

	g_assert_cmpint(do_op(s, &t, &p2, 10, "0:+5u"), ==, 0);
	g_assert_true(dipc_semset_has_undo(s, "node2", 10));
	g_assert_false(dipc_semset_has_undo(s, "node3", 10));
	g_assert_false(dipc_semset_has_undo(s, "node2", 11));
	g_assert_cmpint(do_op(s, &t, &OWNER, 20, "0:-3"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 2);

	/* exit of someone else, or of the same pid on another node: nothing */
	dipc_semset_exit(s, "node3", 10);
	dipc_semset_exit(s, "node1", 20);
	g_assert_cmpint(val(s, 0), ==, 2);
	g_assert_true(dipc_semset_has_undo(s, "node2", 10));

	/* 2 - 5 clamps at 0; sempid becomes the exiting process */
	dipc_semset_exit(s, "node2", 10);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(pid_of(s, 0), ==, 10);
	g_assert_false(dipc_semset_has_undo(s, "node2", 10));
	/* a semaphore without adjustment keeps its sempid */
	g_assert_cmpint(pid_of(s, 1), ==, 0);
	/* twice: nothing left to apply */
	dipc_semset_exit(s, "node2", 10);
	g_assert_cmpint(val(s, 0), ==, 0);

	/* clamp at semvmx */
	setval(s, 0, 3);
	g_assert_cmpint(do_op(s, &t, &p2, 10, "0:-3u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &OWNER, 20, "0:+32767"), ==, 0);
	dipc_semset_exit(s, "node2", 10);
	g_assert_cmpint(val(s, 0), ==, VMX);
	g_assert_cmpint(pid_of(s, 0), ==, 10);

	/* the adjustment wakes a waiter */
	setval(s, 1, 1);
	g_assert_cmpint(do_op(s, &t, &p2, 10, "1:-1u"), ==, 0);
	g_assert_cmpint(do_op(s, &w, &OWNER, 30, "1:-1"), ==, 1);
	dipc_semset_exit(s, "node2", 10);
	assert_log(&log, "30:0");
	g_assert_cmpint(val(s, 1), ==, 0);
	g_assert_cmpint(pid_of(s, 1), ==, 30);

	/* adjustments accumulate across calls and within one call */
	setval(s, 0, 0);
	setval(s, 1, 0);
	g_assert_cmpint(do_op(s, &t, &p2, 10, "0:+2u 1:+1u 0:+1u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &p2, 10, "1:+4u 0:-1u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &p2, 10, "1:+1"), ==, 0); /* no undo */
	g_assert_cmpint(val(s, 0), ==, 2);
	g_assert_cmpint(val(s, 1), ==, 6);
	dipc_semset_exit(s, "node2", 10);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(val(s, 1), ==, 1);

	/* a record whose adjustments went back to zero stays until exit */
	g_assert_cmpint(do_op(s, &t, &p2, 10, "0:+1u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &p2, 10, "0:-1u"), ==, 0);
	g_assert_true(dipc_semset_has_undo(s, "node2", 10));
	dipc_semset_exit(s, "node2", 10);
	g_assert_false(dipc_semset_has_undo(s, "node2", 10));

	free_set(s, &log);
}

static void test_undo_range(void)
{
	const dipc_sem_limits lim = { .semmsl = 250, .semopm = 8, .semvmx = VMX, .semaem = 10 };
	wake_log log;
	dipc_semset *s = new_set_lim(1, 0600, &lim, &log);
	tw t;

	/* adjustment down to -(semaem + 1) = -11 is allowed, not below */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+10u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1u"), ==, -ERANGE);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1un"), ==, -ERANGE);
	g_assert_cmpint(val(s, 0), ==, 11);
	/* the same without SEM_UNDO is fine */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 12);

	/* up to semaem = 10, not above */
	g_assert_cmpint(do_op(s, &t, &OWNER, 2, "0:+20"), ==, 0); /* 32 */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-11u"), ==, 0); /* adj 0 */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-10u"), ==, 0); /* adj 10 */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-1u"), ==, -ERANGE);
	g_assert_cmpint(val(s, 0), ==, 11);
	dipc_semset_exit(s, "node1", 1);
	g_assert_cmpint(val(s, 0), ==, 21);

	/* within one call, first-time caller: nothing kept on failure */
	g_assert_cmpint(do_op(s, &t, &OWNER, 3, "0:+6u 0:+6u"), ==, -ERANGE);
	g_assert_false(dipc_semset_has_undo(s, "node1", 3));
	g_assert_cmpint(val(s, 0), ==, 21);
	g_assert_cmpint(do_op(s, &t, &OWNER, 3, "0:+6u 0:+5u"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 32);
	dipc_semset_exit(s, "node1", 3);
	g_assert_cmpint(val(s, 0), ==, 21);

	free_set(s, &log);
}

static void test_node_down(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0666, &log);
	dipc_ident n2 = make_ident("node2", 0, 4000, 400);
	dipc_ident n3 = make_ident("node3", 0, 4000, 400);
	dipc_ident n22 = make_ident("node22", 0, 4000, 400);
	tw t, w;

	g_assert_cmpint(do_op(s, &t, &n2, 1, "0:+1u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &n2, 2, "1:+2u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &n3, 1, "0:+4u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &n22, 1, "0:+8u"), ==, 0);
	g_assert_cmpint(val(s, 0), ==, 13);
	g_assert_cmpint(val(s, 1), ==, 2);
	g_assert_cmpint(do_op(s, &w, &OWNER, 50, "1:0"), ==, 1);

	dipc_semset_node_down(s, "node2");
	assert_log(&log, "50:0");
	g_assert_cmpint(val(s, 0), ==, 12);
	g_assert_cmpint(val(s, 1), ==, 0);
	g_assert_false(dipc_semset_has_undo(s, "node2", 1));
	g_assert_false(dipc_semset_has_undo(s, "node2", 2));
	g_assert_true(dipc_semset_has_undo(s, "node3", 1));
	g_assert_true(dipc_semset_has_undo(s, "node22", 1));

	dipc_semset_node_down(s, "node9"); /* nobody */
	dipc_semset_node_down(s, "node3");
	g_assert_cmpint(val(s, 0), ==, 8);
	g_assert_false(dipc_semset_has_undo(s, "node3", 1));
	g_assert_true(dipc_semset_has_undo(s, "node22", 1));

	free_set(s, &log);
}

static void test_setval_clears_undo(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0600, &log);
	tw t;

	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1u 1:+1u"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &OWNER, 2, "0:+2u 1:+2u"), ==, 0);
	g_assert_cmpint(dipc_semset_setval(s, &OWNER, 0, 5), ==, 0);
	g_assert_cmpint(pid_of(s, 0), ==, 100);
	dipc_semset_exit(s, "node1", 1);
	g_assert_cmpint(val(s, 0), ==, 5);
	g_assert_cmpint(val(s, 1), ==, 2);
	dipc_semset_exit(s, "node1", 2);
	g_assert_cmpint(val(s, 0), ==, 5);
	g_assert_cmpint(val(s, 1), ==, 0);

	/* SETALL clears every adjustment */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+2u 1:+2u"), ==, 0);
	{
		const uint16_t v[2] = { 3, 4 };

		g_assert_cmpint(dipc_semset_setall(s, &OWNER, v, 2), ==, 0);
	}
	dipc_semset_exit(s, "node1", 1);
	g_assert_cmpint(val(s, 0), ==, 3);
	g_assert_cmpint(val(s, 1), ==, 4);

	free_set(s, &log);
}

/* ---- semctl -------------------------------------------------------------- */

static void test_get_errors(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0600, &log);

	g_assert_cmpint(dipc_semset_get(s, &OWNER, 999, 0), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_get(s, &OWNER, SETVAL, 0), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_get(s, &OWNER, GETVAL, -1), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_get(s, &OWNER, GETVAL, 2), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_get(s, &OWNER, GETPID, 2), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_get(s, &OWNER, GETVAL, 1), ==, 0);
	/* permission comes before the number */
	g_assert_cmpint(dipc_semset_get(s, &OTHER, GETVAL, 0), ==, -EACCES);
	g_assert_cmpint(dipc_semset_get(s, &OTHER, GETVAL, 2), ==, -EACCES);
	g_assert_cmpint(dipc_semset_get(s, &OTHER, GETPID, 0), ==, -EACCES);
	g_assert_cmpint(dipc_semset_get(s, &GROUP, GETNCNT, 0), ==, -EACCES);
	g_assert_cmpint(dipc_semset_get(s, &SUPP, GETZCNT, 0), ==, -EACCES);

	free_set(s, &log);
}

static void test_setval_errors(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0640, &log);
	struct dipc_semid_ds ds;
	int64_t t0 = dipc_now_sec();

	g_assert_cmpint(dipc_semset_setval(s, &OWNER, 0, -1), ==, -ERANGE);
	g_assert_cmpint(dipc_semset_setval(s, &OWNER, 0, VMX + 1), ==, -ERANGE);
	g_assert_cmpint(dipc_semset_setval(s, &OWNER, 0, INT_MIN), ==, -ERANGE);
	g_assert_cmpint(dipc_semset_setval(s, &OWNER, -1, 1), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_setval(s, &OWNER, 2, 1), ==, -EINVAL);
	/* semctl_setval() order: value, number, permission */
	g_assert_cmpint(dipc_semset_setval(s, &OTHER, 5, -1), ==, -ERANGE);
	g_assert_cmpint(dipc_semset_setval(s, &OTHER, 5, 1), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_setval(s, &OTHER, 0, 1), ==, -EACCES);
	g_assert_cmpint(dipc_semset_setval(s, &GROUP, 0, 1), ==, -EACCES);
	g_assert_cmpint(val(s, 0), ==, 0);
	g_assert_cmpint(dipc_semset_stat(s, &ROOT, true, &ds), ==, 0);
	g_assert_cmpint(ds.otime, ==, 0);

	g_assert_cmpint(dipc_semset_setval(s, &OWNER, 1, VMX), ==, 0);
	g_assert_cmpint(val(s, 1), ==, VMX);
	g_assert_cmpint(pid_of(s, 1), ==, 100);
	g_assert_cmpint(dipc_semset_setval(s, &OWNER, 1, 0), ==, 0);
	g_assert_cmpint(val(s, 1), ==, 0);
	g_assert_cmpint(dipc_semset_stat(s, &ROOT, true, &ds), ==, 0);
	g_assert_cmpint(ds.ctime, >=, t0);
	/* SETVAL is not a semop: otime stays */
	g_assert_cmpint(ds.otime, ==, 0);

	free_set(s, &log);
}

static void test_getall_setall(void)
{
	wake_log log;
	dipc_semset *s = new_set(3, 0640, &log);
	uint16_t v[5] = { 0xdead, 0xdead, 0xdead, 0xdead, 0xdead };
	tw w;

	setval(s, 0, 7);
	setval(s, 2, 9);
	g_assert_cmpint(dipc_semset_getall(s, &OWNER, v, 2), ==, -EINVAL);
	g_assert_cmpint(dipc_semset_getall(s, &OTHER, v, 5), ==, -EACCES);
	g_assert_cmpint(dipc_semset_getall(s, &OTHER, v, 1), ==, -EACCES);
	g_assert_cmpuint(v[0], ==, 0xdead);
	g_assert_cmpint(dipc_semset_getall(s, &GROUP, v, 5), ==, 0);
	g_assert_cmpuint(v[0], ==, 7);
	g_assert_cmpuint(v[1], ==, 0);
	g_assert_cmpuint(v[2], ==, 9);
	g_assert_cmpuint(v[3], ==, 0xdead);

	{
		const uint16_t bad[3] = { 1, VMX + 1, 2 };
		const uint16_t good[3] = { 1, VMX, 2 };

		g_assert_cmpint(dipc_semset_setall(s, &GROUP, good, 3), ==, -EACCES);
		g_assert_cmpint(dipc_semset_setall(s, &OTHER, good, 2), ==, -EACCES);
		g_assert_cmpint(dipc_semset_setall(s, &OWNER, good, 2), ==, -EINVAL);
		g_assert_cmpint(dipc_semset_setall(s, &OWNER, good, 4), ==, -EINVAL);
		g_assert_cmpint(dipc_semset_setall(s, &OWNER, bad, 3), ==, -ERANGE);
		g_assert_cmpint(val(s, 0), ==, 7);
		g_assert_cmpint(val(s, 1), ==, 0);

		g_assert_cmpint(do_op(s, &w, &OWNER, 60, "1:-1 2:-2"), ==, 1);
		g_assert_cmpint(dipc_semset_setall(s, &OWNER, good, 3), ==, 0);
		assert_log(&log, "60:0");
		g_assert_cmpint(val(s, 0), ==, 1);
		g_assert_cmpint(val(s, 1), ==, VMX - 1);
		g_assert_cmpint(val(s, 2), ==, 0);
		g_assert_cmpint(pid_of(s, 0), ==, 100);
		g_assert_cmpint(pid_of(s, 1), ==, 60);
		g_assert_cmpint(pid_of(s, 2), ==, 60);
	}

	free_set(s, &log);
}

static void test_stat(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0600, &log);
	struct dipc_semid_ds ds;

	memset(&ds, 0x5a, sizeof(ds));
	g_assert_cmpint(dipc_semset_stat(s, &OTHER, true, &ds), ==, -EACCES);
	g_assert_cmpint(dipc_semset_stat(s, &GROUP, true, &ds), ==, -EACCES);
	/* SEM_STAT_ANY: no check */
	g_assert_cmpint(dipc_semset_stat(s, &OTHER, false, &ds), ==, 0);
	g_assert_cmpuint(ds.perm.uid, ==, 1000);
	g_assert_cmpuint(ds.perm.gid, ==, 100);
	g_assert_cmpuint(ds.perm.mode, ==, 0600);
	g_assert_cmpuint(ds.perm.seq, ==, (uint32_t) ID >> 15);
	g_assert_cmpuint(ds.nsems, ==, 2);
	g_assert_cmpuint(ds.pad, ==, 0);
	g_assert_cmpint(dipc_semset_stat(s, &OWNER, true, &ds), ==, 0);
	g_assert_cmpint(dipc_semset_stat(s, &ROOT, true, &ds), ==, 0);

	free_set(s, &log);
}

static void test_ipc_set(void)
{
	wake_log log;
	dipc_semset *s = new_set(1, 0600, &log);
	dipc_ident newowner = make_ident("node2", 5, 3000, 9);
	const dipc_ipc_perm *p = dipc_semset_perm(s);
	struct dipc_semid_ds ds;

	g_assert_cmpint(dipc_semset_ipc_set(s, &OTHER, 4000, 400, 0666), ==, -EPERM);
	g_assert_cmpint(dipc_semset_ipc_set(s, &GROUP, 3000, 100, 0666), ==, -EPERM);
	g_assert_cmpuint(p->uid, ==, 1000);
	g_assert_cmpuint(p->mode, ==, 0600);

	g_assert_cmpint(dipc_semset_ipc_set(s, &OWNER, 3000, 300, 0170604), ==, 0);
	g_assert_cmpuint(p->uid, ==, 3000);
	g_assert_cmpuint(p->gid, ==, 300);
	g_assert_cmpuint(p->mode, ==, 0604);
	g_assert_cmpuint(p->cuid, ==, 1000);
	g_assert_cmpuint(p->cgid, ==, 100);

	/* the new owner, the creator and root may; the rest may not */
	g_assert_cmpint(dipc_semset_ipc_set(s, &newowner, 3000, 300, 0640), ==, 0);
	g_assert_cmpint(dipc_semset_ipc_set(s, &OWNER, 3000, 300, 0640), ==, 0);
	g_assert_cmpint(dipc_semset_ipc_set(s, &ROOT, 3000, 300, 0660), ==, 0);
	g_assert_cmpint(dipc_semset_ipc_set(s, &OTHER, 3000, 300, 0666), ==, -EPERM);
	g_assert_cmpuint(p->mode, ==, 0660);

	/* permissions follow: the new owner's triplet applies to 3000 */
	g_assert_cmpint(dipc_semset_setval(s, &newowner, 0, 1), ==, 0);
	g_assert_cmpint(dipc_semset_stat(s, &ROOT, true, &ds), ==, 0);
	g_assert_cmpuint(ds.perm.mode, ==, 0660);
	g_assert_cmpuint(ds.perm.uid, ==, 3000);

	free_set(s, &log);
}

static void test_rmid(void)
{
	wake_log log;
	dipc_semset *s = new_set(2, 0666, &log);
	tw a, b, c, t;

	g_assert_cmpint(do_op(s, &t, &OTHER, 9, "0:+1u"), ==, 0);
	g_assert_cmpint(do_op(s, &a, &OWNER, 1, "1:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &b, &OTHER, 2, "0:0"), ==, 1);
	g_assert_cmpint(do_op(s, &c, &GROUP, 3, "0:-2 1:-1"), ==, 1);

	/* mode 0666 does not make others owners */
	g_assert_cmpint(dipc_semset_rmid(s, &OTHER), ==, -EPERM);
	g_assert_cmpint(dipc_semset_rmid(s, &GROUP), ==, -EPERM);
	assert_log(&log, "");
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 3);

	g_assert_cmpint(dipc_semset_rmid(s, &OWNER), ==, 0);
	assert_log(&log, "1:-EIDRM 2:-EIDRM 3:-EIDRM");
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);
	g_assert_false(dipc_semset_has_undo(s, "node3", 9));

	/* what the glue might still do before it frees the set */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1"), ==, -EIDRM);
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:-1"), ==, -EIDRM);
	g_assert_cmpint(dipc_semset_setval(s, &OWNER, 0, 1), ==, -EIDRM);
	g_assert_cmpint(dipc_semset_rmid(s, &OWNER), ==, -EIDRM);
	g_assert_cmpuint(dipc_semset_nwaiters(s), ==, 0);

	free_set(s, &log);

	/* root may remove */
	s = new_set(1, 0600, &log);
	g_assert_cmpint(dipc_semset_rmid(s, &ROOT), ==, 0);
	free_set(s, &log);
	/* so may the creator after a change of owner */
	s = new_set(1, 0600, &log);
	g_assert_cmpint(dipc_semset_ipc_set(s, &OWNER, 3000, 300, 0600), ==, 0);
	g_assert_cmpint(dipc_semset_rmid(s, &OWNER), ==, 0);
	free_set(s, &log);
}

/* Owner, group (primary and supplementary), other and root, read vs alter. */
static void test_perm_classes(void)
{
	wake_log log;
	dipc_semset *s = new_set(1, 0640, &log);
	tw t;

	/* owner: rw */
	g_assert_cmpint(do_op(s, &t, &OWNER, 1, "0:+1"), ==, 0);
	g_assert_cmpint(dipc_semset_get(s, &OWNER, GETVAL, 0), ==, 1);
	/* group (primary gid): r only */
	g_assert_cmpint(dipc_semset_get(s, &GROUP, GETVAL, 0), ==, 1);
	g_assert_cmpint(do_op(s, &t, &GROUP, 2, "0:-1"), ==, -EACCES);
	g_assert_cmpint(do_op(s, &t, &GROUP, 2, "0:0n"), ==, -EAGAIN);
	g_assert_cmpint(dipc_semset_setval(s, &GROUP, 0, 0), ==, -EACCES);
	/* group (supplementary) */
	g_assert_cmpint(dipc_semset_get(s, &SUPP, GETVAL, 0), ==, 1);
	g_assert_cmpint(do_op(s, &t, &SUPP, 3, "0:+1"), ==, -EACCES);
	/* other: nothing */
	g_assert_cmpint(dipc_semset_get(s, &OTHER, GETVAL, 0), ==, -EACCES);
	g_assert_cmpint(do_op(s, &t, &OTHER, 4, "0:0n"), ==, -EACCES);
	/* root: everything */
	g_assert_cmpint(do_op(s, &t, &ROOT, 5, "0:-1"), ==, 0);
	g_assert_cmpint(dipc_semset_setval(s, &ROOT, 0, 2), ==, 0);

	/* group with write only can alter but not wait for zero */
	g_assert_cmpint(dipc_semset_ipc_set(s, &OWNER, 1000, 100, 0620), ==, 0);
	g_assert_cmpint(do_op(s, &t, &SUPP, 3, "0:+1"), ==, 0);
	g_assert_cmpint(do_op(s, &t, &SUPP, 3, "0:0n"), ==, -EACCES);
	g_assert_cmpint(dipc_semset_get(s, &SUPP, GETVAL, 0), ==, -EACCES);
	g_assert_cmpint(val(s, 0), ==, 3);

	free_set(s, &log);
}

/* ---- describe ------------------------------------------------------------ */

static char *fmt_time(int64_t t)
{
	time_t tt = (time_t) t;
	struct tm tm;
	char buf[64];

	g_assert_nonnull(gmtime_r(&tt, &tm));
	g_assert_cmpuint(strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm), >, 0);
	return g_strdup(buf);
}

static void test_describe(void)
{
	wake_log log;
	dipc_ident root2 = make_ident("node2", 0, 0, 0);
	dipc_ident root3 = make_ident("node3", 0, 0, 0);
	dipc_ident root10 = make_ident("node10", 0, 0, 0);
	dipc_semset *s;
	struct dipc_semid_ds ds;
	g_autofree char *text = NULL, *expected = NULL, *ct = NULL, *ot = NULL;
	tw t, w1, w2;

	log.text = g_string_new(NULL);
	log.n = 0;
	s = dipc_semset_new(KEY, ID, 2, 0600, &ROOT, &default_lim, on_wake, &log);

	g_assert_cmpint(dipc_semset_stat(s, NULL, false, &ds), ==, 0);
	ct = fmt_time(ds.ctime);
	text = dipc_semset_describe(s, "node1");
	expected = g_strdup_printf("key       0x0000162e\n"
				   "id        32513\n"
				   "owner     node1\n"
				   "mode      0600\n"
				   "uid       0\n"
				   "gid       0\n"
				   "cuid      0\n"
				   "cgid      0\n"
				   "nsems     2\n"
				   "otime     never\n"
				   "ctime     %s\n"
				   "\n"
				   "sem  semval  sempid  semncnt  semzcnt\n"
				   "0    0       -       0        0\n"
				   "1    0       -       0        0\n"
				   "\n"
				   "waiters   0\n"
				   "undo      0\n", ct);
	g_assert_cmpstr(text, ==, expected);
	g_clear_pointer(&text, g_free);
	g_clear_pointer(&expected, g_free);

	g_assert_cmpint(do_op(s, &t, &root2, 1234, "0:+1u"), ==, 0);
	g_assert_cmpint(do_op(s, &w1, &root3, 1235, "1:-1"), ==, 1);
	g_assert_cmpint(do_op(s, &w2, &root10, 77, "1:0 0:-5u"), ==, 1);
	g_assert_cmpint(dipc_semset_stat(s, NULL, false, &ds), ==, 0);
	ot = fmt_time(ds.otime);

	text = dipc_semset_describe(s, NULL);
	expected = g_strdup_printf("key       0x0000162e\n"
				   "id        32513\n"
				   "owner     -\n"
				   "mode      0600\n"
				   "uid       0\n"
				   "gid       0\n"
				   "cuid      0\n"
				   "cgid      0\n"
				   "nsems     2\n"
				   "otime     %s\n"
				   "ctime     %s\n"
				   "\n"
				   "sem  semval  sempid      semncnt  semzcnt\n"
				   "0    1       1234@node2  1        0\n"
				   "1    0       -           1        0\n"
				   "\n"
				   "waiters   2\n"
				   "  1235@node3  [1:-1]\n"
				   "  77@node10   [1:0, 0:-5 undo]\n"
				   "undo      1\n"
				   "  1234@node2  [0:-1]\n", ot, ct);
	g_assert_cmpstr(text, ==, expected);
	g_clear_pointer(&text, g_free);
	g_clear_pointer(&expected, g_free);

	/* sorted undo records, large key, removed */
	{
		dipc_semset *s2 = dipc_semset_new((int32_t) 0xdeadbeefu, 7, 12, 0640, &ROOT,
						  &default_lim, on_wake, &log);

		g_assert_cmpint(do_op(s2, &t, &root3, 5, "11:+3u 0:+1u"), ==, 0);
		g_assert_cmpint(do_op(s2, &t, &root2, 900, "11:+1u"), ==, 0);
		g_assert_cmpint(do_op(s2, &t, &root2, 80, "11:+1u 11:-1u"), ==, 0);
		text = dipc_semset_describe(s2, "n");
		g_assert_nonnull(strstr(text, "key       0xdeadbeef\n"));
		g_assert_nonnull(strstr(text, "mode      0640\n"));
		g_assert_nonnull(strstr(text, "nsems     12\n"));
		g_assert_nonnull(strstr(text, "\nsem  semval  sempid    semncnt  semzcnt\n"
					      "0    1       5@node3   0        0\n"
					      "1    0       -         0        0\n"));
		g_assert_nonnull(strstr(text, "\n11   4       80@node2  0        0\n\n"));
		g_assert_nonnull(strstr(text, "undo      3\n"
					      "  80@node2   []\n"
					      "  900@node2  [11:-1]\n"
					      "  5@node3    [0:-1, 11:-3]\n"));
		g_clear_pointer(&text, g_free);
		g_assert_cmpint(dipc_semset_rmid(s2, &ROOT), ==, 0);
		text = dipc_semset_describe(s2, "n");
		g_assert_nonnull(strstr(text, "ctime     "));
		g_assert_nonnull(strstr(text, " UTC\nremoved   yes\n\n"));
		g_assert_nonnull(strstr(text, "undo      0\n"));
		g_clear_pointer(&text, g_free);
		dipc_semset_free(s2);
	}

	dipc_semset_cancel(s, &w1.w);
	dipc_semset_cancel(s, &w2.w);
	free_set(s, &log);
}

/* Node names come from the wire in fixed arrays: a missing NUL must not
 * make the engine read past them. */
static void test_long_node_name(void)
{
	wake_log log;
	dipc_semset *s = new_set(1, 0666, &log);
	dipc_ident who = make_ident("x", 0, 4000, 400);
	g_autofree char *text = NULL, *line = NULL;
	char name[64];
	tw t;

	memset(who.node, 'x', sizeof(who.node)); /* no terminator */
	g_assert_cmpint(do_op(s, &t, &who, 42, "0:+1u"), ==, 0);
	memset(name, 'x', 63);
	name[63] = '\0';
	g_assert_true(dipc_semset_has_undo(s, name, 42));
	text = dipc_semset_describe(s, "o");
	line = g_strdup_printf("\n0    1       42@%s  0        0\n", name);
	g_assert_nonnull(strstr(text, line));
	dipc_semset_exit(s, name, 42);
	g_assert_cmpint(val(s, 0), ==, 0);
	free_set(s, &log);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	idents_init();

	g_test_add_func("/semset/new", test_new);
	g_test_add_func("/semset/check_get", test_check_get);
	g_test_add_func("/semset/op/errors", test_op_errors);
	g_test_add_func("/semset/op/basic", test_op_basic);
	g_test_add_func("/semset/op/sequence_same_sem", test_sequence_same_sem);
	g_test_add_func("/semset/op/rollback", test_rollback);
	g_test_add_func("/semset/op/nowait", test_nowait);
	g_test_add_func("/semset/op/overflow", test_overflow);
	g_test_add_func("/semset/wait/block_and_wake", test_block_and_wake);
	g_test_add_func("/semset/wait/fifo_three", test_fifo_three);
	g_test_add_func("/semset/wait/no_head_of_line", test_no_head_of_line);
	g_test_add_func("/semset/wait/restart_after_change", test_restart_after_change);
	g_test_add_func("/semset/wait/queued_erange", test_queued_erange);
	g_test_add_func("/semset/wait/ncnt_zcnt", test_ncnt_zcnt);
	g_test_add_func("/semset/wait/cancel", test_cancel);
	g_test_add_func("/semset/undo/exit", test_undo_exit);
	g_test_add_func("/semset/undo/range", test_undo_range);
	g_test_add_func("/semset/undo/node_down", test_node_down);
	g_test_add_func("/semset/undo/setval_clears", test_setval_clears_undo);
	g_test_add_func("/semset/ctl/get_errors", test_get_errors);
	g_test_add_func("/semset/ctl/setval_errors", test_setval_errors);
	g_test_add_func("/semset/ctl/getall_setall", test_getall_setall);
	g_test_add_func("/semset/ctl/stat", test_stat);
	g_test_add_func("/semset/ctl/ipc_set", test_ipc_set);
	g_test_add_func("/semset/ctl/rmid", test_rmid);
	g_test_add_func("/semset/perm_classes", test_perm_classes);
	g_test_add_func("/semset/describe", test_describe);
	g_test_add_func("/semset/describe_long_node", test_long_node_name);

	return g_test_run();
}
