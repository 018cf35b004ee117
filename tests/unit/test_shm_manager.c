/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the shm manager's state machine (fs/shm_manager.c) against
 * a fake transport: every message the manager sends (take-backs, grants,
 * refusals) is recorded as one line of text, and the test plays the other
 * nodes -- their ShmDone, their take-backs' end, their connections closing,
 * their death -- and checks the messages and the page directory after each
 * step.  Requesters are fake connection pointers; node 0 is the owner.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <uv.h>

#include "shm_manager.h"

#define ID 7
#define PAGES 4

/* Fake requesters: only their addresses matter. */
static char conn_b, conn_c, conn_d;
#define CONN(x) ((struct dipc_conn *)&(x))

typedef struct fake {
	GQueue sent;             /* char *: one line per message */
	int revoke_err[DIPC_SHM_MAX_NODES];   /* what revoke() returns per node */
	int grant_err;
} fake;

static char *runs_text(const GArray *runs)
{
	GString *s = g_string_new(NULL);
	if (!runs || runs->len == 0)
		g_string_append(s, "-");
	for (guint i = 0; runs && i < runs->len; i++) {
		const dipc_shm_run *r = &g_array_index(runs, dipc_shm_run, i);
		g_string_append_printf(s, "%s%lu+%lu", i ? "," : "", (unsigned long)r->first,
				       (unsigned long)r->count);
	}
	return g_string_free(s, FALSE);
}

static int fake_revoke(shm_mgr *m, int node, const GArray *runs, bool to_read)
{
	fake *f = shm_mgr_ud(m);
	g_autofree char *rt = runs_text(runs);
	g_queue_push_tail(&f->sent, g_strdup_printf("revoke %d %s %s", node, rt,
						    to_read ? "keep-read" : "give-up"));
	return f->revoke_err[node];
}

static int fake_grant(shm_mgr *m, const shm_mreq *r, const GArray *data, const GArray *zero)
{
	fake *f = shm_mgr_ud(m);
	g_autofree char *dt = runs_text(data), *zt = runs_text(zero);
	g_queue_push_tail(&f->sent, g_strdup_printf("grant %d %lu+%lu %s data %s zero %s", r->node,
						    (unsigned long)r->first,
						    (unsigned long)r->count, r->write ? "W" : "R",
						    dt, zt));
	return r->node ? f->grant_err : 0;
}

static void fake_refuse(shm_mgr *m, const shm_mreq *r, int err)
{
	fake *f = shm_mgr_ud(m);
	g_queue_push_tail(&f->sent, g_strdup_printf("refuse %d %d", r->node, err));
}

static const shm_mgr_ops fake_ops = {
	.revoke = fake_revoke,
	.grant = fake_grant,
	.refuse = fake_refuse,
};

typedef struct fixture {
	uv_loop_t loop;
	fake f;
	dipc_shmseg *seg;
	shm_mgr *m;
	int b, c, d;             /* node indexes */
} fixture;

static void fx_init(fixture *x, unsigned done_timeout_ms)
{
	dipc_ident owner = { 0 };

	memset(x, 0, sizeof(*x));
	g_assert_cmpint(uv_loop_init(&x->loop), ==, 0);
	g_queue_init(&x->f.sent);
	owner.uid = owner.gid = 1000;
	owner.pid = 1;
	g_strlcpy(owner.node, "a", sizeof(owner.node));
	x->seg = dipc_shmseg_new(0x1234, ID, PAGES * DIPC_SHM_PAGE, 0600, &owner);
	shm_mgr_params p = {
		.loop = &x->loop,
		.id = ID,
		.self = "a",
		.quantum_ms = 0,
		.done_timeout_ms = done_timeout_ms,
		.ops = &fake_ops,
		.ud = &x->f,
	};
	x->m = shm_mgr_new(&p, x->seg);
	x->b = shm_mgr_node_index(x->m, "b");
	x->c = shm_mgr_node_index(x->m, "c");
	g_assert_cmpint(x->b, ==, 1);
	g_assert_cmpint(x->c, ==, 2);
}

