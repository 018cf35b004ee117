/* SPDX-License-Identifier: MIT */
/**
 * @file shmglue.c
 *
 * Distributed shared memory: one node's side of every segment it touches,
 * and the manager side of the segments it owns.  docs/design.md ("Shared
 * memory") is the long version; the short one:
 *
 *   - Each node keeps its copy of a segment in a sparse memfd (shm_local),
 *     and per page a state: Invalid, Read or Write.  FUSE READs of
 *     shm/.id.ID (page faults of the mappings, max_readahead 0) are answered
 *     from the memfd once the node holds the page; until then they wait.
 *   - The owner is the manager: the page directory (common/shmseg.c), one
 *     request at a time per segment.  A request is planned (who gives up
 *     what), the holders are asked to give pages up (ShmRevoke, or a local
 *     call for the owner's own node), their written pages come back, and the
 *     requester is granted the pages with the bytes it lacks; it answers
 *     ShmDone when it has installed them, and only then the manager moves on
 *     -- so a take-back can never overtake the grant it follows.
 *   - Giving pages up on a node (a "flush"): every process that has the
 *     segment attached gets a command through its helper thread (parked in
 *     DIPC_IOC_SHMWAIT) to mprotect the pages PROT_READ (keep for reading) or
 *     PROT_NONE (give up); once all have acknowledged, the invalidation
 *     thread calls fuse_lowlevel_notify_inval_inode on the runs: dirty pages
 *     come back as WRITEs (answered here, on the loop thread) and every
 *     mapping of them on the node is dropped.  A READ that arrives meanwhile
 *     (a program that is not using the shim, a new attach) is answered -- its
 *     page may be locked by the very invalidation we wait for -- and counted:
 *     a pass that saw one is run again.
 *   - The first store to a page traps in the shim's SIGSEGV handler, which
 *     asks with DIPC_IOC_SHMFAULT; the answer carries the node's revocation
 *     count, so a handler whose grant was overtaken by a take-back retries.
 *
 * Everything here runs on the loop thread except inval_thread_main().
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "node.h"
#include "shmseg.h"

#define PAGE DIPC_SHM_PAGE
#define INLINE_MAX_PAGES 16
#define FETCH_PAGES 128          /* 512 KiB per ShmFetch, at most */
#define FETCH_INFLIGHT 4
#define FRAME_SLACK 2048         /* envelope around the bytes */

/* Pages that fit one frame ([limits] max_frame) with their envelope. */
static uint64_t frame_pages(const dipc_node *n, uint64_t want)
{
	uint64_t fit = n->conf->max_frame > FRAME_SLACK ? (n->conf->max_frame - FRAME_SLACK) / PAGE : 0;
	return MIN(want, fit);
}
#define MAX_PASSES 32

enum { PG_I = 0, PG_R = 1, PG_W = 2 };

/* Protocol trace (DIPC_DEBUG=1): off, it costs a test, not a formatted
 * message per page. */
static bool shm_trace;
#define SHM_TRACE(...)                                                         \
	do {                                                                   \
		if (G_UNLIKELY(shm_trace))                                     \
			g_debug(__VA_ARGS__);                                  \
	} while (0)

typedef struct shm_local shm_local;
typedef struct shm_mgr shm_mgr;
typedef struct shm_flush shm_flush;

/* A FUSE request (READ, WRITE or SHMFAULT) waiting for pages. */
enum wait_kind { W_READ, W_FAULT, W_DWRITE, W_DREAD };
typedef struct shm_wait {
	enum wait_kind kind;
	shm_local *s;
	fuse_req_t req;
	uint64_t first, count;   /* pages it needs */
	bool write;
	off_t off;
	size_t size;
	void *data;              /* W_DWRITE: the bytes (owned) */
	bool flushing;           /* W_DWRITE/W_DREAD: its local flush runs */
	bool interrupted;
	bool queued_intr;
} shm_wait;

struct shm_local {
	dipc_node *n;
	int32_t id;
	uint64_t size, npages;
	char *owner;
	int memfd;
	uint8_t *state;
	uint32_t rev;
	bool acquiring;
	GQueue waits;            /* shm_wait */
	shm_flush *flush;        /* the running one */
	GQueue flushes;          /* queued */
	uint64_t reads_in_flush;
	shm_mgr *m;              /* owned here: the manager */
	bool gone;               /* removed: free when idle */
	bool departed;           /* a process left without shmdt (exit, exec):
				  * its mapping may still hold dirty pages */
	unsigned stores;         /* store jobs not done: no write grant yet */
};

struct shm_flush {
	shm_local *s;
	GArray *runs;            /* dipc_shm_run */
	int prot;                /* DIPC_SHM_PROT_* for the helpers */
	unsigned acks;
	unsigned passes;
	uint64_t reads_seen;
	bool revoke, to_read;    /* a take-back for the manager */
	/* the manager that asked: remote (conn, req) or local */
	dipc_conn *conn;
	uint64_t req_id;
	bool local_mgr;
	shm_wait *w;             /* a W_DWRITE/W_DREAD that needs it */
};

/* A process of this node with attaches (and a helper thread). */
typedef struct shm_proc {
	int32_t tgid;
	fuse_req_t wait_req;
	GQueue cmds;             /* shm_cmd: to deliver */
	GQueue sent;             /* delivered, not acknowledged */
	uint64_t seq;
	GHashTable *att;         /* id -> count */
	bool in_intr;
	int pidfd;               /* exit watch (-1: none) */
	int32_t helper_tid;      /* the thread parked in SHMWAIT */
	uv_poll_t poll;
	dipc_node *n;
} shm_proc;

typedef struct shm_cmd {
	struct dipc_shm_cmd c;
	shm_flush *f;
} shm_cmd;

/* ---- the manager ---- */

typedef struct mreq {
	int node;
	uint64_t first, count;
	bool write;
	dipc_conn *conn;         /* remote requester; NULL once it closed */
	uint64_t req_id;
	bool waiting_done;
	dipc_shm_plan *plan;
} mreq;

struct shm_mgr {
	shm_local *s;
	dipc_shmseg *seg;
	char *names[DIPC_SHM_MAX_NODES];   /* [0] = this node */
	unsigned nnames;
	GQueue reqs;
	mreq *cur;
	unsigned pending;        /* take-backs outstanding */
	unsigned calls;          /* callbacks outstanding (keep alive) */
	uv_timer_t timer;
	bool destroyed;
};

/* ---- node-wide state ---- */

typedef struct inval_job {
	fuse_ino_t ino;
	GArray *runs;
	shm_flush *f;
	bool stop;
	/* a store job: put these runs of the memfd into the page cache */
	shm_local *store;
	int memfd;               /* dup: the segment may go meanwhile */
	uint64_t size;
} inval_job;

typedef struct shm_state {
	GHashTable *locals;      /* id -> shm_local */
	GHashTable *procs;       /* tgid -> shm_proc */
	GQueue intr_waits;       /* interrupted shm_waits */
	GQueue intr_procs;       /* shm_procs whose helper's wait was interrupted */
	GAsyncQueue *jobs, *done;
	uv_async_t done_async;
	uv_timer_t reaper;
	pthread_t thread;
	bool started;
} shm_state;

static shm_state *st_of(dipc_node *n)
{
	return n->shm;
}

static void serve_waits(shm_local *s);
static void acquire_next(shm_local *s);
static void flush_next(shm_local *s);
static void mgr_kick(shm_mgr *m);
static void mgr_free_if_idle(shm_mgr *m);
static void local_free_if_idle(shm_local *s);

static fuse_ino_t shm_ino(int32_t id)
{
	return fuse_obj_ino(DIPC_KIND_SHM, id);
}


static bool runs_overlap(const GArray *runs, uint64_t first, uint64_t count)
{
	for (guint i = 0; i < runs->len; i++) {
		const dipc_shm_run *r = &g_array_index(runs, dipc_shm_run, i);
		if (first < r->first + r->count && r->first < first + count)
			return true;
	}
	return false;
}

static uint64_t runs_pages(const GArray *runs)
{
	uint64_t t = 0;
	for (guint i = 0; i < runs->len; i++)
		t += g_array_index(runs, dipc_shm_run, i).count;
	return t;
}

/* ---- memfd I/O ---- */

