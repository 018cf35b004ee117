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
 * Limits.  Any local user can open .control, so what handles hold is
 * bounded by dipc.conf's [limits]: handles open per process
 * (control_handles_per_process) and per node (control_handles; a caller
 * with CAP_SYS_ADMIN may go past it, as past the kernel's fs.file-max), and
 * bytes of text held by all handles of the node (staged_bytes: the memory
 * allocated for written texts, and the received texts waiting for read()).
 * At a limit the open or the write fails with ENOMEM, which the shim's
 * msgsnd or msgrcv returns: the kernel's errno when it has no memory for a
 * message.  A received text is counted but never refused: it has left its
 * queue already, and each handle holds at most one, of at most msgmax.
 * Handles made by ctl_new() alone (the unit tests) are not counted.
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
#include <string.h>

#include "fuse_priv.h"

#define CTL_MAGIC 0x6374666cu
#define CAP_SYS_ADMIN_BIT 21

/* What the handles of one node hold (n->ctl_acct, made at the first open). */
struct ctl_acct {
	GHashTable *per_proc;   /* tgid -> handles it opened */
	unsigned handles;
	uint64_t bytes;
	unsigned max_handles, max_per_proc;
	uint64_t max_bytes;
};

struct ctl_fh {
	uint32_t magic;
	struct ctl_acct *acct;  /* NULL: not counted */
	int32_t tgid;           /* the opener, counted in acct->per_proc */
	char *in;               /* staged text to send: in_len of in_cap bytes */
	size_t in_len, in_cap;
	bool staged;            /* written to (even 0 bytes) since the open */
	dipc_msg *out;          /* received, not yet read (whole) */
	int32_t out_id;         /* its queue */
	size_t out_len;         /* what the receiver gets (MSG_NOERROR) */
	size_t out_off;
	bool busy;              /* a staged op is in flight */
	uint64_t serial;        /* unique per handle, never reused (ident.c) */
	bool armed;             /* read() is msgrcv with these: */
	struct dipc_ioc_msgrcv_staged params;
};

static struct ctl_acct *acct_of(dipc_node *n)
{
	struct ctl_acct *a = n->ctl_acct;

	if (!a) {
		a = g_new0(struct ctl_acct, 1);
		a->per_proc = g_hash_table_new(g_direct_hash, g_direct_equal);
		a->max_handles = n->conf->control_handles;
		a->max_per_proc = n->conf->control_handles_per_process;
		a->max_bytes = n->conf->staged_bytes;
		n->ctl_acct = a;
	}
	return a;
}

/* Count a new handle of who's process: 0 or -ENOMEM at a limit. */
static int acct_open(struct ctl_acct *a, const dipc_ident *who)
{
	gpointer key = GINT_TO_POINTER(who->pid);
	unsigned mine = GPOINTER_TO_UINT(g_hash_table_lookup(a->per_proc, key));

	if (mine >= a->max_per_proc)
		return -ENOMEM;
	if (a->handles >= a->max_handles && !(who->caps & (1ull << CAP_SYS_ADMIN_BIT)))
		return -ENOMEM;
	g_hash_table_insert(a->per_proc, key, GUINT_TO_POINTER(mine + 1));
	a->handles++;
	return 0;
}

static void acct_close(struct ctl_acct *a, int32_t tgid)
{
	gpointer key = GINT_TO_POINTER(tgid);
	unsigned mine = GPOINTER_TO_UINT(g_hash_table_lookup(a->per_proc, key));

	if (mine <= 1)
		g_hash_table_remove(a->per_proc, key);
	else
		g_hash_table_insert(a->per_proc, key, GUINT_TO_POINTER(mine - 1));
	a->handles--;
}

static void acct_bytes(ctl_fh *c, int64_t delta)
{
	if (c->acct)
		c->acct->bytes += (uint64_t)delta;
}

static void drop_in(ctl_fh *c)
{
	acct_bytes(c, -(int64_t)c->in_cap);
	g_free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
}

static void drop_out(ctl_fh *c)
{
	if (c->out)
		acct_bytes(c, -(int64_t)c->out->size);
	c->out = NULL;
}

ctl_fh *ctl_new(void)
{
	static uint64_t serials;
	ctl_fh *c = g_new0(ctl_fh, 1);
	c->magic = CTL_MAGIC;
	c->serial = ++serials;
	return c;
}

uint64_t ctl_serial(const ctl_fh *c)
{
	return c ? c->serial : 0;
}

void ctl_free(dipc_node *n, ctl_fh *c)
{
	if (!c)
		return;
	drop_in(c);
	if (c->out) {
		dipc_msg *m = c->out;
		drop_out(c);
		msg_give_back(n, c->out_id, m);
	}
	if (c->acct)
		acct_close(c->acct, c->tgid);
	g_free(c);
}

ctl_fh *ctl_of(fuse_ino_t ino, const struct fuse_file_info *fi)
{
	return ino == INO_CONTROL && fi ? (ctl_fh *)(uintptr_t)fi->fh : NULL;
}

void ctl_open(fuse_req_t req, struct fuse_file_info *fi)
{
	dipc_node *n = node_of(req);
	struct ctl_acct *a = acct_of(n);
	dipc_ident who;
	ctl_fh *c;
	int r = req_ident(n, req, &who);

	if (r == 0)
		r = acct_open(a, &who);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	c = ctl_new();
	c->acct = a;
	c->tgid = who.pid;
	fi->fh = (uint64_t)(uintptr_t)c;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	if (fuse_reply_open(req, fi) < 0)
		ctl_free(n, c);
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
		dipc_msg *m = c->out;
		drop_out(c);
		dipc_msg_free(m);
	}
}

