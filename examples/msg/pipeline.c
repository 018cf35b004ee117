/* SPDX-License-Identifier: MIT */
/**
 * @file pipeline.c
 *
 * A multi-worker pipeline over System V message queues: a source hands out
 * jobs, two stages of workers transform them, a sink checks the results.
 * Start as many workers of each stage as you like, on whichever nodes you
 * like; they share the work by competing for the messages of one queue.
 *
 *     source --Q0--> square workers --Q1--> add workers --Q2--> sink
 *        job i          i -> i*i             i*i -> i*i + i      sums, checks
 *
 * Ordinary single-machine SysV code; the only dipcfs-specific thing is
 * IPC_DIPC (010000) in the msgget() flags.  Every role creates the queues it
 * uses if they are missing, so the processes may start in any order.  When
 * the sink has all N results it removes the three queues: the workers,
 * blocked in msgrcv, then fail with EIDRM (or EINVAL if they call again) --
 * the usual SysV way to tell a pool of workers the work is over -- and exit,
 * each printing how many jobs it did.  (So start the workers before the
 * sink can finish: one started after the end would create the queues anew
 * and wait for jobs that never come.)
 *
 * Natively, on one machine (the kernel's own queues):
 *
 *     ./pipeline square & ./pipeline square & ./pipeline add &
 *     ./pipeline source 10000 & ./pipeline sink 10000
 *
 * Across three nodes of a dipcfs cluster (mount.dipcfs on /dipc on each;
 * LD_PRELOAD=libdipc.so in front of every command):
 *
 *     node1$ ./pipeline source 10000
 *     node2$ ./pipeline square & ./pipeline add
 *     node3$ ./pipeline square & ./pipeline add
 *     node1$ ./pipeline sink 10000
 *
 * (On one machine with several mounts, DIPC_MOUNT picks the node.)  While
 * it runs, `cat /dipc/msg/0x0000d1d0` (Q0), `...d1d1` (Q1) and `...d1d2` (Q2)
 * show the queues filling and draining, with the workers waiting on them.
 *
 * Usage: pipeline source N [KEY] | square [KEY] | add [KEY] | sink N [KEY]
 *   N    number of jobs (the source sends 0..N-1; the sink expects them all)
 *   KEY  base key of the three queues (default 0xd1d0: Q0, Q0+1, Q0+2)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#ifndef IPC_DIPC
#define IPC_DIPC 010000 /* from include/uapi/linux/ipc.h */
#endif

struct job {
	long mtype;        /* 1 */
	int64_t i;         /* the job's number */
	int64_t value;     /* what the stages made of it */
	int32_t worker[2]; /* pids of the square and add workers */
};

#define JOB_SIZE (sizeof(struct job) - sizeof(long))

static int open_queue(key_t key)
{
	int id = msgget(key, IPC_CREAT | 0666 | IPC_DIPC);

	if (id == -1) {
		perror("msgget");
		exit(1);
	}
	return id;
}

/* 0, or -1 when the queue is gone (the work is over); EINTR: again. */
static int put(int id, struct job *j)
{
	while (msgsnd(id, j, JOB_SIZE, 0) == -1) {
		if (errno == EIDRM || errno == EINVAL)
			return -1;
		if (errno != EINTR) {
			perror("msgsnd");
			exit(1);
		}
	}
	return 0;
}

static int get(int id, struct job *j)
{
	while (msgrcv(id, j, JOB_SIZE, 0, 0) == -1) {
		if (errno == EIDRM || errno == EINVAL)
			return -1;
		if (errno != EINTR) {
			perror("msgrcv");
			exit(1);
		}
	}
	return 0;
}

static int source(key_t key, int64_t n)
{
	int q0 = open_queue(key);

	for (int64_t i = 0; i < n; i++) {
		struct job j = { .mtype = 1, .i = i };

		if (put(q0, &j) < 0) {
			fprintf(stderr, "source: the queue went away after %lld jobs\n", (long long)i);
			return 1;
		}
	}
	printf("source: %lld jobs sent\n", (long long)n);
	return 0;
}

/* stage 1: i -> i*i; stage 2: i*i -> i*i + i */
static int worker(key_t key, int stage)
{
	int in = open_queue(key + stage - 1), out = open_queue(key + stage);
	long done = 0;
	struct job j;

	printf("%s worker %d: waiting for jobs\n", stage == 1 ? "square" : "add", (int)getpid());
	while (get(in, &j) == 0) {
		j.value = stage == 1 ? j.i * j.i : j.value + j.i;
		j.worker[stage - 1] = (int32_t)getpid();
		if (put(out, &j) < 0)
			break;
		done++;
	}
	printf("%s worker %d: %ld jobs, then the queues were removed\n",
	       stage == 1 ? "square" : "add", (int)getpid(), done);
	return 0;
}

static int sink(key_t key, int64_t n)
{
	int q0 = open_queue(key), q1 = open_queue(key + 1), q2 = open_queue(key + 2);
	unsigned char *seen = calloc((size_t)n + 1, 1);
	int32_t pids[64] = { 0 };
	int npids = 0, bad = 0;
	int64_t got = 0, sum = 0, want = 0;
	struct job j;

	if (!seen)
		return 1;
	while (got < n && get(q2, &j) == 0) {
		if (j.i < 0 || j.i >= n || seen[j.i] || j.value != j.i * j.i + j.i) {
			bad++;
			continue;
		}
		seen[j.i] = 1;
		got++;
		sum += j.value;
		for (int k = 0; k < 2; k++) {
			int p;

			for (p = 0; p < npids && pids[p] != j.worker[k]; p++)
				;
			if (p == npids && npids < 64)
				pids[npids++] = j.worker[k];
		}
	}
	for (int64_t i = 0; i < n; i++)
		want += i * i + i;
	/* the work is over: remove the queues, which ends the workers */
	msgctl(q0, IPC_RMID, NULL);
	msgctl(q1, IPC_RMID, NULL);
	msgctl(q2, IPC_RMID, NULL);
	printf("sink: %lld of %lld results from %d workers, sum %s, %d bad; queues removed\n",
	       (long long)got, (long long)n, npids, sum == want ? "ok" : "WRONG", bad);
	free(seen);
	return got == n && sum == want && bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *role = argc > 1 ? argv[1] : "";
	int with_n = strcmp(role, "source") == 0 || strcmp(role, "sink") == 0;
	int64_t n = with_n && argc > 2 ? atoll(argv[2]) : 0;
	int karg = with_n ? 3 : 2;
	key_t key = argc > karg ? (key_t)strtoul(argv[karg], NULL, 0) : 0xd1d0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(role, "source") == 0 && n > 0)
		return source(key, n);
	if (strcmp(role, "square") == 0)
		return worker(key, 1);
	if (strcmp(role, "add") == 0)
		return worker(key, 2);
	if (strcmp(role, "sink") == 0 && n > 0)
		return sink(key, n);
	fprintf(stderr, "usage: pipeline source N [KEY] | square [KEY] | add [KEY] | sink N [KEY]\n");
	return 2;
}
