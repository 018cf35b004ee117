/* SPDX-License-Identifier: MIT */
/**
 * @file shm.h
 *
 * What the shared-memory files of fs/ share, and nothing else: one node's
 * copy of a segment (shm_local), the FUSE requests waiting for its pages
 * (shm_wait), the take-backs that run on it (shm_flush), the node-wide
 * state (shm_state), and the calls the files make into each other.  The
 * exported shmglue_* entry points stay in node.h.
 *
 * The rooms, in the order an access goes through them:
 *
 *   shm_copy.c      the local copy: memfd, per-page states, waits; FUSE
 *                   READ/WRITE of shm/.id.ID and the shim's faults
 *   shm_acquire.c   asking the manager for pages and installing its grant
 *   shm_fetch.c     page bytes between nodes: ShmPages inline, ShmFetch
 *   shm_manager.c   the owner's state machine: request queue, plans,
 *                   grants (plain C on a transport interface, unit-tested)
 *   shm_owner.c     the manager wired to the node: its transport, the
 *                   owner's peer requests, create/destroy/node down
 *   shm_takeback.c  take-backs on this node: helper mailboxes of the
 *                   attached processes, their acknowledgements, exits
 *   shm_inval.c     the invalidation thread and its job queues
 *   shmglue.c       the front door: start/stop, peer dispatch, shmctl
 *
 * Everything runs on the loop thread except the invalidation thread
 * (shm_inval.c), which sees only its jobs.
 */
#ifndef DIPC_FS_SHM_H
#define DIPC_FS_SHM_H

#include <pthread.h>

#include "node.h"
#include "shm_manager.h"
#include "shmseg.h"

#define PAGE DIPC_SHM_PAGE
#define INLINE_MAX_PAGES 16
#define FETCH_PAGES 128          /* 512 KiB per ShmFetch, at most */
#define FETCH_INFLIGHT 4
#define FRAME_SLACK 2048         /* envelope around the bytes */
#define MAX_PASSES 32

enum { PG_I = 0, PG_R = 1, PG_W = 2 };

/* Protocol trace (DIPC_DEBUG=1): off, it costs a test, not a formatted
 * message per page.  Set by shmglue_init(). */
extern bool shm_trace;
#define SHM_TRACE(...)                                                         \
	do {                                                                   \
		if (G_UNLIKELY(shm_trace))                                     \
			g_debug(__VA_ARGS__);                                  \
	} while (0)

typedef struct shm_local shm_local;
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


/* ---- node-wide state ---- */

typedef struct shm_state {
	GHashTable *locals;      /* id -> shm_local */
	GHashTable *procs;       /* tgid -> shm_proc (shm_takeback.c) */
	GQueue intr_waits;       /* interrupted shm_waits */
	GQueue intr_procs;       /* shm_procs whose helper's wait was interrupted */
	GAsyncQueue *jobs, *done;   /* to and from the invalidation thread */
	uv_async_t done_async;
	uv_timer_t reaper;
	pthread_t thread;
	bool started;
} shm_state;

static inline shm_state *shm_st(dipc_node *n)
{
	return n->shm;
}

static inline fuse_ino_t shm_ino(int32_t id)
{
	return ns_obj_ino(DIPC_KIND_SHM, id);
}

/* ---- shm_copy.c ---- */
int shm_mem_read(shm_local *s, uint64_t off, void *buf, size_t len);
int shm_mem_write(shm_local *s, uint64_t off, const void *buf, size_t len);
void shm_mem_zero(shm_local *s, uint64_t first, uint64_t count);
shm_local *shm_local_find(dipc_node *n, int32_t id);
shm_local *shm_local_get(dipc_node *n, int32_t id, uint64_t size, const char *owner);
void shm_local_free_if_idle(shm_local *s);
bool shm_pages_ok(const shm_local *s, uint64_t first, uint64_t count, bool write);
/* Answer w now (pages held); frees it.  err < 0: fail it. */
void shm_wait_answer(shm_wait *w, int err);
void shm_serve_waits(shm_local *s);
void shm_fail_waits(shm_local *s, int err);
void shm_waits_drain_interrupts(dipc_node *n);

/* ---- shm_acquire.c ---- */
/* Ask for what the first unsatisfied wait needs, if nothing is on its way. */
void shm_acquire_next(shm_local *s);
/* The node holds [first, first + count) now (read or write). */
void shm_acquired(shm_local *s, uint64_t first, uint64_t count, bool write);

/* ---- shm_fetch.c ---- */
typedef bool (*shm_fetch_put_fn)(void *ud, uint64_t first, const uint8_t *data, size_t len);
typedef void (*shm_fetch_end_fn)(void *ud, int err);
void shm_fetch_start(dipc_node *n, const char *from, int32_t id, GArray *runs,
		     shm_fetch_put_fn put, shm_fetch_end_fn end, void *ud);
void shm_fetch_serve(dipc_node *n, dipc_conn *c, Dipc__Envelope *env);
int shm_pages_fill(shm_local *s, const GArray *runs, Dipc__ShmPages *pg, uint64_t **a,
		   uint64_t **b, uint8_t **data, bool allow_inline);
int shm_pages_install(shm_local *s, const Dipc__ShmPages *pg, GArray *fetch);
GArray *shm_runs_from_pb(const Dipc__ShmPages *pg);

/* ---- shm_owner.c ---- */
void shm_owner_serve_acquire(dipc_node *n, dipc_conn *c, Dipc__Envelope *env);
void shm_owner_serve_done(dipc_node *n, dipc_conn *c, Dipc__Envelope *env);

/* ---- shm_takeback.c ---- */
shm_flush *shm_flush_new(shm_local *s, int prot);
void shm_flush_queue(shm_flush *f);
void shm_flush_done(shm_flush *f);
void shm_revoke_start(shm_local *s, const GArray *runs, bool to_read, dipc_conn *conn,
		      uint64_t req_id, bool local_mgr);
void shm_takeback_serve(dipc_node *n, dipc_conn *c, Dipc__Envelope *env);
void shm_takeback_conn_closed(shm_local *s, dipc_conn *c);
void shm_takeback_init(dipc_node *n);
void shm_procs_drain_interrupts(dipc_node *n);

/* ---- shm_inval.c ---- */
/* Drop the flush's runs from the page cache (dirty pages come back as
 * WRITEs); shm_flush_done() follows. */
void shm_inval_flush(shm_flush *f);
/* Put runs of the memfd into the page cache (a large read grant). */
void shm_store_queue(shm_local *s, GArray *runs);
void shm_inval_start(dipc_node *n);
void shm_inval_stop(dipc_node *n);

#endif /* DIPC_FS_SHM_H */
