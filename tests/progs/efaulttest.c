/* SPDX-License-Identifier: MIT */
/**
 * @file efaulttest.c
 *
 * The comparison program for bad pointers: every semop, semtimedop, semctl
 * and shmctl argument the kernel copies from or to the program, given a
 * pointer that cannot be read or written, must fail with EFAULT (in the
 * kernel's order against the other checks) and change nothing -- never
 * crash (LTP semop02; its crash also leaked two sets and failed semop03).
 *
 *     step: ret=<r> errno=<NAME> [facts...]
 *
 * Bad pointers of three kinds: (void *)-1 (outside the address space), a
 * PROT_NONE guard page, and a buffer whose head is readable and whose tail
 * runs into the guard page (no part of the call may take effect).  Buffers
 * inside a SysV segment must work as any memory does: the sops and the
 * GETALL array are then placed in an attached segment (distributed through
 * dipcfs), and a GETALL into a SHM_RDONLY attach is EFAULT.
 *
 * Output byte-identical natively and through dipcfs; ids go to stderr as
 * "# id NAME ID".  Everything it creates is removed at the end, so a run
 * leaves no set and no segment behind.
 *
 * Usage:  efaulttest [-n] [-m] [-s] KEY
 *   KEY  base key; uses KEY (set), KEY+1 (segment), KEY+2 (queue, with -m).
 *   -n   do not add IPC_DIPC to the get flags.
 *   -m   also msgsnd/msgrcv/msgctl with bad pointers.
 *   -s   first install a seccomp filter that refuses process_vm_readv and
 *        process_vm_writev (EPERM), as some container runtimes do: the
 *        shim's copies must then take their other way, with the same output.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "progs_common.h"

#define HARNESS_NAME "efaulttest"
#define POLL_MS 5000
#include "harness.h"

#define CALL(expr) (errno = 0, r = (expr), e = (r < 0 ? errno : 0))

static int F = IPC_DIPC;
static long pagesz;
static char *guard;      /* a PROT_NONE page */
static char *before;     /* the readable page just before it */

/* A buffer of n bytes whose last byte is the first of the guard page. */
static void *straddle(size_t n)
{
	return guard - (n - 1);
}

static void *const BAD = (void *)-1;

static int getval(int id, int num)
{
	return semctl(id, num, GETVAL);
}

/* process_vm_readv/writev fail with EPERM from now on, in this process and
 * its children.  (The filter does not check the architecture: it is a test
 * of this machine's native calls.) */
static int refuse_process_vm(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_writev, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -1;
	return 0;
}

/* ---- semop, semtimedop --------------------------------------------------- */

static void sem_steps(int id)
{
	struct sembuf ok = { 0, 1, IPC_NOWAIT };
	struct timespec ts = { 1, 0 }, badts = { 0, -1 };
	long r;
	int e;

	CALL(semop(id, BAD, 1));
	rep("semop_minus1", r, e, NULL);
	CALL(semop(id, (struct sembuf *)guard, 1));
	rep("semop_guard", r, e, NULL);
	CALL(semop(id, NULL, 1));
	rep("semop_null", r, e, NULL);
	/* the first sembuf is readable, the second is not: nothing applies */
	struct sembuf *half = (struct sembuf *)(guard - sizeof(struct sembuf));
	half[0] = ok;
	CALL(semop(id, half, 2));
	rep("semop_straddle", r, e, " val0=%d", getval(id, 0));
	CALL(semop(id, BAD, 0));
	rep("semop_nsops0_bad", r, e, NULL);
	CALL(semop(id, BAD, 100000));
	rep("semop_e2big_bad", r, e, NULL);

	CALL(semtimedop(id, &ok, 1, (struct timespec *)guard));
	rep("semtimedop_badtimeout", r, e, " val0=%d", getval(id, 0));
	CALL(semtimedop(id, &ok, 0, (struct timespec *)BAD));
	rep("semtimedop_badtimeout_nsops0", r, e, NULL);
	CALL(semtimedop(id, BAD, 1, &badts));
	rep("semtimedop_badsops_badts", r, e, NULL);
	CALL(semtimedop(id, BAD, 1, &ts));
	rep("semtimedop_badsops", r, e, NULL);
	CALL(semtimedop(id, &ok, 1, (struct timespec *)straddle(sizeof(ts))));
	rep("semtimedop_timeout_straddle", r, e, " val0=%d", getval(id, 0));
	CALL(semtimedop(id, &ok, 1, &ts));
	rep("semtimedop_good", r, e, " val0=%d", getval(id, 0));
}

