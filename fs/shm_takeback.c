/* SPDX-License-Identifier: MIT */
/**
 * @file shm_takeback.c
 *
 * Take-backs on this node (a "flush"): giving pages up, for the manager
 * (a revoke) or for a local direct read or write.  Every process that has
 * the segment attached gets a command through its helper thread's mailbox
 * (the helper is parked in DIPC_IOC_SHMWAIT) to mprotect the pages
 * PROT_READ (keep for reading) or PROT_NONE (give up); once all have
 * acknowledged, the pages given up are invalidated (shm_inval.c), and the
 * take-back ends: the dirty pages go to the manager, the next one starts.
 *
 * The processes are watched here too: attach counts per process, its exit
 * (its pidfd in the node's exit watch set, exitwatch.c, drained before
 * every operation; the helper's interrupted wait; a reaper for those that
 * owe acknowledgements), and the detaches its end sends to the owner.
 *
 * Loop thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shm.h"

/* A process of this node with attaches (and a helper thread). */
typedef struct shm_proc {
	int32_t tgid;
	fuse_req_t wait_req;
	GQueue cmds;             /* shm_cmd: to deliver */
	GQueue sent;             /* delivered, not acknowledged */
	uint64_t seq;
	GHashTable *att;         /* id -> count */
	GHashTable *att_rw;      /* id -> attaches without SHM_RDONLY */
	GHashTable *fresh;       /* id -> fresh_ds: the owner's answer to its shmat */
	bool in_intr;
	int pidfd;               /* exit watch (-1: none) */
	dipc_exit_watch exit;    /* in the node's exit watch set (exitwatch.c) */
	int32_t helper_tid;      /* the thread parked in SHMWAIT */
	dipc_node *n;
} shm_proc;

/* What the owner said of a segment when it counted an attach: the status
 * the shim's open of shm/.id.ID that follows needs (shmglue_attach_status). */
typedef struct fresh_ds {
	uint32_t uid, gid, mode;
	uint64_t size;
	uint64_t at_ms;
} fresh_ds;

#define FRESH_MS 1000

typedef struct shm_cmd {
	struct dipc_shm_cmd c;
	shm_flush *f;
} shm_cmd;

/* ---- helpers: commands to the processes of this node ---- */

static void proc_gone(dipc_node *n, shm_proc *p);
static bool proc_dead(int32_t tgid);

/* Its pidfd is readable: the process has exited (from the loop, or from the
 * exitwatch_flush before an operation, so that whoever reaped it sees its
 * detaches). */
static void proc_exited(void *ud)
{
	shm_proc *p = ud;
	SHM_TRACE("shm: proc %d gone: pidfd", p->tgid);
	proc_gone(p->n, p);
}

static shm_proc *proc_get(dipc_node *n, int32_t tgid, bool create)
{
	shm_state *st = shm_st(n);
	shm_proc *p = g_hash_table_lookup(st->procs, GINT_TO_POINTER(tgid));
	if (!p && create) {
		p = g_new0(shm_proc, 1);
		p->tgid = tgid;
		g_queue_init(&p->cmds);
		g_queue_init(&p->sent);
		p->att = g_hash_table_new(g_direct_hash, g_direct_equal);
		p->att_rw = g_hash_table_new(g_direct_hash, g_direct_equal);
		p->fresh = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
		p->n = n;
		/* Its exit ends its attaches, even if its helper never ran. */
		p->pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
		if (p->pidfd >= 0 && exitwatch_add(n, &p->exit, p->pidfd, proc_exited, p) < 0) {
			/* the helper's interrupted wait and the reaper still tell */
			g_message("shm: cannot watch pid %d: %s", tgid, g_strerror(errno));
			close(p->pidfd);
			p->pidfd = -1;
		}
		g_hash_table_insert(st->procs, GINT_TO_POINTER(tgid), p);
	}
	return p;
}
/* Every process has applied its command (and written the run back).
 * Pages kept for reading stay in the page cache: they are current and clean
 * now.  Pages given up are dropped from every mapping of the node. */
