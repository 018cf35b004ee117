/* SPDX-License-Identifier: MIT */
/**
 * @file shmtool.c
 *
 * Shared-memory scenarios for tests that spread over several processes and
 * nodes.  Plain SysV code: run it natively, or "on a node" with
 * LD_PRELOAD=libdipc.so DIPC_MOUNT=<that node's mount>.  The memory commands
 * load and store through an ordinary shmat() mapping, never through a
 * system call, so that what they check is the consistency of the memory
 * itself: a protocol that let a node read a stale page, or write a stale
 * copy back over a newer one, makes them fail.
 *
 *   shmtool [-n] [-A MS] CMD ARGS...
 *
 *   -n      do not add IPC_DIPC to shmget flags (native, or policy tests)
 *   -A MS   start the command at this CLOCK_REALTIME time (ms since the
 *           epoch), so that processes started apart really run together
 *
 * SEG is a key ("0x1234", looked up with shmget(KEY, 0, flags)) or "id:N".
 * OFF, LEN and SIZE are byte counts (decimal or 0x-hex).  Integers in the
 * segment are 32-bit, native byte order, at 4-byte aligned offsets.
 *
 *   create KEY SIZE MODE [excl]  shmget(KEY, SIZE, IPC_CREAT[|IPC_EXCL]|MODE)
 *   get KEY SIZE FLAGS           shmget(KEY, SIZE, FLAGS) (FLAGS octal)
 *   write SEG OFF STRING         attach, copy STRING (no NUL) to OFF, detach
 *   read SEG OFF LEN             prints "text=..." (non-printables as '.')
 *                                and "hex=..."
 *   fill SEG OFF LEN BYTE        memset
 *   set SEG OFF VALUE            store a 32-bit value; prints "t_ms=" (the
 *                                CLOCK_MONOTONIC time just before the store)
 *   peek SEG OFF                 prints "val=N"
 *   spin SEG OFF VALUE TIMEOUT_MS
 *                                attach, print "ready", then load the 32-bit
 *                                value at OFF in a loop without any system
 *                                call until it equals VALUE (the clock is read
 *                                through the vDSO every 2^20 loads); prints
 *                                "seen_ms=T elapsed_ms=N loads=N"; on time-out
 *                                "err timeout val=V" (exit 1)
 *   stat SEG                     IPC_STAT: "id= key= segsz= mode= uid= gid=
 *                                cuid= cgid= nattch= cpid= lpid= atime=
 *                                dtime= ctime="
 *   rm SEG                       IPC_RMID
 *   ipcset SEG MODE [UID GID]    IPC_SET
 *   hold SEG SECONDS [rdonly]    attach, print "attached", wait until stdin
 *                                reaches EOF or SECONDS pass, detach, exit
 *   session SEG [rdonly]         attach, print "attached", then obey stdin
 *                                lines, one reply line each:
 *                                  w OFF STRING   -> ok
 *                                  r OFF LEN      -> text=...
 *                                  s OFF VALUE    -> ok
 *                                  g OFF          -> val=N
 *                                  stat           -> the stat line of the id
 *                                  dt             -> ok (shmdt)
 *                                  q              -> exit 0
 *   forkhold SEG                 attach, fork; the child prints "forked" and
 *                                both wait until stdin reaches EOF; the child
 *                                exits, the parent reaps it and exits (both
 *                                detach by exiting)
 *   stride SEG FIRST COUNT STEP VALUE
 *                                store VALUE+i at the start of pages FIRST +
 *                                i*STEP (i < COUNT), then check them all
 *   execsleep SEG SECONDS        attach, print "attached", exec /bin/sleep
 *                                SECONDS (exec detaches)
 *   counter SEG SEMKEY N         N times: P on semaphore 0 of the set SEMKEY
 *                                (semget(SEMKEY, 1, flags); it must exist with
 *                                value 1), plain non-atomic read-modify-write
 *                                of the 32-bit counters at offsets 0 and
 *                                PAGE+64 (a pause between the load and the
 *                                store widens the window), V.  Prints
 *                                "done n=N"
 *   msgpass SEG writer ROUNDS NREADERS
 *   msgpass SEG reader ROUNDS IDX
 *                                data then flag.  Layout: flag at 0, reader
 *                                IDX's acknowledgement at PAGE*(1+IDX) (IDX <
 *                                4), data at PAGE*5 .. PAGE*8 (the segment must
 *                                be at least 8 pages).  For round = 1..ROUNDS
 *                                the writer waits until every reader acked
 *                                round-1, writes the round's data (a pattern
 *                                of the round number in every word, three
 *                                pages), then the flag = round.  A reader
 *                                spins until the flag is round, checks every
 *                                word of the data ("err data round=R word=W
 *                                got=G want=X" and exit 1 if one is stale),
 *                                then acks.  Prints "done rounds=N"
 *   pages SEG FIRST COUNT SLOT MS
 *                                for MS milliseconds: for every page FIRST ..
 *                                FIRST+COUNT-1, check that the 32-bit counter
 *                                at PAGE*page + 64*SLOT holds the number of
 *                                completed iterations, then increment it
 *                                (plain load and store: this process is its
 *                                only writer).  Also writes its SLOT into a
 *                                byte of its slot area.  Prints "iters=N";
 *                                "err lost page=P got=G want=W" (exit 1) when
 *                                a counter went back (a lost update)
 *   pagecheck SEG FIRST COUNT SLOT VALUE
 *                                every counter of pages FIRST.. slot SLOT
 *                                equals VALUE: "ok", or "err page=P got=G"
 *
 * Output: result lines of "key=value" words, "ok", or "err ERRNAME ..."
 * (exit status 1); a usage error exits 2.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progs_common.h"

#define BAD ((void *)-1)
#define MAX_READERS 4

static int F = IPC_DIPC;
static long PG;

static void usage(void)
{
	fprintf(stderr, "usage: shmtool [-n] [-A MS] CMD ARGS... (see shmtool.c)\n");
	exit(2);
}

static int fail(const char *what)
{
	printf("err %s %s\n", errname(errno), what);
	return 1;
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s)
		usage();
	return v;
}

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SEG: "id:N" or a key. */
static int seg_id(const char *s)
{
	if (strncmp(s, "id:", 3) == 0)
		return (int)num(s + 3);
	return shmget(parse_key(s), 0, F);
}

