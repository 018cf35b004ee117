/* SPDX-License-Identifier: MIT */
/**
 * @file ns_bench.c
 *
 * The programs of the namespace benchmark (bench/ns_run.py): many objects
 * made and removed in one process, and the latency of attaching a segment.
 * Plain SysV code with IPC_DIPC: natively it talks to the kernel, under
 * LD_PRELOAD=libdipc.so to the cluster.
 *
 *     ns_bench [-n] ROLE KEY [ARGS]
 *
 *   -n                   no IPC_DIPC (the kernel, or the key policy, decides)
 *   mksem KEY COUNT      create COUNT sets of one semaphore, keys KEY ..
 *                        KEY+COUNT-1 (IPC_CREAT|IPC_EXCL, mode 0666); a
 *                        failure removes the sets made so far
 *   rmsem KEY COUNT      remove them (the ones that exist); exit status 1
 *                        if any was missing or could not be removed
 *   attach KEY N [WARM]  N (+WARM untimed) rounds of shmat() then shmdt()
 *                        of the existing segment KEY, each call timed on its
 *                        own; prints three bench_common.h lines, each after
 *                        a label: "shmat ", "shmdt ", and "both " (one
 *                        shmat+shmdt pair, the last line)
 *
 * Every role prints the ids it used on stderr ("id=N", for mksem the first
 * and the last) so that the driver can check that dipcfs served them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "bench_common.h"

#ifndef IPC_DIPC
#define IPC_DIPC 010000
#endif

static int flag = IPC_DIPC;

/* Remove the sets KEY..KEY+COUNT-1; how many could not be removed. */
static size_t rm_sets(key_t key, size_t count)
{
	size_t i, bad = 0;

	for (i = 0; i < count; i++) {
		int id = semget((key_t)(key + (key_t)i), 0, flag);

		if (id < 0 || semctl(id, 0, IPC_RMID) < 0)
			bad++;
	}
	return bad;
}

static int mk_sets(key_t key, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		int id = semget((key_t)(key + (key_t)i), 1, IPC_CREAT | IPC_EXCL | 0666 | flag);

		if (id < 0) {
			fprintf(stderr, "ns_bench: semget(0x%x): %s\n", (unsigned)(key + (key_t)i),
				strerror(errno));
			rm_sets(key, i);
			return 1;
		}
		if (i == 0 || i + 1 == count)
			fprintf(stderr, "id=%d\n", id);
	}
	return 0;
}

static int attach(key_t key, size_t n, size_t warm)
{
	int id = shmget(key, 0, 0666 | flag);
	uint64_t *at, *dt, *both, t0, t1, t2, start = 0, total;
	size_t i;

	if (id < 0) {
		perror("shmget");
		return 1;
	}
	fprintf(stderr, "id=%d\n", id);
	at = calloc(n ? n : 1, sizeof(*at));
	dt = calloc(n ? n : 1, sizeof(*dt));
	both = calloc(n ? n : 1, sizeof(*both));
	if (!at || !dt || !both) {
		perror("calloc");
		return 1;
	}
	for (i = 0; i < n + warm; i++) {
		void *p;

		if (i == warm)
			start = bench_ns();
		t0 = bench_ns();
		p = shmat(id, NULL, 0);
		t1 = bench_ns();
		if (p == (void *)-1) {
			perror("shmat");
			return 1;
		}
		if (shmdt(p) < 0) {
			perror("shmdt");
			return 1;
		}
		t2 = bench_ns();
		if (i >= warm) {
			at[i - warm] = t1 - t0;
			dt[i - warm] = t2 - t1;
			both[i - warm] = t2 - t0;
		}
	}
	total = bench_ns() - start;
	printf("shmat ");
	bench_report(at, n, total);
	printf("shmdt ");
	bench_report(dt, n, total);
	printf("both ");
	bench_report(both, n, total);
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
	if (argc - optind < 3)
		goto usage;
	role = argv[optind];
	key = (key_t)strtoul(argv[optind + 1], NULL, 0);
	argv += optind + 2;
	argc -= optind + 2;
	if (strcmp(role, "mksem") == 0)
		return mk_sets(key, strtoul(argv[0], NULL, 0));
	if (strcmp(role, "rmsem") == 0)
		return rm_sets(key, strtoul(argv[0], NULL, 0)) ? 1 : 0;
	if (strcmp(role, "attach") == 0)
		return attach(key, strtoul(argv[0], NULL, 0),
			      argc > 1 ? strtoul(argv[1], NULL, 0) : 100);
usage:
	fprintf(stderr, "usage: ns_bench [-n] mksem|rmsem KEY COUNT | attach KEY N [WARMUP]\n");
	return 2;
}
