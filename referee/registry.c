/* SPDX-License-Identifier: MIT */
/**
 * @file registry.c
 *
 * The referee's name table and key-creation arbiter (see registry.h for the
 * state machine).
 *
 * Ownership.  Objects are indexed twice (by (kind, key) for keyed objects and
 * by id for all); a "slot" exists for a key while it is reserved and holds the
 * queue of lookups waiting for that reservation to end; private ids handed out
 * but not yet committed are "pending".  All of them count against the kind's
 * max_objects, so that commits can never exceed it.
 *
 * Time.  Reservations and pending ids all live reserve_timeout_ms, and "now"
 * never goes back, so each kind of deadline is a FIFO: expiring is popping
 * heads, and the next deadline is a head.
 *
 * Ids.  Serials start at a random point of the 2^24 serials that
 * dipc_id_from_serial() maps to distinct ids, so a restarted referee is
 * unlikely to hand out an id its predecessor used recently, and go up by one,
 * skipping ids still in use.
 *
 * Grace.  While it lasts, lookups that could create (unknown keys, private
 * ids) wait in one FIFO, grace_waiters, with the asker's counters; its end
 * replays them through dipc_registry_lookup() in arrival order.
 */

#include "registry.h"

#include <errno.h>
#include <string.h>

#include "dipc_abi.h"

#define SERIALS (1u << 24) /* distinct ids of dipc_id_from_serial() */
#define KINDS 4            /* index 1..3 */

typedef struct reg_obj {
	dipc_reg_object pub; /* first: handed out as dipc_reg_object* */
	uint64_t kk;
} reg_obj;

typedef struct waiter {
	char *node;
	uint64_t req_id;
	int32_t kind, key; /* grace waiters only: what they looked up */
} waiter;

/* A key being created. */
typedef struct slot {
	uint64_t kk;
	int32_t kind, key;
	char *reserver; /* NULL only transiently, while the queue is drained */
	int32_t id;
	uint64_t deadline;
	GList link;     /* in r->reservations */
	GQueue waiters; /* waiter* in arrival order */
} slot;

/* A private id handed out, not yet committed. */
typedef struct pending {
	int32_t id, kind;
	char *node;
	uint64_t deadline;
	GList link;      /* in r->pendings */
	GList node_link; /* in node_stats.privates */
} pending;

typedef struct node_stats {
	char *name;
	unsigned reserved; /* slots it holds */
	unsigned waiting;  /* lookups it has queued */
	GQueue privates;   /* pending*, oldest first */
} node_stats;

struct dipc_registry {
	dipc_reg_limits lim;
	dipc_reg_answer_fn answer;
	void *ud;
	uint32_t serial; /* next serial to try, 1 .. SERIALS-1 */

	GHashTable *by_key;       /* uint64 kk -> reg_obj (keyed objects) */
	GHashTable *by_id;        /* id -> reg_obj (owns them) */
	GHashTable *slots;        /* uint64 kk -> slot (owns them) */
	GHashTable *reserved_ids; /* id -> slot */
	GHashTable *pendings_by_id; /* id -> pending (owns them) */
	GQueue reservations;      /* slot, by deadline */
	GQueue pendings;          /* pending, by deadline */
	GHashTable *nodes;        /* name -> node_stats (owns them) */
	uint64_t grace_until;     /* 0: no grace */
	GQueue grace_waiters;     /* waiter*, arrival order */

	unsigned used[KINDS]; /* objects + reservations + pending ids */
	unsigned nobj[KINDS]; /* objects */
};

static inline uint64_t kk_of(int32_t kind, int32_t key)
{
	return (uint64_t)(uint32_t)kind << 32 | (uint32_t)key;
}

static inline bool kind_ok(int32_t kind)
{
	return kind >= DIPC_KIND_SEM && kind <= DIPC_KIND_SHM;
}

static inline bool kind_full(const dipc_registry *r, int32_t kind)
{
	unsigned max = r->lim.max_objects_of[kind] ? r->lim.max_objects_of[kind]
						   : r->lim.max_objects;

	return r->used[kind] >= max;
}

/* ---- nodes ---------------------------------------------------------------- */

static node_stats *stats_get(dipc_registry *r, const char *node)
{
	node_stats *ns = g_hash_table_lookup(r->nodes, node);

	if (!ns) {
		ns = g_new0(node_stats, 1);
		ns->name = g_strdup(node);
		g_queue_init(&ns->privates);
		g_hash_table_insert(r->nodes, ns->name, ns);
	}
	return ns;
}

