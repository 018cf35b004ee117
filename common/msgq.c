/* SPDX-License-Identifier: MIT */
/*
 * The message-queue engine: one System V message queue as the owner node
 * keeps it, with the semantics of Linux ipc/msg.c (msgsnd(2), msgrcv(2),
 * msgctl(2)).
 *
 * User-visible behaviour
 *   - msgsnd: the checks come in msg.c's order (EINVAL for mtype < 1 or a
 *     size above msgmax, EACCES without write access, EIDRM once removed).
 *     A message fits when cbytes + size <= qbytes and qnum + 1 <= qbytes
 *     (msg_fits()).  A message that fits is handed straight to the first
 *     waiting receiver whose selection matches it (pipelined send): a
 *     matching receiver whose buffer is too small and who did not ask for
 *     MSG_NOERROR is woken with E2BIG on the way, as pipelined_send() does,
 *     and the message goes on to the next one; if no receiver takes it, it
 *     is appended to the queue.  Either way lspid (pid and node) and stime
 *     are updated, and lrpid/rtime too when a receiver took it.  A message
 *     that does not fit fails with EAGAIN under IPC_NOWAIT, else the sender
 *     waits at the tail of the senders' FIFO.
 *   - msgrcv: EACCES without read access, EIDRM once removed.  msgtyp 0
 *     takes the first message; msgtyp > 0 the first of that type, or with
 *     MSG_EXCEPT the first of any other type; msgtyp < 0 the lowest type
 *     <= |msgtyp|, the first of those (msgtyp = INT64_MIN means every type,
 *     as convert_mode() does with LONG_MIN).  MSG_EXCEPT is ignored unless
 *     msgtyp > 0.  A matching message larger than the buffer fails with
 *     E2BIG and stays queued, unless MSG_NOERROR: then it is taken and the
 *     delivered size is the buffer size.  Taking a message updates
 *     lrpid/rtime, cbytes and qnum, and retries the waiting senders.  No
 *     match: ENOMSG under IPC_NOWAIT, else the receiver waits at the tail
 *     of the receivers' FIFO.  A waiting receiver is served by the first
 *     later message that matches it (or woken with E2BIG by one that
 *     matches but is too large).
 *   - Waiting senders are retried, oldest first, whenever room may have
 *     appeared (after a message left the queue, after IPC_SET).  Every one
 *     that fits now is sent (possibly pipelined) and woken with 0; one that
 *     still does not fit stays where it is and the walk goes on, so a large
 *     message does not hold back smaller ones behind it.  This is the
 *     outcome of msg.c's ss_wakeup() (it wakes every sender that fits and
 *     each retries); stopping at the first misfit would give strict FIFO,
 *     but a fresh msgsnd that fits is never made to wait (neither here nor
 *     in Linux), so stopping would only penalise the ones already waiting.
 *   - msgctl: IPC_STAT needs read access; IPC_SET and IPC_RMID need the
 *     creator, the owner or root (EPERM), and IPC_SET of a qbytes above
 *     msgmnb needs root (EPERM).  IPC_SET updates uid, gid, the low 9 mode
 *     bits, qbytes and ctime; then every waiting receiver without read
 *     access and every waiting sender without write access is woken with
 *     EACCES (receivers first), and the other senders are retried.
 *     IPC_RMID wakes every receiver, then every sender, with EIDRM; later
 *     calls on the queue return EIDRM until the glue frees it.
 *   - Giving a message back (dipc_msgq_requeue(), after the glue failed to
 *     deliver it): the message is offered to the waiting receivers exactly
 *     as a new message would be (a too-small matching receiver without
 *     MSG_NOERROR gets E2BIG), else it goes to the head of the queue with no
 *     size check, so cbytes/qnum may exceed qbytes until receivers catch
 *     up.  stime/lspid are left alone: nobody sent anything.
 *
 *   - MSG_COPY (Linux with CONFIG_CHECKPOINT_RESTORE): msgtyp is the
 *     index of a message in the queue, from 0 at the head; the receiver
 *     gets a copy and the queue is left alone (no lrpid, rtime, cbytes or
 *     qnum change, no sender retried).  EINVAL with MSG_EXCEPT or without
 *     IPC_NOWAIT, before anything else; ENOMSG past the end (or for a
 *     negative index); E2BIG for a message larger than the buffer, and
 *     EINVAL instead under MSG_NOERROR (copy_msg() refuses a message larger
 *     than the copy, whose room is the buffer, capped at msgmax).  The copy
 *     is marked (is_copy) so that the glue never gives it back.
 *
 *   Where we differ from Linux:
 *   - A sender that lost write access through IPC_SET is woken with EACCES
 *     at once; Linux only notices when the queue next has room for it.
 *   - A sender that still does not fit keeps its place; Linux moves it to
 *     the tail of the senders' list.  Receivers kept waiting across IPC_SET
 *     also keep their places (Linux wakes them all and they requeue).
 *   - Under MSG_NOERROR the message is not cut: w->msg->size stays the full
 *     size and the result is the delivered size, min(size, maxsize); the
 *     glue copies that many bytes.  So a message given back after a failed
 *     delivery returns whole (and cbytes comes back exactly).
 *   - Privilege is the caller's effective capabilities as its node read
 *     them (see ipcperm.h), not user-namespace aware.
 *   - A waiter's private fields must start zeroed (queued == false); a
 *     waiter that is still queued is refused with EINVAL.  send() and
 *     recv() set w->is_send themselves; recv() clears w->msg on entry.
 *   - msgrcv's return value can be 1 both for "delivered 1 byte" and for
 *     "queued": the glue tells them apart by w->queued (or w->msg).
 *
 * Concurrency/ownership
 *   A queue belongs to the single thread of the owner daemon that created
 *   it; there is no locking.  The engine never blocks: "waiting" is the
 *   waiter record staying on one of the two FIFOs (senders, receivers)
 *   until the wake function is called.  Waiters belong to the glue and are
 *   linked in place (no copy), so they must stay put while queued.  The
 *   wake function is called with the waiter already unlinked (queued ==
 *   false) and its result fields set, and may free or reuse it at once; it
 *   must not call back into the same queue.  Messages are owned by exactly
 *   one party: the sending waiter until the send succeeds, then the queue,
 *   then the receiving waiter (w->msg) from delivery on.  A sender woken
 *   with an error or cancelled keeps its message.  Messages still queued
 *   when the queue is removed are freed with the queue.  Besides the
 *   messages themselves, the engine allocates only the queue and, in
 *   describe(), temporary arrays.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include <glib.h>

#include "ipcstatus.h"
#include "msgq.h"

#ifndef MSG_EXCEPT
#define MSG_EXCEPT 020000
#endif
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

#define NODE_LEN ((size_t) sizeof(((dipc_ident *) NULL)->node))

typedef struct waiter_list {
	dipc_msg_waiter *head, *tail;
	unsigned n;
} waiter_list;

/* The last sender / receiver: pid plus the node it ran on. */
typedef struct last_pid {
	int32_t pid;           /* 0: none yet */
	char node[NODE_LEN];   /* always NUL-terminated */
} last_pid;

