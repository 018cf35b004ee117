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

/* The daemon's own op_free: it frees the payload its type names. */
static void op_drop(dipc_op *op)
{
	op_free(op);
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
	op->get.flags = IPC_CREAT | 0640;
	op->get.size = 1u << 20;
	op->get.kind = DIPC_KIND_SHM;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->get.flags, ==, IPC_CREAT | 0640);
	g_assert_cmpuint(o->get.size, ==, 1u << 20);
	g_assert_cmpint(o->get.kind, ==, DIPC_KIND_SHM);
	o->result = op->id;
	g_assert_cmpint(back_at_caller(o, op), ==, op->id);
	op_drop(o);
	op_drop(op);
}

static void test_semop(void)
{
	dipc_op *op = op_of(OP_SEMOP);
	op->sem.nsops = 3;
	op->sem.sops = g_new0(struct dipc_sembuf, 3);
	op->sem.sops[0] = (struct dipc_sembuf){ 0, -1, SEM_UNDO };
	op->sem.sops[1] = (struct dipc_sembuf){ 7, 5, IPC_NOWAIT };
	op->sem.sops[2] = (struct dipc_sembuf){ 65535, -32768, 0 };
	op->timeout_ns = 1500000000;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpuint(o->sem.nsops, ==, 3);
	g_assert_cmpint(o->timeout_ns, ==, 1500000000);
	g_assert_cmpmem(o->sem.sops, 3 * sizeof(*o->sem.sops), op->sem.sops, 3 * sizeof(*op->sem.sops));
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
	op->sem.cmd = IPC_SET;
	op->sem.semnum = 3;
	op->sem.val = 77;
	op->sem.set_uid = 5;
	op->sem.set_gid = 6;
	op->sem.set_mode = 0604;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->sem.cmd, ==, IPC_SET);
	g_assert_cmpint(o->sem.semnum, ==, 3);
	g_assert_cmpint(o->sem.val, ==, 77);
	g_assert_cmpuint(o->sem.set_uid, ==, 5);
	g_assert_cmpuint(o->sem.set_gid, ==, 6);
	g_assert_cmpuint(o->sem.set_mode, ==, 0604);
	o->result = 9;
	o->sem.ds.perm.key = 0x162e;
	o->sem.ds.perm.uid = 1;
	o->sem.ds.perm.cuid = 2;
	o->sem.ds.perm.mode = 0600;
	o->sem.ds.otime = 123456789;
	o->sem.ds.ctime = 987654321;
	o->sem.ds.nsems = 4;
	g_assert_cmpint(back_at_caller(o, op), ==, 9);
	g_assert_cmpmem(&op->sem.ds, sizeof(op->sem.ds), &o->sem.ds, sizeof(o->sem.ds));
	op_drop(o);
	op_drop(op);
}

static void test_semarray(void)
{
	dipc_op *op = op_of(OP_SEMARRAY);
	op->sem.cmd = SETALL;
	op->sem.nvals = 4;
	op->sem.vals = g_new0(uint16_t, 4);
	for (unsigned i = 0; i < 4; i++)
		op->sem.vals[i] = (uint16_t)(i * 1000 + 1);
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->type, ==, OP_SEMARRAY);
	g_assert_cmpuint(o->sem.nvals, ==, 4);
	g_assert_cmpmem(o->sem.vals, 8, op->sem.vals, 8);
	op_drop(o);

	/* GETALL: the owner's values come back into the caller's array. */
	op->sem.cmd = GETALL;
	g_free(op->sem.vals);
	op->sem.nvals = DIPC_SEMMSL_MAX;
	op->sem.vals = g_new0(uint16_t, op->sem.nvals);
	o = at_owner(op, 0);
	g_assert_cmpint(o->type, ==, OP_SEMARRAY);
	o->sem.nvals = 3;
	o->sem.vals[0] = 1;
	o->sem.vals[1] = 65535;
	o->sem.vals[2] = 3;
	o->result = 0;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	g_assert_cmpuint(op->sem.nvals, ==, 3);
	g_assert_cmpuint(op->sem.vals[1], ==, 65535);

	/* More values than the caller has room for: refused. */
	op->sem.nvals = 2;
	g_assert_cmpint(back_at_caller(o, op), ==, -EPROTO);
	op_drop(o);
	op_drop(op);
}

