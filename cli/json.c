/* SPDX-License-Identifier: MIT */
/**
 * @file json.c
 *
 * The JSON that --json prints: strings escaped per RFC 8259, status values
 * typed (plain decimal integers as numbers, anything else as a string), a
 * status text's fields as members of the enclosing object and its tables
 * as {"columns": [...], "rows": [[...], ...]}.  Output is one line.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

void json_str(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': g_string_append(out, "\\\""); break;
		case '\\': g_string_append(out, "\\\\"); break;
		case '\n': g_string_append(out, "\\n"); break;
		case '\t': g_string_append(out, "\\t"); break;
		default:
			if (*p < 0x20)
				g_string_append_printf(out, "\\u%04x", *p);
			else
				g_string_append_c(out, (char)*p);
		}
	}
	g_string_append_c(out, '"');
}

static bool plain_integer(const char *s)
{
	const char *p = s[0] == '-' ? s + 1 : s;

	if (!*p || (p[0] == '0' && p[1]) || strlen(p) > 18)
		return false;
	for (; *p; p++)
		if (!g_ascii_isdigit(*p))
			return false;
	return true;
}

void json_value(GString *out, const char *s)
{
	if (plain_integer(s))
		g_string_append(out, s);
	else
		json_str(out, s);
}

static void json_cells(GString *out, const GPtrArray *cells)
{
	g_string_append_c(out, '[');
	for (guint i = 0; i < cells->len; i++) {
		if (i)
			g_string_append_c(out, ',');
		json_value(out, cells->pdata[i]);
	}
	g_string_append_c(out, ']');
}

void json_status_tables(GString *out, const cli_status *s)
{
	g_string_append_c(out, '[');
	for (guint i = 0; i < s->tables->len; i++) {
		const cli_table *t = s->tables->pdata[i];
		g_string_append(out, i ? ",{\"columns\":" : "{\"columns\":");
		g_string_append_c(out, '[');
		for (guint c = 0; c < t->cols->len; c++) {
			if (c)
				g_string_append_c(out, ',');
			json_str(out, t->cols->pdata[c]);
		}
		g_string_append(out, "],\"rows\":[");
		for (guint r = 0; r < t->rows->len; r++) {
			if (r)
				g_string_append_c(out, ',');
			json_cells(out, t->rows->pdata[r]);
		}
		g_string_append(out, "]}");
	}
	g_string_append_c(out, ']');
}

void json_print(GString *out)
{
	fwrite(out->str, 1, out->len, stdout);
	fputc('\n', stdout);
}
