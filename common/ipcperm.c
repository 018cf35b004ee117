/* SPDX-License-Identifier: MIT */
/**
 * @file ipcperm.c
 *
 * The permission rules and the ipc_perm bookkeeping every IPC kind shares,
 * as ipc/util.c applies them: the access check, the owner gate of IPC_SET
 * and IPC_RMID, IPC_SET of the owner and mode, a new object's record and
 * the record as IPC_STAT exports it.  The three engines call these instead
 * of each writing them out.
 *
 * User-visible behaviour
 *   - ipcperms(): the requested access is the three rwx triplets of the flag
 *     OR-ed together; it is compared with exactly one triplet of the object's
 *     mode: the owner's if the caller is the owner or the creator, else the
 *     group's if the caller is in the owner's or the creator's group, else
 *     the others'.  So an owner with mode 0077 is refused although everybody
 *     else is allowed, as on Linux.
 *   - "Privileged" is a capability in the caller's effective set as its own
 *     node read it (see ipcperm.h): CAP_IPC_OWNER bypasses the mode bits,
 *     CAP_SYS_ADMIN the owner gate, CAP_IPC_LOCK the SHM_LOCK gate.
 *   - The caller's group set is the gid (the kernel uses the fsgid/egid) plus
 *     the supplementary groups the calling node reported.
 *
 * Concurrency/ownership
 *   Pure functions on caller-owned structs; no global state.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "dipc_abi.h"
#include "ipcperm.h"

bool dipc_ident_in_group(const dipc_ident *who, uint32_t gid)
{
	unsigned n;

	if (who->gid == gid)
		return true;

	/* Never trust ngroups beyond the array: it arrives from another node. */
	n = who->ngroups < DIPC_MAX_GROUPS ? who->ngroups : DIPC_MAX_GROUPS;
	for (unsigned i = 0; i < n; i++)
		if (who->groups[i] == gid)
			return true;

	return false;
}

int dipc_ipcperms(const dipc_ipc_perm *p, const dipc_ident *who, int flag)
{
	unsigned requested, granted;

	/* Whichever class the program named, the request collapses onto one
	 * rwx triplet; bits above 0777 (IPC_CREAT...) fall off with the & 7. */
	requested = ((unsigned) flag >> 6) | ((unsigned) flag >> 3) | (unsigned) flag;
	granted = p->mode;

	if (who->uid == p->cuid || who->uid == p->uid)
		granted >>= 6;
	else if (dipc_ident_in_group(who, p->cgid) || dipc_ident_in_group(who, p->gid))
		granted >>= 3;

	if ((requested & ~granted & 07) && !dipc_ident_capable(who, DIPC_CAP_IPC_OWNER))
		return -EACCES;

	return 0;
}

int dipc_ipc_check_get(const dipc_ipc_perm *p, const dipc_ident *who, int flags)
{
	return dipc_ipcperms(p, who, flags & 0777);
}

int dipc_ipc_stat_check(const dipc_ipc_perm *p, const dipc_ident *who, bool check_perm)
{
	return check_perm ? dipc_ipcperms(p, who, DIPC_IPC_READ) : 0;
}

int dipc_ipc_owner_or_cap(const dipc_ipc_perm *p, const dipc_ident *who, int cap)
{
	if (who->uid == p->cuid || who->uid == p->uid || dipc_ident_capable(who, cap))
		return 0;

	return -EPERM;
}

int dipc_ipc_owner_check(const dipc_ipc_perm *p, const dipc_ident *who)
{
	return dipc_ipc_owner_or_cap(p, who, DIPC_CAP_SYS_ADMIN);
}

int dipc_ipc_ctl_check(const dipc_ipc_perm *p, const dipc_ident *who, bool removed)
{
	int r = dipc_ipc_owner_check(p, who);

	if (r < 0)
		return r;
	return removed ? -EIDRM : 0;
}

void dipc_ipc_update_perm(dipc_ipc_perm *p, uint32_t uid, uint32_t gid, uint32_t mode)
{
	p->uid = uid;
	p->gid = gid;
	/* Only the permission bits are the caller's to set; anything above them
	 * is state the object kind keeps there (SHM_DEST, SHM_LOCKED). */
	p->mode = (p->mode & ~0777u) | (mode & 0777u);
}

void dipc_ipc_set_perm(dipc_ipc_perm *p, int64_t *ctime, uint32_t uid, uint32_t gid,
		       uint32_t mode)
{
	dipc_ipc_update_perm(p, uid, gid, mode);
	*ctime = dipc_now_sec();
}

void dipc_ipc_perm_init(dipc_ipc_perm *p, int32_t key, int32_t id, uint32_t mode,
			const dipc_ident *creator)
{
	memset(p, 0, sizeof(*p));
	p->key = key;
	p->id = id;
	p->uid = p->cuid = creator->uid;
	p->gid = p->cgid = creator->gid;
	p->mode = mode & 0777u;
}

void dipc_ipc_perm_export(const dipc_ipc_perm *p, struct dipc_perm *out)
{
	out->key = p->key;
	out->uid = p->uid;
	out->gid = p->gid;
	out->cuid = p->cuid;
	out->cgid = p->cgid;
	out->mode = p->mode;
	/* Ids are (seq << 15) | slot, as the kernel builds them. */
	out->seq = (uint32_t) p->id >> 15;
}

int64_t dipc_now_sec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return (int64_t) time(NULL);

	return (int64_t) ts.tv_sec;
}
