/* SPDX-License-Identifier: MIT */
/**
 * @file sem_bench.c
 *
 * SysV semaphore micro-benchmarks.  Plain SysV code with IPC_DIPC: natively
 * it measures the kernel, under LD_PRELOAD=libdipc.so the cluster.
 *
 *     sem_bench [-n] MODE KEY [N [WARMUP]]     (defaults 20000, 500)
 *
 *   -n          no IPC_DIPC (the kernel, or the key policy, decides)
 *   getval      semctl(GETVAL) on the set: the cheapest call that reaches
 *               whoever holds the set (for a local set: one FUSE ioctl
 *               round trip to the node's daemon)
 *   nowait      semop(-1, IPC_NOWAIT) on a zero semaphore, failing EAGAIN
 *   updown      uncontended semop: +1, then -1; each semop is one op
 *   pingpong    fork a partner; one op = one round trip (A posts B, B posts A)
 *   ping / pong the two halves of pingpong as separate processes (start pong
 *               first; ping measures); for two processes on two nodes
 *
 * The set (2 semaphores) is created with IPC_CREAT if missing and left in
 * place (pingpong removes its own).  Prints the bench_common.h line, and the
 * set's id on stderr ("id=N") so that the caller can check who served it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

#ifndef IPC_DIPC
#define IPC_DIPC 010000
#endif

static int semid;

static void op(unsigned short num, short v, short flg)
{
	struct sembuf sb = { num, v, flg };

	while (semop(semid, &sb, 1) < 0) {
		if (errno == EINTR)
			continue;
		fprintf(stderr, "sem_bench: semop(%u, %d): %s\n", num, v, strerror(errno));
		exit(1);
	}
}

/* the pong side: N + WARMUP rounds of "wait for 1, post 0" */
static void pong(size_t rounds)
{
	size_t i;

	for (i = 0; i < rounds; i++) {
		op(1, -1, 0);
		op(0, 1, 0);
	}
}

int main(int argc, char **argv)
{
	int flag = IPC_DIPC, opt;
	const char *mode;
	size_t n = 20000, warm = 500, i;
	uint64_t *samples, t0, start = 0;
	pid_t child = -1;

	while ((opt = getopt(argc, argv, "n")) != -1) {
		if (opt != 'n')
			goto usage;
		flag = 0;
	}
	if (argc - optind < 2)
		goto usage;
	mode = argv[optind];
	if (argc - optind > 2)
		n = strtoul(argv[optind + 2], NULL, 10);
	if (argc - optind > 3)
		warm = strtoul(argv[optind + 3], NULL, 10);
	semid = semget((key_t)strtoul(argv[optind + 1], NULL, 0), 2, IPC_CREAT | 0666 | flag);
	if (semid < 0) {
		perror("semget");
		return 1;
	}
	fprintf(stderr, "id=%d\n", semid);
	if (strcmp(mode, "pong") == 0) {
		pong(n + warm);
		return 0;
	}
	if (strcmp(mode, "pingpong") == 0) {
		fflush(NULL);
		child = fork();
		if (child == 0) {
			pong(n + warm);
			_exit(0);
		}
	}
	samples = calloc(n, sizeof(*samples));
	for (i = 0; i < n + warm; i++) {
		if (i == warm)
			start = bench_ns();
		t0 = bench_ns();
		if (strcmp(mode, "getval") == 0) {
			if (semctl(semid, 0, GETVAL) < 0) {
				perror("semctl");
				return 1;
			}
		} else if (strcmp(mode, "nowait") == 0) {
			struct sembuf sb = { 1, -1, IPC_NOWAIT };

			if (semop(semid, &sb, 1) == 0 || errno != EAGAIN) {
				fprintf(stderr, "sem_bench: nowait: semaphore 1 must be 0\n");
				return 1;
			}
		} else if (strcmp(mode, "updown") == 0) {
			op(0, (i & 1) ? -1 : 1, 0);
		} else if (strcmp(mode, "pingpong") == 0 || strcmp(mode, "ping") == 0) {
			op(1, 1, 0);
			op(0, -1, 0);
		} else {
			goto usage;
		}
		if (i >= warm)
			samples[i - warm] = bench_ns() - t0;
	}
	bench_report(samples, n, bench_ns() - start);
	if (child > 0) {
		int st;

		waitpid(child, &st, 0);
		semctl(semid, 0, IPC_RMID);
	}
	return 0;

usage:
	fprintf(stderr, "usage: sem_bench [-n] getval|nowait|updown|pingpong|ping|pong KEY [N [WARMUP]]\n");
	return 2;
}
