/* SPDX-License-Identifier: MIT */
/**
 * @file main.c
 *
 * mount.dipcfs: one per node.  Usage (also as a mount helper, so that
 * /etc/fstab can say `dipc /dipc dipcfs conf=/etc/dipc.conf,node=n1 0 0`):
 *
 *   mount.dipcfs SOURCE MOUNTPOINT [-f] [-d] [-o conf=FILE,node=NAME,listen=H:P,...]
 *
 * SOURCE is only a label (conventionally "dipc").  Without -f the daemon
 * detaches once the mount is up (fuse_daemonize: a fork); configuration and
 * bind errors are reported before that, and the command fails.  Nothing
 * before the fork may start a thread or use libuv's thread pool (node.c);
 * a second thread there is reported as CRITICAL, also with -f, where the
 * test suite sees it.  SIGTERM or SIGINT unmounts (lazily: processes that
 * still hold the control file get ENOTCONN) and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dipc_config.h"
#include "node.h"

typedef struct options {
	char *source;
	char *mountpoint;
	char *conf;
	char *node;
	char *listen;
	char *log;
	int foreground;
	int debug;
	int help;
	int version;
} options;

#define OPT(t, p) { t, offsetof(options, p), 1 }
static const struct fuse_opt opt_spec[] = {
	OPT("conf=%s", conf),
	OPT("node=%s", node),
	OPT("listen=%s", listen),
	OPT("log=%s", log),
	OPT("-f", foreground),
	OPT("-d", debug),
	OPT("debug", debug),
	OPT("-h", help),
	OPT("--help", help),
	OPT("-V", version),
	OPT("--version", version),
	/* fstab-only words that mount(8) passes along: swallow them. */
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_END
};

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	options *o = data;

	if (key == FUSE_OPT_KEY_NONOPT) {
		if (!o->source) {
			o->source = g_strdup(arg);
			return 0;
		}
		if (!o->mountpoint) {
			o->mountpoint = g_strdup(arg);
			return 0;
		}
		fprintf(stderr, "mount.dipcfs: unexpected argument '%s'\n", arg);
		return -1;
	}
	if (key == FUSE_OPT_KEY_OPT && g_str_has_prefix(arg, "x-"))
		return 0;
	return 1;
}

static void usage(void)
{
	printf("usage: mount.dipcfs SOURCE MOUNTPOINT [-f] [-d] [-o OPTIONS]\n"
	       "\n"
	       "Mount this node's view of a dipcfs cluster (distributed System V IPC).\n"
	       "\n"
	       "  -f                 stay in the foreground\n"
	       "  -d, -o debug       FUSE debug output (implies -f)\n"
	       "  -o conf=FILE       cluster configuration (default /etc/dipc.conf)\n"
	       "  -o node=NAME       this node's name (default: [node] name, or the host name)\n"
	       "  -o listen=H:P      address peers use to reach this node (overrides dipc.conf)\n"
	       "  -o log=FILE        log to FILE (default: stderr with -f, else the journal\n"
	       "                     or syslog)\n"
	       "  -V, --version      print the version and exit\n"
	       "  -o OPT             other FUSE mount options (allow_other and\n"
	       "                     default_permissions are always on)\n");
}

static void on_signal(uv_signal_t *h, int signum)
{
	dipc_node *n = h->data;
	g_message("signal %d: unmounting %s", signum, n->mountpoint);
	node_stop(n);
}

