/* SPDX-License-Identifier: MIT */
/**
 * @file progs_common.h
 *
 * Small helpers shared by the SysV test programs in tests/progs/.  These
 * programs are ordinary System V IPC code: they include no dipcfs header and
 * run unchanged against the kernel; IPC_DIPC (010000, as in Linux's
 * include/uapi/linux/ipc.h) is ignored by the kernel's semget().
 */
#ifndef PROGS_COMMON_H
#define PROGS_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#ifndef IPC_DIPC
#define IPC_DIPC 010000
#endif

/* semctl(2): the caller must define union semun. */
union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

/* The symbolic name of an errno value ("EINVAL"), never a message, so the
 * output does not depend on the locale. */
static inline const char *errname(int e)
{
	static char other[32];
	const char *n;

	if (e == 0)
		return "0";
	n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(other, sizeof(other), "E%d", e);
	return other;
}

static inline int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* "0x1234", "4660", "private" (IPC_PRIVATE). */
static inline key_t parse_key(const char *s)
{
	if (strcmp(s, "private") == 0 || strcmp(s, "IPC_PRIVATE") == 0)
		return IPC_PRIVATE;
	return (key_t)strtoul(s, NULL, 0);
}

#endif /* PROGS_COMMON_H */
