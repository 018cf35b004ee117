/* SPDX-License-Identifier: MIT */
/**
 * @file semtest.c
 *
 * The comparison program: walks every semget/semop/semtimedop/semctl result
 * and error path that one process (and a few forked children) can reach
 * deterministically, and prints one line per step:
 *
 *     step: ret=<r> errno=<NAME> [facts...]
 *
 * The output must be byte-identical when run natively (kernel semaphores)
 * and through dipcfs (LD_PRELOAD=libdipc.so DIPC_MOUNT=...), so it never
 * prints ids, pids or times, only normalised facts ("ret=id",
 * "otime_nonzero=1", "getpid_is_child=1").  Ids go to stderr as
 * "# id NAME ID" so the test suite can check which side served each set.
 *
 * Usage:  semtest [-p] KEY
 *   KEY   base key; semtest uses KEY (the main set, 4 semaphores, mode 0666),
 *         KEY+1, KEY+2 and KEY+3.  Leftovers of an earlier run under KEY+1..3
 *         are removed first (and reported on stderr).
 *   -p    the main set KEY already exists (nsems 4, mode 0666, values 0,
 *         created by someone else, e.g. on another node); do not create it.
 *   -n    do not add IPC_DIPC to the semget flags.
 *
 * Must run as root: the permission steps drop to nobody (65534) in children.
 * Exit status 0 when every step ran (whatever the results), 1 on a harness
 * problem (a child that never reached its state, a timeout).
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs_common.h"

#define HARNESS_NAME "semtest"
#define POLL_MS 5000 /* bound for every wait on another process */
#include "harness.h"

#define NOBODY 65534

static int F = IPC_DIPC; /* extra semget flag */



#define CALL(expr) (errno = 0, r = (expr), e = (r < 0 ? errno : 0))

/* ---- small wrappers ------------------------------------------------------ */

static int op1(int id, unsigned short num, short op, short flg)
{
	struct sembuf sb = { num, op, flg };

	return semop(id, &sb, 1);
}

static int ctl(int id, int num, int cmd)
{
	return semctl(id, num, cmd);
}

/* IPC_STAT into a real buffer, result only */
static int stat_only(int id)
{
	struct semid_ds ds;
	union semun a = { .buf = &ds };

	return semctl(id, 0, IPC_STAT, a);
}

/* IPC_STAT with a NULL buffer: the kernel looks the id up first (EINVAL for
 * a stale one), then fails to copy out (EFAULT). */
static int stat_null(int id)
{
	union semun a = { .buf = NULL };

	return semctl(id, 0, IPC_STAT, a);
}

static int setval(int id, int num, int val)
{
	union semun a = { .val = val };

	return semctl(id, num, SETVAL, a);
}

static int setall(int id, const unsigned short *v)
{
	union semun a = { .array = (unsigned short *)v };

	return semctl(id, 0, SETALL, a);
}

static void rep_getall(const char *step, int id, int n)
{
	unsigned short v[16] = { 0 };
	union semun a = { .array = v };
	char buf[128] = "";
	int r, e, i;

	CALL(semctl(id, 0, GETALL, a));
	if (r == 0)
		for (i = 0; i < n; i++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%u",
				 i ? "," : "", v[i]);
	rep(step, r, e, r == 0 ? " vals=%s" : "%s", buf);
}

static bool recent(time_t t)
{
	time_t now = time(NULL);

	return t > now - 120 && t < now + 120;
}

static void rep_stat(const char *step, int id, key_t key)
{
	struct semid_ds ds;
	union semun a = { .buf = &ds };
	int r, e;

	memset(&ds, 0xa5, sizeof(ds));
	CALL(semctl(id, 0, IPC_STAT, a));
	if (r < 0) {
		rep(step, r, e, "%s", "");
		return;
	}
	rep(step, r, e,
	    " nsems=%lu mode=%o uid=%u gid=%u cuid=%u cgid=%u key_matches=%d"
	    " otime_nonzero=%d otime_recent=%d ctime_recent=%d",
	    (unsigned long)ds.sem_nsems, (unsigned)ds.sem_perm.mode,
	    (unsigned)ds.sem_perm.uid, (unsigned)ds.sem_perm.gid,
	    (unsigned)ds.sem_perm.cuid, (unsigned)ds.sem_perm.cgid,
	    ds.sem_perm.__key == key, ds.sem_otime != 0,
	    ds.sem_otime == 0 || recent(ds.sem_otime), recent(ds.sem_ctime));
}

static int ipc_set(int id, uid_t uid, gid_t gid, unsigned mode)
{
	struct semid_ds ds;
	union semun a = { .buf = &ds };

	memset(&ds, 0, sizeof(ds));
	ds.sem_perm.uid = uid;
	ds.sem_perm.gid = gid;
	ds.sem_perm.mode = mode;
	return semctl(id, 0, IPC_SET, a);
}

/* Poll semctl(id, num, cmd) until it returns want (bounded). */
static bool wait_for(int id, int num, int cmd, int want)
{
	int64_t end = now_ms() + POLL_MS;
	int v = -2;

	while (now_ms() < end) {
		v = semctl(id, num, cmd);
		if (v == want)
			return true;
		sleep_ms(2);
	}
	problem("semctl(%d, %d, cmd %d) stayed %d, wanted %d", id, num, cmd, v, want);
	return false;
}


struct opargs {
	int id;
	int nsops;
	struct sembuf sops[4];
};

/* A child that performs one semop and exits with 0 or its errno. */
static int child_semop(void *p)
{
	struct opargs *a = p;

	if (semop(a->id, a->sops, a->nsops) == 0)
		return 0;
	return errno;
}

static pid_t spawn_op(struct opargs *a, int id, unsigned short num, short op, short flg)
{
	a->id = id;
	a->nsops = 1;
	a->sops[0] = (struct sembuf){ num, op, flg };
	return spawn(child_semop, a);
}

static void become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY) || getuid() != NOBODY) {
		perror("drop privileges");
		_exit(250);
	}
}

/* ---- the steps ----------------------------------------------------------- */

static void remove_leftover(key_t key)
{
	int id = semget(key, 0, F);

	if (id >= 0) {
		fprintf(stderr, "# removing leftover set key 0x%x id %d\n", (unsigned)key, id);
		semctl(id, 0, IPC_RMID);
	}
}

