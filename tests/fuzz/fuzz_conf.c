/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_conf.c
 *
 * libFuzzer target: the dipc.conf loader (common/conf.c with GKeyFile and
 * conf_dups.c), for a referee and for a node.  The input is the file; it is
 * handed over through a memfd.  Host names are not resolved here:
 * getaddrinfo() is interposed to numeric-only, so a fuzzed name costs no
 * DNS round trip (the loader's handling of "does not resolve" is the same).
 */
#include <dlfcn.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "conf.h"

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *,
			   struct addrinfo **);
	struct addrinfo h = { 0 };

	if (!real)
		real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (hints)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	return real(node, service, &h, res);
}

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64];

	if (fd < 0) {
		g_log_set_default_handler(quiet, NULL);
		fd = memfd_create("fuzz-dipc.conf", MFD_CLOEXEC);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (int node = 0; node < 2; node++) {
		GError *e = NULL;
		dipc_conf *c = dipc_conf_load(path, node ? "n1" : NULL, node, &e);

		dipc_conf_free(c);
		g_clear_error(&e);
	}
	return 0;
}
