/* SPDX-License-Identifier: MIT */
/**
 * @file ioctl_sem.c
 *
 * The ioctl table's semaphore rows: semop/semtimedop (two payload sizes of
 * one layout), semctl without a value array, and GETALL/SETALL.  Each row
 * decodes its payload into an op for the owner (semglue.c) and answers the
 * shim from the op's results.  IPC_INFO and SEM_INFO are the cluster's
 * limits and this node's usage, answered by any node with the highest
 * index in use (ipcindex.c), which SEM_STAT takes.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "ioctl_table.h"
#include "ipcindex.h"

/* semop, semtimedop: the payload's size says how many sembufs it can hold. */
static int semop_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_semop_large *s = call->in;
	size_t cap = (call->in_size - G_STRUCT_OFFSET(struct dipc_ioc_semop_large, sops)) /
		     sizeof(struct dipc_sembuf);
	dipc_op *op;

	if (s->nsops > cap)
		return -E2BIG;
	op = ioc_op_new(call, OP_SEMOP);
	op->id = s->id;
	op->sem.nsops = s->nsops;
	op->timeout_ns = s->timeout_ns;
	op->sem.sops = g_memdup2(s->sops, sizeof(struct dipc_sembuf) * MAX(s->nsops, 1));
	*ret_op = op;
	return 0;
}

static bool sops_have_undo(const dipc_op *op)
{
	for (unsigned i = 0; i < op->sem.nsops; i++)
		if (op->sem.sops[i].sem_flg & SEM_UNDO)
			return true;
	return false;
}

/* A SEM_UNDO operation that went through: the caller's node watches the
 * process, to announce its exit to the owner. */
static void semop_done(dipc_op *op)
{
	if (op->result == 0 && sops_have_undo(op)) {
		const char *owner = cluster_owner_of(op->node, op->id);
		if (owner)
			procwatch_note_undo(op->node, op->who.pid, owner);
	}
	ioc_done_plain(op);
}

/* The semaphore sets this node owns (SEM_INFO's semusz, as the kernel's
 * sem_ids.in_use: sets only, not the node's queues and segments). */
static guint owned_sets(dipc_node *n)
{
	GHashTableIter it;
	gpointer v;
	guint sets = 0;

	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (((const dipc_obj *)v)->kind == DIPC_KIND_SEM)
			sets++;
	return sets;
}

/* IPC_INFO / SEM_INFO: the cluster's limits, answered by any node. */
static void fill_seminfo(dipc_node *n, struct dipc_seminfo *si, int cmd)
{
	memset(si, 0, sizeof(*si));
	si->semmni = n->conf->semmni;
	si->semmsl = n->sem_lim.semmsl;
	si->semmns = n->conf->semmns;
	si->semopm = n->sem_lim.semopm;
	si->semvmx = n->sem_lim.semvmx;
	si->semmap = n->conf->semmns;
	si->semmnu = n->conf->semmns;
	si->semume = n->sem_lim.semopm;
	si->semusz = cmd == SEM_INFO ? (int32_t)owned_sets(n) : 16;
	si->semaem = cmd == SEM_INFO ? (int32_t)n->sems_used : (int32_t)n->sem_lim.semaem;
}

/* Every semctl is an op: IPC_INFO/SEM_INFO too, answered with the info
 * filled here and the highest index in use as the result. */
static int semctl_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_semctl *c = call->in;
	dipc_op *op;

	op = ioc_op_new(call, OP_SEMCTL);
	if (c->cmd == IPC_INFO || c->cmd == SEM_INFO)
		fill_seminfo(call->node, &op->sem.info, c->cmd);
	op->id = c->id;
	op->sem.semnum = c->semnum;
	op->sem.cmd = c->cmd;
	op->sem.val = c->val;
	op->sem.set_uid = c->ds.perm.uid;
	op->sem.set_gid = c->ds.perm.gid;
	op->sem.set_mode = c->ds.perm.mode;
	op->from.fuse.io_buf = g_memdup2(c, sizeof(*c));
	op->from.fuse.out_size = call->out_size;
	*ret_op = op;
	return 0;
}

/* The commands of the kernel's index (ipcindex.c) before the owner. */
static void semctl_start(dipc_op *op)
{
	index_start(op, DIPC_KIND_SEM, op->sem.cmd);
}

static void semctl_done(dipc_op *op)
{
	struct dipc_ioc_semctl *c = op->from.fuse.io_buf;

	if (op->result < 0 || op->from.fuse.out_size != sizeof(*c)) {
		ioc_done_plain(op);
		return;
	}
	c->ds = op->sem.ds;
	c->info = op->sem.info;
	ioc_reply_op(op, c, sizeof(*c));
}

static int semarray_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_semarray *a = call->in;
	dipc_op *op;

	if (a->cmd != GETALL && a->cmd != SETALL)
		return -EINVAL;
	if (a->cmd == SETALL && a->nsems > DIPC_SEMMSL_MAX)
		return -EINVAL;
	op = ioc_op_new(call, OP_SEMARRAY);
	op->id = a->id;
	op->sem.cmd = a->cmd;
	op->sem.nvals = a->cmd == SETALL ? a->nsems : DIPC_SEMMSL_MAX;
	op->sem.vals = g_new0(uint16_t, MAX(op->sem.nvals, 1));
	if (a->cmd == SETALL)
		memcpy(op->sem.vals, a->vals, sizeof(uint16_t) * op->sem.nvals);
	op->from.fuse.io_buf = g_memdup2(a, sizeof(*a));
	op->from.fuse.out_size = call->out_size;
	*ret_op = op;
	return 0;
}

static void semarray_done(dipc_op *op)
{
	struct dipc_ioc_semarray *a = op->from.fuse.io_buf;

	if (op->result < 0 || op->from.fuse.out_size != sizeof(*a)) {
		ioc_done_plain(op);
		return;
	}
	if (op->sem.cmd == GETALL) {
		a->nsems = op->sem.nvals;
		memcpy(a->vals, op->sem.vals, sizeof(uint16_t) * MIN(op->sem.nvals, DIPC_SEMMSL_MAX));
	}
	ioc_reply_op(op, a, sizeof(*a));
}

const dipc_ioc_row dipc_ioc_sem_rows[] = {
	{ IOC_EXACT(DIPC_IOC_SEMOP, struct dipc_ioc_semop),
	  .decode = semop_decode, .done = semop_done },
	{ IOC_EXACT(DIPC_IOC_SEMOP_LARGE, struct dipc_ioc_semop_large),
	  .decode = semop_decode, .done = semop_done },
	{ IOC_EXACT(DIPC_IOC_SEMCTL, struct dipc_ioc_semctl),
	  .decode = semctl_decode, .done = semctl_done, .start = semctl_start },
	{ IOC_EXACT(DIPC_IOC_SEMARRAY, struct dipc_ioc_semarray),
	  .decode = semarray_decode, .done = semarray_done },
};
const size_t dipc_ioc_sem_nrows = G_N_ELEMENTS(dipc_ioc_sem_rows);
