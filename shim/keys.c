/* SPDX-License-Identifier: MIT */
/**
 * @file keys.c
 *
 * Which keys this process distributes although the program did not pass
 * IPC_DIPC (the key policy), so that closed-source SysV programs can be
 * spread over the cluster unchanged.  The grammar, its parser and its
 * matcher are common/policy.c, shared with the daemon's dipc.conf check;
 * this file only finds the text and keeps the result.
 *
 * Source: the environment variable DIPC_KEYS if it is set (even to the empty
 * string), else the first line of MOUNT/.policy, which the daemon writes from
 * dipc.conf [policy] keys.  It is read once per process, lazily, at the first
 * xxxget() without IPC_DIPC; a missing file means "none".  The first line of
 * .policy is at most DIPC_POLICY_MAX_LINE (4095) bytes; a longer one is an
 * error (the daemon refuses such a dipc.conf value).
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
	char buf[DIPC_POLICY_MAX_LINE + 2]; /* the line, its newline, NUL */
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

	struct dipc_policy_error err;
	if (dipc_policy_parse(text, &policy, &err) < 0) {
		char why[128];
		dipc_policy_describe(text, &err, why, sizeof(why));
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
