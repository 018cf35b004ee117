/* SPDX-License-Identifier: MIT */
/**
 * @file shim.c
 *
 * libdipc.so: System V IPC of unmodified programs, made cluster-wide.
 *
 * Loaded with LD_PRELOAD, the library interposes the SysV IPC calls (for now
 * the semaphore and message-queue ones; see sem.c and msg.c) and routes each
 * one either to the kernel, untouched, or to the dipcfs daemon, as an ioctl
 * on the mount's control file (common/dipc_abi.h is the whole contract).  It
 * also interposes dlopen, only to keep RTLD_DEEPBIND from binding a plugin's
 * SysV calls past the shim (dlopen.c), and sigaction with its relatives, so
 * that it knows when a handler of the program ran (signals.c).
 *
 * Routing.
 *   xxxget(key, ..., flags)  distributed when flags carry IPC_DIPC (010000) or
 *                            the key policy selects the key (keys.c);
 *                            otherwise the kernel gets the call unchanged.
 *   every call taking an id  distributed when dipc_is_id(id): cluster ids keep
 *                            their low 15 bits in [0x7f00, 0x7fff], a range
 *                            the kernel reaches only with > ~21,600 live
 *                            objects of one kind on the node.
 *
 * The mount.  DIPC_MOUNT (default /dipc) names it; MOUNT/.control is opened
 * at the first distributed call, O_RDWR | O_CLOEXEC, and cached for the life
 * of the process image: a fork child uses the inherited fd (the daemon tells
 * callers apart by the pid in every request header), exec closes it and the
 * new image opens its own.  Each use checks, with a statx(2) that does not go
 * to the daemon, that the fd still refers to the control file, because a
 * program may close or dup2 over descriptors it does not know about; a lost
 * fd is reopened, never closed (the number may be the program's by then).
 *
 * Fallback.  If MOUNT/.control does not exist, or is not on a FUSE file
 * system, the mount is absent: distributed xxxget() calls go to the kernel
 * with IPC_DIPC stripped (DIPC: "when dipcd is not running, DIPC calls behave
 * as local") and one warning per process is printed; DIPC_REQUIRE=1 makes
 * them fail with ENOSYS instead.  The decision is taken once per process, so
 * a program never has its objects split between kernel and cluster.  A mount
 * that exists but fails (daemon dead: ENOTCONN), or that disappears after
 * the process has used it, is an error, not a fallback; when an ioctl fails
 * with ENOTCONN/ECONNABORTED the fd is dropped and the next call reopens, so
 * a program survives a restart of the daemon.
 *
 * Rules for this library, which lives inside other people's programs:
 *   - libc only (no GLib, no libuv); every symbol hidden except the
 *     interposed functions (libdipc.map);
 *   - the real functions come from one table resolved once with
 *     dlsym(RTLD_NEXT); a wrapper never calls its own interposer;
 *   - no heap allocation per call, no stdio, thread-safe, errno left as the
 *     program had it when a call succeeds;
 *   - logging only with DIPC_DEBUG=1, as "libdipc(<pid>): ..." on stderr;
 *     the only unconditional output is the fallback warning and a warning
 *     about an invalid policy.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

struct dipc_real dipc_real;
bool dipc_debug_on;

const char *const dipc_interposed_names[] = {
	"semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl",
	"shmget", "shmat", "shmdt", "shmctl",
	"sigaction", "__sigaction", "signal", "bsd_signal", "ssignal", "sysv_signal",
	"__sysv_signal", "sigset", "siginterrupt",
	NULL,
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool require_mount;  /* DIPC_REQUIRE=1 */
static char mount_path[PATH_MAX];

/* ---- environment and the real-function table ---------------------------- */

static bool env_flag(const char *name)
{
	const char *v = getenv(name);
	return v && v[0] && strcmp(v, "0") != 0;
}

static void *real_symbol(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p)
		dipc_log_always("cannot find the real %s: %s", name, dlerror());
	return p;
}

