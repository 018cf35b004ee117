/* SPDX-License-Identifier: MIT */
/**
 * @file cmd_shim.c
 *
 * The commands that go through libdipc.so, and where the shim is:
 *
 *   dipc run [--mount DIR] [--keys POLICY] PROG ARGS...
 *       exec PROG with LD_PRELOAD=libdipc.so, DIPC_MOUNT and DIPC_KEYS set
 *       (as torsocks does for sockets); the exit status is PROG's.
 *   dipc rm [KIND] KEY|ID
 *       IPC_RMID through the shim, so that the owner node applies the
 *       kernel's own checks (the caller must be the object's owner or
 *       creator, or privileged).  dipc finds the object in the mount, then
 *       re-executes itself under the shim as `dipc __rmid ...`, whose
 *       semctl/msgctl/shmctl the shim sends to the mount: no protocol of
 *       dipc's own, and the same uid, namespaces and checks as any program.
 *
 * The shim: $DIPC_SHIM if set; else, for a dipc run from a meson build
 * tree (its directory's parent holds build.ninja), that tree's
 * shim/libdipc.so; else the installed one (DIPC_SHIM_PATH, from meson's
 * libdir).  A shim that does not exist is an error here, because the
 * dynamic loader would only warn and run the program without it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "dipc_abi.h"
#include "policy.h"
#include "cli.h"

#ifndef DIPC_SHIM_PATH
#define DIPC_SHIM_PATH "/usr/local/lib/libdipc.so"
#endif

static char *shim_path(void)
{
	const char *e = getenv("DIPC_SHIM");
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);

	if (e && *e)
		return g_strdup(e);
	if (exe) {
		g_autofree char *dir = g_path_get_dirname(exe);
		g_autofree char *top = g_path_get_dirname(dir);
		g_autofree char *ninja = g_build_filename(top, "build.ninja", NULL);
		char *lib = g_build_filename(top, "shim", "libdipc.so", NULL);
		if (g_file_test(ninja, G_FILE_TEST_EXISTS) && g_file_test(lib, G_FILE_TEST_EXISTS))
			return lib;
		g_free(lib);
	}
	return g_strdup(DIPC_SHIM_PATH);
}

/* The environment of a program under the shim.  NULL (message printed) if
 * the shim cannot be read. */
static char **shim_environ(const char *mount, const char *keys, char **ret_shim)
{
	g_autofree char *shim = shim_path();
	g_autofree char *abs = NULL;
	char **env = g_get_environ();
	const char *pre = g_environ_getenv(env, "LD_PRELOAD");

	if (access(shim, R_OK) < 0) {
		cli_err("cannot use the shim %s: %s (DIPC_SHIM=PATH names another)", shim,
			g_strerror(errno));
		g_strfreev(env);
		return NULL;
	}
	/* ld.so takes a name without '/' from its search path: keep a path. */
	abs = g_canonicalize_filename(shim, NULL);
	if (!pre || !*pre) {
		env = g_environ_setenv(env, "LD_PRELOAD", abs, TRUE);
	} else if (!strstr(pre, abs)) {
		g_autofree char *both = g_strconcat(abs, ":", pre, NULL);
		env = g_environ_setenv(env, "LD_PRELOAD", both, TRUE);
	}
	env = g_environ_setenv(env, "DIPC_MOUNT", mount, TRUE);
	if (keys)
		env = g_environ_setenv(env, "DIPC_KEYS", keys, TRUE);
	if (ret_shim)
		*ret_shim = g_steal_pointer(&abs);
	return env;
}

/* ---- run --------------------------------------------------------------- */

int cmd_run(const cli_opts *o, int argc, char **argv)
{
	g_autofree char *mount = g_strdup(o->mount);
	const char *keys = NULL;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if ((strcmp(a, "--mount") == 0 || strcmp(a, "--keys") == 0) && i + 1 < argc) {
			if (a[2] == 'm') {
				g_free(mount);
				mount = g_canonicalize_filename(argv[++i], NULL);
			} else {
				keys = argv[++i];
			}
		} else if (g_str_has_prefix(a, "--mount=")) {
			g_free(mount);
			mount = g_canonicalize_filename(a + 8, NULL);
		} else if (g_str_has_prefix(a, "--keys=")) {
			keys = a + 7;
		} else {
			cli_err("run: unknown option '%s'", a);
			return CLI_USAGE;
		}
	}
	if (i >= argc) {
		cli_err("usage: dipc run [--mount DIR] [--keys POLICY] PROG ARGS...");
		return CLI_USAGE;
	}
	if (keys) {
		struct dipc_policy_error err;
		char why[160];
		if (dipc_policy_parse(keys, NULL, &err) < 0) {
			dipc_policy_describe(keys, &err, why, sizeof(why));
			cli_err("run: invalid --keys policy (%s)", why);
			return CLI_USAGE;
		}
	}
	char **env = shim_environ(mount, keys, NULL);
	if (!env)
		return CLI_ERROR;
	fflush(NULL);
	execvpe(argv[i], argv + i, env);
	int e = errno;
	cli_err("cannot run %s: %s", argv[i], g_strerror(e));
	g_strfreev(env);
	return e == ENOENT ? 127 : 126;   /* as env(1) and the shells */
}

/* ---- rm ---------------------------------------------------------------- */

