/* SPDX-License-Identifier: MIT */
/**
 * @file cli.h
 *
 * The pieces of `dipc`, the command for people, and what each file owns:
 *
 *   main.c      the command line: global options, dispatch, --help, exit codes
 *   mountfs.c   reading a mount: its files, the cluster text, the status
 *               texts parsed into fields and tables, objects by kind
 *   cmd_info.c  the read-only commands: status, ls, stat
 *   cmd_shim.c  the commands that go through libdipc.so: run, rm
 *   json.c      the little JSON writer of --json
 *
 * dipc adds no protocol: it reads the mount's files, and what must be a
 * real SysV call (IPC_RMID, with its permission checks) is made by dipc
 * itself re-executed under the shim.
 */
#ifndef DIPC_CLI_H
#define DIPC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <glib.h>

/* Exit codes, documented in docs/cli.md and `dipc --help`. */
enum {
	CLI_OK = 0,
	CLI_ERROR = 1,      /* anything else that failed */
	CLI_USAGE = 2,      /* a bad command line */
	CLI_NOTFOUND = 3,   /* no such object */
	CLI_PERM = 4,       /* permission denied (IPC_RMID, an unreadable status) */
	CLI_NOMOUNT = 5,    /* the mount is not there or its daemon is gone */
};

typedef struct cli_opts {
	char *mount;   /* absolute, no trailing '/' */
	bool json;
} cli_opts;

/* Print "dipc: <message>\n" on stderr. */
void cli_err(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* ---- mountfs.c ------------------------------------------------------------ */

/* The kinds, in the order ls shows them.  dir: the directory that lists
 * them; status_dir: where their status text is (shm/KEY is the bytes). */
typedef struct cli_kind {
	int kind;               /* enum dipc_kind */
	const char *name;       /* "sem", "msg", "shm" */
	const char *status_dir; /* "sem", "msg", "shmstat" */
} cli_kind;

extern const cli_kind cli_kinds[3];
const cli_kind *cli_kind_by_name(const char *name);

/* A table of a status text: column names, and rows of as many cells. */
typedef struct cli_table {
	GPtrArray *cols;   /* of char* */
	GPtrArray *rows;   /* of GPtrArray of char* */
} cli_table;

/* A status text and what could be parsed from it: "label value" lines
 * (either "label: value" or a label padded to 10 columns), in order, first
 * one of a label kept; and tables (a block whose first line is not a
 * field).  Unknown lines stay in text only. */
typedef struct cli_status {
	char *text;
	GPtrArray *labels, *values;   /* of char*, parallel */
	GPtrArray *tables;            /* of cli_table* */
} cli_status;

cli_status *cli_status_parse(char *text);   /* takes text */
void cli_status_free(cli_status *s);
const char *cli_status_get(const cli_status *s, const char *label);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(cli_status, cli_status_free)

/* An object seen in a kind's directory. */
typedef struct cli_obj {
	const cli_kind *kind;
	char *name;          /* "0x00001234" or "private.ID" */
	uint32_t key;        /* from the name */
	int32_t id;          /* from the name or the status; -1 if unknown */
	struct stat st;      /* mode, uid, gid (and a segment's size) */
	cli_status *status;  /* NULL if it could not be read */
	int status_err;      /* then why (-errno) */
} cli_obj;

void cli_obj_free(cli_obj *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(cli_obj, cli_obj_free)

/* Read MOUNT/rel whole into *ret (NUL-terminated).  0 or -errno. */
int mnt_read(const char *mount, const char *rel, char **ret);

/* Is the mount served?  Reads MOUNT/cluster; on failure prints why and
 * returns CLI_NOMOUNT, else CLI_OK with *ret_text (if not NULL). */
int mnt_check(const char *mount, char **ret_text);

/* The objects of one kind (readdir + stat + status), appended to out (of
 * cli_obj*).  Objects that vanish while listed are left out.  0 or -errno
 * (the directory could not be read). */
int mnt_list(const char *mount, const cli_kind *k, GPtrArray *out);

/* ---- json.c --------------------------------------------------------------- */

void json_str(GString *out, const char *s);
/* A status value: a JSON number if it is a plain decimal integer, else a
 * string ("0640" and "0x00001234" stay strings). */
void json_value(GString *out, const char *s);
void json_status_tables(GString *out, const cli_status *s);
/* Write out to stdout, with a final newline. */
void json_print(GString *out);

/* ---- commands ------------------------------------------------------------- */

int cmd_status(const cli_opts *o, int argc, char **argv);
int cmd_ls(const cli_opts *o, int argc, char **argv);
int cmd_stat(const cli_opts *o, int argc, char **argv);
int cmd_run(const cli_opts *o, int argc, char **argv);
int cmd_rm(const cli_opts *o, int argc, char **argv);
/* The hidden half of rm, run under the shim: `dipc __rmid KIND TARGET`. */
int cmd_rmid_child(int argc, char **argv);

/* A KEY|ID argument, optionally after a kind word (cmd_info.c). */
typedef struct cli_target {
	const cli_kind *kind;   /* NULL: any */
	bool by_id;
	uint32_t key;
	int32_t id;
	const char *arg;
} cli_target;

/* Parse [KIND] KEY|ID from argv; CLI_OK or CLI_USAGE (message printed). */
int cli_target_parse(int argc, char **argv, cli_target *ret);
/* Find the target among the mount's objects into *ret (the caller frees
 * it).  CLI_OK, CLI_NOTFOUND, CLI_ERROR (ambiguous) or CLI_NOMOUNT; with
 * CLI_NOTFOUND, *ret_unreadable says how many objects could not be read
 * (one of them may be it).  Messages are printed unless quiet. */
int cli_target_find(const cli_opts *o, const cli_target *t, bool quiet, cli_obj **ret,
		    unsigned *ret_unreadable);

#endif /* DIPC_CLI_H */
