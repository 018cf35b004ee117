/* SPDX-License-Identifier: MIT */
/**
 * @file node.c
 *
 * The node as one thing: its parts started in order (node_start) and
 * stopped in order (node_stop).  main.c owns the options, the mount and the
 * process; the rooms below never call up into either file, except the FUSE
 * loop, which stops the node when its session ends.
 */
#include <errno.h>

#include "node.h"

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

