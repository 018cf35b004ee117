/* SPDX-License-Identifier: MIT */
/**
 * @file test_shim_kernel.c
 *
 * The kernel path through libdipc.so is indistinguishable from libc's: every
 * semaphore call on a kernel set (results, errno, IPC_STAT fields; a
 * successful call leaves errno alone; IPC_STAT through the shim equals
 * libc's byte for byte), run once without and once with LD_PRELOAD of the
 * built shim, must print the same lines.  No mount is needed: the policy is
 * "none" and the calls carry no IPC_DIPC, so the shim hands them to libc.
 *
 *   test_shim_kernel SHIM.so      the test: runs itself twice and compares
 *   test_shim_kernel kernel KEY   one run, on kernel set KEY (and KEY+1)
 *
 * (This was shim/selftest.c, a driver that was not built; its daemon modes
 * needed a canned-answer daemon that no longer exists, and what they checked
 * runs against real mounts in tests/integration.)
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static int cmd_kernel(key_t key)
{
	if (getenv("LD_PRELOAD")) {
		/* the comparison means nothing if the shim did not load */
		void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
		check(libc && dlsym(RTLD_DEFAULT, "semget") != dlsym(libc, "semget"),
		      "semget is the shim's");
	}
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
	CALL("semget negative", semget(key + 1, -1, IPC_CREAT));
	CALL("semget absent", semget(key + 1, 1, 0));

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

/* Run "argv0 kernel KEY" with stdout into out (at most size - 1 bytes),
 * LD_PRELOAD=shim (or none); its exit status, or -1. */
static int run_child(const char *argv0, const char *shim, key_t key, char *out, size_t size)
{
	int pfd[2];
	char keytext[32];

	snprintf(keytext, sizeof(keytext), "0x%x", (unsigned)key);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		if (shim) {
			setenv("LD_PRELOAD", shim, 1);
			/* no mount, policy "none": every call is the kernel's */
			setenv("DIPC_MOUNT", "/nonexistent/dipc-test-shim-kernel", 1);
			setenv("DIPC_KEYS", "", 1);
		} else {
			unsetenv("LD_PRELOAD");
		}
		execl(argv0, argv0, "kernel", keytext, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	size_t len = 0;
	ssize_t k;
	while ((k = read(pfd[0], out + len, size - 1 - len)) > 0 || (k < 0 && errno == EINTR))
		if (k > 0)
			len += (size_t)k;
	out[len] = '\0';
	close(pfd[0]);
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	static char native[65536], shimmed[65536];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "kernel"))
		return cmd_kernel((key_t)strtoul(argv[2], NULL, 0));
	if (argc != 2) {
		fprintf(stderr, "usage: %s SHIM.so | kernel KEY\n", argv[0]);
		return 2;
	}
	/* a key of this run only: other test runs may share the machine */
	key_t key = (key_t)(0x5e100000u | ((unsigned)getpid() & 0xfffffu) << 1);
	int rn = run_child("/proc/self/exe", NULL, key, native, sizeof(native));
	int rs = run_child("/proc/self/exe", argv[1], key, shimmed, sizeof(shimmed));
	printf("# without the shim (exit %d):\n%s# with %s (exit %d):\n%s", rn, native, argv[1],
	       rs, shimmed);
	if (rn != 0 || rs != 0 || strcmp(native, shimmed) != 0) {
		printf("FAIL: the kernel path through the shim differs from libc's\n");
		return 1;
	}
	return 0;
}
