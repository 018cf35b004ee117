/* SPDX-License-Identifier: MIT */
/*
 * The semaphore-set engine: one System V semaphore set as the owner node
 * keeps it, with the semantics of Linux ipc/sem.c (semop(2), semctl(2)).
 *
 * User-visible behaviour
 *   - semop: the checks come in sem.c's order (EINVAL for no sembufs, E2BIG
 *     above semopm, EFBIG for a sem_num out of the set, EACCES: alter access
 *     if any sem_op != 0, else read access).  The sembufs are applied in
 *     array order, each seeing the result of the previous ones (also on the
 *     same semaphore), all or nothing.  A value above semvmx, or a SEM_UNDO
 *     adjustment outside [-(semaem + 1), semaem], fails the whole call with
 *     ERANGE; a negative value or a non-zero value under a wait-for-zero
 *     blocks it.  On success sempid (pid and node) of every semaphore named
 *     in the call and sem_otime are updated, also for wait-for-zero calls.
 *   - A blocked call is queued at the tail of one FIFO queue.  Whenever
 *     values change the queue is retried from the head; a completed waiter
 *     that changed a value restarts the walk from the head (earlier waiters
 *     may now proceed), a waiter that only waited for zero does not.  A
 *     queued waiter that now fails (ERANGE) is removed and woken with that
 *     error, as update_queue() does.
 *   - semctl: GETVAL/GETPID/GETNCNT/GETZCNT and GETALL check read access
 *     before the semaphore number (EACCES, then EINVAL); SETVAL checks the
 *     value (ERANGE), then the number (EINVAL), then alter access (EACCES),
 *     as semctl_setval() does; SETALL checks alter access, then the count,
 *     then every value.  SETVAL clears that semaphore's adjustment in every
 *     undo record, SETALL all of them.  GETNCNT/GETZCNT count the waiters
 *     whose *blocking* sembuf is on that semaphore with sem_op < 0 / == 0
 *     (current Linux, SUS-compliant).  IPC_SET and IPC_RMID need the
 *     creator, the owner or root (EPERM).  IPC_RMID wakes every waiter with
 *     EIDRM and drops the undo records; later semop/SETVAL/SETALL/IPC_SET/
 *     IPC_RMID on the removed set return EIDRM until the glue frees it.
 *   - SEM_UNDO: an undo record per (node, pid) is created when that process
 *     first completes a SEM_UNDO operation on the set; it stays (possibly all
 *     zero) until the process exits.  At exit each non-zero adjustment is
 *     added and the value clamped to [0, semvmx]; sempid becomes the exiting
 *     process, as exit_sem() does.
 *
 *   Where we differ from Linux:
 *   - IPC_NOWAIT is looked at on the sembuf that blocks, as Linux does: a
 *     call whose blocking sembuf carries it fails with EAGAIN instead of
 *     waiting; and a queued call that, on a retry, blocks on a sembuf with
 *     IPC_NOWAIT is woken with EAGAIN (update_queue() does the same).
 *   - Linux keeps separate queues (per semaphore for single-sembuf calls,
 *     per set for complex ones, wait-for-zero apart from alter) and so may
 *     wake waiters in an order other than arrival; we keep one FIFO queue.
 *     Both orders are allowed by SUS; ours is fairer and predictable.
 *   - Privilege is the caller's effective capabilities as its node read
 *     them (see ipcperm.h), not user-namespace aware.
 *   - A waiter's private fields must start zeroed (queued == false); a
 *     waiter that is still queued is refused with EINVAL.
 *
 * Concurrency/ownership
 *   A set belongs to the single thread of the owner daemon that created it;
 *   there is no locking.  The engine never blocks: "waiting" is the waiter
 *   record staying on the queue until the wake function is called.  Waiters
 *   and their sembufs belong to the glue and are linked in place (no copy),
 *   so they must stay put while queued.  The wake function is called with
 *   the waiter already unlinked (queued == false) and may free or reuse it
 *   at once; it must not call back into the same set.  The engine owns the
 *   undo records and a small pool of node-name strings (one per node that
 *   ever touched the set); semop and the wake-up walk allocate nothing
 *   else, only node_down() and describe() use temporary arrays.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include <glib.h>

#include "ipcstatus.h"
#include "semset.h"

#define NODE_LEN ((size_t) sizeof(((dipc_ident *) NULL)->node))

typedef struct sem_undo_key {
	char node[NODE_LEN]; /* always NUL-terminated */
	int32_t pid;
} sem_undo_key;

