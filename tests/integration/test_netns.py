# SPDX-License-Identifier: MIT
"""The cluster over a real (virtual) network, and real network faults.

Each daemon runs in a network namespace of its own (netns.py): the referee
at 10.231.0.1, node1..node3 at 10.231.0.11..13, all joined by a bridge in a
"switch" namespace.  Nothing talks over loopback: every byte between daemons
crosses a veth cable and the bridge, and a fault is a real one — a cable
pulled (the switch port set down), so a peer just goes silent, with no RST
and no local error, which only heartbeats can detect.

The promises under test (docs/design.md, "Failure model"): an operation
that cannot complete returns an error, never hangs; an owner that goes
silent loses its objects (waiters get EIDRM, its ids then fail); a caller's
node that goes silent has its parked operations dropped and its processes'
SEM_UNDO adjustments applied; only allowed hosts that know the secret join.
"""

import os
import sys
import time

import pytest

from catfmt import parse_sem_cat
from cluster import wait_until
from netns import Switch, missing_tools, remove_stale
from semtool import SemTool

HEARTBEAT_MS = 200
DEAD_AFTER_MS = 1500
# An op blocked on a silent peer must end within this (dead_after plus a
# generous margin for a loaded machine); the brief's bound is "an error,
# never a hang".
FAULT_BOUND_S = 10

# host (namespace) -> last octet of its address
HOSTS = {"ref": 1, "n1": 11, "n2": 12, "n3": 13, "n5": 15, "out": 200}
REFEREE_PORT = 7530

# The daemons log these (g_message) when a peer goes silent or is refused.
EXPECTED_STDERR = r"left|lost the referee|silent|closing|rejected|cannot announce|not connected"

pytestmark = pytest.mark.deadline(60)


@pytest.fixture(scope="module")
def net():
    problems = missing_tools()
    if problems:
        pytest.fail("cannot run the network-namespace tests:\n  " + "\n  ".join(problems),
                    pytrace=False)
    remove_stale()
    sw = Switch(HOSTS)
    try:
        yield sw
    finally:
        sw.close()


def net_cluster(make_cluster, net, nodes=3, host_of=None, allowed_hosts=None, **kw):
    """A Cluster whose referee and nodes each run in their own namespace.

    host_of: {daemon: host} over the default referee->ref, nodeN->nN."""
    net.heal()   # a previous test may have pulled a cable
    names = ["node%d" % (i + 1) for i in range(nodes)]
    where = {"referee": "ref"}
    where.update({n: "n%d" % (i + 1) for i, n in enumerate(names)})
    where.update(host_of or {})
    addrs = {"referee": "%s:%d" % (net.ip("ref"), REFEREE_PORT)}
    addrs.update({n: "%s:%d" % (net.ip(where[n]), REFEREE_PORT + 1 + i)
                  for i, n in enumerate(names)})
    conf = {"cluster": {"allowed_hosts": allowed_hosts or net.cidr()}}
    c = make_cluster(nodes=nodes, heartbeat_ms=HEARTBEAT_MS, dead_after_ms=DEAD_AFTER_MS,
                     addrs=addrs, conf=conf,
                     daemon_prefixes={d: net.prefix(h) for d, h in where.items()},
                     run_prefixes={n: net.prefix(where[n]) for n in names}, **kw)
    c.host_of = where
    return c


def peer_state(c, observer, node):
    st = c.cluster_state(observer)
    if st is None:
        return None
    return st["peers"].get(node, (None, "absent"))[1]


def referee_state(c, node):
    st = c.cluster_state(node)
    return st and st["referee"] and st["referee"][1]


def log_lines(c, daemon, needle):
    return [ln for ln in c.daemons[daemon].text().splitlines() if needle in ln]


