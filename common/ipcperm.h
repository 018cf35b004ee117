/* SPDX-License-Identifier: MIT */
/**
 * @file ipcperm.h
 *
 * What every IPC kind shares: the permission record, the caller's identity and
 * the kernel's permission rules (ipc/util.c: ipcperms(), ipcctl_obtain_check(),
 * ipc_update_perm(), kernel_to_ipc64_perm()), written once for the semaphore,
 * message-queue and shared-memory engines.  Plain C on plain structs: no FUSE,
 * no libuv, no network.
 */
#ifndef DIPC_IPCPERM_H
#define DIPC_IPCPERM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DIPC_MAX_GROUPS 64

struct dipc_perm;   /* dipc_abi.h: struct ipc_perm as the shim returns it */

/* The access classes of ipcperms()'s flag (S_IRUGO, S_IWUGO): read, and
 * write (msgsnd) or alter (semop, SETVAL). */
#define DIPC_IPC_READ  0444
#define DIPC_IPC_WRITE 0222

/* The caller, as the node where the call was made saw it. */
typedef struct dipc_ident {
	char node[64];
	int32_t pid;   /* tgid */
	uint32_t uid, gid;
	uint32_t groups[DIPC_MAX_GROUPS];
	unsigned ngroups;
	char user[64];
	uint64_t caps;   /* effective capabilities (CapEff) of the process */
} dipc_ident;

typedef struct dipc_ipc_perm {
	int32_t key;
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode;   /* low 9 bits are rwx for owner/group/other */
	int32_t id;
} dipc_ipc_perm;

/* The capabilities the kernel consults in ipc/, as capable() would: from the
 * caller's effective set, read by its own node.  (uid 0 without them -- root
 * in a container, say -- is refused exactly as the kernel refuses it.) */
#define DIPC_CAP_IPC_LOCK 14      /* SHM_LOCK / SHM_UNLOCK of others' segments */
#define DIPC_CAP_IPC_OWNER 15     /* bypass mode bits (ipcperms) */
#define DIPC_CAP_SYS_ADMIN 21     /* IPC_SET / IPC_RMID of others' objects */
#define DIPC_CAP_SYS_RESOURCE 24  /* raise msg_qbytes above msgmnb */
#define DIPC_CAPS_ALL (~(uint64_t)0)

static inline bool dipc_ident_capable(const dipc_ident *who, int cap)
{
	return (who->caps >> cap) & 1;
}

bool dipc_ident_in_group(const dipc_ident *who, uint32_t gid);

/* ipcperms(): flag is S_IRUGO (0444) to read, S_IWUGO (0222) to alter, or the
 * mode bits a program passed to xxxget (flag & 0777).  As the kernel does, the
 * three triplets of flag are OR-ed into one requested rwx and compared with
 * the owner (uid or cuid), group (gid or cgid, supplementary groups count) or
 * other triplet of the mode.  Returns 0 or -EACCES. */
int dipc_ipcperms(const dipc_ipc_perm *p, const dipc_ident *who, int flag);

/* xxxget() of an existing object (ipc_check_perms): the mode bits the
 * program passed (flags & 0777) against the object's.  0 or -EACCES. */
int dipc_ipc_check_get(const dipc_ipc_perm *p, const dipc_ident *who, int flags);

/* IPC_STAT and the other reads of an object's state: read access, unless
 * the command skips the check (SEM_STAT_ANY, ...).  0 or -EACCES. */
int dipc_ipc_stat_check(const dipc_ipc_perm *p, const dipc_ident *who, bool check_perm);

/* The creator, the owner, or a caller with capability cap.  0 or -EPERM. */
int dipc_ipc_owner_or_cap(const dipc_ipc_perm *p, const dipc_ident *who, int cap);

/* The IPC_SET / IPC_RMID gate (ipcctl_obtain_check): the caller must be the
 * creator, the owner, or privileged (CAP_SYS_ADMIN).  Returns 0 or -EPERM. */
int dipc_ipc_owner_check(const dipc_ipc_perm *p, const dipc_ident *who);

/* The same gate, then the object must still exist: -EPERM before -EIDRM, in
 * the order the kernel finds them (for us a removed object lingers until
 * the glue frees it, so the second check is ours). */
int dipc_ipc_ctl_check(const dipc_ipc_perm *p, const dipc_ident *who, bool removed);

/* IPC_SET of uid, gid and the low 9 mode bits (ipc_update_perm). */
void dipc_ipc_update_perm(dipc_ipc_perm *p, uint32_t uid, uint32_t gid, uint32_t mode);

/* IPC_SET as every kind ends it: the new owner and mode, and the kind's
 * change time (*ctime) set to now. */
void dipc_ipc_set_perm(dipc_ipc_perm *p, int64_t *ctime, uint32_t uid, uint32_t gid,
		       uint32_t mode);

/* A new object (ipc_addid() + newary/newque/newseg): owned and created by
 * the creator's uid and gid, the low 9 bits of mode. */
void dipc_ipc_perm_init(dipc_ipc_perm *p, int32_t key, int32_t id, uint32_t mode,
			const dipc_ident *creator);

/* The perm part of IPC_STAT's answer (kernel_to_ipc64_perm): every field,
 * the mode with its kind's flags (SHM_DEST...), and seq, the sequence part
 * of the id (id >> 15), as the kernel reports it. */
void dipc_ipc_perm_export(const dipc_ipc_perm *p, struct dipc_perm *out);

/*
 * The FIFO of waiters every engine keeps (semset's one queue, msgq's senders
 * and receivers): waiters are linked in place through their own prev, next
 * and queued fields, and the queue is a head, a tail and a count.  Macros,
 * because the waiter types differ; each argument is evaluated more than
 * once, so pass plain lvalues.  (The unlink check is GLib's g_assert.)
 */
#define DIPC_WAITQ_APPEND(head, tail, count, w)                                     \
	do {                                                                        \
		(w)->next = NULL;                                                   \
		(w)->prev = (tail);                                                 \
		if (tail)                                                           \
			(tail)->next = (w);                                         \
		else                                                                \
			(head) = (w);                                               \
		(tail) = (w);                                                       \
		(w)->queued = true;                                                 \
		(count)++;                                                          \
	} while (0)

#define DIPC_WAITQ_UNLINK(head, tail, count, w)                                     \
	do {                                                                        \
		g_assert((w)->queued && (count) > 0);                               \
		if ((w)->prev)                                                      \
			(w)->prev->next = (w)->next;                                \
		else                                                                \
			(head) = (w)->next;                                         \
		if ((w)->next)                                                      \
			(w)->next->prev = (w)->prev;                                \
		else                                                                \
			(tail) = (w)->prev;                                         \
		(w)->prev = (w)->next = NULL;                                       \
		(w)->queued = false;                                                \
		(count)--;                                                          \
	} while (0)

/* Wall-clock seconds, as the kernel's ktime_get_real_seconds(). */
int64_t dipc_now_sec(void);

#endif /* DIPC_IPCPERM_H */
