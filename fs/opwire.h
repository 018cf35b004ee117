/* SPDX-License-Identifier: MIT */
/** @file opwire.h  dipc_op <-> wire envelopes (see opwire.c). */
#ifndef DIPC_FS_OPWIRE_H
#define DIPC_FS_OPWIRE_H

#include <sys/ipc.h>
#include <sys/sem.h>

#include "node.h"

typedef struct opwire_msg opwire_msg;

Dipc__Envelope *opwire_env(opwire_msg *m);
void opwire_msg_free(opwire_msg *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(opwire_msg, opwire_msg_free)

/* One row per op type: request and reply body cases, and their codecs. */
typedef struct opwire_codec {
	const char *name;
	Dipc__Envelope__BodyCase req_case, rep_case;
	void (*encode_req)(const dipc_op *op, opwire_msg *m);
	int (*decode_req)(const Dipc__Envelope *env, dipc_op *op);
	void (*encode_rep)(const dipc_op *op, opwire_msg *m);
	int (*decode_rep)(dipc_op *op, const Dipc__Envelope *reply);
} opwire_codec;

/* The row of type, NULL if the type has none. */
const opwire_codec *opwire_codec_of(enum dipc_op_type type);

opwire_msg *opwire_request(const dipc_op *op);
int opwire_parse_request(const Dipc__Envelope *env, dipc_op *op);
opwire_msg *opwire_reply(const dipc_op *op);
int opwire_apply_reply(dipc_op *op, const Dipc__Envelope *reply);

/* The node's messages that are not ops, each built here and nowhere else
 * (the shared-memory protocol's are built by shm_*.c, which own it). */
opwire_msg *opwire_lookup(int32_t kind, int32_t key);
opwire_msg *opwire_commit(int32_t kind, int32_t key, int32_t id, bool rejoin);
opwire_msg *opwire_rejoin_done(char **alive_peers, size_t n_alive);
opwire_msg *opwire_abort(int32_t kind, int32_t key);
opwire_msg *opwire_removed(int32_t id, bool unkey);
opwire_msg *opwire_resolve(int32_t id);
opwire_msg *opwire_list_objects(int32_t kind, int32_t key, int32_t id);
opwire_msg *opwire_cancel(uint64_t target);
opwire_msg *opwire_proc_exit(int32_t pid);

#endif
