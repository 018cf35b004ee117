/* SPDX-License-Identifier: MIT */
/**
 * @file sem.c
 *
 * semget, semop, semtimedop, semctl.
 *
 * User-visible behaviour.  A distributed semget() (IPC_DIPC or the key
 * policy) becomes DIPC_IOC_GET and returns a cluster id; every other semget()
 * goes to the kernel with its flags unchanged (the kernel ignores the
 * IPC_DIPC bit in semget).  A call naming an id goes to the daemon when
 * dipc_is_id(id), else to the kernel, untouched.  The daemon answers with the
 * result and errno the kernel would give; the shim itself only rejects what
 * the kernel rejects before it looks at the set, in the kernel's order:
 *
 *   semop/semtimedop  an unreadable timeout -> EFAULT; nsops < 1 -> EINVAL;
 *                     nsops > DIPC_SEMOPM_MAX -> E2BIG (the daemon enforces
 *                     the configured semopm, which is at most that); an
 *                     unreadable sops -> EFAULT; a timeout with tv_sec < 0 or
 *                     tv_nsec outside [0, 1e9) -> EINVAL.
 *   semctl            an unreadable IPC_SET buf -> EFAULT, first; an unknown
 *                     command -> EINVAL; an unwritable IPC_STAT/SEM_STAT/
 *                     *_INFO buf or GETALL array -> EFAULT after the daemon
 *                     answered (the kernel finds and checks, then copies
 *                     out); an unreadable SETALL array -> EFAULT before the
 *                     values are sent.
 *   semget            nsems < 0 -> EINVAL.
 *
 * IPC_INFO and SEM_INFO ask both sides and return the higher of the two
 * highest indices (semctl_info); SEM_STAT with an index at or above
 * DIPC_ID_SLOT_BASE goes to the daemon, like a cluster id (fs/ipcindex.c).
 *
 * Every read and write of the program's memory goes through usercopy.c, so
 * a bad pointer, NULL or not, is EFAULT as in the kernel, never a SIGSEGV in
 * the shim.
 *
 * A semop interrupted by a signal fails with EINTR, also under SA_RESTART,
 * as the kernel's does: the ioctl is never retried.
 *
 * Differences: SETALL with a bad array by a caller who may read but not
 * alter the set gives EFAULT where the kernel checks the permission first
 * (EACCES).
 *
 * Concurrency: no shared state here; every request lives on the caller's
 * stack (the large semop and value-array payloads, 6 and 16 KiB, only in the
 * non-inlined functions that need them).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif

/* The fourth argument of semctl(); programs define union semun themselves. */
union dipc_semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

/* ---- semget ------------------------------------------------------------- */

DIPC_EXPORT int semget(key_t key, int nsems, int semflg)
{
	int saved = errno;
	dipc_init();

	if (!dipc_key_distributed(key, semflg)) {
		dipc_log("semget(key=0x%x, nsems=%d, flg=0%o): kernel", (unsigned)key, nsems,
			 (unsigned)semflg);
		goto kernel;
	}

	/* The kernel's first check, before it looks at keys or limits. */
	if (nsems < 0) {
		dipc_log("semget(key=0x%x, nsems=%d, flg=0%o): EINVAL", (unsigned)key, nsems,
			 (unsigned)semflg);
		return dipc_ret(-EINVAL, saved);
	}

	int r = dipc_get(DIPC_KIND_SEM, key, semflg, (uint64_t)nsems);
	if (r == DIPC_CTL_LOCAL) {
		semflg &= ~IPC_DIPC;
		dipc_log("semget(key=0x%x, nsems=%d, flg=0%o): no mount, kernel", (unsigned)key,
			 nsems, (unsigned)semflg);
		goto kernel;
	}
	dipc_log("semget(key=0x%x, nsems=%d, flg=0%o): dipc -> %d%s%s", (unsigned)key, nsems,
		 (unsigned)semflg, DIPC_LOG_RESULT(r));
	return dipc_ret(r, saved);

kernel:
	if (!dipc_real.semget)
		return dipc_ret(-ENOSYS, saved);
	errno = saved;
	return dipc_real.semget(key, nsems, semflg);
}

/* ---- semop, semtimedop -------------------------------------------------- */

/* The request's sembufs are the program's, byte for byte: one copy. */
_Static_assert(sizeof(struct dipc_sembuf) == sizeof(struct sembuf) &&
		       offsetof(struct dipc_sembuf, sem_num) == offsetof(struct sembuf, sem_num) &&
		       offsetof(struct dipc_sembuf, sem_op) == offsetof(struct sembuf, sem_op) &&
		       offsetof(struct dipc_sembuf, sem_flg) == offsetof(struct sembuf, sem_flg),
	       "struct dipc_sembuf is struct sembuf");

