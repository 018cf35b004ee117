# SPDX-License-Identifier: MIT
"""Fail-stop nodes: a dead node is noticed, its objects and its processes'
adjustments are dealt with, and nobody hangs (docs/differences.md, "Failures")."""

import time

from cluster import wait_until
from semtool import SemTool


def node_seen_dead(c, observer, node):
    st = c.cluster_state(observer)
    return st is not None and st["peers"].get(node, (None, "absent"))[1] != "alive"


def test_dead_node_is_noticed(cluster):
    cluster.kill_node("node3")
    cluster.allow_stderr(r"node3")
    for n in ("node1", "node2"):
        wait_until(lambda: node_seen_dead(cluster, n, "node3"), 10,
                   "%s to see node3 dead" % n)


def test_waiter_on_a_dead_owner_gets_an_error_not_a_hang(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node3", key, 1)
    w1 = st.start_op("node1", sid, "0:-1")
    w2 = st.start_op("node2", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 2)
    t0 = time.monotonic()
    cluster.kill_node("node3")
    cluster.allow_stderr(r"node3")
    for w in (w1, w2):
        r = w.finish(timeout=15)
        assert r.errno == "EIDRM", r
    assert time.monotonic() - t0 < 12
    # the object is gone with its owner
    r = st("node1", "getval", sid, 0)
    assert r.errno in ("EIDRM", "EINVAL"), r
    r = st("node2", "get", hex(key), 1, "0")
    assert r.errno == "ENOENT", r


def test_undo_of_processes_on_a_dead_node_is_applied(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    h = st.start_op("node3", sid, "0:+2:u", hold=True)
    h.wait_line("held")
    assert st.getval("node2", sid) == 2
    cluster.kill_node("node3")
    cluster.allow_stderr(r"node3")
    st.wait_val("node2", sid, 0, 0, timeout=15)
