/* SPDX-License-Identifier: MIT */
/**
 * @file registry.h
 *
 * The referee's state: which (kind, key) is which id on which node, and who
 * is creating which key right now.  Plain C + GLib: no sockets, no loop, no
 * clock (the caller passes "now" in milliseconds), so it is unit-tested alone.
 *
 * Creation of a key is serialised cluster-wide by reservations:
 *
 *   lookup(kind, key)   registered          -> found: id, owner
 *                       free                -> reserved for the asker with a
 *                                              fresh id; "not found, use id"
 *                       reserved (anyone)   -> queued until the reservation
 *                                              ends, then answered by these
 *                                              same rules, in arrival order
 *   commit(kind,key,id) by the reserver     -> registered, queue answered
 *   abort(kind, key)    by the reserver     -> released, queue answered
 *   reserve_timeout, death of the reserver  -> released, queue answered
 *
 * key 0 (IPC_PRIVATE) never reserves or queues: every lookup hands out a
 * fresh id, remembered as "pending" for the asker until it commits it (or
 * reserve_timeout passes).  A commit with no reservation is accepted when
 * nothing conflicts (key and id free): this lets a node re-register its
 * objects after a referee restart, and a creation that outlived its
 * reservation still counts when nobody else took the key meanwhile.
 *
 * Grace (a restarted referee, NFS-style).  A referee that starts knows no
 * objects, but the live nodes still own theirs; until they have told it
 * (dipc_registry_rejoin), a key it has not heard of may well exist.  So for
 * the grace period (dipc_registry_set_grace) a lookup of a registered key is
 * answered at once, and every other lookup (unknown key, IPC_PRIVATE) waits;
 * when the grace ends (set_grace(r, 0), or expire() past its deadline) the
 * waiting lookups are answered by the rules above, in arrival order.  No
 * reservation and no fresh id exists during the grace, so an id handed out
 * can never collide with an object not yet re-registered.
 *
 * Conflicts.  A re-registration that collides with what the registry holds
 * (the key registered or reserved, the id in use) is refused with -EEXIST:
 * the object registered first wins.  It is the one every lookup since has
 * found; the late one was invisible to all of them, so it has the fewest
 * users.  The loser's owner removes it (its users get EIDRM).
 *
 * Queued lookups are answered through the answer callback, which may be
 * called from commit, abort, node_dead, set_grace and expire; it must not
 * call back into the registry.  All returns are 0 or -errno.
 */
#ifndef DIPC_REGISTRY_H
#define DIPC_REGISTRY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct dipc_registry dipc_registry;

typedef struct dipc_reg_limits {
	unsigned max_objects;          /* per kind, counting reservations: semmni */
	unsigned max_objects_of[4];    /* per kind 1..3 if not 0 (msg: msgmni) */
	unsigned reserve_timeout_ms;
	unsigned max_queue_per_key;    /* queued lookups of one key */
	unsigned max_waiting_per_node; /* queued lookups of one node, all keys */
	unsigned max_pending_per_node; /* reservations of one node (-EAGAIN beyond);
					* private ids beyond it push out the
					* node's oldest uncommitted one */
} dipc_reg_limits;

/* The answer to a lookup. */
typedef struct dipc_reg_answer {
	int err;           /* 0 or -errno (ENOSPC, EAGAIN, EINVAL) */
	bool found;
	int32_t id;        /* found: the object; not found: the id to create */
	const char *owner; /* found: owner node */
} dipc_reg_answer;

typedef struct dipc_reg_object {
	int32_t kind, key, id;
	char *owner;
} dipc_reg_object;

/* A queued lookup of node's request req_id is answered. */
typedef void (*dipc_reg_answer_fn)(const char *node, uint64_t req_id,
				   const dipc_reg_answer *a, void *ud);

/* first_serial: where id serials start (0: random). */
dipc_registry *dipc_registry_new(const dipc_reg_limits *lim, uint32_t first_serial,
				 dipc_reg_answer_fn answer, void *ud);
void dipc_registry_free(dipc_registry *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(dipc_registry, dipc_registry_free)

/* Returns 0 with *ret filled (answered now), or 1: queued, answered later
 * through the callback (with the same node and req_id). */
int dipc_registry_lookup(dipc_registry *r, const char *node, uint64_t req_id,
			 int32_t kind, int32_t key, uint64_t now, dipc_reg_answer *ret);
/* -EINVAL: not the reserver / id mismatch / conflict; -ENOSPC: full. */
int dipc_registry_commit(dipc_registry *r, const char *node, int32_t kind, int32_t key,
			 int32_t id, uint64_t now);
int dipc_registry_abort(dipc_registry *r, const char *node, int32_t kind, int32_t key,
			uint64_t now);
/* NULL if no object has this id. */
const dipc_reg_object *dipc_registry_resolve(const dipc_registry *r, int32_t id);
/* The registered object of kind with key, NULL if none (reservations do
 * not count, and nothing is reserved: a name lookup, not a creation). */
const dipc_reg_object *dipc_registry_find(const dipc_registry *r, int32_t kind, int32_t key);
/* Re-registration of an object node owned before the referee (re)started:
 * 0 registered (or already registered exactly so), -EEXIST a conflict (see
 * above: the incumbent wins), -ENOSPC full, -EINVAL malformed. */
int dipc_registry_rejoin(dipc_registry *r, const char *node, int32_t kind, int32_t key,
			 int32_t id);
/* Lookups of unknown keys wait until `until` (expire() ends the grace then;
 * a later call moves the end).  end_grace: now, answering the waiting
 * lookups. */
void dipc_registry_set_grace(dipc_registry *r, uint64_t until);
void dipc_registry_end_grace(dipc_registry *r, uint64_t now);
bool dipc_registry_in_grace(const dipc_registry *r, uint64_t now);
/* -EINVAL unknown id, -EPERM not the owner. */
int dipc_registry_removed(dipc_registry *r, const char *node, int32_t id);
/* The object stays but its key is free again (shm IPC_RMID while attached:
 * it lives on as a private object until its last detach).  Owner only. */
int dipc_registry_unkey(dipc_registry *r, const char *node, int32_t id);
/* The objects of kind (0: all), sorted by kind then id; the array holds
 * borrowed pointers, valid until the next change. */
GPtrArray *dipc_registry_list(const dipc_registry *r, int32_t kind);
/* The node is gone: its objects, reservations, pending ids and queued
 * lookups are dropped (queues it held are answered).  Returns how many
 * objects were dropped. */
unsigned dipc_registry_node_dead(dipc_registry *r, const char *node, uint64_t now);
/* Time of the next reservation or pending id to expire, or of the grace's
 * end; UINT64_MAX: none. */
uint64_t dipc_registry_next_deadline(const dipc_registry *r);
void dipc_registry_expire(dipc_registry *r, uint64_t now);

unsigned dipc_registry_count(const dipc_registry *r, int32_t kind); /* objects */

#endif /* DIPC_REGISTRY_H */
