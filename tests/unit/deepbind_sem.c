/* SPDX-License-Identifier: MIT */
/**
 * @file deepbind_sem.c
 *
 * A plugin as PHP loads its extensions: a shared object that makes SysV
 * calls and is opened with RTLD_DEEPBIND (test_shim_dlopen.c).  Its semget
 * import is what libdipc.so's dlopen looks for.
 */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "dipc_abi.h"

int deepbind_probe(key_t key);

/* semget of a set that is nowhere, with IPC_DIPC: the errno it fails with
 * says who served it (the shim without a mount under DIPC_REQUIRE=1:
 * ENOSYS; the kernel: ENOENT). */
int deepbind_probe(key_t key)
{
	errno = 0;
	if (semget(key, 1, IPC_DIPC | 0600) >= 0)
		return 0;
	return errno;
}
