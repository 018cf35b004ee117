/* SPDX-License-Identifier: MIT */
/**
 * @file procipc.c
 *
 * /proc/sysvipc/{sem,msg,shm} as the programs under the shim see them: the
 * kernel's lines, then one line per cluster object, in the kernel's format,
 * so that ipcs, lsipc and every reader of those files list the cluster's
 * objects beside the kernel's (and ipcrm, which takes ids and keys, then
 * reaches them through the ordinary calls).
 *
 * User-visible behaviour.  An open of one of the three paths for reading
 * (open, open64, openat, openat64, their _FORTIFY_SOURCE twins __open_2
 * and friends, fopen, fopen64) gives a memfd holding the merged text,
 * positioned at its start: what the kernel would print if the cluster's
 * objects were its own.  The kernel's header and lines come first,
 * unchanged; the cluster's follow in index order (fs/ipcindex.c: the id's
 * low 15 bits, then the id), as the kernel orders its own.  Every object of
 * the node's mount is listed, readable or not, as the kernel lists every
 * object of its namespace.  When the mount lists no object of the kind (or
 * there is no mount) the open is the kernel's own, untouched.
 *
 * Where the lines come from.  The kind's directory of the mount (what the
 * referee knows, fuse_ns.c) names the objects; each entry's d_ino carries
 * the object's id in its low 32 bits (fs/fuse_priv.h, obj_ino), and a
 * "private.ID" name carries it too.  Each id is then asked *_STAT_ANY through
 * the shim's own semctl/msgctl/shmctl, which checks no read permission, as
 * the kernel's /proc does not.  An object removed in between is left out.
 *
 * Differences: a cluster segment's rss and swap columns are 0 (its pages
 * are the cluster's, not this node's memory); a path spelled otherwise
 * ("/proc//sysvipc/msg", a relative name under a directory fd of
 * /proc/sysvipc) is the kernel's file; the text is a snapshot taken at the
 * open, as the kernel's is at each read.
 *
 * Cost: a process pays one string compare per open; only an open of these
 * paths calls dipc_init() and the mount.  The real functions are resolved
 * with dlsym(RTLD_NEXT) by a constructor, and again on first use by an open
 * that runs before it (another library's constructor).
 */
/* open and open64 (openat, fopen) are both interposed: no LFS redirection of
 * one name to the other here (off_t is 64-bit anyway). */
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"

#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

/* fs/fuse_priv.h's object inodes: flag bit 48, kind in bits 40..47, the id
 * in the low 32 bits. */
#define OBJ_INO_FLAG (1ULL << 48)

#define SYSVIPC_DIR "/proc/sysvipc/"

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef FILE *(*fopen_fn)(const char *, const char *);

#define REAL(name, type) static type real_##name;
#define RESOLVE(name, type)                                                    \
	do {                                                                   \
		if (!real_##name)                                              \
			real_##name = (type)dlsym(RTLD_NEXT, #name);           \
	} while (0)

/* glibc declares these only under _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

REAL(open, open_fn)
REAL(open64, open_fn)
REAL(openat, openat_fn)
REAL(openat64, openat_fn)
REAL(__open_2, open2_fn)
REAL(__open64_2, open2_fn)
REAL(__openat_2, openat2_fn)
REAL(__openat64_2, openat2_fn)
REAL(fopen, fopen_fn)
REAL(fopen64, fopen_fn)

/* Resolved before main: an open from a signal handler (the shim's own
 * SIGSEGV handler included) must not be the one to call dlsym. */
__attribute__((constructor)) static void resolve_all(void)
{
	RESOLVE(open, open_fn);
	RESOLVE(open64, open_fn);
	RESOLVE(openat, openat_fn);
	RESOLVE(openat64, openat_fn);
	RESOLVE(__open_2, open2_fn);
	RESOLVE(__open64_2, open2_fn);
	RESOLVE(__openat_2, openat2_fn);
	RESOLVE(__openat64_2, openat2_fn);
	RESOLVE(fopen, fopen_fn);
	RESOLVE(fopen64, fopen_fn);
}

/* The kind of a /proc/sysvipc path, or 0. */
static int sysvipc_kind(const char *path)
{
	if (!path || strncmp(path, SYSVIPC_DIR, sizeof(SYSVIPC_DIR) - 1) != 0)
		return 0;
	const char *name = path + sizeof(SYSVIPC_DIR) - 1;
	if (strcmp(name, "sem") == 0)
		return DIPC_KIND_SEM;
	if (strcmp(name, "msg") == 0)
		return DIPC_KIND_MSG;
	if (strcmp(name, "shm") == 0)
		return DIPC_KIND_SHM;
	return 0;
}

static const char *kind_dir(int kind)
{
	return kind == DIPC_KIND_SEM ? "sem" : kind == DIPC_KIND_MSG ? "msg" : "shm";
}

/* ---- the cluster's objects ---------------------------------------------- */

struct idlist {
	int *ids;
	size_t n, cap;
};

static int push_id(struct idlist *l, int id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		int *p = realloc(l->ids, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->ids = p;
		l->cap = cap;
	}
	l->ids[l->n++] = id;
	return 0;
}

/* The kernel's order: by index, then (equal indices) by id. */
static int by_index(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	int ix = x & 0x7fff, iy = y & 0x7fff;
	if (ix != iy)
		return ix < iy ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The id a directory entry of MOUNT/KIND names, or -1. */
static int entry_id(const struct dirent *e, int kind)
{
	uint64_t ino = e->d_ino;
	if ((ino & OBJ_INO_FLAG) && (int)((ino >> 40) & 0xff) == kind &&
	    dipc_is_id((int)(uint32_t)ino))
		return (int)(uint32_t)ino;
	if (strncmp(e->d_name, "private.", 8) == 0) {
		char *end;
		long v = strtol(e->d_name + 8, &end, 10);
		if (!*end && v > 0 && v <= INT32_MAX && dipc_is_id((int)v))
			return (int)v;
	}
	return -1;
}

/* The ids the mount lists for kind, in index order: 0 (l->n may be 0, e.g.
 * no mount) or -errno. */
static int cluster_ids(int kind, struct idlist *l)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dipc_mount_path(), kind_dir(kind)) >=
	    (int)sizeof(path))
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d)) != NULL) {
		int id = entry_id(e, kind);
		if (id >= 0)
			r = push_id(l, id);
	}
	closedir(d);
	if (l->n > 1)
		qsort(l->ids, l->n, sizeof(*l->ids), by_index);
	return r;
}

