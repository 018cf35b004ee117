/* SPDX-License-Identifier: MIT */
/**
 * @file test_registry.c
 *
 * The referee's registry alone (referee/registry.c): the lookup / reserve /
 * commit / abort / queue state machine, private ids, time-outs, node death,
 * limits and id allocation, listing, and finding one key (a name lookup,
 * which must not reserve).
 */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "dipc_abi.h"
#include "registry.h"

enum { SEM = DIPC_KIND_SEM, MSG = DIPC_KIND_MSG, SHM = DIPC_KIND_SHM };

typedef struct answered {
	char *node;
	uint64_t req_id;
	dipc_reg_answer a;
	char *owner;
} answered;

static GArray *answers; /* answered */

static void on_answer(const char *node, uint64_t req_id, const dipc_reg_answer *a, void *ud)
{
	answered x = { g_strdup(node), req_id, *a, g_strdup(a->owner) };

	x.a.owner = x.owner;
	g_array_append_val(answers, x);
}

static void clear_answers(void)
{
	for (guint i = 0; i < answers->len; i++) {
		g_free(g_array_index(answers, answered, i).node);
		g_free(g_array_index(answers, answered, i).owner);
	}
	g_array_set_size(answers, 0);
}

static const dipc_reg_limits lim = {
	.max_objects = 100,
	.reserve_timeout_ms = 1000,
	.max_queue_per_key = 3,
	.max_waiting_per_node = 100,
	.max_pending_per_node = 10,
};

static dipc_registry *new_reg(const dipc_reg_limits *l, uint32_t serial)
{
	clear_answers();
	return dipc_registry_new(l ? l : &lim, serial, on_answer, NULL);
}

static dipc_reg_answer lookup_now(dipc_registry *r, const char *node, int kind, int key,
				  uint64_t now)
{
	dipc_reg_answer a;

	g_assert_cmpint(dipc_registry_lookup(r, node, 77, kind, key, now, &a), ==, 0);
	return a;
}

static void test_create_and_find(void)
{
	g_autoptr(dipc_registry) r = new_reg(NULL, 5);
	dipc_reg_answer a, b;
	const dipc_reg_object *o;

	a = lookup_now(r, "n1", SEM, 0x1234, 0);
	g_assert_cmpint(a.err, ==, 0);
	g_assert_false(a.found);
	g_assert_cmpint(a.id, ==, dipc_id_from_serial(5));
	g_assert_true(dipc_is_id(a.id));
	/* Not registered until the commit. */
	g_assert_null(dipc_registry_resolve(r, a.id));
	g_assert_cmpint(dipc_registry_commit(r, "n1", SEM, 0x1234, a.id, 1), ==, 0);
	b = lookup_now(r, "n2", SEM, 0x1234, 2);
	g_assert_true(b.found);
	g_assert_cmpint(b.id, ==, a.id);
	g_assert_cmpstr(b.owner, ==, "n1");
	/* Same key, other kind: a different object. */
	b = lookup_now(r, "n2", MSG, 0x1234, 2);
	g_assert_false(b.found);
	g_assert_cmpint(b.id, ==, dipc_id_from_serial(6));

	o = dipc_registry_resolve(r, a.id);
	g_assert_nonnull(o);
	g_assert_cmpint(o->kind, ==, SEM);
	g_assert_cmpint(o->key, ==, 0x1234);
	g_assert_cmpstr(o->owner, ==, "n1");
	g_assert_cmpuint(dipc_registry_count(r, SEM), ==, 1);

	/* Removed: only by the owner. */
	g_assert_cmpint(dipc_registry_removed(r, "n2", a.id), ==, -EPERM);
	g_assert_cmpint(dipc_registry_removed(r, "n1", a.id), ==, 0);
	g_assert_cmpint(dipc_registry_removed(r, "n1", a.id), ==, -EINVAL);
	g_assert_null(dipc_registry_resolve(r, a.id));
	g_assert_cmpuint(dipc_registry_count(r, SEM), ==, 0);
	/* The key is free again, with a new id. */
	b = lookup_now(r, "n2", SEM, 0x1234, 3);
	g_assert_false(b.found);
	g_assert_cmpint(b.id, !=, a.id);

	/* Bad kinds. */
	b = lookup_now(r, "n2", 0, 1, 3);
	g_assert_cmpint(b.err, ==, -EINVAL);
	b = lookup_now(r, "n2", 4, 1, 3);
	g_assert_cmpint(b.err, ==, -EINVAL);
	g_assert_cmpuint(answers->len, ==, 0);
}

