/* SPDX-License-Identifier: MIT */
/**
 * @file test_conf.c
 *
 * dipc.conf loading: a full valid file, defaults, [node.NAME] overrides, the
 * annotated example at the top of the tree, and one bad file per class of
 * mistake, each of which must fail with a message naming the key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "conf.h"

static char *tmpdir;

static const char base[] =
	"[cluster]\n"
	"secret = 0123456789abcdef-test\n"
	"referee = 127.0.0.1:7530\n";

/* Write text to a fresh file in tmpdir; returns its path. */
static char *write_conf(const char *text)
{
	static unsigned n;
	char *path = g_strdup_printf("%s/c%u.conf", tmpdir, n++);
	GError *e = NULL;

	g_assert_true(g_file_set_contents(path, text, -1, &e));
	g_assert_no_error(e);
	return path;
}

static dipc_conf *load(const char *text, const char *node, bool for_node, GError **e)
{
	g_autofree char *path = write_conf(text);

	return dipc_conf_load(path, node, for_node, e);
}

/* The file must fail, with a message containing every one of the needles. */
static void expect_fail(const char *text, bool for_node, const char *needle1,
			const char *needle2)
{
	GError *e = NULL;
	dipc_conf *c = load(text, "node1", for_node, &e);

	if (c)
		g_error("accepted:\n%s", text);
	g_assert_nonnull(e);
	g_test_message("%s", e->message);
	if (!strstr(e->message, needle1) || (needle2 && !strstr(e->message, needle2)))
		g_error("message '%s' lacks '%s'/'%s'", e->message, needle1,
			needle2 ? needle2 : "");
	g_error_free(e);
}

static void test_full(void)
{
	static const char text[] =
		"# a comment\n"
		"[cluster]\n"
		"secret = 0123456789abcdef-full\n"
		"referee = 127.0.0.1:7000\n"
		"allowed_hosts = 10.0.0.0/8, 192.168.1.7, fd00::/8, ::1\n"
		"heartbeat_ms = 200\n"
		"dead_after_ms = 900\n"
		"request_timeout_ms = 3000\n"
		"reserve_timeout_ms = 4000\n"
		"[referee]\n"
		"listen = 127.0.0.1:7000\n"
		"[node]\n"
		"name = alpha\n"
		"listen = 0.0.0.0:7100\n"
		"mountpoint = /mnt/dipc\n"
		"[node.beta]\n"
		"listen = 127.0.0.1:7200\n"
		"mountpoint = /mnt/beta\n"
		"[limits]\n"
		"semmni = 100\n"
		"semmsl = 300\n"
		"semmns = 5000\n"
		"semopm = 40\n"
		"semvmx = 1000\n"
		"msgmni = 50\n"
		"msgmax = 60000\n"
		"msgmnb = 70000\n"
		"max_frame = 65536\n"
		"max_parked = 77\n"
		"max_connections = 9\n"
		"[policy]\n"
		"keys = 0x1234, 100-200, private\n";
	GError *e = NULL;
	g_autoptr(dipc_conf) a = load(text, NULL, true, &e);
	g_autoptr(dipc_conf) b = NULL;

	g_assert_no_error(e);
	g_assert_nonnull(a);
	g_assert_cmpstr(a->secret, ==, "0123456789abcdef-full");
	g_assert_cmpstr(a->referee, ==, "127.0.0.1:7000");
	g_assert_cmpuint(a->n_allowed, ==, 4);
	g_assert_cmpuint(a->heartbeat_ms, ==, 200);
	g_assert_cmpuint(a->dead_after_ms, ==, 900);
	g_assert_cmpuint(a->request_timeout_ms, ==, 3000);
	g_assert_cmpuint(a->reserve_timeout_ms, ==, 4000);
	g_assert_cmpstr(a->referee_listen, ==, "127.0.0.1:7000");
	g_assert_cmpstr(a->node_name, ==, "alpha");
	g_assert_cmpstr(a->node_listen, ==, "0.0.0.0:7100");
	g_assert_cmpstr(a->mountpoint, ==, "/mnt/dipc");
	g_assert_cmpuint(a->semmni, ==, 100);
	g_assert_cmpuint(a->semmsl, ==, 300);
	g_assert_cmpuint(a->semmns, ==, 5000);
	g_assert_cmpuint(a->semopm, ==, 40);
	g_assert_cmpuint(a->semvmx, ==, 1000);
	g_assert_cmpuint(a->msgmni, ==, 50);
	g_assert_cmpuint(a->msgmax, ==, 60000);
	g_assert_cmpuint(a->msgmnb, ==, 70000);
	g_assert_cmpuint(a->max_frame, ==, 65536);
	g_assert_cmpuint(a->max_parked, ==, 77);
	g_assert_cmpuint(a->max_connections, ==, 9);
	g_assert_cmpstr(a->policy_keys, ==, "0x1234, 100-200, private");

	/* The same file as node beta: [node.beta] wins over [node]. */
	b = load(text, "beta", true, &e);
	g_assert_no_error(e);
	g_assert_cmpstr(b->node_name, ==, "beta");
	g_assert_cmpstr(b->node_listen, ==, "127.0.0.1:7200");
	g_assert_cmpstr(b->mountpoint, ==, "/mnt/beta");
}

