/* SPDX-License-Identifier: MIT */
/**
 * @file fuse_ops.c
 *
 * The FUSE face of a node: the tree under the mount, the status files, and
 * the ioctl entry through which the shim makes every SysV call.
 *
 *   /            .control .policy cluster sem/ msg/ shm/
 *   sem/0xKKKKKKKK   a keyed set; sem/private.ID an IPC_PRIVATE one
 *
 * Object files carry the object's mode, uid and gid (so `ls -l` shows them,
 * and with default_permissions the kernel applies the read bits to `cat`,
 * as IPC_STAT would).  Their text is rendered by the owner node at open()
 * and served from that snapshot (direct_io: sizes are not known in advance).
 * Entry and attribute time-outs are zero and negative lookups are plain
 * ENOENT replies, so `ls` and `cat` always see the cluster as it is now.
 *
 * Identity: uid and gid come from the kernel (the FUSE request context), the
 * thread-group id and the supplementary groups from /proc/TID/status
 * (cached for two seconds per thread), never from the shim's word.
 *
 * Interrupts: every ioctl registers an interrupt hook before it is routed.
 * The hook may run at once (inside the registration) or later (inside
 * fuse_session_process_buf); it only queues the op, and the queue is
 * drained after each processed request, where the op is ended (parked
 * locally: EINTR) or cancelled at its owner (which then answers it).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "node.h"
#include "opwire.h"

enum {
	INO_ROOT = FUSE_ROOT_ID,
	INO_CONTROL,
	INO_POLICY,
	INO_CLUSTER,
	INO_DIR_SEM,
	INO_DIR_MSG,
	INO_DIR_SHM,
	INO_DIR_SHMSTAT,
};

/* Files of MOUNT/shmstat/: the status text of a segment (its shm/ file is
 * its bytes).  Only in inode numbers, never on the wire. */
#define KIND_SHMSTAT 4
#define SHM_FH_CACHED 1   /* the shim's mapping handle (O_RDWR|O_NONBLOCK, O_RDONLY) */
#define SHM_FH_DIRECT 2   /* read(2)/write(2) by other programs */

#define INO_OBJ_FLAG (1ULL << 48)
#define IDCACHE_MS 2000
#define IDCACHE_MAX 4096
#define FUSE_BATCH 64

static dipc_node *node_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static fuse_ino_t obj_ino(int kind, int32_t id)
{
	return INO_OBJ_FLAG | ((uint64_t)kind << 40) | (uint32_t)id;
}

fuse_ino_t fuse_obj_ino(int kind, int32_t id)
{
	return obj_ino(kind, id);
}

/* The kind the referee knows. */
static int wire_kind(int kind)
{
	return kind == KIND_SHMSTAT ? DIPC_KIND_SHM : kind;
}

static bool ino_is_obj(fuse_ino_t ino, int *kind, int32_t *id)
{
	if (!(ino & INO_OBJ_FLAG))
		return false;
	*kind = (int)((ino >> 40) & 0xff);
	*id = (int32_t)(uint32_t)ino;
	return true;
}

static int dir_kind(fuse_ino_t ino)
{
	switch (ino) {
	case INO_DIR_SEM: return DIPC_KIND_SEM;
	case INO_DIR_MSG: return DIPC_KIND_MSG;
	case INO_DIR_SHM: return DIPC_KIND_SHM;
	case INO_DIR_SHMSTAT: return KIND_SHMSTAT;
	default: return 0;
	}
}

static char *obj_name(int32_t key, int32_t id)
{
	if (key == IPC_PRIVATE)
		return g_strdup_printf("private.%d", id);
	return g_strdup_printf("0x%08x", (uint32_t)key);
}

/* "0x0000162e", "5678", "private.ID".  Returns false for other names. */
static bool parse_obj_name(const char *name, int32_t *key, int32_t *id)
{
	char *end;

	*id = -1;
	if (g_str_has_prefix(name, "private.")) {
		long v = strtol(name + 8, &end, 10);
		if (*end || end == name + 8 || v <= 0 || v > INT32_MAX)
			return false;
		*key = IPC_PRIVATE;
		*id = (int32_t)v;
		return true;
	}
	errno = 0;
	unsigned long long v = strtoull(name, &end, 0);
	if (*end || end == name || errno || v > UINT32_MAX || v == 0)
		return false;
	*key = (int32_t)(uint32_t)v;
	return true;
}

/* ---- identity ----------------------------------------------------------- */

typedef struct idcache_entry {
	int32_t tgid;
	uint64_t caps;
	unsigned ngroups;
	uint32_t groups[DIPC_MAX_GROUPS];
	uint64_t expires;
} idcache_entry;

static bool read_proc_status(pid_t tid, idcache_entry *e)
{
	char path[64], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	e->tgid = tid;
	e->ngroups = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Tgid:", 5) == 0) {
			e->tgid = (int32_t)strtol(line + 5, NULL, 10);
		} else if (strncmp(line, "CapEff:", 7) == 0) {
			e->caps = g_ascii_strtoull(line + 7, NULL, 16);
		} else if (strncmp(line, "Groups:", 7) == 0) {
			char *p = line + 7, *end;
			while (e->ngroups < DIPC_MAX_GROUPS) {
				unsigned long g = strtoul(p, &end, 10);
				if (end == p)
					break;
				e->groups[e->ngroups++] = (uint32_t)g;
				p = end;
			}
		}
	}
	fclose(f);
	return true;
}

static void user_name(uid_t uid, char *buf, size_t len)
{
	static GHashTable *names;
	struct passwd pw, *res = NULL;
	char tmp[1024];
	const char *name;

	if (!names)
		names = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	name = g_hash_table_lookup(names, GUINT_TO_POINTER(uid));
	if (!name) {
		if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
			name = g_strdup(res->pw_name);
		else
			name = g_strdup_printf("#%u", (unsigned)uid);
		if (g_hash_table_size(names) > IDCACHE_MAX)
			g_hash_table_remove_all(names);
		g_hash_table_insert(names, GUINT_TO_POINTER(uid), (gpointer)name);
	}
	g_strlcpy(buf, name, len);
}