static void init_once_fn(void)
{
	dipc_debug_on = env_flag("DIPC_DEBUG");
	require_mount = env_flag("DIPC_REQUIRE");

	const char *m = getenv("DIPC_MOUNT");
	if (!m || !m[0])
		m = DIPC_DEFAULT_MOUNT;
	size_t len = strlen(m);
	while (len > 1 && m[len - 1] == '/')
		len--;
	if (len >= sizeof(mount_path)) {
		/* Cannot name a control file; it behaves as an absent mount. */
		dipc_log_always("DIPC_MOUNT is too long");
		len = 0;
	}
	memcpy(mount_path, m, len);
	mount_path[len] = '\0';

	dipc_real.semget = (int (*)(key_t, int, int))real_symbol("semget");
	dipc_real.semop = (int (*)(int, struct sembuf *, size_t))real_symbol("semop");
	dipc_real.semtimedop = (int (*)(int, struct sembuf *, size_t,
					const struct timespec *))real_symbol("semtimedop");
	dipc_real.semctl = (int (*)(int, int, int, ...))real_symbol("semctl");
	dipc_real.msgget = (int (*)(key_t, int))real_symbol("msgget");
	dipc_real.msgsnd = (int (*)(int, const void *, size_t, int))real_symbol("msgsnd");
	dipc_real.msgrcv = (ssize_t(*)(int, void *, size_t, long, int))real_symbol("msgrcv");
	dipc_real.msgctl = (int (*)(int, int, struct msqid_ds *))real_symbol("msgctl");
	dipc_real.shmget = (int (*)(key_t, size_t, int))real_symbol("shmget");
	dipc_real.shmat = (void *(*)(int, const void *, int))real_symbol("shmat");
	dipc_real.shmdt = (int (*)(const void *))real_symbol("shmdt");
	dipc_real.shmctl = (int (*)(int, int, struct shmid_ds *))real_symbol("shmctl");
	dipc_real.sigaction = (int (*)(int, const struct sigaction *,
				       struct sigaction *))real_symbol("sigaction");
	dipc_real.dlopen = (void *(*)(const char *, int))real_symbol("dlopen");

	dipc_log("loaded: mount %s%s", mount_path[0] ? mount_path : "(none)",
		 require_mount ? ", DIPC_REQUIRE" : "");
}

void dipc_init(void)
{
	int saved = errno;
	pthread_once(&init_once, init_once_fn);
	errno = saved;
}

const char *dipc_mount_path(void)
{
	return mount_path;
}

/* ---- logging ------------------------------------------------------------ */

void dipc_log_always(const char *fmt, ...)
{
	int saved = errno;
	char buf[768];
	int n = snprintf(buf, sizeof(buf), "libdipc(%d): ", (int)getpid());
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
	errno = saved;
}

/* ---- the control fd ----------------------------------------------------- */

/* ctl_fd: CTL_UNKNOWN (not opened yet, or lost), DIPC_CTL_LOCAL (the mount is
 * absent: decided once for the process), or the fd.  ctl_ino/ctl_dev identify
 * the control file; they are stored before the fd is published. */
#define CTL_UNKNOWN (-1)
static _Atomic int ctl_fd = CTL_UNKNOWN;
static _Atomic uint64_t ctl_ino, ctl_dev;
static _Atomic pid_t warned_pid;
static atomic_bool ever_opened; /* a daemon has served this process image */

/* Identity of an fd without a round trip to the daemon: FUSE answers a
 * statx with AT_STATX_DONT_SYNC from its attribute cache. */
static int fd_identity(int fd, uint64_t *ret_ino, uint64_t *ret_dev)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &stx) == 0) {
		*ret_ino = stx.stx_ino;
		*ret_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
		return 0;
	}
	if (errno != ENOSYS)
		return -errno;
	struct stat st; /* kernels before 4.11 */
	if (fstat(fd, &st) < 0)
		return -errno;
	*ret_ino = st.st_ino;
	*ret_dev = st.st_dev;
	return 0;
}

static bool fd_is_control(int fd)
{
	uint64_t ino, dev;
	return fd_identity(fd, &ino, &dev) == 0 && ino == atomic_load(&ctl_ino) &&
	       dev == atomic_load(&ctl_dev);
}

/* MOUNT/.control into path; false if there is no mount path or it does not
 * fit. */
static bool control_path(char *path, size_t size)
{
	if (!mount_path[0])
		return false;
	int n = snprintf(path, size, "%s%s%s", mount_path, strcmp(mount_path, "/") ? "/" : "",
			 DIPC_CONTROL_NAME);
	return n >= 0 && (size_t)n < size;
}

/* Open MOUNT/.control: the fd, DIPC_CTL_LOCAL if there is no dipcfs mount,
 * or -errno for a mount that is there but cannot be used. */