struct dipc_msgq {
	dipc_ipc_perm perm;
	int64_t stime, rtime, ctime;
	uint64_t qbytes, cbytes, qnum;
	last_pid lspid, lrpid;

	dipc_msg *head, *tail;   /* the messages, oldest first */
	waiter_list senders, receivers;

	dipc_msg_limits lim;
	bool removed;
	dipc_msg_wake_fn wake;
	void *wake_ud;
};

/* ---- messages ------------------------------------------------------------ */

dipc_msg *dipc_msg_new(int64_t mtype, const void *data, size_t size)
{
	dipc_msg *m;

	g_return_val_if_fail(size <= SIZE_MAX - sizeof(dipc_msg), NULL);
	g_return_val_if_fail(data || size == 0, NULL);

	m = g_malloc(sizeof(dipc_msg) + size);
	m->next = NULL;
	m->is_copy = false;
	m->mtype = mtype;
	m->size = size;
	if (size)
		memcpy(m->data, data, size);
	return m;
}

void dipc_msg_free(dipc_msg *m)
{
	g_free(m);
}

/* ---- helpers ------------------------------------------------------------- */

static bool can_read(const dipc_msgq *q, const dipc_ident *who)
{
	return dipc_ipcperms(&q->perm, who, DIPC_IPC_READ) == 0;
}

static bool can_write(const dipc_msgq *q, const dipc_ident *who)
{
	return dipc_ipcperms(&q->perm, who, DIPC_IPC_WRITE) == 0;
}

