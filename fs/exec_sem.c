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

	op->waiter.who = op->who;
	op->waiter.sops = op->sops;
	op->waiter.nsops = op->nsops;
	op->waiter.ud = op;
	r = dipc_semset_op(obj->sem, &op->waiter);
	if (r == 1) {
		if (exec_may_park(op, obj))
			return;
		dipc_semset_cancel(obj->sem, &op->waiter);
		r = -ENOMEM;
	}
	op_complete(op, r);
}

static int semctl_one(dipc_op *op, dipc_obj *obj)
{
	dipc_semset *s = obj->sem;
	int r;

	switch (op->cmd) {
	case IPC_STAT:
	case SEM_STAT:
	case SEM_STAT_ANY:
		r = dipc_semset_stat(s, &op->who, op->cmd != SEM_STAT_ANY, &op->ds);
		if (r < 0)
			return r;
		return op->cmd == IPC_STAT ? 0 : obj->id;
	case IPC_SET:
		return dipc_semset_ipc_set(s, &op->who, op->set_uid, op->set_gid, op->set_mode);
	case IPC_RMID:
		r = dipc_semset_rmid(s, &op->who);
		if (r == 0)
			obj_destroy(op->node, obj);
		return r;
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
		return dipc_semset_get(s, &op->who, op->cmd, op->semnum);
	case SETVAL:
		return dipc_semset_setval(s, &op->who, op->semnum, op->val);
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

	if (op->cmd == GETALL) {
		if (!op->vals) {
			op->nvals = DIPC_SEMMSL_MAX;
			op->vals = g_new0(uint16_t, op->nvals);
		}
		r = dipc_semset_getall(obj->sem, &op->who, op->vals, op->nvals);
		if (r == 0)
			op->nvals = dipc_semset_nsems(obj->sem);
		return r;
	}
	if (op->cmd == SETALL)
		return dipc_semset_setall(obj->sem, &op->who, op->vals, op->nvals);
	return -EINVAL;
}

void exec_semarray(dipc_op *op, dipc_obj *obj)
{
	op_complete(op, semarray(op, obj));
}
