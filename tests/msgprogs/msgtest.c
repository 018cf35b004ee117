/* SPDX-License-Identifier: MIT */
/**
 * @file msgtest.c
 *
 * The comparison program for message queues (the msg twin of
 * tests/progs/semtest.c): walks every msgget/msgsnd/msgrcv/msgctl result and
 * error path that one process and a few forked children can reach
 * deterministically, and prints one line per step:
 *
 *     step: ret=<r> errno=<NAME> [facts...]
 *
 * The output must be byte-identical natively (the kernel's queues) and
 * through dipcfs (LD_PRELOAD=libdipc.so DIPC_MOUNT=...), so it never prints
 * ids, pids or times, only normalised facts ("ret=id", "lspid_is_me=1",
 * "stime_recent=1").  Ids go to stderr as "# id NAME ID" so that the suite
 * can check which side served each queue.
 *
 * Usage:  msgtest [-p] [-n] KEY
 *   KEY   base key; msgtest uses KEY (the main queue, mode 0666), KEY+1,
 *         KEY+2 and KEY+3.  Leftovers of an earlier run under KEY+1..3 are
 *         removed first (and reported on stderr).
 *   -p    the main queue KEY already exists (mode 0666, empty, default
 *         msg_qbytes, created by root elsewhere, e.g. on another node).
 *   -n    do not add IPC_DIPC to the msgget flags.
 *
 * Expects the kernel's default limits (msgmax 8192, msgmnb 16384) natively
 * and the same in dipc.conf; it reads msgmax and msgmnb with IPC_INFO and
 * prints them, so a mismatch shows in the first lines of a diff.
 *
 * Waiting for a child to block: neither the kernel nor msgctl says whether
 * a process waits in msgsnd/msgrcv, so msgtest gives a child BLOCK_MS to get
 * there and then checks that it has not finished (it must not: nothing can
 * complete its call).  A child that is slower than that is not a wrong
 * result, only a missed chance to notice an early return; everything after
 * it stays deterministic.
 *
 * Must run as root: the permission steps drop to nobody (65534) in children.
 * Exit status 0 when every step ran (whatever the results), 1 on a harness
 * problem (a child that never finished, a timeout).
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msgprogs.h"

#define HARNESS_NAME "msgtest"
#define POLL_MS 10000 /* bound for every wait on another process */
#include "harness.h"

#define NOBODY 65534
#define BLOCK_MS 150  /* time a child gets to block in msgsnd/msgrcv */
#define STAGED 20000  /* a receive buffer above 16128: the shim's staged path */

static int F = IPC_DIPC; /* extra msgget flag */
static int msgmax = 8192, msgmnb = 16384;

/* one buffer for everything: mtype, then the text */
static struct {
	long mtype;
	char mtext[65536];
} B;



#define CALL(expr) (errno = 0, r = (long)(expr), e = (r < 0 ? errno : 0))

/* ---- small wrappers ----------------------------------------------------------- */

static int snd(int id, long type, const char *text, int flg)
{
	B.mtype = type;
	memcpy(B.mtext, text, strlen(text));
	return msgsnd(id, &B, strlen(text), flg);
}

static int snd_n(int id, long type, size_t n, int flg)
{
	B.mtype = type;
	pattern_fill(B.mtext, type, n);
	return msgsnd(id, &B, n, flg);
}

static bool printable(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < ' ' || p[i] > '~')
			return false;
	return true;
}

/* msgrcv into B and report: "type=T text=..." (short texts) or
 * "type=T pattern_ok=1". */
static void rep_rcv(const char *step, int id, size_t max, long typ, int flg)
{
	long r;
	int e;

	memset(&B, 0, sizeof(long) + 64);
	CALL(msgrcv(id, &B, max, typ, flg));
	if (r < 0)
		rep(step, r, e, "%s", "");
	else if (r <= 40 && printable(B.mtext, (size_t)r))
		rep(step, r, e, " type=%ld text=%.*s", B.mtype, (int)r, B.mtext);
	else
		rep(step, r, e, " type=%ld pattern_ok=%d", B.mtype, pattern_ok(B.mtext, B.mtype,
										 (size_t)r));
}

static bool recent(time_t t)
{
	time_t now = time(NULL);

	return t > now - 120 && t < now + 120;
}

/* IPC_STAT and its normalised facts; pids are compared with the ones given. */
static void rep_stat(const char *step, int id, key_t key, pid_t spid, pid_t rpid)
{
	struct msqid_ds ds;
	long r;
	int e;

	memset(&ds, 0xa5, sizeof(ds));
	CALL(msgctl(id, IPC_STAT, &ds));
	if (r < 0) {
		rep(step, r, e, "%s", "");
		return;
	}
	rep(step, r, e,
	    " mode=%o uid=%u gid=%u cuid=%u cgid=%u key_matches=%d qnum=%lu cbytes=%lu"
	    " qbytes=%lu lspid_ok=%d lrpid_ok=%d stime_set=%d rtime_set=%d ctime_recent=%d",
	    (unsigned)ds.msg_perm.mode, (unsigned)ds.msg_perm.uid, (unsigned)ds.msg_perm.gid,
	    (unsigned)ds.msg_perm.cuid, (unsigned)ds.msg_perm.cgid, ds.msg_perm.__key == key,
	    (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
	    (unsigned long)ds.msg_qbytes, ds.msg_lspid == spid, ds.msg_lrpid == rpid,
	    ds.msg_stime != 0 && recent(ds.msg_stime), ds.msg_rtime != 0 && recent(ds.msg_rtime),
	    recent(ds.msg_ctime));
}

static int ipc_set(int id, uid_t uid, gid_t gid, unsigned mode, unsigned long qbytes)
{
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds) < 0)
		return -1;
	ds.msg_perm.uid = uid;
	ds.msg_perm.gid = gid;
	ds.msg_perm.mode = (unsigned short)mode;
	if (qbytes)
		ds.msg_qbytes = (msglen_t)qbytes;
	return msgctl(id, IPC_SET, &ds);
}

