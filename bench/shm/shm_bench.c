/* SPDX-License-Identifier: MIT */
/**
 * @file shm_bench.c
 *
 * SysV shared-memory benchmarks, driven by bench/shm_run.py.  Plain SysV
 * code with IPC_DIPC: natively it measures the kernel, under
 * LD_PRELOAD=libdipc.so the cluster.  Every role is a separate process, so
 * that the driver can start them on different nodes.
 *
 *     shm_bench [-n] ROLE KEY [ARGS]
 *
 *   -n                  no IPC_DIPC (the kernel, or the key policy, decides)
 *   create KEY SIZE     create a segment of SIZE bytes (IPC_CREAT|IPC_EXCL)
 *                       and a set of 2 semaphores with the same key
 *   rm KEY              remove both
 *   fill KEY            attach, store to every 8-byte word, detach
 *   fault KEY [PAGES]   attach; one load from each of the first PAGES pages
 *                       (default all), in a scattered order, each timed on
 *                       its own: one op = the first touch of a page by this
 *                       process (a cold fault when the node has never had it)
 *   ping KEY N [WARM] / pong KEY N [WARM]
 *                       strict turns on word 0 of the segment: ping stores
 *                       odd values, pong even ones, each spinning (loads
 *                       only) until the other's value appears; ping measures
 *                       and one op = one handoff (half a round trip)
 *   writer KEY ROUNDS / reader KEY ROUNDS
 *                       ROUNDS (+1 warm-up) rounds of: the writer stores to
 *                       every word of the segment (a value of its round),
 *                       posts semaphore 0; the reader waits for it, loads
 *                       and checks every word, posts semaphore 1, which the
 *                       writer waits for before its next round.  Each side
 *                       times its own pass over the segment; one op = one
 *                       whole pass.  A value the reader finds wrong fails it.
 *
 * Prints the bench_common.h line; the ids on stderr ("id=N" for the segment
 * and, where used, the set) so that the caller can check who served them.
 * Every wait has a deadline (30 s): a benchmark never hangs.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#ifndef IPC_DIPC
#define IPC_DIPC 010000
#endif

#define DEADLINE_NS (30ull * 1000000000ull)

static int flag = IPC_DIPC;

static int seg_id(key_t key, size_t size, int create)
{
	int id = shmget(key, size, (create ? IPC_CREAT | IPC_EXCL : 0) | 0666 | flag);

	if (id < 0) {
		perror("shmget");
		exit(1);
	}
	fprintf(stderr, "id=%d\n", id);
	return id;
}

static int set_id(key_t key, int create)
{
	int id = semget(key, 2, (create ? IPC_CREAT | IPC_EXCL : 0) | 0666 | flag);

	if (id < 0) {
		perror("semget");
		exit(1);
	}
	fprintf(stderr, "id=%d\n", id);
	return id;
}

static char *attach(int id, size_t *size)
{
	struct shmid_ds ds;
	char *p;

	if (shmctl(id, IPC_STAT, &ds) < 0) {
		perror("shmctl(IPC_STAT)");
		exit(1);
	}
	*size = ds.shm_segsz;
	p = shmat(id, NULL, 0);
	if (p == (void *)-1) {
		perror("shmat");
		exit(1);
	}
	return p;
}

static void op(int semid, unsigned short num, short v)
{
	struct sembuf sb = { num, v, 0 };
	struct timespec ts = { 30, 0 };

	while (semtimedop(semid, &sb, 1, &ts) < 0) {
		if (errno == EINTR)
			continue;
		fprintf(stderr, "shm_bench: semop(%u, %d): %s\n", num, v, strerror(errno));
		exit(1);
	}
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spin (loads only) until *w == v.  Yields now and then: on a small machine
 * the daemons that move the page need a CPU too. */
static void wait_value(volatile uint64_t *w, uint64_t v)
{
	uint64_t start = 0;
	unsigned spins = 0;

	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) != v) {
		cpu_relax();
		if (++spins % 64 == 0) {
			sched_yield();
			if (spins % 4096 == 0) {
				if (!start)
					start = bench_ns();
				else if (bench_ns() - start > DEADLINE_NS) {
					fprintf(stderr, "shm_bench: waited 30 s for value %llu (have %llu)\n",
						(unsigned long long)v, (unsigned long long)*w);
					exit(1);
				}
			}
		}
	}
}

static uint64_t pattern(uint64_t round, size_t i)
{
	return (round << 40) ^ (i * 0x9e3779b97f4a7c15ull);
}

static int fill(key_t key)
{
	size_t size, i;
	uint64_t *p = (uint64_t *)attach(seg_id(key, 0, 0), &size);

	for (i = 0; i < size / 8; i++)
		p[i] = pattern(1, i);
	shmdt(p);
	return 0;
}

static int fault(key_t key, size_t pages)
{
	size_t size, ps = (size_t)sysconf(_SC_PAGESIZE), n, i, stride = 97, x, y, t;
	char *p = attach(seg_id(key, 0, 0), &size);
	uint64_t *samples, t0, start;
	volatile uint64_t sink = 0;

	n = size / ps;
	if (pages && pages < n)
		n = pages;
	samples = calloc(n ? n : 1, sizeof(*samples));
	for (;; stride++) { /* a stride coprime with n visits every page once */
		for (x = stride, y = n; y; t = x % y, x = y, y = t)
			;
		if (x == 1 || n < 2)
			break;
	}
	start = bench_ns();
	for (i = 0; i < n; i++) {
		size_t page = n < 2 ? 0 : i * stride % n;

		t0 = bench_ns();
		sink += *(volatile uint64_t *)(p + page * ps);
		samples[i] = bench_ns() - t0;
	}
	bench_report(samples, n, bench_ns() - start);
	(void)sink;
	shmdt(p);
	return 0;
}

