/* SPDX-License-Identifier: MIT */
/**
 * @file objects.c
 *
 * The objects this node owns, and xxxget() -- DIPC's creation protocol.
 *
 * xxxget(key) from a local process, in the kernel's order (ipc/util.c
 * ipcget_public, ipc/sem.c ksys_semget):
 *   1. nsems > semmsl: EINVAL, before anything else.
 *   2. key owned here: EEXIST with IPC_CREAT|IPC_EXCL, else the per-kind
 *      check (nsems larger than the set: EINVAL) then permission (EACCES).
 *   3. else ask the referee.  Found elsewhere: EEXIST with CREAT|EXCL, else
 *      the owner runs the checks of step 2 (ObjGet).  Not found: the referee
 *      has reserved the key for us (other nodes asking for it wait); without
 *      IPC_CREAT we release it (Abort) and fail with ENOENT; with it we
 *      create the object here under the id the referee gave, then Commit.
 *   IPC_PRIVATE skips the key: the referee hands out a fresh id.
 * If the owner says the object vanished between the referee's answer and
 * ObjGet (it was removed, or its node died), the lookup is retried.
 *
 * Ownership: the node where an object was created owns it until IPC_RMID or
 * until the node goes away (fail-stop: its objects go with it).
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "node.h"
#include "opwire.h"

#define GET_MAX_TRIES 4

static inline uint64_t key_slot(int kind, int32_t key)
{
	return ((uint64_t)(uint32_t)kind << 32) | (uint32_t)key;
}

static void obj_free(gpointer p)
{
	dipc_obj *o = p;
	if (o->sem)
		dipc_semset_free(o->sem);
	if (o->msg)
		dipc_msgq_free(o->msg);
	if (o->shm)
		dipc_shmseg_free(o->shm);
	g_free(o);
}

void objects_init(dipc_node *n)
{
	n->owned = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, obj_free);
	n->owned_keys = g_hash_table_new(g_int64_hash, g_int64_equal);
}

/* Every object of this node is gone (node_stop, or the referee declared the
 * node dead): end every waiter with EIDRM and forget them all. */
void objects_drop_all(dipc_node *n)
{
	GHashTableIter it;
	gpointer v;

	/* End every parked waiter before the sets go. */
	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		dipc_ident root = { .uid = 0, .caps = DIPC_CAPS_ALL };
		if (o->sem)
			dipc_semset_rmid(o->sem, &root);
		if (o->msg)
			dipc_msgq_rmid(o->msg, &root);
		if (o->shm)
			shmglue_destroy(n, o->id);
	}
	/* The tables stay (empty): late callbacks may still look things up. */
	g_hash_table_remove_all(n->owned_keys);
	g_hash_table_remove_all(n->owned);
	n->sems_used = 0;
}

dipc_obj *obj_find(dipc_node *n, int32_t id)
{
	return g_hash_table_lookup(n->owned, GINT_TO_POINTER(id));
}

dipc_obj *obj_find_key(dipc_node *n, int kind, int32_t key)
{
	uint64_t k = key_slot(kind, key);
	return g_hash_table_lookup(n->owned_keys, &k);
}

static dipc_obj *obj_create(dipc_node *n, dipc_op *op, int32_t id)
{
	dipc_obj *o = g_new0(dipc_obj, 1);

	o->slot = key_slot(op->get.kind, op->get.key);
	o->kind = op->get.kind;
	o->key = op->get.key;
	o->id = id;
	o->node = n;
	if (op->get.kind == DIPC_KIND_SEM) {
		o->sem = dipc_semset_new(op->get.key, id, (unsigned)op->get.size, op->get.flags & 0777,
					 &op->who, &n->sem_lim, semglue_wake_fn(), n);
		n->sems_used += op->get.size;
	} else if (op->get.kind == DIPC_KIND_SHM) {
		o->shm = shmglue_create(n, op->get.key, id, op->get.size, op->get.flags & 0777, &op->who);
		if (!o->shm) {
			g_free(o);
			return NULL;
		}
	} else {
		o->msg = dipc_msgq_new(op->get.key, id, op->get.flags & 0777, &op->who, &n->msg_lim,
				       msgglue_wake_fn(), n);
	}
	g_hash_table_insert(n->owned, GINT_TO_POINTER(id), o);
	if (op->get.key != IPC_PRIVATE)
		g_hash_table_insert(n->owned_keys, &o->slot, o);
	return o;
}

static void removed_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	if (err < 0 || (reply && reply->err))
		g_debug("referee did not take a removal: %d", err < 0 ? err : reply->err);
}

void obj_destroy(dipc_node *n, dipc_obj *o)
{
	g_autoptr(opwire_msg) m = opwire_removed(o->id, false);

	if (referee_call(n, opwire_env(m), removed_cb, NULL) < 0)
		g_message("cannot tell the referee that object %d is removed", o->id);

	if (o->sem)
		n->sems_used -= dipc_semset_nsems(o->sem);
	if (o->key != IPC_PRIVATE)
		g_hash_table_remove(n->owned_keys, &o->slot);
	g_hash_table_remove(n->owned, GINT_TO_POINTER(o->id)); /* obj_free */
}