static void flush_acked(shm_flush *f)
{
	if (--f->acks > 0)
		return;
	if (f->prot == DIPC_SHM_PROT_READ && !f->s->departed)
		shm_flush_done(f);
	else
		shm_inval_flush(f);
}

static void proc_deliver(dipc_node *n, shm_proc *p)
{
	if (!p->wait_req || g_queue_is_empty(&p->cmds))
		return;
	struct dipc_ioc_shmwait out = { 0 };
	shm_cmd *c;
	while (out.ncmds < DIPC_SHMWAIT_MAX && (c = g_queue_pop_head(&p->cmds))) {
		out.cmds[out.ncmds++] = c->c;
		g_queue_push_tail(&p->sent, c);
	}
	fuse_req_t req = p->wait_req;
	p->wait_req = NULL;
	for (unsigned i = 0; i < out.ncmds; i++)
		SHM_TRACE("shm: cmd to %d: %lu+%lu prot %d rev %u seq %lu", p->tgid,
			(unsigned long)out.cmds[i].first, (unsigned long)out.cmds[i].count,
			out.cmds[i].prot, out.cmds[i].rev, (unsigned long)out.cmds[i].seq);
	fuse_reply_ioctl(req, 0, &out, sizeof(out));
}

static void proc_ack(shm_proc *p, uint64_t ack)
{
	shm_cmd *c;
	while ((c = g_queue_peek_head(&p->sent)) && c->c.seq <= ack) {
		g_queue_pop_head(&p->sent);
		shm_flush *f = c->f;
		g_free(c);
		flush_acked(f);
	}
}

static void detach_send(dipc_node *n, int32_t tgid, int32_t id, unsigned count);

/* The process is gone (exit, exec, or it died before its helper ran): its
 * commands count as done, its attaches end. */
static void proc_gone(dipc_node *n, shm_proc *p)
{
	GHashTableIter it;
	gpointer k, v;
	shm_cmd *c;

	g_hash_table_steal(shm_st(n)->procs, GINT_TO_POINTER(p->tgid));
	if (p->in_intr)
		g_queue_remove(&shm_st(n)->intr_procs, p);
	/* Detach first: the helper's answer lets the process finish exiting
	 * (or exec'ing), and whoever waits for that must see the new count. */
	g_hash_table_iter_init(&it, p->att);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		shm_local *s = shm_local_find(n, GPOINTER_TO_INT(k));
		if (s)
			s->departed = true;
		detach_send(n, p->tgid, GPOINTER_TO_INT(k), GPOINTER_TO_UINT(v));
	}
	g_hash_table_destroy(p->att);
	g_hash_table_destroy(p->att_rw);
	g_hash_table_destroy(p->fresh);
	if (p->wait_req) {
		fuse_reply_err(p->wait_req, EINTR);
		p->wait_req = NULL;
	}
	while ((c = g_queue_pop_head(&p->sent)) || (c = g_queue_pop_head(&p->cmds))) {
		shm_flush *f = c->f;
		g_free(c);
		flush_acked(f);
	}
	if (p->pidfd >= 0) {
		exitwatch_del(n, &p->exit);
		close(p->pidfd);
	}
	g_free(p);
}

/* Was the helper's wait interrupted because its process is exiting or
 * exec'ing?  Then the kernel has queued SIGKILL for every other thread
 * (zap_other_threads), the helper included, or the thread is gone already.
 * Anything else (a spurious interrupt) is not the end of the process. */
static bool helper_killed(int32_t tgid, int32_t tid)
{
	char path[96], line[256];
	bool killed = true;   /* no such thread: gone */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)tgid, (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "SigPnd:", 7) == 0) {
			uint64_t pend = g_ascii_strtoull(line + 7, NULL, 16);
			killed = (pend >> (SIGKILL - 1)) & 1;
		} else if (strncmp(line, "State:", 6) == 0 && (strchr(line, 'Z') || strchr(line, 'X'))) {
			killed = true;
			break;
		}
	}
	fclose(f);
	return killed;
}

