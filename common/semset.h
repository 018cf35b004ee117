/* SPDX-License-Identifier: MIT */
/**
 * @file semset.h
 *
 * The semaphore-set engine: Linux ipc/sem.c semantics on a plain struct, with
 * no FUSE, no libuv and no network, so that it is unit-tested on its own.
 * The owner node holds one dipc_semset per set it owns.
 *
 * Return convention (as perform_atomic_semop in sem.c): 0 done, 1 the caller
 * must wait (the waiter is queued), < 0 a negative errno.
 *
 * Waiting.  dipc_semset_op() queues a waiter that cannot proceed (unless
 * the sembuf that blocks carries IPC_NOWAIT: -EAGAIN, as in Linux).  Whenever values change
 * (semop, SETVAL, SETALL, exit adjustments) the engine retries queued waiters
 * in FIFO order, restarting from the head after any completed operation that
 * changed a value, and reports each completed one through the set's wake
 * function with result 0.  dipc_semset_rmid() reports -EIDRM to every waiter.
 * The glue ends a waiter itself (signal, time-out, peer death) with
 * dipc_semset_cancel(), after which the wake function is never called for it.
 * The wake function must not call back into the same set; it may reply to
 * the waiter's request at once.
 *
 * SEM_UNDO.  Adjustments are kept per (node, pid) in the set.
 * dipc_semset_exit() applies and drops them (exit_sem(): clamp to
 * [0, semvmx], set sempid); SETVAL clears one semaphore's adjustments in every
 * record and SETALL all of them, as the kernel does.
 */
#ifndef DIPC_SEMSET_H
#define DIPC_SEMSET_H

#include <stdbool.h>
#include <stdint.h>

#include "dipc_abi.h"
#include "ipcperm.h"

typedef struct dipc_sem_limits {
	unsigned semmsl;   /* max semaphores per set */
	unsigned semopm;   /* max sembufs per semop */
	unsigned semvmx;   /* max value, 32767 */
	unsigned semaem;   /* max adjust-on-exit value, = semvmx */
} dipc_sem_limits;

typedef struct dipc_semset dipc_semset;

typedef struct dipc_sem_waiter dipc_sem_waiter;

typedef void (*dipc_sem_wake_fn)(dipc_sem_waiter *w, int result, void *ud);

/* Filled by the glue before dipc_semset_op(); lives in the glue's parked
 * request, so it must stay valid (and unmoved) while it is queued. */
struct dipc_sem_waiter {
	dipc_ident who;
	struct dipc_sembuf *sops;   /* owned by the glue */
	unsigned nsops;
	void *ud;                   /* the glue's request */

	/* engine-private */
	dipc_sem_waiter *prev, *next;
	int blocking;               /* index of the sembuf that blocked */
	bool queued;
};

dipc_semset *dipc_semset_new(int32_t key, int32_t id, unsigned nsems, unsigned mode,
			     const dipc_ident *creator, const dipc_sem_limits *lim,
			     dipc_sem_wake_fn wake, void *wake_ud);
/* Frees the set; queued waiters must have been ended (rmid or cancel). */
void dipc_semset_free(dipc_semset *s);

/* xxxget() on an existing set: nsems check (EINVAL) then permission (EACCES)
 * with the mode bits of flags, in the kernel's order. */
int dipc_semset_check_get(const dipc_semset *s, const dipc_ident *who, int flags,
			  unsigned nsems);

/* semop/semtimedop.  Checks (in sem.c's order): nsops < 1 -> EINVAL,
 * nsops > semopm -> E2BIG, sem_num >= nsems -> EFBIG, permission (alter if
 * any sem_op != 0, else read) -> EACCES, then performs atomically or
 * queues.  -EAGAIN with IPC_NOWAIT, -ERANGE when a value or adjustment
 * would leave its range.  On 0 or 1, w->sops must stay valid until the
 * waiter is woken or cancelled. */
int dipc_semset_op(dipc_semset *s, dipc_sem_waiter *w);

/* Remove a queued waiter without completing it (no wake call).  No-op if
 * it is not queued. */
void dipc_semset_cancel(dipc_semset *s, dipc_sem_waiter *w);

/* Process (node, pid) has exited: apply its adjustments, drop them, wake. */
void dipc_semset_exit(dipc_semset *s, const char *node, int32_t pid);
/* Every process of node has gone (the node died): apply all its records. */
void dipc_semset_node_down(dipc_semset *s, const char *node);
/* Does (node, pid) hold an undo record in this set? */
bool dipc_semset_has_undo(const dipc_semset *s, const char *node, int32_t pid);

/* semctl.  All check permission as sem.c does (read for the GET* and STAT
 * commands, alter for SETVAL/SETALL, owner/creator/root for IPC_SET and
 * IPC_RMID), and semnum/value ranges (EINVAL, ERANGE). */
int dipc_semset_stat(const dipc_semset *s, const dipc_ident *who, bool check_perm,
		     struct dipc_semid_ds *ret_ds);
int dipc_semset_ipc_set(dipc_semset *s, const dipc_ident *who, uint32_t uid,
			uint32_t gid, uint32_t mode);
/* Checks the caller, marks the set removed and wakes every waiter with
 * -EIDRM.  The glue frees the set afterwards. */
int dipc_semset_rmid(dipc_semset *s, const dipc_ident *who);
/* GETVAL, GETPID, GETNCNT, GETZCNT: returns the value (>= 0) or -errno. */
int dipc_semset_get(const dipc_semset *s, const dipc_ident *who, int cmd, int semnum);
int dipc_semset_setval(dipc_semset *s, const dipc_ident *who, int semnum, int val);
/* GETALL: writes nsems values into vals (capacity cap, EINVAL if smaller). */
int dipc_semset_getall(const dipc_semset *s, const dipc_ident *who, uint16_t *vals,
		       unsigned cap);
/* SETALL: n must equal nsems (the shim always sends nsems values). */
int dipc_semset_setall(dipc_semset *s, const dipc_ident *who, const uint16_t *vals,
		       unsigned n);

unsigned dipc_semset_nsems(const dipc_semset *s);
int32_t dipc_semset_id(const dipc_semset *s);
int32_t dipc_semset_key(const dipc_semset *s);
const dipc_ipc_perm *dipc_semset_perm(const dipc_semset *s);
unsigned dipc_semset_nwaiters(const dipc_semset *s);

/* Human-readable state for `cat /MOUNT/sem/KEY` (g_free the result):
 * key, id, owner node, mode, uid/gid/cuid/cgid, nsems, otime, ctime, and per
 * semaphore semval, sempid, semncnt, semzcnt; then the queued waiters
 * (node, pid, operations) and the undo records. */
char *dipc_semset_describe(const dipc_semset *s, const char *owner_node);

#endif /* DIPC_SEMSET_H */
