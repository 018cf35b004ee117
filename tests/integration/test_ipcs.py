# SPDX-License-Identifier: MIT
"""ipcs, ipcrm and lsipc, Debian's util-linux run unmodified under the shim
(issue 11), against a live 2-node cluster with every key distributed.

The shim presents /proc/sysvipc/{sem,msg,shm} with the kernel's lines and
then the cluster's objects, in the kernel's format (shim/procipc.c): so ipcs
and lsipc list a queue, a set and a segment made on node1 when they run on
node2, beside a kernel object of this machine; and ipcrm's -q/-s/-m ID and
-Q/-S/-M KEY remove cluster objects through the ordinary calls.  Each line
is checked character for character against the kernel's printf formats
(ipc/{msg,sem,shm}.c, sysvipc_*_proc_show).
"""

import os
import re
import subprocess
import sys

import pytest

from cluster import Cluster, dipc_is_id
from conftest import preconditions

ALL = {"DIPC_KEYS": "all"}
FLAG = {"msg": "-q", "sem": "-s", "shm": "-m"}

# ipc/*.c's seq_printf formats (64-bit longs: shm's SIZE_SPEC is %21lu)
FORMATS = {
    "msg": "%10d %10d  %4o  %10d %10d %5d %5d %5d %5d %5d %5d %10d %10d %10d",
    "sem": "%10d %10d  %4o %10d %5d %5d %5d %5d %10d %10d",
    "shm": "%10d %10d  %4o %21d %5d %5d  %5d %5d %5d %5d %5d %10d %10d %10d %21d %21d",
}

MAKE = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
kind, key = sys.argv[1], int(sys.argv[2], 0)
if kind == "msg":
    r = libc.msgget(key, 0o1000 | 0o640)
elif kind == "sem":
    r = libc.semget(key, 3, 0o1000 | 0o600)
else:
    r = libc.shmget(key, 8192, 0o1000 | 0o604)
if r < 0:
    raise SystemExit("get: errno %d" % ctypes.get_errno())
print(r)
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    problems = preconditions()
    for tool in ("ipcs", "ipcrm", "lsipc", "ipcmk"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "/usr/bin").split(":")):
            problems.append("%s (util-linux) is missing" % tool)
    if problems:
        pytest.fail("cannot run the ipcs tests:\n  " + "\n  ".join(problems), pytrace=False)
    c = Cluster(nodes=2, tmpdir=str(tmp_path_factory.mktemp("ipcs-logs")))
    try:
        yield c
    finally:
        c.stop()


def run(c, node, *argv):
    r = c.run(node, list(argv), env=ALL)
    assert r.returncode == 0 and not r.stderr, r
    return r.stdout


def make(c, node, kind, key):
    ident = int(run(c, node, sys.executable, "-c", MAKE, kind, hex(key)))
    assert dipc_is_id(ident), ident
    return ident


def proc_lines(c, node, kind):
    """/proc/sysvipc/KIND as a program on node reads it: header, lines."""
    text = run(c, node, "cat", "/proc/sysvipc/" + kind)
    lines = text.splitlines()
    return lines[0], lines[1:]


def check_format(kind, line):
    fields = [int(f) if i != 2 else int(f, 8) for i, f in enumerate(line.split())]
    assert FORMATS[kind] % tuple(fields) == line, (kind, line)
    return fields


@pytest.fixture
def kernel_queue():
    """A kernel queue of this machine, made natively (no shim)."""
    out = subprocess.run(["ipcmk", "-Q"], capture_output=True, text=True, check=True,
                         env=Cluster.native_env()).stdout
    qid = int(out.split(":")[1])
    assert not dipc_is_id(qid), qid
    yield qid
    subprocess.run(["ipcrm", "-q", str(qid)], env=Cluster.native_env())


