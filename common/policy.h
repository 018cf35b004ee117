/* SPDX-License-Identifier: MIT */
/**
 * @file policy.h
 *
 * The key policy grammar: one parser and one matcher, libc only, compiled
 * into the daemons' common library (conf.c validates dipc.conf [policy] keys
 * with it) and into libdipc.so (shim/keys.c loads DIPC_KEYS or MOUNT/.policy
 * with it).  One source, so the daemon cannot accept what the shim rejects.
 *
 *   policy := ws ( "none" | "all" | item ( ws "," ws item )* | "" ) ws
 *   item   := "private" | number | number ws "-" ws number
 *   number := a C integer constant without sign: 4660, 0x1234, 011064
 *             (strtoull base 0), at most 0xffffffff
 *   ws     := space, tab, CR, LF, VT, FF, any number of them
 *
 * Keys are compared as unsigned 32-bit values (a key that ftok() made
 * negative is written in hex).  IPC_PRIVATE is key 0: "private" is [0, 0],
 * "all" is [0, 0xffffffff].  A range needs lo <= hi.  Words are lower case;
 * "none" and "all" stand alone.  An empty policy is "none".
 *
 * Limits.  At most DIPC_POLICY_MAX_ITEMS (2048) items.  That is the most
 * the carrier can hold: the daemon hands the policy to the shim as the first
 * line of MOUNT/.policy, at most DIPC_POLICY_MAX_LINE (4095) bytes, and the
 * shortest list of 2048 items ("0,0,...") is 4095 bytes.  A lower limit
 * (the daemon used to stop at 128) refuses lists the shim serves; a higher
 * one cannot reach the shim through the file.  The table is 16 KiB.
 */
#ifndef DIPC_POLICY_H
#define DIPC_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DIPC_POLICY_MAX_ITEMS 2048
/* The first line of MOUNT/.policy, without its newline. */
#define DIPC_POLICY_MAX_LINE 4095

struct dipc_policy {
	unsigned n; /* ranges in use; 0 = "none" */
	struct {
		uint32_t lo, hi; /* inclusive, keys as unsigned 32-bit */
	} range[DIPC_POLICY_MAX_ITEMS];
};

/* Where and why a policy was refused. */
struct dipc_policy_error {
	const char *why; /* a static sentence fragment */
	size_t at;       /* byte offset of the item it is about */
};

/* Parse s into *ret (ret may be NULL: only validate).  Returns 0, or -EINVAL
 * with *ret_err filled and *ret left as "none".  Pure: no environment, no
 * files, no logging, no heap. */
int dipc_policy_parse(const char *s, struct dipc_policy *ret,
		      struct dipc_policy_error *ret_err);

/* The message for an error of dipc_policy_parse(s, ...) into buf (always
 * terminated): why, then the item it is about, as
 *     malformed key: "08"
 * Both the daemon and the shim report exactly this text. */
void dipc_policy_describe(const char *s, const struct dipc_policy_error *err, char *buf,
			  size_t size);

/* Does p select key? */
bool dipc_policy_match(const struct dipc_policy *p, key_t key);

#endif /* DIPC_POLICY_H */
