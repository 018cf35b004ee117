/* SPDX-License-Identifier: MIT */
/**
 * @file matmul.c
 *
 * A matrix product C = A x B computed by worker processes that share ALL
 * their data through ONE System V shared-memory segment, counted in by one
 * semaphore set.  Start the workers on whichever nodes you like: each
 * computes its band of C's rows straight into the segment, and the
 * coordinator checks every element of C against its own private product.
 *
 *     segment KEY:  | header | A (N x N) | B (N x N) | C (N x N) |
 *                     page 0   each part starts on a page of its own
 *     semaphores KEY:  0 = workers finished, 1 = "go" tickets
 *
 * Ordinary single-machine SysV code; the only dipcfs-specific thing is
 * IPC_DIPC (010000) in the shmget() and semget() flags.  (The kernel reads
 * that bit in shmget() as SHM_NORESERVE -- no swap reservation -- and
 * ignores it in semget(): natively it changes nothing; the shim strips it
 * before any local call.)  Nothing in the program synchronises the data: a
 * worker on another node reads A and B where the coordinator wrote them,
 * and the coordinator reads C where the workers wrote it; strict
 * consistency of the segment is what makes that correct.
 *
 * The bands are cut at page boundaries of C (rows of different workers are
 * never on one page), so in page mode each worker takes write ownership of
 * its own pages of C only.  The workers' reports in the header page, on the
 * other hand, all land on one page: write sharing, every worker's node
 * taking that page in turn.
 *
 * Natively, on one machine (the kernel's own segment and semaphores):
 *
 *     ./matmul coord 128 3 & ./matmul worker 0 & ./matmul worker 1 & ./matmul worker 2
 *
 * Across three nodes of a dipcfs cluster (mount.dipcfs on /dipc on each;
 * LD_PRELOAD=libdipc.so in front of every command):
 *
 *     node1$ ./matmul coord 128 3
 *     node1$ ./matmul worker 0
 *     node2$ ./matmul worker 1
 *     node3$ ./matmul worker 2
 *
 * (On one machine with several mounts, DIPC_MOUNT picks the node.)  The
 * processes may start in any order: a worker opens (or creates) the
 * semaphore set and waits for its "go" ticket, which the coordinator gives
 * out once A and B are in place.  While it runs, `cat /dipc/shm/0x00005a5a`
 * shows the segment and `cat /dipc/sem/0x00005a5a` the workers counted in.
 * At the end the coordinator removes both.
 *
 * Usage: matmul coord N WORKERS [KEY] | worker I [KEY]
 *   N        order of the matrices (int64 elements; default key 0x5a5a)
 *   WORKERS  number of workers (1..64); I is 0..WORKERS-1
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#ifndef IPC_DIPC
#define IPC_DIPC 010000 /* from include/uapi/linux/ipc.h */
#endif

#define MAGIC 0x6d61746d756c0001ull /* "matmul" 1 */
#define MAX_WORKERS 64

struct report {
	int32_t pid;
	uint32_t rows;    /* rows of C this worker computed */
	uint32_t first;   /* its first row */
	uint32_t done;    /* 1 once the rows are in C */
	uint64_t sum;     /* checksum of its rows */
	char host[32];    /* where it ran: the node name (DIPC_MOUNT's last part) */
};

struct header {
	uint64_t magic;
	uint32_t n, workers;
	struct report rep[MAX_WORKERS];
};

struct layout {
	size_t page, a, b, c, size; /* offsets of A, B, C; segment size */
};

static int semid = -1;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

static struct layout layout_of(uint32_t n)
{
	struct layout l;
	size_t m = (size_t)n * n * sizeof(int64_t);

	l.page = (size_t)sysconf(_SC_PAGESIZE);
	l.a = align_up(sizeof(struct header), l.page);
	l.b = align_up(l.a + m, l.page);
	l.c = align_up(l.b + m, l.page);
	l.size = align_up(l.c + m, l.page);
	return l;
}

/* The band of rows worker w of `workers` computes: cut at rows whose start
 * in C is on a page boundary (C itself starts on one), so no two workers
 * write one page of C. */