/* One object's /proc line into buf (of n bytes), as ipc/{sem,msg,shm}.c's
 * sysvipc_*_proc_show print it: its length, or -errno (the object is gone,
 * or not ours to show). */
static int object_line(int kind, int id, char *buf, size_t n)
{
	if (kind == DIPC_KIND_MSG) {
		struct msqid_ds ds;
		if (msgctl(id, MSG_STAT_ANY, &ds) < 0)
			return -errno;
		return snprintf(buf, n,
				"%10d %10d  %4o  %10lu %10lu %5u %5u %5u %5u %5u %5u %10llu %10llu %10llu\n",
				(int)ds.msg_perm.__key, id, (unsigned)ds.msg_perm.mode,
				(unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qnum,
				(unsigned)ds.msg_lspid, (unsigned)ds.msg_lrpid,
				(unsigned)ds.msg_perm.uid, (unsigned)ds.msg_perm.gid,
				(unsigned)ds.msg_perm.cuid, (unsigned)ds.msg_perm.cgid,
				(unsigned long long)ds.msg_stime, (unsigned long long)ds.msg_rtime,
				(unsigned long long)ds.msg_ctime);
	}
	if (kind == DIPC_KIND_SEM) {
		struct semid_ds ds;
		union {
			int val;
			struct semid_ds *buf;
		} arg = { .buf = &ds };
		if (semctl(id, 0, SEM_STAT_ANY, arg) < 0)
			return -errno;
		return snprintf(buf, n, "%10d %10d  %4o %10u %5u %5u %5u %5u %10llu %10llu\n",
				(int)ds.sem_perm.__key, id, (unsigned)ds.sem_perm.mode,
				(unsigned)ds.sem_nsems, (unsigned)ds.sem_perm.uid,
				(unsigned)ds.sem_perm.gid, (unsigned)ds.sem_perm.cuid,
				(unsigned)ds.sem_perm.cgid, (unsigned long long)ds.sem_otime,
				(unsigned long long)ds.sem_ctime);
	}
	struct shmid_ds ds;
	if (shmctl(id, SHM_STAT_ANY, &ds) < 0)
		return -errno;
	/* SIZE_SPEC is %21lu with 64-bit longs, %10lu with 32-bit ones. */
	int w = sizeof(long) > 4 ? 21 : 10;
	return snprintf(buf, n,
			"%10d %10d  %4o %*lu %5u %5u  %5lu %5u %5u %5u %5u %10llu %10llu %10llu %*lu %*lu\n",
			(int)ds.shm_perm.__key, id, (unsigned)ds.shm_perm.mode, w,
			(unsigned long)ds.shm_segsz, (unsigned)ds.shm_cpid, (unsigned)ds.shm_lpid,
			(unsigned long)ds.shm_nattch, (unsigned)ds.shm_perm.uid,
			(unsigned)ds.shm_perm.gid, (unsigned)ds.shm_perm.cuid,
			(unsigned)ds.shm_perm.cgid, (unsigned long long)ds.shm_atime,
			(unsigned long long)ds.shm_dtime, (unsigned long long)ds.shm_ctime, w, 0UL,
			w, 0UL);
}

/* ---- the merged file ---------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The kernel's text of path, copied into fd: 0 or -errno. */
static int copy_kernel(const char *path, int fd)
{
	RESOLVE(open, open_fn);
	if (!real_open)
		return -ENOSYS;
	int in = real_open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	char buf[4096];
	int r = 0;
	for (;;) {
		ssize_t k = read(in, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : 0;
			break;
		}
		if ((r = write_all(fd, buf, (size_t)k)) < 0)
			break;
	}
	close(in);
	return r;
}

/* Build the merged text of kind's path in a memfd: its fd at offset 0, or
 * -1 when the open should simply be the kernel's (no cluster object, or the
 * memfd could not be made: the kernel's lines are better than none). */
static int merged_fd(int kind, const char *path, int flags)
{
	int saved = errno;
	struct idlist l = { 0 };
	int fd = -1;

	dipc_init();
	if (cluster_ids(kind, &l) < 0 || l.n == 0)
		goto out;
	fd = memfd_create("sysvipc", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0)
		goto out;
	int r = copy_kernel(path, fd);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		char line[512];
		int n = object_line(kind, l.ids[i], line, sizeof(line));
		if (n > 0 && (size_t)n < sizeof(line))
			r = write_all(fd, line, (size_t)n);
	}
	if (r == 0 && lseek(fd, 0, SEEK_SET) != 0)
		r = -EIO;
	if (r < 0) {
		dipc_log("%s: merged text: %s; the kernel's instead", path, strerror(-r));
		close(fd);
		fd = -1;
	} else {
		dipc_log("%s: the kernel's lines and %zu cluster object(s)", path, l.n);
	}
out:
	free(l.ids);
	errno = saved;
	return fd;
}

