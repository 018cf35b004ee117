# SPDX-License-Identifier: MIT
"""Kernel conformance cases that need more than one node (issue 11).

The native-vs-dipcfs comparison programs (msgtest, semtest) carry the cases
one node can show; here, what only a cluster shows:

- MSG_STAT/SEM_STAT/SHM_STAT take the kernel's index, and a cluster object's index
  is its id's low 15 bits on every node (fs/ipcindex.c): a walk up to
  *_INFO's result, as LTP's msgctl12/semctl01 do, finds an object owned by
  another node.
- SEM_INFO's semusz counts the node's semaphore sets, not its queues and
  segments.

The calls run in Python through ctypes, so the shim's interposed libc
functions serve them.
"""

import json
import sys

from cluster import dipc_is_id

# Run under the shim: libc's msgget/semget/shmget and *ctl resolve to it.
PROLOGUE = r"""
import ctypes, json, sys
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, IPC_DIPC, IPC_RMID, IPC_INFO = 0o1000, 0o10000, 0, 3
MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20
SHM_STAT, SHM_INFO, SHM_STAT_ANY = 13, 14, 15
buf = ctypes.create_string_buffer(512)
def ok(r, what):
    if r < 0:
        raise SystemExit("%s: errno %d" % (what, ctypes.get_errno()))
    return r
"""

WALK = PROLOGUE + r"""
kind, want = sys.argv[1], int(sys.argv[2])
if kind == "msg":
    maxidx = ok(libc.msgctl(0, MSG_INFO, buf), "MSG_INFO")
    stat = lambda i: libc.msgctl(i, MSG_STAT_ANY, buf)
    by_id = libc.msgctl(want, MSG_STAT, buf)
elif kind == "shm":
    maxidx = ok(libc.shmctl(0, SHM_INFO, buf), "SHM_INFO")
    stat = lambda i: libc.shmctl(i, SHM_STAT_ANY, buf)
    by_id = libc.shmctl(want, SHM_STAT, buf)
else:
    maxidx = ok(libc.semctl(0, 0, SEM_INFO, buf), "SEM_INFO")
    stat = lambda i: libc.semctl(i, 0, SEM_STAT_ANY, buf)
    by_id = libc.semctl(want, 0, SEM_STAT, buf)
found = next((i for i in range(0x7f00, maxidx + 1) if stat(i) == want), -1)
print(json.dumps({"maxidx": maxidx, "found": found, "by_id": by_id}))
"""

SEMUSZ = PROLOGUE + r"""
# struct seminfo: 10 ints; semusz is the 8th.
def semusz(setid):
    ok(libc.semctl(setid, 0, SEM_INFO, buf), "SEM_INFO")
    return ctypes.cast(buf, ctypes.POINTER(ctypes.c_int))[7]
key = int(sys.argv[1])
s1 = ok(libc.semget(key, 1, IPC_CREAT | IPC_DIPC | 0o600), "semget")
before = semusz(s1)
q = ok(libc.msgget(key + 1, IPC_CREAT | IPC_DIPC | 0o600), "msgget")
m = ok(libc.shmget(key + 2, 4096, IPC_CREAT | IPC_DIPC | 0o600), "shmget")
with_others = semusz(s1)
s2 = ok(libc.semget(key + 3, 1, IPC_CREAT | IPC_DIPC | 0o600), "semget")
with_set = semusz(s1)
ok(libc.semctl(s1, 0, IPC_RMID), "rmid"); ok(libc.semctl(s2, 0, IPC_RMID), "rmid")
ok(libc.msgctl(q, IPC_RMID, None), "rmid"); ok(libc.shmctl(m, IPC_RMID, None), "rmid")
print(json.dumps({"ids": [s1, q, m, s2], "before": before, "with_others": with_others,
                  "with_set": with_set}))
"""