static bool proc_dead(int32_t tgid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tgid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return true;
	buf[r] = 0;
	const char *paren = strrchr(buf, ')');
	return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

/* Processes that owe acknowledgements and have no helper parked: dead? */
static void reaper_cb(uv_timer_t *t)
{
	dipc_node *n = t->data;
	GHashTableIter it;
	gpointer v;
	GSList *dead = NULL;
	bool owing = false;

	g_hash_table_iter_init(&it, shm_st(n)->procs);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		shm_proc *p = v;
		if (g_queue_is_empty(&p->cmds) && g_queue_is_empty(&p->sent))
			continue;
		if (!p->wait_req && proc_dead(p->tgid))
			dead = g_slist_prepend(dead, p);
		else
			owing = true;
	}
	for (GSList *l = dead; l; l = l->next) {
		SHM_TRACE("shm: proc %d gone: reaper", ((shm_proc *)l->data)->tgid);
		proc_gone(n, l->data);
	}
	g_slist_free(dead);
	if (!owing)
		uv_timer_stop(t);
}

/* ---- flushes ---- */

static void flush_next(shm_local *s)
{
	shm_state *st = shm_st(s->n);
	GHashTableIter it;
	gpointer v;
	shm_flush *f;

	if (s->flush || !(f = g_queue_pop_head(&s->flushes)))
		return;
	s->flush = f;
	s->rev++;
	f->acks = 1;   /* ours, dropped below */
	g_hash_table_iter_init(&it, st->procs);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		shm_proc *p = v;
		if (!g_hash_table_contains(p->att, GINT_TO_POINTER(s->id)))
			continue;
		for (guint i = 0; i < f->runs->len; i++) {
			const dipc_shm_run *r = &g_array_index(f->runs, dipc_shm_run, i);
			shm_cmd *c = g_new0(shm_cmd, 1);
			c->c.seq = ++p->seq;
			c->c.id = s->id;
			c->c.prot = f->prot;
			c->c.first = r->first;
			c->c.count = r->count;
			c->c.rev = s->rev;
			c->f = f;
			f->acks++;
			g_queue_push_tail(&p->cmds, c);
		}
		proc_deliver(s->n, p);
	}
	if (f->acks > 1 && !uv_is_active((uv_handle_t *)&st->reaper))
		uv_timer_start(&st->reaper, reaper_cb, 250, 250);
	flush_acked(f);
}

shm_flush *shm_flush_new(shm_local *s, int prot)
{
	shm_flush *f = g_new0(shm_flush, 1);
	f->s = s;
	f->prot = prot;
	f->runs = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	return f;
}

void shm_flush_queue(shm_flush *f)
{
	g_queue_push_tail(&f->s->flushes, f);
	if (!f->s->flush)
		flush_next(f->s);
}

static void revoke_reply(shm_flush *f, GArray *dirty);

void shm_flush_done(shm_flush *f)
{
	shm_local *s = f->s;
	GArray *dirty = NULL;

	for (guint i = 0; i < f->runs->len; i++)
		SHM_TRACE("shm: flush %d: %s %lu+%lu prot %d", s->id, f->revoke ? "revoke" : "local",
			(unsigned long)g_array_index(f->runs, dipc_shm_run, i).first,
			(unsigned long)g_array_index(f->runs, dipc_shm_run, i).count, f->prot);
	if (f->revoke) {
		dirty = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
		for (guint i = 0; i < f->runs->len; i++) {
			const dipc_shm_run *r = &g_array_index(f->runs, dipc_shm_run, i);
			for (uint64_t p = r->first; p < r->first + r->count && p < s->npages; p++) {
				if (s->state[p] == PG_W)
					dipc_shm_runs_add(dirty, p, 1);
				s->state[p] = f->to_read ? (s->state[p] ? PG_R : PG_I) : PG_I;
			}
		}
		if (f->local_mgr) {
			if (s->m)
				shm_mgr_revoked(s->m, 0);
		} else {
			revoke_reply(f, dirty);
		}
		g_array_free(dirty, TRUE);
	}
	s->flush = NULL;
	if (f->w) {
		shm_wait *w = f->w;
		g_queue_remove(&s->waits, w);
		w->flushing = false;
		shm_wait_answer(w, w->interrupted ? -EINTR : 0);
	}
	g_array_free(f->runs, TRUE);
	g_free(f);
	flush_next(s);
	shm_serve_waits(s);
	shm_acquire_next(s);
	shm_local_free_if_idle(s);
}