int cmd_rm(const cli_opts *o, int argc, char **argv)
{
	cli_target t;
	g_autoptr(cli_obj) ob = NULL;
	g_autofree char *exe = NULL, *shim = NULL, *target = NULL, *what = NULL;
	const char *kind;
	unsigned unreadable = 0;
	int r = cli_target_parse(argc, argv, &t);

	if (r != CLI_OK)
		return r;
	r = cli_target_find(o, &t, true, &ob, &unreadable);
	if (r == CLI_NOTFOUND && t.by_id && unreadable) {
		/* Maybe one this user may not read; the owner will say. */
		kind = t.kind ? t.kind->name : "any";
		target = g_strdup_printf("id:%d", t.id);
		what = g_strdup_printf("id %d", t.id);
	} else if (r == CLI_NOTFOUND) {
		cli_err("no object with %s %s in the cluster", t.by_id ? "id" : "key", t.arg);
		return r;
	} else if (r != CLI_OK) {
		return r;
	} else {
		kind = ob->kind->name;
		/* Without the id (a status this user may not read), the shim
		 * finds it by key: xxxget(key, 0, IPC_DIPC) asks for no rights. */
		target = ob->id >= 0 ? g_strdup_printf("id:%d", ob->id)
				     : g_strdup_printf("key:0x%08x", ob->key);
		what = ob->id >= 0 ? g_strdup_printf("%s %s (id %d)", kind, ob->name, ob->id)
				   : g_strdup_printf("%s %s", kind, ob->name);
	}
	char **env = shim_environ(o->mount, NULL, &shim);
	if (!env)
		return CLI_ERROR;
	env = g_environ_unsetenv(env, "DIPC_KEYS");
	exe = g_file_read_link("/proc/self/exe", NULL);
	if (!exe) {
		cli_err("cannot find this program (/proc/self/exe)");
		g_strfreev(env);
		return CLI_ERROR;
	}
	char *child[] = { "dipc", "__rmid", (char *)kind, target, what, shim, NULL };
	fflush(NULL);
	execve(exe, child, env);
	cli_err("cannot run %s under the shim: %s", exe, g_strerror(errno));
	g_strfreev(env);
	return CLI_ERROR;
}

/* ---- __rmid: under the shim -------------------------------------------- */

/* Is semctl this process's the shim's?  If the loader could not preload it
 * (it only warns), the call would go to the kernel and say "not found". */
static bool shim_loaded(const char *shim)
{
	Dl_info info;
	void *fn = dlsym(RTLD_DEFAULT, "semctl");
	char a[PATH_MAX], b[PATH_MAX];

	return fn && dladdr(fn, &info) && info.dli_fname && realpath(info.dli_fname, a) &&
	       realpath(shim, b) && strcmp(a, b) == 0;
}

static int rmid_kind(const char *kind, bool by_key, uint32_t key, int id)
{
	if (strcmp(kind, "sem") == 0) {
		if (by_key && (id = semget((key_t)key, 0, IPC_DIPC)) < 0)
			return -errno;
		return semctl(id, 0, IPC_RMID) < 0 ? -errno : 0;
	}
	if (strcmp(kind, "msg") == 0) {
		if (by_key && (id = msgget((key_t)key, IPC_DIPC)) < 0)
			return -errno;
		return msgctl(id, IPC_RMID, NULL) < 0 ? -errno : 0;
	}
	if (by_key && (id = shmget((key_t)key, 0, IPC_DIPC)) < 0)
		return -errno;
	return shmctl(id, IPC_RMID, NULL) < 0 ? -errno : 0;
}

int cmd_rmid_child(int argc, char **argv)
{
	static const char *const any[] = { "sem", "msg", "shm" };
	const char *kind, *target, *what;
	bool by_key;
	guint64 v;
	int r = -EINVAL;

	if (argc != 5) {
		cli_err("__rmid is dipc rm's own step: use dipc rm");
		return CLI_USAGE;
	}
	kind = argv[1];
	target = argv[2];
	what = argv[3];
	if (!shim_loaded(argv[4])) {
		cli_err("cannot remove %s: the shim %s did not load into dipc", what, argv[4]);
		return CLI_ERROR;
	}
	by_key = g_str_has_prefix(target, "key:");
	v = g_ascii_strtoull(target + (by_key ? 4 : 3), NULL, 0);
	if (strcmp(kind, "any") == 0) {
		/* An id unique across kinds: the one kind that knows it acts. */
		for (size_t i = 0; i < G_N_ELEMENTS(any) && r == -EINVAL; i++)
			r = rmid_kind(any[i], false, 0, (int)v);
	} else {
		r = rmid_kind(kind, by_key, (uint32_t)v, (int)v);
	}
	switch (r) {
	case 0:
		return CLI_OK;
	case -EPERM:
	case -EACCES:
		cli_err("cannot remove %s: %s (only its owner, its creator or a privileged "
			"user may remove it; this is uid %u)", what, g_strerror(-r), (unsigned)geteuid());
		return CLI_PERM;
	case -EINVAL:
	case -EIDRM:
	case -ENOENT:
		cli_err("cannot remove %s: it does not exist (any more)", what);
		return CLI_NOTFOUND;
	case -ENOTCONN:
		cli_err("cannot remove %s: %s (the mount's daemon is gone)",
			what, g_strerror(-r));
		return CLI_NOMOUNT;
	default:
		cli_err("cannot remove %s: %s", what, g_strerror(-r));
		return CLI_ERROR;
	}
}
