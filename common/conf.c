/* SPDX-License-Identifier: MIT */
/**
 * @file conf.c
 *
 * dipc.conf: loading and validation (see conf.h and the annotated dipc.conf).
 *
 * Every value is checked here, once, so that the daemons can trust the struct:
 * integers are parsed strictly (decimal digits only, no sign, no suffix, no
 * overflow) and range-checked, addresses are parsed, unknown groups and keys
 * are errors (a misspelt key silently falling back to its default is the kind
 * of mistake that costs an afternoon), and so is a key or group given twice
 * (conf_dups.c; GKeyFile would keep the last).  Every error message has the form
 *
 *     FILE: [group] key = value: what is wrong
 *
 * (the secret's value is never printed).  All errors are in the
 * G_KEY_FILE_ERROR domain, code G_KEY_FILE_ERROR_INVALID_VALUE (or the code
 * GKeyFile itself reported for a file that does not parse).
 */

#include "conf.h"
#include "conf_dups.h"
#include "hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dipc_abi.h"
#include "policy.h"

#define CONF_ERROR G_KEY_FILE_ERROR
#define CONF_EINVAL G_KEY_FILE_ERROR_INVALID_VALUE

#define NODE_NAME_MAX 64
/* Room for the envelope around a message text in a frame. */
#define MSG_FRAME_OVERHEAD 1024u

/* ---- the schema ----------------------------------------------------------- */

static const char *const cluster_keys[] = {
	"secret", "referee", "allowed_hosts", "heartbeat_ms", "dead_after_ms",
	"request_timeout_ms", "reserve_timeout_ms", "encrypt", "handshake_ms", NULL,
};
static const char *const referee_keys[] = { "listen", "grace_ms", NULL };
static const char *const node_keys[] = { "name", "listen", "mountpoint", "busy_poll_us",
					   "shm_mode", "shm_quantum_ms", NULL };
/* [node.NAME] may override everything of [node] except the name itself. */
static const char *const node_override_keys[] = { "listen", "mountpoint", "busy_poll_us",
						    "shm_mode", "shm_quantum_ms", NULL };
static const char *const limits_keys[] = {
	"semmni", "semmsl", "semmns", "semopm", "semvmx", "msgmni", "msgmax", "msgmnb",
	"shmmni", "shmmax", "shmall", "max_frame", "max_parked", "max_connections",
	"max_handshakes", "max_conn_per_host",
	"control_handles", "control_handles_per_process", "staged_bytes",
	"max_watched_procs", NULL,
};
static const char *const policy_keys[] = { "keys", NULL };

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* ---- small parsers -------------------------------------------------------- */

/* Strict unsigned decimal: digits only, no sign, no suffix, no overflow. */
static bool parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return true;
}

/* dipc_split_hostport() with its sentence in this file's error domain.
 * *ret_host is newly allocated. */
static int split_hostport(const char *s, char **ret_host, unsigned *ret_port,
			  GError **error)
{
	const char *why = NULL;
	int r = dipc_split_hostport(s, ret_host, ret_port, &why);

	if (r < 0)
		g_set_error(error, CONF_ERROR, CONF_EINVAL, "%s", why);
	return r;
}

int dipc_parse_hostport(const char *s, struct sockaddr_storage *ret, GError **error)
{
	g_autofree char *host = NULL;
	struct sockaddr_storage ss;
	unsigned port;
	int r;

	r = split_hostport(s, &host, &port, error);
	if (r < 0)
		return r;

	memset(&ss, 0, sizeof(ss));
	if (s[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			g_set_error(error, CONF_ERROR, CONF_EINVAL,
				    "'%s' is not an IPv6 address", host);
			return -EINVAL;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)port);
		} else {
			struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
						  .ai_family = AF_UNSPEC };
			struct addrinfo *res = NULL;
			int gr = getaddrinfo(host, NULL, &hints, &res);

			if (gr != 0 || !res) {
				g_set_error(error, CONF_ERROR, CONF_EINVAL,
					    "cannot resolve host '%s': %s", host,
					    gr ? gai_strerror(gr) : "no address");
				return -ENOENT;
			}
			memcpy(&ss, res->ai_addr, MIN((size_t)res->ai_addrlen, sizeof(ss)));
			freeaddrinfo(res);
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
			else if (ss.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
			else {
				g_set_error(error, CONF_ERROR, CONF_EINVAL,
					    "host '%s' has no IP address", host);
				return -ENOENT;
			}
		}
	}
	if (ret)
		*ret = ss;
	return 0;
}

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

