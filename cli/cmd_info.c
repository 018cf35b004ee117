/* SPDX-License-Identifier: MIT */
/**
 * @file cmd_info.c
 *
 * The read-only commands, and how a KEY|ID names an object:
 *
 *   dipc status          this node: MOUNT/cluster, as a table or JSON
 *   dipc ls [KIND]       every object of the cluster (the kind directories
 *                        list what the referee knows), like ipcs
 *   dipc stat [KIND] X   one object's status text, or its fields as JSON
 *
 * A target is "0xHEX" (a key), "private.ID", "key:N" or "id:N", or a
 * decimal number: an id when it lies in dipc's id range (dipc_is_id),
 * else a key.  Ids are cluster-wide across kinds (the referee has one
 * serial), so an id needs no kind; a key may name a set and a queue at
 * once, and then the kind word says which.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dipc_abi.h"
#include "ipcstatus.h"
#include "cli.h"

/* ---- status ------------------------------------------------------------ */

static void status_json(const cli_opts *o, char **lines)
{
	g_autoptr(GString) j = g_string_new("{\"mount\":");
	bool first_peer = true;

	json_str(j, o->mount);
	g_string_append(j, ",\"peers\":[");
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) w = g_strsplit(*l, " ", 4);
		if (g_strv_length(w) != 4 || strcmp(w[0], "peer") != 0)
			continue;
		g_string_append(j, first_peer ? "{\"name\":" : ",{\"name\":");
		first_peer = false;
		json_str(j, w[1]);
		g_string_append(j, ",\"address\":");
		json_str(j, w[2]);
		g_string_append_printf(j, ",\"alive\":%s}", strcmp(w[3], "alive") == 0 ? "true" : "false");
	}
	g_string_append_c(j, ']');
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) w = g_strsplit(*l, " ", 2);
		if (!w[0] || !w[1] || strcmp(w[0], "peer") == 0 || strcmp(w[0], "mount") == 0)
			continue;
		g_string_append_c(j, ',');
		json_str(j, w[0]);
		g_string_append_c(j, ':');
		if (strcmp(w[0], "referee") == 0) {
			g_auto(GStrv) r = g_strsplit(w[1], " ", 2);
			g_string_append(j, "{\"address\":");
			json_str(j, r[0]);
			g_string_append_printf(j, ",\"connected\":%s}",
					       r[1] && strcmp(r[1], "connected") == 0 ? "true" : "false");
		} else {
			json_value(j, w[1]);
		}
	}
	g_string_append_c(j, '}');
	json_print(j);
}

int cmd_status(const cli_opts *o, int argc, char **argv)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	int r;

	if (argc > 1) {
		cli_err("status takes no arguments");
		return CLI_USAGE;
	}
	r = mnt_check(o->mount, &text);
	if (r != CLI_OK)
		return r;
	lines = g_strsplit(text, "\n", -1);
	if (o->json) {
		status_json(o, lines);
		return CLI_OK;
	}

	g_autoptr(dipc_status_table) peers = dipc_status_table_new(3);
	g_autoptr(GString) out = g_string_new(NULL);
	unsigned alive = 0, dead = 0;

	dipc_status_line(out, "mount", "%s", o->mount);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) w = g_strsplit(*l, " ", 4);
		if (w[0] && strcmp(w[0], "peer") == 0 && g_strv_length(w) == 4) {
			bool up = strcmp(w[3], "alive") == 0;
			dipc_status_table_cell(peers, "%s", w[1]);
			dipc_status_table_cell(peers, "%s", w[2]);
			dipc_status_table_cell(peers, "%s", w[3]);
			up ? alive++ : dead++;
		} else if (w[0] && w[1]) {
			const char *rest = *l + strlen(w[0]) + 1;
			dipc_status_line(out, w[0], "%s", rest);
		}
	}
	dipc_status_line(out, "peers", "%u alive, %u dead", alive, dead);
	dipc_status_table_render(peers, out, "  ");
	fputs(out->str, stdout);
	return CLI_OK;
}

/* ---- ls ---------------------------------------------------------------- */

/* The objects of every kind (or only one) into objs, after checking that
 * the mount is served.  A CLI_* code; messages printed. */
static int list_kinds(const cli_opts *o, const cli_kind *only, GPtrArray *objs)
{
	int r = mnt_check(o->mount, NULL);

	if (r != CLI_OK)
		return r;
	for (size_t i = 0; i < G_N_ELEMENTS(cli_kinds); i++) {
		if (only && only != &cli_kinds[i])
			continue;
		r = mnt_list(o->mount, &cli_kinds[i], objs);
		if (r < 0) {
			cli_err("cannot list %s/%s: %s", o->mount, cli_kinds[i].name, g_strerror(-r));
			return r == -ENOTCONN ? CLI_NOMOUNT : CLI_ERROR;
		}
	}
	return CLI_OK;
}

static const char *field_or_dash(const cli_obj *ob, const char *label)
{
	const char *v = cli_status_get(ob->status, label);
	return v ? v : "-";
}

