/* SPDX-License-Identifier: MIT */
/**
 * @file mountfs.c
 *
 * Reading a mount the way `ls` and `cat` do: its files, the status texts
 * parsed into fields and tables, and the objects of a kind (readdir of
 * MOUNT/KIND, stat of each entry, its status text).
 *
 * Status texts (common/ipcstatus.c writes them for every kind) open with a
 * block of fields, "label     value" padded to 10 columns, then blocks of
 * tables, each after a blank line with its header first.  The parser also
 * takes "label: value" fields, so an older daemon's shmstat/ still reads.
 * Only the first block holds fields: a table's header padded as wide as a
 * field ("node      attaches", for a node name of 8 letters) is a header.  Every
 * file is read whole with read(2): status files are direct_io snapshots
 * whose size stat() does not know.
 *
 * What a user may not read (a 0600 object of someone else: the mount
 * applies the read bits as IPC_STAT would) is listed from its name and its
 * stat() alone, as ipcs shows objects it cannot stat.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dipc_abi.h"
#include "cli.h"

#define LABEL_WIDTH 10
#define TEXT_MAX (16u << 20)   /* a status text larger than this is not one */

const cli_kind cli_kinds[3] = {
	{ DIPC_KIND_SEM, "sem", "sem" },
	{ DIPC_KIND_MSG, "msg", "msg" },
	{ DIPC_KIND_SHM, "shm", "shmstat" },
};

