/* SPDX-License-Identifier: MIT */
/**
 * @file dipc_abi.h
 *
 * The one home of the shim <-> mount.dipcfs file ABI.  Shared by fs/ and shim/,
 * so it is plain C99 with <stdint.h> only: no GLib, no libuv, no FUSE.
 *
 * Layout of a mount (default /dipc):
 *
 *   /MOUNT/.control          ioctl endpoint: every SysV operation of the shim
 *   /MOUNT/.policy           text: which keys the shim distributes without IPC_DIPC
 *   /MOUNT/cluster           text: this node, the referee, the live nodes
 *   /MOUNT/sem/0xKKKKKKKK    one file per keyed semaphore set (cat = state)
 *   /MOUNT/sem/private.ID    one file per IPC_PRIVATE set
 *   /MOUNT/msg/..., /MOUNT/shm/...   the same for the other kinds
 *
 * Every request is a restricted _IOW/_IOWR ioctl on an fd of /MOUNT/.control
 * (or of any object file) whose payload begins with struct dipc_ioc_hdr.  The
 * kernel copies exactly _IOC_SIZE bytes each way, and restricted FUSE ioctls
 * carry at most 16383 bytes, hence the fixed array bounds below.  The ioctl's
 * return value is the result: >= 0 on success, -1 with errno on failure,
 * exactly as the SysV call the shim is emulating.
 *
 * Ids.  Cluster-wide ids are positive ints whose low 15 bits lie in
 * [DIPC_ID_SLOT_BASE, 0x7fff].  The kernel builds ids as (seq << 15) | idx with
 * idx < max(in_use * 3 / 2, 64) (ipc/util.c, ipc_idr_alloc), so a kernel id can
 * only fall in that range once more than ~21,600 objects of one kind exist on
 * the node at the same time.  The shim routes a call by id with dipc_is_id().
 */
#ifndef DIPC_ABI_H
#define DIPC_ABI_H

#include <stdint.h>
#include <linux/ioctl.h>

#define DIPC_ABI_VERSION 1

#ifndef IPC_DIPC
#define IPC_DIPC 010000 /* include/uapi/linux/ipc.h; SHM_NORESERVE in shmget */
#endif

#define DIPC_DEFAULT_MOUNT "/dipc"
#define DIPC_CONTROL_NAME ".control"
#define DIPC_POLICY_NAME ".policy"

enum dipc_kind {
	DIPC_KIND_SEM = 1,
	DIPC_KIND_MSG = 2,
	DIPC_KIND_SHM = 3,
};

/* ---- ids ---------------------------------------------------------------- */

#define DIPC_ID_SLOT_BASE 0x7f00u
#define DIPC_ID_SLOTS 0x100u

/* serial >= 1, assigned by the referee, never reused while it runs. */
static inline int dipc_id_from_serial(uint32_t serial)
{
	uint32_t hi = (serial / DIPC_ID_SLOTS) & 0xffffu;
	return (int)((hi << 15) | (DIPC_ID_SLOT_BASE + serial % DIPC_ID_SLOTS));
}

static inline int dipc_is_id(int id)
{
	return id >= 0 && ((unsigned)id & 0x7fffu) >= DIPC_ID_SLOT_BASE;
}

/* ---- hard limits imposed by the ioctl size ------------------------------ */

#define DIPC_SEMOPM_MAX 1000 /* sembufs in one semop (kernel default 500) */
#define DIPC_SEMMSL_MAX 8000 /* semaphores in one set (kernel: 32000) */

/* ---- payloads ----------------------------------------------------------- */

struct dipc_ioc_hdr {
	uint32_t version; /* DIPC_ABI_VERSION */
	int32_t pid;      /* getpid() of the caller (the daemon verifies it) */
};

/* xxxget(): key, flags as given by the program (IPC_DIPC already stripped). */
struct dipc_ioc_get {
	struct dipc_ioc_hdr hdr;
	int32_t kind;  /* enum dipc_kind */
	int32_t key;   /* key_t; 0 = IPC_PRIVATE */
	int32_t flags; /* IPC_CREAT | IPC_EXCL | mode bits */
	int32_t pad;
	uint64_t size; /* nsems for sem, size for shm, 0 for msg */
};

struct dipc_sembuf {
	uint16_t sem_num;
	int16_t sem_op;
	int16_t sem_flg;
};

/* semop()/semtimedop().  Two sizes share one layout so that the common case
 * (a few sembufs) does not copy 6 KiB through FUSE on every call. */
