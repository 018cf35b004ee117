/* SPDX-License-Identifier: MIT */
/**
 * @file opwire.c
 *
 * The one place where a node's dipc_op meets the wire: an op becomes a
 * request envelope for the owner, a request envelope from a peer becomes an
 * op, and the owner's results travel back.  Everything else in fs/ works on
 * dipc_op only.
 *
 * One codec per op type (the table at the end): its request and reply body
 * cases and four functions, encode and decode of each direction.  Adding an
 * op type is adding one row and its functions; the generic part (caller
 * identity, errors, body-case checks) is written once, in opwire_request,
 * opwire_parse_request, opwire_reply and opwire_apply_reply.  Decoders
 * check every bound a peer could abuse before anything is allocated.
 *
 * Envelopes built here hang off one opwire_msg allocation (sub-messages and
 * arrays included) so that one opwire_msg_free() releases all of it.
 */
#include <errno.h>
#include <string.h>

#include "opwire.h"

/* The ipc_perm part of SemidDs, MsqidDs and ShmidDs: the same fields in all
 * three wire messages and in struct dipc_ipc_perm. */
#define PERM_TO_PB(pb, p) \
	do { \
		(pb)->key = (p).key; \
		(pb)->uid = (p).uid; \
		(pb)->gid = (p).gid; \
		(pb)->cuid = (p).cuid; \
		(pb)->cgid = (p).cgid; \
		(pb)->mode = (p).mode; \
		(pb)->seq = (p).seq; \
	} while (0)
#define PERM_FROM_PB(p, pb) \
	do { \
		(p)->key = (pb)->key; \
		(p)->uid = (pb)->uid; \
		(p)->gid = (pb)->gid; \
		(p)->cuid = (pb)->cuid; \
		(p)->cgid = (pb)->cgid; \
		(p)->mode = (pb)->mode; \
		(p)->seq = (pb)->seq; \
	} while (0)

struct opwire_msg {
	Dipc__Envelope env;
	Dipc__Ident caller;
	uint32_t groups[DIPC_MAX_GROUPS];
	union {
		Dipc__ObjGet obj_get;
		Dipc__ObjGetReply obj_get_reply;
		Dipc__SemOp sem_op;
		Dipc__SemCtl sem_ctl;
		Dipc__SemCtlReply sem_ctl_reply;
		Dipc__StatusText status_text;
		Dipc__StatusTextReply status_text_reply;
		Dipc__MsgSnd msg_snd;
		Dipc__MsgRcv msg_rcv;
		Dipc__MsgRcvReply msg_rcv_reply;
		Dipc__MsgRequeue msg_requeue;
		Dipc__MsgCtl msg_ctl;
		Dipc__MsgCtlReply msg_ctl_reply;
		Dipc__ShmCtl shm_ctl;
		Dipc__ShmCtlReply shm_ctl_reply;
		Dipc__Lookup lookup;
		Dipc__Commit commit;
		Dipc__Abort abort;
		Dipc__Removed removed;
		Dipc__Resolve resolve;
		Dipc__ListObjects list_objects;
		Dipc__Cancel cancel;
		Dipc__ProcExit proc_exit;
	};
	Dipc__ShmidDs sds;
	Dipc__SemidDs ds;
	Dipc__MsqidDs mds;
	uint32_t *u32a;
	int32_t *i32a, *i32b;
};

Dipc__Envelope *opwire_env(opwire_msg *m)
{
	return &m->env;
}

void opwire_msg_free(opwire_msg *m)
{
	if (!m)
		return;
	g_free(m->u32a);
	g_free(m->i32a);
	g_free(m->i32b);
	g_free(m);
}

void ident_to_pb(const dipc_ident *who, Dipc__Ident *pb)
{
	/* pb->groups must point at storage for who->ngroups entries */
	pb->node = (char *)who->node;
	pb->pid = who->pid;
	pb->uid = who->uid;
	pb->gid = who->gid;
	pb->n_groups = who->ngroups;
	for (unsigned i = 0; i < who->ngroups; i++)
		pb->groups[i] = who->groups[i];
	pb->user = (char *)who->user;
	pb->caps = who->caps;
}