static void test_commit_rules(void)
{
	g_autoptr(dipc_registry) r = new_reg(NULL, 100);
	dipc_reg_answer a = lookup_now(r, "n1", SEM, 7, 0);

	g_assert_cmpint(dipc_registry_commit(r, "n2", SEM, 7, a.id, 0), ==, -EINVAL);
	g_assert_cmpint(dipc_registry_commit(r, "n1", SEM, 7, a.id + 1, 0), ==, -EINVAL);
	g_assert_cmpint(dipc_registry_commit(r, "n1", MSG, 7, a.id, 0), ==, -EINVAL);
	g_assert_cmpint(dipc_registry_commit(r, "n1", SEM, 7, a.id, 0), ==, 0);
	/* Twice: the key is taken now. */
	g_assert_cmpint(dipc_registry_commit(r, "n1", SEM, 7, a.id, 0), ==, -EINVAL);

	/* Abort of something not held is harmless. */
	g_assert_cmpint(dipc_registry_abort(r, "n1", SEM, 8, 0), ==, 0);
	g_assert_cmpint(dipc_registry_abort(r, "n1", SEM, 7, 0), ==, 0);
	g_assert_nonnull(dipc_registry_resolve(r, a.id));

	/* Adoption (a node re-registering after a referee restart). */
	g_assert_cmpint(dipc_registry_commit(r, "n3", SHM, 9, dipc_id_from_serial(5000), 0), ==,
			0);
	g_assert_cmpstr(dipc_registry_resolve(r, dipc_id_from_serial(5000))->owner, ==, "n3");
	/* ...refused when the id is in use, not a dipc id, or the key taken. */
	g_assert_cmpint(dipc_registry_commit(r, "n3", SHM, 10, a.id, 0), ==, -EINVAL);
	g_assert_cmpint(dipc_registry_commit(r, "n3", SHM, 10, 1234, 0), ==, -EINVAL);
	g_assert_cmpint(dipc_registry_commit(r, "n3", SEM, 7, dipc_id_from_serial(5001), 0), ==,
			-EINVAL);
	/* ...and while someone else holds the key. */
	a = lookup_now(r, "n1", SEM, 11, 0);
	g_assert_cmpint(dipc_registry_commit(r, "n3", SEM, 11, dipc_id_from_serial(5002), 0), ==,
			-EINVAL);
}

static answered *answer_at(guint i)
{
	g_assert_cmpuint(i, <, answers->len);
	return &g_array_index(answers, answered, i);
}

static void test_queue(void)
{
	g_autoptr(dipc_registry) r = new_reg(NULL, 10);
	dipc_reg_answer a, x;
	answered *q;

	a = lookup_now(r, "n1", SEM, 42, 0);
	g_assert_false(a.found);
	/* Others wait, in order; so does the reserver itself. */
	g_assert_cmpint(dipc_registry_lookup(r, "n2", 1, SEM, 42, 0, &x), ==, 1);
	g_assert_cmpint(dipc_registry_lookup(r, "n3", 2, SEM, 42, 0, &x), ==, 1);
	g_assert_cmpint(dipc_registry_lookup(r, "n1", 3, SEM, 42, 0, &x), ==, 1);
	/* The queue is bounded (3 per key here). */
	g_assert_cmpint(dipc_registry_lookup(r, "n4", 4, SEM, 42, 0, &x), ==, 0);
	g_assert_cmpint(x.err, ==, -EAGAIN);
	/* Another key is not affected. */
	x = lookup_now(r, "n2", SEM, 43, 0);
	g_assert_false(x.found);
	g_assert_cmpuint(answers->len, ==, 0);

	/* Abort: the first in line gets the reservation, the rest wait on. */
	g_assert_cmpint(dipc_registry_abort(r, "n1", SEM, 42, 5), ==, 0);
	g_assert_cmpuint(answers->len, ==, 1);
	q = answer_at(0);
	g_assert_cmpstr(q->node, ==, "n2");
	g_assert_cmpuint(q->req_id, ==, 1);
	g_assert_cmpint(q->a.err, ==, 0);
	g_assert_false(q->a.found);
	g_assert_cmpint(q->a.id, !=, a.id);
	a.id = q->a.id;

	/* Commit: everyone left in line finds it. */
	g_assert_cmpint(dipc_registry_commit(r, "n2", SEM, 42, a.id, 6), ==, 0);
	g_assert_cmpuint(answers->len, ==, 3);
	q = answer_at(1);
	g_assert_cmpstr(q->node, ==, "n3");
	g_assert_cmpuint(q->req_id, ==, 2);
	g_assert_true(q->a.found);
	g_assert_cmpint(q->a.id, ==, a.id);
	g_assert_cmpstr(q->a.owner, ==, "n2");
	q = answer_at(2);
	g_assert_cmpstr(q->node, ==, "n1");
	g_assert_cmpuint(q->req_id, ==, 3);
	g_assert_true(q->a.found);
}