static void fx_fini(fixture *x)
{
	shm_mgr_destroy(x->m);
	/* the manager is freed when its timer has closed */
	uv_run(&x->loop, UV_RUN_DEFAULT);
	g_assert_cmpint(uv_loop_close(&x->loop), ==, 0);
	g_assert_true(g_queue_is_empty(&x->f.sent));
	dipc_shmseg_free(x->seg);
}

/* The next message sent is `want`. */
static void expect(fixture *x, const char *want)
{
	g_autofree char *got = g_queue_pop_head(&x->f.sent);
	g_assert_cmpstr(got, ==, want);
}

static void expect_nothing(fixture *x)
{
	g_assert_cmpstr(g_queue_peek_head(&x->f.sent), ==, NULL);
}

/* Page p: its writer (-1: none) and the nodes that hold a copy (a mask:
 * the writer's own included). */
static void expect_page(fixture *x, uint64_t p, int writer, uint64_t readers)
{
	int w;
	uint64_t r = dipc_shmseg_holders(x->seg, p, &w);
	g_assert_cmpint(w, ==, writer);
	g_assert_cmphex(r, ==, readers);
}

#define BIT(n) ((uint64_t)1 << (n))

/* A remote write grant, then a read of another node: the writer keeps the
 * page for reading and its bytes travel to the reader. */
static void test_grant_then_read(void)
{
	fixture x;
	fx_init(&x, 100000);

	shm_mgr_request(x.m, x.b, 0, 2, true, CONN(conn_b), 11);
	expect(&x, "grant 1 0+2 W data - zero 0+2");
	expect_nothing(&x);
	expect_page(&x, 0, x.b, BIT(x.b));
	expect_page(&x, 1, x.b, BIT(x.b));
	expect_page(&x, 2, -1, 0);

	shm_mgr_request(x.m, x.c, 0, 1, false, CONN(conn_c), 12);
	expect_nothing(&x);   /* b has not confirmed its grant */
	shm_mgr_done(x.m, CONN(conn_b));
	expect(&x, "revoke 1 0+1 keep-read");
	expect_nothing(&x);
	shm_mgr_revoke_end(x.m, x.b);
	expect(&x, "grant 2 0+1 R data 0+1 zero -");
	expect_page(&x, 0, -1, BIT(x.b) | BIT(x.c));
	expect_page(&x, 1, x.b, BIT(x.b));
	shm_mgr_done(x.m, CONN(conn_c));
	expect_nothing(&x);
	fx_fini(&x);
}

/* The owner's own requests end with the grant (no ShmDone); its pages are
 * taken back by a local take-back, ended by shm_mgr_revoked(m, 0). */
static void test_owner_node(void)
{
	fixture x;
	fx_init(&x, 100000);

	shm_mgr_request(x.m, 0, 1, 1, true, NULL, 0);
	expect(&x, "grant 0 1+1 W data - zero -");
	expect_page(&x, 1, 0, BIT(0));

	shm_mgr_request(x.m, x.b, 0, 2, true, CONN(conn_b), 21);
	expect(&x, "revoke 0 1+1 give-up");
	expect_nothing(&x);
	shm_mgr_revoked(x.m, 0);
	expect(&x, "grant 1 0+2 W data 1+1 zero 0+1");
	expect_page(&x, 0, x.b, BIT(x.b));
	expect_page(&x, 1, x.b, BIT(x.b));

	/* The owner asks while b's grant is unconfirmed: it waits too. */
	shm_mgr_request(x.m, 0, 0, 1, false, NULL, 0);
	expect_nothing(&x);
	shm_mgr_done(x.m, CONN(conn_b));
	expect(&x, "revoke 1 0+1 keep-read");
	shm_mgr_revoke_end(x.m, x.b);
	expect(&x, "grant 0 0+1 R data - zero -");
	expect_page(&x, 0, -1, BIT(0) | BIT(x.b));
	fx_fini(&x);
}

/* A take-back never overtakes the grant it follows: while b has not
 * installed its write grant, c's request for the same page waits, and so
 * does b's own next request; a ShmDone on another connection changes
 * nothing.  Then the requests run in order. */