static int req_ident(dipc_node *n, fuse_req_t req, dipc_ident *who)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	idcache_entry *e;
	uint64_t now = uv_now(n->loop);

	memset(who, 0, sizeof(*who));
	e = g_hash_table_lookup(n->idcache, GINT_TO_POINTER(ctx->pid));
	if (!e || e->expires < now) {
		idcache_entry fresh = { 0 };
		if (!read_proc_status(ctx->pid, &fresh))
			return -ESRCH;
		if (!e) {
			if (g_hash_table_size(n->idcache) >= IDCACHE_MAX)
				g_hash_table_remove_all(n->idcache);
			e = g_new(idcache_entry, 1);
			g_hash_table_insert(n->idcache, GINT_TO_POINTER(ctx->pid), e);
		}
		*e = fresh;
		e->expires = now + IDCACHE_MS;
	}
	g_strlcpy(who->node, n->name, sizeof(who->node));
	who->pid = e->tgid;
	who->uid = ctx->uid;
	who->gid = ctx->gid;
	who->caps = e->caps;
	who->ngroups = e->ngroups;
	memcpy(who->groups, e->groups, sizeof(uint32_t) * e->ngroups);
	user_name(ctx->uid, who->user, sizeof(who->user));
	return 0;
}

/* ---- attributes --------------------------------------------------------- */

/* Times: the fixed entries were born with the mount; an object's file
 * shows the moment it was looked at (its own times are in its text). */
static time_t mount_time;

static void fixed_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_atime = st->st_mtime = st->st_ctime = mount_time;
	st->st_ino = ino;
	st->st_nlink = 1;
	st->st_uid = 0;
	st->st_gid = 0;
	switch (ino) {
	case INO_ROOT:
	case INO_DIR_SEM:
	case INO_DIR_MSG:
	case INO_DIR_SHM:
	case INO_DIR_SHMSTAT:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		break;
	case INO_CONTROL:
		st->st_mode = S_IFREG | 0666;
		break;
	default:
		st->st_mode = S_IFREG | 0444;
		break;
	}
}

static void obj_attr(fuse_ino_t ino, const dipc_op *op, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	st->st_mode = S_IFREG | (op->st_mode & 0777);
	st->st_uid = op->st_uid;
	st->st_gid = op->st_gid;
	st->st_size = 0;
	int kind;
	int32_t id;
	if (ino_is_obj(ino, &kind, &id) && kind == DIPC_KIND_SHM)
		st->st_size = (off_t)op->size;   /* the segment's bytes */
	st->st_atime = st->st_mtime = st->st_ctime = time(NULL);
}

static bool fixed_lookup(fuse_ino_t parent, const char *name, fuse_ino_t *ino)
{
	static const struct { const char *name; fuse_ino_t ino; } root[] = {
		{ DIPC_CONTROL_NAME, INO_CONTROL }, { DIPC_POLICY_NAME, INO_POLICY },
		{ "cluster", INO_CLUSTER }, { "sem", INO_DIR_SEM },
		{ "msg", INO_DIR_MSG }, { "shm", INO_DIR_SHM },
		{ "shmstat", INO_DIR_SHMSTAT },
	};
	if (parent != INO_ROOT)
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(root); i++)
		if (strcmp(name, root[i].name) == 0) {
			*ino = root[i].ino;
			return true;
		}
	return false;
}

/* ---- status requests (lookup, getattr, open of object files) ------------ */

enum status_purpose { FOR_LOOKUP, FOR_GETATTR, FOR_OPEN };

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

static void status_done(dipc_op *op)
{
	status_req *sr = op->origin;
	fuse_ino_t ino = obj_ino(sr->kind, op->id);

	if (op->result < 0) {
		fuse_reply_err(sr->req, op->result == -EINVAL || op->result == -EIDRM
					? ENOENT : -op->result);
	} else if (sr->purpose == FOR_LOOKUP) {
		struct fuse_entry_param e = { 0 };
		e.ino = ino;
		obj_attr(ino, op, &e.attr);
		fuse_reply_entry(sr->req, &e);
	} else if (sr->purpose == FOR_GETATTR) {
		struct stat st;
		obj_attr(ino, op, &st);
		fuse_reply_attr(sr->req, &st, 0);
	} else if (sr->kind == DIPC_KIND_SHM) {
		dipc_node *n = op->node;
		const char *owner = cluster_owner_of(n, op->id);
		if (!shmglue_local(n, op->id, op->size, owner)) {
			fuse_reply_err(sr->req, owner ? ENOMEM : EIO);
		} else {
			/* The shim maps with O_RDWR|O_NONBLOCK (or O_RDONLY):
			 * the page cache, kept exact by invalidation.  Other
			 * writers go straight to the daemon, which takes the
			 * pages for writing first. */
			int acc = sr->fi.flags & O_ACCMODE;
			bool cached = acc == O_RDONLY || (sr->fi.flags & O_NONBLOCK);
			sr->fi.fh = cached ? SHM_FH_CACHED : SHM_FH_DIRECT;
			sr->fi.direct_io = !cached;
			sr->fi.keep_cache = cached;
			fuse_reply_open(sr->req, &sr->fi);
		}
	} else {
		text_fh *fh = g_new0(text_fh, 1);
		fh->text = g_steal_pointer(&op->text);
		fh->len = strlen(fh->text);
		sr->fi.fh = (uint64_t)(uintptr_t)fh;
		sr->fi.direct_io = 1;
		sr->fi.keep_cache = 0;
		if (fuse_reply_open(sr->req, &sr->fi) < 0) {
			g_free(fh->text);
			g_free(fh);
		}
	}
	g_free(sr);
	op_free(op);
}

