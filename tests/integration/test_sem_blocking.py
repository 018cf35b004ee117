# SPDX-License-Identifier: MIT
"""Blocking semop across nodes: wake-ups, order, EIDRM, time-outs, signals."""

import signal
import time

from cluster import dipc_is_id, kernel_sem_keys
from semtool import SemTool


def test_pingpong_between_two_nodes(cluster, key):
    pp = cluster.prog("pingpong")
    rounds = 300
    a = cluster.popen("node1", [pp, "ping", hex(key), str(rounds)])
    b = cluster.popen("node2", [pp, "pong", hex(key), str(rounds)])
    oa, ea = a.communicate(timeout=60)
    ob, eb = b.communicate(timeout=60)
    assert a.returncode == 0 and oa.strip() == "ping done rounds=%d" % rounds, (oa, ea)
    assert b.returncode == 0 and ob.strip() == "pong done rounds=%d" % rounds, (ob, eb)
    st = SemTool(cluster)
    sid = st.must("node3", "get", hex(key), 3, "0").id
    assert dipc_is_id(sid)
    assert key not in kernel_sem_keys()
    assert st.getall("node3", sid) == [0, 0, 2 * rounds]


def test_pingpong_same_node(cluster, key):
    pp = cluster.prog("pingpong")
    a = cluster.popen("node2", [pp, "pong", hex(key), "200"])
    b = cluster.popen("node2", [pp, "ping", hex(key), "200"])
    for p, role in ((a, "pong"), (b, "ping")):
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and out.strip() == "%s done rounds=200" % role, (out, err)
    assert key not in kernel_sem_keys()


def test_blocked_semop_woken_from_another_node(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 2)
    w = st.start_op("node2", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 1)
    time.sleep(0.2)  # give a broken implementation the chance to return early
    assert w.running(), "semop returned without a post: %r" % (w.finish(),)
    assert st.getval("node3", sid, 0) == 0
    st.must("node3", "op", sid, "0:+1")
    r = w.finish(timeout=10)
    assert r.ok, r
    assert st.getall("node1", sid) == [0, 0]
    assert st.must("node1", "getncnt", sid, 0).val == 0
    assert st.must("node1", "getpid", sid, 0).val == w.pid  # the waiter completed last


