/* SPDX-License-Identifier: MIT */
/**
 * @file wire.c
 *
 * Framing: the length prefix, envelope pack and unpack, the frame limits.
 * wire.h has the contract; this note says how it is kept.
 *
 * A frame is a 4-byte big-endian length and one packed Dipc__Envelope.
 * Lengths 0 and above max_frame are -EMSGSIZE, a body that does not unpack
 * is -EBADMSG.  The reader parses frames straight out of the bytes it is fed
 * and copies only the tail of a frame that is split across feeds.  It grows
 * with the bytes that actually arrived, never with the length a peer
 * announces, and gives a big buffer back after a big frame.  A sealed
 * frame (seal.h) is opened just before it is unpacked: in place when only
 * MACed, into a scratch buffer when encrypted.
 */
#include "wire.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

/* The reader gives back a big buffer after a big frame. */
#define READER_KEEP 65536

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t dipc_frame_pack_into(const Dipc__Envelope *env, size_t body, uint8_t *buf)
{
	put_be32(buf, (uint32_t)body);
	dipc__envelope__pack(env, buf + DIPC_FRAME_HEADER);
	return body + DIPC_FRAME_HEADER;
}

uint8_t *dipc_frame_pack(const Dipc__Envelope *env, size_t *ret_len)
{
	size_t body = dipc__envelope__get_packed_size(env);
	uint8_t *buf;

	if (body > UINT32_MAX)
		return NULL;
	buf = g_malloc(body + DIPC_FRAME_HEADER);
	*ret_len = dipc_frame_pack_into(env, body, buf);
	return buf;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t reader_max(const dipc_frame_reader *r)
{
	return r->max_frame ? r->max_frame : DIPC_FRAME_DEFAULT_MAX;
}

/* Decrypted frames up to this size use the stack. */
#define OPEN_STACK 4096

static int deliver(dipc_frame_reader *rd, const uint8_t *body, size_t len,
		   int (*fn)(Dipc__Envelope *env, void *ud), void *ud)
{
	uint8_t small[OPEN_STACK];
	g_autofree uint8_t *big = NULL;
	Dipc__Envelope *env;
	int r;

	if (rd->seal) {
		uint8_t *scratch = small;

		if (rd->seal->encrypt && len > sizeof(small))
			scratch = big = g_malloc(len);
		r = dipc_seal_open(rd->seal, body, len, scratch, &body, &len);
		if (r < 0)
			return r;
	}
	env = dipc__envelope__unpack(NULL, len, body);
	if (!env)
		return -EBADMSG;
	r = fn(env, ud);
	dipc__envelope__free_unpacked(env, NULL);
	return r;
}

/* Grow with the bytes that actually arrived, not with the length a peer
 * announces: a frame header alone does not buy a max_frame buffer. */
static void reader_reserve(dipc_frame_reader *r, size_t need)
{
	if (r->cap >= need)
		return;
	r->cap = MAX(need, MAX(r->cap * 2, (size_t)256));
	r->buf = g_realloc(r->buf, r->cap);
}

int dipc_frame_feed(dipc_frame_reader *r, const uint8_t *data, size_t n,
		    int (*fn)(Dipc__Envelope *env, void *ud), void *ud)
{
	int ret;

	while (n > 0) {
		uint32_t flen;

		if (r->len == 0) {
			/* Fast path: whole frames straight from the input. */
			if (n < 4) {
				reader_reserve(r, 4);
				memcpy(r->buf, data, n);
				r->len = n;
				return 0;
			}
			flen = be32(data);
			if (flen == 0 || flen > reader_max(r))
				return -EMSGSIZE;
			if (n - 4 >= flen) {
				ret = deliver(r, data + 4, flen, fn, ud);
				if (ret != 0)
					return ret;
				data += 4 + (size_t)flen;
				n -= 4 + (size_t)flen;
				continue;
			}
			reader_reserve(r, n);
			memcpy(r->buf, data, n);
			r->len = n;
			return 0;
		}

		/* A frame begun in an earlier read. */
		if (r->len < 4) {
			size_t take = MIN(4 - r->len, n);

			memcpy(r->buf + r->len, data, take);
			r->len += take;
			data += take;
			n -= take;
			if (r->len < 4)
				return 0;
		}
		flen = be32(r->buf);
		if (flen == 0 || flen > reader_max(r)) {
			r->len = 0;
			return -EMSGSIZE;
		}
		{
			size_t take = MIN(4 + (size_t)flen - r->len, n);

			reader_reserve(r, r->len + take);
			memcpy(r->buf + r->len, data, take);
			r->len += take;
			data += take;
			n -= take;
		}
		if (r->len < 4 + (size_t)flen)
			return 0;
		r->len = 0;
		ret = deliver(r, r->buf + 4, flen, fn, ud);
		if (r->cap > READER_KEEP) {
			g_free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
		if (ret != 0)
			return ret;
	}
	return 0;
}

void dipc_frame_reader_clear(dipc_frame_reader *r)
{
	g_free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}
