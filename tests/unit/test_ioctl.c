/* SPDX-License-Identifier: MIT */
/**
 * @file test_ioctl.c
 *
 * The ioctl table of mount.dipcfs (fs/ioctl_table.h) against hostile callers,
 * without a FUSE session: the shared checks of every row with payload sizes
 * of 0, one short, one long, huge and exact, wrong ABI versions, 32-bit
 * callers and foreign numbers; then every row's decoder with exact sizes
 * and bad fields (counts past the payload, unknown commands, sizes past the
 * limits, staged calls without their handle), and with random payloads.
 * Each must end in a clean -errno (or a well-formed op) and never crash.
 *
 * Links the daemon's own code (fs/ as a static library) and stands in for
 * main.c's two hooks.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "ioctl_table.h"

/* main.c's, which the test does not link. */
void node_stop(dipc_node *n) { }
void node_activity(dipc_node *n) { }

#define HUGE_SIZE (1u << 20)

static dipc_node *node;

static dipc_node *test_node(void)
{
	dipc_node *n = g_new0(dipc_node, 1);
	dipc_conf *conf = g_new0(dipc_conf, 1);

	conf->semmni = 32000;
	conf->semmns = 1024000000;
	conf->msgmni = 32000;
	conf->msgmax = 8192;
	conf->msgmnb = 16384;
	conf->shmmni = 4096;
	conf->shmmax = DIPC_SHMMAX_DEFAULT;
	conf->shmall = DIPC_SHMALL_DEFAULT;
	n->conf = conf;
	n->name = g_strdup("test");
	n->msg_lim.msgmax = conf->msgmax;
	n->msg_lim.msgmnb = conf->msgmnb;
	n->sem_lim.semmsl = 32000;
	n->sem_lim.semopm = 500;
	n->sem_lim.semvmx = 32767;
	n->sem_lim.semaem = 32767;
	n->owned = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_queue_init(&n->interrupted);
	return n;
}

/* A zeroed payload of size bytes whose header is right. */
static void *payload(size_t size)
{
	void *p = g_malloc0(MAX(size, 1));
	if (size >= sizeof(struct dipc_ioc_hdr))
		((struct dipc_ioc_hdr *)p)->version = DIPC_ABI_VERSION;
	return p;
}

static unsigned sized_cmd(const dipc_ioc_row *row, size_t size)
{
	return row->cmd | (unsigned)(size << _IOC_SIZESHIFT);
}

static size_t out_for(const dipc_ioc_row *row, size_t in)
{
	return _IOC_DIR(row->cmd) & _IOC_READ ? in : 0;
}

static int check(unsigned cmd, unsigned flags, size_t in, size_t out)
{
	g_autofree void *p = payload(in);
	const dipc_ioc_row *row = NULL;
	int r = dipc_ioc_check(cmd, flags, p, in, out, &row);

	g_assert_true(r < 0 || row != NULL);
	return r;
}

/* Run a decoder; an op made must be well formed, and is freed. */
static int decode(const dipc_ioc_row *row, unsigned cmd, const void *in, size_t in_size,
		  size_t out_size, ctl_fh *ctl)
{
	dipc_ioc_call call = {
		.node = node, .cmd = cmd, .in = in, .in_size = in_size,
		.out_size = out_size, .ctl = ctl,
	};
	dipc_op *op = NULL;
	int r = row->decode(&call, &op);

	if (r == 0) {
		g_assert_nonnull(op);
		g_assert_true(op->node == node);
		g_assert_cmpuint(op->type, >=, OP_GET);
		g_assert_cmpuint(op->type, <=, OP_SHMCTL);
		if (op->from.fuse.ctl)
			ctl_set_busy(op->from.fuse.ctl, false);
		op_free(op);
	} else if (r == DIPC_IOC_ANSWERED) {
		g_assert_null(op);
		g_assert_nonnull(call.reply);
		g_assert_cmpuint(call.reply_size, <=, out_size);
		g_free(call.reply);
	} else {
		g_assert_null(op);
		g_assert_cmpint(r, <, 0);
		g_assert_cmpint(r, >, -4096);
	}
	return r;
}

/* ---- the table itself ---------------------------------------------------- */

