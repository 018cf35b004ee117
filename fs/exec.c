/* SPDX-License-Identifier: MIT */
/**
 * @file exec.c
 *
 * Execution at the owner: the one entry (exec_local) through which every op
 * reaches the engine glue of its kind, whichever origin it came from.
 *
 * The table maps an op type to the glue that runs it; the kind of object it
 * needs is the op's own (op_kind_of).  An op on an id this node does not own, or on an object of another
 * kind, fails with EINVAL, as the kernel's calls do on an id that is not (or
 * no longer) one of theirs: a message given back to a queue that is gone is
 * dropped with the queue.
 */
#include <errno.h>

#include "node.h"

/* The glue that runs an op; obj is the owned object of the op's kind
 * (op_kind_of), NULL for the kinds that name none (get, status). */
typedef void (*exec_fn)(dipc_op *op, dipc_obj *obj);

static void run_get(dipc_op *op, dipc_obj *obj)
{
	op_complete(op, obj_check_get(op->node, op));
}

static void run_status(dipc_op *op, dipc_obj *obj)
{
	exec_status(op);
}

static const exec_fn exec_table[] = {
	[OP_GET] = run_get,
	[OP_STATUS] = run_status,
	[OP_SEMOP] = exec_semop,
	[OP_SEMCTL] = exec_semctl,
	[OP_SEMARRAY] = exec_semarray,
	[OP_MSGSND] = exec_msg,
	[OP_MSGRCV] = exec_msg,
	[OP_MSGCTL] = exec_msg,
	[OP_MSGREQUEUE] = exec_msg,
	[OP_SHMCTL] = exec_shm,
};

void exec_local(dipc_op *op)
{
	exec_fn run = NULL;
	dipc_obj *obj = NULL;
	int kind = op_kind_of(op->type);

	if ((size_t)op->type < G_N_ELEMENTS(exec_table))
		run = exec_table[op->type];
	if (!run) {
		op_complete(op, -EINVAL);
		return;
	}
	if (kind == DIPC_KIND_SEM || kind == DIPC_KIND_MSG || kind == DIPC_KIND_SHM) {
		obj = obj_find(op->node, op->id);
		if (!obj || obj->kind != kind) {
			op_complete(op, -EINVAL);
			return;
		}
	}
	run(op, obj);
}

bool exec_may_park(dipc_op *op, dipc_obj *obj)
{
	dipc_node *n = op->node;

	if (n->nparked >= n->conf->max_parked)
		return false;
	park(op, obj);
	return true;
}
