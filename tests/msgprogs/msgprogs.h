/* SPDX-License-Identifier: MIT */
/**
 * @file msgprogs.h
 *
 * Helpers shared by the message-queue test programs in tests/msgprogs/
 * (msgtest, msgtool, lossy).  Like tests/progs/, these are ordinary System V
 * programs: no dipcfs header; IPC_DIPC (010000) is ignored by the kernel's
 * msgget().  The errno names, clocks and key parsing come from
 * tests/progs/progs_common.h.
 *
 * Two ways of filling a text so that the receiver can check it without
 * being told what was sent:
 *
 *   pattern   byte i of a text of type T is pattern_byte(T, i): any prefix
 *             (a MSG_NOERROR truncation) checks as well as the whole text.
 *   crc32     the IEEE CRC-32 (the one of zlib, Ethernet, PNG), for the
 *             records of the loss test; Python checks it with zlib.crc32.
 */
#ifndef MSGPROGS_H
#define MSGPROGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/msg.h>

#include "progs_common.h"

#ifndef MSG_EXCEPT
#define MSG_EXCEPT 020000
#endif
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif

static inline unsigned char pattern_byte(long mtype, size_t i)
{
	uint32_t x = (uint32_t)i * 2654435761u + (uint32_t)mtype * 40503u;

	return (unsigned char)(x >> 13);
}

static inline void pattern_fill(char *p, long mtype, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)pattern_byte(mtype, i);
}

/* Do bytes [from, n) of p follow the pattern of mtype? */
static inline int pattern_ok_from(const char *p, long mtype, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		if ((unsigned char)p[i] != pattern_byte(mtype, i))
			return 0;
	return 1;
}

static inline int pattern_ok(const char *p, long mtype, size_t n)
{
	return pattern_ok_from(p, mtype, 0, n);
}

/* CRC-32/IEEE, reflected, polynomial 0xedb88320, bit by bit (the texts are
 * short; no table needed). */
static inline uint32_t crc32_ieee(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return c ^ 0xffffffffu;
}

/* "0" or letters: n IPC_NOWAIT, e MSG_NOERROR, x MSG_EXCEPT; "-" for none. */
static inline int parse_msgflags(const char *s)
{
	int f = 0;

	for (; s && *s; s++) {
		switch (*s) {
		case 'n': f |= IPC_NOWAIT; break;
		case 'e': f |= MSG_NOERROR; break;
		case 'x': f |= MSG_EXCEPT; break;
		case 'c': f |= MSG_COPY; break;
		default: break;
		}
	}
	return f;
}

#endif /* MSGPROGS_H */