static void mask_addr(uint8_t *a, unsigned nbytes, unsigned prefix)
{
	for (unsigned i = 0; i < nbytes; i++) {
		unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;

		if (bits < 8)
			a[i] &= (uint8_t)(0xff00u >> bits);
	}
}

/* One entry of allowed_hosts: "1.2.3.4", "10.0.0.0/8", "::1", "fd00::/8". */
static bool parse_cidr(const char *s, dipc_cidr *ret, GError **error)
{
	g_autofree char *addr = NULL;
	const char *slash = strchr(s, '/');
	uint64_t prefix = 0;
	unsigned maxp;
	dipc_cidr c = { 0 };

	addr = slash ? g_strndup(s, (size_t)(slash - s)) : g_strdup(s);
	if (inet_pton(AF_INET, addr, c.addr) == 1) {
		c.family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, addr, c.addr) == 1) {
		c.family = AF_INET6;
		maxp = 128;
	} else {
		g_set_error(error, CONF_ERROR, CONF_EINVAL,
			    "'%s' is not an IPv4 or IPv6 address (hostnames are not allowed here)",
			    addr);
		return false;
	}
	if (slash) {
		if (!parse_u64(slash + 1, &prefix) || prefix > maxp) {
			g_set_error(error, CONF_ERROR, CONF_EINVAL,
				    "'%s': prefix length must be between 0 and %u", s, maxp);
			return false;
		}
	} else {
		prefix = maxp;
	}
	c.prefix = (unsigned)prefix;
	/* ::ffff:a.b.c.d/104 is the same thing as a.b.c.d/8: store it as v4 so
	 * that matching needs one rule. */
	if (c.family == AF_INET6 && c.prefix >= 96 && is_v4_mapped(c.addr)) {
		memmove(c.addr, c.addr + 12, 4);
		memset(c.addr + 4, 0, 12);
		c.family = AF_INET;
		c.prefix -= 96;
	}
	mask_addr(c.addr, c.family == AF_INET ? 4 : 16, c.prefix);
	*ret = c;
	return true;
}

static bool parse_allowed(const char *s, dipc_cidr **ret, unsigned *ret_n, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(s, ",", -1);
	g_autoptr(GArray) arr = g_array_new(FALSE, TRUE, sizeof(dipc_cidr));

	for (char **p = parts; *p; p++) {
		char *item = g_strstrip(*p);
		dipc_cidr c;

		if (!*item) {
			g_set_error(error, CONF_ERROR, CONF_EINVAL, "empty entry in the list");
			return false;
		}
		if (!parse_cidr(item, &c, error))
			return false;
		g_array_append_val(arr, c);
	}
	if (arr->len == 0) {
		g_set_error(error, CONF_ERROR, CONF_EINVAL,
			    "must name at least one address or network");
		return false;
	}
	*ret_n = arr->len;
	*ret = (dipc_cidr *)(void *)g_array_free(g_steal_pointer(&arr), FALSE);
	return true;
}

static bool cidr_match(const dipc_cidr *c, int family, const uint8_t *a)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, a, full) != 0)
		return false;
	if (rest && ((a[full] ^ c->addr[full]) & (uint8_t)(0xff00u >> rest)))
		return false;
	return true;
}