/* shm IPC_RMID while attached: the object lives on under its id only. */
void obj_rekey(dipc_node *n, dipc_obj *o)
{
	g_autoptr(opwire_msg) m = opwire_removed(o->id, true);

	o->slot = key_slot(o->kind, IPC_PRIVATE);
	if (referee_call(n, opwire_env(m), removed_cb, NULL) < 0)
		g_message("cannot tell the referee that the key of object %d is free", o->id);
}

void objects_node_down(dipc_node *n, const char *node_name)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		if (o->sem)
			dipc_semset_node_down(o->sem, node_name);
	}
	/* shm: shmglue_node_down (called by the cluster) drops its attaches and
	 * pages; a removed segment nobody holds any more goes now. */
	GSList *gone = NULL;
	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		if (o->shm && dipc_shmseg_gone(o->shm))
			gone = g_slist_prepend(gone, o);
	}
	for (GSList *l = gone; l; l = l->next) {
		dipc_obj *o = l->data;
		shmglue_destroy(n, o->id);
		obj_destroy(n, o);
	}
	g_slist_free(gone);
}

void objects_proc_exit(dipc_node *n, const char *node_name, int32_t pid)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		if (o->sem && dipc_semset_has_undo(o->sem, node_name, pid))
			dipc_semset_exit(o->sem, node_name, pid);
	}
}

/* ObjGet at the owner: may the caller have the id of this existing object? */
int obj_check_get(dipc_node *n, dipc_op *op)
{
	dipc_obj *o = obj_find(n, op->id);
	int r;

	if (!o || o->kind != op->get.kind)
		return -EIDRM;   /* vanished: the asker retries its lookup */
	if ((op->get.flags & IPC_CREAT) && (op->get.flags & IPC_EXCL))
		return -EEXIST;
	if (o->msg)
		r = dipc_msgq_check_get(o->msg, &op->who, op->get.flags);
	else if (o->shm)
		r = dipc_shmseg_check_get(o->shm, &op->who, op->get.flags, op->get.size);
	else
		r = dipc_semset_check_get(o->sem, &op->who, op->get.flags, (unsigned)op->get.size);
	return r < 0 ? r : o->id;
}

/* The status text of an object, as its owner renders it. */
static char *obj_describe(dipc_node *n, const dipc_obj *o)
{
	if (o->sem)
		return dipc_semset_describe(o->sem, n->name);
	if (o->msg)
		return dipc_msgq_describe(o->msg, n->name);
	return shmglue_describe(n, o->shm, o->id);
}

void exec_status(dipc_op *op)
{
	dipc_node *n = op->node;
	dipc_obj *o = obj_find(n, op->id);

	if (!o) {
		op_complete(op, -ENOENT);
		return;
	}
	const dipc_ipc_perm *p = o->sem ? dipc_semset_perm(o->sem)
				   : o->msg ? dipc_msgq_perm(o->msg) : dipc_shmseg_perm(o->shm);
	g_clear_pointer(&op->st.text, g_free);
	/* A lookup or getattr (each name of an ls -l) wants four numbers:
	 * rendering the whole text for it would be most of its cost, and
	 * most of its bytes on the wire. */
	if (!op->st.attrs_only)
		op->st.text = obj_describe(n, o);
	op->st.size = o->shm ? dipc_shmseg_size(o->shm) : 0;
	op->st.uid = p->uid;
	op->st.gid = p->gid;
	op->st.mode = p->mode & 0777;
	op_complete(op, 0);
}

/* ---- xxxget from a local caller ----------------------------------------- */

static void lookup_send(dipc_op *op);

static void commit_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	dipc_op *op = ud;
	dipc_obj *o = obj_find(op->node, op->id);

	if (err == 0 && reply && reply->err)
		err = reply->err;
	if (err < 0) {
		/* The referee did not record it: nobody else can find it, so it
		 * must not exist here either. */
		g_message("referee refused creation of id %d: %s", op->id, g_strerror(-err));
		if (o) {
			dipc_ident root = { .uid = 0, .caps = DIPC_CAPS_ALL };
			if (o->sem)
				dipc_semset_rmid(o->sem, &root);
			else if (o->msg)
				dipc_msgq_rmid(o->msg, &root);
			else
				shmglue_destroy(op->node, o->id);
			obj_destroy(op->node, o);
		}
		op_complete(op, -ENOSPC);
		return;
	}
	op_complete(op, op->id);
}

static void abort_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
}

static void send_abort(dipc_op *op)
{
	g_autoptr(opwire_msg) m = opwire_abort(op->get.kind, op->get.key);

	referee_call(op->node, opwire_env(m), abort_cb, NULL);
}

