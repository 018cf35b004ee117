/* SPDX-License-Identifier: MIT */
/**
 * @file test_opwire.c
 *
 * The op codec (fs/opwire.c): for every op type, a request travels from the
 * caller's node to the owner and its results travel back, through real
 * protobuf packing, and every field arrives; errors travel as errors; and a
 * peer's hostile requests and replies (arrays of mismatched lengths, more
 * sembufs or semaphores than any set may have, oversized texts, a reply of
 * the wrong kind, an unknown body) are refused with an errno, never a crash.
 */
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "opwire.h"

/* Pack and unpack, as the wire does. */
static Dipc__Envelope *through_wire(opwire_msg *m)
{
	Dipc__Envelope *env = opwire_env(m);
	size_t len = dipc__envelope__get_packed_size(env);
	g_autofree uint8_t *buf = g_malloc(MAX(len, 1));
	dipc__envelope__pack(env, buf);
	Dipc__Envelope *out = dipc__envelope__unpack(NULL, len, buf);
	g_assert_nonnull(out);
	return out;
}

static dipc_op *op_of(enum dipc_op_type type)
{
	dipc_op *op = g_new0(dipc_op, 1);
	op->type = type;
	op->timeout_ns = -1;
	g_strlcpy(op->who.node, "node2", sizeof(op->who.node));
	g_strlcpy(op->who.user, "alice", sizeof(op->who.user));
	op->who.pid = 4242;
	op->who.uid = 1000;
	op->who.gid = 100;
	op->who.ngroups = 2;
	op->who.groups[0] = 100;
	op->who.groups[1] = 27;
	op->who.caps = 0x5;
	op->id = 0x12347f10;
	return op;
}

static void op_drop(dipc_op *op)
{
	g_free(op->sops);
	g_free(op->vals);
	dipc_msg_free(op->msg);
	g_free(op->text);
	g_free(op);
}

/* The request at the owner: a fresh op parsed from the wire. */
static dipc_op *at_owner(const dipc_op *op, int expect)
{
	g_autoptr(opwire_msg) m = opwire_request(op);
	Dipc__Envelope *env = through_wire(m);
	dipc_op *got = g_new0(dipc_op, 1);
	g_assert_cmpint(opwire_parse_request(env, got), ==, expect);
	dipc__envelope__free_unpacked(env, NULL);
	if (expect == 0) {
		g_assert_cmpint(got->type, ==, op->type);
		g_assert_cmpint(got->id, ==, op->id);
		g_assert_cmpstr(got->who.node, ==, "node2");
		g_assert_cmpstr(got->who.user, ==, "alice");
		g_assert_cmpint(got->who.pid, ==, 4242);
		g_assert_cmpuint(got->who.uid, ==, 1000);
		g_assert_cmpuint(got->who.ngroups, ==, 2);
		g_assert_cmpuint(got->who.groups[1], ==, 27);
		g_assert_cmpuint(got->who.caps, ==, 0x5);
	}
	return got;
}

/* The owner's results at the caller: applied to the caller's op. */
static int back_at_caller(const dipc_op *owner, dipc_op *caller)
{
	g_autoptr(opwire_msg) m = opwire_reply(owner);
	Dipc__Envelope *env = through_wire(m);
	int r = opwire_apply_reply(caller, env);
	dipc__envelope__free_unpacked(env, NULL);
	return r;
}

static void test_get(void)
{
	dipc_op *op = op_of(OP_GET);
	op->flags = IPC_CREAT | 0640;
	op->size = 1u << 20;
	op->kind = DIPC_KIND_SHM;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->flags, ==, IPC_CREAT | 0640);
	g_assert_cmpuint(o->size, ==, 1u << 20);
	g_assert_cmpint(o->kind, ==, DIPC_KIND_SHM);
	o->result = op->id;
	g_assert_cmpint(back_at_caller(o, op), ==, op->id);
	op_drop(o);
	op_drop(op);
}

static void test_semop(void)
{
	dipc_op *op = op_of(OP_SEMOP);
	op->nsops = 3;
	op->sops = g_new0(struct dipc_sembuf, 3);
	op->sops[0] = (struct dipc_sembuf){ 0, -1, SEM_UNDO };
	op->sops[1] = (struct dipc_sembuf){ 7, 5, IPC_NOWAIT };
	op->sops[2] = (struct dipc_sembuf){ 65535, -32768, 0 };
	op->timeout_ns = 1500000000;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpuint(o->nsops, ==, 3);
	g_assert_cmpint(o->timeout_ns, ==, 1500000000);
	g_assert_cmpmem(o->sops, 3 * sizeof(*o->sops), op->sops, 3 * sizeof(*op->sops));
	o->result = 0;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	o->result = -EAGAIN;
	g_assert_cmpint(back_at_caller(o, op), ==, -EAGAIN);
	op_drop(o);
	op_drop(op);
}