static int turns(key_t key, int ping, size_t n, size_t warm)
{
	size_t size, i;
	volatile uint64_t *w = (volatile uint64_t *)attach(seg_id(key, 0, 0), &size);
	uint64_t *samples = calloc(n ? n : 1, sizeof(*samples)), t0, start = 0;

	/* round i: ping waits for 2i, stores 2i+1; pong waits for 2i+1, stores 2i+2 */
	for (i = 0; i < n + warm; i++) {
		if (!ping) {
			wait_value(w, 2 * i + 1);
			__atomic_store_n(w, 2 * i + 2, __ATOMIC_RELEASE);
			continue;
		}
		if (i == warm)
			start = bench_ns();
		wait_value(w, 2 * i);
		t0 = bench_ns();
		__atomic_store_n(w, 2 * i + 1, __ATOMIC_RELEASE);
		wait_value(w, 2 * i + 2);
		if (i >= warm)
			samples[i - warm] = (bench_ns() - t0) / 2; /* two handoffs */
	}
	if (ping)
		bench_report(samples, n, (bench_ns() - start) / 2);
	shmdt((void *)w);
	return 0;
}

static int xfer(key_t key, int writer, size_t rounds)
{
	size_t size, words, i, r, bad = 0;
	int semid = set_id(key, 0);
	uint64_t *p = (uint64_t *)attach(seg_id(key, 0, 0), &size);
	unsigned char *tail;
	uint64_t *samples = calloc(rounds ? rounds : 1, sizeof(*samples)), t0, start = 0;
	volatile uint64_t sink = 0;

	words = size / 8;
	tail = (unsigned char *)(p + words);
	for (r = 0; r < rounds + 1; r++) { /* round 0 is the warm-up */
		if (r == 1)
			start = bench_ns();
		if (writer) {
			if (r > 0)
				op(semid, 1, -1);
			t0 = bench_ns();
			for (i = 0; i < words; i++)
				p[i] = pattern(r + 2, i);
			for (i = 0; i < size % 8; i++)
				tail[i] = (unsigned char)(r + i);
		} else {
			op(semid, 0, -1);
			t0 = bench_ns();
			for (i = 0; i < words; i++)
				bad += p[i] != pattern(r + 2, i);
			for (i = 0; i < size % 8; i++)
				bad += tail[i] != (unsigned char)(r + i);
		}
		if (r > 0)
			samples[r - 1] = bench_ns() - t0;
		if (writer)
			op(semid, 0, 1);
		else
			op(semid, 1, 1);
		if (bad) {
			fprintf(stderr, "shm_bench: reader: %zu wrong words in round %zu\n", bad, r);
			exit(1);
		}
	}
	if (writer) /* the reader's last pass is done before the writer's figures */
		op(semid, 1, -1);
	bench_report(samples, rounds, bench_ns() - start);
	(void)sink;
	shmdt(p);
	return 0;
}

int main(int argc, char **argv)
{
	const char *role;
	key_t key;
	int opt;

	while ((opt = getopt(argc, argv, "n")) != -1) {
		if (opt != 'n')
			goto usage;
		flag = 0;
	}
	if (argc - optind < 2)
		goto usage;
	role = argv[optind];
	key = (key_t)strtoul(argv[optind + 1], NULL, 0);
	argv += optind + 2;
	argc -= optind + 2;
#define ARG(i, def) (argc > (i) ? strtoull(argv[i], NULL, 0) : (def))
	if (strcmp(role, "create") == 0 && argc >= 1) {
		seg_id(key, ARG(0, 0), 1);
		set_id(key, 1);
		return 0;
	}
	if (strcmp(role, "rm") == 0) {
		int r = 0, id = shmget(key, 0, flag);

		if (id < 0 || shmctl(id, IPC_RMID, NULL) < 0) {
			perror("shm rm");
			r = 1;
		}
		id = semget(key, 0, flag);
		if (id >= 0 && semctl(id, 0, IPC_RMID) < 0) {
			perror("sem rm");
			r = 1;
		}
		return r;
	}
	if (strcmp(role, "fill") == 0)
		return fill(key);
	if (strcmp(role, "fault") == 0)
		return fault(key, ARG(0, 0));
	if ((strcmp(role, "ping") == 0 || strcmp(role, "pong") == 0) && argc >= 1)
		return turns(key, role[1] == 'i', ARG(0, 0), ARG(1, 100));
	if ((strcmp(role, "writer") == 0 || strcmp(role, "reader") == 0) && argc >= 1)
		return xfer(key, role[0] == 'w', ARG(0, 0));
usage:
	fprintf(stderr, "usage: shm_bench [-n] create KEY SIZE | rm KEY | fill KEY | fault KEY [PAGES]\n"
			"                 | ping|pong KEY N [WARMUP] | writer|reader KEY ROUNDS\n");
	return 2;
}
