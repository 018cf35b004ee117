# SPDX-License-Identifier: MIT
"""The same C program, natively and through dipcfs: byte-identical results.

tests/progs/shmtest walks every shmget/shmat/shmdt/shmctl result and error
path reachable deterministically (one process plus forked children, some of
them dropping to nobody): sizes, IPC_CREAT/IPC_EXCL, SHM_RDONLY, SHM_RND,
SHM_REMAP, explicit and misaligned addresses, IPC_RMID while attached
(SHM_DEST, the key becoming private, destruction at the last detach),
IPC_SET/SHM_LOCK/SHM_UNLOCK/SHM_STAT(_ANY)/IPC_INFO/SHM_INFO, shm_nattch
through fork, exec, exit and SIGKILL, read(2) into a segment, the program's
own SIGSEGV handler, threads.  It prints normalised facts, one line per
step; its ids go to stderr, so we also check which side served each segment.
"""

from compare import assert_same, check_native, run_prog
from test_shm_common import ShmTool, kernel_shm_keys, skey  # noqa: F401 (fixture)
from cluster import dipc_is_id

MAIN_SIZE = 20000  # tests/progs/shmtest.c


def run_shmtest(c, node, key, precreated=False):
    return run_prog(c, node, c.prog("shmtest"), key, precreated, timeout=120)


def check_dipc(r, ids, key):
    assert ids, "no id reported: %r" % r.stderr
    kernel_ids = {n: i for n, i in ids.items() if not dipc_is_id(i)}
    assert not kernel_ids, "segments created in the kernel instead of the cluster: %r" % kernel_ids
    assert not [k for k in kernel_shm_keys() if key <= k < key + 4], "kernel segments appeared"
    assert r.returncode == 0, r.stderr[-2000:]


def test_shmtest_native_vs_local_owner(cluster, skey):
    """Caller and owner on the same node."""
    rn, idn = run_shmtest(cluster, None, skey)
    check_native(rn, idn, "shmtest")
    rd, idd = run_shmtest(cluster, "node1", skey + 8)
    check_dipc(rd, idd, skey + 8)
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node1", "shmtest")


def test_shmtest_native_vs_remote_owner(cluster, skey):
    """The main segment is owned by node2 and every call comes from node3 (the
    other segments shmtest creates are owned by node3, its own node)."""
    sh = ShmTool(cluster)
    sh.must(None, "create", hex(skey), MAIN_SIZE, "666", "excl")
    rn, idn = run_shmtest(cluster, None, skey, precreated=True)
    check_native(rn, idn, "shmtest")

    sid = sh.create("node2", skey + 8, MAIN_SIZE, "666")
    rd, idd = run_shmtest(cluster, "node3", skey + 8, precreated=True)
    check_dipc(rd, idd, skey + 8)
    assert idd["main"] == sid
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node3 (owner node2)", "shmtest")