def test_semaphores_across_the_network(make_cluster, net, key):
    c = net_cluster(make_cluster, net)
    # Everybody found everybody at their namespace addresses, over the switch.
    for n in c.nodes:
        st = c.cluster_state(n)
        assert st["referee"] == (c.referee_addr, "connected"), st["text"]
        assert {p: v for p, v in st["peers"].items()} == \
            {m: (c.addr[m], "alive") for m in c.nodes}, st["text"]
    for n in c.nodes:
        joined = log_lines(c, "referee", "node %s joined from %s:" % (n, net.ip(c.host_of[n])))
        assert joined, c.daemons["referee"].text()

    st = SemTool(c)
    sid = st.create("node1", key, 3)

    # ping-pong between processes on node2 and node3 on a set owned by node1
    pp = c.prog("pingpong")
    rounds = 200
    a = c.popen("node2", [pp, "ping", hex(key), str(rounds)])
    b = c.popen("node3", [pp, "pong", hex(key), str(rounds)])
    oa, ea = a.communicate(timeout=60)
    ob, eb = b.communicate(timeout=60)
    assert a.returncode == 0 and oa.strip() == "ping done rounds=%d" % rounds, (oa, ea)
    assert b.returncode == 0 and ob.strip() == "pong done rounds=%d" % rounds, (ob, eb)
    assert st.getall("node1", sid) == [0, 0, 2 * rounds]

    # a blocked semop on node2, woken from node3
    w = st.start_op("node2", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 1)
    time.sleep(0.2)  # give a broken implementation the chance to return early
    assert w.running(), "semop returned without a post: %r" % (w.finish(),)
    for n in c.nodes:   # the waiter is visible from every node
        s = parse_sem_cat(c.cat(c.sem_path(n, key)))
        assert s["fields"]["owner"] == "node1", s
        assert s["fields"]["id"] == str(sid), s
        assert s["sems"][0]["semncnt"] == 1, s
        assert [who for who, _ in s["waiters"]] == ["%d@node2" % w.pid], s
    st.must("node3", "op", sid, "0:+1")
    r = w.finish(timeout=10)
    assert r.ok, r
    assert st.must("node1", "getpid", sid, 0).val == w.pid

    for n in c.nodes:
        s = parse_sem_cat(c.cat(c.sem_path(n, key)))
        assert s["fields"]["owner"] == "node1", s
        assert [x["semval"] for x in s["sems"]] == [0, 0, 2 * rounds], s
        assert s["sems"][0]["sempid"] == "%d@node2" % w.pid, s
        assert s["fields"].get("waiters", 0) == 0, s


def test_owner_link_cut_gives_eidrm_not_a_hang(make_cluster, net, key):
    c = net_cluster(make_cluster, net)
    c.allow_stderr(EXPECTED_STDERR)
    st = SemTool(c)
    sid = st.create("node1", key, 1)
    w2 = st.start_op("node2", sid, "0:-1")
    w3 = st.start_op("node3", sid, "0:-1", timeout_ms=60000)
    st.wait("node1", sid, 0, "ncnt", 2)

    t0 = time.monotonic()
    net.cut("n1")
    for w in (w2, w3):
        r = w.finish(timeout=FAULT_BOUND_S)
        assert r.errno == "EIDRM", r
    elapsed = time.monotonic() - t0
    assert elapsed < FAULT_BOUND_S
    print("waiters on the cut owner got EIDRM after %.2fs (dead_after %d ms)"
          % (elapsed, DEAD_AFTER_MS))

    # The rest of the cluster sees node1 dead; node1 sees it lost the referee.
    for n in ("node2", "node3"):
        wait_until(lambda: peer_state(c, n, "node1") == "dead", FAULT_BOUND_S,
                   "%s to list node1 dead" % n)
    wait_until(lambda: referee_state(c, "node1") == "disconnected", FAULT_BOUND_S,
               "node1 to see the referee gone")
    assert log_lines(c, "referee", "node node1 left")

    # Its objects are gone with it: the id fails, the key is free.
    for n in ("node2", "node3"):
        for args in (("getval", sid, 0), ("op", sid, "0:+1"), ("op", sid, "0:-1")):
            t = time.monotonic()
            r = st(n, *args, timeout=FAULT_BOUND_S)
            assert r.errno in ("EINVAL", "EIDRM"), (n, args, r)
            assert time.monotonic() - t < FAULT_BOUND_S
        assert st(n, "get", hex(key), 1, "0").errno == "ENOENT"

    # The survivors are a working cluster: the key makes a new set.
    sid2 = st.create("node2", key, 1)
    assert sid2 != sid
    st.must("node3", "op", sid2, "0:+2")
    assert st.getval("node2", sid2) == 2
    # (node1, still cut off, is stopped with SIGTERM at teardown: it must
    # exit cleanly without its referee.)


