/* SPDX-License-Identifier: MIT */
/**
 * @file msgq.h
 *
 * The message-queue engine: Linux ipc/msg.c semantics on a plain struct, with
 * no FUSE, no libuv and no network.  The owner node holds one dipc_msgq per
 * queue it owns.
 *
 * Return convention: 0 (or a size) done, 1 the caller must wait (queued),
 * < 0 a negative errno.
 *
 * Senders.  dipc_msgq_send() appends the message, or hands it directly to
 * the first waiting receiver whose selection matches (pipelined send, as
 * msg.c's pipelined_send()); if the queue has no room (msg_cbytes + size >
 * msg_qbytes, or msg_qnum + 1 > msg_qbytes) the sender waits in FIFO order
 * (or fails with -EAGAIN under IPC_NOWAIT).  Whenever room appears, waiting
 * senders are retried in order.
 *
 * Receivers.  dipc_msgq_recv() takes the first message matching msgtyp
 * (0: first; > 0: first of that type, or with MSG_EXCEPT first of another
 * type; < 0: the lowest type <= |msgtyp|, first of those).  A matching
 * message larger than the receiver's maxsize fails with -E2BIG and stays
 * queued, unless MSG_NOERROR, which truncates it.  No match: -ENOMSG with
 * IPC_NOWAIT, else the receiver waits (FIFO among receivers).  With
 * MSG_COPY (which needs IPC_NOWAIT) msgtyp is an index from the head and
 * the receiver gets a copy (is_copy set), the queue unchanged.
 *
 * Delivery and loss.  A message given to a receiver (at once or on wake-up)
 * leaves the queue; if the glue then cannot deliver it (the receiver was
 * killed, its connection broke), it gives it back with dipc_msgq_requeue(),
 * which puts it at the head of the queue (or to a waiting receiver) without
 * size checks, and restores the statistics.
 *
 * Wake-ups are reported through the queue's wake function: for a receiver,
 * result >= 0 is the delivered size and w->msg holds the message (owned by
 * the receiver from then on, free with dipc_msg_free); for a sender, 0.
 * dipc_msgq_rmid() wakes everyone with -EIDRM.  The glue ends a waiter itself
 * (signal, peer death) with dipc_msgq_cancel().  The wake function must not
 * call back into the same queue.
 */
#ifndef DIPC_MSGQ_H
#define DIPC_MSGQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dipc_abi.h"
#include "ipcperm.h"

typedef struct dipc_msg {
	struct dipc_msg *next;
	bool is_copy;           /* MSG_COPY's duplicate: never given back */
	int64_t mtype;
	size_t size;
	char data[];
} dipc_msg;

dipc_msg *dipc_msg_new(int64_t mtype, const void *data, size_t size);
void dipc_msg_free(dipc_msg *m);

typedef struct dipc_msg_limits {
	unsigned msgmax;   /* max message size, default 8192 */
	unsigned msgmnb;   /* default msg_qbytes of a new queue, default 16384 */
} dipc_msg_limits;

/* struct dipc_msqid_ds (struct msqid_ds in fixed-width form) is in
 * dipc_abi.h: the shim returns it as it is. */

typedef struct dipc_msgq dipc_msgq;
typedef struct dipc_msg_waiter dipc_msg_waiter;

typedef void (*dipc_msg_wake_fn)(dipc_msg_waiter *w, int result, void *ud);

/* Filled by the glue; lives in the glue's parked request. */
struct dipc_msg_waiter {
	dipc_ident who;
	bool is_send;
	/* send */
	dipc_msg *msg;          /* send: the message (the queue takes it on
				 * success); recv: the delivered message */
	int flags;              /* IPC_NOWAIT, MSG_NOERROR, MSG_EXCEPT */
	/* recv */
	int64_t msgtyp;
	size_t maxsize;
	void *ud;

	/* engine-private */
	dipc_msg_waiter *prev, *next;
	bool queued;
};

dipc_msgq *dipc_msgq_new(int32_t key, int32_t id, unsigned mode, const dipc_ident *creator,
			 const dipc_msg_limits *lim, dipc_msg_wake_fn wake, void *wake_ud);
/* Frees the queue and its messages; waiters must have been ended. */
void dipc_msgq_free(dipc_msgq *q);

/* xxxget() on an existing queue: permission (EACCES) with flags' mode bits. */
int dipc_msgq_check_get(const dipc_msgq *q, const dipc_ident *who, int flags);

/* msgsnd.  Checks in msg.c's order: mtype < 1 -> EINVAL, size > msgmax ->
 * EINVAL, write permission -> EACCES.  On 0 the queue (or a receiver) owns
 * w->msg and w->msg is set to NULL; on 1 the waiter is queued and keeps
 * its message until woken (0: sent) or cancelled (message still in w->msg);
 * on < 0 w->msg is untouched. */
int dipc_msgq_send(dipc_msgq *q, dipc_msg_waiter *w);

/* msgrcv.  Checks: read permission -> EACCES.  Returns the delivered size
 * (>= 0) with w->msg set (the caller owns it), 1 if queued, or -errno
 * (-ENOMSG, -E2BIG, -EIDRM...).
 * A delivered size of 1 looks like "queued": tell them apart by w->queued
 * (true only when queued, and then w->msg is NULL).  Under MSG_NOERROR the
 * delivered size may be less than w->msg->size, which stays the full size
 * (so a requeue gives the message back whole): copy only the delivered
 * size, here and in a receiver's wake-up. */
int dipc_msgq_recv(dipc_msgq *q, dipc_msg_waiter *w);

/* Give back a message that could not be delivered: head of the queue, or to
 * the first waiting receiver it matches.  Never fails, ignores limits. */
void dipc_msgq_requeue(dipc_msgq *q, dipc_msg *m);

void dipc_msgq_cancel(dipc_msgq *q, dipc_msg_waiter *w);

/* msgctl */
int dipc_msgq_stat(const dipc_msgq *q, const dipc_ident *who, bool check_perm,
		   struct dipc_msqid_ds *ret_ds);
/* IPC_SET (msgctl_down): owner/creator/root, else EPERM; a qbytes above
 * msgmnb needs privilege (EPERM).  Afterwards every waiter is retried as
 * msg.c does (expunge_all(-EAGAIN) + ss_wakeup): one that lost its
 * permission is woken with -EACCES, senders that now fit are sent. */
int dipc_msgq_ipc_set(dipc_msgq *q, const dipc_ident *who, uint32_t uid, uint32_t gid,
		      uint32_t mode, uint64_t qbytes);
int dipc_msgq_rmid(dipc_msgq *q, const dipc_ident *who);

const dipc_ipc_perm *dipc_msgq_perm(const dipc_msgq *q);
uint64_t dipc_msgq_qnum(const dipc_msgq *q);
uint64_t dipc_msgq_cbytes(const dipc_msgq *q);

/* `cat /MOUNT/msg/KEY`: key, id, owner, mode, ids, qnum, cbytes, qbytes,
 * lspid/lrpid (pid@node), stime/rtime/ctime, parked senders and receivers
 * (pid@node with size / msgtyp and flags), and a summary of queued messages
 * by type (type, count, bytes), never their contents.  g_free the result. */
char *dipc_msgq_describe(const dipc_msgq *q, const char *owner_node);

#endif /* DIPC_MSGQ_H */
