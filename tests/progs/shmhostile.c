/* SPDX-License-Identifier: MIT */
/*
 * shmhostile MOUNT CASE [ID] — hostile shared-memory requests on a dipcfs
 * control file, sent as raw ioctls (no shim), as a local user who owns no
 * attach would.  Prints "CASE: ret=<r> errno=<NAME>".  Cases:
 *
 *   get_huge         DIPC_IOC_GET creating a private segment of 2^50 bytes
 *   shmat_fork ID    SHMAT claiming fork = 1 (an attach inherited from a
 *                    parent that holds none)
 *   shmfault ID      a write fault of page 0 without an attach
 *   shmfault_read ID a read fault of page 0 without an attach
 *   shmwait          SHMWAIT (not a probe) without an attach
 *   shmctl_attach ID the internal attach command through the SHMCTL row
 *   shmctl_detach ID the internal detach command through the SHMCTL row
 *
 * The integration test (test_shm_security.py) checks each errno, that the
 * daemons live on, and that the segment's nattch did not move.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dipc_abi.h"
#include "progs_common.h"

/* fs/node.h: the owner's internal attach and detach commands */
#define DIPC_SHM_CMD_ATTACH 1000
#define DIPC_SHM_CMD_DETACH 1001

static void hdr(struct dipc_ioc_hdr *h)
{
	h->version = DIPC_ABI_VERSION;
	h->pid = getpid();
}

int main(int argc, char **argv)
{
	char path[4096];
	int fd, r;
	const char *c;
	int32_t id;

	if (argc < 3) {
		fprintf(stderr, "usage: shmhostile MOUNT CASE [ID]\n");
		return 2;
	}
	c = argv[2];
	id = argc > 3 ? (int32_t)strtol(argv[3], NULL, 0) : 0;
	snprintf(path, sizeof(path), "%s/%s", argv[1], DIPC_CONTROL_NAME);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	errno = 0;
	if (strcmp(c, "get_huge") == 0) {
		struct dipc_ioc_get g;
		memset(&g, 0, sizeof(g));
		hdr(&g.hdr);
		g.kind = DIPC_KIND_SHM;
		g.key = 0;
		g.flags = IPC_CREAT | 0600;
		g.size = 1ull << 50;
		r = ioctl(fd, DIPC_IOC_GET, &g);
	} else if (strcmp(c, "shmat_fork") == 0) {
		struct dipc_ioc_shmat a;
		memset(&a, 0, sizeof(a));
		hdr(&a.hdr);
		a.id = id;
		a.fork = 1;
		r = ioctl(fd, DIPC_IOC_SHMAT, &a);
	} else if (strcmp(c, "shmfault") == 0 || strcmp(c, "shmfault_read") == 0) {
		struct dipc_ioc_shmfault f;
		memset(&f, 0, sizeof(f));
		hdr(&f.hdr);
		f.id = id;
		f.write = strcmp(c, "shmfault") == 0;
		f.whole = 1;
		r = ioctl(fd, DIPC_IOC_SHMFAULT, &f);
	} else if (strcmp(c, "shmwait") == 0) {
		struct dipc_ioc_shmwait w;
		memset(&w, 0, sizeof(w));
		hdr(&w.hdr);
		r = ioctl(fd, DIPC_IOC_SHMWAIT, &w);
	} else if (strcmp(c, "shmctl_attach") == 0 || strcmp(c, "shmctl_detach") == 0) {
		struct dipc_ioc_shmctl s;
		memset(&s, 0, sizeof(s));
		hdr(&s.hdr);
		s.id = id;
		s.cmd = strcmp(c, "shmctl_attach") == 0 ? DIPC_SHM_CMD_ATTACH : DIPC_SHM_CMD_DETACH;
		r = ioctl(fd, DIPC_IOC_SHMCTL, &s);
	} else {
		fprintf(stderr, "shmhostile: unknown case %s\n", c);
		return 2;
	}
	printf("%s: ret=%d errno=%s\n", c, r < 0 ? -1 : r, r < 0 ? errname(errno) : "0");
	return 0;
}