/* The manager (remote, or this node's) takes runs back from this node. */
void shm_revoke_start(shm_local *s, const GArray *runs, bool to_read, dipc_conn *conn,
			 uint64_t req_id, bool local_mgr)
{
	shm_flush *f = shm_flush_new(s, to_read ? DIPC_SHM_PROT_READ : DIPC_SHM_PROT_NONE);
	for (guint i = 0; i < runs->len; i++) {
		const dipc_shm_run *r = &g_array_index(runs, dipc_shm_run, i);
		if (r->first < s->npages)
			dipc_shm_runs_add(f->runs, r->first, MIN(r->count, s->npages - r->first));
	}
	f->revoke = true;
	f->to_read = to_read;
	f->conn = conn;
	f->req_id = req_id;
	f->local_mgr = local_mgr;
	shm_flush_queue(f);
}

static void revoke_reply(shm_flush *f, GArray *dirty)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__ShmRevokeReply rr = DIPC__SHM_REVOKE_REPLY__INIT;
	Dipc__ShmPages pg = DIPC__SHM_PAGES__INIT;
	g_autofree uint64_t *a = NULL, *b = NULL;
	g_autofree uint8_t *data = NULL;

	if (!f->conn)
		return;   /* the manager went away */
	if (shm_pages_fill(f->s, dirty, &pg, &a, &b, &data, true) < 0) {
		/* the manager logs the written pages as lost */
		dipc_conn_reply_err(f->conn, f->req_id, -EIO);
		return;
	}
	rr.dirty = &pg;
	env.body_case = DIPC__ENVELOPE__BODY_SHM_REVOKE_REPLY;
	env.shm_revoke_reply = &rr;
	dipc_conn_reply(f->conn, f->req_id, &env);
}

/* ShmRevoke: the manager takes runs back from this node. */
void shm_takeback_serve(dipc_node *n, dipc_conn *c, Dipc__Envelope *env)
{
	const Dipc__ShmRevoke *rv = env->shm_revoke;
	shm_local *s = shm_local_find(n, rv->id);

	if (!s) {
		/* Never had it (or forgot it): nothing to give back. */
		Dipc__Envelope r = DIPC__ENVELOPE__INIT;
		Dipc__ShmRevokeReply rr = DIPC__SHM_REVOKE_REPLY__INIT;
		r.body_case = DIPC__ENVELOPE__BODY_SHM_REVOKE_REPLY;
		r.shm_revoke_reply = &rr;
		dipc_conn_reply(c, env->req_id, &r);
		return;
	}
	GArray *runs = shm_runs_from_pb(rv->pages);
	shm_revoke_start(s, runs, rv->to_read, c, env->req_id, false);
	g_array_free(runs, TRUE);
}

/* A connection closed: the take-backs it asked for answer nobody. */
void shm_takeback_conn_closed(shm_local *s, dipc_conn *c)
{
	for (GList *l = s->flushes.head; l; l = l->next)
		if (((shm_flush *)l->data)->conn == c)
			((shm_flush *)l->data)->conn = NULL;
	if (s->flush && s->flush->conn == c)
		s->flush->conn = NULL;
}

/* ---- attaches of this node's processes ---- */

/* The caller's node, after the owner counted an attach: from now on the
 * process gets the take-back commands of the segment.  *rev and *flushing
 * tell the shim how to map it: a take-back that already runs did not send
 * this process its commands, so it maps PROT_NONE and faults through the
 * daemon, which holds the faults until the take-back ends. */