bool dipc_conf_host_allowed(const dipc_conf *c, const struct sockaddr *sa)
{
	uint8_t a4[4], a6[16];
	bool have4 = false, have6 = false;

	if (!c || !sa)
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(a4, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		have4 = true;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		have6 = true;
		if (is_v4_mapped(a6)) {
			memcpy(a4, a6 + 12, 4);
			have4 = true;
		}
	} else {
		return false;
	}
	for (unsigned i = 0; i < c->n_allowed; i++) {
		if (have4 && cidr_match(&c->allowed[i], AF_INET, a4))
			return true;
		if (have6 && cidr_match(&c->allowed[i], AF_INET6, a6))
			return true;
	}
	return false;
}

/* ---- policy --------------------------------------------------------------- */

/* The grammar and its messages are common/policy.c, the same code the shim
 * runs on MOUNT/.policy.  What the daemon adds is the carrier: the value
 * becomes the first line of .policy, so it must be one line that fits. */
bool dipc_policy_valid(const char *s, GError **error)
{
	struct dipc_policy_error err;
	char why[128];

	if (!s) {
		g_set_error(error, CONF_ERROR, CONF_EINVAL, "no policy given");
		return false;
	}
	if (strchr(s, '\n')) {
		g_set_error(error, CONF_ERROR, CONF_EINVAL,
			    "must be one line (it is the first line of MOUNT/.policy)");
		return false;
	}
	if (strlen(s) > DIPC_POLICY_MAX_LINE) {
		g_set_error(error, CONF_ERROR, CONF_EINVAL,
			    "longer than %d bytes (the first line of MOUNT/.policy): "
			    "use ranges", DIPC_POLICY_MAX_LINE);
		return false;
	}
	if (dipc_policy_parse(s, NULL, &err) < 0) {
		dipc_policy_describe(s, &err, why, sizeof(why));
		g_set_error(error, CONF_ERROR, CONF_EINVAL, "%s", why);
		return false;
	}
	return true;
}

/* ---- loading -------------------------------------------------------------- */

typedef struct loader {
	GKeyFile *kf;
	const char *path;
	GError **error;
} loader;

static void G_GNUC_PRINTF(5, 6)
bad_value(loader *l, const char *group, const char *key, const char *value,
	  const char *fmt, ...)
{
	g_autofree char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (value)
		g_set_error(l->error, CONF_ERROR, CONF_EINVAL, "%s: [%s] %s = %s: %s",
			    l->path, group, key, value, why);
	else
		g_set_error(l->error, CONF_ERROR, CONF_EINVAL, "%s: [%s] %s: %s",
			    l->path, group, key, why);
}

/* The value of group/key, stripped; NULL if absent.  *failed on a bad escape. */
static char *get_str(loader *l, const char *group, const char *key, bool *failed)
{
	GError *e = NULL;
	char *v;

	if (!g_key_file_has_group(l->kf, group) ||
	    !g_key_file_has_key(l->kf, group, key, NULL))
		return NULL;
	v = g_key_file_get_string(l->kf, group, key, &e);
	if (!v) {
		bad_value(l, group, key, NULL, "%s", e ? e->message : "unreadable");
		g_clear_error(&e);
		*failed = true;
		return NULL;
	}
	return g_strstrip(v);
}

/* Unsigned integer in [lo, hi]; absent -> def. */
static bool get_uint(loader *l, const char *group, const char *key, unsigned def,
		     unsigned lo, unsigned hi, unsigned *ret)
{
	bool failed = false;
	g_autofree char *v = get_str(l, group, key, &failed);
	uint64_t n;

	if (failed)
		return false;
	if (!v) {
		*ret = def;
		return true;
	}
	if (!*v || strspn(v, "0123456789") != strlen(v)) {
		bad_value(l, group, key, v, "not a decimal integer (digits only)");
		return false;
	}
	if (!parse_u64(v, &n) || n < lo || n > hi) { /* parse fails on overflow */
		bad_value(l, group, key, v, "must be between %u and %u", lo, hi);
		return false;
	}
	*ret = (unsigned)n;
	return true;
}