static void test_msg(void)
{
	dipc_op *op = op_of(OP_MSGSND);
	op->msg.m = dipc_msg_new(42, "hello", 5);
	op->msg.flags = IPC_NOWAIT;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->msg.m->mtype, ==, 42);
	g_assert_cmpuint(o->msg.m->size, ==, 5);
	g_assert_cmpmem(o->msg.m->data, 5, "hello", 5);
	g_assert_cmpint(o->msg.flags, ==, IPC_NOWAIT);
	o->result = 0;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	op_drop(o);
	op_drop(op);

	op = op_of(OP_MSGRCV);
	op->msg.msgtyp = -7;
	op->msg.maxsize = 3;
	op->msg.flags = MSG_NOERROR | MSG_EXCEPT;
	o = at_owner(op, 0);
	g_assert_cmpint(o->msg.msgtyp, ==, -7);
	g_assert_cmpuint(o->msg.maxsize, ==, 3);
	g_assert_cmpint(o->msg.flags, ==, MSG_NOERROR | MSG_EXCEPT);
	/* The whole message travels even when MSG_NOERROR truncates it. */
	o->msg.m = dipc_msg_new(6, "abcdef", 6);
	o->result = 3;
	g_assert_cmpint(back_at_caller(o, op), ==, 3);
	g_assert_cmpint(op->msg.mtype, ==, 6);
	g_assert_cmpuint(op->msg.m->size, ==, 6);
	g_assert_cmpmem(op->msg.m->data, 6, "abcdef", 6);
	op_drop(o);
	op_drop(op);

	op = op_of(OP_MSGREQUEUE);
	op->msg.m = dipc_msg_new(9, "xyz", 3);
	o = at_owner(op, 0);
	g_assert_cmpint(o->msg.m->mtype, ==, 9);
	g_assert_cmpmem(o->msg.m->data, 3, "xyz", 3);
	op_drop(o);
	op_drop(op);

	op = op_of(OP_MSGCTL);
	op->msg.cmd = IPC_SET;
	op->msg.set_uid = 11;
	op->msg.set_gid = 12;
	op->msg.set_mode = 0660;
	op->msg.set_qbytes = 65536;
	o = at_owner(op, 0);
	g_assert_cmpint(o->msg.cmd, ==, IPC_SET);
	g_assert_cmpuint(o->msg.set_qbytes, ==, 65536);
	g_assert_cmpuint(o->msg.set_mode, ==, 0660);
	o->result = 0;
	o->msg.ds.perm.key = 77;
	o->msg.ds.perm.uid = 11;
	o->msg.ds.stime = 1;
	o->msg.ds.rtime = 2;
	o->msg.ds.ctime = 3;
	o->msg.ds.cbytes = 4;
	o->msg.ds.qnum = 5;
	o->msg.ds.qbytes = 6;
	o->msg.ds.lspid = 7;
	o->msg.ds.lrpid = 8;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	g_assert_cmpmem(&op->msg.ds, sizeof(op->msg.ds), &o->msg.ds, sizeof(o->msg.ds));
	op_drop(o);
	op_drop(op);
}

static void test_shmctl(void)
{
	dipc_op *op = op_of(OP_SHMCTL);
	op->shm.cmd = IPC_STAT;
	op->shm.flags = SHM_RDONLY;
	op->shm.count = 3;
	op->shm.fork = true;
	dipc_op *o = at_owner(op, 0);
	g_assert_cmpint(o->shm.cmd, ==, IPC_STAT);
	g_assert_cmpint(o->shm.flags, ==, SHM_RDONLY);
	g_assert_cmpint(o->shm.count, ==, 3);
	g_assert_true(o->shm.fork);
	o->result = 0;
	o->shm.destroyed = true;
	o->shm.ds.perm.key = 0x5a5a;
	o->shm.ds.perm.mode = 01600;
	o->shm.ds.segsz = 1u << 30;
	o->shm.ds.atime = 10;
	o->shm.ds.dtime = 11;
	o->shm.ds.ctime = 12;
	o->shm.ds.cpid = 13;
	o->shm.ds.lpid = 14;
	o->shm.ds.nattch = 15;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	g_assert_true(op->shm.destroyed);
	g_assert_cmpmem(&op->shm.ds, sizeof(op->shm.ds), &o->shm.ds, sizeof(o->shm.ds));
	op_drop(o);
	op_drop(op);
}

static void test_status(void)
{
	dipc_op *op = op_of(OP_STATUS);
	dipc_op *o = at_owner(op, 0);
	o->st.text = g_strdup("key 0x162e\nvalues 1 2\n");
	o->st.uid = 1;
	o->st.gid = 2;
	o->st.mode = 0640;
	o->st.size = 99;
	o->result = 0;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	g_assert_cmpstr(op->st.text, ==, "key 0x162e\nvalues 1 2\n");
	g_assert_cmpuint(op->st.mode, ==, 0640);
	g_assert_cmpuint(op->st.size, ==, 99);
	op_drop(o);
	op_drop(op);
}

/* A lookup's or getattr's status asks for the attributes only: the flag
 * reaches the owner, and the attributes come back without any text. */
static void test_status_attrs_only(void)
{
	dipc_op *op = op_of(OP_STATUS);
	op->st.attrs_only = true;
	dipc_op *o = at_owner(op, 0);
	g_assert_true(o->st.attrs_only);
	o->st.uid = 7;
	o->st.gid = 8;
	o->st.mode = 0604;
	o->st.size = 4096;
	o->result = 0;
	g_assert_cmpint(back_at_caller(o, op), ==, 0);
	g_assert_true(op->st.text == NULL || op->st.text[0] == '\0');
	g_assert_cmpuint(op->st.uid, ==, 7);
	g_assert_cmpuint(op->st.gid, ==, 8);
	g_assert_cmpuint(op->st.mode, ==, 0604);
	g_assert_cmpuint(op->st.size, ==, 4096);
	op_drop(o);
	op_drop(op);

	/* And a cat's status asks for the text (the flag's default). */
	op = op_of(OP_STATUS);
	o = at_owner(op, 0);
	g_assert_false(o->st.attrs_only);
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
			op->msg.m = dipc_msg_new(1, "x", 1);
		if (t == OP_SEMARRAY) {
			op->sem.cmd = GETALL;
			op->sem.nvals = 1;
			op->sem.vals = g_new0(uint16_t, 1);
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
	if (op.type == OP_SEMOP || op.type == OP_SEMARRAY) {
		g_free(op.sem.sops);
		g_free(op.sem.vals);
	} else if (op.type == OP_MSGSND || op.type == OP_MSGREQUEUE) {
		dipc_msg_free(op.msg.m);
	}
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
	env.err = -EIDRM;
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
	g_test_add_func("/opwire/status-attrs-only", test_status_attrs_only);
	g_test_add_func("/opwire/every-type", test_every_type);
	g_test_add_func("/opwire/hostile-requests", test_hostile_requests);
	g_test_add_func("/opwire/hostile-replies", test_hostile_replies);
	return g_test_run();
}
