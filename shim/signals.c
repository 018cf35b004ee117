/* SPDX-License-Identifier: MIT */
/**
 * @file signals.c
 *
 * sigaction, __sigaction, signal, bsd_signal, ssignal, sysv_signal,
 * __sysv_signal, sigset, siginterrupt: every signal handler of the program
 * runs through a trampoline of the shim.
 *
 * Why.  The kernel restarts an interrupted msgsnd/msgrcv by itself when no
 * handler of the program ran (-ERESTARTNOHAND): after SIGSTOP/SIGCONT, a
 * SIGTSTP at the terminal, a debugger's attach.  A handler, even one with
 * SA_RESTART, makes them fail with EINTR.  Through FUSE every interruption
 * looks alike: the daemon answers the interrupted request EINTR.  To tell
 * the two apart the shim counts, per thread, the handlers that ran
 * (dipc_handler_runs_now); msg.c restarts after EINTR when the count did not
 * move.  The same wrapping will let shm.c own SIGSEGV and chain the
 * program's handler (see "Chaining" below).
 *
 * What.  An action with a real handler (not SIG_DFL, SIG_IGN, SIG_HOLD or
 * SIG_ERR) is installed as the same action with the handler replaced by a
 * trampoline and SA_SIGINFO added; the program's sa_mask and sa_flags are
 * kept (SA_RESTART, SA_RESETHAND, SA_NODEFER, SA_ONSTACK, ...).  There are
 * two trampolines, one for sa_handler (the program did not ask for
 * SA_SIGINFO) and one for sa_sigaction.  Each increments the counter, then
 * calls the program's handler with the arguments it expects; neither
 * touches errno, so the handler sees errno as the interrupted code left it.
 * SIG_DFL, SIG_IGN, SIGKILL, SIGSTOP and out-of-range numbers go to the real
 * sigaction untouched (with its errors).
 *
 * Queries.  The old action reported to the program is the kernel's, with a
 * trampoline translated back: the program's handler from the table, and
 * SA_SIGINFO cleared again for the sa_handler trampoline.  The mask and the
 * flags are the kernel's, which are the program's; after SA_RESETHAND fired
 * the kernel holds SIG_DFL, and that is what is reported.
 *
 * The table.  One handler pointer per signal and trampoline kind, read by
 * the trampoline with a single atomic load.  An update stores the program's
 * handler before the kernel gets the trampoline, and entries are never
 * cleared, so a signal arriving at any moment finds the handler of the
 * action the kernel used to deliver it (except between the store and the
 * kernel update of a handler that replaces one of the same kind: then the
 * new handler already runs, with the old mask and flags).  Updates hold a
 * spin lock with every signal blocked in the thread, so that a handler that
 * calls sigaction cannot deadlock on it and concurrent updates stay in step
 * with the kernel.
 *
 * Chaining (for shm.c, later).  A component that needs a signal for itself
 * (SIGSEGV on a write-protected page) installs its own handler with
 * dipc_real.sigaction and keeps the program's action in this table; its
 * handler does its work and otherwise runs the program's action, which
 * queries must keep reporting.  That is the reason for the indirection here.
 *
 * Not covered: handlers installed with a raw rt_sigaction syscall (Go
 * runtime), and the compat-only sigvec.  Such a handler does not count, so a
 * msgsnd/msgrcv it interrupts is restarted instead of failing with EINTR.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "shim.h"

#ifndef SA_INTERRUPT
#define SA_INTERRUPT 0x20000000 /* obsolete; the kernel drops it */
#endif

typedef void (*plain_fn)(int);
typedef void (*info_fn)(int, siginfo_t *, void *);

/* Per thread; atomic so that a handler nested in the trampoline's increment
 * is not lost.  initial-exec: the trampoline must not make the first access
 * to a dynamic TLS block (which can allocate) from a signal handler. */
static __thread _Atomic unsigned dipc_handler_runs
	__attribute__((tls_model("initial-exec")));

static _Atomic(plain_fn) app_plain[NSIG];
static _Atomic(info_fn) app_info[NSIG];
/* The last action the shim installed had the sa_handler trampoline (and so
 * an SA_SIGINFO the program did not ask for).  Written under the lock. */
static bool plain_installed[NSIG];
static atomic_flag table_lock = ATOMIC_FLAG_INIT;
static sigset_t interrupting; /* siginterrupt(sig, 1): signal() without SA_RESTART */

unsigned dipc_handler_runs_now(void)
{
	return atomic_load_explicit(&dipc_handler_runs, memory_order_relaxed);
}

