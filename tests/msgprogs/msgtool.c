/* SPDX-License-Identifier: MIT */
/**
 * @file msgtool.c
 *
 * One System V message-queue call per invocation (or one loop of them), for
 * tests that spread a scenario over several processes and nodes.  Plain SysV
 * code: run it natively, or "on a node" with LD_PRELOAD=libdipc.so
 * DIPC_MOUNT=<that node's mount>.
 *
 *   msgtool [-n] [-i US] [-I] CMD ARGS...
 *
 *   -n      do not add IPC_DIPC to msgget flags (for policy tests)
 *   -i US   a SIGALRM handler runs every US microseconds (setitimer); a
 *           msgsnd/msgrcv it interrupts fails with EINTR, and the loop
 *           commands (sendseq, recvseq) count that and call again
 *   -I      the SIGUSR1 handler is installed without SA_RESTART (default:
 *           with SA_RESTART, which must not matter for msgsnd/msgrcv)
 *
 * Q is an id ("12345") or "k:KEY" (msgget(KEY, 0 [| IPC_DIPC])).  KEY is
 * decimal, 0x-hex or "private".  FLAGS of send/recv are letters: n
 * IPC_NOWAIT, e MSG_NOERROR, x MSG_EXCEPT ("-" for none).
 *
 *   create KEY MODE [excl]        msgget(KEY, IPC_CREAT[|IPC_EXCL]|MODE)  -> id=N
 *   get KEY FLAGS                 msgget(KEY, FLAGS) (FLAGS octal)        -> id=N
 *   send Q TYPE TEXT|@N [FLAGS]   TEXT literally, or @N: N pattern bytes -> ok
 *   recv Q MSGTYP [FLAGS [MAX]]   MAX: the buffer size (default 65536)
 *                                 -> type=T size=S pattern_ok=0|1 [text=...]
 *   stat Q                        IPC_STAT -> key= mode= uid= gid= cuid= cgid=
 *                                 qnum= cbytes= qbytes= lspid= lrpid= stime= rtime= ctime=
 *   set Q MODE UID GID QBYTES     IPC_SET ("-" keeps a field as IPC_STAT has it)
 *   rmid Q
 *   info Q ipc|msg                IPC_INFO / MSG_INFO -> msgmax= msgmnb= msgmni= ...
 *   wait Q qnum N MS              poll IPC_STAT until msg_qnum is N (bounded)
 *   sendseq Q N [TYPE [SIZE [SENDER]]]
 *                                 N messages "SENDER, i" (i = 0..N-1) of SIZE
 *                                 bytes (>= 12, default 16) and type TYPE
 *                                 (default 1) -> sent=N eintr=K
 *   recvseq Q N [MSGTYP [MAX]]    receive N messages of sendseq and check
 *                                 them: per sender, seq must go 0, 1, 2...
 *                                 -> received=N in_order=1 gaps=0 dups=0 bad=0 eintr=K
 *
 * Output: a result line ("id=N", "ok", "type=...", ...) or "err ERRNAME"
 * (exit status 1); a usage error exits 2.  send and recv also print
 * "elapsed_ms=N" on a second line.  SIGUSR1 is caught and counted, so a test
 * can interrupt a blocked call: it prints "err EINTR signals=1".  Before a
 * call that may block, "start pid=N" goes to stderr.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "msgprogs.h"

#define SEQ_MAGIC 0x51455353u /* "SSEQ" */
#define MAX_SENDERS 64

static int F = IPC_DIPC;
static volatile sig_atomic_t n_signals;
static volatile sig_atomic_t n_alarms;

struct mbuf {
	long mtype;
	char mtext[];
};

static void on_usr1(int sig)
{
	(void)sig;
	n_signals++;
}

static void on_alarm(int sig)
{
	(void)sig;
	n_alarms++;
}