static void test_semctl(void)
{
	dipc_op *op = op_of(OP_SEMCTL);
	op->cmd = IPC_SET;
	op->semnum = 3;
	op->val = 77;
	op->set_uid = 5;
	op->set_gid = 6;
	op->set_mode = 0604;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->cmd, ==, IPC_SET);
	g_assert_cmpint(o->semnum, ==, 3);
	g_assert_cmpint(o->val, ==, 77);
	g_assert_cmpuint(o->set_uid, ==, 5);
	g_assert_cmpuint(o->set_gid, ==, 6);
	g_assert_cmpuint(o->set_mode, ==, 0604);
	o->result = 9;
	o->ds.perm.key = 0x162e;
	o->ds.perm.uid = 1;
	o->ds.perm.cuid = 2;
	o->ds.perm.mode = 0600;
	o->ds.otime = 123456789;
	o->ds.ctime = 987654321;
	o->ds.nsems = 4;
	g_assert_cmpint(back_at_caller(o, op), ==, 9);
	g_assert_cmpmem(&op->ds, sizeof(op->ds), &o->ds, sizeof(o->ds));
	op_drop(o);
	op_drop(op);
}

static void test_semarray(void)
{
	dipc_op *op = op_of(OP_SEMARRAY);
	op->cmd = SETALL;
	op->nvals = 4;
	op->vals = g_new0(uint16_t, 4);
	for (unsigned i = 0; i < 4; i++)
		op->vals[i] = (uint16_t)(i * 1000 + 1);
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->type, ==, OP_SEMARRAY);
	g_assert_cmpuint(o->nvals, ==, 4);
	g_assert_cmpmem(o->vals, 8, op->vals, 8);
	op_drop(o);

	/* GETALL: the owner's values come back into the caller's array. */
	op->cmd = GETALL;
	g_free(op->vals);
	op->nvals = DIPC_SEMMSL_MAX;
	op->vals = g_new0(uint16_t, op->nvals);
	o = at_owner(op, 0);
	g_assert_cmpint(o->type, ==, OP_SEMARRAY);
	o->nvals = 3;
	o->vals[0] = 1;
	o->vals[1] = 65535;
	o->vals[2] = 3;
	o->result = 0;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	g_assert_cmpuint(op->nvals, ==, 3);
	g_assert_cmpuint(op->vals[1], ==, 65535);

	/* More values than the caller has room for: refused. */
	op->nvals = 2;
	g_assert_cmpint(back_at_caller(o, op), ==, -EPROTO);
	op_drop(o);
	op_drop(op);
}

static void test_msg(void)
{
	dipc_op *op = op_of(OP_MSGSND);
	op->msg = dipc_msg_new(42, "hello", 5);
	op->msgflg = IPC_NOWAIT;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->msg->mtype, ==, 42);
	g_assert_cmpuint(o->msg->size, ==, 5);
	g_assert_cmpmem(o->msg->data, 5, "hello", 5);
	g_assert_cmpint(o->msgflg, ==, IPC_NOWAIT);
	o->result = 0;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	op_drop(o);
	op_drop(op);

	op = op_of(OP_MSGRCV);
	op->msgtyp = -7;
	op->maxsize = 3;
	op->msgflg = MSG_NOERROR | MSG_EXCEPT;
	o = at_owner(op, 0);
	g_assert_cmpint(o->msgtyp, ==, -7);
	g_assert_cmpuint(o->maxsize, ==, 3);
	g_assert_cmpint(o->msgflg, ==, MSG_NOERROR | MSG_EXCEPT);
	/* The whole message travels even when MSG_NOERROR truncates it. */
	o->msg = dipc_msg_new(6, "abcdef", 6);
	o->result = 3;
	g_assert_cmpint(back_at_caller(o, op), ==, 3);
	g_assert_cmpint(op->mtype, ==, 6);
	g_assert_cmpuint(op->msg->size, ==, 6);
	g_assert_cmpmem(op->msg->data, 6, "abcdef", 6);
	op_drop(o);
	op_drop(op);

	op = op_of(OP_MSGREQUEUE);
	op->msg = dipc_msg_new(9, "xyz", 3);
	o = at_owner(op, 0);
	g_assert_cmpint(o->msg->mtype, ==, 9);
	g_assert_cmpmem(o->msg->data, 3, "xyz", 3);
	op_drop(o);
	op_drop(op);

	op = op_of(OP_MSGCTL);
	op->cmd = IPC_SET;
	op->set_uid = 11;
	op->set_gid = 12;
	op->set_mode = 0660;
	op->set_qbytes = 65536;
	o = at_owner(op, 0);
	g_assert_cmpint(o->cmd, ==, IPC_SET);
	g_assert_cmpuint(o->set_qbytes, ==, 65536);
	g_assert_cmpuint(o->set_mode, ==, 0660);
	o->result = 0;
	o->mds.perm.key = 77;
	o->mds.perm.uid = 11;
	o->mds.stime = 1;
	o->mds.rtime = 2;
	o->mds.ctime = 3;
	o->mds.cbytes = 4;
	o->mds.qnum = 5;
	o->mds.qbytes = 6;
	o->mds.lspid = 7;
	o->mds.lrpid = 8;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	g_assert_cmpmem(&op->mds, sizeof(op->mds), &o->mds, sizeof(o->mds));
	op_drop(o);
	op_drop(op);
}

