/* SPDX-License-Identifier: MIT */
/**
 * @file redis_bench.c
 *
 * The Redis side of bench/msg_run.py: a list used as a message queue, one
 * client per role, over a plain TCP connection (TCP_NODELAY) speaking RESP
 * by hand, each command waiting for its reply -- as msgsnd/msgrcv do.
 *
 *     redis_bench PORT MODE SIZE N [WARM]
 *
 *   ping   one op = one round trip: LPUSH SIZE bytes to dipcbench:ping, then
 *          BRPOP dipcbench:pong (WARM rounds first, unmeasured)
 *   pong   the other side: BRPOP dipcbench:ping, LPUSH the value to dipcbench:pong
 *   send   one-way: LPUSH N + WARM values to dipcbench:q as fast as the
 *          replies come (Redis lists have no bound: the sender never waits
 *          for the receiver)
 *   recv   BRPOP them from dipcbench:q; measures from its WARM-th value to
 *          its last (one op = one value, its latency the gap since the
 *          previous one)
 *   reset  DEL the three lists (before each measurement)
 *
 * Start pong before ping and recv before send.  Prints the bench_common.h
 * line (ping, recv; send prints its own rate).  A protocol error or a wrong
 * value size exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_common.h"

static int fd;
static char rbuf[65536];
static size_t rlen, rpos;

static void die(const char *what)
{
	fprintf(stderr, "redis_bench: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
	exit(1);
}

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("write");
		p += k;
		n -= (size_t)k;
	}
}

static int getbyte(void)
{
	if (rpos == rlen) {
		ssize_t k;

		do
			k = read(fd, rbuf, sizeof(rbuf));
		while (k < 0 && errno == EINTR);
		if (k <= 0) {
			errno = k < 0 ? errno : 0;
			die("read (connection closed?)");
		}
		rlen = (size_t)k;
		rpos = 0;
	}
	return (unsigned char)rbuf[rpos++];
}

/* One reply line without "\r\n", e.g. ":3" or "$5" or "*2". */
static void read_line(char *line, size_t cap)
{
	size_t n = 0;
	int c;

	while ((c = getbyte()) != '\n') {
		if (n + 1 < cap)
			line[n++] = (char)c;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = 0;
	if (line[0] == '-') {
		errno = 0;
		fprintf(stderr, "redis_bench: server error %s\n", line);
		exit(1);
	}
}

/* A bulk string of the given length into buf (cap bytes), then "\r\n". */
static size_t read_bulk(char *buf, size_t cap)
{
	char line[64];
	long n;

	read_line(line, sizeof(line));
	if (line[0] != '$')
		die("expected a bulk string");
	n = strtol(line + 1, NULL, 10);
	if (n < 0 || (size_t)n > cap)
		die("bulk string too long");
	for (long i = 0; i < n; i++)
		buf[i] = (char)getbyte();
	getbyte();
	getbyte();
	return (size_t)n;
}

/* A command of argc arguments (RESP array of bulk strings). */
static void command(int argc, const char **argv, const size_t *lens)
{
	static char *out;
	static size_t cap;
	size_t need = 32, n;

	for (int i = 0; i < argc; i++)
		need += lens[i] + 32;
	if (need > cap) {
		free(out);
		cap = need;
		out = malloc(cap);
		if (!out)
			die("malloc");
	}
	n = (size_t)snprintf(out, cap, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		n += (size_t)snprintf(out + n, cap - n, "$%zu\r\n", lens[i]);
		memcpy(out + n, argv[i], lens[i]);
		n += lens[i];
		out[n++] = '\r';
		out[n++] = '\n';
	}
	write_all(out, n);
}

static void lpush(const char *key, const char *val, size_t size)
{
	const char *argv[] = { "LPUSH", key, val };
	size_t lens[] = { 5, strlen(key), size };
	char line[64];

	command(3, argv, lens);
	read_line(line, sizeof(line));
	if (line[0] != ':')
		die("LPUSH: unexpected reply");
}

/* BRPOP key 0: the value into buf; its size must be want. */
static void brpop(const char *key, char *buf, size_t want)
{
	const char *argv[] = { "BRPOP", key, "0" };
	size_t lens[] = { 5, strlen(key), 1 };
	char line[64], name[64];

	command(3, argv, lens);
	read_line(line, sizeof(line));
	if (strcmp(line, "*2") != 0)
		die("BRPOP: unexpected reply");
	read_bulk(name, sizeof(name));
	if (read_bulk(buf, want) != want)
		die("BRPOP: value of the wrong size");
}

static void del(const char *key)
{
	const char *argv[] = { "DEL", key };
	size_t lens[] = { 3, strlen(key) };
	char line[64];

	command(2, argv, lens);
	read_line(line, sizeof(line));
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1;

	if (argc < 5) {
		fprintf(stderr, "usage: redis_bench PORT ping|pong|send|recv|reset SIZE N [WARM]\n");
		return 2;
	}
	const char *mode = argv[2];
	size_t size = strtoul(argv[3], NULL, 0);
	size_t n = strtoul(argv[4], NULL, 0);
	size_t warm = argc > 5 ? strtoul(argv[5], NULL, 0) : 200;
	char *val = malloc(size + 1);
	uint64_t *samples = calloc(n ? n : 1, sizeof(uint64_t));

	if (!val || !samples || n == 0)
		return 1;
	memset(val, 'r', size);

	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	if (strcmp(mode, "ping") == 0) {
		uint64_t t0 = 0, t;

		for (size_t i = 0; i < warm + n; i++) {
			if (i == warm)
				t0 = bench_ns();
			t = bench_ns();
			lpush("dipcbench:ping", val, size);
			brpop("dipcbench:pong", val, size);
			if (i >= warm)
				samples[i - warm] = bench_ns() - t;
		}
		bench_report(samples, n, bench_ns() - t0);
		return 0;
	}
	if (strcmp(mode, "reset") == 0) {
		del("dipcbench:ping");
		del("dipcbench:pong");
		del("dipcbench:q");
		return 0;
	}
	if (strcmp(mode, "pong") == 0) {
		for (size_t i = 0; i < warm + n; i++) {
			brpop("dipcbench:ping", val, size);
			lpush("dipcbench:pong", val, size);
		}
		return 0;
	}
	if (strcmp(mode, "send") == 0) {
		uint64_t t0 = bench_ns();

		for (size_t i = 0; i < warm + n; i++)
			lpush("dipcbench:q", val, size);
		printf("sender ops_per_s=%.0f n=%zu\n", (warm + n) * 1e9 / (double)(bench_ns() - t0),
		       warm + n);
		return 0;
	}
	if (strcmp(mode, "recv") == 0) {
		uint64_t t0 = 0, prev = 0, t;

		for (size_t i = 0; i < warm + n; i++) {
			brpop("dipcbench:q", val, size);
			t = bench_ns();
			if (i == warm - 1 || (warm == 0 && i == 0))
				t0 = t;
			if (i >= warm)
				samples[i - warm] = t - (prev ? prev : t);
			prev = t;
		}
		bench_report(samples, n, prev - t0);
		return 0;
	}
	fprintf(stderr, "redis_bench: unknown mode %s\n", mode);
	return 2;
}