static int set_qbytes(int id, unsigned long qbytes)
{
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds) < 0)
		return -1;
	ds.msg_qbytes = (msglen_t)qbytes;
	return msgctl(id, IPC_SET, &ds);
}

/* Take every message (IPC_NOWAIT) and return how many there were. */
static int drain(int id)
{
	int n = 0;

	while (msgrcv(id, &B, sizeof(B.mtext), 0, IPC_NOWAIT | MSG_NOERROR) >= 0)
		n++;
	return n;
}


/* Give a child BLOCK_MS to block, then: is it still there? */
static int still_running(pid_t p)
{
	sleep_ms(BLOCK_MS);
	return waitpid(p, NULL, WNOHANG) == 0;
}

struct callargs {
	int id;
	long type;      /* send: mtype; recv: msgtyp */
	size_t size;    /* send: text size; recv: buffer size */
	int flg;
	const char *expect; /* recv: the text it must get (exit 201 if not) */
};

/* One msgsnd; exit 0 or its errno. */
static int child_send(void *p)
{
	struct callargs *a = p;

	if (snd_n(a->id, a->type, a->size, a->flg) == 0)
		return 0;
	return errno;
}

/* One msgrcv; exit 0 (right text), 201 (wrong text) or its errno. */
static int child_recv(void *p)
{
	struct callargs *a = p;
	ssize_t r = msgrcv(a->id, &B, a->size, a->type, a->flg);

	if (r < 0)
		return errno;
	if (a->expect && ((size_t)r != strlen(a->expect) || memcmp(B.mtext, a->expect, (size_t)r)))
		return 201;
	return 0;
}

static void become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY) || getuid() != NOBODY) {
		perror("drop privileges");
		_exit(250);
	}
}

/* ---- the steps -------------------------------------------------------------------- */

static void remove_leftover(key_t key)
{
	int id = msgget(key, F);

	if (id >= 0) {
		fprintf(stderr, "# removing leftover queue key 0x%x id %d\n", (unsigned)key, id);
		msgctl(id, IPC_RMID, NULL);
	}
}

