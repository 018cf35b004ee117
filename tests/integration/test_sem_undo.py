# SPDX-License-Identifier: MIT
"""SEM_UNDO: adjustments applied when a process exits, on any node, also after kill -9."""

from semtool import SemTool


def test_undo_after_kill9_on_non_owner_node(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 2)
    h = st.start_op("node2", sid, "0:+1:u", hold=True)
    h.wait_line("held")
    assert st.getval("node3", sid, 0) == 1
    h.kill9()
    st.wait_val("node3", sid, 0, 0)
    assert st.must("node1", "getpid", sid, 0).val == h.pid
    # nothing is applied twice
    st.must("node2", "setval", sid, 0, 5)
    assert st.getval("node1", sid, 0) == 5


def test_undo_restores_a_decrement_after_kill9(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node2", key, 1)
    st.must("node1", "setval", sid, 0, 3)
    h = st.start_op("node3", sid, "0:-2:u", hold=True)
    h.wait_line("held")
    assert st.getval("node1", sid) == 1
    h.kill9()
    st.wait_val("node1", sid, 0, 3)


def test_undo_on_normal_exit(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 2)
    for node in ("node1", "node2", "node3"):
        r = st.op(node, sid, "0:+2:u,1:+1")
        assert r.ok, r
        st.wait_val("node2", sid, 0, 0)
        assert st.getval("node2", sid, 1) >= 1
    assert st.getall("node3", sid) == [0, 3]


def test_undo_of_several_holders_on_several_nodes(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    h2 = st.start_op("node2", sid, "0:+1:u", hold=True)
    h2.wait_line("held")
    h3 = st.start_op("node3", sid, "0:+2:u", hold=True)
    h3.wait_line("held")
    h1 = st.start_op("node1", sid, "0:+4:u", hold=True)
    h1.wait_line("held")
    assert st.getval("node2", sid) == 7
    h3.kill9()
    st.wait_val("node2", sid, 0, 5)
    h2.release()  # normal exit
    assert h2.finish().ok
    st.wait_val("node3", sid, 0, 4)
    h1.kill9()
    st.wait_val("node3", sid, 0, 0)


def test_undo_wakes_a_waiter_on_another_node(cluster, key):
    """The exit adjustment is an ordinary change: it wakes waiters (a mutex freed by death)."""
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    st.must("node1", "setval", sid, 0, 1)
    holder = st.start_op("node2", sid, "0:-1:u", hold=True)
    holder.wait_line("held")
    waiter = st.start_op("node3", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 1)
    assert waiter.running()
    holder.kill9()
    r = waiter.finish(timeout=10)
    assert r.ok, r
    assert st.getval("node1", sid) == 0


def test_setval_clears_remote_adjustments(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    h = st.start_op("node2", sid, "0:+3:u", hold=True)
    h.wait_line("held")
    st.must("node3", "setval", sid, 0, 10)
    h.kill9()
    # wait until node2 has reported the exit: the undo record disappears
    from cluster import wait_until
    from catfmt import parse_sem_cat
    wait_until(lambda: parse_sem_cat(cluster.cat(cluster.sem_path("node1", key)))["undo"] == [],
               5, "undo record dropped")
    assert st.getval("node1", sid) == 10
