/* SPDX-License-Identifier: MIT */
/**
 * @file shm.c
 *
 * shmget / shmat / shmdt / shmctl for distributed segments, and the two
 * pieces of the coherence protocol that must live in the program's process
 * (common/dipc_abi.h, "shared memory"; docs/design.md):
 *
 *   - the SIGSEGV handler.  A segment is mapped PROT_READ; the first store
 *     to a page faults (SEGV_ACCERR) and the handler asks the daemon for the
 *     page (DIPC_IOC_SHMFAULT), then mprotects what it was given.  Any other
 *     fault runs the program's own SIGSEGV action (signals.c keeps it).
 *   - the helper thread.  It waits in DIPC_IOC_SHMWAIT with every signal
 *     blocked, applies the daemon's commands (mprotect a run PROT_READ or
 *     PROT_NONE) and acknowledges them with its next wait.  When the process
 *     exits or execs, its wait is interrupted: the daemon detaches it.
 *
 * The handler and the helper serialise per attach on a spin lock taken with
 * every signal blocked; `rev_seen` is the last take-back the helper applied:
 * a grant older than that is not applied (the access faults again).
 *
 * Lifetime.  The handler blocks in DIPC_IOC_SHMFAULT without the lock, and a
 * shmdt on another thread may detach the attach meanwhile.  So a handler
 * claims the attach it found (att_claim: `inflight` raised while a scan
 * counter of the current epoch is held), and an attach taken out of the
 * table is freed only after every scan of the epoch before it ended and every
 * claim on it was released (att_quiesce).  A handler that comes back to an
 * attach marked `dying` (its mapping is gone or going) changes nothing: the
 * address may belong to another mapping by then.
 *
 * The handler's own calls are async-signal-safe: atomics, syscalls, the real
 * functions of the table (dipc_real), a control fd reopened without logging
 * (dipc_control_for_fault), a message formatted by hand.  A segment that is
 * gone is SIGBUS to the program, delivered as the kernel delivers it for a
 * truncated file mapping (dipc_signals_deliver_fault): the program's own
 * handler runs, or the process dies of SIGBUS.
 *
 * shmctl's IPC_INFO and SHM_INFO ask both sides and return the higher of
 * the two highest indices (shmctl_info); SHM_STAT with an index at or above
 * DIPC_ID_SLOT_BASE goes to the daemon, like a cluster id (fs/ipcindex.c).
 *
 * Syscalls that write into (or read from) a segment page (read, recv, ...)
 * would fail with EFAULT instead of faulting: their wrappers (pageio.c)
 * touch the pages first, through dipc_shm_touch() here.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "shim.h"

#define PAGE DIPC_SHM_PAGE
#define MAX_ATT 1024
#define PROT_ST_NONE 0
#define PROT_ST_READ 1
#define PROT_ST_RW 2
#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

struct att {
	uintptr_t start;
	size_t len, npages;
	int id;
	int shmflg;
	bool rdonly;
	_Atomic bool whole;       /* per-page mprotect ran out of mappings */
	uint8_t *prot;            /* per page, PROT_ST_* */
	atomic_flag lock;
	uint32_t rev_seen;
	bool dying;               /* being detached: the helper leaves it alone */
	_Atomic int inflight;     /* handlers (and touches) holding a claim */
};

static _Atomic(struct att *) atts[MAX_ATT];
/* The last take-back the helper applied, per segment, even when the process
 * had no attach of it mapped yet (shmat between its request and its mmap). */
#define REV_SLOTS 256
static _Atomic int rev_id[REV_SLOTS];
static _Atomic uint32_t rev_val[REV_SLOTS];

static void rev_record(int id, uint32_t rev)
{
	unsigned h = (unsigned)id % REV_SLOTS;
	for (unsigned i = 0; i < REV_SLOTS; i++) {
		unsigned k = (h + i) % REV_SLOTS;
		int cur = atomic_load(&rev_id[k]);
		if (cur == 0) {
			int expected = 0;
			if (!atomic_compare_exchange_strong(&rev_id[k], &expected, id) &&
			    expected != id)
				continue;
		} else if (cur != id) {
			continue;
		}
		uint32_t old = atomic_load(&rev_val[k]);
		while (old < rev && !atomic_compare_exchange_weak(&rev_val[k], &old, rev))
			;
		return;
	}
}