/* 64-bit unsigned integer in [lo, hi]; absent -> def. */
static bool get_u64(loader *l, const char *group, const char *key, uint64_t def,
		    uint64_t lo, uint64_t hi, uint64_t *ret)
{
	bool failed = false;
	g_autofree char *v = get_str(l, group, key, &failed);
	uint64_t n;

	if (failed)
		return false;
	if (!v) {
		*ret = def;
		return true;
	}
	if (!*v || strspn(v, "0123456789") != strlen(v) || !parse_u64(v, &n) || n < lo ||
	    n > hi) {
		bad_value(l, group, key, v,
			  "must be a decimal integer between %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT,
			  lo, hi);
		return false;
	}
	*ret = n;
	return true;
}

static void wipe_text(char **p)
{
	if (*p)
		explicit_bzero(*p, strlen(*p));
	g_free(*p);
}

/* The transport's own keys: [cluster] encrypt and handshake_ms, [limits]
 * max_handshakes and max_conn_per_host (after max_connections, which they
 * must stay below). */
static bool load_transport(loader *l, dipc_conf *c)
{
	bool failed = false;
	g_autofree char *enc = get_str(l, "cluster", "encrypt", &failed);

	if (failed)
		return false;
	if (!enc || strcmp(enc, "no") == 0) {
		c->encrypt = false;
	} else if (strcmp(enc, "yes") == 0) {
		c->encrypt = true;
	} else {
		bad_value(l, "cluster", "encrypt", enc, "must be yes or no");
		return false;
	}
	/* A handshake is two round trips; a peer that has not finished it in
	 * this time is slow on purpose or broken, and holds a slot meanwhile. */
	if (!get_uint(l, "cluster", "handshake_ms", MIN(2000u, c->dead_after_ms), 100,
		      c->dead_after_ms, &c->handshake_ms))
		return false;
	/* A quarter of the slots for strangers (at least 8, as far as there
	 * are slots), half of that for any one address: several nodes may
	 * share a host, and a whole cluster reconnects at once after a
	 * referee restart. */
	if (!get_uint(l, "limits", "max_handshakes",
		      MAX(c->max_connections / 4, MIN(c->max_connections, 8u)), 1,
		      c->max_connections, &c->max_handshakes))
		return false;
	return get_uint(l, "limits", "max_conn_per_host",
			MAX(c->max_handshakes / 2, MIN(c->max_handshakes, 8u)), 1,
			c->max_handshakes, &c->max_conn_per_host);
}

/* The key of [node.NAME] if it is there, else of [node]. */
static const char *node_or_override(loader *l, const char *node_group, const char *key)
{
	return node_group && g_key_file_has_key(l->kf, node_group, key, NULL) ? node_group
									      : "node";
}

static bool check_schema(loader *l)
{
	g_auto(GStrv) groups = g_key_file_get_groups(l->kf, NULL);

	for (char **g = groups; *g; g++) {
		const char *const *known;
		g_auto(GStrv) keys = NULL;

		if (strcmp(*g, "cluster") == 0)
			known = cluster_keys;
		else if (strcmp(*g, "referee") == 0)
			known = referee_keys;
		else if (strcmp(*g, "node") == 0)
			known = node_keys;
		else if (g_str_has_prefix(*g, "node.")) {
			if (!(*g)[5]) {
				g_set_error(l->error, CONF_ERROR, CONF_EINVAL,
					    "%s: [%s]: group needs a node name after \"node.\"",
					    l->path, *g);
				return false;
			}
			known = node_override_keys;
		} else if (strcmp(*g, "limits") == 0)
			known = limits_keys;
		else if (strcmp(*g, "policy") == 0)
			known = policy_keys;
		else {
			g_set_error(l->error, CONF_ERROR, CONF_EINVAL,
				    "%s: unknown group [%s] (known: [cluster], [referee], "
				    "[node], [node.NAME], [limits], [policy])",
				    l->path, *g);
			return false;
		}
		keys = g_key_file_get_keys(l->kf, *g, NULL, NULL);
		for (char **k = keys; k && *k; k++) {
			if (!in_list(known, *k)) {
				g_set_error(l->error, CONF_ERROR, CONF_EINVAL,
					    "%s: [%s] %s: unknown key", l->path, *g, *k);
				return false;
			}
		}
	}
	return true;
}