static void test_expire(void)
{
	g_autoptr(dipc_registry) r = new_reg(NULL, 10);
	dipc_reg_answer a, x;

	g_assert_cmpuint(dipc_registry_next_deadline(r), ==, UINT64_MAX);
	a = lookup_now(r, "n1", SEM, 42, 100);
	g_assert_cmpuint(dipc_registry_next_deadline(r), ==, 1100);
	g_assert_cmpint(dipc_registry_lookup(r, "n2", 9, SEM, 42, 500, &x), ==, 1);
	dipc_registry_expire(r, 1099);
	g_assert_cmpuint(answers->len, ==, 0);
	dipc_registry_expire(r, 1100);
	g_assert_cmpuint(answers->len, ==, 1);
	g_assert_cmpstr(answer_at(0)->node, ==, "n2");
	g_assert_false(answer_at(0)->a.found);
	/* n2's reservation runs from the expiry. */
	g_assert_cmpuint(dipc_registry_next_deadline(r), ==, 2100);
	/* n1's late commit is refused: n2 holds the key now. */
	g_assert_cmpint(dipc_registry_commit(r, "n1", SEM, 42, a.id, 1200), ==, -EINVAL);
	g_assert_cmpint(dipc_registry_commit(r, "n2", SEM, 42, answer_at(0)->a.id, 1200), ==, 0);
	g_assert_cmpuint(dipc_registry_next_deadline(r), ==, UINT64_MAX);

	/* A late commit with nobody else in the way is adopted. */
	a = lookup_now(r, "n1", SEM, 50, 3000);
	dipc_registry_expire(r, 5000);
	g_assert_cmpint(dipc_registry_commit(r, "n1", SEM, 50, a.id, 5001), ==, 0);
}

static void test_private(void)
{
	g_autoptr(dipc_registry) r = new_reg(NULL, 10);
	dipc_reg_answer a, b;
	int32_t ids[20];

	a = lookup_now(r, "n1", SHM, 0, 0);
	b = lookup_now(r, "n1", SHM, 0, 0);
	g_assert_false(a.found);
	g_assert_false(b.found);
	g_assert_cmpint(a.id, !=, b.id);
	/* No reservation, no queue. */
	g_assert_cmpuint(answers->len, ==, 0);
	g_assert_cmpint(dipc_registry_commit(r, "n2", SHM, 0, a.id, 0), ==, -EINVAL);
	g_assert_cmpint(dipc_registry_commit(r, "n1", SEM, 0, a.id, 0), ==, -EINVAL);
	g_assert_cmpint(dipc_registry_commit(r, "n1", SHM, 0, a.id, 0), ==, 0);
	g_assert_cmpint(dipc_registry_resolve(r, a.id)->key, ==, 0);
	/* Many private objects coexist under key 0. */
	g_assert_cmpint(dipc_registry_commit(r, "n1", SHM, 0, b.id, 0), ==, 0);
	g_assert_cmpuint(dipc_registry_count(r, SHM), ==, 2);
	/* Uncommitted ids lapse after reserve_timeout. */
	a = lookup_now(r, "n1", SHM, 0, 0);
	g_assert_cmpuint(dipc_registry_next_deadline(r), ==, 1000);
	dipc_registry_expire(r, 1000);
	g_assert_cmpuint(dipc_registry_next_deadline(r), ==, UINT64_MAX);

	/* A node that hoards private ids loses its oldest, not the new one
	 * (max_pending_per_node is 10 here); commits still work (adopted). */
	for (int i = 0; i < 20; i++) {
		a = lookup_now(r, "n3", SEM, 0, 2000);
		g_assert_cmpint(a.err, ==, 0);
		ids[i] = a.id;
	}
	for (int i = 0; i < 20; i++)
		g_assert_cmpint(dipc_registry_commit(r, "n3", SEM, 0, ids[i], 2001), ==, 0);
	g_assert_cmpuint(dipc_registry_count(r, SEM), ==, 20);
}

