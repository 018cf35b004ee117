/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the message-queue engine (common/msgq.c): every errno path,
 * type selection, size limits, blocking and wake-up order, pipelined sends,
 * requeue, cancel, msgctl and describe().
 *
 * Every wake is logged as "pid:result" and the woken waiter is then poisoned
 * (0xa5 over it), because the glue may free it at once: an engine that
 * touched a waiter after waking it would crash or misbehave here.  A
 * receiver's delivered message is logged as "pid:size[mtype:text]" (only the
 * delivered bytes) and freed; a sender woken with an error must still hold
 * its message, logged the same way and freed; a sender woken with 0 must
 * hold none.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>

#include <glib.h>

#include "msgq.h"

#ifndef MSG_EXCEPT
#define MSG_EXCEPT 020000
#endif
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

#define KEY 0x1234
#define ID  32513

/* ---- harness ------------------------------------------------------------- */

typedef struct wake_log {
	GString *text;
	unsigned n;
} wake_log;

static const dipc_msg_limits default_lim = { .msgmax = 8192, .msgmnb = 16384 };
/* Small numbers make "full" easy to reach. */
static const dipc_msg_limits small_lim = { .msgmax = 64, .msgmnb = 100 };

static dipc_ident OWNER, ROOT, OTHER, GROUP, SUPP, CREATOR2;

static dipc_ident make_ident(const char *node, int32_t pid, uint32_t uid, uint32_t gid)
{
	dipc_ident who;

	memset(&who, 0, sizeof(who));
	g_strlcpy(who.node, node, sizeof(who.node));
	who.pid = pid;
	who.uid = uid;
	who.gid = gid;
	who.caps = uid == 0 ? DIPC_CAPS_ALL : 0;   /* root with every capability */
	return who;
}

static void idents_init(void)
{
	OWNER = make_ident("node1", 100, 1000, 100);
	ROOT = make_ident("node1", 1, 0, 0);
	OTHER = make_ident("node3", 300, 4000, 400);
	GROUP = make_ident("node2", 200, 3000, 100);
	SUPP = make_ident("node2", 201, 3001, 9);
	SUPP.groups[0] = 5;
	SUPP.groups[1] = 100;
	SUPP.ngroups = 2;
	CREATOR2 = make_ident("node2", 400, 2000, 200);
}

static const char *errname(int r)
{
	switch (r) {
	case 0: return "0";
	case 1: return "1";
	case -EINVAL: return "-EINVAL";
	case -E2BIG: return "-E2BIG";
	case -EACCES: return "-EACCES";
	case -EAGAIN: return "-EAGAIN";
	case -ENOMSG: return "-ENOMSG";
	case -EIDRM: return "-EIDRM";
	case -EPERM: return "-EPERM";
	default: return "?";
	}
}

/* "mtype:text", the text cut to n bytes, long ones abbreviated. */
static void append_msg(GString *s, const dipc_msg *m, size_t n)
{
	g_string_append_printf(s, "[%" G_GINT64_FORMAT ":", m->mtype);
	if (n <= 16)
		g_string_append_len(s, m->data, (gssize) n);
	else
		g_string_append_printf(s, "%.8s...", m->data);
	g_string_append_c(s, ']');
}

static void on_wake(dipc_msg_waiter *w, int result, void *ud)
{
	wake_log *log = ud;
	GString *s = log->text;

	/* Unlinked before the call, so the glue may free it right here. */
	g_assert_false(w->queued);
	if (log->n)
		g_string_append_c(s, ' ');
	log->n++;
	if (w->is_send) {
		g_string_append_printf(s, "%d:%s", (int) w->who.pid, errname(result));
		if (result == 0) {
			g_assert_null(w->msg);
		} else {
			g_assert_cmpint(result, <, 0);
			g_assert_nonnull(w->msg);
			append_msg(s, w->msg, w->msg->size);
			dipc_msg_free(w->msg);
		}
	} else if (result >= 0) {
		g_assert_nonnull(w->msg);
		g_assert_cmpuint((size_t) result, <=, w->msg->size);
		g_assert_cmpuint((size_t) result, <=, w->maxsize);
		g_string_append_printf(s, "%d:%d", (int) w->who.pid, result);
		append_msg(s, w->msg, (size_t) result);
		dipc_msg_free(w->msg);
	} else {
		g_assert_null(w->msg);
		g_string_append_printf(s, "%d:%s", (int) w->who.pid, errname(result));
	}
	memset(w, 0xa5, sizeof(*w));
}

#define assert_log(log, expected)                                    \
	do {                                                         \
		g_assert_cmpstr((log)->text->str, ==, (expected));   \
		g_string_truncate((log)->text, 0);                   \
		(log)->n = 0;                                        \
	} while (0)

static dipc_msgq *new_queue_lim(unsigned mode, const dipc_msg_limits *lim, wake_log *log)
{
	dipc_msgq *q;

	log->text = g_string_new(NULL);
	log->n = 0;
	q = dipc_msgq_new(KEY, ID, mode, &OWNER, lim, on_wake, log);
	g_assert_nonnull(q);
	return q;
}

static dipc_msgq *new_queue(unsigned mode, wake_log *log)
{
	return new_queue_lim(mode, &default_lim, log);
}

static void free_queue(dipc_msgq *q, wake_log *log)
{
	/* dipc_msgq_free() warns (fatal here) if a waiter is still queued. */
	dipc_msgq_free(q);
	g_assert_cmpstr(log->text->str, ==, "");
	g_string_free(log->text, TRUE);
}

/* A payload of n bytes: the text repeated. */
static dipc_msg *mk(int64_t mtype, const char *text, size_t n)
{
	char buf[256];
	size_t len = strlen(text);

	g_assert_cmpuint(n, <=, sizeof(buf));
	for (size_t i = 0; i < n; i++)
		buf[i] = len ? text[i % len] : 'x';
	return dipc_msg_new(mtype, buf, n);
}

static dipc_msg_waiter *sw_set(dipc_msg_waiter *w, const dipc_ident *who, int32_t pid,
			       int64_t mtype, const char *text, size_t n, int flags)
{
	memset(w, 0, sizeof(*w));
	w->who = *who;
	w->who.pid = pid;
	w->msg = mk(mtype, text, n);
	w->flags = flags;
	return w;
}

static dipc_msg_waiter *rw_set(dipc_msg_waiter *w, const dipc_ident *who, int32_t pid,
			       int64_t msgtyp, size_t maxsize, int flags)
{
	memset(w, 0xa5, sizeof(*w)); /* recv must not read the stale msg */
	memset(&w->who, 0, sizeof(w->who));
	w->who = *who;
	w->who.pid = pid;
	w->flags = flags;
	w->msgtyp = msgtyp;
	w->maxsize = maxsize;
	w->prev = w->next = NULL;
	w->queued = false;
	w->is_send = true; /* recv sets it */
	return w;
}

/* msgsnd with w: checks the ownership contract of w->msg. */
static int snd(dipc_msgq *q, dipc_msg_waiter *w, const dipc_ident *who, int32_t pid,
	       int64_t mtype, const char *text, size_t n, int flags)
{
	dipc_msg *m;
	int r;

	sw_set(w, who, pid, mtype, text, n, flags);
	m = w->msg;
	r = dipc_msgq_send(q, w);
	if (r == 0) {
		g_assert_null(w->msg);
		g_assert_false(w->queued);
	} else if (r == 1) {
		g_assert_true(w->queued);
		g_assert_true(w->msg == m);
	} else {
		g_assert_false(w->queued);
		g_assert_true(w->msg == m);
		g_assert_cmpint(w->msg->mtype, ==, mtype);
		g_assert_cmpuint(w->msg->size, ==, n);
		dipc_msg_free(m);
		w->msg = NULL;
	}
	return r;
}

/* msgsnd that must not wait. */
static int put(dipc_msgq *q, const dipc_ident *who, int32_t pid, int64_t mtype,
	       const char *text, size_t n, int flags)
{
	dipc_msg_waiter w;
	int r = snd(q, &w, who, pid, mtype, text, n, flags);

	g_assert_cmpint(r, !=, 1);
	return r;
}

static int puts_(dipc_msgq *q, int64_t mtype, const char *text)
{
	return put(q, &OWNER, 100, mtype, text, strlen(text), 0);
}

/* msgrcv that waits with w. */
static int rcv_wait(dipc_msgq *q, dipc_msg_waiter *w, const dipc_ident *who, int32_t pid,
		    int64_t msgtyp, size_t maxsize, int flags)
{
	int r = dipc_msgq_recv(q, rw_set(w, who, pid, msgtyp, maxsize, flags));

	g_assert_false(w->is_send);
	if (r == 1 && w->queued)
		g_assert_null(w->msg);
	return r;
}

/* msgrcv right now: "size[mtype:text]", an errno name, or "queued" (the
 * waiter is then cancelled).  The result lives until the next call. */