void shmglue_attached(dipc_node *n, int32_t tgid, int32_t id, const struct dipc_shmid_ds *ds,
		      const char *owner, bool writable, uint32_t *rev, bool *flushing)
{
	shm_proc *p = proc_get(n, tgid, true);
	uint64_t size = ds->segsz;
	fresh_ds *f = g_new(fresh_ds, 1);
	f->uid = ds->perm.uid;
	f->gid = ds->perm.gid;
	f->mode = ds->perm.mode & 0777;
	f->size = ds->segsz;
	f->at_ms = uv_now(n->loop);
	g_hash_table_replace(p->fresh, GINT_TO_POINTER(id), f);
	unsigned c = GPOINTER_TO_UINT(g_hash_table_lookup(p->att, GINT_TO_POINTER(id)));
	g_hash_table_replace(p->att, GINT_TO_POINTER(id), GUINT_TO_POINTER(c + 1));
	if (writable) {
		c = GPOINTER_TO_UINT(g_hash_table_lookup(p->att_rw, GINT_TO_POINTER(id)));
		g_hash_table_replace(p->att_rw, GINT_TO_POINTER(id), GUINT_TO_POINTER(c + 1));
	}
	shm_local *s = shm_local_get(n, id, size, owner);
	*rev = s ? s->rev : 0;
	*flushing = s && s->flush;
}

/*
 * Does process tgid of this node hold an attach of id (a writable one, for
 * write)?  0, -EINVAL (no attach: the kernel's answer to a shmdt of an
 * address that is not attached) or -EACCES (only SHM_RDONLY attaches).
 * What a process may ask of a segment's pages (SHMFAULT, SHMWAIT) and what
 * a fork child inherits (SHMAT with fork) follow from the attaches the
 * owner granted, never from the request's word.  A shmdt names no attach,
 * so a process that had a writable one keeps write faults while it holds
 * any: its rights were checked when it attached.
 */
int shmglue_attach_check(dipc_node *n, int32_t tgid, int32_t id, bool write)
{
	shm_proc *p = shm_st(n) ? proc_get(n, tgid, false) : NULL;

	if (!p || !g_hash_table_contains(p->att, GINT_TO_POINTER(id)))
		return -EINVAL;
	if (write && !g_hash_table_contains(p->att_rw, GINT_TO_POINTER(id)))
		return -EACCES;
	return 0;
}

/*
 * The shim's shmat is one round trip to the owner: SHMAT, whose answer
 * carries the segment's state, then a lookup, getattr and open of
 * shm/.id.ID that only need that state.  An OP_STATUS of a segment from a
 * process whose attach the owner counted less than FRESH_MS ago is
 * answered here from that answer (the kernel's open checks its mode bits
 * against the caller's credentials of now, as with the owner's); the open
 * uses it up.  Anything else goes to the owner.  true: op->st is filled.
 */
bool shmglue_attach_status(dipc_node *n, dipc_op *op, bool open)
{
	shm_proc *p = shm_st(n) ? proc_get(n, op->who.pid, false) : NULL;
	fresh_ds *f = p ? g_hash_table_lookup(p->fresh, GINT_TO_POINTER(op->id)) : NULL;

	if (!f || !g_hash_table_contains(p->att, GINT_TO_POINTER(op->id)))
		return false;
	if (uv_now(n->loop) - f->at_ms > FRESH_MS) {
		g_hash_table_remove(p->fresh, GINT_TO_POINTER(op->id));
		return false;
	}
	op->st.uid = f->uid;
	op->st.gid = f->gid;
	op->st.mode = f->mode;
	op->st.size = f->size;
	if (open)
		g_hash_table_remove(p->fresh, GINT_TO_POINTER(op->id));
	return true;
}