static uint32_t rev_lookup(int id)
{
	unsigned h = (unsigned)id % REV_SLOTS;
	for (unsigned i = 0; i < REV_SLOTS; i++) {
		unsigned k = (h + i) % REV_SLOTS;
		int cur = atomic_load(&rev_id[k]);
		if (cur == id)
			return atomic_load(&rev_val[k]);
		if (cur == 0)
			return 0;
	}
	return 0;
}
static _Atomic int natts;
static pthread_mutex_t att_mutex = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool helper_running;
/* The helper is looking at the attach table: an attach taken out of it is
 * not freed until the helper is done. */
static _Atomic int helper_in_apply;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
/* Scans of the table that may end in a claim, counted per epoch parity: an
 * attach removed from the table is out of reach of every scan that starts
 * after the removal, so its remover flips the epoch and waits only for the
 * scans of the old one (new scans cannot keep it waiting). */
static _Atomic unsigned scan_epoch;
static _Atomic int scanning[2];

/* ---- the attach table ---------------------------------------------------- */

static struct att *att_find(uintptr_t a)
{
	if (atomic_load_explicit(&natts, memory_order_acquire) == 0)
		return NULL;
	for (int i = 0; i < MAX_ATT; i++) {
		struct att *t = atomic_load_explicit(&atts[i], memory_order_acquire);
		if (t && a >= t->start && a < t->start + t->len)
			return t;
	}
	return NULL;
}

static bool att_add(struct att *t)
{
	for (int i = 0; i < MAX_ATT; i++) {
		struct att *expected = NULL;
		if (atomic_compare_exchange_strong(&atts[i], &expected, t)) {
			atomic_fetch_add(&natts, 1);
			return true;
		}
	}
	return false;
}

static void att_remove(struct att *t)
{
	for (int i = 0; i < MAX_ATT; i++) {
		struct att *expected = t;
		if (atomic_compare_exchange_strong(&atts[i], &expected, NULL)) {
			atomic_fetch_sub(&natts, 1);
			return;
		}
	}
}

/* Start (end) a scan that may claim attaches: the parity to end it with. */
static unsigned scan_begin(void)
{
	unsigned e = atomic_load(&scan_epoch) & 1;
	atomic_fetch_add(&scanning[e], 1);
	return e;
}

static void scan_end(unsigned e)
{
	atomic_fetch_sub(&scanning[e], 1);
}

/* The attach holding a, claimed (released with att_release), or NULL.
 * Async-signal-safe; never waits. */
static struct att *att_claim(uintptr_t a)
{
	unsigned e = scan_begin();
	struct att *t = att_find(a);
	if (t)
		atomic_fetch_add(&t->inflight, 1);
	scan_end(e);
	return t;
}

static void att_release(struct att *t)
{
	atomic_fetch_sub(&t->inflight, 1);
}

/* t is out of the table: wait until nothing can still use it (the scans of
 * the epoch before, the claims on it, the helper's pass over the table). */
static void att_quiesce(struct att *t)
{
	unsigned old = atomic_fetch_add(&scan_epoch, 1) & 1;
	while (atomic_load(&scanning[old]) > 0)
		sched_yield();
	while (atomic_load(&t->inflight) > 0 || atomic_load(&helper_in_apply))
		sched_yield();
}

static void att_lock(struct att *t, sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
	while (atomic_flag_test_and_set_explicit(&t->lock, memory_order_acquire))
		sched_yield();
}

