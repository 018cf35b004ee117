/* SPDX-License-Identifier: MIT */
/**
 * @file dropperm.c
 *
 * A privilege drop takes effect at once: the comparison program of issue 9
 * (LTP's msgctl04 and shmctl02 do the same).  Run as root, natively and
 * through dipcfs; the output must be byte-identical.
 *
 *   dropperm [-p] KEY     (-p is accepted and ignored: compare.py's call)
 *
 * Root makes a semaphore set (KEY), a queue (KEY + 1) and a segment
 * (KEY + 2), each mode 0600.  Then, for each way of dropping (seteuid, which
 * can be undone, and setresuid, which cannot) and each delay after the drop
 * (0, 100 and 1000 ms), a child -- one thread throughout, so whatever the
 * daemon may remember of that thread is exercised -- first uses all three
 * as root, drops to 65534, waits the delay and tries IPC_STAT, SETVAL (the
 * set) and IPC_RMID of each; the kernel refuses with EACCES, EACCES and
 * EPERM.  After a seteuid drop the child takes root back with seteuid(0)
 * and must be served again.  Finally root checks the objects are all still
 * there and removes them.
 *
 * IPC_DIPC (ignored by the kernel's semget and msgget; for shmget it is
 * SHM_NORESERVE, harmless here) makes the objects the cluster's under the
 * shim.  Ids go to stderr as "# id NAME ID".
 */
#include <stdbool.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <unistd.h>

#include "progs_common.h"

#define HARNESS_NAME "dropperm"
#define POLL_MS 20000
#include "harness.h"

struct objs {
	int sem, msg, shm;
};

static void use_all(const char *who, const struct objs *o, bool try_rmid)
{
	union semun arg;
	struct semid_ds sds;
	struct msqid_ds mds;
	struct shmid_ds hds;
	char step[96];
	int r;

#define STEP(what) (snprintf(step, sizeof(step), "%s: %s", who, what), step)
	arg.buf = &sds;
	r = semctl(o->sem, 0, IPC_STAT, arg);
	rep(STEP("sem IPC_STAT"), r, errno, NULL);
	arg.val = 7;
	r = semctl(o->sem, 0, SETVAL, arg);
	rep(STEP("sem SETVAL"), r, errno, NULL);
	r = msgctl(o->msg, IPC_STAT, &mds);
	rep(STEP("msg IPC_STAT"), r, errno, NULL);
	r = shmctl(o->shm, IPC_STAT, &hds);
	rep(STEP("shm IPC_STAT"), r, errno, NULL);
	if (!try_rmid)
		return;
	r = semctl(o->sem, 0, IPC_RMID);
	rep(STEP("sem IPC_RMID"), r, errno, NULL);
	r = msgctl(o->msg, IPC_RMID, NULL);
	rep(STEP("msg IPC_RMID"), r, errno, NULL);
	r = shmctl(o->shm, IPC_RMID, NULL);
	rep(STEP("shm IPC_RMID"), r, errno, NULL);
#undef STEP
}

struct drop {
	const struct objs *o;
	bool setresuid;
	int delay_ms;
};

static int drop_child(void *p)
{
	const struct drop *d = p;
	int r;

	use_all("root", d->o, false);
	if (d->setresuid)
		r = setresuid(65534, 65534, 65534);
	else
		r = seteuid(65534);
	rep(d->setresuid ? "setresuid(65534)" : "seteuid(65534)", r, errno, NULL);
	if (r < 0)
		return 1;
	if (d->delay_ms)
		sleep_ms(d->delay_ms);
	use_all("dropped", d->o, true);
	if (!d->setresuid) {
		r = seteuid(0);
		rep("seteuid(0)", r, errno, NULL);
		use_all("root again", d->o, false);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const int delays[] = { 0, 100, 1000 };
	struct objs o;
	key_t key;
	int r;

	if (argc > 1 && strcmp(argv[1], "-p") == 0) {
		argc--;
		argv++;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: dropperm [-p] KEY\n");
		return 2;
	}
	key = (key_t)strtoul(argv[1], NULL, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);

	o.sem = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600 | IPC_DIPC);
	rep_id("semget", o.sem, errno, "sem");
	o.msg = msgget(key + 1, IPC_CREAT | IPC_EXCL | 0600 | IPC_DIPC);
	rep_id("msgget", o.msg, errno, "msg");
	o.shm = shmget(key + 2, 4096, IPC_CREAT | IPC_EXCL | 0600 | IPC_DIPC);
	rep_id("shmget", o.shm, errno, "shm");
	if (o.sem < 0 || o.msg < 0 || o.shm < 0)
		return 1;

	for (int how = 0; how < 2; how++) {
		for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
			struct drop d = { &o, how == 1, delays[i] };
			pid_t c;

			printf("-- %s, then %d ms\n", how ? "setresuid" : "seteuid", delays[i]);
			c = spawn(drop_child, &d);
			printf("child: %s\n", reap(c));
		}
	}

	use_all("root at the end", &o, true);
	r = harness_failed ? 1 : 0;
	printf("done: harness_ok=%d\n", !harness_failed);
	return r;
}
