/* SPDX-License-Identifier: MIT */
/**
 * @file shm_manager.h
 *
 * The manager of one segment, at its owner: the state machine that serves
 * page requests one at a time over the page directory (common/shmseg.c).
 * A request is queued, planned (who gives up what, and when: the time
 * quantum), the holders are asked to give their pages up, and once every
 * take-back has ended the requester is granted the pages; a remote
 * requester answers ShmDone when it has installed them, and only then the
 * next request starts -- so a take-back can never overtake the grant it
 * follows.
 *
 * It sends nothing itself: every message goes through shm_mgr_ops, which
 * the daemon wires to peer_call / dipc_conn_reply / local delivery
 * (shm_owner.c), and a unit test to a fake (tests/unit/test_shm_manager.c).
 * Plain C, GLib and one libuv timer (the quantum, the ShmDone deadline);
 * no FUSE, no network.  Nodes are the directory's indexes: 0 is this node.
 */
#ifndef DIPC_FS_SHM_MANAGER_H
#define DIPC_FS_SHM_MANAGER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "shmseg.h"

struct dipc_conn;
typedef struct shm_mgr shm_mgr;

/* One request for pages. */
typedef struct shm_mreq {
	int node;                /* the requester (0: this node) */
	uint64_t first, count;
	bool write;
	struct dipc_conn *conn;  /* remote requester; NULL once it closed */
	uint64_t req_id;
	bool waiting_done;       /* granted: waits for its ShmDone */
	dipc_shm_plan *plan;
} shm_mreq;

typedef struct shm_mgr_ops {
	/* Ask node to give runs up (to_read: keep them for reading).  Its end
	 * is reported once, later or from within: shm_mgr_revoked() for node
	 * 0, shm_mgr_revoke_end() for another.  < 0: it could not be asked
	 * (and nothing will be reported). */
	int (*revoke)(shm_mgr *m, int node, const GArray *runs, bool to_read);
	/* Grant r: node 0 holds the pages now (data, zero: NULL); another is
	 * sent the written pages it lacks (data) and the never-written ones
	 * (zero).  < 0: the requester cannot be told (the manager goes on). */
	int (*grant)(shm_mgr *m, const shm_mreq *r, const GArray *data, const GArray *zero);
	/* r will never be served (the segment is destroyed): r->conn is set. */
	void (*refuse)(shm_mgr *m, const shm_mreq *r, int err);
} shm_mgr_ops;

typedef struct shm_mgr_params {
	uv_loop_t *loop;
	int32_t id;              /* for log lines */
	const char *self;        /* this node's name: index 0 */
	unsigned quantum_ms;     /* a grant is kept at least this long */
	unsigned done_timeout_ms;   /* how long a granted node may take for ShmDone */
	bool trace;
	const shm_mgr_ops *ops;
	void *ud;
} shm_mgr_params;

/* The manager of seg (which stays the caller's). */
shm_mgr *shm_mgr_new(const shm_mgr_params *p, dipc_shmseg *seg);
/* The segment is gone: queued requests are refused, the manager is freed
 * once its outstanding take-backs have ended. */
void shm_mgr_destroy(shm_mgr *m);

void *shm_mgr_ud(const shm_mgr *m);
dipc_shmseg *shm_mgr_seg(const shm_mgr *m);
bool shm_mgr_destroyed(const shm_mgr *m);
/* The name of node index idx (NULL when unknown or gone). */
const char *shm_mgr_name(const shm_mgr *m, int idx);
const char *const *shm_mgr_names(const shm_mgr *m, unsigned *ret_n);
/* The index of a node, assigned on first sight; -1: too many nodes. */
int shm_mgr_node_index(shm_mgr *m, const char *name);

/* Queue a request of node (0: this node, conn NULL). */
void shm_mgr_request(shm_mgr *m, int node, uint64_t first, uint64_t count, bool write,
		     struct dipc_conn *conn, uint64_t req_id);
/* ShmDone arrived on conn: the grant it waited for is installed. */
void shm_mgr_done(shm_mgr *m, struct dipc_conn *conn);
/* conn closed: requests it carried cannot be answered any more. */
void shm_mgr_conn_closed(shm_mgr *m, struct dipc_conn *conn);
/* The node left the cluster: its pages and attaches are dropped. */
void shm_mgr_node_down(shm_mgr *m, const char *name);
/* A take-back of this node (0) ended. */
void shm_mgr_revoked(shm_mgr *m, int node);
/* A take-back of a remote node ended (its pages are back, or lost). */
void shm_mgr_revoke_end(shm_mgr *m, int node);

#endif /* DIPC_FS_SHM_MANAGER_H */
