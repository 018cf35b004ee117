/* SPDX-License-Identifier: MIT */
/**
 * @file msg.c
 *
 * msgget, msgsnd, msgrcv, msgctl.
 *
 * User-visible behaviour.  A distributed msgget() (IPC_DIPC or the key
 * policy) becomes DIPC_IOC_GET with size 0 and returns a cluster id; every
 * other msgget() goes to the kernel with its flags unchanged.  A call naming
 * an id goes to the daemon when dipc_is_id(id), else to the kernel,
 * untouched.  The daemon answers with the result and errno the kernel would
 * give (mtype < 1 and msgsz > msgmax included); the shim itself only rejects
 * what the kernel rejects before it looks at the queue, in the kernel's
 * order, plus what it must have to copy the message:
 *
 *   msgsnd   msgp == NULL -> EFAULT (the kernel reads mtype first);
 *            (ssize_t)msgsz < 0 or msgsz > DIPC_MSGMAX_MAX (16 MiB, above
 *            any configured msgmax) -> EINVAL.
 *   msgrcv   (ssize_t)msgsz < 0 -> EINVAL; msgp == NULL -> EFAULT (the kernel
 *            would take the message off the queue and then fault).
 *   msgctl   an unknown command -> EINVAL; a NULL buf -> EFAULT: for
 *            IPC_SET at once (the kernel copies it in first), for the
 *            commands that fill it only after the daemon succeeded (the
 *            kernel finds and checks the queue, then copies out).
 *   IPC_INFO, MSG_INFO ask both sides: the highest index of the two
 *            (see msgctl_info); MSG_STAT with an index at or above
 *            DIPC_ID_SLOT_BASE goes to the daemon, like a cluster id.
 *   MSG_COPY in msgrcv goes to the daemon, which has the kernel's
 *            semantics (msgtyp an index, a copy, the queue untouched).
 *
 * The text.  msgsnd picks the smallest of DIPC_IOC_MSGSND_S/M/L whose mtext
 * holds msgsz; beyond DIPC_MSG_INLINE_MAX the text is staged in a private
 * handle of the control file: msgsnd opens one, write()s the text and
 * issues DIPC_IOC_MSGSND_STAGED, then closes it.  msgrcv with 8 + msgsz up
 * to DIPC_MSGRCV_READ_MAX is a read() of the thread's armed handle (see
 * "the armed read" below): the kernel copies mtype and the text into msgp
 * inside the read, with the message, and writes nothing there before, so a
 * receiver killed while it waits leaves its buffer untouched and one killed
 * at any moment loses no message that reached it -- as with the kernel's
 * msgrcv.  Larger buffers are staged: msgrcv opens a handle, issues
 * DIPC_IOC_MSGRCV_STAGED (whose result is the delivered size) and read()s
 * exactly that many bytes into msgp's text (none for an empty text, which
 * the reply already delivered), then writes mtype; a handle closed before
 * its received text was read gives the message back to the head of its
 * queue.
 *
 * Restart.  Unlike semop, msgsnd and msgrcv restart silently after EINTR when
 * no signal handler of the program ran in this thread during the call (the
 * kernel's -ERESTARTNOHAND: a stop signal and SIGCONT, a debugger's attach),
 * and fail with EINTR when one did, SA_RESTART or not.  The daemon answers
 * EINTR only for a request that did nothing (a received message goes back to
 * its queue), so asking again is safe.  signals.c counts the handlers.  A
 * staged attempt is restarted whole, on a new handle.
 *
 * Differences: a bad (non-NULL) pointer makes the shim fault where the
 * kernel would return EFAULT; and msgsnd reads msgsz bytes of text before the
 * daemon checks msgsz against msgmax, so a buffer shorter than msgsz can
 * fault where the kernel says EINVAL.
 *
 * Concurrency: no shared state here; every request lives on the caller's
 * stack (the 4 and 16 KiB payloads only in the non-inlined functions that
 * need them).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "shim.h"

#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif

/* The payloads of one direction share their layout up to mtext, and the
 * STAGED struct is exactly that common head.  So a request is built as a
 * head, and an inline one is the head followed by the text in a buffer of
 * _IOC_SIZE(req) bytes. */
