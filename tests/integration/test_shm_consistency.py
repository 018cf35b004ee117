# SPDX-License-Identifier: MIT
"""Strict consistency of distributed shared memory, across three nodes.

Every check here loads and stores through ordinary shmat() mappings
(tests/progs/shmtool), never through a system call, and is built to fail
under a weaker protocol:

- a spinner that never makes a system call sees a remote store within 1 s
  (fails if a node's copy of a page is not invalidated when another writes);
- "data then flag": a reader that sees the flag of round R always sees all
  three data pages of round R (fails if pages are refreshed independently or
  late, or if a write is made visible before the earlier ones);
- counters incremented with plain loads and stores under a dipcfs semaphore
  from three nodes come out exact (fails on a stale read, and on a lost
  write-back);
- writers on different pages, and on different words of the same pages,
  never lose an update (fails if a node writes a stale copy of a page, or of
  the whole segment, back over a newer one);

and the same in page mode, in segment mode and with the nodes in mixed modes
(`shm_mode` in the `[node.NAME]` groups of dipc.conf).
"""

import pytest

from cluster import dipc_is_id
from semtool import SemTool
from test_shm_common import (PAGE, ShmTool, finish_all, kernel_shm_keys, node_conf,  # noqa: F401
                             skey, start_at)

SEG = 8 * PAGE  # msgpass needs 8 pages (shmtool.c)

# Sizes of the scenarios (every round or increment moves pages between nodes;
# with the default time quantum a transfer can wait up to shm_quantum_ms).
MSGPASS_ROUNDS = 1500
COUNTER_ITERS = 200     # per process, two processes per node
MODE_ROUNDS = 300       # test_modes, per mode


def spin_and_set(c, sh, key, reader, writer, off, value):
    """A spinner on reader waits for value at off; writer stores it.  Returns the
    latency (ms) from just before the store until the spinner saw it."""
    spinner = sh.start(reader, "spin", hex(key), off, value, 5000)
    spinner.wait_line_prefix("ready")
    r = sh.must(writer, "set", hex(key), off, value)
    t_store = int(r.kv["t_ms"])
    res = spinner.finish(timeout=15)
    assert res.ok, "spinner on %s never saw %d stored by %s: %r" % (reader, value, writer, res)
    return int(res.kv["seen_ms"]) - t_store


def test_spinner_sees_remote_store_within_1s(cluster, skey):
    c = cluster
    sh = ShmTool(c)
    sh.create("node1", skey, SEG)
    # the spinner's node already holds a read copy of the page
    assert sh.peek("node1", skey, 128) == 0
    lat = spin_and_set(c, sh, skey, "node1", "node2", 128, 7)
    assert lat < 1000, "node1 saw node2's store after %d ms" % lat
    # and back, on a page the owner node wrote last, seen from a third node
    lat = spin_and_set(c, sh, skey, "node3", "node1", 128, 8)
    assert lat < 1000, "node3 saw node1's store after %d ms" % lat
    # two spinners on two nodes, one store
    spinners = [sh.start(n, "spin", hex(skey), 3 * PAGE + 4, 99, 5000) for n in ("node1", "node3")]
    for s in spinners:
        s.wait_line_prefix("ready")
    t_store = int(sh.must("node2", "set", hex(skey), 3 * PAGE + 4, 99).kv["t_ms"])
    for s, res in zip(spinners, finish_all(spinners, timeout=15)):
        assert res.ok, (s.node, res)
        assert int(res.kv["seen_ms"]) - t_store < 1000, (s.node, res)
    # every node now reads the last values
    for n in c.nodes:
        assert sh.peek(n, skey, 128) == 8
        assert sh.peek(n, skey, 3 * PAGE + 4) == 99


def test_sequence_of_stores_seen_in_order(cluster, skey):
    """A spinner waiting for each of several successive values from another
    node sees every one (values are stored only after the spinner is ready)."""
    sh = ShmTool(cluster)
    sh.create("node2", skey, SEG)
    for i, (reader, writer) in enumerate([("node1", "node3"), ("node3", "node1"),
                                          ("node2", "node1"), ("node1", "node2")]):
        lat = spin_and_set(cluster, sh, skey, reader, writer, 64, 100 + i)
        assert lat < 1000, (reader, writer, lat)


def msgpass(c, sh, key, writer, readers, rounds):
    procs = [sh.start(writer, "msgpass", hex(key), "writer", rounds, len(readers))]
    procs += [sh.start(n, "msgpass", hex(key), "reader", rounds, i)
              for i, n in enumerate(readers)]
    for p, res in zip(procs, finish_all(procs, timeout=90)):
        assert res.ok and res.out.strip() == "done rounds=%d" % rounds, \
            "msgpass on %s: %r" % (p.node, res)


