/* SPDX-License-Identifier: MIT */
/**
 * @file fuse_ns.c
 *
 * The tree under the mount, and which room serves each of its files:
 *
 *   /            .control .policy cluster sem/ msg/ shm/ shmstat/
 *   sem/0xKKKKKKKK   a keyed set; sem/private.ID an IPC_PRIVATE one
 *   shm/.id.ID       any segment by id (the name the shim maps)
 *
 * Object files carry the object's mode, uid and gid (so `ls -l` shows them,
 * and with default_permissions the kernel applies the read bits to `cat`,
 * as IPC_STAT would); fuse_status.c asks the owner for them.  Entry and
 * attribute time-outs are zero and negative lookups are plain ENOENT
 * replies, so `ls` and `cat` always see the cluster as it is now.  A kind's
 * directory lists what the referee knows of that kind; a lookup of one name
 * asks the referee for that one name only, so `ls -l` of N objects is one
 * list and N answers of at most one entry, not N + 1 lists.
 *
 * open/read/write/release go to the room that owns the inode: .control
 * handles (fuse_control.c), a segment's bytes (shmglue.c), or text
 * (fuse_status.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ipc.h>
#include <time.h>

#include "fuse_priv.h"
#include "opwire.h"

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

fuse_ino_t ns_obj_ino(int kind, int32_t id)
{
	return obj_ino(kind, id);
}

/* ---- attributes --------------------------------------------------------- */

/* Times: the fixed entries were born with the mount; an object's file
 * shows the moment it was looked at (its own times are in its text). */
static time_t mount_time;

void ns_init(void)
{
	mount_time = time(NULL);
}

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

void ns_obj_attr(fuse_ino_t ino, const dipc_op *op, struct stat *st)
{
	int kind;
	int32_t id;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	st->st_mode = S_IFREG | (op->st.mode & 0777);
	st->st_uid = op->st.uid;
	st->st_gid = op->st.gid;
	st->st_size = 0;
	if (ino_is_obj(ino, &kind, &id) && kind == DIPC_KIND_SHM)
		st->st_size = (off_t)op->st.size;   /* the segment's bytes */
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

/* ---- lookup ------------------------------------------------------------- */

/* lookup in a kind directory: find the id by key (a ListObjects of that one
 * name: 0 or 1 entries), then status.  The entry is still checked here, so
 * a referee that answers with its whole list is understood too. */
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

/* Ask the referee for the objects of kind: all of them (key and id 0, for
 * readdir), or the one of that key (or, key 0, of that id: a private one). */
static int list_objects(dipc_node *n, int kind, int32_t key, int32_t id,
			dipc_conn_reply_cb cb, void *ud)
{
	g_autoptr(opwire_msg) m =
		opwire_list_objects(wire_kind(kind), key, key == IPC_PRIVATE ? id : 0);

	return referee_call(n, opwire_env(m), cb, ud);
}

void ns_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
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
	if (list_objects(n, kind, key, id, list_lookup_cb, lr) < 0) {
		g_free(lr);
		fuse_reply_err(req, ENOENT);
	}
}

void ns_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
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

void ns_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
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
	if (list_objects(n, dir_kind(ino), 0, 0, list_dir_cb, o) < 0)
		list_dir_cb(NULL, -EHOSTUNREACH, NULL, o);
}

void ns_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
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

void ns_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dir_free((dir_fh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- files: to the room that owns the inode ----------------------------- */

static bool is_shm(fuse_ino_t ino, int32_t *id)
{
	int kind;

	return ino_is_obj(ino, &kind, id) && kind == DIPC_KIND_SHM;
}

void ns_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dipc_node *n = node_of(req);
	int kind;
	int32_t id;

	if (ino == INO_CONTROL) {
		ctl_open(req, fi);
		return;
	}
	if (is_shm(ino, &id)) {
		if (fi->flags & O_TRUNC) {
			fuse_reply_err(req, EPERM);   /* a segment's size is fixed */
			return;
		}
		status_start(n, req, FOR_OPEN, DIPC_KIND_SHM, id, fi);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (ino == INO_POLICY) {
		status_open_text(req, fi, g_strdup_printf("%s\n", n->conf->policy_keys));
		return;
	}
	if (ino == INO_CLUSTER) {
		status_open_text(req, fi, cluster_describe(n));
		return;
	}
	if (ino_is_obj(ino, &kind, &id)) {
		status_start(n, req, FOR_OPEN, kind, id, fi);
		return;
	}
	fuse_reply_err(req, EISDIR);
}

void ns_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	int32_t id;

	if (ino == INO_CONTROL)
		ctl_read(req, ctl_of(ino, fi), size);
	else if (is_shm(ino, &id))
		shmglue_read(node_of(req), req, id, size, off, fi->fh == SHM_FH_DIRECT);
	else
		status_read(req, fi->fh, size, off);
}

void ns_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	dipc_node *n = node_of(req);
	ctl_fh *c = ctl_of(ino, fi);
	int32_t id;
	int r;

	if (is_shm(ino, &id)) {
		shmglue_write(n, req, id, buf, size, off, fi->writepage,
			      fi->fh == SHM_FH_DIRECT);
		return;
	}
	if (!c) {
		fuse_reply_err(req, EBADF);
		return;
	}
	r = ctl_append(c, buf, size, n->msg_lim.msgmax);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
}

void ns_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int32_t id;

	if (ino == INO_CONTROL)
		ctl_free(node_of(req), ctl_of(ino, fi));
	else if (!is_shm(ino, &id))   /* a segment's handle is a flag, not memory */
		status_release(fi->fh);
	fuse_reply_err(req, 0);
}