#define DIPC_SEMOP_SMALL 16
#define DIPC_IOC_SEMOP_STRUCT(name, n)                                              \
	struct name {                                                               \
		struct dipc_ioc_hdr hdr;                                            \
		int32_t id;                                                         \
		uint32_t nsops;                                                     \
		int64_t timeout_ns; /* -1: none (semop); else relative, semtimedop */ \
		struct dipc_sembuf sops[n];                                         \
	}
DIPC_IOC_SEMOP_STRUCT(dipc_ioc_semop, DIPC_SEMOP_SMALL);
DIPC_IOC_SEMOP_STRUCT(dipc_ioc_semop_large, DIPC_SEMOPM_MAX);

/* struct ipc_perm / semid_ds as the kernel returns them, in fixed-width form. */
struct dipc_perm {
	int32_t key;
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode; /* low 9 bits + SHM_DEST/SHM_LOCKED style flags */
	uint32_t seq;
};

struct dipc_semid_ds {
	struct dipc_perm perm;
	int64_t otime;
	int64_t ctime;
	uint32_t nsems;
	uint32_t pad;
};

/* semctl() without a value array: IPC_STAT, SEM_STAT(_ANY), IPC_SET, IPC_RMID,
 * GETVAL, SETVAL, GETPID, GETNCNT, GETZCNT, IPC_INFO, SEM_INFO.
 * in: id, semnum, cmd, val (SETVAL), set.perm.{uid,gid,mode} (IPC_SET).
 * out: ds (IPC_STAT, SEM_STAT), info (IPC_INFO, SEM_INFO). */
struct dipc_seminfo {
	int32_t semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz,
		semvmx, semaem;
};

struct dipc_ioc_semctl {
	struct dipc_ioc_hdr hdr;
	int32_t id;
	int32_t semnum;
	int32_t cmd;
	int32_t val;
	struct dipc_semid_ds ds;
	struct dipc_seminfo info;
};

/* GETALL / SETALL. */
struct dipc_ioc_semarray {
	struct dipc_ioc_hdr hdr;
	int32_t id;
	int32_t cmd;
	uint32_t nsems; /* out for GETALL; the daemon checks it against the set */
	uint32_t pad;
	uint16_t vals[DIPC_SEMMSL_MAX];
};

/* SEM_UNDO needs no ioctl of its own: adjustments are kept per (node, tgid)
 * at the owner, the caller's node watches the process with a pidfd and
 * announces its exit (also after SIGKILL), and a fork child is a new tgid
 * with no adjustments, as fork(2) says. */

/* ---- message queues ------------------------------------------------------
 *
 * msgsnd/msgrcv carry the text inline when it fits one of three sizes (the
 * shim picks the smallest that holds msgsz, so small messages do not copy
 * 16 KiB through FUSE).  Larger texts use a private file handle: the shim
 * opens /MOUNT/.control anew, write()s the text and issues
 * DIPC_IOC_MSGSND_STAGED, or issues DIPC_IOC_MSGRCV_STAGED and read()s the
 * delivered text; then closes the handle.  A handle closed with a received
 * text still unread gives the message back to the head of its queue.
 *
 * No loss: a msgrcv whose caller was interrupted (or killed) while the
 * message was on its way is answered EINTR and the message goes back to the
 * head of its queue; the shim restarts msgsnd/msgrcv after EINTR when no
 * signal handler of the application ran (as the kernel restarts them after
 * SIGSTOP/SIGCONT).
 */
#define DIPC_MSG_INLINE_SMALL 256
#define DIPC_MSG_INLINE_MID 4096
#define DIPC_MSG_INLINE_MAX 16128
#define DIPC_MSGMAX_MAX (16u << 20)   /* [limits] msgmax ceiling: 16 MiB */

#define DIPC_IOC_MSGSND_STRUCT(name, n)                                             \
	struct name {                                                               \
		struct dipc_ioc_hdr hdr;                                            \
		int32_t id;                                                         \
		int32_t msgflg;                                                     \
		int64_t mtype;                                                      \
		uint64_t msgsz;                                                     \
		char mtext[n];                                                      \
	}
DIPC_IOC_MSGSND_STRUCT(dipc_ioc_msgsnd_s, DIPC_MSG_INLINE_SMALL);
DIPC_IOC_MSGSND_STRUCT(dipc_ioc_msgsnd_m, DIPC_MSG_INLINE_MID);
DIPC_IOC_MSGSND_STRUCT(dipc_ioc_msgsnd_l, DIPC_MSG_INLINE_MAX);
DIPC_IOC_MSGSND_STRUCT(dipc_ioc_msgsnd_staged, 0);

