/* SPDX-License-Identifier: MIT */
/**
 * @file pingpong.c
 *
 * Strict alternation between two processes over one semaphore set, which
 * proves blocking and wake-ups work between them (natively: two processes;
 * with dipcfs: two processes on two nodes).
 *
 *   pingpong [-n] ping|pong KEY ROUNDS
 *
 * The set has three semaphores: 0 = ping's turn, 1 = pong's turn, 2 = a turn
 * counter.  Both roles create the set with IPC_CREAT (no IPC_EXCL), so they
 * may start in any order.  In round i ping checks that the counter is 2i,
 * increments it and hands the turn to pong; pong checks 2i+1, increments and
 * hands back.  Any lost or spurious wake-up breaks the count, which is
 * reported as "mismatch" (exit 1).  ROUNDS <= 16000 (semvmx).
 *
 * Prints "ping done rounds=N" (or pong) on success; the
 * total time goes to stderr.  Ping consumes pong's last hand-back, so the
 * set is left in place with the values 0,0,2*ROUNDS; the caller removes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progs_common.h"

static int F = IPC_DIPC;

static void op(int id, unsigned short num, short v)
{
	struct sembuf sb = { num, v, 0 };

	while (semop(id, &sb, 1) < 0) {
		if (errno == EINTR)
			continue;
		printf("semop(%u, %d): err %s\n", num, v, errname(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *role;
	int rounds, id, i, ping, me, other, opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "n")) != -1) {
		if (opt != 'n')
			goto usage;
		F = 0;
	}
	if (argc - optind != 3)
		goto usage;
	role = argv[optind];
	ping = strcmp(role, "ping") == 0;
	if (!ping && strcmp(role, "pong") != 0)
		goto usage;
	rounds = atoi(argv[optind + 2]);
	if (rounds < 1 || rounds > 16000)
		goto usage;
	id = semget(parse_key(argv[optind + 1]), 3, IPC_CREAT | 0666 | F);
	if (id < 0) {
		printf("semget: err %s\n", errname(errno));
		return 1;
	}
	fprintf(stderr, "%s: id %d\n", role, id);
	me = ping ? 0 : 1;
	other = ping ? 1 : 0;

	int64_t t0 = now_ms();

	for (i = 0; i < rounds; i++) {
		int c;

		if (!ping || i > 0)
			op(id, me, -1);
		c = semctl(id, 2, GETVAL);
		if (c != 2 * i + (ping ? 0 : 1)) {
			printf("%s mismatch round=%d counter=%d\n", role, i, c);
			return 1;
		}
		op(id, 2, 1);
		op(id, other, 1);
	}
	if (ping)
		op(id, me, -1); /* pong's last hand-back */
	fprintf(stderr, "%s: %d rounds in %lld ms\n", role, rounds, (long long)(now_ms() - t0));
	printf("%s done rounds=%d\n", role, rounds);
	return 0;

usage:
	fprintf(stderr, "usage: pingpong [-n] ping|pong KEY ROUNDS\n");
	return 2;
}