/* A shmdt of the caller: false if it had no attach of id. */
bool shmglue_detach_local(dipc_node *n, int32_t tgid, int32_t id)
{
	shm_proc *p = proc_get(n, tgid, false);
	unsigned c;

	if (!p || !(c = GPOINTER_TO_UINT(g_hash_table_lookup(p->att, GINT_TO_POINTER(id)))))
		return false;
	g_hash_table_remove(p->fresh, GINT_TO_POINTER(id));
	if (c == 1) {
		g_hash_table_remove(p->att, GINT_TO_POINTER(id));
		g_hash_table_remove(p->att_rw, GINT_TO_POINTER(id));
	} else {
		g_hash_table_replace(p->att, GINT_TO_POINTER(id), GUINT_TO_POINTER(c - 1));
		unsigned w = GPOINTER_TO_UINT(g_hash_table_lookup(p->att_rw, GINT_TO_POINTER(id)));
		if (w > c - 1)
			g_hash_table_replace(p->att_rw, GINT_TO_POINTER(id), GUINT_TO_POINTER(c - 1));
	}
	return true;
}

static void detach_done(dipc_op *op)
{
	if (op->result >= 0 && op->shm.destroyed)
		shmglue_segment_gone(op->node, op->id);
	op_free(op);
}

static void detach_send(dipc_node *n, int32_t tgid, int32_t id, unsigned count)
{
	dipc_op *op = op_new(n, OP_SHMCTL);
	g_strlcpy(op->who.node, n->name, sizeof(op->who.node));
	op->who.pid = tgid;
	op->who.caps = DIPC_CAPS_ALL;
	op->id = id;
	op->shm.cmd = DIPC_SHM_CMD_DETACH;
	op->shm.count = (int32_t)count;
	op->done = detach_done;
	route_op(op);
}


static void helper_intr_hook(fuse_req_t req, void *data)
{
	shm_proc *p = data;
	dipc_node *n = fuse_req_userdata(req);
	/* Only a fatal signal reaches a helper (it blocks the others): the
	 * process is exiting or exec'ing; handled after this request. */
	if (!p->in_intr) {
		p->in_intr = true;
		g_queue_push_tail(&shm_st(n)->intr_procs, p);
	}
}

/* The helper's mailbox.  Only a process with attaches (or commands it
 * still owes an answer to) parks here: anyone else would only pin a watch
 * and a request of the node.  The refusal is EBUSY, on which the shim's
 * helper ends (its next shmat starts a new one). */
void shmglue_wait(dipc_node *n, fuse_req_t req, int32_t tgid,
		  const struct dipc_ioc_shmwait *in)
{
	shm_proc *p = proc_get(n, tgid, false);

	if (in->probe) {
		struct dipc_ioc_shmwait out = { 0 };
		out.parked = p && p->wait_req != NULL;
		fuse_reply_ioctl(req, 0, &out, sizeof(out));
		return;
	}
	if (p)
		proc_ack(p, in->ack);
	if (!p || (g_hash_table_size(p->att) == 0 && g_queue_is_empty(&p->cmds) &&
		   g_queue_is_empty(&p->sent))) {
		fuse_reply_err(req, EBUSY);
		return;
	}
	if (p->wait_req)
		fuse_reply_err(p->wait_req, EBUSY);
	p->wait_req = req;
	p->helper_tid = fuse_req_ctx(req)->pid;
	fuse_req_interrupt_func(req, helper_intr_hook, p);
	proc_deliver(n, p);
}


/* Interrupted helpers (their hooks queued them): is the process ending? */
void shm_procs_drain_interrupts(dipc_node *n)
{
	shm_state *st = shm_st(n);
	shm_proc *p;

	while ((p = g_queue_pop_head(&st->intr_procs))) {
		p->in_intr = false;
		if (!helper_killed(p->tgid, p->helper_tid)) {
			/* spurious: the helper just waits again */
			SHM_TRACE("shm: proc %d: helper interrupted, process lives", p->tgid);
			if (p->wait_req) {
				fuse_reply_err(p->wait_req, EINTR);
				p->wait_req = NULL;
			}
			continue;
		}
		SHM_TRACE("shm: proc %d gone: helper interrupted", p->tgid);
		proc_gone(n, p);
	}
}

void shm_takeback_init(dipc_node *n)
{
	shm_state *st = shm_st(n);
	st->procs = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_queue_init(&st->intr_procs);
	uv_timer_init(n->loop, &st->reaper);
	st->reaper.data = n;
}
