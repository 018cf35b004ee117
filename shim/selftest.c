/* SPDX-License-Identifier: MIT */
/**
 * @file selftest.c
 *
 * A test driver for libdipc.so, not built by default.  Build and run it with
 * and without the shim:
 *
 *   cc -O1 -Wall -o /tmp/dipc-selftest shim/selftest.c -lpthread
 *   /tmp/dipc-selftest kernel > a
 *   LD_PRELOAD=build/shim/libdipc.so /tmp/dipc-selftest kernel > b
 *   diff a b          # the kernel path must be indistinguishable
 *
 * Subcommands:
 *   kernel             every semaphore call on a kernel set; prints results,
 *                      errno and IPC_STAT fields (no ids, no times), checks
 *                      that a successful call leaves errno alone and that
 *                      IPC_STAT equals libc's byte for byte
 *   get KEY FLAGS N    one semget(KEY, N, FLAGS) (C notation); prints the
 *                      result and errno, and whether the id is a dipc id
 *   dipc               the daemon path, against a mount whose daemon answers
 *                      with canned values (see the report of the shim)
 *   eintr              a semop the daemon blocks, a SA_RESTART SIGALRM: must
 *                      fail with EINTR
 *   fork               control fd inherited: the child's semop reaches the
 *                      daemon with the child's pid
 *   reopen             the program closes every fd >= 3 and reuses the
 *                      number: the shim must reopen its control file
 *   threads            16 threads race to the first call: one control fd
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IPC_DIPC 010000
#define SENTINEL 4321

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static int failures;

static void check(int cond, const char *what)
{
	if (!cond) {
		printf("FAIL: %s\n", what);
		failures++;
	}
}

static int is_dipc_id(int id)
{
	return id >= 0 && (id & 0x7fff) >= 0x7f00;
}

/* Run a call with errno = SENTINEL; print "<label> = r" or "<label> = -1 ERR". */
#define CALL(label, expr)                                                      \
	({                                                                     \
		errno = SENTINEL;                                              \
		int r_ = (expr);                                               \
		int e_ = errno;                                                \
		if (r_ >= 0) {                                                 \
			printf("%-28s = %d\n", label, r_);                     \
			check(e_ == SENTINEL, label ": errno changed on success"); \
		} else {                                                       \
			printf("%-28s = -1 %s\n", label, strerrorname_np(e_)); \
		}                                                              \
		r_;                                                            \
	})

static void print_ds(const char *label, const struct semid_ds *ds)
{
	printf("%s: key=0x%x mode=0%o nsems=%lu uid_ok=%d cuid_ok=%d otime_set=%d "
	       "ctime_set=%d\n",
	       label, (unsigned)ds->sem_perm.__key, (unsigned)ds->sem_perm.mode,
	       (unsigned long)ds->sem_nsems, ds->sem_perm.uid == getuid(),
	       ds->sem_perm.cuid == getuid(), ds->sem_otime != 0, ds->sem_ctime != 0);
}

