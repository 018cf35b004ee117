/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the shared IPC permission rules and ipc_perm bookkeeping
 * (common/ipcperm.c), checked against what Linux ipc/util.c does for the
 * same inputs.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "dipc_abi.h"
#include "ipcperm.h"

#define READ_ACCESS  0444
#define ALTER_ACCESS 0222

/* Object owned by uid 1000 / gid 100, created by uid 2000 / gid 200. */
static dipc_ipc_perm make_perm(uint32_t mode)
{
	dipc_ipc_perm p = {
		.key = 0x162e, .uid = 1000, .gid = 100, .cuid = 2000, .cgid = 200,
		.mode = mode, .id = 32513,
	};
	return p;
}

static dipc_ident make_ident(uint32_t uid, uint32_t gid)
{
	dipc_ident who;

	memset(&who, 0, sizeof(who));
	g_strlcpy(who.node, "node1", sizeof(who.node));
	who.pid = 1234;
	who.uid = uid;
	who.gid = gid;
	who.caps = uid == 0 ? DIPC_CAPS_ALL : 0;   /* root with every capability */
	return who;
}

static void test_in_group(void)
{
	dipc_ident who = make_ident(5, 50);

	g_assert_true(dipc_ident_in_group(&who, 50));
	g_assert_false(dipc_ident_in_group(&who, 51));

	who.groups[0] = 7;
	who.groups[1] = 51;
	who.ngroups = 2;
	g_assert_true(dipc_ident_in_group(&who, 51));
	g_assert_true(dipc_ident_in_group(&who, 7));
	g_assert_false(dipc_ident_in_group(&who, 8));

	/* Only the first ngroups entries count. */
	who.groups[2] = 8;
	g_assert_false(dipc_ident_in_group(&who, 8));

	/* The last slot counts when the array is full... */
	who.ngroups = DIPC_MAX_GROUPS;
	who.groups[DIPC_MAX_GROUPS - 1] = 99;
	g_assert_true(dipc_ident_in_group(&who, 99));
	/* ...and a bogus ngroups from the wire is clamped, not trusted. */
	who.ngroups = DIPC_MAX_GROUPS + 1000;
	g_assert_true(dipc_ident_in_group(&who, 99));
	g_assert_false(dipc_ident_in_group(&who, 12345));
}

static void test_owner_class(void)
{
	dipc_ipc_perm p = make_perm(0640);
	dipc_ident owner = make_ident(1000, 9), creator = make_ident(2000, 9);

	/* Owner and creator both use the owner triplet (rw-). */
	g_assert_cmpint(dipc_ipcperms(&p, &owner, READ_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &owner, ALTER_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &creator, READ_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &creator, ALTER_ACCESS), ==, 0);

	/* Owner with 0077: only its own triplet counts, so refused although
	 * group and others may. */
	p.mode = 0077;
	g_assert_cmpint(dipc_ipcperms(&p, &owner, READ_ACCESS), ==, -EACCES);
	g_assert_cmpint(dipc_ipcperms(&p, &creator, ALTER_ACCESS), ==, -EACCES);

	/* Owner who is also in the group still gets the owner triplet. */
	owner.gid = 100;
	p.mode = 0040;
	g_assert_cmpint(dipc_ipcperms(&p, &owner, READ_ACCESS), ==, -EACCES);
}

static void test_group_class(void)
{
	dipc_ipc_perm p = make_perm(0640);
	dipc_ident g_owner = make_ident(3000, 100);   /* in perm gid */
	dipc_ident g_creator = make_ident(3001, 200); /* in perm cgid */
	dipc_ident g_supp = make_ident(3002, 9);

	g_supp.groups[0] = 1;
	g_supp.groups[1] = 200;
	g_supp.ngroups = 2;

	g_assert_cmpint(dipc_ipcperms(&p, &g_owner, READ_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &g_owner, ALTER_ACCESS), ==, -EACCES);
	g_assert_cmpint(dipc_ipcperms(&p, &g_creator, READ_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &g_creator, ALTER_ACCESS), ==, -EACCES);
	g_assert_cmpint(dipc_ipcperms(&p, &g_supp, READ_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &g_supp, ALTER_ACCESS), ==, -EACCES);

	/* A group member gets the group triplet only, even if others may. */
	p.mode = 0607;
	g_assert_cmpint(dipc_ipcperms(&p, &g_supp, READ_ACCESS), ==, -EACCES);
	g_assert_cmpint(dipc_ipcperms(&p, &g_owner, ALTER_ACCESS), ==, -EACCES);

	/* Group write only. */
	p.mode = 0020;
	g_assert_cmpint(dipc_ipcperms(&p, &g_supp, ALTER_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &g_supp, READ_ACCESS), ==, -EACCES);
}