def test_proc_sysvipc_lists_kernel_then_cluster(live, key, kernel_queue):
    c = live
    ids = {k: make(c, "node1", k, key + i) for i, k in enumerate(("msg", "sem", "shm"))}
    try:
        for kind, ident in ids.items():
            header, lines = proc_lines(c, "node2", kind)
            with open("/proc/sysvipc/" + kind) as f:
                assert header == f.readline().rstrip("\n")
            rows = [check_format(kind, ln) for ln in lines]
            mine = [r for r in rows if r[1] == ident]
            assert len(mine) == 1, (kind, ident, lines)
            assert mine[0][0] == key + ["msg", "sem", "shm"].index(kind)
            # the cluster's lines come after every kernel line
            cluster_at = [i for i, r in enumerate(rows) if dipc_is_id(r[1])]
            kernel_at = [i for i, r in enumerate(rows) if not dipc_is_id(r[1])]
            assert not kernel_at or not cluster_at or max(kernel_at) < min(cluster_at), lines
        _, qlines = proc_lines(c, "node2", "msg")
        assert any(int(ln.split()[1]) == kernel_queue for ln in qlines), qlines
        sem = check_format("sem", [ln for ln in proc_lines(c, "node2", "sem")[1]
                                   if int(ln.split()[1]) == ids["sem"]][0])
        assert sem[2] == 0o600 and sem[3] == 3, sem        # perms, nsems
        shm = check_format("shm", [ln for ln in proc_lines(c, "node2", "shm")[1]
                                   if int(ln.split()[1]) == ids["shm"]][0])
        assert shm[2] == 0o604 and shm[3] == 8192, shm     # perms, size
    finally:
        for kind, ident in ids.items():
            run(c, "node1", "ipcrm", FLAG[kind], str(ident))


def test_ipcs_and_lsipc_show_cluster_objects(live, key, kernel_queue):
    c = live
    ids = {k: make(c, "node1", k, key + i) for i, k in enumerate(("msg", "sem", "shm"))}
    try:
        out = run(c, "node2", "ipcs")
        for i, (kind, ident) in enumerate(ids.items()):
            assert re.search(r"^0x%08x %d " % (key + i, ident), out, re.M), (kind, out)
        assert re.search(r"^0x[0-9a-f]{8} %d " % kernel_queue, out, re.M), out
        detail = run(c, "node2", "ipcs", "-q", "-i", str(ids["msg"]))
        assert "msqid=%d" % ids["msg"] in detail and "mode=0640" in detail, detail
        for i, (kind, ident) in enumerate(ids.items()):
            out = run(c, "node2", "lsipc", FLAG[kind], "--noheadings", "-o", "KEY,ID")
            assert ("0x%08x %d" % (key + i, ident)) in [" ".join(ln.split())
                                                       for ln in out.splitlines()], out
    finally:
        for kind, ident in ids.items():
            run(c, "node1", "ipcrm", FLAG[kind], str(ident))


def gone(c, kind, ident):
    _, lines = proc_lines(c, "node1", kind)
    return all(int(ln.split()[1]) != ident for ln in lines)


def test_ipcrm_by_id_and_key(live, key):
    c = live
    by_id = {k: make(c, "node1", k, key + i) for i, k in enumerate(("msg", "sem", "shm"))}
    by_key = {k: make(c, "node1", k, key + 3 + i) for i, k in enumerate(("msg", "sem", "shm"))}
    run(c, "node2", "ipcrm", "-q", str(by_id["msg"]), "-s", str(by_id["sem"]),
        "-m", str(by_id["shm"]))
    run(c, "node2", "ipcrm", "-Q", hex(key + 3), "-S", hex(key + 4), "-M", hex(key + 5))
    for kind in ("msg", "sem", "shm"):
        assert gone(c, kind, by_id[kind]), kind
        assert gone(c, kind, by_key[kind]), kind
    # and the kernel's refusal is ipcrm's message for a cluster id too
    r = c.run("node2", ["ipcrm", "-q", str(by_id["msg"])], env=ALL)
    assert r.returncode != 0 and "invalid id" in r.stderr, r
