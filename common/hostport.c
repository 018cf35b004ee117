/* SPDX-License-Identifier: MIT */
/**
 * @file hostport.c
 *
 * Splitting and joining "host:port" (hostport.h has the grammar).  One
 * splitter, so that the configuration, the transport and the referee agree
 * on which strings are addresses: before it there were three, and they
 * differed on a port such as "000080".
 */
#include "hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

/* Strict decimal 1..65535: digits only, no sign, no suffix. */
static bool parse_port(const char *s, unsigned *ret)
{
	unsigned v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 65535)
			return false;
	}
	if (v < 1)
		return false;
	*ret = v;
	return true;
}

static int fail(const char **ret_why, const char *why)
{
	if (ret_why)
		*ret_why = why;
	return -EINVAL;
}

int dipc_split_hostport(const char *s, char **ret_host, unsigned *ret_port,
			const char **ret_why)
{
	const char *colon, *host_start, *host_end;
	unsigned port;

	if (!s || !*s)
		return fail(ret_why, "expected host:port or [ipv6]:port");
	if (s[0] == '[') {
		host_start = s + 1;
		host_end = strchr(host_start, ']');
		if (!host_end || host_end[1] != ':')
			return fail(ret_why, "expected [ipv6]:port");
		colon = host_end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return fail(ret_why, "expected host:port (no port given)");
		host_start = s;
		host_end = colon;
		if (memchr(host_start, ':', (size_t)(host_end - host_start)))
			return fail(ret_why, "an IPv6 address needs brackets: [addr]:port");
	}
	if (host_end == host_start)
		return fail(ret_why, "empty host");
	if (!parse_port(colon + 1, &port))
		return fail(ret_why, "port must be a number between 1 and 65535");
	*ret_host = g_strndup(host_start, (size_t)(host_end - host_start));
	if (ret_port)
		*ret_port = port;
	return 0;
}

char *dipc_join_hostport(const char *host, unsigned port)
{
	if (strchr(host, ':'))
		return g_strdup_printf("[%s]:%u", host, port);
	return g_strdup_printf("%s:%u", host, port);
}

bool dipc_host_is_wildcard(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return a4.s_addr == htonl(INADDR_ANY);
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_UNSPECIFIED(&a6);
	return false;
}