/* ---- the trampolines ---------------------------------------------------- */

static void trampoline_plain(int sig, siginfo_t *info, void *uc)
{
	(void)info;
	(void)uc;
	atomic_fetch_add_explicit(&dipc_handler_runs, 1, memory_order_relaxed);
	plain_fn h = atomic_load_explicit(&app_plain[sig], memory_order_acquire);
	h(sig);
}

static void trampoline_info(int sig, siginfo_t *info, void *uc)
{
	atomic_fetch_add_explicit(&dipc_handler_runs, 1, memory_order_relaxed);
	info_fn h = atomic_load_explicit(&app_info[sig], memory_order_acquire);
	h(sig, info, uc);
}

/* ---- the table ---------------------------------------------------------- */

static void table_lock_take(sigset_t *ret_old)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, ret_old);
	while (atomic_flag_test_and_set_explicit(&table_lock, memory_order_acquire))
		sched_yield();
}

static void table_lock_drop(const sigset_t *old)
{
	atomic_flag_clear_explicit(&table_lock, memory_order_release);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static bool is_handler(const struct sigaction *act)
{
	return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN &&
	       act->sa_handler != SIG_HOLD && act->sa_handler != SIG_ERR;
}

/* The kernel's action k as the program installed it.  plain, info and
 * was_plain: the table as it was when the kernel held k.  SA_RESETHAND makes
 * the kernel replace the handler by SIG_DFL and keep the flags, our
 * SA_SIGINFO included; that one is hidden too. */
static void program_view(struct sigaction *k, plain_fn plain, info_fn info, bool was_plain)
{
	if (k->sa_sigaction == trampoline_info) {
		k->sa_sigaction = info;
	} else if (k->sa_sigaction == trampoline_plain) {
		k->sa_handler = plain;
		k->sa_flags &= ~SA_SIGINFO;
	} else if (was_plain && k->sa_handler == SIG_DFL && (k->sa_flags & SA_RESETHAND)) {
		k->sa_flags &= ~SA_SIGINFO;
	}
}

/* ---- SIGSEGV, once shm.c owns it ------------------------------------------
 *
 * From the first distributed shmat on, the kernel's SIGSEGV action is the
 * shim's handler (shm.c).  The program's own action lives here: sigaction
 * stores and reports it without touching the kernel, and the shim's handler
 * runs it (dipc_signals_chain_segv) for every fault that is not a trapped
 * store into a segment.  Two slots and an index, so that the handler reads
 * a whole action even while the program installs another. */
static _Atomic bool segv_owned;
static struct sigaction app_segv[2];
static _Atomic int app_segv_cur;

static void segv_store(const struct sigaction *act)
{
	int next = 1 - atomic_load_explicit(&app_segv_cur, memory_order_relaxed);
	app_segv[next] = *act;
	atomic_store_explicit(&app_segv_cur, next, memory_order_release);
}


void dipc_signals_take_segv(void (*handler)(int, siginfo_t *, void *))
{
	sigset_t mask;
	struct sigaction mine, kold;

	if (atomic_load(&segv_owned) || !dipc_real.sigaction)
		return;
	memset(&mine, 0, sizeof(mine));
	mine.sa_sigaction = handler;
	mine.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
	sigemptyset(&mine.sa_mask);
	table_lock_take(&mask);
	if (!atomic_load(&segv_owned) && dipc_real.sigaction(SIGSEGV, &mine, &kold) == 0) {
		program_view(&kold, atomic_load(&app_plain[SIGSEGV]), atomic_load(&app_info[SIGSEGV]),
			     plain_installed[SIGSEGV]);
		segv_store(&kold);
		atomic_store(&segv_owned, true);
	}
	table_lock_drop(&mask);
}

void dipc_signals_chain_segv(int sig, siginfo_t *info, void *uc)
{
	struct sigaction *a = &app_segv[atomic_load_explicit(&app_segv_cur, memory_order_acquire)];
	void (*h)(int) = a->sa_handler;

	if (h == SIG_DFL || h == SIG_IGN || h == SIG_HOLD || h == SIG_ERR) {
		/* The kernel's default: the access is retried and kills. */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		dipc_real.sigaction(sig, &dfl, NULL);
		return;
	}
	atomic_fetch_add_explicit(&dipc_handler_runs, 1, memory_order_relaxed);
	int flags = a->sa_flags;
	if (flags & SA_SIGINFO)
		a->sa_sigaction(sig, info, uc);
	else
		h(sig);
	if (flags & SA_RESETHAND) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		segv_store(&dfl);
	}
}

