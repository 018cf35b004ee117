/* SPDX-License-Identifier: MIT */
/**
 * @file semstress.c
 *
 * Load for the multi-node tests: many processes, many operations, and a
 * check after each that the semaphores kept their promise.
 *
 *   semstress [-n] mutex SET ITER
 *       SET is an id or k:KEY of a set of 3 semaphores prepared as 1,0,0
 *       (0 = the mutex, 1 = "someone is inside", 2 = finished sections).
 *       ITER times: take the mutex (-1, SEM_UNDO); enter: semop {1: wait for
 *       zero, IPC_NOWAIT} then {1:+1} — if someone else is inside, that fails
 *       with EAGAIN and we report "violation"; count (2:+1); leave (1:-1); give
 *       the mutex back (+1, SEM_UNDO).  Prints "mutex done iter=N".
 *
 *   semstress [-n] counter SET ITER
 *       ITER times an atomic +1 on semaphore 0 and -1 on semaphore 1 in one
 *       call (semaphore 1 must start high enough).  Prints "counter done".
 *
 * Exit 0 when everything held, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progs_common.h"

static int F = IPC_DIPC;

static int do_op(int id, struct sembuf *s, unsigned n)
{
	int r;

	do
		r = semop(id, s, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static int fail_op(const char *what)
{
	printf("%s: err %s\n", what, errname(errno));
	return 1;
}

int main(int argc, char **argv)
{
	int id, iter, i, opt;
	const char *mode;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "n")) != -1) {
		if (opt != 'n')
			goto usage;
		F = 0;
	}
	if (argc - optind != 3)
		goto usage;
	mode = argv[optind];
	if (strncmp(argv[optind + 1], "k:", 2) == 0)
		id = semget(parse_key(argv[optind + 1] + 2), 0, F);
	else
		id = atoi(argv[optind + 1]);
	if (id < 0)
		return fail_op("semget");
	iter = atoi(argv[optind + 2]);

	if (strcmp(mode, "mutex") == 0) {
		for (i = 0; i < iter; i++) {
			struct sembuf take = { 0, -1, SEM_UNDO }, give = { 0, 1, SEM_UNDO };
			struct sembuf enter_check = { 1, 0, IPC_NOWAIT };
			struct sembuf enter[2] = { { 1, 1, 0 }, { 2, 1, 0 } }, leave = { 1, -1, 0 };

			if (do_op(id, &take, 1) < 0)
				return fail_op("take");
			if (do_op(id, &enter_check, 1) < 0) {
				if (errno == EAGAIN) {
					printf("violation: two processes inside, iteration %d\n", i);
					return 1;
				}
				return fail_op("enter check");
			}
			if (do_op(id, enter, 2) < 0)
				return fail_op("enter");
			if (do_op(id, &leave, 1) < 0)
				return fail_op("leave");
			if (do_op(id, &give, 1) < 0)
				return fail_op("give");
		}
		printf("mutex done iter=%d\n", iter);
		return 0;
	}
	if (strcmp(mode, "counter") == 0) {
		for (i = 0; i < iter; i++) {
			struct sembuf s[2] = { { 0, 1, 0 }, { 1, -1, 0 } };

			if (do_op(id, s, 2) < 0)
				return fail_op("counter");
		}
		printf("counter done iter=%d\n", iter);
		return 0;
	}
usage:
	fprintf(stderr, "usage: semstress [-n] mutex|counter SET ITER\n");
	return 2;
}
