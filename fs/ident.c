/* SPDX-License-Identifier: MIT */
/**
 * @file ident.c
 *
 * Who the caller of a FUSE request is, read fresh for every request; never
 * the shim's word.  User names (for the status texts) are cached per uid.
 *
 * Fresh, because the kernel checks the credentials a process has at the
 * call: after seteuid(65534) or setresuid, a root process is refused root's
 * 0600 objects at once, and a process that dropped CAP_IPC_OWNER with
 * capset, or changed its groups with setgroups, is judged without them
 * from its next call.  FUSE's request context carries only the fsuid, the
 * fsgid and the thread id, and nothing cheaper than /proc/TID/status tells
 * the effective capabilities and the supplementary groups, so every request
 * reads that file: Tgid, Uid and Gid (their fs ids), Groups and CapEff are
 * taken from that one read, one consistent snapshot.
 *
 * What is cached is only the open file, per thread id: a pread() at offset
 * 0 makes the kernel render the status again, and costs about half of an
 * open, read and close (the path walk of /proc is the dearer part).  An
 * open /proc/TID file holds that thread's struct pid: once the thread is
 * gone its reads fail with ESRCH, and a new thread that is given the same
 * number is never read through it, so a cached descriptor can only ever
 * describe the thread that made the request, or fail.  A failed read drops
 * the descriptor and opens the path again (the request's thread is alive,
 * so the path names it now).  At most IDFD_MAX descriptors are kept; when
 * they are all taken the cache is emptied, so a node with more client
 * threads than that only pays the open again.
 *
 * One shortcut, for the hot path: an ioctl on .control by a thread that
 * holds no capability at all (CapPrm and CapEff empty) reuses the identity
 * read at that thread's previous ioctl through the same open of .control,
 * if FUSE's fsuid and fsgid are still the ones read then and the thread is
 * still alive (a pidfd of the thread, PIDFD_THREAD, polled with no wait;
 * a thread number given to a new thread is never mistaken for the old).
 * Why that is exact: without a capability a thread cannot change its
 * groups (setgroups needs CAP_SETGID) nor gain a capability (capset only
 * lowers); every change of its uids or gids it can make changes its fs ids,
 * which FUSE reports with each request; and the one way left to gain rights,
 * an execve of a set-id or file-capability program, gives the new program
 * a new open of .control (the shim opens it O_CLOEXEC), whose serial
 * differs.  Root, and any thread with a capability, is read fresh every
 * time, so a privilege drop is seen at the very next call.
 *
 * Capabilities count only in the daemon's user namespace.  A thread in a
 * user namespace of its own (any user may make one: unshare -U) shows a
 * full CapEff, but those are capabilities over its namespace, not over the
 * objects here, as the kernel's ns_capable() against the IPC namespace's
 * owner judges; so a caller with any capability whose /proc/TID/ns/user
 * is not the daemon's is given none.  Only callers showing capabilities
 * pay for that stat().
 *
 * Failures: a thread that cannot be read (gone, or the status cannot be
 * parsed) fails the request (-ESRCH, -EACCES).  The identity is never
 * defaulted.  A caller with more than DIPC_MAX_GROUPS supplementary groups
 * is refused (-EACCES): the identity that travels to an object's owner
 * carries that many, and dropping the rest could grant rights the kernel
 * would not (a group match selects the group's bits, which may give less
 * than the others' bits).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuse_priv.h"

#define IDFD_MAX 256        /* cached /proc/TID/status descriptors */
#define NAMES_MAX 4096      /* cached user names */
#define STATUS_MAX 8192     /* far more than a status with 64 groups */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* What is kept per thread id. */
typedef struct id_entry {
	int fd;                 /* /proc/TID/status */
	int pidfd;              /* the thread, once its identity is reusable; else -1 */
	uint64_t ctl;           /* the .control open it was read for (0: none) */
	uint32_t fuid, fgid;    /* FUSE's fs ids then */
	dipc_ident who;         /* valid when pidfd >= 0 */
} id_entry;

static void entry_free(gpointer v)
{
	id_entry *e = v;
	close(e->fd);
	if (e->pidfd >= 0)
		close(e->pidfd);
	g_free(e);
}

void ident_init(dipc_node *n)
{
	n->idcache = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, entry_free);
}

/* Has the thread behind pidfd exited?  (A readable thread pidfd.) */
static bool thread_gone(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	return poll(&p, 1, 0) != 0;
}

/* One field of a status line, after "Name:": the n-th number (0-based). */
static bool field_num(const char *p, unsigned nth, int base, uint64_t *ret)
{
	char *end;

	for (unsigned i = 0;; i++) {
		uint64_t v = g_ascii_strtoull(p, &end, base);
		if (end == p)
			return false;
		if (i == nth) {
			*ret = v;
			return true;
		}
		p = end;
	}
}

/* Parse a status text into who (pid, uid, gid, groups, caps): 0, or
 * -EACCES if a field is missing or there are too many groups. */