static void test_other_class(void)
{
	dipc_ipc_perm p = make_perm(0604);
	dipc_ident other = make_ident(4000, 400);

	g_assert_cmpint(dipc_ipcperms(&p, &other, READ_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &other, ALTER_ACCESS), ==, -EACCES);

	p.mode = 0602;
	g_assert_cmpint(dipc_ipcperms(&p, &other, READ_ACCESS), ==, -EACCES);
	g_assert_cmpint(dipc_ipcperms(&p, &other, ALTER_ACCESS), ==, 0);

	p.mode = 0660;
	g_assert_cmpint(dipc_ipcperms(&p, &other, READ_ACCESS), ==, -EACCES);
	g_assert_cmpint(dipc_ipcperms(&p, &other, ALTER_ACCESS), ==, -EACCES);

	/* Nothing requested, nothing refused (semget with mode 0). */
	p.mode = 0;
	g_assert_cmpint(dipc_ipcperms(&p, &other, 0), ==, 0);
}

static void test_root(void)
{
	dipc_ipc_perm p = make_perm(0000);
	dipc_ident root = make_ident(0, 0);

	g_assert_cmpint(dipc_ipcperms(&p, &root, READ_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &root, ALTER_ACCESS), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &root, 0777), ==, 0);
	g_assert_true(dipc_ident_capable(&root, DIPC_CAP_IPC_OWNER));

	/* gid 0 alone is not privileged. */
	root.uid = 4000;
	root.caps = 0;
	g_assert_cmpint(dipc_ipcperms(&p, &root, READ_ACCESS), ==, -EACCES);

	/* uid 0 without CAP_IPC_OWNER (root in a container) is refused, as
	 * the kernel refuses it; the capability alone suffices. */
	root.uid = 0;
	g_assert_cmpint(dipc_ipcperms(&p, &root, READ_ACCESS), ==, -EACCES);
	root.uid = 4000;
	root.caps = (uint64_t)1 << DIPC_CAP_IPC_OWNER;
	g_assert_cmpint(dipc_ipcperms(&p, &root, READ_ACCESS), ==, 0);
}

/* The three triplets of the flag are OR-ed: asking "other read" (0004) as the
 * owner checks the owner's r bit, as the kernel does for xxxget flags. */
static void test_flag_collapse(void)
{
	dipc_ipc_perm p = make_perm(0400);
	dipc_ident owner = make_ident(1000, 9);
	dipc_ident other = make_ident(4000, 400);

	g_assert_cmpint(dipc_ipcperms(&p, &owner, 0004), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &owner, 0040), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &owner, 0400), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &owner, 0600), ==, -EACCES);
	g_assert_cmpint(dipc_ipcperms(&p, &owner, 0002), ==, -EACCES);
	g_assert_cmpint(dipc_ipcperms(&p, &owner, 0100), ==, -EACCES);

	/* Bits above 0777 (IPC_CREAT 01000, IPC_EXCL 02000) request nothing. */
	g_assert_cmpint(dipc_ipcperms(&p, &owner, 01000 | 02000 | 0400), ==, 0);
	g_assert_cmpint(dipc_ipcperms(&p, &other, 01000 | 02000), ==, 0);

	/* semget(key, n, 0600) on a 0604 set by someone else: w is requested
	 * from the other triplet, which lacks it. */
	p.mode = 0604;
	g_assert_cmpint(dipc_ipcperms(&p, &other, 0600), ==, -EACCES);
	g_assert_cmpint(dipc_ipcperms(&p, &other, 0400), ==, 0);
	/* The x bit counts too. */
	g_assert_cmpint(dipc_ipcperms(&p, &other, 0100), ==, -EACCES);
	p.mode = 0605;
	g_assert_cmpint(dipc_ipcperms(&p, &other, 0100), ==, 0);
}

static void test_owner_check(void)
{
	dipc_ipc_perm p = make_perm(0600);
	dipc_ident owner = make_ident(1000, 9), creator = make_ident(2000, 9);
	dipc_ident root = make_ident(0, 0), other = make_ident(4000, 100);

	g_assert_cmpint(dipc_ipc_owner_check(&p, &owner), ==, 0);
	g_assert_cmpint(dipc_ipc_owner_check(&p, &creator), ==, 0);
	g_assert_cmpint(dipc_ipc_owner_check(&p, &root), ==, 0);
	/* Being in the group, or having every mode bit, is not enough. */
	p.mode = 0777;
	g_assert_cmpint(dipc_ipc_owner_check(&p, &other), ==, -EPERM);
	other.groups[0] = 200;
	other.ngroups = 1;
	g_assert_cmpint(dipc_ipc_owner_check(&p, &other), ==, -EPERM);
}