static const char *take(dipc_msgq *q, const dipc_ident *who, int32_t pid, int64_t msgtyp,
			size_t maxsize, int flags)
{
	static GString *out;
	dipc_msg_waiter w;
	int r;

	if (!out)
		out = g_string_new(NULL);
	g_string_truncate(out, 0);

	r = rcv_wait(q, &w, who, pid, msgtyp, maxsize, flags);
	if (r == 1 && w.queued) {
		dipc_msgq_cancel(q, &w);
		g_assert_false(w.queued);
		g_string_append(out, "queued");
	} else if (r >= 0) {
		g_assert_false(w.queued);
		g_assert_nonnull(w.msg);
		g_assert_cmpuint((size_t) r, ==, MIN(w.msg->size, maxsize));
		g_string_append_printf(out, "%d", r);
		append_msg(out, w.msg, (size_t) r);
		dipc_msg_free(w.msg);
	} else {
		g_assert_false(w.queued);
		g_assert_null(w.msg);
		g_string_append(out, errname(r));
	}
	return out->str;
}

/* The owner's msgrcv with IPC_NOWAIT and a roomy buffer. */
static const char *get(dipc_msgq *q, int64_t msgtyp)
{
	return take(q, &OWNER, 100, msgtyp, 1000, IPC_NOWAIT);
}

static struct dipc_msqid_ds stat_of(const dipc_msgq *q)
{
	struct dipc_msqid_ds ds;

	g_assert_cmpint(dipc_msgq_stat(q, NULL, false, &ds), ==, 0);
	return ds;
}

/* ---- messages, creation, msgget ------------------------------------------ */

static void test_msg_new(void)
{
	dipc_msg *m = dipc_msg_new(7, "hello", 5);

	g_assert_nonnull(m);
	g_assert_null(m->next);
	g_assert_cmpint(m->mtype, ==, 7);
	g_assert_cmpuint(m->size, ==, 5);
	g_assert_cmpmem(m->data, 5, "hello", 5);
	dipc_msg_free(m);

	m = dipc_msg_new(INT64_MAX, NULL, 0);
	g_assert_nonnull(m);
	g_assert_cmpuint(m->size, ==, 0);
	g_assert_cmpint(m->mtype, ==, INT64_MAX);
	dipc_msg_free(m);
	dipc_msg_free(NULL);
}

static void test_new(void)
{
	wake_log log;
	int64_t t0 = dipc_now_sec();
	int32_t id = dipc_id_from_serial(300); /* seq part 1 */
	const dipc_ipc_perm *p;
	struct dipc_msqid_ds ds;
	dipc_msgq *q;

	log.text = g_string_new(NULL);
	log.n = 0;
	q = dipc_msgq_new(KEY, id, IPC_CREAT | IPC_EXCL | 01640, &CREATOR2, &default_lim,
			  on_wake, &log);
	g_assert_nonnull(q);

	p = dipc_msgq_perm(q);
	g_assert_cmpint(p->key, ==, KEY);
	g_assert_cmpint(p->id, ==, id);
	g_assert_cmpuint(p->uid, ==, 2000);
	g_assert_cmpuint(p->gid, ==, 200);
	g_assert_cmpuint(p->cuid, ==, 2000);
	g_assert_cmpuint(p->cgid, ==, 200);
	g_assert_cmpuint(p->mode, ==, 0640);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 0);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 0);

	memset(&ds, 0x5a, sizeof(ds));
	g_assert_cmpint(dipc_msgq_stat(q, &ROOT, true, &ds), ==, 0);
	g_assert_cmpint(ds.perm.key, ==, KEY);
	g_assert_cmpuint(ds.perm.uid, ==, 2000);
	g_assert_cmpuint(ds.perm.gid, ==, 200);
	g_assert_cmpuint(ds.perm.cuid, ==, 2000);
	g_assert_cmpuint(ds.perm.cgid, ==, 200);
	g_assert_cmpuint(ds.perm.mode, ==, 0640);
	g_assert_cmpuint(ds.perm.seq, ==, 1);
	g_assert_cmpint(ds.stime, ==, 0);
	g_assert_cmpint(ds.rtime, ==, 0);
	g_assert_cmpint(ds.ctime, >=, t0);
	g_assert_cmpint(ds.ctime, <=, dipc_now_sec());
	g_assert_cmpuint(ds.cbytes, ==, 0);
	g_assert_cmpuint(ds.qnum, ==, 0);
	g_assert_cmpuint(ds.qbytes, ==, 16384);
	g_assert_cmpint(ds.lspid, ==, 0);
	g_assert_cmpint(ds.lrpid, ==, 0);

	free_queue(q, &log);

	/* qbytes comes from the limits */
	q = new_queue_lim(0600, &small_lim, &log);
	g_assert_cmpuint(stat_of(q).qbytes, ==, 100);
	free_queue(q, &log);
}

static void test_check_get(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0640, &log);

	g_assert_cmpint(dipc_msgq_check_get(q, &OTHER, 0600), ==, -EACCES);
	g_assert_cmpint(dipc_msgq_check_get(q, &OTHER, 0004), ==, -EACCES);
	g_assert_cmpint(dipc_msgq_check_get(q, &OTHER, 0), ==, 0);
	g_assert_cmpint(dipc_msgq_check_get(q, &GROUP, 0440), ==, 0);
	g_assert_cmpint(dipc_msgq_check_get(q, &GROUP, 0660), ==, -EACCES);
	g_assert_cmpint(dipc_msgq_check_get(q, &SUPP, 0444), ==, 0);
	g_assert_cmpint(dipc_msgq_check_get(q, &OWNER, IPC_CREAT | 0600), ==, 0);
	g_assert_cmpint(dipc_msgq_check_get(q, &ROOT, 0777), ==, 0);

	free_queue(q, &log);
}

/* ---- msgsnd, msgrcv: errors ---------------------------------------------- */

static void test_send_errors(void)
{
	wake_log log;
	dipc_msgq *q = new_queue_lim(0642, &small_lim, &log);
	dipc_msg_waiter w;

	/* mtype < 1 */
	g_assert_cmpint(put(q, &OWNER, 1, 0, "a", 1, 0), ==, -EINVAL);
	g_assert_cmpint(put(q, &OWNER, 1, -1, "a", 1, 0), ==, -EINVAL);
	g_assert_cmpint(put(q, &OWNER, 1, INT64_MIN, "a", 1, 0), ==, -EINVAL);
	/* size > msgmax; exactly msgmax is fine */
	g_assert_cmpint(put(q, &OWNER, 1, 1, "a", 65, 0), ==, -EINVAL);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "a", 64, 0), ==, 0);
	/* EINVAL before EACCES, also under IPC_NOWAIT */
	g_assert_cmpint(put(q, &OTHER, 3, 0, "a", 1, IPC_NOWAIT), ==, -EINVAL);
	g_assert_cmpint(put(q, &GROUP, 2, 1, "a", 65, 0), ==, -EINVAL);
	/* 0642: group may only read, others only write */
	g_assert_cmpint(put(q, &GROUP, 2, 1, "a", 1, 0), ==, -EACCES);
	g_assert_cmpint(put(q, &SUPP, 2, 1, "a", 1, 0), ==, -EACCES);
	g_assert_cmpint(put(q, &OTHER, 3, 1, "o", 1, 0), ==, 0);
	/* EACCES before "full" (EAGAIN) and before waiting */
	g_assert_cmpint(put(q, &OWNER, 1, 1, "a", 35, 0), ==, 0); /* 100 bytes now */
	g_assert_cmpint(put(q, &GROUP, 2, 1, "a", 1, 0), ==, -EACCES);
	g_assert_cmpint(put(q, &GROUP, 2, 1, "a", 1, IPC_NOWAIT), ==, -EACCES);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "a", 1, IPC_NOWAIT), ==, -EAGAIN);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 3);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 100);
	/* Nothing of the refused calls is recorded. */
	g_assert_cmpint(stat_of(q).lspid, ==, 1);

	/* A waiter still queued is refused. */
	g_assert_cmpint(snd(q, &w, &OWNER, 9, 1, "w", 1, 0), ==, 1);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*!w->queued*");
	g_assert_cmpint(dipc_msgq_send(q, &w), ==, -EINVAL);
	g_test_assert_expected_messages();
	g_assert_true(w.queued);
	dipc_msgq_cancel(q, &w);
	dipc_msg_free(w.msg);

	/* removed: EIDRM, but the earlier checks still come first */
	g_assert_cmpint(dipc_msgq_rmid(q, &OWNER), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "a", 1, 0), ==, -EIDRM);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "a", 1, IPC_NOWAIT), ==, -EIDRM);
	g_assert_cmpint(put(q, &GROUP, 2, 1, "a", 1, 0), ==, -EACCES);
	g_assert_cmpint(put(q, &OWNER, 1, 0, "a", 1, 0), ==, -EINVAL);

	free_queue(q, &log);
}