/* Forget a node's counters once they are all zero. */
static void stats_put(dipc_registry *r, node_stats *ns)
{
	if (ns->reserved == 0 && ns->waiting == 0 && ns->privates.length == 0)
		g_hash_table_remove(r->nodes, ns->name);
}

static void stats_free(gpointer p)
{
	node_stats *ns = p;

	g_free(ns->name);
	g_free(ns);
}

/* ---- ids and objects ------------------------------------------------------ */

static bool id_in_use(const dipc_registry *r, int32_t id)
{
	gconstpointer k = GINT_TO_POINTER(id);

	return g_hash_table_contains(r->by_id, k) || g_hash_table_contains(r->reserved_ids, k) ||
	       g_hash_table_contains(r->pendings_by_id, k);
}

static int fresh_id(dipc_registry *r, int32_t *ret)
{
	for (uint32_t tries = 0; tries < SERIALS; tries++) {
		uint32_t serial = r->serial;
		int32_t id;

		r->serial = serial + 1 >= SERIALS ? 1 : serial + 1;
		id = dipc_id_from_serial(serial);
		if (!id_in_use(r, id)) {
			*ret = id;
			return 0;
		}
	}
	return -ENOSPC; /* unreachable while max_objects * 3 < 2^24 */
}

static reg_obj *obj_add(dipc_registry *r, int32_t kind, int32_t key, int32_t id,
			const char *owner)
{
	reg_obj *o = g_new0(reg_obj, 1);

	o->pub.kind = kind;
	o->pub.key = key;
	o->pub.id = id;
	o->pub.owner = g_strdup(owner);
	o->kk = kk_of(kind, key);
	g_hash_table_insert(r->by_id, GINT_TO_POINTER(id), o);
	if (key != 0)
		g_hash_table_insert(r->by_key, &o->kk, o);
	r->nobj[kind]++;
	return o;
}

static void obj_del(dipc_registry *r, reg_obj *o)
{
	if (o->pub.key != 0)
		g_hash_table_remove(r->by_key, &o->kk);
	r->nobj[o->pub.kind]--;
	r->used[o->pub.kind]--;
	g_hash_table_remove(r->by_id, GINT_TO_POINTER(o->pub.id)); /* frees o */
}

static void obj_free(gpointer p)
{
	reg_obj *o = p;

	g_free(o->pub.owner);
	g_free(o);
}

/* ---- pending private ids -------------------------------------------------- */

static void pending_del(dipc_registry *r, pending *p, bool still_used)
{
	node_stats *ns = g_hash_table_lookup(r->nodes, p->node);

	g_queue_unlink(&r->pendings, &p->link);
	if (ns) {
		g_queue_unlink(&ns->privates, &p->node_link);
		stats_put(r, ns);
	}
	if (!still_used)
		r->used[p->kind]--;
	g_hash_table_remove(r->pendings_by_id, GINT_TO_POINTER(p->id)); /* frees p */
}

static void pending_free(gpointer data)
{
	pending *p = data;

	g_free(p->node);
	g_free(p);
}

static void private_lookup(dipc_registry *r, const char *node, int32_t kind, uint64_t now,
			   dipc_reg_answer *a)
{
	node_stats *ns = stats_get(r, node);
	pending *p;
	int32_t id;
	int e;

	/* Uncommitted private ids are only ids nobody else will get: the
	 * oldest of a node that hoards them is dropped, not the new request. */
	if (ns->privates.length >= r->lim.max_pending_per_node)
		pending_del(r, ns->privates.head->data, false);
	ns = stats_get(r, node);
	if (kind_full(r, kind)) {
		stats_put(r, ns);
		a->err = -ENOSPC;
		return;
	}
	e = fresh_id(r, &id);
	if (e < 0) {
		stats_put(r, ns);
		a->err = e;
		return;
	}
	p = g_new0(pending, 1);
	p->id = id;
	p->kind = kind;
	p->node = g_strdup(node);
	p->deadline = now + r->lim.reserve_timeout_ms;
	p->link.data = p;
	p->node_link.data = p;
	g_hash_table_insert(r->pendings_by_id, GINT_TO_POINTER(id), p);
	g_queue_push_tail_link(&r->pendings, &p->link);
	g_queue_push_tail_link(&ns->privates, &p->node_link);
	r->used[kind]++;
	a->found = false;
	a->id = id;
}