static void test_defaults(void)
{
	GError *e = NULL;
	g_autofree char *text = g_strdup_printf("%s[node]\nlisten = 127.0.0.1:7531\n", base);
	g_autoptr(dipc_conf) c = load(text, "n1", true, &e);
	g_autoptr(dipc_conf) r = NULL;

	g_assert_no_error(e);
	g_assert_cmpuint(c->heartbeat_ms, ==, 1000);
	g_assert_cmpuint(c->dead_after_ms, ==, 5000);
	g_assert_cmpuint(c->request_timeout_ms, ==, 10000);
	g_assert_cmpuint(c->reserve_timeout_ms, ==, 10000);
	g_assert_cmpstr(c->referee_listen, ==, "0.0.0.0:7530");
	g_assert_cmpstr(c->mountpoint, ==, "/dipc");
	g_assert_cmpuint(c->semmni, ==, 32000);
	g_assert_cmpuint(c->semmsl, ==, 8000);
	g_assert_cmpuint(c->semmns, ==, 1024000000);
	g_assert_cmpuint(c->semopm, ==, 500);
	g_assert_cmpuint(c->semvmx, ==, 32767);
	g_assert_cmpuint(c->msgmni, ==, 32000);
	g_assert_cmpuint(c->msgmax, ==, 8192);
	g_assert_cmpuint(c->msgmnb, ==, 16384);
	g_assert_cmpuint(c->max_frame, ==, 1048576);
	g_assert_cmpuint(c->max_parked, ==, 10000);
	g_assert_cmpuint(c->max_connections, ==, 256);
	g_assert_cmpuint(c->max_handshakes, ==, 64);
	g_assert_cmpuint(c->max_conn_per_host, ==, 32);
	g_assert_cmpuint(c->handshake_ms, ==, 2000);
	g_assert_false(c->encrypt);
	g_assert_cmpstr(c->policy_keys, ==, "none");
	g_assert_cmpuint(c->n_allowed, ==, 2);

	/* The referee needs no node keys; node name defaults to the host name. */
	r = load(base, NULL, false, &e);
	g_assert_no_error(e);
	g_assert_nonnull(r->node_name);
	g_assert_cmpstr(r->node_listen, ==, "");

	/* A v6 referee: the default listen is the v6 wildcard. */
	{
		g_autoptr(dipc_conf) v6 = load("[cluster]\nsecret = 0123456789abcdef\n"
					       "referee = [::1]:7600\n", NULL, false, &e);

		g_assert_no_error(e);
		g_assert_cmpstr(v6->referee_listen, ==, "[::]:7600");
	}
	/* dead_after_ms follows heartbeat_ms by default. */
	{
		g_autofree char *t = g_strdup_printf("%sheartbeat_ms = 3000\n", base);
		g_autoptr(dipc_conf) h = load(t, NULL, false, &e);

		g_assert_no_error(e);
		g_assert_cmpuint(h->dead_after_ms, ==, 15000);
	}
	/* The transport's budgets follow max_connections; handshake_ms stays
	 * below dead_after_ms. */
	{
		g_autofree char *t = g_strdup_printf("%sheartbeat_ms = 100\nencrypt = yes\n"
						     "[limits]\nmax_connections = 4\n", base);
		g_autoptr(dipc_conf) h = load(t, NULL, false, &e);

		g_assert_no_error(e);
		g_assert_true(h->encrypt);
		g_assert_cmpuint(h->handshake_ms, ==, 500);
		g_assert_cmpuint(h->max_handshakes, ==, 4);
		g_assert_cmpuint(h->max_conn_per_host, ==, 4);
	}
}