static void section_get(key_t k1)
{
	int r, e, id, id2;
	char buf[64];

	CALL(semget(k1, 2, 0600 | F));
	rep("get_noent", r, e, "%s", "");
	CALL(semget(k1, 0, IPC_CREAT | 0600 | F));
	rep("get_create_nsems0", r, e, "%s", "");
	CALL(semget(k1, -1, IPC_CREAT | 0600 | F));
	rep("get_create_nsems_neg", r, e, "%s", "");
	CALL(semget(k1, 100000, IPC_CREAT | 0600 | F));
	rep("get_create_nsems_huge", r, e, "%s", "");
	CALL(semget(k1, 3, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep_id("get_create", r, e, "k1");
	id = r;
	if (id < 0)
		return;
	CALL(semget(k1, 3, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep("get_excl", r, e, "%s", "");
	CALL(semget(k1, 5, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep("get_excl_nsems_larger", r, e, "%s", "");
	CALL(semget(k1, 3, 0 | F));
	rep("get_existing", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(semget(k1, 0, 0 | F));
	rep("get_existing_nsems0", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(semget(k1, 2, 0 | F));
	rep("get_existing_fewer", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(semget(k1, 3, IPC_CREAT | 0600 | F));
	rep("get_existing_creat", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(semget(k1, 4, 0 | F));
	rep("get_existing_larger", r, e, "%s", "");
	CALL(semget(k1, 4, IPC_CREAT | F));
	rep("get_existing_creat_larger", r, e, "%s", "");
	CALL(semget(k1, 100000, 0 | F));
	rep("get_existing_huge", r, e, "%s", "");
	CALL(semget(k1, 3, 0640 | F));
	rep("get_existing_mode", r < 0 ? r : 0, e, " same_id=%d", r == id);
	rep_stat("get_stat", id, k1);
	rep_getall("get_getall", id, 3);
	CALL(semctl(id, 0, IPC_RMID));
	rep("get_rmid", r, e, "%s", "");
	CALL(semget(k1, 3, 0 | F));
	rep("get_after_rmid", r, e, "%s", "");
	CALL(stat_only(id));
	rep("stale_stat", r, e, "%s", "");
	CALL(stat_null(id));
	rep("stale_stat_null_buf", r, e, "%s", "");
	CALL(ctl(id, 0, GETVAL));
	rep("stale_getval", r, e, "%s", "");
	CALL(op1(id, 0, 1, 0));
	rep("stale_semop", r, e, "%s", "");
	CALL(op1(id, 0, 0, IPC_NOWAIT));
	rep("stale_semop_nowait", r, e, "%s", "");
	CALL(setval(id, 0, 1));
	rep("stale_setval", r, e, "%s", "");
	CALL(ctl(id, 0, IPC_RMID));
	rep("stale_rmid", r, e, "%s", "");
	CALL(semget(k1, 3, IPC_CREAT | IPC_EXCL | 0600 | F));
	id2 = r;
	snprintf(buf, sizeof(buf), " new_id_differs=%d", id2 != id);
	rep(id2 >= 0 ? "get_recreate" : "get_recreate", id2 < 0 ? id2 : 0, e, "%s", buf);
	if (id2 >= 0) {
		fprintf(stderr, "# id k1b %d\n", id2);
		CALL(ctl(id, 0, GETVAL));
		rep("stale_after_recreate", r, e, "%s", "");
		rep_getall("recreate_getall", id2, 3);
		CALL(ctl(id2, 0, IPC_RMID));
		rep("recreate_rmid", r, e, "%s", "");
	}
}

static void section_private(void)
{
	int r, e, a, b, c;
	struct semid_ds ds;
	union semun u = { .buf = &ds };

	CALL(semget(IPC_PRIVATE, 2, 0600 | F));
	rep_id("private_a", r, e, "private_a");
	a = r;
	CALL(semget(IPC_PRIVATE, 2, IPC_CREAT | 0600 | F));
	rep_id("private_b", r, e, "private_b");
	b = r;
	CALL(semget(IPC_PRIVATE, 2, IPC_CREAT | IPC_EXCL | 0600 | F));
	rep_id("private_c", r, e, "private_c");
	c = r;
	printf("private_distinct: %d\n", a != b && b != c && a != c);
	CALL(semget(IPC_PRIVATE, 0, 0600 | F));
	rep("private_nsems0", r, e, "%s", "");
	if (a >= 0) {
		memset(&ds, 0xa5, sizeof(ds));
		CALL(semctl(a, 0, IPC_STAT, u));
		rep("private_stat", r, e, " key=%d nsems=%lu mode=%o", (int)ds.sem_perm.__key,
		    (unsigned long)ds.sem_nsems, (unsigned)ds.sem_perm.mode);
		CALL(op1(a, 1, 7, 0));
		rep("private_semop", r, e, "%s", "");
		rep_getall("private_getall", a, 2);
		rep_getall("private_other_untouched", b, 2);
	}
	CALL(ctl(a, 0, IPC_RMID));
	rep("private_rmid_a", r, e, "%s", "");
	CALL(ctl(b, 0, IPC_RMID));
	rep("private_rmid_b", r, e, "%s", "");
	CALL(ctl(c, 0, IPC_RMID));
	rep("private_rmid_c", r, e, "%s", "");
}

static void section_ctl(int id, key_t key)
{
	static const unsigned short v1234[4] = { 1, 2, 3, 4 };
	static const unsigned short vbad[4] = { 9, 40000, 9, 9 };
	int r, e;

	rep_stat("stat_initial", id, key);
	CALL(stat_null(id));
	rep("stat_null_buf", r, e, "%s", "");
	rep_getall("getall_initial", id, 4);
	CALL(ctl(id, 0, GETVAL));
	rep("getval_initial", r, e, "%s", "");
	CALL(ctl(id, 3, GETPID));
	rep("getpid_initial", r, e, "%s", "");
	CALL(ctl(id, 1, GETNCNT));
	rep("getncnt_initial", r, e, "%s", "");
	CALL(ctl(id, 2, GETZCNT));
	rep("getzcnt_initial", r, e, "%s", "");
	CALL(ctl(id, 4, GETVAL));
	rep("getval_semnum_too_big", r, e, "%s", "");
	CALL(ctl(id, -1, GETVAL));
	rep("getval_semnum_neg", r, e, "%s", "");
	CALL(ctl(id, 4, GETPID));
	rep("getpid_semnum_too_big", r, e, "%s", "");
	CALL(ctl(id, 4, GETNCNT));
	rep("getncnt_semnum_too_big", r, e, "%s", "");
	CALL(ctl(id, 4, GETZCNT));
	rep("getzcnt_semnum_too_big", r, e, "%s", "");
	CALL(ctl(id, 0, 9999));
	rep("semctl_bad_cmd", r, e, "%s", "");
	CALL(ctl(-1, 0, GETVAL));
	rep("semctl_neg_id", r, e, "%s", "");

	CALL(setval(id, 0, 5));
	rep("setval", r, e, "%s", "");
	CALL(ctl(id, 0, GETVAL));
	rep("setval_getval", r, e, "%s", "");
	CALL(ctl(id, 0, GETPID));
	rep("setval_getpid", r < 0 ? r : 0, e, " getpid_is_me=%d", r == getpid());
	CALL(setval(id, 0, 32768));
	rep("setval_erange_big", r, e, "%s", "");
	CALL(setval(id, 0, -1));
	rep("setval_erange_neg", r, e, "%s", "");
	CALL(setval(id, 4, 1));
	rep("setval_semnum_too_big", r, e, "%s", "");
	CALL(setval(id, 1, 32767));
	rep("setval_max", r, e, "%s", "");
	CALL(op1(id, 1, 1, IPC_NOWAIT));
	rep("semop_above_max", r, e, "%s", "");
	CALL(ctl(id, 1, GETVAL));
	rep("semop_above_max_getval", r, e, "%s", "");
	rep_getall("getall_after_setval", id, 4);

	CALL(setall(id, v1234));
	rep("setall", r, e, "%s", "");
	rep_getall("setall_getall", id, 4);
	CALL(ctl(id, 3, GETPID));
	rep("setall_getpid", r < 0 ? r : 0, e, " getpid_is_me=%d", r == getpid());
	CALL(setall(id, vbad));
	rep("setall_erange", r, e, "%s", "");
	rep_getall("setall_erange_getall", id, 4);
	rep_stat("stat_after_set", id, key);
}

static void section_semop(int id, key_t key)
{
	static const unsigned short zero[4] = { 0, 0, 0, 0 };
	static struct sembuf big[1001];
	struct sembuf s[4];
	struct timespec ts;
	int64_t t0, dt;
	int r, e;

	CALL(setall(id, zero));
	rep("semop_setall_zero", r, e, "%s", "");
	s[0] = (struct sembuf){ 0, 1, 0 };
	CALL(semop(id, s, 0));
	rep("semop_nsops0", r, e, "%s", "");
	CALL(semop(id, big, 1001));
	rep("semop_e2big", r, e, "%s", "");
	CALL(op1(id, 4, 1, 0));
	rep("semop_efbig", r, e, "%s", "");
	CALL(op1(id, 65535, 1, 0));
	rep("semop_efbig_65535", r, e, "%s", "");
	CALL(op1(-1, 0, 1, 0));
	rep("semop_neg_id", r, e, "%s", "");
	CALL(op1(id, 0, -1, IPC_NOWAIT));
	rep("semop_nowait_dec", r, e, "%s", "");
	CALL(setval(id, 1, 1));
	rep("semop_setval1", r, e, "%s", "");
	CALL(op1(id, 1, 0, IPC_NOWAIT));
	rep("semop_nowait_zero", r, e, "%s", "");
	CALL(op1(id, 0, 0, 0));
	rep("semop_zero_immediate", r, e, "%s", "");

	/* all-or-nothing: the +1 on sem 0 must not stay applied */
	s[0] = (struct sembuf){ 0, 1, 0 };
	s[1] = (struct sembuf){ 1, -2, IPC_NOWAIT };
	CALL(semop(id, s, 2));
	rep("semop_atomic_fail", r, e, "%s", "");
	rep_getall("semop_atomic_getall", id, 4);
	/* only the IPC_NOWAIT of the sembuf that blocks counts (sem.c): this
	 * one waits, so bound it with a time-out */
	s[0] = (struct sembuf){ 1, -2, 0 };
	s[1] = (struct sembuf){ 0, 1, IPC_NOWAIT };
	ts = (struct timespec){ 0, 100 * 1000000L };
	t0 = now_ms();
	CALL(semtimedop(id, s, 2, &ts));
	dt = now_ms() - t0;
	rep("semop_nowait_other_sembuf", r, e, " waited=%d", dt >= 100);
	rep_stat("stat_before_first_op", id, key);

	s[0] = (struct sembuf){ 0, 2, 0 };
	s[1] = (struct sembuf){ 1, -1, 0 };
	s[2] = (struct sembuf){ 2, 3, 0 };
	s[3] = (struct sembuf){ 0, -1, 0 };
	CALL(semop(id, s, 4));
	rep("semop_multi", r, e, "%s", "");
	rep_getall("semop_multi_getall", id, 4);
	rep_stat("stat_after_op", id, key);
	CALL(ctl(id, 2, GETPID));
	rep("semop_getpid", r < 0 ? r : 0, e, " getpid_is_me=%d", r == getpid());
	/* EFBIG is checked before anything else on the set */
	s[0] = (struct sembuf){ 0, 1, 0 };
	s[1] = (struct sembuf){ 9, 1, 0 };
	CALL(semop(id, s, 2));
	rep("semop_efbig_second", r, e, "%s", "");
	rep_getall("semop_efbig_second_getall", id, 4);

	CALL(setval(id, 0, 32767));
	rep("erange_setval", r, e, "%s", "");
	CALL(op1(id, 0, 1, 0));
	rep("semop_erange", r, e, "%s", "");
	s[0] = (struct sembuf){ 3, 20000, 0 };
	s[1] = (struct sembuf){ 3, 20000, 0 };
	CALL(semop(id, s, 2));
	rep("semop_erange_sum", r, e, "%s", "");
	rep_getall("semop_erange_getall", id, 4);

	/* the adjustment (semadj) must stay within [-32768, 32767] too */
	CALL(op1(id, 3, 32767, SEM_UNDO));
	rep("undo_range_up", r, e, "%s", "");
	CALL(op1(id, 3, -32767, 0));
	rep("undo_range_down", r, e, "%s", "");
	CALL(op1(id, 3, 32767, SEM_UNDO));
	rep("undo_range_erange", r, e, "%s", "");
	rep_getall("undo_range_getall", id, 4);

	CALL(setall(id, zero));
	rep("timed_setall_zero", r, e, "%s", "");
	ts = (struct timespec){ 0, 150 * 1000000L };
	s[0] = (struct sembuf){ 0, -1, 0 };
	t0 = now_ms();
	CALL(semtimedop(id, s, 1, &ts));
	dt = now_ms() - t0;
	rep("semtimedop_expire", r, e, " not_early=%d not_late=%d", dt >= 150, dt < 3000);
	fprintf(stderr, "# semtimedop 150ms took %lld ms\n", (long long)dt);
	CALL(ctl(id, 0, GETNCNT));
	rep("semtimedop_expire_ncnt", r, e, "%s", "");
	ts = (struct timespec){ 0, 0 };
	t0 = now_ms();
	CALL(semtimedop(id, s, 1, &ts));
	dt = now_ms() - t0;
	rep("semtimedop_zero", r, e, " not_late=%d", dt < 1000);
	ts = (struct timespec){ 0, 1000000000L };
	CALL(semtimedop(id, s, 1, &ts));
	rep("semtimedop_nsec_1e9", r, e, "%s", "");
	ts = (struct timespec){ 0, -1 };
	CALL(semtimedop(id, s, 1, &ts));
	rep("semtimedop_nsec_neg", r, e, "%s", "");
	ts = (struct timespec){ -1, 0 };
	CALL(semtimedop(id, s, 1, &ts));
	rep("semtimedop_sec_neg", r, e, "%s", "");
	s[0] = (struct sembuf){ 0, 1, 0 };
	ts = (struct timespec){ 0, 1000000000L };
	CALL(semtimedop(id, s, 1, &ts));
	rep("semtimedop_bad_ts_would_succeed", r, e, "%s", "");
	rep_getall("semtimedop_bad_ts_getall", id, 4);
	ts = (struct timespec){ 2, 0 };
	CALL(semtimedop(id, s, 1, &ts));
	rep("semtimedop_immediate", r, e, "%s", "");
	s[0] = (struct sembuf){ 0, -1, 0 };
	CALL(semtimedop(id, s, 1, NULL));
	rep("semtimedop_null", r, e, "%s", "");
	rep_getall("semtimedop_getall", id, 4);
}

static void section_blocking(int id, key_t k2)
{
	static const unsigned short zero[4] = { 0, 0, 0, 0 };
	struct opargs a, b;
	pid_t pa, pb, first;
	int r, e, st, id2;

	/* GETNCNT with a blocked child, woken by a semop */
	setall(id, zero);
	pa = spawn_op(&a, id, 0, -1, 0);
	if (wait_for(id, 0, GETNCNT, 1)) {
		CALL(ctl(id, 0, GETNCNT));
		rep("ncnt_blocked", r, e, "%s", "");
		CALL(ctl(id, 0, GETZCNT));
		rep("ncnt_blocked_zcnt", r, e, "%s", "");
	}
	CALL(op1(id, 0, 1, 0));
	rep("ncnt_wake", r, e, "%s", "");
	printf("ncnt_child: exit=%s\n", reap(pa));
	CALL(ctl(id, 0, GETNCNT));
	rep("ncnt_after", r, e, "%s", "");
	CALL(ctl(id, 0, GETVAL));
	rep("ncnt_after_getval", r, e, "%s", "");
	CALL(ctl(id, 0, GETPID));
	rep("ncnt_after_getpid", r < 0 ? r : 0, e, " getpid_is_child=%d", r == pa);

	/* GETZCNT with a child waiting for zero, woken by SETVAL */
	setval(id, 1, 1);
	pa = spawn_op(&a, id, 1, 0, 0);
	if (wait_for(id, 1, GETZCNT, 1)) {
		CALL(ctl(id, 1, GETZCNT));
		rep("zcnt_blocked", r, e, "%s", "");
		CALL(ctl(id, 1, GETNCNT));
		rep("zcnt_blocked_ncnt", r, e, "%s", "");
	}
	CALL(setval(id, 1, 0));
	rep("zcnt_wake_setval", r, e, "%s", "");
	printf("zcnt_child: exit=%s\n", reap(pa));
	CALL(ctl(id, 1, GETZCNT));
	rep("zcnt_after", r, e, "%s", "");

	/* FIFO: two waiters for one unit; the first to block is served first */
	setall(id, zero);
	pa = spawn_op(&a, id, 0, -1, 0);
	wait_for(id, 0, GETNCNT, 1);
	pb = spawn_op(&b, id, 0, -1, 0);
	wait_for(id, 0, GETNCNT, 2);
	CALL(op1(id, 0, 1, 0));
	rep("fifo_post1", r, e, "%s", "");
	first = -1;
	{
		int64_t end = now_ms() + POLL_MS;

		while (now_ms() < end) {
			first = waitpid(-1, &st, WNOHANG);
			if (first > 0)
				break;
			sleep_ms(2);
		}
	}
	printf("fifo_first: %s\n", first == pa ? "A" : first == pb ? "B" : "none");
	CALL(ctl(id, 0, GETNCNT));
	rep("fifo_ncnt_left", r, e, "%s", "");
	CALL(op1(id, 0, 1, 0));
	rep("fifo_post2", r, e, "%s", "");
	if (first == pa)
		printf("fifo_second: exit=%s\n", reap(pb));
	else if (first == pb)
		printf("fifo_second: exit=%s\n", reap(pa));
	else {
		reap(pa);
		reap(pb);
		problem("no fifo waiter woke");
	}

	/* a waiter counts in semncnt of the semaphore it is blocked on only */
	setall(id, zero);
	a.id = id;
	a.nsops = 2;
	a.sops[0] = (struct sembuf){ 0, -1, 0 };
	a.sops[1] = (struct sembuf){ 1, -1, 0 };
	pa = spawn(child_semop, &a);
	wait_for(id, 0, GETNCNT, 1);
	printf("multi_wait_counts: ncnt0=%d ncnt1=%d\n", ctl(id, 0, GETNCNT), ctl(id, 1, GETNCNT));
	CALL(op1(id, 0, 1, 0));
	rep("multi_wait_post0", r, e, "%s", "");
	wait_for(id, 1, GETNCNT, 1);
	printf("multi_wait_counts_after_post0: ncnt0=%d ncnt1=%d val0=%d\n", ctl(id, 0, GETNCNT),
	       ctl(id, 1, GETNCNT), ctl(id, 0, GETVAL));
	CALL(op1(id, 1, 1, 0));
	rep("multi_wait_post1", r, e, "%s", "");
	printf("multi_wait_child: exit=%s\n", reap(pa));
	rep_getall("multi_wait_getall", id, 4);

	/* EIDRM for every waiter when the set is removed */
	id2 = semget(k2, 2, IPC_CREAT | IPC_EXCL | 0600 | F);
	rep_id("eidrm_create", id2, errno, "k2");
	if (id2 >= 0) {
		setval(id2, 1, 1);
		pa = spawn_op(&a, id2, 0, -1, 0);
		pb = spawn_op(&b, id2, 1, 0, 0);
		wait_for(id2, 0, GETNCNT, 1);
		wait_for(id2, 1, GETZCNT, 1);
		CALL(ctl(id2, 0, IPC_RMID));
		rep("eidrm_rmid", r, e, "%s", "");
		printf("eidrm_child_ncnt: exit=%s\n", reap(pa));
		printf("eidrm_child_zcnt: exit=%s\n", reap(pb));
		CALL(op1(id2, 0, 1, 0));
		rep("eidrm_semop_after", r, e, "%s", "");
	}
}

static volatile sig_atomic_t got_signal;

static void on_alarm(int sig)
{
	(void)sig;
	got_signal++;
}

static void section_eintr(int id)
{
	static const unsigned short zero[4] = { 0, 0, 0, 0 };
	struct sigaction sa;
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	struct sembuf s = { 0, -1, 0 };
	struct timespec ts = { 5, 0 };
	int64_t t0;
	int r, e;

	setall(id, zero);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART; /* semop(2): never restarted, EINTR anyway */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	got_signal = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = now_ms();
	CALL(semop(id, &s, 1));
	rep("eintr_semop", r, e, " handler_ran=%d quick=%d", got_signal == 1,
	    now_ms() - t0 < 3000);
	CALL(ctl(id, 0, GETVAL));
	rep("eintr_getval", r, e, "%s", "");
	CALL(ctl(id, 0, GETNCNT));
	rep("eintr_getncnt", r, e, "%s", "");

	got_signal = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = now_ms();
	CALL(semtimedop(id, &s, 1, &ts));
	rep("eintr_semtimedop", r, e, " handler_ran=%d quick=%d", got_signal == 1,
	    now_ms() - t0 < 3000);
	CALL(ctl(id, 0, GETNCNT));
	rep("eintr_semtimedop_getncnt", r, e, "%s", "");
	/* the set still works after an interrupted wait */
	CALL(op1(id, 0, 1, 0));
	rep("eintr_post", r, e, "%s", "");
	CALL(op1(id, 0, -1, IPC_NOWAIT));
	rep("eintr_take", r, e, "%s", "");
	signal(SIGALRM, SIG_DFL);
}

static int child_undo_exit(void *p)
{
	struct opargs *a = p;

	if (semop(a->id, a->sops, a->nsops) < 0)
		return errno;
	return 0;
}

static int child_undo_then_setval(void *p)
{
	struct opargs *a = p;

	if (semop(a->id, a->sops, a->nsops) < 0)
		return errno;
	if (setval(a->id, a->sops[0].sem_num, 5) < 0)
		return errno;
	return 0;
}

struct holdargs {
	struct opargs op;
	int pipefd;
};

static int child_undo_hold(void *p)
{
	struct holdargs *h = p;

	if (semop(h->op.id, h->op.sops, h->op.nsops) < 0)
		return errno;
	if (write(h->pipefd, "r", 1) != 1)
		return 251;
	for (;;)
		pause();
}

static int child_nothing(void *p)
{
	(void)p;
	return 0;
}

static void section_undo(int id)
{
	static const unsigned short zero[4] = { 0, 0, 0, 0 };
	struct opargs a;
	struct holdargs h;
	pid_t p;
	int r, e, pfd[2];
	char c;

	setall(id, zero);
	/* +1 with SEM_UNDO, then exit: back to 0 */
	a.id = id;
	a.nsops = 1;
	a.sops[0] = (struct sembuf){ 0, 1, SEM_UNDO };
	p = spawn(child_undo_exit, &a);
	printf("undo_exit_child: exit=%s\n", reap(p));
	CALL(ctl(id, 0, GETVAL));
	rep("undo_exit_getval", r, e, "%s", "");
	CALL(ctl(id, 0, GETPID));
	rep("undo_exit_getpid", r < 0 ? r : 0, e, " getpid_is_child=%d", r == p);

	/* -1 with SEM_UNDO, then exit: restored */
	setval(id, 1, 2);
	a.sops[0] = (struct sembuf){ 1, -1, SEM_UNDO };
	p = spawn(child_undo_exit, &a);
	printf("undo_exit_dec_child: exit=%s\n", reap(p));
	CALL(ctl(id, 1, GETVAL));
	rep("undo_exit_dec_getval", r, e, "%s", "");

	/* SETVAL clears the adjustments of that semaphore */
	a.sops[0] = (struct sembuf){ 2, 1, SEM_UNDO };
	p = spawn(child_undo_then_setval, &a);
	printf("undo_setval_child: exit=%s\n", reap(p));
	CALL(ctl(id, 2, GETVAL));
	rep("undo_setval_getval", r, e, "%s", "");

	/* undo is clamped at 0: +2 undo, someone else takes 2, exit */
	a.sops[0] = (struct sembuf){ 3, 2, SEM_UNDO };
	a.nsops = 1;
	if (pipe(pfd) == 0) {
		h.op = a;
		h.pipefd = pfd[1];
		p = spawn(child_undo_hold, &h);
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			problem("undo hold child did not get ready");
		close(pfd[0]);
		CALL(op1(id, 3, -2, IPC_NOWAIT));
		rep("undo_clamp_take", r, e, "%s", "");
		kill(p, SIGKILL);
		printf("undo_clamp_child: exit=%s\n", reap(p));
		CALL(ctl(id, 3, GETVAL));
		rep("undo_clamp_getval", r, e, "%s", "");
	}

	/* kill -9 while holding +3 with SEM_UNDO */
	setall(id, zero);
	a.sops[0] = (struct sembuf){ 0, 3, SEM_UNDO };
	if (pipe(pfd) == 0) {
		h.op = a;
		h.pipefd = pfd[1];
		p = spawn(child_undo_hold, &h);
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			problem("undo hold child did not get ready");
		close(pfd[0]);
		CALL(ctl(id, 0, GETVAL));
		rep("undo_kill_held_getval", r, e, "%s", "");
		kill(p, SIGKILL);
		printf("undo_kill_child: exit=%s\n", reap(p));
		/* Linux applies the undo before the parent's wait returns */
		CALL(ctl(id, 0, GETVAL));
		rep("undo_kill_getval_at_once", r, e, "%s", "");
		CALL(ctl(id, 0, GETPID));
		rep("undo_kill_getpid", r < 0 ? r : 0, e, " getpid_is_child=%d", r == p);
	}

	/* adjustments are not inherited by fork(2) and stay with the parent */
	setall(id, zero);
	CALL(op1(id, 1, 4, SEM_UNDO));
	rep("undo_parent_up", r, e, "%s", "");
	p = spawn(child_nothing, NULL);
	printf("undo_fork_child: exit=%s\n", reap(p));
	CALL(ctl(id, 1, GETVAL));
	rep("undo_fork_getval", r, e, "%s", "");
	/* SETALL clears every adjustment: our exit will not touch the set */
	setall(id, zero);
}

/* SEM_STAT/SEM_STAT_ANY take the kernel's index, the low 15 bits of the id
 * (dipcfs gives cluster sets the index of their id: fs/ipcindex.c). */
static int stat_index(int id)
{
	return id & 0x7fff;
}

static void section_info(int id)
{
	struct seminfo si;
	struct semid_ds ds;
	union semun u = { .__buf = &si };
	union semun ud = { .buf = &ds };
	int r, e;

	/* IPC_INFO and SEM_INFO ignore the id; pass ours so that the shim sends
	 * them where the set lives.  Usage counts differ by design (they are the
	 * answering node's), so only limits are printed. */
	memset(&si, 0, sizeof(si));
	CALL(semctl(id, 0, IPC_INFO, u));
	rep("ipc_info", r < 0 ? r : 0, e,
	    " semvmx=%d semaem=%d semmsl_ge_4=%d semopm_ge_4=%d semmni_ge_1=%d", si.semvmx,
	    si.semaem, si.semmsl >= 4, si.semopm >= 4, si.semmni >= 1);
	memset(&si, 0, sizeof(si));
	CALL(semctl(id, 0, SEM_INFO, u));
	rep("sem_info", r < 0 ? r : 0, e, " semvmx=%d semmsl_ge_4=%d", si.semvmx, si.semmsl >= 4);
	memset(&ds, 0, sizeof(ds));
	CALL(semctl(stat_index(id), 0, SEM_STAT, ud));
	rep("sem_stat", r < 0 ? r : 0, e, " ret_is_id=%d nsems=%lu mode=%o", r == id,
	    (unsigned long)ds.sem_nsems, (unsigned)ds.sem_perm.mode);
	memset(&ds, 0, sizeof(ds));
	CALL(semctl(stat_index(id), 0, SEM_STAT_ANY, ud));
	rep("sem_stat_any", r < 0 ? r : 0, e, " ret_is_id=%d nsems=%lu", r == id,
	    (unsigned long)ds.sem_nsems);
	CALL(semctl(id, 0, SEM_STAT, ud));
	rep("sem_stat_by_id", r < 0 ? r : 0, e, " ret_is_id=%d", r == id);
	/* What LTP does: *_INFO's result is the highest index in use, and a
	 * walk up to it finds the set (other sets of the machine may be
	 * anywhere in it, so only "found" and where). */
	{
		int maxidx, found = -1;

		memset(&si, 0, sizeof(si));
		CALL(semctl(0, 0, SEM_INFO, u));
		maxidx = r;
		for (int i = 0; i <= maxidx && found < 0; i++)
			if (semctl(i, 0, SEM_STAT_ANY, ud) == id)
				found = i;
		rep("index_walk", 0, 0, " found=%d is_low_bits=%d", found >= 0,
		    found == (id & 0x7fff));
	}
}


/* ---- more process-lifetime and size cases -------------------------------- */

static int child_undo_exec(void *p)
{
	struct opargs *a = p;

	if (semop(a->id, a->sops, a->nsops) < 0)
		return errno;
	/* the adjustment belongs to the process, not to the program image */
	execl("/bin/sh", "sh", "-c", "exit 0", (char *)NULL);
	return 252;
}

struct thread_args {
	int id;
	int r, e;
};

static void *thread_undo(void *p)
{
	struct thread_args *t = p;
	struct sembuf sb = { 0, 1, SEM_UNDO };

	t->r = semop(t->id, &sb, 1);
	t->e = t->r < 0 ? errno : 0;
	return NULL;
}

static void *thread_wait(void *p)
{
	struct thread_args *t = p;
	struct sembuf sb = { 1, -1, 0 };

	t->r = semop(t->id, &sb, 1);
	t->e = t->r < 0 ? errno : 0;
	return NULL;
}

/* A thread's SEM_UNDO stays with the process until the process exits; one
 * thread blocks while another posts. */
static int child_threads(void *p)
{
	int id = *(int *)p;
	struct thread_args t1 = { id, 0, 0 }, t2 = { id, 0, 0 };
	pthread_t th;
	int v;

	if (pthread_create(&th, NULL, thread_undo, &t1) || pthread_join(th, NULL))
		return 253;
	if (t1.r < 0)
		return t1.e;
	v = semctl(id, 0, GETVAL);
	printf("threads_undo_thread_exited: val=%d\n", v);
	if (pthread_create(&th, NULL, thread_wait, &t2))
		return 253;
	{
		int64_t end = now_ms() + POLL_MS;

		while (semctl(id, 1, GETNCNT) != 1 && now_ms() < end)
			sleep_ms(2);
	}
	printf("threads_blocked_ncnt: %d\n", semctl(id, 1, GETNCNT));
	if (op1(id, 1, 1, 0) < 0)
		return errno;
	pthread_join(th, NULL);
	printf("threads_woken: ret=%d errno=%s\n", t2.r, errname(t2.e));
	fflush(stdout);
	return 0;
}

/* semtimedop(-1, SEM_UNDO) times out, then +1 without undo, then exit:
 * nothing to undo, the value stays 1. */
static int child_timed_undo(void *p)
{
	int id = *(int *)p;
	struct sembuf sb = { 0, -1, SEM_UNDO };
	struct timespec ts = { 0, 50 * 1000000L };

	if (semtimedop(id, &sb, 1, &ts) == 0 || errno != EAGAIN)
		return 249;
	if (op1(id, 0, 1, 0) < 0)
		return errno;
	return 0;
}

static void section_lifetime(int id, key_t k3)
{
	static const unsigned short zero[4] = { 0, 0, 0, 0 };
	struct opargs a, b;
	struct sembuf *many;
	unsigned short *vals;
	union semun u;
	pid_t p;
	int r, e, i, big, ok;

	/* SEM_UNDO survives execve and is applied when the process exits */
	setall(id, zero);
	a.id = id;
	a.nsops = 1;
	a.sops[0] = (struct sembuf){ 0, 2, SEM_UNDO };
	p = spawn(child_undo_exec, &a);
	printf("undo_exec_child: exit=%s\n", reap(p));
	CALL(ctl(id, 0, GETVAL));
	rep("undo_exec_getval", r, e, "%s", "");

	/* threads share the process's adjustments */
	setall(id, zero);
	p = spawn(child_threads, &id);
	printf("threads_child: exit=%s\n", reap(p));
	CALL(ctl(id, 0, GETVAL));
	rep("threads_after_exit_getval", r, e, "%s", "");

	/* an adjustment is recorded when a parked SEM_UNDO op completes */
	setall(id, zero);
	p = spawn_op(&a, id, 0, -1, SEM_UNDO);
	wait_for(id, 0, GETNCNT, 1);
	CALL(op1(id, 0, 1, 0));
	rep("undo_parked_post", r, e, "%s", "");
	printf("undo_parked_child: exit=%s\n", reap(p));
	CALL(ctl(id, 0, GETVAL));
	rep("undo_parked_getval", r, e, "%s", "");

	/* ... but not for one that timed out */
	setall(id, zero);
	p = spawn(child_timed_undo, &id);
	printf("undo_timedout_child: exit=%s\n", reap(p));
	CALL(ctl(id, 0, GETVAL));
	rep("undo_timedout_getval", r, e, "%s", "");
	setall(id, zero);

	/* a waiter killed by SIGKILL leaves the queue with its process */
	p = spawn_op(&a, id, 2, -1, 0);
	wait_for(id, 2, GETNCNT, 1);
	kill(p, SIGKILL);
	printf("killed_waiter_child: exit=%s\n", reap(p));
	CALL(ctl(id, 2, GETNCNT));
	rep("killed_waiter_ncnt_at_once", r, e, "%s", "");
	CALL(op1(id, 2, 1, 0));
	rep("killed_waiter_post", r, e, "%s", "");
	CALL(ctl(id, 2, GETVAL));
	rep("killed_waiter_getval", r, e, "%s", "");
	setall(id, zero);

	/* two waiters released by one semop of +2 */
	p = spawn_op(&a, id, 3, -1, 0);
	{
		pid_t q = spawn_op(&b, id, 3, -1, 0);

		wait_for(id, 3, GETNCNT, 2);
		CALL(op1(id, 3, 2, 0));
		rep("two_waiters_post2", r, e, "%s", "");
		printf("two_waiters: exit=%s", reap(p));
		printf(",%s\n", reap(q));
	}

	/* many sembufs in one call, a large set, GETALL/SETALL of 8000 values */
	big = semget(k3, 8000, IPC_CREAT | IPC_EXCL | 0600 | F);
	rep_id("big_create", big, errno, "k3");
	if (big < 0)
		return;
	many = calloc(500, sizeof(*many));
	for (i = 0; i < 500; i++)
		many[i] = (struct sembuf){ (unsigned short)(i * 16), (short)(i % 7 + 1), 0 };
	CALL(semop(big, many, 500));
	rep("big_semop_500", r, e, "%s", "");
	many = realloc(many, 501 * sizeof(*many));
	many[500] = many[0];
	CALL(semop(big, many, 501));
	rep("big_semop_501", r, e, "%s", "");
	for (i = 0; i < 40; i++)
		many[i] = (struct sembuf){ (unsigned short)(7999 - i), 1, SEM_UNDO };
	CALL(semop(big, many, 40));
	rep("big_semop_40_undo", r, e, "%s", "");
	vals = calloc(8000, sizeof(*vals));
	u.array = vals;
	CALL(semctl(big, 0, GETALL, u));
	ok = r == 0;
	for (i = 0; i < 8000 && ok; i++) {
		int want = (i % 16 == 0 && i / 16 < 500 ? (i / 16) % 7 + 1 : 0) + (i >= 7960);

		ok = vals[i] == want;
	}
	rep("big_getall", r, e, " values_ok=%d", ok);
	for (i = 0; i < 8000; i++)
		vals[i] = (unsigned short)(i % 32768 ^ 0x55) % 30000;
	CALL(semctl(big, 0, SETALL, u));
	rep("big_setall", r, e, "%s", "");
	memset(vals, 0, 8000 * sizeof(*vals));
	CALL(semctl(big, 0, GETALL, u));
	ok = r == 0;
	for (i = 0; i < 8000 && ok; i++)
		ok = vals[i] == (unsigned short)(i % 32768 ^ 0x55) % 30000;
	rep("big_getall_after_setall", r, e, " values_ok=%d", ok);
	CALL(ctl(big, 7999, GETVAL));
	rep("big_getval_last", r, e, "%s", "");
	CALL(ctl(big, 8000, GETVAL));
	rep("big_getval_out", r, e, "%s", "");
	CALL(ctl(big, 0, IPC_RMID));
	rep("big_rmid", r, e, "%s", "");
	free(many);
	free(vals);
}

/* Run a list of calls as nobody in a child and print their results. */
static int child_perm(void *p)
{
	int id = *(int *)p;
	struct semid_ds ds;
	union semun u = { .buf = &ds };
	unsigned short v[4];
	union semun ua = { .array = v };
	key_t key = *((int *)p + 1);
	int mode = *((int *)p + 2);
	char step[64];
	int r, e;

	become_nobody();
#define STEP(name) (snprintf(step, sizeof(step), "perm%o_%s", mode, name), step)
	CALL(semget(key, 0, 0 | F));
	rep(STEP("semget_flag0"), r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(semget(key, 0, 0400 | F));
	rep(STEP("semget_0400"), r < 0 ? r : 0, e, "%s", "");
	CALL(semget(key, 0, 0600 | F));
	rep(STEP("semget_0600"), r < 0 ? r : 0, e, "%s", "");
	CALL(semget(key, 0, 0004 | F));
	rep(STEP("semget_0004"), r < 0 ? r : 0, e, "%s", "");
	CALL(semget(key, 0, 0006 | F));
	rep(STEP("semget_0006"), r < 0 ? r : 0, e, "%s", "");
	CALL(op1(id, 0, 0, IPC_NOWAIT));
	rep(STEP("semop_read"), r, e, "%s", "");
	CALL(op1(id, 0, 1, IPC_NOWAIT));
	rep(STEP("semop_alter"), r, e, "%s", "");
	CALL(op1(id, 9, 1, IPC_NOWAIT));
	rep(STEP("semop_efbig"), r, e, "%s", "");
	CALL(ctl(id, 0, GETVAL));
	rep(STEP("getval"), r, e, "%s", "");
	CALL(ctl(id, 0, GETNCNT));
	rep(STEP("getncnt"), r, e, "%s", "");
	CALL(semctl(id, 0, GETALL, ua));
	rep(STEP("getall"), r, e, "%s", "");
	CALL(semctl(id, 0, IPC_STAT, u));
	rep(STEP("ipc_stat"), r, e, "%s", "");
	CALL(semctl(stat_index(id), 0, SEM_STAT, u));
	rep(STEP("sem_stat"), r < 0 ? r : 0, e, " ret_is_id=%d", r == id);
	CALL(semctl(stat_index(id), 0, SEM_STAT_ANY, u));
	rep(STEP("sem_stat_any"), r < 0 ? r : 0, e, " ret_is_id=%d", r == id);
	CALL(setval(id, 0, 0));
	rep(STEP("setval"), r, e, "%s", "");
	v[0] = v[1] = v[2] = v[3] = 0;
	CALL(semctl(id, 0, SETALL, ua));
	rep(STEP("setall"), r, e, "%s", "");
	CALL(ipc_set(id, NOBODY, NOBODY, 0666));
	rep(STEP("ipc_set"), r, e, "%s", "");
	CALL(ctl(id, 0, IPC_RMID));
	rep(STEP("ipc_rmid"), r, e, "%s", "");
#undef STEP
	return 0;
}

static int child_owner(void *p)
{
	int id = *(int *)p;
	int r, e;

	become_nobody();
	CALL(ipc_set(id, NOBODY, NOBODY, 0660));
	rep("owner_nobody_ipc_set", r, e, "%s", "");
	CALL(op1(id, 0, 1, IPC_NOWAIT));
	rep("owner_nobody_semop", r, e, "%s", "");
	CALL(ctl(id, 0, GETVAL));
	rep("owner_nobody_getval", r, e, "%s", "");
	return 0;
}

static void section_perm(int id, key_t key)
{
	static const unsigned short zero[4] = { 0, 0, 0, 0 };
	static const int modes[] = { 0600, 0640, 0604, 0606, 0666 };
	int args[3] = { id, (int)key, 0 };
	unsigned i;
	pid_t p;
	int r, e;

	setall(id, zero);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char step[32];

		snprintf(step, sizeof(step), "ipc_set_%o", modes[i]);
		CALL(ipc_set(id, 0, 0, modes[i]));
		rep(step, r, e, "%s", "");
		args[2] = modes[i];
		p = spawn(child_perm, args);
		printf("perm%o_child: exit=%s\n", modes[i], reap(p));
		rep_stat(step, id, key);
	}
	CALL(ctl(id, 0, GETPID));
	rep("perm_getpid", r < 0 ? r : 0, e, " getpid_is_me=%d", r == getpid());
	rep_getall("perm_getall", id, 4);

	/* a set given to nobody: nobody is now its owner (not its creator) */
	CALL(ipc_set(id, NOBODY, NOBODY, 0600));
	rep("ipc_set_give_nobody", r, e, "%s", "");
	rep_stat("stat_given_nobody", id, key);
	p = spawn(child_owner, args);
	printf("owner_nobody_child: exit=%s\n", reap(p));
	rep_stat("stat_after_nobody_set", id, key);
	CALL(ipc_set(id, 0, 0, 0666));
	rep("ipc_set_back_root", r, e, "%s", "");
	rep_stat("stat_back_root", id, key);
	setall(id, zero);
}

int main(int argc, char **argv)
{
	bool precreated = false;
	key_t key;
	int opt, r, e, id;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "pn")) != -1) {
		switch (opt) {
		case 'p':
			precreated = true;
			break;
		case 'n':
			F = 0;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	key = parse_key(argv[optind]);
	if (key == IPC_PRIVATE)
		goto usage;
	if (geteuid() != 0) {
		fprintf(stderr, "semtest: must run as root\n");
		return 2;
	}
	remove_leftover(key + 1);
	remove_leftover(key + 2);
	remove_leftover(key + 3);
	if (!precreated)
		remove_leftover(key);

	section_get(key + 1);
	section_private();

	if (precreated)
		CALL(semget(key, 4, 0666 | F));
	else
		CALL(semget(key, 4, IPC_CREAT | IPC_EXCL | 0666 | F));
	rep_id("main", r, e, "main");
	id = r;
	if (id < 0)
		return 1;
	CALL(semget(key, 4, IPC_CREAT | IPC_EXCL | 0666 | F));
	rep("main_excl", r, e, "%s", "");

	section_ctl(id, key);
	section_semop(id, key);
	section_blocking(id, key + 2);
	section_eintr(id);
	section_undo(id);
	section_lifetime(id, key + 3);
	section_perm(id, key);
	section_info(id);

	CALL(ctl(id, 0, IPC_RMID));
	rep("main_rmid", r, e, "%s", "");
	CALL(stat_only(id));
	rep("main_stat_after_rmid", r, e, "%s", "");
	CALL(op1(id, 0, 1, 0));
	rep("main_semop_after_rmid", r, e, "%s", "");
	CALL(semget(key, 0, 0 | F));
	rep("main_semget_after_rmid", r, e, "%s", "");
	printf("done: harness_ok=%d\n", !harness_failed);
	return harness_failed;

usage:
	fprintf(stderr, "usage: semtest [-p] [-n] KEY\n");
	return 2;
}