def test_caller_link_cut_applies_its_undo(make_cluster, net, key):
    c = net_cluster(make_cluster, net)
    c.allow_stderr(EXPECTED_STDERR)
    st = SemTool(c)
    sid = st.create("node1", key, 2)
    st.setall("node1", sid, 3, 0)
    # node3 holds a SEM_UNDO decrement of 2, and has a waiter parked at node1
    h = st.start_op("node3", sid, "0:-2:u", hold=True)
    h.wait_line("held")
    w3 = st.start_op("node3", sid, "1:-1")
    # node2 has a waiter too: it must survive node3's death untouched
    w2 = st.start_op("node2", sid, "0:-5")
    st.wait("node1", sid, 1, "ncnt", 1)
    st.wait("node1", sid, 0, "ncnt", 1)
    assert st.getall("node2", sid) == [1, 0]

    t0 = time.monotonic()
    net.cut("n3")
    for n in ("node1", "node2"):
        wait_until(lambda: peer_state(c, n, "node3") == "dead", FAULT_BOUND_S,
                   "%s to list node3 dead" % n)
    # node3's adjustment (+2) is applied; its parked op is dropped at the owner
    st.wait_val("node2", sid, 0, 3, timeout=FAULT_BOUND_S)
    st.wait("node1", sid, 1, "ncnt", 0)
    print("node3's undo applied %.2fs after the cut" % (time.monotonic() - t0))
    assert st.must("node1", "getpid", sid, 0).val == h.pid
    s = parse_sem_cat(c.cat(c.sem_path("node1", key)))
    assert s["undo"] == [] and [x["semncnt"] for x in s["sems"]] == [1, 0], s
    # node3's own waiter ends too, with an error, not a hang (which error:
    # test_cut_off_node_fails_its_own_callers)
    r = w3.finish(timeout=FAULT_BOUND_S)
    assert r.errno is not None, r
    # node2's waiter is still parked, and still works
    assert w2.running()
    st.must("node1", "op", sid, "0:+2")
    assert w2.finish(timeout=10).ok
    assert st.getall("node2", sid) == [0, 0]
    h.kill9()


def test_cut_off_node_fails_its_own_callers(make_cluster, net, key):
    """The cut node's side: its process blocked on a remote set ends with
    EIDRM ("an operation whose owner node ... became unreachable fails with
    EIDRM", docs/differences.md; docs/design.md "Blocking operations": the
    caller's node fails it with EIDRM), and what it tries next fails fast."""
    c = net_cluster(make_cluster, net)
    c.allow_stderr(EXPECTED_STDERR)
    st = SemTool(c)
    sid = st.create("node1", key, 1)
    w = st.start_op("node3", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 1)

    net.cut("n3")
    r = w.finish(timeout=FAULT_BOUND_S)
    assert r.errno == "EIDRM", r
    st.wait("node1", sid, 0, "ncnt", 0)   # dropped at the owner
    wait_until(lambda: referee_state(c, "node3") == "disconnected", FAULT_BOUND_S,
               "node3 to see the referee gone")
    t = time.monotonic()
    r = st("node3", "getval", sid, 0, timeout=FAULT_BOUND_S + 5)
    # a non-blocking call may also time out (request_timeout_ms)
    assert r.errno in ("EIDRM", "EINVAL", "ETIMEDOUT"), r
    r = st("node3", "create", hex(key + 1), 1, "666", timeout=FAULT_BOUND_S)
    assert r.errno == "EHOSTUNREACH", r
    assert time.monotonic() - t < FAULT_BOUND_S
    # the others carry on
    st.must("node2", "op", sid, "0:+1")
    assert st.getval("node1", sid) == 1