static void create_here(dipc_op *op, int32_t id)
{
	dipc_node *n = op->node;
	g_autoptr(opwire_msg) m = NULL;
	int r;

	if (op->get.kind == DIPC_KIND_SEM && op->get.size == 0) {
		r = -EINVAL;
		goto fail;
	}
	if (op->get.kind == DIPC_KIND_SEM && n->sems_used + op->get.size > n->conf->semmns) {
		r = -ENOSPC;
		goto fail;
	}
	if (op->get.kind == DIPC_KIND_SHM) {
		/* newseg(): size < SHMMIN or > shmmax: EINVAL; too many pages: ENOSPC */
		if (op->get.size < 1 || op->get.size > n->conf->shmmax) {
			r = -EINVAL;
			goto fail;
		}
		/* shmall: pages of the segments this node owns */
		uint64_t pages = (op->get.size + DIPC_SHM_PAGE - 1) / DIPC_SHM_PAGE, tot = 0;
		GHashTableIter it;
		gpointer v;
		g_hash_table_iter_init(&it, n->owned);
		while (g_hash_table_iter_next(&it, NULL, &v))
			if (((dipc_obj *)v)->shm)
				tot += dipc_shmseg_npages(((dipc_obj *)v)->shm);
		if (tot + pages < tot || tot + pages > n->conf->shmall) {
			r = -ENOSPC;
			goto fail;
		}
	}
	if (!obj_create(n, op, id)) {
		r = -ENOMEM;
		goto fail;
	}
	op->id = id;

	m = opwire_commit(op->get.kind, op->get.key, id, false);
	if (referee_call(n, opwire_env(m), commit_cb, op) < 0)
		commit_cb(NULL, -EHOSTUNREACH, NULL, op);
	return;
fail:
	if (op->get.key != IPC_PRIVATE)
		send_abort(op);
	op_complete(op, r);
}

static void objget_done(dipc_op *op);

static void lookup_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	dipc_op *op = ud;
	dipc_node *n = op->node;

	if (err == 0 && reply->err)
		err = reply->err;
	if (err == 0 && reply->body_case != DIPC__ENVELOPE__BODY_LOOKUP_REPLY)
		err = -EPROTO;
	if (err < 0) {
		/* ENOSPC (semmni reached) is the kernel's answer too; a lost
		 * referee is reported as such. */
		op_complete(op, err == -ENOSPC ? -ENOSPC : -EHOSTUNREACH);
		return;
	}

	const Dipc__LookupReply *lr = reply->lookup_reply;
	if (!lr->found) {
		if (op->get.key != IPC_PRIVATE && !(op->get.flags & IPC_CREAT)) {
			send_abort(op);
			op_complete(op, -ENOENT);
			return;
		}
		create_here(op, lr->id);
		return;
	}
	if ((op->get.flags & IPC_CREAT) && (op->get.flags & IPC_EXCL)) {
		op_complete(op, -EEXIST);
		return;
	}
	if (g_strcmp0(lr->owner, n->name) == 0) {
		/* Ours after all (created since we looked). */
		op->id = lr->id;
		op_complete(op, obj_check_get(n, op));
		return;
	}
	/* The owner checks size and permission.  objget_done either finishes
	 * the caller's get or retries the lookup. */
	op->id = lr->id;
	g_hash_table_replace(n->id_owner, GINT_TO_POINTER(lr->id), g_strdup(lr->owner));
	dipc_op *sub = op_new(n, OP_GET);
	sub->who = op->who;
	sub->id = lr->id;
	sub->get.kind = op->get.kind;
	sub->get.key = op->get.key;
	sub->get.flags = op->get.flags;
	sub->get.size = op->get.size;
	sub->ud = op;
	sub->done = objget_done;
	peer_forward(n, lr->owner, lr->owner_addr, sub);
}

static void objget_done(dipc_op *sub)
{
	dipc_op *op = sub->ud;
	int r = sub->result;

	op_free(sub);
	if (r == -EIDRM && ++op->get.tries < GET_MAX_TRIES) {
		lookup_send(op);
		return;
	}
	op_complete(op, r);
}

static void lookup_send(dipc_op *op)
{
	g_autoptr(opwire_msg) m = opwire_lookup(op->get.kind, op->get.key);

	if (referee_call(op->node, opwire_env(m), lookup_cb, op) < 0)
		op_complete(op, -EHOSTUNREACH);
}

void op_get(dipc_op *op)
{
	dipc_node *n = op->node;
	dipc_obj *o;

	if (op->get.kind != DIPC_KIND_SEM && op->get.kind != DIPC_KIND_MSG && op->get.kind != DIPC_KIND_SHM) {
		op_complete(op, -EINVAL);
		return;
	}
	if (op->get.kind == DIPC_KIND_SEM && op->get.size > n->sem_lim.semmsl) {
		op_complete(op, -EINVAL);
		return;
	}
	if (op->get.key != IPC_PRIVATE && (o = obj_find_key(n, op->get.kind, op->get.key))) {
		if ((op->get.flags & IPC_CREAT) && (op->get.flags & IPC_EXCL)) {
			op_complete(op, -EEXIST);
			return;
		}
		op->id = o->id;
		op_complete(op, obj_check_get(n, op));
		return;
	}
	lookup_send(op);
}