static void test_recv_errors(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0624, &log);
	dipc_msg_waiter w;

	g_assert_cmpint(puts_(q, 1, "one"), ==, 0);

	/* MSG_COPY needs IPC_NOWAIT and refuses MSG_EXCEPT, before the
	 * permission check */
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, MSG_COPY), ==, "-EINVAL");
	g_assert_cmpstr(take(q, &GROUP, 1, 0, 100, MSG_COPY), ==, "-EINVAL");
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, MSG_COPY | IPC_NOWAIT | MSG_EXCEPT), ==,
			"-EINVAL");
	g_assert_cmpstr(take(q, &GROUP, 1, 0, 100, MSG_COPY | IPC_NOWAIT), ==, "-EACCES");
	/* a buffer size that is negative as a long */
	g_assert_cmpstr(take(q, &OWNER, 1, 0, (size_t) LONG_MAX + 1, 0), ==, "-EINVAL");
	g_assert_cmpstr(take(q, &OWNER, 1, 0, SIZE_MAX, MSG_NOERROR), ==, "-EINVAL");
	/* 0624: group may only write, others only read */
	g_assert_cmpstr(take(q, &GROUP, 2, 0, 100, 0), ==, "-EACCES");
	g_assert_cmpstr(take(q, &SUPP, 2, 0, 100, IPC_NOWAIT), ==, "-EACCES");
	g_assert_cmpint(dipc_msgq_qnum(q), ==, 1);
	g_assert_cmpint(stat_of(q).lrpid, ==, 0);
	g_assert_cmpint(stat_of(q).rtime, ==, 0);
	g_assert_cmpstr(take(q, &OTHER, 3, 0, LONG_MAX, 0), ==, "3[1:one]");
	/* no message */
	g_assert_cmpstr(take(q, &OTHER, 3, 0, 100, IPC_NOWAIT), ==, "-ENOMSG");
	g_assert_cmpstr(take(q, &OWNER, 1, 5, 100, IPC_NOWAIT | MSG_NOERROR), ==, "-ENOMSG");
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, 0), ==, "queued");

	/* A waiter still queued is refused. */
	g_assert_cmpint(rcv_wait(q, &w, &OWNER, 7, 0, 10, 0), ==, 1);
	g_assert_true(w.queued);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*!w->queued*");
	g_assert_cmpint(dipc_msgq_recv(q, &w), ==, -EINVAL);
	g_test_assert_expected_messages();
	g_assert_true(w.queued);
	dipc_msgq_cancel(q, &w);

	/* removed: EIDRM after the permission check */
	g_assert_cmpint(puts_(q, 1, "left"), ==, 0);
	g_assert_cmpint(dipc_msgq_rmid(q, &OWNER), ==, 0);
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, 0), ==, "-EIDRM");
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, IPC_NOWAIT), ==, "-EIDRM");
	g_assert_cmpstr(take(q, &GROUP, 2, 0, 100, 0), ==, "-EACCES");
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, MSG_COPY), ==, "-EINVAL");
	/* the message is still counted until the glue frees the queue */
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 1);

	free_queue(q, &log);
}

static void test_perm_classes(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0640, &log);

	/* owner rw, group (primary or supplementary) r, other nothing */
	g_assert_cmpint(puts_(q, 1, "a"), ==, 0);
	g_assert_cmpint(put(q, &GROUP, 2, 1, "b", 1, 0), ==, -EACCES);
	g_assert_cmpint(put(q, &SUPP, 2, 1, "b", 1, 0), ==, -EACCES);
	g_assert_cmpint(put(q, &OTHER, 3, 1, "b", 1, 0), ==, -EACCES);
	g_assert_cmpstr(take(q, &OTHER, 3, 0, 10, IPC_NOWAIT), ==, "-EACCES");
	g_assert_cmpstr(take(q, &SUPP, 4, 0, 10, IPC_NOWAIT), ==, "1[1:a]");
	g_assert_cmpint(put(q, &ROOT, 5, 1, "r", 1, 0), ==, 0);
	g_assert_cmpstr(take(q, &GROUP, 6, 0, 10, IPC_NOWAIT), ==, "1[1:r]");
	g_assert_cmpint(put(q, &ROOT, 5, 1, "r", 1, 0), ==, 0);
	g_assert_cmpstr(take(q, &ROOT, 7, 0, 10, IPC_NOWAIT), ==, "1[1:r]");

	/* The owner's triplet applies to the owner even when it is narrower. */
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 1000, 100, 0044, 16384), ==, 0);
	g_assert_cmpint(puts_(q, 1, "a"), ==, -EACCES);
	g_assert_cmpstr(get(q, 0), ==, "-EACCES");
	g_assert_cmpint(put(q, &ROOT, 5, 1, "r", 1, 0), ==, 0);
	g_assert_cmpstr(take(q, &OTHER, 3, 0, 10, IPC_NOWAIT), ==, "1[1:r]");

	free_queue(q, &log);
}

/* ---- type selection ------------------------------------------------------ */

/* The mixed queue every selection test starts from. */
static dipc_msgq *mixed_queue(wake_log *log)
{
	static const struct { int64_t t; const char *s; } m[] = {
		{ 3, "a" }, { 1, "bb" }, { 5, "ccc" }, { 1, "dddd" }, { 2, "e" }, { 5, "f" },
	};
	dipc_msgq *q = new_queue(0600, log);

	for (unsigned i = 0; i < G_N_ELEMENTS(m); i++)
		g_assert_cmpint(puts_(q, m[i].t, m[i].s), ==, 0);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 6);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 12);
	return q;
}

static void drain_check(dipc_msgq *q, wake_log *log, const char *expected)
{
	GString *all = g_string_new(NULL);
	const char *r;

	while (strcmp((r = get(q, 0)), "-ENOMSG") != 0)
		g_string_append_printf(all, "%s%s", all->len ? " " : "", r);
	g_assert_cmpstr(all->str, ==, expected);
	g_string_free(all, TRUE);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 0);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 0);
	free_queue(q, log);
}

static void test_select_any(void)
{
	wake_log log;
	dipc_msgq *q = mixed_queue(&log);

	/* 0: the first, in arrival order */
	g_assert_cmpstr(get(q, 0), ==, "1[3:a]");
	g_assert_cmpstr(get(q, 0), ==, "2[1:bb]");
	/* MSG_EXCEPT means nothing with msgtyp 0 */
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, MSG_EXCEPT | IPC_NOWAIT), ==, "3[5:ccc]");
	drain_check(q, &log, "4[1:dddd] 1[2:e] 1[5:f]");
}

static void test_select_equal(void)
{
	wake_log log;
	dipc_msgq *q = mixed_queue(&log);

	g_assert_cmpstr(get(q, 5), ==, "3[5:ccc]");
	g_assert_cmpstr(get(q, 4), ==, "-ENOMSG");
	g_assert_cmpstr(get(q, 1), ==, "2[1:bb]");
	g_assert_cmpstr(get(q, 5), ==, "1[5:f]");   /* the tail */
	g_assert_cmpstr(get(q, 5), ==, "-ENOMSG");
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 6);
	/* the tail was removed: a new message still lands at the end */
	g_assert_cmpint(puts_(q, 9, "z"), ==, 0);
	drain_check(q, &log, "1[3:a] 4[1:dddd] 1[2:e] 1[9:z]");
}

static void test_select_except(void)
{
	wake_log log;
	dipc_msgq *q = mixed_queue(&log);

	g_assert_cmpstr(take(q, &OWNER, 1, 3, 100, MSG_EXCEPT | IPC_NOWAIT), ==, "2[1:bb]");
	g_assert_cmpstr(take(q, &OWNER, 1, 1, 100, MSG_EXCEPT | IPC_NOWAIT), ==, "1[3:a]");
	g_assert_cmpstr(take(q, &OWNER, 1, 5, 100, MSG_EXCEPT | IPC_NOWAIT), ==, "4[1:dddd]");
	g_assert_cmpstr(take(q, &OWNER, 1, 5, 100, MSG_EXCEPT | IPC_NOWAIT), ==, "1[2:e]");
	g_assert_cmpstr(take(q, &OWNER, 1, 5, 100, MSG_EXCEPT | IPC_NOWAIT), ==, "-ENOMSG");
	drain_check(q, &log, "3[5:ccc] 1[5:f]");
}

static void test_select_lesseq(void)
{
	wake_log log;
	dipc_msgq *q = mixed_queue(&log);

	/* lowest type <= 4 is 1; the first of the two type-1 messages */
	g_assert_cmpstr(get(q, -4), ==, "2[1:bb]");
	g_assert_cmpstr(get(q, -2), ==, "4[1:dddd]");
	g_assert_cmpstr(get(q, -1), ==, "-ENOMSG");
	/* MSG_EXCEPT means nothing with msgtyp < 0 */
	g_assert_cmpstr(take(q, &OWNER, 1, -5, 100, MSG_EXCEPT | IPC_NOWAIT), ==, "1[2:e]");
	g_assert_cmpstr(get(q, -2), ==, "-ENOMSG");
	g_assert_cmpstr(get(q, -4), ==, "1[3:a]");
	/* equal types: the first of them */
	g_assert_cmpstr(get(q, -5), ==, "3[5:ccc]");
	drain_check(q, &log, "1[5:f]");
}

