/* SPDX-License-Identifier: MIT */
/**
 * @file tcp_thr.c
 *
 * Raw TCP loopback throughput, in the shape of a segment transfer: a
 * forked receiver reads SIZE bytes over 127.0.0.1 into its own buffer and
 * answers one byte; the sender times each block from its first write to that
 * answer.  Both buffers are ordinary memory, touched before the run.
 *
 *     tcp_thr [SIZE [ROUNDS [WARMUP]]]      (defaults 16 MiB, 10, 2)
 *
 * Prints the bench_common.h line (one op = one whole block); the driver
 * turns the median into MB/s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

#define CHUNK (256 * 1024)

static int full_io(int fd, char *buf, size_t len, int writing)
{
	size_t done = 0;

	while (done < len) {
		size_t want = len - done < CHUNK ? len - done : CHUNK;
		ssize_t r = writing ? write(fd, buf + done, want) : read(fd, buf + done, want);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 16u << 20;
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
	size_t warm = argc > 3 ? strtoul(argv[3], NULL, 10) : 2;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	uint64_t *samples, t0, start = 0;
	int ls, fd, one = 1, st;
	char *buf, ack = 'k';
	pid_t child;
	size_t i;

	buf = malloc(size ? size : 1);
	if (!buf || size == 0) {
		fprintf(stderr, "tcp_thr: bad size\n");
		return 1;
	}
	memset(buf, 'x', size);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &len) < 0) {
		perror("listen");
		return 1;
	}
	child = fork();
	if (child == 0) {
		int c = accept(ls, NULL, NULL);

		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		memset(buf, 0, size);
		while (full_io(c, buf, size, 0) == 0 && full_io(c, &ack, 1, 1) == 0)
			;
		_exit(0);
	}
	close(ls);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		kill(child, SIGKILL);
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	samples = calloc(n ? n : 1, sizeof(*samples));
	for (i = 0; i < warm + n; i++) {
		if (i == warm)
			start = bench_ns();
		t0 = bench_ns();
		if (full_io(fd, buf, size, 1) < 0 || full_io(fd, &ack, 1, 0) < 0) {
			perror("transfer");
			kill(child, SIGKILL);
			return 1;
		}
		if (i >= warm)
			samples[i - warm] = bench_ns() - t0;
	}
	bench_report(samples, n, bench_ns() - start);
	close(fd);
	waitpid(child, &st, 0);
	return 0;
}