/* Threads of this process, from /proc/self/task; 0 if unknown. */
static unsigned thread_count(void)
{
	g_autoptr(GDir) d = g_dir_open("/proc/self/task", 0, NULL);
	unsigned k = 0;

	while (d && g_dir_read_name(d))
		k++;
	return k;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	options o = { 0 };
	dipc_node node = { 0 }, *n = &node;
	g_autoptr(GError) error = NULL;
	struct stat st;
	int ret = 1;

	if (fuse_opt_parse(&args, &o, opt_spec, opt_proc) < 0)
		return 1;
	if (o.help) {
		usage();
		return 0;
	}
	if (o.version) {
		printf("mount.dipcfs %s (ABI %d), libfuse %s\n", DIPC_VERSION, DIPC_ABI_VERSION, fuse_pkgversion());
		return 0;
	}
	if (!o.mountpoint) {
		usage();
		return 1;
	}
	if (stat(o.mountpoint, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "mount.dipcfs: mount point '%s' is not a directory\n", o.mountpoint);
		return 1;
	}

	n->conf = dipc_conf_load(o.conf ? o.conf : "/etc/dipc.conf", o.node, true, &error);
	if (!n->conf) {
		fprintf(stderr, "mount.dipcfs: %s\n", error->message);
		return 1;
	}
	if (o.listen) {
		g_free(n->conf->node_listen);
		n->conf->node_listen = g_strdup(o.listen);
	}
	node_configure(n, o.mountpoint);
	if (node_log_start(n, o.log) < 0) {
		fprintf(stderr, "mount.dipcfs: cannot open the log file %s: %s\n", o.log,
			g_strerror(errno));
		dipc_conf_free(n->conf);
		return 1;
	}

	fuse_opt_add_arg(&args, "-o");
	fuse_opt_add_arg(&args, "allow_other,default_permissions,subtype=dipcfs");
	if (o.source) {
		g_autofree char *fsname = g_strdup_printf("fsname=%s", o.source);
		fuse_opt_add_arg(&args, "-o");
		fuse_opt_add_arg(&args, fsname);
	}
	if (o.debug) {
		fuse_opt_add_arg(&args, "-d");
		o.foreground = 1;
	}

	n->loop = uv_default_loop();
	if (node_start(n) < 0)
		goto out;

	n->se = fuse_session_new(&args, &dipcfs_fuse_ops, sizeof(dipcfs_fuse_ops), n);
	if (!n->se)
		goto out;
	if (fuse_session_mount(n->se, o.mountpoint) != 0) {
		fprintf(stderr, "mount.dipcfs: cannot mount %s\n", o.mountpoint);
		goto out_session;
	}
	if (thread_count() > 1)
		g_critical("%u threads before fuse_daemonize(): in the background only this "
			   "one goes on (start them in node_start_in_daemon)", thread_count());
	if (fuse_daemonize(o.foreground) != 0)
		goto out_unmount;
	if (!o.foreground) {
		uv_loop_fork(n->loop);
		node_log_detached(n);
	}
	/* Only now, in the process that serves: threads, the thread pool. */
	node_start_in_daemon(n);
	if (fsloop_attach(n) < 0)
		goto out_unmount;

	node_spin_init(n);

	uv_signal_init(n->loop, &n->sigterm);
	uv_signal_init(n->loop, &n->sigint);
	n->sigterm.data = n->sigint.data = n;
	uv_signal_start(&n->sigterm, on_signal, SIGTERM);
	uv_signal_start(&n->sigint, on_signal, SIGINT);
	signal(SIGPIPE, SIG_IGN);

	g_message("mounted %s as node %s (peers reach it at %s)", o.mountpoint, n->name,
		  n->conf->node_listen);
	uv_run(n->loop, UV_RUN_DEFAULT);
	ret = 0;

	/* Let every handle close, then leave. */
	uv_walk(n->loop, close_walk_cb, NULL);
	uv_run(n->loop, UV_RUN_DEFAULT);
	uv_loop_close(n->loop);
	fuse_session_destroy(n->se);
	free(n->fbuf.mem);
	goto out_conf;

out_unmount:
	fuse_session_unmount(n->se);
out_session:
	fuse_session_destroy(n->se);
out:
	ret = 1;
out_conf:
	fuse_opt_free_args(&args);
	dipc_conf_free(n->conf);
	g_free(o.source);
	g_free(o.mountpoint);
	g_free(o.conf);
	g_free(o.node);
	g_free(o.listen);
	g_free(o.log);
	return ret;
}
