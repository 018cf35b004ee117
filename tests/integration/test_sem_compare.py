# SPDX-License-Identifier: MIT
"""The same C program, natively and through dipcfs: byte-identical results.

tests/progs/semtest walks every semget/semop/semtimedop/semctl result and
error path reachable deterministically (one process plus forked children,
some of them dropping to nobody) and prints normalised facts, one line per
step.  Its ids go to stderr, so we can also check which side served each set.
"""

import difflib

from cluster import dipc_is_id, kernel_sem_keys
from semtool import SemTool


def run_semtest(c, node, key, precreated=False):
    argv = [c.prog("semtest")] + (["-p"] if precreated else []) + [hex(key)]
    r = c.run(node, argv, timeout=90)
    ids = {}
    for line in r.stderr.splitlines():
        if line.startswith("# id "):
            _, _, name, sid = line.split()
            ids[name] = int(sid)
    return r, ids


def assert_same(native, dipc, what):
    if native != dipc:
        diff = "".join(difflib.unified_diff(native.splitlines(True), dipc.splitlines(True),
                                            "native", what))
        raise AssertionError("semtest output differs natively and %s:\n%s" % (what, diff))


def check_native(r, ids):
    assert r.returncode == 0, "semtest failed natively: %s\n%s" % (r.stdout[-2000:], r.stderr)
    assert "done: harness_ok=1" in r.stdout
    assert ids and not any(dipc_is_id(i) for i in ids.values()), ids


def check_dipc(r, ids, key):
    assert ids, "no id reported: %r" % r.stderr
    kernel_ids = {n: i for n, i in ids.items() if not dipc_is_id(i)}
    assert not kernel_ids, "sets created in the kernel instead of the cluster: %r" % kernel_ids
    assert not [k for k in kernel_sem_keys() if key <= k < key + 3], "kernel sets appeared"


def test_semtest_native_vs_local_owner(cluster, key):
    """Caller and owner on the same node."""
    rn, idn = run_semtest(cluster, None, key)
    check_native(rn, idn)
    rd, idd = run_semtest(cluster, "node1", key + 8)
    check_dipc(rd, idd, key + 8)
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node1")
    assert rd.returncode == 0, rd.stderr


def test_semtest_native_vs_remote_owner(cluster, key):
    """The main set is owned by node2 and every call comes from node3."""
    st = SemTool(cluster)
    st.create(None, key, 4, "666")
    rn, idn = run_semtest(cluster, None, key, precreated=True)
    check_native(rn, idn)

    sid = st.create("node2", key + 8, 4, "666")
    assert dipc_is_id(sid)
    rd, idd = run_semtest(cluster, "node3", key + 8, precreated=True)
    check_dipc(rd, idd, key + 8)
    assert idd["main"] == sid
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node3 (owner node2)")
    assert rd.returncode == 0, rd.stderr
