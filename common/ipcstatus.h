/* SPDX-License-Identifier: MIT */
/**
 * @file ipcstatus.h
 *
 * The pieces of status text (`cat /MOUNT/sem/KEY`, `msg/KEY`, `shmstat/KEY`) that
 * the kinds share: the labelled header lines, times, the ipc_perm block,
 * pid@node cells and left-aligned tables.  Each engine's describe() says
 * what goes in its text; this file says how a line of it is written, so
 * that the kinds cannot drift apart.  GLib strings, no other state.
 *
 * The format, for every kind that uses it: plain ASCII, every line ends in
 * '\n'; header labels are padded to 10 columns; a table's columns are
 * left-aligned, each as wide as its widest cell, two spaces apart, and the
 * last one is not padded.
 */
#ifndef DIPC_IPCSTATUS_H
#define DIPC_IPCSTATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "ipcperm.h"

/* Room for "pid@node": an int, '@' and a node name (63 bytes at most). */
#define DIPC_STATUS_PID_LEN (16 + sizeof(((dipc_ident *) NULL)->node))

/* "label     value\n", the value printf-formatted. */
void dipc_status_line(GString *out, const char *label, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* "label     2026-11-22 04:50:01 UTC\n"; "never" for 0, "?" if t cannot be
 * shown. */
void dipc_status_time(GString *out, const char *label, int64_t t);

/* key (8 hex digits), id, owner ("-" if NULL or empty), mode (the low 9
 * bits, 4 octal digits), uid, gid, cuid, cgid. */
void dipc_status_perm(GString *out, const dipc_ipc_perm *p, const char *owner_node);

/* "removed   yes\n", only once IPC_RMID has been done. */
void dipc_status_removed(GString *out, bool removed);

/* pid@node into buf.  The node is read up to 63 bytes, NUL or not: names
 * arrive in fixed arrays from other nodes.  A NULL node is shown as "?". */
void dipc_status_pid(char *buf, size_t len, int32_t pid, const char *node);

/* The same, or "-" when pid is 0 (no process yet). */
void dipc_status_pid_or_dash(char *buf, size_t len, int32_t pid, const char *node);

/* A table of ncols columns, filled cell by cell, rows left to right. */
typedef struct dipc_status_table dipc_status_table;

dipc_status_table *dipc_status_table_new(unsigned ncols);
void dipc_status_table_free(dipc_status_table *t);
/* The next cell, printf-formatted. */
void dipc_status_table_cell(dipc_status_table *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Every complete row, each line starting with indent. */
void dipc_status_table_render(const dipc_status_table *t, GString *out, const char *indent);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(dipc_status_table, dipc_status_table_free)

#endif /* DIPC_IPCSTATUS_H */