static void test_example(void)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "..", "..", "dipc.conf", NULL);
	GError *e = NULL;
	const char *names[] = { "node1", "node2", "node3" };

	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(dipc_conf) c = dipc_conf_load(path, names[i], true, &e);
		g_autofree char *listen = g_strdup_printf("127.0.0.1:%u", 7531 + i);
		g_autofree char *mnt = g_strdup_printf("/tmp/dipc/%s", names[i]);

		g_assert_no_error(e);
		g_assert_cmpstr(c->node_listen, ==, listen);
		g_assert_cmpstr(c->mountpoint, ==, mnt);
		g_assert_cmpstr(c->referee, ==, "127.0.0.1:7530");
	}
	{
		g_autoptr(dipc_conf) r = dipc_conf_load(path, NULL, false, &e);

		g_assert_no_error(e);
		g_assert_cmpstr(r->referee_listen, ==, "127.0.0.1:7530");
	}
}

static void test_bad(void)
{
	const char *node = "[node]\nlisten = 127.0.0.1:7531\n";
	struct {
		const char *text;
		const char *n1, *n2;
	} cases[] = {
		/* missing / short secret */
		{ "[cluster]\nreferee = 127.0.0.1:1\n", "[cluster] secret", "missing" },
		{ "[cluster]\nsecret = short\nreferee = 127.0.0.1:1\n", "[cluster] secret",
		  "16" },
		/* referee */
		{ "[cluster]\nsecret = 0123456789abcdef\n", "[cluster] referee", "missing" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:70000\n",
		  "[cluster] referee", "port" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:0\n",
		  "[cluster] referee", "port" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1\n",
		  "[cluster] referee", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = ::1:7530\n",
		  "[cluster] referee", "brackets" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:12abc\n",
		  "[cluster] referee", "port" },
		/* unknown group / key */
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\nsecrte = x\n",
		  "secrte", "unknown key" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n[limit]\n",
		  "[limit]", "unknown group" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[node.x]\nname = y\n", "[node.x] name", "unknown key" },
		/* integers */
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nsemopm = 5000\n", "[limits] semopm = 5000",
		  "must be between 1 and 1000" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nsemmni = 12abc\n", "[limits] semmni", "decimal" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nsemmni = -5\n", "[limits] semmni", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nmax_frame = 99999999999999999999999\n", "[limits] max_frame", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nmax_frame = 100\n", "[limits] max_frame", "4096" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nmax_connections = 1\n", "[limits] max_connections", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nmsgmni = 40000\n", "[limits] msgmni", "32768" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nmsgmax = 0\n", "[limits] msgmax", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nmsgmax = 2000000\n", "[limits] msgmax", "max_frame" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nmsgmnb = 0\n", "[limits] msgmnb", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nshmmax = 0\n", "[limits] shmmax", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nshmall = 99999999999999999999999\n", "[limits] shmall", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nshmmni = 0\n", "[limits] shmmni", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[node]\nshm_mode = pages\n", "[node] shm_mode", "page or segment" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[node]\nshm_quantum_ms = 10001\n", "[node] shm_quantum_ms", NULL },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "heartbeat_ms = 10\n", "[cluster] heartbeat_ms", "50" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "heartbeat_ms = 1000\ndead_after_ms = 2000\n", "[cluster] dead_after_ms",
		  "2 * heartbeat_ms" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "request_timeout_ms = 99\n", "[cluster] request_timeout_ms", NULL },
		/* allowed_hosts */
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "allowed_hosts = 10.0.0.0/33\n", "[cluster] allowed_hosts", "prefix" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "allowed_hosts = 10.0.0.0/8, example.com\n", "[cluster] allowed_hosts",
		  "example.com" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "allowed_hosts = 10.0.0.0/8,,::1\n", "[cluster] allowed_hosts", "empty" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "allowed_hosts = 10.0.0.0/x\n", "[cluster] allowed_hosts", NULL },
		/* policy */
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[policy]\nkeys = 0x1234, bogus\n", "[policy] keys", "bogus" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[policy]\nkeys = 200-100\n", "[policy] keys", "200-100" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[policy]\nkeys = all, 5\n", "[policy] keys", NULL },
		/* node */
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[node]\nmountpoint = relative\n", "[node] mountpoint", "absolute" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[node.node3]\nlisten = 127.0.0.1:99999\n", "[node.node3] listen", "port" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[node.bad name]\n", "bad name", NULL },
		{ "this is not a key file\n", "c", NULL },
		/* the transport */
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "encrypt = maybe\n", "[cluster] encrypt", "yes or no" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "handshake_ms = 99\n", "[cluster] handshake_ms", "100" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "handshake_ms = 6000\n", "[cluster] handshake_ms", "5000" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nmax_connections = 10\nmax_handshakes = 11\n",
		  "[limits] max_handshakes", "between 1 and 10" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nmax_handshakes = 4\nmax_conn_per_host = 5\n",
		  "[limits] max_conn_per_host", "between 1 and 4" },
		/* a key or a group given twice (GKeyFile would keep the last) */
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "secret = 0123456789abcdef-again\n", "[cluster] secret", "lines 2 and 4" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nsemmni = 5\n  semmni=6\n", "[limits] semmni", "twice" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[limits]\nsemmni = 5\n[policy]\n[limits]\nsemmsl = 6\n", "[limits]",
		  "group given twice (lines 4 and 7)" },
		{ "[cluster]\nsecret = 0123456789abcdef\nreferee = 127.0.0.1:1\n"
		  "[node.a]\nlisten = 127.0.0.1:2\n[node.a]\n", "[node.a]", "twice" },
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++)
		expect_fail(cases[i].text, false, cases[i].n1, cases[i].n2);

	/* A node needs a listen address; the referee does not. */
	expect_fail(base, true, "listen", "node1");
	{
		g_autofree char *t = g_strdup_printf("%s%s", base, node);
		GError *e = NULL;
		g_autoptr(dipc_conf) c = load(t, "node1", true, &e);

		g_assert_no_error(e);
	}
	/* The same key in two groups is no duplicate, nor a commented one. */
	{
		GError *e = NULL;
		g_autoptr(dipc_conf) c = load("[cluster]\nsecret = 0123456789abcdef\n"
					      "referee = 127.0.0.1:1\n#referee = x\n"
					      "[node]\nlisten = 127.0.0.1:3\n"
					      "[node.n1]\nlisten = 127.0.0.1:4\n", "n1", true, &e);

		g_assert_no_error(e);
		g_assert_cmpstr(c->node_listen, ==, "127.0.0.1:4");
	}
	/* The secret is never printed, not even when given twice. */
	{
		GError *e = NULL;
		dipc_conf *c = load("[cluster]\nsecret = hush-hush-hush-hush\n"
				    "secret = hush-hush-hush-hush2\nreferee = 127.0.0.1:1\n", NULL,
				    false, &e);

		g_assert_null(c);
		g_assert_null(strstr(e->message, "hush"));
		g_error_free(e);
	}
	/* The secret is never printed. */
	{
		GError *e = NULL;
		dipc_conf *c = load("[cluster]\nsecret = hush\nreferee = 127.0.0.1:1\n", NULL,
				    false, &e);

		g_assert_null(c);
		g_assert_null(strstr(e->message, "hush"));
		g_error_free(e);
	}
	/* A missing file names itself. */
	{
		GError *e = NULL;
		dipc_conf *c = dipc_conf_load("/nonexistent/dipc.conf", NULL, false, &e);

		g_assert_null(c);
		g_assert_nonnull(strstr(e->message, "/nonexistent/dipc.conf"));
		g_error_free(e);
	}
}