void ident_from_pb(const Dipc__Ident *pb, dipc_ident *who)
{
	memset(who, 0, sizeof(*who));
	if (!pb)
		return;
	g_strlcpy(who->node, pb->node ? pb->node : "", sizeof(who->node));
	g_strlcpy(who->user, pb->user ? pb->user : "", sizeof(who->user));
	who->pid = pb->pid;
	who->uid = pb->uid;
	who->gid = pb->gid;
	who->caps = pb->caps;
	who->ngroups = MIN(pb->n_groups, (size_t)DIPC_MAX_GROUPS);
	for (unsigned i = 0; i < who->ngroups; i++)
		who->groups[i] = pb->groups[i];
}

static opwire_msg *msg_new(const dipc_ident *who)
{
	opwire_msg *m = g_new0(opwire_msg, 1);
	Dipc__Envelope e = DIPC__ENVELOPE__INIT;
	Dipc__Ident id = DIPC__IDENT__INIT;

	m->env = e;
	m->caller = id;
	if (who) {
		m->caller.groups = m->groups;
		ident_to_pb(who, &m->caller);
		m->env.caller = &m->caller;
	}
	return m;
}

/* ---- requests ------------------------------------------------------------ */

static void shmctl_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__ShmCtl c = DIPC__SHM_CTL__INIT;
	m->shm_ctl = c;
	m->shm_ctl.id = op->id;
	m->shm_ctl.cmd = op->shm.cmd;
	m->shm_ctl.set_uid = op->shm.set_uid;
	m->shm_ctl.set_gid = op->shm.set_gid;
	m->shm_ctl.set_mode = op->shm.set_mode;
	m->shm_ctl.flags = op->shm.flags;
	m->shm_ctl.count = op->shm.count;
	m->shm_ctl.fork = op->shm.fork;
	m->env.shm_ctl = &m->shm_ctl;
}

static int shmctl_dec(const Dipc__Envelope *env, dipc_op *op)
{
	const Dipc__ShmCtl *c = env->shm_ctl;
	op->id = c->id;
	op->shm.cmd = c->cmd;
	op->shm.set_uid = c->set_uid;
	op->shm.set_gid = c->set_gid;
	op->shm.set_mode = c->set_mode;
	op->shm.flags = c->flags;
	op->shm.count = c->count;
	op->shm.fork = c->fork;
	return 0;
}

static void get_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__ObjGet g = DIPC__OBJ_GET__INIT;
	m->obj_get = g;
	m->obj_get.id = op->id;
	m->obj_get.flags = op->get.flags;
	m->obj_get.size = op->get.size;
	m->obj_get.kind = op->get.kind;
	m->env.obj_get = &m->obj_get;
}

static int get_dec(const Dipc__Envelope *env, dipc_op *op)
{
	op->id = env->obj_get->id;
	op->get.flags = env->obj_get->flags;
	op->get.size = env->obj_get->size;
	op->get.kind = env->obj_get->kind;
	return 0;
}

static void semop_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__SemOp s = DIPC__SEM_OP__INIT;
	m->sem_op = s;
	m->sem_op.id = op->id;
	m->sem_op.timeout_ns = op->timeout_ns;
	m->u32a = g_new(uint32_t, MAX(op->sem.nsops, 1));
	m->i32a = g_new(int32_t, MAX(op->sem.nsops, 1));
	m->i32b = g_new(int32_t, MAX(op->sem.nsops, 1));
	for (unsigned i = 0; i < op->sem.nsops; i++) {
		m->u32a[i] = op->sem.sops[i].sem_num;
		m->i32a[i] = op->sem.sops[i].sem_op;
		m->i32b[i] = op->sem.sops[i].sem_flg;
	}
	m->sem_op.n_sem_num = m->sem_op.n_sem_op = m->sem_op.n_sem_flg = op->sem.nsops;
	m->sem_op.sem_num = m->u32a;
	m->sem_op.sem_op = m->i32a;
	m->sem_op.sem_flg = m->i32b;
	m->env.sem_op = &m->sem_op;
}

