/* SPDX-License-Identifier: MIT */
/**
 * @file msg_bench.c
 *
 * SysV message-queue micro-benchmarks, driven by bench/msg_run.py.  Plain
 * SysV code with IPC_DIPC: natively it measures the kernel, under
 * LD_PRELOAD=libdipc.so the cluster.
 *
 *     msg_bench [-n] MODE KEY [ARGS]
 *
 *   -n                      no IPC_DIPC (the kernel's queues)
 *   create KEY [QBYTES]     create the queue KEY here (so this node owns it),
 *                           optionally set its msg_qbytes; prints "id=N"
 *   rmid KEY                remove it
 *   ping KEY SIZE N [WARM]  one op = one round trip: send SIZE bytes to the
 *                           queue KEY (type 1), receive the answer from the
 *                           queue KEY+1 (type 1); WARM rounds first, unmeasured
 *   pong KEY SIZE N [WARM]  the other side: receive from KEY, answer to KEY+1
 *   send KEY SIZE N [WARM]  one-way: N + WARM messages of SIZE bytes, as fast
 *                           as msgsnd returns (blocking when the queue is full)
 *   recv KEY SIZE N [WARM]  receives them; measures from its WARM-th message
 *                           to its last: one op = one message, its latency
 *                           the gap since the previous one
 *
 * Start pong before ping and recv before send.  Every mode opens its queues
 * with IPC_CREAT.  Prints the bench_common.h line (ping, recv; send prints
 * its own rate), and the queue's id on stderr ("id=N") so that the caller can
 * check who served it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "bench_common.h"

#ifndef IPC_DIPC
#define IPC_DIPC 010000
#endif

static int F = IPC_DIPC;

struct mbuf {
	long mtype;
	char mtext[];
};

static int open_queue(key_t key)
{
	int id = msgget(key, IPC_CREAT | 0666 | F);

	if (id < 0) {
		fprintf(stderr, "msg_bench: msgget(0x%x): %s\n", (unsigned)key, strerror(errno));
		exit(1);
	}
	fprintf(stderr, "id=%d\n", id);
	return id;
}

static void snd(int id, struct mbuf *m, size_t size)
{
	while (msgsnd(id, m, size, 0) < 0) {
		if (errno == EINTR)
			continue;
		fprintf(stderr, "msg_bench: msgsnd: %s\n", strerror(errno));
		exit(1);
	}
}

static void rcv(int id, struct mbuf *m, size_t size)
{
	for (;;) {
		ssize_t r = msgrcv(id, m, size, 0, 0);

		if (r == (ssize_t)size)
			return;
		if (r < 0 && errno == EINTR)
			continue;
		fprintf(stderr, "msg_bench: msgrcv: %zd %s\n", r, r < 0 ? strerror(errno) : "");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int a = 1;

	if (argc > 1 && strcmp(argv[1], "-n") == 0) {
		F = 0;
		a++;
	}
	if (argc - a < 2)
		goto usage;
	const char *mode = argv[a];
	key_t key = (key_t)strtoul(argv[a + 1], NULL, 0);

	if (strcmp(mode, "create") == 0) {
		int id = msgget(key, IPC_CREAT | IPC_EXCL | 0666 | F);
		struct msqid_ds ds;

		if (id < 0) {
			fprintf(stderr, "msg_bench: create 0x%x: %s\n", (unsigned)key, strerror(errno));
			return 1;
		}
		if (argc - a > 2) {
			if (msgctl(id, IPC_STAT, &ds) < 0)
				return 1;
			ds.msg_qbytes = (msglen_t)strtoul(argv[a + 2], NULL, 0);
			if (msgctl(id, IPC_SET, &ds) < 0) {
				fprintf(stderr, "msg_bench: IPC_SET qbytes: %s\n", strerror(errno));
				return 1;
			}
		}
		printf("id=%d\n", id);
		return 0;
	}
	if (strcmp(mode, "rmid") == 0) {
		int id = msgget(key, F);

		return id < 0 || msgctl(id, IPC_RMID, NULL) < 0;
	}
	if (argc - a < 4)
		goto usage;

	size_t size = strtoul(argv[a + 2], NULL, 0);
	size_t n = strtoul(argv[a + 3], NULL, 0);
	size_t warm = argc - a > 4 ? strtoul(argv[a + 4], NULL, 0) : 200;
	struct mbuf *m = calloc(1, sizeof(long) + size + 1);
	uint64_t *samples = calloc(n ? n : 1, sizeof(uint64_t));

	if (!m || !samples || n == 0)
		return 1;
	memset(m->mtext, 'm', size);
	m->mtype = 1;

	if (strcmp(mode, "ping") == 0) {
		int out = open_queue(key), in = open_queue(key + 1);
		uint64_t t0 = 0, t;

		for (size_t i = 0; i < warm + n; i++) {
			if (i == warm)
				t0 = bench_ns();
			t = bench_ns();
			snd(out, m, size);
			rcv(in, m, size);
			if (i >= warm)
				samples[i - warm] = bench_ns() - t;
		}
		bench_report(samples, n, bench_ns() - t0);
		return 0;
	}
	if (strcmp(mode, "pong") == 0) {
		int in = open_queue(key), out = open_queue(key + 1);

		for (size_t i = 0; i < warm + n; i++) {
			rcv(in, m, size);
			snd(out, m, size);
		}
		return 0;
	}
	if (strcmp(mode, "send") == 0) {
		int out = open_queue(key);
		uint64_t t0 = bench_ns();

		for (size_t i = 0; i < warm + n; i++)
			snd(out, m, size);
		printf("sender ops_per_s=%.0f n=%zu\n", (warm + n) * 1e9 / (double)(bench_ns() - t0),
		       warm + n);
		return 0;
	}
	if (strcmp(mode, "recv") == 0) {
		int in = open_queue(key);
		uint64_t t0 = 0, prev = 0, t;

		for (size_t i = 0; i < warm + n; i++) {
			rcv(in, m, size);
			t = bench_ns();
			if (i == warm - 1 || (warm == 0 && i == 0))
				t0 = t;
			if (i >= warm)
				samples[i - warm] = t - (prev ? prev : t);
			prev = t;
		}
		bench_report(samples, n, prev - t0);
		return 0;
	}
usage:
	fprintf(stderr, "usage: msg_bench [-n] create KEY [QBYTES] | rmid KEY |"
			" ping|pong|send|recv KEY SIZE N [WARM]\n");
	return 2;
}