static void att_unlock(struct att *t, const sigset_t *old)
{
	atomic_flag_clear_explicit(&t->lock, memory_order_release);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* mprotect a run of t's pages (clipped) and record it; false on ENOMEM. */
static bool att_protect(struct att *t, uint64_t first, uint64_t count, int st)
{
	if (first >= t->npages)
		return true;
	if (count > t->npages - first)
		count = t->npages - first;
	int prot = st == PROT_ST_RW ? PROT_READ | PROT_WRITE : st == PROT_ST_READ ? PROT_READ : PROT_NONE;
	if (mprotect((void *)(t->start + first * PAGE), count * PAGE, prot) < 0)
		return false;
	memset(t->prot + first, st, count);
	return true;
}

/* ---- the SIGSEGV handler -------------------------------------------------- */

/* A store (or, on a PROT_NONE page, any access) at a in claimed attach t:
 * 0 when the access may be retried (granted, or changed meanwhile), 1 when
 * the fault is the program's own (a store into SHM_RDONLY), -errno when the
 * segment is unavailable. */
static int fault_in(struct att *t, uintptr_t a)
{
	uint64_t page = (a - t->start) / PAGE;
	sigset_t old;
	att_lock(t, &old);
	bool dying = t->dying;
	int st = t->prot[page];
	att_unlock(t, &old);
	if (dying)
		return 0; /* the mapping is going: retry (then MAPERR or another mapping) */
	if (t->rdonly && st != PROT_ST_NONE)
		return 1;
	if (st == PROT_ST_RW)
		return 0;

	struct dipc_ioc_shmfault f;
	memset(&f, 0, sizeof(f));
	dipc_hdr_init(&f.hdr);
	f.id = t->id;
	f.write = st == PROT_ST_READ;
	f.page = page;
	f.whole = atomic_load(&t->whole);
	int fd = dipc_control_for_fault();
	int r;
	do {
		r = fd < 0 ? fd : dipc_ioctl(fd, DIPC_IOC_SHMFAULT, &f);
	} while (r == -EINTR);
	if (r < 0)
		return r == DIPC_CTL_LOCAL ? -ENOTCONN : r;

	att_lock(t, &old);
	if (!t->dying && t->rev_seen <= f.rev) {
		if (f.write) {
			if (!att_protect(t, f.first, f.count, PROT_ST_RW))
				atomic_store(&t->whole, true);
		} else {
			/* raise only what is PROT_NONE; a page held for writing
			 * stays writable */
			for (uint64_t p = f.first; p < f.first + f.count && p < t->npages; p++) {
				if (t->prot[p] != PROT_ST_NONE)
					continue;
				uint64_t e = p;
				while (e < f.first + f.count && e < t->npages && t->prot[e] == PROT_ST_NONE)
					e++;
				att_protect(t, p, e - p, PROT_ST_READ);
				p = e;
			}
		}
	}
	att_unlock(t, &old);
	return 0;
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct att *t = si->si_code == SEGV_ACCERR ? att_claim((uintptr_t)si->si_addr) : NULL;
	if (!t) {
		errno = saved;
		dipc_signals_chain_segv(sig, si, uc);
		return;
	}
	int id = t->id;
	int r = fault_in(t, (uintptr_t)si->si_addr);
	/* Released before the program's handler runs: it may siglongjmp. */
	att_release(t);
	if (r == 1) {
		errno = saved;
		dipc_signals_chain_segv(sig, si, uc);
		return;
	}
	if (r < 0) {
		/* The segment is gone (its owner died): as a mapping whose file
		 * went away, SIGBUS at the address. */
		dipc_log_signal_safe("segment ", id, " unavailable", -r);
		siginfo_t bus;
		memset(&bus, 0, sizeof(bus));
		bus.si_signo = SIGBUS;
		bus.si_code = BUS_ADRERR;
		bus.si_addr = si->si_addr;
		errno = saved;
		dipc_signals_deliver_fault(SIGBUS, &bus, uc);
	}
	errno = saved;
}

/* ---- the helper thread ---------------------------------------------------- */

static void apply_cmd(const struct dipc_shm_cmd *c)
{
	rev_record(c->id, c->rev);
	atomic_store(&helper_in_apply, 1);
	for (int i = 0; i < MAX_ATT; i++) {
		struct att *t = atomic_load(&atts[i]);
		if (!t || t->id != c->id)
			continue;
		sigset_t old;
		bool dirty = false;
		att_lock(t, &old);
		if (t->dying) {
			att_unlock(t, &old);
			continue;
		}
		if (c->rev > t->rev_seen)
			t->rev_seen = c->rev;
		for (uint64_t p = c->first; p < c->first + c->count && p < t->npages; p++)
			if (t->prot[p] == PROT_ST_RW)
				dirty = true;
		att_protect(t, c->first, c->count,
			    c->prot == DIPC_SHM_PROT_NONE ? PROT_ST_NONE : PROT_ST_READ);
		att_unlock(t, &old);
		/* Write the run back now, in large WRITEs: the daemon then has
		 * the bytes without a page-by-page write-back. */
		if (dirty && c->first < t->npages) {
			uint64_t n = c->count < t->npages - c->first ? c->count : t->npages - c->first;
			msync((void *)(t->start + c->first * PAGE), n * PAGE, MS_SYNC);
		}
	}
	atomic_store(&helper_in_apply, 0);
}

static void *helper_main(void *arg)
{
	(void)arg;
	struct dipc_ioc_shmwait w;
	uint64_t ack = 0;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	for (;;) {
		int fd = dipc_control_for_id();
		if (fd < 0)
			break;
		memset(&w, 0, sizeof(w));
		dipc_hdr_init(&w.hdr);
		w.ack = ack;
		int r = dipc_ioctl(fd, DIPC_IOC_SHMWAIT, &w);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			if (r == -EBUSY || r == -ENOTCONN || r == -ECONNABORTED || r == -ENOTTY)
				break;
			usleep(10000);
			continue;
		}
		for (uint32_t i = 0; i < w.ncmds && i < DIPC_SHMWAIT_MAX; i++) {
			apply_cmd(&w.cmds[i]);
			ack = w.cmds[i].seq;
		}
	}
	atomic_store(&helper_running, false);
	return NULL;
}