static void test_node_death(void)
{
	g_autoptr(dipc_registry) r = new_reg(NULL, 10);
	dipc_reg_answer a, x;
	g_autoptr(GPtrArray) list = NULL;

	/* n1 owns two objects and reserves key 3; n2 and n3 wait for it; n1
	 * also waits for a key n2 reserved. */
	a = lookup_now(r, "n1", SEM, 1, 0);
	g_assert_cmpint(dipc_registry_commit(r, "n1", SEM, 1, a.id, 0), ==, 0);
	a = lookup_now(r, "n1", 0 + MSG, 0, 0);
	g_assert_cmpint(dipc_registry_commit(r, "n1", MSG, 0, a.id, 0), ==, 0);
	a = lookup_now(r, "n2", SEM, 2, 0);
	g_assert_cmpint(dipc_registry_commit(r, "n2", SEM, 2, a.id, 0), ==, 0);
	a = lookup_now(r, "n1", SEM, 3, 0);
	g_assert_cmpint(dipc_registry_lookup(r, "n2", 21, SEM, 3, 0, &x), ==, 1);
	g_assert_cmpint(dipc_registry_lookup(r, "n3", 31, SEM, 3, 0, &x), ==, 1);
	x = lookup_now(r, "n2", SEM, 4, 0);
	g_assert_cmpint(dipc_registry_lookup(r, "n1", 14, SEM, 4, 0, &x), ==, 1);
	lookup_now(r, "n1", SHM, 0, 0); /* a pending private id */

	g_assert_cmpuint(dipc_registry_node_dead(r, "n1", 10), ==, 2);
	/* Its objects are gone; n2's stays. */
	list = dipc_registry_list(r, 0);
	g_assert_cmpuint(list->len, ==, 1);
	g_assert_cmpstr(((dipc_reg_object *)list->pdata[0])->owner, ==, "n2");
	/* Key 3 went to n2, the first in line; n3 waits on. */
	g_assert_cmpuint(answers->len, ==, 1);
	g_assert_cmpstr(answer_at(0)->node, ==, "n2");
	g_assert_cmpuint(answer_at(0)->req_id, ==, 21);
	g_assert_false(answer_at(0)->a.found);
	/* n1's queued lookup of key 4 is never answered. */
	g_assert_cmpint(dipc_registry_abort(r, "n2", SEM, 4, 11), ==, 0);
	g_assert_cmpuint(answers->len, ==, 1);
	/* n1 comes back: a clean slate. */
	a = lookup_now(r, "n1", SEM, 1, 12);
	g_assert_false(a.found);
	/* Nothing n1 had is left to expire (n2's key 3 and n1's new key 1 are). */
	dipc_registry_node_dead(r, "n2", 13);
	g_assert_cmpuint(answers->len, ==, 2);
	g_assert_cmpstr(answer_at(1)->node, ==, "n3");
	dipc_registry_node_dead(r, "n3", 14);
	dipc_registry_node_dead(r, "n1", 14);
	g_assert_cmpuint(dipc_registry_next_deadline(r), ==, UINT64_MAX);
	g_assert_cmpuint(dipc_registry_count(r, 0), ==, 0);
}