/* ---- semctl -------------------------------------------------------------- */

static void semctl_steps(int id)
{
	union semun a;
	unsigned short vals[2] = { 7, 8 };
	long r;
	int e;

	a.buf = BAD;
	CALL(semctl(id, 0, IPC_STAT, a));
	rep("semctl_stat_bad", r, e, NULL);
	a.buf = (struct semid_ds *)straddle(sizeof(struct semid_ds));
	CALL(semctl(id, 0, IPC_STAT, a));
	rep("semctl_stat_straddle", r, e, NULL);
	a.buf = (struct semid_ds *)guard;
	CALL(semctl(id, 0, IPC_SET, a));
	rep("semctl_set_guard", r, e, NULL);
	a.__buf = (struct seminfo *)guard;
	CALL(semctl(id, 0, IPC_INFO, a));
	rep("semctl_ipcinfo_guard", r, e, NULL);
	CALL(semctl(id, 0, SEM_INFO, a));
	rep("semctl_seminfo_guard", r, e, NULL);
	a.array = BAD;
	CALL(semctl(id, 0, GETALL, a));
	rep("semctl_getall_bad", r, e, NULL);
	a.array = (unsigned short *)straddle(2 * sizeof(unsigned short));
	CALL(semctl(id, 0, GETALL, a));
	rep("semctl_getall_straddle", r, e, NULL);
	a.array = BAD;
	CALL(semctl(id, 0, SETALL, a));
	rep("semctl_setall_bad", r, e, " val0=%d val1=%d", getval(id, 0), getval(id, 1));
	unsigned short *tail = (unsigned short *)(guard - sizeof(unsigned short));
	*tail = 9;
	a.array = tail;
	CALL(semctl(id, 0, SETALL, a));
	rep("semctl_setall_straddle", r, e, " val0=%d val1=%d", getval(id, 0), getval(id, 1));
	a.array = vals;
	CALL(semctl(id, 0, SETALL, a));
	rep("semctl_setall_good", r, e, " val0=%d val1=%d", getval(id, 0), getval(id, 1));
}

/* ---- buffers in a segment ------------------------------------------------- */

static void segment_steps(int sem, int shm)
{
	union semun a;
	long r;
	int e;

	char *p = shmat(shm, NULL, 0);
	if (p == (void *)-1) {
		problem("shmat: %s", strerror(errno));
		return;
	}
	/* sops read from a segment page, the array written into another */
	struct sembuf *sops = (struct sembuf *)(p + 100);
	sops[0] = (struct sembuf){ 1, 2, IPC_NOWAIT };
	CALL(semop(sem, sops, 1));
	rep("semop_sops_in_segment", r, e, " val1=%d", getval(sem, 1));
	unsigned short *arr = (unsigned short *)(p + pagesz + 10);
	a.array = arr;
	CALL(semctl(sem, 0, GETALL, a));
	rep("semctl_getall_in_segment", r, e, " vals=%d,%d", arr[0], arr[1]);
	struct semid_ds *ds = (struct semid_ds *)(p + 2 * pagesz - 8);
	a.buf = ds;
	CALL(semctl(sem, 0, IPC_STAT, a));
	rep("semctl_stat_across_segment_pages", r, e, " nsems=%lu", (unsigned long)ds->sem_nsems);
	shmdt(p);

	char *ro = shmat(shm, NULL, SHM_RDONLY);
	if (ro == (void *)-1) {
		problem("shmat rdonly: %s", strerror(errno));
		return;
	}
	a.array = (unsigned short *)ro;
	CALL(semctl(sem, 0, GETALL, a));
	rep("semctl_getall_rdonly_segment", r, e, " first=%d", ro[0]);
	shmdt(ro);
}

/* ---- shmctl -------------------------------------------------------------- */

