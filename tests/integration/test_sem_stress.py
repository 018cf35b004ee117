# SPDX-License-Identifier: MIT
"""Many processes on every node at once: mutual exclusion, counting, mass wake-ups."""

import pytest

from semtool import SemTool


def run_all(procs, timeout=120):
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        outs.append((p.returncode, out, err))
    return outs


@pytest.mark.deadline(300)
def test_mutex_across_three_nodes(cluster, key):
    """Two processes per node take turns in a critical section guarded by one
    semaphore (owned by node2); nobody is ever inside together with another."""
    st = SemTool(cluster)
    sid = st.create("node2", key, 3)
    st.setall("node2", sid, 1, 0, 0)
    iters = 150
    stress = cluster.prog("semstress")
    procs = [cluster.popen(n, [stress, "mutex", str(sid), str(iters)])
             for n in cluster.nodes for _ in range(2)]
    for rc, out, err in run_all(procs):
        assert rc == 0 and out.strip() == "mutex done iter=%d" % iters, (rc, out, err)
    assert st.getall("node1", sid) == [1, 0, 6 * iters]


@pytest.mark.deadline(300)
def test_atomic_multi_sembuf_counting(cluster, key):
    """Concurrent two-semaphore updates from three nodes never lose or split one."""
    st = SemTool(cluster)
    sid = st.create("node3", key, 2)
    iters = 300
    st.setall("node1", sid, 0, 6 * iters)
    stress = cluster.prog("semstress")
    procs = [cluster.popen(n, [stress, "counter", str(sid), str(iters)])
             for n in cluster.nodes for _ in range(2)]
    for rc, out, err in run_all(procs):
        assert rc == 0, (rc, out, err)
    assert st.getall("node2", sid) == [6 * iters, 0]
    # one more would block: the count is exact
    assert st.op("node1", sid, "1:-1:n").errno == "EAGAIN"


@pytest.mark.deadline(300)
def test_many_waiters_on_two_nodes_released_at_once(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    waiters = [st.start_op(n, sid, "0:-1") for n in ("node2", "node3") for _ in range(20)]
    st.wait("node1", sid, 0, "ncnt", 40, ms=20000)
    st.must("node1", "op", sid, "0:+40")
    for w in waiters:
        r = w.finish(timeout=30)
        assert r.ok, r
    assert st.getval("node2", sid) == 0
    assert st.must("node3", "getncnt", sid, 0).val == 0