static bool valid_node_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NODE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && *s != '.' && *s != '-' && *s != '_')
			return false;
	return true;
}

/* Syntax of an address we do not connect to or bind here. */
static bool check_hostport_syntax(loader *l, const char *group, const char *key,
				  const char *v)
{
	g_autofree char *host = NULL;
	GError *e = NULL;
	unsigned port;

	if (split_hostport(v, &host, &port, &e) < 0) {
		bad_value(l, group, key, v, "%s", e->message);
		g_error_free(e);
		return false;
	}
	return true;
}

static bool check_hostport(loader *l, const char *group, const char *key, const char *v)
{
	GError *e = NULL;

	if (dipc_parse_hostport(v, NULL, &e) < 0) {
		bad_value(l, group, key, v, "%s", e->message);
		g_error_free(e);
		return false;
	}
	return true;
}

/* ---- the groups, one loader each ------------------------------------------- */

static bool load_cluster(loader *l, dipc_conf *c, bool for_node)
{
	g_autofree char *allowed = NULL;
	GError *e = NULL;
	bool failed = false;
	unsigned dead_default;

	/* [cluster] */
	c->secret = get_str(l, "cluster", "secret", &failed);
	if (failed)
		return false;
	if (!c->secret) {
		bad_value(l, "cluster", "secret", NULL,
			  "missing: every daemon of the cluster needs the same secret");
		return false;
	}
	if (strlen(c->secret) < 16) {
		bad_value(l, "cluster", "secret", NULL,
			  "too short (%zu bytes): must be at least 16 bytes", strlen(c->secret));
		return false;
	}

	c->referee = get_str(l, "cluster", "referee", &failed);
	if (failed)
		return false;
	if (!c->referee) {
		bad_value(l, "cluster", "referee", NULL,
			  "missing: the host:port of the cluster's dipc-referee");
		return false;
	}
	if (for_node ? !check_hostport(l, "cluster", "referee", c->referee)
		     : !check_hostport_syntax(l, "cluster", "referee", c->referee))
		return false;

	allowed = get_str(l, "cluster", "allowed_hosts", &failed);
	if (failed)
		return false;
	if (!parse_allowed(allowed ? allowed : "127.0.0.0/8, ::1", &c->allowed,
			   &c->n_allowed, &e)) {
		bad_value(l, "cluster", "allowed_hosts", allowed, "%s", e->message);
		g_error_free(e);
		return false;
	}

	if (!get_uint(l, "cluster", "heartbeat_ms", 1000, 50, 60000, &c->heartbeat_ms))
		return false;
	/* The default follows heartbeat_ms so that raising only the heartbeat
	 * does not make the file invalid: 5 beats, 5000 ms for the default. */
	dead_default = MIN(5 * c->heartbeat_ms, 600000u);
	if (!get_uint(l, "cluster", "dead_after_ms", dead_default, 0, UINT_MAX,
		      &c->dead_after_ms))
		return false;
	if (c->dead_after_ms <= 2 * c->heartbeat_ms || c->dead_after_ms > 600000) {
		g_autofree char *v = g_strdup_printf("%u", c->dead_after_ms);

		bad_value(l, "cluster", "dead_after_ms", v,
			  "must be more than 2 * heartbeat_ms (%u) and at most 600000",
			  2 * c->heartbeat_ms);
		return false;
	}
	if (!get_uint(l, "cluster", "request_timeout_ms", 10000, 100, 600000,
		      &c->request_timeout_ms) ||
	    !get_uint(l, "cluster", "reserve_timeout_ms", 10000, 100, 600000,
		      &c->reserve_timeout_ms))
		return false;

	return true;
}

