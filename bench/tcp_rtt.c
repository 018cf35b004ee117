/* SPDX-License-Identifier: MIT */
/**
 * @file tcp_rtt.c
 *
 * Raw TCP loopback round trip: a forked echo server and a client exchange
 * 64-byte messages over 127.0.0.1 with TCP_NODELAY; each round trip is timed.
 *
 *     tcp_rtt [N [WARMUP]]      (defaults 20000, 1000)
 *
 * Prints the bench_common.h line (one op = one round trip).
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

#define MSG 64

static int full_io(int fd, char *buf, size_t len, int writing)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = writing ? write(fd, buf + done, len - done) : read(fd, buf + done, len - done);

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
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	size_t warm = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char buf[MSG];
	uint64_t *samples, t0, start = 0;
	int ls, fd, one = 1, st;
	pid_t child;
	size_t i;

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
		while (full_io(c, buf, MSG, 0) == 0 && full_io(c, buf, MSG, 1) == 0)
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
	memset(buf, 'x', sizeof(buf));
	samples = calloc(n, sizeof(*samples));
	for (i = 0; i < warm + n; i++) {
		if (i == warm)
			start = bench_ns();
		t0 = bench_ns();
		if (full_io(fd, buf, MSG, 1) < 0 || full_io(fd, buf, MSG, 0) < 0) {
			perror("round trip");
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