const cli_kind *cli_kind_by_name(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(cli_kinds); i++)
		if (strcmp(name, cli_kinds[i].name) == 0)
			return &cli_kinds[i];
	return NULL;
}

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("dipc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- files ------------------------------------------------------------- */

int mnt_read(const char *mount, const char *rel, char **ret)
{
	g_autofree char *path = g_build_filename(mount, rel, NULL);
	g_autoptr(GString) s = g_string_new(NULL);
	char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		g_string_append_len(s, buf, n);
		if (s->len > TEXT_MAX) {
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	*ret = g_string_free(g_steal_pointer(&s), FALSE);
	return 0;
}

int mnt_check(const char *mount, char **ret_text)
{
	char *text = NULL;
	int r = mnt_read(mount, "cluster", &text);

	if (r < 0) {
		/* ENOENT: a directory with no dipcfs on it; ENOTCONN: the
		 * daemon of the mount is gone. */
		cli_err("the mount %s is not reachable: cannot read %s/cluster: %s "
			"(is mount.dipcfs running there? --mount DIR or DIPC_MOUNT names another)",
			mount, mount, g_strerror(-r));
		return CLI_NOMOUNT;
	}
	if (ret_text)
		*ret_text = text;
	else
		g_free(text);
	return CLI_OK;
}

/* ---- status texts ------------------------------------------------------ */

static size_t label_len(const char *line)
{
	size_t n = 0;

	if (!g_ascii_islower(line[0]))
		return 0;
	while (g_ascii_islower(line[n]) || g_ascii_isdigit(line[n]) || line[n] == '_')
		n++;
	return n;
}

/* "label: value" or "label" padded to LABEL_WIDTH columns then a value
 * (a label as wide or wider: one space).  A table's header ("sem  semval")
 * and rows ("0    1") are neither. */
static bool parse_field(const char *line, char **ret_label, char **ret_value)
{
	size_t n = label_len(line);
	const char *v;

	if (n == 0)
		return false;
	if (line[n] == ':' && (line[n + 1] == ' ' || line[n + 1] == '\0')) {
		v = line + n + 1;
		while (*v == ' ')
			v++;
	} else if (line[n] == ' ') {
		size_t at = n < LABEL_WIDTH ? LABEL_WIDTH : n + 1;
		for (size_t i = n; i < at; i++)
			if (line[i] != ' ')
				return false;
		v = line + at;
		if (*v == ' ' || *v == '\0')
			return false;
	} else {
		return false;
	}
	*ret_label = g_strndup(line, n);
	*ret_value = g_strchomp(g_strdup(v));
	return true;
}

static void table_free(gpointer p)
{
	cli_table *t = p;

	g_ptr_array_unref(t->cols);
	g_ptr_array_unref(t->rows);
	g_free(t);
}

/* Cells are separated by runs of spaces; the last column takes the rest of
 * the line (a waiter's operations may hold spaces). */
static GPtrArray *split_cells(const char *line, guint max)
{
	GPtrArray *cells = g_ptr_array_new_with_free_func(g_free);
	const char *p = line;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *e = p;
		if (max && cells->len + 1 == max)
			e = p + strlen(p);
		else
			while (*e && *e != ' ' && *e != '\t')
				e++;
		g_ptr_array_add(cells, g_strchomp(g_strndup(p, (gsize)(e - p))));
		p = e;
	}
	return cells;
}

static bool has_label(const cli_status *s, const char *label)
{
	return cli_status_get(s, label) != NULL;
}

cli_status *cli_status_parse(char *text)
{
	cli_status *s = g_new0(cli_status, 1);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	cli_table *table = NULL;
	bool block_start = true, first_block = true;

	s->text = text;
	s->labels = g_ptr_array_new_with_free_func(g_free);
	s->values = g_ptr_array_new_with_free_func(g_free);
	s->tables = g_ptr_array_new_with_free_func(table_free);
	for (char **l = lines; *l; l++) {
		char *label, *value;

		if (**l == '\0') {
			block_start = true;
			first_block = false;
			table = NULL;
			continue;
		}
		if (!table && first_block && parse_field(*l, &label, &value)) {
			if (has_label(s, label)) {
				g_free(label);
				g_free(value);
			} else {
				g_ptr_array_add(s->labels, label);
				g_ptr_array_add(s->values, value);
			}
		} else if (table) {
			g_ptr_array_add(table->rows, split_cells(*l, table->cols->len));
		} else if (block_start) {
			table = g_new0(cli_table, 1);
			table->cols = split_cells(*l, 0);
			table->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
			g_ptr_array_add(s->tables, table);
		}
		block_start = false;
	}
	return s;
}

void cli_status_free(cli_status *s)
{
	if (!s)
		return;
	g_free(s->text);
	g_ptr_array_unref(s->labels);
	g_ptr_array_unref(s->values);
	g_ptr_array_unref(s->tables);
	g_free(s);
}

const char *cli_status_get(const cli_status *s, const char *label)
{
	for (guint i = 0; s && i < s->labels->len; i++)
		if (strcmp(s->labels->pdata[i], label) == 0)
			return s->values->pdata[i];
	return NULL;
}

/* ---- objects ----------------------------------------------------------- */

void cli_obj_free(cli_obj *o)
{
	if (!o)
		return;
	g_free(o->name);
	cli_status_free(o->status);
	g_free(o);
}

/* "0x0000162e" or "private.ID" (fs/fuse_ns.c obj_name). */
static bool name_parse(const char *name, uint32_t *key, int32_t *id)
{
	char *end;

	*id = -1;
	if (g_str_has_prefix(name, "private.")) {
		long long v = g_ascii_strtoll(name + 8, &end, 10);
		if (*end || v <= 0 || v > INT32_MAX)
			return false;
		*key = 0;
		*id = (int32_t)v;
		return true;
	}
	guint64 v = g_ascii_strtoull(name, &end, 16);
	if (!g_str_has_prefix(name, "0x") || *end || v > UINT32_MAX)
		return false;
	*key = (uint32_t)v;
	return true;
}

static cli_obj *obj_load(const char *mount, const cli_kind *k, const char *name)
{
	g_autofree char *rel = g_build_filename(k->name, name, NULL);
	g_autofree char *srel = g_build_filename(k->status_dir, name, NULL);
	g_autofree char *path = g_build_filename(mount, rel, NULL);
	cli_obj *o = g_new0(cli_obj, 1);
	char *text;

	o->kind = k;
	o->name = g_strdup(name);
	if (!name_parse(name, &o->key, &o->id) || stat(path, &o->st) < 0) {
		cli_obj_free(o);   /* not an object's name, or gone since readdir */
		return NULL;
	}
	o->status_err = mnt_read(mount, srel, &text);
	if (o->status_err == -ENOENT) {
		cli_obj_free(o);
		return NULL;
	}
	if (o->status_err == 0) {
		const char *id;
		o->status = cli_status_parse(text);
		id = cli_status_get(o->status, "id");
		if (id && o->id < 0)
			o->id = (int32_t)g_ascii_strtoll(id, NULL, 10);
	}
	return o;
}

int mnt_list(const char *mount, const cli_kind *k, GPtrArray *out)
{
	g_autofree char *dir = g_build_filename(mount, k->name, NULL);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		cli_obj *o;
		if (e->d_name[0] == '.')
			continue;
		o = obj_load(mount, k, e->d_name);
		if (o)
			g_ptr_array_add(out, o);
	}
	closedir(d);
	return 0;
}
