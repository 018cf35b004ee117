/* SPDX-License-Identifier: MIT */
/**
 * @file usercopy.c
 *
 * The shim's copy_from_user and copy_to_user: every read of the program's
 * memory that a wrapper makes on the kernel's behalf (a semop's sops, a
 * semtimedop's timeout, a SETALL array, an IPC_SET buffer) and every write
 * into it (IPC_STAT, GETALL, *_INFO) goes through here, so that a bad pointer
 * is the -EFAULT the kernel's syscall returns, never a SIGSEGV inside the
 * shim (LTP semop02, which also leaked the sets of the crashed test).
 *
 * How.  process_vm_readv/process_vm_writev on the calling process itself:
 * the kernel makes the copy and reports an unmapped or protected page as
 * EFAULT.  A process may always access its own memory that way (the ptrace
 * access check passes for the caller's own thread group), but a seccomp
 * filter may refuse the calls; then, once and for the rest of the process,
 * the copy goes through a pipe (write() from the source, read() into the
 * destination: each fails with EFAULT on a bad buffer).  The pipe is made
 * per copy: the fallback is rare and must not keep a descriptor the
 * program does not know of.
 *
 * Segment pages.  A page of a distributed segment may be PROT_NONE or
 * PROT_READ until the SIGSEGV handler asks for it, and the kernel's own
 * copy does not fault, it fails.  So the buffer's segment pages are touched
 * first, as the program's access would (dipc_shm_touch, shm.c), and the copy
 * is tried again after an EFAULT that a take-back between the touch and the
 * copy may have caused, as pageio.c does for read() and write().
 *
 * Async-signal-safe: syscalls and atomics only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

#define TOUCH_TRIES 8
#define PIPE_CHUNK 4096 /* PIPE_BUF: one write always fits an empty pipe */

/* 0 not tried yet, 1 process_vm_* work, -1 refused (seccomp): use a pipe. */
static _Atomic int vm_state;

/* One process_vm_* copy of n bytes: 0, -EFAULT, or -ENOSYS when the calls
 * are refused.  A short count means the next byte is bad. */
static int vm_copy(void *dst, const void *src, size_t n, bool to_program)
{
	pid_t me = getpid();
	size_t done = 0;

	while (done < n) {
		struct iovec local, remote;
		if (to_program) {
			local = (struct iovec){ (char *)src + done, n - done };
			remote = (struct iovec){ (char *)dst + done, n - done };
		} else {
			local = (struct iovec){ (char *)dst + done, n - done };
			remote = (struct iovec){ (char *)src + done, n - done };
		}
		ssize_t r = to_program ? process_vm_writev(me, &local, 1, &remote, 1, 0)
				       : process_vm_readv(me, &local, 1, &remote, 1, 0);
		if (r < 0 && (errno == ENOSYS || errno == EPERM))
			return -ENOSYS;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EFAULT;
		done += (size_t)r;
	}
	return 0;
}

/* The same through a fresh pipe, PIPE_CHUNK bytes at a time. */
static int pipe_copy(void *dst, const void *src, size_t n)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	int r = 0;
	for (size_t done = 0; done < n && r == 0;) {
		size_t k = n - done < PIPE_CHUNK ? n - done : PIPE_CHUNK;
		ssize_t w = dipc_real_write(p[1], (const char *)src + done, k);
		if (w <= 0) {
			r = w < 0 && errno != EFAULT ? -errno : -EFAULT;
			break;
		}
		ssize_t got = dipc_real_read(p[0], (char *)dst + done, (size_t)w);
		if (got != w)
			r = got < 0 && errno != EFAULT ? -errno : -EFAULT;
		done += (size_t)w;
	}
	close(p[0]);
	close(p[1]);
	return r;
}

static int copy_once(void *dst, const void *src, size_t n, bool to_program)
{
	int st = atomic_load_explicit(&vm_state, memory_order_relaxed);
	if (st >= 0) {
		int r = vm_copy(dst, src, n, to_program);
		if (r != -ENOSYS) {
			if (st == 0 && r == 0)
				atomic_store_explicit(&vm_state, 1, memory_order_relaxed);
			return r;
		}
		if (st == 0)
			atomic_store_explicit(&vm_state, -1, memory_order_relaxed);
	}
	return pipe_copy(dst, src, n);
}

/* user: the program's side of the copy; to_program: the direction. */
static int user_copy(void *dst, const void *src, size_t n, bool to_program)
{
	const void *user = to_program ? dst : src;
	if (n == 0)
		return 0;
	if ((uintptr_t)user + n < (uintptr_t)user)
		return -EFAULT; /* wraps around the address space */
	for (int try = 0;; try++) {
		bool seg = dipc_shm_touch(user, n, to_program);
		int r = copy_once(dst, src, n, to_program);
		if (!(r == -EFAULT && seg && try < TOUCH_TRIES))
			return r;
	}
}

int dipc_copy_in(void *dst, const void *user_src, size_t n)
{
	return user_copy(dst, user_src, n, false);
}

int dipc_copy_out(void *user_dst, const void *src, size_t n)
{
	return user_copy(user_dst, src, n, true);
}

/* One byte per page is enough: access rights are per page.  For writing,
 * the byte that is there is written back: the buffer is the caller's
 * output, which nobody else should be writing now. */
static int probe(void *user, size_t n, bool write)
{
	uintptr_t p = (uintptr_t)user;
	char c;
	if (n == 0)
		return 0;
	if (p + n < p)
		return -EFAULT;
	for (uintptr_t a = p; a < p + n; a = (a | (DIPC_SHM_PAGE - 1)) + 1) {
		int r = dipc_copy_in(&c, (const void *)a, 1);
		if (r == 0 && write)
			r = dipc_copy_out((void *)a, &c, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int dipc_probe_read(const void *user, size_t n)
{
	return probe((void *)user, n, false);
}

int dipc_probe_write(void *user, size_t n)
{
	return probe(user, n, true);
}