static int mem_read(shm_local *s, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(s->memfd, (char *)buf + done, len - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			memset((char *)buf + done, 0, len - done);
			return r < 0 ? -errno : 0;
		}
		done += (size_t)r;
	}
	return 0;
}

static int mem_write(shm_local *s, uint64_t off, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = pwrite(s->memfd, (const char *)buf + done, len - done,
				   (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

static void mem_zero(shm_local *s, uint64_t first, uint64_t count)
{
	if (fallocate(s->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(first * PAGE), (off_t)(count * PAGE)) < 0)
		g_warning("shm %d: cannot clear pages: %s", s->id, g_strerror(errno));
}

/* ---- segments on this node ---- */

static shm_local *local_find(dipc_node *n, int32_t id)
{
	return st_of(n) ? g_hash_table_lookup(st_of(n)->locals, GINT_TO_POINTER(id)) : NULL;
}

static shm_local *local_get(dipc_node *n, int32_t id, uint64_t size, const char *owner)
{
	shm_local *s = local_find(n, id);
	g_autofree char *name = NULL;

	if (s)
		return s;
	if (size == 0 || !owner)
		return NULL;
	name = g_strdup_printf("dipc-shm-%d", id);
	int fd = memfd_create(name, MFD_CLOEXEC);
	uint64_t npages = (size + PAGE - 1) / PAGE;
	if (fd < 0 || ftruncate(fd, (off_t)(npages * PAGE)) < 0) {
		g_warning("shm %d: no memfd of %" G_GUINT64_FORMAT " bytes: %s", id, size,
			  g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	s = g_new0(shm_local, 1);
	s->n = n;
	s->id = id;
	s->size = size;
	s->npages = npages;
	s->owner = g_strdup(owner);
	s->memfd = fd;
	s->state = g_new0(uint8_t, npages);
	g_queue_init(&s->waits);
	g_queue_init(&s->flushes);
	g_hash_table_insert(st_of(n)->locals, GINT_TO_POINTER(id), s);
	return s;
}

static bool pages_ok(const shm_local *s, uint64_t first, uint64_t count, bool write)
{
	for (uint64_t p = first; p < first + count && p < s->npages; p++)
		if (s->state[p] < (write ? PG_W : PG_R))
			return false;
	return true;
}

static bool pages_any_w(const shm_local *s, uint64_t first, uint64_t count)
{
	for (uint64_t p = first; p < first + count && p < s->npages; p++)
		if (s->state[p] == PG_W)
			return true;
	return false;
}

static void local_free(shm_local *s)
{
	g_hash_table_remove(st_of(s->n)->locals, GINT_TO_POINTER(s->id));
	close(s->memfd);
	g_free(s->state);
	g_free(s->owner);
	g_free(s);
}

static void local_free_if_idle(shm_local *s)
{
	if (s->gone && !s->m && !s->acquiring && !s->flush && !s->stores &&
	    g_queue_is_empty(&s->waits) &&
	    g_queue_is_empty(&s->flushes))
		local_free(s);
}

/* ---- waits ---- */

static void wait_free(shm_wait *w)
{
	g_free(w->data);
	g_free(w);
}

static void wait_intr_hook(fuse_req_t req, void *data)
{
	shm_wait *w = data;
	dipc_node *n = fuse_req_userdata(req);

	if (!w->queued_intr) {
		w->queued_intr = true;
		g_queue_push_tail(&st_of(n)->intr_waits, w);
	}
}

/* Answer w now (pages held); frees it.  err < 0: fail it. */
static void wait_answer(shm_wait *w, int err)
{
	shm_local *s = w->s;

	if (w->queued_intr)
		g_queue_remove(&st_of(s->n)->intr_waits, w);
	if (err < 0) {
		fuse_reply_err(w->req, -err);
		wait_free(w);
		return;
	}
	switch (w->kind) {
	case W_READ:
	case W_DREAD: {
		g_autofree char *buf = g_malloc(MAX(w->size, 1));
		mem_read(s, (uint64_t)w->off, buf, w->size);
		if (s->flush && runs_overlap(s->flush->runs, w->first, w->count))
			s->reads_in_flush++;
		fuse_reply_buf(w->req, buf, w->size);
		break;
	}
	case W_DWRITE: {
		int r = mem_write(s, (uint64_t)w->off, w->data, w->size);
		if (r < 0)
			fuse_reply_err(w->req, -r);
		else
			fuse_reply_write(w->req, w->size);
		break;
	}
	case W_FAULT: {
		struct dipc_ioc_shmfault out = { 0 };
		SHM_TRACE("shm: fault-answer %d: page %lu %s rev %u range %lu+%lu", s->id,
			(unsigned long)w->first, w->write ? "W" : "R", s->rev,
			(unsigned long)w->first, (unsigned long)w->count);
		out.id = s->id;
		out.write = w->write;
		out.page = w->first;
		out.rev = s->rev;
		out.first = w->first;
		out.count = w->count;
		fuse_reply_ioctl(w->req, 0, &out, sizeof(out));
		break;
	}
	}
	wait_free(w);
}

/* May w be answered now?  A fault never while a flush of its pages runs
 * (it would hand out what is being taken back); a READ always once held. */
static bool wait_ready(shm_local *s, shm_wait *w)
{
	if (!pages_ok(s, w->first, w->count, w->write))
		return false;
	if (w->kind != W_READ && s->flush && runs_overlap(s->flush->runs, w->first, w->count))
		return false;
	/* a store job must not overwrite what a writer stores after it; and a
	 * reader that faulted goes on once the pages are in the page cache
	 * (else it would fetch them one FUSE READ at a time meanwhile) */
	if (w->kind == W_FAULT && s->stores)
		return false;
	if (w->write && s->stores)
		return false;
	return true;
}

static shm_flush *flush_new(shm_local *s, int prot)
{
	shm_flush *f = g_new0(shm_flush, 1);
	f->s = s;
	f->prot = prot;
	f->runs = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	return f;
}

static void flush_queue(shm_flush *f)
{
	g_queue_push_tail(&f->s->flushes, f);
	if (!f->s->flush)
		flush_next(f->s);
}

static void serve_waits(shm_local *s)
{
	GList *l = s->waits.head;
	while (l) {
		GList *next = l->next;
		shm_wait *w = l->data;
		if (w->flushing || !wait_ready(s, w)) {
			l = next;
			continue;
		}
		if ((w->kind == W_DWRITE) ||
		    (w->kind == W_DREAD && pages_any_w(s, w->first, w->count))) {
			/* Local mappings first: written back (and, for a write,
			 * kept out while the bytes land). */
			shm_flush *f = flush_new(s, w->kind == W_DWRITE ? DIPC_SHM_PROT_NONE
									: DIPC_SHM_PROT_READ);
			dipc_shm_runs_add(f->runs, w->first, w->count);
			f->w = w;
			w->flushing = true;
			flush_queue(f);
			l = next;
			continue;
		}
		g_queue_delete_link(&s->waits, l);
		wait_answer(w, 0);
		l = next;
	}
}

static void fail_waits(shm_local *s, int err)
{
	shm_wait *w;
	GQueue keep = G_QUEUE_INIT;
	while ((w = g_queue_pop_head(&s->waits))) {
		if (w->flushing) {
			g_queue_push_tail(&keep, w);
			continue;
		}
		wait_answer(w, err);
	}
	s->waits = keep;
}

static void park_wait(shm_local *s, shm_wait *w)
{
	g_queue_push_tail(&s->waits, w);
	fuse_req_interrupt_func(w->req, wait_intr_hook, w);
	serve_waits(s);
	acquire_next(s);
}

/* ---- acquiring pages from the manager ---- */

/* ---- fetching pages from a peer's memfd (ShmFetch) ----
 *
 * The requester of a grant fetches the pages it lacks from the owner; the
 * owner fetches the written pages a node gave back.  Runs are fetched in
 * chunks that fit max_frame, FETCH_INFLIGHT at a time; put() stores each
 * chunk (false: stop), end() runs once, when nothing is in flight any more,
 * with 0 or the first error. */
typedef bool (*fetch_put_fn)(void *ud, uint64_t first, const uint8_t *data, size_t len);
typedef void (*fetch_end_fn)(void *ud, int err);

typedef struct fetcher {
	dipc_node *n;
	char *from;
	int32_t id;
	GArray *runs;
	guint next;
	uint64_t next_page;
	unsigned inflight;
	int failed;
	fetch_put_fn put;
	fetch_end_fn end;
	void *ud;
} fetcher;

typedef struct fetch_call {
	fetcher *f;
	uint64_t first, count;
} fetch_call;

static void fetch_pump(fetcher *f);

static void fetch_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	fetch_call *fc = ud;
	fetcher *f = fc->f;

	if (err == 0 && reply->err)
		err = -reply->err;
	if (err == 0 && reply->body_case != DIPC__ENVELOPE__BODY_SHM_FETCH_REPLY)
		err = -EPROTO;
	if (err == 0 && reply->shm_fetch_reply->data.len != fc->count * PAGE)
		err = -EPROTO;
	if (err == 0 && !f->put(f->ud, fc->first, reply->shm_fetch_reply->data.data,
				fc->count * PAGE))
		err = -ECANCELED;
	if (err < 0 && !f->failed)
		f->failed = err;
	g_free(fc);
	f->inflight--;
	fetch_pump(f);
}

static void fetch_pump(fetcher *f)
{
	uint64_t chunk = MAX(frame_pages(f->n, FETCH_PAGES), 1);

	while (!f->failed && f->inflight < FETCH_INFLIGHT && f->next < f->runs->len) {
		dipc_shm_run *r = &g_array_index(f->runs, dipc_shm_run, f->next);
		if (f->next_page < r->first)
			f->next_page = r->first;
		if (f->next_page >= r->first + r->count) {
			f->next++;
			continue;
		}
		fetch_call *fc = g_new0(fetch_call, 1);
		fc->f = f;
		fc->first = f->next_page;
		fc->count = MIN(chunk, r->first + r->count - f->next_page);
		f->next_page += fc->count;
		Dipc__Envelope env = DIPC__ENVELOPE__INIT;
		Dipc__ShmFetch q = DIPC__SHM_FETCH__INIT;
		q.id = f->id;
		q.first = fc->first;
		q.count = fc->count;
		env.body_case = DIPC__ENVELOPE__BODY_SHM_FETCH;
		env.shm_fetch = &q;
		int e = peer_call(f->n, f->from, &env, f->n->conf->request_timeout_ms, fetch_cb, fc);
		if (e < 0) {
			g_free(fc);
			f->failed = e;
			break;
		}
		f->inflight++;
	}
	if (f->inflight || (!f->failed && f->next < f->runs->len))
		return;
	fetch_end_fn end = f->end;
	void *ud = f->ud;
	int err = f->failed;
	g_array_free(f->runs, TRUE);
	g_free(f->from);
	g_free(f);
	end(ud, err);
}

/* Fetch runs (taken over) of segment id from peer `from`. */
static void fetch_start(dipc_node *n, const char *from, int32_t id, GArray *runs,
			fetch_put_fn put, fetch_end_fn end, void *ud)
{
	if (!from) {   /* the peer left the cluster meanwhile */
		g_array_free(runs, TRUE);
		end(ud, -EHOSTDOWN);
		return;
	}
	fetcher *f = g_new0(fetcher, 1);
	f->n = n;
	f->from = g_strdup(from);
	f->id = id;
	f->runs = runs;
	f->put = put;
	f->end = end;
	f->ud = ud;
	fetch_pump(f);
}

typedef struct acq {
	shm_local *s;
	uint64_t first, count;
	bool write;
} acq;

#define STORE_MIN_PAGES 16

static void store_queue(shm_local *s, GArray *runs);

static void acquired(shm_local *s, uint64_t first, uint64_t count, bool write)
{
	GArray *fresh = NULL;

	SHM_TRACE("shm: acquired %d: %lu+%lu %s", s->id, (unsigned long)first, (unsigned long)count,
		write ? "W" : "R");
	if (!write && count >= STORE_MIN_PAGES)
		fresh = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	for (uint64_t p = first; p < first + count && p < s->npages; p++) {
		if (write) {
			s->state[p] = PG_W;
		} else if (s->state[p] < PG_R) {
			s->state[p] = PG_R;
			if (fresh)
				dipc_shm_runs_add(fresh, p, 1);
		}
	}
	/* A large read grant (segment mode): its pages go into the page cache
	 * at once, so that reading them costs no FUSE READ each. */
	if (fresh && fresh->len)
		store_queue(s, fresh);
	else if (fresh)
		g_array_free(fresh, TRUE);
	s->acquiring = false;
	serve_waits(s);
	acquire_next(s);
	local_free_if_idle(s);
}

static void acq_fail(acq *a, int err)
{
	shm_local *s = a->s;

	g_message("shm %d: pages %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT " unavailable: %s",
		  s->id, a->first, a->count, g_strerror(-err));
	s->acquiring = false;
	/* Whoever waits for these pages gets an error: SIGBUS for a fault of a
	 * mapping, EIO for read(2) -- never a silent wrong value. */
	GList *l = s->waits.head;
	while (l) {
		GList *next = l->next;
		shm_wait *w = l->data;
		if (!w->flushing && w->first < a->first + a->count && a->first < w->first + w->count) {
			g_queue_delete_link(&s->waits, l);
			wait_answer(w, w->kind == W_FAULT ? -EIDRM : -EIO);
		}
		l = next;
	}
	g_free(a);
	acquire_next(s);
	local_free_if_idle(s);
}

static void send_done_to(dipc_node *n, const char *owner, int32_t id)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__ShmDone d = DIPC__SHM_DONE__INIT;
	d.id = id;
	env.body_case = DIPC__ENVELOPE__BODY_SHM_DONE;
	env.shm_done = &d;
	peer_call(n, owner, &env, 0, NULL, NULL);
}

static void send_done(shm_local *s)
{
	send_done_to(s->n, s->owner, s->id);
}

static void acq_finish(acq *a)
{
	shm_local *s = a->s;
	SHM_TRACE("shm: installed %d at %lu us", s->id, (unsigned long)(uv_hrtime() / 1000));
	uint64_t first = a->first, count = a->count;
	bool write = a->write;
	g_free(a);
	/* Answer the waiting faults first, then tell the manager: on a busy
	 * CPU its wake-up would otherwise come before our answer.  (A next
	 * ShmAcquire sent meanwhile travels ahead of ShmDone on the same
	 * connection and simply waits in the manager's queue.) */
	dipc_node *n = s->n;
	g_autofree char *owner = g_strdup(s->owner);
	int32_t id = s->id;
	acquired(s, first, count, write);   /* may free s */
	send_done_to(n, owner, id);
}

static bool acq_put(void *ud, uint64_t first, const uint8_t *data, size_t len)
{
	acq *a = ud;
	return mem_write(a->s, first * PAGE, data, len) == 0;
}

static void acq_end(void *ud, int err)
{
	if (err < 0)
		acq_fail(ud, err);
	else
		acq_finish(ud);
}

/* Install the bytes of a ShmPages message (inline) or list them to fetch. */
static bool pages_install(shm_local *s, const Dipc__ShmPages *pg, GArray *fetch)
{
	uint64_t total = 0;
	if (!pg)
		return true;
	if (pg->n_first != pg->n_count)
		return false;
	for (size_t i = 0; i < pg->n_first; i++) {
		if (pg->first[i] >= s->npages || pg->count[i] > s->npages - pg->first[i])
			return false;
		total += pg->count[i];
	}
	if (pg->data.len && pg->data.len != total * PAGE)
		return false;
	uint64_t off = 0;
	for (size_t i = 0; i < pg->n_first; i++) {
		if (pg->data.len) {
			mem_write(s, pg->first[i] * PAGE, pg->data.data + off, pg->count[i] * PAGE);
			off += pg->count[i] * PAGE;
		} else if (fetch) {
			dipc_shm_runs_add(fetch, pg->first[i], pg->count[i]);
		}
	}
	return true;
}

static void acquire_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	acq *a = ud;
	shm_local *s = a->s;

	if (err == 0 && reply->err)
		err = -reply->err;
	if (err == 0 && reply->body_case != DIPC__ENVELOPE__BODY_SHM_GRANT)
		err = -EPROTO;
	if (err < 0) {
		acq_fail(a, err);
		return;
	}
	const Dipc__ShmGrant *g = reply->shm_grant;
	SHM_TRACE("shm: grant %d %lu+%lu at %lu us", s->id, (unsigned long)a->first,
		(unsigned long)a->count, (unsigned long)(uv_hrtime() / 1000));
	if (g->zero) {
		const Dipc__ShmPages *z = g->zero;
		for (size_t i = 0; i < z->n_first && i < z->n_count; i++)
			if (z->first[i] < s->npages && z->count[i] <= s->npages - z->first[i])
				mem_zero(s, z->first[i], z->count[i]);
	}
	GArray *fetch = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	if (!pages_install(s, g->data, fetch)) {
		g_array_free(fetch, TRUE);
		send_done(s);
		acq_fail(a, -EPROTO);
		return;
	}
	fetch_start(s->n, s->owner, s->id, fetch, acq_put, acq_end, a);
}

static void mgr_request(shm_mgr *m, int node, uint64_t first, uint64_t count, bool write,
			dipc_conn *conn, uint64_t req_id);

/* Ask for what the first unsatisfied wait needs, if nothing is on its way. */
static void acquire_next(shm_local *s)
{
	dipc_node *n = s->n;

	if (s->acquiring || s->gone)
		return;
	for (GList *l = s->waits.head; l; l = l->next) {
		shm_wait *w = l->data;
		if (w->flushing || pages_ok(s, w->first, w->count, w->write))
			continue;
		uint64_t first = w->first, count = w->count;
		if (n->conf->shm_segment_mode) {
			first = 0;
			count = s->npages;
		}
		s->acquiring = true;
		if (s->m) {
			mgr_request(s->m, 0, first, count, w->write, NULL, 0);
			return;
		}
		acq *a = g_new0(acq, 1);
		a->s = s;
		a->first = first;
		a->count = count;
		a->write = w->write;
		Dipc__Envelope env = DIPC__ENVELOPE__INIT;
		Dipc__ShmAcquire q = DIPC__SHM_ACQUIRE__INIT;
		q.id = s->id;
		q.first = first;
		q.count = count;
		q.write = w->write;
		SHM_TRACE("shm: acquire %d %lu+%lu at %lu us", s->id, (unsigned long)first,
			(unsigned long)count, (unsigned long)(uv_hrtime() / 1000));
		env.body_case = DIPC__ENVELOPE__BODY_SHM_ACQUIRE;
		env.shm_acquire = &q;
		/* No deadline of its own: the manager may wait for quanta and
		 * other nodes; a dead manager ends it (heartbeats). */
		int e = peer_call(n, s->owner, &env, 0, acquire_cb, a);
		if (e < 0)
			acq_fail(a, e);
		return;
	}
}

/* ---- helpers: commands to the processes of this node ---- */

static void proc_gone(dipc_node *n, shm_proc *p);
static bool proc_dead(int32_t tgid);

static void proc_exit_cb(uv_poll_t *h, int status, int events)
{
	shm_proc *p = h->data;
	SHM_TRACE("shm: proc %d gone: pidfd status %d events %d", p->tgid, status, events);
	if (status < 0 && !proc_dead(p->tgid)) {
		uv_poll_stop(h);   /* a broken watch; the helper's wait still tells */
		return;
	}
	proc_gone(p->n, p);
}

static shm_proc *proc_get(dipc_node *n, int32_t tgid, bool create)
{
	shm_state *st = st_of(n);
	shm_proc *p = g_hash_table_lookup(st->procs, GINT_TO_POINTER(tgid));
	if (!p && create) {
		p = g_new0(shm_proc, 1);
		p->tgid = tgid;
		g_queue_init(&p->cmds);
		g_queue_init(&p->sent);
		p->att = g_hash_table_new(g_direct_hash, g_direct_equal);
		p->n = n;
		/* Its exit ends its attaches, even if its helper never ran. */
		p->pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
		if (p->pidfd >= 0) {
			uv_poll_init(n->loop, &p->poll, p->pidfd);
			p->poll.data = p;
			uv_poll_start(&p->poll, UV_READABLE, proc_exit_cb);
		}
		g_hash_table_insert(st->procs, GINT_TO_POINTER(tgid), p);
	}
	return p;
}

static void flush_inval(shm_flush *f);

static void flush_done(shm_flush *f);

/* Every process has applied its command (and written the run back).
 * Pages kept for reading stay in the page cache: they are current and clean
 * now.  Pages given up are dropped from every mapping of the node. */
static void flush_acked(shm_flush *f)
{
	if (--f->acks > 0)
		return;
	if (f->prot == DIPC_SHM_PROT_READ && !f->s->departed)
		flush_done(f);
	else
		flush_inval(f);
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

static void proc_closed(uv_handle_t *h)
{
	shm_proc *p = h->data;
	close(p->pidfd);
	g_free(p);
}

/* The process is gone (exit, exec, or it died before its helper ran): its
 * commands count as done, its attaches end. */
static void proc_gone(dipc_node *n, shm_proc *p)
{
	GHashTableIter it;
	gpointer k, v;
	shm_cmd *c;

	g_hash_table_steal(st_of(n)->procs, GINT_TO_POINTER(p->tgid));
	if (p->in_intr)
		g_queue_remove(&st_of(n)->intr_procs, p);
	/* Detach first: the helper's answer lets the process finish exiting
	 * (or exec'ing), and whoever waits for that must see the new count. */
	g_hash_table_iter_init(&it, p->att);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		shm_local *s = local_find(n, GPOINTER_TO_INT(k));
		if (s)
			s->departed = true;
		detach_send(n, p->tgid, GPOINTER_TO_INT(k), GPOINTER_TO_UINT(v));
	}
	g_hash_table_destroy(p->att);
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
		uv_poll_stop(&p->poll);
		uv_close((uv_handle_t *)&p->poll, proc_closed);
	} else {
		g_free(p);
	}
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

/* Processes that exited before the loop polled their pidfd: gone now, so
 * that an operation of whoever reaped them sees their detaches (as
 * procwatch_flush does for SEM_UNDO). */
static int proc_pidfd(gpointer v)
{
	return ((shm_proc *)v)->pidfd;
}

void shmglue_flush_exits(dipc_node *n)
{
	shm_state *st = st_of(n);
	GSList *dead;

	if (!st)
		return;
	dead = pidfds_exited(st->procs, proc_pidfd);
	for (GSList *l = dead; l; l = l->next) {
		shm_proc *p = l->data;
		/* a detach on the way may have flushed it already */
		if (g_hash_table_lookup(st->procs, GINT_TO_POINTER(p->tgid)) == p)
			proc_gone(n, p);
	}
	g_slist_free(dead);
}

/* Processes that owe acknowledgements and have no helper parked: dead? */
static void reaper_cb(uv_timer_t *t)
{
	dipc_node *n = t->data;
	GHashTableIter it;
	gpointer v;
	GSList *dead = NULL;
	bool owing = false;

	g_hash_table_iter_init(&it, st_of(n)->procs);
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
	shm_state *st = st_of(s->n);
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

static void flush_inval(shm_flush *f)
{
	shm_state *st = st_of(f->s->n);
	inval_job *j = g_new0(inval_job, 1);

	f->reads_seen = f->s->reads_in_flush;
	/* An invalidation writes back every dirty page, also those of a
	 * departed process's mapping (exit_mmap may not have run yet). */
	f->s->departed = false;
	j->ino = shm_ino(f->s->id);
	j->runs = g_array_copy(f->runs);
	j->f = f;
	g_async_queue_push(st->jobs, j);
}

static void store_queue(shm_local *s, GArray *runs)
{
	inval_job *j = g_new0(inval_job, 1);
	j->ino = shm_ino(s->id);
	j->runs = runs;
	j->store = s;
	j->size = s->size;
	j->memfd = dup(s->memfd);
	if (j->memfd < 0) {
		g_array_free(runs, TRUE);
		g_free(j);
		return;
	}
	s->stores++;
	g_async_queue_push(st_of(s->n)->jobs, j);
}

#define STORE_CHUNK (256u * 1024)

static void store_run(dipc_node *n, inval_job *j, const dipc_shm_run *r, char *buf)
{
	uint64_t off = r->first * PAGE, end = MIN((r->first + r->count) * PAGE, j->size);
	while (off < end) {
		size_t len = (size_t)MIN((uint64_t)STORE_CHUNK, end - off);
		ssize_t got = pread(j->memfd, buf, len, (off_t)off);
		if (got <= 0)
			return;
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT((size_t)got);
		bv.buf[0].mem = buf;
		int e = fuse_lowlevel_notify_store(n->se, j->ino, (off_t)off, &bv, 0);
		if (e < 0)
			return;   /* -ENOENT: the kernel has no such inode; fine */
		off += (uint64_t)got;
	}
}

static void *inval_thread_main(void *arg)
{
	dipc_node *n = arg;
	shm_state *st = st_of(n);
	char *buf = g_malloc(STORE_CHUNK);

	for (;;) {
		inval_job *j = g_async_queue_pop(st->jobs);
		if (j->stop) {
			g_array_free(j->runs, TRUE);
			g_free(j);
			g_free(buf);
			return NULL;
		}
		if (j->store) {
			for (guint i = 0; i < j->runs->len; i++)
				store_run(n, j, &g_array_index(j->runs, dipc_shm_run, i), buf);
			close(j->memfd);
			g_async_queue_push(st->done, j);
			uv_async_send(&st->done_async);
			continue;
		}
		for (guint i = 0; i < j->runs->len; i++) {
			const dipc_shm_run *r = &g_array_index(j->runs, dipc_shm_run, i);
			int e = fuse_lowlevel_notify_inval_inode(n->se, j->ino, (off_t)(r->first * PAGE),
								 (off_t)(r->count * PAGE));
			if (e < 0 && e != -ENOENT)
				g_message("invalidation of shm pages failed: %s", g_strerror(-e));
		}
		g_async_queue_push(st->done, j);
		uv_async_send(&st->done_async);
	}
}

static void inval_done_cb(uv_async_t *h)
{
	dipc_node *n = h->data;
	shm_state *st = st_of(n);
	inval_job *j;

	while ((j = g_async_queue_try_pop(st->done))) {
		if (j->store) {
			shm_local *s = j->store;
			g_array_free(j->runs, TRUE);
			g_free(j);
			SHM_TRACE("shm: stored %d at %lu us", s->id, (unsigned long)(uv_hrtime() / 1000));
			if (--s->stores == 0) {
				serve_waits(s);
				acquire_next(s);
				local_free_if_idle(s);
			}
			continue;
		}
		shm_flush *f = j->f;
		g_array_free(j->runs, TRUE);
		g_free(j);
		if (f->s->reads_in_flush != f->reads_seen && ++f->passes < MAX_PASSES) {
			flush_inval(f);   /* a READ re-cached a page meanwhile */
			continue;
		}
		flush_done(f);
	}
	node_activity(n);
}

static void revoke_reply(shm_flush *f, GArray *dirty);
static void mgr_revoked(shm_mgr *m, int node);

static void flush_done(shm_flush *f)
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
				mgr_revoked(s->m, 0);
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
		wait_answer(w, w->interrupted ? -EINTR : 0);
	}
	g_array_free(f->runs, TRUE);
	g_free(f);
	flush_next(s);
	serve_waits(s);
	acquire_next(s);
	local_free_if_idle(s);
}

/* The manager (remote, or this node's) takes runs back from this node. */
static void revoke_start(shm_local *s, const GArray *runs, bool to_read, dipc_conn *conn,
			 uint64_t req_id, bool local_mgr)
{
	shm_flush *f = flush_new(s, to_read ? DIPC_SHM_PROT_READ : DIPC_SHM_PROT_NONE);
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
	flush_queue(f);
}

/* ---- serving peers ---- */

/* Fill a ShmPages with runs, and their bytes when they are few. */
static void pages_fill(shm_local *s, const GArray *runs, Dipc__ShmPages *pg, uint64_t **a,
		       uint64_t **b, uint8_t **data, bool allow_inline)
{
	uint64_t total = runs_pages(runs);
	*a = g_new(uint64_t, MAX(runs->len, 1));
	*b = g_new(uint64_t, MAX(runs->len, 1));
	*data = NULL;
	for (guint i = 0; i < runs->len; i++) {
		(*a)[i] = g_array_index(runs, dipc_shm_run, i).first;
		(*b)[i] = g_array_index(runs, dipc_shm_run, i).count;
	}
	pg->n_first = pg->n_count = runs->len;
	pg->first = *a;
	pg->count = *b;
	if (allow_inline && total && total <= frame_pages(s->n, INLINE_MAX_PAGES)) {
		uint64_t off = 0;
		*data = g_malloc(total * PAGE);
		for (guint i = 0; i < runs->len; i++) {
			const dipc_shm_run *r = &g_array_index(runs, dipc_shm_run, i);
			mem_read(s, r->first * PAGE, *data + off, r->count * PAGE);
			off += r->count * PAGE;
		}
		pg->data.data = *data;
		pg->data.len = total * PAGE;
	}
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
	pages_fill(f->s, dirty, &pg, &a, &b, &data, true);
	rr.dirty = &pg;
	env.body_case = DIPC__ENVELOPE__BODY_SHM_REVOKE_REPLY;
	env.shm_revoke_reply = &rr;
	dipc_conn_reply(f->conn, f->req_id, &env);
}

static GArray *runs_from_pb(const Dipc__ShmPages *pg)
{
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	if (!pg)
		return runs;
	for (size_t i = 0; i < pg->n_first && i < pg->n_count; i++)
		dipc_shm_runs_add(runs, pg->first[i], pg->count[i]);
	return runs;
}

static int mgr_node_index(shm_mgr *m, const char *name)
{
	for (unsigned i = 0; i < m->nnames; i++)
		if (g_strcmp0(m->names[i], name) == 0)
			return (int)i;
	for (unsigned i = 1; i < m->nnames; i++)
		if (!m->names[i]) {
			m->names[i] = g_strdup(name);
			return (int)i;
		}
	if (m->nnames >= DIPC_SHM_MAX_NODES)
		return -1;
	m->names[m->nnames] = g_strdup(name);
	return (int)m->nnames++;
}

void shmglue_serve(dipc_node *n, dipc_conn *c, Dipc__Envelope *env)
{
	const char *peer = dipc_conn_peer_name(c);
	shm_local *s;

	switch (env->body_case) {
	case DIPC__ENVELOPE__BODY_SHM_ACQUIRE: {
		const Dipc__ShmAcquire *q = env->shm_acquire;
		s = local_find(n, q->id);
		if (!s || !s->m || s->m->destroyed) {
			dipc_conn_reply_err(c, env->req_id, EIDRM);
			return;
		}
		int idx = mgr_node_index(s->m, peer);
		if (idx < 0 || q->first >= s->npages || q->count == 0) {
			dipc_conn_reply_err(c, env->req_id, idx < 0 ? ENOSPC : EINVAL);
			return;
		}
		mgr_request(s->m, idx, q->first, MIN(q->count, s->npages - q->first), q->write, c,
			    env->req_id);
		return;
	}
	case DIPC__ENVELOPE__BODY_SHM_DONE: {
		s = local_find(n, env->shm_done->id);
		if (s && s->m && s->m->cur && s->m->cur->waiting_done && s->m->cur->conn == c) {
			mreq *r = s->m->cur;
			s->m->cur = NULL;
			uv_timer_stop(&s->m->timer);
			dipc_shm_plan_free(r->plan);
			g_free(r);
			mgr_kick(s->m);
		}
		return;
	}
	case DIPC__ENVELOPE__BODY_SHM_REVOKE: {
		const Dipc__ShmRevoke *rv = env->shm_revoke;
		s = local_find(n, rv->id);
		if (!s) {
			/* Never had it (or forgot it): nothing to give back. */
			Dipc__Envelope r = DIPC__ENVELOPE__INIT;
			Dipc__ShmRevokeReply rr = DIPC__SHM_REVOKE_REPLY__INIT;
			r.body_case = DIPC__ENVELOPE__BODY_SHM_REVOKE_REPLY;
			r.shm_revoke_reply = &rr;
			dipc_conn_reply(c, env->req_id, &r);
			return;
		}
		GArray *runs = runs_from_pb(rv->pages);
		revoke_start(s, runs, rv->to_read, c, env->req_id, false);
		g_array_free(runs, TRUE);
		return;
	}
	case DIPC__ENVELOPE__BODY_SHM_FETCH: {
		const Dipc__ShmFetch *f = env->shm_fetch;
		s = local_find(n, f->id);
		if (!s) {
			dipc_conn_reply_err(c, env->req_id, EIDRM);
			return;
		}
		if (f->first >= s->npages || f->count == 0 ||
		    f->count > MAX(frame_pages(n, FETCH_PAGES), 1) ||
		    f->count > s->npages - f->first) {
			dipc_conn_reply_err(c, env->req_id, EINVAL);
			return;
		}
		Dipc__Envelope r = DIPC__ENVELOPE__INIT;
		Dipc__ShmFetchReply fr = DIPC__SHM_FETCH_REPLY__INIT;
		g_autofree uint8_t *buf = g_malloc(f->count * PAGE);
		mem_read(s, f->first * PAGE, buf, f->count * PAGE);
		fr.data.data = buf;
		fr.data.len = f->count * PAGE;
		r.body_case = DIPC__ENVELOPE__BODY_SHM_FETCH_REPLY;
		r.shm_fetch_reply = &fr;
		dipc_conn_reply(c, env->req_id, &r);
		return;
	}
	default:
		dipc_conn_reply_err(c, env->req_id, EPROTO);
	}
}

/* A connection closed: requests it carried cannot be answered any more. */
void shmglue_conn_closed(dipc_node *n, dipc_conn *c)
{
	GHashTableIter it;
	gpointer v;

	if (!st_of(n))
		return;
	g_hash_table_iter_init(&it, st_of(n)->locals);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		shm_local *s = v;
		for (GList *l = s->flushes.head; l; l = l->next)
			if (((shm_flush *)l->data)->conn == c)
				((shm_flush *)l->data)->conn = NULL;
		if (s->flush && s->flush->conn == c)
			s->flush->conn = NULL;
		if (!s->m)
			continue;
		for (GList *l = s->m->reqs.head; l; l = l->next)
			if (((mreq *)l->data)->conn == c)
				((mreq *)l->data)->conn = NULL;
		if (s->m->cur && s->m->cur->conn == c) {
			s->m->cur->conn = NULL;
			if (s->m->cur->waiting_done) {
				mreq *r = s->m->cur;
				s->m->cur = NULL;
				uv_timer_stop(&s->m->timer);
				dipc_shm_plan_free(r->plan);
				g_free(r);
				mgr_kick(s->m);
			}
		}
	}
}