/* One process's adjustments; the hash table's key is &un->key. */
typedef struct sem_undo {
	sem_undo_key key;
	int16_t adj[]; /* nsems; semaem <= SHRT_MAX is checked at creation */
} sem_undo;

typedef struct sem_one {
	int semval;
	int32_t sempid;
	const char *sempid_node; /* from s->nodes, NULL until first set */
} sem_one;

struct dipc_semset {
	dipc_ipc_perm perm;
	unsigned nsems;
	sem_one *sems;
	int64_t otime; /* 0 until the first completed semop */
	int64_t ctime;

	dipc_sem_waiter *head, *tail;
	unsigned nwaiters;

	GHashTable *undo; /* sem_undo_key * -> sem_undo * (owned) */
	/* nsems zeros: the adjustments of a caller who has no record yet, so that
	 * trying an operation never allocates; back to zero after every try. */
	int16_t *scratch;
	/* Node names that sempid refers to: a set of owned strings, so that
	 * every semaphore stores a pointer rather than 64 bytes. */
	GHashTable *nodes;

	dipc_sem_limits lim;
	bool removed;
	dipc_sem_wake_fn wake;
	void *wake_ud;
};

/* ---- helpers ------------------------------------------------------------- */

static guint undo_key_hash(gconstpointer p)
{
	const sem_undo_key *k = p;

	return g_str_hash(k->node) ^ ((guint) k->pid * 2654435761u);
}

static gboolean undo_key_equal(gconstpointer a, gconstpointer b)
{
	const sem_undo_key *x = a, *y = b;

	return x->pid == y->pid && strcmp(x->node, y->node) == 0;
}

/* The node names arrive in fixed arrays from other nodes: never read past
 * them even if the sender forgot the NUL. */
static void undo_key_init(sem_undo_key *k, const char *node, int32_t pid)
{
	size_t n = strnlen(node, NODE_LEN - 1);

	memcpy(k->node, node, n);
	k->node[n] = '\0';
	k->pid = pid;
}

static sem_undo *undo_lookup(const dipc_semset *s, const char *node, int32_t pid)
{
	sem_undo_key k;

	undo_key_init(&k, node, pid);
	return g_hash_table_lookup(s->undo, &k);
}

static const char *node_intern(dipc_semset *s, const char *node)
{
	char buf[NODE_LEN];
	size_t n = strnlen(node, NODE_LEN - 1);
	char *name;

	memcpy(buf, node, n);
	buf[n] = '\0';

	name = g_hash_table_lookup(s->nodes, buf);
	if (!name) {
		name = g_strdup(buf);
		g_hash_table_add(s->nodes, name);
	}
	return name;
}

static void set_sempid(dipc_semset *s, unsigned num, int32_t pid, const char *node)
{
	s->sems[num].sempid = pid;
	s->sems[num].sempid_node = node_intern(s, node);
}

static bool can_read(const dipc_semset *s, const dipc_ident *who)
{
	return dipc_ipcperms(&s->perm, who, DIPC_IPC_READ) == 0;
}

static bool can_alter(const dipc_semset *s, const dipc_ident *who)
{
	return dipc_ipcperms(&s->perm, who, DIPC_IPC_WRITE) == 0;
}

static void queue_append(dipc_semset *s, dipc_sem_waiter *w)
{
	DIPC_WAITQ_APPEND(s->head, s->tail, s->nwaiters, w);
}