static void test_table_shape(void)
{
	bool seen[1u << _IOC_NRBITS] = { false };
	const dipc_ioc_row *row;
	size_t n = 0;

	for (size_t i = 0; (row = dipc_ioc_row_at(i)); i++, n++) {
		g_test_message("%s", row->name);
		g_assert_cmpuint(_IOC_TYPE(row->cmd), ==, DIPC_IOC_MAGIC);
		g_assert_false(seen[_IOC_NR(row->cmd)]);
		seen[_IOC_NR(row->cmd)] = true;
		g_assert_true((row->decode != NULL) != (row->serve != NULL));
		g_assert_true(row->serve || row->done);
		g_assert_cmpuint(row->in_min, >=, sizeof(struct dipc_ioc_hdr));
		if (row->flags & IOC_ANY_SIZE) {
			g_assert_cmpuint(_IOC_SIZE(row->cmd), ==, 0);
			g_assert_cmpuint(row->in_max, <=, _IOC_SIZEMASK);
		} else {
			/* the number carries the payload's size: they must agree */
			g_assert_cmpuint(row->in_min, ==, _IOC_SIZE(row->cmd));
			g_assert_cmpuint(row->in_max, ==, _IOC_SIZE(row->cmd));
		}
		if (row->out == IOC_OUT_IN)
			g_assert_true(_IOC_DIR(row->cmd) & _IOC_READ);
	}
	/* GET, 4 sem, 11 msg, 5 shm */
	g_assert_cmpuint(n, ==, 21);
	/* the semop cap is derived from the payload's size */
	g_assert_cmpuint((sizeof(struct dipc_ioc_semop) -
			  G_STRUCT_OFFSET(struct dipc_ioc_semop, sops)) / sizeof(struct dipc_sembuf),
			 ==, DIPC_SEMOP_SMALL);
	g_assert_cmpuint((sizeof(struct dipc_ioc_semop_large) -
			  G_STRUCT_OFFSET(struct dipc_ioc_semop_large, sops)) /
			 sizeof(struct dipc_sembuf), ==, DIPC_SEMOPM_MAX);
}

/* ---- the shared checks --------------------------------------------------- */

static void test_foreign(void)
{
	size_t hdr = sizeof(struct dipc_ioc_hdr);

	g_assert_cmpint(check(DIPC_IOC_GET, FUSE_IOCTL_COMPAT, sizeof(struct dipc_ioc_get), 0),
			==, -ENOSYS);
	g_assert_cmpint(check(_IOW('T', 1, struct dipc_ioc_get), 0, sizeof(struct dipc_ioc_get), 0),
			==, -ENOTTY);
	/* ours, but no such number, or another direction of a known one */
	g_assert_cmpint(check(_IOW(DIPC_IOC_MAGIC, 99, struct dipc_ioc_get), 0,
			      sizeof(struct dipc_ioc_get), 0), ==, -ENOTTY);
	g_assert_cmpint(check(_IOWR(DIPC_IOC_MAGIC, 1, struct dipc_ioc_get), 0,
			      sizeof(struct dipc_ioc_get), sizeof(struct dipc_ioc_get)), ==, -ENOTTY);
	g_assert_cmpint(check(_IOW(DIPC_IOC_MAGIC, 2, struct dipc_ioc_get), 0,
			      sizeof(struct dipc_ioc_get), 0), ==, -ENOTTY);
	g_assert_cmpint(check(_IOW(DIPC_IOC_MAGIC, 25, struct dipc_ioc_msgrcv_direct), 0,
			      sizeof(struct dipc_ioc_msgrcv_direct), 0), ==, -ENOTTY);
	/* a payload too small for the header is refused before it is read */
	g_assert_cmpint(check(_IO(DIPC_IOC_MAGIC, 1), 0, 0, 0), ==, -EINVAL);
	g_assert_cmpint(check(_IOC(_IOC_WRITE, DIPC_IOC_MAGIC, 1, hdr - 1), 0, hdr - 1, 0),
			==, -EINVAL);
	g_assert_cmpint(dipc_ioc_check(_IO(DIPC_IOC_MAGIC, 1), 0, NULL, 0, 0,
				       &(const dipc_ioc_row *){ NULL }), ==, -EINVAL);
}