@pytest.mark.deadline(180)
def test_data_then_flag_never_flag_without_data(cluster, skey):
    """Writer on node2 (not the owner), readers on node1 (the owner) and node3;
    then the writer on the owner node."""
    sh = ShmTool(cluster)
    sh.create("node1", skey, SEG)
    msgpass(cluster, sh, skey, "node2", ["node1", "node3"], MSGPASS_ROUNDS)
    sh.must("node2", "fill", hex(skey), 0, SEG, 0)
    msgpass(cluster, sh, skey, "node1", ["node3"], MSGPASS_ROUNDS // 2)


def make_sem(c, key):
    st = SemTool(c)
    sid = st.create("node3", key, 1)
    st.setall("node3", sid, 1)
    return st, sid


def counters(c, sh, key, semkey, n, per_node=1):
    procs = [sh.start(node, "counter", hex(key), hex(semkey), n)
             for node in c.nodes for _ in range(per_node)]
    for p, res in zip(procs, finish_all(procs, timeout=90)):
        assert res.ok and res.out.strip() == "done n=%d" % n, "counter on %s: %r" % (p.node, res)
    total = n * per_node * len(c.nodes)
    for node in c.nodes:
        assert sh.peek(node, key, 0) == total, "counter at 0 seen from %s" % node
        assert sh.peek(node, key, PAGE + 64) == total, "counter at PAGE+64 seen from %s" % node


@pytest.mark.deadline(180)
def test_counters_under_dipc_semaphore_exact(cluster, skey):
    c = cluster
    sh = ShmTool(c)
    sh.create("node2", skey, SEG)
    st, sid = make_sem(c, skey + 1)
    assert dipc_is_id(sid)
    counters(c, sh, skey, skey + 1, COUNTER_ITERS, per_node=2)
    assert st.getval("node1", sid) == 1


def pages(c, sh, key, jobs, ms=600):
    """jobs: [(node, first, count, slot)]; run them together for ms; check
    every counter from every node afterwards."""
    opts = start_at(400)
    procs = [sh.start(node, "pages", hex(key), first, count, slot, ms, opts=opts)
             for node, first, count, slot in jobs]
    results = finish_all(procs, timeout=90)
    for (node, first, count, slot), res in zip(jobs, results):
        assert res.ok, "pages on %s: %r" % (node, res)
        iters = int(res.kv["iters"])
        assert iters > 0
        for other in c.nodes:
            r = sh(other, "pagecheck", hex(key), first, count, slot, iters)
            assert r.ok, "pages %d..%d slot %d of %s, seen from %s: %r" % (
                first, first + count - 1, slot, node, other, r)


@pytest.mark.deadline(180)
def test_writers_on_different_pages(cluster, skey):
    sh = ShmTool(cluster)
    sh.create("node1", skey, SEG)
    pages(cluster, sh, skey, [("node1", 0, 2, 0), ("node2", 2, 3, 0), ("node3", 5, 3, 0)])


@pytest.mark.deadline(180)
def test_writers_on_same_pages_different_words(cluster, skey):
    """False sharing: three nodes write different words of the same pages."""
    sh = ShmTool(cluster)
    sh.create("node3", skey, SEG)
    pages(cluster, sh, skey, [("node1", 0, 4, 0), ("node2", 0, 4, 1), ("node3", 2, 4, 2)],
          ms=400)


MODES = {
    "page": {"node1": "page", "node2": "page", "node3": "page"},
    "segment": {"node1": "segment", "node2": "segment", "node3": "segment"},
    "mixed_owner_page": {"node1": "segment", "node2": "page", "node3": "segment"},
    "mixed_owner_segment": {"node1": "page", "node2": "segment", "node3": "page"},
}


@pytest.mark.deadline(240)
@pytest.mark.parametrize("modes", sorted(MODES))
def test_modes(make_cluster, skey, modes):
    """Every scenario above, with the nodes in page mode, segment mode, or mixed
    (the owner, node2, in one mode and the others in the other)."""
    c = make_cluster(nodes=3, conf=node_conf(MODES[modes], quantum_ms=5))
    sh = ShmTool(c)
    sh.create("node2", skey, SEG)
    lat = spin_and_set(c, sh, skey, "node1", "node3", 3 * PAGE, 5)
    assert lat < 1000, lat
    sh.must("node1", "fill", hex(skey), 0, SEG, 0)
    msgpass(c, sh, skey, "node3", ["node1", "node2"], MODE_ROUNDS)
    sh.must("node2", "fill", hex(skey), 0, SEG, 0)
    make_sem(c, skey + 1)
    counters(c, sh, skey, skey + 1, COUNTER_ITERS)
    sh.must("node3", "fill", hex(skey), 0, SEG, 0)
    pages(c, sh, skey, [("node1", 0, 2, 0), ("node2", 2, 3, 0), ("node3", 0, 5, 1)], ms=400)
    assert skey not in kernel_shm_keys()


@pytest.mark.deadline(120)
def test_default_quantum_spinner(make_cluster, skey):
    """A larger time quantum still delivers a remote store within 1 s."""
    c = make_cluster(nodes=3, conf=node_conf({n: "page" for n in ("node1", "node2", "node3")},
                                             quantum_ms=50))
    sh = ShmTool(c)
    sh.create("node1", skey, SEG)
    for i, (reader, writer) in enumerate((("node2", "node3"), ("node3", "node2"),
                                          ("node1", "node2"))):
        lat = spin_and_set(c, sh, skey, reader, writer, 256, 1000 + i)
        assert lat < 1000, (reader, writer, lat)