/* What ipcs shows beside the permissions, per kind. */
static const char *const detail_labels[][3] = {
	[DIPC_KIND_SEM] = { "nsems", NULL },
	[DIPC_KIND_MSG] = { "qnum", "cbytes", NULL },
	[DIPC_KIND_SHM] = { "segsz", "nattch", NULL },
};

static void ls_json_obj(GString *j, const cli_obj *ob)
{
	g_string_append(j, "{\"kind\":");
	json_str(j, ob->kind->name);
	g_string_append(j, ",\"name\":");
	json_str(j, ob->name);
	g_string_append_printf(j, ",\"key\":\"0x%08x\",\"id\":%d,\"owner\":", ob->key, ob->id);
	if (cli_status_get(ob->status, "owner"))
		json_str(j, cli_status_get(ob->status, "owner"));
	else
		g_string_append(j, "null");
	g_string_append_printf(j, ",\"mode\":\"%04o\",\"uid\":%u,\"gid\":%u",
			       (unsigned)(ob->st.st_mode & 0777), (unsigned)ob->st.st_uid,
			       (unsigned)ob->st.st_gid);
	for (const char *const *d = detail_labels[ob->kind->kind]; *d; d++) {
		const char *v = cli_status_get(ob->status, *d);
		g_string_append_c(j, ',');
		json_str(j, *d);
		g_string_append_c(j, ':');
		if (v)
			json_value(j, v);
		else
			g_string_append(j, "null");
	}
	g_string_append_printf(j, ",\"readable\":%s}", ob->status ? "true" : "false");
}

static void ls_table_obj(dipc_status_table *t, const cli_obj *ob)
{
	g_autoptr(GString) detail = g_string_new(NULL);

	dipc_status_table_cell(t, "%s", ob->kind->name);
	dipc_status_table_cell(t, "0x%08x", ob->key);
	if (ob->id >= 0)
		dipc_status_table_cell(t, "%d", ob->id);
	else
		dipc_status_table_cell(t, "-");
	dipc_status_table_cell(t, "%s", field_or_dash(ob, "owner"));
	dipc_status_table_cell(t, "%04o", (unsigned)(ob->st.st_mode & 0777));
	dipc_status_table_cell(t, "%u", (unsigned)ob->st.st_uid);
	dipc_status_table_cell(t, "%u", (unsigned)ob->st.st_gid);
	for (const char *const *d = detail_labels[ob->kind->kind]; *d; d++)
		g_string_append_printf(detail, "%s%s=%s", detail->len ? " " : "", *d,
				       field_or_dash(ob, *d));
	dipc_status_table_cell(t, "%s", detail->str);
}

int cmd_ls(const cli_opts *o, int argc, char **argv)
{
	g_autoptr(GPtrArray) objs = g_ptr_array_new_with_free_func((GDestroyNotify)cli_obj_free);
	const cli_kind *only = NULL;
	int r;

	if (argc > 2 || (argc == 2 && !(only = cli_kind_by_name(argv[1])))) {
		cli_err("usage: dipc ls [sem|msg|shm]");
		return CLI_USAGE;
	}
	r = list_kinds(o, only, objs);
	if (r != CLI_OK)
		return r;
	if (o->json) {
		g_autoptr(GString) j = g_string_new("[");
		for (guint i = 0; i < objs->len; i++) {
			if (i)
				g_string_append_c(j, ',');
			ls_json_obj(j, objs->pdata[i]);
		}
		g_string_append_c(j, ']');
		json_print(j);
		return CLI_OK;
	}
	g_autoptr(dipc_status_table) t = dipc_status_table_new(8);
	g_autoptr(GString) out = g_string_new(NULL);
	const char *head[] = { "KIND", "KEY", "ID", "OWNER", "MODE", "UID", "GID", "DETAIL" };
	for (size_t i = 0; i < G_N_ELEMENTS(head); i++)
		dipc_status_table_cell(t, "%s", head[i]);
	for (guint i = 0; i < objs->len; i++)
		ls_table_obj(t, objs->pdata[i]);
	dipc_status_table_render(t, out, "");
	fputs(out->str, stdout);
	return CLI_OK;
}

/* ---- targets ----------------------------------------------------------- */

static bool parse_number(const char *s, int base, guint64 *v)
{
	char *end;

	errno = 0;
	*v = g_ascii_strtoull(s, &end, base);
	return *s && !*end && !errno && *v <= UINT32_MAX && s[0] != '-' && s[0] != '+';
}

