/* SPDX-License-Identifier: MIT */
/**
 * @file shmtest.c
 *
 * The shared-memory comparison program: walks every shmget/shmat/shmdt/
 * shmctl result and error path that one process (and a few forked children)
 * can reach deterministically, and prints one line per step:
 *
 *     step: ret=<r> errno=<NAME> [facts...]
 *
 * The output must be byte-identical when run natively (kernel segments) and
 * through dipcfs (LD_PRELOAD=libdipc.so DIPC_MOUNT=...), so it never prints
 * ids, addresses, pids or times, only normalised facts ("ret=id",
 * "lpid=me", "atime_recent=1").  Ids go to stderr as "# id NAME ID" so the
 * test suite can check which side served each segment.
 *
 * Besides the calls themselves it checks what a program does with attached
 * memory: two attaches of one segment in one process, fork (the child
 * inherits the attach), exec and exit (they detach), read(2) from a pipe
 * into a segment (and EFAULT into a read-only attach), the program's own
 * SIGSEGV handler (for an address outside any segment, and for a store into
 * a read-only attach), and several threads writing one segment.
 *
 * Usage:  shmtest [-p] [-n] KEY
 *   KEY   base key; shmtest uses KEY (the main segment, MAIN_SIZE bytes,
 *         mode 0666), KEY+1, KEY+2 and KEY+3.  Leftovers of an earlier run
 *         under KEY+1..3 are removed first (and reported on stderr).
 *   -p    the main segment KEY already exists (MAIN_SIZE bytes, mode 0666,
 *         all zero, created by someone else, e.g. on another node).
 *   -n    do not add IPC_DIPC to the shmget flags.  (IPC_DIPC is
 *         SHM_NORESERVE to the kernel, which only skips swap accounting, so
 *         a native run with the flag behaves as one without it.)
 *
 * Must run as root: the permission steps drop to nobody (65534) in children.
 * Exit status 0 when every step ran (whatever the results), 1 on a harness
 * problem.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs_common.h"

#define HARNESS_NAME "shmtest"
#define POLL_MS 5000 /* bound for every wait on another process */
#include "harness.h"

#define NOBODY 65534
#define MAIN_SIZE 20000 /* not a multiple of the page size, on purpose */
#define K1_SIZE 10000

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

static int F = IPC_DIPC; /* extra shmget flag */
static long PG;           /* page size */

#define CALL(expr) (errno = 0, r = (expr), e = (r < 0 ? errno : 0))
#define BAD ((void *)-1)

/* ---- small helpers ------------------------------------------------------- */

/* shmat as a step: "ret=0" on success (the address is not printed). */
static void *at(const char *step, int id, const void *addr, int flg, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void *at(const char *step, int id, const void *addr, int flg, const char *fmt, ...)
{
	void *p;
	int e;
	va_list ap;

	errno = 0;
	p = shmat(id, addr, flg);
	e = p == BAD ? errno : 0;
	printf("%s: ret=%d errno=%s", step, p == BAD ? -1 : 0, errname(e));
	if (p != BAD)
		printf(" page_aligned=%d", ((uintptr_t)p % (uintptr_t)PG) == 0);
	if (fmt && *fmt) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
	return p;
}

static int ctl(int id, int cmd)
{
	return shmctl(id, cmd, NULL);
}

static int stat_only(int id)
{
	struct shmid_ds ds;

	return shmctl(id, IPC_STAT, &ds);
}

static bool recent(time_t t)
{
	time_t now = time(NULL);

	return t > now - 120 && t < now + 120;
}

static pid_t the_child; /* "child" in pid facts */

static const char *who(pid_t p)
{
	if (p == 0)
		return "0";
	if (p == getpid())
		return "me";
	if (the_child && p == the_child)
		return "child";
	return "other";
}

static void rep_stat(const char *step, int id, key_t key)
{
	struct shmid_ds ds;
	int r, e;

	memset(&ds, 0xa5, sizeof(ds));
	CALL(shmctl(id, IPC_STAT, &ds));
	if (r < 0) {
		rep(step, r, e, "%s", "");
		return;
	}
	rep(step, r, e,
	    " segsz=%zu mode=%o uid=%u gid=%u cuid=%u cgid=%u key=%s nattch=%lu"
	    " cpid=%s lpid=%s atime=%s dtime=%s ctime_recent=%d",
	    ds.shm_segsz, (unsigned)ds.shm_perm.mode, (unsigned)ds.shm_perm.uid,
	    (unsigned)ds.shm_perm.gid, (unsigned)ds.shm_perm.cuid, (unsigned)ds.shm_perm.cgid,
	    ds.shm_perm.__key == key ? "same" : ds.shm_perm.__key == 0 ? "0" : "other",
	    (unsigned long)ds.shm_nattch, who(ds.shm_cpid), who(ds.shm_lpid),
	    ds.shm_atime == 0 ? "0" : recent(ds.shm_atime) ? "recent" : "old",
	    ds.shm_dtime == 0 ? "0" : recent(ds.shm_dtime) ? "recent" : "old",
	    recent(ds.shm_ctime));
}

static long nattch(int id)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	return (long)ds.shm_nattch;
}

static int ipc_set(int id, uid_t uid, gid_t gid, unsigned mode)
{
	struct shmid_ds ds;

	memset(&ds, 0, sizeof(ds));
	ds.shm_perm.uid = uid;
	ds.shm_perm.gid = gid;
	ds.shm_perm.mode = mode;
	return shmctl(id, IPC_SET, &ds);
}