static void test_shmctl(void)
{
	dipc_op *op = op_of(OP_SHMCTL);
	op->cmd = IPC_STAT;
	op->flags = SHM_RDONLY;
	op->val = 3;
	op->fork = true;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->cmd, ==, IPC_STAT);
	g_assert_cmpint(o->flags, ==, SHM_RDONLY);
	g_assert_cmpint(o->val, ==, 3);
	g_assert_true(o->fork);
	o->result = 0;
	o->destroyed = true;
	o->sds.perm.key = 0x5a5a;
	o->sds.perm.mode = 01600;
	o->sds.segsz = 1u << 30;
	o->sds.atime = 10;
	o->sds.dtime = 11;
	o->sds.ctime = 12;
	o->sds.cpid = 13;
	o->sds.lpid = 14;
	o->sds.nattch = 15;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	g_assert_true(op->destroyed);
	g_assert_cmpmem(&op->sds, sizeof(op->sds), &o->sds, sizeof(o->sds));
	op_drop(o);
	op_drop(op);
}

static void test_status(void)
{
	dipc_op *op = op_of(OP_STATUS);
	dipc_op *o = at_owner(op, 0);
	o->text = g_strdup("key 0x162e\nvalues 1 2\n");
	o->st_uid = 1;
	o->st_gid = 2;
	o->st_mode = 0640;
	o->size = 99;
	o->result = 0;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	g_assert_cmpstr(op->text, ==, "key 0x162e\nvalues 1 2\n");
	g_assert_cmpuint(op->st_mode, ==, 0640);
	g_assert_cmpuint(op->size, ==, 99);
	op_drop(o);
	op_drop(op);
}

/* Every op type has a codec row, and failures travel as errors. */
static void test_every_type(void)
{
	for (int t = OP_GET; t <= OP_SHMCTL; t++) {
		const opwire_codec *c = opwire_codec_of(t);
		g_assert_nonnull(c);
		g_assert_nonnull(c->encode_req);
		g_assert_nonnull(c->decode_req);
		g_assert_true((c->encode_rep == NULL) == (c->decode_rep == NULL));
		dipc_op *op = op_of(t);
		if (t == OP_MSGSND || t == OP_MSGREQUEUE)
			op->msg = dipc_msg_new(1, "x", 1);
		if (t == OP_SEMARRAY) {
			op->cmd = GETALL;
			op->nvals = 1;
			op->vals = g_new0(uint16_t, 1);
		}
		dipc_op *o = at_owner(op, 0);
		o->result = -EACCES;
		g_assert_cmpint(back_at_caller(o, op), ==, -EACCES);
		op_drop(o);
		op_drop(op);
	}
	g_assert_null(opwire_codec_of(0));
	g_assert_null(opwire_codec_of(OP_SHMCTL + 1));
	g_assert_null(opwire_codec_of(-1));
}

/* ---- hostile peers --------------------------------------------------------- */

static int parse_env(Dipc__Envelope *env)
{
	dipc_op op = { 0 };
	int r = opwire_parse_request(env, &op);
	g_free(op.sops);
	g_free(op.vals);
	dipc_msg_free(op.msg);
	return r;
}

