/* SPDX-License-Identifier: MIT */
/**
 * @file semtool.c
 *
 * One SysV semaphore call per invocation, for tests that spread a scenario
 * over several processes and nodes.  Plain SysV code: run it natively, or
 * "on a node" with LD_PRELOAD=libdipc.so DIPC_MOUNT=<that node's mount>.
 *
 *   semtool [-n] [-t MS] [-H] [-q] CMD ARGS...
 *
 *   -n      do not add IPC_DIPC to semget flags (for policy tests)
 *   -t MS   op: use semtimedop with this time-out (default: semop)
 *   -H      op: after a successful op, print "held" and wait until stdin
 *           reaches EOF or the process is killed (for SEM_UNDO tests)
 *   -q      quiet: print nothing on success (exit status only)
 *   -A MS   start the command at this CLOCK_REALTIME time (ms since the epoch),
 *           so that processes started apart race for real (creation races)
 *
 * SET is an id ("12345") or "k:KEY" (looked up with semget(KEY, 0, flags)).
 * KEY is decimal, 0x-hex or "private".
 *
 *   create KEY NSEMS MODE [excl]   semget(KEY, NSEMS, IPC_CREAT[|IPC_EXCL]|MODE)
 *   get KEY NSEMS FLAGS            semget(KEY, NSEMS, FLAGS) (FLAGS octal)
 *   op SET SOPS                    SOPS: "num:op[:flags],..." flags n=IPC_NOWAIT
 *                                  u=SEM_UNDO; e.g. "0:-1:u,1:+1"
 *   getval|getpid|getncnt|getzcnt SET NUM
 *   setval SET NUM VAL
 *   getall SET                     prints "vals=1,2,3"
 *   setall SET V0 V1 ...
 *   stat SET                       IPC_STAT: key nsems mode uid gid cuid cgid otime ctime
 *   ipcset SET MODE [UID GID]
 *   rmid SET
 *   wait SET NUM ncnt|zcnt|val N MS   poll until the value is N (bounded)
 *
 * Output: a result line "id=N", "ok", "val=N", "vals=..." or
 * "err ERRNAME" (exit status 1); a usage error exits 2.  "op" also prints
 * "elapsed_ms=N" on a second line.  SIGUSR1 is caught with SA_RESTART and
 * counted, so a test can interrupt a blocked op (semop then fails with EINTR,
 * printed as "err EINTR signals=1").
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progs_common.h"

static int F = IPC_DIPC;
static bool quiet;
static volatile sig_atomic_t n_signals;

static void on_usr1(int sig)
{
	(void)sig;
	n_signals++;
}

static int usage(void)
{
	fprintf(stderr, "usage: semtool [-n] [-t MS] [-H] [-q] CMD ARGS... (see semtool.c)\n");
	return 2;
}

static int fail(void)
{
	int e = errno;

	if (n_signals)
		printf("err %s signals=%d\n", errname(e), (int)n_signals);
	else
		printf("err %s\n", errname(e));
	return 1;
}

static int ok_line(const char *fmt, long v)
{
	if (!quiet)
		printf(fmt, v);
	return 0;
}

static int parse_set(const char *s)
{
	if (strncmp(s, "k:", 2) == 0) {
		int id = semget(parse_key(s + 2), 0, F);

		if (id < 0) {
			printf("err %s (semget)\n", errname(errno));
			exit(1);
		}
		return id;
	}
	return (int)strtol(s, NULL, 0);
}

static int parse_sops(const char *s, struct sembuf *sops, int max)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *p = tok, *end;
		struct sembuf sb = { 0, 0, 0 };

		if (n == max)
			break;
		sb.sem_num = (unsigned short)strtoul(p, &end, 10);
		if (*end != ':')
			return -1;
		p = end + 1;
		sb.sem_op = (short)strtol(p, &end, 10);
		if (*end == ':') {
			for (p = end + 1; *p; p++) {
				if (*p == 'n')
					sb.sem_flg |= IPC_NOWAIT;
				else if (*p == 'u')
					sb.sem_flg |= SEM_UNDO;
				else
					return -1;
			}
		} else if (*end) {
			return -1;
		}
		sops[n++] = sb;
	}
	free(copy);
	return n;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	long timeout_ms = -1;
	long long start_at = 0;
	bool hold = false;
	const char *cmd;
	int opt, id;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	while ((opt = getopt(argc, argv, "+nt:HqA:")) != -1) {
		switch (opt) {
		case 'A':
			start_at = strtoll(optarg, NULL, 10);
			break;
		case 'n':
			F = 0;
			break;
		case 't':
			timeout_ms = strtol(optarg, NULL, 10);
			break;
		case 'H':
			hold = true;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage();
	cmd = argv[0];
	if (start_at) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (start_at > now + 60000)
			return usage();
		if (start_at > now) {
			struct timespec until = { start_at / 1000, (start_at % 1000) * 1000000L };

			while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL) == EINTR)
				;
		}
	}

	if (strcmp(cmd, "create") == 0 || strcmp(cmd, "get") == 0) {
		int flags;

		if (argc < 4)
			return usage();
		if (strcmp(cmd, "create") == 0) {
			flags = IPC_CREAT | (int)strtol(argv[3], NULL, 8);
			if (argc > 4 && strcmp(argv[4], "excl") == 0)
				flags |= IPC_EXCL;
		} else {
			flags = (int)strtol(argv[3], NULL, 8);
		}
		id = semget(parse_key(argv[1]), (int)strtol(argv[2], NULL, 0), flags | F);
		if (id < 0)
			return fail();
		printf("id=%d\n", id);
		return 0;
	}
	if (argc < 2)
		return usage();
	id = parse_set(argv[1]);

	if (strcmp(cmd, "op") == 0) {
		struct sembuf sops[64];
		struct timespec ts;
		int64_t t0;
		int n, r;

		if (argc < 3 || (n = parse_sops(argv[2], sops, 64)) < 0)
			return usage();
		if (timeout_ms >= 0) {
			ts.tv_sec = timeout_ms / 1000;
			ts.tv_nsec = (timeout_ms % 1000) * 1000000L;
		}
		if (!quiet)
			fprintf(stderr, "semtool: op start pid %d\n", (int)getpid());
		t0 = now_ms();
		r = timeout_ms >= 0 ? semtimedop(id, sops, n, &ts) : semop(id, sops, n);
		if (r < 0) {
			int e = errno;

			fail();
			printf("elapsed_ms=%lld\n", (long long)(now_ms() - t0));
			(void)e;
			return 1;
		}
		if (!quiet) {
			printf("ok\n");
			printf("elapsed_ms=%lld\n", (long long)(now_ms() - t0));
		}
		if (hold) {
			char buf[64];

			printf("held\n");
			fflush(stdout);
			while (read(0, buf, sizeof(buf)) > 0)
				;
		}
		return 0;
	}
	if (strcmp(cmd, "getval") == 0 || strcmp(cmd, "getpid") == 0 ||
	    strcmp(cmd, "getncnt") == 0 || strcmp(cmd, "getzcnt") == 0) {
		int c = cmd[3] == 'v' ? GETVAL : cmd[3] == 'p' ? GETPID : cmd[3] == 'n' ? GETNCNT
										      : GETZCNT;
		int r;

		if (argc < 3)
			return usage();
		r = semctl(id, atoi(argv[2]), c);
		if (r < 0)
			return fail();
		printf("val=%d\n", r);
		return 0;
	}
	if (strcmp(cmd, "setval") == 0) {
		union semun a;

		if (argc < 4)
			return usage();
		a.val = atoi(argv[3]);
		if (semctl(id, atoi(argv[2]), SETVAL, a) < 0)
			return fail();
		return ok_line("ok\n", 0);
	}
	if (strcmp(cmd, "getall") == 0 || strcmp(cmd, "setall") == 0 ||
	    strcmp(cmd, "stat") == 0) {
		struct semid_ds ds;
		union semun a = { .buf = &ds };
		unsigned short *v;
		unsigned i;

		if (semctl(id, 0, IPC_STAT, a) < 0)
			return fail();
		if (strcmp(cmd, "stat") == 0) {
			printf("key=0x%08x nsems=%lu mode=%o uid=%u gid=%u cuid=%u cgid=%u "
			       "otime=%lld ctime=%lld\n",
			       (unsigned)ds.sem_perm.__key, (unsigned long)ds.sem_nsems,
			       (unsigned)ds.sem_perm.mode, (unsigned)ds.sem_perm.uid,
			       (unsigned)ds.sem_perm.gid, (unsigned)ds.sem_perm.cuid,
			       (unsigned)ds.sem_perm.cgid, (long long)ds.sem_otime,
			       (long long)ds.sem_ctime);
			return 0;
		}
		v = calloc(ds.sem_nsems + 1, sizeof(*v));
		a.array = v;
		if (strcmp(cmd, "setall") == 0) {
			if ((unsigned long)argc - 2 != ds.sem_nsems) {
				fprintf(stderr, "semtool: set has %lu semaphores\n",
					(unsigned long)ds.sem_nsems);
				return 2;
			}
			for (i = 0; i < ds.sem_nsems; i++)
				v[i] = (unsigned short)atoi(argv[2 + i]);
			if (semctl(id, 0, SETALL, a) < 0)
				return fail();
			return ok_line("ok\n", 0);
		}
		if (semctl(id, 0, GETALL, a) < 0)
			return fail();
		printf("vals=");
		for (i = 0; i < ds.sem_nsems; i++)
			printf("%s%u", i ? "," : "", v[i]);
		printf("\n");
		return 0;
	}
	if (strcmp(cmd, "ipcset") == 0) {
		struct semid_ds ds;
		union semun a = { .buf = &ds };

		if (argc < 3)
			return usage();
		if (semctl(id, 0, IPC_STAT, a) < 0)
			return fail();
		ds.sem_perm.mode = (unsigned short)strtol(argv[2], NULL, 8);
		if (argc >= 5) {
			ds.sem_perm.uid = (uid_t)atoi(argv[3]);
			ds.sem_perm.gid = (gid_t)atoi(argv[4]);
		}
		if (semctl(id, 0, IPC_SET, a) < 0)
			return fail();
		return ok_line("ok\n", 0);
	}
	if (strcmp(cmd, "rmid") == 0) {
		if (semctl(id, 0, IPC_RMID) < 0)
			return fail();
		return ok_line("ok\n", 0);
	}
	if (strcmp(cmd, "wait") == 0) {
		int num, c, want, v = -1;
		int64_t end;

		if (argc < 6)
			return usage();
		num = atoi(argv[2]);
		c = strcmp(argv[3], "ncnt") == 0 ? GETNCNT
		    : strcmp(argv[3], "zcnt") == 0 ? GETZCNT
						 : GETVAL;
		want = atoi(argv[4]);
		end = now_ms() + atol(argv[5]);
		do {
			v = semctl(id, num, c);
			if (v < 0)
				return fail();
			if (v == want)
				return ok_line("ok\n", 0);
			sleep_ms(2);
		} while (now_ms() < end);
		printf("err timeout value=%d\n", v);
		return 1;
	}
	return usage();
}
