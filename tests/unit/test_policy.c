/* SPDX-License-Identifier: MIT */
/**
 * @file test_policy.c
 *
 * Policy parity: one key policy text, seen by the daemon and by the shim,
 * gets one answer.  For every input (plain, odd and hostile):
 *
 *   - the daemon's conf path: dipc.conf [policy] keys = INPUT through
 *     dipc_conf_load(), accepted or refused with a message;
 *   - the shim's file path: what the daemon would write to MOUNT/.policy
 *     (the value and a newline), read by the built libdipc.so in a probe
 *     program (policy_probe.c) under LD_PRELOAD;
 *   - the shim's environment path: DIPC_KEYS=INPUT, the same probe.
 *
 * The probe reports for a list of keys whether the shim distributed them;
 * the expected answer is dipc_policy_match() of the parse.  Requirements:
 * the conf path and the file path agree (accept, or refuse with the same
 * reason); the environment path agrees with the conf path whenever the text
 * fits the carrier (one line of at most DIPC_POLICY_MAX_LINE bytes: the
 * daemon refuses others outright); and an accepted policy distributes
 * exactly the keys it names.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "conf.h"
#include "policy.h"

static char *tmpdir;
static const char *shim, *probe;

struct verdict {
	bool ok;
	bool carrier; /* refused before the grammar: not UTF-8 (GKeyFile) */
	char *why;   /* the reason of a refusal, as both sides word it */
	char *keys;  /* the probe's output (shim paths only) */
};

static void verdict_clear(struct verdict *v)
{
	g_free(v->why);
	g_free(v->keys);
}

/* A GKeyFile value that reads back as s. */
static char *keyfile_escape(const char *s)
{
	GString *g = g_string_new(NULL);

	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '\\': g_string_append(g, "\\\\"); break;
		case '\n': g_string_append(g, "\\n"); break;
		case '\r': g_string_append(g, "\\r"); break;
		case '\t': g_string_append(g, "\\t"); break;
		case ' ': g_string_append(g, p == s ? "\\s" : " "); break;
		default: g_string_append_c(g, *p);
		}
	}
	return g_string_free(g, FALSE);
}

static struct verdict conf_verdict(const char *input)
{
	g_autofree char *path = g_build_filename(tmpdir, "dipc.conf", NULL);
	g_autofree char *esc = keyfile_escape(input);
	g_autofree char *text = g_strdup_printf("[cluster]\nsecret = 0123456789abcdef-test\n"
						"referee = 127.0.0.1:7530\n"
						"[policy]\nkeys = %s\n", esc);
	g_autofree char *value = g_strstrip(g_strdup(input));
	g_autofree char *prefix = NULL;
	struct verdict v = { 0 };
	GError *e = NULL;
	dipc_conf *c;

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	c = dipc_conf_load(path, "n1", false, &e);
	v.ok = c != NULL;
	if (c) {
		/* what the daemon will write to .policy */
		g_assert_cmpstr(c->policy_keys, ==, value);
		dipc_conf_free(c);
		return v;
	}
	g_assert_nonnull(e);
	prefix = g_strdup_printf("%s: [policy] keys = %s: ", path, value);
	if (!g_utf8_validate(input, -1, NULL)) {
		g_autofree char *enc = g_strdup_printf("%s: [policy] keys: ", path);

		g_assert_true(g_str_has_prefix(e->message, enc));
		v.carrier = true;
		g_error_free(e);
		return v;
	}
	if (!g_str_has_prefix(e->message, prefix))
		g_error("unexpected conf error for \"%s\": %s", input, e->message);
	v.why = g_strdup(e->message + strlen(prefix));
	g_error_free(e);
	return v;
}

/* The keys to ask about: fixed ones and the edges of the first ranges. */
static GPtrArray *probe_keys(const struct dipc_policy *p)
{
	static const guint32 fixed[] = { 0, 1, 2, 5, 0x10, 0x1234, 0x7fffffff, 0x80000000,
					 0xdeadbeef, 0xfffffffe, 0xffffffff };
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

	for (unsigned i = 0; i < G_N_ELEMENTS(fixed); i++)
		g_ptr_array_add(a, g_strdup_printf("0x%x", fixed[i]));
	for (unsigned i = 0; i < p->n && i < 4; i++) {
		guint32 lo = p->range[i].lo, hi = p->range[i].hi;

		g_ptr_array_add(a, g_strdup_printf("0x%x", lo));
		g_ptr_array_add(a, g_strdup_printf("0x%x", hi));
		if (lo > 0)
			g_ptr_array_add(a, g_strdup_printf("0x%x", lo - 1));
		if (hi < G_MAXUINT32)
			g_ptr_array_add(a, g_strdup_printf("0x%x", hi + 1));
	}
	return a;
}

static char *expected_keys(const struct dipc_policy *p, GPtrArray *keys)
{
	GString *g = g_string_new(NULL);

	for (unsigned i = 0; i < keys->len; i++) {
		guint32 k = (guint32)g_ascii_strtoull(keys->pdata[i], NULL, 0);

		g_string_append_printf(g, "0x%x %s\n", k,
				       dipc_policy_match(p, (key_t)k) ? "dipc" : "kernel");
	}
	return g_string_free(g, FALSE);
}