static void test_overtaken_grant(void)
{
	fixture x;
	fx_init(&x, 100000);

	shm_mgr_request(x.m, x.b, 0, 1, true, CONN(conn_b), 31);
	expect(&x, "grant 1 0+1 W data - zero 0+1");
	shm_mgr_request(x.m, x.c, 0, 1, true, CONN(conn_c), 32);
	shm_mgr_request(x.m, x.b, 0, 1, true, CONN(conn_b), 33);
	expect_nothing(&x);
	shm_mgr_done(x.m, CONN(conn_c));   /* not the granted node */
	expect_nothing(&x);
	expect_page(&x, 0, x.b, BIT(x.b));

	shm_mgr_done(x.m, CONN(conn_b));
	expect(&x, "revoke 1 0+1 give-up");
	expect_nothing(&x);
	shm_mgr_revoke_end(x.m, x.b);
	expect(&x, "grant 2 0+1 W data 0+1 zero -");
	expect_page(&x, 0, x.c, BIT(x.c));
	shm_mgr_done(x.m, CONN(conn_c));
	expect(&x, "revoke 2 0+1 give-up");
	shm_mgr_revoke_end(x.m, x.c);
	expect(&x, "grant 1 0+1 W data 0+1 zero -");
	expect_page(&x, 0, x.b, BIT(x.b));
	shm_mgr_done(x.m, CONN(conn_b));
	expect_nothing(&x);
	fx_fini(&x);
}

/* A node dies while it is asked to give its written pages back: the
 * take-back ends (its peer call fails), the pages it held are dropped, the
 * requester gets the owner's copy; its slot is reused by a newcomer. */
static void test_holder_dies_mid_takeback(void)
{
	fixture x;
	fx_init(&x, 100000);

	shm_mgr_request(x.m, x.b, 0, 2, true, CONN(conn_b), 41);
	expect(&x, "grant 1 0+2 W data - zero 0+2");
	shm_mgr_done(x.m, CONN(conn_b));
	shm_mgr_request(x.m, x.c, 0, 2, true, CONN(conn_c), 42);
	expect(&x, "revoke 1 0+2 give-up");

	shm_mgr_conn_closed(x.m, CONN(conn_b));
	shm_mgr_node_down(x.m, "b");
	g_assert_null(shm_mgr_name(x.m, x.b));
	expect_page(&x, 0, -1, 0);
	expect_nothing(&x);
	shm_mgr_revoke_end(x.m, x.b);
	expect(&x, "grant 2 0+2 W data 0+2 zero -");
	expect_page(&x, 0, x.c, BIT(x.c));
	expect_page(&x, 1, x.c, BIT(x.c));
	shm_mgr_done(x.m, CONN(conn_c));

	x.d = shm_mgr_node_index(x.m, "d");
	g_assert_cmpint(x.d, ==, 1);
	shm_mgr_request(x.m, x.d, 3, 1, false, CONN(conn_d), 43);
	expect(&x, "grant 1 3+1 R data - zero 3+1");
	shm_mgr_done(x.m, CONN(conn_d));
	fx_fini(&x);
}

/* The requester goes away: mid-take-back its grant is not sent (and the
 * next request goes on); after the grant, its closed connection ends the
 * wait for its ShmDone. */
static void test_requester_dies(void)
{
	fixture x;
	fx_init(&x, 100000);

	shm_mgr_request(x.m, x.b, 0, 1, true, CONN(conn_b), 51);
	expect(&x, "grant 1 0+1 W data - zero 0+1");
	shm_mgr_done(x.m, CONN(conn_b));
	shm_mgr_request(x.m, x.c, 0, 1, true, CONN(conn_c), 52);
	expect(&x, "revoke 1 0+1 give-up");
	shm_mgr_request(x.m, x.c, 1, 1, true, CONN(conn_c), 53);   /* queued */
	shm_mgr_request(x.m, 0, 2, 1, true, NULL, 0);               /* queued */
	shm_mgr_conn_closed(x.m, CONN(conn_c));
	expect_nothing(&x);
	shm_mgr_revoke_end(x.m, x.b);
	/* c's grant is recorded but not sent; its queued request is dropped */
	expect(&x, "grant 0 2+1 W data - zero -");
	expect_page(&x, 2, 0, BIT(0));

	shm_mgr_request(x.m, x.b, 3, 1, true, CONN(conn_b), 54);
	expect(&x, "grant 1 3+1 W data - zero 3+1");
	shm_mgr_request(x.m, 0, 3, 1, false, NULL, 0);
	expect_nothing(&x);
	shm_mgr_conn_closed(x.m, CONN(conn_b));
	expect(&x, "revoke 1 3+1 keep-read");
	shm_mgr_revoke_end(x.m, x.b);
	expect(&x, "grant 0 3+1 R data - zero -");
	fx_fini(&x);
}