static void section_get(key_t k1)
{
	long r;
	int e, id;

	CALL(msgget(k1, 0600 | F));
	rep("get_noent", r, e, "%s", "");
	CALL(msgget(k1, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep_id("get_create", (int)r, e, "k1");
	id = (int)r;
	if (id < 0)
		return;
	CALL(msgget(k1, IPC_CREAT | IPC_EXCL | 0640 | F));
	rep("get_excl", r, e, "%s", "");
	CALL(msgget(k1, 0 | F));
	rep("get_existing", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(msgget(k1, IPC_CREAT | 0600 | F));
	rep("get_existing_creat", r < 0 ? r : 0, e, " same_id=%d", r == id);
	CALL(msgget(k1, 0777 | F));
	rep("get_existing_mode_root", r < 0 ? r : 0, e, " same_id=%d", r == id);
	rep_stat("get_stat", id, k1, 0, 0);

	CALL(msgctl(id, IPC_RMID, NULL));
	rep("get_rmid", r, e, "%s", "");
	CALL(msgget(k1, 0 | F));
	rep("get_after_rmid", r, e, "%s", "");
	{
		struct msqid_ds ds;

		CALL(msgctl(id, IPC_STAT, &ds));
		rep("stale_stat", r, e, "%s", "");
	}
	CALL(snd(id, 1, "x", 0));
	rep("stale_msgsnd", r, e, "%s", "");
	CALL(snd(id, 1, "x", IPC_NOWAIT));
	rep("stale_msgsnd_nowait", r, e, "%s", "");
	CALL(msgrcv(id, &B, 100, 0, IPC_NOWAIT));
	rep("stale_msgrcv", r, e, "%s", "");
	CALL(msgctl(id, IPC_RMID, NULL));
	rep("stale_rmid", r, e, "%s", "");
	CALL(msgget(k1, IPC_CREAT | IPC_EXCL | 0600 | F));
	rep("get_recreate", r < 0 ? r : 0, e, " new_id_differs=%d", r != id);
	if (r >= 0) {
		int id2 = (int)r;

		fprintf(stderr, "# id k1b %d\n", id2);
		CALL(snd(id, 1, "x", IPC_NOWAIT));
		rep("stale_after_recreate", r, e, "%s", "");
		CALL(msgctl(id2, IPC_RMID, NULL));
		rep("recreate_rmid", r, e, "%s", "");
	}
}

static void section_private(void)
{
	struct msqid_ds ds;
	long r;
	int e, a, b;

	CALL(msgget(IPC_PRIVATE, 0600 | F));
	rep_id("private_a", (int)r, e, "private_a");
	a = (int)r;
	CALL(msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600 | F));
	rep_id("private_b", (int)r, e, "private_b");
	b = (int)r;
	printf("private_distinct: %d\n", a != b);
	if (a >= 0 && b >= 0) {
		memset(&ds, 0xa5, sizeof(ds));
		CALL(msgctl(a, IPC_STAT, &ds));
		rep("private_stat", r, e, " key=%d mode=%o qnum=%lu", (int)ds.msg_perm.__key,
		    (unsigned)ds.msg_perm.mode, (unsigned long)ds.msg_qnum);
		CALL(snd(a, 5, "in-a", 0));
		rep("private_send_a", r, e, "%s", "");
		rep_rcv("private_recv_b_empty", b, 100, 0, IPC_NOWAIT);
		rep_rcv("private_recv_a", a, 100, 0, IPC_NOWAIT);
	}
	CALL(msgctl(a, IPC_RMID, NULL));
	rep("private_rmid_a", r, e, "%s", "");
	CALL(msgctl(b, IPC_RMID, NULL));
	rep("private_rmid_b", r, e, "%s", "");
}

static void section_info(int id)
{
	struct msginfo mi;
	struct msqid_ds ds;
	long r;
	int e;

	/* IPC_INFO and MSG_INFO ignore the id; ours makes the shim take the
	 * structure from where the queue lives.  The usage counts (msgpool,
	 * msgmap, msgtql of MSG_INFO) are that side's, and the result (the
	 * highest index) depends on every queue of the machine, so only limits
	 * and signs are printed. */
	memset(&mi, 0, sizeof(mi));
	CALL(msgctl(id, IPC_INFO, (struct msqid_ds *)&mi));
	rep("ipc_info", r < 0 ? r : 0, e, " ret_ge_0=%d msgmax=%d msgmnb=%d msgmni_ge_16=%d",
	    r >= 0, mi.msgmax, mi.msgmnb, mi.msgmni >= 16);
	if (r >= 0) {
		msgmax = mi.msgmax;
		msgmnb = mi.msgmnb;
	}
	memset(&mi, 0, sizeof(mi));
	CALL(msgctl(id, MSG_INFO, (struct msqid_ds *)&mi));
	rep("msg_info", r < 0 ? r : 0, e, " ret_ge_0=%d msgmax=%d msgmnb=%d", r >= 0, mi.msgmax,
	    mi.msgmnb);
	CALL(msgctl(id, IPC_INFO, NULL));
	rep("ipc_info_null_buf", r < 0 ? r : 0, e, "%s", "");
	/* MSG_STAT takes the kernel's index, the low 15 bits of the id (dipcfs
	 * gives cluster queues the index of their id: fs/ipcindex.c). */
	memset(&ds, 0, sizeof(ds));
	{
		int idx = id & 0x7fff;

		CALL(msgctl(idx, MSG_STAT, &ds));
		rep("msg_stat", r < 0 ? r : 0, e, " ret_is_id=%d mode=%o qbytes=%lu", r == id,
		    (unsigned)ds.msg_perm.mode, (unsigned long)ds.msg_qbytes);
		memset(&ds, 0, sizeof(ds));
		CALL(msgctl(idx, MSG_STAT_ANY, &ds));
		rep("msg_stat_any", r < 0 ? r : 0, e, " ret_is_id=%d mode=%o", r == id,
		    (unsigned)ds.msg_perm.mode);
		CALL(msgctl(id, MSG_STAT, &ds));
		rep("msg_stat_by_id", r < 0 ? r : 0, e, " ret_is_id=%d", r == id);
	}
	/* What LTP does: *_INFO's result is the highest index in use, and a
	 * walk up to it finds the queue (other queues of the machine may be
	 * anywhere in it, so only "found" and "not above the result"). */
	{
		long maxidx, found = -1;

		CALL(msgctl(0, MSG_INFO, (struct msqid_ds *)&mi));
		maxidx = r;
		for (long i = 0; i <= maxidx && found < 0; i++)
			if (msgctl((int)i, MSG_STAT_ANY, &ds) == id)
				found = i;
		rep("index_walk", 0, 0, " found=%d is_low_bits=%d", found >= 0,
		    found == (id & 0x7fff));
	}
	CALL(msgctl(id, 9999, &ds));
	rep("msgctl_bad_cmd", r, e, "%s", "");
	CALL(msgctl(-1, IPC_STAT, &ds));
	rep("msgctl_neg_id", r, e, "%s", "");
	CALL(msgctl(id, IPC_STAT, NULL));
	rep("msgctl_stat_null_buf", r, e, "%s", "");
	CALL(msgctl(id, IPC_SET, NULL));
	rep("msgctl_set_null_buf", r, e, "%s", "");
}

static void section_send(int id, key_t key)
{
	long r;
	int e;

	rep_stat("stat_initial", id, key, 0, 0);
	CALL(snd(id, 0, "zero", IPC_NOWAIT));
	rep("send_mtype0", r, e, "%s", "");
	CALL(snd(id, -7, "neg", IPC_NOWAIT));
	rep("send_mtype_neg", r, e, "%s", "");
	CALL(snd_n(id, 1, (size_t)msgmax + 1, IPC_NOWAIT));
	rep("send_above_msgmax", r, e, "%s", "");
	B.mtype = 1;
	CALL(msgsnd(id, &B, (size_t)-1, IPC_NOWAIT));
	rep("send_size_neg", r, e, "%s", "");
	CALL(msgsnd(id, NULL, 4, IPC_NOWAIT));
	rep("send_null_msgp", r, e, "%s", "");
	CALL(snd(-1, 1, "x", IPC_NOWAIT));
	rep("send_neg_id", r, e, "%s", "");
	CALL(msgrcv(-1, &B, 100, 0, IPC_NOWAIT));
	rep("recv_neg_id", r, e, "%s", "");
	CALL(msgrcv(id, &B, (size_t)-1, 0, IPC_NOWAIT));
	rep("recv_size_neg", r, e, "%s", "");
	rep_stat("stat_after_errors", id, key, 0, 0);

	/* the largest message, both ways; then the empty one */
	CALL(snd_n(id, 9, (size_t)msgmax, IPC_NOWAIT));
	rep("send_msgmax", r, e, "%s", "");
	rep_stat("stat_msgmax", id, key, getpid(), 0);
	rep_rcv("recv_msgmax", id, (size_t)msgmax, 0, IPC_NOWAIT);
	CALL(snd(id, 4, "", IPC_NOWAIT));
	rep("send_empty", r, e, "%s", "");
	rep_stat("stat_empty_msg", id, key, getpid(), getpid());
	rep_rcv("recv_empty", id, 0, 0, IPC_NOWAIT);
	rep_rcv("recv_nothing_left", id, 100, 0, IPC_NOWAIT);
	/* a buffer above 16128 bytes (dipcfs: the staged path) */
	CALL(snd(id, 6, "staged-small", 0));
	rep("send_for_staged", r, e, "%s", "");
	rep_rcv("recv_staged_buffer", id, STAGED, 0, 0);
	CALL(snd_n(id, 6, 5000, 0));
	rep("send_5000_for_staged", r, e, "%s", "");
	rep_rcv("recv_staged_buffer_5000", id, STAGED, 6, MSG_NOERROR);
	rep_stat("stat_after_send", id, key, getpid(), getpid());
}

static void section_select(int id, key_t key)
{
	static const struct {
		long type;
		const char *text;
	} msgs[] = { { 3, "c1" }, { 1, "a1" }, { 2, "b1" }, { 3, "c2" },
		     { 1, "a2" }, { 7, "g1" }, { 2, "b2" } };
	long r;
	int e;
	unsigned i;

	rep_rcv("sel_empty_nowait", id, 100, 0, IPC_NOWAIT);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		char step[32];

		snprintf(step, sizeof(step), "sel_send_%s", msgs[i].text);
		CALL(snd(id, msgs[i].type, msgs[i].text, IPC_NOWAIT));
		rep(step, r, e, "%s", "");
	}
	rep_stat("sel_stat_full", id, key, getpid(), getpid());
	rep_rcv("sel_type0", id, 100, 0, IPC_NOWAIT);           /* c1 */
	rep_rcv("sel_type2", id, 100, 2, IPC_NOWAIT);           /* b1 */
	rep_rcv("sel_type_le2", id, 100, -2, IPC_NOWAIT);       /* a1 */
	rep_rcv("sel_except1", id, 100, 1, MSG_EXCEPT | IPC_NOWAIT); /* c2 */
	rep_rcv("sel_type5_none", id, 100, 5, IPC_NOWAIT);      /* ENOMSG */
	rep_rcv("sel_type_le_100", id, 100, -100, IPC_NOWAIT);  /* a2 */
	rep_rcv("sel_type_le_1_none", id, 100, -1, IPC_NOWAIT); /* ENOMSG */
	rep_rcv("sel_except7", id, 100, 7, MSG_EXCEPT | IPC_NOWAIT); /* b2 */
	rep_rcv("sel_except7_none", id, 100, 7, MSG_EXCEPT | IPC_NOWAIT); /* ENOMSG */
	rep_rcv("sel_except_neg", id, 100, -7, MSG_EXCEPT | IPC_NOWAIT);  /* g1: < 0 ignores EXCEPT */
	rep_rcv("sel_empty_again", id, 100, 0, IPC_NOWAIT);
	/* msgtyp LONG_MIN: the lowest type of all (the kernel turns it into
	 * LONG_MAX rather than negating it) */
	CALL(snd(id, 5, "e1", IPC_NOWAIT));
	rep("sel_send_e1", r, e, "%s", "");
	CALL(snd(id, LONG_MAX, "max", IPC_NOWAIT));
	rep("sel_send_max", r, e, "%s", "");
	CALL(snd(id, 2, "b3", IPC_NOWAIT));
	rep("sel_send_b3", r, e, "%s", "");
	rep_rcv("sel_long_min", id, 100, LONG_MIN, IPC_NOWAIT);     /* b3 */
	rep_rcv("sel_long_max", id, 100, LONG_MAX, IPC_NOWAIT);     /* max */
	rep_rcv("sel_except_long_max", id, 100, LONG_MAX, MSG_EXCEPT | IPC_NOWAIT); /* e1 */

	/* E2BIG leaves the message; MSG_NOERROR truncates it */
	CALL(snd(id, 4, "hello-world-12345", IPC_NOWAIT));
	rep("big_send", r, e, "%s", "");
	rep_rcv("big_e2big", id, 5, 0, IPC_NOWAIT);
	rep_rcv("big_e2big_typed", id, 5, 4, 0);
	rep_stat("big_stat_still_there", id, key, getpid(), getpid());
	rep_rcv("big_noerror", id, 5, 0, MSG_NOERROR | IPC_NOWAIT);
	rep_stat("big_stat_taken", id, key, getpid(), getpid());
	/* E2BIG for the first match only; a smaller later one is not taken */
	CALL(snd(id, 4, "long-long-long", IPC_NOWAIT));
	rep("big_send2", r, e, "%s", "");
	CALL(snd(id, 4, "s", IPC_NOWAIT));
	rep("big_send3", r, e, "%s", "");
	rep_rcv("big_e2big_first", id, 3, 4, IPC_NOWAIT);
	rep_rcv("big_take_first", id, 100, 4, IPC_NOWAIT);
	rep_rcv("big_take_second", id, 3, 4, IPC_NOWAIT);
}

/* MSG_COPY (CONFIG_CHECKPOINT_RESTORE): msgtyp is an index from the head,
 * the receiver gets a copy and the queue stays as it was.  The main queue
 * (on the owner node, remote in one of the runs) for the results, and a
 * fresh queue under k3 whose lrpid and rtime must stay unset. */
static void section_copy(int id, key_t key, key_t k3)
{
	const int c = MSG_COPY | IPC_NOWAIT;
	long r;
	int e, q;

	CALL(snd(id, 5, "hello", IPC_NOWAIT));
	rep("copy_send1", r, e, "%s", "");
	CALL(snd(id, 7, "worldwide", IPC_NOWAIT));
	rep("copy_send2", r, e, "%s", "");
	rep_rcv("copy_idx0", id, 100, 0, c);
	rep_rcv("copy_idx1", id, 100, 1, c);
	rep_rcv("copy_idx1_exact", id, 9, 1, c);
	rep_rcv("copy_idx2_none", id, 100, 2, c);
	rep_rcv("copy_idx_neg", id, 100, -1, c);
	rep_rcv("copy_wait", id, 100, 0, MSG_COPY);
	rep_rcv("copy_except", id, 100, 0, c | MSG_EXCEPT);
	rep_rcv("copy_e2big", id, 3, 1, c);
	rep_rcv("copy_noerror", id, 3, 1, c | MSG_NOERROR);
	rep_rcv("copy_staged", id, STAGED, 1, c);
	rep_rcv("copy_bad_id_wait", -5, 100, 0, MSG_COPY);
	rep_stat("copy_stat_main", id, key, getpid(), getpid());
	rep_rcv("copy_take1", id, 100, 0, IPC_NOWAIT);
	rep_rcv("copy_idx0_after", id, 100, 0, c);
	rep_rcv("copy_take2", id, 100, 0, IPC_NOWAIT);
	rep_rcv("copy_empty", id, 100, 0, c);

	CALL(msgget(k3, IPC_CREAT | IPC_EXCL | 0600 | F));
	rep_id("copy_create", (int)r, e, "k3");
	q = (int)r;
	if (q < 0)
		return;
	CALL(snd(q, 3, "kept", IPC_NOWAIT));
	rep("copy_k3_send", r, e, "%s", "");
	rep_rcv("copy_k3_idx0", q, 100, 0, c);
	rep_stat("copy_k3_stat", q, k3, getpid(), 0);
	CALL(msgctl(q, IPC_RMID, NULL));
	rep("copy_k3_rmid", r, e, "%s", "");
}

static void section_full(int id, key_t key)
{
	struct callargs a = { 0 };
	long r;
	int e, n;
	pid_t p;

	/* a smaller msg_qbytes: 100 bytes */
	CALL(set_qbytes(id, 100));
	rep("full_set_qbytes100", r, e, "%s", "");
	rep_stat("full_stat_100", id, key, getpid(), getpid());
	CALL(snd_n(id, 1, 60, IPC_NOWAIT));
	rep("full_send60", r, e, "%s", "");
	CALL(snd_n(id, 1, 60, IPC_NOWAIT));
	rep("full_send60_nowait", r, e, "%s", "");
	CALL(snd_n(id, 1, 40, IPC_NOWAIT));
	rep("full_send40_fits", r, e, "%s", "");
	CALL(snd_n(id, 1, 101, IPC_NOWAIT));
	rep("full_send101_nowait", r, e, "%s", "");
	rep_stat("full_stat", id, key, getpid(), getpid());

	/* a blocked sender, woken by a receive */
	a.id = id;
	a.type = 2;
	a.size = 50;
	p = spawn(child_send, &a);
	printf("full_sender_blocked: %d\n", still_running(p));
	rep_rcv("full_recv_frees", id, 100, 1, 0);
	printf("full_sender_child: exit=%s\n", reap(p));
	rep_stat("full_stat_after_wake", id, key, p, getpid());
	printf("full_drained: %d\n", drain(id));

	/* qnum is bounded by qbytes too: 100 empty messages fit, the 101st not */
	for (n = 0; n < 1000; n++)
		if (snd(id, 1, "", IPC_NOWAIT) < 0)
			break;
	rep("full_empty_msgs", n, errno, " sent=%d errno_after=%s", n, errname(errno));
	rep_stat("full_empty_stat", id, key, getpid(), getpid());
	printf("full_empty_drained: %d\n", drain(id));

	/* lowering qbytes below what is queued: allowed; sends wait */
	CALL(set_qbytes(id, 1000));
	rep("full_set_qbytes1000", r, e, "%s", "");
	CALL(snd_n(id, 1, 500, IPC_NOWAIT));
	rep("full_send500", r, e, "%s", "");
	CALL(set_qbytes(id, 200));
	rep("full_lower_below_used", r, e, "%s", "");
	CALL(snd(id, 1, "x", IPC_NOWAIT));
	rep("full_send_after_lower", r, e, "%s", "");
	rep_stat("full_stat_lowered", id, key, getpid(), getpid());
	/* raising qbytes wakes a blocked sender */
	a.size = 10;
	p = spawn(child_send, &a);
	printf("full_sender2_blocked: %d\n", still_running(p));
	CALL(set_qbytes(id, 1000));
	rep("full_raise_wakes", r, e, "%s", "");
	printf("full_sender2_child: exit=%s\n", reap(p));
	rep_stat("full_stat_raised", id, key, p, getpid());
	printf("full_drained2: %d\n", drain(id));
	/* above msgmnb needs CAP_SYS_RESOURCE, which root may lack (in a
	 * container): the result depends on the caller, the same both ways */
	CALL(set_qbytes(id, (unsigned long)msgmnb + 1));
	rep("full_raise_above_msgmnb_root", r, e, "%s", "");
	CALL(set_qbytes(id, 0));
	rep("full_set_qbytes0", r, e, "%s", "");
	CALL(set_qbytes(id, (unsigned long)msgmnb));
	rep("full_qbytes_back", r, e, "%s", "");
	rep_stat("full_stat_end", id, key, getpid(), getpid());
}

/* Blocked receivers: selection when the message arrives, order among them. */
static void section_wait(int id, key_t key)
{
	struct callargs a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
	long r;
	int e;
	pid_t p1, p2, p3;

	a1 = (struct callargs){ id, 5, 100, 0, "for-five" };
	p1 = spawn(child_recv, &a1);
	a2 = (struct callargs){ id, -3, 100, 0, "low-two" };
	p2 = spawn(child_recv, &a2);
	printf("wait_receivers_blocked: %d\n", still_running(p1) && still_running(p2));
	CALL(snd(id, 9, "nobody-wants", 0));
	rep("wait_send9", r, e, "%s", "");
	CALL(snd(id, 2, "low-two", 0));
	rep("wait_send2", r, e, "%s", "");
	printf("wait_recv_le3: exit=%s\n", reap(p2));
	printf("wait_five_still_blocked: %d\n", waitpid(p1, NULL, WNOHANG) == 0);
	CALL(snd(id, 5, "for-five", 0));
	rep("wait_send5", r, e, "%s", "");
	printf("wait_recv5: exit=%s\n", reap(p1));
	rep_stat("wait_stat", id, key, getpid(), p1);
	rep_rcv("wait_left", id, 100, 0, IPC_NOWAIT);

	/* two receivers of any type: the first to wait gets the first message */
	a1 = (struct callargs){ id, 0, 100, 0, "first" };
	p1 = spawn(child_recv, &a1);
	sleep_ms(BLOCK_MS);
	a2 = (struct callargs){ id, 0, 100, 0, "second" };
	p2 = spawn(child_recv, &a2);
	printf("wait_fifo_blocked: %d\n", still_running(p2) && waitpid(p1, NULL, WNOHANG) == 0);
	CALL(snd(id, 1, "first", 0));
	rep("wait_fifo_send1", r, e, "%s", "");
	printf("wait_fifo_first: exit=%s\n", reap(p1));
	CALL(snd(id, 1, "second", 0));
	rep("wait_fifo_send2", r, e, "%s", "");
	printf("wait_fifo_second: exit=%s\n", reap(p2));

	/* a receiver with too small a buffer and no MSG_NOERROR: E2BIG, and the
	 * message stays for the next one */
	a3 = (struct callargs){ id, 0, 4, 0, NULL };
	p3 = spawn(child_recv, &a3);
	printf("wait_small_blocked: %d\n", still_running(p3));
	CALL(snd(id, 1, "too-long-for-four", 0));
	rep("wait_small_send", r, e, "%s", "");
	printf("wait_small_child: exit=%s\n", reap(p3));
	rep_rcv("wait_small_left", id, 100, 0, IPC_NOWAIT);
}

static volatile sig_atomic_t got_signal;

static void on_alarm(int sig)
{
	(void)sig;
	got_signal++;
}

static void section_eintr(int id, key_t key)
{
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	struct sigaction sa;
	int64_t t0;
	long r;
	int e, i;

	for (i = 0; i < 2; i++) {
		const char *sfx = i ? "_norestart" : "_sa_restart";
		char step[64];

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sa.sa_flags = i ? 0 : SA_RESTART; /* msgrcv(2): EINTR either way */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);

		got_signal = 0;
		setitimer(ITIMER_REAL, &it, NULL);
		t0 = now_ms();
		CALL(msgrcv(id, &B, 100, 0, 0));
		snprintf(step, sizeof(step), "eintr_msgrcv%s", sfx);
		rep(step, r, e, " handler_ran=%d quick=%d", got_signal == 1, now_ms() - t0 < 3000);

		/* a blocked sender: fill the queue first */
		set_qbytes(id, 10);
		snd_n(id, 1, 10, IPC_NOWAIT);
		got_signal = 0;
		setitimer(ITIMER_REAL, &it, NULL);
		t0 = now_ms();
		CALL(snd_n(id, 1, 5, 0));
		snprintf(step, sizeof(step), "eintr_msgsnd%s", sfx);
		rep(step, r, e, " handler_ran=%d quick=%d", got_signal == 1, now_ms() - t0 < 3000);
		snprintf(step, sizeof(step), "eintr_stat%s", sfx);
		rep_stat(step, id, key, getpid(), getpid());
		drain(id);
		set_qbytes(id, (unsigned long)msgmnb);
	}
	signal(SIGALRM, SIG_DFL);
	/* the queue still works after interrupted calls */
	CALL(snd(id, 3, "after-eintr", 0));
	rep("eintr_send_after", r, e, "%s", "");
	rep_rcv("eintr_recv_after", id, 100, 0, 0);
}