_Static_assert(sizeof(struct dipc_ioc_msgsnd_staged) ==
			       offsetof(struct dipc_ioc_msgsnd_s, mtext) &&
		       sizeof(struct dipc_ioc_msgsnd_staged) ==
			       offsetof(struct dipc_ioc_msgsnd_l, mtext),
	       "msgsnd payloads share their head");
_Static_assert(sizeof(struct dipc_ioc_msgrcv_staged) ==
			       offsetof(struct dipc_ioc_msgrcv_s, mtext) &&
		       sizeof(struct dipc_ioc_msgrcv_staged) ==
			       offsetof(struct dipc_ioc_msgrcv_l, mtext),
	       "msgrcv payloads share their head");

/* msgp is struct { long mtype; char mtext[]; }, not necessarily aligned. */
#define MTEXT(msgp) ((char *)(msgp) + sizeof(long))

/* ---- msgget ------------------------------------------------------------- */

DIPC_EXPORT int msgget(key_t key, int msgflg)
{
	int saved = errno;
	dipc_init();

	if (!dipc_key_distributed(key, msgflg)) {
		dipc_log("msgget(key=0x%x, flg=0%o): kernel", (unsigned)key, (unsigned)msgflg);
		goto kernel;
	}

	int r = dipc_get(DIPC_KIND_MSG, key, msgflg, 0);
	if (r == DIPC_CTL_LOCAL) {
		msgflg &= ~IPC_DIPC;
		dipc_log("msgget(key=0x%x, flg=0%o): no mount, kernel", (unsigned)key,
			 (unsigned)msgflg);
		goto kernel;
	}
	dipc_log("msgget(key=0x%x, flg=0%o): dipc -> %d%s%s", (unsigned)key, (unsigned)msgflg,
		 DIPC_LOG_RESULT(r));
	return dipc_ret(r, saved);

kernel:
	if (!dipc_real.msgget)
		return dipc_ret(-ENOSYS, saved);
	errno = saved;
	return dipc_real.msgget(key, msgflg);
}

/* ---- the staged path ---------------------------------------------------- */

/* Was r an EINTR after which the call starts again (no handler of the
 * program ran in this thread since before)? */
static bool restarts(const char *name, int r, unsigned before)
{
	if (r != -EINTR || dipc_handler_runs_now() != before)
		return false;
	dipc_log("%s: EINTR and no handler ran: restarting", name);
	return true;
}

/* write()/read() all n bytes on a private handle: 0 or -errno (-EINTR
 * included: the caller's restart rule decides). */
static int write_full(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, buf, n);
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