/* A take-back that cannot be asked for, or a grant that cannot be sent,
 * does not stop the manager. */
static void test_send_failures(void)
{
	fixture x;
	fx_init(&x, 100000);

	shm_mgr_request(x.m, x.b, 0, 1, true, CONN(conn_b), 61);
	expect(&x, "grant 1 0+1 W data - zero 0+1");
	shm_mgr_done(x.m, CONN(conn_b));
	x.f.revoke_err[x.b] = -ENOTCONN;
	shm_mgr_request(x.m, x.c, 0, 1, true, CONN(conn_c), 62);
	expect(&x, "revoke 1 0+1 give-up");
	expect(&x, "grant 2 0+1 W data 0+1 zero -");
	shm_mgr_done(x.m, CONN(conn_c));

	x.f.grant_err = -EPIPE;
	shm_mgr_request(x.m, x.b, 1, 1, true, CONN(conn_b), 63);
	expect(&x, "grant 1 1+1 W data - zero 1+1");
	shm_mgr_request(x.m, x.c, 2, 1, false, CONN(conn_c), 64);
	expect(&x, "grant 2 2+1 R data - zero 2+1");   /* no ShmDone waited for */
	fx_fini(&x);
}

/* A granted node that never confirms: after the deadline the next request
 * starts. */
static void test_done_deadline(void)
{
	fixture x;
	fx_init(&x, 5);

	shm_mgr_request(x.m, x.b, 0, 1, false, CONN(conn_b), 71);
	expect(&x, "grant 1 0+1 R data - zero 0+1");
	shm_mgr_request(x.m, x.c, 1, 1, false, CONN(conn_c), 72);
	expect_nothing(&x);
	uv_run(&x.loop, UV_RUN_ONCE);   /* until the deadline has fired */
	expect(&x, "grant 2 1+1 R data - zero 1+1");
	shm_mgr_done(x.m, CONN(conn_c));
	fx_fini(&x);
}

/* Destruction refuses what is queued; a take-back in flight keeps the
 * manager until it ends. */
static void test_destroy(void)
{
	fixture x;
	fx_init(&x, 100000);

	shm_mgr_request(x.m, x.b, 0, 1, true, CONN(conn_b), 81);
	expect(&x, "grant 1 0+1 W data - zero 0+1");
	shm_mgr_done(x.m, CONN(conn_b));
	shm_mgr_request(x.m, x.c, 0, 1, true, CONN(conn_c), 82);
	expect(&x, "revoke 1 0+1 give-up");
	shm_mgr_request(x.m, x.c, 1, 1, true, CONN(conn_c), 83);
	shm_mgr_request(x.m, 0, 1, 1, true, NULL, 0);
	shm_mgr_destroy(x.m);
	expect(&x, "refuse 2 -43");
	expect_nothing(&x);   /* the owner's own waits fail elsewhere */
	g_assert_true(shm_mgr_destroyed(x.m));
	uv_run(&x.loop, UV_RUN_NOWAIT);
	shm_mgr_revoke_end(x.m, x.b);   /* frees it */
	expect_nothing(&x);
	uv_run(&x.loop, UV_RUN_DEFAULT);
	g_assert_cmpint(uv_loop_close(&x.loop), ==, 0);
	dipc_shmseg_free(x.seg);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/shm_manager/grant_then_read", test_grant_then_read);
	g_test_add_func("/shm_manager/owner_node", test_owner_node);
	g_test_add_func("/shm_manager/overtaken_grant", test_overtaken_grant);
	g_test_add_func("/shm_manager/holder_dies_mid_takeback", test_holder_dies_mid_takeback);
	g_test_add_func("/shm_manager/requester_dies", test_requester_dies);
	g_test_add_func("/shm_manager/send_failures", test_send_failures);
	g_test_add_func("/shm_manager/done_deadline", test_done_deadline);
	g_test_add_func("/shm_manager/destroy", test_destroy);
	return g_test_run();
}