static void queue_unlink(dipc_semset *s, dipc_sem_waiter *w)
{
	DIPC_WAITQ_UNLINK(s->head, s->tail, s->nwaiters, w);
}

/* ---- the atomic operation ------------------------------------------------ */

/*
 * Try w's sembufs against the current values.  Returns 0 when they were all
 * applied (values, adjustments, sempid, otime updated), 1 when one would block
 * (nothing changed, w->blocking names it), -ERANGE when a value or
 * adjustment would leave its range (nothing changed).  *changed tells
 * whether a completed operation moved any value, i.e. whether waiters ahead
 * of it in the queue deserve another try.
 */
static int try_op(dipc_semset *s, dipc_sem_waiter *w, bool *changed)
{
	const int semvmx = (int) s->lim.semvmx;
	const int semaem = (int) s->lim.semaem;
	sem_undo *un = NULL;
	int16_t *adj = NULL;
	bool want_undo = false;
	unsigned i;
	int r;

	*changed = false;

	for (i = 0; i < w->nsops; i++)
		if (w->sops[i].sem_flg & SEM_UNDO) {
			want_undo = true;
			break;
		}
	if (want_undo) {
		un = undo_lookup(s, w->who.node, w->who.pid);
		adj = un ? un->adj : s->scratch;
	}

	for (i = 0; i < w->nsops; i++) {
		const struct dipc_sembuf *sop = &w->sops[i];
		sem_one *sem = &s->sems[sop->sem_num];
		int result;

		if (sop->sem_op == 0) {
			if (sem->semval != 0) {
				r = 1;
				goto rollback;
			}
			continue;
		}

		result = sem->semval + sop->sem_op;
		if (result < 0) {
			r = 1;
			goto rollback;
		}
		if (result > semvmx) {
			r = -ERANGE;
			goto rollback;
		}
		if (sop->sem_flg & SEM_UNDO) {
			int a = adj[sop->sem_num] - sop->sem_op;

			if (a < -(semaem + 1) || a > semaem) {
				r = -ERANGE;
				goto rollback;
			}
			adj[sop->sem_num] = (int16_t) a;
		}
		sem->semval = result;
	}

	/* Committed.  A caller without a record gets one now, from scratch. */
	if (want_undo && !un) {
		un = g_malloc0(sizeof(*un) + s->nsems * sizeof(un->adj[0]));
		undo_key_init(&un->key, w->who.node, w->who.pid);
		for (i = 0; i < w->nsops; i++)
			if (w->sops[i].sem_flg & SEM_UNDO)
				un->adj[w->sops[i].sem_num] = s->scratch[w->sops[i].sem_num];
		for (i = 0; i < w->nsops; i++)
			s->scratch[w->sops[i].sem_num] = 0;
		g_hash_table_insert(s->undo, &un->key, un);
	}

	{
		const char *node = node_intern(s, w->who.node);

		for (i = 0; i < w->nsops; i++) {
			s->sems[w->sops[i].sem_num].sempid = w->who.pid;
			s->sems[w->sops[i].sem_num].sempid_node = node;
			if (w->sops[i].sem_op != 0)
				*changed = true;
		}
	}
	s->otime = dipc_now_sec();
	w->blocking = -1;
	return 0;

rollback:
	if (r == 1)
		w->blocking = (int) i;
	/* Undo sembufs [0, i) in reverse; sembuf i changed nothing. */
	while (i-- > 0) {
		const struct dipc_sembuf *sop = &w->sops[i];

		if (sop->sem_op == 0)
			continue;
		s->sems[sop->sem_num].semval -= sop->sem_op;
		if (sop->sem_flg & SEM_UNDO)
			adj[sop->sem_num] = (int16_t) (adj[sop->sem_num] + sop->sem_op);
	}
	return r;
}

/*
 * Retry the queue after values changed.  Every queued waiter was blocked on
 * the values it last saw, so only a change can let one proceed; hence the
 * restart from the head after a waiter that changed something, and plain
 * continuation after one that only waited for zero.  Each restart follows a
 * removal, so the walk ends.
 */