static void test_sizes(void)
{
	const dipc_ioc_row *row;

	for (size_t i = 0; (row = dipc_ioc_row_at(i)); i++) {
		if (row->flags & IOC_ANY_SIZE)
			continue;
		size_t exact = row->in_min;
		size_t out = out_for(row, exact);
		const size_t bad[] = { 0, 1, sizeof(struct dipc_ioc_hdr) - 1,
				       sizeof(struct dipc_ioc_hdr), exact - 1, exact + 1,
				       HUGE_SIZE, SIZE_MAX / 2 };

		g_test_message("%s", row->name);
		g_assert_cmpint(check(row->cmd, 0, exact, out), ==, 0);
		for (size_t b = 0; b < G_N_ELEMENTS(bad); b++) {
			if (bad[b] == exact)
				continue;
			/* huge sizes never reach the payload: no buffer behind them */
			const dipc_ioc_row *got = NULL;
			g_autofree void *p = payload(MIN(bad[b], (size_t)HUGE_SIZE));
			g_assert_cmpint(dipc_ioc_check(row->cmd, 0, p, bad[b], out, &got),
					==, -EINVAL);
		}
		/* out sizes: checked only where the reply is the payload */
		g_assert_cmpint(check(row->cmd, 0, exact, exact - 1),
				==, row->out == IOC_OUT_IN ? -EINVAL : 0);
		g_assert_cmpint(check(row->cmd, 0, exact, 0),
				==, row->out == IOC_OUT_IN ? -EINVAL : 0);
		g_assert_cmpint(check(row->cmd, 0, exact, HUGE_SIZE),
				==, row->out == IOC_OUT_IN ? -EINVAL : 0);
		/* another ABI */
		g_autofree struct dipc_ioc_hdr *h = payload(exact);
		const dipc_ioc_row *got = NULL;
		h->version = DIPC_ABI_VERSION + 1;
		g_assert_cmpint(dipc_ioc_check(row->cmd, 0, h, exact, out, &got), ==, -EPROTO);
		h->version = 0;
		g_assert_cmpint(dipc_ioc_check(row->cmd, 0, h, exact, out, &got), ==, -EPROTO);
		g_assert_cmpint(check(row->cmd, FUSE_IOCTL_COMPAT, exact, out), ==, -ENOSYS);
	}
}

/* DIPC_IOC_MSGRCV_DIRECT(msgsz): the number carries the buffer's size. */
static void test_direct_sizes(void)
{
	const dipc_ioc_row *row = NULL;
	size_t min = sizeof(struct dipc_ioc_msgrcv_direct);
	unsigned cmd = DIPC_IOC_MSGRCV_DIRECT(DIPC_MSGRCV_DIRECT_MIN);

	g_assert_cmpint(check(cmd, 0, min, min), ==, 0);
	g_assert_cmpint(check(cmd, 0, min, min - 1), ==, -EINVAL);
	g_assert_cmpint(check(cmd, 0, min, 0), ==, -EINVAL);
	g_assert_cmpint(check(cmd, 0, min - 1, min - 1), ==, -EINVAL);
	g_assert_cmpint(check(cmd, 0, min + 1, min + 1), ==, -EINVAL);
	g_assert_cmpint(check(cmd, 0, HUGE_SIZE, HUGE_SIZE), ==, -EINVAL);
	/* a number whose size is below the request head */
	for (size_t s = 0; s < min; s++)
		g_assert_cmpint(check(DIPC_IOC_MSGRCV_DIRECT(0) - (8u << _IOC_SIZESHIFT) +
				      (unsigned)(s << _IOC_SIZESHIFT), 0, s, s), ==, -EINVAL);
	/* the largest the kernel can carry */
	cmd = DIPC_IOC_MSGRCV_DIRECT(DIPC_MSGRCV_DIRECT_MAX);
	g_assert_cmpuint(_IOC_SIZE(cmd), ==, _IOC_SIZEMASK);
	g_assert_cmpint(check(cmd, 0, _IOC_SIZEMASK, _IOC_SIZEMASK), ==, 0);
	g_assert_cmpint(check(cmd, FUSE_IOCTL_COMPAT, _IOC_SIZEMASK, _IOC_SIZEMASK), ==, -ENOSYS);

	/* msgsz must be the buffer's */
	struct dipc_ioc_msgrcv_direct *r = payload(min + 100);
	cmd = DIPC_IOC_MSGRCV_DIRECT(DIPC_MSGRCV_DIRECT_MIN + 100);
	g_assert_cmpint(dipc_ioc_check(cmd, 0, r, min + 100, min + 100, &row), ==, 0);
	r->msgsz = 100 + DIPC_MSGRCV_DIRECT_MIN;
	g_assert_cmpint(decode(row, cmd, r, min + 100, min + 100, NULL), ==, 0);
	const uint64_t wrong[] = { 0, 99 + DIPC_MSGRCV_DIRECT_MIN, 101 + DIPC_MSGRCV_DIRECT_MIN,
				   UINT64_MAX, 1ull << 63 };
	for (size_t i = 0; i < G_N_ELEMENTS(wrong); i++) {
		r->msgsz = wrong[i];
		g_assert_cmpint(decode(row, cmd, r, min + 100, min + 100, NULL), ==, -EINVAL);
	}
	g_free(r);
}

