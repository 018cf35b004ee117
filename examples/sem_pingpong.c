/* SPDX-License-Identifier: MIT */
/**
 * @file sem_pingpong.c
 *
 * Ping-pong over two System V semaphores: the classic DIPC example.
 *
 * This is ordinary single-machine SysV code.  The only dipcfs-specific thing
 * in it is IPC_DIPC (010000) in the semget() flags, which the kernel ignores
 * and dipcfs reads as "this set is cluster-wide".
 *
 * The set has two semaphores: 0 = "the ball is on ping's side", 1 = "the
 * ball is on pong's side".  Ping serves, then each player waits for the ball
 * (semop -1 on its own semaphore, blocking) and hits it back (semop +1 on the
 * other one).  After the last round ping removes the set.  Either player may
 * start first: both create the set with IPC_CREAT (no IPC_EXCL), and a new
 * set's semaphores are 0, so the first to arrive simply waits.
 *
 * Natively, on one machine (the kernel's own semaphores):
 *
 *     ./sem_pingpong pong & ./sem_pingpong ping
 *
 * Across two nodes of a dipcfs cluster (mount.dipcfs on /dipc on each):
 *
 *     node2$ LD_PRELOAD=libdipc.so ./sem_pingpong pong
 *     node1$ LD_PRELOAD=libdipc.so ./sem_pingpong ping
 *
 * (On one machine with several mounts, DIPC_MOUNT=/path/of/the/node's/mount
 * picks the node.)  While pong waits, `ls -l /dipc/sem` on any node shows the
 * set and `cat /dipc/sem/0x0000d1bc` shows its values and the waiting process.
 *
 * Usage: sem_pingpong ping|pong [ROUNDS [KEY [DELAY_MS]]]
 *   ROUNDS    rounds to play (default 5)
 *   KEY       the set's key (default 0xd1bc)
 *   DELAY_MS  pause before each hit, to watch the game (default 0)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#ifndef IPC_DIPC
#define IPC_DIPC 010000 /* from include/uapi/linux/ipc.h */
#endif

#define PING 0
#define PONG 1

static int semid;

/* semop(2) fails with EINTR when a signal arrives, whatever SA_RESTART says. */
static int sem_change(unsigned short num, short delta)
{
	struct sembuf op = { .sem_num = num, .sem_op = delta, .sem_flg = 0 };
	int r;

	do
		r = semop(semid, &op, 1);
	while (r == -1 && errno == EINTR);
	return r;
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int rounds = 5, delay_ms = 0, me, other, i;
	key_t key = 0xd1bc;

	if (argc < 2 || (strcmp(argv[1], "ping") != 0 && strcmp(argv[1], "pong") != 0)) {
		fprintf(stderr, "usage: %s ping|pong [ROUNDS [KEY [DELAY_MS]]]\n", argv[0]);
		return 2;
	}
	me = strcmp(argv[1], "ping") == 0 ? PING : PONG;
	other = me == PING ? PONG : PING;
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		key = (key_t)strtoul(argv[3], NULL, 0);
	if (argc > 4)
		delay_ms = atoi(argv[4]);

	semid = semget(key, 2, IPC_CREAT | IPC_DIPC | 0666);
	if (semid == -1) {
		perror("semget");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%s: pid %d, set 0x%x (id %d), %d rounds\n", argv[1], (int)getpid(),
	       (unsigned)key, semid, rounds);

	for (i = 1; i <= rounds; i++) {
		if (me == PONG || i > 1) {
			printf("%s: waiting for the ball\n", argv[1]);
			if (sem_change(me, -1) == -1) {
				perror("semop (wait)");
				return 1;
			}
		}
		pause_ms(delay_ms);
		printf("%s: round %d, %s\n", argv[1], i, me == PING ? "ping ->" : "<- pong");
		if (sem_change(other, +1) == -1) {
			perror("semop (hit)");
			return 1;
		}
	}
	if (me == PING) {
		/* the last return, then the game is over */
		if (sem_change(me, -1) == -1) {
			perror("semop (last wait)");
			return 1;
		}
		if (semctl(semid, 0, IPC_RMID) == -1) {
			perror("semctl IPC_RMID");
			return 1;
		}
		printf("ping: game over, set removed\n");
	}
	return 0;
}
