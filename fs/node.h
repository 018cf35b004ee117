/* SPDX-License-Identifier: MIT */
/**
 * @file node.h
 *
 * The state of one mount.dipcfs node, shared by the files of fs/.  The files,
 * in the order an operation meets them (docs/design.md, "Map of the code"):
 *
 *   the FUSE edge    fuse_loop.c (the session in the loop), fuse_ioctl.c +
 *                    ioctl_*.c (the ioctl table, one file per kind),
 *                    fuse_ns.c (the tree), fuse_status.c, fuse_control.c,
 *                    ident.c (who the caller is); private: fuse_priv.h
 *   the op           op.c (life, parking, interrupt), route.c (to the owner)
 *   at the owner     exec.c (type -> glue), exec_sem.c, exec_msg.c,
 *                    objects.c (owned objects, xxxget, status), shmglue.c,
 *                    ipcindex.c (*_STAT by index)
 *   the wire         opwire.c (the op codec, the node's other envelopes)
 *   the cluster      cluster.c, referee_link.c, peers.c (membership and
 *                    outbound links), serve.c (the peer origin, inbound links)
 *   processes        exitwatch.c (one epoll fd), procwatch.c (SEM_UNDO exits)
 *   shared memory    shm_*.c, private: shm.h
 *   the node         main.c (options, mount), node.c (start, stop), spin.c,
 *                    log.c
 *
 * Concurrency: everything runs on one libuv loop thread, FUSE requests
 * included (the session fd is polled by the loop).  No locks.  The one other
 * thread is shared memory's invalidation thread (shm_inval.c).
 *
 * Every operation, wherever it comes from (a FUSE request on this node, or a
 * peer that forwards its caller's operation to us because we own the object),
 * is a dipc_op.  route_op() sends it to the owner: locally to exec_local(), or
 * over TCP (peer_forward).  op->done, its origin's reply hook, answers the
 * origin (fuse_reply_ioctl, or a reply envelope to the peer) and frees it.
 */
#ifndef DIPC_FS_NODE_H
#define DIPC_FS_NODE_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "conn.h"
#include "dipc_abi.h"
#include "ipcperm.h"
#include "msgq.h"
#include "semset.h"
#include "shmseg.h"

typedef struct dipc_node dipc_node;
typedef struct dipc_op dipc_op;
typedef struct dipc_obj dipc_obj;
typedef struct dipc_peer dipc_peer;

enum dipc_op_type {
	OP_GET = 1,
	OP_SEMOP,
	OP_SEMCTL,
	OP_SEMARRAY,
	OP_STATUS,   /* status text + attributes of one object */
	OP_MSGSND,
	OP_MSGRCV,
	OP_MSGCTL,
	OP_MSGREQUEUE, /* give an undelivered message back to its queue */
	OP_SHMCTL,     /* shmctl, and attach/detach counting (shmglue.c) */
};

/* OP_SHMCTL commands besides shmctl's own: the wire's (proto/dipc.proto). */
#define DIPC_SHM_CMD_ATTACH DIPC__SHM_CMD__SHM_CMD_ATTACH
#define DIPC_SHM_CMD_DETACH DIPC__SHM_CMD__SHM_CMD_DETACH

typedef void (*dipc_op_done_fn)(dipc_op *op);

/*
 * The op.  A common header (what it is, for whom, on which object, its
 * result), the state of the stage that holds it (parked at the owner, or
 * forwarded to it), the state of its origin, and one payload per kind: the
 * member that its type names (op_kind_of) is the only one in use.
 */

/* Where an op came from.  done (in the header) is the origin's reply hook:
 * it answers the origin and frees the op.  The rest are optional. */
typedef struct dipc_origin {
	const char *name;                        /* "fuse", "peer": for logs */
	void (*parked)(dipc_op *op, bool parked); /* it waits / stops waiting at the owner */
	void (*release)(dipc_op *op);            /* free the origin's state (op_free) */
} dipc_origin;

/* A FUSE request (fuse_ioctl.c, fuse_status.c). */
struct dipc_fuse_from {
	fuse_req_t req;
	GList *intr_link;            /* in node->interrupted: the interrupt hook ran */
	size_t out_size;             /* ioctl out size */
	void *io_buf;                /* ioctl payload copy (owned) */
	struct ctl_fh *ctl;          /* the control handle of a staged op */
	bool direct;                 /* msgrcv answered straight into msgp */
	bool by_read;                /* msgrcv as an armed read(): the reply is the bytes */
};