static void test_hostile_requests(void)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	uint32_t nums[2] = { 0, 1 };
	int32_t ops[3] = { 1, 1, 1 };

	/* no body, or a body that is not an op */
	g_assert_cmpint(parse_env(&env), ==, -EPROTO);
	Dipc__Ping ping = DIPC__PING__INIT;
	env.body_case = DIPC__ENVELOPE__BODY_PING;
	env.ping = &ping;
	g_assert_cmpint(parse_env(&env), ==, -EPROTO);

	/* a semop whose arrays disagree, or with more sembufs than allowed */
	Dipc__SemOp so = DIPC__SEM_OP__INIT;
	so.n_sem_num = 2;
	so.sem_num = nums;
	so.n_sem_op = 3;
	so.sem_op = ops;
	so.n_sem_flg = 3;
	so.sem_flg = ops;
	env.body_case = DIPC__ENVELOPE__BODY_SEM_OP;
	env.sem_op = &so;
	g_assert_cmpint(parse_env(&env), ==, -EINVAL);
	g_autofree uint32_t *big = g_new0(uint32_t, DIPC_SEMOPM_MAX + 1);
	g_autofree int32_t *bigi = g_new0(int32_t, DIPC_SEMOPM_MAX + 1);
	so.n_sem_num = so.n_sem_op = so.n_sem_flg = DIPC_SEMOPM_MAX + 1;
	so.sem_num = big;
	so.sem_op = so.sem_flg = bigi;
	g_assert_cmpint(parse_env(&env), ==, -EINVAL);
	so.n_sem_num = so.n_sem_op = so.n_sem_flg = DIPC_SEMOPM_MAX;
	g_assert_cmpint(parse_env(&env), ==, 0);

	/* SETALL with more values than a set may hold */
	Dipc__SemCtl sc = DIPC__SEM_CTL__INIT;
	g_autofree uint32_t *vals = g_new0(uint32_t, DIPC_SEMMSL_MAX + 1);
	sc.cmd = SETALL;
	sc.n_vals = DIPC_SEMMSL_MAX + 1;
	sc.vals = vals;
	env.body_case = DIPC__ENVELOPE__BODY_SEM_CTL;
	env.sem_ctl = &sc;
	g_assert_cmpint(parse_env(&env), ==, -EINVAL);

	/* a message text over the ceiling, sent or given back */
	Dipc__MsgSnd ms = DIPC__MSG_SND__INIT;
	ms.text.len = DIPC_MSGMAX_MAX + 1;
	ms.text.data = NULL;   /* the length is checked before the data is read */
	env.body_case = DIPC__ENVELOPE__BODY_MSG_SND;
	env.msg_snd = &ms;
	g_assert_cmpint(parse_env(&env), ==, -EINVAL);
	Dipc__MsgRequeue mq = DIPC__MSG_REQUEUE__INIT;
	mq.text.len = DIPC_MSGMAX_MAX + 1;
	env.body_case = DIPC__ENVELOPE__BODY_MSG_REQUEUE;
	env.msg_requeue = &mq;
	g_assert_cmpint(parse_env(&env), ==, -EINVAL);
}

static void test_hostile_replies(void)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	dipc_op *op = op_of(OP_MSGRCV);

	/* a reply of the wrong kind, or none where one is needed */
	g_assert_cmpint(opwire_apply_reply(op, &env), ==, -EPROTO);
	Dipc__ObjGetReply gr = DIPC__OBJ_GET_REPLY__INIT;
	env.body_case = DIPC__ENVELOPE__BODY_OBJ_GET_REPLY;
	env.obj_get_reply = &gr;
	g_assert_cmpint(opwire_apply_reply(op, &env), ==, -EPROTO);

	/* a received message that claims more delivered bytes than it has */
	Dipc__MsgRcvReply rr = DIPC__MSG_RCV_REPLY__INIT;
	rr.text.len = 2;
	rr.text.data = (uint8_t *)"ab";
	rr.delivered = 3;
	env.body_case = DIPC__ENVELOPE__BODY_MSG_RCV_REPLY;
	env.msg_rcv_reply = &rr;
	g_assert_cmpint(opwire_apply_reply(op, &env), ==, -EPROTO);
	rr.delivered = 2;
	g_assert_cmpint(opwire_apply_reply(op, &env), ==, 2);

	/* an error wins over any body */
	env.err = EIDRM;
	g_assert_cmpint(opwire_apply_reply(op, &env), ==, -EIDRM);
	op_drop(op);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/opwire/get", test_get);
	g_test_add_func("/opwire/semop", test_semop);
	g_test_add_func("/opwire/semctl", test_semctl);
	g_test_add_func("/opwire/semarray", test_semarray);
	g_test_add_func("/opwire/msg", test_msg);
	g_test_add_func("/opwire/shmctl", test_shmctl);
	g_test_add_func("/opwire/status", test_status);
	g_test_add_func("/opwire/every-type", test_every_type);
	g_test_add_func("/opwire/hostile-requests", test_hostile_requests);
	g_test_add_func("/opwire/hostile-replies", test_hostile_replies);
	return g_test_run();
}
