/* SPDX-License-Identifier: MIT */
/**
 * @file ioctl_shm.c
 *
 * The ioctl table's shared-memory rows: shmctl, the attach and detach
 * counting around the shim's mmap and munmap, and the two calls that are
 * not ops but the page protocol of shmglue.c: the SIGSEGV handler's fault
 * (DIPC_IOC_SHMFAULT) and the helper thread's mailbox (DIPC_IOC_SHMWAIT).
 *
 * Control operations are answered at once by the owner, so they register no
 * interrupt hook (IOC_NO_INTR).  IPC_INFO and SHM_INFO are answered by any
 * node, with the highest index in use as the result; SHM_STAT and
 * SHM_STAT_ANY take the kernel's index (ipcindex.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "ioctl_table.h"
#include "ipcindex.h"

/* IPC_INFO / SHM_INFO: the cluster's limits; SHM_INFO counts this node's
 * own segments (the kernel counts its namespace). */
static void fill_shminfo(dipc_node *n, struct dipc_shminfo *si, int cmd)
{
	GHashTableIter it;
	gpointer v;

	memset(si, 0, sizeof(*si));
	si->shmmax = n->conf->shmmax;
	si->shmmin = 1;
	si->shmmni = n->conf->shmmni;
	si->shmseg = n->conf->shmmni;
	si->shmall = n->conf->shmall;
	if (cmd != SHM_INFO)
		return;
	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		if (o->shm) {
			si->used_ids++;
			si->shm_tot += dipc_shmseg_npages(o->shm);
		}
	}
}

/* Every shmctl is an op: IPC_INFO/SHM_INFO too, answered from its payload
 * (filled here) with the highest index in use as the result. */
static int shmctl_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_shmctl *c = call->in;
	struct dipc_ioc_shmctl *io;
	dipc_op *op;

	/* The attach counting is the SHMAT and SHMDT rows' (with their
	 * checks), never a shmctl command a caller may name. */
	if (c->cmd == DIPC_SHM_CMD_ATTACH || c->cmd == DIPC_SHM_CMD_DETACH)
		return -EINVAL;
	io = g_memdup2(c, sizeof(*c));
	if (c->cmd == IPC_INFO || c->cmd == SHM_INFO)
		fill_shminfo(call->node, &io->info, c->cmd);
	op = ioc_op_new(call, OP_SHMCTL);
	op->id = c->id;
	op->shm.cmd = c->cmd;
	op->shm.set_uid = c->ds.perm.uid;
	op->shm.set_gid = c->ds.perm.gid;
	op->shm.set_mode = c->ds.perm.mode;
	op->from.fuse.io_buf = io;
	op->from.fuse.out_size = call->out_size;
	*ret_op = op;
	return 0;
}

/* The commands of the kernel's index (ipcindex.c) before the owner. */
static void shmctl_start(dipc_op *op)
{
	index_start(op, DIPC_KIND_SHM, op->shm.cmd);
}

/* shmat (before mapping) and shmdt (after unmapping). */
static int shmat_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_shmat *a = call->in;
	dipc_op *op = ioc_op_new(call, OP_SHMCTL);

	op->id = a->id;
	op->shm.flags = a->shmflg;
	op->shm.fork = a->fork != 0;
	op->from.fuse.io_buf = g_memdup2(a, sizeof(*a));
	op->from.fuse.out_size = call->out_size;
	op->shm.cmd = call->cmd == DIPC_IOC_SHMAT ? DIPC_SHM_CMD_ATTACH : DIPC_SHM_CMD_DETACH;
	op->shm.count = 1;   /* a shmdt ends one attach */
	*ret_op = op;
	return 0;
}

/* A detach must end an attach this node knows of. */
static int detach_admit(dipc_op *op)
{
	return shmglue_detach_local(op->node, op->who.pid, op->id) ? 0 : -EINVAL;
}

/* The parent of tgid, from /proc (0: unknown). */
static int32_t parent_of(int32_t tgid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)tgid);
	g_autofree char *text = NULL;
	const char *l;

	if (!g_file_get_contents(path, &text, NULL, NULL) || !(l = strstr(text, "\nPPid:")))
		return 0;
	return (int32_t)g_ascii_strtoll(l + 7, NULL, 10);
}

