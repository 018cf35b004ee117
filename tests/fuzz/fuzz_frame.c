/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_frame.c
 *
 * libFuzzer target: the frame decoder (common/wire.c) as a peer's bytes
 * reach it, plain (the handshake) and sealed (common/seal.c, MAC and
 * encrypted).  The first input byte picks the mode and where the input is
 * split between two feeds, so frames cut across reads are decoded too.
 * Every envelope that comes out is packed again, which walks the packers
 * over whatever the unpacker accepted.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "wire.h"

static int repack(Dipc__Envelope *env, void *ud)
{
	size_t len;
	uint8_t *buf = dipc_frame_pack(env, &len);

	g_free(buf);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t nc[DIPC_SEAL_NONCE] = { 1 }, na[DIPC_SEAL_NONCE] = { 2 };
	dipc_seal tx, rx;
	dipc_frame_reader r = { .max_frame = 65536 };
	unsigned mode, split;

	if (size < 1)
		return 0;
	mode = data[0] % 3;      /* 0 plain, 1 MAC, 2 encrypted */
	split = data[0] / 3;     /* 0..85: where the second feed starts */
	data++;
	size--;
	if (mode) {
		dipc_seal_derive("0123456789abcdef-fuzz", nc, na, true, mode == 2, &tx, &rx);
		r.seal = &rx;
	}
	if (split > size)
		split = (unsigned)size;
	if (dipc_frame_feed(&r, data, split, repack, NULL) == 0)
		dipc_frame_feed(&r, data + split, size - split, repack, NULL);
	dipc_frame_reader_clear(&r);
	return 0;
}
