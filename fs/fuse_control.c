/* SPDX-License-Identifier: MIT */
/**
 * @file fuse_control.c
 *
 * The handles of MOUNT/.control.  Every open of .control has its own
 * handle.  The shim's shared handle only carries ioctls; a private handle
 * also stages a large message text: write() appends the text of the next
 * DIPC_IOC_MSGSND_STAGED, and after a DIPC_IOC_MSGRCV_STAGED read() returns
 * the received text.  A handle released with a received text unread gives
 * the message back to the head of its queue, so a receiver killed between
 * the ioctl and the read() loses nothing.
 *
 * After DIPC_IOC_MSGRCV_ARM a handle is a receiver: each read() is a msgrcv
 * with the armed parameters, answered with mtype and the text
 * (msgrcv_read in ioctl_msg.c), so the message reaches the program's
 * buffer inside the read and nothing before it does.  A staged text still
 * unread is read first.
 *
 * The staged rows of ioctl_msg.c reach a handle only through the small
 * calls below; nothing else knows its fields.
 */
#include <errno.h>

#include "fuse_priv.h"

#define CTL_MAGIC 0x6374666cu

struct ctl_fh {
	uint32_t magic;
	GByteArray *in;       /* staged text to send */
	dipc_msg *out;        /* received, not yet read (whole) */
	int32_t out_id;       /* its queue */
	size_t out_len;       /* what the receiver gets (MSG_NOERROR) */
	size_t out_off;
	bool busy;            /* a staged op is in flight */
	bool armed;           /* read() is msgrcv with these: */
	struct dipc_ioc_msgrcv_staged params;
};

ctl_fh *ctl_new(void)
{
	ctl_fh *c = g_new0(ctl_fh, 1);
	c->magic = CTL_MAGIC;
	return c;
}

void ctl_free(dipc_node *n, ctl_fh *c)
{
	if (!c)
		return;
	if (c->in)
		g_byte_array_free(c->in, TRUE);
	if (c->out)
		msg_give_back(n, c->out_id, c->out);
	g_free(c);
}

ctl_fh *ctl_of(fuse_ino_t ino, const struct fuse_file_info *fi)
{
	return ino == INO_CONTROL && fi ? (ctl_fh *)(uintptr_t)fi->fh : NULL;
}

void ctl_open(fuse_req_t req, struct fuse_file_info *fi)
{
	ctl_fh *c = ctl_new();

	fi->fh = (uint64_t)(uintptr_t)c;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	if (fuse_reply_open(req, fi) < 0)
		g_free(c);
}

void ctl_read(fuse_req_t req, ctl_fh *c, size_t size)
{
	if (c && c->armed && !c->out) {
		msgrcv_read(req, c, &c->params, size);
		return;
	}
	if (!c || !c->out) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t n = MIN(size, c->out_len - c->out_off);
	/* A reader killed now never gets these bytes: keep the message (the
	 * release gives it back) unless the reply really went out. */
	if (fuse_reply_buf(req, c->out->data + c->out_off, n) < 0)
		return;
	c->out_off += n;
	if (c->out_off >= c->out_len) {
		dipc_msg_free(c->out);
		c->out = NULL;
	}
}

int ctl_append(ctl_fh *c, const void *buf, size_t size, size_t msgmax)
{
	if (!c->in)
		c->in = g_byte_array_new();
	if (c->in->len + size > msgmax)
		return -EINVAL;   /* as msgsnd with msgsz > msgmax */
	g_byte_array_append(c->in, buf, (guint)size);
	return 0;
}

int ctl_staged_text(ctl_fh *c, uint64_t msgsz, const void **ret_text)
{
	if (!c || c->busy || !c->in || c->in->len != msgsz)
		return -EINVAL;
	*ret_text = c->in->data;
	return 0;
}

void ctl_staged_sent(ctl_fh *c)
{
	g_byte_array_set_size(c->in, 0);
}

bool ctl_can_receive(const ctl_fh *c)
{
	return c && !c->busy && !c->out;
}

void ctl_set_busy(ctl_fh *c, bool busy)
{
	if (c)
		c->busy = busy;
}

void ctl_hold(ctl_fh *c, int32_t id, dipc_msg *m, size_t len)
{
	c->out = m;
	c->out_id = id;
	c->out_len = len;
	c->out_off = 0;
}

dipc_msg *ctl_unhold(ctl_fh *c)
{
	return g_steal_pointer(&c->out);
}

void ctl_arm(ctl_fh *c, const struct dipc_ioc_msgrcv_staged *params)
{
	c->params = *params;
	c->armed = true;
}