/* ---- every decoder: bad fields ------------------------------------------ */

static const dipc_ioc_row *row_for(unsigned cmd)
{
	const dipc_ioc_row *row = NULL;
	g_autofree void *p = payload(_IOC_SIZE(cmd));

	g_assert_cmpint(dipc_ioc_check(cmd, 0, p, _IOC_SIZE(cmd),
				       _IOC_DIR(cmd) & _IOC_READ ? _IOC_SIZE(cmd) : 0, &row), ==, 0);
	return row;
}

#define DECODE(cmd, p, ctl) \
	decode(row_for(cmd), (cmd), (p), sizeof(*(p)), \
	       _IOC_DIR(cmd) & _IOC_READ ? sizeof(*(p)) : 0, (ctl))

static void test_sem_fields(void)
{
	g_autofree struct dipc_ioc_semop *s = payload(sizeof(*s));
	g_autofree struct dipc_ioc_semop_large *l = payload(sizeof(*l));
	g_autofree struct dipc_ioc_semctl *c = payload(sizeof(*c));
	g_autofree struct dipc_ioc_semarray *a = payload(sizeof(*a));

	s->nsops = DIPC_SEMOP_SMALL;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMOP, s, NULL), ==, 0);
	s->nsops = 0;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMOP, s, NULL), ==, 0);
	s->nsops = DIPC_SEMOP_SMALL + 1;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMOP, s, NULL), ==, -E2BIG);
	s->nsops = UINT32_MAX;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMOP, s, NULL), ==, -E2BIG);
	l->nsops = DIPC_SEMOPM_MAX;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMOP_LARGE, l, NULL), ==, 0);
	l->nsops = DIPC_SEMOPM_MAX + 1;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMOP_LARGE, l, NULL), ==, -E2BIG);

	/* ops too: their result is the highest index (fs/ipcindex.c) */
	c->cmd = IPC_INFO;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMCTL, c, NULL), ==, 0);
	c->cmd = SEM_INFO;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMCTL, c, NULL), ==, 0);
	/* a reply too small for the payload is answered without one (done) */
	g_assert_cmpint(decode(row_for(DIPC_IOC_SEMCTL), DIPC_IOC_SEMCTL, c, sizeof(*c), 3, NULL),
			==, 0);
	c->cmd = 12345;   /* the owner's engine refuses it */
	g_assert_cmpint(DECODE(DIPC_IOC_SEMCTL, c, NULL), ==, 0);

	const int32_t bad_cmds[] = { 0, -1, IPC_STAT, GETVAL, INT32_MAX, INT32_MIN };
	for (size_t i = 0; i < G_N_ELEMENTS(bad_cmds); i++) {
		a->cmd = bad_cmds[i];
		g_assert_cmpint(DECODE(DIPC_IOC_SEMARRAY, a, NULL), ==, -EINVAL);
	}
	a->cmd = GETALL;
	a->nsems = UINT32_MAX;   /* out only for GETALL */
	g_assert_cmpint(DECODE(DIPC_IOC_SEMARRAY, a, NULL), ==, 0);
	a->cmd = SETALL;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMARRAY, a, NULL), ==, -EINVAL);
	a->nsems = DIPC_SEMMSL_MAX + 1;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMARRAY, a, NULL), ==, -EINVAL);
	a->nsems = DIPC_SEMMSL_MAX;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMARRAY, a, NULL), ==, 0);
	a->nsems = 0;
	g_assert_cmpint(DECODE(DIPC_IOC_SEMARRAY, a, NULL), ==, 0);
}