static int read_full(int fd, char *buf, size_t n)
{
	/* An empty text comes with the ioctl's reply: nothing to read. */
	while (n > 0) {
		ssize_t k = read(fd, buf, n);
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EPROTO; /* less than the daemon announced */
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One attempt after another on a new handle each: open, write the text,
 * DIPC_IOC_MSGSND_STAGED (which consumes the staged text), close. */
static __attribute__((noinline)) int msgsnd_staged(const struct dipc_ioc_msgsnd_staged *head,
						    const void *msgp)
{
	struct dipc_ioc_msgsnd_staged s;
	unsigned before;
	int r;
	do {
		before = dipc_handler_runs_now();
		int fd = dipc_control_private();
		if (fd < 0) {
			r = fd;
			continue;
		}
		r = write_full(fd, MTEXT(msgp), head->msgsz);
		if (r == 0) {
			s = *head;
			r = dipc_ioctl(fd, DIPC_IOC_MSGSND_STAGED, &s);
		}
		close(fd);
	} while (restarts("msgsnd", r, before));
	return r;
}

/* open, DIPC_IOC_MSGRCV_STAGED (result: the delivered size n, and mtype),
 * read n bytes into msgp's text, close.  A failed read leaves the text
 * unread, and the close gives the message back. */
static __attribute__((noinline)) int msgrcv_staged(const struct dipc_ioc_msgrcv_staged *head,
						    void *msgp)
{
	struct dipc_ioc_msgrcv_staged s;
	unsigned before;
	int r;
	do {
		before = dipc_handler_runs_now();
		int fd = dipc_control_private();
		if (fd < 0) {
			r = fd;
			continue;
		}
		s = *head;
		r = dipc_ioctl(fd, DIPC_IOC_MSGRCV_STAGED, &s);
		if (r >= 0 && (uint64_t)r > head->msgsz)
			r = -EPROTO; /* more than msgp holds: read nothing */
		if (r >= 0) {
			int e = read_full(fd, MTEXT(msgp), (size_t)r);
			if (e < 0)
				r = e;
		}
		close(fd);
	} while (restarts("msgrcv", r, before));

	if (r >= 0) {
		long mtype = (long)s.mtype;
		if (dipc_copy_out(msgp, &mtype, sizeof(mtype)) < 0)
			return -EFAULT;
	}
	return r;
}

/* ---- the inline path ---------------------------------------------------- */

/* head and the text into buf, of _IOC_SIZE(req) bytes (the unused rest
 * zeroed: no stack garbage to the daemon), then the ioctl. */
static int msgsnd_inline(int fd, unsigned long req, void *buf,
			 const struct dipc_ioc_msgsnd_staged *head, const void *msgp)
{
	char *p = buf;
	size_t n = head->msgsz, text_room = _IOC_SIZE(req) - sizeof(*head);
	memcpy(p, head, sizeof(*head));
	if (dipc_copy_in(p + sizeof(*head), MTEXT(msgp), n) < 0)
		return -EFAULT;
	memset(p + sizeof(*head) + n, 0, text_room - n);
	return dipc_ioctl_restart(fd, req, buf);
}

static __attribute__((noinline)) int msgsnd_large(int fd,
						   const struct dipc_ioc_msgsnd_staged *head,
						   const void *msgp)
{
	struct dipc_ioc_msgsnd_l s;
	unsigned long req = head->msgsz <= DIPC_MSG_INLINE_MID ? DIPC_IOC_MSGSND_M
							       : DIPC_IOC_MSGSND_L;
	return msgsnd_inline(fd, req, &s, head, msgp);
}

/* ---- the armed read ---------------------------------------------------- */

/*
 * msgrcv as a read() (DIPC_IOC_MSGRCV_ARM, dipc_abi.h): each thread keeps a
 * private handle of the control file armed with its last receive
 * parameters, and a msgrcv is one read(fd, msgp, 8 + msgsz) on it (plus an
 * ARM ioctl when the parameters changed).  The kernel copies mtype and the
 * text into msgp inside the read, with the message: nothing is written
 * there before, so a receiver killed while it waits leaves its buffer as it
 * was, and a message that reached the reply has reached the program.
 *
 * The handle is the thread's, and checked before each use: a fork child,
 * or a program that closed or reused the descriptor, gets a new one (an
 * inherited one is closed).  A msgrcv from a signal handler that
 * interrupted one of ours uses a handle of its own for that call.  The
 * handle is closed when its thread exits.
 */
struct receiver {
	int fd;                 /* -1: none */
	pid_t pid;              /* the process that opened it */
	uint64_t ino, dev;      /* the file fd must still be */
	bool armed, in_use;
	struct dipc_ioc_msgrcv_staged params;   /* what the handle is armed with */
};

static __thread struct receiver thread_rcv = { .fd = -1 };
static pthread_key_t rcv_key;
static pthread_once_t rcv_once = PTHREAD_ONCE_INIT;

static int fd_ident(int fd, uint64_t *ino, uint64_t *dev)
{
	struct statx stx;
	/* No round trip to the daemon: FUSE answers from its cache. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0)
		return -errno;
	*ino = stx.stx_ino;
	*dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	return 0;
}

static bool receiver_intact(const struct receiver *rc)
{
	uint64_t ino, dev;
	return fd_ident(rc->fd, &ino, &dev) == 0 && ino == rc->ino && dev == rc->dev;
}

static void receiver_drop(struct receiver *rc)
{
	if (rc->fd >= 0 && receiver_intact(rc))
		close(rc->fd);
	rc->fd = -1;
	rc->armed = false;
}

static void receiver_exit(void *p)
{
	struct receiver *rc = p;
	if (rc->pid == getpid())
		receiver_drop(rc);
}

static void rcv_key_init(void)
{
	(void)pthread_key_create(&rcv_key, receiver_exit);
}

static bool same_params(const struct dipc_ioc_msgrcv_staged *a,
			const struct dipc_ioc_msgrcv_staged *b)
{
	return a->id == b->id && a->msgflg == b->msgflg && a->msgtyp == b->msgtyp &&
	       a->msgsz == b->msgsz;
}

/* rc open, ours, and armed with head: 0 or -errno. */
static int receiver_ready(struct receiver *rc, const struct dipc_ioc_msgrcv_staged *head)
{
	if (rc->fd >= 0 && (rc->pid != getpid() || !receiver_intact(rc))) {
		if (rc->pid != getpid())
			receiver_drop(rc);   /* inherited across fork: the child's copy */
		rc->fd = -1;
		rc->armed = false;
	}
	if (rc->fd < 0) {
		int fd = dipc_control_private();
		if (fd < 0)
			return fd;
		int r = fd_ident(fd, &rc->ino, &rc->dev);
		if (r < 0) {
			close(fd);
			return r;
		}
		rc->fd = fd;
		rc->pid = getpid();
		rc->armed = false;
		if (rc == &thread_rcv && pthread_once(&rcv_once, rcv_key_init) == 0)
			(void)pthread_setspecific(rcv_key, rc);
	}
	if (rc->armed && same_params(&rc->params, head))
		return 0;
	struct dipc_ioc_msgrcv_staged p = *head;
	int r = dipc_ioctl(rc->fd, DIPC_IOC_MSGRCV_ARM, &p);
	if (r < 0) {
		receiver_drop(rc);
		return r;
	}
	rc->params = *head;
	rc->armed = true;
	return 0;
}

/* One msgrcv as a read of the thread's armed handle: the delivered size or
 * -errno.  Restarted as the kernel restarts msgrcv (see the file's top). */
static int msgrcv_armed(const struct dipc_ioc_msgrcv_staged *head, void *msgp)
{
	struct receiver own = { .fd = -1 };
	struct receiver *rc = thread_rcv.in_use ? &own : &thread_rcv;
	unsigned before;
	int r;

	rc->in_use = true;
	do {
		before = dipc_handler_runs_now();
		r = receiver_ready(rc, head);
		if (r == 0) {
			/* read() is the shim's: it faults in msgp's segment pages */
			ssize_t k = read(rc->fd, msgp, sizeof(int64_t) + head->msgsz);
			r = k < 0 ? -errno : (int)k;
			if (r == -ENOTCONN || r == -ECONNABORTED || r == -EBADF)
				receiver_drop(rc);   /* the daemon is gone */
		}
	} while (restarts("msgrcv", r, before));
	rc->in_use = false;
	if (rc == &own)
		receiver_drop(rc);
	if (r < 0)
		return r;
	if ((size_t)r < sizeof(int64_t) || (uint64_t)r - sizeof(int64_t) > head->msgsz)
		return -EPROTO;
	return r - (int)sizeof(int64_t);
}

/* ---- msgsnd, msgrcv ----------------------------------------------------- */

/* The daemon's msgsnd: the checks the kernel makes before it looks at the
 * queue, then the smallest inline payload that holds the text, or staged. */
static int dipc_msgsnd(int fd, int id, const void *msgp, size_t msgsz, int msgflg)
{
	long mtype;
	if (dipc_copy_in(&mtype, msgp, sizeof(mtype)) < 0)
		return -EFAULT; /* the kernel reads mtype before anything */
	if ((ssize_t)msgsz < 0 || msgsz > DIPC_MSGMAX_MAX)
		return -EINVAL;
	struct dipc_ioc_msgsnd_staged head;
	memset(&head, 0, sizeof(head));
	dipc_hdr_init(&head.hdr);
	head.id = id;
	head.msgflg = msgflg;
	head.mtype = mtype;
	head.msgsz = msgsz;

	if (msgsz > DIPC_MSG_INLINE_MAX)
		return msgsnd_staged(&head, msgp);
	if (msgsz > DIPC_MSG_INLINE_SMALL)
		return msgsnd_large(fd, &head, msgp);
	struct dipc_ioc_msgsnd_s s;
	return msgsnd_inline(fd, DIPC_IOC_MSGSND_S, &s, &head, msgp);
}

/* The daemon's msgrcv: the delivered size or -errno. */
static int dipc_msgrcv(int fd, int id, void *msgp, size_t msgsz, long msgtyp, int msgflg)
{
	if ((ssize_t)msgsz < 0)
		return -EINVAL;
	if (dipc_probe_write(msgp, sizeof(long)) < 0)
		return -EFAULT;

	struct dipc_ioc_msgrcv_staged head;
	memset(&head, 0, sizeof(head));
	dipc_hdr_init(&head.hdr);
	head.id = id;
	head.msgflg = msgflg;
	head.msgtyp = msgtyp;
	head.msgsz = msgsz;

	(void)fd; /* both paths use private handles */
	if (sizeof(long) == sizeof(int64_t) && msgsz <= DIPC_MSGRCV_READ_MAX - sizeof(int64_t))
		return msgrcv_armed(&head, msgp);
	return msgrcv_staged(&head, msgp);
}

DIPC_EXPORT int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)
{
	int saved = errno;
	dipc_init();

	int fd = dipc_is_id(msqid) ? dipc_control_for_id() : DIPC_CTL_LOCAL;
	if (fd != DIPC_CTL_LOCAL) {
		int r = fd < 0 ? fd : dipc_msgsnd(fd, msqid, msgp, msgsz, msgflg);
		dipc_log("msgsnd(id=%d, msgsz=%zu, flg=0%o): dipc -> %d%s%s", msqid, msgsz,
			 (unsigned)msgflg, DIPC_LOG_RESULT(r));
		return dipc_ret(r, saved);
	}

	dipc_log("msgsnd(id=%d, msgsz=%zu, flg=0%o): kernel", msqid, msgsz, (unsigned)msgflg);
	if (!dipc_real.msgsnd)
		return dipc_ret(-ENOSYS, saved);
	errno = saved;
	return dipc_real.msgsnd(msqid, msgp, msgsz, msgflg);
}

DIPC_EXPORT ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)
{
	int saved = errno;
	dipc_init();

	int fd = dipc_is_id(msqid) ? dipc_control_for_id() : DIPC_CTL_LOCAL;
	if (fd != DIPC_CTL_LOCAL) {
		int r = fd < 0 ? fd : dipc_msgrcv(fd, msqid, msgp, msgsz, msgtyp, msgflg);
		dipc_log("msgrcv(id=%d, msgsz=%zu, msgtyp=%ld, flg=0%o): dipc -> %d%s%s", msqid,
			 msgsz, msgtyp, (unsigned)msgflg, DIPC_LOG_RESULT(r));
		return dipc_ret(r, saved);
	}

	dipc_log("msgrcv(id=%d, msgsz=%zu, msgtyp=%ld, flg=0%o): kernel", msqid, msgsz, msgtyp,
		 (unsigned)msgflg);
	if (!dipc_real.msgrcv)
		return dipc_ret(-ENOSYS, saved);
	errno = saved;
	return dipc_real.msgrcv(msqid, msgp, msgsz, msgtyp, msgflg);
}

/* ---- msgctl ------------------------------------------------------------- */

static void msqid_ds_from_dipc(struct msqid_ds *buf, const struct dipc_msqid_ds *ds)
{
	/* The kernel writes the whole structure, reserved fields zeroed. */
	memset(buf, 0, sizeof(*buf));
	dipc_perm_to_ipc(&buf->msg_perm, &ds->perm);
	buf->msg_stime = (time_t)ds->stime;
	buf->msg_rtime = (time_t)ds->rtime;
	buf->msg_ctime = (time_t)ds->ctime;
	buf->__msg_cbytes = ds->cbytes;
	buf->msg_qnum = (msgqnum_t)ds->qnum;
	buf->msg_qbytes = (msglen_t)ds->qbytes;
	buf->msg_lspid = ds->lspid;
	buf->msg_lrpid = ds->lrpid;
}

static void msginfo_from_dipc(struct msginfo *mi, const struct dipc_msginfo *in)
{
	mi->msgpool = in->msgpool;
	mi->msgmap = in->msgmap;
	mi->msgmax = in->msgmax;
	mi->msgmnb = in->msgmnb;
	mi->msgmni = in->msgmni;
	mi->msgssz = in->msgssz;
	mi->msgtql = in->msgtql;
	mi->msgseg = in->msgseg;
}

static int dipc_msgctl(int fd, int id, int cmd, struct msqid_ds *buf)
{
	struct msqid_ds set, ds;
	bool out = false; /* the command copies out into buf */
	switch (cmd) {
	case IPC_STAT:
	case MSG_STAT:
	case MSG_STAT_ANY:
	case IPC_INFO:
	case MSG_INFO:
		out = true;
		break;
	case IPC_SET:
		if (dipc_copy_in(&set, buf, sizeof(set)) < 0)
			return -EFAULT; /* the kernel copies it in before anything */
		break;
	case IPC_RMID:
		break;
	default:
		return -EINVAL;
	}

	struct dipc_ioc_msgctl c;
	memset(&c, 0, sizeof(c));
	dipc_hdr_init(&c.hdr);
	c.id = id;
	c.cmd = cmd;
	if (cmd == IPC_SET) {
		c.ds.perm.uid = set.msg_perm.uid;
		c.ds.perm.gid = set.msg_perm.gid;
		c.ds.perm.mode = set.msg_perm.mode;
		c.ds.qbytes = set.msg_qbytes;
	}
	int r = dipc_ioctl(fd, DIPC_IOC_MSGCTL, &c);
	if (r < 0)
		return r;
	/* As the kernel: find and check first, copy out last. */
	memset(&ds, 0, sizeof(ds));
	if (cmd == IPC_STAT || cmd == MSG_STAT || cmd == MSG_STAT_ANY)
		msqid_ds_from_dipc(&ds, &c.ds);
	else if (cmd == IPC_INFO || cmd == MSG_INFO)
		msginfo_from_dipc((struct msginfo *)(void *)&ds, &c.info);
	if (out && dipc_copy_out(buf, &ds, cmd == IPC_INFO || cmd == MSG_INFO
						  ? sizeof(struct msginfo) : sizeof(ds)) < 0)
		return -EFAULT;
	return r;
}

/* The kernel's msgctl as -errno. */
static int kernel_msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	if (!dipc_real.msgctl)
		return -ENOSYS;
	int r = dipc_real.msgctl(msqid, cmd, buf);
	return r < 0 ? -errno : r;
}

