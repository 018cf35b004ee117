/* SPDX-License-Identifier: MIT */
/**
 * @file faultbus.c
 *
 * A store into a distributed segment whose node can no longer serve it must
 * reach the program as SIGBUS does for a file mapping whose file went away:
 * the program's own handler runs with si_code BUS_ADRERR and the faulting
 * address (and may siglongjmp out); without a handler, or with SIGBUS
 * blocked, the process dies of SIGBUS.
 *
 * Usage:  faultbus MODE KEY
 *   MODE  handler | default | blocked
 *   KEY   key of a new segment of two pages (IPC_DIPC).
 *
 * It attaches the segment, reads page 0, prints "attached" and waits for a
 * line on stdin (the test kills the node's daemon meanwhile), then stores
 * into page 1.  With a handler it prints
 *     sigbus: code=BUS_ADRERR addr_ok=1
 * and exits 0.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "progs_common.h"

static sigjmp_buf env;
static volatile sig_atomic_t got_code;
static void *volatile got_addr;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_code = si->si_code;
	got_addr = si->si_addr;
	siglongjmp(env, 1);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: faultbus handler|default|blocked KEY\n");
		return 2;
	}
	const char *mode = argv[1];
	long pagesz = sysconf(_SC_PAGESIZE);
	int id = shmget(parse_key(argv[2]), 2 * (size_t)pagesz, IPC_CREAT | 0600 | IPC_DIPC);
	if (id < 0) {
		perror("shmget");
		return 1;
	}
	fprintf(stderr, "# id shm %d\n", id);
	volatile char *p = shmat(id, NULL, 0);
	if (p == (void *)-1) {
		perror("shmat");
		return 1;
	}
	printf("attached: first=%d\n", p[0]);
	fflush(stdout);

	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	volatile char *target = p + pagesz;
	if (strcmp(mode, "handler") == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_bus;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
		if (sigsetjmp(env, 1) == 0) {
			*target = 1;
			printf("no fault\n");
			return 1;
		}
		printf("sigbus: code=%s addr_ok=%d\n",
		       got_code == BUS_ADRERR ? "BUS_ADRERR" : "other",
		       got_addr == (void *)target);
		return 0;
	}
	if (strcmp(mode, "blocked") == 0) {
		sigset_t bus;
		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		sigprocmask(SIG_BLOCK, &bus, NULL);
	}
	*target = 1;
	printf("no fault\n");
	return 1;
}
