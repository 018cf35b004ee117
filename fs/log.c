/* SPDX-License-Identifier: MIT */
/**
 * @file log.c
 *
 * Where mount.dipcfs's log lines go.  In the foreground: stderr, as
 * "mount.dipcfs[NODE]: LEVEL: message" (the test harness and the demo read
 * it), unless -o log=FILE names a file.  In the background, where
 * fuse_daemonize() has pointed stderr at /dev/null: that file if there is
 * one, otherwise the
 * journal when systemd-journald is running (its native socket, through
 * GLib's journald writer: no libsystemd needed), otherwise syslog with the
 * daemon facility.  The levels are GLib's: debug lines only with DIPC_DEBUG
 * set to anything but "" or "0", as the shim reads it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

enum log_sink { SINK_STDERR, SINK_FILE, SINK_JOURNAL, SINK_SYSLOG };

static struct {
	enum log_sink sink;
	FILE *file;
	const char *node;
} lg = { SINK_STDERR, NULL, "?" };

static const char *level_word(GLogLevelFlags level)
{
	return (level & G_LOG_LEVEL_ERROR) ? "ERROR"
	       : (level & G_LOG_LEVEL_CRITICAL) ? "CRITICAL"
	       : (level & G_LOG_LEVEL_WARNING) ? "WARNING"
	       : (level & G_LOG_LEVEL_DEBUG) ? "debug" : NULL;
}

static int syslog_priority(GLogLevelFlags level)
{
	return (level & G_LOG_LEVEL_ERROR) ? LOG_ERR
	       : (level & G_LOG_LEVEL_CRITICAL) ? LOG_CRIT
	       : (level & G_LOG_LEVEL_WARNING) ? LOG_WARNING
	       : (level & G_LOG_LEVEL_MESSAGE) ? LOG_NOTICE
	       : (level & G_LOG_LEVEL_INFO) ? LOG_INFO : LOG_DEBUG;
}

static void to_journal(const gchar *domain, GLogLevelFlags level, const gchar *msg)
{
	char prio[2] = { (char)('0' + syslog_priority(level)), 0 };
	const GLogField fields[] = {
		{ "MESSAGE", msg, -1 },
		{ "PRIORITY", prio, -1 },
		{ "SYSLOG_IDENTIFIER", "mount.dipcfs", -1 },
		{ "DIPC_NODE", lg.node, -1 },
		{ "GLIB_DOMAIN", domain ? domain : "", -1 },
	};
	if (g_log_writer_journald(level, fields, G_N_ELEMENTS(fields), NULL) != G_LOG_WRITER_HANDLED)
		syslog(syslog_priority(level), "%s", msg);
}

/* DIPC_DEBUG as the shim reads it: set, non-empty and not "0". */
static bool debug_on(void)
{
	const char *v = g_getenv("DIPC_DEBUG");
	return v && *v && strcmp(v, "0") != 0;
}

static void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *msg,
			gpointer ud)
{
	const char *lvl = level_word(level);

	if ((level & G_LOG_LEVEL_DEBUG) && !debug_on())
		return;
	switch (lg.sink) {
	case SINK_STDERR:
		fprintf(stderr, "mount.dipcfs[%s]: %s%s%s\n", lg.node, lvl ? lvl : "",
			lvl ? ": " : "", msg);
		break;
	case SINK_FILE: {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", localtime_r(&now, &tm));
		fprintf(lg.file, "%s mount.dipcfs[%s]: %s%s%s\n", stamp, lg.node, lvl ? lvl : "",
			lvl ? ": " : "", msg);
		fflush(lg.file);
		break;
	}
	case SINK_JOURNAL:
		to_journal(domain, level, msg);
		break;
	case SINK_SYSLOG:
		syslog(syslog_priority(level), "%s", msg);
		break;
	}
}

int node_log_start(dipc_node *n, const char *file)
{
	lg.node = n->name ? n->name : "?";
	if (file) {
		lg.file = fopen(file, "ae");
		if (!lg.file)
			return -errno;
		lg.sink = SINK_FILE;   /* in the foreground too: the operator asked */
	}
	g_log_set_default_handler(log_handler, NULL);
	return 0;
}

void node_log_detached(dipc_node *n)
{
	if (lg.file)
		lg.sink = SINK_FILE;
	else if (access("/run/systemd/journal/socket", W_OK) == 0)
		lg.sink = SINK_JOURNAL;
	else
		lg.sink = SINK_SYSLOG;
	if (lg.sink != SINK_FILE)
		openlog("mount.dipcfs", LOG_PID, LOG_DAEMON);
}