static int semop_dec(const Dipc__Envelope *env, dipc_op *op)
{
	const Dipc__SemOp *s = env->sem_op;
	op->id = s->id;
	op->timeout_ns = s->timeout_ns;
	if (s->n_sem_num != s->n_sem_op || s->n_sem_num != s->n_sem_flg ||
	    s->n_sem_num > DIPC_SEMOPM_MAX)
		return -EINVAL;
	op->sem.nsops = s->n_sem_num;
	op->sem.sops = g_new(struct dipc_sembuf, MAX(op->sem.nsops, 1));
	for (unsigned i = 0; i < op->sem.nsops; i++) {
		op->sem.sops[i].sem_num = (uint16_t)MIN(s->sem_num[i], 0xffffu);
		op->sem.sops[i].sem_op = (int16_t)CLAMP(s->sem_op[i], INT16_MIN, INT16_MAX);
		op->sem.sops[i].sem_flg = (int16_t)s->sem_flg[i];
	}
	return 0;
}

/* OP_SEMCTL and OP_SEMARRAY share one wire message: GETALL/SETALL are arrays. */
static void semctl_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__SemCtl s = DIPC__SEM_CTL__INIT;
	m->sem_ctl = s;
	m->sem_ctl.id = op->id;
	m->sem_ctl.semnum = op->sem.semnum;
	m->sem_ctl.cmd = op->sem.cmd;
	m->sem_ctl.val = op->sem.val;
	m->sem_ctl.set_uid = op->sem.set_uid;
	m->sem_ctl.set_gid = op->sem.set_gid;
	m->sem_ctl.set_mode = op->sem.set_mode;
	if (op->type == OP_SEMARRAY && op->sem.cmd == SETALL) {
		m->u32a = g_new(uint32_t, MAX(op->sem.nvals, 1));
		for (unsigned i = 0; i < op->sem.nvals; i++)
			m->u32a[i] = op->sem.vals[i];
		m->sem_ctl.n_vals = op->sem.nvals;
		m->sem_ctl.vals = m->u32a;
	}
	m->env.sem_ctl = &m->sem_ctl;
}

static int semctl_dec(const Dipc__Envelope *env, dipc_op *op)
{
	const Dipc__SemCtl *s = env->sem_ctl;
	op->type = (s->cmd == GETALL || s->cmd == SETALL) ? OP_SEMARRAY : OP_SEMCTL;
	op->id = s->id;
	op->sem.semnum = s->semnum;
	op->sem.cmd = s->cmd;
	op->sem.val = s->val;
	op->sem.set_uid = s->set_uid;
	op->sem.set_gid = s->set_gid;
	op->sem.set_mode = s->set_mode;
	if (s->n_vals > DIPC_SEMMSL_MAX)
		return -EINVAL;
	if (op->type == OP_SEMARRAY) {
		op->sem.nvals = op->sem.cmd == SETALL ? s->n_vals : DIPC_SEMMSL_MAX;
		op->sem.vals = g_new0(uint16_t, MAX(op->sem.nvals, 1));
		if (op->sem.cmd == SETALL)
			for (unsigned i = 0; i < op->sem.nvals; i++)
				op->sem.vals[i] = (uint16_t)MIN(s->vals[i], 0xffffu);
	}
	return 0;
}

static void msgsnd_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__MsgSnd s = DIPC__MSG_SND__INIT;
	m->msg_snd = s;
	m->msg_snd.id = op->id;
	m->msg_snd.mtype = op->msg.m->mtype;
	m->msg_snd.text.len = op->msg.m->size;
	m->msg_snd.text.data = (uint8_t *)op->msg.m->data;
	m->msg_snd.flags = op->msg.flags;
	m->env.msg_snd = &m->msg_snd;
}