static int usage(void)
{
	fprintf(stderr, "usage: msgtool [-n] [-i US] [-I] CMD ARGS... (see msgtool.c)\n");
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

static int queue_arg(const char *s)
{
	if (strncmp(s, "k:", 2) == 0) {
		int id = msgget(parse_key(s + 2), 0 | F);

		if (id < 0) {
			printf("err %s (msgget)\n", errname(errno));
			exit(1);
		}
		return id;
	}
	return (int)strtol(s, NULL, 0);
}

static struct mbuf *mbuf_new(size_t n)
{
	struct mbuf *m = calloc(1, sizeof(long) + n + 1);

	if (!m) {
		perror("calloc");
		exit(2);
	}
	return m;
}

static bool printable(const char *p, size_t n)
{
	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= ' ' || p[i] > '~')
			return false;
	return true;
}

static void start_note(void)
{
	fprintf(stderr, "start pid=%d\n", (int)getpid());
	fflush(stderr);
}

/* ---- single calls --------------------------------------------------------- */

static int cmd_send(int argc, char **argv)
{
	struct mbuf *m;
	size_t n;
	int64_t t0;
	int q;

	if (argc < 3)
		return usage();
	q = queue_arg(argv[0]);
	if (argv[2][0] == '@') {
		n = strtoul(argv[2] + 1, NULL, 0);
		m = mbuf_new(n);
		m->mtype = strtol(argv[1], NULL, 0);
		pattern_fill(m->mtext, m->mtype, n);
	} else {
		n = strlen(argv[2]);
		m = mbuf_new(n);
		m->mtype = strtol(argv[1], NULL, 0);
		memcpy(m->mtext, argv[2], n);
	}
	start_note();
	t0 = now_ms();
	if (msgsnd(q, m, n, argc > 3 ? parse_msgflags(argv[3]) : 0) < 0) {
		int r = fail();

		printf("elapsed_ms=%lld\n", (long long)(now_ms() - t0));
		return r;
	}
	printf("ok\nelapsed_ms=%lld\n", (long long)(now_ms() - t0));
	return 0;
}

static int cmd_recv(int argc, char **argv)
{
	size_t max = 65536;
	struct mbuf *m;
	int64_t t0;
	ssize_t r;
	long typ;
	int q, fl = 0;

	if (argc < 2)
		return usage();
	q = queue_arg(argv[0]);
	typ = strtol(argv[1], NULL, 0);
	if (argc > 2)
		fl = parse_msgflags(argv[2]);
	if (argc > 3)
		max = strtoul(argv[3], NULL, 0);
	m = mbuf_new(max < 65536 ? 65536 : max);
	start_note();
	t0 = now_ms();
	r = msgrcv(q, m, max, typ, fl);
	if (r < 0) {
		int x = fail();

		printf("elapsed_ms=%lld\n", (long long)(now_ms() - t0));
		return x;
	}
	printf("type=%ld size=%zd pattern_ok=%d", m->mtype, r, pattern_ok(m->mtext, m->mtype, r));
	if (printable(m->mtext, (size_t)r))
		printf(" text=%.*s", (int)r, m->mtext);
	printf(" crc=%08x\nelapsed_ms=%lld\n", crc32_ieee(m->mtext, (size_t)r),
	       (long long)(now_ms() - t0));
	return 0;
}