static int cmd_kernel(void)
{
	key_t key = 0x5e1f7e57;
	int id = semget(key, 0, 0);
	if (id >= 0)
		semctl(id, 0, IPC_RMID);

	id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0640);
	CALL("semget create", id >= 0);
	if (id < 0)
		return 1;
	check(!is_dipc_id(id), "kernel id in the dipc range");
	CALL("semget excl again", semget(key, 3, IPC_CREAT | IPC_EXCL | 0640));
	CALL("semget existing", semget(key, 2, 0) == id);
	CALL("semget too many", semget(key, 4, 0));
	CALL("semget negative", semget(0x5e1f7e58, -1, IPC_CREAT));
	CALL("semget absent", semget(0x5e1f7e58, 1, 0));

	unsigned short vals[3] = { 1, 2, 3 }, out[3] = { 0 };
	union semun a = { .array = vals };
	CALL("SETALL", semctl(id, 0, SETALL, a));
	a.array = out;
	CALL("GETALL", semctl(id, 0, GETALL, a));
	printf("values %u %u %u\n", out[0], out[1], out[2]);
	a.val = 7;
	CALL("SETVAL 1", semctl(id, 1, SETVAL, a));
	CALL("GETVAL 1", semctl(id, 1, GETVAL));
	CALL("GETVAL 5", semctl(id, 5, GETVAL));
	CALL("GETNCNT", semctl(id, 0, GETNCNT));
	CALL("GETZCNT", semctl(id, 0, GETZCNT));

	struct sembuf ops[2] = { { 0, -1, 0 }, { 2, 1, SEM_UNDO } };
	CALL("semop", semop(id, ops, 2));
	CALL("GETPID is me", semctl(id, 0, GETPID) == getpid());
	CALL("semop nsops 0", semop(id, ops, 0));
	CALL("semop E2BIG", semop(id, ops, 100000));
	struct sembuf block = { 0, -5, IPC_NOWAIT };
	CALL("semop nowait", semop(id, &block, 1));
	struct timespec ts = { 0, 1000000 };
	block.sem_flg = 0;
	CALL("semtimedop timeout", semtimedop(id, &block, 1, &ts));
	ts.tv_nsec = 1000000000;
	CALL("semtimedop bad ts", semtimedop(id, &block, 1, &ts));
	ts.tv_nsec = 0;
	block.sem_op = 1;
	CALL("semtimedop ok", semtimedop(id, &block, 1, &ts));
	CALL("semtimedop NULL", semtimedop(id, &block, 1, NULL));
	CALL("GETVAL 0", semctl(id, 0, GETVAL));

	struct semid_ds ds;
	memset(&ds, 0xa5, sizeof(ds));
	a.buf = &ds;
	CALL("IPC_STAT", semctl(id, 0, IPC_STAT, a));
	print_ds("stat", &ds);
	{
		/* Byte for byte against libc's own semctl, bypassing any shim. */
		void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
		int (*libc_semctl)(int, int, int, ...) =
			libc ? (int (*)(int, int, int, ...))dlsym(libc, "semctl") : NULL;
		struct semid_ds direct;
		memset(&direct, 0x5a, sizeof(direct));
		memset(&ds, 0xa5, sizeof(ds));
		union semun d = { .buf = &direct };
		check(libc_semctl && libc_semctl(id, 0, IPC_STAT, d) == 0 &&
			      semctl(id, 0, IPC_STAT, a) == 0 &&
			      memcmp(&ds, &direct, sizeof(ds)) == 0,
		      "IPC_STAT through the shim equals libc's, byte for byte");
	}
	ds.sem_perm.mode = 0600;
	CALL("IPC_SET", semctl(id, 0, IPC_SET, a));
	memset(&ds, 0, sizeof(ds));
	CALL("IPC_STAT|IPC_64", semctl(id, 0, IPC_STAT | 0x100, a));
	print_ds("stat64", &ds);

	struct seminfo si;
	union semun ia = { .__buf = &si };
	int maxidx = CALL("IPC_INFO >= 0", semctl(0, 0, IPC_INFO, ia) >= 0);
	(void)maxidx;
	printf("seminfo semmsl=%d semopm=%d semvmx=%d\n", si.semmsl, si.semopm, si.semvmx);
	CALL("SEM_INFO >= 0", semctl(0, 0, SEM_INFO, ia) >= 0);

	/* SEM_STAT by index: find our set among the kernel's. */
	int found = 0, max = semctl(0, 0, SEM_INFO, ia);
	for (int i = 0; i <= max; i++) {
		memset(&ds, 0, sizeof(ds));
		a.buf = &ds;
		if (semctl(i, 0, SEM_STAT, a) == id)
			found = 1;
	}
	check(found, "SEM_STAT finds the set");
	CALL("bad cmd", semctl(id, 0, 12345));
	CALL("IPC_RMID", semctl(id, 0, IPC_RMID));
	CALL("semop removed", semop(id, ops, 1));
	CALL("GETVAL removed", semctl(id, 0, GETVAL));
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}

static int cmd_get(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	key_t key = (key_t)strtoul(argv[2], NULL, 0);
	int flags = (int)strtol(argv[3], NULL, 0);
	int nsems = atoi(argv[4]);
	errno = 0;
	int id = semget(key, nsems, flags);
	int e = errno;
	printf("semget(0x%x, %d, 0%o) = %d%s%s%s\n", (unsigned)key, nsems, (unsigned)flags, id,
	       id < 0 ? " " : "", id < 0 ? strerrorname_np(e) : "",
	       id >= 0 ? (is_dipc_id(id) ? " dipc" : " kernel") : "");
	if (id >= 0 && !is_dipc_id(id) && (flags & IPC_CREAT))
		semctl(id, 0, IPC_RMID);
	return id < 0;
}