static void update_queue(dipc_semset *s)
{
	dipc_sem_waiter *w = s->head;

	while (w) {
		/* wake() may free w; it cannot touch the queue, so next stays. */
		dipc_sem_waiter *next = w->next;
		bool changed;
		int r;

		r = try_op(s, w, &changed);
		if (r == 1 && (w->sops[w->blocking].sem_flg & IPC_NOWAIT))
			r = -EAGAIN;
		if (r == 1) {
			w = next;
			continue;
		}

		queue_unlink(s, w);
		s->wake(w, r, s->wake_ud);
		w = (r == 0 && changed) ? s->head : next;
	}
}

/* ---- lifetime ------------------------------------------------------------ */

dipc_semset *dipc_semset_new(int32_t key, int32_t id, unsigned nsems, unsigned mode,
			     const dipc_ident *creator, const dipc_sem_limits *lim,
			     dipc_sem_wake_fn wake, void *wake_ud)
{
	dipc_semset *s;

	g_return_val_if_fail(creator && lim && wake, NULL);
	/* The caller checked nsems against semmsl (EINVAL); these are bugs. */
	g_return_val_if_fail(lim->semmsl >= 1 && lim->semmsl <= DIPC_SEMMSL_MAX, NULL);
	g_return_val_if_fail(nsems >= 1 && nsems <= lim->semmsl, NULL);
	g_return_val_if_fail(lim->semopm >= 1 && lim->semopm <= DIPC_SEMOPM_MAX, NULL);
	/* Values travel as uint16 (GETALL/SETALL), adjustments live in int16. */
	g_return_val_if_fail(lim->semvmx >= 1 && lim->semvmx <= UINT16_MAX, NULL);
	g_return_val_if_fail(lim->semaem <= SHRT_MAX, NULL);

	s = g_new0(dipc_semset, 1);
	dipc_ipc_perm_init(&s->perm, key, id, mode, creator);
	s->nsems = nsems;
	s->sems = g_new0(sem_one, nsems);
	s->scratch = g_new0(int16_t, nsems);
	s->undo = g_hash_table_new_full(undo_key_hash, undo_key_equal, NULL, g_free);
	s->nodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	s->lim = *lim;
	s->ctime = dipc_now_sec();
	s->wake = wake;
	s->wake_ud = wake_ud;
	return s;
}

void dipc_semset_free(dipc_semset *s)
{
	if (!s)
		return;

	/* A queued waiter would be left pointing into freed memory. */
	g_warn_if_fail(s->nwaiters == 0);

	g_hash_table_destroy(s->undo);
	g_hash_table_destroy(s->nodes);
	g_free(s->scratch);
	g_free(s->sems);
	g_free(s);
}

/* ---- semget, semop ------------------------------------------------------- */

int dipc_semset_check_get(const dipc_semset *s, const dipc_ident *who, int flags,
			  unsigned nsems)
{
	g_return_val_if_fail(s && who, -EINVAL);

	/* sem_more_checks() runs before ipc_check_perms() in ipcget_public(). */
	if (nsems > s->nsems)
		return -EINVAL;
	return dipc_ipc_check_get(&s->perm, who, flags);
}

int dipc_semset_op(dipc_semset *s, dipc_sem_waiter *w)
{
	bool alter = false, bad_num = false;
	bool changed;
	int r;

	g_return_val_if_fail(s && w, -EINVAL);
	g_return_val_if_fail(!w->queued, -EINVAL);

	if (w->nsops < 1)
		return -EINVAL;
	if (w->nsops > s->lim.semopm)
		return -E2BIG;
	g_return_val_if_fail(w->sops, -EINVAL);

	for (unsigned i = 0; i < w->nsops; i++) {
		if (w->sops[i].sem_num >= s->nsems)
			bad_num = true;
		if (w->sops[i].sem_op != 0)
			alter = true;
	}
	if (bad_num)
		return -EFBIG;
	r = dipc_ipcperms(&s->perm, &w->who, alter ? DIPC_IPC_WRITE : DIPC_IPC_READ);
	if (r < 0)
		return r;
	if (s->removed)
		return -EIDRM;

	w->prev = w->next = NULL;
	w->blocking = -1;

	r = try_op(s, w, &changed);
	if (r == 0) {
		if (changed)
			update_queue(s);
		return 0;
	}
	if (r < 0)
		return r;
	if (w->sops[w->blocking].sem_flg & IPC_NOWAIT)
		return -EAGAIN;

	queue_append(s, w);
	return 1;
}

