/* SPDX-License-Identifier: MIT */
/**
 * @file exec.c
 *
 * Execution at the owner: the one entry (exec_local) through which every op
 * reaches the engine glue of its kind, whichever origin it came from.
 *
 * The table maps an op type to the kind of object it needs and the glue that
 * runs it.  An op on an id this node does not own, or on an object of another
 * kind, fails with EINVAL, as the kernel's calls do on an id that is not (or
 * no longer) one of theirs: a message given back to a queue that is gone is
 * dropped with the queue.
 */
#include <errno.h>

#include "node.h"

typedef struct exec_entry {
	int kind;                               /* DIPC_KIND_*; 0: no object needed */
	void (*run)(dipc_op *op, dipc_obj *obj);
	const char *name;
} exec_entry;

static void run_get(dipc_op *op, dipc_obj *obj)
{
	op_complete(op, obj_check_get(op->node, op));
}

static void run_status(dipc_op *op, dipc_obj *obj)
{
	exec_status(op);
}

static const exec_entry exec_table[] = {
	[OP_GET] = { 0, run_get, "GET" },
	[OP_STATUS] = { 0, run_status, "STATUS" },
	[OP_SEMOP] = { DIPC_KIND_SEM, exec_semop, "SEMOP" },
	[OP_SEMCTL] = { DIPC_KIND_SEM, exec_semctl, "SEMCTL" },
	[OP_SEMARRAY] = { DIPC_KIND_SEM, exec_semarray, "SEMARRAY" },
	[OP_MSGSND] = { DIPC_KIND_MSG, exec_msg, "MSGSND" },
	[OP_MSGRCV] = { DIPC_KIND_MSG, exec_msg, "MSGRCV" },
	[OP_MSGCTL] = { DIPC_KIND_MSG, exec_msg, "MSGCTL" },
	[OP_MSGREQUEUE] = { DIPC_KIND_MSG, exec_msg, "MSGREQUEUE" },
	[OP_SHMCTL] = { DIPC_KIND_SHM, exec_shm, "SHMCTL" },
};

const char *op_type_name(enum dipc_op_type type)
{
	if ((size_t)type < G_N_ELEMENTS(exec_table) && exec_table[type].name)
		return exec_table[type].name;
	return "?";
}

void exec_local(dipc_op *op)
{
	const exec_entry *e = NULL;
	dipc_obj *obj = NULL;

	if ((size_t)op->type < G_N_ELEMENTS(exec_table) && exec_table[op->type].run)
		e = &exec_table[op->type];
	if (!e) {
		op_complete(op, -EINVAL);
		return;
	}
	if (e->kind) {
		obj = obj_find(op->node, op->id);
		if (!obj || obj->kind != e->kind) {
			op_complete(op, -EINVAL);
			return;
		}
	}
	e->run(op, obj);
}

bool exec_may_park(dipc_op *op, dipc_obj *obj)
{
	dipc_node *n = op->node;

	if (n->nparked >= n->conf->max_parked)
		return false;
	park(op, obj);
	return true;
}