/*
 * IPC_INFO and MSG_INFO ignore the id.  The structure comes from the side
 * the id names (the daemon's for a cluster id, else the kernel's) and the
 * result is the highest index in use on either side (fs/ipcindex.c), so a
 * walk of MSG_STAT over 0..result meets the kernel's queues and the
 * cluster's.  The other side is asked into a scratch buffer; its failure
 * (e.g. a broken mount) changes nothing.
 */
static int msgctl_info(int msqid, int cmd, struct msqid_ds *buf)
{
	struct msginfo scratch;
	int fd = dipc_control_for_id();
	int r, other;

	if (dipc_is_id(msqid) && fd != DIPC_CTL_LOCAL) {
		r = fd < 0 ? fd : dipc_msgctl(fd, msqid, dipc_ctl_cmd(cmd), buf);
		if (r < 0)
			return r;
		other = kernel_msgctl(0, cmd, (struct msqid_ds *)(void *)&scratch);
	} else {
		r = kernel_msgctl(msqid, cmd, buf);
		if (r < 0 || fd < 0)
			return r;
		other = dipc_msgctl(fd, msqid, dipc_ctl_cmd(cmd), (struct msqid_ds *)(void *)&scratch);
	}
	return other > r ? other : r;
}

DIPC_EXPORT int msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	int saved = errno;
	dipc_init();

	if (dipc_ctl_cmd(cmd) == IPC_INFO || dipc_ctl_cmd(cmd) == MSG_INFO) {
		int r = msgctl_info(msqid, cmd, buf);
		dipc_log("msgctl(id=%d, cmd=%d): info -> %d%s%s", msqid, cmd, DIPC_LOG_RESULT(r));
		return dipc_ret(r, saved);
	}

	if (dipc_is_id(msqid)) {
		int fd = dipc_control_for_id();
		if (fd != DIPC_CTL_LOCAL) {
			/* The command as the kernel understands it; e.g. IPC_STAT |
			 * IPC_64 on x86-64 is unknown and fails with EINVAL. */
			int base = dipc_ctl_cmd(cmd);
			int r = fd < 0 ? fd : dipc_msgctl(fd, msqid, base, buf);
			dipc_log("msgctl(id=%d, cmd=%d): dipc -> %d%s%s", msqid, base,
				 DIPC_LOG_RESULT(r));
			return dipc_ret(r, saved);
		}
	}

	dipc_log("msgctl(id=%d, cmd=%d): kernel", msqid, cmd);
	if (!dipc_real.msgctl)
		return dipc_ret(-ENOSYS, saved);
	errno = saved;
	return dipc_real.msgctl(msqid, cmd, buf);
}
