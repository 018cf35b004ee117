/* SPDX-License-Identifier: MIT */
/**
 * @file pageio.c
 *
 * read, pread, recv, recvfrom, write, pwrite, send, sendto: the syscalls
 * whose buffer may lie in a distributed segment.  The kernel does not fault
 * on a segment page that is PROT_NONE or PROT_READ for them, it fails them
 * with EFAULT; so each wrapper first touches the buffer's segment pages as
 * the program's own access would (dipc_shm_touch(), shm.c: through the
 * SIGSEGV handler), then makes the call, and again after an EFAULT that a
 * take-back between the touch and the call may have caused.
 *
 * The real functions are resolved here with dlsym(RTLD_NEXT), lazily: these
 * wrappers run before dipc_init() and in processes that never use SysV IPC,
 * where a process without attaches pays one atomic load per call.
 */
/* pread and pread64 (pwrite, pwrite64) are both interposed: no LFS
 * redirection of one name to the other here (off_t is 64-bit anyway). */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"

#define REAL(name, type) static type real_##name;
#define RESOLVE(name, type)                                                    \
	do {                                                                   \
		if (!real_##name)                                              \
			real_##name = (type)dlsym(RTLD_NEXT, #name);           \
	} while (0)

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);

REAL(read, read_fn)
REAL(pread, pread_fn)
REAL(pread64, pread_fn)
REAL(write, write_fn)
REAL(pwrite, pwrite_fn)
REAL(pwrite64, pwrite_fn)
REAL(recv, recv_fn)
REAL(recvfrom, recvfrom_fn)
REAL(send, send_fn)
REAL(sendto, sendto_fn)

/* Run call with the pages touched first; once more after an EFAULT that a
 * take-back between the touch and the call may have caused. */
#define WITH_PAGES(buf, len, write, call)                                       \
	do {                                                                   \
		ssize_t r_;                                                    \
		for (int try_ = 0;; try_++) {                                  \
			bool seg_ = dipc_shm_touch((buf), (len), (write));              \
			r_ = (call);                                           \
			if (!(r_ < 0 && errno == EFAULT && seg_ && try_ < 8)) \
				break;                                         \
		}                                                              \
		return r_;                                                     \
	} while (0)

DIPC_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	RESOLVE(read, read_fn);
	WITH_PAGES(buf, len, true, real_read(fd, buf, len));
}

DIPC_EXPORT ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	RESOLVE(pread, pread_fn);
	WITH_PAGES(buf, len, true, real_pread(fd, buf, len, off));
}

DIPC_EXPORT ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	RESOLVE(pread64, pread_fn);
	WITH_PAGES(buf, len, true, real_pread64(fd, buf, len, off));
}

DIPC_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	RESOLVE(recv, recv_fn);
	WITH_PAGES(buf, len, true, real_recv(fd, buf, len, flags));
}

DIPC_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa,
			     socklen_t *salen)
{
	RESOLVE(recvfrom, recvfrom_fn);
	WITH_PAGES(buf, len, true, real_recvfrom(fd, buf, len, flags, sa, salen));
}

DIPC_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	RESOLVE(write, write_fn);
	WITH_PAGES(buf, len, false, real_write(fd, buf, len));
}

DIPC_EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	RESOLVE(pwrite, pwrite_fn);
	WITH_PAGES(buf, len, false, real_pwrite(fd, buf, len, off));
}

DIPC_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	RESOLVE(pwrite64, pwrite_fn);
	WITH_PAGES(buf, len, false, real_pwrite64(fd, buf, len, off));
}

DIPC_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	RESOLVE(send, send_fn);
	WITH_PAGES(buf, len, false, real_send(fd, buf, len, flags));
}

DIPC_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *sa, socklen_t salen)
{
	RESOLVE(sendto, sendto_fn);
	WITH_PAGES(buf, len, false, real_sendto(fd, buf, len, flags, sa, salen));
}