/* Room for need bytes of staged text: 0, or -ENOMEM at the node's limit
 * or when the allocation fails.  Grows by doubling, up to msgmax. */
static int reserve_in(ctl_fh *c, size_t need, size_t msgmax)
{
	size_t cap;
	char *p;

	if (need <= c->in_cap)
		return 0;
	cap = MIN(MAX(need, MAX(c->in_cap * 2, (size_t)4096)), MAX(need, msgmax));
	if (c->acct && c->acct->bytes + (cap - c->in_cap) > c->acct->max_bytes) {
		cap = need;   /* no slack at the limit: only what is asked */
		if (c->acct->bytes + (cap - c->in_cap) > c->acct->max_bytes)
			return -ENOMEM;
	}
	p = g_try_realloc(c->in, cap);
	if (!p)
		return -ENOMEM;
	acct_bytes(c, (int64_t)(cap - c->in_cap));
	c->in = p;
	c->in_cap = cap;
	return 0;
}

int ctl_append(ctl_fh *c, const void *buf, size_t size, size_t msgmax)
{
	int r;

	if (c->in_len + size > msgmax)
		return -EINVAL;   /* as msgsnd with msgsz > msgmax */
	r = reserve_in(c, c->in_len + size, msgmax);
	if (r < 0)
		return r;
	if (size)
		memcpy(c->in + c->in_len, buf, size);
	c->in_len += size;
	c->staged = true;
	return 0;
}

int ctl_staged_text(ctl_fh *c, uint64_t msgsz, const void **ret_text)
{
	if (!c || c->busy || !c->staged || c->in_len != msgsz)
		return -EINVAL;
	*ret_text = c->in;
	return 0;
}

void ctl_staged_sent(ctl_fh *c)
{
	drop_in(c);   /* the text is the message's now; the memory goes back */
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
	acct_bytes(c, (int64_t)m->size);
	c->out_id = id;
	c->out_len = len;
	c->out_off = 0;
}

dipc_msg *ctl_unhold(ctl_fh *c)
{
	dipc_msg *m = c->out;

	drop_out(c);
	return m;
}

void ctl_arm(ctl_fh *c, const struct dipc_ioc_msgrcv_staged *params)
{
	c->params = *params;
	c->armed = true;
}