static size_t seg_size(int id)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds) < 0)
		return 0;
	return ds.shm_segsz;
}

/* Attach SEG; NULL (with the error printed) on failure. */
static unsigned char *attach(const char *seg, int flg, int *idp, size_t *sizep)
{
	int id = seg_id(seg);
	unsigned char *p;

	if (id < 0) {
		fail("shmget");
		return NULL;
	}
	p = shmat(id, NULL, flg);
	if (p == BAD) {
		fail("shmat");
		return NULL;
	}
	if (idp)
		*idp = id;
	if (sizep)
		*sizep = seg_size(id);
	return p;
}

static bool in_range(size_t size, unsigned long off, unsigned long len)
{
	if (off > size || len > size - off) {
		printf("err ERANGE offset %lu+%lu beyond the segment (%zu bytes)\n", off, len, size);
		return false;
	}
	return true;
}

static void print_bytes(const volatile unsigned char *p, size_t n)
{
	size_t i;

	printf("text=");
	for (i = 0; i < n; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f && p[i] != ' ' ? p[i] : '.');
	printf(" hex=");
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

static int print_stat(int id)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds) < 0)
		return fail("IPC_STAT");
	printf("id=%d key=0x%08x segsz=%zu mode=%o uid=%u gid=%u cuid=%u cgid=%u nattch=%lu"
	       " cpid=%d lpid=%d atime=%lld dtime=%lld ctime=%lld\n",
	       id, (unsigned)ds.shm_perm.__key, ds.shm_segsz, (unsigned)ds.shm_perm.mode,
	       (unsigned)ds.shm_perm.uid, (unsigned)ds.shm_perm.gid, (unsigned)ds.shm_perm.cuid,
	       (unsigned)ds.shm_perm.cgid, (unsigned long)ds.shm_nattch, (int)ds.shm_cpid,
	       (int)ds.shm_lpid, (long long)ds.shm_atime, (long long)ds.shm_dtime,
	       (long long)ds.shm_ctime);
	return 0;
}

static volatile uint32_t *word(unsigned char *p, size_t off)
{
	return (volatile uint32_t *)(p + off);
}

/* ---- commands ------------------------------------------------------------ */

static int cmd_create(int argc, char **argv)
{
	int flg, id;

	if (argc < 4)
		usage();
	flg = IPC_CREAT | (int)strtol(argv[3], NULL, 8) | F;
	if (argc > 4 && strcmp(argv[4], "excl") == 0)
		flg |= IPC_EXCL;
	id = shmget(parse_key(argv[1]), num(argv[2]), flg);
	if (id < 0)
		return fail("shmget");
	printf("id=%d\n", id);
	return 0;
}