/* Node names arrive in fixed arrays from other nodes: never read past them
 * even if the sender forgot the NUL. */
static void set_last(last_pid *l, const dipc_ident *who)
{
	size_t n = strnlen(who->node, NODE_LEN - 1);

	memcpy(l->node, who->node, n);
	l->node[n] = '\0';
	l->pid = who->pid;
}

static waiter_list *list_of(dipc_msgq *q, const dipc_msg_waiter *w)
{
	return w->is_send ? &q->senders : &q->receivers;
}

static void list_append(waiter_list *l, dipc_msg_waiter *w)
{
	DIPC_WAITQ_APPEND(l->head, l->tail, l->n, w);
}

static void list_unlink(waiter_list *l, dipc_msg_waiter *w)
{
	DIPC_WAITQ_UNLINK(l->head, l->tail, l->n, w);
}

/* msg_fits(): both the byte and the message count are bounded by qbytes.
 * cbytes may already exceed qbytes after a requeue or a lowered qbytes;
 * the sums cannot wrap (sizes are bounded by msgmax and memory). */
static bool fits(const dipc_msgq *q, size_t size)
{
	return (uint64_t) size + q->cbytes <= q->qbytes && q->qnum + 1 <= q->qbytes;
}

/* The upper bound of a msgtyp < 0 selection, without negating INT64_MIN. */
static int64_t lesseq_bound(int64_t msgtyp)
{
	return msgtyp == INT64_MIN ? INT64_MAX : -msgtyp;
}

/* testmsg(): does one message of type mtype satisfy receiver w?  (For a
 * waiting receiver no queued message matched, so "lowest type" reduces to
 * this test on the newcomer.) */
static bool matches(const dipc_msg_waiter *w, int64_t mtype)
{
	if (w->msgtyp == 0)
		return true;
	if (w->msgtyp < 0)
		return mtype <= lesseq_bound(w->msgtyp);
	if (w->flags & MSG_EXCEPT)
		return mtype != w->msgtyp;
	return mtype == w->msgtyp;
}

static int delivered_size(const dipc_msg *m, size_t maxsize)
{
	size_t n = MIN(m->size, maxsize);

	/* Sizes are bounded by msgmax <= DIPC_MSGMAX_MAX. */
	return n > INT_MAX ? INT_MAX : (int) n;
}

static bool too_big(const dipc_msg_waiter *r, const dipc_msg *m)
{
	return m->size > r->maxsize && !(r->flags & MSG_NOERROR);
}

/* Find the message receiver w takes (find_msg()).  *prevp is set to the
 * message before it (NULL at the head). */
static dipc_msg *find_msg(const dipc_msgq *q, const dipc_msg_waiter *w, dipc_msg **prevp)
{
	dipc_msg *prev = NULL, *best = NULL, *best_prev = NULL;

	if (w->msgtyp < 0) {
		const int64_t bound = lesseq_bound(w->msgtyp);

		for (dipc_msg *m = q->head; m; prev = m, m = m->next) {
			/* strictly lower: the first among equals wins */
			if (m->mtype <= bound && (!best || m->mtype < best->mtype)) {
				best = m;
				best_prev = prev;
			}
		}
		*prevp = best_prev;
		return best;
	}

	for (dipc_msg *m = q->head; m; prev = m, m = m->next) {
		if (matches(w, m->mtype)) {
			*prevp = prev;
			return m;
		}
	}
	*prevp = NULL;
	return NULL;
}

static void msg_append(dipc_msgq *q, dipc_msg *m)
{
	m->next = NULL;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->cbytes += m->size;
	q->qnum++;
}

static void msg_push_head(dipc_msgq *q, dipc_msg *m)
{
	m->next = q->head;
	q->head = m;
	if (!q->tail)
		q->tail = m;
	q->cbytes += m->size;
	q->qnum++;
}

static void msg_unlink(dipc_msgq *q, dipc_msg *m, dipc_msg *prev)
{
	if (prev)
		prev->next = m->next;
	else
		q->head = m->next;
	if (q->tail == m)
		q->tail = prev;
	m->next = NULL;
	g_assert(q->qnum > 0 && q->cbytes >= m->size);
	q->qnum--;
	q->cbytes -= m->size;
}

/* ---- handing messages over ----------------------------------------------- */

