/* SPDX-License-Identifier: MIT */
/**
 * @file ipcstatus.c
 *
 * How a line of an object's status text is written (see ipcstatus.h for
 * the format).  The semaphore, message-queue and shared-memory engines
 * build their describe() text from these.
 *
 * Concurrency/ownership
 *   No global state.  A table owns copies of its cells (one string chunk)
 *   until it is freed; rendering does not change it.
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "ipcstatus.h"

#define LABEL_WIDTH 10
#define NODE_MAX ((int) sizeof(((dipc_ident *) NULL)->node) - 1)

static void append_label(GString *out, const char *label)
{
	g_string_append_printf(out, "%-*s", LABEL_WIDTH, label);
}

void dipc_status_line(GString *out, const char *label, const char *fmt, ...)
{
	va_list ap;

	append_label(out, label);
	va_start(ap, fmt);
	g_string_append_vprintf(out, fmt, ap);
	va_end(ap);
	g_string_append_c(out, '\n');
}

void dipc_status_time(GString *out, const char *label, int64_t t)
{
	char buf[64];
	struct tm tm;
	time_t tt = (time_t) t;

	if (t == 0 || !gmtime_r(&tt, &tm) ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		dipc_status_line(out, label, "%s", t == 0 ? "never" : "?");
	else
		dipc_status_line(out, label, "%s", buf);
}

void dipc_status_perm(GString *out, const dipc_ipc_perm *p, const char *owner_node)
{
	dipc_status_line(out, "key", "0x%08x", (unsigned) (uint32_t) p->key);
	dipc_status_line(out, "id", "%d", (int) p->id);
	dipc_status_line(out, "owner", "%s", owner_node && *owner_node ? owner_node : "-");
	dipc_status_line(out, "mode", "%04o", (unsigned) (p->mode & 0777));
	dipc_status_line(out, "uid", "%u", (unsigned) p->uid);
	dipc_status_line(out, "gid", "%u", (unsigned) p->gid);
	dipc_status_line(out, "cuid", "%u", (unsigned) p->cuid);
	dipc_status_line(out, "cgid", "%u", (unsigned) p->cgid);
}

void dipc_status_removed(GString *out, bool removed)
{
	if (removed)
		dipc_status_line(out, "removed", "%s", "yes");
}

void dipc_status_pid(char *buf, size_t len, int32_t pid, const char *node)
{
	/* A precision bounds the read even without a terminator. */
	g_snprintf(buf, len, "%d@%.*s", (int) pid, NODE_MAX, node ? node : "?");
}

void dipc_status_pid_or_dash(char *buf, size_t len, int32_t pid, const char *node)
{
	if (pid == 0)
		g_strlcpy(buf, "-", len);
	else
		dipc_status_pid(buf, len, pid, node);
}

/* ---- tables --------------------------------------------------------------- */

struct dipc_status_table {
	unsigned ncols;
	GStringChunk *text;   /* the cells' bytes */
	GPtrArray *cells;     /* row-major, pointers into text */
};

dipc_status_table *dipc_status_table_new(unsigned ncols)
{
	dipc_status_table *t;

	g_return_val_if_fail(ncols >= 1, NULL);
	t = g_new0(dipc_status_table, 1);
	t->ncols = ncols;
	t->text = g_string_chunk_new(256);
	t->cells = g_ptr_array_new();
	return t;
}

void dipc_status_table_free(dipc_status_table *t)
{
	if (!t)
		return;
	g_string_chunk_free(t->text);
	g_ptr_array_free(t->cells, TRUE);
	g_free(t);
}

void dipc_status_table_cell(dipc_status_table *t, const char *fmt, ...)
{
	char small[128];
	g_autofree char *big = NULL;
	va_list ap;
	int n;

	/* Cells are short numbers and pid@node: format on the stack, and only
	 * a long cell (a waiter's operations) pays for an allocation. */
	va_start(ap, fmt);
	n = g_vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n >= (int) sizeof(small)) {
		va_start(ap, fmt);
		big = g_strdup_vprintf(fmt, ap);
		va_end(ap);
	}
	g_ptr_array_add(t->cells, g_string_chunk_insert(t->text, big ? big : small));
}

void dipc_status_table_render(const dipc_status_table *t, GString *out, const char *indent)
{
	guint nrows = t->cells->len / t->ncols;
	g_autofree size_t *width = g_new0(size_t, t->ncols);

	for (guint i = 0; i < nrows * t->ncols; i++)
		width[i % t->ncols] = MAX(width[i % t->ncols], strlen(t->cells->pdata[i]));

	for (guint r = 0; r < nrows; r++) {
		const char *const *row = (const char *const *) &t->cells->pdata[r * t->ncols];

		g_string_append(out, indent);
		for (unsigned c = 0; c + 1 < t->ncols; c++)
			g_string_append_printf(out, "%-*s  ", (int) width[c], row[c]);
		g_string_append(out, row[t->ncols - 1]);
		g_string_append_c(out, '\n');
	}
}