static int cmd_get(int argc, char **argv)
{
	int id;

	if (argc < 4)
		usage();
	id = shmget(parse_key(argv[1]), num(argv[2]), (int)strtol(argv[3], NULL, 8) | F);
	if (id < 0)
		return fail("shmget");
	printf("id=%d\n", id);
	return 0;
}

static int cmd_write(int argc, char **argv)
{
	unsigned long off;
	size_t size, len;
	unsigned char *p;

	if (argc < 4)
		usage();
	off = num(argv[2]);
	len = strlen(argv[3]);
	p = attach(argv[1], 0, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, off, len))
		return 1;
	memcpy(p + off, argv[3], len);
	shmdt(p);
	printf("ok\n");
	return 0;
}

static int cmd_read(int argc, char **argv)
{
	unsigned long off, len;
	unsigned char *p;
	size_t size;

	if (argc < 4)
		usage();
	off = num(argv[2]);
	len = num(argv[3]);
	p = attach(argv[1], SHM_RDONLY, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, off, len))
		return 1;
	print_bytes(p + off, len);
	shmdt(p);
	return 0;
}

static int cmd_fill(int argc, char **argv)
{
	unsigned long off, len;
	unsigned char *p;
	size_t size;

	if (argc < 5)
		usage();
	off = num(argv[2]);
	len = num(argv[3]);
	p = attach(argv[1], 0, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, off, len))
		return 1;
	memset(p + off, (int)num(argv[4]), len);
	shmdt(p);
	printf("ok\n");
	return 0;
}

static int cmd_set(int argc, char **argv)
{
	unsigned long off;
	unsigned char *p;
	size_t size;
	int64_t t;

	if (argc < 4)
		usage();
	off = num(argv[2]);
	p = attach(argv[1], 0, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, off, 4))
		return 1;
	t = now_ms();
	*word(p, off) = (uint32_t)strtoul(argv[3], NULL, 0);
	shmdt(p);
	printf("ok t_ms=%lld\n", (long long)t);
	return 0;
}

static int cmd_peek(int argc, char **argv)
{
	unsigned long off;
	unsigned char *p;
	size_t size;

	if (argc < 3)
		usage();
	off = num(argv[2]);
	p = attach(argv[1], SHM_RDONLY, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, off, 4))
		return 1;
	printf("val=%u\n", *word(p, off));
	shmdt(p);
	return 0;
}

static int cmd_spin(int argc, char **argv)
{
	unsigned long off, loads = 0;
	uint32_t want, v;
	int64_t t0, t, limit;
	unsigned char *p;
	volatile uint32_t *w;
	size_t size;

	if (argc < 5)
		usage();
	off = num(argv[2]);
	want = (uint32_t)strtoul(argv[3], NULL, 0);
	limit = (int64_t)num(argv[4]);
	p = attach(argv[1], SHM_RDONLY, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, off, 4))
		return 1;
	w = word(p, off);
	v = *w; /* fault the page in before saying "ready" */
	printf("ready val=%u\n", v);
	fflush(stdout);
	t0 = t = now_ms();
	/* No system call in this loop: only a load, and now and then a read of
	 * the clock through the vDSO. */
	for (;;) {
		v = *w;
		loads++;
		if (v == want)
			break;
		if ((loads & 0xfffff) == 0) {
			t = now_ms();
			if (t - t0 > limit) {
				printf("err timeout val=%u loads=%lu\n", v, loads);
				return 1;
			}
		}
	}
	t = now_ms();
	printf("seen_ms=%lld elapsed_ms=%lld loads=%lu\n", (long long)t, (long long)(t - t0),
	       loads);
	shmdt(p);
	return 0;
}

static int cmd_stat(int argc, char **argv)
{
	int id;

	if (argc < 2)
		usage();
	id = seg_id(argv[1]);
	if (id < 0)
		return fail("shmget");
	return print_stat(id);
}

static int cmd_rm(int argc, char **argv)
{
	int id;

	if (argc < 2)
		usage();
	id = seg_id(argv[1]);
	if (id < 0)
		return fail("shmget");
	if (shmctl(id, IPC_RMID, NULL) < 0)
		return fail("IPC_RMID");
	printf("ok\n");
	return 0;
}

