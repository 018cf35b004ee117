/* SPDX-License-Identifier: MIT */
/**
 * @file conf.h
 *
 * dipc.conf: one GKeyFile for the referee and every node.  See the annotated
 * dipc.conf at the top of the tree for every key, its default and its range.
 *
 *   [cluster]  secret, referee, allowed_hosts, heartbeat_ms, dead_after_ms,
 *              request_timeout_ms, reserve_timeout_ms, encrypt, handshake_ms
 *   [referee]  listen, grace_ms
 *   [node]     name, listen, mountpoint, busy_poll_us, shm_mode,
 *              shm_quantum_ms                 (defaults for every node)
 *   [node.NAME] the same keys, for node NAME  (so one file serves a cluster)
 *   [limits]   semmni, semmsl, semmns, semopm, semvmx, msgmni, msgmax,
 *              msgmnb, shmmni, shmmax, shmall, max_frame,
 *              max_parked, max_connections, max_handshakes,
 *              max_conn_per_host, control_handles,
 *              control_handles_per_process, staged_bytes,
 *              max_watched_procs
 *   [policy]   keys  (which keys the shim distributes without IPC_DIPC)
 *
 * dipc_conf_load() validates everything; on a bad value it fails with a
 * message that names the file, the group and the key, and the daemon exits
 * without starting.
 */
#ifndef DIPC_CONF_H
#define DIPC_CONF_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct dipc_cidr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
} dipc_cidr;

typedef struct dipc_conf {
	char *path;

	/* [cluster] */
	char *secret;             /* >= 16 bytes */
	char *referee;            /* host:port */
	dipc_cidr *allowed;       /* allowed_hosts */
	unsigned n_allowed;
	unsigned heartbeat_ms;    /* default 1000 */
	unsigned dead_after_ms;   /* default 5000, > 2 * heartbeat_ms */
	unsigned request_timeout_ms;  /* default 10000: non-blocking remote calls */
	unsigned reserve_timeout_ms;  /* default 10000: referee key reservation */
	bool encrypt;             /* default no: encrypt every frame (seal.h) */
	unsigned handshake_ms;    /* default min(2000, dead_after_ms): an accepted
				   * peer's time to finish the handshake */

	/* [referee] */
	char *referee_listen;     /* default: the port of `referee` on 0.0.0.0 */
	unsigned grace_ms;        /* default min(dead_after_ms, request_timeout_ms / 2) */

	/* [node] merged with [node.NAME] */
	char *node_name;          /* default: gethostname() */
	char *node_listen;        /* host:port, required for a node */
	char *mountpoint;         /* default /dipc */
	unsigned busy_poll_us;    /* default 50, 0..10000: spin after activity */
	bool shm_segment_mode;    /* shm_mode = page (default) | segment */
	unsigned shm_quantum_ms;  /* default 2: a grant is kept at least this long */

	/* [limits] */
	unsigned semmni, semmsl, semmns, semopm, semvmx;
	unsigned msgmni, msgmax, msgmnb;  /* defaults 32000, 8192, 16384 */
	unsigned shmmni;          /* default 4096, as the kernel */
	uint64_t shmmax, shmall;  /* bytes, pages; defaults as the kernel's */
	unsigned max_frame;       /* bytes, default 1 MiB */
	unsigned max_parked;      /* parked requests per node, default 10000 */
	unsigned max_connections; /* default 256: accepted, all states */
	unsigned max_handshakes;  /* default max_connections / 4 (64): accepted
				   * and not yet authenticated */
	unsigned max_conn_per_host; /* default max_handshakes / 2 (32): of
				     * those, from one source address */
	unsigned control_handles; /* open MOUNT/.control handles per node, default 16384 */
	unsigned control_handles_per_process;  /* default 256 */
	unsigned staged_bytes;    /* message text staged in handles per node, default 64 MiB */
	unsigned max_watched_procs; /* SEM_UNDO pidfds per node, default 4096 */

	/* [policy] */
	char *policy_keys;        /* "none" (default), "all", or a list */
} dipc_conf;

/* Load and validate.  node_name may be NULL (use [node] name or hostname);
 * for_node says whether node keys are required.  On error returns NULL and
 * sets *error with a message naming the key. */
dipc_conf *dipc_conf_load(const char *path, const char *node_name, bool for_node,
			  GError **error);
void dipc_conf_free(dipc_conf *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(dipc_conf, dipc_conf_free)

/* Is this peer address allowed? (sockaddr_in or sockaddr_in6) */
bool dipc_conf_host_allowed(const dipc_conf *c, const struct sockaddr *sa);

/* Parse "host:port" / "[v6]:port" into a sockaddr (numeric or resolvable). */
int dipc_parse_hostport(const char *s, struct sockaddr_storage *ret, GError **error);

/* Is s a valid [policy] keys value: the grammar of common/policy.h (the
 * shim's, same code), on one line of at most DIPC_POLICY_MAX_LINE bytes
 * (it is written to MOUNT/.policy)?  The error is the shim's message. */
bool dipc_policy_valid(const char *s, GError **error);

#endif /* DIPC_CONF_H */