/* ---- the manager ---- */

static shm_mgr *mgr_new(shm_local *s, dipc_shmseg *seg)
{
	shm_mgr *m = g_new0(shm_mgr, 1);
	m->s = s;
	m->seg = seg;
	m->names[0] = g_strdup(s->n->name);
	m->nnames = 1;
	g_queue_init(&m->reqs);
	uv_timer_init(s->n->loop, &m->timer);
	m->timer.data = m;
	return m;
}

static void mgr_request(shm_mgr *m, int node, uint64_t first, uint64_t count, bool write,
			dipc_conn *conn, uint64_t req_id)
{
	mreq *r = g_new0(mreq, 1);
	r->node = node;
	r->first = first;
	r->count = count;
	r->write = write;
	r->conn = conn;
	r->req_id = req_id;
	g_queue_push_tail(&m->reqs, r);
	mgr_kick(m);
}

static void mgr_plan(shm_mgr *m);

static void mgr_timer_cb(uv_timer_t *t)
{
	shm_mgr *m = t->data;
	mreq *r = m->cur;

	if (!r)
		return;
	if (r->waiting_done) {
		g_message("shm %d: %s did not confirm a grant; going on", m->s->id,
			  m->names[r->node] ? m->names[r->node] : "?");
		m->cur = NULL;
		dipc_shm_plan_free(r->plan);
		g_free(r);
		mgr_kick(m);
		return;
	}
	mgr_plan(m);
}