/* The daemon path against a fake daemon that answers with canned values. */
static int cmd_dipc(void)
{
	int id = CALL("semget IPC_DIPC", semget(0x4242, 3, IPC_CREAT | IPC_DIPC | 0600));
	check(is_dipc_id(id), "dipc id");
	CALL("semget EEXIST", semget(0x7777, 3, IPC_CREAT | IPC_DIPC));
	CALL("semget nsems -1", semget(0x4243, -1, IPC_CREAT | IPC_DIPC));

	struct sembuf ops[1000];
	for (int i = 0; i < 1000; i++)
		ops[i] = (struct sembuf){ (unsigned short)(i % 3), (short)(i + 1), SEM_UNDO };
	CALL("semop 2", semop(id, ops, 2));
	CALL("semop 16", semop(id, ops, 16));
	CALL("semop 17 (large)", semop(id, ops, 17));
	CALL("semop 1000 (large)", semop(id, ops, 1000));
	CALL("semop 1001 E2BIG", semop(id, ops, 1001));
	CALL("semop 0 EINVAL", semop(id, ops, 0));
	CALL("semop NULL EFAULT", semop(id, NULL, 1));
	struct timespec ts = { 2, 500 };
	CALL("semtimedop 2.0000005s", semtimedop(id, ops, 1, &ts));
	CALL("semtimedop NULL", semtimedop(id, ops, 1, NULL));
	ts.tv_sec = -1;
	CALL("semtimedop tv_sec -1", semtimedop(id, ops, 1, &ts));
	ts = (struct timespec){ 0, 1000000000 };
	CALL("semtimedop nsec 1e9", semtimedop(id, ops, 1, &ts));

	struct semid_ds ds;
	union semun a = { .buf = &ds };
	memset(&ds, 0xa5, sizeof(ds));
	CALL("IPC_STAT", semctl(id, 0, IPC_STAT, a));
	printf("stat: key=0x%x uid=%u gid=%u cuid=%u cgid=%u mode=0%o seq=%u otime=%ld ctime=%ld "
	       "nsems=%lu reserved=%lu\n",
	       (unsigned)ds.sem_perm.__key, ds.sem_perm.uid, ds.sem_perm.gid, ds.sem_perm.cuid,
	       ds.sem_perm.cgid, (unsigned)ds.sem_perm.mode, ds.sem_perm.__seq,
	       (long)ds.sem_otime, (long)ds.sem_ctime, (unsigned long)ds.sem_nsems,
	       (unsigned long)ds.__glibc_reserved3);
	CALL("SEM_STAT returns id", semctl(id, 0, SEM_STAT, a) == id);
	CALL("SEM_STAT_ANY returns id", semctl(id, 0, SEM_STAT_ANY, a) == id);
	CALL("IPC_STAT|IPC_64 (EINVAL)", semctl(id, 0, IPC_STAT | 0x100, a));
	ds.sem_perm.uid = 11;
	ds.sem_perm.gid = 12;
	ds.sem_perm.mode = 0604;
	CALL("IPC_SET", semctl(id, 0, IPC_SET, a));
	a.buf = NULL;
	CALL("IPC_STAT NULL", semctl(id, 0, IPC_STAT, a));
	CALL("IPC_SET NULL", semctl(id, 0, IPC_SET, a));
	struct seminfo si;
	union semun ia = { .__buf = &si };
	CALL("IPC_INFO", semctl(id, 0, IPC_INFO, ia));
	printf("info: %d %d %d %d %d %d %d %d %d %d\n", si.semmap, si.semmni, si.semmns,
	       si.semmnu, si.semmsl, si.semopm, si.semume, si.semusz, si.semvmx, si.semaem);
	CALL("SEM_INFO", semctl(id, 0, SEM_INFO, ia));
	CALL("GETVAL 2", semctl(id, 2, GETVAL));
	CALL("GETPID", semctl(id, 0, GETPID));
	CALL("GETNCNT", semctl(id, 1, GETNCNT));
	CALL("GETZCNT", semctl(id, 1, GETZCNT));
	a.val = 33;
	CALL("SETVAL", semctl(id, 1, SETVAL, a));
	unsigned short vals[3] = { 4, 5, 6 }, out[4] = { 0, 0, 0, 0xffff };
	a.array = vals;
	CALL("SETALL", semctl(id, 0, SETALL, a));
	a.array = out;
	CALL("GETALL", semctl(id, 0, GETALL, a));
	printf("getall: %u %u %u (untouched %u)\n", out[0], out[1], out[2], out[3]);
	a.array = NULL;
	CALL("GETALL NULL", semctl(id, 0, GETALL, a));
	CALL("bad cmd", semctl(id, 0, 12345));
	CALL("IPC_RMID", semctl(id, 0, IPC_RMID));
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static int cmd_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	int id = semget(0x4244, 1, IPC_CREAT | IPC_DIPC);
	struct sembuf op = { 0, -99, 0 };
	ualarm(200000, 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CALL("blocked semop", semop(id, &op, 1));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("alarms=%d after ~%ld ms\n", (int)alarms, ms);
	check(alarms == 1 && ms < 2000, "EINTR promptly");
	return failures != 0;
}

/* Descriptors of this process that point at a .control file. */
static int count_control_fds(int *ret_cloexec)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	*ret_cloexec = 1;
	while ((e = readdir(d))) {
		char p[300], t[4096];
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(p, t, sizeof(t) - 1);
		if (k <= 0)
			continue;
		t[k] = 0;
		if (strstr(t, "/.control")) {
			n++;
			if (!(fcntl(atoi(e->d_name), F_GETFD) & FD_CLOEXEC))
				*ret_cloexec = 0;
		}
	}
	closedir(d);
	return n;
}

