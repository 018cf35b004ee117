/* SPDX-License-Identifier: MIT */
/**
 * @file shim.h
 *
 * Private interface between the files of libdipc.so.  Nothing here is
 * exported: the library is built with -fvisibility=hidden and a version
 * script that names only the interposed SysV functions.
 *
 *   shim.c    the table of real libc functions, the control fd of the mount,
 *             logging, the ioctl helpers, the common xxxget() routing
 *   keys.c    which keys are distributed without IPC_DIPC (the grammar is
 *             common/policy.c, shared with the daemon)
 *   sem.c     semget / semop / semtimedop / semctl
 *   msg.c     msgget / msgsnd / msgrcv / msgctl
 *   signals.c sigaction and its relatives: the application's handlers run
 *             through a trampoline that counts them (msgsnd/msgrcv restart)
 *   dlopen.c  dlopen, so that RTLD_DEEPBIND cannot hide the shim
 *   shm.c     shmget / shmat / shmdt / shmctl, the SIGSEGV handler, the helper
 *   pageio.c  read/write/recv/send...: segment pages touched before the call
 *
 * Conventions: internal helpers return -errno (or a value >= 0); errno is
 * only set at the edge, in the interposed function, and an interposed
 * function that succeeds leaves errno as the program had it.
 */
#ifndef DIPC_SHIM_H
#define DIPC_SHIM_H

#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <sys/types.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>

#include "dipc_abi.h"
#include "policy.h"

/* The interposed functions are the only exported symbols. */
#define DIPC_EXPORT __attribute__((visibility("default")))

/* ---- real libc functions ------------------------------------------------ */

/* Resolved once with dlsym(RTLD_NEXT) by dipc_init().  A wrapper calls the
 * real function only through this table, never through its own name. */
struct dipc_real {
	int (*semget)(key_t key, int nsems, int semflg);
	int (*semop)(int semid, struct sembuf *sops, size_t nsops);
	int (*semtimedop)(int semid, struct sembuf *sops, size_t nsops,
			  const struct timespec *timeout);
	int (*semctl)(int semid, int semnum, int cmd, ...);
	int (*msgget)(key_t key, int msgflg);
	int (*msgsnd)(int msqid, const void *msgp, size_t msgsz, int msgflg);
	ssize_t (*msgrcv)(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg);
	int (*msgctl)(int msqid, int cmd, struct msqid_ds *buf);
	int (*shmget)(key_t key, size_t size, int shmflg);
	void *(*shmat)(int shmid, const void *shmaddr, int shmflg);
	int (*shmdt)(const void *shmaddr);
	int (*shmctl)(int shmid, int cmd, struct shmid_ds *buf);
	int (*sigaction)(int sig, const struct sigaction *act, struct sigaction *oldact);
	void *(*dlopen)(const char *file, int flags);
};

extern struct dipc_real dipc_real;

/* The functions the library interposes (SysV IPC and the signal-handler
 * installers), NULL-terminated: an object that imports one of them must not
 * be opened with RTLD_DEEPBIND (dlopen.c).  Add shm* here together with their
 * wrappers. */
extern const char *const dipc_interposed_names[];

/* Resolve the table and read the environment, once per process image.
 * Cheap after the first call (pthread_once); safe from any thread. */
void dipc_init(void);

/* ---- SIGSEGV (signals.c, for shm.c) -------------------------------------- */

/* From now on the kernel's SIGSEGV action is handler; the program's own
 * action is kept (and reported to sigaction) by signals.c. */
void dipc_signals_take_segv(void (*handler)(int, siginfo_t *, void *));
/* Run the program's SIGSEGV action for a fault that is not the shim's. */
void dipc_signals_chain_segv(int sig, siginfo_t *info, void *uc);

/* ---- segment pages under syscalls (shm.c, for pageio.c) ------------------- */

/* Fault in the segment pages of [buf, buf + len) as the program's access
 * would (for writing unless write is false or the attach is SHM_RDONLY);
 * true when the buffer touched any attach.  Async-signal-safe. */
bool dipc_shm_touch(const void *buf, size_t len, bool write);

/* ---- logging ------------------------------------------------------------ */

extern bool dipc_debug_on; /* DIPC_DEBUG=1; valid after dipc_init() */