/* ---- a fault signal raised on the kernel's behalf ------------------------
 *
 * When a segment's owner is gone, an access to a page the node does not hold
 * fails as an access to a mapping whose file was truncated: SIGBUS,
 * BUS_ADRERR, at the faulting address, synchronously.  The shim learns of it
 * inside its SIGSEGV handler, so it delivers that SIGBUS itself, the way the
 * kernel's force_sig_fault does: a blocked or ignored SIGBUS is unblocked and
 * reset to SIG_DFL (the process dies of SIGBUS); otherwise the program's
 * handler runs with the faulting context (so that it may siglongjmp, or
 * change the context, as from a real SIGBUS), under its sa_mask, with the
 * signal itself blocked unless SA_NODEFER, and SA_RESETHAND honoured.  The
 * kernel's action is read here, not the table: it holds the trampoline of a
 * handler installed through the shim (which counts it and calls the program's
 * function) or whatever a raw rt_sigaction installed.  Only real functions
 * and async-signal-safe calls. */
void dipc_signals_deliver_fault(int sig, siginfo_t *info, void *uc)
{
	struct sigaction k;
	sigset_t cur, run;

	if (sig == SIGSEGV && atomic_load(&segv_owned)) {
		dipc_signals_chain_segv(sig, info, uc);
		return;
	}
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	if (!dipc_real.sigaction || dipc_real.sigaction(sig, NULL, &k) < 0 || !is_handler(&k) ||
	    sigismember(&cur, sig)) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		if (dipc_real.sigaction)
			dipc_real.sigaction(sig, &dfl, NULL);
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		return; /* not reached: the default action of a fault signal kills */
	}
	sigorset(&run, &cur, &k.sa_mask);
	if (!(k.sa_flags & SA_NODEFER))
		sigaddset(&run, sig);
	if (k.sa_flags & SA_RESETHAND) {
		struct sigaction reset = k; /* the kernel keeps the flags */
		reset.sa_handler = SIG_DFL;
		dipc_real.sigaction(sig, &reset, NULL);
	}
	pthread_sigmask(SIG_SETMASK, &run, NULL);
	if (k.sa_flags & SA_SIGINFO)
		k.sa_sigaction(sig, info, uc);
	else
		k.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &cur, NULL);
}

/* sigaction(SIGSEGV) while shm.c owns it: the program's action is ours to
 * keep and report. */
static int segv_sigaction(const struct sigaction *act, struct sigaction *oldact)
{
	sigset_t mask;
	struct sigaction old, copy;

	if (act)
		copy = *act;   /* fault on a bad pointer here, as libc would */
	table_lock_take(&mask);
	old = app_segv[atomic_load(&app_segv_cur)];
	if (act)
		segv_store(&copy);
	table_lock_drop(&mask);
	if (oldact)
		*oldact = old;
	return 0;
}

/* sigaction() with the trampoline: 0 or -1 with errno, as sigaction. */
static int shim_sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	int saved = errno;
	dipc_init();
	if (!dipc_real.sigaction)
		return dipc_ret(-ENOSYS, saved);
	if (sig < 1 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP)
		return dipc_real.sigaction(sig, act, oldact);
	if (sig == SIGSEGV && atomic_load(&segv_owned))
		return dipc_ret(segv_sigaction(act, oldact), saved);

	/* Read the program's structure before taking the lock: a bad pointer
	 * faults here, as in libc, and not with the lock held. */
	struct sigaction mine;
	bool wrap = act && is_handler(act);
	bool want_info = false;
	if (wrap) {
		mine = *act;
		want_info = (mine.sa_flags & SA_SIGINFO) != 0;
		mine.sa_flags |= SA_SIGINFO;
		mine.sa_sigaction = want_info ? trampoline_info : trampoline_plain;
	}
	plain_fn app_plain_h = wrap ? act->sa_handler : NULL;
	info_fn app_info_h = wrap ? act->sa_sigaction : NULL;

	sigset_t mask;
	struct sigaction kold;
	table_lock_take(&mask);
	plain_fn prev_plain = atomic_load_explicit(&app_plain[sig], memory_order_relaxed);
	info_fn prev_info = atomic_load_explicit(&app_info[sig], memory_order_relaxed);
	bool prev_was_plain = plain_installed[sig];
	if (wrap && want_info)
		atomic_store_explicit(&app_info[sig], app_info_h, memory_order_release);
	else if (wrap)
		atomic_store_explicit(&app_plain[sig], app_plain_h, memory_order_release);
	int r = dipc_real.sigaction(sig, wrap ? &mine : act, oldact ? &kold : NULL);
	int e = errno;
	if (r < 0 && wrap) {
		atomic_store_explicit(&app_plain[sig], prev_plain, memory_order_relaxed);
		atomic_store_explicit(&app_info[sig], prev_info, memory_order_relaxed);
	}
	if (r == 0 && act)
		plain_installed[sig] = wrap && !want_info;
	table_lock_drop(&mask);

	if (act)
		dipc_log("sigaction(%d, %s%s): %s", sig,
			 !wrap ? "SIG_DFL/SIG_IGN" : want_info ? "sa_sigaction" : "sa_handler",
			 wrap ? " via the trampoline" : "", r < 0 ? strerror(e) : "installed");
	if (r < 0)
		return dipc_ret(-e, saved);
	if (oldact) {
		program_view(&kold, prev_plain, prev_info, prev_was_plain);
		*oldact = kold;
	}
	return dipc_ret(0, saved);
}

