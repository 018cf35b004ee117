/* SPDX-License-Identifier: MIT */
/*
 * badioctl MOUNT — hostile requests on a dipcfs control file.
 *
 * Sends malformed ioctls and writes straight to MOUNT/.control (no shim) and
 * prints one line per case: "name: ret=<r> errno=<NAME>".  The integration
 * test checks each errno, that the daemon is still alive afterwards and that
 * a well-formed request still works.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

#include "dipc_abi.h"
#include "progs_common.h"

static int fd;

static void hdr(struct dipc_ioc_hdr *h)
{
	h->version = DIPC_ABI_VERSION;
	h->pid = getpid();
}

static void try(const char *name, unsigned long cmd, void *arg)
{
	errno = 0;
	int r = ioctl(fd, cmd, arg);
	printf("%s: ret=%d errno=%s\n", name, r < 0 ? -1 : r, r < 0 ? errname(errno) : "0");
}

int main(int argc, char **argv)
{
	char path[4096];
	static char big[DIPC_MSG_INLINE_MAX + 64];

	if (argc != 2) {
		fprintf(stderr, "usage: badioctl MOUNT\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s", argv[1], DIPC_CONTROL_NAME);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}

	/* A known request number with another size is another request. */
	hdr((struct dipc_ioc_hdr *)big);
	try("wrong_size", _IOW(DIPC_IOC_MAGIC, 2, char[8]), big);
	try("unknown_nr", _IOW(DIPC_IOC_MAGIC, 99, struct dipc_ioc_hdr), big);
	try("other_magic", _IOW('x', 1, struct dipc_ioc_hdr), big);
	try("no_payload", _IO(DIPC_IOC_MAGIC, 1), NULL);

	struct dipc_ioc_get g;
	memset(&g, 0, sizeof(g));
	hdr(&g.hdr);
	g.hdr.version = 99;
	try("bad_version", DIPC_IOC_GET, &g);
	hdr(&g.hdr);
	g.kind = 99;
	g.key = 0x5eed;
	g.flags = IPC_CREAT | 0600;
	try("bad_kind", DIPC_IOC_GET, &g);

	struct dipc_ioc_semop s;
	memset(&s, 0, sizeof(s));
	hdr(&s.hdr);
	s.id = dipc_id_from_serial(0xfffffe);
	s.nsops = DIPC_SEMOP_SMALL + 1;
	s.timeout_ns = -1;
	try("semop_nsops_over_struct", DIPC_IOC_SEMOP, &s);
	s.nsops = 1;
	try("semop_unknown_id", DIPC_IOC_SEMOP, &s);
	s.id = 5;   /* not a cluster id at all */
	try("semop_kernel_id", DIPC_IOC_SEMOP, &s);

	static struct dipc_ioc_semarray a;
	memset(&a, 0, sizeof(a));
	hdr(&a.hdr);
	a.id = dipc_id_from_serial(0xfffffe);
	a.cmd = SETALL;
	a.nsems = DIPC_SEMMSL_MAX + 1;
	try("setall_too_many", DIPC_IOC_SEMARRAY, &a);
	a.cmd = GETVAL;
	try("semarray_bad_cmd", DIPC_IOC_SEMARRAY, &a);

	struct dipc_ioc_msgsnd_s m;
	memset(&m, 0, sizeof(m));
	hdr(&m.hdr);
	m.id = dipc_id_from_serial(0xfffffe);
	m.mtype = 1;
	m.msgsz = DIPC_MSG_INLINE_SMALL + 1;
	try("msgsnd_size_over_struct", DIPC_IOC_MSGSND_S, &m);
	struct dipc_ioc_msgsnd_staged st;
	memset(&st, 0, sizeof(st));
	hdr(&st.hdr);
	st.id = m.id;
	st.mtype = 1;
	st.msgsz = 100000;
	try("msgsnd_staged_nothing_staged", DIPC_IOC_MSGSND_STAGED, &st);
	struct dipc_ioc_msgrcv_s rv;
	memset(&rv, 0, sizeof(rv));
	hdr(&rv.hdr);
	rv.id = m.id;
	rv.msgsz = DIPC_MSG_INLINE_SMALL + 1;
	try("msgrcv_size_over_struct", DIPC_IOC_MSGRCV_S, &rv);

	/* Shared memory: unknown segments, pages past the end, a shmdt of
	 * nothing attached, a fault on an id the node never saw. */
	struct dipc_ioc_shmat at;
	memset(&at, 0, sizeof(at));
	hdr(&at.hdr);
	at.id = m.id;
	try("shmat_unknown_id", DIPC_IOC_SHMAT, &at);
	try("shmdt_not_attached", DIPC_IOC_SHMDT, &at);
	struct dipc_ioc_shmfault sf;
	memset(&sf, 0, sizeof(sf));
	hdr(&sf.hdr);
	sf.id = m.id;
	sf.page = ~0ull;
	sf.write = 1;
	try("shmfault_unknown_id", DIPC_IOC_SHMFAULT, &sf);
	struct dipc_ioc_shmctl sc;
	memset(&sc, 0, sizeof(sc));
	hdr(&sc.hdr);
	sc.id = m.id;
	sc.cmd = 12345;
	try("shmctl_unknown_id", DIPC_IOC_SHMCTL, &sc);
	struct dipc_ioc_shmwait sw;
	memset(&sw, 0, sizeof(sw));
	hdr(&sw.hdr);
	sw.probe = 1;
	sw.ack = ~0ull;   /* acknowledges nothing it was sent */
	try("shmwait_probe_bogus_ack", DIPC_IOC_SHMWAIT, &sw);

	/* A staged text larger than any message may be. */
	int pfd = open(path, O_RDWR | O_CLOEXEC);
	static char huge[1 << 16];
	errno = 0;
	ssize_t w = 0;
	for (int i = 0; i < 4096 && w >= 0; i++)
		w = write(pfd, huge, sizeof(huge));
	printf("staged_write_over_msgmax: ret=%d errno=%s\n", w < 0 ? -1 : 0,
	       w < 0 ? errname(errno) : "0");
	close(pfd);

	/* Reading the control file with nothing staged returns nothing. */
	char b[16];
	errno = 0;
	ssize_t n = read(fd, b, sizeof(b));
	printf("read_nothing: ret=%zd errno=%s\n", n, n < 0 ? errname(errno) : "0");
	close(fd);
	return 0;
}