/* Run the probe under the shim, the policy from the environment (env_text)
 * or from MOUNT/.policy (file_text, written as the daemon writes it). */
static struct verdict shim_verdict(const char *env_text, const char *file_text,
				   GPtrArray *keys)
{
	g_autofree char *mount = g_build_filename(tmpdir, "mnt", NULL);
	g_autofree char *pfile = g_build_filename(mount, ".policy", NULL);
	g_autofree char *out = NULL, *err = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_auto(GStrv) envp = NULL;
	const char *text = env_text ? env_text : file_text;
	const char *source = env_text ? "DIPC_KEYS" : pfile;
	struct verdict v = { 0 };
	GError *e = NULL;
	int status;

	g_mkdir_with_parents(mount, 0755);
	g_unlink(pfile);
	if (file_text) {
		g_autofree char *line = g_strdup_printf("%s\n", file_text);

		g_assert_true(g_file_set_contents(pfile, line, -1, NULL));
	}
	envp = g_environ_unsetenv(g_get_environ(), "DIPC_KEYS");
	envp = g_environ_unsetenv(envp, "DIPC_DEBUG");
	envp = g_environ_setenv(envp, "LD_PRELOAD", shim, TRUE);
	envp = g_environ_setenv(envp, "DIPC_MOUNT", mount, TRUE);
	envp = g_environ_setenv(envp, "DIPC_REQUIRE", "1", TRUE);
	if (env_text)
		envp = g_environ_setenv(envp, "DIPC_KEYS", env_text, TRUE);
	g_ptr_array_add(argv, (char *)probe);
	for (unsigned i = 0; i < keys->len; i++)
		g_ptr_array_add(argv, keys->pdata[i]);
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &out,
			  &err, &status, &e))
		g_error("cannot run %s: %s", probe, e->message);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	v.keys = g_steal_pointer(&out);

	g_autofree char *head = g_strdup_printf("invalid key policy in %s (", source);
	g_autofree char *shown = g_strndup(text, 200);
	g_autofree char *tail = g_strdup_printf("): \"%s\"; distributing no keys without "
						"IPC_DIPC\n", shown);
	char *at = strstr(err, head);

	if (at) {
		char *why = at + strlen(head), *end = strstr(why, tail);

		g_assert_nonnull(end);
		v.why = g_strndup(why, (size_t)(end - why));
	} else if ((at = strstr(err, "cannot read the key policy"))) {
		v.why = g_strdup(at); /* the carrier refused it (a line too long) */
	} else {
		v.ok = true;
	}
	return v;
}

static void check_one(const char *input)
{
	struct dipc_policy *p = g_new0(struct dipc_policy, 1);
	struct dipc_policy_error perr;
	bool parses = dipc_policy_parse(input, p, &perr) == 0;
	g_autofree char *stripped = g_strstrip(g_strdup(input));
	bool fits = !strchr(stripped, '\n') && strlen(stripped) <= DIPC_POLICY_MAX_LINE &&
		    g_utf8_validate(input, -1, NULL);
	g_autoptr(GPtrArray) keys = probe_keys(p);
	g_autofree char *want = expected_keys(p, keys);
	struct dipc_policy *none = g_new0(struct dipc_policy, 1);
	g_autofree char *want_none = expected_keys(none, keys);
	struct verdict c = conf_verdict(input), env = shim_verdict(input, NULL, keys);
	g_autofree char *shown = g_strndup(input, 60);

	/* the environment: the grammar, and the keys it names */
	g_assert_cmpint(env.ok, ==, parses);
	g_assert_cmpstr(env.keys, ==, parses ? want : want_none);
	if (fits) {
		if (c.ok != env.ok || g_strcmp0(c.why, env.why) != 0)
			g_error("\"%s\": conf says %s (%s), DIPC_KEYS says %s (%s)", shown,
				c.ok ? "ok" : "no", c.why, env.ok ? "ok" : "no", env.why);
	} else {
		g_assert_false(c.ok); /* the daemon does not start on it */
	}
	/* the file the daemon writes, when it starts */
	if (c.ok || fits) {
		struct verdict f = shim_verdict(NULL, stripped, keys);

		if (c.ok != f.ok || g_strcmp0(c.why, f.why) != 0)
			g_error("\"%s\": conf says %s (%s), .policy says %s (%s)", shown,
				c.ok ? "ok" : "no", c.why, f.ok ? "ok" : "no", f.why);
		if (f.ok)
			g_assert_cmpstr(f.keys, ==, want);
		verdict_clear(&f);
	}
	verdict_clear(&c);
	verdict_clear(&env);
	g_free(none);
	g_free(p);
}

static char *repeat(const char *item, unsigned n, const char *sep)
{
	GString *g = g_string_new(NULL);

	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(g, "%s%s", i ? sep : "", item);
	return g_string_free(g, FALSE);
}