static void test_update_perm(void)
{
	dipc_ipc_perm p = make_perm(01600); /* a kind-specific flag above 0777 */

	dipc_ipc_update_perm(&p, 7, 8, 0644);
	g_assert_cmpuint(p.uid, ==, 7);
	g_assert_cmpuint(p.gid, ==, 8);
	g_assert_cmpuint(p.mode, ==, 01644);
	/* Creator and the rest are untouched. */
	g_assert_cmpuint(p.cuid, ==, 2000);
	g_assert_cmpuint(p.cgid, ==, 200);
	g_assert_cmpint(p.key, ==, 0x162e);
	g_assert_cmpint(p.id, ==, 32513);

	/* Only the low nine bits of the new mode are taken. */
	dipc_ipc_update_perm(&p, 7, 8, 07000 | 0400);
	g_assert_cmpuint(p.mode, ==, 01400);
	dipc_ipc_update_perm(&p, 7, 8, 0);
	g_assert_cmpuint(p.mode, ==, 01000);
}

static void test_check_get(void)
{
	dipc_ipc_perm p = make_perm(0640);
	dipc_ident owner = make_ident(1000, 9), group = make_ident(4000, 100);
	dipc_ident other = make_ident(4000, 9);

	/* xxxget(key, IPC_CREAT | 0600): the creation bits fall off. */
	g_assert_cmpint(dipc_ipc_check_get(&p, &owner, 01000 | 02000 | 0600), ==, 0);
	g_assert_cmpint(dipc_ipc_check_get(&p, &group, 01000 | 0600), ==, -EACCES);
	g_assert_cmpint(dipc_ipc_check_get(&p, &group, 01000 | 0440), ==, 0);
	g_assert_cmpint(dipc_ipc_check_get(&p, &other, 0004), ==, -EACCES);
	/* Asking for nothing is always allowed, as in Linux. */
	g_assert_cmpint(dipc_ipc_check_get(&p, &other, 01000), ==, 0);
}

static void test_stat_check(void)
{
	dipc_ipc_perm p = make_perm(0600);
	dipc_ident owner = make_ident(1000, 9), other = make_ident(4000, 9);

	g_assert_cmpint(dipc_ipc_stat_check(&p, &owner, true), ==, 0);
	g_assert_cmpint(dipc_ipc_stat_check(&p, &other, true), ==, -EACCES);
	/* XXX_STAT_ANY skips the check. */
	g_assert_cmpint(dipc_ipc_stat_check(&p, &other, false), ==, 0);
	/* Write access alone does not let one read the state. */
	p.mode = 0622;
	g_assert_cmpint(dipc_ipc_stat_check(&p, &other, true), ==, -EACCES);
	p.mode = 0604;
	g_assert_cmpint(dipc_ipc_stat_check(&p, &other, true), ==, 0);
}

static void test_owner_or_cap(void)
{
	dipc_ipc_perm p = make_perm(0777);
	dipc_ident owner = make_ident(1000, 9), creator = make_ident(2000, 9);
	dipc_ident other = make_ident(4000, 100), bare_root = make_ident(0, 0);

	g_assert_cmpint(dipc_ipc_owner_or_cap(&p, &owner, DIPC_CAP_IPC_LOCK), ==, 0);
	g_assert_cmpint(dipc_ipc_owner_or_cap(&p, &creator, DIPC_CAP_IPC_LOCK), ==, 0);
	g_assert_cmpint(dipc_ipc_owner_or_cap(&p, &other, DIPC_CAP_IPC_LOCK), ==, -EPERM);

	/* The one capability asked for, and no other, lets a stranger in. */
	other.caps = 1ull << DIPC_CAP_SYS_ADMIN;
	g_assert_cmpint(dipc_ipc_owner_or_cap(&p, &other, DIPC_CAP_IPC_LOCK), ==, -EPERM);
	g_assert_cmpint(dipc_ipc_owner_check(&p, &other), ==, 0);
	other.caps = 1ull << DIPC_CAP_IPC_LOCK;
	g_assert_cmpint(dipc_ipc_owner_or_cap(&p, &other, DIPC_CAP_IPC_LOCK), ==, 0);
	g_assert_cmpint(dipc_ipc_owner_check(&p, &other), ==, -EPERM);

	/* uid 0 without capabilities (root in a container) is a stranger. */
	bare_root.caps = 0;
	g_assert_cmpint(dipc_ipc_owner_or_cap(&p, &bare_root, DIPC_CAP_IPC_LOCK), ==, -EPERM);
	g_assert_cmpint(dipc_ipc_owner_check(&p, &bare_root), ==, -EPERM);
}