static void shmctl_steps(int shm)
{
	long r;
	int e;

	CALL(shmctl(shm, IPC_STAT, BAD));
	rep("shmctl_stat_bad", r, e, NULL);
	CALL(shmctl(shm, IPC_STAT, (struct shmid_ds *)straddle(sizeof(struct shmid_ds))));
	rep("shmctl_stat_straddle", r, e, NULL);
	CALL(shmctl(shm, IPC_SET, (struct shmid_ds *)guard));
	rep("shmctl_set_guard", r, e, NULL);
	CALL(shmctl(shm, IPC_INFO, (struct shmid_ds *)guard));
	rep("shmctl_ipcinfo_guard", r, e, NULL);
	CALL(shmctl(shm, SHM_INFO, (struct shmid_ds *)guard));
	rep("shmctl_shminfo_guard", r, e, NULL);
	struct shmid_ds ds;
	CALL(shmctl(shm, IPC_STAT, &ds));
	rep("shmctl_stat_good", r, e, " mode=0%o", (unsigned)(ds.shm_perm.mode & 0777));
}

/* ---- msgsnd, msgrcv, msgctl (-m) ------------------------------------------ */

static void msg_steps(int q)
{
	struct { long mtype; char mtext[8]; } m = { 1, "abc" };
	long r;
	int e;

	CALL(msgsnd(q, BAD, 4, IPC_NOWAIT));
	rep("msgsnd_bad", r, e, NULL);
	/* mtype readable, the text not */
	long *head = (long *)(guard - sizeof(long));
	*head = 1;
	CALL(msgsnd(q, head, 4, IPC_NOWAIT));
	rep("msgsnd_text_guard", r, e, NULL);
	CALL(msgsnd(q, &m, 4, IPC_NOWAIT));
	rep("msgsnd_good", r, e, NULL);
	CALL(msgrcv(q, BAD, 8, 0, IPC_NOWAIT));
	rep("msgrcv_bad", r, e, NULL);
	CALL(msgctl(q, IPC_STAT, BAD));
	rep("msgctl_stat_bad", r, e, NULL);
	CALL(msgctl(q, IPC_SET, (struct msqid_ds *)guard));
	rep("msgctl_set_guard", r, e, NULL);
}

int main(int argc, char **argv)
{
	bool with_msg = false;
	int opt;
	long r;
	int e;

	while ((opt = getopt(argc, argv, "nms")) != -1) {
		if (opt == 'n') {
			F = 0;
		} else if (opt == 'm') {
			with_msg = true;
		} else if (opt == 's') {
			if (refuse_process_vm() < 0) {
				perror("seccomp");
				return 1;
			}
		} else {
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: efaulttest [-n] [-m] [-s] KEY\n");
		return 2;
	}
	key_t key = parse_key(argv[optind]);
	(void)spawn; /* one process: the harness's children are not needed */
	(void)reap;
	pagesz = sysconf(_SC_PAGESIZE);
	before = mmap(NULL, 2 * (size_t)pagesz, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (before == MAP_FAILED || mprotect(before + pagesz, (size_t)pagesz, PROT_NONE) < 0) {
		perror("mmap");
		return 1;
	}
	guard = before + pagesz;

	int sem, shm, q = -1;
	CALL(semget(key, 2, IPC_CREAT | IPC_EXCL | 0600 | F));
	rep_id("semget", (int)r, e, "sem");
	sem = (int)r;
	CALL(shmget(key + 1, 3 * (size_t)pagesz, IPC_CREAT | IPC_EXCL | 0600 | F));
	rep_id("shmget", (int)r, e, "shm");
	shm = (int)r;
	if (with_msg) {
		CALL(msgget(key + 2, IPC_CREAT | IPC_EXCL | 0600 | F));
		rep_id("msgget", (int)r, e, "msg");
		q = (int)r;
	}
	if (sem < 0 || shm < 0 || (with_msg && q < 0)) {
		problem("cannot create the objects");
		return 1;
	}

	sem_steps(sem);
	semctl_steps(sem);
	segment_steps(sem, shm);
	shmctl_steps(shm);
	if (with_msg)
		msg_steps(q);

	CALL(semctl(sem, 0, IPC_RMID));
	rep("sem_rmid", r, e, NULL);
	union semun a = { .buf = BAD };
	CALL(semctl(sem, 0, IPC_STAT, a));
	rep("semctl_stat_bad_after_rmid", r, e, NULL);
	CALL(shmctl(shm, IPC_RMID, NULL));
	rep("shm_rmid", r, e, NULL);
	if (with_msg) {
		CALL(msgctl(q, IPC_RMID, NULL));
		rep("msg_rmid", r, e, NULL);
	}
	printf("done: harness_ok=%d\n", !harness_failed);
	return harness_failed;
}