static int msgsnd_dec(const Dipc__Envelope *env, dipc_op *op)
{
	op->id = env->msg_snd->id;
	op->msg.flags = env->msg_snd->flags;
	if (env->msg_snd->text.len > DIPC_MSGMAX_MAX)
		return -EINVAL;
	op->msg.m = dipc_msg_new(env->msg_snd->mtype, env->msg_snd->text.data,
			       env->msg_snd->text.len);
	return 0;
}

static void msgrcv_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__MsgRcv s = DIPC__MSG_RCV__INIT;
	m->msg_rcv = s;
	m->msg_rcv.id = op->id;
	m->msg_rcv.msgtyp = op->msg.msgtyp;
	m->msg_rcv.maxsize = op->msg.maxsize;
	m->msg_rcv.flags = op->msg.flags;
	m->env.msg_rcv = &m->msg_rcv;
}

static int msgrcv_dec(const Dipc__Envelope *env, dipc_op *op)
{
	op->id = env->msg_rcv->id;
	op->msg.msgtyp = env->msg_rcv->msgtyp;
	op->msg.maxsize = env->msg_rcv->maxsize;
	op->msg.flags = env->msg_rcv->flags;
	return 0;
}

static void requeue_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__MsgRequeue s = DIPC__MSG_REQUEUE__INIT;
	m->msg_requeue = s;
	m->msg_requeue.id = op->id;
	m->msg_requeue.mtype = op->msg.m->mtype;
	m->msg_requeue.text.len = op->msg.m->size;
	m->msg_requeue.text.data = (uint8_t *)op->msg.m->data;
	m->env.msg_requeue = &m->msg_requeue;
}

static int requeue_dec(const Dipc__Envelope *env, dipc_op *op)
{
	op->id = env->msg_requeue->id;
	if (env->msg_requeue->text.len > DIPC_MSGMAX_MAX)
		return -EINVAL;
	op->msg.m = dipc_msg_new(env->msg_requeue->mtype, env->msg_requeue->text.data,
			       env->msg_requeue->text.len);
	return 0;
}

static void msgctl_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__MsgCtl s = DIPC__MSG_CTL__INIT;
	m->msg_ctl = s;
	m->msg_ctl.id = op->id;
	m->msg_ctl.cmd = op->msg.cmd;
	m->msg_ctl.set_uid = op->msg.set_uid;
	m->msg_ctl.set_gid = op->msg.set_gid;
	m->msg_ctl.set_mode = op->msg.set_mode;
	m->msg_ctl.set_qbytes = op->msg.set_qbytes;
	m->env.msg_ctl = &m->msg_ctl;
}

static int msgctl_dec(const Dipc__Envelope *env, dipc_op *op)
{
	op->id = env->msg_ctl->id;
	op->msg.cmd = env->msg_ctl->cmd;
	op->msg.set_uid = env->msg_ctl->set_uid;
	op->msg.set_gid = env->msg_ctl->set_gid;
	op->msg.set_mode = env->msg_ctl->set_mode;
	op->msg.set_qbytes = env->msg_ctl->set_qbytes;
	return 0;
}

static void status_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__StatusText s = DIPC__STATUS_TEXT__INIT;
	m->status_text = s;
	m->status_text.id = op->id;
	m->status_text.attrs_only = op->st.attrs_only;
	m->env.status_text = &m->status_text;
}

static int status_dec(const Dipc__Envelope *env, dipc_op *op)
{
	op->id = env->status_text->id;
	op->st.attrs_only = env->status_text->attrs_only;
	return 0;
}

/* ---- replies ------------------------------------------------------------- */

