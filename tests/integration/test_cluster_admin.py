# SPDX-License-Identifier: MIT
"""Operating a cluster: dipc.conf validation, admission, the mount helper."""

import os
import signal
import subprocess
import time

import pytest

from cluster import Cluster, is_mounted, wait_until, dipc_is_id
from semtool import SemTool


def start_fails(argv, key_words, timeout=15):
    """A daemon given a bad configuration exits non-zero, naming the key."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s kept running with a bad configuration" % argv) from None
    msg = r.stdout + r.stderr
    assert r.returncode != 0, "%s started with a bad configuration: %r" % (argv, msg)
    for w in key_words:
        assert w in msg, "the message does not name %r: %r" % (w, msg)
    return msg


BAD = [
    ({"limits": {"semopm": 5000}}, ["semopm"]),
    ({"limits": {"semmsl": 9000}}, ["semmsl"]),
    ({"cluster": {"secret": "short"}}, ["secret"]),
    ({"cluster": {"heartbeat_ms": "fast"}}, ["heartbeat_ms"]),
    ({"cluster": {"heartbeat_ms": 1000, "dead_after_ms": 1500}}, ["dead_after_ms"]),
    ({"cluster": {"allowed_hosts": "127.0.0.0/99"}}, ["allowed_hosts"]),
    ({"cluster": {"referee": "nohost-port"}}, ["referee"]),
    ({"policy": {"keys": "0x12-zz"}}, ["keys"]),
    ({"limits": {"semmsx": 10}}, ["semmsx"]),  # a typo: unknown key
]


@pytest.mark.parametrize("override,words", BAD, ids=[w[0] for _, w in BAD])
def test_bad_conf_stops_the_daemons(make_cluster, override, words):
    c = make_cluster(nodes=1, start=False)
    bad = c.write_conf("bad.conf", override)
    start_fails([c.referee_bin, "-c", bad], words)
    mp = c.mount("node1")
    start_fails([c.mount_bin, "dipc", mp, "-f", "-o", "conf=%s,node=node1" % bad], words)
    assert not is_mounted(mp)
    # without -f too: the mount helper reports the error before detaching
    start_fails([c.mount_bin, "dipc", mp, "-o", "conf=%s,node=node1" % bad], words)
    assert not is_mounted(mp)


def test_node_missing_from_conf_does_not_start(make_cluster):
    c = make_cluster(nodes=1, start=False)
    mp = c.mount("node1")
    start_fails([c.mount_bin, "dipc", mp, "-f", "-o", "conf=%s,node=nodeX" % c.conf_path],
                ["listen"])
    assert not is_mounted(mp)


def intruder_case(make_cluster, override, intruder_dir_ok=True):
    c = make_cluster(nodes=3, start=False)
    c.start_referee()
    c.start_node("node1", wait=False)
    c.start_node("node2", wait=False)
    c.wait_ready(["node1", "node2"], alive=["node1", "node2"])
    bad = c.write_conf("intruder.conf", override)
    d = c.start_node("node3", wait=False, conf_path=bad)
    c.allow_stderr(r".")  # refusals are expected to be logged loudly
    # for 3 heartbeat periods and more, node3 never becomes a member
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        for n in ("node1", "node2"):
            st = c.cluster_state(n)
            assert st["peers"].get("node3", (None, "absent"))[1] != "alive", st["text"]
        time.sleep(0.05)
    st3 = c.cluster_state("node3") if is_mounted(c.mount("node3")) and d.alive() else None
    if st3:
        assert st3["referee"][1] != "connected", st3["text"]
        r = SemTool(c)("node3", "create", "0x0d1cfff0", 1, "600", "excl", timeout=30)
        assert not (r.ok and dipc_is_id(r.id)), "an intruder created a cluster object: %r" % r
    if not d.alive():
        d.died_early = "expected"
    # the members still work together
    st = SemTool(c)
    sid = st.create("node1", 0x0D1CFFF1, 1)
    st.must("node2", "op", sid, "0:+1")
    return c


def test_wrong_secret_is_refused(make_cluster):
    intruder_case(make_cluster, {"cluster": {"secret": "another-secret-0123456789"}})


def test_host_outside_allowed_hosts_is_refused(make_cluster):
    """The referee admits 127.0.0.2 only; the node connects from 127.0.0.1."""
    c = make_cluster(nodes=1, start=False,
                     conf={"cluster": {"allowed_hosts": "127.0.0.2/32"}})
    c.allow_stderr(r".")
    c.start_referee()
    d = c.start_node("node1", wait=False)
    end = time.monotonic() + 2.0
    seen_mounted = False
    while time.monotonic() < end:
        if d.alive() and is_mounted(c.mount("node1")):
            st = c.cluster_state("node1")
            if st and st["referee"]:
                seen_mounted = True
                assert st["referee"][1] != "connected", st["text"]
        time.sleep(0.05)
    if d.alive() and seen_mounted:
        r = SemTool(c)("node1", "create", "0x0d1cfff3", 1, "600", "excl", timeout=30)
        assert not (r.ok and dipc_is_id(r.id)), "a refused node created a cluster object: %r" % r
    if not d.alive():
        d.died_early = "expected"


def test_mount_helper_daemonizes_and_unmounts(make_cluster):
    c = make_cluster(nodes=2, start=False)
    c.start_referee()
    c.start_node("node1", wait=False)
    mp = c.mount("node2")
    r = subprocess.run([c.mount_bin, "dipc", mp, "-o", "conf=%s,node=node2" % c.conf_path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r
    assert is_mounted(mp), "mount helper returned before the mount was up"
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and _cmdline_has(p, mp)]
    assert len(pids) == 1, pids
    try:
        c.wait_ready(["node1"], alive=["node1", "node2"])
        wait_until(lambda: c.node_ready("node2"), 10, "node2 ready")
        st = SemTool(c)
        sid = st.create("node2", 0x0D1CFFF2, 1)
        assert st.getval("node1", sid) == 0
        # SIGTERM: unmounts and exits
        os.kill(pids[0], signal.SIGTERM)
        wait_until(lambda: not os.path.exists("/proc/%d" % pids[0]), 10, "daemon exit")
        assert not is_mounted(mp), "SIGTERM left the mount behind"
    finally:
        if os.path.exists("/proc/%d" % pids[0]):
            os.kill(pids[0], signal.SIGKILL)
        if is_mounted(mp):
            subprocess.run(["fusermount3", "-u", "-z", mp], timeout=10)


def test_umount_ends_the_daemon(cluster):
    d = cluster.daemons["node3"]
    r = subprocess.run(["umount", cluster.mount("node3")], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r
    try:
        d.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise AssertionError("mount.dipcfs still running after umount") from None
    d.died_early = "unmounted by test"
    assert d.proc.returncode == 0, d.tail()
    # the others notice that node3 left
    wait_until(lambda: cluster.cluster_state("node1")["peers"].get("node3", (0, "gone"))[1]
               != "alive", 10, "node3 no longer alive at node1")


def _cmdline_has(pid, text):
    """Is /proc/PID a mount.dipcfs with text on its command line?"""
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            b = f.read()
    except OSError:
        return False
    return text.encode() in b and b"mount.dipcfs" in b