static int cmd_ipcset(int argc, char **argv)
{
	struct shmid_ds ds;
	int id;

	if (argc < 3)
		usage();
	id = seg_id(argv[1]);
	if (id < 0)
		return fail("shmget");
	if (shmctl(id, IPC_STAT, &ds) < 0)
		return fail("IPC_STAT");
	ds.shm_perm.mode = (unsigned short)strtol(argv[2], NULL, 8);
	if (argc >= 5) {
		ds.shm_perm.uid = (uid_t)num(argv[3]);
		ds.shm_perm.gid = (gid_t)num(argv[4]);
	}
	if (shmctl(id, IPC_SET, &ds) < 0)
		return fail("IPC_SET");
	printf("ok\n");
	return 0;
}

static int cmd_hold(int argc, char **argv)
{
	struct pollfd pfd = { 0, POLLIN, 0 };
	unsigned char *p;
	int64_t end;
	char buf[64];

	if (argc < 3)
		usage();
	p = attach(argv[1], argc > 3 && strcmp(argv[3], "rdonly") == 0 ? SHM_RDONLY : 0, NULL,
		   NULL);
	if (!p)
		return 1;
	printf("attached\n");
	fflush(stdout);
	end = now_ms() + (int64_t)num(argv[2]) * 1000;
	while (now_ms() < end) {
		int n = poll(&pfd, 1, (int)(end - now_ms()));

		if (n > 0 && read(0, buf, sizeof(buf)) <= 0)
			break;
		if (n < 0 && errno != EINTR)
			break;
	}
	if (shmdt(p) < 0)
		return fail("shmdt");
	printf("detached\n");
	return 0;
}

static int cmd_session(int argc, char **argv)
{
	unsigned char *p;
	size_t size;
	char line[4096];
	int id;

	if (argc < 2)
		usage();
	p = attach(argv[1], argc > 2 && strcmp(argv[2], "rdonly") == 0 ? SHM_RDONLY : 0, &id,
		   &size);
	if (!p)
		return 1;
	printf("attached id=%d\n", id);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char op[16] = "", arg2[4000] = "";
		unsigned long off = 0, len = 0;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%15s %lu %3999s", op, &off, arg2) < 1)
			continue;
		if (strcmp(op, "w") == 0) {
			len = strlen(arg2);
			if (in_range(size, off, len)) {
				memcpy(p + off, arg2, len);
				printf("ok\n");
			}
		} else if (strcmp(op, "r") == 0) {
			len = strtoul(arg2, NULL, 0);
			if (in_range(size, off, len))
				print_bytes(p + off, len);
		} else if (strcmp(op, "s") == 0) {
			if (in_range(size, off, 4)) {
				*word(p, off) = (uint32_t)strtoul(arg2, NULL, 0);
				printf("ok\n");
			}
		} else if (strcmp(op, "g") == 0) {
			if (in_range(size, off, 4))
				printf("val=%u\n", *word(p, off));
		} else if (strcmp(op, "stat") == 0) {
			print_stat(id);
		} else if (strcmp(op, "dt") == 0) {
			if (shmdt(p) < 0)
				fail("shmdt");
			else
				printf("ok\n");
		} else if (strcmp(op, "q") == 0) {
			break;
		} else {
			printf("err EINVAL unknown session command\n");
		}
		fflush(stdout);
	}
	return 0;
}

static void wait_stdin_eof(void)
{
	char buf[64];
	ssize_t n;

	do
		n = read(0, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
}

static int cmd_forkhold(int argc, char **argv)
{
	unsigned char *p;
	pid_t pid;
	int st;

	if (argc < 2)
		usage();
	p = attach(argv[1], 0, NULL, NULL);
	if (!p)
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		p[8] = 1; /* the inherited attach is usable */
		printf("forked\n");
		fflush(stdout);
		wait_stdin_eof();
		_exit(0);
	}
	wait_stdin_eof();
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail("child");
	printf("done\n");
	return 0;
}

static int cmd_execsleep(int argc, char **argv)
{
	unsigned char *p;

	if (argc < 3)
		usage();
	p = attach(argv[1], 0, NULL, NULL);
	if (!p)
		return 1;
	p[12] = 1;
	printf("attached\n");
	fflush(stdout);
	execl("/bin/sleep", "sleep", argv[2], (char *)NULL);
	return fail("exec");
}

/* A short busy pause with no system call: widens the window between a load
 * and the store that depends on it. */
static void pause_loads(int n)
{
	volatile int x = 0;

	while (n-- > 0)
		x++;
}