static void shmctl_rep_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__ShmCtlReply r = DIPC__SHM_CTL_REPLY__INIT;
	Dipc__ShmidDs d = DIPC__SHMID_DS__INIT;
	const struct dipc_shmid_ds *x = &op->shm.ds;
	m->shm_ctl_reply = r;
	m->sds = d;
	PERM_TO_PB(&m->sds, x->perm);
	m->sds.segsz = x->segsz;
	m->sds.atime = x->atime;
	m->sds.dtime = x->dtime;
	m->sds.ctime = x->ctime;
	m->sds.cpid = x->cpid;
	m->sds.lpid = x->lpid;
	m->sds.nattch = x->nattch;
	m->shm_ctl_reply.result = op->result;
	m->shm_ctl_reply.ds = &m->sds;
	m->shm_ctl_reply.destroyed = op->shm.destroyed;
	m->env.shm_ctl_reply = &m->shm_ctl_reply;
}

static int shmctl_rep_dec(dipc_op *op, const Dipc__Envelope *r)
{
	const Dipc__ShmidDs *d = r->shm_ctl_reply->ds;
	memset(&op->shm.ds, 0, sizeof(op->shm.ds));
	if (d) {
		PERM_FROM_PB(&op->shm.ds.perm, d);
		op->shm.ds.segsz = d->segsz;
		op->shm.ds.atime = d->atime;
		op->shm.ds.dtime = d->dtime;
		op->shm.ds.ctime = d->ctime;
		op->shm.ds.cpid = d->cpid;
		op->shm.ds.lpid = d->lpid;
		op->shm.ds.nattch = d->nattch;
	}
	op->shm.destroyed = r->shm_ctl_reply->destroyed;
	return r->shm_ctl_reply->result;
}

static void get_rep_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__ObjGetReply r = DIPC__OBJ_GET_REPLY__INIT;
	m->obj_get_reply = r;
	m->obj_get_reply.id = op->result;
	m->env.obj_get_reply = &m->obj_get_reply;
}

static int get_rep_dec(dipc_op *op, const Dipc__Envelope *r)
{
	return r->obj_get_reply->id;
}

static void ds_to_pb(const struct dipc_semid_ds *ds, Dipc__SemidDs *pb)
{
	Dipc__SemidDs init = DIPC__SEMID_DS__INIT;
	*pb = init;
	PERM_TO_PB(pb, ds->perm);
	pb->otime = ds->otime;
	pb->ctime = ds->ctime;
	pb->nsems = ds->nsems;
}

static void ds_from_pb(const Dipc__SemidDs *pb, struct dipc_semid_ds *ds)
{
	memset(ds, 0, sizeof(*ds));
	if (!pb)
		return;
	PERM_FROM_PB(&ds->perm, pb);
	ds->otime = pb->otime;
	ds->ctime = pb->ctime;
	ds->nsems = pb->nsems;
}

static void semctl_rep_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__SemCtlReply r = DIPC__SEM_CTL_REPLY__INIT;
	m->sem_ctl_reply = r;
	m->sem_ctl_reply.result = op->result;
	ds_to_pb(&op->sem.ds, &m->ds);
	m->sem_ctl_reply.ds = &m->ds;
	if (op->type == OP_SEMARRAY && op->sem.cmd == GETALL) {
		m->u32a = g_new(uint32_t, MAX(op->sem.nvals, 1));
		for (unsigned i = 0; i < op->sem.nvals; i++)
			m->u32a[i] = op->sem.vals[i];
		m->sem_ctl_reply.n_vals = op->sem.nvals;
		m->sem_ctl_reply.vals = m->u32a;
	}
	m->env.sem_ctl_reply = &m->sem_ctl_reply;
}

static int semctl_rep_dec(dipc_op *op, const Dipc__Envelope *r)
{
	const Dipc__SemCtlReply *s = r->sem_ctl_reply;
	ds_from_pb(s->ds, &op->sem.ds);
	if (op->type == OP_SEMARRAY && op->sem.cmd == GETALL) {
		if (s->n_vals > op->sem.nvals)
			return -EPROTO;
		for (unsigned i = 0; i < s->n_vals; i++)
			op->sem.vals[i] = (uint16_t)s->vals[i];
		op->sem.nvals = s->n_vals;
	}
	return s->result;
}

