/* SPDX-License-Identifier: MIT */
/**
 * @file fuse_loop.c
 *
 * The FUSE session inside the node's libuv loop: the callback table, the
 * session fd polled by the loop (non-blocking, up to FUSE_BATCH requests
 * per wake-up), and the two points of the loop where deferred work is done:
 *
 *   - after every processed request, the ops whose interrupt hook ran
 *     (fuse_ioctl.c queues them) are ended: a parked op with EINTR, a
 *     forwarded one by a cancel to its owner (which then answers it);
 *   - after every pending request has been processed, received messages
 *     are handed to their callers (the delivery point, below).
 */
#include <errno.h>
#include <fcntl.h>

#include "fuse_priv.h"

#define FUSE_BATCH 64

void fsloop_drain_interrupts(dipc_node *n)
{
	GList *l;

	shmglue_drain_interrupts(n);
	while ((l = g_queue_pop_head_link(&n->interrupted))) {
		dipc_op *op = l->data;
		g_list_free_1(l);
		op->from.fuse.intr_link = NULL;
		op_interrupt(op);
	}
}

/* Process what the kernel has queued; false when the session ended. */
static bool session_drain(dipc_node *n)
{
	for (int i = 0; i < FUSE_BATCH; i++) {
		int r = fuse_session_receive_buf(n->se, &n->fbuf);
		if (r == -EAGAIN)
			break;
		if (r == -EINTR)
			continue;
		if (r <= 0 || fuse_session_exited(n->se)) {
			if (!n->stopping)
				g_message("the mount went away (%s)", r < 0 ? g_strerror(-r) : "unmounted");
			node_stop(n);
			return false;
		}
		fuse_session_process_buf(n->se, &n->fbuf);
		fsloop_drain_interrupts(n);
		node_activity(n);
	}
	return true;
}

static void session_readable_cb(uv_poll_t *h, int status, int events)
{
	session_drain(h->data);
}

/*
 * The delivery point.  The kernel may have queued an interrupt for a
 * msgrcv while its message was travelling, unread in /dev/fuse: so a
 * received message is not delivered where it arrives but put on a list that
 * is drained here, right after every pending FUSE request -- interrupts
 * first, the kernel hands them out before anything else -- has been
 * processed.  What remains is a signal that comes within the few
 * microseconds between that drain and the reply.
 */
static void deliveries_cb(uv_idle_t *h)
{
	dipc_node *n = h->data;
	dipc_op *op;

	uv_idle_stop(h);
	if (!n->stopping)
		session_drain(n);   /* if the session ended, the replies fail: given back */
	while ((op = g_queue_pop_head(&n->deliveries))) {
		msgrcv_deliver_now(op);
		op_free(op);
	}
}

void loop_defer_delivery(dipc_op *op)
{
	dipc_node *n = op->node;

	g_queue_push_tail(&n->deliveries, op);
	if (!uv_is_active((uv_handle_t *)&n->deliver_idle))
		uv_idle_start(&n->deliver_idle, deliveries_cb);
}

static void dipc_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* A page fault of a shm mapping must read exactly its page. */
	conn->max_readahead = 0;
	/* Write-backs (msync of a segment run by the helpers) in 1 MiB requests */
	conn->max_write = 1u << 20;
	ns_init();
}

const struct fuse_lowlevel_ops dipcfs_fuse_ops = {
	.init = dipc_init,
	.lookup = ns_lookup,
	.getattr = ns_getattr,
	.opendir = ns_opendir,
	.readdir = ns_readdir,
	.releasedir = ns_releasedir,
	.open = ns_open,
	.read = ns_read,
	.release = ns_release,
	.write = ns_write,
	.ioctl = ioc_entry,
};

int fsloop_attach(dipc_node *n)
{
	int fd = fuse_session_fd(n->se);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	ident_init(n);
	g_queue_init(&n->interrupted);
	g_queue_init(&n->deliveries);
	uv_idle_init(n->loop, &n->deliver_idle);
	n->deliver_idle.data = n;
	uv_poll_init(n->loop, &n->fuse_poll, fd);
	n->fuse_poll.data = n;
	return uv_poll_start(&n->fuse_poll, UV_READABLE, session_readable_cb);
}
