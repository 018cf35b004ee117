/* SPDX-License-Identifier: MIT */
/**
 * @file mkseeds.c
 *
 * Writes the seed corpora of fuzz_frame and fuzz_envelope: one Envelope per
 * body type (an empty body, a request id and a caller), as a plain frame, a
 * MACed frame and an encrypted frame (under fuzz_frame.c's fixed keys), and
 * each body type alone for fuzz_envelope.  Run by hand when proto/dipc.proto
 * gains a body, against a normal build:
 *
 *     gcc -D_GNU_SOURCE -Icommon -Ibuild -Ibuild/proto tests/fuzz/mkseeds.c \
 *         build/common/libdipccommon.a build/proto/libdipcproto.a \
 *         $(pkg-config --cflags --libs glib-2.0 libprotobuf-c libsodium libuv) \
 *         -o /tmp/mkseeds && /tmp/mkseeds tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "wire.h"

static void put(const char *dir, const char *target, const char *name, uint8_t first,
		const uint8_t *p, size_t n)
{
	g_autofree char *path = g_strdup_printf("%s/%s/%s", dir, target, name);
	FILE *f = fopen(path, "wb");

	if (!f) {
		perror(path);
		exit(1);
	}
	fputc(first, f);
	fwrite(p, 1, n, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	static const uint8_t nc[DIPC_SEAL_NONCE] = { 1 }, na[DIPC_SEAL_NONCE] = { 2 };
	const ProtobufCMessageDescriptor *ed = &dipc__envelope__descriptor;
	Dipc__Ident id = DIPC__IDENT__INIT;
	uint32_t groups[] = { 4, 27 };

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds CORPUS_DIR\n");
		return 2;
	}
	id.node = "node1";
	id.pid = 4242;
	id.uid = 1000;
	id.gid = 1000;
	id.n_groups = 2;
	id.groups = groups;
	id.user = "alice";
	for (unsigned f = 0; f < ed->n_fields; f++) {
		const ProtobufCFieldDescriptor *fd = &ed->fields[f];
		Dipc__Envelope env = DIPC__ENVELOPE__INIT;
		ProtobufCMessage *body;
		size_t len;
		uint8_t *buf, *sealed;
		dipc_seal tx, rx;

		const ProtobufCMessageDescriptor *bd = fd->descriptor;

		if (fd->type != PROTOBUF_C_TYPE_MESSAGE || !(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue; /* the bodies are the oneof's members */
		body = g_malloc0(bd->sizeof_message);
		bd->message_init(body);
		env.req_id = 7;
		env.caller = &id;
		*(uint32_t *)((char *)&env + fd->quantifier_offset) = fd->id;
		*(ProtobufCMessage **)((char *)&env + fd->offset) = body;
		buf = dipc_frame_pack(&env, &len);
		put(argv[1], "frame", fd->name, 0, buf, len);
		/* the body alone, for fuzz_envelope: its index in that target's
		 * table is not fixed, so the envelope seed carries it instead */
		put(argv[1], "envelope", fd->name, 0, buf + 4, len - 4);
		for (int enc = 0; enc < 2; enc++) {
			g_autofree char *name = g_strdup_printf("%s.%s", fd->name,
								enc ? "aead" : "mac");

			dipc_seal_derive("0123456789abcdef-fuzz", nc, na, false, enc, &tx, &rx);
			sealed = g_malloc(len + DIPC_SEAL_TAG);
			memcpy(sealed + 4, buf + 4, len - 4);
			dipc_seal_frame(&tx, sealed, len - 4);
			put(argv[1], "frame", name, enc ? 2 : 1, sealed, len + DIPC_SEAL_TAG);
			g_free(sealed);
		}
		g_free(buf);
		g_free(body);
	}
	return 0;
}