static int parse_status(char *text, dipc_ident *who, uint64_t *ret_capprm)
{
	enum { TGID = 1, UID = 2, GID = 4, GROUPS = 8, CAPS = 16, PRM = 32, ALL = 63 };
	unsigned seen = 0;
	uint64_t v;

	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (strncmp(line, "Tgid:", 5) == 0 && field_num(line + 5, 0, 10, &v)) {
			who->pid = (int32_t)v;
			seen |= TGID;
		} else if (strncmp(line, "Uid:", 4) == 0 && field_num(line + 4, 3, 10, &v)) {
			who->uid = (uint32_t)v;   /* the fsuid, as the kernel checks */
			seen |= UID;
		} else if (strncmp(line, "Gid:", 4) == 0 && field_num(line + 4, 3, 10, &v)) {
			who->gid = (uint32_t)v;
			seen |= GID;
		} else if (strncmp(line, "Groups:", 7) == 0) {
			char *p = line + 7, *end;
			who->ngroups = 0;
			for (;;) {
				uint64_t g = g_ascii_strtoull(p, &end, 10);
				if (end == p)
					break;
				if (who->ngroups == DIPC_MAX_GROUPS)
					return -EACCES;
				who->groups[who->ngroups++] = (uint32_t)g;
				p = end;
			}
			seen |= GROUPS;
		} else if (strncmp(line, "CapEff:", 7) == 0 && field_num(line + 7, 0, 16, &v)) {
			who->caps = v;
			seen |= CAPS;
		} else if (strncmp(line, "CapPrm:", 7) == 0 && field_num(line + 7, 0, 16, &v)) {
			*ret_capprm = v;
			seen |= PRM;
		}
	}
	return seen == ALL ? 0 : -EACCES;
}

/* Is thread tid in the daemon's user namespace?  false if unknown. */
static bool in_our_userns(pid_t tid)
{
	static struct stat ours;
	static bool known;
	struct stat st;
	char path[64];

	if (!known) {
		if (stat("/proc/self/ns/user", &ours) < 0)
			return false;
		known = true;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)tid);
	return stat(path, &st) == 0 && st.st_ino == ours.st_ino && st.st_dev == ours.st_dev;
}

/* The status of thread tid into buf (NUL-terminated): its length, or
 * -ESRCH.  Through the cached descriptor if there is one and it still
 * reads; else through a new one, which is then cached (*ret_e). */
static ssize_t read_status(dipc_node *n, pid_t tid, char *buf, size_t size, id_entry **ret_e)
{
	gpointer key = GINT_TO_POINTER(tid);
	id_entry *e = g_hash_table_lookup(n->idcache, key);
	char path[64];
	ssize_t len;
	int fd;

	if (e) {
		len = pread(e->fd, buf, size - 1, 0);
		if (len > 0) {
			buf[len] = '\0';
			*ret_e = e;
			return len;
		}
		g_hash_table_remove(n->idcache, key);   /* closes it */
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	len = pread(fd, buf, size - 1, 0);
	if (len <= 0) {
		close(fd);
		return -ESRCH;
	}
	buf[len] = '\0';
	if (g_hash_table_size(n->idcache) >= IDFD_MAX)
		g_hash_table_remove_all(n->idcache);
	e = g_new0(id_entry, 1);
	e->fd = fd;
	e->pidfd = -1;
	g_hash_table_insert(n->idcache, key, e);
	*ret_e = e;
	return len;
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
		if (g_hash_table_size(names) > NAMES_MAX)
			g_hash_table_remove_all(names);
		g_hash_table_insert(names, GUINT_TO_POINTER(uid), (gpointer)name);
	}
	g_strlcpy(buf, name, len);
}

/* Keep e's identity for reuse if its thread holds no capability. */
static void entry_keep(id_entry *e, pid_t tid, const struct fuse_ctx *ctx, uint64_t ctl,
		       uint64_t capprm, const dipc_ident *who)
{
	if (e->pidfd >= 0) {
		close(e->pidfd);
		e->pidfd = -1;
	}
	if (!ctl || capprm || who->caps)
		return;
	e->pidfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (e->pidfd < 0)
		return;   /* no thread pidfds (before Linux 6.9): always fresh */
	e->ctl = ctl;
	e->fuid = ctx->uid;
	e->fgid = ctx->gid;
	e->who = *who;
}

int req_ident_on(dipc_node *n, fuse_req_t req, uint64_t ctl, dipc_ident *who)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char text[STATUS_MAX];
	uint64_t capprm = 0;
	id_entry *e = NULL;
	ssize_t len;
	int r;

	memset(who, 0, sizeof(*who));
	if (ctx->pid <= 0)
		return -ESRCH;   /* not visible from the daemon's pid namespace */
	if (ctl) {
		e = g_hash_table_lookup(n->idcache, GINT_TO_POINTER(ctx->pid));
		if (e && e->pidfd >= 0 && e->ctl == ctl && e->fuid == ctx->uid &&
		    e->fgid == ctx->gid && !thread_gone(e->pidfd)) {
			*who = e->who;
			return 0;
		}
	}
	len = read_status(n, ctx->pid, text, sizeof(text), &e);
	if (len < 0)
		return (int)len;
	/* The fs ids the status shows are the ones the kernel put in the
	 * request unless the thread changed them since; then the status is
	 * the later, and consistent with its groups and capabilities. */
	r = parse_status(text, who, &capprm);
	if (r < 0)
		return r;
	if (who->caps && !in_our_userns(ctx->pid))
		who->caps = 0;
	g_strlcpy(who->node, n->name, sizeof(who->node));
	user_name(who->uid, who->user, sizeof(who->user));
	entry_keep(e, ctx->pid, ctx, ctl, capprm, who);
	return 0;
}

int req_ident(dipc_node *n, fuse_req_t req, dipc_ident *who)
{
	return req_ident_on(n, req, 0, who);
}