static void status_start(dipc_node *n, fuse_req_t req, enum status_purpose purpose,
			 int kind, int32_t id, const struct fuse_file_info *fi)
{
	status_req *sr = g_new0(status_req, 1);
	dipc_op *op = op_new(n, OP_STATUS);

	sr->req = req;
	sr->purpose = purpose;
	sr->kind = kind;
	if (fi)
		sr->fi = *fi;
	op->id = id;
	op->origin = sr;
	op->done = status_done;
	req_ident(n, req, &op->who);
	route_op(op);
}

/* lookup in a kind directory: find the id by key (ListObjects), then status. */
typedef struct lookup_req {
	fuse_req_t req;
	int kind;
	int32_t key, id;
} lookup_req;

static void list_lookup_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	lookup_req *lr = ud;
	dipc_node *n = fuse_req_userdata(lr->req);
	int32_t id = -1;

	if (err == 0 && !reply->err && reply->body_case == DIPC__ENVELOPE__BODY_OBJECT_LIST) {
		const Dipc__ObjectList *ol = reply->object_list;
		for (size_t i = 0; i < ol->n_objects; i++) {
			const Dipc__ObjectEntry *e = ol->objects[i];
			if (e->kind != wire_kind(lr->kind))
				continue;
			if (lr->key == IPC_PRIVATE ? (e->key == 0 && e->id == lr->id) : e->key == lr->key) {
				id = e->id;
				if (e->owner && g_strcmp0(e->owner, n->name) != 0)
					g_hash_table_replace(n->id_owner, GINT_TO_POINTER(id),
							     g_strdup(e->owner));
				break;
			}
		}
	}
	if (id < 0)
		fuse_reply_err(lr->req, err < 0 ? EIO : ENOENT);
	else
		status_start(n, lr->req, FOR_LOOKUP, lr->kind, id, NULL);
	g_free(lr);
}

static int list_objects(dipc_node *n, int kind, dipc_conn_reply_cb cb, void *ud)
{
	Dipc__Envelope env = DIPC__ENVELOPE__INIT;
	Dipc__ListObjects lo = DIPC__LIST_OBJECTS__INIT;

	lo.kind = wire_kind(kind);
	env.body_case = DIPC__ENVELOPE__BODY_LIST_OBJECTS;
	env.list_objects = &lo;
	return referee_call(n, &env, cb, ud);
}

static void dipc_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	dipc_node *n = node_of(req);
	fuse_ino_t ino;
	int kind = dir_kind(parent);
	int32_t key, id;

	if (fixed_lookup(parent, name, &ino)) {
		struct fuse_entry_param e = { 0 };
		e.ino = ino;
		fixed_attr(ino, &e.attr);
		e.attr_timeout = e.entry_timeout = 3600; /* these never change */
		fuse_reply_entry(req, &e);
		return;
	}
	if (kind == DIPC_KIND_SHM && g_str_has_prefix(name, DIPC_SHM_IDNAME)) {
		/* The shim's name for a segment, whatever its key. */
		char *end;
		long v = strtol(name + strlen(DIPC_SHM_IDNAME), &end, 10);
		if (*end || v <= 0 || v > INT32_MAX || !dipc_is_id((int)v)) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		status_start(n, req, FOR_LOOKUP, kind, (int32_t)v, NULL);
		return;
	}
	if (!kind || !parse_obj_name(name, &key, &id)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* Owned here: no need to ask anyone. */
	dipc_obj *o = key == IPC_PRIVATE ? obj_find(n, id) : obj_find_key(n, wire_kind(kind), key);
	if (o && o->kind == wire_kind(kind) && o->key == key) {
		status_start(n, req, FOR_LOOKUP, kind, o->id, NULL);
		return;
	}
	lookup_req *lr = g_new0(lookup_req, 1);
	lr->req = req;
	lr->kind = kind;
	lr->key = key;
	lr->id = id;
	if (list_objects(n, kind, list_lookup_cb, lr) < 0) {
		g_free(lr);
		fuse_reply_err(req, ENOENT);
	}
}

static void dipc_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int kind;
	int32_t id;

	if (ino_is_obj(ino, &kind, &id)) {
		status_start(node_of(req), req, FOR_GETATTR, kind, id, NULL);
		return;
	}
	if (ino > INO_DIR_SHMSTAT) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	struct stat st;
	fixed_attr(ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

/* ---- directories -------------------------------------------------------- */

typedef struct dir_fh {
	GArray *ents;   /* of dir_ent */
} dir_fh;

typedef struct dir_ent {
	char *name;
	fuse_ino_t ino;
	mode_t mode;
} dir_ent;

static void dir_add(dir_fh *d, const char *name, fuse_ino_t ino, mode_t mode)
{
	dir_ent e = { g_strdup(name), ino, mode };
	g_array_append_val(d->ents, e);
}

static dir_fh *dir_new(fuse_ino_t self, fuse_ino_t parent)
{
	dir_fh *d = g_new0(dir_fh, 1);
	d->ents = g_array_new(FALSE, FALSE, sizeof(dir_ent));
	dir_add(d, ".", self, S_IFDIR);
	dir_add(d, "..", parent, S_IFDIR);
	return d;
}

static void dir_free(dir_fh *d)
{
	for (guint i = 0; i < d->ents->len; i++)
		g_free(g_array_index(d->ents, dir_ent, i).name);
	g_array_free(d->ents, TRUE);
	g_free(d);
}

typedef struct opendir_req {
	fuse_req_t req;
	fuse_ino_t ino;
	struct fuse_file_info fi;
} opendir_req;

static void list_dir_cb(dipc_conn *c, int err, Dipc__Envelope *reply, void *ud)
{
	opendir_req *o = ud;
	int kind = dir_kind(o->ino);
	dir_fh *d = dir_new(o->ino, INO_ROOT);

	if (err == 0 && !reply->err && reply->body_case == DIPC__ENVELOPE__BODY_OBJECT_LIST) {
		const Dipc__ObjectList *ol = reply->object_list;
		for (size_t i = 0; i < ol->n_objects; i++) {
			const Dipc__ObjectEntry *e = ol->objects[i];
			if (e->kind != wire_kind(kind))
				continue;
			g_autofree char *name = obj_name(e->key, e->id);
			dir_add(d, name, obj_ino(kind, e->id), S_IFREG);
		}
	} else {
		g_message("cannot list %s objects: the referee is unreachable",
			  kind == DIPC_KIND_SEM ? "sem" : kind == DIPC_KIND_MSG ? "msg" : "shm");
	}
	o->fi.fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(o->req, &o->fi) < 0)
		dir_free(d);
	g_free(o);
}