static void test_select_extremes(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0600, &log);

	g_assert_cmpint(puts_(q, INT64_MAX, "max"), ==, 0);
	g_assert_cmpint(puts_(q, INT64_MAX - 1, "max-1"), ==, 0);
	g_assert_cmpint(puts_(q, 2, "two"), ==, 0);

	/* LONG_MIN selects every type (it cannot be negated) */
	g_assert_cmpstr(get(q, INT64_MIN), ==, "3[2:two]");
	g_assert_cmpstr(get(q, INT64_MIN), ==, "5[9223372036854775806:max-1]");
	g_assert_cmpint(puts_(q, 2, "two"), ==, 0);
	g_assert_cmpstr(get(q, INT64_MIN + 1), ==, "3[2:two]");
	g_assert_cmpstr(get(q, -(INT64_MAX - 1)), ==, "-ENOMSG");
	g_assert_cmpstr(get(q, INT64_MAX), ==, "3[9223372036854775807:max]");
	g_assert_cmpint(puts_(q, INT64_MAX, "max"), ==, 0);
	g_assert_cmpstr(take(q, &OWNER, 1, INT64_MAX, 10, MSG_EXCEPT | IPC_NOWAIT), ==,
			"-ENOMSG");
	g_assert_cmpstr(get(q, INT64_MIN), ==, "3[9223372036854775807:max]");

	free_queue(q, &log);
}

/* ---- sizes: E2BIG, MSG_NOERROR --------------------------------------------- */

/* MSG_COPY: msgtyp is an index; a copy, the queue untouched. */
static void test_copy(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0600, &log);
	const int f = MSG_COPY | IPC_NOWAIT;
	dipc_msg_waiter w;

	g_assert_cmpint(puts_(q, 5, "hello"), ==, 0);
	g_assert_cmpint(puts_(q, 7, "worldwide"), ==, 0);
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, f), ==, "5[5:hello]");
	g_assert_cmpstr(take(q, &OWNER, 1, 1, 100, f), ==, "9[7:worldwide]");
	g_assert_cmpstr(take(q, &OWNER, 1, 1, 9, f), ==, "9[7:worldwide]");
	g_assert_cmpstr(take(q, &OWNER, 1, 2, 100, f), ==, "-ENOMSG");
	g_assert_cmpstr(take(q, &OWNER, 1, -1, 100, f), ==, "-ENOMSG");
	g_assert_cmpstr(take(q, &OWNER, 1, 1, 3, f), ==, "-E2BIG");
	/* copy_msg(): the copy's room is the buffer, even under MSG_NOERROR */
	g_assert_cmpstr(take(q, &OWNER, 1, 1, 3, f | MSG_NOERROR), ==, "-EINVAL");
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 0, f | MSG_NOERROR), ==, "-EINVAL");
	g_assert_cmpint(rcv_wait(q, &w, &OWNER, 1, 0, 100, f), ==, 5);
	g_assert_true(w.msg->is_copy);
	dipc_msg_free(w.msg);
	/* the queue is as it was: nothing received */
	g_assert_cmpint(dipc_msgq_qnum(q), ==, 2);
	g_assert_cmpint(dipc_msgq_cbytes(q), ==, 14);
	g_assert_cmpint(stat_of(q).lrpid, ==, 0);
	g_assert_cmpint(stat_of(q).rtime, ==, 0);
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, 0), ==, "5[5:hello]");
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, f), ==, "9[7:worldwide]");

	free_queue(q, &log);
}

static void test_e2big_noerror(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0600, &log);
	dipc_msg_waiter w;

	g_assert_cmpint(put(q, &OWNER, 1, 1, "0123456789", 10, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "s", 1, 0), ==, 0);

	/* E2BIG leaves the message where it was, even if a later message of
	 * the same selection would fit (msgrcv does not look further). */
	g_assert_cmpstr(take(q, &OWNER, 2, 0, 9, 0), ==, "-E2BIG");
	g_assert_cmpstr(take(q, &OWNER, 2, 1, 0, IPC_NOWAIT), ==, "-E2BIG");
	g_assert_cmpstr(take(q, &OWNER, 2, -3, 5, 0), ==, "-E2BIG");
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 2);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 11);
	g_assert_cmpint(stat_of(q).lrpid, ==, 0);
	g_assert_cmpint(stat_of(q).rtime, ==, 0);

	/* MSG_NOERROR: taken, truncated to the buffer; the message itself is
	 * not cut (it can be given back whole) */
	g_assert_cmpint(rcv_wait(q, &w, &OWNER, 3, 0, 4, MSG_NOERROR), ==, 4);
	g_assert_false(w.queued);
	g_assert_cmpuint(w.msg->size, ==, 10);
	g_assert_cmpmem(w.msg->data, 4, "0123", 4);
	dipc_msg_free(w.msg);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 1);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 1);
	g_assert_cmpint(stat_of(q).lrpid, ==, 3);

	/* exact fit, and a zero-size buffer */
	g_assert_cmpstr(take(q, &OWNER, 4, 0, 0, MSG_NOERROR | IPC_NOWAIT), ==, "0[1:]");
	g_assert_cmpint(put(q, &OWNER, 1, 1, "x", 1, 0), ==, 0);
	g_assert_cmpstr(take(q, &OWNER, 4, 0, 1, 0), ==, "1[1:x]");
	/* a zero-size message fits any buffer */
	g_assert_cmpint(put(q, &OWNER, 1, 1, "", 0, 0), ==, 0);
	g_assert_cmpstr(take(q, &OWNER, 4, 0, 0, 0), ==, "0[1:]");

	free_queue(q, &log);
}

/* A delivered size of 1 and "queued" share the return value 1. */
static void test_one_byte(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0600, &log);
	dipc_msg_waiter w;

	g_assert_cmpint(rcv_wait(q, &w, &OWNER, 2, 0, 10, 0), ==, 1);
	g_assert_true(w.queued);
	g_assert_null(w.msg);
	dipc_msgq_cancel(q, &w);

	g_assert_cmpint(puts_(q, 1, "x"), ==, 0);
	g_assert_cmpint(rcv_wait(q, &w, &OWNER, 2, 0, 10, 0), ==, 1);
	g_assert_false(w.queued);
	g_assert_nonnull(w.msg);
	dipc_msg_free(w.msg);

	free_queue(q, &log);
}

/* ---- a full queue -------------------------------------------------------- */

static void test_nowait_full(void)
{
	wake_log log;
	dipc_msgq *q = new_queue_lim(0600, &small_lim, &log);

	g_assert_cmpint(put(q, &OWNER, 1, 1, "a", 64, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "b", 36, IPC_NOWAIT), ==, 0); /* exactly full */
	g_assert_cmpint(put(q, &OWNER, 1, 1, "c", 1, IPC_NOWAIT), ==, -EAGAIN);
	/* a zero-size message still counts against qnum, and fits by bytes */
	g_assert_cmpint(put(q, &OWNER, 1, 1, "", 0, IPC_NOWAIT), ==, 0);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 3);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 100);
	g_assert_cmpstr(get(q, 0), ==, "64[1:aaaaaaaa...]");
	g_assert_cmpint(put(q, &OWNER, 1, 1, "c", 65, IPC_NOWAIT), ==, -EINVAL);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "c", 64, IPC_NOWAIT), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "c", 1, IPC_NOWAIT), ==, -EAGAIN);

	free_queue(q, &log);
}

static void test_senders_fifo(void)
{
	wake_log log;
	dipc_msgq *q = new_queue_lim(0600, &small_lim, &log);
	dipc_msg_waiter b, c, e, f;
	struct dipc_msqid_ds ds;

	g_assert_cmpint(put(q, &OWNER, 10, 1, "A", 60, 0), ==, 0);
	g_assert_cmpint(snd(q, &b, &OWNER, 11, 2, "B", 50, 0), ==, 1);
	g_assert_cmpint(snd(q, &c, &OWNER, 12, 3, "C", 45, 0), ==, 1);
	/* a fresh sender that fits does not wait behind them (as in Linux) */
	g_assert_cmpint(put(q, &OWNER, 13, 4, "D", 10, 0), ==, 0);
	assert_log(&log, "");
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 70);

	/* A leaves: 10 bytes queued, B (50) fits, C (45) no longer */
	g_assert_cmpstr(take(q, &OWNER, 20, 0, 100, 0), ==, "60[1:AAAAAAAA...]");
	assert_log(&log, "11:0");
	g_assert_true(c.queued);
	ds = stat_of(q);
	g_assert_cmpint(ds.lspid, ==, 11);
	g_assert_cmpint(ds.lrpid, ==, 20);
	g_assert_cmpuint(ds.cbytes, ==, 60);
	g_assert_cmpuint(ds.qnum, ==, 2);

	/* D leaves: C fits */
	g_assert_cmpstr(get(q, 4), ==, "10[4:DDDDDDDDDD]");
	assert_log(&log, "12:0");
	g_assert_cmpint(stat_of(q).lspid, ==, 12);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 95);
	g_assert_cmpstr(get(q, 0), ==, "50[2:BBBBBBBB...]");
	g_assert_cmpstr(get(q, 0), ==, "45[3:CCCCCCCC...]");

	/* Several fit at once: woken oldest first, in one go. */
	g_assert_cmpint(put(q, &OWNER, 10, 1, "A", 60, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 10, 1, "A", 40, 0), ==, 0);
	g_assert_cmpint(snd(q, &b, &OWNER, 11, 2, "B", 30, 0), ==, 1);
	g_assert_cmpint(snd(q, &c, &OWNER, 12, 3, "C", 20, 0), ==, 1);
	g_assert_cmpint(snd(q, &e, &OWNER, 13, 4, "E", 20, 0), ==, 1);
	g_assert_cmpstr(get(q, 0), ==, "60[1:AAAAAAAA...]");
	assert_log(&log, "11:0 12:0");
	g_assert_true(e.queued);
	g_assert_cmpint(stat_of(q).lspid, ==, 12);

	/* A large sender does not hold back a smaller one behind it. */
	g_assert_cmpstr(get(q, 0), ==, "40[1:AAAAAAAA...]");
	assert_log(&log, "13:0");
	/* queued: B 30, C 20, E 20; fill up to 100 */
	for (int i = 0; i < 3; i++)
		g_assert_cmpint(put(q, &OWNER, 16, 7, "H", 10, 0), ==, 0);
	g_assert_cmpint(snd(q, &b, &OWNER, 14, 5, "F", 40, 0), ==, 1);
	g_assert_cmpint(snd(q, &f, &OWNER, 15, 6, "G", 5, 0), ==, 1);
	g_assert_cmpstr(get(q, 7), ==, "10[7:HHHHHHHHHH]");
	assert_log(&log, "15:0");  /* 95; F would make 130 */
	g_assert_true(b.queued);
	g_assert_cmpstr(get(q, 2), ==, "30[2:BBBBBBBB...]");
	assert_log(&log, "");      /* 65 + 40 > 100 */
	g_assert_cmpstr(get(q, 3), ==, "20[3:CCCCCCCC...]");
	assert_log(&log, "14:0");
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 85);
	drain_check(q, &log, "20[4:EEEEEEEE...] 10[7:HHHHHHHHHH] 10[7:HHHHHHHHHH] 5[6:GGGGG] "
			     "40[5:FFFFFFFF...]");
}

