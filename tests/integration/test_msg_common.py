# SPDX-License-Identifier: MIT
"""Helpers of the message-queue tests (test_msg_*.py); no tests here.

    mt = MsgTool(cluster)                       # drives tests/msgprogs/msgtool
    qid = mt.create("node1", key)               # asserts success, returns the id
    mt.send("node2", qid, 3, "hello")           # -> Result (semtool.Result)
    r = mt.recv("node3", qid, -5)               # r.kv["type"], r.kv["text"]
    w = mt.start_recv("node2", qid, 7)          # a blocked msgrcv (semtool.Bg)
    st = wait_cat(cluster, "node1", key, lambda s: len(s["receivers"]) == 1)

`mkey` is a fixture: a base key with 15 free keys after it, unused by the
kernel's own queues (native runs create kernel queues; they are removed
afterwards).  Test modules import it: `from test_msg_common import mkey`.
"""

import os
import random

import pytest

from cluster import ClusterError, dipc_is_id, kernel_msg_keys, wait_until
from semtool import Bg, Result


class MsgTool:
    def __init__(self, cluster):
        self.c = cluster
        self.bin = cluster.msgprog("msgtool")

    def argv(self, args, opts=()):
        return [self.bin] + list(opts) + [str(a) for a in args]

    def __call__(self, node, *args, opts=(), user=None, env=None, timeout=30):
        """Run msgtool on node (None = natively) and return a Result."""
        return Result(self.c.run(node, self.argv(args, opts), user=user, env=env,
                                 timeout=timeout))

    def must(self, node, *args, **kw):
        r = self(node, *args, **kw)
        assert r.ok, "msgtool %s on %s failed: %r" % (args, node, r)
        return r

    def create(self, node, key, mode="666", excl=True, **kw):
        args = ["create", hex(key) if isinstance(key, int) else key, mode]
        if excl:
            args.append("excl")
        qid = self.must(node, *args, **kw).id
        if node is not None:
            assert dipc_is_id(qid), "queue %d is not a cluster queue" % qid
        return qid

    def send(self, node, q, mtype, text, flags=None, **kw):
        args = ["send", q, mtype, text] + ([flags] if flags else [])
        return self(node, *args, **kw)

    def recv(self, node, q, msgtyp=0, flags=None, maxsize=None, **kw):
        args = ["recv", q, msgtyp, flags or "-"] + ([maxsize] if maxsize is not None else [])
        return self(node, *args, **kw)

    def start(self, node, *args, opts=(), user=None, env=None):
        """msgtool in the background; returns a semtool.Bg."""
        argv = self.argv(args, opts)
        return Bg(self.c.popen(node, argv, user=user, env=env), node, argv)

    def start_recv(self, node, q, msgtyp=0, flags=None, maxsize=None, **kw):
        args = ["recv", q, msgtyp, flags or "-"] + ([maxsize] if maxsize is not None else [])
        return self.start(node, *args, **kw)

    def start_send(self, node, q, mtype, text, flags=None, **kw):
        return self.start(node, "send", q, mtype, text, *([flags] if flags else []), **kw)

    def stat(self, node, q, **kw):
        r = self.must(node, "stat", q, **kw)
        return {k: (int(v, 0) if k != "mode" else int(v, 8)) for k, v in r.kv.items()}

    def wait_qnum(self, node, q, n, ms=5000):
        r = self(node, "wait", q, "qnum", n, ms, timeout=ms / 1000 + 30)
        assert r.ok, "qnum of %s never became %d (seen from %s): %r" % (q, n, node, r)


def parse_msg_cat(text):
    """Parse `cat MOUNT/msg/KEY` (format: common/msgq.c dipc_msgq_describe).

    Returns {"fields": {label: value}, "types": [(type, count, bytes)],
    "senders": [(pid@node, rest)], "receivers": [(pid@node, rest)]}.
    """
    fields, types, senders, receivers = {}, [], [], []
    section = "fields"
    for line in text.splitlines():
        if not line.strip():
            continue
        w = line.split()
        if w[:3] == ["type", "count", "bytes"]:
            section = "types"
            continue
        if w[0] in ("senders", "receivers") and len(w) == 2:
            fields[w[0]] = int(w[1])
            section = w[0]
            continue
        if section == "fields":
            fields[w[0]] = line[len(w[0]):].strip()
        elif section == "types":
            types.append((int(w[0]), int(w[1]), int(w[2])))
        else:
            (senders if section == "senders" else receivers).append(
                (w[0], line.strip()[len(w[0]):].strip()))
    return {"fields": fields, "types": types, "senders": senders, "receivers": receivers}


def cat_msg(c, node, key):
    return parse_msg_cat(c.cat(c.msg_path(node, key)))


def wait_cat(c, node, key, pred, timeout=10, what="queue state"):
    """Poll `cat msg/KEY` on node until pred(parsed) holds; returns the parsed state."""
    last = []

    def check():
        try:
            st = cat_msg(c, node, key)
        except ClusterError as e:
            last.append(str(e))
            return None
        last.append(st)
        return st if pred(st) else None

    try:
        return wait_until(check, timeout, what, interval=0.02)
    except ClusterError:
        raise AssertionError("%s not reached within %ss; last `cat` on %s: %r"
                             % (what, timeout, node, last[-1:])) from None


def kernel_queue_free(k, n=16):
    used = kernel_msg_keys()
    return not any(k <= u < k + n for u in used)


_used = set()


@pytest.fixture
def mkey():
    """A base key (with 15 free keys after it) unused by the kernel's queues."""
    while True:
        k = 0x0D1E0000 + random.randrange(1, 0xFFF) * 16
        if k not in _used and kernel_queue_free(k):
            _used.add(k)
            break
    yield k
    for u, qid in kernel_msg_keys().items():
        if k <= u < k + 16:
            os.system("ipcrm -q %d 2>/dev/null" % qid)
