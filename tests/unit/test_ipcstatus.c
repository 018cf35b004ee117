/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the shared status-text writer (common/ipcstatus.c): the
 * exact bytes of a header line, a time, the perm block, pid@node cells and
 * tables, which every `cat /MOUNT/sem/KEY` and `cat /MOUNT/msg/KEY` shows.
 */
#include <string.h>
#include <time.h>

#include <glib.h>

#include "ipcstatus.h"

static void test_line(void)
{
	g_autoptr(GString) out = g_string_new(NULL);

	dipc_status_line(out, "nsems", "%u", 12u);
	dipc_status_line(out, "receivers", "%d", 3);
	/* A label of 10 or more columns is not cut; no space is added. */
	dipc_status_line(out, "verylonglabel", "%s", "x");
	dipc_status_removed(out, false);
	dipc_status_removed(out, true);
	g_assert_cmpstr(out->str, ==, "nsems     12\n"
				      "receivers 3\n"
				      "verylonglabelx\n"
				      "removed   yes\n");
}

static void test_time(void)
{
	g_autoptr(GString) out = g_string_new(NULL);

	dipc_status_time(out, "otime", 0);
	dipc_status_time(out, "ctime", 1);
	dipc_status_time(out, "stime", 1795833001); /* 2026-11-28 */
	g_assert_cmpstr(out->str, ==, "otime     never\n"
				      "ctime     1970-01-01 00:00:01 UTC\n"
				      "stime     2026-11-28 02:30:01 UTC\n");

	/* A time gmtime() cannot show is a "?", not garbage. */
	g_string_truncate(out, 0);
	dipc_status_time(out, "rtime", INT64_MAX);
	g_assert_cmpstr(out->str, ==, "rtime     ?\n");
}

static void test_perm(void)
{
	g_autoptr(GString) out = g_string_new(NULL);
	dipc_ipc_perm p = {
		.key = (int32_t) 0xdeadbeefu, .uid = 1000, .gid = 100, .cuid = 2000, .cgid = 200,
		.mode = 03640, .id = 32513,
	};

	dipc_status_perm(out, &p, "node1");
	g_assert_cmpstr(out->str, ==, "key       0xdeadbeef\n"
				      "id        32513\n"
				      "owner     node1\n"
				      "mode      0640\n"
				      "uid       1000\n"
				      "gid       100\n"
				      "cuid      2000\n"
				      "cgid      200\n");

	/* No owner known: "-", whether NULL or empty.  Key 0 is IPC_PRIVATE. */
	p.key = 0;
	g_string_truncate(out, 0);
	dipc_status_perm(out, &p, NULL);
	g_assert_nonnull(strstr(out->str, "key       0x00000000\nid        32513\nowner     -\n"));
	g_string_truncate(out, 0);
	dipc_status_perm(out, &p, "");
	g_assert_nonnull(strstr(out->str, "\nowner     -\n"));
}

static void test_pid(void)
{
	char buf[DIPC_STATUS_PID_LEN], node[64], full[64];

	dipc_status_pid(buf, sizeof(buf), 1234, "node2");
	g_assert_cmpstr(buf, ==, "1234@node2");
	dipc_status_pid(buf, sizeof(buf), 0, "node2");
	g_assert_cmpstr(buf, ==, "0@node2");
	dipc_status_pid(buf, sizeof(buf), 7, NULL);
	g_assert_cmpstr(buf, ==, "7@?");
	dipc_status_pid_or_dash(buf, sizeof(buf), 0, "node2");
	g_assert_cmpstr(buf, ==, "-");
	dipc_status_pid_or_dash(buf, sizeof(buf), -5, "n");
	g_assert_cmpstr(buf, ==, "-5@n");

	/* A node name from the wire without its NUL: read 63 bytes, no more. */
	memset(node, 'x', sizeof(node));
	memset(full, 'x', 63);
	full[63] = '\0';
	dipc_status_pid(buf, sizeof(buf), -2147483647 - 1, node);
	g_assert_true(g_str_has_prefix(buf, "-2147483648@"));
	g_assert_cmpstr(buf + strlen("-2147483648@"), ==, full);
}

static void test_table(void)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(dipc_status_table) t = dipc_status_table_new(3);
	g_autoptr(dipc_status_table) empty = dipc_status_table_new(2);
	g_autofree char *longcell = g_strnfill(300, 'o');
	g_autofree char *expected = NULL;

	dipc_status_table_cell(t, "type");
	dipc_status_table_cell(t, "count");
	dipc_status_table_cell(t, "bytes");
	dipc_status_table_cell(t, "%d", 1234567);
	dipc_status_table_cell(t, "%d", 1);
	dipc_status_table_cell(t, "%s", "a long last cell is not padded");
	dipc_status_table_cell(t, "%d", 5);
	dipc_status_table_cell(t, "%s", longcell);
	dipc_status_table_cell(t, "%d", 2);
	/* An incomplete last row is not shown. */
	dipc_status_table_cell(t, "%s", "dangling");
	dipc_status_table_render(t, out, "");
	expected = g_strdup_printf("type     count%*s  bytes\n"
				   "1234567  1    %*s  a long last cell is not padded\n"
				   "5        %s  2\n", 295, "", 295, "", longcell);
	g_assert_cmpstr(out->str, ==, expected);

	/* With an indent, and a table without rows writes nothing. */
	g_string_truncate(out, 0);
	dipc_status_table_render(empty, out, "  ");
	g_assert_cmpstr(out->str, ==, "");
	dipc_status_table_cell(empty, "%s", "7@n");
	dipc_status_table_cell(empty, "%s", "[0:-1]");
	dipc_status_table_cell(empty, "%s", "1234@node10");
	dipc_status_table_cell(empty, "%s", "[]");
	dipc_status_table_render(empty, out, "  ");
	g_assert_cmpstr(out->str, ==, "  7@n          [0:-1]\n"
				      "  1234@node10  []\n");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/ipcstatus/line", test_line);
	g_test_add_func("/ipcstatus/time", test_time);
	g_test_add_func("/ipcstatus/perm", test_perm);
	g_test_add_func("/ipcstatus/pid", test_pid);
	g_test_add_func("/ipcstatus/table", test_table);

	return g_test_run();
}