static int open_control(void)
{
	char path[PATH_MAX];
	if (!control_path(path, sizeof(path)))
		return DIPC_CTL_LOCAL;

	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		dipc_log("open %s: %s", path, strerror(e));
		if (e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG || e == ELOOP)
			return DIPC_CTL_LOCAL;
		return -e;
	}

	struct statfs sfs;
	if (fstatfs(fd, &sfs) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if ((uint32_t)sfs.f_type != FUSE_SUPER_MAGIC) {
		dipc_log("%s is not on a FUSE file system (f_type 0x%lx)", path,
			 (unsigned long)sfs.f_type);
		close(fd);
		return DIPC_CTL_LOCAL;
	}

	uint64_t ino, dev;
	int r = fd_identity(fd, &ino, &dev);
	if (r < 0) {
		close(fd);
		return r;
	}
	atomic_store(&ctl_ino, ino);
	atomic_store(&ctl_dev, dev);
	dipc_log("opened %s as fd %d", path, fd);
	return fd;
}

static int control_fd(bool for_get)
{
	/* A few rounds cover a race with another thread reopening; the loop
	 * cannot spin on a descriptor that keeps failing its check. */
	for (int round = 0; round < 4; round++) {
		int fd = atomic_load(&ctl_fd);

		if (fd >= 0) {
			if (fd_is_control(fd))
				return fd;
			/* The program closed or reused our descriptor. */
			dipc_log("control fd %d was closed or replaced; reopening", fd);
			atomic_compare_exchange_strong(&ctl_fd, &fd, CTL_UNKNOWN);
			continue;
		}

		if (fd == CTL_UNKNOWN) {
			int r = open_control();
			if (r == DIPC_CTL_LOCAL && atomic_load(&ever_opened))
				r = -ENOTCONN; /* the mount went away: not a fallback */
			if (r < 0 && r != DIPC_CTL_LOCAL)
				return r; /* not cached: may be transient */
			if (r >= 0)
				atomic_store(&ever_opened, true);
			int expected = CTL_UNKNOWN;
			if (!atomic_compare_exchange_strong(&ctl_fd, &expected, r) && r >= 0)
				close(r); /* another thread won; use its fd */
			continue;
		}

		/* DIPC_CTL_LOCAL: no dipcfs mount in this process. */
		if (!for_get)
			return DIPC_CTL_LOCAL;
		if (require_mount)
			return -ENOSYS;
		pid_t me = getpid();
		if (atomic_exchange(&warned_pid, me) != me)
			dipc_log_always("%s is not a dipcfs mount; IPC_DIPC objects stay local",
					mount_path[0] ? mount_path : "(empty DIPC_MOUNT)");
		return DIPC_CTL_LOCAL;
	}
	return -EBADF;
}

int dipc_control_for_get(void)
{
	return control_fd(true);
}

int dipc_control_for_id(void)
{
	return control_fd(false);
}

int dipc_ioctl(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);
	if (r >= 0)
		return r;
	r = -errno;
	if (r == -ENOTCONN || r == -ECONNABORTED) {
		/* The daemon is gone.  Forget the fd so that the next call opens
		 * the control file of a restarted daemon; the dead fd is left
		 * open (one per restart), because another thread may be about to
		 * use the number and closing it could let it be reused. */
		int expected = fd;
		if (atomic_compare_exchange_strong(&ctl_fd, &expected, CTL_UNKNOWN))
			dipc_log("control fd %d: %s; will reopen", fd, strerror(-r));
	}
	return r;
}

int dipc_ioctl_restart(int fd, unsigned long req, void *arg)
{
	for (;;) {
		unsigned before = dipc_handler_runs_now();
		int r = dipc_ioctl(fd, req, arg);
		if (r != -EINTR || dipc_handler_runs_now() != before)
			return r;
		dipc_log("ioctl 0x%lx: EINTR and no handler ran: restarting", req);
	}
}

int dipc_control_private(void)
{
	char path[PATH_MAX];
	if (!control_path(path, sizeof(path)))
		return -ENOENT; /* cannot happen once a control fd was opened */
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

int dipc_get(int kind, key_t key, int flags, uint64_t size)
{
	int fd = dipc_control_for_get();
	if (fd < 0)
		return fd; /* DIPC_CTL_LOCAL or -errno */
	struct dipc_ioc_get g;
	memset(&g, 0, sizeof(g));
	dipc_hdr_init(&g.hdr);
	g.kind = kind;
	g.key = (int32_t)key;
	g.flags = flags & ~IPC_DIPC;
	g.size = size;
	return dipc_ioctl(fd, DIPC_IOC_GET, &g);
}

void dipc_hdr_init(struct dipc_ioc_hdr *hdr)
{
	hdr->version = DIPC_ABI_VERSION;
	hdr->pid = (int32_t)getpid();
}
