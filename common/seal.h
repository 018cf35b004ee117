/* SPDX-License-Identifier: MIT */
/**
 * @file seal.h
 *
 * The protection of every frame after the handshake: one dipc_seal per
 * direction of a connection holds that direction's session key and its
 * sequence number.  A sealed frame is
 *
 *     length (4 bytes, BE) | payload | tag (DIPC_SEAL_TAG bytes)
 *
 * where length counts payload and tag.  Without encryption the payload is
 * the packed envelope and the tag is keyed BLAKE2b over (sequence number,
 * length, payload); with encryption the payload is the envelope encrypted
 * with XChaCha20-Poly1305 (nonce: the sequence number, associated data: the
 * length) and the tag is Poly1305's.  The sequence number is not sent: each
 * side counts the frames of a direction, so a frame altered, dropped,
 * replayed or moved fails its tag.  After a failure the direction is dead
 * (the connection is closed by the caller).
 *
 * The keys (dipc_seal_derive) come from the cluster secret and the two
 * handshake nonces, so a session key is new for every connection and lives
 * only in memory.  Library: libsodium (crypto_generichash, crypto_kdf,
 * crypto_aead_xchacha20poly1305_ietf).  Errors are negative errno values.
 */
#ifndef DIPC_SEAL_H
#define DIPC_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIPC_SEAL_KEY 32
#define DIPC_SEAL_TAG 16
#define DIPC_SEAL_NONCE 32 /* bytes of each handshake nonce */

typedef struct dipc_seal {
	uint8_t key[DIPC_SEAL_KEY];
	uint64_t seq;   /* the next frame's number */
	bool encrypt;
	bool broken;    /* a frame failed: nothing more is accepted or sent */
} dipc_seal;

/* Derive both directions' keys for the connection whose connecting side
 * sent nonce n_connect and whose accepting side sent n_accept.  acceptor:
 * which side we are (tx is what we send, rx what we receive). */
void dipc_seal_derive(const char *secret, const uint8_t n_connect[DIPC_SEAL_NONCE],
		      const uint8_t n_accept[DIPC_SEAL_NONCE], bool acceptor, bool encrypt,
		      dipc_seal *tx, dipc_seal *rx);

/* Seal the frame in buf: buf[0..4) is free for the length, buf[4..4+n) holds
 * the packed envelope, buf has DIPC_SEAL_TAG more bytes after it.  Writes
 * the length, encrypts or MACs in place, appends the tag.  Returns the
 * frame's length (4 + n + DIPC_SEAL_TAG). */
size_t dipc_seal_frame(dipc_seal *s, uint8_t *buf, size_t n);

/* Check (and decrypt) one received frame body of len bytes (payload + tag;
 * its length field said len).  On success *ret_plain and *ret_n are the
 * packed envelope: body itself when unencrypted, else scratch (room for len
 * bytes, needed only when s->encrypt).  Returns 0 or -EKEYREJECTED (bad
 * tag, too short, or a direction that failed before). */
int dipc_seal_open(dipc_seal *s, const uint8_t *body, size_t len, uint8_t *scratch,
		   const uint8_t **ret_plain, size_t *ret_n);

/* Forget the key. */
void dipc_seal_clear(dipc_seal *s);

#endif /* DIPC_SEAL_H */
