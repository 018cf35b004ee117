# SPDX-License-Identifier: MIT
"""Helpers of the shared-memory tests (test_shm_*.py); no tests here.

    sh = ShmTool(cluster)                          # drives tests/progs/shmtool
    sid = sh.create("node2", key, 8 * PAGE)        # asserts success, returns the id
    sh.must("node1", "write", hex(key), 0, "hi")   # -> semtool.Result
    s = sh.session("node3", key)                   # an attached process (Session)
    s.cmd("r 0 2")                                 # -> "text=hi hex=6869"
    sh.wait_nattch("node1", sid, 2)                # bounded poll through the shim

`skey` is a fixture: a base key with 15 free keys after it, unused by the
kernel's own segments and semaphore sets (native runs create kernel
segments; they are removed afterwards).  Test modules import it:
`from test_shm_common import skey`.
"""

import os
import random
import re
import subprocess
import time

import pytest

from cluster import ClusterError, dipc_is_id, kernel_sem_keys, sem_name, wait_until
from semtool import Bg, Result

PAGE = os.sysconf("SC_PAGESIZE")


def kernel_shm_keys():
    """Keys of the kernel's own segments (from /proc/sysvipc/shm): {key: shmid}."""
    keys = {}
    with open("/proc/sysvipc/shm") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts:
                keys[int(parts[0]) & 0xFFFFFFFF] = int(parts[1])
    return keys


def shm_path(c, node, key):
    """MOUNT/shm/0xKKKKKKKK of a keyed segment on node."""
    return os.path.join(c.mount(node), "shm", sem_name(key))


def shm_names(c, node):
    """The names listed by ls MOUNT/shm on node."""
    r = subprocess.run(["ls", "-a", os.path.join(c.mount(node), "shm")], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split()) - {".", ".."}


def node_conf(modes, quantum_ms=None):
    """Cluster(conf=...) for per-node shared-memory settings:
    node_conf({"node1": "page", "node2": "segment"}, quantum_ms=5)."""
    conf = {}
    for node, mode in modes.items():
        conf.setdefault("node." + node, {})["shm_mode"] = mode
        if quantum_ms is not None:
            conf["node." + node]["shm_quantum_ms"] = quantum_ms
    return conf


class Session:
    """A `shmtool session` attached on a node: one command line in, one
    reply line out."""

    def __init__(self, bg):
        self.bg = bg
        lines = bg.wait_line_prefix("attached")
        self.id = int(lines[-1].split("id=")[1])

    def cmd(self, line, timeout=20):
        p = self.bg.p
        p.stdin.write(line + "\n")
        p.stdin.flush()
        deadline = time.monotonic() + timeout
        out = p.stdout.readline()
        if not out:
            raise ClusterError("session on %s ended before answering %r: %r"
                               % (self.bg.node, line, p.stderr.read() if p.poll() is not None
                                  else ""))
        if time.monotonic() > deadline:
            raise AssertionError("session on %s took more than %ss for %r"
                                 % (self.bg.node, timeout, line))
        return out.strip()

    def must(self, line, **kw):
        out = self.cmd(line, **kw)
        assert not out.startswith("err"), "session %r on %s: %s" % (line, self.bg.node, out)
        return out

    def text(self, off, n):
        return self.must("r %d %d" % (off, n)).split()[0][len("text="):]

    def val(self, off):
        return int(self.must("g %d" % off).split("=")[1])

    def stat(self):
        return parse_stat(self.must("stat"))

    def quit(self, timeout=20):
        self.bg.p.stdin.write("q\n")
        self.bg.p.stdin.flush()
        r = self.bg.finish(timeout=timeout)
        assert r.rc == 0, r
        return r


def parse_stat(line):
    st = {}
    for w in line.split():
        k, v = w.split("=", 1)
        st[k] = int(v, 8) if k == "mode" else int(v, 0)
    return st


