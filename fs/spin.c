/* SPDX-License-Identifier: MIT */
/**
 * @file spin.c
 *
 * The loop's busy-polling after activity: node_activity() is called by every
 * room that sees a request or a reply arrive; it is a leaf, calling nothing
 * of fs/.
 */
#include <sched.h>

#include "node.h"

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