/* Is this open one of ours: a read-only open of a /proc/sysvipc path?
 * Then the merged fd (>= 0), else -1. */
static int maybe_merged(int dirfd, const char *path, int flags)
{
	int kind = sysvipc_kind(path);
	if (!kind)
		return -1;
	(void)dirfd; /* an absolute path ignores it */
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_DIRECTORY | O_PATH)))
		return -1;
	return merged_fd(kind, path, flags);
}

/* open's mode argument is there only with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags, mode)                                                  \
	do {                                                                   \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                       \
			va_list ap_;                                           \
			va_start(ap_, flags);                                  \
			mode = va_arg(ap_, mode_t);                            \
			va_end(ap_);                                           \
		}                                                              \
	} while (0)

DIPC_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	int fd = maybe_merged(AT_FDCWD, path, flags);
	if (fd >= 0)
		return fd;
	RESOLVE(open, open_fn);
	return real_open(path, flags, mode);
}

DIPC_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	int fd = maybe_merged(AT_FDCWD, path, flags);
	if (fd >= 0)
		return fd;
	RESOLVE(open64, open_fn);
	return real_open64(path, flags, mode);
}

DIPC_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	int fd = maybe_merged(dirfd, path, flags);
	if (fd >= 0)
		return fd;
	RESOLVE(openat, openat_fn);
	return real_openat(dirfd, path, flags, mode);
}

DIPC_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	int fd = maybe_merged(dirfd, path, flags);
	if (fd >= 0)
		return fd;
	RESOLVE(openat64, openat_fn);
	return real_openat64(dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE's open(path, flags) without a mode. */
DIPC_EXPORT int __open_2(const char *path, int flags)
{
	int fd = maybe_merged(AT_FDCWD, path, flags);
	if (fd >= 0)
		return fd;
	RESOLVE(__open_2, open2_fn);
	return real___open_2(path, flags);
}

DIPC_EXPORT int __open64_2(const char *path, int flags)
{
	int fd = maybe_merged(AT_FDCWD, path, flags);
	if (fd >= 0)
		return fd;
	RESOLVE(__open64_2, open2_fn);
	return real___open64_2(path, flags);
}

DIPC_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	int fd = maybe_merged(dirfd, path, flags);
	if (fd >= 0)
		return fd;
	RESOLVE(__openat_2, openat2_fn);
	return real___openat_2(dirfd, path, flags);
}

DIPC_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	int fd = maybe_merged(dirfd, path, flags);
	if (fd >= 0)
		return fd;
	RESOLVE(__openat64_2, openat2_fn);
	return real___openat64_2(dirfd, path, flags);
}

/* fopen's mode as open flags, when it reads only ("r", "rb", "re", ...);
 * else -1 (glibc's fopen opens through its internal open, never ours). */
static int fopen_flags(const char *mode)
{
	if (!mode || mode[0] != 'r' || strchr(mode, '+'))
		return -1;
	return O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0);
}

static FILE *fopen_merged(const char *path, const char *mode)
{
	int flags = fopen_flags(mode);
	int fd = flags < 0 ? -1 : maybe_merged(AT_FDCWD, path, flags);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, mode);
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

DIPC_EXPORT FILE *fopen(const char *path, const char *mode)
{
	if (sysvipc_kind(path)) {
		FILE *f = fopen_merged(path, mode);
		if (f)
			return f;
	}
	RESOLVE(fopen, fopen_fn);
	return real_fopen(path, mode);
}

DIPC_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	if (sysvipc_kind(path)) {
		FILE *f = fopen_merged(path, mode);
		if (f)
			return f;
	}
	RESOLVE(fopen64, fopen_fn);
	return real_fopen64(path, mode);
}
