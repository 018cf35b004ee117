# SPDX-License-Identifier: MIT
"""The transport against a hostile network and hostile local users.

A host on the path, played by a TCP proxy in a network namespace of its own
(netns.py), sits between node1 and node2: node2 listens on a wildcard and
reaches the referee through the proxy, so the referee advertises node2 at the
proxy's address and node1's link to node2 runs through it.  The proxy reads
the frames node1 sends (4-byte length + body) and, when told, flips one bit of
the next post-handshake request or sends it twice.  Every frame after the
handshake carries a MAC and an implicit sequence number (common/seal.c), so
node2 must refuse the frame and close the link with a log line that says so,
and the semaphore must not change (or change once, for the replay).

On loopback: a flood of idle connections from one address leaves the cluster
serving (a restarted node joins, remote operations keep working, the logs stay
short), and a handshake that dawdles is cut at [cluster] handshake_ms.

The proxy is this file run as a program (``python3 test_security_net.py proxy
LISTEN=TARGET[:t] ...``) inside its namespace; it takes commands on stdin
("flip", "replay") and reports on stdout.
"""

import os
import select
import socket
import subprocess
import sys
import threading
import time

# ---- the proxy (runs in its own namespace, no pytest there) ----------------

# Post-handshake frames at least this long are requests (a sealed Ping is
# about 25 bytes; a semop with its caller's identity is well above this).
REQUEST_MIN = 48


def proxy_main(args):
    armed = {"mode": None}
    lock = threading.Lock()

    def say(s):
        with lock:
            sys.stdout.write(s + "\n")
            sys.stdout.flush()

    def copy_raw(src, dst):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                dst.sendall(b)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def copy_frames(src, dst):
        buf = b""
        n = 0
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                buf += b
                while len(buf) >= 4:
                    flen = int.from_bytes(buf[:4], "big")
                    if len(buf) < 4 + flen:
                        break
                    frame, buf = buf[:4 + flen], buf[4 + flen:]
                    n += 1
                    mode = None
                    if n > 2 and flen >= REQUEST_MIN:  # after Hello and Auth
                        with lock:
                            mode, armed["mode"] = armed["mode"], None
                    if mode == "flip":
                        i = 4 + flen // 2
                        frame = frame[:i] + bytes([frame[i] ^ 0x01]) + frame[i + 1:]
                        dst.sendall(frame)
                        say("flipped len=%d" % flen)
                    elif mode == "replay":
                        dst.sendall(frame)
                        dst.sendall(frame)
                        say("replayed len=%d" % flen)
                    else:
                        dst.sendall(frame)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve(lsock, target, tamper):
        host, port = target.rsplit(":", 1)
        while True:
            cli, _ = lsock.accept()
            try:
                srv = socket.create_connection((host, int(port)), timeout=5)
                srv.settimeout(None)
            except OSError:     # e.g. the referee is not listening yet
                cli.close()
                continue
            for s in (cli, srv):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            up = copy_frames if tamper else copy_raw
            threading.Thread(target=up, args=(cli, srv), daemon=True).start()
            threading.Thread(target=copy_raw, args=(srv, cli), daemon=True).start()

    for a in args:
        listen, target = a.split("=", 1)
        tamper = target.endswith(":t")
        if tamper:
            target = target[:-2]
        host, port = listen.rsplit(":", 1)
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, int(port)))
        ls.listen(64)
        threading.Thread(target=serve, args=(ls, target, tamper), daemon=True).start()
    say("listening")
    for line in sys.stdin:
        cmd = line.strip()
        if cmd in ("flip", "replay"):
            with lock:
                armed["mode"] = cmd
            say("armed " + cmd)
    return 0


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "proxy":
    sys.exit(proxy_main(sys.argv[2:]))

# ---- the tests -------------------------------------------------------------

import pytest  # noqa: E402

from cluster import wait_until  # noqa: E402
from netns import Switch, missing_tools, remove_stale  # noqa: E402
from semtool import SemTool  # noqa: E402

HOSTS = {"ref": 1, "n1": 11, "n2": 12, "px": 20}
REFEREE_PORT = 7530
NODE2_PORT = 7532

