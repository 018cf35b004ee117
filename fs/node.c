/* SPDX-License-Identifier: MIT */
/**
 * @file node.c
 *
 * The node as one thing: its parts started in order (node_start, then
 * node_start_in_daemon) and stopped in order (node_stop).  main.c owns the
 * options, the mount and the process; the rooms below never call up into
 * either file, except the FUSE loop, which stops the node when its session
 * ends.
 *
 * Starting comes in two halves because of fuse_daemonize(): without -f it
 * forks once the mount is up, the parent exits, and only the calling thread
 * goes on in the child.  A thread started before it, or a request queued in
 * libuv's thread pool (uv_getaddrinfo, which the referee link issues when
 * the referee is given by host name), stays in the parent and dies with it:
 * the daemon that serves would wait for ever for its invalidation thread
 * (every shm take-back) and its referee.  So node_start, before the fork,
 * does what can fail and must fail the mount command (the process-exit
 * watch, the listener's bind), on the loop only; node_start_in_daemon,
 * after it, starts every thread and everything that may use the pool.
 */
#include <errno.h>

#include "node.h"

/* The node's name, mount point and the engines' limits, from its conf. */
void node_configure(dipc_node *n, char *mountpoint)
{
	n->name = n->conf->node_name;
	n->mountpoint = mountpoint;
	n->sem_lim.semmsl = n->conf->semmsl;
	n->sem_lim.semopm = n->conf->semopm;
	n->sem_lim.semvmx = n->conf->semvmx;
	n->sem_lim.semaem = n->conf->semvmx;
	n->msg_lim.msgmax = n->conf->msgmax ? n->conf->msgmax : 8192;
	n->msg_lim.msgmnb = n->conf->msgmnb ? n->conf->msgmnb : 16384;
	if (!n->conf->msgmni)
		n->conf->msgmni = 32000;
}

int node_start(dipc_node *n)
{
	int r;

	objects_init(n);
	r = exitwatch_init(n);
	if (r < 0) {
		g_printerr("mount.dipcfs: cannot create the process-exit watch: %s\n",
			   g_strerror(-r));
		return r;
	}
	procwatch_init(n);
	shmglue_init(n);
	return cluster_start(n);
}

void node_start_in_daemon(dipc_node *n)
{
	shmglue_start(n);
	cluster_join(n);
}

void node_stop(dipc_node *n)
{
	if (n->stopping)
		return;
	n->stopping = true;
	/* End every parked caller before the mount goes: waiters on sets we
	 * own see EIDRM (their sets go with this node), forwarded calls fail
	 * when their connections close. */
	objects_drop_all(n);
	cluster_stop(n);
	procwatch_fini(n);
	shmglue_fini(n);
	exitwatch_fini(n);
	uv_poll_stop(&n->fuse_poll);
	fuse_session_unmount(n->se);
	uv_stop(n->loop);
}

