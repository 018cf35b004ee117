/* SPDX-License-Identifier: MIT */
/*
 * The permission rules every IPC kind shares, as ipc/util.c applies them.
 *
 * User-visible behaviour
 *   - ipcperms(): the requested access is the three rwx triplets of the flag
 *     OR-ed together; it is compared with exactly one triplet of the object's
 *     mode: the owner's if the caller is the owner or the creator, else the
 *     group's if the caller is in the owner's or the creator's group, else
 *     the others'.  So an owner with mode 0077 is refused although everybody
 *     else is allowed, as on Linux.
 *   - "Privileged" is uid 0 on the calling node (see ipcperm.h): it stands for
 *     CAP_IPC_OWNER and CAP_SYS_ADMIN, which a remote node cannot check.
 *   - The caller's group set is the gid (the kernel uses the fsgid/egid) plus
 *     the supplementary groups the calling node reported.
 *
 * Concurrency/ownership
 *   Pure functions on caller-owned structs; no global state.
 */
#include <errno.h>
#include <time.h>

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

int dipc_ipc_owner_check(const dipc_ipc_perm *p, const dipc_ident *who)
{
	if (who->uid == p->cuid || who->uid == p->uid ||
	    dipc_ident_capable(who, DIPC_CAP_SYS_ADMIN))
		return 0;

	return -EPERM;
}

void dipc_ipc_update_perm(dipc_ipc_perm *p, uint32_t uid, uint32_t gid, uint32_t mode)
{
	p->uid = uid;
	p->gid = gid;
	/* Only the permission bits are the caller's to set; anything above them
	 * is state the object kind keeps there (SHM_DEST, SHM_LOCKED). */
	p->mode = (p->mode & ~0777u) | (mode & 0777u);
}

int64_t dipc_now_sec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return (int64_t) time(NULL);

	return (int64_t) ts.tv_sec;
}
