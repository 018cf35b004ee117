/* SPDX-License-Identifier: MIT */
/**
 * @file lossy.c
 *
 * The programs of the loss test (tests/integration/test_msg_loss.py, which
 * explains the method): senders of checksummed, numbered messages, receivers
 * that record what they really got in a way a SIGKILL cannot undo, and a
 * killer that knows where its victim was when it struck.
 *
 *   lossy send [-T TIMES] QID SENDER COUNT [NTYPES]
 *   lossy recv [-c CPU] [-s] [-t MSGTYP] [-n] LOG QID
 *   lossy kill [-a] [-r TRIES] CPU VICTIM_PID LOG DAEMON_PID
 *
 * The message.  Text (little-endian, at most TEXT_MAX = 56 bytes):
 *
 *     0   u32 magic "LOSS"      8   u32 seq          16  payload[len]
 *     4   u16 sender            12  u32 mtype (copy)  16+len  u32 crc32
 *     6   u16 len (0..36)
 *
 * crc32 (IEEE, zlib's) covers bytes [0, 16+len).  The payload is a function
 * of (sender, seq, j), so a record can be checked whole.  mtype is
 * 1 + seq % NTYPES (default 3).  A sender sends seq = 0..COUNT-1 and prints
 * "sent=COUNT eintr=0"; it never sees EINTR (it has no signal handler, so a
 * stop and continue must restart msgsnd silently): an EINTR is counted and
 * printed, and the test fails on it.  sender 65535 is STOP: a receiver that
 * gets it records it and exits 0 ("stopped").  -T TIMES: a file that gets
 * COUNT u64 CLOCK_MONOTONIC nanoseconds, when each msgsnd returned (for the
 * test's report on a lost message).
 *
 * The receiver's log.  LOG is created (O_EXCL) and mapped MAP_SHARED:
 *
 *     header (64 bytes): u32 magic "RLOG", pid, state, slot, capacity
 *     slot i at 64 + 64*i: long mtype, then the text (56 bytes)
 *
 * For each message the receiver sets slot = i and state = 1 (in msgrcv),
 * calls msgrcv with msgp pointing at slot i itself, then sets state = 0.
 * So the kernel -- natively inside msgrcv, through dipcfs inside the read()
 * of the staged path (-s: a 20000-byte buffer, above the inline limit) --
 * or the shim's copy right after its ioctl (inline path) writes the message
 * straight into the log: a record exists the moment msgrcv has it in the
 * caller's memory, and a SIGKILL after that cannot undo it.  The buffer runs
 * over the following (still zero) slots, which only the message's own bytes
 * touch; 20 KiB of slack follow the last slot for that.  After the slack,
 * SLOTS u64: CLOCK_MONOTONIC nanoseconds when msgrcv of slot i returned
 * (written after the record; only for the test's report).  A full log
 * (SLOTS records) exits 0 with "full"; the test then starts a new
 * incarnation with a new log.  -n: IPC_NOWAIT, exit 0 at ENOMSG ("drained").
 * -c CPU pins the receiver to that CPU.  Every page of the log is faulted in
 * at the start, and LOG should be on tmpfs (the test uses /dev/shm): a fault
 * inside the kernel's copy to msgp with a SIGKILL pending fails the copy, and
 * the kernel then drops the message (on a disk file system, writeback
 * write-protects pages again).
 *
 * The killer.  lossy kill runs under SCHED_FIFO on CPU, where the victim
 * and every thread of its node's mount.dipcfs (DAEMON_PID) are pinned, so
 * that neither can run while it looks at them and strikes.  It reads the
 * victim's state, system call and kernel stack (/proc/PID/stat, syscall,
 * stack) and the kernel stack and state of every daemon thread:
 *
 *   safe    the victim sleeps in ioctl or read (the armed read of msgrcv),
 *           in FUSE's request_wait_answer (its
 *           msgrcv's request, not yet answered: an answer would have woken
 *           it), and no daemon thread is inside a write to /dev/fuse (so
 *           none is half-way through writing that answer; where a thread's
 *           stack cannot be read, it must not be runnable either)
 *   idle    the victim is elsewhere with state 0 in its log: between two
 *           calls, nothing received and not recorded
 *   window  anything else with state 1 (runnable: woken by an answer; or
 *           in ioctl while a daemon thread may be writing its answer): it
 *           may hold a message the kernel delivered and the shim has not
 *           copied to slot N yet
 *
 * Without -a it retries (sleeping 200..1000 us, off the CPU) until the
 * victim is safe, up to TRIES times (default 400), then kills anyway and
 * reports what it found.  With -a it kills at once.  Output:
 * "class=safe|idle|window|gone slot=N tries=T at=NS" (NS: CLOCK_MONOTONIC
 * nanoseconds of the kill).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "msgprogs.h"

#define MSG_MAGIC 0x53534f4cu /* "LOSS" little-endian */
#define LOG_MAGIC 0x474f4c52u /* "RLOG" */
#define TEXT_MAX 56
#define PAYLOAD_MAX 36
#define SLOT 64
#define HDR 64
#define SLOTS 16384
#define SLACK 20480
#define STAGED_CAP 20000
#define STOP_SENDER 65535

