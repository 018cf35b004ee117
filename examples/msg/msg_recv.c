/* SPDX-License-Identifier: MIT */
/**
 * @file msg_recv.c
 *
 * The receiving half of DIPC's classic message-queue pair (msg_send.c is
 * the other; its comment says how to run the two, natively or on two nodes).
 *
 * Ordinary System V code plus IPC_DIPC (010000) in the msgget() flags.  It
 * opens (or creates) the queue KEY, prints every greeting (type 1) as it
 * arrives, and on "bye" (type 2) removes the queue and exits.  A signal
 * handler that interrupts msgrcv makes it fail with EINTR: it receives
 * again.
 *
 * Usage: msg_recv [KEY]   (default 0xd1c0)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#ifndef IPC_DIPC
#define IPC_DIPC 010000 /* from include/uapi/linux/ipc.h */
#endif

#define BYE 2

struct greeting {
	long mtype;
	char text[200];
};

int main(int argc, char **argv)
{
	key_t key = argc > 1 ? (key_t)strtoul(argv[1], NULL, 0) : 0xd1c0;
	struct greeting m;
	int id, n = 0;

	id = msgget(key, IPC_CREAT | 0666 | IPC_DIPC);
	if (id == -1) {
		perror("msgget");
		return 1;
	}
	printf("msg_recv: waiting on queue 0x%x (id %d)\n", (unsigned)key, id);
	fflush(stdout);
	for (;;) {
		/* msgtyp 0: the first message, whatever its type */
		ssize_t r = msgrcv(id, &m, sizeof(m.text) - 1, 0, 0);

		if (r == -1) {
			if (errno == EINTR)
				continue;
			perror("msgrcv");
			return 1;
		}
		m.text[r] = '\0';
		if (m.mtype == BYE)
			break;
		printf("msg_recv: got \"%s\"\n", m.text);
		fflush(stdout);
		n++;
	}
	printf("msg_recv: bye after %d greetings; queue removed\n", n);
	if (msgctl(id, IPC_RMID, NULL) == -1) {
		perror("msgctl IPC_RMID");
		return 1;
	}
	return 0;
}