DIPC_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	return shim_sigaction(sig, act, oldact);
}

/* glibc's internal alias of sigaction, which some programs call: no header
 * declares it. */
int __sigaction(int sig, const struct sigaction *act, struct sigaction *oldact);
DIPC_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	return shim_sigaction(sig, act, oldact);
}

/* ---- signal() and the other one-call installers ------------------------- */

/* Install handler with glibc's flags for each flavour; the old handler or
 * SIG_ERR with errno. */
static sighandler_t install_simple(int sig, sighandler_t handler, bool bsd)
{
	if (handler == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	struct sigaction act, old;
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (bsd) {
		/* BSD: the signal is blocked while its handler runs, the handler
		 * stays, and calls restart unless siginterrupt(sig, 1) said no. */
		sigaddset(&act.sa_mask, sig);
		act.sa_flags = sigismember(&interrupting, sig) ? 0 : SA_RESTART;
	} else {
		/* System V: one shot, not blocked while it runs, no restart. */
		act.sa_flags = SA_RESETHAND | SA_NODEFER | SA_INTERRUPT;
	}
	if (shim_sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

DIPC_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	return install_simple(sig, handler, true);
}

/* Declared by <signal.h> only for older X/Open levels; glibc aliases them
 * to signal. */
sighandler_t bsd_signal(int sig, sighandler_t handler);
sighandler_t ssignal(int sig, sighandler_t handler);

DIPC_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return install_simple(sig, handler, true);
}

DIPC_EXPORT sighandler_t ssignal(int sig, sighandler_t handler)
{
	return install_simple(sig, handler, true);
}

DIPC_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return install_simple(sig, handler, false);
}

/* What <signal.h> makes of signal() for strict X/Open programs. */
DIPC_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	return install_simple(sig, handler, false);
}

/* sigset (XSI): SIG_HOLD blocks the signal; any other disposition is
 * installed (no flags, empty mask) and unblocks it.  Returns SIG_HOLD if the
 * signal was blocked before, else the previous disposition. */
DIPC_EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	if (disp == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigset_t one, before;
	sigemptyset(&one);
	sigaddset(&one, sig);
	struct sigaction act, old;

	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &one, &before) < 0)
			return SIG_ERR;
		if (sigismember(&before, sig))
			return SIG_HOLD;
		if (shim_sigaction(sig, NULL, &old) < 0)
			return SIG_ERR;
		return old.sa_handler;
	}

	memset(&act, 0, sizeof(act));
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (shim_sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	if (sigprocmask(SIG_UNBLOCK, &one, &before) < 0)
		return SIG_ERR;
	return sigismember(&before, sig) ? SIG_HOLD : old.sa_handler;
}

/* siginterrupt: turn SA_RESTART off (flag != 0) or on for the current
 * action, and remember the choice for later signal() calls. */
DIPC_EXPORT int siginterrupt(int sig, int flag)
{
	struct sigaction act;
	if (shim_sigaction(sig, NULL, &act) < 0)
		return -1;

	sigset_t mask;
	table_lock_take(&mask);
	if (flag)
		sigaddset(&interrupting, sig);
	else
		sigdelset(&interrupting, sig);
	table_lock_drop(&mask);

	if (flag)
		act.sa_flags &= ~SA_RESTART;
	else
		act.sa_flags |= SA_RESTART;
	return shim_sigaction(sig, &act, NULL);
}