/* in: id, msgflg, msgtyp, msgsz (the receiver's capacity);
 * out: mtype and the text; the ioctl's result is the delivered size. */
#define DIPC_IOC_MSGRCV_STRUCT(name, n)                                             \
	struct name {                                                               \
		struct dipc_ioc_hdr hdr;                                            \
		int32_t id;                                                         \
		int32_t msgflg;                                                     \
		int64_t msgtyp;                                                     \
		uint64_t msgsz;                                                     \
		int64_t mtype;                                                      \
		char mtext[n];                                                      \
	}
DIPC_IOC_MSGRCV_STRUCT(dipc_ioc_msgrcv_s, DIPC_MSG_INLINE_SMALL);
DIPC_IOC_MSGRCV_STRUCT(dipc_ioc_msgrcv_m, DIPC_MSG_INLINE_MID);
DIPC_IOC_MSGRCV_STRUCT(dipc_ioc_msgrcv_l, DIPC_MSG_INLINE_MAX);
DIPC_IOC_MSGRCV_STRUCT(dipc_ioc_msgrcv_staged, 0);

/*
 * DIPC_IOC_MSGRCV_DIRECT(msgsz): msgrcv straight into the program's buffer.
 * The ioctl's argument IS msgp, and its size (_IOC_SIZE) is exactly the
 * buffer's, sizeof(long) + msgsz: the shim writes the request head (below)
 * over the start of msgp, and the daemon's answer -- mtype then the text,
 * only as many bytes as were delivered -- is copied into msgp by the kernel
 * inside the ioctl.  So a message that reached the reply has reached the
 * program's memory, even if the process is killed at that very moment, as
 * with the kernel's own msgrcv.  (The shim puts back the bytes the head
 * overwrote when the call fails.)  For msgsz from DIPC_MSGRCV_DIRECT_MIN to
 * DIPC_MSGRCV_DIRECT_MAX; the S/M/L payloads serve smaller buffers.
 */
struct dipc_ioc_msgrcv_direct {
	struct dipc_ioc_hdr hdr;
	int32_t id;
	int32_t msgflg;
	int64_t msgtyp;
	uint64_t msgsz;
};

#define DIPC_IOC_MSGRCV_DIRECT_NR 25
#define DIPC_MSGRCV_DIRECT_MIN (sizeof(struct dipc_ioc_msgrcv_direct) - sizeof(int64_t))
#define DIPC_MSGRCV_DIRECT_MAX (16383 - sizeof(int64_t))

/*
 * DIPC_IOC_MSGRCV_ARM: msgrcv as a read() of a private handle, so that
 * nothing is written into msgp before a message is delivered.  The ioctl
 * (struct dipc_ioc_msgrcv_staged: id, msgflg, msgtyp, msgsz; answered at
 * once) sets the handle's receive parameters; each read(fd, msgp,
 * sizeof(int64_t) + msgsz) afterwards is one msgrcv with them, and its
 * answer -- mtype, then the delivered text; the read's result is
 * sizeof(int64_t) + the delivered size -- is copied into msgp by the kernel
 * inside the read, with the message.  A read that waited and was
 * interrupted (or killed) writes nothing and the message stays queued.
 * The parameters stay until the next ARM, so a loop with the same ones
 * costs one read per message.  For 8 + msgsz up to DIPC_MSGRCV_READ_MAX,
 * which one FUSE read request always carries whole.
 */
#define DIPC_IOC_MSGRCV_ARM_NR 26
#define DIPC_MSGRCV_READ_MAX (64u * 1024)

struct dipc_msqid_ds {
	struct dipc_perm perm;
	int64_t stime, rtime, ctime;
	uint64_t cbytes, qnum, qbytes;
	int32_t lspid, lrpid;
};

struct dipc_msginfo {
	int32_t msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql;
	uint16_t msgseg;
	uint16_t pad;
};

/* msgctl: IPC_STAT, MSG_STAT(_ANY), IPC_SET (perm.uid/gid/mode, qbytes),
 * IPC_RMID, IPC_INFO, MSG_INFO. */
struct dipc_ioc_msgctl {
	struct dipc_ioc_hdr hdr;
	int32_t id;
	int32_t cmd;
	struct dipc_msqid_ds ds;
	struct dipc_msginfo info;
};