static void band(uint32_t n, uint32_t workers, uint32_t w, size_t page, uint32_t *lo,
		 uint32_t *hi)
{
	size_t row = (size_t)n * sizeof(int64_t), g = page, x = row, t;

	while (x) { /* g = page / gcd(page, row): rows per page-aligned unit */
		t = g % x;
		g = x;
		x = t;
	}
	g = page / g;
	*lo = (uint32_t)((size_t)n * w / workers / g * g);
	*hi = w + 1 == workers ? n : (uint32_t)((size_t)n * (w + 1) / workers / g * g);
}

static int64_t a_at(uint32_t i, uint32_t k)
{
	return (int64_t)((i * 7u + k * 3u) % 17u) - 8;
}

static int64_t b_at(uint32_t k, uint32_t j)
{
	return (int64_t)((k * 5u + j * 11u) % 13u) - 6;
}

/* Checksum of rows [lo, hi) of an N x N matrix: position-weighted, so a
 * misplaced value counts. */
static uint64_t checksum(const int64_t *m, uint32_t n, uint32_t lo, uint32_t hi)
{
	uint64_t s = 0;
	size_t i;

	for (i = (size_t)lo * n; i < (size_t)hi * n; i++)
		s += (uint64_t)m[i] * (2 * i + 1);
	return s;
}

static void sem(unsigned short num, short v)
{
	struct sembuf sb = { num, v, 0 };

	while (semop(semid, &sb, 1) < 0)
		if (errno != EINTR)
			die("semop");
}

static int open_sems(key_t key)
{
	semid = semget(key, 2, IPC_CREAT | 0666 | IPC_DIPC);
	if (semid < 0)
		die("semget");
	return semid;
}

static int coord(uint32_t n, uint32_t workers, key_t key)
{
	struct layout l = layout_of(n);
	int64_t *a, *b, *c, *mine;
	struct header *h;
	uint64_t want, got;
	size_t wrong = 0, i;
	uint32_t w, lo, hi, k, j, covered = 0;
	int shmid;
	char *seg;

	open_sems(key);
	shmid = shmget(key, l.size, IPC_CREAT | IPC_EXCL | 0666 | IPC_DIPC);
	if (shmid < 0)
		die("shmget");
	seg = shmat(shmid, NULL, 0);
	if (seg == (void *)-1)
		die("shmat");
	printf("matmul: segment id %d (%zu bytes, %zu pages), semaphores id %d; "
	       "waiting for %u workers\n", shmid, l.size, l.size / l.page, semid, workers);
	fflush(stdout);

	h = (struct header *)seg;
	a = (int64_t *)(seg + l.a);
	b = (int64_t *)(seg + l.b);
	c = (int64_t *)(seg + l.c);
	for (i = 0; i < n; i++)
		for (k = 0; k < n; k++) {
			a[i * n + k] = a_at((uint32_t)i, k);
			b[i * n + k] = b_at((uint32_t)i, k);
			c[i * n + k] = -1; /* a row nobody computed shows */
		}
	h->n = n;
	h->workers = workers;
	h->magic = MAGIC;
	sem(1, (short)workers); /* one "go" ticket per worker */

	/* meanwhile, the product in private memory */
	mine = calloc((size_t)n * n, sizeof(*mine));
	if (!mine)
		die("calloc");
	for (i = 0; i < n; i++)
		for (k = 0; k < n; k++)
			for (j = 0; j < n; j++)
				mine[i * n + j] += a_at((uint32_t)i, k) * b_at(k, j);

	sem(0, (short)-workers); /* every worker finished */

	for (w = 0; w < workers; w++) {
		struct report *r = &h->rep[w];

		band(n, workers, w, l.page, &lo, &hi);
		want = checksum(mine, n, lo, hi);
		printf("matmul: worker %u (pid %d on %s): rows %u-%u, checksum %s\n", w, r->pid,
		       r->host[0] ? r->host : "?", r->first, r->first + r->rows - 1,
		       r->done && r->first == lo && r->rows == hi - lo && r->sum == want ? "ok"
											   : "WRONG");
		if (r->done && r->first == lo && r->rows == hi - lo && r->sum == want)
			covered += hi - lo;
	}
	for (i = 0; i < (size_t)n * n; i++)
		wrong += c[i] != mine[i];
	want = checksum(mine, n, 0, n);
	got = checksum(c, n, 0, n);
	printf("matmul: C = A x B (%ux%u) by %u workers: checksum 0x%016" PRIx64
	       " (expected 0x%016" PRIx64 "), %zu wrong elements, %u of %u rows reported\n",
	       n, n, workers, got, want, wrong, covered, n);

	shmdt(seg);
	if (shmctl(shmid, IPC_RMID, NULL) < 0)
		die("shmctl(IPC_RMID)");
	if (semctl(semid, 0, IPC_RMID) < 0)
		die("semctl(IPC_RMID)");
	free(mine);
	return wrong == 0 && got == want && covered == n ? 0 : 1;
}