/* qnum is bounded by qbytes as well. */
static void test_qnum_limit(void)
{
	static const dipc_msg_limits lim = { .msgmax = 64, .msgmnb = 3 };
	wake_log log;
	dipc_msgq *q = new_queue_lim(0600, &lim, &log);
	dipc_msg_waiter w;

	for (int i = 0; i < 3; i++)
		g_assert_cmpint(put(q, &OWNER, 1, 1, "", 0, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "", 0, IPC_NOWAIT), ==, -EAGAIN);
	g_assert_cmpint(snd(q, &w, &OWNER, 2, 1, "", 0, 0), ==, 1);
	g_assert_cmpstr(get(q, 0), ==, "0[1:]");
	assert_log(&log, "2:0");
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 3);

	/* raising qbytes (up to msgmnb, no privilege needed) lets one in */
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 1000, 100, 0600, 2), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "", 0, IPC_NOWAIT), ==, -EAGAIN);
	g_assert_cmpint(snd(q, &w, &OWNER, 3, 1, "", 0, 0), ==, 1);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 1000, 100, 0600, 3), ==, 0);
	assert_log(&log, "");
	g_assert_cmpint(dipc_msgq_ipc_set(q, &ROOT, 1000, 100, 0600, 4), ==, 0);
	assert_log(&log, "3:0");
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 4);

	free_queue(q, &log);
}

/* ---- pipelined send ------------------------------------------------------ */

static void test_pipelined(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0666, &log);
	dipc_msg_waiter r1, r2, r3, r4;
	struct dipc_msqid_ds ds;
	int64_t t0 = dipc_now_sec();

	g_assert_cmpint(rcv_wait(q, &r1, &OWNER, 31, 5, 100, 0), ==, 1);
	g_assert_cmpint(put(q, &OTHER, 40, 1, "one", 3, 0), ==, 0);
	assert_log(&log, "");
	g_assert_cmpint(put(q, &GROUP, 41, 5, "five", 4, 0), ==, 0);
	assert_log(&log, "31:4[5:five]");
	/* the queue did not see it */
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 1);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 3);
	ds = stat_of(q);
	g_assert_cmpint(ds.lspid, ==, 41);
	g_assert_cmpint(ds.lrpid, ==, 31);
	g_assert_cmpint(ds.stime, >=, t0);
	g_assert_cmpint(ds.rtime, >=, t0);
	g_assert_cmpint(ds.rtime, <=, dipc_now_sec());
	g_assert_cmpstr(get(q, 0), ==, "3[1:one]");

	/* A matching receiver too small without MSG_NOERROR gets E2BIG on
	 * the way; the next one gets the message. */
	g_assert_cmpint(rcv_wait(q, &r1, &OWNER, 31, 0, 2, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r2, &OWNER, 32, 0, 10, 0), ==, 1);
	g_assert_cmpint(put(q, &OTHER, 40, 3, "hello", 5, 0), ==, 0);
	assert_log(&log, "31:-E2BIG 32:5[3:hello]");
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 0);
	g_assert_cmpint(stat_of(q).lrpid, ==, 32);

	/* Non-matching receivers are passed over; each selection rule. */
	g_assert_cmpint(rcv_wait(q, &r1, &OWNER, 31, 7, 10, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r2, &OWNER, 32, -3, 10, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r3, &OWNER, 33, 9, 10, MSG_EXCEPT), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r4, &OWNER, 34, 0, 10, 0), ==, 1);
	g_assert_cmpint(put(q, &OTHER, 40, 9, "nine", 4, 0), ==, 0);
	assert_log(&log, "34:4[9:nine]");
	g_assert_cmpint(put(q, &OTHER, 40, 4, "four", 4, 0), ==, 0);
	assert_log(&log, "33:4[4:four]");
	g_assert_cmpint(put(q, &OTHER, 40, 9, "nine", 4, 0), ==, 0);
	assert_log(&log, "");
	g_assert_cmpint(put(q, &OTHER, 40, 3, "three", 5, 0), ==, 0);
	assert_log(&log, "32:5[3:three]");
	g_assert_cmpint(put(q, &OTHER, 40, 7, "seven", 5, 0), ==, 0);
	assert_log(&log, "31:5[7:seven]");
	g_assert_cmpstr(get(q, 0), ==, "4[9:nine]");

	/* MSG_NOERROR: truncated delivery; all too small: E2BIG for every
	 * matching one and the message is queued. */
	g_assert_cmpint(rcv_wait(q, &r1, &OWNER, 31, 0, 2, MSG_NOERROR), ==, 1);
	g_assert_cmpint(put(q, &OTHER, 40, 1, "abcdef", 6, 0), ==, 0);
	assert_log(&log, "31:2[1:ab]");
	g_assert_cmpint(rcv_wait(q, &r1, &OWNER, 31, 0, 2, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r2, &OWNER, 32, 1, 3, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r3, &OWNER, 33, 2, 1, 0), ==, 1);
	g_assert_cmpint(put(q, &OTHER, 40, 1, "abcdef", 6, 0), ==, 0);
	assert_log(&log, "31:-E2BIG 32:-E2BIG");
	g_assert_true(r3.queued);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 1);
	dipc_msgq_cancel(q, &r3);
	g_assert_cmpstr(get(q, 0), ==, "6[1:abcdef]");

	free_queue(q, &log);
}

/* A send must fit before it can be pipelined (msg_fits() comes first). */
static void test_pipelined_needs_room(void)
{
	wake_log log;
	dipc_msgq *q = new_queue_lim(0600, &small_lim, &log);
	dipc_msg_waiter r, s;

	g_assert_cmpint(put(q, &OWNER, 1, 1, "full", 64, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "full", 36, 0), ==, 0);
	g_assert_cmpint(rcv_wait(q, &r, &OWNER, 50, 5, 100, 0), ==, 1);
	g_assert_cmpint(put(q, &OWNER, 51, 5, "five", 4, IPC_NOWAIT), ==, -EAGAIN);
	g_assert_cmpint(snd(q, &s, &OWNER, 52, 5, "five", 4, 0), ==, 1);
	assert_log(&log, "");
	/* room: the sender is retried and hands the message to the receiver */
	g_assert_cmpstr(take(q, &OWNER, 53, 0, 100, 0), ==, "64[1:fullfull...]");
	assert_log(&log, "50:4[5:five] 52:0");
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 1);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 36);
	g_assert_cmpint(stat_of(q).lspid, ==, 52);
	g_assert_cmpint(stat_of(q).lrpid, ==, 50);

	free_queue(q, &log);
}

/* ---- requeue ------------------------------------------------------------- */

static dipc_msg *take_msg(dipc_msgq *q, int64_t msgtyp, size_t maxsize, int flags)
{
	dipc_msg_waiter w;
	int r = rcv_wait(q, &w, &OWNER, 60, msgtyp, maxsize, flags | IPC_NOWAIT);

	g_assert_cmpint(r, >=, 0);
	g_assert_false(w.queued);
	g_assert_nonnull(w.msg);
	return w.msg;
}