static void dipc_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dipc_node *n = node_of(req);

	if (ino == INO_ROOT) {
		dir_fh *d = dir_new(INO_ROOT, INO_ROOT);
		dir_add(d, DIPC_CONTROL_NAME, INO_CONTROL, S_IFREG);
		dir_add(d, DIPC_POLICY_NAME, INO_POLICY, S_IFREG);
		dir_add(d, "cluster", INO_CLUSTER, S_IFREG);
		dir_add(d, "sem", INO_DIR_SEM, S_IFDIR);
		dir_add(d, "msg", INO_DIR_MSG, S_IFDIR);
		dir_add(d, "shm", INO_DIR_SHM, S_IFDIR);
		dir_add(d, "shmstat", INO_DIR_SHMSTAT, S_IFDIR);
		fi->fh = (uint64_t)(uintptr_t)d;
		fuse_reply_open(req, fi);
		return;
	}
	if (!dir_kind(ino)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	opendir_req *o = g_new0(opendir_req, 1);
	o->req = req;
	o->ino = ino;
	o->fi = *fi;
	if (list_objects(n, dir_kind(ino), list_dir_cb, o) < 0)
		list_dir_cb(NULL, -EHOSTUNREACH, NULL, o);
}

static void dipc_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	dir_fh *d = (dir_fh *)(uintptr_t)fi->fh;
	g_autofree char *buf = g_malloc(size);
	size_t used = 0;

	for (guint i = (guint)off; i < d->ents->len; i++) {
		dir_ent *e = &g_array_index(d->ents, dir_ent, i);
		struct stat st = { .st_ino = e->ino, .st_mode = e->mode };
		size_t len = fuse_add_direntry(req, buf + used, size - used, e->name, &st, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
}

static void dipc_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dir_free((dir_fh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- the control file's handles ----------------------------------------
 *
 * Every open of .control has its own handle.  The shim's shared handle only
 * carries ioctls; a private handle also stages a large message text: write()
 * appends the text of the next DIPC_IOC_MSGSND_STAGED, and after a
 * DIPC_IOC_MSGRCV_STAGED read() returns the received text.  A handle
 * released with a received text unread gives the message back.
 */

#define CTL_MAGIC 0x6374666cu

typedef struct ctl_fh {
	uint32_t magic;
	GByteArray *in;       /* staged text to send */
	dipc_msg *out;        /* received, not yet read (whole) */
	int32_t out_id;       /* its queue */
	size_t out_len;       /* what the receiver gets (MSG_NOERROR) */
	size_t out_off;
	bool busy;            /* a staged op is in flight */
} ctl_fh;

static void ctl_read(fuse_req_t req, ctl_fh *c, size_t size)
{
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

static void ctl_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		      off_t off, struct fuse_file_info *fi)
{
	dipc_node *n = node_of(req);
	ctl_fh *c = (ctl_fh *)(uintptr_t)fi->fh;
	int kind;
	int32_t id;

	if (ino_is_obj(ino, &kind, &id) && kind == DIPC_KIND_SHM) {
		shmglue_write(n, req, id, buf, size, off, fi->writepage,
			      fi->fh == SHM_FH_DIRECT);
		return;
	}
	if (ino != INO_CONTROL || !c) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (!c->in)
		c->in = g_byte_array_new();
	if (c->in->len + size > n->msg_lim.msgmax) {
		fuse_reply_err(req, EINVAL);   /* as msgsnd with msgsz > msgmax */
		return;
	}
	g_byte_array_append(c->in, (const guint8 *)buf, (guint)size);
	fuse_reply_write(req, size);
}

static void ctl_release(dipc_node *n, ctl_fh *c)
{
	if (!c)
		return;
	if (c->in)
		g_byte_array_free(c->in, TRUE);
	if (c->out)
		msg_give_back(n, c->out_id, c->out);
	g_free(c);
}

/* ---- files -------------------------------------------------------------- */

static void open_text(fuse_req_t req, struct fuse_file_info *fi, char *text)
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

static void dipc_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dipc_node *n = node_of(req);
	int kind;
	int32_t id;

	if (ino == INO_CONTROL) {
		ctl_fh *c = g_new0(ctl_fh, 1);
		c->magic = CTL_MAGIC;
		fi->fh = (uint64_t)(uintptr_t)c;
		fi->direct_io = 1;
		fi->nonseekable = 1;
		if (fuse_reply_open(req, fi) < 0)
			g_free(c);
		return;
	}
	if (ino_is_obj(ino, &kind, &id) && kind == DIPC_KIND_SHM) {
		if (fi->flags & O_TRUNC) {
			fuse_reply_err(req, EPERM);   /* a segment's size is fixed */
			return;
		}
		status_start(n, req, FOR_OPEN, kind, id, fi);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (ino == INO_POLICY) {
		open_text(req, fi, g_strdup_printf("%s\n", n->conf->policy_keys));
		return;
	}
	if (ino == INO_CLUSTER) {
		open_text(req, fi, cluster_describe(n));
		return;
	}
	if (ino_is_obj(ino, &kind, &id)) {
		status_start(n, req, FOR_OPEN, kind, id, fi);
		return;
	}
	fuse_reply_err(req, EISDIR);
}

static void dipc_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	text_fh *fh = (text_fh *)(uintptr_t)fi->fh;
	int kind;
	int32_t id;

	if (ino == INO_CONTROL) {
		ctl_read(req, (ctl_fh *)(uintptr_t)fi->fh, size);
		return;
	}
	if (ino_is_obj(ino, &kind, &id) && kind == DIPC_KIND_SHM) {
		shmglue_read(node_of(req), req, id, size, off, fi->fh == SHM_FH_DIRECT);
		return;
	}

	if (!fh || off < 0 || (size_t)off >= fh->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	fuse_reply_buf(req, fh->text + off, MIN(size, fh->len - (size_t)off));
}

static void dipc_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	text_fh *fh = (text_fh *)(uintptr_t)fi->fh;

	if (ino == INO_CONTROL) {
		ctl_release(node_of(req), (ctl_fh *)(uintptr_t)fi->fh);
		fuse_reply_err(req, 0);
		return;
	}
	int kind;
	int32_t id;
	if (ino_is_obj(ino, &kind, &id) && kind == DIPC_KIND_SHM) {
		fuse_reply_err(req, 0);   /* the handle is a flag, not memory */
		return;
	}
	if (fh) {
		g_free(fh->text);
		g_free(fh);
	}
	fuse_reply_err(req, 0);
}

/* ---- ioctl: the shim's entry -------------------------------------------- */

static void intr_hook(fuse_req_t req, void *data)
{
	dipc_op *op = data;

	if (op->interrupted)
		return;
	op->interrupted = true;
	op->intr_link = g_list_alloc();
	op->intr_link->data = op;
	g_queue_push_tail_link(&op->node->interrupted, op->intr_link);
}

void fuse_drain_interrupts(dipc_node *n)
{
	GList *l;

	shmglue_drain_interrupts(n);
	while ((l = g_queue_pop_head_link(&n->interrupted))) {
		dipc_op *op = l->data;
		g_list_free_1(l);
		op->intr_link = NULL;
		if (op->parked)
			op_unpark(op, -EINTR);
		else if (op->peer)
			peer_cancel(op);
		/* else it is on its way (referee, connect): route_op and
		 * peer_flush look at op->interrupted before sending it. */
	}
}

static bool sops_have_undo(const dipc_op *op)
{
	for (unsigned i = 0; i < op->nsops; i++)
		if (op->sops[i].sem_flg & SEM_UNDO)
			return true;
	return false;
}

/*
 * Hand a received message to its caller, or give it back.  The caller must
 * still be waiting: a request that was interrupted (the hook ran: a signal,
 * or SIGKILL, is pending for it) would lose the message on its way out of
 * the kernel, so it is answered EINTR and the message goes back to the head
 * of its queue; so does a message whose reply the kernel refused.
 *
 * The kernel may have queued that interrupt already while the message was
 * travelling, unread in /dev/fuse: so a received message is not delivered
 * where it arrives but put on a list that is drained at one point of the
 * loop (the idle callback below), right after every pending FUSE request --
 * interrupts first, the kernel hands them out before anything else -- has
 * been processed.  What remains is a signal that comes within the few
 * microseconds between that drain and the reply.
 */
static void msgrcv_deliver_now(dipc_op *op);
static void deliveries_cb(uv_idle_t *h);

static void msgrcv_deliver(dipc_op *op)
{
	dipc_node *n = op->node;

	g_queue_push_tail(&n->deliveries, op);
	if (!uv_is_active((uv_handle_t *)&n->deliver_idle))
		uv_idle_start(&n->deliver_idle, deliveries_cb);
}

static void msgrcv_deliver_now(dipc_op *op)
{
	dipc_node *n = op->node;
	fuse_req_t req = op->freq;
	dipc_msg *m = g_steal_pointer(&op->msg);
	size_t len = MIN((size_t)op->result, m->size);

	if (op->interrupted) {
		if (op->ctl)
			op->ctl->busy = false;
		msg_give_back(n, op->id, m);
		fuse_reply_err(req, EINTR);
		return;
	}
	if (op->direct) {
		/* Straight into msgp: mtype, then the delivered text. */
		g_autofree char *out = g_malloc(sizeof(int64_t) + len);
		int64_t mtype = m->mtype;
		memcpy(out, &mtype, sizeof(mtype));
		memcpy(out + sizeof(mtype), m->data, len);
		if (fuse_reply_ioctl(req, (int)len, out, sizeof(mtype) + len) < 0)
			msg_give_back(n, op->id, m);
		else
			dipc_msg_free(m);
		return;
	}
	if (op->ctl) {
		/* Staged: the text waits in the handle for read(). */
		struct dipc_ioc_msgrcv_staged *r = op->io_buf;
		op->ctl->busy = false;
		r->mtype = m->mtype;
		if (len == 0) {
			/* nothing to read(): delivered with the reply */
			if (fuse_reply_ioctl(req, 0, r, sizeof(*r)) < 0)
				msg_give_back(n, op->id, m);
			else
				dipc_msg_free(m);
			return;
		}
		op->ctl->out = m;
		op->ctl->out_id = op->id;
		op->ctl->out_len = len;
		op->ctl->out_off = 0;
		if (fuse_reply_ioctl(req, (int)len, r, sizeof(*r)) < 0) {
			op->ctl->out = NULL;
			msg_give_back(n, op->id, m);
		}
		return;
	}
	struct dipc_ioc_msgrcv_l *r = op->io_buf;   /* S/M/L share the prefix */
	size_t cap = op->out_size - G_STRUCT_OFFSET(struct dipc_ioc_msgrcv_l, mtext);
	if (len > cap) {
		/* the shim picked a struct too small for msgsz: its bug */
		msg_give_back(n, op->id, m);
		fuse_reply_err(req, EPROTO);
		return;
	}
	r->mtype = m->mtype;
	memcpy(r->mtext, m->data, len);
	if (fuse_reply_ioctl(req, (int)len, r, op->out_size) < 0)
		msg_give_back(n, op->id, m);
	else
		dipc_msg_free(m);
}

static void ioctl_done(dipc_op *op)
{
	dipc_node *n = op->node;
	fuse_req_t req = op->freq;

	if (op->type == OP_SEMOP && op->result == 0 && sops_have_undo(op)) {
		const char *owner = cluster_owner_of(n, op->id);
		if (owner)
			procwatch_note_undo(n, op->who.pid, owner);
	}

	if (op->type == OP_MSGRCV && op->result >= 0) {
		msgrcv_deliver(op);   /* it frees the op */
		return;
	}
	if (op->ctl)
		op->ctl->busy = false;

	if (op->result < 0) {
		fuse_reply_err(req, -op->result);
	} else if (op->type == OP_MSGCTL && op->out_size == sizeof(struct dipc_ioc_msgctl)) {
		struct dipc_ioc_msgctl *c = op->io_buf;
		c->ds = op->mds;
		fuse_reply_ioctl(req, op->result, c, sizeof(*c));
	} else if (op->type == OP_SEMCTL && op->out_size == sizeof(struct dipc_ioc_semctl)) {
		struct dipc_ioc_semctl *c = op->io_buf;
		c->ds = op->ds;
		c->info = op->info;
		fuse_reply_ioctl(req, op->result, c, sizeof(*c));
	} else if (op->type == OP_SEMARRAY && op->out_size == sizeof(struct dipc_ioc_semarray)) {
		struct dipc_ioc_semarray *a = op->io_buf;
		if (op->cmd == GETALL) {
			a->nsems = op->nvals;
			memcpy(a->vals, op->vals, sizeof(uint16_t) * MIN(op->nvals, DIPC_SEMMSL_MAX));
		}
		fuse_reply_ioctl(req, op->result, a, sizeof(*a));
	} else {
		fuse_reply_ioctl(req, op->result, NULL, 0);
	}
	op_free(op);
}

/* IPC_INFO / SEM_INFO: the cluster's limits, answered by any node. */
static void fill_seminfo(dipc_node *n, struct dipc_seminfo *si, int cmd)
{
	memset(si, 0, sizeof(*si));
	si->semmni = n->conf->semmni;
	si->semmsl = n->sem_lim.semmsl;
	si->semmns = n->conf->semmns;
	si->semopm = n->sem_lim.semopm;
	si->semvmx = n->sem_lim.semvmx;
	si->semmap = n->conf->semmns;
	si->semmnu = n->conf->semmns;
	si->semume = n->sem_lim.semopm;
	si->semusz = cmd == SEM_INFO ? (int32_t)g_hash_table_size(n->owned) : 16;
	si->semaem = cmd == SEM_INFO ? (int32_t)n->sems_used : (int32_t)n->sem_lim.semaem;
}

/* IPC_INFO / MSG_INFO: the cluster's limits. */
static void fill_msginfo(dipc_node *n, struct dipc_msginfo *mi, int cmd)
{
	guint owned = 0;
	GHashTableIter it;
	gpointer v;
	uint64_t qnum = 0, cbytes = 0;

	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		if (o->msg) {
			owned++;
			qnum += dipc_msgq_qnum(o->msg);
			cbytes += dipc_msgq_cbytes(o->msg);
		}
	}
	memset(mi, 0, sizeof(*mi));
	mi->msgmax = (int32_t)n->msg_lim.msgmax;
	mi->msgmnb = (int32_t)n->msg_lim.msgmnb;
	mi->msgmni = (int32_t)n->conf->msgmni;
	mi->msgssz = 16;
	mi->msgseg = 0xffff;
	if (cmd == MSG_INFO) {
		/* as the kernel: in-use queues, queued messages and bytes */
		mi->msgpool = (int32_t)owned;
		mi->msgmap = (int32_t)MIN(qnum, (uint64_t)INT32_MAX);
		mi->msgtql = (int32_t)MIN(cbytes, (uint64_t)INT32_MAX);
	} else {
		mi->msgpool = (int32_t)MIN((uint64_t)n->conf->msgmni * n->msg_lim.msgmnb / 1024,
					   (uint64_t)INT32_MAX);
		mi->msgmap = (int32_t)n->msg_lim.msgmnb;
		mi->msgtql = (int32_t)n->msg_lim.msgmnb;
	}
}

/* IPC_INFO / SHM_INFO: the cluster's limits; SHM_INFO counts this node's
 * own segments (the kernel counts its namespace). */
static void fill_shminfo(dipc_node *n, struct dipc_shminfo *si, int cmd)
{
	GHashTableIter it;
	gpointer v;

	memset(si, 0, sizeof(*si));
	si->shmmax = n->conf->shmmax;
	si->shmmin = 1;
	si->shmmni = n->conf->shmmni;
	si->shmseg = n->conf->shmmni;
	si->shmall = n->conf->shmall;
	if (cmd != SHM_INFO)
		return;
	g_hash_table_iter_init(&it, n->owned);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		dipc_obj *o = v;
		if (o->shm) {
			si->used_ids++;
			si->shm_tot += dipc_shmseg_npages(o->shm);
		}
	}
}