static void test_hostport(void)
{
	struct sockaddr_storage ss;
	GError *e = NULL;

	g_assert_cmpint(dipc_parse_hostport("127.0.0.1:80", &ss, &e), ==, 0);
	g_assert_cmpint(ss.ss_family, ==, AF_INET);
	g_assert_cmpuint(ntohs(((struct sockaddr_in *)&ss)->sin_port), ==, 80);
	g_assert_cmpint(dipc_parse_hostport("[::1]:65535", &ss, &e), ==, 0);
	g_assert_cmpint(ss.ss_family, ==, AF_INET6);
	g_assert_cmpuint(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), ==, 65535);
	g_assert_cmpint(dipc_parse_hostport("localhost:7", &ss, &e), ==, 0);
	g_assert_no_error(e);

	g_assert_cmpint(dipc_parse_hostport("[::1:80", NULL, &e), <, 0);
	g_clear_error(&e);
	g_assert_cmpint(dipc_parse_hostport("[127.0.0.1]:80", NULL, &e), <, 0);
	g_clear_error(&e);
	g_assert_cmpint(dipc_parse_hostport(":80", NULL, &e), <, 0);
	g_clear_error(&e);
	g_assert_cmpint(dipc_parse_hostport("1.2.3.4:+80", NULL, &e), <, 0);
	g_clear_error(&e);
	g_assert_cmpint(dipc_parse_hostport("no-such-host.invalid:80", NULL, &e), <, 0);
	g_assert_nonnull(e);
	g_clear_error(&e);
}