/* The program's sops into dst (EFAULT), then the timeout's value (EINVAL),
 * in the kernel's order; ts NULL = block without limit (-1). */
static int semop_args(struct dipc_sembuf *dst, const struct sembuf *sops, size_t nsops,
		      const struct timespec *ts, int64_t *ret_timeout_ns)
{
	if (dipc_copy_in(dst, sops, nsops * sizeof(*sops)) < 0)
		return -EFAULT;
	*ret_timeout_ns = -1;
	if (!ts)
		return 0;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
		return -EINVAL;
	if ((uint64_t)ts->tv_sec >= (uint64_t)(INT64_MAX / 1000000000LL))
		*ret_timeout_ns = INT64_MAX; /* ~292 years: forever */
	else
		*ret_timeout_ns = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
	return 0;
}

static __attribute__((noinline)) int semop_large(int fd, int id, const struct sembuf *sops,
						  size_t nsops, const struct timespec *ts)
{
	struct dipc_ioc_semop_large s;
	memset(&s, 0, sizeof(s));
	dipc_hdr_init(&s.hdr);
	s.id = id;
	s.nsops = (uint32_t)nsops;
	int r = semop_args(s.sops, sops, nsops, ts, &s.timeout_ns);
	return r < 0 ? r : dipc_ioctl(fd, DIPC_IOC_SEMOP_LARGE, &s);
}

/* The daemon's semop: the checks the kernel makes before it looks at the set,
 * in its order, then one ioctl.  timeout NULL = block without limit. */
static int dipc_semop(int fd, int id, const struct sembuf *sops, size_t nsops,
		      const struct timespec *timeout)
{
	/* The kernel reads the timeout before anything else. */
	struct timespec ts;
	if (timeout && dipc_copy_in(&ts, timeout, sizeof(ts)) < 0)
		return -EFAULT;
	if (nsops < 1)
		return -EINVAL;
	if (nsops > DIPC_SEMOPM_MAX)
		return -E2BIG;

	if (nsops > DIPC_SEMOP_SMALL)
		return semop_large(fd, id, sops, nsops, timeout ? &ts : NULL);

	struct dipc_ioc_semop s;
	memset(&s, 0, sizeof(s));
	dipc_hdr_init(&s.hdr);
	s.id = id;
	s.nsops = (uint32_t)nsops;
	int r = semop_args(s.sops, sops, nsops, timeout ? &ts : NULL, &s.timeout_ns);
	return r < 0 ? r : dipc_ioctl(fd, DIPC_IOC_SEMOP, &s);
}

/* Route one semop/semtimedop: the daemon's result (>= 0 or -errno), or
 * DIPC_CTL_LOCAL when the call belongs to the kernel. */
static int route_semop(const char *name, int semid, struct sembuf *sops, size_t nsops,
		       const struct timespec *timeout)
{
	int fd = dipc_is_id(semid) ? dipc_control_for_id() : DIPC_CTL_LOCAL;
	if (fd == DIPC_CTL_LOCAL) {
		dipc_log("%s(id=%d, nsops=%zu%s): kernel", name, semid, nsops,
			 timeout ? ", timeout" : "");
		return DIPC_CTL_LOCAL;
	}
	int r = fd < 0 ? fd : dipc_semop(fd, semid, sops, nsops, timeout);
	dipc_log("%s(id=%d, nsops=%zu%s): dipc -> %d%s%s", name, semid, nsops,
		 timeout ? ", timeout" : "", DIPC_LOG_RESULT(r));
	return r;
}

DIPC_EXPORT int semop(int semid, struct sembuf *sops, size_t nsops)
{
	int saved = errno;
	dipc_init();
	int r = route_semop("semop", semid, sops, nsops, NULL);
	if (r != DIPC_CTL_LOCAL)
		return dipc_ret(r, saved);
	if (!dipc_real.semop)
		return dipc_ret(-ENOSYS, saved);
	errno = saved;
	return dipc_real.semop(semid, sops, nsops);
}

DIPC_EXPORT int semtimedop(int semid, struct sembuf *sops, size_t nsops,
			   const struct timespec *timeout)
{
	int saved = errno;
	dipc_init();
	/* A NULL timeout is a semop without limit, as in the kernel. */
	int r = route_semop("semtimedop", semid, sops, nsops, timeout);
	if (r != DIPC_CTL_LOCAL)
		return dipc_ret(r, saved);
	if (!dipc_real.semtimedop)
		return dipc_ret(-ENOSYS, saved);
	errno = saved;
	return dipc_real.semtimedop(semid, sops, nsops, timeout);
}