/*
 * pipelined_send(): offer m to the waiting receivers, oldest first.  A
 * matching receiver too small for it (no MSG_NOERROR) is woken with -E2BIG
 * and the walk goes on; the first other matching receiver takes it and is
 * woken with the delivered size.  Returns whether one took it.
 */
static bool pipelined_send(dipc_msgq *q, dipc_msg *m)
{
	dipc_msg_waiter *r = q->receivers.head;

	while (r) {
		/* wake() may free r; it cannot touch the queue, so next stays. */
		dipc_msg_waiter *next = r->next;

		if (!matches(r, m->mtype)) {
			r = next;
			continue;
		}
		list_unlink(&q->receivers, r);
		if (too_big(r, m)) {
			r->msg = NULL;
			q->wake(r, -E2BIG, q->wake_ud);
			r = next;
			continue;
		}
		r->msg = m;
		set_last(&q->lrpid, &r->who);
		q->rtime = dipc_now_sec();
		q->wake(r, delivered_size(m, r->maxsize), q->wake_ud);
		return true;
	}
	return false;
}

/* The send proper, once the message is known to fit: to a receiver or to
 * the tail of the queue.  Takes w->msg. */
static void do_send(dipc_msgq *q, dipc_msg_waiter *w)
{
	dipc_msg *m = w->msg;

	w->msg = NULL;
	set_last(&q->lspid, &w->who);
	q->stime = dipc_now_sec();
	if (!pipelined_send(q, m))
		msg_append(q, m);
}

/*
 * ss_wakeup() with the retry done here: every waiting sender, oldest first,
 * that fits now is sent and woken with 0; with check_perm (after IPC_SET)
 * one that lost write access is woken with -EACCES first.  Senders that
 * still do not fit keep their places.  Sending never makes room, so one
 * pass is enough.
 */
static void retry_senders(dipc_msgq *q, bool check_perm)
{
	dipc_msg_waiter *w = q->senders.head;

	while (w) {
		dipc_msg_waiter *next = w->next;

		if (check_perm && !can_write(q, &w->who)) {
			list_unlink(&q->senders, w);
			q->wake(w, -EACCES, q->wake_ud);
		} else if (fits(q, w->msg->size)) {
			list_unlink(&q->senders, w);
			do_send(q, w);
			q->wake(w, 0, q->wake_ud);
		}
		w = next;
	}
}

/* ---- lifetime ------------------------------------------------------------ */

dipc_msgq *dipc_msgq_new(int32_t key, int32_t id, unsigned mode, const dipc_ident *creator,
			 const dipc_msg_limits *lim, dipc_msg_wake_fn wake, void *wake_ud)
{
	dipc_msgq *q;

	g_return_val_if_fail(creator && lim && wake, NULL);
	/* Delivered sizes travel as the int result of msgrcv. */
	g_return_val_if_fail(lim->msgmax <= DIPC_MSGMAX_MAX, NULL);

	q = g_new0(dipc_msgq, 1);
	dipc_ipc_perm_init(&q->perm, key, id, mode, creator);
	q->qbytes = lim->msgmnb;
	q->ctime = dipc_now_sec();
	q->lim = *lim;
	q->wake = wake;
	q->wake_ud = wake_ud;
	return q;
}

void dipc_msgq_free(dipc_msgq *q)
{
	dipc_msg *m;

	if (!q)
		return;

	/* A queued waiter would be left pointing into freed memory. */
	g_warn_if_fail(q->senders.n == 0 && q->receivers.n == 0);

	while ((m = q->head)) {
		q->head = m->next;
		dipc_msg_free(m);
	}
	g_free(q);
}

/* ---- msgget, msgsnd, msgrcv ---------------------------------------------- */

int dipc_msgq_check_get(const dipc_msgq *q, const dipc_ident *who, int flags)
{
	g_return_val_if_fail(q && who, -EINVAL);

	return dipc_ipc_check_get(&q->perm, who, flags);
}