# What the daemons log (g_message) when a link is refused or lost.
EXPECTED_STDERR = (r"integrity|left|lost|silent|closing|rejected|dropped|refused|"
                   r"not connected|cannot|no handshake|more refused")

pytestmark = pytest.mark.deadline(90)


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


class Proxy:
    def __init__(self, net, links):
        self.p = subprocess.Popen(net.prefix("px") + [sys.executable, os.path.abspath(__file__),
                                                      "proxy"] + links,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  bufsize=1)
        self.expect("listening")

    def expect(self, prefix, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([self.p.stdout], [], [], max(0.0, end - time.monotonic()))
            if r:
                line = self.p.stdout.readline()
                if not line:
                    break
                if line.startswith(prefix):
                    return line.strip()
        raise AssertionError("proxy never said %r" % prefix)

    def arm(self, mode):
        self.p.stdin.write(mode + "\n")
        self.p.stdin.flush()
        self.expect("armed " + mode)

    def close(self):
        self.p.kill()
        self.p.wait(timeout=10)


def proxied_cluster(make_cluster, net):
    """node1 and node2 (owner) with the proxy on node1's link to node2."""
    px = net.ip("px")
    addrs = {"referee": "%s:%d" % (net.ip("ref"), REFEREE_PORT),
             "node1": "%s:%d" % (net.ip("n1"), REFEREE_PORT + 1),
             "node2": "%s:%d" % (net.ip("n2"), NODE2_PORT)}
    where = {"referee": "ref", "node1": "n1", "node2": "n2"}
    c = make_cluster(nodes=2, heartbeat_ms=200, dead_after_ms=2000, addrs=addrs,
                     conf={"cluster": {"allowed_hosts": net.cidr()}},
                     daemon_prefixes={d: net.prefix(h) for d, h in where.items()},
                     run_prefixes={n: net.prefix(where[n]) for n in ("node1", "node2")},
                     start=False)
    c.allow_stderr(EXPECTED_STDERR)
    proxy = Proxy(net, ["%s:%d=%s" % (px, REFEREE_PORT, addrs["referee"]),
                        "%s:%d=%s:t" % (px, NODE2_PORT, addrs["node2"])])
    # node2 listens on every address and reaches the referee through the
    # proxy: the referee advertises it at the proxy's address.
    conf2 = c.write_conf("node2.conf", overrides={
        "cluster": {"referee": "%s:%d" % (px, REFEREE_PORT)},
        "node.node2": {"listen": "0.0.0.0:%d" % NODE2_PORT}})
    c.start_referee()
    c.start_node("node1", wait=False)
    c.start_node("node2", wait=False, conf_path=conf2)
    c.wait_ready()
    assert c.cluster_state("node1")["peers"]["node2"][0] == "%s:%d" % (px, NODE2_PORT)
    return c, proxy


def log_count(c, daemon, needle):
    return sum(needle in ln for ln in c.daemons[daemon].text().splitlines())


REFUSED = "failed its integrity check"


def test_tampered_request_is_refused(make_cluster, net, key):
    c, proxy = proxied_cluster(make_cluster, net)
    try:
        st = SemTool(c)
        sid = st.create("node2", key, 1)
        st.must("node1", "op", sid, "0:+1")      # through the proxy, untouched
        assert st.getval("node2", sid) == 1

        proxy.arm("flip")
        r = st.op("node1", sid, "0:+5")
        proxy.expect("flipped")
        assert not r.ok, r                     # the op did not happen, and said so
        wait_until(lambda: log_count(c, "node2", REFUSED) >= 1, 10,
                   "node2 logs the refused frame")
        assert st.getval("node2", sid) == 1    # the object did not change

        # node1 reconnects (a fresh session) and the link serves again.
        wait_until(lambda: st.op("node1", sid, "0:+1").ok, 20, "the link serves again",
                   interval=0.2)
        assert st.getval("node2", sid) == 2
    finally:
        proxy.close()


def test_replayed_request_is_refused(make_cluster, net, key):
    c, proxy = proxied_cluster(make_cluster, net)
    try:
        st = SemTool(c)
        sid = st.create("node2", key, 1)
        st.must("node1", "op", sid, "0:+1")
        proxy.arm("replay")
        st.op("node1", sid, "0:+1")             # the first copy may well be served
        proxy.expect("replayed")
        wait_until(lambda: log_count(c, "node2", REFUSED) >= 1, 10,
                   "node2 logs the replayed frame")
        assert st.getval("node2", sid) in (1, 2)  # never 3: the copy did nothing
        for n in c.nodes:
            assert c.daemons[n].alive()
    finally:
        proxy.close()


# ---- loopback: floods and slow handshakes -----------------------------------

def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


class Flood:
    """n idle connections to each target from one address, kept open: one
    the daemon closes is opened again (at most one per `gap` seconds), as a
    determined local user would."""

    def __init__(self, targets, n, gap=0.005):
        self.targets, self.n, self.gap = targets, n, gap
        self.stop_ev = threading.Event()
        self.opened = 0
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def open(self, port):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        self.opened += 1
        return s

    def run(self):
        socks = {}
        for port in self.targets:
            for _ in range(self.n):
                socks[self.open(port)] = port
        while not self.stop_ev.is_set():
            r, _, _ = select.select(list(socks), [], [], 0.05)
            for s in r:
                try:
                    if s.recv(65536):
                        continue            # the daemon's Hello: ignore it
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    pass
                port = socks.pop(s)
                s.close()
                time.sleep(self.gap)
                socks[self.open(port)] = port
        for s in socks:
            s.close()

    def close(self):
        self.stop_ev.set()
        self.t.join(timeout=10)


@pytest.mark.deadline(120)
def test_connection_flood_leaves_the_cluster_serving(make_cluster, key):
    c = make_cluster(nodes=3, conf={"cluster": {"handshake_ms": 1500}})
    c.allow_stderr(EXPECTED_STDERR)
    st = SemTool(c)
    sid = st.create("node2", key, 1)
    # 300 connections from one address to node2 and 300 to the referee (more
    # than [limits] max_connections, 256, at each), kept up.
    flood = Flood([port_of(c.addr["node2"]), port_of(c.referee_addr)], 300)
    try:
        wait_until(lambda: log_count(c, "node2", "dropped unauthenticated") >= 1 and
                   log_count(c, "referee", "dropped unauthenticated") >= 1, 20,
                   "the flood reaches both daemons")
        # Remote ops keep working while the flood holds.
        for i in range(5):
            st.must("node1", "op", sid, "0:+1")
        # A restarted node joins while the flood holds.
        c.kill_node("node3")
        c.start_node("node3", wait=False)
        c.wait_ready(timeout=30)
        st.must("node3", "op", sid, "0:+1")
        assert st.getval("node1", sid) == 6
        assert flood.opened > 600, flood.opened  # the daemons kept closing strangers
    finally:
        flood.close()
    # The logs stay short: a burst of lines, then a count per ten seconds.
    for d in ("node2", "referee"):
        n = sum(("dropped unauthenticated" in ln or "rejected peer" in ln or
                 "no handshake" in ln) for ln in c.daemons[d].text().splitlines())
        assert n <= 20, "%s logged %d refusals" % (d, n)
    for d in c.daemons.values():
        assert d.alive()


def test_slow_handshake_is_cut_at_the_deadline(make_cluster):
    hs_ms = 800
    c = make_cluster(nodes=1, conf={"cluster": {"handshake_ms": hs_ms}})
    c.allow_stderr(EXPECTED_STDERR)
    for target in (c.addr["node1"], c.referee_addr):
        # A peer that trickles a Hello, one byte at a time: traffic does not
        # extend the deadline.
        s = socket.create_connection(("127.0.0.1", port_of(target)), timeout=10)
        t0 = time.monotonic()
        hello_len = (200).to_bytes(4, "big")
        closed = None
        data = hello_len + b"\x08" * 200
        for i in range(100):
            try:
                s.sendall(data[i:i + 1])
                s.settimeout(0.1)
                if s.recv(4096) == b"":  # (the daemon's own Hello comes first)
                    closed = time.monotonic() - t0
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = time.monotonic() - t0
                break
        s.close()
        assert closed is not None, "a trickling handshake to %s was never cut" % target
        assert hs_ms / 1000 - 0.1 <= closed <= hs_ms / 1000 + 4, closed
    # The node and the referee serve on.
    c.wait_ready()
