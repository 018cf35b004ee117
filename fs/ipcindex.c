/* SPDX-License-Identifier: MIT */
/**
 * @file ipcindex.c
 *
 * The kernel's index of cluster objects: what MSG_STAT, SEM_STAT and
 * SHM_STAT (and their _ANY twins) take, and what every *_INFO command
 * returns (the highest index in use), so that a program walking indices
 * 0..max finds the cluster's objects beside the kernel's.
 *
 * The rule.  A cluster object's index is the low 15 bits of its id,
 * dipc_id_index(): the kernel's own relation (ipc/util.h, ipcid_to_idx: id =
 * seq << 15 | index), so that *_STAT of an id works as it does in the
 * kernel, and an index that is the same on every node and for the object's
 * whole life.  Cluster indices lie in [DIPC_ID_SLOT_BASE, 0x7fff], above
 * any index the kernel hands out below ~21,600 objects of a kind (the
 * premise of routing by id, see dipc_abi.h): the shim asks the kernel for
 * lower indices and the daemon for these, and returns the larger of the two
 * highest indices from *_INFO.  The objects are the referee's list of the
 * kind (what `ls MOUNT/KIND` shows).  Ids whose serials differ by a
 * multiple of DIPC_ID_SLOTS share an index: *_STAT of the index reaches the
 * one with the lowest id (so with more than 256 live objects of a kind some
 * are not reachable by index; docs/differences.md), *_STAT of a live id
 * always its own object (the shim learns a set's nsems that way).
 *
 * *_INFO without the referee falls back on the objects this node owns: the
 * call is about limits, and must not fail for want of a listing.
 */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "ipcindex.h"
#include "opwire.h"

typedef struct index_req {
	dipc_op *op;
	int kind;
	bool info;       /* else stat */
} index_req;

static int list_objects(dipc_node *n, int kind, dipc_conn_reply_cb cb, void *ud)
{
	g_autoptr(opwire_msg) m = opwire_list_objects(kind, 0, 0);

	return referee_call(n, opwire_env(m), cb, ud);
}

/* The highest index of this node's own objects of kind (no referee). */
static int owned_max_index(dipc_node *n, int kind)
{
	GHashTableIter it;
	gpointer v;
	int max = 0;

	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const dipc_obj *o = v;
		if (o->kind == kind)
			max = MAX(max, dipc_id_index(o->id));
	}
	return max;
}

/* The listed object of kind that want names: the one with that id, else
 * the one at its index (lowest id among equals), or -1.  Its owner goes
 * into the id -> owner cache for the op that follows. */
static int32_t find_index(dipc_node *n, const Dipc__ObjectList *ol, int kind, int32_t want)
{
	const Dipc__ObjectEntry *best = NULL;
	const int index = dipc_id_index(want);

	for (size_t i = 0; i < ol->n_objects; i++) {
		const Dipc__ObjectEntry *e = ol->objects[i];
		if (e->kind != kind || dipc_id_index(e->id) != index)
			continue;
		if (e->id == want) {
			best = e;
			break;
		}
		if (!best || e->id < best->id)
			best = e;
	}
	if (!best)
		return -1;
	if (best->owner && g_strcmp0(best->owner, n->name) != 0)
		g_hash_table_replace(n->id_owner, GINT_TO_POINTER(best->id), g_strdup(best->owner));
	return best->id;
}

static int list_max_index(const Dipc__ObjectList *ol, int kind)
{
	int max = 0;

	for (size_t i = 0; i < ol->n_objects; i++)
		if (ol->objects[i]->kind == kind)
			max = MAX(max, dipc_id_index(ol->objects[i]->id));
	return max;
}

static void listed_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	index_req *ir = ud;
	dipc_op *op = ir->op;
	dipc_node *n = op->node;
	const Dipc__ObjectList *ol = NULL;

	(void)c;
	if (err == 0 && !reply->err && reply->body_case == DIPC__ENVELOPE__BODY_OBJECT_LIST)
		ol = reply->object_list;
	if (ir->info) {
		op_complete(op, ol ? list_max_index(ol, ir->kind) : owned_max_index(n, ir->kind));
	} else if (!ol) {
		op_complete(op, -EHOSTUNREACH);
	} else {
		int32_t id = find_index(n, ol, ir->kind, op->id);
		if (id < 0) {
			op_complete(op, -EINVAL);
		} else {
			op->id = id;
			route_op(op);   /* sees op->interrupted itself */
		}
	}
	g_free(ir);
}

static void start(dipc_op *op, int kind, bool info)
{
	index_req *ir = g_new0(index_req, 1);

	ir->op = op;
	ir->kind = kind;
	ir->info = info;
	if (list_objects(op->node, kind, listed_cb, ir) < 0)
		listed_cb(NULL, -EHOSTUNREACH, NULL, ir);
}

void index_route_stat(dipc_op *op, int kind)
{
	start(op, kind, false);
}

void index_complete_info(dipc_op *op, int kind)
{
	start(op, kind, true);
}

#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

void index_start(dipc_op *op, int kind, int cmd)
{
	/* Each kind's numbers for the same three commands. */
	static const struct { int info, stat, stat_any; } cmds[] = {
		[DIPC_KIND_SEM] = { SEM_INFO, SEM_STAT, SEM_STAT_ANY },
		[DIPC_KIND_MSG] = { MSG_INFO, MSG_STAT, MSG_STAT_ANY },
		[DIPC_KIND_SHM] = { SHM_INFO, SHM_STAT, SHM_STAT_ANY },
	};

	if (cmd == IPC_INFO || cmd == cmds[kind].info)
		index_complete_info(op, kind);
	else if (cmd == cmds[kind].stat || cmd == cmds[kind].stat_any)
		index_route_stat(op, kind);
	else
		route_op(op);
}
