/* SPDX-License-Identifier: MIT */
/**
 * @file shm_copy.c
 *
 * This node's copy of a segment: a sparse memfd and per page a state
 * (Invalid, Read or Write), and the FUSE requests that wait for its pages.
 *
 *   - FUSE READs of shm/.id.ID (page faults of the mappings, max_readahead
 *     0) are answered from the memfd once the node holds the page; until
 *     then they wait, and shm_acquire.c asks the manager.
 *   - WRITEs are the dirty pages of the mappings coming back during an
 *     invalidation (shm_inval.c), or direct I/O that waits for a write
 *     grant and a local take-back first.
 *   - The first store to a page traps in the shim's SIGSEGV handler, which
 *     asks with DIPC_IOC_SHMFAULT; the answer carries the node's revocation
 *     count, so a handler whose grant was overtaken by a take-back retries.
 *
 * Loop thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm.h"

static bool runs_overlap(const GArray *runs, uint64_t first, uint64_t count)
{
	for (guint i = 0; i < runs->len; i++) {
		const dipc_shm_run *r = &g_array_index(runs, dipc_shm_run, i);
		if (first < r->first + r->count && r->first < first + count)
			return true;
	}
	return false;
}

/* ---- memfd I/O ---- */

int shm_mem_read(shm_local *s, uint64_t off, void *buf, size_t len)
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

int shm_mem_write(shm_local *s, uint64_t off, const void *buf, size_t len)
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

void shm_mem_zero(shm_local *s, uint64_t first, uint64_t count)
{
	if (fallocate(s->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(first * PAGE), (off_t)(count * PAGE)) < 0)
		g_warning("shm %d: cannot clear pages: %s", s->id, g_strerror(errno));
}

/* ---- segments on this node ---- */

shm_local *shm_local_find(dipc_node *n, int32_t id)
{
	return shm_st(n) ? g_hash_table_lookup(shm_st(n)->locals, GINT_TO_POINTER(id)) : NULL;
}

shm_local *shm_local_get(dipc_node *n, int32_t id, uint64_t size, const char *owner)
{
	shm_local *s = shm_local_find(n, id);
	g_autofree char *name = NULL;

	if (s)
		return s;
	if (size == 0 || !owner)
		return NULL;
	/* The size comes from a client (at the owner) or a peer: every
	 * product is checked and the page states are a try-allocation. */
	uint64_t npages = dipc_shm_pages_of(size), bytes;
	uint8_t *state;
	if (!g_uint64_checked_mul(&bytes, npages, PAGE) || bytes > (uint64_t)G_MAXINT64 ||
	    !(state = g_try_new0(uint8_t, npages))) {
		g_message("shm %d: no room for a copy of %" G_GUINT64_FORMAT " bytes", id, size);
		return NULL;
	}
	name = g_strdup_printf("dipc-shm-%d", id);
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
		g_warning("shm %d: no memfd of %" G_GUINT64_FORMAT " bytes: %s", id, size,
			  g_strerror(errno));
		if (fd >= 0)
			close(fd);
		g_free(state);
		return NULL;
	}
	s = g_new0(shm_local, 1);
	s->n = n;
	s->id = id;
	s->size = size;
	s->npages = npages;
	s->owner = g_strdup(owner);
	s->memfd = fd;
	s->state = state;
	g_queue_init(&s->waits);
	g_queue_init(&s->flushes);
	g_hash_table_insert(shm_st(n)->locals, GINT_TO_POINTER(id), s);
	return s;
}

bool shm_pages_ok(const shm_local *s, uint64_t first, uint64_t count, bool write)
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
	g_hash_table_remove(shm_st(s->n)->locals, GINT_TO_POINTER(s->id));
	close(s->memfd);
	g_free(s->state);
	g_free(s->owner);
	g_free(s);
}

void shm_local_free_if_idle(shm_local *s)
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
		g_queue_push_tail(&shm_st(n)->intr_waits, w);
	}
}

