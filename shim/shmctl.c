/* SPDX-License-Identifier: MIT */
/**
 * @file shmctl.c
 *
 * shmctl(2) for the shim: a cluster segment's commands go to the daemon as a
 * DIPC_IOC_SHMCTL ioctl, the kernel's own go to the kernel; IPC_INFO and
 * SHM_INFO ask both and answer the larger index, as the kernel's index space
 * covers both kinds of segment.  Every read and write of the program's
 * buffer goes through usercopy.c (EFAULT, never SIGSEGV).  The attach
 * table, faults and shmat/shmdt are shm.c's.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "shim.h"

#define SHM_STAT_ANY 15

/* The program's buf, written whole as the kernel does: 0 or -EFAULT. */
static int shmid_ds_out(struct shmid_ds *user, const struct dipc_shmid_ds *d)
{
	struct shmid_ds b;
	memset(&b, 0, sizeof(b));
	dipc_perm_to_ipc(&b.shm_perm, &d->perm);
	b.shm_segsz = (size_t)d->segsz;
	b.shm_atime = (time_t)d->atime;
	b.shm_dtime = (time_t)d->dtime;
	b.shm_ctime = (time_t)d->ctime;
	b.shm_cpid = d->cpid;
	b.shm_lpid = d->lpid;
	b.shm_nattch = (shmatt_t)d->nattch;
	return dipc_copy_out(user, &b, sizeof(b));
}

static int shminfo_out(void *user, const struct dipc_ioc_shmctl *c)
{
	struct shminfo si;
	memset(&si, 0, sizeof(si));
	si.shmmax = (unsigned long)c->info.shmmax;
	si.shmmin = (unsigned long)c->info.shmmin;
	si.shmmni = (unsigned long)c->info.shmmni;
	si.shmseg = (unsigned long)c->info.shmseg;
	si.shmall = (unsigned long)c->info.shmall;
	return dipc_copy_out(user, &si, sizeof(si));
}

static int shm_info_out(void *user, const struct dipc_ioc_shmctl *c)
{
	struct shm_info si;
	memset(&si, 0, sizeof(si));
	si.used_ids = c->info.used_ids;
	si.shm_tot = (unsigned long)c->info.shm_tot;
	si.shm_rss = (unsigned long)c->info.shm_rss;
	si.shm_swp = (unsigned long)c->info.shm_swp;
	return dipc_copy_out(user, &si, sizeof(si));
}

static int shmctl_ioctl(int fd, int id, int cmd, const struct shmid_ds *in,
			struct dipc_ioc_shmctl *c)
{
	memset(c, 0, sizeof(*c));
	dipc_hdr_init(&c->hdr);
	c->id = id;
	c->cmd = cmd;
	if (in) {
		c->ds.perm.uid = in->shm_perm.uid;
		c->ds.perm.gid = in->shm_perm.gid;
		c->ds.perm.mode = in->shm_perm.mode;
	}
	return dipc_ioctl(fd, DIPC_IOC_SHMCTL, c);
}

/* As the kernel: IPC_SET copies buf in before anything; the commands that
 * fill buf find and check the segment first and copy out last (EFAULT). */
static int dipc_shmctl(int fd, int id, int cmd, struct shmid_ds *buf)
{
	struct dipc_ioc_shmctl c;
	struct shmid_ds set;
	int r;

	switch (cmd) {
	case IPC_STAT:
	case SHM_STAT:
	case SHM_STAT_ANY:
		r = shmctl_ioctl(fd, id, cmd, NULL, &c);
		if (r >= 0 && shmid_ds_out(buf, &c.ds) < 0)
			return -EFAULT;
		return r;
	case IPC_SET:
		if (dipc_copy_in(&set, buf, sizeof(set)) < 0)
			return -EFAULT;
		return shmctl_ioctl(fd, id, cmd, &set, &c);
	case IPC_RMID:
	case SHM_LOCK:
	case SHM_UNLOCK:
		return shmctl_ioctl(fd, id, cmd, NULL, &c);
	case IPC_INFO:
		r = shmctl_ioctl(fd, id, cmd, NULL, &c);
		if (r >= 0 && shminfo_out(buf, &c) < 0)
			return -EFAULT;
		return r;
	case SHM_INFO:
		r = shmctl_ioctl(fd, id, cmd, NULL, &c);
		if (r >= 0 && shm_info_out(buf, &c) < 0)
			return -EFAULT;
		return r;
	default:
		return -EINVAL;
	}
}

/* The kernel's shmctl as -errno. */
static int kernel_shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	if (!dipc_real.shmctl)
		return -ENOSYS;
	int r = dipc_real.shmctl(shmid, cmd, buf);
	return r < 0 ? -errno : r;
}

/*
 * IPC_INFO and SHM_INFO ignore the id.  The structure comes from the side
 * the id names (the daemon's for a cluster id, else the kernel's) and the
 * result is the highest index in use on either side (fs/ipcindex.c), so a
 * walk of SHM_STAT over 0..result meets the kernel's segments and the
 * cluster's.  The other side is asked into a scratch buffer (struct
 * shm_info, the larger of the two structures); its failure changes nothing.
 */
static int shmctl_info(int shmid, int cmd, struct shmid_ds *buf)
{
	union {
		struct shminfo ipc;
		struct shm_info shm;
	} scratch;
	int fd = dipc_control_for_id();
	int r, other;

	if (dipc_is_id(shmid) && fd != DIPC_CTL_LOCAL) {
		r = fd < 0 ? fd : dipc_shmctl(fd, shmid, dipc_ctl_cmd(cmd), buf);
		if (r < 0)
			return r;
		other = kernel_shmctl(0, cmd, (struct shmid_ds *)(void *)&scratch);
	} else {
		r = kernel_shmctl(shmid, cmd, buf);
		if (r < 0 || fd < 0)
			return r;
		other = dipc_shmctl(fd, shmid, dipc_ctl_cmd(cmd), (struct shmid_ds *)(void *)&scratch);
	}
	return other > r ? other : r;
}

DIPC_EXPORT int shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	int saved = errno;
	dipc_init();
	int base = dipc_ctl_cmd(cmd);

	if (base == IPC_INFO || base == SHM_INFO) {
		int r = shmctl_info(shmid, cmd, buf);
		dipc_log("shmctl(id=%d, cmd=%d): info -> %d%s%s", shmid, cmd, DIPC_LOG_RESULT(r));
		return dipc_ret(r, saved);
	}
	if (dipc_is_id(shmid)) {
		int fd = dipc_control_for_id();
		if (fd != DIPC_CTL_LOCAL) {
			int r = fd < 0 ? fd : dipc_shmctl(fd, shmid, base, buf);
			dipc_log("shmctl(id=%d, cmd=%d): dipc -> %d%s%s", shmid, cmd,
				 DIPC_LOG_RESULT(r));
			return dipc_ret(r, saved);
		}
	}
	return dipc_real.shmctl ? dipc_real.shmctl(shmid, cmd, buf) : dipc_ret(-ENOSYS, saved);
}

/* ---- syscalls that touch segment pages ------------------------------------ */
