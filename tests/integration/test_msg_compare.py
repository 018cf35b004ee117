# SPDX-License-Identifier: MIT
"""The same C program, natively and through dipcfs: byte-identical results.

tests/msgprogs/msgtest walks every msgget/msgsnd/msgrcv/msgctl result and
error path reachable deterministically (one process plus forked children:
blocked senders and receivers, EIDRM, EINTR from a handler with and without
SA_RESTART, silent restart after SIGSTOP/SIGCONT, permissions as nobody) and
prints normalised facts, one line per step.  Its ids go to stderr, so we can
also check which side served each queue.
"""

from cluster import dipc_is_id, kernel_msg_keys
from compare import assert_same, check_native, run_prog
from test_msg_common import MsgTool, mkey  # noqa: F401 (fixture)


def run_msgtest(c, node, key, precreated=False):
    return run_prog(c, node, c.msgprog("msgtest"), key, precreated, timeout=120)


def check_dipc(r, ids, key):
    assert ids, "no id reported: %r" % r.stderr
    kernel_ids = {n: i for n, i in ids.items() if not dipc_is_id(i)}
    assert not kernel_ids, "queues created in the kernel instead of the cluster: %r" % kernel_ids
    assert not [k for k in kernel_msg_keys() if key <= k < key + 4], "kernel queues appeared"
    assert r.returncode == 0, r.stderr[-2000:]


def test_msgtest_native_vs_local_owner(cluster, mkey):
    """Caller and owner on the same node."""
    rn, idn = run_msgtest(cluster, None, mkey)
    check_native(rn, idn, "msgtest")
    rd, idd = run_msgtest(cluster, "node1", mkey + 8)
    check_dipc(rd, idd, mkey + 8)
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node1", "msgtest")


def test_msgtest_native_vs_remote_owner(cluster, mkey):
    """The main queue is owned by node2 and every call comes from node3 (the
    other queues msgtest creates are owned by node3, its own node)."""
    mt = MsgTool(cluster)
    mt.create(None, mkey, "666")
    rn, idn = run_msgtest(cluster, None, mkey, precreated=True)
    check_native(rn, idn, "msgtest")

    qid = mt.create("node2", mkey + 8, "666")
    rd, idd = run_msgtest(cluster, "node3", mkey + 8, precreated=True)
    check_dipc(rd, idd, mkey + 8)
    assert idd["main"] == qid
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node3 (owner node2)", "msgtest")
