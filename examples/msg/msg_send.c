/* SPDX-License-Identifier: MIT */
/**
 * @file msg_send.c
 *
 * The sending half of DIPC's classic message-queue pair (msg_recv.c is the
 * other): one program sends, another -- on another machine -- receives.
 *
 * This is ordinary single-machine System V code.  The only dipcfs-specific
 * thing in it is IPC_DIPC (010000) in the msgget() flags, which the kernel
 * ignores and dipcfs reads as "this queue is cluster-wide".
 *
 * It opens (or creates) the queue KEY, sends COUNT greetings of type 1,
 * then one message of type 2, "bye", that tells the receiver to stop.
 * Either program may start first.
 *
 * Natively, on one machine (the kernel's own queues):
 *
 *     ./msg_recv & ./msg_send
 *
 * Across two nodes of a dipcfs cluster (mount.dipcfs on /dipc on each):
 *
 *     node2$ LD_PRELOAD=libdipc.so ./msg_recv
 *     node1$ LD_PRELOAD=libdipc.so ./msg_send 5
 *
 * (On one machine with several mounts, DIPC_MOUNT=/path/of/the/node's/mount
 * picks the node.)  While msg_recv waits, `cat /dipc/msg/0x0000d1c0` on any
 * node shows the queue, its owner node and the waiting receiver.
 *
 * Usage: msg_send [COUNT [KEY [DELAY_MS]]]
 *   COUNT     greetings to send (default 3)
 *   KEY       the queue's key (default 0xd1c0)
 *   DELAY_MS  pause before each message, to watch it happen (default 0)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#ifndef IPC_DIPC
#define IPC_DIPC 010000 /* from include/uapi/linux/ipc.h */
#endif

#define GREETING 1
#define BYE 2

struct greeting {
	long mtype;
	char text[200];
};

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* msgsnd(2) fails with EINTR when a signal handler runs; send again. */
static void send_text(int id, long type, const char *text)
{
	struct greeting m = { .mtype = type };
	size_t n = strlen(text);

	memcpy(m.text, text, n);
	while (msgsnd(id, &m, n, 0) == -1) {
		if (errno != EINTR) {
			perror("msgsnd");
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	int count = argc > 1 ? atoi(argv[1]) : 3;
	key_t key = argc > 2 ? (key_t)strtoul(argv[2], NULL, 0) : 0xd1c0;
	long delay = argc > 3 ? atol(argv[3]) : 0;
	char host[64] = "?", text[200];
	int id, i;

	id = msgget(key, IPC_CREAT | 0666 | IPC_DIPC);
	if (id == -1) {
		perror("msgget");
		return 1;
	}
	gethostname(host, sizeof(host) - 1);
	printf("msg_send: queue 0x%x (id %d)\n", (unsigned)key, id);
	for (i = 1; i <= count; i++) {
		pause_ms(delay);
		snprintf(text, sizeof(text), "hello %d of %d from pid %d on %s", i, count,
			 (int)getpid(), host);
		send_text(id, GREETING, text);
		printf("msg_send: sent \"%s\"\n", text);
	}
	send_text(id, BYE, "bye");
	printf("msg_send: sent bye\n");
	return 0;
}
