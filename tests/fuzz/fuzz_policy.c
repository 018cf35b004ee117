/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_policy.c
 *
 * libFuzzer target: the key policy grammar (common/policy.c, the one parser
 * the shim and the daemon share) and the daemon's [policy] keys check on
 * top of it (common/conf.c dipc_policy_valid: one line that fits .policy).
 * A parsed policy is matched against a few keys and its error described;
 * for a one-line text that fits, the daemon must accept exactly what the
 * parser accepts.  (While there were two copies of the grammar, this target
 * found them disagreeing on '\v' and on more than 128 items.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "conf.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dipc_policy p;
	struct dipc_policy_error err;
	char *s = malloc(size + 1);
	char why[128];
	GError *e = NULL;
	bool parsed, valid;

	memcpy(s, data, size);
	s[size] = '\0';
	parsed = dipc_policy_parse(s, &p, &err) == 0;
	if (parsed) {
		dipc_policy_match(&p, 0);
		dipc_policy_match(&p, 0x1234);
		dipc_policy_match(&p, (key_t)0xffffffff);
	} else {
		dipc_policy_describe(s, &err, why, sizeof(why));
	}
	valid = dipc_policy_valid(s, &e);
	g_clear_error(&e);
	if (strlen(s) == size && !strchr(s, '\n') && size <= DIPC_POLICY_MAX_LINE &&
	    parsed != valid)
		abort();
	free(s);
	return 0;
}