/* SIGSTOP/SIGCONT: msgsnd and msgrcv restart silently (-ERESTARTNOHAND). */
static void section_stop(int id, key_t key)
{
	struct callargs a = { 0 };
	long r;
	int e;
	pid_t p;

	a = (struct callargs){ id, 9, 100, 0, "after-cont" };
	p = spawn(child_recv, &a);
	printf("stop_recv_blocked: %d\n", still_running(p));
	kill(p, SIGSTOP);
	sleep_ms(50);
	kill(p, SIGCONT);
	printf("stop_recv_still_blocked: %d\n", still_running(p));
	kill(p, SIGSTOP);
	kill(p, SIGCONT);
	printf("stop_recv_still_blocked2: %d\n", still_running(p));
	CALL(snd(id, 9, "after-cont", 0));
	rep("stop_send", r, e, "%s", "");
	printf("stop_recv_child: exit=%s\n", reap(p));
	rep_stat("stop_recv_stat", id, key, getpid(), p);

	/* a blocked sender, stopped and continued: sends exactly once */
	set_qbytes(id, 10);
	snd_n(id, 1, 10, IPC_NOWAIT);
	a = (struct callargs){ id, 2, 8, 0, NULL };
	p = spawn(child_send, &a);
	printf("stop_send_blocked: %d\n", still_running(p));
	kill(p, SIGSTOP);
	sleep_ms(50);
	kill(p, SIGCONT);
	printf("stop_send_still_blocked: %d\n", still_running(p));
	rep_rcv("stop_send_frees", id, 100, 1, 0);
	printf("stop_send_child: exit=%s\n", reap(p));
	rep_stat("stop_send_stat", id, key, p, getpid());
	rep_rcv("stop_send_sent_once", id, 100, 0, IPC_NOWAIT);
	rep_rcv("stop_send_nothing_more", id, 100, 0, IPC_NOWAIT);
	set_qbytes(id, (unsigned long)msgmnb);

	/* a receiver stopped while the message arrives gets it after SIGCONT */
	a = (struct callargs){ id, 8, 100, 0, "while-stopped" };
	p = spawn(child_recv, &a);
	printf("stop_recv2_blocked: %d\n", still_running(p));
	kill(p, SIGSTOP);
	sleep_ms(50);
	CALL(snd(id, 8, "while-stopped", 0));
	rep("stop_send_while_stopped", r, e, "%s", "");
	sleep_ms(50);
	kill(p, SIGCONT);
	printf("stop_recv2_child: exit=%s\n", reap(p));
	rep_stat("stop_recv2_stat", id, key, getpid(), p);
}