typedef struct mrev {
	shm_mgr *m;
	int node;
} mrev;

static void mrev_end(mrev *x)
{
	shm_mgr *m = x->m;
	int node = x->node;
	g_free(x);
	m->calls--;
	if (m->destroyed) {
		mgr_free_if_idle(m);
		return;
	}
	mgr_revoked(m, node);
}

static bool mrev_put(void *ud, uint64_t first, const uint8_t *data, size_t len)
{
	mrev *x = ud;
	return !x->m->destroyed && mem_write(x->m->s, first * PAGE, data, len) == 0;
}

static void mrev_fetched(void *ud, int err)
{
	mrev *x = ud;
	if (err < 0 && !x->m->destroyed)
		g_message("shm %d: written pages of %s are lost: %s", x->m->s->id,
			  x->m->names[x->node] ? x->m->names[x->node] : "?", g_strerror(-err));
	mrev_end(x);
}

static void mgr_revoke_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	mrev *x = ud;

	if (x->m->destroyed || err < 0 || reply->err ||
	    reply->body_case != DIPC__ENVELOPE__BODY_SHM_REVOKE_REPLY) {
		if (!x->m->destroyed)
			g_message("shm %d: %s did not give pages back (%s): its writes are lost",
				  x->m->s->id, x->m->names[x->node] ? x->m->names[x->node] : "?",
				  err < 0 ? g_strerror(-err) : "refused");
		mrev_end(x);
		return;
	}
	GArray *fetch = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	if (!pages_install(x->m->s, reply->shm_revoke_reply->dirty, fetch)) {
		g_array_free(fetch, TRUE);
		mrev_end(x);
		return;
	}
	fetch_start(x->m->s->n, x->m->names[x->node], x->m->s->id, fetch, mrev_put, mrev_fetched,
		    x);
}