/* ---- reservations --------------------------------------------------------- */

static slot *slot_get(dipc_registry *r, int32_t kind, int32_t key)
{
	uint64_t kk = kk_of(kind, key);
	slot *s = g_hash_table_lookup(r->slots, &kk);

	if (!s) {
		s = g_new0(slot, 1);
		s->kk = kk;
		s->kind = kind;
		s->key = key;
		s->link.data = s;
		g_queue_init(&s->waiters);
		g_hash_table_insert(r->slots, &s->kk, s);
	}
	return s;
}

static void slot_free(gpointer p)
{
	slot *s = p;
	waiter *w;

	while ((w = g_queue_pop_head(&s->waiters))) {
		g_free(w->node);
		g_free(w);
	}
	g_free(s->reserver);
	g_free(s);
}

static void slot_put(dipc_registry *r, slot *s)
{
	if (!s->reserver && s->waiters.length == 0)
		g_hash_table_remove(r->slots, &s->kk);
}

/* Reserve the (free, unregistered) key for node; fills *a either way. */
static void reserve(dipc_registry *r, const char *node, int32_t kind, int32_t key,
		    uint64_t now, dipc_reg_answer *a)
{
	node_stats *ns = stats_get(r, node);
	slot *s;
	int32_t id;
	int e;

	if (ns->reserved >= r->lim.max_pending_per_node) {
		stats_put(r, ns);
		a->err = -EAGAIN;
		return;
	}
	if (kind_full(r, kind)) {
		stats_put(r, ns);
		a->err = -ENOSPC;
		return;
	}
	e = fresh_id(r, &id);
	if (e < 0) {
		stats_put(r, ns);
		a->err = e;
		return;
	}
	s = slot_get(r, kind, key);
	s->reserver = g_strdup(node);
	s->id = id;
	s->deadline = now + r->lim.reserve_timeout_ms;
	g_queue_push_tail_link(&r->reservations, &s->link);
	g_hash_table_insert(r->reserved_ids, GINT_TO_POINTER(id), s);
	ns->reserved++;
	r->used[kind]++;
	a->found = false;
	a->id = id;
}

/* End s's reservation.  registered: the reserved id became an object (it
 * keeps its place in used[]). */
static void unreserve(dipc_registry *r, slot *s, bool registered)
{
	node_stats *ns = g_hash_table_lookup(r->nodes, s->reserver);

	g_queue_unlink(&r->reservations, &s->link);
	g_hash_table_remove(r->reserved_ids, GINT_TO_POINTER(s->id));
	if (!registered)
		r->used[s->kind]--;
	if (ns) {
		ns->reserved--;
		stats_put(r, ns);
	}
	g_clear_pointer(&s->reserver, g_free);
}

static void answer_found(const reg_obj *o, dipc_reg_answer *a)
{
	a->found = true;
	a->id = o->pub.id;
	a->owner = o->pub.owner;
}

/* The reservation of s ended: answer its queue, in order, by the lookup
 * rules, until one of the waiters gets the reservation.  May free s. */
static void drain(dipc_registry *r, slot *s, uint64_t now)
{
	waiter *w;

	while (!s->reserver && (w = g_queue_pop_head(&s->waiters))) {
		node_stats *ns = g_hash_table_lookup(r->nodes, w->node);
		reg_obj *o = g_hash_table_lookup(r->by_key, &s->kk);
		dipc_reg_answer a = { 0 };

		if (ns) {
			ns->waiting--;
			stats_put(r, ns);
		}
		if (o)
			answer_found(o, &a);
		else
			reserve(r, w->node, s->kind, s->key, now, &a);
		r->answer(w->node, w->req_id, &a, r->ud);
		g_free(w->node);
		g_free(w);
	}
	slot_put(r, s);
}

/* ---- the API -------------------------------------------------------------- */

