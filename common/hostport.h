/* SPDX-License-Identifier: MIT */
/**
 * @file hostport.h
 *
 * The one splitter of "host:port" and "[ipv6]:port" strings, for every
 * address in dipc.conf, every address a connection dials and every address
 * the referee advertises.  Syntax only: nothing here resolves a name (which
 * must not happen inside a loop) or parses the host; dipc_parse_hostport()
 * in conf.h does that for the addresses it binds to.
 *
 * Accepted: a non-empty host and a port of decimal digits, 1..65535.  An
 * IPv6 address needs brackets (which are not part of the returned host);
 * a host with a colon outside brackets is refused.
 */
#ifndef DIPC_HOSTPORT_H
#define DIPC_HOSTPORT_H

#include <stdbool.h>

/* Returns 0 with *ret_host newly allocated (g_free) and *ret_port set, or
 * -EINVAL with *ret_why (if not NULL) a static sentence saying what is
 * wrong; the out-parameters are untouched on failure.  ret_port may be
 * NULL. */
int dipc_split_hostport(const char *s, char **ret_host, unsigned *ret_port,
			const char **ret_why);

/* "host:port", or "[host]:port" when host is an IPv6 address (has a colon).
 * Newly allocated. */
char *dipc_join_hostport(const char *host, unsigned port);

/* host (as dipc_split_hostport returns it) is the IPv4 or IPv6 wildcard
 * address: 0.0.0.0, ::, 0:0:0:0:0:0:0:0 and other spellings of it. */
bool dipc_host_is_wildcard(const char *host);

#endif /* DIPC_HOSTPORT_H */
