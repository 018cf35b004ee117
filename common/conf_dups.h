/* SPDX-License-Identifier: MIT */
/**
 * @file conf_dups.h
 *
 * The one check of dipc.conf that GKeyFile cannot make: a key given twice
 * in a group, or a group given twice.  GKeyFile keeps the last value of a
 * key and merges the two halves of a group without a word, so a second
 * `secret =` further down, or a second [limits] pasted from elsewhere,
 * would silently win.  conf.c runs this on the text before parsing it.
 */
#ifndef DIPC_CONF_DUPS_H
#define DIPC_CONF_DUPS_H

#include <glib.h>
#include <stdbool.h>

/* false, with *error (G_KEY_FILE_ERROR_INVALID_VALUE) naming the group, the
 * key and both lines, if text (len bytes, need not end in NUL) has a
 * duplicate.  path is for the message. */
bool dipc_conf_check_duplicates(const char *path, const char *text, size_t len,
				GError **error);

#endif /* DIPC_CONF_DUPS_H */