/* "libdipc(<pid>): <message>\n" on stderr, one write(2), no stdio, no heap. */
void dipc_log_always(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define dipc_log(...)                                                          \
	do {                                                                   \
		if (dipc_debug_on)                                             \
			dipc_log_always(__VA_ARGS__);                          \
	} while (0)

/* ---- the mount and its control file ------------------------------------- */

/* The mount point (DIPC_MOUNT or /dipc), without a trailing slash except for
 * "/" itself; valid after dipc_init(). */
const char *dipc_mount_path(void);

/* Outcome of dipc_control_fd(): a control fd (>= 0), or one of these. */
#define DIPC_CTL_LOCAL (-4096) /* no dipcfs mount: use the kernel */

/* The cached control fd for a distributed xxxget(), opening it on first use.
 * Returns the fd, DIPC_CTL_LOCAL when the mount is absent (after printing the
 * once-per-process warning), or -errno: -ENOSYS when the mount is absent and
 * DIPC_REQUIRE=1, or the error of a mount that is there but broken (e.g.
 * -ENOTCONN after the daemon died, or once the mount vanished after this
 * process used it), which is never silently made local. */
int dipc_control_for_get(void);

/* The same for a call that names an id in the dipc range: no warning, and an
 * absent mount always means DIPC_CTL_LOCAL (no daemon can have issued the id,
 * so it is the kernel's). */
int dipc_control_for_id(void);

/* ioctl(fd, req, arg) on the control fd: the result, or -errno.  Never
 * retried: EINTR comes back as -EINTR (semop is never restarted).  After
 * ENOTCONN/ECONNABORTED (daemon gone) the next call reopens the control file. */
int dipc_ioctl(int fd, unsigned long req, void *arg);

/* dipc_ioctl, restarted after EINTR as long as no signal handler of the
 * application ran in this thread during the attempt: the kernel's rule for
 * msgsnd/msgrcv (-ERESTARTNOHAND), under which a stop signal (SIGSTOP,
 * SIGTSTP, ... then SIGCONT) or a debugger's attach restarts the call and a
 * handler, even one with SA_RESTART, makes it fail with EINTR.  Only for a
 * request the daemon can simply be asked again (EINTR = nothing happened). */
int dipc_ioctl_restart(int fd, unsigned long req, void *arg);

/* A new, private O_RDWR | O_CLOEXEC fd of MOUNT/.control, for requests that
 * keep state in their file handle (a staged message text): the fd or -errno.
 * The caller closes it.  Only after dipc_control_for_*() returned an fd. */
int dipc_control_private(void);

/* A distributed xxxget(): DIPC_IOC_GET {kind, key, flags & ~IPC_DIPC, size}
 * on the control fd.  Returns the daemon's result (an id or -errno), -errno
 * of the control fd, or DIPC_CTL_LOCAL when there is no mount and the kernel
 * gets the call (see dipc_control_for_get). */
int dipc_get(int kind, key_t key, int flags, uint64_t size);

/* Fill the common header of every request. */
void dipc_hdr_init(struct dipc_ioc_hdr *hdr);

/* ---- key policy (keys.c; the grammar is common/policy.c) ---------------- */

/* Is this xxxget() distributed?  True when flags carry IPC_DIPC; otherwise
 * the policy decides (DIPC_KEYS, else MOUNT/.policy, loaded once, lazily). */
bool dipc_key_distributed(key_t key, int flags);

/* ---- signal handlers (signals.c) ---------------------------------------- */

/* How many signal handlers of the application have started in the calling
 * thread so far (a wrapping per-thread counter; compare, never subtract).
 * Handlers installed behind the shim's back (a raw rt_sigaction syscall)
 * are not counted. */
unsigned dipc_handler_runs_now(void);

/* ---- small helpers ------------------------------------------------------ */

#ifndef IPC_64
#define IPC_64 0x0100
#endif

/* Does this architecture's kernel take IPC_64 in a xxxctl cmd (ipc/util.c
 * ipc_parse_version, CONFIG_ARCH_WANT_IPC_PARSE_VERSION)?  Native 64-bit
 * x86, arm64, riscv64, s390x and loongarch64 do not: there cmd | IPC_64 is an
 * unknown command and fails with EINVAL, so the daemon path must fail too.
 * Elsewhere the kernel strips the bit and so does the shim. */
#if defined(__x86_64__) || defined(__aarch64__) || defined(__s390x__) ||                  \
	defined(__loongarch64) || (defined(__riscv) && __riscv_xlen == 64)
#define KERNEL_TAKES_IPC_64 0
#else
#define KERNEL_TAKES_IPC_64 1
#endif

/* The xxxctl command as the kernel understands it. */
static inline int dipc_ctl_cmd(int cmd)
{
	return KERNEL_TAKES_IPC_64 ? cmd & ~IPC_64 : cmd;
}

/* struct ipc_perm as the kernel fills it for IPC_STAT (glibc's reserved
 * fields are left to the caller, who zeroes the whole structure). */
static inline void dipc_perm_to_ipc(struct ipc_perm *p, const struct dipc_perm *d)
{
	p->__key = (key_t)d->key;
	p->uid = d->uid;
	p->gid = d->gid;
	p->cuid = d->cuid;
	p->cgid = d->cgid;
	p->mode = d->mode;
	p->__seq = (unsigned short)d->seq;
}

/* The log suffix of a result: "-> 3" or "-> -1 EINVAL-text", as
 * dipc_log("...: dipc -> %d%s%s", DIPC_LOG_RESULT(r)). */
#define DIPC_LOG_RESULT(r) (r) < 0 ? -1 : (int)(r), (r) < 0 ? " " : "", (r) < 0 ? strerror((int)-(r)) : ""

/* The edge of an interposed function: a -errno result becomes -1 with errno
 * set; a success returns r with errno restored to the program's saved_errno
 * (the shim's own syscalls on the way must not leak into it). */
static inline int dipc_ret(int r, int saved_errno)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	errno = saved_errno;
	return r;
}

#endif /* DIPC_SHIM_H */