def py(c, node, script, *args):
    r = c.run(node, [sys.executable, "-c", script] + [str(a) for a in args], timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


GET = {"msg": "libc.msgget(%d, IPC_CREAT | IPC_DIPC | 0o600)",
       "sem": "libc.semget(%d, 2, IPC_CREAT | IPC_DIPC | 0o600)",
       "shm": "libc.shmget(%d, 4096, IPC_CREAT | IPC_DIPC | 0o600)"}
RMID = {"msg": "libc.msgctl(%d, IPC_RMID, None)",
        "sem": "libc.semctl(%d, 0, IPC_RMID)",
        "shm": "libc.shmctl(%d, IPC_RMID, None)"}


def create(c, node, kind, key):
    call = GET[kind] % key
    out = py(c, node, PROLOGUE + "print(json.dumps(ok(%s, 'get')))" % call)
    assert dipc_is_id(out), out
    return out


def remove(c, node, kind, ident):
    call = RMID[kind] % ident
    py(c, node, PROLOGUE + "print(json.dumps(ok(%s, 'rmid')))" % call)


def check_index_walk(c, kind, key):
    ident = create(c, "node1", kind, key)
    try:
        w = py(c, "node2", WALK, kind, ident)
        assert w["found"] == ident & 0x7fff, w
        assert w["maxidx"] >= w["found"], w
        assert w["by_id"] == ident, w
    finally:
        remove(c, "node1", kind, ident)
    w = py(c, "node2", WALK, kind, ident)
    assert w["found"] == -1 and w["by_id"] == -1, w


def test_msg_stat_index_of_remote_queue(cluster, key):
    check_index_walk(cluster, "msg", key)


def test_sem_stat_index_of_remote_set(cluster, key):
    check_index_walk(cluster, "sem", key)


def test_shm_stat_index_of_remote_segment(cluster, key):
    check_index_walk(cluster, "shm", key)


def test_sem_info_semusz_counts_sets_only(cluster, key):
    r = py(cluster, "node1", SEMUSZ, key)
    assert all(dipc_is_id(i) for i in r["ids"]), r
    assert r["before"] >= 1, r
    assert r["with_others"] == r["before"], r
    assert r["with_set"] == r["before"] + 1, r


# A receiver that waits in msgrcv with its buffer in a MAP_SHARED file.
WAITER = PROLOGUE + r"""
import mmap, os
path, qid, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    mm = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED)
addr = ctypes.addressof(ctypes.c_char.from_buffer(mm))
libc.msgrcv.restype = ctypes.c_ssize_t
print("waiting", flush=True)
r = libc.msgrcv(qid, ctypes.c_void_p(addr), ctypes.c_size_t(size), ctypes.c_long(0), 0)
print("got", r, flush=True)
"""

RECEIVE = PROLOGUE + r"""
qid, size = int(sys.argv[1]), int(sys.argv[2])
b = ctypes.create_string_buffer(size + 8)
libc.msgrcv.restype = ctypes.c_ssize_t
libc.msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
if sys.argv[3] == "send":
    ctypes.memmove(b, (7).to_bytes(8, "little") + b"hello", 13)
    ok(libc.msgsnd(qid, b, 5, 0), "msgsnd")
    print(json.dumps(0))
else:
    r = ok(libc.msgrcv(qid, b, ctypes.c_size_t(size), ctypes.c_long(0), 0o4000), "msgrcv")
    print(json.dumps([int.from_bytes(b.raw[:8], "little"), b.raw[8:8 + r].decode()]))
"""


def waiting_in_fuse(pid):
    """The process sleeps in a FUSE request (its msgrcv's, unanswered)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open("/proc/%d/stack" % pid) as f:
            stack = f.read()
    except OSError:
        return False
    return state in ("S", "D") and "request_wait_answer" in stack


def test_killed_receiver_leaves_its_buffer_untouched(cluster, key, tmp_path):
    """Linux writes nothing into msgp until a message is delivered: a
    receiver killed while it waits leaves a MAP_SHARED buffer as it was,
    and the message sent afterwards is not lost (issue 11)."""
    import signal
    from cluster import wait_until
    c = cluster
    qid = create(c, "node1", "msg", key)
    try:
        for size in (16, 100, 70000):
            path = tmp_path / ("buf%d" % size)
            pattern = bytes([0xA5]) * (size + 8 + 4096)
            path.write_bytes(pattern)
            p = c.popen("node2", [sys.executable, "-c", WAITER, str(path), str(qid), str(size)])
            assert p.stdout.readline().strip() == "waiting"
            wait_until(lambda: waiting_in_fuse(p.pid), 20, "the receiver to wait in msgrcv")
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=20)
            assert path.read_bytes() == pattern, "msgrcv wrote into a buffer it did not fill"
            py(c, "node1", RECEIVE, qid, 16, "send")
            assert py(c, "node3", RECEIVE, qid, 16, "recv") == [7, "hello"]
    finally:
        remove(c, "node1", "msg", qid)
