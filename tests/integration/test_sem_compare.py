# SPDX-License-Identifier: MIT
"""The same C program, natively and through dipcfs: byte-identical results.

tests/progs/semtest walks every semget/semop/semtimedop/semctl result and
error path reachable deterministically (one process plus forked children,
some of them dropping to nobody) and prints normalised facts, one line per
step.  Its ids go to stderr, so we can also check which side served each set.
"""

from cluster import dipc_is_id, kernel_sem_keys
from compare import assert_same, check_native, run_prog
from semtool import SemTool


def run_semtest(c, node, key, precreated=False):
    return run_prog(c, node, c.prog("semtest"), key, precreated, timeout=90)


def check_dipc(r, ids, key):
    assert ids, "no id reported: %r" % r.stderr
    kernel_ids = {n: i for n, i in ids.items() if not dipc_is_id(i)}
    assert not kernel_ids, "sets created in the kernel instead of the cluster: %r" % kernel_ids
    assert not [k for k in kernel_sem_keys() if key <= k < key + 3], "kernel sets appeared"


def test_semtest_native_vs_local_owner(cluster, key):
    """Caller and owner on the same node."""
    rn, idn = run_semtest(cluster, None, key)
    check_native(rn, idn, "semtest")
    rd, idd = run_semtest(cluster, "node1", key + 8)
    check_dipc(rd, idd, key + 8)
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node1", "semtest")
    assert rd.returncode == 0, rd.stderr


def test_semtest_native_vs_remote_owner(cluster, key):
    """The main set is owned by node2 and every call comes from node3."""
    st = SemTool(cluster)
    st.create(None, key, 4, "666")
    rn, idn = run_semtest(cluster, None, key, precreated=True)
    check_native(rn, idn, "semtest")

    sid = st.create("node2", key + 8, 4, "666")
    assert dipc_is_id(sid)
    rd, idd = run_semtest(cluster, "node3", key + 8, precreated=True)
    check_dipc(rd, idd, key + 8)
    assert idd["main"] == sid
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node3 (owner node2)", "semtest")
    assert rd.returncode == 0, rd.stderr