static void helper_start(void)
{
	bool expected = false;
	if (!atomic_compare_exchange_strong(&helper_running, &expected, true))
		return;
	pthread_t th;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	if (pthread_create(&th, &a, helper_main, NULL) != 0) {
		atomic_store(&helper_running, false);
		dipc_log_always("cannot start the shared-memory helper thread");
		pthread_attr_destroy(&a);
		return;
	}
	pthread_attr_destroy(&a);
	/* Go on only once the helper waits in the daemon: its interrupted wait
	 * is what tells the daemon that this process exec'd (or exited). */
	int fd = dipc_control_for_id();
	for (int i = 0; fd >= 0 && i < 20000; i++) {
		struct dipc_ioc_shmwait w;
		memset(&w, 0, sizeof(w));
		dipc_hdr_init(&w.hdr);
		w.probe = 1;
		if (dipc_ioctl(fd, DIPC_IOC_SHMWAIT, &w) < 0 || w.parked)
			break;
		if (i < 100)
			sched_yield();
		else
			usleep(100);
	}
}

/* fork: the child has the parent's mappings (and so its attaches) but no
 * helper; its pages may be writable without its node knowing. */
static void atfork_child(void)
{
	atomic_store(&helper_running, false);
	/* Only this thread came along: the scans, claims and the helper's pass
	 * of the others never end here, and must not keep a shmdt waiting. */
	atomic_store(&scanning[0], 0);
	atomic_store(&scanning[1], 0);
	atomic_store(&helper_in_apply, 0);
	if (atomic_load(&natts) == 0)
		return;
	for (int i = 0; i < MAX_ATT; i++) {
		struct att *t = atomic_load(&atts[i]);
		if (!t)
			continue;
		atomic_flag_clear(&t->lock);
		atomic_store(&t->inflight, 0);
		/* nothing of it is accessible until its node knows of this
		 * process: no store may go untrapped, no page unrevoked */
		att_protect(t, 0, t->npages, PROT_ST_NONE);
		int fd = dipc_control_for_id();
		struct dipc_ioc_shmat at;
		memset(&at, 0, sizeof(at));
		dipc_hdr_init(&at.hdr);
		at.id = t->id;
		at.shmflg = t->shmflg;
		at.fork = 1;
		if (fd >= 0 && dipc_ioctl(fd, DIPC_IOC_SHMAT, &at) >= 0 && !at.flushing) {
			t->rev_seen = at.rev;
			att_protect(t, 0, t->npages, PROT_ST_READ);
		}
	}
	helper_start();
}

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