static void test_parity(void)
{
	static const char *const inputs[] = {
		/* accepted */
		"none", "all", "", "  none  ", "private", "0x1234", "4660, 0x10-0x20, private",
		"0 - 5", "011064", "0xffffffff", "1,2,3", "0X1F", "\t1 ,\t2", "0-0xffffffff",
		"0x80000000-0xffffffff", "private, private", "5-5", " all ", "\v1\f,\r2",
		/* refused by the grammar */
		"none,1", "1,none", "all,all", "x", "1,", ",1", ",", "1,,2", "1, ,2", "-5", "+1",
		"0x100000000", "5-", "5 - ,1", "-", "5-3", "1 2", "1-2-3", "08", "0x", "0xg",
		"12ab", "1e3", "1.5", "1_000", "Private", "ALL", "all private", "private5",
		"private-5", "0x12-zz", "1;2", "\x01\x02junk", "\xff\xfe", "1\x7f",
		"99999999999999999999999999999999", "18446744073709551616",
		"18446744073709551615", "4294967296", "0x1-0x100000000", "0777777777777",
		/* refused by the carrier (the daemon), or only by the environment */
		"1,\n2", "\n", "1\n",
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(inputs); i++)
		check_one(inputs[i]);
}

static void test_limits(void)
{
	g_autofree char *max = repeat("0", DIPC_POLICY_MAX_ITEMS, ",");        /* 4095 bytes */
	g_autofree char *over = repeat("0", DIPC_POLICY_MAX_ITEMS + 1, ",");   /* 4097 bytes */
	g_autofree char *many = repeat("1", 30000, ","); /* under MAX_ARG_STRLEN */
	g_autofree char *wide = repeat("1", 300, " , ");                       /* 300 items */
	g_autofree char *longline = g_strdup_printf("1,%*s2", 4092, "");       /* 4095 bytes */
	g_autofree char *tooline = g_strdup_printf("1,%*s2", 4093, "");        /* 4096 bytes */
	g_autofree char *junk = g_strnfill(5000, 'z');
	g_autofree char *sevens = repeat("7", 100, ",");
	g_autofree char *last_bad = g_strdup_printf("%s,08", sevens);

	g_assert_cmpuint(strlen(max), ==, DIPC_POLICY_MAX_LINE);
	g_assert_cmpuint(strlen(longline), ==, DIPC_POLICY_MAX_LINE);
	check_one(max);
	check_one(over);
	check_one(many);
	check_one(wide);
	check_one(longline);
	check_one(tooline);
	check_one(junk);
	check_one(last_bad);
}

/* The wording both sides share, for the common mistakes. */
static void test_messages(void)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
		{ "08", "malformed key: \"08\"" },
		{ "1, 5-3", "range with its end below its start: \"5-3\"" },
		{ "1,,2", "empty item at byte 2" },
		{ "1 2", "expected ',' between items: \"1 2\"" },
		{ "0x100000000", "key above 0xffffffff: \"0x100000000\"" },
		{ "none, 1", "\"none\" and \"all\" stand alone, not in a list: \"none\"" },
		{ "5-", "range without an end: \"5-\"" },
		{ "a\x01" "b", "expected a key, a range or \"private\": \"a?b\"" },
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct verdict v = conf_verdict(cases[i].in);

		g_assert_false(v.ok);
		g_assert_cmpstr(v.why, ==, cases[i].why);
		verdict_clear(&v);
	}
	{
		g_autofree char *over = repeat("0", DIPC_POLICY_MAX_ITEMS + 1, ",");
		struct dipc_policy_error e;
		char why[128];

		g_assert_cmpint(dipc_policy_parse(over, NULL, &e), ==, -EINVAL);
		dipc_policy_describe(over, &e, why, sizeof(why));
		g_assert_cmpstr(why, ==, "more than 2048 items: \"0\"");
	}
}

int main(int argc, char **argv)
{
	int r;

	g_test_init(&argc, &argv, NULL);
	shim = g_getenv("DIPC_TEST_SHIM");
	probe = g_getenv("DIPC_TEST_PROBE");
	if (!shim || !probe)
		g_error("DIPC_TEST_SHIM and DIPC_TEST_PROBE must name the built shim and probe");
	tmpdir = g_dir_make_tmp("dipc-test-policy-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);
	g_test_add_func("/policy/parity", test_parity);
	g_test_add_func("/policy/limits", test_limits);
	g_test_add_func("/policy/messages", test_messages);
	r = g_test_run();
	{
		g_autofree char *mnt = g_build_filename(tmpdir, "mnt", NULL);
		g_autofree char *pf = g_build_filename(mnt, ".policy", NULL);
		g_autofree char *cf = g_build_filename(tmpdir, "dipc.conf", NULL);

		g_unlink(pf);
		g_rmdir(mnt);
		g_unlink(cf);
		g_rmdir(tmpdir);
	}
	g_free(tmpdir);
	return r;
}
