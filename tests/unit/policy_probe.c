/* SPDX-License-Identifier: MIT */
/**
 * @file policy_probe.c
 *
 * An unmodified SysV program for test_policy.c: run under LD_PRELOAD of the
 * shim with DIPC_REQUIRE=1 and no mount, it asks semget(KEY, 1, 0) for each
 * key on its command line and prints "KEY dipc" when the shim's key policy
 * sent the call to the cluster (it fails with ENOSYS: no mount) or
 * "KEY kernel" otherwise.  A private set the kernel made for key 0 is
 * removed again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		key_t key = (key_t)strtoul(argv[i], NULL, 0);
		errno = 0;
		int id = semget(key, 1, 0);
		int e = errno;
		if (id >= 0 && key == IPC_PRIVATE)
			semctl(id, 0, IPC_RMID);
		printf("0x%x %s\n", (unsigned)key, id < 0 && e == ENOSYS ? "dipc" : "kernel");
	}
	return 0;
}