/* A peer's request (serve.c): its connection (NULL once it closed) and id. */
typedef struct dipc_remote_key {
	dipc_conn *conn;
	uint64_t req;
} dipc_remote_key;

/* OP_GET: xxxget (objects.c). */
struct dipc_op_get {
	int32_t kind, key, flags;
	uint64_t size;
	unsigned tries;              /* lookups retried after a vanished owner */
};

/* OP_SEMOP, OP_SEMCTL, OP_SEMARRAY (exec_sem.c). */
struct dipc_op_sem {
	unsigned nsops;
	struct dipc_sembuf *sops;    /* owned */
	int32_t semnum, cmd, val;
	uint32_t set_uid, set_gid, set_mode;
	uint16_t *vals;              /* owned: SETALL in, GETALL out */
	unsigned nvals;
	struct dipc_semid_ds ds;
	struct dipc_seminfo info;
	dipc_sem_waiter waiter;
};

/* OP_MSGSND, OP_MSGRCV, OP_MSGCTL, OP_MSGREQUEUE (exec_msg.c). */
struct dipc_op_msg {
	int32_t flags;               /* msgflg */
	int64_t mtype;               /* received: the message's type */
	int64_t msgtyp;
	uint64_t maxsize;
	dipc_msg *m;                 /* owned: to send / give back, or received
				      * (whole, even when MSG_NOERROR truncates) */
	int32_t cmd;
	uint32_t set_uid, set_gid, set_mode;
	uint64_t set_qbytes;
	struct dipc_msqid_ds ds;
	dipc_msg_waiter waiter;
};

/* OP_SHMCTL: shmctl, and attach/detach counting (shmglue.c). */
struct dipc_op_shm {
	int32_t cmd;                 /* shmctl's, or DIPC_SHM_CMD_ATTACH/DETACH */
	int32_t flags;               /* attach: shmflg */
	int32_t count;               /* detach: attaches of the caller that end */
	uint32_t set_uid, set_gid, set_mode;
	bool fork;                   /* attach inherited by a fork child */
	bool destroyed;              /* result: the segment went at last detach */
	struct dipc_shmid_ds ds;
};

/* OP_STATUS: the status text and attributes of one object (objects.c). */
struct dipc_op_status {
	bool attrs_only;             /* lookup, getattr: no text is rendered */
	char *text;                  /* owned; NULL or "" when attrs_only */
	uint32_t uid, gid, mode;
	uint64_t size;
};

struct dipc_op {
	/* header */
	dipc_node *node;
	enum dipc_op_type type;
	dipc_ident who;
	int32_t id;
	int result;                  /* >= 0 or -errno */
	bool interrupted;            /* the origin wants it ended (EINTR) */

	/* the origin: done runs exactly once, then the op is freed */
	dipc_op_done_fn done;
	const dipc_origin *origin;   /* NULL: the daemon itself */
	void *ud;                    /* the reply hook's own */
	union {
		struct dipc_fuse_from fuse;
		dipc_remote_key peer;
	} from;

	/* parked at the owner (op.c) */
	dipc_obj *obj;
	uv_timer_t *timer;
	int64_t timeout_ns;          /* < 0: no deadline */
	bool parked;

	/* forwarded by this node (peers.c) */
	dipc_peer *peer;
	int64_t call_id;
	bool cancel_sent;

	/* the payload of its kind */
	union {
		struct dipc_op_get get;
		struct dipc_op_sem sem;
		struct dipc_op_msg msg;
		struct dipc_op_shm shm;
		struct dipc_op_status st;
	};
};

/* An object owned by this node. */
struct dipc_obj {
	uint64_t slot;       /* kind << 32 | key: the owned_keys key points here */
	int kind;
	int32_t key, id;
	dipc_semset *sem;
	dipc_msgq *msg;
	dipc_shmseg *shm;
	dipc_node *node;
};

struct dipc_peer {
	char *name;
	char *addr;
	bool alive;
	dipc_conn *conn;     /* our outbound connection, NULL if none */
	GQueue waiting;      /* ops waiting for conn to be ready */
	GQueue calls;        /* other calls waiting for it (peer_call) */
	dipc_node *node;
};

