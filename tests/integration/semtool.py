# SPDX-License-Identifier: MIT
"""Driving tests/progs/semtool on the nodes of a Cluster.

    st = SemTool(cluster)
    sid = st.create("node1", key, 2)            # asserts success, returns the id
    st.op("node2", sid, "0:+1")                 # -> Result
    p = st.start_op("node3", sid, "0:-1")       # a blocked op in the background
    st.wait("node1", sid, 0, "ncnt", 1)         # bounded poll through the shim
"""

import os
import signal
import subprocess
import time

from cluster import ClusterError, dipc_is_id, wait_until


class Result:
    def __init__(self, cp):
        self.rc = cp.returncode
        self.out = cp.stdout
        self.err = cp.stderr
        self.lines = cp.stdout.splitlines()
        self.kv = {}
        for line in self.lines:
            for w in line.split():
                if "=" in w:
                    k, v = w.split("=", 1)
                    self.kv[k] = v

    @property
    def ok(self):
        return self.rc == 0 and not self.out.startswith("err")

    @property
    def errno(self):
        """'EAGAIN' for "err EAGAIN ...", None on success."""
        for line in self.lines:
            if line.startswith("err "):
                return line.split()[1]
        return None

    @property
    def id(self):
        return int(self.kv["id"])

    @property
    def val(self):
        return int(self.kv["val"])

    @property
    def vals(self):
        return [int(v) for v in self.kv["vals"].split(",")]

    @property
    def elapsed_ms(self):
        return int(self.kv["elapsed_ms"])

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r)" % (self.rc, self.out, self.err)


class Bg:
    """A semtool running in the background (usually a blocked op)."""

    def __init__(self, popen, node, argv):
        self.p = popen
        self.node = node
        self.argv = argv
        self.result = None

    @property
    def pid(self):
        return self.p.pid

    def running(self):
        return self.p.poll() is None

    def signal(self, sig):
        os.kill(self.p.pid, sig)

    def finish(self, timeout=10):
        """Wait for it to end (bounded) and return its Result."""
        if self.result is None:
            try:
                out, err = self.p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                out, err = self.p.communicate(timeout=5)
                raise ClusterError("%s on %s still running after %ss; stdout=%r stderr=%r"
                                   % (self.argv, self.node, timeout, out, err)) from None
            self.result = Result(subprocess.CompletedProcess(self.argv, self.p.returncode,
                                                             out, err))
        return self.result

    def wait_line(self, text, timeout=10):
        """Read stdout lines until one equals text (for -H: "held")."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.strip() == text:
                return seen
        raise ClusterError("%s on %s: no %r line; got %r" % (self.argv, self.node, text, seen))

    def release(self):
        """Close its stdin: a -H holder then exits normally."""
        if self.p.stdin:
            self.p.stdin.close()
            self.p.stdin = None

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=10)


class SemTool:
    def __init__(self, cluster):
        self.c = cluster
        self.bin = cluster.prog("semtool")

    def argv(self, args, opts=()):
        return [self.bin] + list(opts) + [str(a) for a in args]

    def __call__(self, node, *args, opts=(), user=None, env=None, timeout=30):
        """Run semtool on node (None = natively) and return a Result."""
        r = Result(self.c.run(node, self.argv(args, opts), user=user, env=env,
                              timeout=timeout))
        # a kernel IPC_PRIVATE set (expected, or a shim that missed the call)
        # is removed when the cluster stops: the key fixture cannot find it
        if args and args[0] == "create" and str(args[1]) == "private" and r.ok \
                and not dipc_is_id(r.id):
            self.c.kernel_sets.append(r.id)
        return r

    def must(self, node, *args, **kw):
        r = self(node, *args, **kw)
        assert r.ok, "semtool %s on %s failed: %r" % (args, node, r)
        return r

    # shorthands (assert success)
    def create(self, node, key, nsems, mode="666", excl=True, **kw):
        args = ["create", hex(key) if isinstance(key, int) else key, nsems, mode]
        if excl:
            args.append("excl")
        return self.must(node, *args, **kw).id

    def getval(self, node, sid, num=0, **kw):
        return self.must(node, "getval", sid, num, **kw).val

    def getall(self, node, sid, **kw):
        return self.must(node, "getall", sid, **kw).vals

    def setall(self, node, sid, *vals, **kw):
        return self.must(node, "setall", sid, *vals, **kw)

    def op(self, node, sid, sops, timeout_ms=None, **kw):
        opts = ["-t", str(timeout_ms)] if timeout_ms is not None else []
        return self(node, "op", sid, sops, opts=opts, **kw)

    def start_op(self, node, sid, sops, timeout_ms=None, hold=False, user=None, env=None):
        opts = []
        if timeout_ms is not None:
            opts += ["-t", str(timeout_ms)]
        if hold:
            opts.append("-H")
        argv = self.argv(["op", sid, sops], opts)
        return Bg(self.c.popen(node, argv, user=user, env=env), node, argv)

    def wait(self, node, sid, num, what, n, ms=5000):
        """Bounded poll until GETNCNT/GETZCNT/GETVAL of sem num is n."""
        r = self(node, "wait", sid, num, what, n, ms, timeout=ms / 1000 + 30)
        assert r.ok, "sem %d %s never became %d (seen from %s): %r" % (num, what, n, node, r)

    def wait_val(self, node, sid, num, n, timeout=5):
        """Bounded poll (one semtool per look) until GETVAL is n; returns the last value."""
        last = []

        def check():
            v = self.getval(node, sid, num)
            last.append(v)
            return v == n

        try:
            wait_until(check, timeout, "sem %d == %d" % (num, n), interval=0.02)
        except ClusterError:
            raise AssertionError("sem %d of set %d is %s, expected %d within %ss"
                                 % (num, sid, last[-1:], n, timeout)) from None