int cli_target_parse(int argc, char **argv, cli_target *t)
{
	const char *a;
	guint64 v;

	memset(t, 0, sizeof(*t));
	if (argc == 3 && !(t->kind = cli_kind_by_name(argv[1]))) {
		cli_err("unknown kind '%s' (sem, msg or shm)", argv[1]);
		return CLI_USAGE;
	}
	if (argc != 2 && argc != 3) {
		cli_err("usage: dipc %s [sem|msg|shm] KEY|ID", argv[0]);
		return CLI_USAGE;
	}
	t->arg = a = argv[argc - 1];
	if (g_str_has_prefix(a, "private.") && parse_number(a + 8, 10, &v) && v <= INT32_MAX) {
		t->by_id = true;
	} else if (g_str_has_prefix(a, "id:") && parse_number(a + 3, 10, &v) && v <= INT32_MAX) {
		t->by_id = true;
	} else if (g_str_has_prefix(a, "key:") && parse_number(a + 4, 0, &v)) {
		t->by_id = false;
	} else if (parse_number(a, 0, &v)) {
		/* "0x..." is always a key; a decimal in dipc's id range an id. */
		t->by_id = !g_str_has_prefix(a, "0x") && !g_str_has_prefix(a, "0X") &&
			   v <= INT32_MAX && dipc_is_id((int)v);
	} else {
		cli_err("'%s' is neither a key nor an id (0x1234, 4660, id:N, key:N, private.ID)", a);
		return CLI_USAGE;
	}
	if (t->by_id) {
		t->id = (int32_t)v;
	} else if (v == 0) {
		cli_err("key 0 is IPC_PRIVATE and names no one object: give its id (private.ID)");
		return CLI_USAGE;
	} else {
		t->key = (uint32_t)v;
	}
	return CLI_OK;
}

static const char *target_what(const cli_target *t, char *buf, size_t len)
{
	if (t->by_id)
		g_snprintf(buf, len, "%s%sid %d", t->kind ? t->kind->name : "", t->kind ? " " : "", t->id);
	else
		g_snprintf(buf, len, "%s%skey 0x%08x", t->kind ? t->kind->name : "", t->kind ? " " : "",
			   t->key);
	return buf;
}

int cli_target_find(const cli_opts *o, const cli_target *t, bool quiet, cli_obj **ret,
		    unsigned *ret_unreadable)
{
	g_autoptr(GPtrArray) objs = g_ptr_array_new_with_free_func((GDestroyNotify)cli_obj_free);
	g_autoptr(GPtrArray) hits = g_ptr_array_new();
	unsigned unreadable = 0;
	char what[64];
	int r = list_kinds(o, t->kind, objs);

	if (r != CLI_OK)
		return r;
	for (guint i = 0; i < objs->len; i++) {
		cli_obj *ob = objs->pdata[i];
		if (t->by_id ? ob->id == t->id : (ob->key == t->key && ob->key != 0))
			g_ptr_array_add(hits, ob);
		else if (t->by_id && ob->id < 0)
			unreadable++;
	}
	*ret_unreadable = unreadable;
	target_what(t, what, sizeof(what));
	if (hits->len == 0) {
		if (!quiet)
			cli_err("no object with %s in the cluster%s", what,
				unreadable ? " (or among the objects this user may not read)" : "");
		return CLI_NOTFOUND;
	}
	if (hits->len > 1) {
		cli_err("%s names more than one object (%s and %s): say which, e.g. dipc stat %s %s",
			what, ((cli_obj *)hits->pdata[0])->kind->name,
			((cli_obj *)hits->pdata[1])->kind->name,
			((cli_obj *)hits->pdata[0])->kind->name, t->arg);
		return CLI_ERROR;
	}
	guint at;
	g_ptr_array_find(objs, hits->pdata[0], &at);
	*ret = g_ptr_array_steal_index(objs, at);
	return CLI_OK;
}

/* ---- stat -------------------------------------------------------------- */

static void stat_json(const cli_opts *o, const cli_obj *ob)
{
	g_autoptr(GString) j = g_string_new("{\"kind\":");
	g_autofree char *path = g_build_filename(o->mount, ob->kind->status_dir, ob->name, NULL);

	json_str(j, ob->kind->name);
	g_string_append(j, ",\"name\":");
	json_str(j, ob->name);
	g_string_append(j, ",\"path\":");
	json_str(j, path);
	/* The fields, unless one is called like the members above. */
	for (guint i = 0; i < ob->status->labels->len; i++) {
		const char *l = ob->status->labels->pdata[i];
		if (!strcmp(l, "kind") || !strcmp(l, "name") || !strcmp(l, "path") ||
		    !strcmp(l, "tables") || !strcmp(l, "text"))
			continue;
		g_string_append_c(j, ',');
		json_str(j, l);
		g_string_append_c(j, ':');
		json_value(j, ob->status->values->pdata[i]);
	}
	g_string_append(j, ",\"tables\":");
	json_status_tables(j, ob->status);
	g_string_append(j, ",\"text\":");
	json_str(j, ob->status->text);
	g_string_append_c(j, '}');
	json_print(j);
}

int cmd_stat(const cli_opts *o, int argc, char **argv)
{
	cli_target t;
	g_autoptr(cli_obj) ob = NULL;
	unsigned unreadable;
	int r = cli_target_parse(argc, argv, &t);

	if (r != CLI_OK)
		return r;
	r = cli_target_find(o, &t, false, &ob, &unreadable);
	if (r != CLI_OK)
		return r;
	if (!ob->status) {
		cli_err("cannot read the status of %s %s: %s", ob->kind->name, ob->name,
			g_strerror(-ob->status_err));
		return ob->status_err == -EACCES || ob->status_err == -EPERM ? CLI_PERM : CLI_ERROR;
	}
	if (o->json)
		stat_json(o, ob);
	else
		fputs(ob->status->text, stdout);
	return CLI_OK;
}