static void test_requeue_head(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0600, &log);
	struct dipc_msqid_ds ds, ds2;
	dipc_msg *m;

	g_assert_cmpint(puts_(q, 1, "first"), ==, 0);
	g_assert_cmpint(puts_(q, 2, "second"), ==, 0);
	m = take_msg(q, 0, 100, 0);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 1);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 6);
	dipc_msgq_requeue(q, m);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 2);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 11);
	/* at the head, not behind later messages */
	g_assert_cmpstr(get(q, 0), ==, "5[1:first]");

	/* a later message than the head also goes back to the head */
	g_assert_cmpint(puts_(q, 3, "third"), ==, 0);
	m = take_msg(q, 3, 100, 0);
	dipc_msgq_requeue(q, m);
	g_assert_cmpstr(get(q, 0), ==, "5[3:third]");
	g_assert_cmpstr(get(q, 0), ==, "6[2:second]");

	/* into an empty queue: head and tail, then appends go after it */
	g_assert_cmpint(puts_(q, 4, "x"), ==, 0);
	m = take_msg(q, 0, 100, 0);
	dipc_msgq_requeue(q, m);
	g_assert_cmpint(puts_(q, 5, "y"), ==, 0);
	g_assert_cmpstr(get(q, -9), ==, "1[4:x]");
	g_assert_cmpstr(get(q, 0), ==, "1[5:y]");

	/* a message taken truncated comes back whole */
	g_assert_cmpint(put(q, &OWNER, 61, 6, "0123456789", 10, 0), ==, 0);
	m = take_msg(q, 0, 3, MSG_NOERROR);
	ds = stat_of(q);
	g_assert_cmpint(ds.lspid, ==, 61);
	g_assert_cmpint(ds.lrpid, ==, 60);
	dipc_msgq_requeue(q, m);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 10);
	/* requeue is neither a send nor a receive */
	ds2 = stat_of(q);
	g_assert_cmpint(ds2.lspid, ==, 61);
	g_assert_cmpint(ds2.lrpid, ==, 60);
	g_assert_cmpint(ds2.stime, ==, ds.stime);
	g_assert_cmpint(ds2.rtime, ==, ds.rtime);
	g_assert_cmpstr(get(q, 0), ==, "10[6:0123456789]");

	free_queue(q, &log);
}

/* Requeue ignores the limits; senders wait until it drains. */
static void test_requeue_over_limit(void)
{
	wake_log log;
	dipc_msgq *q = new_queue_lim(0600, &small_lim, &log);
	dipc_msg_waiter s;
	dipc_msg *m;

	g_assert_cmpint(put(q, &OWNER, 1, 1, "a", 60, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 2, "b", 40, 0), ==, 0);
	g_assert_cmpint(snd(q, &s, &OWNER, 2, 3, "c", 50, 0), ==, 1);
	m = take_msg(q, 1, 100, 0);
	assert_log(&log, "2:0"); /* 40 + 50 */
	dipc_msgq_requeue(q, m);
	assert_log(&log, "");
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 150);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 3);
	g_assert_cmpint(put(q, &OWNER, 1, 4, "", 0, IPC_NOWAIT), ==, -EAGAIN);
	g_assert_cmpint(snd(q, &s, &OWNER, 3, 4, "d", 1, 0), ==, 1);
	g_assert_cmpstr(get(q, 0), ==, "60[1:aaaaaaaa...]");
	assert_log(&log, "3:0"); /* 90 + 1 fits */
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 91);
	drain_check(q, &log, "40[2:bbbbbbbb...] 50[3:cccccccc...] 1[4:d]");
}

static void test_requeue_to_receiver(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0640, &log);
	dipc_msg_waiter r1, r2, r3;
	dipc_msg *m;

	g_assert_cmpint(puts_(q, 9, "nine"), ==, 0);
	g_assert_cmpint(puts_(q, 1, "one"), ==, 0);
	m = take_msg(q, 9, 100, 0);

	/* receivers that do not match are passed over; one too small without
	 * MSG_NOERROR gets E2BIG, as for a new message; the next takes it */
	g_assert_cmpint(rcv_wait(q, &r1, &GROUP, 71, 8, 100, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r2, &OWNER, 72, 9, 3, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r3, &OWNER, 73, 9, 2, MSG_NOERROR), ==, 1);
	dipc_msgq_requeue(q, m);
	assert_log(&log, "72:-E2BIG 73:2[9:ni]");
	g_assert_true(r1.queued);
	dipc_msgq_cancel(q, &r1);
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 1);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 3);
	g_assert_cmpint(stat_of(q).lrpid, ==, 73);
	g_assert_cmpstr(get(q, 0), ==, "3[1:one]");

	free_queue(q, &log);
}

static void test_requeue_removed(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0600, &log);
	dipc_msg *m;

	g_assert_cmpint(puts_(q, 1, "one"), ==, 0);
	m = take_msg(q, 0, 100, 0);
	g_assert_cmpint(dipc_msgq_rmid(q, &OWNER), ==, 0);
	dipc_msgq_requeue(q, m); /* freed: valgrind sees no leak */
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 0);
	free_queue(q, &log);
}

/* ---- cancel -------------------------------------------------------------- */

static void test_cancel(void)
{
	wake_log log;
	dipc_msgq *q = new_queue_lim(0600, &small_lim, &log);
	dipc_msg_waiter r1, r2, s1, s2, s3;
	dipc_msg *m;

	/* a cancelled receiver is never woken; the message is queued */
	g_assert_cmpint(rcv_wait(q, &r1, &OWNER, 1, 0, 100, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r2, &OWNER, 2, 0, 100, 0), ==, 1);
	dipc_msgq_cancel(q, &r1);
	g_assert_false(r1.queued);
	g_assert_null(r1.msg);
	dipc_msgq_cancel(q, &r1); /* not queued: no-op */
	g_assert_cmpint(puts_(q, 1, "a"), ==, 0);
	assert_log(&log, "2:1[1:a]");
	g_assert_cmpint(puts_(q, 1, "b"), ==, 0);
	assert_log(&log, "");
	g_assert_cmpuint(dipc_msgq_qnum(q), ==, 1);

	/* a cancelled sender keeps its message and is never woken */
	g_assert_cmpint(put(q, &OWNER, 1, 1, "f", 64, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 1, "g", 35, 0), ==, 0); /* 100 */
	g_assert_cmpint(snd(q, &s1, &OWNER, 11, 2, "s", 30, 0), ==, 1);
	g_assert_cmpint(snd(q, &s2, &OWNER, 12, 3, "t", 40, 0), ==, 1);
	g_assert_cmpint(snd(q, &s3, &OWNER, 13, 4, "u", 30, 0), ==, 1);
	m = s2.msg;
	dipc_msgq_cancel(q, &s2);
	g_assert_false(s2.queued);
	g_assert_true(s2.msg == m);
	g_assert_cmpint(m->mtype, ==, 3);
	g_assert_cmpuint(m->size, ==, 40);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 100);
	assert_log(&log, "");
	g_assert_cmpstr(get(q, 0), ==, "1[1:b]");
	assert_log(&log, "");
	g_assert_cmpstr(get(q, 0), ==, "64[1:ffffffff...]");
	assert_log(&log, "11:0 13:0");
	dipc_msg_free(m);
	drain_check(q, &log, "35[1:gggggggg...] 30[2:ssssssss...] 30[4:uuuuuuuu...]");
}

/* ---- msgctl -------------------------------------------------------------- */

static void test_stat(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0600, &log);
	dipc_ident r2 = make_ident("node2", 77, 1000, 100);
	struct dipc_msqid_ds ds;
	int64_t t0 = dipc_now_sec();

	memset(&ds, 0x5a, sizeof(ds));
	g_assert_cmpint(dipc_msgq_stat(q, &OTHER, true, &ds), ==, -EACCES);
	g_assert_cmpint(dipc_msgq_stat(q, &GROUP, true, &ds), ==, -EACCES);
	/* MSG_STAT_ANY: no check */
	g_assert_cmpint(dipc_msgq_stat(q, &OTHER, false, &ds), ==, 0);
	g_assert_cmpuint(ds.perm.uid, ==, 1000);
	g_assert_cmpuint(ds.perm.seq, ==, (uint32_t) ID >> 15);
	g_assert_cmpint(dipc_msgq_stat(q, &OWNER, true, &ds), ==, 0);
	g_assert_cmpint(dipc_msgq_stat(q, &ROOT, true, &ds), ==, 0);

	g_assert_cmpint(put(q, &OWNER, 123, 1, "abc", 3, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 124, 2, "defgh", 5, 0), ==, 0);
	ds = stat_of(q);
	g_assert_cmpuint(ds.qnum, ==, 2);
	g_assert_cmpuint(ds.cbytes, ==, 8);
	g_assert_cmpuint(ds.qbytes, ==, 16384);
	g_assert_cmpint(ds.lspid, ==, 124);
	g_assert_cmpint(ds.lrpid, ==, 0);
	g_assert_cmpint(ds.stime, >=, t0);
	g_assert_cmpint(ds.stime, <=, dipc_now_sec());
	g_assert_cmpint(ds.rtime, ==, 0);

	g_assert_cmpstr(take(q, &r2, 77, 0, 100, 0), ==, "3[1:abc]");
	ds = stat_of(q);
	g_assert_cmpuint(ds.qnum, ==, 1);
	g_assert_cmpuint(ds.cbytes, ==, 5);
	g_assert_cmpint(ds.lspid, ==, 124);
	g_assert_cmpint(ds.lrpid, ==, 77);
	g_assert_cmpint(ds.rtime, >=, t0);
	g_assert_cmpint(ds.rtime, <=, dipc_now_sec());

	free_queue(q, &log);
}