static int cmd_counter(int argc, char **argv)
{
	struct sembuf P = { 0, -1, SEM_UNDO }, V = { 0, 1, SEM_UNDO };
	volatile uint32_t *c1, *c2;
	unsigned long i, n;
	unsigned char *p;
	size_t size;
	int sid;

	if (argc < 4)
		usage();
	n = num(argv[3]);
	sid = semget(parse_key(argv[2]), 1, F);
	if (sid < 0)
		return fail("semget");
	p = attach(argv[1], 0, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, (unsigned long)PG + 64, 4))
		return 1;
	c1 = word(p, 0);
	c2 = word(p, (size_t)PG + 64);
	for (i = 0; i < n; i++) {
		uint32_t v1, v2;

		if (semop(sid, &P, 1) < 0)
			return fail("semop P");
		v1 = *c1;
		v2 = *c2;
		pause_loads(2000);
		*c1 = v1 + 1;
		*c2 = v2 + 1;
		if (semop(sid, &V, 1) < 0)
			return fail("semop V");
	}
	shmdt(p);
	printf("done n=%lu\n", n);
	return 0;
}

#define DATA_PAGES 3

static uint32_t pattern(uint32_t round, size_t i)
{
	return round * 2654435761u ^ (uint32_t)(i * 40503u + 1);
}

/* Spin (no system call but an occasional sched_yield, which no shim
 * touches) until *w == want; false on time-out. */
static bool wait_word(volatile uint32_t *w, uint32_t want, int64_t deadline, uint32_t *seen)
{
	unsigned long loads = 0;

	for (;;) {
		uint32_t v = *w;

		if (v == want) {
			*seen = v;
			return true;
		}
		if (++loads % 65536 == 0) {
			sched_yield();
			if (now_ms() > deadline) {
				*seen = v;
				return false;
			}
		}
	}
}

static int cmd_msgpass(int argc, char **argv)
{
	unsigned long rounds, idx, round;
	size_t size, nwords, i;
	int64_t deadline = now_ms() + 120000;
	volatile uint32_t *flag, *data;
	unsigned char *p;
	uint32_t seen;
	bool writer;

	if (argc < 5)
		usage();
	writer = strcmp(argv[2], "writer") == 0;
	if (!writer && strcmp(argv[2], "reader") != 0)
		usage();
	rounds = num(argv[3]);
	idx = num(argv[4]); /* NREADERS for the writer, IDX for a reader */
	if (writer ? idx < 1 || idx > MAX_READERS : idx >= MAX_READERS)
		usage();
	p = attach(argv[1], 0, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, 0, (size_t)PG * (1 + MAX_READERS + DATA_PAGES)))
		return 1;
	flag = word(p, 0);
	data = word(p, (size_t)PG * (1 + MAX_READERS));
	nwords = (size_t)PG * DATA_PAGES / 4;
	for (round = 1; round <= rounds; round++) {
		if (writer) {
			unsigned long r;

			for (r = 0; r < idx; r++)
				if (!wait_word(word(p, (size_t)PG * (1 + r)), (uint32_t)round - 1,
					       deadline, &seen)) {
					printf("err timeout round=%lu reader=%lu ack=%u\n", round, r,
					       seen);
					return 1;
				}
			for (i = 0; i < nwords; i++)
				data[i] = pattern((uint32_t)round, i);
			*flag = (uint32_t)round;
		} else {
			if (!wait_word(flag, (uint32_t)round, deadline, &seen)) {
				printf("err timeout round=%lu flag=%u\n", round, seen);
				return 1;
			}
			for (i = 0; i < nwords; i++) {
				uint32_t got = data[i];

				if (got != pattern((uint32_t)round, i)) {
					printf("err data round=%lu word=%zu got=%u want=%u\n", round,
					       i, got, pattern((uint32_t)round, i));
					return 1;
				}
			}
			/* the flag never runs ahead of the acknowledgements */
			if (*flag != (uint32_t)round) {
				printf("err flag round=%lu flag=%u\n", round, *flag);
				return 1;
			}
			*word(p, (size_t)PG * (1 + idx)) = (uint32_t)round;
		}
	}
	shmdt(p);
	printf("done rounds=%lu\n", rounds);
	return 0;
}