/* Answer w now (pages held); frees it.  err < 0: fail it. */
void shm_wait_answer(shm_wait *w, int err)
{
	shm_local *s = w->s;

	if (w->queued_intr)
		g_queue_remove(&shm_st(s->n)->intr_waits, w);
	if (err < 0) {
		fuse_reply_err(w->req, -err);
		wait_free(w);
		return;
	}
	switch (w->kind) {
	case W_READ:
	case W_DREAD: {
		g_autofree char *buf = g_malloc(MAX(w->size, 1));
		int r = shm_mem_read(s, (uint64_t)w->off, buf, w->size);
		if (r < 0) {
			fuse_reply_err(w->req, EIO);   /* never bytes we do not have */
			break;
		}
		if (s->flush && runs_overlap(s->flush->runs, w->first, w->count))
			s->reads_in_flush++;
		fuse_reply_buf(w->req, buf, w->size);
		break;
	}
	case W_DWRITE: {
		int r = shm_mem_write(s, (uint64_t)w->off, w->data, w->size);
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
	if (!shm_pages_ok(s, w->first, w->count, w->write))
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

void shm_serve_waits(shm_local *s)
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
			shm_flush *f = shm_flush_new(s, w->kind == W_DWRITE ? DIPC_SHM_PROT_NONE
									: DIPC_SHM_PROT_READ);
			dipc_shm_runs_add(f->runs, w->first, w->count);
			f->w = w;
			w->flushing = true;
			shm_flush_queue(f);
			l = next;
			continue;
		}
		g_queue_delete_link(&s->waits, l);
		shm_wait_answer(w, 0);
		l = next;
	}
}

void shm_fail_waits(shm_local *s, int err)
{
	shm_wait *w;
	GQueue keep = G_QUEUE_INIT;
	while ((w = g_queue_pop_head(&s->waits))) {
		if (w->flushing) {
			g_queue_push_tail(&keep, w);
			continue;
		}
		shm_wait_answer(w, err);
	}
	s->waits = keep;
}

static void park_wait(shm_local *s, shm_wait *w)
{
	g_queue_push_tail(&s->waits, w);
	fuse_req_interrupt_func(w->req, wait_intr_hook, w);
	shm_serve_waits(s);
	shm_acquire_next(s);
}

void shmglue_segment_gone(dipc_node *n, int32_t id)
{
	shm_local *s = shm_local_find(n, id);
	if (s && !s->m) {
		s->gone = true;
		shm_local_free_if_idle(s);
	}
}

/* ---- FUSE: the data file ---- */

shm_local *shmglue_local(dipc_node *n, int32_t id, uint64_t size, const char *owner)
{
	return shm_local_get(n, id, size, owner);
}

void shmglue_read(dipc_node *n, fuse_req_t req, int32_t id, size_t size, off_t off,
		  bool direct)
{
	shm_local *s = shm_local_find(n, id);

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
		shm_wait_answer(w, 0);
		return;
	}
	park_wait(s, w);
}

void shmglue_write(dipc_node *n, fuse_req_t req, int32_t id, const char *buf, size_t size,
		   off_t off, bool writepage, bool direct)
{
	shm_local *s = shm_local_find(n, id);

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
			(unsigned long)count, shm_pages_ok(s, first, count, true));
		uint64_t dropped = 0;
		int err = 0;
		for (uint64_t pg = first; pg < first + count; pg++) {
			uint64_t a = MAX(pg * PAGE, (uint64_t)off);
			uint64_t b = MIN((pg + 1) * PAGE, (uint64_t)off + size);
			if (s->state[pg] != PG_W)
				dropped++;
			else if (!err)
				err = shm_mem_write(s, a, buf + (a - (uint64_t)off), b - a);
		}
		if (dropped)
			g_message("shm %d: dropped the write-back of %" G_GUINT64_FORMAT
				  " page(s) in %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT
				  " this node does not hold for writing", id, dropped, first, count);
		if (err < 0) {
			/* the page cache keeps the page dirty and says so */
			g_warning("shm %d: cannot store written-back pages %" G_GUINT64_FORMAT
				  "+%" G_GUINT64_FORMAT ": %s", id, first, count, g_strerror(-err));
			fuse_reply_err(req, -err);
			return;
		}
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

/* A fault of process tgid: only of a segment it holds an attach of, and
 * for writing only through a writable one (shmglue_attach_check). */
void shmglue_fault(dipc_node *n, fuse_req_t req, int32_t tgid,
		   const struct dipc_ioc_shmfault *in)
{
	shm_local *s = shm_local_find(n, in->id);
	int r;

	if (!s || s->gone) {
		fuse_reply_err(req, EIDRM);
		return;
	}
	if (in->page >= s->npages) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((r = shmglue_attach_check(n, tgid, in->id, in->write != 0)) < 0) {
		fuse_reply_err(req, -r);
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
		shm_wait_answer(w, 0);
		return;
	}
	park_wait(s, w);
}

/* Interrupted waits (their hooks queued them): answered EINTR, unless
 * their local flush runs -- then when it ends. */
void shm_waits_drain_interrupts(dipc_node *n)
{
	shm_state *st = shm_st(n);
	shm_wait *w;

	while ((w = g_queue_pop_head(&st->intr_waits))) {
		w->queued_intr = false;
		w->interrupted = true;
		if (w->flushing)
			continue;   /* answered when its flush ends */
		g_queue_remove(&w->s->waits, w);
		shm_local *s = w->s;
		shm_wait_answer(w, -EINTR);
		shm_acquire_next(s);
	}
}