static void shm_ioctl_done(dipc_op *op)
{
	dipc_node *n = op->node;
	fuse_req_t req = op->freq;
	struct dipc_ioc_shmat *at = op->io_buf;

	if (op->result < 0) {
		fuse_reply_err(req, -op->result);
	} else if (op->cmd == DIPC_SHM_CMD_ATTACH) {
		bool flushing = false;
		shmglue_attached(n, op->who.pid, op->id, op->sds.segsz,
				 cluster_owner_of(n, op->id), &at->rev, &flushing);
		at->flushing = flushing;
		at->ds = op->sds;
		fuse_reply_ioctl(req, 0, at, sizeof(*at));
	} else if (op->cmd == DIPC_SHM_CMD_DETACH) {
		if (op->destroyed)
			shmglue_segment_gone(n, op->id);
		fuse_reply_ioctl(req, 0, NULL, 0);
	} else {
		struct dipc_ioc_shmctl *c = op->io_buf;
		c->ds = op->sds;
		fuse_reply_ioctl(req, op->result, c, MIN(op->out_size, sizeof(*c)));
	}
	op_free(op);
}

static void dipc_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		       struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		       size_t in_bufsz, size_t out_bufsz)
{
	dipc_node *n = node_of(req);
	const struct dipc_ioc_hdr *hdr = in_buf;
	dipc_op *op;

	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);   /* 32-bit callers: layouts differ */
		return;
	}
	if (_IOC_TYPE(cmd) != DIPC_IOC_MAGIC) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (in_bufsz != _IOC_SIZE(cmd) || in_bufsz < sizeof(*hdr)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (hdr->version != DIPC_ABI_VERSION) {
		fuse_reply_err(req, EPROTO);
		return;
	}

	if (_IOC_NR(cmd) == DIPC_IOC_MSGRCV_DIRECT_NR &&
	    _IOC_DIR(cmd) == (_IOC_READ | _IOC_WRITE)) {
		const struct dipc_ioc_msgrcv_direct *r = in_buf;
		if (in_bufsz < sizeof(*r) || out_bufsz != in_bufsz ||
		    r->msgsz != in_bufsz - sizeof(int64_t)) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		op = op_new(n, OP_MSGRCV);
		op->id = r->id;
		op->msgflg = r->msgflg;
		op->msgtyp = r->msgtyp;
		op->maxsize = r->msgsz;
		op->direct = true;
		goto dispatch;
	}

	switch (cmd) {
	case DIPC_IOC_SHMFAULT:
		shmglue_fault(n, req, in_buf);
		return;
	case DIPC_IOC_SHMWAIT: {
		dipc_ident who;
		if (req_ident(n, req, &who) < 0) {
			fuse_reply_err(req, ESRCH);
			return;
		}
		shmglue_wait(n, req, who.pid, in_buf);
		return;
	}
	case DIPC_IOC_SHMCTL: {
		const struct dipc_ioc_shmctl *c = in_buf;
		if (c->cmd == IPC_INFO || c->cmd == SHM_INFO) {
			struct dipc_ioc_shmctl out = *c;
			fill_shminfo(n, &out.info, c->cmd);
			fuse_reply_ioctl(req, 0, &out, MIN(out_bufsz, sizeof(out)));
			return;
		}
		op = op_new(n, OP_SHMCTL);
		op->id = c->id;
		op->cmd = c->cmd;
		op->set_uid = c->ds.perm.uid;
		op->set_gid = c->ds.perm.gid;
		op->set_mode = c->ds.perm.mode;
		op->io_buf = g_memdup2(c, sizeof(*c));
		op->out_size = out_bufsz;
		break;
	}
	case DIPC_IOC_SHMAT:
	case DIPC_IOC_SHMDT: {
		const struct dipc_ioc_shmat *a = in_buf;
		op = op_new(n, OP_SHMCTL);
		op->id = a->id;
		op->flags = a->shmflg;
		op->fork = a->fork != 0;
		op->io_buf = g_memdup2(a, sizeof(*a));
		op->out_size = out_bufsz;
		op->cmd = cmd == DIPC_IOC_SHMAT ? DIPC_SHM_CMD_ATTACH : DIPC_SHM_CMD_DETACH;
		op->val = 1;   /* a shmdt ends one attach */
		break;
	}
	case DIPC_IOC_GET: {
		const struct dipc_ioc_get *g = in_buf;
		op = op_new(n, OP_GET);
		op->kind = g->kind;
		op->key = g->key;
		op->flags = g->flags;
		op->size = g->size;
		break;
	}
	case DIPC_IOC_SEMOP:
	case DIPC_IOC_SEMOP_LARGE: {
		const struct dipc_ioc_semop_large *s = in_buf;
		unsigned cap = cmd == DIPC_IOC_SEMOP ? DIPC_SEMOP_SMALL : DIPC_SEMOPM_MAX;
		if (s->nsops > cap) {
			fuse_reply_err(req, E2BIG);
			return;
		}
		op = op_new(n, OP_SEMOP);
		op->id = s->id;
		op->nsops = s->nsops;
		op->timeout_ns = s->timeout_ns;
		op->sops = g_memdup2(s->sops, sizeof(struct dipc_sembuf) * MAX(s->nsops, 1));
		break;
	}
	case DIPC_IOC_SEMCTL: {
		const struct dipc_ioc_semctl *c = in_buf;
		if (c->cmd == IPC_INFO || c->cmd == SEM_INFO) {
			struct dipc_ioc_semctl out = *c;
			fill_seminfo(n, &out.info, c->cmd);
			fuse_reply_ioctl(req, 0, &out, MIN(out_bufsz, sizeof(out)));
			return;
		}
		op = op_new(n, OP_SEMCTL);
		op->id = c->id;
		op->semnum = c->semnum;
		op->cmd = c->cmd;
		op->val = c->val;
		op->set_uid = c->ds.perm.uid;
		op->set_gid = c->ds.perm.gid;
		op->set_mode = c->ds.perm.mode;
		op->io_buf = g_memdup2(c, sizeof(*c));
		op->out_size = out_bufsz;
		break;
	}
	case DIPC_IOC_SEMARRAY: {
		const struct dipc_ioc_semarray *a = in_buf;
		if (a->cmd != GETALL && a->cmd != SETALL) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		if (a->cmd == SETALL && a->nsems > DIPC_SEMMSL_MAX) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		op = op_new(n, OP_SEMARRAY);
		op->id = a->id;
		op->cmd = a->cmd;
		op->nvals = a->cmd == SETALL ? a->nsems : DIPC_SEMMSL_MAX;
		op->vals = g_new0(uint16_t, MAX(op->nvals, 1));
		if (a->cmd == SETALL)
			memcpy(op->vals, a->vals, sizeof(uint16_t) * op->nvals);
		op->io_buf = g_memdup2(a, sizeof(*a));
		op->out_size = out_bufsz;
		break;
	}
	case DIPC_IOC_MSGSND_S:
	case DIPC_IOC_MSGSND_M:
	case DIPC_IOC_MSGSND_L:
	case DIPC_IOC_MSGSND_STAGED: {
		const struct dipc_ioc_msgsnd_l *s = in_buf;
		size_t cap = in_bufsz - G_STRUCT_OFFSET(struct dipc_ioc_msgsnd_l, mtext);
		const void *text = s->mtext;
		ctl_fh *c = NULL;

		if (cmd == DIPC_IOC_MSGSND_STAGED) {
			c = ino == INO_CONTROL ? (ctl_fh *)(uintptr_t)fi->fh : NULL;
			if (!c || c->busy || !c->in || c->in->len != s->msgsz) {
				fuse_reply_err(req, EINVAL);
				return;
			}
			text = c->in->data;
		} else if (s->msgsz > cap) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		if (s->mtype < 1 || s->msgsz > n->msg_lim.msgmax) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		op = op_new(n, OP_MSGSND);
		op->id = s->id;
		op->msgflg = s->msgflg;
		op->msg = dipc_msg_new(s->mtype, text, s->msgsz);
		if (c) {
			g_byte_array_set_size(c->in, 0);
		}
		break;
	}
	case DIPC_IOC_MSGRCV_S:
	case DIPC_IOC_MSGRCV_M:
	case DIPC_IOC_MSGRCV_L:
	case DIPC_IOC_MSGRCV_STAGED: {
		const struct dipc_ioc_msgrcv_l *r = in_buf;
		size_t cap = in_bufsz - G_STRUCT_OFFSET(struct dipc_ioc_msgrcv_l, mtext);
		ctl_fh *c = NULL;

		if (cmd == DIPC_IOC_MSGRCV_STAGED) {
			c = ino == INO_CONTROL ? (ctl_fh *)(uintptr_t)fi->fh : NULL;
			if (!c || c->busy || c->out) {
				fuse_reply_err(req, EBUSY);
				return;
			}
		} else if (r->msgsz > cap) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		if (out_bufsz != in_bufsz) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		op = op_new(n, OP_MSGRCV);
		op->id = r->id;
		op->msgflg = r->msgflg;
		op->msgtyp = r->msgtyp;
		op->maxsize = r->msgsz;
		op->io_buf = g_memdup2(r, in_bufsz);
		op->out_size = out_bufsz;
		op->ctl = c;
		if (c)
			c->busy = true;
		break;
	}
	case DIPC_IOC_MSGCTL: {
		const struct dipc_ioc_msgctl *c = in_buf;
		if (c->cmd == IPC_INFO || c->cmd == MSG_INFO) {
			struct dipc_ioc_msgctl out = *c;
			fill_msginfo(n, &out.info, c->cmd);
			fuse_reply_ioctl(req, 0, &out, MIN(out_bufsz, sizeof(out)));
			return;
		}
		op = op_new(n, OP_MSGCTL);
		op->id = c->id;
		op->cmd = c->cmd;
		op->set_uid = c->ds.perm.uid;
		op->set_gid = c->ds.perm.gid;
		op->set_mode = c->ds.perm.mode;
		op->set_qbytes = c->ds.qbytes;
		op->io_buf = g_memdup2(c, sizeof(*c));
		op->out_size = out_bufsz;
		break;
	}
	default:
		fuse_reply_err(req, ENOTTY);
		return;
	}

dispatch:
	if (req_ident(n, req, &op->who) < 0) {
		op_free(op);
		fuse_reply_err(req, ESRCH);
		return;
	}
	if (op->type == OP_SHMCTL && op->cmd == DIPC_SHM_CMD_DETACH &&
	    !shmglue_detach_local(n, op->who.pid, op->id)) {
		op_free(op);
		fuse_reply_err(req, EINVAL);
		return;
	}
	op->freq = req;
	op->done = op->type == OP_SHMCTL ? shm_ioctl_done : ioctl_done;
	/* Register first: the hook may run right here if a signal already came.
	 * (shm control operations answer at once at the owner: no hook.) */
	if (op->type != OP_SHMCTL)
		fuse_req_interrupt_func(req, intr_hook, op);
	if (op->type == OP_GET)
		op_get(op);
	else
		route_op(op);
}

