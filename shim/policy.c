/* SPDX-License-Identifier: MIT */
/**
 * @file policy.c
 *
 * The key policy: which keys an xxxget() distributes although the program did
 * not pass IPC_DIPC, so that closed-source SysV programs can be spread over
 * the cluster unchanged.
 *
 * Source: the environment variable DIPC_KEYS if it is set (even to the empty
 * string), else the first line of MOUNT/.policy, which the daemon writes from
 * dipc.conf [policy] keys.  It is read once per process, lazily, at the first
 * xxxget() without IPC_DIPC; a missing file means "none".
 *
 * Grammar (the daemon's common/conf.c validates the same one on its own):
 *
 *   policy := ws ( "none" | "all" | item ( ws "," ws item )* | "" ) ws
 *   item   := "private" | number | number ws "-" ws number
 *   number := a C integer constant without sign: 4660, 0x1234, 011064
 *             (strtoull base 0), at most 0xffffffff
 *   ws     := space, tab, CR, LF, VT, FF, any number of them
 *
 * Keys are compared as unsigned 32-bit values, so a key that ftok() made
 * negative is written in hex (0xdeadbeef).  IPC_PRIVATE is key 0: "private"
 * is the item [0, 0], "all" is [0, 0xffffffff], and a range that starts at 0
 * includes IPC_PRIVATE.  A range needs lo <= hi.  Words are lower case.  An
 * empty policy is "none".  At most DIPC_POLICY_MAX_ITEMS (2048) items; the
 * first line of .policy is at most 4095 bytes (a longer one is an error).
 *
 * An invalid policy is reported once on stderr and treated as "none": a typo
 * must not distribute keys nobody asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

/* ---- the parser (pure) --------------------------------------------------- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const char *skip_ws(const char *s)
{
	while (is_ws(*s))
		s++;
	return s;
}

/* Does s start with word, followed by whitespace, a comma or the end? */
static const char *match_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	if (strncmp(s, word, n) != 0)
		return NULL;
	if (s[n] && !is_ws(s[n]) && s[n] != ',')
		return NULL;
	return s + n;
}

/* A key in C notation at *sp: 0 and *sp moved past it, or -EINVAL (not a
 * number, or a malformed one such as "08" or "0x") or -ERANGE (above
 * 0xffffffff), with *ret_why set. */
static int parse_number(const char **sp, uint32_t *ret, const char **ret_why)
{
	const char *s = *sp;
	if (*s < '0' || *s > '9') {
		*ret_why = "expected a key, a range or \"private\"";
		return -EINVAL; /* no sign, no leading junk strtoull would take */
	}
	char *end;
	int saved = errno;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	int e = errno;
	errno = saved;
	if ((*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'z') ||
	    (*end >= 'A' && *end <= 'Z') || *end == '_' || *end == '.') {
		*ret_why = "malformed key";
		return -EINVAL;
	}
	if (e || v > UINT32_MAX) {
		*ret_why = "key above 0xffffffff";
		return -ERANGE;
	}
	*ret = (uint32_t)v;
	*sp = end;
	return 0;
}

int dipc_policy_parse(const char *s, struct dipc_policy *ret, const char **ret_why)
{
	const char *t;

	ret->n = 0;
	s = skip_ws(s);
	if (!*s)
		return 0; /* empty: none */
	if ((t = match_word(s, "none")) && !*skip_ws(t))
		return 0;
	if ((t = match_word(s, "all")) && !*skip_ws(t)) {
		ret->range[0].lo = 0;
		ret->range[0].hi = UINT32_MAX;
		ret->n = 1;
		return 0;
	}

	for (;;) {
		uint32_t lo, hi;

		if ((t = match_word(s, "private"))) {
			lo = hi = 0;
			s = t;
		} else {
			if (parse_number(&s, &lo, ret_why) < 0)
				goto fail;
			hi = lo;
			const char *u = skip_ws(s);
			if (*u == '-') {
				u = skip_ws(u + 1);
				if (parse_number(&u, &hi, ret_why) < 0)
					goto fail;
				if (hi < lo) {
					*ret_why = "range with its end below its start";
					goto fail;
				}
				s = u;
			}
		}

		if (ret->n == DIPC_POLICY_MAX_ITEMS) {
			*ret_why = "too many items";
			goto fail;
		}
		ret->range[ret->n].lo = lo;
		ret->range[ret->n].hi = hi;
		ret->n++;

		s = skip_ws(s);
		if (!*s)
			break;
		if (*s != ',') {
			*ret_why = "expected ',' between items";
			goto fail;
		}
		s = skip_ws(s + 1);
	}
	return 0;

fail:
	ret->n = 0;
	return -EINVAL;
}

bool dipc_policy_match(const struct dipc_policy *p, key_t key)
{
	uint32_t k = (uint32_t)key;
	for (unsigned i = 0; i < p->n; i++)
		if (k >= p->range[i].lo && k <= p->range[i].hi)
			return true;
	return false;
}

/* ---- loading ------------------------------------------------------------ */

static pthread_once_t policy_once = PTHREAD_ONCE_INIT;
static struct dipc_policy policy; /* "none" until loaded */

/* First line of MOUNT/.policy into buf.  0 = read (possibly empty), 1 = no
 * file, -errno on error (including a first line that does not fit). */
static int read_policy_file(char *buf, size_t size, char *path, size_t path_size)
{
	const char *m = dipc_mount_path();
	if (!m[0])
		return 1;
	int n = snprintf(path, path_size, "%s%s%s", m, strcmp(m, "/") ? "/" : "",
			 DIPC_POLICY_NAME);
	if (n < 0 || (size_t)n >= path_size)
		return 1;

	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? 1 : -errno;

	size_t len = 0;
	int r = 0;
	while (len < size - 1) {
		ssize_t k = read(fd, buf + len, size - 1 - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (memchr(buf + len - (size_t)k, '\n', (size_t)k))
			break;
	}
	close(fd);
	if (r < 0)
		return r;
	buf[len] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	else if (len == size - 1)
		return -EFBIG;
	return 0;
}

static void policy_load(void)
{
	char buf[DIPC_POLICY_MAX_TEXT];
	char path[PATH_MAX];
	const char *text, *source;
	int saved = errno;

	text = getenv("DIPC_KEYS");
	source = "DIPC_KEYS";
	if (!text) {
		int r = read_policy_file(buf, sizeof(buf), path, sizeof(path));
		source = path;
		if (r == 1) {
			dipc_log("no %s: policy \"none\"", DIPC_POLICY_NAME);
			goto out;
		}
		if (r < 0) {
			dipc_log_always("cannot read the key policy %s: %s; distributing no "
					"keys without IPC_DIPC", path, strerror(-r));
			goto out;
		}
		text = buf;
	}

	const char *why = NULL;
	if (dipc_policy_parse(text, &policy, &why) < 0) {
		dipc_log_always("invalid key policy in %s (%s): \"%.200s\"; distributing no "
				"keys without IPC_DIPC", source, why, text);
		goto out;
	}
	dipc_log("key policy from %s: \"%.200s\" (%u range%s)", source, text, policy.n,
		 policy.n == 1 ? "" : "s");
out:
	errno = saved;
}

bool dipc_key_distributed(key_t key, int flags)
{
	if (flags & IPC_DIPC)
		return true;
	pthread_once(&policy_once, policy_load);
	return dipc_policy_match(&policy, key);
}