dipc_registry *dipc_registry_new(const dipc_reg_limits *lim, uint32_t first_serial,
				 dipc_reg_answer_fn answer, void *ud)
{
	dipc_registry *r;

	g_return_val_if_fail(lim && answer, NULL);
	r = g_new0(dipc_registry, 1);
	r->lim = *lim;
	r->lim.max_queue_per_key = MAX(r->lim.max_queue_per_key, 1u);
	r->lim.max_waiting_per_node = MAX(r->lim.max_waiting_per_node, 1u);
	r->lim.max_pending_per_node = MAX(r->lim.max_pending_per_node, 1u);
	r->answer = answer;
	r->ud = ud;
	r->serial = first_serial % SERIALS;
	if (r->serial == 0)
		r->serial = (uint32_t)g_random_int_range(1, (gint32)SERIALS);
	r->by_key = g_hash_table_new(g_int64_hash, g_int64_equal);
	r->by_id = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, obj_free);
	r->slots = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, slot_free);
	r->reserved_ids = g_hash_table_new(g_direct_hash, g_direct_equal);
	r->pendings_by_id = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
						  pending_free);
	r->nodes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, stats_free);
	g_queue_init(&r->reservations);
	g_queue_init(&r->pendings);
	g_queue_init(&r->grace_waiters);
	return r;
}

void dipc_registry_free(dipc_registry *r)
{
	waiter *w;

	if (!r)
		return;
	while ((w = g_queue_pop_head(&r->grace_waiters))) {
		g_free(w->node);
		g_free(w);
	}
	g_hash_table_destroy(r->by_key);
	g_hash_table_destroy(r->by_id);
	g_hash_table_destroy(r->reserved_ids);
	g_hash_table_destroy(r->slots);
	g_hash_table_destroy(r->pendings_by_id);
	g_hash_table_destroy(r->nodes);
	g_free(r);
}

int dipc_registry_lookup(dipc_registry *r, const char *node, uint64_t req_id,
			 int32_t kind, int32_t key, uint64_t now, dipc_reg_answer *ret)
{
	uint64_t kk = kk_of(kind, key);
	dipc_reg_answer a = { 0 };
	reg_obj *o;
	slot *s;

	if (!kind_ok(kind) || !node || !*node) {
		a.err = -EINVAL;
	} else if (dipc_registry_in_grace(r, now) &&
		   (key == 0 || !g_hash_table_contains(r->by_key, &kk))) {
		node_stats *ns = stats_get(r, node);
		waiter *w;

		if (ns->waiting >= r->lim.max_waiting_per_node) {
			stats_put(r, ns);
			a.err = -EAGAIN;
		} else {
			w = g_new0(waiter, 1);
			w->node = g_strdup(node);
			w->req_id = req_id;
			w->kind = kind;
			w->key = key;
			g_queue_push_tail(&r->grace_waiters, w);
			ns->waiting++;
			return 1;
		}
	} else if (key == 0) {
		private_lookup(r, node, kind, now, &a);
	} else if ((o = g_hash_table_lookup(r->by_key, &kk))) {
		answer_found(o, &a);
	} else if ((s = g_hash_table_lookup(r->slots, &kk)) && s->reserver) {
		node_stats *ns = stats_get(r, node);
		waiter *w;

		if (s->waiters.length >= r->lim.max_queue_per_key ||
		    ns->waiting >= r->lim.max_waiting_per_node) {
			stats_put(r, ns);
			a.err = -EAGAIN;
		} else {
			w = g_new0(waiter, 1);
			w->node = g_strdup(node);
			w->req_id = req_id;
			g_queue_push_tail(&s->waiters, w);
			ns->waiting++;
			return 1;
		}
	} else {
		reserve(r, node, kind, key, now, &a);
	}
	*ret = a;
	return 0;
}

int dipc_registry_commit(dipc_registry *r, const char *node, int32_t kind, int32_t key,
			 int32_t id, uint64_t now)
{
	uint64_t kk = kk_of(kind, key);
	slot *s;

	if (!kind_ok(kind) || !node || !*node)
		return -EINVAL;
	if (key == 0) {
		pending *p = g_hash_table_lookup(r->pendings_by_id, GINT_TO_POINTER(id));

		if (p) {
			if (p->kind != kind || strcmp(p->node, node) != 0)
				return -EINVAL;
			pending_del(r, p, true);
			obj_add(r, kind, 0, id, node);
			return 0;
		}
	} else {
		s = g_hash_table_lookup(r->slots, &kk);
		if (s && s->reserver) {
			if (strcmp(s->reserver, node) != 0 || s->id != id)
				return -EINVAL;
			unreserve(r, s, true);
			obj_add(r, kind, key, id, node);
			drain(r, s, now);
			return 0;
		}
		if (g_hash_table_contains(r->by_key, &kk))
			return -EINVAL;
	}
	/* Nothing reserved: adopt the object if nothing conflicts. */
	if (!dipc_is_id(id) || id_in_use(r, id))
		return -EINVAL;
	if (kind_full(r, kind))
		return -ENOSPC;
	r->used[kind]++;
	obj_add(r, kind, key, id, node);
	return 0;
}

