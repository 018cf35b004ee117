# SPDX-License-Identifier: MIT
"""Faults without damage (issue 8): a referee restart never splits a key or
declares a live node dead, one daemon per node name, SEM_UNDO watches within
their limit.

The promises under test (docs/design.md, "Failure model"):

- kill -9 of the referee, restarted on the same port while one node's daemon
  is stopped (SIGSTOP) across the restart: the restarted referee's grace
  period takes the nodes' objects back before it lets a key be created, so a
  semget(K, IPC_CREAT) anywhere returns the id K already had; nodes do not
  take a node missing from the new referee's first (partial) lists for gone,
  so no SEM_UNDO is applied for a live process and no parked op fails: a
  mutex held with SEM_UNDO stays held, and its waiter keeps waiting.
- A second daemon under the name of a connected node is refused, and says
  so; the first one keeps the name.  A daemon restarted after a crash is
  taken back.
- At [limits] max_watched_procs, a SEM_UNDO op of a new process gets ENOSPC.

Real daemons on loopback (cluster.py); the referee restarts are repeated
RESTARTS times.  Total run time is kept well under 90 s.
"""

import os
import signal
import subprocess
import time

import pytest

from cluster import Daemon, free_ports, is_mounted, wait_until
from semtool import SemTool

RESTARTS = 10
PAUSE_S = 1.0   # how long the owner's daemon is stopped across each restart

pytestmark = pytest.mark.deadline(120)


def restart_referee(c):
    """kill -9 the referee and start a new one on the same port (its log
    kept beside, like a node's restart)."""
    old = c.daemons["referee"]
    old.died_early = "killed by test"
    old.proc.kill()
    old.proc.wait(timeout=10)
    old.log.close()
    log = os.path.join(c.dir, "referee.log")
    os.rename(log, log + ".%d" % time.monotonic_ns())
    return c.start_referee()


def all_logs(c):
    """Every daemon log of the cluster so far, restarts included."""
    out = {}
    for f in sorted(os.listdir(c.dir)):
        if ".log" in f:
            with open(os.path.join(c.dir, f), "rb") as fh:
                out[f] = fh.read().decode("utf-8", "replace")
    return out


def semget_retrying(st, node, key, timeout=15):
    """semget(key, IPC_CREAT) on node, retried while the referee is away
    (EHOSTUNREACH is the documented answer then); returns the id."""
    deadline = time.monotonic() + timeout
    while True:
        r = st(node, "create", hex(key), 1, "666")
        if r.ok:
            return r.id
        assert r.errno == "EHOSTUNREACH", r
        assert time.monotonic() < deadline, "semget on %s kept failing: %r" % (node, r)
        time.sleep(0.05)


def test_referee_restarts_with_a_paused_owner(make_cluster, key):
    c = make_cluster(nodes=3, heartbeat_ms=200, dead_after_ms=3000, request_timeout_ms=8000)
    c.allow_stderr(r"lost the referee|connected to referee|grace")
    st = SemTool(c)
    sid = st.create("node2", key, 1)
    st.must("node1", "setval", sid, 0, 1)
    # A mutex: held with SEM_UNDO by a live process on the owner's node, and
    # a waiter on node3 parked at the owner.
    holder = st.start_op("node2", sid, "0:-1:u", hold=True)
    holder.wait_line("held")
    waiter = st.start_op("node3", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 1)
    owner_pid = c.daemons["node2"].pid

    for i in range(RESTARTS):
        fresh = key + 1 + i   # a key nobody has: created once, during the grace
        os.kill(owner_pid, signal.SIGSTOP)
        try:
            restart_referee(c)
            # Both ask while the owner is still stopped: the old key must
            # wait for its owner, the fresh one for the grace to end.
            bg = [c.popen(n, st.argv(["create", hex(k), 1, "666"]))
                  for n in ("node1", "node3") for k in (key, fresh)]
            time.sleep(PAUSE_S)
        finally:
            os.kill(owner_pid, signal.SIGCONT)
        ids = {}
        for p, (n, k) in zip(bg, [(n, k) for n in ("node1", "node3") for k in (key, fresh)]):
            out, _ = p.communicate(timeout=20)
            r = [w.split("=", 1)[1] for w in out.split() if w.startswith("id=")]
            ids[(n, k)] = int(r[0]) if r else semget_retrying(st, n, k)
        assert ids[("node1", key)] == sid and ids[("node3", key)] == sid, (i, ids)
        assert ids[("node1", fresh)] == ids[("node3", fresh)], (i, ids)
        assert semget_retrying(st, "node2", fresh) == ids[("node1", fresh)], i
        c.wait_ready(timeout=15)
        # Nobody took the owner for gone: the mutex is still held, the
        # waiter still waits.
        assert holder.running() and waiter.running(), i
        assert st.getval("node3", sid) == 0, i

    logs = all_logs(c)
    for f, text in logs.items():
        assert "left the cluster" not in text, (f, text[-2000:])
        assert "conflicts" not in text and "refused object" not in text, (f, text[-2000:])
    # The lock passes only when its holder lets go, once.
    holder.release()
    assert holder.finish().ok
    r = waiter.finish(timeout=10)
    assert r.ok, r
    assert st.getval("node1", sid) == 0