/* EIDRM to every waiting sender and receiver when the queue goes. */
static void section_eidrm(key_t k2)
{
	struct callargs r1, r2, s1;
	long r;
	int e, id;
	pid_t p1, p2, p3;

	CALL(msgget(k2, IPC_CREAT | IPC_EXCL | 0600 | F));
	rep_id("eidrm_create", (int)r, e, "k2");
	id = (int)r;
	if (id < 0)
		return;
	CALL(set_qbytes(id, 20));
	rep("eidrm_qbytes", r, e, "%s", "");
	/* receivers of type 9 and of types <= 5: the type-8 message below is
	 * for neither, stays, and fills the queue for the sender */
	r1 = (struct callargs){ id, 9, 100, 0, NULL };
	r2 = (struct callargs){ id, -5, 100, MSG_NOERROR, NULL };
	p1 = spawn(child_recv, &r1);
	p2 = spawn(child_recv, &r2);
	printf("eidrm_receivers_blocked: %d\n", still_running(p1) && still_running(p2));
	CALL(snd_n(id, 8, 20, 0));
	rep("eidrm_fill", r, e, "%s", "");
	s1 = (struct callargs){ id, 8, 10, 0, NULL };
	p3 = spawn(child_send, &s1);
	printf("eidrm_sender_blocked: %d\n", still_running(p3));
	printf("eidrm_receivers_still_blocked: %d\n",
	       waitpid(p1, NULL, WNOHANG) == 0 && waitpid(p2, NULL, WNOHANG) == 0);
	rep_stat("eidrm_stat", id, k2, getpid(), 0);
	CALL(msgctl(id, IPC_RMID, NULL));
	rep("eidrm_rmid", r, e, "%s", "");
	printf("eidrm_receiver_type9: exit=%s\n", reap(p1));
	printf("eidrm_receiver_le5: exit=%s\n", reap(p2));
	printf("eidrm_sender: exit=%s\n", reap(p3));
	CALL(snd(id, 1, "x", IPC_NOWAIT));
	rep("eidrm_send_after", r, e, "%s", "");
	CALL(msgrcv(id, &B, 100, 0, 0));
	rep("eidrm_recv_after", r, e, "%s", "");
}