static void test_ipc_set(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0600, &log);
	dipc_ident newowner = make_ident("node2", 5, 3000, 9);
	const dipc_ipc_perm *p = dipc_msgq_perm(q);
	struct dipc_msqid_ds ds;
	int64_t t0 = dipc_now_sec();

	g_assert_cmpint(dipc_msgq_ipc_set(q, &OTHER, 4000, 400, 0666, 100), ==, -EPERM);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &GROUP, 3000, 100, 0666, 100), ==, -EPERM);
	/* above msgmnb needs root, also for the owner; nothing changes */
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 3000, 300, 0666, 16385), ==, -EPERM);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 3000, 300, 0666, UINT64_MAX), ==, -EPERM);
	g_assert_cmpuint(p->uid, ==, 1000);
	g_assert_cmpuint(p->mode, ==, 0600);
	g_assert_cmpuint(stat_of(q).qbytes, ==, 16384);

	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 3000, 300, 0170604, 16384), ==, 0);
	g_assert_cmpuint(p->uid, ==, 3000);
	g_assert_cmpuint(p->gid, ==, 300);
	g_assert_cmpuint(p->mode, ==, 0604);
	g_assert_cmpuint(p->cuid, ==, 1000);
	g_assert_cmpuint(p->cgid, ==, 100);
	ds = stat_of(q);
	g_assert_cmpint(ds.ctime, >=, t0);
	g_assert_cmpint(ds.stime, ==, 0);

	/* the new owner, the creator and root may; others may not */
	g_assert_cmpint(dipc_msgq_ipc_set(q, &newowner, 3000, 300, 0640, 50), ==, 0);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 3000, 300, 0640, 40), ==, 0);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OTHER, 3000, 300, 0666, 40), ==, -EPERM);
	g_assert_cmpuint(stat_of(q).qbytes, ==, 40);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &ROOT, 3000, 300, 0660, 1u << 30), ==, 0);
	g_assert_cmpuint(stat_of(q).qbytes, ==, 1u << 30);
	g_assert_cmpuint(p->mode, ==, 0660);
	/* lowering (also below what is queued) needs nothing special */
	g_assert_cmpint(put(q, &newowner, 5, 1, "abc", 3, 0), ==, 0);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &newowner, 3000, 300, 0660, 0), ==, 0);
	g_assert_cmpint(put(q, &newowner, 5, 1, "", 0, IPC_NOWAIT), ==, -EAGAIN);
	g_assert_cmpstr(take(q, &newowner, 5, 0, 10, 0), ==, "3[1:abc]");

	/* removed */
	g_assert_cmpint(dipc_msgq_rmid(q, &ROOT), ==, 0);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 3000, 300, 0660, 10), ==, -EIDRM);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OTHER, 3000, 300, 0660, 10), ==, -EPERM);

	free_queue(q, &log);
}

/* Permission lost through IPC_SET: the waiters that lost it are woken with
 * EACCES (receivers first), the others stay or are retried. */
static void test_ipc_set_wakes(void)
{
	wake_log log;
	dipc_msgq *q = new_queue_lim(0666, &small_lim, &log);
	dipc_msg_waiter ro, rg, rw, so, sg, sw;

	g_assert_cmpint(put(q, &OWNER, 1, 1, "x", 60, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 2, "y", 40, 0), ==, 0);
	g_assert_cmpint(rcv_wait(q, &ro, &OTHER, 31, 9, 100, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &rg, &GROUP, 32, 9, 100, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &rw, &OWNER, 33, 8, 100, 0), ==, 1);
	g_assert_cmpint(snd(q, &so, &OTHER, 41, 3, "o", 10, 0), ==, 1);
	g_assert_cmpint(snd(q, &sg, &GROUP, 42, 9, "g", 10, 0), ==, 1);
	g_assert_cmpint(snd(q, &sw, &OWNER, 43, 8, "w", 50, 0), ==, 1);

	/* refused: nothing is woken */
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OTHER, 1000, 100, 0600, 100), ==, -EPERM);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 1000, 100, 0600, 101), ==, -EPERM);
	assert_log(&log, "");

	/* 0640: others lose both, the group keeps read and loses write.  The
	 * other sender is refused although it would now fit. */
	g_assert_cmpint(dipc_msgq_ipc_set(q, &ROOT, 1000, 100, 0640, 120), ==, 0);
	assert_log(&log, "31:-EACCES 41:-EACCES[3:oooooooooo] 42:-EACCES[9:gggggggggg]");
	g_assert_true(rg.queued);
	g_assert_true(rw.queued);
	g_assert_true(sw.queued);
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 100);

	/* more room, same permissions: the owner's sender goes, to its
	 * waiting receiver */
	g_assert_cmpint(dipc_msgq_ipc_set(q, &ROOT, 1000, 100, 0640, 150), ==, 0);
	assert_log(&log, "33:50[8:wwwwwwww...] 43:0");
	g_assert_cmpuint(dipc_msgq_cbytes(q), ==, 100);

	/* a receiver that keeps its access keeps waiting */
	g_assert_cmpint(dipc_msgq_ipc_set(q, &ROOT, 1000, 100, 0660, 150), ==, 0);
	assert_log(&log, "");
	g_assert_cmpint(put(q, &GROUP, 44, 9, "nine", 4, 0), ==, 0);
	assert_log(&log, "32:4[9:nine]");

	drain_check(q, &log, "60[1:xxxxxxxx...] 40[2:yyyyyyyy...]");
}

static void test_rmid(void)
{
	wake_log log;
	dipc_msgq *q = new_queue_lim(0666, &small_lim, &log);
	dipc_msg_waiter r1, r2, s1, s2;
	struct dipc_msqid_ds ds;

	g_assert_cmpint(put(q, &OWNER, 1, 1, "q", 64, 0), ==, 0);
	g_assert_cmpint(put(q, &OWNER, 1, 2, "r", 30, 0), ==, 0);
	g_assert_cmpint(snd(q, &s1, &OTHER, 11, 3, "first", 20, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r1, &OWNER, 21, 7, 10, 0), ==, 1);
	g_assert_cmpint(snd(q, &s2, &GROUP, 12, 4, "second", 30, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r2, &GROUP, 22, 6, 10, MSG_NOERROR), ==, 1);

	/* mode 0666 does not make others owners */
	g_assert_cmpint(dipc_msgq_rmid(q, &OTHER), ==, -EPERM);
	g_assert_cmpint(dipc_msgq_rmid(q, &GROUP), ==, -EPERM);
	assert_log(&log, "");

	/* receivers first, then senders, each in order; senders keep their
	 * messages (logged, then freed by the wake function) */
	g_assert_cmpint(dipc_msgq_rmid(q, &OWNER), ==, 0);
	assert_log(&log, "21:-EIDRM 22:-EIDRM 11:-EIDRM[3:firstfir...] "
			 "12:-EIDRM[4:secondse...]");

	/* what the glue might still do before it frees the queue */
	g_assert_cmpint(put(q, &OWNER, 1, 1, "a", 1, 0), ==, -EIDRM);
	g_assert_cmpstr(take(q, &OWNER, 1, 0, 100, 0), ==, "-EIDRM");
	g_assert_cmpint(dipc_msgq_rmid(q, &OWNER), ==, -EIDRM);
	g_assert_cmpint(dipc_msgq_rmid(q, &OTHER), ==, -EPERM);
	g_assert_cmpint(dipc_msgq_stat(q, &OWNER, true, &ds), ==, 0);
	g_assert_cmpuint(ds.qnum, ==, 2);
	/* the two queued messages are freed with the queue (valgrind) */
	free_queue(q, &log);

	/* root may remove */
	q = new_queue(0600, &log);
	g_assert_cmpint(dipc_msgq_rmid(q, &ROOT), ==, 0);
	free_queue(q, &log);
	/* so may the creator after a change of owner */
	q = new_queue(0600, &log);
	g_assert_cmpint(dipc_msgq_ipc_set(q, &OWNER, 3000, 300, 0600, 10), ==, 0);
	g_assert_cmpint(dipc_msgq_rmid(q, &OWNER), ==, 0);
	free_queue(q, &log);
}

/* ---- describe ------------------------------------------------------------ */

static char *fmt_time(int64_t t)
{
	time_t tt = (time_t) t;
	struct tm tm;
	char buf[64];

	g_assert_nonnull(gmtime_r(&tt, &tm));
	g_assert_cmpuint(strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm), >, 0);
	return g_strdup(buf);
}