static void become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY) || getuid() != NOBODY) {
		perror("drop privileges");
		_exit(250);
	}
}

/* Is every byte of p[0..n) equal to c? */
static bool all_eq(const volatile unsigned char *p, size_t n, unsigned char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != c)
			return false;
	return true;
}

static void remove_leftover(key_t key)
{
	int id = shmget(key, 0, F);

	if (id >= 0) {
		fprintf(stderr, "# removing leftover segment key 0x%x id %d\n", (unsigned)key, id);
		shmctl(id, IPC_RMID, NULL);
	}
}

/* SHM_STAT/SHM_STAT_ANY take the kernel's index, the low 15 bits of the id
 * (dipcfs gives cluster segments the index of their id: fs/ipcindex.c). */
static int stat_index(int id)
{
	return id & 0x7fff;
}

/* An address range nobody uses now: mapped and unmapped again. */
static void *free_range(size_t n)
{
	void *p = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		problem("mmap: %s", strerror(errno));
		return NULL;
	}
	munmap(p, n);
	return p;
}

/* ---- shmget -------------------------------------------------------------- */

static void section_get(key_t k1)
{
	int r, e, id, id2;

	CALL(shmget(k1, K1_SIZE, 0600 | F));
	rep("get_noent", r, e, "%s", "");
	CALL(shmget(k1, 0, 0600 | F));
	rep("get_noent_size0", r, e, "%s", "");
	CALL(shmget(k1, 0, IPC_CREAT | 0600 | F));
	rep("get_create_size0", r, e, "%s", "");
	CALL(shmget(k1, SIZE_MAX, IPC_CREAT | 0600 | F));
	rep("get_create_size_max", r, e, "%s", "");
	CALL(shmget(k1, K1_SIZE, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep_id("get_create", r, e, "k1");
	id = r;
	if (id < 0)
		return;
	CALL(shmget(k1, K1_SIZE, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep("get_excl", r, e, "%s", "");
	CALL(shmget(k1, K1_SIZE + 1, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep("get_excl_larger", r, e, "%s", "");
	CALL(shmget(k1, 0, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep("get_excl_size0", r, e, "%s", "");
	CALL(shmget(k1, K1_SIZE, 0 | F));
	rep("get_existing", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(shmget(k1, 0, 0 | F));
	rep("get_existing_size0", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(shmget(k1, 1, 0 | F));
	rep("get_existing_smaller", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(shmget(k1, K1_SIZE, IPC_CREAT | 0600 | F));
	rep("get_existing_creat", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(shmget(k1, K1_SIZE + 1, 0 | F));
	rep("get_existing_larger", r, e, "%s", "");
	/* the size is the asked size, not the pages it takes */
	CALL(shmget(k1, (size_t)PG * 3, 0 | F));
	rep("get_existing_rounded_up", r, e, "%s", "");
	CALL(shmget(k1, K1_SIZE + 1, IPC_CREAT | F));
	rep("get_existing_creat_larger", r, e, "%s", "");
	CALL(shmget(k1, SIZE_MAX, 0 | F));
	rep("get_existing_size_max", r, e, "%s", "");
	CALL(shmget(k1, K1_SIZE, 0640 | F));
	rep("get_existing_mode", r < 0 ? r : 0, e, " same_id=%d", r == id);
	rep_stat("get_stat", id, k1);
	CALL(ctl(id, IPC_RMID));
	rep("get_rmid", r, e, "%s", "");
	CALL(shmget(k1, K1_SIZE, 0 | F));
	rep("get_after_rmid", r, e, "%s", "");
	CALL(stat_only(id));
	rep("stale_stat", r, e, "%s", "");
	CALL(ctl(id, IPC_STAT));
	rep("stale_stat_null_buf", r, e, "%s", "");
	at("stale_shmat", id, NULL, 0, NULL);
	CALL(ctl(id, IPC_RMID));
	rep("stale_rmid", r, e, "%s", "");
	CALL(ctl(id, SHM_LOCK));
	rep("stale_lock", r, e, "%s", "");
	CALL(ipc_set(id, 0, 0, 0600));
	rep("stale_ipc_set", r, e, "%s", "");
	CALL(shmget(k1, K1_SIZE, IPC_CREAT | IPC_EXCL | 0600 | F));
	id2 = r;
	rep("get_recreate", r < 0 ? r : 0, e, " new_id_differs=%d", id2 != id);
	if (id2 >= 0) {
		fprintf(stderr, "# id k1b %d\n", id2);
		CALL(stat_only(id));
		rep("stale_after_recreate", r, e, "%s", "");
		rep_stat("recreate_stat", id2, k1);
		CALL(ctl(id2, IPC_RMID));
		rep("recreate_rmid", r, e, "%s", "");
	}
}

static void section_private(void)
{
	int r, e, a, b;
	struct shmid_ds ds;
	unsigned char *pa, *pb;

	CALL(shmget(IPC_PRIVATE, 5000, 0600 | F));
	rep_id("private_a", r, e, "private_a");
	a = r;
	CALL(shmget(IPC_PRIVATE, 5000, IPC_CREAT | IPC_EXCL | 0600 | F));
	rep_id("private_b", r, e, "private_b");
	b = r;
	printf("private_distinct: %d\n", a != b);
	CALL(shmget(IPC_PRIVATE, 0, 0600 | F));
	rep("private_size0", r, e, "%s", "");
	if (a >= 0 && b >= 0) {
		memset(&ds, 0xa5, sizeof(ds));
		CALL(shmctl(a, IPC_STAT, &ds));
		rep("private_stat", r, e, " key=%d segsz=%zu mode=%o", (int)ds.shm_perm.__key,
		    ds.shm_segsz, (unsigned)ds.shm_perm.mode);
		pa = at("private_at_a", a, NULL, 0, NULL);
		pb = at("private_at_b", b, NULL, 0, NULL);
		if (pa != BAD && pb != BAD) {
			memset(pa, 0x5a, 5000);
			printf("private_separate: a=%d b_zero=%d\n", all_eq(pa, 5000, 0x5a),
			       all_eq(pb, 5000, 0));
			CALL(shmdt(pa));
			rep("private_dt_a", r, e, "%s", "");
			CALL(shmdt(pb));
			rep("private_dt_b", r, e, "%s", "");
		}
	}
	CALL(ctl(a, IPC_RMID));
	rep("private_rmid_a", r, e, "%s", "");
	CALL(ctl(b, IPC_RMID));
	rep("private_rmid_b", r, e, "%s", "");
}

/* ---- shmat / shmdt ------------------------------------------------------- */

static void section_attach(int id, key_t key)
{
	size_t span = ((MAIN_SIZE + PG - 1) / PG) * PG;
	unsigned char *p, *q, *ro, *fix, *want;
	int r, e;

	rep_stat("at_stat_before", id, key);
	p = at("at_first", id, NULL, 0, NULL);
	if (p == BAD)
		return;
	printf("at_initially_zero: %d\n", all_eq(p, MAIN_SIZE, 0));
	/* the tail of the last page belongs to the mapping and reads zero */
	printf("at_tail_zero: %d\n", all_eq(p + MAIN_SIZE, span - MAIN_SIZE, 0));
	rep_stat("at_stat_one", id, key);
	memcpy(p, "hello, segment", 15);
	p[MAIN_SIZE - 1] = 0x77;
	q = at("at_second", id, NULL, 0, NULL);
	if (q != BAD) {
		printf("at_second_differs: %d\n", q != p);
		printf("at_second_sees: %d %d\n", memcmp(q, "hello, segment", 15) == 0,
		       q[MAIN_SIZE - 1] == 0x77);
		q[100] = 42;
		printf("at_first_sees: %d\n", p[100] == 42);
		rep_stat("at_stat_two", id, key);
	}
	ro = at("at_rdonly", id, NULL, SHM_RDONLY, NULL);
	if (ro != BAD) {
		printf("at_rdonly_sees: %d %d\n", memcmp(ro, "hello, segment", 15) == 0, ro[100] == 42);
		p[200] = 9;
		printf("at_rdonly_sees_later: %d\n", ro[200] == 9);
	}
	rep_stat("at_stat_three", id, key);

	/* explicit addresses */
	want = free_range(span + 2 * PG);
	if (want) {
		want += PG; /* not at the start of what was free */
		fix = at("at_fixed", id, want, 0, NULL);
		printf("at_fixed_where: %d\n", fix == want);
		if (fix != BAD) {
			printf("at_fixed_sees: %d\n", fix[100] == 42);
			CALL(shmdt(fix));
			rep("dt_fixed", r, e, "%s", "");
		}
		fix = at("at_misaligned", id, want + 1, 0, NULL);
		if (fix != BAD)
			shmdt(fix);
		fix = at("at_misaligned_rnd", id, want + 1, SHM_RND, NULL);
		printf("at_misaligned_rnd_where: %d\n", fix == want);
		if (fix != BAD) {
			/* over an existing mapping: EINVAL without SHM_REMAP */
			unsigned char *over = at("at_overlap", id, want, 0, NULL);

			if (over != BAD)
				shmdt(over);
			over = at("at_overlap_remap", id, want, SHM_REMAP, NULL);
			printf("at_overlap_remap_where: %d\n", over == want);
			CALL(shmdt(want));
			rep("dt_remapped", r, e, "%s", "");
			if (over != BAD && over != want)
				shmdt(over);
		}
		fix = at("at_remap_null", id, NULL, SHM_REMAP, NULL);
		if (fix != BAD)
			shmdt(fix);
		fix = at("at_low_rnd_remap", id, (void *)(uintptr_t)1, SHM_RND | SHM_REMAP, NULL);
		if (fix != BAD)
			shmdt(fix);
	}
	at("at_neg_id", -1, NULL, 0, NULL);
	at("at_bad_id", 0x7ffffff0, NULL, 0, NULL);

	/* shmdt of what is not an attach */
	CALL(shmdt(p + 1));
	rep("dt_misaligned", r, e, "%s", "");
	CALL(shmdt(p + PG));
	rep("dt_inside", r, e, "%s", "");
	CALL(shmdt(NULL));
	rep("dt_null", r, e, "%s", "");
	{
		void *anon = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);

		CALL(shmdt(anon));
		rep("dt_anon_mapping", r, e, "%s", "");
		munmap(anon, PG);
	}
	rep_stat("dt_stat_still_three", id, key);
	if (ro != BAD) {
		CALL(shmdt(ro));
		rep("dt_rdonly", r, e, "%s", "");
	}
	if (q != BAD) {
		CALL(shmdt(q));
		rep("dt_second", r, e, "%s", "");
		CALL(shmdt(q));
		rep("dt_second_again", r, e, "%s", "");
	}
	rep_stat("dt_stat_one", id, key);
	CALL(shmdt(p));
	rep("dt_first", r, e, "%s", "");
	rep_stat("dt_stat_none", id, key);
	/* the data outlives the attaches */
	p = at("at_again", id, NULL, 0, NULL);
	if (p != BAD) {
		printf("at_again_sees: %d %d %d\n", memcmp(p, "hello, segment", 15) == 0,
		       p[100] == 42, p[MAIN_SIZE - 1] == 0x77);
		memset(p, 0, MAIN_SIZE);
		shmdt(p);
	}
}

/* ---- fork, exec, exit ---------------------------------------------------- */

struct forkargs {
	int id;
	unsigned char *p;
};

static int child_forked(void *arg)
{
	struct forkargs *a = arg;
	struct shmid_ds ds;

	if (shmctl(a->id, IPC_STAT, &ds) < 0)
		return errno;
	printf("fork_child_nattch: %lu\n", (unsigned long)ds.shm_nattch);
	printf("fork_child_sees: %d\n", a->p[0] == 0x11);
	a->p[1] = 0x22;
	/* a child's store is seen by the parent: one segment, not a copy */
	return 0;
}

static int child_detach_then_exit(void *arg)
{
	struct forkargs *a = arg;

	if (shmdt(a->p) < 0)
		return errno;
	printf("fork_child_dt_nattch: %ld\n", nattch(a->id));
	return 0;
}

static int child_attach_exit(void *arg)
{
	struct forkargs *a = arg;
	unsigned char *p = shmat(a->id, NULL, 0);

	if (p == BAD)
		return errno;
	p[2] = 0x33;
	printf("attach_exit_child_nattch: %ld\n", nattch(a->id));
	return 0; /* exit detaches */
}

static void section_fork(int id, key_t key)
{
	struct forkargs a = { id, NULL };
	int pfd[2], r, e;
	unsigned char *p;
	char c;
	pid_t pid;

	p = at("fork_at", id, NULL, 0, NULL);
	if (p == BAD)
		return;
	a.p = p;
	p[0] = 0x11;
	the_child = spawn(child_forked, &a);
	printf("fork_child: exit=%s\n", reap(the_child));
	printf("fork_parent_sees_child_store: %d\n", p[1] == 0x22);
	rep_stat("fork_stat_after_exit", id, key);

	the_child = spawn(child_detach_then_exit, &a);
	printf("fork_dt_child: exit=%s\n", reap(the_child));
	rep_stat("fork_dt_stat", id, key);

	the_child = spawn(child_attach_exit, &a);
	printf("attach_exit_child: exit=%s\n", reap(the_child));
	printf("attach_exit_store_seen: %d\n", p[2] == 0x33);
	rep_stat("attach_exit_stat", id, key);

	/* killed with SIGKILL while attached: detached all the same */
	if (pipe(pfd) == 0) {
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			p[3] = 0x44;
			if (write(pfd[1], "r", 1) != 1)
				_exit(251);
			for (;;)
				pause();
		}
		the_child = pid;
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			problem("fork/kill child did not get ready");
		close(pfd[0]);
		printf("kill_child_nattch_while_alive: %ld\n", nattch(id));
		kill(pid, SIGKILL);
		printf("kill_child: exit=%s\n", reap(pid));
		printf("kill_child_store_seen: %d\n", p[3] == 0x44);
		rep_stat("kill_child_stat", id, key);
	}

	/* exec detaches: the child is still running, but not attached.  The
	 * close-on-exec pipe tells us the exec happened (its old memory is gone
	 * by then). */
	if (pipe2(pfd, O_CLOEXEC) == 0) {
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			p[4] = 0x55;
			execl("/bin/sleep", "sleep", "30", (char *)NULL);
			_exit(252);
		}
		the_child = pid;
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 0)
			problem("exec child wrote to the cloexec pipe");
		close(pfd[0]);
		rep_stat("exec_stat_child_running", id, key);
		printf("exec_store_seen: %d\n", p[4] == 0x55);
		kill(pid, SIGKILL);
		printf("exec_child: exit=%s\n", reap(pid));
		rep_stat("exec_stat_after_exit", id, key);
	}
	the_child = 0;
	memset(p, 0, 16);
	CALL(shmdt(p));
	rep("fork_dt", r, e, "%s", "");
	rep_stat("fork_stat_end", id, key);
}

/* ---- IPC_RMID while attached --------------------------------------------- */

static int child_rmid_attached(void *arg)
{
	struct forkargs *a = arg;

	/* inherited attach of a segment marked for destruction */
	printf("rmid_child_sees: %d nattch=%ld\n", a->p[0] == 0x66, nattch(a->id));
	a->p[1] = 0x67;
	return 0;
}

static void section_rmid(key_t k2)
{
	struct forkargs a;
	unsigned char *p, *p2;
	int r, e, id, id2;

	CALL(shmget(k2, 3 * PG, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep_id("rmid_create", r, e, "k2");
	id = r;
	if (id < 0)
		return;
	p = at("rmid_at", id, NULL, 0, NULL);
	if (p == BAD)
		return;
	p[0] = 0x66;
	CALL(ctl(id, IPC_RMID));
	rep("rmid_attached", r, e, "%s", "");
	rep_stat("rmid_stat_dest", id, k2);
	printf("rmid_still_usable: %d\n", p[0] == 0x66);
	p[PG] = 0x68;
	CALL(shmget(k2, 0, 0 | F));
	rep("rmid_key_gone", r, e, "%s", "");
	CALL(ctl(id, IPC_RMID));
	rep("rmid_again", r, e, "%s", "");
	CALL(ipc_set(id, 0, 0, 0600));
	rep("rmid_ipc_set", r, e, "%s", "");
	rep_stat("rmid_stat_after_set", id, k2);
	/* Linux lets a process attach a segment marked for destruction */
	p2 = at("rmid_at_dest", id, NULL, 0, NULL);
	if (p2 != BAD)
		printf("rmid_at_dest_sees: %d\n", p2[0] == 0x66 && p2[PG] == 0x68);
	rep_stat("rmid_stat_two", id, k2);
	a.id = id;
	a.p = p;
	the_child = spawn(child_rmid_attached, &a);
	printf("rmid_child: exit=%s\n", reap(the_child));
	the_child = 0;
	printf("rmid_child_store_seen: %d\n", p[1] == 0x67);
	/* the key is free for a new segment meanwhile */
	CALL(shmget(k2, PG, IPC_CREAT | IPC_EXCL | 0600 | F));
	id2 = r;
	rep("rmid_key_reused", r < 0 ? r : 0, e, " new_id_differs=%d", id2 != id);
	if (id2 >= 0) {
		fprintf(stderr, "# id k2b %d\n", id2);
		{
			unsigned char *n = shmat(id2, NULL, 0);

			printf("rmid_new_segment_zero: %d\n", n != BAD && all_eq(n, PG, 0));
			if (n != BAD)
				shmdt(n);
		}
		CALL(ctl(id2, IPC_RMID));
		rep("rmid_new_rmid", r, e, "%s", "");
	}
	if (p2 != BAD) {
		CALL(shmdt(p2));
		rep("rmid_dt_one", r, e, "%s", "");
	}
	rep_stat("rmid_stat_one_left", id, k2);
	CALL(shmdt(p));
	rep("rmid_dt_last", r, e, "%s", "");
	CALL(stat_only(id));
	rep("rmid_destroyed_stat", r, e, "%s", "");
	at("rmid_destroyed_at", id, NULL, 0, NULL);
	CALL(ctl(id, IPC_RMID));
	rep("rmid_destroyed_rmid", r, e, "%s", "");
}

/* ---- shmctl -------------------------------------------------------------- */

static void section_ctl(int id, key_t key)
{
	struct shmid_ds ds;
	int r, e;

	rep_stat("ctl_stat", id, key);
	CALL(ctl(id, IPC_STAT));
	rep("ctl_stat_null_buf", r, e, "%s", "");
	CALL(shmctl(id, 9999, &ds));
	rep("ctl_bad_cmd", r, e, "%s", "");
	CALL(shmctl(-1, IPC_STAT, &ds));
	rep("ctl_neg_id", r, e, "%s", "");
	CALL(ctl(id, IPC_SET));
	rep("ctl_set_null_buf", r, e, "%s", "");
	CALL(ipc_set(id, 1, 2, 0640));
	rep("ctl_set", r, e, "%s", "");
	rep_stat("ctl_set_stat", id, key);
	/* only the permission bits are taken from the buffer */
	CALL(ipc_set(id, 0, 0, 07777));
	rep("ctl_set_high_bits", r, e, "%s", "");
	rep_stat("ctl_set_high_bits_stat", id, key);
	CALL(ipc_set(id, 0, 0, 0666));
	rep("ctl_set_back", r, e, "%s", "");
	/* segsz and the times in the buffer are ignored */
	memset(&ds, 0, sizeof(ds));
	ds.shm_perm.mode = 0666;
	ds.shm_segsz = 1;
	ds.shm_nattch = 77;
	CALL(shmctl(id, IPC_SET, &ds));
	rep("ctl_set_segsz_ignored", r, e, "%s", "");
	rep_stat("ctl_set_segsz_stat", id, key);

	CALL(ctl(id, SHM_LOCK));
	rep("ctl_lock", r, e, "%s", "");
	rep_stat("ctl_lock_stat", id, key);
	CALL(ctl(id, SHM_LOCK));
	rep("ctl_lock_again", r, e, "%s", "");
	CALL(ctl(id, SHM_UNLOCK));
	rep("ctl_unlock", r, e, "%s", "");
	rep_stat("ctl_unlock_stat", id, key);
	CALL(ctl(id, SHM_UNLOCK));
	rep("ctl_unlock_again", r, e, "%s", "");
}

static void section_info(int id)
{
	struct shminfo si;
	struct shm_info sinfo;
	struct shmid_ds ds;
	int r, e;

	/* IPC_INFO and SHM_INFO ignore the id; ours makes the shim take the
	 * structure from where the segment lives.  SHM_INFO's totals are that
	 * side's, and the result (the highest index) depends on every segment
	 * of the machine, so only limits and signs are printed. */
	memset(&si, 0, sizeof(si));
	CALL(shmctl(id, IPC_INFO, (struct shmid_ds *)&si));
	rep("ipc_info", r < 0 ? r : 0, e, " shmmax=%lu shmmin=%lu shmmni=%lu shmseg=%lu shmall=%lu",
	    si.shmmax, si.shmmin, si.shmmni, si.shmseg, si.shmall);
	memset(&sinfo, 0, sizeof(sinfo));
	CALL(shmctl(id, SHM_INFO, (struct shmid_ds *)&sinfo));
	rep("shm_info", r < 0 ? r : 0, e, " ret_ge_0=%d", r >= 0);
	memset(&ds, 0, sizeof(ds));
	CALL(shmctl(stat_index(id), SHM_STAT, &ds));
	rep("shm_stat", r < 0 ? r : 0, e, " ret_is_id=%d segsz=%zu mode=%o", r == id,
	    ds.shm_segsz, (unsigned)ds.shm_perm.mode);
	memset(&ds, 0, sizeof(ds));
	CALL(shmctl(stat_index(id), SHM_STAT_ANY, &ds));
	rep("shm_stat_any", r < 0 ? r : 0, e, " ret_is_id=%d segsz=%zu", r == id, ds.shm_segsz);
	CALL(shmctl(stat_index(id), SHM_STAT, NULL));
	rep("shm_stat_null_buf", r, e, "%s", "");
	CALL(shmctl(id, SHM_STAT, &ds));
	rep("shm_stat_by_id", r < 0 ? r : 0, e, " ret_is_id=%d", r == id);
	/* What LTP does: *_INFO's result is the highest index in use, and a
	 * walk up to it finds the segment (other segments of the machine may
	 * be anywhere in it, so only "found" and where). */
	{
		int maxidx, found = -1;

		CALL(shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo));
		maxidx = r;
		for (int i = 0; i <= maxidx && found < 0; i++)
			if (shmctl(i, SHM_STAT_ANY, &ds) == id)
				found = i;
		rep("index_walk", 0, 0, " found=%d is_low_bits=%d", found >= 0,
		    found == (id & 0x7fff));
		CALL(shmctl(0, IPC_INFO, (struct shmid_ds *)&si));
		rep("ipc_info_covers_index", 0, 0, " ge_index=%d", r >= (id & 0x7fff));
	}
}

/* ---- permissions as nobody ----------------------------------------------- */

struct permargs {
	int id;
	key_t key;
	int mode;
};

static int child_perm(void *arg)
{
	struct permargs *a = arg;
	struct shmid_ds ds;
	char step[64];
	unsigned char *p;
	int r, e, id = a->id;

	become_nobody();
#define STEP(name) (snprintf(step, sizeof(step), "perm%o_%s", a->mode, name), step)
	CALL(shmget(a->key, 0, 0 | F));
	rep(STEP("get_flag0"), r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(shmget(a->key, 0, 0400 | F));
	rep(STEP("get_0400"), r < 0 ? r : 0, e, "%s", "");
	CALL(shmget(a->key, 0, 0600 | F));
	rep(STEP("get_0600"), r < 0 ? r : 0, e, "%s", "");
	CALL(shmget(a->key, 0, 0004 | F));
	rep(STEP("get_0004"), r < 0 ? r : 0, e, "%s", "");
	CALL(shmget(a->key, 0, 0006 | F));
	rep(STEP("get_0006"), r < 0 ? r : 0, e, "%s", "");
	/* the size is checked before the permissions */
	CALL(shmget(a->key, MAIN_SIZE + 1, 0666 | F));
	rep(STEP("get_larger_0666"), r, e, "%s", "");
	CALL(shmget(a->key, MAIN_SIZE, IPC_CREAT | IPC_EXCL | 0666 | F));
	rep(STEP("get_excl"), r, e, "%s", "");
	p = at(STEP("at_rw"), id, NULL, 0, NULL);
	if (p != BAD) {
		p[a->mode & 0777] = (unsigned char)a->mode;
		printf("%s: %d\n", STEP("at_rw_store"), p[a->mode & 0777] == (unsigned char)a->mode);
		CALL(shmdt(p));
		rep(STEP("dt_rw"), r, e, "%s", "");
	}
	p = at(STEP("at_rdonly"), id, NULL, SHM_RDONLY, NULL);
	if (p != BAD) {
		printf("%s: %d\n", STEP("at_rdonly_load"), p[0] == 0);
		CALL(shmdt(p));
		rep(STEP("dt_rdonly"), r, e, "%s", "");
	}
	CALL(shmctl(id, IPC_STAT, &ds));
	rep(STEP("ipc_stat"), r, e, "%s", "");
	CALL(shmctl(stat_index(id), SHM_STAT, &ds));
	rep(STEP("shm_stat"), r < 0 ? r : 0, e, " ret_is_id=%d", r == id);
	CALL(shmctl(stat_index(id), SHM_STAT_ANY, &ds));
	rep(STEP("shm_stat_any"), r < 0 ? r : 0, e, " ret_is_id=%d", r == id);
	CALL(ipc_set(id, NOBODY, NOBODY, 0666));
	rep(STEP("ipc_set"), r, e, "%s", "");
	CALL(ctl(id, SHM_LOCK));
	rep(STEP("lock"), r, e, "%s", "");
	CALL(ctl(id, SHM_UNLOCK));
	rep(STEP("unlock"), r, e, "%s", "");
	CALL(ctl(id, IPC_RMID));
	rep(STEP("rmid"), r, e, "%s", "");
#undef STEP
	return 0;
}

static int child_owner(void *arg)
{
	struct permargs *a = arg;
	unsigned char *p;
	int r, e;

	become_nobody();
	CALL(ipc_set(a->id, NOBODY, NOBODY, 0640));
	rep("owner_nobody_ipc_set", r, e, "%s", "");
	p = at("owner_nobody_at", a->id, NULL, 0, NULL);
	if (p != BAD) {
		p[7] = 7;
		shmdt(p);
	}
	CALL(ctl(a->id, SHM_UNLOCK));
	rep("owner_nobody_unlock", r, e, "%s", "");
	return 0;
}

static void section_perm(int id, key_t key)
{
	static const int modes[] = { 0600, 0640, 0604, 0606, 0666, 0444 };
	struct permargs a = { id, key, 0 };
	unsigned char *p;
	unsigned i;
	pid_t pid;
	int r, e;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char step[32];

		snprintf(step, sizeof(step), "ipc_set_%o", modes[i]);
		CALL(ipc_set(id, 0, 0, modes[i]));
		rep(step, r, e, "%s", "");
		a.mode = modes[i];
		the_child = pid = spawn(child_perm, &a);
		printf("perm%o_child: exit=%s\n", modes[i], reap(pid));
		rep_stat(step, id, key);
	}
	p = shmat(id, NULL, SHM_RDONLY);
	if (p != BAD) {
		printf("perm_stores: 0606=%d 0666=%d\n", p[0606] == (unsigned char)0606,
		       p[0666] == (unsigned char)0666);
		shmdt(p);
	}

	/* a segment given to nobody: nobody is now its owner (not its creator) */
	CALL(ipc_set(id, NOBODY, NOBODY, 0600));
	rep("ipc_set_give_nobody", r, e, "%s", "");
	rep_stat("stat_given_nobody", id, key);
	the_child = pid = spawn(child_owner, &a);
	printf("owner_nobody_child: exit=%s\n", reap(pid));
	rep_stat("stat_after_nobody_set", id, key);
	CALL(ipc_set(id, 0, 0, 0666));
	rep("ipc_set_back_root", r, e, "%s", "");
	p = shmat(id, NULL, 0);
	if (p != BAD) {
		printf("owner_nobody_store: %d\n", p[7] == 7);
		memset(p, 0, MAIN_SIZE);
		shmdt(p);
	}
}

/* ---- what a program does with the memory --------------------------------- */

static sigjmp_buf jb;
static volatile sig_atomic_t segv_count;
static void *volatile segv_addr;
static volatile int segv_code;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	segv_count++;
	segv_addr = si->si_addr;
	segv_code = si->si_code;
	siglongjmp(jb, 1);
}

static const char *segv_code_name(int c)
{
	return c == SEGV_ACCERR ? "SEGV_ACCERR" : c == SEGV_MAPERR ? "SEGV_MAPERR" : "other";
}

/* Store into a read-only attach without a handler: the child dies of SIGSEGV. */
static int child_store_rdonly(void *arg)
{
	volatile unsigned char *ro = arg;

	ro[5] = 1;
	return 0;
}

struct thr {
	unsigned char *p;
	int n;
	int iters;
};

static void *thread_writer(void *arg)
{
	struct thr *t = arg;
	volatile uint32_t *own = (volatile uint32_t *)(t->p + (size_t)t->n * PG + 64);
	uint32_t *shared = (uint32_t *)t->p + 1;
	int i;

	for (i = 0; i < t->iters; i++) {
		(*own)++;
		__atomic_fetch_add(shared, 1, __ATOMIC_SEQ_CST);
		t->p[(size_t)t->n * PG + 128 + (i % 64)] = (unsigned char)i;
	}
	return NULL;
}

static void section_memory(int id, key_t key)
{
	struct sigaction sa, old;
	unsigned char *p, *ro, *none;
	int pfd[2], r, e, i;
	char buf[256];
	pid_t pid;

	p = at("mem_at", id, NULL, 0, NULL);
	ro = at("mem_at_rdonly", id, NULL, SHM_RDONLY, NULL);
	if (p == BAD || ro == BAD)
		return;

	/* read(2) from a pipe straight into a segment, write(2) out of one */
	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 1);
	if (pipe(pfd) == 0) {
		if (write(pfd[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			problem("pipe write");
		/* across a page boundary */
		CALL(read(pfd[0], p + PG - 100, sizeof(buf)));
		rep("mem_read_into", r, e, " data_ok=%d rdonly_view_ok=%d",
		    memcmp(p + PG - 100, buf, sizeof(buf)) == 0,
		    memcmp(ro + PG - 100, buf, sizeof(buf)) == 0);
		CALL(write(pfd[1], ro + PG - 100, sizeof(buf)));
		rep("mem_write_from_rdonly", r, e, "%s", "");
		memset(buf, 0, sizeof(buf));
		CALL(read(pfd[0], buf, sizeof(buf)));
		rep("mem_roundtrip", r, e, " data_ok=%d", memcmp(p + PG - 100, buf, sizeof(buf)) == 0);
		/* into a read-only attach: EFAULT, nothing consumed */
		if (write(pfd[1], "xyz", 3) != 3)
			problem("pipe write");
		CALL(read(pfd[0], ro + 2 * PG, 3));
		rep("mem_read_into_rdonly", r, e, "%s", "");
		CALL(read(pfd[0], buf, 3));
		rep("mem_read_after_efault", r, e, " data_ok=%d", memcmp(buf, "xyz", 3) == 0);
		close(pfd[0]);
		close(pfd[1]);
	}

	/* a store into a read-only attach kills a program without a handler */
	the_child = pid = spawn(child_store_rdonly, ro);
	printf("mem_store_rdonly_child: exit=%s\n", reap(pid));
	printf("mem_store_rdonly_no_effect: %d\n", p[5] == 0);

	/* the program's own SIGSEGV handler */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	CALL(sigaction(SIGSEGV, &sa, &old));
	rep("mem_sigaction", r, e, "%s", "");
	none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (none != MAP_FAILED) {
		segv_count = 0;
		if (sigsetjmp(jb, 1) == 0) {
			*(volatile unsigned char *)(none + 10) = 1;
			printf("mem_segv_outside: no signal\n");
		} else {
			printf("mem_segv_outside: handled=%d addr_ok=%d code=%s\n", segv_count,
			       segv_addr == none + 10, segv_code_name(segv_code));
		}
		/* the handler stays installed and works a second time */
		segv_count = 0;
		if (sigsetjmp(jb, 1) == 0) {
			(void)*(volatile unsigned char *)(none + 20);
			printf("mem_segv_outside_again: no signal\n");
		} else {
			printf("mem_segv_outside_again: handled=%d addr_ok=%d code=%s\n", segv_count,
			       segv_addr == none + 20, segv_code_name(segv_code));
		}
		munmap(none, PG);
	}
	/* a store into a read-only attach reaches the program's handler */
	segv_count = 0;
	if (sigsetjmp(jb, 1) == 0) {
		*(volatile unsigned char *)(ro + 3 * PG + 3) = 1;
		printf("mem_segv_rdonly: no signal\n");
	} else {
		printf("mem_segv_rdonly: handled=%d addr_ok=%d code=%s\n", segv_count,
		       segv_addr == ro + 3 * PG + 3, segv_code_name(segv_code));
	}
	printf("mem_segv_rdonly_no_effect: %d\n", p[3 * PG + 3] == 0);
	/* stores into the writable attach do not reach it */
	segv_count = 0;
	for (i = 0; i < MAIN_SIZE; i += 512)
		p[i] = (unsigned char)(i / 512);
	printf("mem_stores_no_handler: %d\n", segv_count);
	CALL(sigaction(SIGSEGV, &old, NULL));
	rep("mem_sigaction_restore", r, e, "%s", "");
	memset(p, 0, MAIN_SIZE);

	/* several threads store into one segment at once */
	{
		enum { NT = 4, ITERS = 200000 };
		struct thr t[NT];
		pthread_t th[NT];
		int ok = 1, n;

		for (n = 0; n < NT; n++) {
			t[n] = (struct thr){ p, n, ITERS };
			if (pthread_create(&th[n], NULL, thread_writer, &t[n]))
				problem("pthread_create");
		}
		for (n = 0; n < NT; n++)
			pthread_join(th[n], NULL);
		for (n = 0; n < NT; n++)
			ok &= *(uint32_t *)(p + (size_t)n * PG + 64) == ITERS;
		printf("mem_threads: own_ok=%d shared=%u rdonly_view_ok=%d\n", ok,
		       ((uint32_t *)p)[1], ((uint32_t *)ro)[1] == (uint32_t)NT * ITERS);
	}
	memset(p, 0, MAIN_SIZE);
	rep_stat("mem_stat", id, key);
	CALL(shmdt(ro));
	rep("mem_dt_rdonly", r, e, "%s", "");
	CALL(shmdt(p));
	rep("mem_dt", r, e, "%s", "");
}

int main(int argc, char **argv)
{
	bool precreated = false;
	key_t key;
	int opt, r, e, id;

	setvbuf(stdout, NULL, _IOLBF, 0);
	PG = sysconf(_SC_PAGESIZE);
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
		fprintf(stderr, "shmtest: must run as root\n");
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
		CALL(shmget(key, MAIN_SIZE, 0666 | F));
	else
		CALL(shmget(key, MAIN_SIZE, IPC_CREAT | IPC_EXCL | 0666 | F));
	rep_id("main", r, e, "main");
	id = r;
	if (id < 0)
		return 1;
	CALL(shmget(key, MAIN_SIZE, IPC_CREAT | IPC_EXCL | 0666 | F));
	rep("main_excl", r, e, "%s", "");
	section_attach(id, key);
	section_fork(id, key);
	section_rmid(key + 2);
	section_ctl(id, key);
	section_memory(id, key);
	section_perm(id, key);
	section_info(id);

	CALL(ctl(id, IPC_RMID));
	rep("main_rmid", r, e, "%s", "");
	CALL(stat_only(id));
	rep("main_stat_after_rmid", r, e, "%s", "");
	at("main_at_after_rmid", id, NULL, 0, NULL);
	CALL(shmget(key, 0, 0 | F));
	rep("main_get_after_rmid", r, e, "%s", "");
	printf("done: harness_ok=%d\n", !harness_failed);
	return harness_failed;

usage:
	fprintf(stderr, "usage: shmtest [-p] [-n] KEY\n");
	return 2;
}
