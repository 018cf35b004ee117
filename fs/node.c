/* SPDX-License-Identifier: MIT */
/**
 * @file node.c
 *
 * The node as one thing: its parts started in order (node_start) and
 * stopped in order (node_stop), and the loop's busy-polling after activity
 * (node_activity).  main.c owns the options, the mount and the process;
 * every room below reaches the node's life only through these three.
 */
#include <errno.h>
#include <sched.h>

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

/*
 * Busy-polling.  On this kind of machine a sleeping process costs ~25 us to
 * wake, and a semop ping-pong through the daemon pays that wake-up on the
 * daemon's side twice per round trip.  After any activity the loop keeps
 * polling (an active idle handle makes uv_run poll with a zero time-out) for
 * busy_poll_us, then sleeps again.  The CPU cost is bounded by that window
 * per burst of activity; an idle node sleeps.  While spinning the loop
 * yields the CPU at every turn, and with a single CPU to run on it does not
 * spin at all: there, spinning only delays the process it waits for.
 */
static void spin_cb(uv_idle_t *h)
{
	dipc_node *n = h->data;
	if (uv_hrtime() >= n->spin_until)
		uv_idle_stop(h);
	else
		sched_yield();
}

static bool several_cpus(void)
{
	cpu_set_t set;
	return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1;
}

void node_activity(dipc_node *n)
{
	if (!n->spin_ns || n->stopping)
		return;
	n->spin_until = uv_hrtime() + n->spin_ns;
	if (!uv_is_active((uv_handle_t *)&n->spin))
		uv_idle_start(&n->spin, spin_cb);
}

void node_spin_init(dipc_node *n)
{
	uv_idle_init(n->loop, &n->spin);
	n->spin.data = n;
	n->spin_ns = several_cpus() ? (uint64_t)n->conf->busy_poll_us * 1000 : 0;
}