static bool load_referee(loader *l, dipc_conf *c, bool for_node)
{
	g_autofree char *referee_host = NULL;
	unsigned referee_port = 0;
	bool failed = false;

	split_hostport(c->referee, &referee_host, &referee_port, NULL);
	/* [referee] */
	c->referee_listen = get_str(l, "referee", "listen", &failed);
	if (failed)
		return false;
	if (!c->referee_listen) {
		/* Bind the wildcard of the family the referee is reached by. */
		struct in6_addr a6;
		bool v6 = c->referee[0] == '[' && inet_pton(AF_INET6, referee_host, &a6) == 1;

		c->referee_listen = g_strdup_printf("%s:%u", v6 ? "[::]" : "0.0.0.0",
						    referee_port);
	} else if (!for_node ? !check_hostport(l, "referee", "listen", c->referee_listen)
			     : !check_hostport_syntax(l, "referee", "listen", c->referee_listen)) {
		return false;
	}

	/* A restarted referee waits for re-registrations about as long as a
	 * node may stay silent, and a creating lookup must not time out. */
	if (!get_uint(l, "referee", "grace_ms",
		      MIN(c->dead_after_ms, c->request_timeout_ms / 2), 0, 600000, &c->grace_ms))
		return false;

	return true;
}

/* Check the other nodes' groups too: one file serves the cluster, so a typo
 * for node3 should fail on node1 as well. */
static bool check_node_groups(loader *l)
{
	bool failed = false;
	g_auto(GStrv) groups = g_key_file_get_groups(l->kf, NULL);

	for (char **g = groups; *g; g++) {
		g_autofree char *v = NULL;

		if (strcmp(*g, "node") != 0 && !g_str_has_prefix(*g, "node."))
			continue;
		if (strcmp(*g, "node") != 0 && !valid_node_name(*g + 5)) {
			g_set_error(l->error, CONF_ERROR, CONF_EINVAL,
				    "%s: [%s]: '%s' is not a valid node name "
				    "(1 to %d letters, digits, '.', '-' or '_')",
				    l->path, *g, *g + 5, NODE_NAME_MAX);
			return false;
		}
		v = get_str(l, *g, "listen", &failed);
		if (failed)
			return false;
		if (v && !check_hostport_syntax(l, *g, "listen", v))
			return false;
		g_free(v);
		v = get_str(l, *g, "mountpoint", &failed);
		if (failed)
			return false;
		if (v && v[0] != '/') {
			bad_value(l, *g, "mountpoint", v, "must be an absolute path");
			return false;
		}
	}
	return true;
}