static void test_msg_inline_fields(void)
{
	g_autofree struct dipc_ioc_msgsnd_s *s = payload(sizeof(*s));
	g_autofree struct dipc_ioc_msgsnd_l *sl = payload(sizeof(*sl));
	g_autofree struct dipc_ioc_msgrcv_s *r = payload(sizeof(*r));
	g_autofree struct dipc_ioc_msgctl *c = payload(sizeof(*c));

	s->mtype = 1;
	s->msgsz = DIPC_MSG_INLINE_SMALL;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_S, s, NULL), ==, 0);
	s->msgsz = DIPC_MSG_INLINE_SMALL + 1;   /* past the payload */
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_S, s, NULL), ==, -EINVAL);
	s->msgsz = UINT64_MAX;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_S, s, NULL), ==, -EINVAL);
	s->msgsz = 0;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_S, s, NULL), ==, 0);
	const int64_t bad_types[] = { 0, -1, INT64_MIN };
	for (size_t i = 0; i < G_N_ELEMENTS(bad_types); i++) {
		s->mtype = bad_types[i];
		g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_S, s, NULL), ==, -EINVAL);
	}
	/* fits the payload, not msgmax */
	node->msg_lim.msgmax = 100;
	sl->mtype = 1;
	sl->msgsz = 101;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_L, sl, NULL), ==, -EINVAL);
	sl->msgsz = 100;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_L, sl, NULL), ==, 0);
	node->msg_lim.msgmax = node->conf->msgmax;

	r->msgsz = DIPC_MSG_INLINE_SMALL;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGRCV_S, r, NULL), ==, 0);
	r->msgsz = DIPC_MSG_INLINE_SMALL + 1;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGRCV_S, r, NULL), ==, -EINVAL);
	r->msgsz = UINT64_MAX;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGRCV_S, r, NULL), ==, -EINVAL);

	/* ops too: their result is the highest index (fs/ipcindex.c) */
	c->cmd = IPC_INFO;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGCTL, c, NULL), ==, 0);
	c->cmd = MSG_INFO;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGCTL, c, NULL), ==, 0);
	c->cmd = IPC_SET;
	c->ds.qbytes = UINT64_MAX;   /* the owner's engine judges it */
	g_assert_cmpint(DECODE(DIPC_IOC_MSGCTL, c, NULL), ==, 0);
}

static void test_msg_staged_fields(void)
{
	g_autofree struct dipc_ioc_msgsnd_staged *s = payload(sizeof(*s));
	g_autofree struct dipc_ioc_msgrcv_staged *r = payload(sizeof(*r));
	ctl_fh *ctl = ctl_new();

	/* no handle (the shim's shared one, or another file's) */
	s->mtype = 1;
	s->msgsz = 0;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_STAGED, s, NULL), ==, -EINVAL);
	g_assert_cmpint(DECODE(DIPC_IOC_MSGRCV_STAGED, r, NULL), ==, -EBUSY);
	/* nothing staged yet */
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_STAGED, s, ctl), ==, -EINVAL);
	/* staged text of another length */
	g_assert_cmpint(ctl_append(ctl, "hello", 5, node->msg_lim.msgmax), ==, 0);
	s->msgsz = 4;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_STAGED, s, ctl), ==, -EINVAL);
	s->msgsz = UINT64_MAX;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_STAGED, s, ctl), ==, -EINVAL);
	/* right length, bad type: the text stays staged */
	s->msgsz = 5;
	s->mtype = 0;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_STAGED, s, ctl), ==, -EINVAL);
	s->mtype = 1;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_STAGED, s, ctl), ==, 0);
	/* sent: the handle is empty again */
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_STAGED, s, ctl), ==, -EINVAL);
	s->msgsz = 0;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_STAGED, s, ctl), ==, 0);
	/* staging past msgmax */
	g_assert_cmpint(ctl_append(ctl, "x", 1, 0), ==, -EINVAL);

	/* a staged receive holds the handle until it ends */
	dipc_ioc_call call = {
		.node = node, .cmd = DIPC_IOC_MSGRCV_STAGED, .in = r, .in_size = sizeof(*r),
		.out_size = sizeof(*r), .ctl = ctl,
	};
	dipc_op *op = NULL;
	g_assert_cmpint(row_for(DIPC_IOC_MSGRCV_STAGED)->decode(&call, &op), ==, 0);
	g_assert_true(op->from.fuse.ctl == ctl);
	g_assert_cmpint(DECODE(DIPC_IOC_MSGRCV_STAGED, r, ctl), ==, -EBUSY);
	s->msgsz = 0;
	g_assert_cmpint(DECODE(DIPC_IOC_MSGSND_STAGED, s, ctl), ==, -EINVAL);
	ctl_set_busy(ctl, false);
	op_free(op);
	/* a received text unread also holds it */
	ctl_hold(ctl, 1, dipc_msg_new(1, "abc", 3), 3);
	g_assert_cmpint(DECODE(DIPC_IOC_MSGRCV_STAGED, r, ctl), ==, -EBUSY);
	dipc_msg_free(ctl_unhold(ctl));
	g_assert_cmpint(DECODE(DIPC_IOC_MSGRCV_STAGED, r, ctl), ==, 0);
	ctl_free(node, ctl);
}