struct dipc_node {
	uv_loop_t *loop;
	dipc_conf *conf;
	char *name;
	char *mountpoint;
	dipc_sem_limits sem_lim;
	dipc_msg_limits msg_lim;

	/* FUSE */
	struct fuse_session *se;
	uv_poll_t fuse_poll;
	struct fuse_buf fbuf;
	GQueue interrupted;          /* ops whose interrupt hook ran */
	GQueue deliveries;           /* received messages to hand over */
	uv_idle_t deliver_idle;

	/* cluster */
	dipc_conn *referee;
	bool referee_up;
	bool referee_fresh;          /* no NodeList yet on this connection */
	uint64_t referee_instance;   /* of the referee we last talked to */
	uv_timer_t referee_retry;
	GQueue referee_waiting;      /* ops waiting for the referee */
	GHashTable *peers;           /* name -> dipc_peer */
	GHashTable *id_owner;        /* id -> owner name (g_strdup), a cache */
	uv_tcp_t listener;
	GHashTable *inbound;         /* accepted dipc_conn* set */

	/* objects this node owns */
	GHashTable *owned;           /* id -> dipc_obj */
	GHashTable *owned_keys;      /* (kind << 32 | key) -> dipc_obj, key != 0 */
	unsigned long sems_used;     /* for semmns */
	unsigned nparked;
	GHashTable *parked_remote;   /* dipc_remote_key -> op, for Cancel */

	struct shm_state *shm;       /* shmglue.c, shm.h */

	/* process watches (procwatch.c), their exits (exitwatch.c) */
	GHashTable *procs;           /* pid -> proc watch */
	int exit_epfd;               /* every watched pidfd, EPOLLONESHOT */
	uv_poll_t exit_poll;

	/* identity cache (ident.c) */
	GHashTable *idcache;         /* tid -> open /proc/TID/status */
	struct ctl_acct *ctl_acct;   /* .control handles and staged bytes (fuse_control.c) */

	uv_signal_t sigterm, sigint;

	/* adaptive busy-polling (main.c) */
	uv_idle_t spin;
	uint64_t spin_until;         /* uv_hrtime() deadline */
	uint64_t spin_ns;            /* [node] busy_poll_us * 1000; 0 = off */
	bool stopping;
};

/* ---- node.c: the node's parts started and stopped in order ---- */
void node_configure(dipc_node *n, char *mountpoint);
int node_start(dipc_node *n);               /* before fuse_daemonize(): may fail */
void node_start_in_daemon(dipc_node *n);    /* after it: threads, the thread pool */
void node_stop(dipc_node *n);

/* ---- log.c: where log lines go (stderr, -o log=FILE, journal, syslog) ---- */
int node_log_start(dipc_node *n, const char *file);
void node_log_detached(dipc_node *n);   /* after fuse_daemonize() */

/* ---- spin.c: busy-polling after activity ---- */
void node_spin_init(dipc_node *n);
/* Something happened: keep the loop spinning for a while instead of
 * sleeping, so the next request of a ping-pong finds it awake. */
void node_activity(dipc_node *n);

/* ---- the FUSE edge (fuse_*.c, ioctl_*.c; private: fuse_priv.h) ---- */
extern const struct fuse_lowlevel_ops dipcfs_fuse_ops;  /* fuse_loop.c */
int fsloop_attach(dipc_node *n);                        /* fuse_loop.c */
void fsloop_drain_interrupts(dipc_node *n);             /* fuse_loop.c */
fuse_ino_t ns_obj_ino(int kind, int32_t id);            /* fuse_ns.c */
extern const dipc_origin dipc_fuse_origin;              /* fuse_ioctl.c */

/* ---- cluster.c: start/stop of the parts below, the cluster status ---- */
int cluster_start(dipc_node *n);
void cluster_join(dipc_node *n);   /* after fuse_daemonize(): the referee link */
void cluster_stop(dipc_node *n);
char *cluster_describe(dipc_node *n);
/* Connection parameters of this node (role, name, listen, secret). */
static inline dipc_conn_params node_conn_params(dipc_node *n, const dipc_conn_ops *ops, void *ud)
{
	dipc_conn_params p = {
		.loop = n->loop,
		.conf = n->conf,
		.role = "node",
		.name = n->name,
		.listen = n->conf->node_listen,
		.ops = ops,
		.ud = ud,
	};
	return p;
}