static bool load_node(loader *l, dipc_conf *c, const char *node_name, bool for_node)
{
	g_autofree char *node_group = NULL;
	bool failed = false;

	/* [node] and [node.NAME] */
	if (node_name) {
		c->node_name = g_strdup(node_name);
	} else {
		c->node_name = get_str(l, "node", "name", &failed);
		if (failed)
			return false;
		if (!c->node_name) {
			char host[256] = "";

			if (gethostname(host, sizeof(host) - 1) < 0 || !*host) {
				bad_value(l, "node", "name", NULL,
					  "not set and the host name is unknown");
				return false;
			}
			c->node_name = g_strdup(host);
		}
	}
	if (!valid_node_name(c->node_name)) {
		bad_value(l, "node", "name", c->node_name,
			  "must be 1 to %d letters, digits, '.', '-' or '_'", NODE_NAME_MAX);
		return false;
	}
	node_group = g_strdup_printf("node.%s", c->node_name);

	if (!check_node_groups(l))
		return false;

	c->node_listen = get_str(l, node_group, "listen", &failed);
	if (failed)
		return false;
	if (c->node_listen) {
		if (for_node && !check_hostport(l, node_group, "listen", c->node_listen))
			return false;
	} else {
		c->node_listen = get_str(l, "node", "listen", &failed);
		if (failed)
			return false;
		if (c->node_listen && for_node &&
		    !check_hostport(l, "node", "listen", c->node_listen))
			return false;
	}
	if (!c->node_listen && for_node) {
		g_set_error(l->error, CONF_ERROR, CONF_EINVAL,
			    "%s: [%s] listen (or [node] listen): missing: the host:port "
			    "where other nodes reach node '%s'",
			    l->path, node_group, c->node_name);
		return false;
	}
	if (!c->node_listen)
		c->node_listen = g_strdup("");

	c->mountpoint = get_str(l, node_group, "mountpoint", &failed);
	if (failed)
		return false;
	if (!c->mountpoint) {
		c->mountpoint = get_str(l, "node", "mountpoint", &failed);
		if (failed)
			return false;
	}
	if (!c->mountpoint)
		c->mountpoint = g_strdup(DIPC_DEFAULT_MOUNT);

	if (!get_uint(l, g_key_file_has_key(l->kf, node_group, "busy_poll_us", NULL)
			      ? node_group : "node",
		      "busy_poll_us", 50, 0, 10000, &c->busy_poll_us))
		return false;
	if (!get_uint(l, node_or_override(l, node_group, "shm_quantum_ms"), "shm_quantum_ms",
		      2, 0, 10000, &c->shm_quantum_ms))
		return false;
	{
		const char *g = node_or_override(l, node_group, "shm_mode");
		g_autofree char *mode = get_str(l, g, "shm_mode", &failed);
		if (failed)
			return false;
		if (!mode || strcmp(mode, "page") == 0) {
			c->shm_segment_mode = false;
		} else if (strcmp(mode, "segment") == 0) {
			c->shm_segment_mode = true;
		} else {
			bad_value(l, g, "shm_mode", mode, "must be page or segment");
			return false;
		}
	}

	return true;
}

