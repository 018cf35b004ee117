/* SPDX-License-Identifier: MIT */
/**
 * @file fuse_status.c
 *
 * Object status for the tree: a lookup, getattr or open of an object's file
 * (sem/KEY, msg/KEY, shm/KEY, shmstat/KEY) asks the object's owner for its
 * status (OP_STATUS) and answers with it.  Only the open of a status file
 * needs the rendered text; a lookup, a getattr and the open of a segment's
 * bytes ask for the attributes only (mode, uid, gid, size), so an `ls -l`
 * makes the owner render nothing.
 *
 * Status files are text rendered by the owner at open() and served from
 * that snapshot (direct_io: sizes are not known in advance); so are the
 * node's own texts (.policy, cluster).  A segment's shm/ file is its bytes
 * instead: its open makes sure this node has a local copy and picks the
 * handle's caching (shmglue.c serves its reads and writes).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fuse_priv.h"

typedef struct status_req {
	fuse_req_t req;
	enum status_purpose purpose;
	int kind;
	struct fuse_file_info fi;
} status_req;

typedef struct text_fh {
	char *text;
	size_t len;
} text_fh;

static void open_shm(dipc_op *op, status_req *sr)
{
	dipc_node *n = op->node;
	const char *owner = cluster_owner_of(n, op->id);

	if (!shmglue_local(n, op->id, op->st.size, owner)) {
		fuse_reply_err(sr->req, owner ? ENOMEM : EIO);
		return;
	}
	/* The shim maps with O_RDWR|O_NONBLOCK (or O_RDONLY): the page
	 * cache, kept exact by invalidation.  Other writers go straight to
	 * the daemon, which takes the pages for writing first. */
	int acc = sr->fi.flags & O_ACCMODE;
	bool cached = acc == O_RDONLY || (sr->fi.flags & O_NONBLOCK);
	sr->fi.fh = cached ? SHM_FH_CACHED : SHM_FH_DIRECT;
	sr->fi.direct_io = !cached;
	sr->fi.keep_cache = cached;
	fuse_reply_open(sr->req, &sr->fi);
}

static void status_done(dipc_op *op)
{
	status_req *sr = op->ud;
	fuse_ino_t ino = obj_ino(sr->kind, op->id);

	if (op->result < 0) {
		fuse_reply_err(sr->req, op->result == -EINVAL || op->result == -EIDRM
					? ENOENT : -op->result);
	} else if (sr->purpose == FOR_LOOKUP) {
		struct fuse_entry_param e = { 0 };
		e.ino = ino;
		ns_obj_attr(ino, op, &e.attr);
		fuse_reply_entry(sr->req, &e);
	} else if (sr->purpose == FOR_GETATTR) {
		struct stat st;
		ns_obj_attr(ino, op, &st);
		fuse_reply_attr(sr->req, &st, 0);
	} else if (sr->kind == DIPC_KIND_SHM) {
		open_shm(op, sr);
	} else {
		sr->fi.keep_cache = 0;
		status_open_text(sr->req, &sr->fi, g_steal_pointer(&op->st.text));
	}
	g_free(sr);
	op_free(op);
}

void status_start(dipc_node *n, fuse_req_t req, enum status_purpose purpose,
		  int kind, int32_t id, const struct fuse_file_info *fi)
{
	status_req *sr;
	dipc_op *op = op_new(n, OP_STATUS);
	int r = req_ident(n, req, &op->who);

	/* Never on a defaulted identity: a caller we cannot read is refused. */
	if (r < 0) {
		op_free(op);
		fuse_reply_err(req, -r);
		return;
	}
	sr = g_new0(status_req, 1);
	sr->req = req;
	sr->purpose = purpose;
	sr->kind = kind;
	if (fi)
		sr->fi = *fi;
	op->id = id;
	op->st.attrs_only = purpose != FOR_OPEN || kind == DIPC_KIND_SHM;
	op->origin = &dipc_fuse_origin;
	op->from.fuse.req = req;
	op->ud = sr;
	op->done = status_done;
	if (kind == DIPC_KIND_SHM && shmglue_attach_status(n, op, purpose == FOR_OPEN))
		op_complete(op, 0);   /* the shim's shmat: known from its attach */
	else
		route_op(op);
}

void status_open_text(fuse_req_t req, struct fuse_file_info *fi, char *text)
{
	text_fh *fh = g_new0(text_fh, 1);

	fh->text = text;
	fh->len = strlen(text);
	fi->fh = (uint64_t)(uintptr_t)fh;
	fi->direct_io = 1;
	if (fuse_reply_open(req, fi) < 0) {
		g_free(fh->text);
		g_free(fh);
	}
}

void status_read(fuse_req_t req, uint64_t handle, size_t size, off_t off)
{
	text_fh *fh = (text_fh *)(uintptr_t)handle;

	if (!fh || off < 0 || (size_t)off >= fh->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	fuse_reply_buf(req, fh->text + off, MIN(size, fh->len - (size_t)off));
}

void status_release(uint64_t handle)
{
	text_fh *fh = (text_fh *)(uintptr_t)handle;

	if (fh) {
		g_free(fh->text);
		g_free(fh);
	}
}
