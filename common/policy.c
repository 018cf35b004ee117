/* SPDX-License-Identifier: MIT */
/**
 * @file policy.c
 *
 * The key policy grammar (see policy.h): parse, describe an error, match.
 *
 * libc only and no heap: this file is compiled into libdipc.so, which lives
 * inside other people's programs, as well as into the daemons.  Whatever the
 * input (a dipc.conf value, an environment variable, a file someone wrote),
 * the parser reads it once, left to right, and never writes past the table.
 */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

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

/* A key in C notation at *sp: true and *sp moved past it, or false with
 * *ret_why set (not a number; a malformed one such as "08", "0x" or "12ab";
 * one above 0xffffffff). */
static bool parse_number(const char **sp, uint32_t *ret, const char **ret_why)
{
	const char *s = *sp;
	unsigned long long v;
	char *end;
	int saved = errno, e;

	if (*s == ',' || !*s) {
		*ret_why = "empty item";
		return false;
	}
	if (*s < '0' || *s > '9') {
		/* no sign, no leading junk that strtoull would take */
		*ret_why = "expected a key, a range or \"private\"";
		return false;
	}
	errno = 0;
	v = strtoull(s, &end, 0);
	e = errno;
	errno = saved;
	if ((*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'z') ||
	    (*end >= 'A' && *end <= 'Z') || *end == '_' || *end == '.') {
		*ret_why = "malformed key";
		return false;
	}
	if (e || v > UINT32_MAX) {
		*ret_why = "key above 0xffffffff";
		return false;
	}
	*ret = (uint32_t)v;
	*sp = end;
	return true;
}

/* One item at *sp into [*lo, *hi]; false with *ret_why set. */
static bool parse_item(const char **sp, uint32_t *lo, uint32_t *hi, const char **ret_why)
{
	const char *s = *sp, *t;

	if ((t = match_word(s, "private"))) {
		*lo = *hi = 0;
		*sp = t;
		return true;
	}
	if (match_word(s, "none") || match_word(s, "all")) {
		*ret_why = "\"none\" and \"all\" stand alone, not in a list";
		return false;
	}
	if (!parse_number(&s, lo, ret_why))
		return false;
	*hi = *lo;
	t = skip_ws(s);
	if (*t == '-') {
		t = skip_ws(t + 1);
		if (!*t || *t == ',') {
			*ret_why = "range without an end";
			return false;
		}
		if (!parse_number(&t, hi, ret_why))
			return false;
		if (*hi < *lo) {
			*ret_why = "range with its end below its start";
			return false;
		}
		s = t;
	}
	*sp = s;
	return true;
}

int dipc_policy_parse(const char *s, struct dipc_policy *ret,
		      struct dipc_policy_error *ret_err)
{
	const char *start = s, *t, *item;
	const char *why = NULL;
	unsigned n = 0;

	if (ret)
		ret->n = 0;
	s = skip_ws(s);
	item = s;
	if (!*s)
		return 0; /* empty: none */
	if ((t = match_word(s, "none")) && !*skip_ws(t))
		return 0;
	if ((t = match_word(s, "all")) && !*skip_ws(t)) {
		if (ret) {
			ret->range[0].lo = 0;
			ret->range[0].hi = UINT32_MAX;
			ret->n = 1;
		}
		return 0;
	}

	for (;;) {
		uint32_t lo, hi;

		item = s;
		if (!parse_item(&s, &lo, &hi, &why))
			goto fail;
		if (n == DIPC_POLICY_MAX_ITEMS) {
			why = "more than " STR(DIPC_POLICY_MAX_ITEMS) " items";
			goto fail;
		}
		if (ret) {
			ret->range[n].lo = lo;
			ret->range[n].hi = hi;
		}
		n++;

		s = skip_ws(s);
		if (!*s)
			break;
		if (*s != ',') {
			why = "expected ',' between items";
			goto fail;
		}
		s = skip_ws(s + 1);
	}
	if (ret)
		ret->n = n;
	return 0;

fail:
	if (ret)
		ret->n = 0;
	if (ret_err) {
		ret_err->why = why;
		ret_err->at = (size_t)(item - start);
	}
	return -EINVAL;
}

void dipc_policy_describe(const char *s, const struct dipc_policy_error *err, char *buf,
			  size_t size)
{
	enum { SHOW = 32 };
	char shown[SHOW + 4]; /* "...", NUL */
	const char *item = s + err->at;
	size_t n = 0, len = strcspn(item, ",");

	if (!size)
		return;
	while (len && is_ws(item[len - 1]))
		len--;
	if (len == 0) {
		snprintf(buf, size, "%s at byte %zu", err->why, err->at);
		return;
	}
	/* the item as typed, with control bytes shown as '?': it goes to a
	 * terminal or a log */
	for (; n < len && n < SHOW; n++) {
		unsigned char c = (unsigned char)item[n];
		shown[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (len > SHOW) {
		memcpy(shown + n, "...", 3);
		n += 3;
	}
	shown[n] = '\0';
	snprintf(buf, size, "%s: \"%s\"", err->why, shown);
}

bool dipc_policy_match(const struct dipc_policy *p, key_t key)
{
	uint32_t k = (uint32_t)key;

	for (unsigned i = 0; i < p->n; i++)
		if (k >= p->range[i].lo && k <= p->range[i].hi)
			return true;
	return false;
}