static bool load_limits(loader *l, dipc_conf *c)
{
	/* [limits] */
	if (!get_uint(l, "limits", "semmni", 32000, 1, 32768, &c->semmni) ||
	    !get_uint(l, "limits", "semmsl", DIPC_SEMMSL_MAX, 1, DIPC_SEMMSL_MAX,
		      &c->semmsl) ||
	    !get_uint(l, "limits", "semmns", 1024000000, 1, INT_MAX, &c->semmns) ||
	    !get_uint(l, "limits", "semopm", 500, 1, DIPC_SEMOPM_MAX, &c->semopm) ||
	    !get_uint(l, "limits", "semvmx", 32767, 1, 32767, &c->semvmx) ||
	    !get_uint(l, "limits", "msgmni", 32000, 1, 32768, &c->msgmni) ||
	    !get_uint(l, "limits", "msgmax", 8192, 1, DIPC_MSGMAX_MAX, &c->msgmax) ||
	    !get_uint(l, "limits", "msgmnb", 16384, 1, INT_MAX, &c->msgmnb) ||
	    !get_uint(l, "limits", "shmmni", 4096, 1, 32768, &c->shmmni) ||
	    !get_u64(l, "limits", "shmmax", DIPC_SHMMAX_DEFAULT, 1, DIPC_SHMMAX_DEFAULT,
		     &c->shmmax) ||
	    !get_u64(l, "limits", "shmall", DIPC_SHMALL_DEFAULT, 1, DIPC_SHMALL_DEFAULT,
		     &c->shmall) ||
	    !get_uint(l, "limits", "max_frame", 1048576, 4096, 67108864, &c->max_frame) ||
	    !get_uint(l, "limits", "max_parked", 10000, 1, 1000000, &c->max_parked) ||
	    !get_uint(l, "limits", "max_connections", 256, 2, 65536, &c->max_connections) ||
	    !get_uint(l, "limits", "control_handles", 16384, 1, 1048576, &c->control_handles) ||
	    !get_uint(l, "limits", "control_handles_per_process", 256, 1, 65536,
		      &c->control_handles_per_process) ||
	    !get_uint(l, "limits", "staged_bytes", 64u << 20, 1, UINT_MAX, &c->staged_bytes) ||
	    !get_uint(l, "limits", "max_watched_procs", 4096, 1, 1000000,
		      &c->max_watched_procs) ||
	    !load_transport(l, c))
		return false;
	/* One message of the largest size must fit, or msgsnd of it always fails. */
	if (c->staged_bytes < c->msgmax) {
		g_autofree char *v = g_strdup_printf("%u", c->staged_bytes);

		bad_value(l, "limits", "staged_bytes", v,
			  "must be at least [limits] msgmax (%u)", c->msgmax);
		return false;
	}
	/* A message travels whole in one frame, with its envelope. */
	if (c->msgmax > c->max_frame - MSG_FRAME_OVERHEAD) {
		g_autofree char *v = g_strdup_printf("%u", c->msgmax);

		bad_value(l, "limits", "msgmax", v,
			  "must be at most [limits] max_frame - %u (%u): raise max_frame",
			  MSG_FRAME_OVERHEAD, c->max_frame - MSG_FRAME_OVERHEAD);
		return false;
	}

	return true;
}

static bool load_policy(loader *l, dipc_conf *c)
{
	GError *e = NULL;
	bool failed = false;

	/* [policy] */
	c->policy_keys = get_str(l, "policy", "keys", &failed);
	if (failed)
		return false;
	if (!c->policy_keys)
		c->policy_keys = g_strdup("none");
	if (!dipc_policy_valid(c->policy_keys, &e)) {
		bad_value(l, "policy", "keys", c->policy_keys, "%s", e->message);
		g_error_free(e);
		return false;
	}

	return true;
}

dipc_conf *dipc_conf_load(const char *path, const char *node_name, bool for_node,
			  GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(dipc_conf) c = g_new0(dipc_conf, 1);
	char *text __attribute__((cleanup(wipe_text))) = NULL; /* has the secret */
	gsize text_len = 0;
	GError *e = NULL;
	loader l = { .kf = kf, .path = path, .error = error };

	g_return_val_if_fail(path != NULL, NULL);

	/* The text first: GKeyFile would let a duplicate pass. */
	if (!g_file_get_contents(path, &text, &text_len, &e) ||
	    !g_key_file_load_from_data(kf, text, text_len, G_KEY_FILE_NONE, &e)) {
		g_set_error(error, e->domain, e->code, "%s: %s", path, e->message);
		g_error_free(e);
		return NULL;
	}
	if (!dipc_conf_check_duplicates(path, text, text_len, error))
		return NULL;
	c->path = g_strdup(path);
	if (!check_schema(&l) || !load_cluster(&l, c, for_node) ||
	    !load_referee(&l, c, for_node) || !load_node(&l, c, node_name, for_node) ||
	    !load_limits(&l, c) || !load_policy(&l, c))
		return NULL;
	return g_steal_pointer(&c);
}

void dipc_conf_free(dipc_conf *c)
{
	if (!c)
		return;
	if (c->secret)
		explicit_bzero(c->secret, strlen(c->secret));
	g_free(c->path);
	g_free(c->secret);
	g_free(c->referee);
	g_free(c->allowed);
	g_free(c->referee_listen);
	g_free(c->node_name);
	g_free(c->node_listen);
	g_free(c->mountpoint);
	g_free(c->policy_keys);
	g_free(c);
}