static void msgrcv_rep_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__MsgRcvReply r = DIPC__MSG_RCV_REPLY__INIT;
	m->msg_rcv_reply = r;
	m->msg_rcv_reply.mtype = op->msg.m->mtype;
	m->msg_rcv_reply.text.len = op->msg.m->size;
	m->msg_rcv_reply.text.data = (uint8_t *)op->msg.m->data;
	m->msg_rcv_reply.delivered = (uint64_t)op->result;
	m->env.msg_rcv_reply = &m->msg_rcv_reply;
}

static int msgrcv_rep_dec(dipc_op *op, const Dipc__Envelope *r)
{
	const Dipc__MsgRcvReply *s = r->msg_rcv_reply;
	if (s->text.len > DIPC_MSGMAX_MAX || s->delivered > s->text.len)
		return -EPROTO;
	dipc_msg_free(op->msg.m);
	op->msg.m = dipc_msg_new(s->mtype, s->text.data, s->text.len);
	op->msg.mtype = s->mtype;
	return (int)s->delivered;
}

static void msgctl_rep_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__MsgCtlReply r = DIPC__MSG_CTL_REPLY__INIT;
	Dipc__MsqidDs d = DIPC__MSQID_DS__INIT;
	m->msg_ctl_reply = r;
	m->mds = d;
	m->msg_ctl_reply.result = op->result;
	PERM_TO_PB(&m->mds, op->msg.ds.perm);
	m->mds.stime = op->msg.ds.stime;
	m->mds.rtime = op->msg.ds.rtime;
	m->mds.ctime = op->msg.ds.ctime;
	m->mds.cbytes = op->msg.ds.cbytes;
	m->mds.qnum = op->msg.ds.qnum;
	m->mds.qbytes = op->msg.ds.qbytes;
	m->mds.lspid = op->msg.ds.lspid;
	m->mds.lrpid = op->msg.ds.lrpid;
	m->msg_ctl_reply.ds = &m->mds;
	m->env.msg_ctl_reply = &m->msg_ctl_reply;
}

static int msgctl_rep_dec(dipc_op *op, const Dipc__Envelope *r)
{
	const Dipc__MsqidDs *d = r->msg_ctl_reply->ds;
	memset(&op->msg.ds, 0, sizeof(op->msg.ds));
	if (d) {
		PERM_FROM_PB(&op->msg.ds.perm, d);
		op->msg.ds.stime = d->stime;
		op->msg.ds.rtime = d->rtime;
		op->msg.ds.ctime = d->ctime;
		op->msg.ds.cbytes = d->cbytes;
		op->msg.ds.qnum = d->qnum;
		op->msg.ds.qbytes = d->qbytes;
		op->msg.ds.lspid = d->lspid;
		op->msg.ds.lrpid = d->lrpid;
	}
	return r->msg_ctl_reply->result;
}

static void status_rep_enc(const dipc_op *op, opwire_msg *m)
{
	Dipc__StatusTextReply r = DIPC__STATUS_TEXT_REPLY__INIT;
	m->status_text_reply = r;
	m->status_text_reply.text = op->st.text ? op->st.text : "";
	m->status_text_reply.uid = op->st.uid;
	m->status_text_reply.gid = op->st.gid;
	m->status_text_reply.mode = op->st.mode;
	m->status_text_reply.size = op->st.size;
	m->env.status_text_reply = &m->status_text_reply;
}

static int status_rep_dec(dipc_op *op, const Dipc__Envelope *r)
{
	const Dipc__StatusTextReply *s = r->status_text_reply;
	g_free(op->st.text);
	op->st.text = g_strdup(s->text ? s->text : "");
	op->st.uid = s->uid;
	op->st.gid = s->gid;
	op->st.mode = s->mode;
	op->st.size = s->size;
	return 0;
}

/* ---- the table ----------------------------------------------------------- */

#define B(x) DIPC__ENVELOPE__BODY_##x

