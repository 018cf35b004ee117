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

opwire_msg *opwire_request(const dipc_op *op);
int opwire_parse_request(const Dipc__Envelope *env, dipc_op *op);
opwire_msg *opwire_reply(const dipc_op *op);
int opwire_apply_reply(dipc_op *op, const Dipc__Envelope *reply);

#endif