static void dipc_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* A page fault of a shm mapping must read exactly its page. */
	conn->max_readahead = 0;
	/* Write-backs (msync of a segment run by the helpers) in 1 MiB requests */
	conn->max_write = 1u << 20;
	mount_time = time(NULL);
}

const struct fuse_lowlevel_ops dipc_fuse_ops = {
	.init = dipc_init,
	.lookup = dipc_lookup,
	.getattr = dipc_getattr,
	.opendir = dipc_opendir,
	.readdir = dipc_readdir,
	.releasedir = dipc_releasedir,
	.open = dipc_open,
	.read = dipc_read,
	.release = dipc_release,
	.write = ctl_write,
	.ioctl = dipc_ioctl,
};

/* ---- the session in the loop -------------------------------------------- */

/* Process what the kernel has queued; false when the session ended. */
static bool fuse_drain(dipc_node *n)
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
		fuse_drain_interrupts(n);
		node_activity(n);
	}
	return true;
}

static void fuse_readable_cb(uv_poll_t *h, int status, int events)
{
	fuse_drain(h->data);
}

static void deliveries_cb(uv_idle_t *h)
{
	dipc_node *n = h->data;
	dipc_op *op;

	uv_idle_stop(h);
	if (!n->stopping)
		fuse_drain(n);   /* if the session ended, the replies fail: given back */
	while ((op = g_queue_pop_head(&n->deliveries))) {
		msgrcv_deliver_now(op);
		op_free(op);
	}
}

int fuse_attach_loop(dipc_node *n)
{
	int fd = fuse_session_fd(n->se);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	n->idcache = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	g_queue_init(&n->interrupted);
	g_queue_init(&n->deliveries);
	uv_idle_init(n->loop, &n->deliver_idle);
	n->deliver_idle.data = n;
	uv_poll_init(n->loop, &n->fuse_poll, fd);
	n->fuse_poll.data = n;
	return uv_poll_start(&n->fuse_poll, UV_READABLE, fuse_readable_cb);
}