static void mgr_grant(shm_mgr *m);

static void mgr_revoked(shm_mgr *m, int node)
{
	(void)node;
	if (m->pending && --m->pending == 0)
		mgr_grant(m);
}

static void mgr_plan(shm_mgr *m)
{
	mreq *r = m->cur;
	uint64_t now = uv_now(m->s->n->loop);

	dipc_shm_plan_free(r->plan);
	r->plan = dipc_shmseg_plan(m->seg, r->node, r->first, r->count, r->write, now,
				   m->s->n->conf->shm_quantum_ms);
	if (r->plan->not_before) {
		uv_timer_start(&m->timer, mgr_timer_cb, r->plan->not_before - now, 0);
		return;
	}
	SHM_TRACE("shm: mgr %d: req %s %lu+%lu %s, %u revokes", m->s->id, m->names[r->node],
		(unsigned long)r->first, (unsigned long)r->count, r->write ? "W" : "R",
		r->plan->revokes->len);
	m->pending = r->plan->revokes->len + 1;
	for (guint i = 0; i < r->plan->revokes->len; i++) {
		dipc_shm_revoke *rv = g_ptr_array_index(r->plan->revokes, i);
		if (rv->node == 0) {
			revoke_start(m->s, rv->runs, rv->to_read, NULL, 0, true);
			continue;
		}
		mrev *x = g_new0(mrev, 1);
		x->m = m;
		x->node = rv->node;
		Dipc__Envelope env = DIPC__ENVELOPE__INIT;
		Dipc__ShmRevoke q = DIPC__SHM_REVOKE__INIT;
		Dipc__ShmPages pg = DIPC__SHM_PAGES__INIT;
		g_autofree uint64_t *a = NULL, *b = NULL;
		g_autofree uint8_t *data = NULL;
		pages_fill(m->s, rv->runs, &pg, &a, &b, &data, false);
		q.id = m->s->id;
		q.pages = &pg;
		q.to_read = rv->to_read;
		env.body_case = DIPC__ENVELOPE__BODY_SHM_REVOKE;
		env.shm_revoke = &q;
		m->calls++;
		if (peer_call(m->s->n, m->names[rv->node], &env, 0, mgr_revoke_cb, x) < 0) {
			g_free(x);
			m->calls--;
			m->pending--;
		}
	}
	mgr_revoked(m, -1);
}