def test_wait_for_zero_across_nodes(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node3", key, 1)
    st.must("node3", "setval", sid, 0, 2)
    w1 = st.start_op("node1", sid, "0:0")
    w2 = st.start_op("node2", sid, "0:0")
    st.wait("node3", sid, 0, "zcnt", 2)
    st.must("node2", "op", sid, "0:-1")
    time.sleep(0.1)
    assert w1.running() and w2.running()
    st.must("node1", "op", sid, "0:-1")
    assert w1.finish().ok and w2.finish().ok


def test_fifo_wakeup_across_nodes(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    a = st.start_op("node2", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 1)
    b = st.start_op("node3", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 2)
    c = st.start_op("node1", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 3)
    order = []
    for i in range(3):
        st.must("node2", "op", sid, "0:+1")
        st.wait("node1", sid, 0, "ncnt", 2 - i)
        done = [n for n, p in (("a", a), ("b", b), ("c", c)) if not p.running() and n not in order]
        deadline = time.monotonic() + 5
        while len(done) != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
            done = [n for n, p in (("a", a), ("b", b), ("c", c))
                    if not p.running() and n not in order]
        assert len(done) == 1, "after post %d finished: %r" % (i, done)
        order += done
    assert order == ["a", "b", "c"]
    for p in (a, b, c):
        assert p.finish().ok


def test_all_or_nothing_across_nodes(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 2)
    w = st.start_op("node2", sid, "0:-1,1:-1")
    st.wait("node3", sid, 0, "ncnt", 1)
    st.must("node3", "op", sid, "0:+1")
    st.wait("node3", sid, 1, "ncnt", 1)
    assert w.running()
    assert st.getall("node1", sid) == [1, 0]  # nothing taken yet
    st.must("node1", "op", sid, "1:+1")
    assert w.finish().ok
    assert st.getall("node3", sid) == [0, 0]


def test_eidrm_to_waiters_on_two_nodes(cluster, key):
    """Owner node1; waiters on node1 and node2; removal from node3."""
    st = SemTool(cluster)
    sid = st.create("node1", key, 2)
    st.must("node1", "setval", sid, 1, 1)
    w1 = st.start_op("node1", sid, "0:-1")
    w2 = st.start_op("node2", sid, "0:-1")
    w3 = st.start_op("node2", sid, "1:0")
    st.wait("node3", sid, 0, "ncnt", 2)
    st.wait("node3", sid, 1, "zcnt", 1)
    st.must("node3", "rmid", sid)
    for w in (w1, w2, w3):
        r = w.finish(timeout=10)
        assert r.errno == "EIDRM", r
    assert st("node2", "getval", sid, 0).errno == "EINVAL"


def test_eidrm_waiters_on_non_owner_nodes(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node2", key, 1)
    w1 = st.start_op("node1", sid, "0:-1", timeout_ms=20000)
    w3 = st.start_op("node3", sid, "0:-1")
    st.wait("node2", sid, 0, "ncnt", 2)
    st.must("node1", "rmid", sid)
    assert w1.finish().errno == "EIDRM"
    assert w3.finish().errno == "EIDRM"


def test_semtimedop_expires_not_early(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    for node, ms in (("node2", 300), ("node1", 250), ("node3", 1000)):
        t0 = time.monotonic()
        r = st.op(node, sid, "0:-1", timeout_ms=ms)
        wall = (time.monotonic() - t0) * 1000
        assert r.errno == "EAGAIN", r
        assert r.elapsed_ms >= ms, "semtimedop(%d ms) returned after %d ms" % (ms, r.elapsed_ms)
        assert r.elapsed_ms < ms + 2000 and wall < ms + 5000, r
        assert st.must("node3", "getncnt", sid, 0).val == 0
        assert st.getval("node2", sid) == 0


def test_semtimedop_woken_before_expiry(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    w = st.start_op("node2", sid, "0:-1", timeout_ms=10000)
    st.wait("node1", sid, 0, "ncnt", 1)
    st.must("node3", "op", sid, "0:+1")
    r = w.finish()
    assert r.ok and r.elapsed_ms < 9000, r
    # the expired time-out must not fire later
    time.sleep(0.1)
    st.must("node3", "op", sid, "0:+1")
    assert st.getval("node1", sid) == 1


def test_eintr_on_remote_wait_with_sa_restart(cluster, key):
    """semtool catches SIGUSR1 with SA_RESTART; semop must fail with EINTR."""
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    for node in ("node2", "node1"):
        w = st.start_op(node, sid, "0:-1")
        st.wait("node3", sid, 0, "ncnt", 1)
        w.signal(signal.SIGUSR1)
        r = w.finish(timeout=10)
        assert r.errno == "EINTR" and r.kv.get("signals") == "1", r
        assert st.must("node3", "getncnt", sid, 0).val == 0
        # the interrupted op was not applied, not even later
        st.must("node3", "op", sid, "0:+1")
        time.sleep(0.1)
        assert st.getval("node1", sid) == 1
        st.must("node1", "setval", sid, 0, 0)


def test_killed_remote_waiter_takes_nothing(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    w = st.start_op("node2", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 1)
    w.kill9()
    st.wait("node1", sid, 0, "ncnt", 0)
    st.must("node3", "op", sid, "0:+1")
    time.sleep(0.1)
    assert st.getval("node1", sid) == 1


def test_semop_nowait_and_erange_remote(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 2)
    assert st.op("node2", sid, "0:-1:n").errno == "EAGAIN"
    st.must("node2", "setval", sid, 1, 32767)
    assert st.op("node3", sid, "1:+1").errno == "ERANGE"
    assert st.op("node3", sid, "2:+1").errno == "EFBIG"
    assert st.op("node3", sid, "0:+1,1:-1:n,1:+1").ok
    assert st.getall("node1", sid) == [1, 32767]