struct loghdr {
	volatile uint32_t magic, pid, state, slot, capacity;
};

struct lmsg {
	long mtype;
	unsigned char text[TEXT_MAX];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: lossy send [-T TIMES] QID SENDER COUNT [NTYPES]\n"
			"       lossy recv [-c CPU] [-s] [-t MSGTYP] [-n] LOG QID\n"
			"       lossy kill [-a] [-r TRIES] CPU VICTIM_PID LOG DAEMON_PID\n");
	return 2;
}

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(unsigned char *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static unsigned char payload_byte(unsigned sender, uint32_t seq, unsigned j)
{
	return (unsigned char)(seq * 131u + sender * 29u + j * 7u);
}

/* Build message (sender, seq); returns the text size. */
static size_t build(struct lmsg *m, unsigned sender, uint32_t seq, unsigned ntypes)
{
	unsigned len = (seq * 7u + sender) % (PAYLOAD_MAX + 1);

	m->mtype = 1 + (long)(seq % ntypes);
	put32(m->text, MSG_MAGIC);
	put16(m->text + 4, (uint16_t)sender);
	put16(m->text + 6, (uint16_t)len);
	put32(m->text + 8, seq);
	put32(m->text + 12, (uint32_t)m->mtype);
	for (unsigned j = 0; j < len; j++)
		m->text[16 + j] = payload_byte(sender, seq, j);
	put32(m->text + 16 + len, crc32_ieee(m->text, 16 + len));
	return 20 + len;
}

/* ---- send ------------------------------------------------------------------ */

static int cmd_send(int argc, char **argv)
{
	unsigned long count, eintr = 0;
	unsigned sender, ntypes = 3;
	const char *times = NULL;
	uint64_t *ts = NULL;
	struct lmsg m;
	int q, opt;

	optind = 1;
	while ((opt = getopt(argc, argv, "+T:")) != -1) {
		if (opt != 'T')
			return usage();
		times = optarg;
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		return usage();
	q = (int)strtol(argv[0], NULL, 0);
	sender = (unsigned)strtoul(argv[1], NULL, 0);
	count = strtoul(argv[2], NULL, 0);
	if (argc > 3)
		ntypes = (unsigned)strtoul(argv[3], NULL, 0);
	if (ntypes < 1 || sender > STOP_SENDER)
		return usage();
	if (times && !(ts = calloc(count ? count : 1, sizeof(*ts)))) {
		perror("calloc");
		return 1;
	}
	for (unsigned long i = 0; i < count; i++) {
		size_t n = build(&m, sender, (uint32_t)i, ntypes);

		while (msgsnd(q, &m, n, 0) < 0) {
			if (errno != EINTR) {
				printf("err %s at=%lu\n", errname(errno), i);
				return 1;
			}
			eintr++;
		}
		if (ts)
			ts[i] = mono_ns();
	}
	if (times) {
		FILE *f = fopen(times, "wb");

		if (!f || fwrite(ts, sizeof(*ts), count, f) != count || fclose(f)) {
			perror(times);
			return 1;
		}
	}
	printf("sent=%lu eintr=%lu\n", count, eintr);
	return 0;
}

/* ---- recv ------------------------------------------------------------------ */

static int cmd_recv(int argc, char **argv)
{
	bool staged = false, nowait = false;
	long msgtyp = 0;
	int opt, cpu = -1, fd, q;
	size_t size = HDR + (size_t)SLOTS * SLOT + SLACK + (size_t)SLOTS * 8;
	struct loghdr *h;
	unsigned char *base;
	uint64_t *times;

	optind = 1;
	while ((opt = getopt(argc, argv, "+c:st:n")) != -1) {
		switch (opt) {
		case 'c':
			cpu = atoi(optarg);
			break;
		case 's':
			staged = true;
			break;
		case 't':
			msgtyp = strtol(optarg, NULL, 0);
			break;
		case 'n':
			nowait = true;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 2)
		return usage();
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			perror("sched_setaffinity");
			return 1;
		}
	}
	q = (int)strtol(argv[optind + 1], NULL, 0);
	fd = open(argv[optind], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror(argv[optind]);
		return 1;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	close(fd);
	/* Fault every page in, writable, now: a page fault inside the kernel's
	 * copy to msgp fails with EFAULT when a SIGKILL is pending, and the
	 * kernel then drops the message it had taken off the queue. */
	for (size_t off = 0; off < size; off += 4096)
		((volatile unsigned char *)base)[off] = 0;
	h = (struct loghdr *)base;
	times = (uint64_t *)(base + HDR + (size_t)SLOTS * SLOT + SLACK);
	h->pid = (uint32_t)getpid();
	h->capacity = staged ? STAGED_CAP : TEXT_MAX;
	h->state = 0;
	h->slot = 0;
	h->magic = LOG_MAGIC;
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);

	for (uint32_t i = 0; i < SLOTS; i++) {
		struct lmsg *slot = (struct lmsg *)(base + HDR + (size_t)i * SLOT);
		uint32_t sender;
		ssize_t r;

		h->slot = i;
		h->state = 1;
		/* msgrcv is an opaque call: the stores above are done before it,
		 * and the store below only after it returned */
		r = msgrcv(q, slot, h->capacity, msgtyp, nowait ? IPC_NOWAIT : 0);
		if (r < 0) {
			int e = errno;

			h->state = 0;
			if (e == ENOMSG && nowait) {
				printf("drained n=%u\n", i);
				return 0;
			}
			if (e == EIDRM || e == EINVAL) {
				printf("removed n=%u\n", i);
				return 0;
			}
			if (e == EINTR) {
				/* no handler here: a visible EINTR is a bug; the test
				 * sees it in the output */
				printf("err EINTR slot=%u\n", i);
				i--;
				continue;
			}
			printf("err %s slot=%u\n", errname(e), i);
			return 1;
		}
		h->state = 0;
		times[i] = mono_ns();
		memcpy(&sender, slot->text + 4, 2);
		sender &= 0xffff;
		if (sender == STOP_SENDER) {
			printf("stopped n=%u\n", i + 1);
			return 0;
		}
	}
	printf("full n=%u\n", SLOTS);
	return 0;
}

/* ---- kill ------------------------------------------------------------------ */

/* State letter of /proc/PID/stat or /proc/PID/task/TID/stat, 0 if gone. */
static char proc_state(const char *path)
{
	char buf[512], *p;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command may contain spaces */
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

/* The system call number in /proc/PID/syscall: >= 0, -1 (blocked, not in a
 * call), -2 ("running"), -3 (gone). */
static long proc_syscall(pid_t pid)
{
	char path[64], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -3;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -3;
	buf[n] = 0;
	if (strncmp(buf, "running", 7) == 0)
		return -2;
	return strtol(buf, NULL, 10);
}

/* Does the kernel stack in PATH (/proc/.../stack) have a frame whose name
 * contains both a and b (b may be NULL)?  1 yes, 0 no, -1 unreadable. */
static int stack_has(const char *path, const char *a, const char *b)
{
	char buf[4096], *line, *save = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, a) && (!b || strstr(line, b)))
			return 1;
	return 0;
}

