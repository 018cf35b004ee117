/* SPDX-License-Identifier: MIT */
/**
 * @file wire.h
 *
 * The framing of dipcfs: how one Dipc__Envelope becomes bytes on a stream
 * and back.  A frame is a 4-byte big-endian length and one packed envelope
 * (proto/dipc.proto has the messages).  Lengths 0 and above the reader's
 * max_frame are refused, a body that does not unpack is refused; the
 * transport (conn.c) closes the connection on either.
 *
 * Nothing here knows about sockets, loops or peers: this is plain C + GLib,
 * unit-tested and fuzzable alone.  Errors are negative errno values.
 */
#ifndef DIPC_WIRE_H
#define DIPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "dipc.pb-c.h"
#include "seal.h"

/* Bytes of the length prefix. */
#define DIPC_FRAME_HEADER 4
/* max_frame of a reader that was given none ([limits] max_frame's default). */
#define DIPC_FRAME_DEFAULT_MAX 1048576

/* Pack env into a newly allocated frame (4-byte BE length + body). */
uint8_t *dipc_frame_pack(const Dipc__Envelope *env, size_t *ret_len);

/* Pack env into buf, which holds DIPC_FRAME_HEADER + body bytes, where body
 * is dipc__envelope__get_packed_size(env) (the caller has it already, to
 * choose the buffer).  Returns the frame's length. */
size_t dipc_frame_pack_into(const Dipc__Envelope *env, size_t body, uint8_t *buf);

/* Feed bytes to a frame reader; for each complete frame, unpack and call
 * fn(env, ud) (env freed after).  Returns 0, or -EMSGSIZE for a frame above
 * max_frame, -EBADMSG for a body that does not unpack, or what fn returned
 * if that was not 0 (which stops the feed; the unread rest is dropped).
 * With r->seal set (the handshake sets it once the peer has proved itself)
 * every frame is first checked (and decrypted) by dipc_seal_open(); one that
 * fails is -EKEYREJECTED and stops the feed.  The seal may be set by fn
 * between two frames of one feed. */
typedef struct dipc_frame_reader {
	uint8_t *buf;
	size_t len, cap;
	size_t max_frame; /* 0: DIPC_FRAME_DEFAULT_MAX */
	dipc_seal *seal;  /* NULL: plain frames (the handshake) */
} dipc_frame_reader;

int dipc_frame_feed(dipc_frame_reader *r, const uint8_t *data, size_t n,
		    int (*fn)(Dipc__Envelope *env, void *ud), void *ud);
void dipc_frame_reader_clear(dipc_frame_reader *r);

#endif /* DIPC_WIRE_H */