/* Reply body case 0: success carries no body (the op's result is 0). */
static const opwire_codec codecs[] = {
	[OP_GET] = { "GET", B(OBJ_GET), B(OBJ_GET_REPLY),
		     get_enc, get_dec, get_rep_enc, get_rep_dec },
	[OP_SEMOP] = { "SEMOP", B(SEM_OP), 0, semop_enc, semop_dec, NULL, NULL },
	[OP_SEMCTL] = { "SEMCTL", B(SEM_CTL), B(SEM_CTL_REPLY),
			semctl_enc, semctl_dec, semctl_rep_enc, semctl_rep_dec },
	[OP_SEMARRAY] = { "SEMARRAY", B(SEM_CTL), B(SEM_CTL_REPLY),
			  semctl_enc, semctl_dec, semctl_rep_enc, semctl_rep_dec },
	[OP_STATUS] = { "STATUS", B(STATUS_TEXT), B(STATUS_TEXT_REPLY),
			status_enc, status_dec, status_rep_enc, status_rep_dec },
	[OP_MSGSND] = { "MSGSND", B(MSG_SND), 0, msgsnd_enc, msgsnd_dec, NULL, NULL },
	[OP_MSGRCV] = { "MSGRCV", B(MSG_RCV), B(MSG_RCV_REPLY),
			msgrcv_enc, msgrcv_dec, msgrcv_rep_enc, msgrcv_rep_dec },
	[OP_MSGCTL] = { "MSGCTL", B(MSG_CTL), B(MSG_CTL_REPLY),
			msgctl_enc, msgctl_dec, msgctl_rep_enc, msgctl_rep_dec },
	[OP_MSGREQUEUE] = { "MSGREQUEUE", B(MSG_REQUEUE), 0,
			    requeue_enc, requeue_dec, NULL, NULL },
	[OP_SHMCTL] = { "SHMCTL", B(SHM_CTL), B(SHM_CTL_REPLY),
			shmctl_enc, shmctl_dec, shmctl_rep_enc, shmctl_rep_dec },
};

#undef B

const opwire_codec *opwire_codec_of(enum dipc_op_type type)
{
	if ((size_t)type >= G_N_ELEMENTS(codecs) || !codecs[type].name)
		return NULL;
	return &codecs[type];
}

/* The op type a request body starts as (its decoder may refine it). */
static enum dipc_op_type type_of_request(Dipc__Envelope__BodyCase body)
{
	for (size_t t = 0; t < G_N_ELEMENTS(codecs); t++)
		if (codecs[t].name && codecs[t].req_case == body)
			return (enum dipc_op_type)t;
	return 0;
}

/* ---- the generic part ---------------------------------------------------- */

opwire_msg *opwire_request(const dipc_op *op)
{
	const opwire_codec *c = opwire_codec_of(op->type);
	opwire_msg *m = msg_new(&op->who);

	g_assert(c);   /* every op type has a row: a missing one is a build bug */
	m->env.body_case = c->req_case;
	c->encode_req(op, m);
	return m;
}

int opwire_parse_request(const Dipc__Envelope *env, dipc_op *op)
{
	enum dipc_op_type t = type_of_request(env->body_case);

	ident_from_pb(env->caller, &op->who);
	if (!t)
		return -EPROTO;
	op->type = t;
	return codecs[t].decode_req(env, op);
}

/* The reply to a request: err carries -result when it failed. */
opwire_msg *opwire_reply(const dipc_op *op)
{
	const opwire_codec *c = opwire_codec_of(op->type);
	opwire_msg *m = msg_new(NULL);

	if (op->result < 0) {
		m->env.err = op->result;
		return m;
	}
	if (c && c->encode_rep) {
		m->env.body_case = c->rep_case;
		c->encode_rep(op, m);
	}
	return m;
}

/* Fill op's results from the owner's reply; returns the op's result. */
int opwire_apply_reply(dipc_op *op, const Dipc__Envelope *r)
{
	const opwire_codec *c = opwire_codec_of(op->type);

	if (r->err)
		return r->err;
	if (!c)
		return -EPROTO;
	if (!c->decode_rep)
		return 0;
	if (r->body_case != c->rep_case)
		return -EPROTO;
	return c->decode_rep(op, r);
}