/* ---- semctl ------------------------------------------------------------- */

/* Which commands take the fourth argument.  The same list glibc uses:
 * anything else gets a zero union. */
static bool semctl_has_arg(int cmd)
{
	switch (cmd) {
	case SETVAL:
	case GETALL:
	case SETALL:
	case IPC_STAT:
	case IPC_SET:
	case SEM_STAT:
	case SEM_STAT_ANY:
	case IPC_INFO:
	case SEM_INFO:
		return true;
	default:
		return false;
	}
}

/* The program's buf, written whole (reserved fields zeroed) as the kernel
 * does: 0 or -EFAULT. */
static int semid_ds_out(struct semid_ds *user, const struct dipc_semid_ds *ds)
{
	struct semid_ds buf;
	memset(&buf, 0, sizeof(buf));
	dipc_perm_to_ipc(&buf.sem_perm, &ds->perm);
	buf.sem_otime = (time_t)ds->otime;
	buf.sem_ctime = (time_t)ds->ctime;
	buf.sem_nsems = ds->nsems;
	return dipc_copy_out(user, &buf, sizeof(buf));
}

static int seminfo_out(struct seminfo *user, const struct dipc_seminfo *in)
{
	struct seminfo si;
	memset(&si, 0, sizeof(si));
	si.semmap = in->semmap;
	si.semmni = in->semmni;
	si.semmns = in->semmns;
	si.semmnu = in->semmnu;
	si.semmsl = in->semmsl;
	si.semopm = in->semopm;
	si.semume = in->semume;
	si.semusz = in->semusz;
	si.semvmx = in->semvmx;
	si.semaem = in->semaem;
	return dipc_copy_out(user, &si, sizeof(si));
}

/* DIPC_IOC_SEMCTL without the value array: the result or -errno. */
static int semctl_one(int fd, int id, int semnum, int cmd, int val,
		      const struct semid_ds *set, struct dipc_semid_ds *ret_ds,
		      struct dipc_seminfo *ret_info)
{
	struct dipc_ioc_semctl c;
	memset(&c, 0, sizeof(c));
	dipc_hdr_init(&c.hdr);
	c.id = id;
	c.semnum = semnum;
	c.cmd = cmd;
	c.val = val;
	if (set) {
		c.ds.perm.uid = set->sem_perm.uid;
		c.ds.perm.gid = set->sem_perm.gid;
		c.ds.perm.mode = set->sem_perm.mode;
	}
	int r = dipc_ioctl(fd, DIPC_IOC_SEMCTL, &c);
	if (r >= 0 && ret_ds)
		*ret_ds = c.ds;
	if (r >= 0 && ret_info)
		*ret_info = c.info;
	return r;
}

/* GETALL / SETALL.  SETALL sends exactly the set's nsems values, so the shim
 * learns nsems first with an IPC_STAT (or, when the caller may alter but not
 * read the set, SEM_STAT_ANY, which checks no read permission).  As the
 * kernel: GETALL finds and checks the set, then copies out (EFAULT last);
 * SETALL copies in before it changes anything. */
static __attribute__((noinline)) int semctl_array(int fd, int id, int cmd,
						   unsigned short *array)
{
	struct dipc_ioc_semarray a;
	memset(&a, 0, sizeof(a));
	dipc_hdr_init(&a.hdr);
	a.id = id;
	a.cmd = cmd;

	if (cmd == SETALL) {
		struct dipc_semid_ds ds;
		int r = semctl_one(fd, id, 0, IPC_STAT, 0, NULL, &ds, NULL);
		if (r == -EACCES)
			r = semctl_one(fd, id, 0, SEM_STAT_ANY, 0, NULL, &ds, NULL);
		if (r < 0)
			return r;
		if (ds.nsems > DIPC_SEMMSL_MAX)
			return -EINVAL; /* cannot happen: the daemon's limit */
		a.nsems = ds.nsems;
		_Static_assert(sizeof(a.vals[0]) == sizeof(*array), "semaphore values");
		if (dipc_copy_in(a.vals, array, ds.nsems * sizeof(*array)) < 0)
			return -EFAULT;
	}

	int r = dipc_ioctl(fd, DIPC_IOC_SEMARRAY, &a);
	if (r >= 0 && cmd == GETALL) {
		uint32_t n = a.nsems < DIPC_SEMMSL_MAX ? a.nsems : DIPC_SEMMSL_MAX;
		if (dipc_copy_out(array, a.vals, n * sizeof(a.vals[0])) < 0)
			return -EFAULT;
	}
	return r;
}