class ShmBg(Bg):
    def wait_line_prefix(self, prefix, timeout=20):
        """Read stdout lines until one starts with prefix; returns the lines read."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith(prefix):
                return seen
        err = self.p.stderr.read() if self.p.poll() is not None else ""
        raise ClusterError("%s on %s: no %r line; got %r %r" % (self.argv, self.node, prefix,
                                                                seen, err))


class ShmTool:
    def __init__(self, cluster):
        self.c = cluster
        self.bin = cluster.prog("shmtool")

    def argv(self, args, opts=()):
        return [self.bin] + list(opts) + [str(a) for a in args]

    def __call__(self, node, *args, opts=(), user=None, env=None, timeout=30):
        """Run shmtool on node (None = natively) and return a Result."""
        return Result(self.c.run(node, self.argv(args, opts), user=user, env=env,
                                 timeout=timeout))

    def must(self, node, *args, **kw):
        r = self(node, *args, **kw)
        assert r.ok, "shmtool %s on %s failed: %r" % (args, node, r)
        return r

    def start(self, node, *args, opts=(), user=None, env=None):
        """shmtool in the background; returns a ShmBg (semtool.Bg)."""
        argv = self.argv(args, opts)
        return ShmBg(self.c.popen(node, argv, user=user, env=env), node, argv)

    def create(self, node, key, size, mode="666", excl=True, **kw):
        args = ["create", hex(key) if isinstance(key, int) else key, size, mode]
        if excl:
            args.append("excl")
        sid = self.must(node, *args, **kw).id
        if node is not None:
            assert dipc_is_id(sid), "segment %d is not a cluster segment" % sid
            assert key == "private" or key not in kernel_shm_keys(), \
                "the kernel has a segment with key %#x" % key
        return sid

    def session(self, node, seg, rdonly=False, **kw):
        seg = hex(seg) if isinstance(seg, int) else seg
        return Session(self.start(node, "session", seg, *(["rdonly"] if rdonly else []), **kw))

    def stat(self, node, seg, **kw):
        seg = hex(seg) if isinstance(seg, int) else seg
        return parse_stat(self.must(node, "stat", seg, **kw).lines[0])

    def peek(self, node, seg, off, **kw):
        seg = hex(seg) if isinstance(seg, int) else seg
        return int(self.must(node, "peek", seg, off, **kw).kv["val"])

    def wait_nattch(self, node, sid, n, timeout=10):
        """Bounded poll (one shmtool per look) until shm_nattch of id sid is n."""
        last = []

        def check():
            st = self.stat(node, "id:%d" % sid)
            last.append(st["nattch"])
            return st["nattch"] == n

        try:
            wait_until(check, timeout, "nattch == %d" % n, interval=0.02)
        except ClusterError:
            raise AssertionError("nattch of segment %d is %s (seen from %s), expected %d within"
                                 " %ss" % (sid, last[-1:], node, n, timeout)) from None


def finish_all(bgs, timeout=60):
    """Wait for background shmtools; returns their Results (asserting none hung)."""
    return [b.finish(timeout=timeout) for b in bgs]


def start_at(delay_ms=300):
    """A CLOCK_REALTIME instant (ms) for shmtool -A: processes start together."""
    return ["-A", str(int(time.time() * 1000) + delay_ms)]


def kernel_ipc_free(k, n=16):
    return not any(k <= u < k + n for u in kernel_shm_keys()) and \
        not any(k <= u < k + n for u in kernel_sem_keys())


_used = set()


@pytest.fixture
def skey():
    """A base key (with 15 free keys after it) unused by the kernel's segments and sets."""
    while True:
        k = 0x0D1F0000 + random.randrange(1, 0xFFF) * 16
        if k not in _used and kernel_ipc_free(k):
            _used.add(k)
            break
    yield k
    for u, shmid in kernel_shm_keys().items():
        if k <= u < k + 16:
            os.system("ipcrm -m %d 2>/dev/null" % shmid)
    for u, semid in kernel_sem_keys().items():
        if k <= u < k + 16:
            os.system("ipcrm -s %d 2>/dev/null" % semid)


def stat_line_re(field):
    """A regex for a `field: value` (or `field   value`) line of a status text."""
    return re.compile(r"^\s*%s\s*[:=]?\s+(\S+)" % re.escape(field), re.M)
