/* SPDX-License-Identifier: MIT */
/**
 * @file server.h
 *
 * The network side of dipc-referee: one listening socket, the connections
 * of the nodes, the membership table, and the requests that become registry
 * calls.  main.c owns the process (options, logging, signals, the loop);
 * registry.c owns the table of objects.
 */
#ifndef DIPC_REFEREE_SERVER_H
#define DIPC_REFEREE_SERVER_H

#include <stdbool.h>
#include <uv.h>

#include "conf.h"

typedef struct ref_server ref_server;

/* A referee for conf in loop; nothing listens yet.  verbose: log every
 * request (g_debug).  conf must outlive it. */
ref_server *ref_server_new(uv_loop_t *loop, const dipc_conf *conf, bool verbose);

/* Listen on [referee] listen.  Says why not on stderr ("dipc-referee:
 * cannot listen on ...") and returns -errno. */
int ref_server_listen(ref_server *rf);

/* Close every connection and every handle of the server, at once and
 * without membership broadcasts; the loop then ends.  Idempotent. */
void ref_server_stop(ref_server *rf);

/* After the loop has run the closes of ref_server_stop(). */
void ref_server_free(ref_server *rf);

#endif /* DIPC_REFEREE_SERVER_H */