/* ---- route.c: an op to its owner ---- */
/* Send op to the owner of op->id (resolving it if needed); op->done runs once. */
void route_op(dipc_op *op);
void route_forget_node(dipc_node *n, const char *name);
const char *cluster_owner_of(dipc_node *n, int32_t id);

/* ---- referee_link.c: the referee connection ---- */
void referee_link_start(dipc_node *n);
void referee_link_stop(dipc_node *n);
/* Ask the referee; cb runs once with err < 0 (transport) or the reply. */
int referee_call(dipc_node *n, Dipc__Envelope *env, dipc_conn_reply_cb cb, void *ud);

/* ---- peers.c: membership, outbound connections ---- */
void peers_init(dipc_node *n);
void peers_update(dipc_node *n, const Dipc__NodeList *nl);
GSList *peers_conns(dipc_node *n);
void peers_stop(dipc_node *n);
/* Send an op to a named peer (owner).  Completes op on reply or failure. */
void peer_forward(dipc_node *n, const char *owner, const char *addr, dipc_op *op);
/* Forwarded op was interrupted: ask the owner to end it. */
void peer_cancel(dipc_op *op);
void peer_notify_exit(dipc_node *n, const char *owner, int32_t pid);
/* A call that is not an op (cb NULL: a notification) to a named peer:
 * 0 (cb runs once, later) or -errno (it will not run). */
int peer_call(dipc_node *n, const char *name, Dipc__Envelope *env, unsigned timeout_ms,
	      dipc_conn_reply_cb cb, void *ud);

/* ---- serve.c: the peer origin, inbound connections ---- */
/* Remote request -> op -> exec_local -> reply. */
void serve_peer_request(dipc_node *n, dipc_conn *c, Dipc__Envelope *env);
void serve_conn_closed(dipc_node *n, dipc_conn *c);
/* The table of ops parked for peers, by (connection, request id). */
GHashTable *parked_table_new(void);
void serve_on_connection(uv_stream_t *server, int status);

/* ---- opwire.c ---- */
void ident_to_pb(const dipc_ident *who, Dipc__Ident *pb);
void ident_from_pb(const Dipc__Ident *pb, dipc_ident *who);

/* ---- objects.c ---- */
void objects_init(dipc_node *n);
void objects_drop_all(dipc_node *n);
dipc_obj *obj_find(dipc_node *n, int32_t id);
dipc_obj *obj_find_key(dipc_node *n, int kind, int32_t key);
void op_get(dipc_op *op);                  /* xxxget from a local caller */
int obj_check_get(dipc_node *n, dipc_op *op); /* ObjGet at the owner */
void obj_destroy(dipc_node *n, dipc_obj *o); /* after IPC_RMID */
void obj_rekey(dipc_node *n, dipc_obj *o);   /* shm: key freed, object stays */
void objects_node_down(dipc_node *n, const char *node_name);
void objects_proc_exit(dipc_node *n, const char *node_name, int32_t pid);
void exec_status(dipc_op *op);              /* OP_STATUS at the owner */

/* ---- op.c: an op's life, parking ---- */
/* The payload an op type uses: DIPC_KIND_SEM/MSG/SHM, or one of these. */
#define OP_KIND_GET 16
#define OP_KIND_STATUS 17
int op_kind_of(enum dipc_op_type type);
dipc_op *op_new(dipc_node *n, enum dipc_op_type type);
void op_free(dipc_op *op);
void op_complete(dipc_op *op, int result);
/* Ends a parked op with err (interrupt, peer death); no-op if not parked. */
void op_unpark(dipc_op *op, int err);
void park(dipc_op *op, dipc_obj *obj);
void unpark(dipc_op *op);
/* The origin wants op ended (a signal, a peer's Cancel): EINTR. */
void op_interrupt(dipc_op *op);

/* ---- exec.c: execution at the owner ---- */
/* Run op at this node, which owns op->id.  Completes now or parks. */
void exec_local(dipc_op *op);
/* Park op on obj unless max_parked is reached (then false: refuse, ENOMEM). */
bool exec_may_park(dipc_op *op, dipc_obj *obj);