int dipc_msgq_send(dipc_msgq *q, dipc_msg_waiter *w)
{
	g_return_val_if_fail(q && w && w->msg, -EINVAL);
	g_return_val_if_fail(!w->queued, -EINVAL);

	w->is_send = true;
	if (w->msg->mtype < 1)
		return -EINVAL;
	if (w->msg->size > q->lim.msgmax)
		return -EINVAL;
	if (!can_write(q, &w->who))
		return -EACCES;
	if (q->removed)
		return -EIDRM;

	if (fits(q, w->msg->size)) {
		do_send(q, w);
		return 0;
	}
	if (w->flags & IPC_NOWAIT)
		return -EAGAIN;

	list_append(&q->senders, w);
	return 1;
}

/* MSG_COPY once the permission and the queue are checked: a copy of the
 * message at index w->msgtyp (do_msgrcv() with SEARCH_NUMBER, copy_msg()). */
static int copy_nth(dipc_msgq *q, dipc_msg_waiter *w)
{
	dipc_msg *m = q->head;

	if (w->msgtyp < 0)
		return -ENOMSG;
	for (int64_t i = 0; m && i < w->msgtyp; i++)
		m = m->next;
	if (!m)
		return -ENOMSG;
	if (too_big(w, m))
		return -E2BIG;
	if (m->size > MIN(w->maxsize, (size_t) q->lim.msgmax))
		return -EINVAL;
	w->msg = dipc_msg_new(m->mtype, m->data, m->size);
	w->msg->is_copy = true;
	return delivered_size(m, w->maxsize);
}

int dipc_msgq_recv(dipc_msgq *q, dipc_msg_waiter *w)
{
	dipc_msg *m, *prev;

	g_return_val_if_fail(q && w, -EINVAL);
	g_return_val_if_fail(!w->queued, -EINVAL);

	w->is_send = false;
	w->msg = NULL;
	/* msgrcv() refuses a buffer size that is negative as a long. */
	if (w->maxsize > (size_t) LONG_MAX)
		return -EINVAL;
	if ((w->flags & MSG_COPY) && ((w->flags & MSG_EXCEPT) || !(w->flags & IPC_NOWAIT)))
		return -EINVAL;
	if (!can_read(q, &w->who))
		return -EACCES;
	if (q->removed)
		return -EIDRM;
	if (w->flags & MSG_COPY)
		return copy_nth(q, w);

	m = find_msg(q, w, &prev);
	if (m) {
		if (too_big(w, m))
			return -E2BIG;
		msg_unlink(q, m, prev);
		set_last(&q->lrpid, &w->who);
		q->rtime = dipc_now_sec();
		w->msg = m;
		retry_senders(q, false);
		return delivered_size(m, w->maxsize);
	}
	if (w->flags & IPC_NOWAIT)
		return -ENOMSG;

	list_append(&q->receivers, w);
	return 1;
}

void dipc_msgq_requeue(dipc_msgq *q, dipc_msg *m)
{
	g_return_if_fail(q && m);

	/* Nobody can ever receive it. */
	if (q->removed) {
		dipc_msg_free(m);
		return;
	}
	if (!pipelined_send(q, m))
		msg_push_head(q, m);
}

void dipc_msgq_cancel(dipc_msgq *q, dipc_msg_waiter *w)
{
	g_return_if_fail(q && w);

	/* Leaving makes no room and takes no message: nobody else can proceed
	 * because of it, so no walk.  A sender keeps w->msg. */
	if (w->queued)
		list_unlink(list_of(q, w), w);
}

/* ---- msgctl -------------------------------------------------------------- */

int dipc_msgq_stat(const dipc_msgq *q, const dipc_ident *who, bool check_perm,
		   struct dipc_msqid_ds *ret_ds)
{
	g_return_val_if_fail(q && ret_ds, -EINVAL);
	g_return_val_if_fail(!check_perm || who, -EINVAL);

	if (dipc_ipc_stat_check(&q->perm, who, check_perm) < 0)
		return -EACCES;

	memset(ret_ds, 0, sizeof(*ret_ds));
	dipc_ipc_perm_export(&q->perm, &ret_ds->perm);
	ret_ds->stime = q->stime;
	ret_ds->rtime = q->rtime;
	ret_ds->ctime = q->ctime;
	ret_ds->cbytes = q->cbytes;
	ret_ds->qnum = q->qnum;
	ret_ds->qbytes = q->qbytes;
	ret_ds->lspid = q->lspid.pid;
	ret_ds->lrpid = q->lrpid.pid;
	return 0;
}

