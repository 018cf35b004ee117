/* SPDX-License-Identifier: MIT */
/**
 * @file exec_sem.c
 *
 * Semaphore operations at the owner node: the glue between a dipc_op and the
 * semset engine (common/semset.c), which holds the Linux semantics.  A semop
 * that must wait is parked (op.c) and woken by the engine through sem_wake.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "node.h"

/* The engine's wake function: the op's semop completed or the set died. */
static void sem_wake(dipc_sem_waiter *w, int result, void *ud)
{
	dipc_op *op = w->ud;
	unpark(op);
	op_complete(op, result);
}

dipc_sem_wake_fn semglue_wake_fn(void)
{
	return sem_wake;
}

void exec_semop(dipc_op *op, dipc_obj *obj)
{
	int r;

	op->sem.waiter.who = op->who;
	op->sem.waiter.sops = op->sem.sops;
	op->sem.waiter.nsops = op->sem.nsops;
	op->sem.waiter.ud = op;
	r = dipc_semset_op(obj->sem, &op->sem.waiter);
	if (r == 1) {
		if (exec_may_park(op, obj))
			return;
		dipc_semset_cancel(obj->sem, &op->sem.waiter);
		r = -ENOMEM;
	}
	op_complete(op, r);
}

static int semctl_one(dipc_op *op, dipc_obj *obj)
{
	dipc_semset *s = obj->sem;
	int r;

	switch (op->sem.cmd) {
	case IPC_STAT:
	case SEM_STAT:
	case SEM_STAT_ANY:
		r = dipc_semset_stat(s, &op->who, op->sem.cmd != SEM_STAT_ANY, &op->sem.ds);
		if (r < 0)
			return r;
		return op->sem.cmd == IPC_STAT ? 0 : obj->id;
	case IPC_SET:
		return dipc_semset_ipc_set(s, &op->who, op->sem.set_uid, op->sem.set_gid, op->sem.set_mode);
	case IPC_RMID:
		r = dipc_semset_rmid(s, &op->who);
		if (r == 0)
			obj_destroy(op->node, obj);
		return r;
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
		return dipc_semset_get(s, &op->who, op->sem.cmd, op->sem.semnum);
	case SETVAL:
		return dipc_semset_setval(s, &op->who, op->sem.semnum, op->sem.val);
	default:
		return -EINVAL;
	}
}

void exec_semctl(dipc_op *op, dipc_obj *obj)
{
	op_complete(op, semctl_one(op, obj));
}

static int semarray(dipc_op *op, dipc_obj *obj)
{
	int r;

	if (op->sem.cmd == GETALL) {
		if (!op->sem.vals) {
			op->sem.nvals = DIPC_SEMMSL_MAX;
			op->sem.vals = g_new0(uint16_t, op->sem.nvals);
		}
		r = dipc_semset_getall(obj->sem, &op->who, op->sem.vals, op->sem.nvals);
		if (r == 0)
			op->sem.nvals = dipc_semset_nsems(obj->sem);
		return r;
	}
	if (op->sem.cmd == SETALL)
		return dipc_semset_setall(obj->sem, &op->who, op->sem.vals, op->sem.nvals);
	return -EINVAL;
}

void exec_semarray(dipc_op *op, dipc_obj *obj)
{
	op_complete(op, semarray(op, obj));
}