int dipc_registry_abort(dipc_registry *r, const char *node, int32_t kind, int32_t key,
			uint64_t now)
{
	uint64_t kk = kk_of(kind, key);
	slot *s;

	if (!kind_ok(kind) || !node)
		return -EINVAL;
	if (key == 0)
		return 0; /* private ids lapse by themselves */
	s = g_hash_table_lookup(r->slots, &kk);
	/* Aborting what one does not hold is harmless (the reservation may
	 * have expired already): not an error. */
	if (!s || !s->reserver || strcmp(s->reserver, node) != 0)
		return 0;
	unreserve(r, s, false);
	drain(r, s, now);
	return 0;
}

int dipc_registry_rejoin(dipc_registry *r, const char *node, int32_t kind, int32_t key,
			 int32_t id)
{
	uint64_t kk = kk_of(kind, key);
	reg_obj *o;
	slot *s;

	if (!kind_ok(kind) || !node || !*node || !dipc_is_id(id))
		return -EINVAL;
	o = g_hash_table_lookup(r->by_id, GINT_TO_POINTER(id));
	if (o && o->pub.kind == kind && o->pub.key == key && strcmp(o->pub.owner, node) == 0)
		return 0; /* told twice (it reconnected during the grace) */
	if (id_in_use(r, id))
		return -EEXIST;
	if (key != 0) {
		s = g_hash_table_lookup(r->slots, &kk);
		if (g_hash_table_contains(r->by_key, &kk) || (s && s->reserver))
			return -EEXIST;
	}
	if (kind_full(r, kind))
		return -ENOSPC;
	r->used[kind]++;
	obj_add(r, kind, key, id, node);
	return 0;
}

bool dipc_registry_in_grace(const dipc_registry *r, uint64_t now)
{
	return r->grace_until != 0 && now < r->grace_until;
}

void dipc_registry_set_grace(dipc_registry *r, uint64_t until)
{
	r->grace_until = until;
}

void dipc_registry_end_grace(dipc_registry *r, uint64_t now)
{
	waiter *w;

	r->grace_until = 0;
	/* Replayed in arrival order; a replay may queue again behind a
	 * reservation another replay just made (then it is answered later,
	 * through the callback, like any queued lookup). */
	while ((w = g_queue_pop_head(&r->grace_waiters))) {
		node_stats *ns = g_hash_table_lookup(r->nodes, w->node);
		dipc_reg_answer a = { 0 };

		if (ns) {
			ns->waiting--;
			stats_put(r, ns);
		}
		if (dipc_registry_lookup(r, w->node, w->req_id, w->kind, w->key, now, &a) == 0)
			r->answer(w->node, w->req_id, &a, r->ud);
		g_free(w->node);
		g_free(w);
	}
}

const dipc_reg_object *dipc_registry_resolve(const dipc_registry *r, int32_t id)
{
	return g_hash_table_lookup(r->by_id, GINT_TO_POINTER(id));
}

const dipc_reg_object *dipc_registry_find(const dipc_registry *r, int32_t kind, int32_t key)
{
	uint64_t kk = kk_of(kind, key);

	if (key == 0) /* private objects have no key to be found by */
		return NULL;
	return g_hash_table_lookup(r->by_key, &kk);
}

int dipc_registry_removed(dipc_registry *r, const char *node, int32_t id)
{
	reg_obj *o = g_hash_table_lookup(r->by_id, GINT_TO_POINTER(id));

	if (!o)
		return -EINVAL;
	if (!node || strcmp(o->pub.owner, node) != 0)
		return -EPERM;
	obj_del(r, o);
	return 0;
}

int dipc_registry_unkey(dipc_registry *r, const char *node, int32_t id)
{
	reg_obj *o = g_hash_table_lookup(r->by_id, GINT_TO_POINTER(id));

	if (!o)
		return -EINVAL;
	if (!node || strcmp(o->pub.owner, node) != 0)
		return -EPERM;
	if (o->pub.key != 0) {
		g_hash_table_remove(r->by_key, &o->kk);
		o->pub.key = 0;
		o->kk = kk_of(o->pub.kind, 0);
	}
	return 0;
}