static bool allowed(const dipc_conf *c, const char *ip)
{
	struct sockaddr_storage ss = { 0 };

	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		g_assert_cmpint(inet_pton(AF_INET6, ip, &s6->sin6_addr), ==, 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		g_assert_cmpint(inet_pton(AF_INET, ip, &s4->sin_addr), ==, 1);
	}
	return dipc_conf_host_allowed(c, (struct sockaddr *)&ss);
}

static void test_allowed(void)
{
	GError *e = NULL;
	g_autofree char *t = g_strdup_printf(
		"%sallowed_hosts = 10.1.2.3/16, 192.168.7.9, fd00::/8, ::1, 172.16.0.0/12, "
		"::ffff:1.2.3.0/120\n", base);
	g_autoptr(dipc_conf) c = load(t, NULL, false, &e);
	g_autoptr(dipc_conf) d = NULL;

	g_assert_no_error(e);
	g_assert_true(allowed(c, "10.1.0.1"));
	g_assert_true(allowed(c, "10.1.255.255"));
	g_assert_false(allowed(c, "10.2.0.1"));
	g_assert_true(allowed(c, "192.168.7.9"));
	g_assert_false(allowed(c, "192.168.7.8"));
	g_assert_true(allowed(c, "172.31.1.1"));
	g_assert_false(allowed(c, "172.32.1.1"));
	g_assert_true(allowed(c, "fd12::1"));
	g_assert_false(allowed(c, "fe80::1"));
	g_assert_true(allowed(c, "::1"));
	g_assert_false(allowed(c, "::2"));
	/* v4-mapped peers count as v4, both ways. */
	g_assert_true(allowed(c, "::ffff:10.1.3.4"));
	g_assert_false(allowed(c, "::ffff:10.9.3.4"));
	g_assert_true(allowed(c, "1.2.3.77"));
	g_assert_false(allowed(c, "127.0.0.1"));

	d = load(base, NULL, false, &e);
	g_assert_no_error(e);
	g_assert_true(allowed(d, "127.0.0.1"));
	g_assert_true(allowed(d, "127.200.0.1"));
	g_assert_true(allowed(d, "::ffff:127.0.0.1"));
	g_assert_true(allowed(d, "::1"));
	g_assert_false(allowed(d, "10.0.0.1"));

	{
		g_autofree char *all = g_strdup_printf("%sallowed_hosts = 0.0.0.0/0, ::/0\n", base);
		g_autoptr(dipc_conf) a = load(all, NULL, false, &e);

		g_assert_no_error(e);
		g_assert_true(allowed(a, "8.8.8.8"));
		g_assert_true(allowed(a, "2001:db8::1"));
	}
}