void dipc_semset_cancel(dipc_semset *s, dipc_sem_waiter *w)
{
	g_return_if_fail(s && w);

	/* Removing a blocked waiter changes no value, so nobody else can
	 * proceed because of it: no queue walk. */
	if (w->queued)
		queue_unlink(s, w);
}

/* ---- SEM_UNDO ------------------------------------------------------------ */

/* exit_sem() for one record; the caller walks the queue afterwards.
 * Returns whether any value moved. */
static bool undo_apply_and_drop(dipc_semset *s, sem_undo *un)
{
	const char *node = node_intern(s, un->key.node);
	bool changed = false;

	for (unsigned i = 0; i < s->nsems; i++) {
		int v;

		if (un->adj[i] == 0)
			continue;
		v = s->sems[i].semval + un->adj[i];
		if (v < 0)
			v = 0;
		if (v > (int) s->lim.semvmx)
			v = (int) s->lim.semvmx;
		if (v != s->sems[i].semval)
			changed = true;
		s->sems[i].semval = v;
		s->sems[i].sempid = un->key.pid;
		s->sems[i].sempid_node = node;
	}
	g_hash_table_remove(s->undo, &un->key); /* frees un */
	return changed;
}

void dipc_semset_exit(dipc_semset *s, const char *node, int32_t pid)
{
	sem_undo *un;

	g_return_if_fail(s && node);

	un = undo_lookup(s, node, pid);
	if (un && undo_apply_and_drop(s, un))
		update_queue(s);
}

void dipc_semset_node_down(dipc_semset *s, const char *node)
{
	g_autoptr(GPtrArray) dead = NULL;
	GHashTableIter it;
	gpointer value;
	sem_undo_key k;
	bool changed = false;

	g_return_if_fail(s && node);

	/* Compare the way the records were keyed (bounded, NUL-terminated). */
	undo_key_init(&k, node, 0);

	dead = g_ptr_array_new();
	g_hash_table_iter_init(&it, s->undo);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		sem_undo *un = value;

		if (strcmp(un->key.node, k.node) == 0)
			g_ptr_array_add(dead, un);
	}
	for (guint i = 0; i < dead->len; i++)
		changed |= undo_apply_and_drop(s, dead->pdata[i]);
	if (changed)
		update_queue(s);
}

bool dipc_semset_has_undo(const dipc_semset *s, const char *node, int32_t pid)
{
	g_return_val_if_fail(s && node, false);

	return undo_lookup(s, node, pid) != NULL;
}

/* ---- semctl -------------------------------------------------------------- */

int dipc_semset_stat(const dipc_semset *s, const dipc_ident *who, bool check_perm,
		     struct dipc_semid_ds *ret_ds)
{
	g_return_val_if_fail(s && ret_ds, -EINVAL);
	g_return_val_if_fail(!check_perm || who, -EINVAL);

	if (dipc_ipc_stat_check(&s->perm, who, check_perm) < 0)
		return -EACCES;

	memset(ret_ds, 0, sizeof(*ret_ds));
	dipc_ipc_perm_export(&s->perm, &ret_ds->perm);
	ret_ds->otime = s->otime;
	ret_ds->ctime = s->ctime;
	ret_ds->nsems = s->nsems;
	return 0;
}