static gint obj_cmp(gconstpointer a, gconstpointer b)
{
	const dipc_reg_object *x = *(const dipc_reg_object *const *)a;
	const dipc_reg_object *y = *(const dipc_reg_object *const *)b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

GPtrArray *dipc_registry_list(const dipc_registry *r, int32_t kind)
{
	GPtrArray *arr = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, r->by_id);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const dipc_reg_object *o = v;

		if (kind == 0 || o->kind == kind)
			g_ptr_array_add(arr, v);
	}
	g_ptr_array_sort(arr, obj_cmp);
	return arr;
}

unsigned dipc_registry_node_dead(dipc_registry *r, const char *node, uint64_t now)
{
	g_autoptr(GPtrArray) objs = g_ptr_array_new();
	g_autoptr(GPtrArray) held = g_ptr_array_new();
	node_stats *ns;
	GHashTableIter it;
	gpointer v;

	/* 1. Its objects are gone with it (fail-stop). */
	g_hash_table_iter_init(&it, r->by_id);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (strcmp(((reg_obj *)v)->pub.owner, node) == 0)
			g_ptr_array_add(objs, v);
	for (guint i = 0; i < objs->len; i++)
		obj_del(r, objs->pdata[i]);

	/* 2. Its lookups wait no more, and nobody will answer them. */
	g_hash_table_iter_init(&it, r->slots);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		slot *s = v;
		GList *l = s->waiters.head;

		while (l) {
			GList *next = l->next;
			waiter *w = l->data;

			if (strcmp(w->node, node) == 0) {
				g_queue_delete_link(&s->waiters, l);
				g_free(w->node);
				g_free(w);
			}
			l = next;
		}
		if (s->reserver && strcmp(s->reserver, node) == 0)
			g_ptr_array_add(held, s);
	}

	/* 2b. So do its lookups waiting for the grace to end. */
	for (GList *l = r->grace_waiters.head; l;) {
		GList *next = l->next;
		waiter *w = l->data;

		if (strcmp(w->node, node) == 0) {
			g_queue_delete_link(&r->grace_waiters, l);
			g_free(w->node);
			g_free(w);
		}
		l = next;
	}

	/* 3. Its private ids lapse. */
	ns = g_hash_table_lookup(r->nodes, node);
	if (ns) {
		g_autoptr(GPtrArray) privs = g_ptr_array_new();

		ns->waiting = 0;
		for (GList *l = ns->privates.head; l; l = l->next)
			g_ptr_array_add(privs, l->data);
		/* pending_del() may free ns with its last one. */
		for (guint i = 0; i < privs->len; i++)
			pending_del(r, privs->pdata[i], false);
	}

	/* 4. Its reservations end; the keys go to the next in line. */
	for (guint i = 0; i < held->len; i++) {
		unreserve(r, held->pdata[i], false);
		drain(r, held->pdata[i], now);
	}
	ns = g_hash_table_lookup(r->nodes, node);
	if (ns)
		stats_put(r, ns);
	return objs->len;
}

uint64_t dipc_registry_next_deadline(const dipc_registry *r)
{
	uint64_t t = UINT64_MAX;

	if (r->reservations.head)
		t = MIN(t, ((slot *)r->reservations.head->data)->deadline);
	if (r->pendings.head)
		t = MIN(t, ((pending *)r->pendings.head->data)->deadline);
	if (r->grace_until)
		t = MIN(t, r->grace_until);
	return t;
}

void dipc_registry_expire(dipc_registry *r, uint64_t now)
{
	if (r->grace_until && now >= r->grace_until)
		dipc_registry_end_grace(r, now);
	while (r->reservations.head) {
		slot *s = r->reservations.head->data;

		if (s->deadline > now)
			break;
		g_debug("reservation of kind %d key 0x%08x by %s expired", s->kind,
			(unsigned)s->key, s->reserver);
		unreserve(r, s, false);
		drain(r, s, now);
	}
	while (r->pendings.head) {
		pending *p = r->pendings.head->data;

		if (p->deadline > now)
			break;
		pending_del(r, p, false);
	}
}

unsigned dipc_registry_count(const dipc_registry *r, int32_t kind)
{
	if (kind == 0)
		return r->nobj[1] + r->nobj[2] + r->nobj[3];
	return kind_ok(kind) ? r->nobj[kind] : 0;
}