static int dipc_semctl(int fd, int id, int semnum, int cmd, union dipc_semun arg)
{
	struct dipc_semid_ds ds;
	struct dipc_seminfo info;
	struct semid_ds set;
	int r;

	switch (cmd) {
	case IPC_STAT:
	case SEM_STAT:
	case SEM_STAT_ANY:
		/* As the kernel: find and check first, copy out last. */
		r = semctl_one(fd, id, semnum, cmd, 0, NULL, &ds, NULL);
		if (r >= 0 && semid_ds_out(arg.buf, &ds) < 0)
			return -EFAULT;
		return r;
	case IPC_SET:
		/* The kernel copies the buffer in before it looks at the set. */
		if (dipc_copy_in(&set, arg.buf, sizeof(set)) < 0)
			return -EFAULT;
		return semctl_one(fd, id, semnum, cmd, 0, &set, NULL, NULL);
	case IPC_INFO:
	case SEM_INFO:
		r = semctl_one(fd, id, semnum, cmd, 0, NULL, NULL, &info);
		if (r >= 0 && seminfo_out(arg.__buf, &info) < 0)
			return -EFAULT;
		return r;
	case SETVAL:
		return semctl_one(fd, id, semnum, cmd, arg.val, NULL, NULL, NULL);
	case IPC_RMID:
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
		return semctl_one(fd, id, semnum, cmd, 0, NULL, NULL, NULL);
	case GETALL:
	case SETALL:
		return semctl_array(fd, id, cmd, arg.array);
	default:
		return -EINVAL;
	}
}

/* The kernel's semctl as -errno. */
static int kernel_semctl(int semid, int semnum, int cmd, union dipc_semun arg)
{
	if (!dipc_real.semctl)
		return -ENOSYS;
	int r = dipc_real.semctl(semid, semnum, cmd, arg);
	return r < 0 ? -errno : r;
}

/*
 * IPC_INFO and SEM_INFO ignore the id.  The structure comes from the side
 * the id names (the daemon's for a cluster id, else the kernel's) and the
 * result is the highest index in use on either side (fs/ipcindex.c), so a
 * walk of SEM_STAT over 0..result meets the kernel's sets and the
 * cluster's.  The other side is asked into a scratch buffer; its failure
 * changes nothing.
 */
static int semctl_info(int semid, int semnum, int cmd, union dipc_semun arg)
{
	struct seminfo scratch;
	union dipc_semun other_arg = { .__buf = &scratch };
	int fd = dipc_control_for_id();
	int base = dipc_ctl_cmd(cmd);
	int r, other;

	if (dipc_is_id(semid) && fd != DIPC_CTL_LOCAL) {
		r = fd < 0 ? fd : dipc_semctl(fd, semid, semnum, base, arg);
		if (r < 0)
			return r;
		other = kernel_semctl(0, 0, cmd, other_arg);
	} else {
		r = kernel_semctl(semid, semnum, cmd, arg);
		if (r < 0 || fd < 0)
			return r;
		other = dipc_semctl(fd, semid, semnum, base, other_arg);
	}
	return other > r ? other : r;
}

DIPC_EXPORT int semctl(int semid, int semnum, int cmd, ...)
{
	int saved = errno;
	dipc_init();

	/* The command as the kernel understands it; an unknown one (e.g.
	 * IPC_STAT | IPC_64 on x86-64) fetches no argument and fails below. */
	int base = dipc_ctl_cmd(cmd);
	union dipc_semun arg;
	memset(&arg, 0, sizeof(arg));
	if (semctl_has_arg(base)) {
		va_list ap;
		va_start(ap, cmd);
		arg = va_arg(ap, union dipc_semun);
		va_end(ap);
	}

	if (base == IPC_INFO || base == SEM_INFO) {
		int r = semctl_info(semid, semnum, cmd, arg);
		dipc_log("semctl(id=%d, cmd=%d): info -> %d%s%s", semid, cmd, DIPC_LOG_RESULT(r));
		return dipc_ret(r, saved);
	}
	if (dipc_is_id(semid)) {
		int fd = dipc_control_for_id();
		if (fd != DIPC_CTL_LOCAL) {
			int r = fd < 0 ? fd : dipc_semctl(fd, semid, semnum, base, arg);
			dipc_log("semctl(id=%d, semnum=%d, cmd=%d): dipc -> %d%s%s", semid,
				 semnum, base, DIPC_LOG_RESULT(r));
			return dipc_ret(r, saved);
		}
	}

	dipc_log("semctl(id=%d, semnum=%d, cmd=%d): kernel", semid, semnum, cmd);
	if (!dipc_real.semctl)
		return dipc_ret(-ENOSYS, saved);
	errno = saved;
	return dipc_real.semctl(semid, semnum, cmd, arg);
}
