/* SPDX-License-Identifier: MIT */
/**
 * @file main.c
 *
 * dipc, the command for people: its command line.  Global options may come
 * before or after the command word (`dipc --json ls`, `dipc ls --json`),
 * except for run, whose options end at PROG.  The mount is --mount DIR,
 * else $DIPC_MOUNT, else /dipc: the same rule as the shim's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dipc_abi.h"
#include "dipc_config.h"
#include "cli.h"

static const char usage_text[] =
	"usage: dipc [--mount DIR] [--json] COMMAND [ARGS...]\n"
	"\n"
	"Inspect and use a dipcfs cluster through this node's mount.\n"
	"\n"
	"commands:\n"
	"  run [--mount DIR] [--keys POLICY] PROG [ARGS...]\n"
	"                        run PROG under the shim (LD_PRELOAD=libdipc.so,\n"
	"                        DIPC_MOUNT, DIPC_KEYS); the exit status is PROG's\n"
	"                        (126/127 if it cannot be run)\n"
	"  status                this node: referee, peers and their liveness\n"
	"  ls [sem|msg|shm]      the cluster's objects, with their owner nodes\n"
	"  stat [KIND] KEY|ID    one object's status\n"
	"  rm [KIND] KEY|ID      remove an object (IPC_RMID, with its permission checks)\n"
	"\n"
	"KEY is 0xHEX (or key:N); ID is a dipc id (or id:N, private.ID).\n"
	"\n"
	"options:\n"
	"  --mount DIR           the node's mount (default: $DIPC_MOUNT, else /dipc)\n"
	"  --json                machine-readable output (status, ls, stat)\n"
	"  -h, --help            this text\n"
	"  --version             the version\n"
	"\n"
	"environment: DIPC_MOUNT (the mount), DIPC_SHIM (the libdipc.so to use)\n"
	"\n"
	"exit codes:\n"
	"  0  ok\n"
	"  1  error\n"
	"  2  usage error\n"
	"  3  no such object\n"
	"  4  permission denied\n"
	"  5  the mount is not reachable (not mounted, or its daemon is gone)\n";

static const struct {
	const char *name;
	int (*fn)(const cli_opts *o, int argc, char **argv);
} commands[] = {
	{ "run", cmd_run }, { "status", cmd_status }, { "ls", cmd_ls },
	{ "stat", cmd_stat }, { "rm", cmd_rm },
};

/* Take the global options out of argv (all of them, or only those before
 * the command word when stop_at_word); returns the remaining count, or -1
 * after a usage error, -2 for --help, -3 for --version. */
static int take_options(cli_opts *o, int argc, char **argv, bool stop_at_word)
{
	int out = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--mount") == 0 && i + 1 < argc) {
			g_free(o->mount);
			o->mount = g_canonicalize_filename(argv[++i], NULL);
		} else if (g_str_has_prefix(a, "--mount=")) {
			g_free(o->mount);
			o->mount = g_canonicalize_filename(a + 8, NULL);
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			return -2;
		} else if (strcmp(a, "--version") == 0) {
			return -3;
		} else if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++)
				argv[out++] = argv[i];
		} else if (a[0] == '-' && a[1]) {
			if (strcmp(a, "--mount") == 0)
				cli_err("--mount needs a directory");
			else
				cli_err("unknown option '%s' (dipc --help)", a);
			return -1;
		} else {
			argv[out++] = argv[i];
			if (stop_at_word) {
				for (i++; i < argc; i++)
					argv[out++] = argv[i];
			}
		}
	}
	return out;
}

int main(int argc, char **argv)
{
	cli_opts o = { 0 };
	const char *env_mount = getenv("DIPC_MOUNT");
	int n, r = CLI_USAGE;

	if (argc > 1 && strcmp(argv[1], "__rmid") == 0)
		return cmd_rmid_child(argc - 1, argv + 1);
	o.mount = g_canonicalize_filename(env_mount && *env_mount ? env_mount : DIPC_DEFAULT_MOUNT,
					  NULL);
	n = take_options(&o, argc - 1, argv + 1, true);
	if (n > 0 && strcmp(argv[1], "run") != 0)
		n = take_options(&o, n, argv + 1, false);
	if (n == -2 || n == -3) {
		fputs(n == -2 ? usage_text : "dipc " DIPC_VERSION "\n", stdout);
		r = CLI_OK;
	} else if (n == 0) {
		fputs(usage_text, stderr);
	} else if (n > 0) {
		size_t i;
		for (i = 0; i < G_N_ELEMENTS(commands); i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				break;
		if (i < G_N_ELEMENTS(commands))
			r = commands[i].fn(&o, n, argv + 1);
		else
			cli_err("unknown command '%s' (dipc --help)", argv[1]);
	}
	g_free(o.mount);
	return r;
}