static int cmd_stat(int argc, char **argv)
{
	struct msqid_ds ds;
	int q;

	if (argc < 1)
		return usage();
	q = queue_arg(argv[0]);
	if (msgctl(q, IPC_STAT, &ds) < 0)
		return fail();
	printf("key=0x%08x mode=%o uid=%u gid=%u cuid=%u cgid=%u qnum=%lu cbytes=%lu qbytes=%lu"
	       " lspid=%d lrpid=%d stime=%lld rtime=%lld ctime=%lld\n",
	       (unsigned)ds.msg_perm.__key, (unsigned)ds.msg_perm.mode, (unsigned)ds.msg_perm.uid,
	       (unsigned)ds.msg_perm.gid, (unsigned)ds.msg_perm.cuid, (unsigned)ds.msg_perm.cgid,
	       (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
	       (unsigned long)ds.msg_qbytes, (int)ds.msg_lspid, (int)ds.msg_lrpid,
	       (long long)ds.msg_stime, (long long)ds.msg_rtime, (long long)ds.msg_ctime);
	return 0;
}

static int cmd_set(int argc, char **argv)
{
	struct msqid_ds ds;
	int q;

	if (argc < 5)
		return usage();
	q = queue_arg(argv[0]);
	if (msgctl(q, IPC_STAT, &ds) < 0)
		return fail();
	if (strcmp(argv[1], "-"))
		ds.msg_perm.mode = (unsigned short)strtoul(argv[1], NULL, 8);
	if (strcmp(argv[2], "-"))
		ds.msg_perm.uid = (uid_t)strtoul(argv[2], NULL, 0);
	if (strcmp(argv[3], "-"))
		ds.msg_perm.gid = (gid_t)strtoul(argv[3], NULL, 0);
	if (strcmp(argv[4], "-"))
		ds.msg_qbytes = (msglen_t)strtoul(argv[4], NULL, 0);
	if (msgctl(q, IPC_SET, &ds) < 0)
		return fail();
	printf("ok\n");
	return 0;
}

static int cmd_info(int argc, char **argv)
{
	struct msginfo mi;
	int q, r;

	if (argc < 2)
		return usage();
	q = queue_arg(argv[0]);
	memset(&mi, 0, sizeof(mi));
	r = msgctl(q, strcmp(argv[1], "msg") == 0 ? MSG_INFO : IPC_INFO, (struct msqid_ds *)&mi);
	if (r < 0)
		return fail();
	printf("ret=%d msgmax=%d msgmnb=%d msgmni=%d msgpool=%d msgmap=%d msgtql=%d msgssz=%d"
	       " msgseg=%u\n",
	       r, mi.msgmax, mi.msgmnb, mi.msgmni, mi.msgpool, mi.msgmap, mi.msgtql, mi.msgssz,
	       (unsigned)mi.msgseg);
	return 0;
}

static int cmd_wait(int argc, char **argv)
{
	struct msqid_ds ds;
	int64_t end;
	long want;
	int q;

	if (argc < 4 || strcmp(argv[1], "qnum"))
		return usage();
	q = queue_arg(argv[0]);
	want = strtol(argv[2], NULL, 0);
	end = now_ms() + strtol(argv[3], NULL, 0);
	for (;;) {
		if (msgctl(q, IPC_STAT, &ds) < 0)
			return fail();
		if ((long)ds.msg_qnum == want) {
			printf("ok\n");
			return 0;
		}
		if (now_ms() > end)
			break;
		sleep_ms(2);
	}
	printf("err timeout qnum=%lu\n", (unsigned long)ds.msg_qnum);
	return 1;
}

/* ---- loops ------------------------------------------------------------------ */

struct seqhdr {
	uint32_t magic, sender, seq;
};

static int cmd_sendseq(int argc, char **argv)
{
	unsigned long n, i, eintr = 0;
	size_t size = 16;
	uint32_t sender = 0;
	struct mbuf *m;
	long type = 1;
	int q;

	if (argc < 2)
		return usage();
	q = queue_arg(argv[0]);
	n = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		type = strtol(argv[2], NULL, 0);
	if (argc > 3)
		size = strtoul(argv[3], NULL, 0);
	if (argc > 4)
		sender = (uint32_t)strtoul(argv[4], NULL, 0);
	if (size < sizeof(struct seqhdr))
		return usage();
	m = mbuf_new(size);
	m->mtype = type;
	start_note();
	for (i = 0; i < n; i++) {
		struct seqhdr h = { SEQ_MAGIC, sender, (uint32_t)i };

		pattern_fill(m->mtext, (long)i, size);
		memcpy(m->mtext, &h, sizeof(h));
		while (msgsnd(q, m, size, 0) < 0) {
			if (errno != EINTR) {
				printf("err %s at=%lu\n", errname(errno), i);
				return 1;
			}
			eintr++;
		}
	}
	printf("sent=%lu eintr=%lu\n", n, eintr);
	return 0;
}

static int cmd_recvseq(int argc, char **argv)
{
	static long next[MAX_SENDERS];
	unsigned long n, got = 0, eintr = 0, gaps = 0, dups = 0, bad = 0;
	size_t max = 4096;
	struct mbuf *m;
	long typ = 0;
	int q;

	if (argc < 2)
		return usage();
	q = queue_arg(argv[0]);
	n = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		typ = strtol(argv[2], NULL, 0);
	if (argc > 3)
		max = strtoul(argv[3], NULL, 0);
	m = mbuf_new(max);
	start_note();
	while (got < n) {
		struct seqhdr h;
		ssize_t r = msgrcv(q, m, max, typ, 0);

		if (r < 0) {
			if (errno == EINTR) {
				eintr++;
				continue;
			}
			printf("err %s received=%lu\n", errname(errno), got);
			return 1;
		}
		got++;
		memcpy(&h, m->mtext, sizeof(h));
		if ((size_t)r < sizeof(h) || h.magic != SEQ_MAGIC || h.sender >= MAX_SENDERS ||
		    !pattern_ok_from(m->mtext, (long)h.seq, sizeof(h), (size_t)r)) {
			bad++;
			continue;
		}
		if ((long)h.seq < next[h.sender]) {
			dups++;
			fprintf(stderr, "dup sender %u seq %u (expected %ld)\n", h.sender, h.seq,
				next[h.sender]);
		} else {
			if ((long)h.seq > next[h.sender]) {
				gaps++;
				fprintf(stderr, "gap sender %u seq %u (expected %ld)\n", h.sender,
					h.seq, next[h.sender]);
			}
			next[h.sender] = (long)h.seq + 1;
		}
	}
	printf("received=%lu in_order=%d gaps=%lu dups=%lu bad=%lu eintr=%lu alarms=%d\n", got,
	       !gaps && !dups && !bad, gaps, dups, bad, eintr, (int)n_alarms);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	bool restart = true;
	long alarm_us = 0;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "+ni:I")) != -1) {
		switch (opt) {
		case 'n':
			F = 0;
			break;
		case 'i':
			alarm_us = strtol(optarg, NULL, 0);
			break;
		case 'I':
			restart = false;
			break;
		default:
			return usage();
		}
	}
	if (optind >= argc)
		return usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	if (alarm_us > 0) {
		struct itimerval it = { { alarm_us / 1000000, alarm_us % 1000000 },
					{ alarm_us / 1000000, alarm_us % 1000000 } };

		sa.sa_handler = on_alarm;
		sa.sa_flags = 0;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}

	const char *cmd = argv[optind];
	char **a = argv + optind + 1;
	int n = argc - optind - 1;

	if (strcmp(cmd, "create") == 0 || strcmp(cmd, "get") == 0) {
		int flags, id;

		if (n < 2)
			return usage();
		if (cmd[0] == 'c')
			flags = IPC_CREAT | (int)strtoul(a[1], NULL, 8) |
				(n > 2 && strcmp(a[2], "excl") == 0 ? IPC_EXCL : 0);
		else
			flags = (int)strtoul(a[1], NULL, 8);
		id = msgget(parse_key(a[0]), flags | F);
		if (id < 0)
			return fail();
		printf("id=%d\n", id);
		return 0;
	}
	if (strcmp(cmd, "send") == 0)
		return cmd_send(n, a);
	if (strcmp(cmd, "recv") == 0)
		return cmd_recv(n, a);
	if (strcmp(cmd, "stat") == 0)
		return cmd_stat(n, a);
	if (strcmp(cmd, "set") == 0)
		return cmd_set(n, a);
	if (strcmp(cmd, "rmid") == 0) {
		if (n < 1)
			return usage();
		if (msgctl(queue_arg(a[0]), IPC_RMID, NULL) < 0)
			return fail();
		printf("ok\n");
		return 0;
	}
	if (strcmp(cmd, "info") == 0)
		return cmd_info(n, a);
	if (strcmp(cmd, "wait") == 0)
		return cmd_wait(n, a);
	if (strcmp(cmd, "sendseq") == 0)
		return cmd_sendseq(n, a);
	if (strcmp(cmd, "recvseq") == 0)
		return cmd_recvseq(n, a);
	return usage();
}