static void test_limits(void)
{
	dipc_reg_limits l = lim;
	g_autoptr(dipc_registry) r = NULL;
	dipc_reg_answer a;

	l.max_objects = 3;
	r = new_reg(&l, 10);
	/* Reservations and private ids count too. */
	a = lookup_now(r, "n1", SEM, 1, 0);
	g_assert_cmpint(dipc_registry_commit(r, "n1", SEM, 1, a.id, 0), ==, 0);
	a = lookup_now(r, "n1", SEM, 2, 0);
	a = lookup_now(r, "n1", SEM, 0, 0);
	a = lookup_now(r, "n2", SEM, 3, 0);
	g_assert_cmpint(a.err, ==, -ENOSPC);
	a = lookup_now(r, "n2", SEM, 0, 0);
	g_assert_cmpint(a.err, ==, -ENOSPC);
	/* Per kind. */
	a = lookup_now(r, "n2", MSG, 3, 0);
	g_assert_cmpint(a.err, ==, 0);
	/* A kind with its own limit. */
	{
		dipc_reg_limits m = lim;
		g_autoptr(dipc_registry) s = NULL;

		m.max_objects = 100;
		m.max_objects_of[MSG] = 1;
		s = dipc_registry_new(&m, 10, on_answer, NULL);
		g_assert_cmpint(lookup_now(s, "n1", MSG, 1, 0).err, ==, 0);
		g_assert_cmpint(lookup_now(s, "n1", MSG, 2, 0).err, ==, -ENOSPC);
		g_assert_cmpint(lookup_now(s, "n1", SEM, 2, 0).err, ==, 0);
	}
	/* Found objects are still found. */
	a = lookup_now(r, "n2", SEM, 1, 0);
	g_assert_true(a.found);
	/* Room again after an abort. */
	g_assert_cmpint(dipc_registry_abort(r, "n1", SEM, 2, 0), ==, 0);
	a = lookup_now(r, "n2", SEM, 3, 0);
	g_assert_cmpint(a.err, ==, 0);

	/* Reservations per node: -EAGAIN beyond max_pending_per_node. */
	{
		dipc_reg_limits m = lim;
		g_autoptr(dipc_registry) s = NULL;

		m.max_pending_per_node = 2;
		s = dipc_registry_new(&m, 10, on_answer, NULL);
		g_assert_cmpint(lookup_now(s, "n1", SEM, 1, 0).err, ==, 0);
		g_assert_cmpint(lookup_now(s, "n1", SEM, 2, 0).err, ==, 0);
		g_assert_cmpint(lookup_now(s, "n1", SEM, 3, 0).err, ==, -EAGAIN);
		g_assert_cmpint(lookup_now(s, "n2", SEM, 3, 0).err, ==, 0);
	}
	/* Queued lookups per node. */
	{
		dipc_reg_limits m = lim;
		g_autoptr(dipc_registry) s = NULL;
		dipc_reg_answer x;

		m.max_waiting_per_node = 2;
		s = dipc_registry_new(&m, 10, on_answer, NULL);
		for (int k = 1; k <= 3; k++)
			lookup_now(s, "n1", SEM, k, 0);
		g_assert_cmpint(dipc_registry_lookup(s, "n2", 1, SEM, 1, 0, &x), ==, 1);
		g_assert_cmpint(dipc_registry_lookup(s, "n2", 2, SEM, 2, 0, &x), ==, 1);
		g_assert_cmpint(dipc_registry_lookup(s, "n2", 3, SEM, 3, 0, &x), ==, 0);
		g_assert_cmpint(x.err, ==, -EAGAIN);
	}
}