/* ---- the node's other messages: to the referee, and to peers ------------ */

opwire_msg *opwire_lookup(int32_t kind, int32_t key)
{
	opwire_msg *m = msg_new(NULL);
	m->lookup = (Dipc__Lookup)DIPC__LOOKUP__INIT;
	m->lookup.kind = kind;
	m->lookup.key = key;
	m->env.body_case = DIPC__ENVELOPE__BODY_LOOKUP;
	m->env.lookup = &m->lookup;
	return m;
}

opwire_msg *opwire_commit(int32_t kind, int32_t key, int32_t id, bool rejoin)
{
	opwire_msg *m = msg_new(NULL);
	m->commit = (Dipc__Commit)DIPC__COMMIT__INIT;
	m->commit.kind = kind;
	m->commit.key = key;
	m->commit.id = id;
	m->commit.rejoin = rejoin;
	m->env.body_case = DIPC__ENVELOPE__BODY_COMMIT;
	m->env.commit = &m->commit;
	return m;
}

opwire_msg *opwire_rejoin_done(char **alive_peers, size_t n_alive)
{
	opwire_msg *m = opwire_commit(0, 0, 0, true);
	m->commit.n_alive_peers = n_alive;
	m->commit.alive_peers = alive_peers;   /* the caller's, alive until sent */
	return m;
}

opwire_msg *opwire_abort(int32_t kind, int32_t key)
{
	opwire_msg *m = msg_new(NULL);
	m->abort = (Dipc__Abort)DIPC__ABORT__INIT;
	m->abort.kind = kind;
	m->abort.key = key;
	m->env.body_case = DIPC__ENVELOPE__BODY_ABORT;
	m->env.abort = &m->abort;
	return m;
}

opwire_msg *opwire_removed(int32_t id, bool unkey)
{
	opwire_msg *m = msg_new(NULL);
	m->removed = (Dipc__Removed)DIPC__REMOVED__INIT;
	m->removed.id = id;
	m->removed.unkey = unkey;
	m->env.body_case = DIPC__ENVELOPE__BODY_REMOVED;
	m->env.removed = &m->removed;
	return m;
}

opwire_msg *opwire_resolve(int32_t id)
{
	opwire_msg *m = msg_new(NULL);
	m->resolve = (Dipc__Resolve)DIPC__RESOLVE__INIT;
	m->resolve.id = id;
	m->env.body_case = DIPC__ENVELOPE__BODY_RESOLVE;
	m->env.resolve = &m->resolve;
	return m;
}

opwire_msg *opwire_list_objects(int32_t kind, int32_t key, int32_t id)
{
	opwire_msg *m = msg_new(NULL);
	m->list_objects = (Dipc__ListObjects)DIPC__LIST_OBJECTS__INIT;
	m->list_objects.kind = kind;
	m->list_objects.key = key;
	m->list_objects.id = id;
	m->env.body_case = DIPC__ENVELOPE__BODY_LIST_OBJECTS;
	m->env.list_objects = &m->list_objects;
	return m;
}

opwire_msg *opwire_cancel(uint64_t target)
{
	opwire_msg *m = msg_new(NULL);
	m->cancel = (Dipc__Cancel)DIPC__CANCEL__INIT;
	m->cancel.target = target;
	m->env.body_case = DIPC__ENVELOPE__BODY_CANCEL;
	m->env.cancel = &m->cancel;
	return m;
}

opwire_msg *opwire_proc_exit(int32_t pid)
{
	opwire_msg *m = msg_new(NULL);
	m->proc_exit = (Dipc__ProcExit)DIPC__PROC_EXIT__INIT;
	m->proc_exit.pid = pid;
	m->env.body_case = DIPC__ENVELOPE__BODY_PROC_EXIT;
	m->env.proc_exit = &m->proc_exit;
	return m;
}