/* An attach a fork child claims (fork = 1 skips the owner's ipcperms, as
 * the kernel's fork copies the parent's attaches) must be one its parent
 * holds on this node, writable if the claim is.  Checked when the child's
 * claim arrives: the shim sends it from its atfork handler, before the
 * child runs any code of its own; a parent that detached or exited in that
 * window leaves the child's mapping inaccessible (SIGBUS on access), which
 * is the price of never trusting the claim. */
static int attach_admit(dipc_op *op)
{
	int32_t parent;

	if (!op->shm.fork)
		return 0;
	parent = parent_of(op->who.pid);
	if (parent <= 0)
		return -EINVAL;
	return shmglue_attach_check(op->node, parent, op->id,
				    !(op->shm.flags & SHM_RDONLY)) < 0 ? -EACCES : 0;
}

/* One answer for the three op rows, by op->shm.cmd (which the owner executes:
 * shmctl's own commands, or the attach and detach counting). */
static void shm_done(dipc_op *op)
{
	dipc_node *n = op->node;
	fuse_req_t req = op->from.fuse.req;
	struct dipc_ioc_shmat *at = op->from.fuse.io_buf;

	if (op->result < 0) {
		fuse_reply_err(req, -op->result);
	} else if (op->shm.cmd == DIPC_SHM_CMD_ATTACH) {
		bool flushing = false;
		shmglue_attached(n, op->who.pid, op->id, &op->shm.ds,
				 cluster_owner_of(n, op->id), !(op->shm.flags & SHM_RDONLY),
				 &at->rev, &flushing);
		at->flushing = flushing;
		at->ds = op->shm.ds;
		fuse_reply_ioctl(req, 0, at, sizeof(*at));
	} else if (op->shm.cmd == DIPC_SHM_CMD_DETACH) {
		if (op->shm.destroyed)
			shmglue_segment_gone(n, op->id);
		fuse_reply_ioctl(req, 0, NULL, 0);
	} else {
		struct dipc_ioc_shmctl *c = op->from.fuse.io_buf;
		c->ds = op->shm.ds;
		fuse_reply_ioctl(req, op->result, c, MIN(op->from.fuse.out_size, sizeof(*c)));
	}
	op_free(op);
}

static void shmfault_serve(dipc_ioc_call *call, fuse_req_t req)
{
	dipc_ident who;

	if (req_ident(call->node, req, &who) < 0) {
		fuse_reply_err(req, ESRCH);
		return;
	}
	shmglue_fault(call->node, req, who.pid, call->in);
}

static void shmwait_serve(dipc_ioc_call *call, fuse_req_t req)
{
	dipc_ident who;

	if (req_ident(call->node, req, &who) < 0) {
		fuse_reply_err(req, ESRCH);
		return;
	}
	shmglue_wait(call->node, req, who.pid, call->in);
}

const dipc_ioc_row dipc_ioc_shm_rows[] = {
	{ IOC_EXACT(DIPC_IOC_SHMCTL, struct dipc_ioc_shmctl), .flags = IOC_NO_INTR,
	  .decode = shmctl_decode, .done = shm_done, .start = shmctl_start },
	{ IOC_EXACT(DIPC_IOC_SHMAT, struct dipc_ioc_shmat), .flags = IOC_NO_INTR,
	  .decode = shmat_decode, .admit = attach_admit, .done = shm_done },
	{ IOC_EXACT(DIPC_IOC_SHMDT, struct dipc_ioc_shmat), .flags = IOC_NO_INTR,
	  .decode = shmat_decode, .admit = detach_admit, .done = shm_done },
	{ IOC_EXACT(DIPC_IOC_SHMFAULT, struct dipc_ioc_shmfault), .serve = shmfault_serve },
	{ IOC_EXACT(DIPC_IOC_SHMWAIT, struct dipc_ioc_shmwait), .serve = shmwait_serve },
};
const size_t dipc_ioc_shm_nrows = G_N_ELEMENTS(dipc_ioc_shm_rows);