/* ---- shared memory -------------------------------------------------------
 *
 * shmget goes through DIPC_IOC_GET (size = the segment size).  shmat asks the
 * daemon (DIPC_IOC_SHMAT: permission, shm_nattch), then maps
 * MOUNT/shm/.id.ID (opened O_RDWR | O_NONBLOCK, or O_RDONLY for SHM_RDONLY)
 * MAP_SHARED with PROT_READ.  Coherence, per page (or per segment):
 *   - a load of a page the node does not hold faults into a FUSE READ that
 *     the daemon answers once the node holds the page for reading;
 *   - the first store to a page raises SIGSEGV in the shim, whose handler
 *     asks for write ownership (DIPC_IOC_SHMFAULT) and then mprotects the
 *     unit it was given read-write;
 *   - to take a unit back, the daemon gives every process of the node that
 *     has the segment attached a command through its helper thread, parked
 *     in DIPC_IOC_SHMWAIT: mprotect the unit PROT_READ (or PROT_NONE), then
 *     it invalidates the unit's pages (dirty ones are written back).
 * `rev` orders grants and take-backs: a fault answer carries the node's
 * revocation count for the segment at the time; a handler that sees that a
 * later take-back already ran in its process does not mprotect (it retries).
 */
#define DIPC_SHM_PAGE 4096u
#define DIPC_SHMMAX_DEFAULT (UINT64_MAX - (1ull << 24)) /* include/uapi/linux/shm.h */
#define DIPC_SHMALL_DEFAULT (UINT64_MAX - (1ull << 24))
#define DIPC_SHM_IDNAME ".id." /* MOUNT/shm/.id.ID: any segment by id */

struct dipc_shmid_ds {
	struct dipc_perm perm; /* mode: low 9 bits | SHM_DEST 01000 | SHM_LOCKED 02000 */
	uint64_t segsz;
	int64_t atime, dtime, ctime;
	int32_t cpid, lpid;
	uint64_t nattch;
};

/* The cluster's limits (IPC_INFO) or usage (SHM_INFO). */
struct dipc_shminfo {
	uint64_t shmmax, shmmin, shmmni, shmseg, shmall;
	/* SHM_INFO */
	int32_t used_ids;
	uint32_t pad;
	uint64_t shm_tot, shm_rss, shm_swp;
};

/* shmctl: IPC_STAT, SHM_STAT(_ANY), IPC_SET (perm.uid/gid/mode), IPC_RMID,
 * SHM_LOCK, SHM_UNLOCK, IPC_INFO, SHM_INFO. */
struct dipc_ioc_shmctl {
	struct dipc_ioc_hdr hdr;
	int32_t id;
	int32_t cmd;
	struct dipc_shmid_ds ds;
	struct dipc_shminfo info;
};

/* shmat: before mapping (perm check, shm_nattch + 1; out: ds.segsz...).
 * flags: SHM_RDONLY etc. as given; fork = 1 when a fork child inherits an
 * attach (no check, just counted). shmdt (DIPC_IOC_SHMDT): after unmapping. */
struct dipc_ioc_shmat {
	struct dipc_ioc_hdr hdr;
	int32_t id;
	int32_t shmflg;
	int32_t fork;
	uint32_t rev;      /* out: the node's take-back count for the segment */
	struct dipc_shmid_ds ds;
	int32_t flushing;  /* out: a take-back is running: map PROT_NONE */
	int32_t pad;
};

/* The shim's SIGSEGV handler: the process needs page `page` of segment id
 * for writing (write = 1) or reading.  whole = 1: the whole segment (the
 * process ran out of mappings for per-page protections).  Out: the unit the
 * node now holds (first, count pages) and the node's rev. */
struct dipc_ioc_shmfault {
	struct dipc_ioc_hdr hdr;
	int32_t id;
	int32_t write;
	uint64_t page;
	int32_t whole;
	uint32_t rev;
	uint64_t first, count;
};

/* The helper thread's mailbox.  in: ack = the seq of the last command
 * applied (0: none).  out: ncmds commands to apply in order. */
#define DIPC_SHM_PROT_NONE 0
#define DIPC_SHM_PROT_READ 1
struct dipc_shm_cmd {
	uint64_t seq;
	int32_t id;
	int32_t prot;   /* DIPC_SHM_PROT_* */
	uint64_t first, count;
	uint32_t rev;
	uint32_t pad;
};
#define DIPC_SHMWAIT_MAX 32
/* probe = 1: do not wait; out: parked = 1 if the process's helper is waiting
 * (the shim makes sure of that before shmat or a fork child goes on: a
 * helper's interrupted wait is how the daemon learns of exec and exit). */
