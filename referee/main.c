/* SPDX-License-Identifier: MIT */
/**
 * @file main.c
 *
 * dipc-referee: the name server of a dipcfs cluster.
 *
 *     dipc-referee [-c /etc/dipc.conf] [-v] [-V]
 *
 * Runs in the foreground, logs to stderr ("dipc-referee: ..."), exits 0 on
 * SIGTERM or SIGINT after closing its connections, 1 on a bad configuration
 * or when it cannot listen.  docs/referee.md describes the protocol.
 *
 * This file is the process: options, logging, signals and the loop.
 * server.c is the network side (connections, requests, membership),
 * registry.c the table of objects.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <uv.h>

#include "conf.h"
#include "dipc_config.h"
#include "server.h"

#define DEFAULT_CONF "/etc/dipc.conf"

typedef struct referee {
	ref_server *server;
	uv_signal_t sigterm, sigint;
	bool stopping;
} referee;

static gboolean verbose;

/* ---- logging -------------------------------------------------------------- */

static void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *msg,
			gpointer ud)
{
	const char *tag = "";

	if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) && !verbose)
		return;
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		tag = "error: ";
	else if (level & G_LOG_LEVEL_WARNING)
		tag = "warning: ";
	fprintf(stderr, "dipc-referee: %s%s\n", tag, msg);
}

/* meson passes -DG_LOG_USE_STRUCTURED=0, and gmessages.h only tests whether
 * it is defined: g_message() and friends go to the structured writer.  Both
 * paths end in log_handler(). */
static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields,
				   gsize n_fields, gpointer ud)
{
	g_autofree char *msg = NULL;

	for (gsize i = 0; i < n_fields; i++) {
		if (strcmp(fields[i].key, "MESSAGE") != 0)
			continue;
		msg = fields[i].length < 0 ? g_strdup(fields[i].value)
					   : g_strndup(fields[i].value, (gsize)fields[i].length);
		break;
	}
	log_handler(NULL, level, msg ? msg : "", NULL);
	return G_LOG_WRITER_HANDLED;
}

/* ---- start and stop ------------------------------------------------------- */

static void on_signal(uv_signal_t *s, int signum)
{
	referee *rf = s->data;

	if (rf->stopping)
		return;
	g_message("%s: shutting down", strsignal(signum));
	rf->stopping = true;
	ref_server_stop(rf->server);
	uv_close((uv_handle_t *)&rf->sigterm, NULL);
	uv_close((uv_handle_t *)&rf->sigint, NULL);
}

/* Options; returns false (having said why) if the process should exit 1,
 * and sets *ret_exit_now for --version. */
static bool parse_options(int *argc, char ***argv, char **ret_conf_path, bool *ret_exit_now)
{
	g_autoptr(GOptionContext) ctx = NULL;
	gboolean version = FALSE;
	GError *error = NULL;
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, ret_conf_path,
		  "Configuration file (default " DEFAULT_CONF ")", "CONF" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
		  "Log every request (debug messages)", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "Print the version and exit", NULL },
		{ NULL },
	};

	ctx = g_option_context_new("- the name server of a dipcfs cluster");
	g_option_context_set_summary(ctx,
		"Arbitrates key creation, assigns ids and tracks the membership of the\n"
		"nodes that share its [cluster] secret.  Runs in the foreground; stop it\n"
		"with SIGTERM or SIGINT.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		g_printerr("dipc-referee: %s (see --help)\n", error->message);
		g_error_free(error);
		return false;
	}
	if (*argc > 1) {
		g_printerr("dipc-referee: unexpected argument '%s' (see --help)\n", (*argv)[1]);
		return false;
	}
	if (version) {
		printf("dipc-referee %s\n", DIPC_VERSION);
		*ret_exit_now = true;
	}
	return true;
}

int main(int argc, char **argv)
{
	g_autofree char *conf_path = NULL;
	GError *error = NULL;
	referee rf = { 0 };
	dipc_conf *conf;
	bool exit_now = false;
	uv_loop_t loop;

	if (!parse_options(&argc, &argv, &conf_path, &exit_now))
		return 1;
	if (exit_now)
		return 0;
	g_log_set_default_handler(log_handler, NULL);
	g_log_set_writer_func(log_writer, NULL, NULL);
	signal(SIGPIPE, SIG_IGN);

	conf = dipc_conf_load(conf_path ? conf_path : DEFAULT_CONF, NULL, false, &error);
	if (!conf) {
		g_printerr("dipc-referee: %s\n", error->message);
		g_error_free(error);
		return 1;
	}

	uv_loop_init(&loop);
	rf.server = ref_server_new(&loop, conf, verbose);
	if (ref_server_listen(rf.server) < 0) {
		ref_server_stop(rf.server);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		ref_server_free(rf.server);
		dipc_conf_free(conf);
		return 1;
	}
	uv_signal_init(&loop, &rf.sigterm);
	uv_signal_init(&loop, &rf.sigint);
	rf.sigterm.data = rf.sigint.data = &rf;
	uv_signal_start(&rf.sigterm, on_signal, SIGTERM);
	uv_signal_start(&rf.sigint, on_signal, SIGINT);

	g_message("listening on %s (config %s)", conf->referee_listen, conf->path);
	uv_run(&loop, UV_RUN_DEFAULT);

	if (uv_loop_close(&loop) != 0)
		g_message("event loop still busy at exit");
	ref_server_free(rf.server);
	dipc_conf_free(conf);
	return 0;
}