static int cmd_fork(void)
{
	int id = semget(0x4245, 1, IPC_CREAT | IPC_DIPC);
	int cloexec;
	printf("control fds before fork: %d\n", count_control_fds(&cloexec));
	check(cloexec, "control fd is O_CLOEXEC");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct sembuf op = { 0, 1, 0 };
		printf("child pid %d: control fds %d\n", getpid(), count_control_fds(&cloexec));
		CALL("child semop", semop(id, &op, 1));
		printf("child control fds after: %d\n", count_control_fds(&cloexec));
		fflush(stdout);
		_exit(failures != 0);
	}
	int st;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child");
	return failures != 0;
}

static int cmd_reopen(void)
{
	int id = semget(0x4246, 1, IPC_CREAT | IPC_DIPC);
	struct sembuf op = { 0, 1, 0 };
	int cloexec;
	printf("control fds: %d\n", count_control_fds(&cloexec));
	for (int fd = 3; fd < 64; fd++)
		close(fd);
	int devnull = open("/dev/null", O_RDWR); /* takes the shim's old number */
	printf("reused fd %d for /dev/null\n", devnull);
	CALL("semop after close", semop(id, &op, 1));
	printf("control fds: %d\n", count_control_fds(&cloexec));
	check(fcntl(devnull, F_GETFD) >= 0, "program's fd left open");
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}

static void *thread_main(void *arg)
{
	(void)arg;
	int id = semget(0x4247, 1, IPC_CREAT | IPC_DIPC);
	struct sembuf op = { 0, 1, 0 };
	if (id < 0 || semop(id, &op, 1) < 0)
		return (void *)1;
	return NULL;
}

static int cmd_threads(void)
{
	pthread_t t[16];
	for (int i = 0; i < 16; i++)
		pthread_create(&t[i], NULL, thread_main, NULL);
	for (int i = 0; i < 16; i++) {
		void *r;
		pthread_join(t[i], &r);
		check(r == NULL, "thread call");
	}
	int cloexec;
	int n = count_control_fds(&cloexec);
	printf("control fds after 16 racing threads: %d\n", n);
	check(n == 1, "one control fd");
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "kernel"))
		return cmd_kernel();
	if (!strcmp(argv[1], "get"))
		return cmd_get(argc, argv);
	if (!strcmp(argv[1], "dipc"))
		return cmd_dipc();
	if (!strcmp(argv[1], "eintr"))
		return cmd_eintr();
	if (!strcmp(argv[1], "fork"))
		return cmd_fork();
	if (!strcmp(argv[1], "reopen"))
		return cmd_reopen();
	if (!strcmp(argv[1], "threads"))
		return cmd_threads();
	return 2;
}