static int cmd_pages(int argc, char **argv)
{
	unsigned long first, count, slot, pg;
	uint32_t iters = 0;
	int64_t end;
	unsigned char *p;
	size_t size;

	if (argc < 6)
		usage();
	first = num(argv[2]);
	count = num(argv[3]);
	slot = num(argv[4]);
	if (slot >= (unsigned long)PG / 64)
		usage();
	p = attach(argv[1], 0, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, (size_t)PG * first, (size_t)PG * count))
		return 1;
	end = now_ms() + (int64_t)num(argv[5]);
	do {
		for (pg = first; pg < first + count; pg++) {
			unsigned char *a = p + (size_t)PG * pg + 64 * slot;
			volatile uint32_t *c = word(a, 0);
			uint32_t v = *c;

			if (v != iters) {
				printf("err lost page=%lu got=%u want=%u\n", pg, v, iters);
				return 1;
			}
			*c = v + 1;
			a[4 + iters % 60] = (unsigned char)slot;
		}
		iters++;
	} while (now_ms() < end);
	for (pg = first; pg < first + count; pg++) {
		uint32_t v = *word(p, (size_t)PG * pg + 64 * slot);

		if (v != iters) {
			printf("err lost page=%lu got=%u want=%u\n", pg, v, iters);
			return 1;
		}
	}
	shmdt(p);
	printf("iters=%u\n", iters);
	return 0;
}

/* stride SEG FIRST COUNT STEP VALUE: store VALUE+i into the first word of
 * pages FIRST, FIRST+STEP, ... (COUNT of them), then load them all back.
 * Every other page written makes a writable island per page: past
 * vm.max_map_count of them the shim must still cope. */
static int cmd_stride(int argc, char **argv)
{
	unsigned long first, count, step, i;
	uint32_t value;
	unsigned char *p;
	size_t size;

	if (argc < 6)
		usage();
	first = num(argv[2]);
	count = num(argv[3]);
	step = num(argv[4]);
	value = (uint32_t)num(argv[5]);
	p = attach(argv[1], 0, NULL, &size);
	if (!p)
		return 1;
	if (!step || !in_range(size, (size_t)PG * first, (size_t)PG * ((count - 1) * step + 1)))
		return 1;
	for (i = 0; i < count; i++)
		*word(p, (size_t)PG * (first + i * step)) = value + (uint32_t)i;
	for (i = 0; i < count; i++) {
		uint32_t v = *word(p, (size_t)PG * (first + i * step));
		if (v != value + (uint32_t)i) {
			printf("err page=%lu got=%u want=%u\n", first + i * step, v,
			       value + (uint32_t)i);
			return 1;
		}
	}
	shmdt(p);
	printf("ok pages=%lu\n", count);
	return 0;
}

static int cmd_pagecheck(int argc, char **argv)
{
	unsigned long first, count, slot, pg;
	uint32_t want;
	unsigned char *p;
	size_t size;

	if (argc < 6)
		usage();
	first = num(argv[2]);
	count = num(argv[3]);
	slot = num(argv[4]);
	want = (uint32_t)num(argv[5]);
	p = attach(argv[1], SHM_RDONLY, NULL, &size);
	if (!p)
		return 1;
	if (!in_range(size, (size_t)PG * first, (size_t)PG * count))
		return 1;
	for (pg = first; pg < first + count; pg++) {
		uint32_t v = *word(p, (size_t)PG * pg + 64 * slot);

		if (v != want) {
			printf("err page=%lu got=%u want=%u\n", pg, v, want);
			return 1;
		}
	}
	shmdt(p);
	printf("ok\n");
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} cmds[] = {
	{ "create", cmd_create }, { "get", cmd_get },	       { "write", cmd_write },
	{ "read", cmd_read },	  { "fill", cmd_fill },	       { "set", cmd_set },
	{ "peek", cmd_peek },	  { "spin", cmd_spin },	       { "stat", cmd_stat },
	{ "rm", cmd_rm },	  { "ipcset", cmd_ipcset },    { "hold", cmd_hold },
	{ "session", cmd_session }, { "counter", cmd_counter }, { "msgpass", cmd_msgpass },
	{ "forkhold", cmd_forkhold }, { "execsleep", cmd_execsleep },
	{ "pages", cmd_pages },	  { "pagecheck", cmd_pagecheck }, { "stride", cmd_stride },
};

int main(int argc, char **argv)
{
	int64_t start_at = 0;
	unsigned i;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	PG = sysconf(_SC_PAGESIZE);
	while ((opt = getopt(argc, argv, "+nA:")) != -1) {
		switch (opt) {
		case 'n':
			F = 0;
			break;
		case 'A':
			start_at = (int64_t)num(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (start_at) {
		int64_t d = start_at - realtime_ms();

		if (d > 0)
			sleep_ms((int)d);
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(argc, argv);
	usage();
	return 2;
}