int dipc_semset_ipc_set(dipc_semset *s, const dipc_ident *who, uint32_t uid,
			uint32_t gid, uint32_t mode)
{
	int r;

	g_return_val_if_fail(s && who, -EINVAL);

	r = dipc_ipc_ctl_check(&s->perm, who, s->removed);
	if (r < 0)
		return r;

	dipc_ipc_set_perm(&s->perm, &s->ctime, uid, gid, mode);
	return 0;
}

int dipc_semset_rmid(dipc_semset *s, const dipc_ident *who)
{
	int r;

	g_return_val_if_fail(s && who, -EINVAL);

	r = dipc_ipc_ctl_check(&s->perm, who, s->removed);
	if (r < 0)
		return r;

	s->removed = true;
	while (s->head) {
		dipc_sem_waiter *w = s->head;

		queue_unlink(s, w);
		s->wake(w, -EIDRM, s->wake_ud);
	}
	g_hash_table_remove_all(s->undo);
	return 0;
}

int dipc_semset_get(const dipc_semset *s, const dipc_ident *who, int cmd, int semnum)
{
	int count = 0;

	g_return_val_if_fail(s && who, -EINVAL);

	switch (cmd) {
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
		break;
	default:
		return -EINVAL;
	}

	/* semctl_main(): permission before the semaphore number. */
	if (!can_read(s, who))
		return -EACCES;
	if (semnum < 0 || (unsigned) semnum >= s->nsems)
		return -EINVAL;

	switch (cmd) {
	case GETVAL:
		return s->sems[semnum].semval;
	case GETPID:
		return s->sems[semnum].sempid;
	default:
		for (const dipc_sem_waiter *w = s->head; w; w = w->next) {
			const struct dipc_sembuf *sop;

			g_assert(w->blocking >= 0 && (unsigned) w->blocking < w->nsops);
			sop = &w->sops[w->blocking];
			if (sop->sem_num != (unsigned) semnum)
				continue;
			if (cmd == GETNCNT ? sop->sem_op < 0 : sop->sem_op == 0)
				count++;
		}
		return count;
	}
}

int dipc_semset_setval(dipc_semset *s, const dipc_ident *who, int semnum, int val)
{
	GHashTableIter it;
	gpointer value;

	g_return_val_if_fail(s && who, -EINVAL);

	/* semctl_setval()'s order: value, number, permission. */
	if (val < 0 || (unsigned) val > s->lim.semvmx)
		return -ERANGE;
	if (semnum < 0 || (unsigned) semnum >= s->nsems)
		return -EINVAL;
	if (!can_alter(s, who))
		return -EACCES;
	if (s->removed)
		return -EIDRM;

	/* An adjustment recorded against the old value would now undo
	 * something that no longer happened. */
	g_hash_table_iter_init(&it, s->undo);
	while (g_hash_table_iter_next(&it, NULL, &value))
		((sem_undo *) value)->adj[semnum] = 0;

	s->sems[semnum].semval = val;
	set_sempid(s, (unsigned) semnum, who->pid, who->node);
	s->ctime = dipc_now_sec();
	update_queue(s);
	return 0;
}

int dipc_semset_getall(const dipc_semset *s, const dipc_ident *who, uint16_t *vals,
		       unsigned cap)
{
	g_return_val_if_fail(s && who, -EINVAL);

	if (!can_read(s, who))
		return -EACCES;
	if (!vals || cap < s->nsems)
		return -EINVAL;

	for (unsigned i = 0; i < s->nsems; i++)
		vals[i] = (uint16_t) s->sems[i].semval;
	return 0;
}

int dipc_semset_setall(dipc_semset *s, const dipc_ident *who, const uint16_t *vals,
		       unsigned n)
{
	GHashTableIter it;
	gpointer value;
	const char *node;

	g_return_val_if_fail(s && who, -EINVAL);

	if (!can_alter(s, who))
		return -EACCES;
	if (!vals || n != s->nsems)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (vals[i] > s->lim.semvmx)
			return -ERANGE;
	if (s->removed)
		return -EIDRM;

	g_hash_table_iter_init(&it, s->undo);
	while (g_hash_table_iter_next(&it, NULL, &value))
		memset(((sem_undo *) value)->adj, 0, s->nsems * sizeof(int16_t));

	node = node_intern(s, who->node);
	for (unsigned i = 0; i < n; i++) {
		s->sems[i].semval = vals[i];
		s->sems[i].sempid = who->pid;
		s->sems[i].sempid_node = node;
	}
	s->ctime = dipc_now_sec();
	update_queue(s);
	return 0;
}