/* Run a list of calls as nobody in a child and print their results. */
struct permargs {
	int id;
	key_t key;
	int mode;
};

static int child_perm(void *p)
{
	struct permargs *a = p;
	struct msqid_ds ds;
	char step[64];
	long r;
	int e;

	become_nobody();
#define STEP(name) (snprintf(step, sizeof(step), "perm%o_%s", a->mode, name), step)
	CALL(msgget(a->key, 0 | F));
	rep(STEP("msgget_flag0"), r < 0 ? r : 0, e, " same_id=%d", r == a->id);
	CALL(msgget(a->key, 0400 | F));
	rep(STEP("msgget_0400"), r < 0 ? r : 0, e, "%s", "");
	CALL(msgget(a->key, 0200 | F));
	rep(STEP("msgget_0200"), r < 0 ? r : 0, e, "%s", "");
	CALL(msgget(a->key, 0004 | F));
	rep(STEP("msgget_0004"), r < 0 ? r : 0, e, "%s", "");
	CALL(msgget(a->key, 0002 | F));
	rep(STEP("msgget_0002"), r < 0 ? r : 0, e, "%s", "");
	CALL(msgget(a->key, IPC_CREAT | IPC_EXCL | 0600 | F));
	rep(STEP("msgget_excl"), r < 0 ? r : 0, e, "%s", "");
	CALL(snd(a->id, 43, "from-nobody", IPC_NOWAIT));
	rep(STEP("msgsnd"), r, e, "%s", "");
	CALL(msgrcv(a->id, &B, 100, 99, IPC_NOWAIT));
	rep(STEP("msgrcv_none"), r, e, "%s", "");
	CALL(msgctl(a->id, IPC_STAT, &ds));
	rep(STEP("ipc_stat"), r, e, "%s", "");
	{
		int idx = a->id & 0x7fff;

		CALL(msgctl(idx, MSG_STAT, &ds));
		rep(STEP("msg_stat"), r < 0 ? r : 0, e, " ret_is_id=%d", r == a->id);
		CALL(msgctl(idx, MSG_STAT_ANY, &ds));
		rep(STEP("msg_stat_any"), r < 0 ? r : 0, e, " ret_is_id=%d", r == a->id);
	}
	memset(&ds, 0, sizeof(ds));
	ds.msg_perm.uid = NOBODY;
	ds.msg_perm.gid = NOBODY;
	ds.msg_perm.mode = 0666;
	ds.msg_qbytes = 100;
	CALL(msgctl(a->id, IPC_SET, &ds));
	rep(STEP("ipc_set"), r, e, "%s", "");
	CALL(msgctl(a->id, IPC_RMID, NULL));
	rep(STEP("ipc_rmid"), r, e, "%s", "");
#undef STEP
	return 0;
}