static void test_ids(void)
{
	/* Near the end of the serial space: wraps to 1, skips ids in use. */
	g_autoptr(dipc_registry) r = new_reg(NULL, (1u << 24) - 2);
	g_autoptr(dipc_registry) rnd1 = new_reg(NULL, 0);
	g_autoptr(dipc_registry) rnd2 = new_reg(NULL, 0);
	dipc_reg_answer a;
	int32_t seen[4];

	for (int i = 0; i < 4; i++) {
		a = lookup_now(r, "n1", SEM, 100 + i, 0);
		seen[i] = a.id;
		g_assert_true(dipc_is_id(a.id));
		g_assert_cmpint(a.id, >, 0);
	}
	g_assert_cmpint(seen[0], ==, dipc_id_from_serial((1u << 24) - 2));
	g_assert_cmpint(seen[1], ==, dipc_id_from_serial((1u << 24) - 1));
	g_assert_cmpint(seen[2], ==, dipc_id_from_serial(1));
	g_assert_cmpint(seen[3], ==, dipc_id_from_serial(2));

	/* An adopted id is skipped. */
	{
		g_autoptr(dipc_registry) s = new_reg(NULL, 50);

		g_assert_cmpint(dipc_registry_commit(s, "n1", SEM, 9, dipc_id_from_serial(50), 0),
				==, 0);
		a = lookup_now(s, "n1", SEM, 10, 0);
		g_assert_cmpint(a.id, ==, dipc_id_from_serial(51));
	}
	/* Random starting points differ (with overwhelming probability). */
	g_assert_cmpint(lookup_now(rnd1, "n", SEM, 1, 0).id, !=,
			lookup_now(rnd2, "n", SEM, 1, 0).id);
}

/* A restarted referee: lookups that could create wait for the grace's end;
 * known keys are answered; re-registrations are taken, conflicts refused. */
static void test_grace(void)
{
	g_autoptr(dipc_registry) r = new_reg(NULL, 300);
	int32_t old = dipc_id_from_serial(7), other = dipc_id_from_serial(8);
	dipc_reg_answer a;

	dipc_registry_set_grace(r, 1000);
	g_assert_true(dipc_registry_in_grace(r, 999));
	g_assert_false(dipc_registry_in_grace(r, 1000));
	g_assert_cmpuint(dipc_registry_next_deadline(r), ==, 1000);
	/* Unknown key, private id: both wait. */
	g_assert_cmpint(dipc_registry_lookup(r, "n2", 1, SEM, 0x42, 10, &a), ==, 1);
	g_assert_cmpint(dipc_registry_lookup(r, "n2", 2, SEM, 0, 10, &a), ==, 1);
	g_assert_cmpint(dipc_registry_lookup(r, "n3", 3, SEM, 0x43, 10, &a), ==, 1);
	g_assert_cmpuint(answers->len, ==, 0);
	/* The owner re-registers (twice: it reconnected); it is found at once. */
	g_assert_cmpint(dipc_registry_rejoin(r, "n1", SEM, 0x42, old), ==, 0);
	g_assert_cmpint(dipc_registry_rejoin(r, "n1", SEM, 0x42, old), ==, 0);
	a = lookup_now(r, "n4", SEM, 0x42, 20);
	g_assert_true(a.found);
	g_assert_cmpint(a.id, ==, old);
	/* A second object for the key, or a second owner of the id: the
	 * incumbent wins. */
	g_assert_cmpint(dipc_registry_rejoin(r, "n5", SEM, 0x42, other), ==, -EEXIST);
	g_assert_cmpint(dipc_registry_rejoin(r, "n5", MSG, 0x99, old), ==, -EEXIST);
	g_assert_cmpint(dipc_registry_rejoin(r, "n5", MSG, 0x99, 1234), ==, -EINVAL);
	g_assert_null(dipc_registry_resolve(r, other));
	/* A waiter that dies is not answered. */
	dipc_registry_node_dead(r, "n3", 30);
	/* The end: in arrival order, by the ordinary rules. */
	dipc_registry_expire(r, 1000);
	g_assert_false(dipc_registry_in_grace(r, 1000));
	g_assert_cmpuint(answers->len, ==, 2);
	g_assert_cmpuint(answer_at(0)->req_id, ==, 1);
	g_assert_true(answer_at(0)->a.found);
	g_assert_cmpint(answer_at(0)->a.id, ==, old);
	g_assert_cmpstr(answer_at(0)->owner, ==, "n1");
	g_assert_cmpuint(answer_at(1)->req_id, ==, 2);
	g_assert_false(answer_at(1)->a.found);
	g_assert_true(dipc_is_id(answer_at(1)->a.id));
	g_assert_cmpint(answer_at(1)->a.id, !=, old);
	/* After the grace a late re-registration still counts if it collides
	 * with nothing; a reserved key is a collision. */
	a = lookup_now(r, "n2", SEM, 0x50, 1001);
	g_assert_false(a.found);
	g_assert_cmpint(dipc_registry_rejoin(r, "n6", SEM, 0x50, dipc_id_from_serial(9)), ==,
			-EEXIST);
	g_assert_cmpint(dipc_registry_rejoin(r, "n6", SEM, 0x51, dipc_id_from_serial(9)), ==, 0);
	/* The private id handed out at the replay is the first to lapse. */
	g_assert_cmpuint(dipc_registry_next_deadline(r), ==, 1000 + lim.reserve_timeout_ms);
}

