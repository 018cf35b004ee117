/* SPDX-License-Identifier: MIT */
/**
 * @file conf_dups.c
 *
 * Duplicated keys and groups in dipc.conf (conf_dups.h says why).  Lines
 * are read the way GKeyFile reads them: leading white space skipped, '#'
 * and empty lines are comments, "[name]" opens a group, anything else is
 * "key = value" with the key's trailing white space dropped.  Lines GKeyFile
 * would refuse are left to it: this only looks for names seen twice.
 */
#include "conf_dups.h"

#include <string.h>

typedef struct scan {
	const char *path;
	GHashTable *groups;  /* group name -> first line */
	GHashTable *keys;    /* key of the current group -> first line */
	char *group;
	GError **error;
} scan;

static bool seen(GHashTable *t, const char *name, unsigned line, unsigned *ret_first)
{
	gpointer v;

	if (g_hash_table_lookup_extended(t, name, NULL, &v)) {
		*ret_first = GPOINTER_TO_UINT(v);
		return true;
	}
	g_hash_table_insert(t, g_strdup(name), GUINT_TO_POINTER(line));
	return false;
}

static bool scan_line(scan *s, const char *p, const char *end, unsigned line)
{
	unsigned first;

	while (p < end && g_ascii_isspace(*p))
		p++;
	if (p == end || *p == '#')
		return true;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));
		g_autofree char *name = NULL;

		if (!close)
			return true; /* GKeyFile's error to report */
		name = g_strndup(p + 1, (size_t)(close - p - 1));
		if (seen(s->groups, name, line, &first)) {
			g_set_error(s->error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "%s: [%s]: group given twice (lines %u and %u): "
				    "give each group once", s->path, name, first, line);
			return false;
		}
		g_free(s->group);
		s->group = g_steal_pointer(&name);
		g_hash_table_remove_all(s->keys);
		return true;
	}
	{
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *k_end = eq;
		g_autofree char *key = NULL;

		if (!eq)
			return true;
		while (k_end > p && g_ascii_isspace(k_end[-1]))
			k_end--;
		key = g_strndup(p, (size_t)(k_end - p));
		if (seen(s->keys, key, line, &first)) {
			g_set_error(s->error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "%s: [%s] %s: given twice (lines %u and %u): the second "
				    "would silently win; keep one", s->path,
				    s->group ? s->group : "", key, first, line);
			return false;
		}
	}
	return true;
}

bool dipc_conf_check_duplicates(const char *path, const char *text, size_t len,
				GError **error)
{
	scan s = {
		.path = path,
		.groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
		.keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
		.error = error,
	};
	const char *p = text, *end = text + len;
	unsigned line = 0;
	bool ok = true;

	while (ok && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		ok = scan_line(&s, p, eol, ++line);
		p = nl ? nl + 1 : end;
	}
	g_hash_table_destroy(s.groups);
	g_hash_table_destroy(s.keys);
	g_free(s.group);
	return ok;
}