/* nobody owns the queue (IPC_SET gave it): what an owner may do */
static int child_owner(void *p)
{
	struct permargs *a = p;
	struct msqid_ds ds;
	long r;
	int e;

	become_nobody();
	CALL(msgctl(a->id, IPC_STAT, &ds));
	rep("owner_nobody_stat", r, e, " uid=%u cuid=%u qbytes_is_msgmnb=%d",
	    (unsigned)ds.msg_perm.uid, (unsigned)ds.msg_perm.cuid,
	    (unsigned long)ds.msg_qbytes == (unsigned long)msgmnb);
	ds.msg_qbytes = (msglen_t)msgmnb + 1;
	CALL(msgctl(a->id, IPC_SET, &ds));
	rep("owner_nobody_raise_above_msgmnb", r, e, "%s", "");
	ds.msg_qbytes = 200;
	CALL(msgctl(a->id, IPC_SET, &ds));
	rep("owner_nobody_lower", r, e, "%s", "");
	ds.msg_qbytes = (msglen_t)msgmnb;
	CALL(msgctl(a->id, IPC_SET, &ds));
	rep("owner_nobody_raise_to_msgmnb", r, e, "%s", "");
	ds.msg_perm.mode = 0600;
	CALL(msgctl(a->id, IPC_SET, &ds));
	rep("owner_nobody_mode0600", r, e, "%s", "");
	CALL(snd(a->id, 44, "owner", IPC_NOWAIT));
	rep("owner_nobody_send", r, e, "%s", "");
	CALL(msgrcv(a->id, &B, 100, 44, IPC_NOWAIT));
	rep("owner_nobody_recv", r < 0 ? r : 0, e, " text=%.*s", r > 0 ? (int)r : 0, B.mtext);
	return 0;
}