/* ---- shmget / shmat / shmdt / shmctl ------------------------------------- */

DIPC_EXPORT int shmget(key_t key, size_t size, int shmflg)
{
	int saved = errno;
	dipc_init();

	if (!dipc_key_distributed(key, shmflg))
		goto kernel;
	int r = dipc_get(DIPC_KIND_SHM, key, shmflg, (uint64_t)size);
	if (r == DIPC_CTL_LOCAL)
		goto kernel;
	dipc_log("shmget(key=0x%x, size=%zu, flg=0%o): dipc -> %d%s%s", (unsigned)key, size,
		 (unsigned)shmflg, DIPC_LOG_RESULT(r));
	return dipc_ret(r, saved);
kernel:
	/* IPC_DIPC is SHM_NORESERVE to the kernel: never pass it on. */
	return dipc_real.shmget ? dipc_real.shmget(key, size, shmflg & ~IPC_DIPC)
				: dipc_ret(-ENOSYS, saved);
}

static void shmdt_ioctl(int id)
{
	int fd = dipc_control_for_id();
	struct dipc_ioc_shmat at;
	memset(&at, 0, sizeof(at));
	dipc_hdr_init(&at.hdr);
	at.id = id;
	if (fd >= 0)
		dipc_ioctl(fd, DIPC_IOC_SHMDT, &at);
}

/* t's mapping is gone (t->dying): out of the table, off the node's count,
 * freed once no handler, touch or helper can be looking at it.  Under
 * att_mutex. */
static void att_forget(struct att *t)
{
	att_remove(t);
	att_quiesce(t);
	shmdt_ioctl(t->id);
	free(t->prot);
	free(t);
}

static void att_drop(struct att *t)
{
	/* Unmap under the attach's lock: munmap writes the dirty pages back
	 * while the node still counts this attach, and a take-back's command
	 * that arrives meanwhile waits for the lock (then leaves the attach
	 * alone).  Taken out of the table first, the command would find
	 * nothing to wait for, and the node could hand the pages on before
	 * their bytes came back. */
	sigset_t old;
	att_lock(t, &old);
	t->dying = true;
	munmap((void *)t->start, t->len);
	att_unlock(t, &old);
	att_forget(t);
}

