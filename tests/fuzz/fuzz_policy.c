/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_policy.c
 *
 * libFuzzer target: the key policy grammar, both copies of it -- the
 * shim's libc-only parser (shim/policy.c, compiled in whole) and the
 * daemon's validator (common/conf.c dipc_policy_valid).  They must agree on
 * what is valid; a parsed policy is matched against a few keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "conf.h"
#include "shim.h"

/* What policy.c's loader (not fuzzed here: it reads a file once) needs
 * from the rest of the shim. */
bool dipc_debug_on;

void dipc_log_always(const char *fmt, ...)
{
}

const char *dipc_mount_path(void)
{
	return "/nonexistent";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct dipc_policy p;
	const char *why = NULL;
	GError *e = NULL;
	int shim_ok;
	bool conf_ok;

	memcpy(s, data, size);
	s[size] = '\0';
	shim_ok = dipc_policy_parse(s, &p, &why) == 0;
	conf_ok = dipc_policy_valid(s, &e);
	g_clear_error(&e);
	if (shim_ok) {
		dipc_policy_match(&p, 0);
		dipc_policy_match(&p, 0x1234);
		dipc_policy_match(&p, (key_t)0xffffffff);
	}
	/* Only for text without a NUL inside: the shim reads a C string. */
	if (strlen(s) == size && shim_ok != conf_ok)
		abort();
	free(s);
	return 0;
}