static void test_describe(void)
{
	static const dipc_msg_limits lim = { .msgmax = 8192, .msgmnb = 200 };
	wake_log log;
	dipc_ident root2 = make_ident("node2", 0, 0, 0);
	dipc_ident root3 = make_ident("node3", 0, 0, 0);
	dipc_ident root10 = make_ident("node10", 0, 0, 0);
	dipc_msg_waiter s1, r1, r2;
	struct dipc_msqid_ds ds;
	g_autofree char *text = NULL, *expected = NULL, *ct = NULL, *st = NULL, *rt = NULL;
	dipc_msgq *q;

	log.text = g_string_new(NULL);
	log.n = 0;
	q = dipc_msgq_new(KEY, ID, 0600, &ROOT, &lim, on_wake, &log);

	ds = stat_of(q);
	ct = fmt_time(ds.ctime);
	text = dipc_msgq_describe(q, "node1");
	expected = g_strdup_printf("key       0x00001234\n"
				   "id        32513\n"
				   "owner     node1\n"
				   "mode      0600\n"
				   "uid       0\n"
				   "gid       0\n"
				   "cuid      0\n"
				   "cgid      0\n"
				   "qnum      0\n"
				   "cbytes    0\n"
				   "qbytes    200\n"
				   "lspid     -\n"
				   "lrpid     -\n"
				   "stime     never\n"
				   "rtime     never\n"
				   "ctime     %s\n"
				   "\n"
				   "type  count  bytes\n"
				   "\n"
				   "senders   0\n"
				   "receivers 0\n", ct);
	g_assert_cmpstr(text, ==, expected);
	g_clear_pointer(&text, g_free);
	g_clear_pointer(&expected, g_free);

	g_assert_cmpint(put(q, &root2, 123, 5, "SECRETPAYLOAD", 40, 0), ==, 0);
	g_assert_cmpint(put(q, &root2, 123, 1, "SECRETPAYLOAD", 50, 0), ==, 0);
	g_assert_cmpint(put(q, &root2, 123, 1234567890123LL, "SECRETPAYLOAD", 20, 0), ==, 0);
	g_assert_cmpint(put(q, &root2, 123, 1, "SECRETPAYLOAD", 30, 0), ==, 0);
	g_assert_cmpint(put(q, &root2, 124, 77, "SECRETPAYLOAD", 60, 0), ==, 0);
	g_assert_cmpstr(take(q, &root3, 456, 77, 100, 0), ==, "60[77:SECRETPA...]");
	g_assert_cmpint(snd(q, &s1, &root10, 9000, 2, "SECRETPAYLOAD", 61, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r1, &root3, 789, 3, 100, 0), ==, 1);
	g_assert_cmpint(rcv_wait(q, &r2, &root10, 78, 9, 7, MSG_NOERROR), ==, 1);
	ds = stat_of(q);
	st = fmt_time(ds.stime);
	rt = fmt_time(ds.rtime);

	text = dipc_msgq_describe(q, NULL);
	expected = g_strdup_printf("key       0x00001234\n"
				   "id        32513\n"
				   "owner     -\n"
				   "mode      0600\n"
				   "uid       0\n"
				   "gid       0\n"
				   "cuid      0\n"
				   "cgid      0\n"
				   "qnum      4\n"
				   "cbytes    140\n"
				   "qbytes    200\n"
				   "lspid     124@node2\n"
				   "lrpid     456@node3\n"
				   "stime     %s\n"
				   "rtime     %s\n"
				   "ctime     %s\n"
				   "\n"
				   "type           count  bytes\n"
				   "1              2      80\n"
				   "5              1      40\n"
				   "1234567890123  1      20\n"
				   "\n"
				   "senders   1\n"
				   "  9000@node10  size 61\n"
				   "receivers 2\n"
				   "  789@node3  msgtyp 3  maxsize 100\n"
				   "  78@node10  msgtyp 9  maxsize 7  noerror\n",
				   st, rt, ct);
	g_assert_cmpstr(text, ==, expected);
	g_assert_null(strstr(text, "SECRET"));
	g_clear_pointer(&text, g_free);
	g_clear_pointer(&expected, g_free);

	/* removed */
	g_assert_cmpint(dipc_msgq_rmid(q, &ROOT), ==, 0);
	assert_log(&log, "789:-EIDRM 78:-EIDRM 9000:-EIDRM[2:SECRETPA...]");
	text = dipc_msgq_describe(q, "n");
	g_assert_nonnull(strstr(text, " UTC\nremoved   yes\n\ntype  "));
	g_assert_nonnull(strstr(text, "\nsenders   0\nreceivers 0\n"));
	g_assert_null(strstr(text, "SECRET"));
	g_clear_pointer(&text, g_free);

	free_queue(q, &log);

	/* large key; MSG_EXCEPT shown (a waiting receiver with it needs a
	 * queue holding only its type) */
	log.text = g_string_new(NULL);
	log.n = 0;
	q = dipc_msgq_new((int32_t) 0xdeadbeefu, 7, 0640, &ROOT, &lim, on_wake, &log);
	g_assert_cmpint(put(q, &root2, 5, 4, "SECRETPAYLOAD", 13, 0), ==, 0);
	g_assert_cmpint(rcv_wait(q, &r2, &root10, 78, 4, 7, MSG_NOERROR | MSG_EXCEPT), ==, 1);
	text = dipc_msgq_describe(q, "n");
	g_assert_nonnull(strstr(text, "key       0xdeadbeef\nid        7\n"));
	g_assert_nonnull(strstr(text, "mode      0640\n"));
	g_assert_nonnull(strstr(text, "\ntype  count  bytes\n4     1      13\n\n"));
	g_assert_nonnull(strstr(text, "\nreceivers 1\n"
				      "  78@node10  msgtyp 4  maxsize 7  noerror  except\n"));
	g_assert_null(strstr(text, "SECRET"));
	g_clear_pointer(&text, g_free);
	dipc_msgq_cancel(q, &r2);
	free_queue(q, &log);
}

/* Node names come from the wire in fixed arrays: a missing NUL must not
 * make the engine read past them. */
static void test_long_node_name(void)
{
	wake_log log;
	dipc_msgq *q = new_queue(0666, &log);
	dipc_ident who = make_ident("x", 0, 4000, 400);
	g_autofree char *text = NULL, *line = NULL;
	dipc_msg_waiter r;
	char name[64];

	memset(who.node, 'x', sizeof(who.node)); /* no terminator */
	memset(name, 'x', 63);
	name[63] = '\0';
	g_assert_cmpint(put(q, &who, 42, 1, "m", 1, 0), ==, 0);
	g_assert_cmpint(rcv_wait(q, &r, &who, 43, 2, 10, 0), ==, 1);
	text = dipc_msgq_describe(q, "o");
	line = g_strdup_printf("\nlspid     42@%s\nlrpid     -\n", name);
	g_assert_nonnull(strstr(text, line));
	g_clear_pointer(&line, g_free);
	line = g_strdup_printf("\nreceivers 1\n  43@%s  msgtyp 2  maxsize 10\n", name);
	g_assert_nonnull(strstr(text, line));
	dipc_msgq_cancel(q, &r);
	free_queue(q, &log);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	idents_init();

	g_test_add_func("/msgq/msg_new", test_msg_new);
	g_test_add_func("/msgq/new", test_new);
	g_test_add_func("/msgq/check_get", test_check_get);
	g_test_add_func("/msgq/send/errors", test_send_errors);
	g_test_add_func("/msgq/recv/errors", test_recv_errors);
	g_test_add_func("/msgq/perm_classes", test_perm_classes);
	g_test_add_func("/msgq/select/any", test_select_any);
	g_test_add_func("/msgq/select/equal", test_select_equal);
	g_test_add_func("/msgq/select/except", test_select_except);
	g_test_add_func("/msgq/select/lesseq", test_select_lesseq);
	g_test_add_func("/msgq/select/extremes", test_select_extremes);
	g_test_add_func("/msgq/recv/e2big_noerror", test_e2big_noerror);
	g_test_add_func("/msgq/recv/one_byte", test_one_byte);
	g_test_add_func("/msgq/full/nowait", test_nowait_full);
	g_test_add_func("/msgq/full/senders_fifo", test_senders_fifo);
	g_test_add_func("/msgq/full/qnum_limit", test_qnum_limit);
	g_test_add_func("/msgq/pipelined/receivers", test_pipelined);
	g_test_add_func("/msgq/pipelined/needs_room", test_pipelined_needs_room);
	g_test_add_func("/msgq/requeue/head", test_requeue_head);
	g_test_add_func("/msgq/requeue/over_limit", test_requeue_over_limit);
	g_test_add_func("/msgq/requeue/to_receiver", test_requeue_to_receiver);
	g_test_add_func("/msgq/requeue/removed", test_requeue_removed);
	g_test_add_func("/msgq/cancel", test_cancel);
	g_test_add_func("/msgq/ctl/stat", test_stat);
	g_test_add_func("/msgq/ctl/ipc_set", test_ipc_set);
	g_test_add_func("/msgq/ctl/ipc_set_wakes", test_ipc_set_wakes);
	g_test_add_func("/msgq/ctl/rmid", test_rmid);
	g_test_add_func("/msgq/recv/copy", test_copy);
	g_test_add_func("/msgq/describe", test_describe);
	g_test_add_func("/msgq/describe_long_node", test_long_node_name);

	return g_test_run();
}