static void test_shm_fields(void)
{
	g_autofree struct dipc_ioc_shmctl *c = payload(sizeof(*c));
	g_autofree struct dipc_ioc_shmat *a = payload(sizeof(*a));

	/* ops too: their result is the highest index (fs/ipcindex.c) */
	c->cmd = IPC_INFO;
	g_assert_cmpint(DECODE(DIPC_IOC_SHMCTL, c, NULL), ==, 0);
	c->cmd = SHM_INFO;
	g_assert_cmpint(DECODE(DIPC_IOC_SHMCTL, c, NULL), ==, 0);
	c->cmd = IPC_STAT;
	c->id = -1;
	g_assert_cmpint(DECODE(DIPC_IOC_SHMCTL, c, NULL), ==, 0);
	a->id = INT32_MIN;
	a->shmflg = -1;
	a->fork = -1;
	g_assert_cmpint(DECODE(DIPC_IOC_SHMAT, a, NULL), ==, 0);
	g_assert_cmpint(DECODE(DIPC_IOC_SHMDT, a, NULL), ==, 0);
}

/* ---- random payloads ----------------------------------------------------- */

static void test_random_payloads(void)
{
	const dipc_ioc_row *row;
	ctl_fh *ctl = ctl_new();

	g_assert_cmpint(ctl_append(ctl, "0123456789", 10, node->msg_lim.msgmax), ==, 0);
	for (size_t i = 0; (row = dipc_ioc_row_at(i)); i++) {
		if (!row->decode)
			continue;
		g_test_message("%s", row->name);
		for (int round = 0; round < 2000; round++) {
			size_t size = row->flags & IOC_ANY_SIZE
				? (size_t)g_test_rand_int_range((int)row->in_min, (int)row->in_max + 1)
				: row->in_min;
			unsigned cmd = row->flags & IOC_ANY_SIZE ? sized_cmd(row, size) : row->cmd;
			guint32 *p = g_malloc(size + sizeof(guint32));
			for (size_t w = 0; w <= size / sizeof(guint32); w++)
				p[w] = g_test_rand_int();
			if (round & 1) {
				/* small fields, so that more calls get past the first check */
				uint8_t *b = (uint8_t *)p;
				for (size_t k = 0; k < MIN(size, (size_t)64); k++)
					b[k] &= 0x0f;
			}
			((struct dipc_ioc_hdr *)p)->version = DIPC_ABI_VERSION;
			const dipc_ioc_row *got = NULL;
			size_t out = out_for(row, size);
			g_assert_cmpint(dipc_ioc_check(cmd, 0, p, size, out, &got), ==, 0);
			g_assert_true(got == row);
			decode(row, cmd, p, size, out, (round & 2) ? ctl : NULL);
			g_free(p);
		}
	}
	ctl_free(node, ctl);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	node = test_node();
	g_test_add_func("/ioctl/table-shape", test_table_shape);
	g_test_add_func("/ioctl/foreign", test_foreign);
	g_test_add_func("/ioctl/sizes", test_sizes);
	g_test_add_func("/ioctl/direct-sizes", test_direct_sizes);
	g_test_add_func("/ioctl/sem-fields", test_sem_fields);
	g_test_add_func("/ioctl/msg-inline-fields", test_msg_inline_fields);
	g_test_add_func("/ioctl/msg-staged-fields", test_msg_staged_fields);
	g_test_add_func("/ioctl/shm-fields", test_shm_fields);
	g_test_add_func("/ioctl/random-payloads", test_random_payloads);
	return g_test_run();
}