int dipc_msgq_ipc_set(dipc_msgq *q, const dipc_ident *who, uint32_t uid, uint32_t gid,
		      uint32_t mode, uint64_t qbytes)
{
	dipc_msg_waiter *w;
	int r;

	g_return_val_if_fail(q && who, -EINVAL);

	r = dipc_ipc_ctl_check(&q->perm, who, q->removed);
	if (r < 0)
		return r;
	if (qbytes > q->lim.msgmnb && !dipc_ident_capable(who, DIPC_CAP_SYS_RESOURCE))
		return -EPERM;

	dipc_ipc_set_perm(&q->perm, &q->ctime, uid, gid, mode);
	q->qbytes = qbytes;

	/* expunge_all(-EAGAIN): every receiver retries; with no message
	 * changed, only one that lost read access stops waiting. */
	w = q->receivers.head;
	while (w) {
		dipc_msg_waiter *next = w->next;

		if (!can_read(q, &w->who)) {
			list_unlink(&q->receivers, w);
			q->wake(w, -EACCES, q->wake_ud);
		}
		w = next;
	}
	retry_senders(q, true);
	return 0;
}

int dipc_msgq_rmid(dipc_msgq *q, const dipc_ident *who)
{
	int r;

	g_return_val_if_fail(q && who, -EINVAL);

	r = dipc_ipc_ctl_check(&q->perm, who, q->removed);
	if (r < 0)
		return r;

	q->removed = true;
	/* freeque(): receivers first, then senders (who keep their messages). */
	while (q->receivers.head) {
		dipc_msg_waiter *w = q->receivers.head;

		list_unlink(&q->receivers, w);
		w->msg = NULL;
		q->wake(w, -EIDRM, q->wake_ud);
	}
	while (q->senders.head) {
		dipc_msg_waiter *w = q->senders.head;

		list_unlink(&q->senders, w);
		q->wake(w, -EIDRM, q->wake_ud);
	}
	return 0;
}

/* ---- accessors ----------------------------------------------------------- */

const dipc_ipc_perm *dipc_msgq_perm(const dipc_msgq *q)
{
	return &q->perm;
}

uint64_t dipc_msgq_qnum(const dipc_msgq *q)
{
	return q->qnum;
}

uint64_t dipc_msgq_cbytes(const dipc_msgq *q)
{
	return q->cbytes;
}

/* ---- describe ------------------------------------------------------------ */

/*
 * The text of `cat /MOUNT/msg/KEY`.  Plain ASCII, every line ends in '\n':
 *
 *   key       0x00001234          the key as 8 hex digits (0 = IPC_PRIVATE)
 *   id        32513
 *   owner     node1               the owner node ("-" if unknown)
 *   mode      0600                the low 9 bits, 4 octal digits
 *   uid       1000                then gid, cuid, cgid
 *   qnum      3
 *   cbytes    120
 *   qbytes    16384
 *   lspid     123@node2           or "-" before the first send
 *   lrpid     -                   or pid@node of the last receiver
 *   stime     2026-11-22 04:50:01 UTC    or "never"
 *   rtime     never
 *   ctime     2026-11-22 04:49:58 UTC
 *   removed   yes                 only once IPC_RMID has been done
 *   <empty line>
 *   type  count  bytes
 *   1     2      80
 *   5     1      40
 *   <empty line>
 *   senders   1
 *     456@node3  size 9000
 *   receivers 1
 *     789@node1  msgtyp -5  maxsize 100  noerror  except
 *
 * Labels of the header block are padded to 10 columns.  The table has one
 * row per message type present, by ascending type (the header alone when
 * the queue is empty); its columns are left-aligned, each as wide as its
 * widest cell, two spaces apart.  Senders and receivers are listed in queue
 * order, pid@node padded to the widest of its list; a receiver's flags
 * follow as "  noerror" (MSG_NOERROR) and "  except" (MSG_EXCEPT).  Message
 * contents are never shown.
 *
 * The lines, times, perm block and tables are written by ipcstatus.c, so
 * the kinds cannot drift apart.
 */

typedef struct type_row {
	int64_t mtype;
	uint64_t count, bytes;
} type_row;

static gint mtype_cmp(gconstpointer a, gconstpointer b)
{
	const type_row *x = a, *y = b;

	return x->mtype < y->mtype ? -1 : x->mtype > y->mtype;
}