/* ---- accessors ----------------------------------------------------------- */

unsigned dipc_semset_nsems(const dipc_semset *s)
{
	return s->nsems;
}

int32_t dipc_semset_id(const dipc_semset *s)
{
	return s->perm.id;
}

int32_t dipc_semset_key(const dipc_semset *s)
{
	return s->perm.key;
}

const dipc_ipc_perm *dipc_semset_perm(const dipc_semset *s)
{
	return &s->perm;
}

unsigned dipc_semset_nwaiters(const dipc_semset *s)
{
	return s->nwaiters;
}

/* ---- describe ------------------------------------------------------------ */

/*
 * The text of `cat /MOUNT/sem/KEY`.  Plain ASCII, every line ends in '\n':
 *
 *   key       0x0000162e          the key as 8 hex digits (0 = IPC_PRIVATE)
 *   id        32513
 *   owner     node1               the owner node ("-" if unknown)
 *   mode      0600                the low 9 bits, 4 octal digits
 *   uid       0                   then gid, cuid, cgid
 *   nsems     2
 *   otime     2026-11-22 04:50:01 UTC    or "never"
 *   ctime     2026-11-22 04:49:58 UTC
 *   removed   yes                 only once IPC_RMID has been done
 *   <empty line>
 *   sem  semval  sempid      semncnt  semzcnt
 *   0    1       1234@node2  0        0
 *   1    0       -           1        0
 *   <empty line>
 *   waiters   1
 *     1235@node3  [1:-1, 0:+1 undo, 1:0]
 *   undo      1
 *     1234@node2  [0:-1]
 *
 * Labels of the header block are padded to 10 columns.  The table's columns
 * are left-aligned, each as wide as its widest cell, two spaces apart; sempid
 * is pid@node, or "-" if no process has touched the semaphore.  Waiters are
 * listed in queue order with their sembufs as num:op (op signed: -1, 0, +1)
 * plus " undo" and " nowait" flags; undo records are sorted by node then pid and list their
 * non-zero adjustments as num:adj ("[]" when all are zero).
 *
 * The lines, times, perm block and tables are written by ipcstatus.c, so
 * the kinds cannot drift apart.
 */

static gint undo_cmp(gconstpointer a, gconstpointer b)
{
	const sem_undo *x = *(const sem_undo * const *) a;
	const sem_undo *y = *(const sem_undo * const *) b;
	int c = strcmp(x->key.node, y->key.node);

	if (c != 0)
		return c;
	return x->key.pid < y->key.pid ? -1 : x->key.pid > y->key.pid;
}

/* The per-semaphore table.  semncnt/semzcnt come from one pass over the
 * queue instead of one per semaphore. */
static void describe_sems(GString *out, const dipc_semset *s)
{
	g_autoptr(dipc_status_table) t = dipc_status_table_new(5);
	g_autofree unsigned *ncnt = g_new0(unsigned, s->nsems);
	g_autofree unsigned *zcnt = g_new0(unsigned, s->nsems);
	char pid[DIPC_STATUS_PID_LEN];

	for (const dipc_sem_waiter *w = s->head; w; w = w->next) {
		const struct dipc_sembuf *sop = &w->sops[w->blocking];

		if (sop->sem_op < 0)
			ncnt[sop->sem_num]++;
		else if (sop->sem_op == 0)
			zcnt[sop->sem_num]++;
	}

	dipc_status_table_cell(t, "sem");
	dipc_status_table_cell(t, "semval");
	dipc_status_table_cell(t, "sempid");
	dipc_status_table_cell(t, "semncnt");
	dipc_status_table_cell(t, "semzcnt");
	for (unsigned i = 0; i < s->nsems; i++) {
		dipc_status_pid_or_dash(pid, sizeof(pid), s->sems[i].sempid, s->sems[i].sempid_node);
		dipc_status_table_cell(t, "%u", i);
		dipc_status_table_cell(t, "%d", s->sems[i].semval);
		dipc_status_table_cell(t, "%s", pid);
		dipc_status_table_cell(t, "%u", ncnt[i]);
		dipc_status_table_cell(t, "%u", zcnt[i]);
	}
	dipc_status_table_render(t, out, "");
}

