/* SPDX-License-Identifier: MIT */
/**
 * @file shmseg.h
 *
 * A shared-memory segment at its owner: the kernel's shmid_kernel rules
 * (ipc/shm.c) on a plain struct, and the manager's page directory -- which
 * node holds which page for reading or writing.  Plain C + GLib: no FUSE,
 * no libuv, no network; the glue in fs/shmglue.c moves the bytes.
 *
 * The directory.  Nodes are small indexes (0..DIPC_SHM_MAX_NODES-1) the
 * glue assigns; per page it keeps the set of readers (a bit mask) and the
 * writer (-1 for none).  Invariant: a page has one writer and no other
 * reader, or any number of readers and no writer.  A request (node, pages,
 * read or write) is planned with dipc_shmseg_plan(): which nodes must give
 * up which runs (for a write, every other holder gives the page up; for a
 * read, a writer keeps it for reading), when (the time quantum), and which
 * pages the requester lacks.  dipc_shmseg_grant() then records the result.
 */
#ifndef DIPC_SHMSEG_H
#define DIPC_SHMSEG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "dipc_abi.h"
#include "ipcperm.h"

#define DIPC_SHM_MAX_NODES 64
#ifndef SHM_DEST
#define SHM_DEST 01000
#endif
#ifndef SHM_LOCKED
#define SHM_LOCKED 02000
#endif

typedef struct dipc_shm_limits {
	uint64_t shmmax, shmall;
	unsigned shmmni;
} dipc_shm_limits;

typedef struct dipc_shmseg dipc_shmseg;

/* A run of pages [first, first + count). */
typedef struct dipc_shm_run {
	uint64_t first, count;
} dipc_shm_run;

/* Append [first, first + count) to a GArray of runs, merging with the last
 * run when they touch. */
void dipc_shm_runs_add(GArray *runs, uint64_t first, uint64_t count);

/* What one node must give up for a request. */
typedef struct dipc_shm_revoke {
	int node;
	bool to_read;      /* keep for reading (it was the writer) */
	GArray *runs;      /* of dipc_shm_run */
} dipc_shm_revoke;

typedef struct dipc_shm_plan {
	GPtrArray *revokes;    /* of dipc_shm_revoke (freed with the plan) */
	uint64_t not_before;   /* ms: the quantum of the pages taken back */
	GArray *lacking;       /* runs the requester holds no copy of */
} dipc_shm_plan;

/* NULL when the directory cannot be allocated (the caller's ENOMEM). */
dipc_shmseg *dipc_shmseg_new(int32_t key, int32_t id, uint64_t size, int mode,
			     const dipc_ident *creator);
/* Pages of a segment of size bytes, without overflow for any size. */
uint64_t dipc_shm_pages_of(uint64_t size);
void dipc_shmseg_free(dipc_shmseg *s);

const dipc_ipc_perm *dipc_shmseg_perm(const dipc_shmseg *s);
uint64_t dipc_shmseg_size(const dipc_shmseg *s);
uint64_t dipc_shmseg_npages(const dipc_shmseg *s);
uint64_t dipc_shmseg_nattch(const dipc_shmseg *s);
bool dipc_shmseg_removed(const dipc_shmseg *s);   /* SHM_DEST */

/* shmget of the existing segment: size larger than the segment: EINVAL,
 * then permission (EACCES).  Returns 0 or -errno. */
int dipc_shmseg_check_get(const dipc_shmseg *s, const dipc_ident *who, int flags,
			  uint64_t size);

/* shmctl: IPC_STAT, SHM_STAT, SHM_STAT_ANY, IPC_SET, IPC_RMID, SHM_LOCK,
 * SHM_UNLOCK.  in: the IPC_SET values.  Returns 0 (the caller destroys the
 * segment when dipc_shmseg_gone() says so after IPC_RMID) or -errno. */
int dipc_shmseg_ctl(dipc_shmseg *s, const dipc_ident *who, int cmd,
		    const struct dipc_shmid_ds *in, struct dipc_shmid_ds *out);

/* shmat: permission (SHM_RDONLY needs read, else read and write), then one
 * more attach by who (on who->node).  fork: a child inherits an attach: no
 * check.  Returns 0 or -errno; out gets the segment's state. */
int dipc_shmseg_attach(dipc_shmseg *s, const dipc_ident *who, int shmflg, bool fork,
		       struct dipc_shmid_ds *out);
/* count attaches of pid on node end (shmdt, exit, exec). */
void dipc_shmseg_detach(dipc_shmseg *s, const char *node, int32_t pid, unsigned count);
/* The node is gone: its attaches end, its pages are dropped (what it held
 * for writing is lost: the owner's copy is the last one it has). */
void dipc_shmseg_node_down(dipc_shmseg *s, const char *node, int idx);
/* Removed and no attach left anywhere: destroy it now. */
bool dipc_shmseg_gone(const dipc_shmseg *s);
/* Attaches per node (for the status text and the tests). */
unsigned dipc_shmseg_node_attaches(const dipc_shmseg *s, const char *node);

/* ---- the directory ---- */

/* Plan a request of node for pages [first, first + count).  now_ms and
 * quantum_ms: a holder keeps what it was granted for quantum_ms. */
dipc_shm_plan *dipc_shmseg_plan(const dipc_shmseg *s, int node, uint64_t first,
				uint64_t count, bool write, uint64_t now_ms,
				unsigned quantum_ms);
void dipc_shm_plan_free(dipc_shm_plan *p);
/* Record the grant: node holds the pages (alone, for a write). */
void dipc_shmseg_grant(dipc_shmseg *s, int node, uint64_t first, uint64_t count,
		       bool write, uint64_t now_ms);
/* Has the page ever been granted for writing?  (Never: it is all zeroes.) */
bool dipc_shmseg_page_written(const dipc_shmseg *s, uint64_t page);
/* Holder of a page: *writer (-1: none), returns the reader mask. */
uint64_t dipc_shmseg_holders(const dipc_shmseg *s, uint64_t page, int *writer);

/* Status text: the kernel's fields, attaches per node, and the page holders
 * (node_names[i] names index i). */
char *dipc_shmseg_describe(const dipc_shmseg *s, const char *owner_node,
			   const char *const *node_names, unsigned nnodes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(dipc_shm_plan, dipc_shm_plan_free)

#endif /* DIPC_SHMSEG_H */
