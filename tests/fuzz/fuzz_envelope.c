/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_envelope.c
 *
 * libFuzzer target: protobuf-c's unpacker for the Envelope and for every
 * message type that can be an Envelope's body (or nested in one), each on
 * its own.  The first input byte picks the type: 0 is the Envelope, n is
 * the message type of the Envelope's n-th message field.  What unpacks is
 * packed again and must come out the same size.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dipc.pb-c.h"

static const ProtobufCMessageDescriptor *types[128];
static unsigned n_types;

static void add_type(const ProtobufCMessageDescriptor *d)
{
	for (unsigned i = 0; i < n_types; i++)
		if (types[i] == d)
			return;
	if (n_types == sizeof(types) / sizeof(types[0]))
		return;
	types[n_types++] = d;
	/* Nested messages (Ident inside requests, entries inside lists). */
	for (unsigned f = 0; f < d->n_fields; f++)
		if (d->fields[f].type == PROTOBUF_C_TYPE_MESSAGE)
			add_type(d->fields[f].descriptor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m;

	if (!n_types)
		add_type(&dipc__envelope__descriptor);
	if (size < 1)
		return 0;
	d = types[data[0] % n_types];
	m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
	if (m) {
		size_t n = protobuf_c_message_get_packed_size(m);
		uint8_t *buf = malloc(n ? n : 1);

		if (protobuf_c_message_pack(m, buf) != n)
			abort();
		free(buf);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	return 0;
}