static void mgr_grant(shm_mgr *m)
{
	mreq *r = m->cur;
	dipc_node *n = m->s->n;
	uint64_t now = uv_now(n->loop);

	if (r->node == 0) {
		uint64_t first = r->first, count = r->count;
		bool write = r->write;
		dipc_shmseg_grant(m->seg, 0, first, count, write, now);
		m->cur = NULL;
		dipc_shm_plan_free(r->plan);
		g_free(r);
		acquired(m->s, first, count, write);
		mgr_kick(m);
		return;
	}
	/* What the requester lacks: never-written pages travel as "zero". */
	g_autoptr(GArray) data = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	g_autoptr(GArray) zero = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
	const GArray *lack = r->plan->lacking;
	for (guint i = 0; i < lack->len; i++) {
		const dipc_shm_run *lr = &g_array_index(lack, dipc_shm_run, i);
		for (uint64_t p = lr->first; p < lr->first + lr->count; p++)
			dipc_shm_runs_add(dipc_shmseg_page_written(m->seg, p) ? data : zero, p, 1);
	}
	dipc_shmseg_grant(m->seg, r->node, r->first, r->count, r->write, now);
	if (!r->conn) {
		/* The requester went away: nothing to wait for. */
		m->cur = NULL;
		dipc_shm_plan_free(r->plan);
		g_free(r);
		mgr_kick(m);
		return;
	}
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__ShmGrant g = DIPC__SHM_GRANT__INIT;
	Dipc__ShmPages pd = DIPC__SHM_PAGES__INIT, pz = DIPC__SHM_PAGES__INIT;
	g_autofree uint64_t *a = NULL, *b = NULL, *za = NULL, *zb = NULL;
	g_autofree uint8_t *bytes = NULL, *zbytes = NULL;
	pages_fill(m->s, data, &pd, &a, &b, &bytes, true);
	pages_fill(m->s, zero, &pz, &za, &zb, &zbytes, false);
	g.data = &pd;
	g.zero = &pz;
	env.body_case = DIPC__ENVELOPE__BODY_SHM_GRANT;
	env.shm_grant = &g;
	r->waiting_done = true;
	if (dipc_conn_reply(r->conn, r->req_id, &env) < 0) {
		m->cur = NULL;
		dipc_shm_plan_free(r->plan);
		g_free(r);
		mgr_kick(m);
		return;
	}
	uv_timer_start(&m->timer, mgr_timer_cb, n->conf->request_timeout_ms, 0);
}