/* Could a thread of the daemon be half-way through writing an answer to
 * /dev/fuse?  Its kernel stack says so (a fuse_dev_*write frame); where the
 * stack cannot be read, any runnable thread counts as possibly writing. */
static bool daemon_may_be_answering(pid_t dpid)
{
	char path[64];
	struct dirent *d;
	bool any = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)dpid);
	dir = opendir(path);
	if (!dir)
		return true; /* cannot tell: not safe */
	while ((d = readdir(dir))) {
		char st[320], s;
		int w;

		if (d->d_name[0] == '.')
			continue;
		snprintf(st, sizeof(st), "/proc/%d/task/%s/stack", (int)dpid, d->d_name);
		w = stack_has(st, "fuse_dev", "write");
		snprintf(st, sizeof(st), "/proc/%d/task/%s/stat", (int)dpid, d->d_name);
		s = proc_state(st);
		if (s == 0 || w == 1 || (w < 0 && s == 'R'))
			any = true;
	}
	closedir(dir);
	return any;
}

static bool read_hdr(const char *log, struct loghdr *h)
{
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = pread(fd, (void *)h, sizeof(*h), 0) == (ssize_t)sizeof(*h);
	close(fd);
	return ok && h->magic == LOG_MAGIC;
}

static int cmd_kill(int argc, char **argv)
{
	bool any = false;
	long tries = 400, t;
	int opt, cpu;
	pid_t victim, dpid;
	const char *log, *cls = "gone";
	struct sched_param sp = { .sched_priority = 50 };
	struct loghdr h = { 0 };
	uint64_t at;
	cpu_set_t set;
	char path[64], stackpath[64];

	optind = 1;
	while ((opt = getopt(argc, argv, "+ar:")) != -1) {
		switch (opt) {
		case 'a':
			any = true;
			break;
		case 'r':
			tries = strtol(optarg, NULL, 0);
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 4)
		return usage();
	cpu = atoi(argv[optind]);
	victim = (pid_t)atoi(argv[optind + 1]);
	log = argv[optind + 2];
	dpid = (pid_t)atoi(argv[optind + 3]);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)victim);

	/* FIFO first, then the move: once sched_setaffinity returns we run on
	 * CPU, and nothing of lower class runs there until we sleep or exit */
	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
		printf("err sched_setscheduler %s\n", errname(errno));
		return 1;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0 || sched_getcpu() != cpu) {
		printf("err sched_setaffinity %s\n", errname(errno));
		return 1;
	}

	snprintf(stackpath, sizeof(stackpath), "/proc/%d/stack", (int)victim);
	for (t = 1;; t++) {
		char s = proc_state(path);
		long nr = proc_syscall(victim);
		/* asleep (not woken by an answer) in the FUSE request of its ioctl or read */
		bool in_ioctl = (s == 'S' || s == 'D') && (nr == SYS_ioctl || nr == SYS_read) &&
				stack_has(stackpath, "request_wait_answer", NULL) != 0;

		if (s == 0 || s == 'Z' || s == 'X' || nr == -3) {
			cls = "gone";
			break;
		}
		if (in_ioctl && !daemon_may_be_answering(dpid)) {
			cls = "safe";
			break;
		}
		if (any || t >= tries) {
			if (!read_hdr(log, &h))
				cls = "window"; /* no header yet: count it against us */
			else
				cls = h.state ? "window" : "idle";
			break;
		}
		{
			struct timespec ts = { 0, 200000 + (rand() % 800) * 1000L };

			nanosleep(&ts, NULL);
		}
	}
	if (strcmp(cls, "safe") == 0 || strcmp(cls, "window") == 0)
		read_hdr(log, &h);
	at = mono_ns();
	if (strcmp(cls, "gone") != 0)
		kill(victim, SIGKILL);
	printf("class=%s slot=%u tries=%ld at=%llu\n", cls, h.magic == LOG_MAGIC ? h.slot : 0, t,
	       (unsigned long long)at);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	srand((unsigned)getpid());
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "send") == 0)
		return cmd_send(argc - 1, argv + 1);
	if (strcmp(argv[1], "recv") == 0)
		return cmd_recv(argc - 1, argv + 1);
	if (strcmp(argv[1], "kill") == 0)
		return cmd_kill(argc - 1, argv + 1);
	return usage();
}