/* One row per type, ascending. */
static GArray *type_summary(const dipc_msgq *q)
{
	GArray *rows = g_array_new(FALSE, FALSE, sizeof(type_row));
	guint n = 0;

	for (const dipc_msg *m = q->head; m; m = m->next) {
		type_row row = { .mtype = m->mtype, .count = 1, .bytes = m->size };

		g_array_append_val(rows, row);
	}
	g_array_sort(rows, mtype_cmp);

	/* Merge runs of one type in place. */
	for (guint i = 0; i < rows->len; i++) {
		const type_row *cur = &g_array_index(rows, type_row, i);

		if (n > 0 && g_array_index(rows, type_row, n - 1).mtype == cur->mtype) {
			g_array_index(rows, type_row, n - 1).count += cur->count;
			g_array_index(rows, type_row, n - 1).bytes += cur->bytes;
		} else {
			g_array_index(rows, type_row, n) = *cur;
			n++;
		}
	}
	g_array_set_size(rows, n);
	return rows;
}

/* The queued messages, one row per type. */
static void describe_types(GString *out, const dipc_msgq *q)
{
	g_autoptr(dipc_status_table) t = dipc_status_table_new(3);
	g_autoptr(GArray) rows = type_summary(q);

	dipc_status_table_cell(t, "type");
	dipc_status_table_cell(t, "count");
	dipc_status_table_cell(t, "bytes");
	for (guint i = 0; i < rows->len; i++) {
		const type_row *row = &g_array_index(rows, type_row, i);

		dipc_status_table_cell(t, "%" G_GINT64_FORMAT, row->mtype);
		dipc_status_table_cell(t, "%" G_GUINT64_FORMAT, row->count);
		dipc_status_table_cell(t, "%" G_GUINT64_FORMAT, row->bytes);
	}
	dipc_status_table_render(t, out, "");
}

/* One list of parked waiters, in queue order, after its "label  count". */
static void describe_waiters(GString *out, const char *label, const waiter_list *l)
{
	g_autoptr(dipc_status_table) t = dipc_status_table_new(2);
	char who[DIPC_STATUS_PID_LEN];

	dipc_status_line(out, label, "%u", l->n);
	for (const dipc_msg_waiter *w = l->head; w; w = w->next) {
		dipc_status_pid(who, sizeof(who), w->who.pid, w->who.node);
		dipc_status_table_cell(t, "%s", who);
		if (w->is_send)
			dipc_status_table_cell(t, "size %" G_GSIZE_FORMAT,
					       w->msg ? w->msg->size : (gsize) 0);
		else
			dipc_status_table_cell(t, "msgtyp %" G_GINT64_FORMAT "  maxsize %"
					       G_GSIZE_FORMAT "%s%s", w->msgtyp, w->maxsize,
					       w->flags & MSG_NOERROR ? "  noerror" : "",
					       w->flags & MSG_EXCEPT ? "  except" : "");
	}
	dipc_status_table_render(t, out, "  ");
}

static void describe_last(GString *out, const char *label, const last_pid *l)
{
	char who[DIPC_STATUS_PID_LEN];

	dipc_status_pid_or_dash(who, sizeof(who), l->pid, l->node);
	dipc_status_line(out, label, "%s", who);
}

char *dipc_msgq_describe(const dipc_msgq *q, const char *owner_node)
{
	GString *out;

	g_return_val_if_fail(q, NULL);

	out = g_string_new(NULL);
	dipc_status_perm(out, &q->perm, owner_node);
	dipc_status_line(out, "qnum", "%" G_GUINT64_FORMAT, q->qnum);
	dipc_status_line(out, "cbytes", "%" G_GUINT64_FORMAT, q->cbytes);
	dipc_status_line(out, "qbytes", "%" G_GUINT64_FORMAT, q->qbytes);
	describe_last(out, "lspid", &q->lspid);
	describe_last(out, "lrpid", &q->lrpid);
	dipc_status_time(out, "stime", q->stime);
	dipc_status_time(out, "rtime", q->rtime);
	dipc_status_time(out, "ctime", q->ctime);
	dipc_status_removed(out, q->removed);
	g_string_append_c(out, '\n');
	describe_types(out, q);
	g_string_append_c(out, '\n');
	describe_waiters(out, "senders", &q->senders);
	describe_waiters(out, "receivers", &q->receivers);
	return g_string_free(out, FALSE);
}