static void test_list(void)
{
	g_autoptr(dipc_registry) r = new_reg(NULL, 10);
	int kinds[] = { SHM, SEM, MSG, SEM };
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GPtrArray) sems = NULL;

	for (int i = 0; i < 4; i++) {
		dipc_reg_answer a = lookup_now(r, "n1", kinds[i], 10 + i, 0);

		g_assert_cmpint(dipc_registry_commit(r, "n1", kinds[i], 10 + i, a.id, 0), ==, 0);
	}
	lookup_now(r, "n1", SEM, 99, 0); /* reserved, not listed */
	all = dipc_registry_list(r, 0);
	g_assert_cmpuint(all->len, ==, 4);
	for (guint i = 1; i < all->len; i++) {
		dipc_reg_object *p = all->pdata[i - 1], *q = all->pdata[i];

		g_assert_true(p->kind < q->kind || (p->kind == q->kind && p->id < q->id));
	}
	sems = dipc_registry_list(r, SEM);
	g_assert_cmpuint(sems->len, ==, 2);
}

/* A name lookup finds a registered key, and nothing else: not a reserved
 * key, not a key of another kind, not a key freed by unkey; and it reserves
 * nothing (a creation of the same key after it is not queued). */
static void test_find(void)
{
	g_autoptr(dipc_registry) r = new_reg(NULL, 20);
	dipc_reg_answer a = lookup_now(r, "n1", MSG, 0x162e, 0);
	const dipc_reg_object *o;

	g_assert_null(dipc_registry_find(r, MSG, 0x162e)); /* reserved only */
	g_assert_cmpint(dipc_registry_commit(r, "n1", MSG, 0x162e, a.id, 0), ==, 0);
	o = dipc_registry_find(r, MSG, 0x162e);
	g_assert_nonnull(o);
	g_assert_cmpint(o->id, ==, a.id);
	g_assert_cmpint(o->key, ==, 0x162e);
	g_assert_cmpstr(o->owner, ==, "n1");
	g_assert_null(dipc_registry_find(r, SEM, 0x162e));
	g_assert_null(dipc_registry_find(r, MSG, 0x162f));
	g_assert_null(dipc_registry_find(r, MSG, 0)); /* private: by id only */

	g_assert_null(dipc_registry_find(r, SHM, 7));
	a = lookup_now(r, "n2", SHM, 7, 0); /* not held by the find */
	g_assert_cmpint(a.err, ==, 0);
	g_assert_false(a.found);
	g_assert_cmpint(dipc_registry_commit(r, "n2", SHM, 7, a.id, 0), ==, 0);
	g_assert_nonnull(dipc_registry_find(r, SHM, 7));
	g_assert_cmpint(dipc_registry_unkey(r, "n2", a.id), ==, 0);
	g_assert_null(dipc_registry_find(r, SHM, 7));
	g_assert_nonnull(dipc_registry_resolve(r, a.id)); /* it lives on, unkeyed */
	g_assert_cmpuint(answers->len, ==, 0);
}

int main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	answers = g_array_new(FALSE, TRUE, sizeof(answered));
	g_test_add_func("/registry/create-and-find", test_create_and_find);
	g_test_add_func("/registry/commit-rules", test_commit_rules);
	g_test_add_func("/registry/queue", test_queue);
	g_test_add_func("/registry/expire", test_expire);
	g_test_add_func("/registry/private", test_private);
	g_test_add_func("/registry/node-death", test_node_death);
	g_test_add_func("/registry/limits", test_limits);
	g_test_add_func("/registry/ids", test_ids);
	g_test_add_func("/registry/list", test_list);
	g_test_add_func("/registry/find", test_find);
	g_test_add_func("/registry/grace", test_grace);
	ret = g_test_run();
	clear_answers();
	g_array_unref(answers);
	return ret;
}