static void test_policy(void)
{
	const char *good[] = { "none", "all", "", "  none  ", "private", "0x1234",
			       "4660, 0x10-0x20, private", "0 - 5", "011064",
			       "0xffffffff", "1,2,3",
			       /* the grammar's white space, '\v' too (fuzz_policy
				* found the daemon's old copy refusing it) */
			       "\v", "\v5\f", "\v0x10 -\v0x20,\r7" };
	const char *bad[] = { "none,1", "x", "1,", ",1", "-5", "0x100000000", "5-",
			      "5-3", "1 2", "08", "Private", "all private", "0x" };

	for (unsigned i = 0; i < G_N_ELEMENTS(good); i++) {
		GError *e = NULL;

		if (!dipc_policy_valid(good[i], &e))
			g_error("'%s' rejected: %s", good[i], e->message);
	}
	/* As many items as the grammar takes (2048; the daemon's old copy
	 * stopped at 128), and not one more. */
	{
		GString *many = g_string_new("1");
		GError *e = NULL;

		for (int i = 1; i < 2048; i++)
			g_string_append(many, ",1");
		g_assert_true(dipc_policy_valid(many->str, &e));
		g_string_append(many, ",1");
		g_assert_false(dipc_policy_valid(many->str, &e));
		g_clear_error(&e);
		g_string_free(many, TRUE);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		GError *e = NULL;

		if (dipc_policy_valid(bad[i], &e))
			g_error("'%s' accepted", bad[i]);
		g_assert_nonnull(e);
		g_error_free(e);
	}
}

int main(int argc, char **argv)
{
	int r;

	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("dipc-test-conf-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);
	g_test_add_func("/conf/full", test_full);
	g_test_add_func("/conf/defaults", test_defaults);
	g_test_add_func("/conf/example", test_example);
	g_test_add_func("/conf/bad", test_bad);
	g_test_add_func("/conf/hostport", test_hostport);
	g_test_add_func("/conf/allowed", test_allowed);
	g_test_add_func("/conf/policy", test_policy);
	r = g_test_run();
	{
		GDir *d = g_dir_open(tmpdir, 0, NULL);
		const char *name;

		while (d && (name = g_dir_read_name(d))) {
			g_autofree char *p = g_build_filename(tmpdir, name, NULL);

			g_unlink(p);
		}
		if (d)
			g_dir_close(d);
		g_rmdir(tmpdir);
	}
	g_free(tmpdir);
	return r;
}