static void *dipc_shmat(int id, const void *shmaddr, int shmflg, int *err)
{
	uintptr_t addr = (uintptr_t)shmaddr;
	int fd = dipc_control_for_id();

	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	/* do_shmat's order: the address first. */
	if (addr) {
		if (addr & (PAGE - 1)) {
			if (shmflg & SHM_RND) {
				addr &= ~(uintptr_t)(PAGE - 1);
				if (!addr && (shmflg & SHM_REMAP)) {
					*err = -EINVAL;
					return NULL;
				}
			} else {
				*err = -EINVAL;
				return NULL;
			}
		}
	} else if (shmflg & SHM_REMAP) {
		*err = -EINVAL;
		return NULL;
	}

	struct dipc_ioc_shmat at;
	memset(&at, 0, sizeof(at));
	dipc_hdr_init(&at.hdr);
	at.id = id;
	at.shmflg = shmflg;
	int r = dipc_ioctl(fd, DIPC_IOC_SHMAT, &at);
	if (r < 0) {
		*err = r;
		return NULL;
	}
	size_t len = (at.ds.segsz + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	bool rdonly = (shmflg & SHM_RDONLY) != 0;

	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/shm/" DIPC_SHM_IDNAME "%d", dipc_mount_path(), id);
	int ffd = open(path, (rdonly ? O_RDONLY : O_RDWR | O_NONBLOCK) | O_CLOEXEC);
	if (ffd < 0) {
		*err = -errno;
		shmdt_ioctl(id);
		return NULL;
	}
	int mflags = MAP_SHARED;
	if (addr)
		mflags |= (shmflg & SHM_REMAP) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	void *p = mmap((void *)addr, len, PROT_READ, mflags, ffd, 0);
	int e = errno;
	close(ffd);
	if (p == MAP_FAILED || (addr && (uintptr_t)p != addr)) {
		if (p != MAP_FAILED)
			munmap(p, len);
		*err = (p == MAP_FAILED && e != EEXIST) ? -e : -EINVAL;
		shmdt_ioctl(id);
		return NULL;
	}

	/* SHM_REMAP replaced whole attaches: they are gone. */
	if (shmflg & SHM_REMAP) {
		pthread_mutex_lock(&att_mutex);
		for (int i = 0; i < MAX_ATT; i++) {
			struct att *o = atomic_load(&atts[i]);
			if (o && o->start >= (uintptr_t)p && o->start + o->len <= (uintptr_t)p + len) {
				sigset_t old;
				att_lock(o, &old);
				o->dying = true; /* its range is the new mapping's now */
				att_unlock(o, &old);
				att_forget(o);
			}
		}
		pthread_mutex_unlock(&att_mutex);
	}

	struct att *t = calloc(1, sizeof(*t));
	uint8_t *prot = t ? malloc(len / PAGE ? len / PAGE : 1) : NULL;
	if (!t || !prot) {
		free(t);
		munmap(p, len);
		shmdt_ioctl(id);
		*err = -ENOMEM;
		return NULL;
	}
	t->start = (uintptr_t)p;
	t->len = len;
	t->npages = len / PAGE;
	t->id = id;
	t->shmflg = shmflg;
	t->rdonly = rdonly;
	t->prot = prot;
	memset(prot, PROT_ST_READ, t->npages);
	atomic_flag_clear(&t->lock);
	/* also for SHM_RDONLY: a page taken back is PROT_NONE until read again */
	dipc_signals_take_segv(segv_handler);
	pthread_once(&atfork_once, atfork_register);
	helper_start();
	t->rev_seen = at.rev;
	if (!att_add(t)) {
		free(prot);
		free(t);
		munmap(p, len);
		shmdt_ioctl(id);
		*err = -EMFILE;
		return NULL;
	}
	/* A take-back that ran (or runs) between the daemon's answer and now
	 * may not have reached this mapping: fault everything through the
	 * daemon instead. */
	sigset_t old;
	att_lock(t, &old);
	uint32_t seen = rev_lookup(id);
	if (at.flushing || seen > at.rev) {
		att_protect(t, 0, t->npages, PROT_ST_NONE);
		if (seen > t->rev_seen)
			t->rev_seen = seen;
	}
	att_unlock(t, &old);
	return p;
}

DIPC_EXPORT void *shmat(int shmid, const void *shmaddr, int shmflg)
{
	int saved = errno;
	dipc_init();

	if (dipc_is_id(shmid)) {
		int fd = dipc_control_for_id();
		if (fd != DIPC_CTL_LOCAL) {
			int err = 0;
			void *p = dipc_shmat(shmid, shmaddr, shmflg, &err);
			dipc_log("shmat(id=%d, %p, 0%o): dipc -> %p%s%s", shmid, shmaddr,
				 (unsigned)shmflg, p, err ? " " : "", err ? strerror(-err) : "");
			if (!p) {
				errno = -err;
				return (void *)-1;
			}
			errno = saved;
			return p;
		}
	}
	if (!dipc_real.shmat) {
		errno = ENOSYS;
		return (void *)-1;
	}
	return dipc_real.shmat(shmid, shmaddr, shmflg);
}

DIPC_EXPORT int shmdt(const void *shmaddr)
{
	int saved = errno;
	dipc_init();

	if (atomic_load(&natts)) {
		pthread_mutex_lock(&att_mutex);
		for (int i = 0; i < MAX_ATT; i++) {
			struct att *t = atomic_load(&atts[i]);
			if (t && t->start == (uintptr_t)shmaddr) {
				int id = t->id;
				att_drop(t);
				pthread_mutex_unlock(&att_mutex);
				dipc_log("shmdt(%p): dipc segment %d", shmaddr, id);
				return dipc_ret(0, saved);
			}
		}
		pthread_mutex_unlock(&att_mutex);
	}
	return dipc_real.shmdt ? dipc_real.shmdt(shmaddr) : dipc_ret(-ENOSYS, saved);
}

/* The first of the n attaches (kept in slot order, as att_find() scans)
 * that holds a; with cand NULL, att_find() itself. */
static struct att *first_holder(struct att *const *cand, int n, uintptr_t a)
{
	if (!cand)
		return att_find(a);
	for (int i = 0; i < n; i++)
		if (a >= cand[i]->start && a < cand[i]->start + cand[i]->len)
			return cand[i];
	return NULL;
}

/* Touch the pages of attach t inside [a, end) that t is the first holder
 * of, at max(a, page start), as the program's own access would. */
static bool touch_att(struct att *t, uintptr_t a, uintptr_t end, bool write,
		      struct att *const *cand, int n)
{
	uintptr_t lo = t->start > a ? t->start : a;
	uintptr_t hi = t->start + t->len < end ? t->start + t->len : end;
	bool any = false;

	for (uintptr_t p = lo & ~(uintptr_t)(PAGE - 1); p < hi; p += PAGE) {
		uintptr_t x = p < a ? a : p;
		if (__atomic_load_n(&t->dying, __ATOMIC_ACQUIRE))
			break; /* unmapped (or about to be) by a shmdt meanwhile */
		if (first_holder(cand, n, x) != t)
			continue; /* an earlier attach holds it */
		volatile char *c = (volatile char *)x;
		if (write && !t->rdonly)
			__atomic_fetch_add((char *)c, 0, __ATOMIC_RELAXED);
		else
			(void)*c;
		any = true;
	}
	return any;
}

/* Fault in (for writing, or reading) the segment pages of [buf, buf + len)
 * the way a program's own access would: through the handler.  Each page of
 * the buffer that lies in an attach is touched once, at max(buf, page
 * start), through the first attach in slot order that holds that address
 * (attaches overlap only after a partial SHM_REMAP).
 *
 * The table is scanned once per call for the attaches that overlap the
 * buffer, and only their pages are visited: a read into a large private
 * buffer costs one scan, not one per page (and a huge len no longer walks
 * the address space).  A buffer over more than TOUCH_CAND attaches asks
 * att_find() page by page which attach comes first.
 * The candidates are claimed (a shmdt on another thread waits for the touch
 * to end before it frees them); a spilled walk holds its scan instead.
 * Async-signal-safe: no locks, no heap. */
#define TOUCH_CAND 16
bool dipc_shm_touch(const void *buf, size_t len, bool write)
{
	if (atomic_load_explicit(&natts, memory_order_relaxed) == 0 || !buf || !len)
		return false;
	uintptr_t a = (uintptr_t)buf, end = a + len;
	struct att *cand[TOUCH_CAND];
	int n = 0;
	bool any = false, spilled = false;
	if (end < a)
		end = UINTPTR_MAX;

	unsigned e = scan_begin();
	for (int i = 0; i < MAX_ATT; i++) {
		struct att *t = atomic_load_explicit(&atts[i], memory_order_acquire);
		if (!t || t->start >= end || t->start + t->len <= a)
			continue;
		if (n < TOUCH_CAND) {
			atomic_fetch_add(&t->inflight, 1);
			cand[n++] = t;
		} else {
			spilled = true;
		}
		if (spilled)
			any |= touch_att(t, a, end, write, NULL, 0);
	}
	if (!spilled)
		scan_end(e);
	for (int i = 0; i < n; i++)
		any |= touch_att(cand[i], a, end, write, spilled ? NULL : cand, n);
	for (int i = 0; i < n; i++)
		att_release(cand[i]);
	if (spilled)
		scan_end(e);
	return any;
}