static void test_ctl_check(void)
{
	dipc_ipc_perm p = make_perm(0600);
	dipc_ident owner = make_ident(1000, 9), other = make_ident(4000, 9);

	g_assert_cmpint(dipc_ipc_ctl_check(&p, &owner, false), ==, 0);
	g_assert_cmpint(dipc_ipc_ctl_check(&p, &owner, true), ==, -EIDRM);
	/* A stranger learns nothing about the removal: EPERM first. */
	g_assert_cmpint(dipc_ipc_ctl_check(&p, &other, true), ==, -EPERM);
	g_assert_cmpint(dipc_ipc_ctl_check(&p, &other, false), ==, -EPERM);
}

static void test_set_perm(void)
{
	dipc_ipc_perm p = make_perm(02600); /* SHM_LOCKED above the mode bits */
	int64_t ctime = 5, before = dipc_now_sec();

	dipc_ipc_set_perm(&p, &ctime, 11, 12, 0777 | 01000);
	g_assert_cmpuint(p.uid, ==, 11);
	g_assert_cmpuint(p.gid, ==, 12);
	g_assert_cmpuint(p.mode, ==, 02777);
	g_assert_cmpuint(p.cuid, ==, 2000);
	g_assert_cmpuint(p.cgid, ==, 200);
	g_assert_cmpint(ctime, >=, before);
	g_assert_cmpint(ctime, <=, dipc_now_sec());
}

static void test_perm_init(void)
{
	dipc_ident creator = make_ident(1234, 567);
	dipc_ipc_perm p;

	memset(&p, 0xa5, sizeof(p));
	/* IPC_CREAT | IPC_EXCL | 0640 as the program passed it. */
	dipc_ipc_perm_init(&p, (int32_t) 0xdeadbeefu, 98304 + 17, 01000 | 02000 | 0640, &creator);
	g_assert_cmpint(p.key, ==, (int32_t) 0xdeadbeefu);
	g_assert_cmpint(p.id, ==, 98304 + 17);
	g_assert_cmpuint(p.uid, ==, 1234);
	g_assert_cmpuint(p.cuid, ==, 1234);
	g_assert_cmpuint(p.gid, ==, 567);
	g_assert_cmpuint(p.cgid, ==, 567);
	g_assert_cmpuint(p.mode, ==, 0640);
}

static void test_perm_export(void)
{
	dipc_ipc_perm p = make_perm(01000 | 02000 | 0640); /* SHM_DEST | SHM_LOCKED */
	struct dipc_perm out;

	memset(&out, 0xa5, sizeof(out));
	p.id = (3 << 15) | 0x7ffe;
	dipc_ipc_perm_export(&p, &out);
	g_assert_cmpint(out.key, ==, 0x162e);
	g_assert_cmpuint(out.uid, ==, 1000);
	g_assert_cmpuint(out.gid, ==, 100);
	g_assert_cmpuint(out.cuid, ==, 2000);
	g_assert_cmpuint(out.cgid, ==, 200);
	/* The kind's flags are part of the exported mode (ipcs shows "dest"). */
	g_assert_cmpuint(out.mode, ==, 03640);
	g_assert_cmpuint(out.seq, ==, 3);

	/* The largest id: the sequence is unsigned, not sign-extended. */
	p.id = INT32_MAX;
	dipc_ipc_perm_export(&p, &out);
	g_assert_cmpuint(out.seq, ==, (uint32_t) INT32_MAX >> 15);
}

static void test_now(void)
{
	int64_t before = (int64_t) time(NULL);
	int64_t now = dipc_now_sec();
	int64_t after = (int64_t) time(NULL);

	g_assert_cmpint(now, >=, before);
	g_assert_cmpint(now, <=, after);
	g_assert_cmpint(now, >, 1600000000); /* a 2020s wall clock, not uptime */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/ipcperm/in_group", test_in_group);
	g_test_add_func("/ipcperm/owner_class", test_owner_class);
	g_test_add_func("/ipcperm/group_class", test_group_class);
	g_test_add_func("/ipcperm/other_class", test_other_class);
	g_test_add_func("/ipcperm/root", test_root);
	g_test_add_func("/ipcperm/flag_collapse", test_flag_collapse);
	g_test_add_func("/ipcperm/owner_check", test_owner_check);
	g_test_add_func("/ipcperm/update_perm", test_update_perm);
	g_test_add_func("/ipcperm/check_get", test_check_get);
	g_test_add_func("/ipcperm/stat_check", test_stat_check);
	g_test_add_func("/ipcperm/owner_or_cap", test_owner_or_cap);
	g_test_add_func("/ipcperm/ctl_check", test_ctl_check);
	g_test_add_func("/ipcperm/set_perm", test_set_perm);
	g_test_add_func("/ipcperm/perm_init", test_perm_init);
	g_test_add_func("/ipcperm/perm_export", test_perm_export);
	g_test_add_func("/ipcperm/now", test_now);

	return g_test_run();
}