static int worker(uint32_t w, key_t key)
{
	const char *mnt = getenv("DIPC_MOUNT"), *slash;
	struct header *h;
	struct layout l;
	int64_t *a, *b, *c, *row;
	uint32_t n, lo, hi, i, k, j;
	struct report *r;
	int shmid;
	char *seg;

	open_sems(key);
	sem(1, -1); /* wait until A and B are in place */
	shmid = shmget(key, 0, 0666 | IPC_DIPC);
	if (shmid < 0)
		die("shmget");
	seg = shmat(shmid, NULL, 0);
	if (seg == (void *)-1)
		die("shmat");
	h = (struct header *)seg;
	if (h->magic != MAGIC || w >= h->workers) {
		fprintf(stderr, "matmul: worker %u: not a matmul segment, or no such worker\n", w);
		return 1;
	}
	n = h->n;
	l = layout_of(n);
	a = (int64_t *)(seg + l.a);
	b = (int64_t *)(seg + l.b);
	c = (int64_t *)(seg + l.c);
	band(n, h->workers, w, l.page, &lo, &hi);

	row = calloc(n, sizeof(*row));
	if (!row)
		die("calloc");
	for (i = lo; i < hi; i++) { /* one row in private memory, then one copy into C */
		memset(row, 0, n * sizeof(*row));
		for (k = 0; k < n; k++) {
			int64_t x = a[(size_t)i * n + k];

			for (j = 0; j < n; j++)
				row[j] += x * b[(size_t)k * n + j];
		}
		memcpy(&c[(size_t)i * n], row, n * sizeof(*row));
	}

	r = &h->rep[w];
	r->pid = getpid();
	r->first = lo;
	r->rows = hi - lo;
	r->sum = checksum(c, n, lo, hi);
	slash = mnt ? strrchr(mnt, '/') : NULL;
	snprintf(r->host, sizeof(r->host), "%s", slash && slash[1] ? slash + 1 : "local");
	r->done = 1;
	printf("matmul: worker %u: rows %u-%u of C (%u rows) done\n", w, lo, hi ? hi - 1 : 0,
	       hi - lo);
	fflush(stdout);
	shmdt(seg);
	free(row);
	sem(0, 1); /* counted in, after the rows are in C */
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "coord") == 0) {
		unsigned long n = strtoul(argv[2], NULL, 10), w = strtoul(argv[3], NULL, 10);

		if (n < 1 || n > 4096 || w < 1 || w > MAX_WORKERS)
			goto usage;
		return coord((uint32_t)n, (uint32_t)w,
			     argc > 4 ? (key_t)strtoul(argv[4], NULL, 0) : 0x5a5a);
	}
	if (argc >= 3 && strcmp(argv[1], "worker") == 0)
		return worker((uint32_t)strtoul(argv[2], NULL, 10),
			      argc > 3 ? (key_t)strtoul(argv[3], NULL, 0) : 0x5a5a);
usage:
	fprintf(stderr, "usage: matmul coord N WORKERS [KEY] | worker I [KEY]\n"
			"  (N 1..4096, WORKERS 1..%d, I 0..WORKERS-1; default KEY 0x5a5a)\n",
		MAX_WORKERS);
	return 2;
}