/* ---- exec_sem.c ---- */
void exec_semop(dipc_op *op, dipc_obj *obj);
void exec_semctl(dipc_op *op, dipc_obj *obj);
void exec_semarray(dipc_op *op, dipc_obj *obj);
dipc_sem_wake_fn semglue_wake_fn(void);

/* ---- exec_msg.c ---- */
void exec_msg(dipc_op *op, dipc_obj *obj);
dipc_msg_wake_fn msgglue_wake_fn(void);
/* A received message could not be delivered: back to its queue's head. */
void msg_give_back(dipc_node *n, int32_t id, dipc_msg *m);

/* ---- shmglue.c ---- */
/* Shared memory: shmglue.c is its front door, the rooms behind it are
 * listed in shm.h.  The file that defines each call is named after it. */
void shmglue_init(dipc_node *n);                      /* shmglue.c */
void shmglue_start(dipc_node *n);   /* after fuse_daemonize(): the invalidation thread */
void shmglue_fini(dipc_node *n);
void shmglue_serve(dipc_node *n, dipc_conn *c, Dipc__Envelope *env);
void shmglue_conn_closed(dipc_node *n, dipc_conn *c);
void shmglue_drain_interrupts(dipc_node *n);
void exec_shm(dipc_op *op, dipc_obj *o);
dipc_shmseg *shmglue_create(dipc_node *n, int32_t key, int32_t id, uint64_t size, int mode,
			    const dipc_ident *who);          /* shm_owner.c */
void shmglue_destroy(dipc_node *n, int32_t id);
void shmglue_node_down(dipc_node *n, const char *name);
char *shmglue_describe(dipc_node *n, dipc_shmseg *seg, int32_t id);
struct shm_local *shmglue_local(dipc_node *n, int32_t id, uint64_t size,
				const char *owner);  /* shm_copy.c */
void shmglue_segment_gone(dipc_node *n, int32_t id);
void shmglue_read(dipc_node *n, fuse_req_t req, int32_t id, size_t size, off_t off,
		  bool direct);
void shmglue_write(dipc_node *n, fuse_req_t req, int32_t id, const char *buf, size_t size,
		   off_t off, bool writepage, bool direct);
void shmglue_fault(dipc_node *n, fuse_req_t req, int32_t tgid,
		   const struct dipc_ioc_shmfault *in);
void shmglue_attached(dipc_node *n, int32_t tgid, int32_t id, const struct dipc_shmid_ds *ds,
		      const char *owner, bool writable, uint32_t *rev, bool *flushing);
bool shmglue_attach_status(dipc_node *n, dipc_op *op, bool open);
int shmglue_attach_check(dipc_node *n, int32_t tgid, int32_t id, bool write);   /* shm_takeback.c */
bool shmglue_detach_local(dipc_node *n, int32_t tgid, int32_t id);
void shmglue_wait(dipc_node *n, fuse_req_t req, int32_t tgid,
		  const struct dipc_ioc_shmwait *in);

/* ---- exitwatch.c: process exits, one epoll fd for every pidfd ---- */
typedef void (*dipc_exit_fn)(void *ud);
typedef struct dipc_exit_watch {
	int pidfd;                   /* the caller's; it closes it after exitwatch_del */
	dipc_exit_fn fn;
	void *ud;
	bool armed;
} dipc_exit_watch;
int exitwatch_init(dipc_node *n);
void exitwatch_fini(dipc_node *n);
/* Watch pidfd: fn(ud) runs once, from the loop or exitwatch_flush, when the
 * process has exited; it must end the watch (exitwatch_del). */
int exitwatch_add(dipc_node *n, dipc_exit_watch *w, int pidfd, dipc_exit_fn fn, void *ud);
void exitwatch_del(dipc_node *n, dipc_exit_watch *w);
/* Run the callbacks of every exit already readable (before each operation). */
void exitwatch_flush(dipc_node *n);

/* ---- procwatch.c ---- */
void procwatch_init(dipc_node *n);
void procwatch_fini(dipc_node *n);
/* The process pid made a SEM_UNDO operation on an object owned by owner. */
int procwatch_reserve(dipc_node *n, int32_t pid);
void procwatch_note_undo(dipc_node *n, int32_t pid, const char *owner);
/* Announce the exits the loop has not seen yet (run before every operation). */
void procwatch_flush(dipc_node *n);

#endif /* DIPC_FS_NODE_H */
