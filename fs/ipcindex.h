/* SPDX-License-Identifier: MIT */
/**
 * @file ipcindex.h
 *
 * The kernel's index of cluster objects, for the *_STAT and *_STAT_ANY commands
 * that take one and the *_INFO commands that return the highest in use.
 * See ipcindex.c.
 */
#ifndef DIPC_FS_IPCINDEX_H
#define DIPC_FS_IPCINDEX_H

#include "node.h"

/* op (a *_STAT or *_STAT_ANY of kind) names an index in op->id, or an id,
 * whose index is its low 15 bits: find the cluster's object of kind at that
 * index, put its id in op->id and route op; none: op completes -EINVAL. */
void index_route_stat(dipc_op *op, int kind);

/* op (an *_INFO of kind, its reply already filled): complete it with the
 * highest index in use among the cluster's objects of kind, 0 for none. */
void index_complete_info(dipc_op *op, int kind);

/* Start a *ctl op of kind whose command is cmd: IPC_INFO and the kind's
 * *_INFO to index_complete_info, its *_STAT and *_STAT_ANY to
 * index_route_stat, anything else to route_op.  (The ioctl rows' start.) */
void index_start(dipc_op *op, int kind, int cmd);

#endif /* DIPC_FS_IPCINDEX_H */