struct dipc_ioc_shmwait {
	struct dipc_ioc_hdr hdr;
	uint64_t ack;
	uint32_t ncmds;
	uint16_t probe;
	uint16_t parked;
	struct dipc_shm_cmd cmds[DIPC_SHMWAIT_MAX];
};

#define DIPC_IOC_MAGIC 0xD1
#define DIPC_IOC_GET _IOW(DIPC_IOC_MAGIC, 1, struct dipc_ioc_get)
#define DIPC_IOC_SEMOP _IOW(DIPC_IOC_MAGIC, 2, struct dipc_ioc_semop)
#define DIPC_IOC_SEMCTL _IOWR(DIPC_IOC_MAGIC, 3, struct dipc_ioc_semctl)
#define DIPC_IOC_SEMARRAY _IOWR(DIPC_IOC_MAGIC, 4, struct dipc_ioc_semarray)
#define DIPC_IOC_SEMOP_LARGE _IOW(DIPC_IOC_MAGIC, 5, struct dipc_ioc_semop_large)
#define DIPC_IOC_MSGSND_S _IOW(DIPC_IOC_MAGIC, 16, struct dipc_ioc_msgsnd_s)
#define DIPC_IOC_MSGSND_M _IOW(DIPC_IOC_MAGIC, 17, struct dipc_ioc_msgsnd_m)
#define DIPC_IOC_MSGSND_L _IOW(DIPC_IOC_MAGIC, 18, struct dipc_ioc_msgsnd_l)
#define DIPC_IOC_MSGSND_STAGED _IOW(DIPC_IOC_MAGIC, 19, struct dipc_ioc_msgsnd_staged)
#define DIPC_IOC_MSGRCV_S _IOWR(DIPC_IOC_MAGIC, 20, struct dipc_ioc_msgrcv_s)
#define DIPC_IOC_MSGRCV_M _IOWR(DIPC_IOC_MAGIC, 21, struct dipc_ioc_msgrcv_m)
#define DIPC_IOC_MSGRCV_L _IOWR(DIPC_IOC_MAGIC, 22, struct dipc_ioc_msgrcv_l)
#define DIPC_IOC_MSGRCV_STAGED _IOWR(DIPC_IOC_MAGIC, 23, struct dipc_ioc_msgrcv_staged)
#define DIPC_IOC_MSGCTL _IOWR(DIPC_IOC_MAGIC, 24, struct dipc_ioc_msgctl)
#define DIPC_IOC_MSGRCV_ARM                                                         \
	_IOW(DIPC_IOC_MAGIC, DIPC_IOC_MSGRCV_ARM_NR, struct dipc_ioc_msgrcv_staged)
#define DIPC_IOC_SHMCTL _IOWR(DIPC_IOC_MAGIC, 32, struct dipc_ioc_shmctl)
#define DIPC_IOC_SHMAT _IOWR(DIPC_IOC_MAGIC, 33, struct dipc_ioc_shmat)
#define DIPC_IOC_SHMDT _IOW(DIPC_IOC_MAGIC, 34, struct dipc_ioc_shmat)
#define DIPC_IOC_SHMFAULT _IOWR(DIPC_IOC_MAGIC, 35, struct dipc_ioc_shmfault)
#define DIPC_IOC_SHMWAIT _IOWR(DIPC_IOC_MAGIC, 36, struct dipc_ioc_shmwait)
#define DIPC_IOC_MSGRCV_DIRECT(msgsz)                                               \
	_IOC(_IOC_READ | _IOC_WRITE, DIPC_IOC_MAGIC, DIPC_IOC_MSGRCV_DIRECT_NR,     \
	     sizeof(int64_t) + (msgsz))

/* ---- indices (appended) --------------------------------------------------- */

/* The kernel's index of an id (ipcid_to_idx): what MSG_STAT, SEM_STAT and
 * SHM_STAT take and *_INFO's highest index counts.  A cluster object's
 * index is that of its id, in [DIPC_ID_SLOT_BASE, 0x7fff] (fs/ipcindex.c). */
static inline int dipc_id_index(int id)
{
	return (int)((unsigned)id & 0x7fffu);
}

#endif /* DIPC_ABI_H */
