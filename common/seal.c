/* SPDX-License-Identifier: MIT */
/**
 * @file seal.c
 *
 * Sealing frames: session keys, sequence numbers, MAC or AEAD per frame.
 * seal.h has the format; this note says why it is shaped so.
 *
 * Library.  libsodium, because it is small, well kept, in Debian, and has
 * exactly the three pieces needed with no choice of modes to get wrong:
 * keyed BLAKE2b (crypto_generichash) for the MAC, crypto_kdf for deriving
 * one key per direction and purpose, and XChaCha20-Poly1305 for optional
 * encryption.  GLib's GHmac would do for the MAC alone, but not for
 * encryption, and one library for both keeps the two modes alike.
 *
 * Keys.  master = BLAKE2b(secret) (the secret is any length >= 16, BLAKE2b
 * keys must be 16..64 bytes); session = BLAKE2b keyed with master over the
 * label, both nonces and the mode; then crypto_kdf gives one subkey per
 * direction (connect->accept, accept->connect) and mode (MAC, AEAD).  Both
 * nonces are random per connection, so no two connections share a key, and
 * a sequence number never repeats under one key: XChaCha20's nonce can
 * simply be that number.
 *
 * Sequence numbers are implicit (each side counts), which costs no bytes and
 * makes replay, reordering and loss all look like a bad tag.
 */
#include "seal.h"

#include <errno.h>
#include <string.h>

#include <glib.h>
#include <sodium.h>

#define KDF_CONTEXT "dipcwire"
enum { SUB_MAC_C2A = 1, SUB_MAC_A2C, SUB_AEAD_C2A, SUB_AEAD_A2C };

_Static_assert(DIPC_SEAL_TAG == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(DIPC_SEAL_KEY == crypto_kdf_KEYBYTES, "key size");

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

void dipc_seal_derive(const char *secret, const uint8_t n_connect[DIPC_SEAL_NONCE],
		      const uint8_t n_accept[DIPC_SEAL_NONCE], bool acceptor, bool encrypt,
		      dipc_seal *tx, dipc_seal *rx)
{
	static const char label[] = "dipc-session-v1";
	uint8_t master[crypto_generichash_KEYBYTES], session[crypto_kdf_KEYBYTES];
	uint8_t mode = encrypt ? 1 : 0;
	crypto_generichash_state st;
	int c2a = encrypt ? SUB_AEAD_C2A : SUB_MAC_C2A;
	int a2c = encrypt ? SUB_AEAD_A2C : SUB_MAC_A2C;

	if (sodium_init() < 0)
		g_error("libsodium cannot initialise"); /* no entropy source at all */
	crypto_generichash(master, sizeof(master), (const uint8_t *)secret, strlen(secret),
			   NULL, 0);
	crypto_generichash_init(&st, master, sizeof(master), sizeof(session));
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label)); /* with NUL */
	crypto_generichash_update(&st, n_connect, DIPC_SEAL_NONCE);
	crypto_generichash_update(&st, n_accept, DIPC_SEAL_NONCE);
	crypto_generichash_update(&st, &mode, 1);
	crypto_generichash_final(&st, session, sizeof(session));

	memset(tx, 0, sizeof(*tx));
	memset(rx, 0, sizeof(*rx));
	tx->encrypt = rx->encrypt = encrypt;
	crypto_kdf_derive_from_key(tx->key, sizeof(tx->key), acceptor ? a2c : c2a,
				   KDF_CONTEXT, session);
	crypto_kdf_derive_from_key(rx->key, sizeof(rx->key), acceptor ? c2a : a2c,
				   KDF_CONTEXT, session);
	sodium_memzero(master, sizeof(master));
	sodium_memzero(session, sizeof(session));
	sodium_memzero(&st, sizeof(st));
}

static void seal_nonce(uint64_t seq, uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES])
{
	memset(nonce, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	put_be64(nonce, seq);
}

/* tag = BLAKE2b-128(key, seq | length field | payload) */
static void mac(const dipc_seal *s, const uint8_t hdr[4], const uint8_t *p, size_t n,
		uint8_t tag[DIPC_SEAL_TAG])
{
	crypto_generichash_state st;
	uint8_t seq[8];

	put_be64(seq, s->seq);
	crypto_generichash_init(&st, s->key, sizeof(s->key), DIPC_SEAL_TAG);
	crypto_generichash_update(&st, seq, sizeof(seq));
	crypto_generichash_update(&st, hdr, 4);
	crypto_generichash_update(&st, p, n);
	crypto_generichash_final(&st, tag, DIPC_SEAL_TAG);
}

size_t dipc_seal_frame(dipc_seal *s, uint8_t *buf, size_t n)
{
	size_t len = n + DIPC_SEAL_TAG;

	put_be32(buf, (uint32_t)len);
	if (s->encrypt) {
		uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
		unsigned long long clen;

		seal_nonce(s->seq, nonce);
		/* In place: libsodium allows c == m. */
		crypto_aead_xchacha20poly1305_ietf_encrypt(buf + 4, &clen, buf + 4, n, buf, 4,
							   NULL, nonce, s->key);
	} else {
		mac(s, buf, buf + 4, n, buf + 4 + n);
	}
	s->seq++;
	return 4 + len;
}

int dipc_seal_open(dipc_seal *s, const uint8_t *body, size_t len, uint8_t *scratch,
		   const uint8_t **ret_plain, size_t *ret_n)
{
	uint8_t hdr[4];
	size_t n;

	if (s->broken || len < DIPC_SEAL_TAG || len > UINT32_MAX)
		goto bad;
	n = len - DIPC_SEAL_TAG;
	put_be32(hdr, (uint32_t)len);
	if (s->encrypt) {
		uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
		unsigned long long mlen;

		seal_nonce(s->seq, nonce);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(scratch, &mlen, NULL, body, len,
							       hdr, 4, nonce, s->key) != 0)
			goto bad;
		*ret_plain = scratch;
	} else {
		uint8_t want[DIPC_SEAL_TAG];

		mac(s, hdr, body, n, want);
		if (sodium_memcmp(want, body + n, DIPC_SEAL_TAG) != 0)
			goto bad;
		*ret_plain = body;
	}
	*ret_n = n;
	s->seq++;
	return 0;
bad:
	s->broken = true;
	return -EKEYREJECTED;
}

void dipc_seal_clear(dipc_seal *s)
{
	sodium_memzero(s, sizeof(*s));
}