/* The queue, in order: pid@node and the sembufs as [num:op flags, ...]. */
static void describe_waiters(GString *out, const dipc_semset *s)
{
	g_autoptr(dipc_status_table) t = dipc_status_table_new(2);
	g_autoptr(GString) ops = g_string_new(NULL);
	char pid[DIPC_STATUS_PID_LEN];

	dipc_status_line(out, "waiters", "%u", s->nwaiters);
	for (const dipc_sem_waiter *w = s->head; w; w = w->next) {
		g_string_assign(ops, "[");
		for (unsigned i = 0; i < w->nsops; i++) {
			const struct dipc_sembuf *sop = &w->sops[i];

			g_string_append_printf(ops, "%s%u:%s%d%s%s", i ? ", " : "",
					       (unsigned) sop->sem_num, sop->sem_op > 0 ? "+" : "",
					       (int) sop->sem_op,
					       sop->sem_flg & SEM_UNDO ? " undo" : "",
					       sop->sem_flg & IPC_NOWAIT ? " nowait" : "");
		}
		g_string_append_c(ops, ']');
		dipc_status_pid(pid, sizeof(pid), w->who.pid, w->who.node);
		dipc_status_table_cell(t, "%s", pid);
		dipc_status_table_cell(t, "%s", ops->str);
	}
	dipc_status_table_render(t, out, "  ");
}

/* The undo records by node then pid, with their non-zero adjustments. */
static void describe_undos(GString *out, const dipc_semset *s)
{
	g_autoptr(dipc_status_table) t = dipc_status_table_new(2);
	g_autoptr(GPtrArray) undos = g_ptr_array_new();
	g_autoptr(GString) adj = g_string_new(NULL);
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, s->undo);
	while (g_hash_table_iter_next(&it, NULL, &value))
		g_ptr_array_add(undos, value);
	g_ptr_array_sort(undos, undo_cmp);

	dipc_status_line(out, "undo", "%u", undos->len);
	for (guint j = 0; j < undos->len; j++) {
		const sem_undo *un = undos->pdata[j];

		g_string_assign(adj, "[");
		for (unsigned i = 0; i < s->nsems; i++)
			if (un->adj[i] != 0)
				g_string_append_printf(adj, "%s%u:%+d", adj->len > 1 ? ", " : "", i,
						       (int) un->adj[i]);
		g_string_append_c(adj, ']');
		dipc_status_table_cell(t, "%d@%s", (int) un->key.pid, un->key.node);
		dipc_status_table_cell(t, "%s", adj->str);
	}
	dipc_status_table_render(t, out, "  ");
}

char *dipc_semset_describe(const dipc_semset *s, const char *owner_node)
{
	GString *out;

	g_return_val_if_fail(s, NULL);

	out = g_string_new(NULL);
	dipc_status_perm(out, &s->perm, owner_node);
	dipc_status_line(out, "nsems", "%u", s->nsems);
	dipc_status_time(out, "otime", s->otime);
	dipc_status_time(out, "ctime", s->ctime);
	dipc_status_removed(out, s->removed);
	g_string_append_c(out, '\n');
	describe_sems(out, s);
	g_string_append_c(out, '\n');
	describe_waiters(out, s);
	describe_undos(out, s);
	return g_string_free(out, FALSE);
}
