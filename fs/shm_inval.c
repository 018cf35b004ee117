/* SPDX-License-Identifier: MIT */
/**
 * @file shm_inval.c
 *
 * The invalidation thread and its two job queues.  The kernel's page cache
 * of shm/.id.ID is what the mappings of the node share, and only libfuse's
 * notify calls change it from here: fuse_lowlevel_notify_inval_inode drops
 * runs (dirty pages come back as WRITEs first, answered on the loop thread
 * -- which is why the call cannot be made there), notify_store puts the
 * pages of a large read grant into the cache at once.
 *
 * Jobs go to the thread on `jobs`, come back on `done` with a uv_async
 * wake-up; the loop side then ends the take-back (shm_flush_done) or lets
 * the waits of a stored segment go on.  A READ answered while an
 * invalidation ran may have re-cached a page: such a pass runs again (at
 * most MAX_PASSES times).
 *
 * The thread sees only its jobs (ino, runs, a dup of the memfd), never a
 * shm_local.
 */
#include <errno.h>
#include <unistd.h>

#include "shm.h"

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

void shm_inval_flush(shm_flush *f)
{
	shm_state *st = shm_st(f->s->n);
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

void shm_store_queue(shm_local *s, GArray *runs)
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
	g_async_queue_push(shm_st(s->n)->jobs, j);
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
	shm_state *st = shm_st(n);
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
	shm_state *st = shm_st(n);
	inval_job *j;

	while ((j = g_async_queue_try_pop(st->done))) {
		if (j->store) {
			shm_local *s = j->store;
			g_array_free(j->runs, TRUE);
			g_free(j);
			SHM_TRACE("shm: stored %d at %lu us", s->id, (unsigned long)(uv_hrtime() / 1000));
			if (--s->stores == 0) {
				shm_serve_waits(s);
				shm_acquire_next(s);
				shm_local_free_if_idle(s);
			}
			continue;
		}
		shm_flush *f = j->f;
		g_array_free(j->runs, TRUE);
		g_free(j);
		if (f->s->reads_in_flush != f->reads_seen && ++f->passes < MAX_PASSES) {
			shm_inval_flush(f);   /* a READ re-cached a page meanwhile */
			continue;
		}
		shm_flush_done(f);
	}
	node_activity(n);
}

/* In the daemon that serves only (shmglue_start, after fuse_daemonize()):
 * a fork keeps the calling thread alone, and a take-back would wait for
 * ever for a thread left in the parent. */
void shm_inval_start(dipc_node *n)
{
	shm_state *st = shm_st(n);

	st->jobs = g_async_queue_new();
	st->done = g_async_queue_new();
	uv_async_init(n->loop, &st->done_async, inval_done_cb);
	st->done_async.data = n;
	if (pthread_create(&st->thread, NULL, inval_thread_main, n) == 0) {
		pthread_detach(st->thread);
		st->started = true;
	} else {
		g_warning("cannot start the invalidation thread: shared memory will not work");
	}
}

void shm_inval_stop(dipc_node *n)
{
	shm_state *st = shm_st(n);

	if (st->started) {
		inval_job *j = g_new0(inval_job, 1);
		j->stop = true;
		j->runs = g_array_new(FALSE, FALSE, sizeof(dipc_shm_run));
		g_async_queue_push(st->jobs, j);
	}
	uv_close((uv_handle_t *)&st->done_async, NULL);
}