static void mgr_kick(shm_mgr *m)
{
	mreq *r;
	while (!m->cur && !m->destroyed && (r = g_queue_pop_head(&m->reqs))) {
		if (r->node != 0 && !r->conn) {
			g_free(r);
			continue;
		}
		m->cur = r;
		mgr_plan(m);
	}
}

static void mgr_timer_closed(uv_handle_t *h)
{
	shm_mgr *m = h->data;
	for (unsigned i = 0; i < m->nnames; i++)
		g_free(m->names[i]);
	g_free(m);
}

static void mgr_free_if_idle(shm_mgr *m)
{
	if (m->destroyed && m->calls == 0 && !uv_is_closing((uv_handle_t *)&m->timer))
		uv_close((uv_handle_t *)&m->timer, mgr_timer_closed);
}

/* ---- attaches, control operations (at the owner: dipc_obj->shm) ---- */

dipc_shmseg *shmglue_create(dipc_node *n, int32_t key, int32_t id, uint64_t size, int mode,
			    const dipc_ident *who)
{
	shm_local *s = local_get(n, id, size, n->name);
	if (!s)
		return NULL;
	dipc_shmseg *seg = dipc_shmseg_new(key, id, size, mode, who);
	s->m = mgr_new(s, seg);
	return seg;
}

/* The segment is gone at its owner (destroyed, or the node stops). */
void shmglue_destroy(dipc_node *n, int32_t id)
{
	shm_local *s = local_find(n, id);
	mreq *r;

	if (!s || !s->m)
		return;
	shm_mgr *m = s->m;
	m->destroyed = true;
	uv_timer_stop(&m->timer);
	while ((r = g_queue_pop_head(&m->reqs))) {
		if (r->conn)
			dipc_conn_reply_err(r->conn, r->req_id, EIDRM);
		g_free(r);
	}
	if (m->cur) {
		dipc_shm_plan_free(m->cur->plan);
		g_free(m->cur);
		m->cur = NULL;
	}
	s->m = NULL;
	s->gone = true;
	s->acquiring = false;
	fail_waits(s, -EIDRM);
	mgr_free_if_idle(m);
	local_free_if_idle(s);
}

void shmglue_node_down(dipc_node *n, const char *name)
{
	GHashTableIter it;
	gpointer v;

	if (!st_of(n))
		return;
	g_hash_table_iter_init(&it, st_of(n)->locals);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		shm_local *s = v;
		if (s->m) {
			int idx = -1;
			for (unsigned i = 1; i < s->m->nnames; i++)
				if (g_strcmp0(s->m->names[i], name) == 0)
					idx = (int)i;
			dipc_shmseg_node_down(s->m->seg, name, idx);
			if (idx > 0) {
				g_free(s->m->names[idx]);
				s->m->names[idx] = NULL;
			}
		} else if (g_strcmp0(s->owner, name) == 0) {
			/* Its manager is gone: the segment with it. */
			s->gone = true;
			fail_waits(s, -EIDRM);
		}
	}
}

char *shmglue_describe(dipc_node *n, dipc_shmseg *seg, int32_t id)
{
	shm_local *s = local_find(n, id);
	if (!s || !s->m)
		return dipc_shmseg_describe(seg, n->name, NULL, 0);
	return dipc_shmseg_describe(seg, n->name, (const char *const *)s->m->names, s->m->nnames);
}

/* The caller's node, after the owner answered an attach or detach. */
/* The caller's node, after the owner counted an attach: from now on the
 * process gets the take-back commands of the segment.  *rev and *flushing
 * tell the shim how to map it: a take-back that already runs did not send
 * this process its commands, so it maps PROT_NONE and faults through the
 * daemon, which holds the faults until the take-back ends. */
void shmglue_attached(dipc_node *n, int32_t tgid, int32_t id, uint64_t size,
		      const char *owner, uint32_t *rev, bool *flushing)
{
	shm_proc *p = proc_get(n, tgid, true);
	unsigned c = GPOINTER_TO_UINT(g_hash_table_lookup(p->att, GINT_TO_POINTER(id)));
	g_hash_table_replace(p->att, GINT_TO_POINTER(id), GUINT_TO_POINTER(c + 1));
	shm_local *s = local_get(n, id, size, owner);
	*rev = s ? s->rev : 0;
	*flushing = s && s->flush;
}

/* A shmdt of the caller: false if it had no attach of id. */
bool shmglue_detach_local(dipc_node *n, int32_t tgid, int32_t id)
{
	shm_proc *p = proc_get(n, tgid, false);
	unsigned c;

	if (!p || !(c = GPOINTER_TO_UINT(g_hash_table_lookup(p->att, GINT_TO_POINTER(id)))))
		return false;
	if (c == 1)
		g_hash_table_remove(p->att, GINT_TO_POINTER(id));
	else
		g_hash_table_replace(p->att, GINT_TO_POINTER(id), GUINT_TO_POINTER(c - 1));
	return true;
}

void shmglue_segment_gone(dipc_node *n, int32_t id)
{
	shm_local *s = local_find(n, id);
	if (s && !s->m) {
		s->gone = true;
		local_free_if_idle(s);
	}
}

static void detach_done(dipc_op *op)
{
	if (op->result >= 0 && op->destroyed)
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
	op->cmd = DIPC_SHM_CMD_DETACH;
	op->val = (int32_t)count;
	op->done = detach_done;
	route_op(op);
}