def test_second_daemon_with_a_live_name_is_refused(make_cluster, key):
    c = make_cluster(nodes=2)
    c.allow_stderr(r"refused|one daemon per node name")
    st = SemTool(c)
    sid = st.create("node1", key, 1)
    port = free_ports(1)[0]
    m2 = os.path.join(c.dir, "node1-second")
    os.mkdir(m2)
    conf2 = c.write_conf("dipc2.conf", {"node.node1": {"listen": "127.0.0.1:%d" % port,
                                                       "mountpoint": m2}})
    second = Daemon("node1-second", [c.mount_bin, "dipc", m2, "-f", "-o",
                                     "conf=%s,node=node1" % conf2],
                    os.path.join(c.dir, "node1-second.log"), c.daemon_env)
    try:
        wait_until(lambda: "refused this node" in second.text(), 15,
                   "the second daemon to be told it is refused")
        assert "one daemon per node name" in second.text()
        wait_until(lambda: "refused node node1" in c.daemons["referee"].text(), 5,
                   "the referee to log the refusal")
        time.sleep(1.0)   # a few retries of the second daemon
        # The first keeps the name: never replaced, its object still there.
        assert "left" not in c.daemons["referee"].text()
        assert c.node_ready("node1") and c.node_ready("node2")
        assert st.getval("node2", sid) == 0
        st.must("node2", "setval", sid, 0, 3)
        assert st.getval("node1", sid) == 3
    finally:
        second.proc.terminate()
        try:
            second.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            second.proc.kill()
            second.proc.wait(timeout=10)
        second.log.close()
        if is_mounted(m2):
            subprocess.run(["fusermount3", "-u", "-z", m2], timeout=10,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # A daemon restarted after a crash gets its name back at once.
    c.kill_node("node2")
    c.start_node("node2")
    c.wait_ready()


def test_undo_watch_limit_gives_enospc(make_cluster, key):
    c = make_cluster(nodes=2, conf={"limits": {"max_watched_procs": 1}})
    c.allow_stderr(r"max_watched_procs")
    st = SemTool(c)
    sid = st.create("node1", key, 1)
    holder = st.start_op("node2", sid, "0:+1:u", hold=True)
    holder.wait_line("held")
    r = st.op("node2", sid, "0:+1:u")
    assert r.errno == "ENOSPC", r
    assert st.getval("node1", sid) == 1      # the refused op took no effect
    assert st.op("node2", sid, "0:+1").ok    # without SEM_UNDO: no watch needed
    holder.kill9()
    st.wait_val("node1", sid, 0, 1)          # the watched one's undo, once
    assert st.op("node2", sid, "0:+1:u").ok  # its watch is free again


def break_connections_to(port):
    """Abort every TCP connection to 127.0.0.1:port (ss -K: the dialling end
    gets ECONNABORTED, the other a reset), as a flaky link would."""
    r = subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", ":%d" % port],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("kill_first", [True, False], ids=["exit_then_break", "break_then_exit"])
def test_undo_announced_across_a_reconnect_is_applied_once(make_cluster, key, kill_first):
    c = make_cluster(nodes=2)
    st = SemTool(c)
    sid = st.create("node1", key, 1)
    holder = st.start_op("node2", sid, "0:+1:u", hold=True)
    holder.wait_line("held")
    assert st.op("node2", sid, "0:+1").ok     # a plain increment: it stays
    assert st.getval("node1", sid) == 2
    owner_port = int(c.addr["node1"].rsplit(":", 1)[1])
    if kill_first:
        holder.kill9()
        break_connections_to(owner_port)
    else:
        break_connections_to(owner_port)
        holder.kill9()
    st.wait_val("node1", sid, 0, 1, timeout=10)
    time.sleep(0.5)                            # a repeat would show now
    assert st.getval("node1", sid) == 1
    assert st.getval("node2", sid) == 1