static void section_perm(int id, key_t key)
{
	static const int modes[] = { 0600, 0640, 0604, 0602, 0606, 0666 };
	struct permargs a = { id, key, 0 };
	unsigned i;
	long r;
	int e;
	pid_t p;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char step[32];

		snprintf(step, sizeof(step), "ipc_set_%o", modes[i]);
		CALL(ipc_set(id, 0, 0, (unsigned)modes[i], 0));
		rep(step, r, e, "%s", "");
		a.mode = modes[i];
		p = spawn(child_perm, &a);
		printf("perm%o_child: exit=%s\n", modes[i], reap(p));
		snprintf(step, sizeof(step), "perm%o_left", modes[i]);
		rep_rcv(step, id, 100, 43, IPC_NOWAIT);
	}
	rep_stat("perm_stat", id, key, 0, getpid());

	CALL(ipc_set(id, NOBODY, NOBODY, 0600, 0));
	rep("ipc_set_give_nobody", r, e, "%s", "");
	a.mode = 0;
	p = spawn(child_owner, &a);
	printf("owner_nobody_child: exit=%s\n", reap(p));
	rep_stat("stat_after_nobody", id, key, p, p);
	CALL(ipc_set(id, 0, 0, 0666, (unsigned long)msgmnb));
	rep("ipc_set_back_root", r, e, "%s", "");
	rep_stat("stat_back_root", id, key, p, p);
}

int main(int argc, char **argv)
{
	bool precreated = false;
	key_t key;
	long r;
	int opt, e, id;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "pn")) != -1) {
		switch (opt) {
		case 'p':
			precreated = true;
			break;
		case 'n':
			F = 0;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	key = parse_key(argv[optind]);
	if (key == IPC_PRIVATE)
		goto usage;
	if (geteuid() != 0) {
		fprintf(stderr, "msgtest: must run as root\n");
		return 2;
	}
	remove_leftover(key + 1);
	remove_leftover(key + 2);
	remove_leftover(key + 3);
	if (!precreated)
		remove_leftover(key);

	if (precreated)
		CALL(msgget(key, 0666 | F));
	else
		CALL(msgget(key, IPC_CREAT | IPC_EXCL | 0666 | F));
	rep_id("main", (int)r, e, "main");
	id = (int)r;
	if (id < 0)
		return 1;
	CALL(msgget(key, IPC_CREAT | IPC_EXCL | 0666 | F));
	rep("main_excl", r, e, "%s", "");

	section_info(id);
	section_get(key + 1);
	section_private();
	section_send(id, key);
	section_select(id, key);
	section_copy(id, key, key + 3);
	section_full(id, key);
	section_wait(id, key);
	section_eintr(id, key);
	section_stop(id, key);
	section_eidrm(key + 2);
	section_perm(id, key);

	CALL(msgctl(id, IPC_RMID, NULL));
	rep("main_rmid", r, e, "%s", "");
	CALL(snd(id, 1, "x", IPC_NOWAIT));
	rep("main_send_after_rmid", r, e, "%s", "");
	CALL(msgget(key, 0 | F));
	rep("main_msgget_after_rmid", r, e, "%s", "");
	printf("done: harness_ok=%d\n", !harness_failed);
	return harness_failed;

usage:
	fprintf(stderr, "usage: msgtest [-p] [-n] KEY\n");
	return 2;
}