/* OP_SHMCTL at the owner. */
void exec_shm(dipc_op *op, dipc_obj *o)
{
	dipc_node *n = op->node;
	dipc_shmseg *seg = o->shm;
	int r;

	switch (op->cmd) {
	case DIPC_SHM_CMD_ATTACH:
		r = dipc_shmseg_attach(seg, &op->who, op->flags, op->fork, &op->sds);
		break;
	case DIPC_SHM_CMD_DETACH:
		dipc_shmseg_detach(seg, op->who.node, op->who.pid, (unsigned)MAX(op->val, 0));
		r = 0;
		break;
	default: {
		struct dipc_shmid_ds in = { 0 };
		in.perm.uid = op->set_uid;
		in.perm.gid = op->set_gid;
		in.perm.mode = op->set_mode;
		r = dipc_shmseg_ctl(seg, &op->who, op->cmd, &in, &op->sds);
		if (r == 0 && op->cmd == IPC_RMID && !dipc_shmseg_gone(seg)) {
			/* the key is free again: other nodes may create it */
			g_hash_table_remove(n->owned_keys, &o->slot);
			o->key = IPC_PRIVATE;
			obj_rekey(n, o);
		}
		if (r == 0 && (op->cmd == SHM_STAT || op->cmd == 15 /* SHM_STAT_ANY */))
			r = o->id;
		break;
	}
	}
	if (r >= 0 && dipc_shmseg_gone(seg)) {
		op->destroyed = true;
		shmglue_destroy(n, o->id);
		obj_destroy(n, o);
	}
	op_complete(op, r);
}

/* ---- FUSE: the data file ---- */

shm_local *shmglue_local(dipc_node *n, int32_t id, uint64_t size, const char *owner)
{
	return local_get(n, id, size, owner);
}

void shmglue_read(dipc_node *n, fuse_req_t req, int32_t id, size_t size, off_t off,
		  bool direct)
{
	shm_local *s = local_find(n, id);

	if (!s || s->gone) {
		fuse_reply_err(req, s ? EIDRM : EIO);
		return;
	}
	if (off < 0 || (uint64_t)off >= s->size || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size = (size_t)MIN((uint64_t)size, s->size - (uint64_t)off);
	shm_wait *w = g_new0(shm_wait, 1);
	w->kind = direct ? W_DREAD : W_READ;
	w->s = s;
	w->req = req;
	w->off = off;
	w->size = size;
	w->first = (uint64_t)off / PAGE;
	w->count = ((uint64_t)off + size + PAGE - 1) / PAGE - w->first;
	if (w->kind == W_READ && wait_ready(s, w)) {
		wait_answer(w, 0);
		return;
	}
	park_wait(s, w);
}

void shmglue_write(dipc_node *n, fuse_req_t req, int32_t id, const char *buf, size_t size,
		   off_t off, bool writepage, bool direct)
{
	shm_local *s = local_find(n, id);

	if (!s || s->gone) {
		fuse_reply_err(req, s ? EIDRM : EIO);
		return;
	}
	if (off < 0 || (uint64_t)off >= s->size) {
		fuse_reply_err(req, (uint64_t)off == s->size ? ENOSPC : EFBIG);
		return;
	}
	size = (size_t)MIN((uint64_t)size, s->size - (uint64_t)off);
	uint64_t first = (uint64_t)off / PAGE;
	uint64_t count = ((uint64_t)off + size + PAGE - 1) / PAGE - first;
	if (writepage || !direct) {
		/* Dirty pages of the mappings coming back: only ever while
		 * the node holds them for writing.  Anything else is a page
		 * dirtied without the shim's trap: dropped, loudly. */
		SHM_TRACE("shm: writeback %d: %lu+%lu ok %d", id, (unsigned long)first,
			(unsigned long)count, pages_ok(s, first, count, true));
		uint64_t dropped = 0;
		for (uint64_t pg = first; pg < first + count; pg++) {
			uint64_t a = MAX(pg * PAGE, (uint64_t)off);
			uint64_t b = MIN((pg + 1) * PAGE, (uint64_t)off + size);
			if (s->state[pg] == PG_W)
				mem_write(s, a, buf + (a - (uint64_t)off), b - a);
			else
				dropped++;
		}
		if (dropped)
			g_message("shm %d: dropped the write-back of %" G_GUINT64_FORMAT
				  " page(s) in %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT
				  " this node does not hold for writing", id, dropped, first, count);
		fuse_reply_write(req, size);
		return;
	}
	shm_wait *w = g_new0(shm_wait, 1);
	w->kind = W_DWRITE;
	w->s = s;
	w->req = req;
	w->off = off;
	w->size = size;
	w->data = g_memdup2(buf, size);
	w->first = first;
	w->count = count;
	w->write = true;
	park_wait(s, w);
}

/* ---- FUSE: the shim's ioctls ---- */

void shmglue_fault(dipc_node *n, fuse_req_t req, const struct dipc_ioc_shmfault *in)
{
	shm_local *s = local_find(n, in->id);

	if (!s || s->gone) {
		fuse_reply_err(req, EIDRM);
		return;
	}
	if (in->page >= s->npages) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	SHM_TRACE("shm: fault %d: pid %d page %lu %s", in->id, fuse_req_ctx(req)->pid,
		(unsigned long)in->page, in->write ? "W" : "R");
	shm_wait *w = g_new0(shm_wait, 1);
	w->kind = W_FAULT;
	w->s = s;
	w->req = req;
	w->write = in->write != 0;
	if (in->whole || n->conf->shm_segment_mode) {
		w->first = 0;
		w->count = s->npages;
	} else {
		w->first = in->page;
		w->count = 1;
	}
	if (wait_ready(s, w)) {
		wait_answer(w, 0);
		return;
	}
	park_wait(s, w);
}

static void helper_intr_hook(fuse_req_t req, void *data)
{
	shm_proc *p = data;
	dipc_node *n = fuse_req_userdata(req);
	/* Only a fatal signal reaches a helper (it blocks the others): the
	 * process is exiting or exec'ing; handled after this request. */
	if (!p->in_intr) {
		p->in_intr = true;
		g_queue_push_tail(&st_of(n)->intr_procs, p);
	}
}

void shmglue_wait(dipc_node *n, fuse_req_t req, int32_t tgid,
		  const struct dipc_ioc_shmwait *in)
{
	shm_proc *p = proc_get(n, tgid, true);

	if (in->probe) {
		struct dipc_ioc_shmwait out = { 0 };
		out.parked = p->wait_req != NULL;
		fuse_reply_ioctl(req, 0, &out, sizeof(out));
		return;
	}
	proc_ack(p, in->ack);
	if (p->wait_req)
		fuse_reply_err(p->wait_req, EBUSY);
	p->wait_req = req;
	p->helper_tid = fuse_req_ctx(req)->pid;
	fuse_req_interrupt_func(req, helper_intr_hook, p);
	proc_deliver(n, p);
}

/* Interrupt hooks queue their object; this runs after each FUSE request. */
void shmglue_drain_interrupts(dipc_node *n)
{
	shm_state *st = st_of(n);
	shm_proc *p;
	shm_wait *w;

	if (!st)
		return;
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
	while ((w = g_queue_pop_head(&st->intr_waits))) {
		w->queued_intr = false;
		w->interrupted = true;
		if (w->flushing)
			continue;   /* answered when its flush ends */
		g_queue_remove(&w->s->waits, w);
		shm_local *s = w->s;
		wait_answer(w, -EINTR);
		acquire_next(s);
	}
}

/* ---- start, stop ---- */

void shmglue_init(dipc_node *n)
{
	shm_state *st = g_new0(shm_state, 1);
	n->shm = st;
	shm_trace = g_getenv("DIPC_DEBUG") != NULL;
	st->locals = g_hash_table_new(g_direct_hash, g_direct_equal);
	st->procs = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_queue_init(&st->intr_waits);
	g_queue_init(&st->intr_procs);
	st->jobs = g_async_queue_new();
	st->done = g_async_queue_new();
	uv_async_init(n->loop, &st->done_async, inval_done_cb);
	st->done_async.data = n;
	uv_timer_init(n->loop, &st->reaper);
	st->reaper.data = n;
	if (pthread_create(&st->thread, NULL, inval_thread_main, n) == 0) {
		pthread_detach(st->thread);
		st->started = true;
	} else {
		g_warning("cannot start the invalidation thread: shared memory will not work");
	}
}

void shmglue_fini(dipc_node *n)
{
	shm_state *st = st_of(n);
	if (!st)
		return;
	if (st->started) {
		inval_job *j = g_new0(inval_job, 1);
		j->stop = true;
		j->runs = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
		g_async_queue_push(st->jobs, j);
	}
	uv_close((uv_handle_t *)&st->done_async, NULL);
	uv_close((uv_handle_t *)&st->reaper, NULL);
}
