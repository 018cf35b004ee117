/* SPDX-License-Identifier: MIT */
/**
 * @file ident.c
 *
 * Who the caller of a FUSE request is.  uid and gid come from the kernel
 * (the request's context); the thread-group id, the effective capabilities
 * and the supplementary groups from /proc/TID/status, cached for two
 * seconds per thread; never from the shim's word.  User names (for the
 * status texts) are cached per uid.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "fuse_priv.h"

#define IDCACHE_MS 2000
#define IDCACHE_MAX 4096

typedef struct idcache_entry {
	int32_t tgid;
	uint64_t caps;
	unsigned ngroups;
	uint32_t groups[DIPC_MAX_GROUPS];
	uint64_t expires;
} idcache_entry;

void ident_init(dipc_node *n)
{
	n->idcache = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
}

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

int req_ident(dipc_node *n, fuse_req_t req, dipc_ident *who)
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