def test_owner_back_after_being_declared_dead_does_not_resurrect_its_ids(make_cluster, net,
                                                                           key):
    """A pulled cable put back: node1 was declared dead (its set's waiters
    got EIDRM, its id failed with EINVAL), then it reconnects.  The id must
    stay dead ("a removed id is never reused while the referee runs, so a
    stale id fails with EINVAL", docs/design.md): a program that was told
    its set was removed must not find it again."""
    c = net_cluster(make_cluster, net)
    c.allow_stderr(EXPECTED_STDERR)
    st = SemTool(c)
    sid = st.create("node1", key, 1)
    st.must("node1", "setval", sid, 0, 5)
    w = st.start_op("node2", sid, "0:-10")
    st.wait("node1", sid, 0, "ncnt", 1)

    net.cut("n1")
    assert w.finish(timeout=FAULT_BOUND_S).errno == "EIDRM"
    wait_until(lambda: peer_state(c, "node2", "node1") == "dead", FAULT_BOUND_S,
               "node2 to list node1 dead")
    assert st("node2", "getval", sid, 0).errno == "EINVAL"

    net.heal("n1")
    for n in c.nodes:
        wait_until(lambda: referee_state(c, n) == "connected"
                   and all(peer_state(c, n, m) == "alive" for m in c.nodes),
                   FAULT_BOUND_S, "%s to see node1 back" % n)
    for n in ("node2", "node3"):
        r = st(n, "getval", sid, 0)
        assert r.errno in ("EINVAL", "EIDRM"), \
            "id %d, removed when node1 was declared dead, works again from %s: %r" % (sid, n, r)


def test_only_allowed_hosts_with_the_secret_join(make_cluster, net, key):
    """allowed_hosts = 10.231.0.0/25: node4 at 10.231.0.200 is outside it;
    node5 at 10.231.0.15 is inside but has the wrong secret."""
    c = net_cluster(make_cluster, net, nodes=5, host_of={"node4": "out", "node5": "n5"},
                    allowed_hosts="10.231.0.0/25", start=False)
    c.allow_stderr(EXPECTED_STDERR)
    members = ["node1", "node2", "node3"]
    c.start_referee()
    for n in members:
        c.start_node(n, wait=False)
    c.wait_ready(nodes=members, alive=members)

    wrong = c.write_conf("wrong.conf", {"cluster": {"secret": "not-the-cluster-secret-%s"
                                                    % os.urandom(4).hex()}})
    c.start_node("node4", wait=False)
    c.start_node("node5", wait=False, conf_path=wrong)
    out_ip, n5_ip = net.ip("out"), net.ip("n5")

    def rejected(ip_addr, why):
        return [ln for ln in log_lines(c, "referee", "rejected peer %s:" % ip_addr) if why in ln]

    # Each is refused, with a clear line, at every redial (every 500 ms).
    wait_until(lambda: len(rejected(out_ip, "not in [cluster] allowed_hosts")) >= 2,
               FAULT_BOUND_S, "the referee to refuse node4 (not an allowed host) twice")
    wait_until(lambda: len(rejected(n5_ip, "bad cluster secret")) >= 2, FAULT_BOUND_S,
               "the referee to refuse node5 (wrong secret) twice")
    assert not rejected(n5_ip, "allowed_hosts"), rejected(n5_ip, "")
    for n in ("node4", "node5"):
        wait_until(lambda: c.cluster_state(n) is not None, FAULT_BOUND_S, "%s mounted" % n)
        assert referee_state(c, n) == "disconnected", c.cluster_state(n)["text"]
        assert not log_lines(c, "referee", "node %s joined" % n)
    for n in members:
        text = c.cluster_state(n)["text"]
        assert "node4" not in text and "node5" not in text, text

    # A node refuses a host outside allowed_hosts too, before reading a byte.
    host, port = c.addr["node1"].split(":")
    probe = ("import socket\n"
             "s = socket.create_connection((%r, %s), timeout=5)\n"
             "s.settimeout(5)\n"
             "try:\n"
             "    print('eof' if s.recv(100) == b'' else 'data')\n"
             "except ConnectionResetError:\n"
             "    print('reset')\n" % (host, port))
    r = c.run(None, net.prefix("out") + [sys.executable, "-c", probe], timeout=15)
    assert r.returncode == 0 and r.stdout.strip() in ("eof", "reset"), r
    wait_until(lambda: [ln for ln in log_lines(c, "node1", "rejected peer %s:" % out_ip)
                        if "allowed_hosts" in ln], FAULT_BOUND_S, "node1 to log the refusal")

    # The outsiders get an error, not a hang; the members work on.
    st = SemTool(c)
    for n in ("node4", "node5"):
        r = st(n, "create", hex(key), 1, "666", timeout=FAULT_BOUND_S)
        assert r.errno == "EHOSTUNREACH", r
    sid = st.create("node1", key, 1)
    st.must("node2", "op", sid, "0:+1")
    assert st.getval("node3", sid) == 1
