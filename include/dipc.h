/* SPDX-License-Identifier: MIT */
/**
 * @file dipc.h
 *
 * The public header of dipcfs: everything a System V IPC program may use to
 * put its objects on a dipcfs cluster.  Installed as <dipc.h>; its
 * pkg-config name is `dipc` (`pkg-config --cflags dipc`).
 *
 * A program needs nothing from here but IPC_DIPC: pass it in the flags of
 * shmget(), semget() or msgget() and run the program under the shim
 * (`dipc run ./prog`, or LD_PRELOAD=libdipc.so).  The rest is for programs
 * and tools that want to know where their objects went.  Nothing here links
 * to anything: there is no library to link against, the shim is preloaded.
 *
 * Without the shim the same binary uses the kernel's own IPC: the kernel
 * ignores IPC_DIPC in semget() and msgget() and reads it as SHM_NORESERVE in
 * shmget(), which changes nothing but swap accounting.
 *
 * The shim <-> mount.dipcfs ioctl layouts (common/dipc_abi.h in the source
 * tree) are private and are not installed: they change with the ABI version,
 * and a program that used them would break with the next release.  The
 * values below are part of the public contract and stay as they are; the
 * test suite checks that they agree with the private header.
 *
 * See dipc(7) for the model: keys, the flag, the key policy, consistency,
 * failures and the differences from Linux.
 */
#ifndef DIPC_H
#define DIPC_H

/* The flag of xxxget() that makes an object cluster-wide.  Linux's own
 * include/uapi/linux/ipc.h reserved this bit for DIPC. */
#ifndef IPC_DIPC
#define IPC_DIPC 010000
#endif

/* Where the shim looks for the node's mount when DIPC_MOUNT is unset. */
#define DIPC_DEFAULT_MOUNT "/dipc"

/* The environment the shim reads once per process image (see dipc(7)). */
#define DIPC_ENV_MOUNT "DIPC_MOUNT"     /* the mount point */
#define DIPC_ENV_KEYS "DIPC_KEYS"       /* the key policy, replaces MOUNT/.policy */
#define DIPC_ENV_REQUIRE "DIPC_REQUIRE" /* 1: fail with ENOSYS when there is no mount */
#define DIPC_ENV_DEBUG "DIPC_DEBUG"     /* 1: log every interposed call on stderr */

/* Hard limits of the transport between the shim and the daemon; the
 * configured [limits] of dipc.conf are lower or equal. */
#define DIPC_SEMOPM_MAX 1000        /* sembufs in one semop() */
#define DIPC_SEMMSL_MAX 8000        /* semaphores in one set */
#define DIPC_MSGMAX_MAX (16u << 20) /* bytes in one message */

/*
 * Cluster ids are positive ints whose low 15 bits lie in [0x7f00, 0x7fff],
 * a range kernel ids reach only with more than ~21,600 objects of one kind
 * on one node.  The shim routes every call that takes an id by this test
 * alone, so an id handed to another process (over a pipe, in shared memory)
 * still reaches the cluster.  Returns 1 for a cluster id, 0 otherwise.
 */
static inline int dipc_is_cluster_id(int id)
{
	return id >= 0 && ((unsigned)id & 0x7fffu) >= 0x7f00u;
}

#endif /* DIPC_H */
