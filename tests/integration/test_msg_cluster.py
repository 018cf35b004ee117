# SPDX-License-Identifier: MIT
"""Message queues across three nodes: every semantic of msgget/msgsnd/msgrcv/
msgctl with the owner on one node and the callers on the others.

tests/msgprogs/msgtool makes one call per process (test_msg_common.MsgTool);
blocked calls run in the background and are watched through
`cat MOUNT/msg/KEY`, which lists parked senders and receivers.  Every test
also checks that the queue really is a cluster queue (dipc id, no kernel
queue with the key): all nodes share this machine's kernel, where a shim that
missed a call would still make the scenario work.
"""

import os
import signal
import subprocess
import time
import zlib

import pytest

from cluster import NOBODY, dipc_is_id, kernel_msg_keys
from test_msg_common import MsgTool, cat_msg, mkey, parse_msg_cat, wait_cat  # noqa: F401


def pattern(mtype, n):
    """tests/msgprogs/msgprogs.h pattern_fill()."""
    return bytes(((i * 2654435761 + mtype * 40503) & 0xFFFFFFFF) >> 13 & 0xFF
                 for i in range(n))


def no_kernel_queue(*keys):
    k = kernel_msg_keys()
    assert not [x for x in keys if x in k], "kernel queues appeared for %r" % (keys,)


# ---- msgget ------------------------------------------------------------------


def test_one_key_one_queue_cluster_wide(cluster, mkey):
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey, "640")
    assert mt.must("node2", "get", hex(mkey), "0").id == qid
    assert mt.must("node3", "create", hex(mkey), "600").id == qid   # IPC_CREAT, exists
    assert mt("node3", "create", hex(mkey), "600", "excl").errno == "EEXIST"
    assert mt("node2", "get", hex(mkey + 1), "600").errno == "ENOENT"
    # permissions of msgget itself, as nobody, on a non-owner node
    assert mt("node3", "get", hex(mkey), "0", user="nobody").id == qid
    assert mt("node3", "get", hex(mkey), "400", user="nobody").errno == "EACCES"
    assert mt("node2", "get", hex(mkey), "200", user="nobody").errno == "EACCES"
    # the file on every node, with the queue's mode
    for n in cluster.nodes:
        st = os.stat(cluster.msg_path(n, mkey))
        assert st.st_mode & 0o777 == 0o640 and st.st_uid == 0, (n, oct(st.st_mode))
    no_kernel_queue(mkey)
    # IPC_PRIVATE from any node: a new queue each time
    a = mt.create("node2", "private", "600")
    b = mt.create("node3", "private", "600")
    assert a != b and dipc_is_id(a) and dipc_is_id(b)
    mt.send("node1", a, 1, "to-a")
    assert mt.recv("node3", b, 0, "n").errno == "ENOMSG"
    assert mt.recv("node3", a, 0, "n").kv["text"] == "to-a"
    for q in (a, b):
        mt.must("node1", "rmid", q)
    # removal: the id is stale everywhere, the key is free again
    mt.must("node2", "rmid", qid)
    for n in cluster.nodes:
        assert mt.send(n, qid, 1, "x", "n").errno == "EINVAL"
        assert mt.recv(n, qid, 0, "n").errno == "EINVAL"
        assert mt(n, "stat", qid).errno == "EINVAL"
        assert not os.path.exists(cluster.msg_path(n, mkey))
    q2 = mt.create("node3", mkey, "600")
    assert q2 != qid
    assert mt.send("node1", qid, 1, "x", "n").errno == "EINVAL"


def test_creation_race_has_one_winner(cluster, mkey):
    mt = MsgTool(cluster)
    for round_ in range(5):
        key = mkey + round_
        procs = [mt.start(n, "create", hex(key), "600", "excl") for n in cluster.nodes]
        results = [p.finish() for p in procs]
        winners = [r for r in results if r.ok]
        assert len(winners) == 1, results
        assert sorted(r.errno for r in results if not r.ok) == ["EEXIST", "EEXIST"], results
        assert all(mt.must(n, "get", hex(key), "0").id == winners[0].id for n in cluster.nodes)
    no_kernel_queue(*range(mkey, mkey + 5))


def test_kernel_and_cluster_queue_side_by_side(cluster, mkey):
    """The same key in the kernel (no IPC_DIPC) and in the cluster: two queues."""
    mt = MsgTool(cluster)
    kq = mt.must("node1", "create", hex(mkey), "600", "excl", opts=["-n"]).id
    cq = mt.create("node1", mkey, "600")
    assert not dipc_is_id(kq) and dipc_is_id(cq) and kq != cq
    assert kernel_msg_keys().get(mkey) == kq
    mt.send("node2", kq, 1, "kernel")
    mt.send("node2", cq, 1, "cluster")
    assert mt.recv("node3", cq, 0, "n").kv["text"] == "cluster"
    assert mt.recv(None, kq, 0, "n").kv["text"] == "kernel"
    # the key policy makes a key distributed without the flag
    key2 = mkey + 1
    r = mt("node2", "create", hex(key2), "600", "excl", opts=["-n"], env={"DIPC_KEYS": hex(key2)})
    assert r.ok and dipc_is_id(r.id), r
    assert mt.must("node3", "get", hex(key2), "0").id == r.id
    no_kernel_queue(key2)
    mt.must(None, "rmid", kq)


# ---- sending and receiving across nodes -------------------------------------


def test_type_selection_against_messages_from_several_nodes(cluster, mkey):
    """Owner node1; messages sent in a known order from all three nodes; the
    receivers on node2 and node3 select by type (0, > 0, < 0, MSG_EXCEPT)."""
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey)
    sends = [("node2", 3, "c1"), ("node3", 1, "a1"), ("node1", 2, "b1"), ("node3", 3, "c2"),
             ("node2", 1, "a2"), ("node1", 7, "g1"), ("node2", 2, "b2"), ("node3", 5, "e1")]
    for node, t, text in sends:
        assert mt.send(node, qid, t, text).ok
    st = cat_msg(cluster, "node3", mkey)
    assert st["types"] == [(1, 2, 4), (2, 2, 4), (3, 2, 4), (5, 1, 2), (7, 1, 2)], st
    assert st["fields"]["qnum"] == "8" and st["fields"]["cbytes"] == "16"

    def rcv(node, typ, flags=None):
        r = mt.recv(node, qid, typ, flags or "n")
        return r.kv.get("text") or r.errno

    assert rcv("node2", 0) == "c1"
    assert rcv("node3", 2) == "b1"
    assert rcv("node2", -2) == "a1"
    assert rcv("node3", 1, "xn") == "c2"        # MSG_EXCEPT
    assert rcv("node2", 4) == "ENOMSG"
    assert rcv("node3", -100) == "a2"
    assert rcv("node1", -1) == "ENOMSG"
    assert rcv("node2", 7, "xn") == "b2"
    assert rcv("node3", -6) == "e1"
    assert rcv("node2", 0) == "g1"
    assert rcv("node3", 0) == "ENOMSG"
    no_kernel_queue(mkey)


def test_sizes_and_errors_remote(cluster, mkey):
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey)
    assert mt.send("node2", qid, 0, "x", "n").errno == "EINVAL"
    assert mt.send("node2", qid, -3, "x", "n").errno == "EINVAL"
    assert mt.send("node3", qid, 1, "@8193", "n").errno == "EINVAL"     # > msgmax
    assert mt.send("node3", qid, 1, "@8192", "n").ok
    r = mt.recv("node2", qid, 0, "n")
    assert r.kv["size"] == "8192" and r.kv["pattern_ok"] == "1", r
    assert mt.send("node2", qid, 4, "hello-world", "n").ok
    assert mt.recv("node3", qid, 0, "n", 5).errno == "E2BIG"            # stays
    assert mt.stat("node2", qid)["qnum"] == 1
    r = mt.recv("node3", qid, 0, "en", 5)                               # MSG_NOERROR
    assert r.ok and r.kv["text"] == "hello" and r.kv["size"] == "5", r
    assert mt.stat("node1", qid)["qnum"] == 0
    assert mt.send("node2", qid, 9, "", "n").ok                         # empty text
    r = mt.recv("node3", qid, 0, "n", 0)
    assert r.ok and r.kv["size"] == "0" and r.kv["type"] == "9", r
    assert mt.recv("node2", qid, 0, "n").errno == "ENOMSG"


def test_queue_full_sender_blocks_and_is_woken_from_another_node(cluster, mkey):
    """Owner node1, qbytes 100: a sender blocked on node2 is woken when a
    receiver on node3 makes room."""
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey)
    mt.must("node3", "set", qid, "-", "-", "-", 100)
    assert mt.stat("node2", qid)["qbytes"] == 100
    assert mt.send("node2", qid, 1, "@60").ok
    assert mt.send("node3", qid, 2, "@40").ok
    assert mt.send("node2", qid, 1, "@1", "n").errno == "EAGAIN"
    w = mt.start_send("node2", qid, 3, "@50")
    st = wait_cat(cluster, "node1", mkey, lambda s: len(s["senders"]) == 1, what="a parked sender")
    assert st["senders"][0][0] == "%d@node2" % w.pid and "size 50" in st["senders"][0][1], st
    time.sleep(0.2)
    assert w.running(), "msgsnd returned on a full queue: %r" % (w.finish(),)
    r = mt.recv("node3", qid, 1)                                        # frees 60 bytes
    assert r.kv["size"] == "60" and r.kv["pattern_ok"] == "1"
    assert w.finish(timeout=10).ok
    s = mt.stat("node1", qid)
    assert (s["qnum"], s["cbytes"], s["lspid"]) == (2, 90, w.pid), s
    st = cat_msg(cluster, "node2", mkey)
    assert st["senders"] == [] and st["types"] == [(2, 1, 40), (3, 1, 50)], st
    # also bounded by the number of messages: qbytes 3 -> three empty messages
    mt.recv("node2", qid, 0)
    mt.recv("node2", qid, 0)
    mt.must("node2", "set", qid, "-", "-", "-", 3)
    for _ in range(3):
        assert mt.send("node3", qid, 1, "", "n").ok
    assert mt.send("node3", qid, 1, "", "n").errno == "EAGAIN"
    no_kernel_queue(mkey)


def test_blocked_senders_wake_in_order(cluster, mkey):
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey)
    mt.must("node1", "set", qid, "-", "-", "-", 20)
    assert mt.send("node1", qid, 9, "@20").ok
    waiters = []
    for i, node in enumerate(["node2", "node3", "node1"]):
        waiters.append(mt.start_send(node, qid, 10 + i, "@20"))
        wait_cat(cluster, "node2", mkey, lambda s, n=i + 1: len(s["senders"]) == n,
                 what="%d parked senders" % (i + 1))
    st = cat_msg(cluster, "node3", mkey)
    assert [w[0] for w in st["senders"]] == ["%d@%s" % (w.pid, w.node) for w in waiters], st
    types = []
    for i in range(4):
        r = mt.recv("node2", qid, 0)
        types.append(int(r.kv["type"]))
    assert types == [9, 10, 11, 12], "senders did not wake in FIFO order: %r" % types
    for w in waiters:
        assert w.finish().ok


def test_blocked_receivers_and_type_selection_across_nodes(cluster, mkey):
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey)
    r5 = mt.start_recv("node2", qid, 5)
    wait_cat(cluster, "node2", mkey, lambda s: len(s["receivers"]) == 1)
    rle3 = mt.start_recv("node3", qid, -3, "e", 100)
    wait_cat(cluster, "node2", mkey, lambda s: len(s["receivers"]) == 2)
    rex = mt.start_recv("node1", qid, 5, "x")
    st = wait_cat(cluster, "node2", mkey, lambda s: len(s["receivers"]) == 3,
                  what="3 parked receivers")
    rec = dict(st["receivers"])
    assert rec["%d@node2" % r5.pid].split()[:2] == ["msgtyp", "5"], st
    assert rec["%d@node3" % rle3.pid].split() == ["msgtyp", "-3", "maxsize", "100", "noerror"], st
    assert rec["%d@node1" % rex.pid].split()[-1] == "except", st
    assert mt.send("node3", qid, 5, "five").ok          # r5 waited first: it gets it
    r = r5.finish()
    assert r.kv["text"] == "five" and r.kv["type"] == "5", r
    assert mt.send("node2", qid, 9, "nine").ok          # not <= 3; EXCEPT 5 takes it
    assert rex.finish().kv["text"] == "nine"
    assert mt.send("node2", qid, 4, "four").ok          # nobody waits for 4 now
    time.sleep(0.2)
    assert rle3.running()
    assert mt.send("node1", qid, 2, "two").ok
    assert rle3.finish().kv["text"] == "two"
    assert mt.recv("node3", qid, 0, "n").kv["text"] == "four"
    s = mt.stat("node2", qid)
    assert s["qnum"] == 0 and s["lrpid"] != 0


def test_waiting_receiver_with_small_buffer_gets_e2big_message_stays(cluster, mkey):
    mt = MsgTool(cluster)
    qid = mt.create("node3", mkey)
    w = mt.start_recv("node1", qid, 0, None, 4)
    wait_cat(cluster, "node2", mkey, lambda s: len(s["receivers"]) == 1)
    assert mt.send("node2", qid, 1, "too-long-for-four").ok
    assert w.finish().errno == "E2BIG"
    assert mt.recv("node1", qid, 0, "n").kv["text"] == "too-long-for-four"


def test_cat_shows_state_without_consuming(cluster, mkey):
    mt = MsgTool(cluster)
    qid = mt.create("node2", mkey, "644")
    for node, t, text in [("node1", 2, "bb"), ("node3", 1, "a"), ("node1", 2, "bbbb"),
                          ("node2", 30, "@100")]:
        assert mt.send(node, qid, t, text).ok
    last_sender = mt.start_send("node3", qid, 7, "seven")
    assert last_sender.finish().ok
    w = mt.start_recv("node1", qid, 99, "e", 64)
    wait_cat(cluster, "node2", mkey, lambda s: len(s["receivers"]) == 1)
    before = mt.stat("node3", qid)
    for _ in range(3):
        for n in cluster.nodes:
            text = cluster.cat(cluster.msg_path(n, mkey))
            st = parse_msg_cat(text)
            f = st["fields"]
            assert f["key"] == "0x%08x" % mkey and int(f["id"]) == qid, text
            assert f["owner"] == "node2" and f["mode"] == "0644", text
            assert (f["qnum"], f["cbytes"], f["qbytes"]) == ("5", "112", "16384"), text
            assert f["lspid"] == "%d@node3" % last_sender.pid, text
            assert f["lrpid"] == "-" and f["rtime"] == "never" and "UTC" in f["stime"], text
            assert st["types"] == [(1, 1, 1), (2, 2, 6), (7, 1, 5), (30, 1, 100)], text
            assert st["senders"] == [] and len(st["receivers"]) == 1, text
            assert st["receivers"][0][0] == "%d@node1" % w.pid, text
            assert "seven" not in text and "bbbb" not in text   # never the contents
    after = mt.stat("node1", qid)
    assert before == after, "cat changed the queue: %r -> %r" % (before, after)
    # everything is still there, in order
    got = [mt.recv("node3", qid, 0, "n").kv.get("type") for _ in range(5)]
    assert got == ["2", "1", "2", "30", "7"], got
    w.signal(signal.SIGKILL)
    # `ls -l` shows mode, uid, gid after IPC_SET from another node
    mt.must("node1", "set", qid, "600", NOBODY, NOBODY, "-")
    for n in cluster.nodes:
        st = os.stat(cluster.msg_path(n, mkey))
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o600, NOBODY, NOBODY), n
    # nobody owns it now, so nobody may read it; a third user may not
    cat = subprocess.run(cluster.as_user(["cat", cluster.msg_path("node3", mkey)], "nobody"),
                         capture_output=True, text=True)
    assert cat.returncode == 0 and "owner     node2" in cat.stdout, cat
    cat = subprocess.run(cluster.as_user(["cat", cluster.msg_path("node3", mkey)], 4242),
                         capture_output=True, text=True)
    assert cat.returncode != 0, cat


def test_stat_fields_across_nodes(cluster, mkey):
    mt = MsgTool(cluster)
    t0 = int(time.time())
    qid = mt.create("node3", mkey, "660")
    s = mt.stat("node1", qid)
    assert (s["key"], s["mode"], s["uid"], s["cuid"], s["qnum"], s["cbytes"]) == \
        (mkey, 0o660, 0, 0, 0, 0), s
    assert (s["lspid"], s["lrpid"], s["stime"], s["rtime"]) == (0, 0, 0, 0), s
    assert abs(s["ctime"] - t0) <= 5 and s["qbytes"] == 16384, s
    snd = mt.start_send("node1", qid, 1, "hello")
    assert snd.finish().ok
    rcv = mt.start_recv("node2", qid, 0)
    assert rcv.finish().ok
    s = mt.stat("node2", qid)
    assert (s["lspid"], s["lrpid"]) == (snd.pid, rcv.pid), s
    assert abs(s["stime"] - t0) <= 5 and abs(s["rtime"] - t0) <= 5, s


# ---- msgctl ----------------------------------------------------------------------


def test_ipc_set_rmid_and_permissions_remote(cluster, mkey):
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey, "644")
    # nobody: may read (0644), not write, not IPC_SET, not IPC_RMID
    assert mt.send("node2", qid, 1, "x", "n", user="nobody").errno == "EACCES"
    assert mt.recv("node3", qid, 0, "n", user="nobody").errno == "ENOMSG"
    assert mt("node2", "stat", qid, user="nobody").ok
    assert mt("node3", "set", qid, "666", "-", "-", "-", user="nobody").errno == "EPERM"
    assert mt("node2", "rmid", qid, user="nobody").errno == "EPERM"
    # root on another node changes mode and qbytes
    mt.must("node3", "set", qid, "600", "-", "-", 500)
    s = mt.stat("node2", qid)
    assert (s["mode"], s["qbytes"]) == (0o600, 500), s
    assert mt("node2", "stat", qid, user="nobody").errno == "EACCES"
    assert mt.recv("node2", qid, 0, "n", user="nobody").errno == "EACCES"
    # given to nobody: nobody may lower qbytes and raise it up to msgmnb,
    # not above (EPERM, as without CAP_SYS_RESOURCE)
    mt.must("node2", "set", qid, "600", NOBODY, NOBODY, "-")
    assert mt("node3", "set", qid, "-", "-", "-", 16385, user="nobody").errno == "EPERM"
    assert mt("node3", "set", qid, "-", "-", "-", 16384, user="nobody").ok
    assert mt("node2", "set", qid, "-", "-", "-", 100, user="nobody").ok
    assert mt.send("node3", qid, 1, "mine", "n", user="nobody").ok
    assert mt.recv("node2", qid, 0, "n", user="nobody").kv["text"] == "mine"
    # root above msgmnb: allowed with CAP_SYS_RESOURCE only (root may lack it
    # in a container); the cluster must answer as the kernel does
    kq = mt.must(None, "create", "private", "600", opts=["-n"]).id
    native = mt(None, "set", kq, "-", "-", "-", 20000)
    mt.must(None, "rmid", kq)
    r = mt("node2", "set", qid, "-", "-", "-", 20000)
    assert (r.ok, r.errno) == (native.ok, native.errno), (native, r)
    assert mt.stat("node1", qid)["qbytes"] == (20000 if r.ok else 100)
    # the owner (nobody) removes it from a node that is not the queue's
    assert mt("node3", "rmid", qid, user="nobody").ok
    assert mt("node1", "stat", qid).errno == "EINVAL"


def test_lowering_qbytes_blocks_and_raising_wakes(cluster, mkey):
    mt = MsgTool(cluster)
    qid = mt.create("node2", mkey)
    assert mt.send("node1", qid, 1, "@500").ok
    mt.must("node3", "set", qid, "-", "-", "-", 200)          # below what is queued
    assert mt.send("node1", qid, 1, "x", "n").errno == "EAGAIN"
    w = mt.start_send("node3", qid, 2, "@10")
    wait_cat(cluster, "node1", mkey, lambda s: len(s["senders"]) == 1)
    mt.must("node1", "set", qid, "-", "-", "-", 1000)         # wakes the sender
    assert w.finish().ok
    assert mt.stat("node2", qid)["cbytes"] == 510


def test_ipc_info_and_msg_info_remote(make_cluster, mkey):
    c = make_cluster(nodes=3, conf={"limits": {"msgmax": 50000, "msgmnb": 70000,
                                               "msgmni": 77}})
    mt = MsgTool(c)
    qid = mt.create("node1", mkey)
    for n in c.nodes:
        for what in ("ipc", "msg"):
            r = mt.must(n, "info", qid, what)
            assert (r.kv["msgmax"], r.kv["msgmnb"], r.kv["msgmni"]) == ("50000", "70000", "77"), \
                (n, what, r)
    assert mt.stat("node3", qid)["qbytes"] == 70000


# ---- blocking, removal, signals -----------------------------------------------------


def test_eidrm_to_parked_senders_and_receivers(cluster, mkey):
    """Owner node1; a receiver parked on node1 and node2, a sender parked on
    node2; removal from node3."""
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey)
    mt.must("node1", "set", qid, "-", "-", "-", 10)
    assert mt.send("node3", qid, 8, "@10").ok
    r1 = mt.start_recv("node1", qid, 5)
    r2 = mt.start_recv("node2", qid, -3)
    s2 = mt.start_send("node2", qid, 1, "@5")
    wait_cat(cluster, "node3", mkey, lambda s: len(s["receivers"]) == 2 and len(s["senders"]) == 1,
             what="2 receivers and 1 sender parked")
    mt.must("node3", "rmid", qid)
    for w in (r1, r2, s2):
        r = w.finish(timeout=10)
        assert r.errno == "EIDRM", (w.argv, w.node, r)
    for n in cluster.nodes:
        assert mt.send(n, qid, 1, "x", "n").errno == "EINVAL"


@pytest.mark.parametrize("restart", [True, False], ids=["sa_restart", "no_sa_restart"])
def test_eintr_on_remote_wait(cluster, mkey, restart):
    """A handler (with or without SA_RESTART) makes a blocked msgrcv/msgsnd
    fail with EINTR; the interrupted call takes and leaves nothing."""
    mt = MsgTool(cluster)
    opts = [] if restart else ["-I"]
    qid = mt.create("node1", mkey)
    for node in ("node2", "node1"):
        w = mt.start(node, "recv", qid, 0, opts=opts)
        wait_cat(cluster, "node3", mkey, lambda s: len(s["receivers"]) == 1)
        w.signal(signal.SIGUSR1)
        r = w.finish(timeout=10)
        assert r.errno == "EINTR" and r.kv.get("signals") == "1", r
        wait_cat(cluster, "node3", mkey, lambda s: len(s["receivers"]) == 0)
        assert mt.send("node3", qid, 1, "after").ok
        time.sleep(0.1)
        assert mt.stat("node2", qid)["qnum"] == 1   # nobody took it
        assert mt.recv("node2", qid, 0, "n").kv["text"] == "after"
    mt.must("node3", "set", qid, "-", "-", "-", 10)
    assert mt.send("node1", qid, 1, "@10").ok
    w = mt.start("node2", "send", qid, 2, "blocked", opts=opts)
    wait_cat(cluster, "node3", mkey, lambda s: len(s["senders"]) == 1)
    w.signal(signal.SIGUSR1)
    r = w.finish(timeout=10)
    assert r.errno == "EINTR" and r.kv.get("signals") == "1", r
    mt.recv("node1", qid, 1, "n")
    time.sleep(0.1)
    assert mt.stat("node3", qid)["qnum"] == 0       # the interrupted send did not happen


def test_stop_and_continue_restart_silently(cluster, mkey):
    """SIGSTOP/SIGCONT (no handler runs): a remote msgrcv/msgsnd restarts,
    never returns EINTR, and gets / sends exactly one message."""
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey)
    w = mt.start_recv("node2", qid, 4)
    wait_cat(cluster, "node3", mkey, lambda s: len(s["receivers"]) == 1)
    for _ in range(3):
        w.signal(signal.SIGSTOP)
        time.sleep(0.05)
        w.signal(signal.SIGCONT)
        wait_cat(cluster, "node3", mkey, lambda s: len(s["receivers"]) == 1,
                 what="the receiver parked again")
    assert w.running()
    # a message that arrives while it is stopped waits for it
    w.signal(signal.SIGSTOP)
    time.sleep(0.05)
    assert mt.send("node3", qid, 4, "for-you").ok
    time.sleep(0.05)
    w.signal(signal.SIGCONT)
    r = w.finish(timeout=10)
    assert r.ok and r.kv["text"] == "for-you", r
    assert mt.stat("node1", qid)["qnum"] == 0
    # a blocked sender
    mt.must("node1", "set", qid, "-", "-", "-", 10)
    assert mt.send("node1", qid, 1, "@10").ok
    s = mt.start_send("node3", qid, 2, "@8")
    wait_cat(cluster, "node2", mkey, lambda st: len(st["senders"]) == 1)
    for _ in range(3):
        s.signal(signal.SIGSTOP)
        time.sleep(0.05)
        s.signal(signal.SIGCONT)
        wait_cat(cluster, "node2", mkey, lambda st: len(st["senders"]) == 1)
    mt.recv("node2", qid, 1, "n")
    assert s.finish(timeout=10).ok
    assert mt.stat("node1", qid)["qnum"] == 1
    assert mt.recv("node2", qid, 2, "n").kv["size"] == "8"


def test_interrupted_receiver_loses_nothing(cluster, mkey):
    """A receiver on node2 takes 3000 numbered messages (queue owned by
    node3, sent from node1) while a SIGALRM handler interrupts it every
    300 us, often with a message on its way from the owner: each interrupted
    msgrcv fails with EINTR and is called again, and the messages must arrive
    all, once each, in order (a message given back goes to the head)."""
    mt = MsgTool(cluster)
    qid = mt.create("node3", mkey)
    n = 3000
    snd = mt.start("node1", "sendseq", qid, n, 1, 16, 0)
    rcv = mt.start("node2", "recvseq", qid, n, opts=["-i", "300"])
    r = rcv.finish(timeout=120)
    assert snd.finish(timeout=60).ok
    print(r.out.strip())
    assert r.ok and r.kv["received"] == str(n) and r.kv["in_order"] == "1", (r, r.err[-2000:])
    assert int(r.kv["eintr"]) >= 20, "too few interruptions to mean anything: %r" % r
    assert mt.stat("node1", qid)["qnum"] == 0


def test_interrupted_sender_sends_once(cluster, mkey):
    """A sender whose msgsnd is interrupted by a handler every 300 us (the
    queue holds one message: it often waits): an EINTR means "not sent", so
    calling again must neither lose nor duplicate."""
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey)
    mt.must("node1", "set", qid, "-", "-", "-", 16)     # one message: the sender waits often
    n = 3000
    snd = mt.start("node2", "sendseq", qid, n, 1, 16, 3, opts=["-i", "300"])
    # the receiver comes late: the sender waits (parked) and is interrupted meanwhile
    wait_cat(cluster, "node1", mkey, lambda st: len(st["senders"]) == 1)
    time.sleep(0.2)
    rcv = mt.start("node3", "recvseq", qid, n)
    r = rcv.finish(timeout=120)
    s = snd.finish(timeout=60)
    print(s.out.strip(), "|", r.out.strip())
    assert s.ok and r.ok and r.kv["in_order"] == "1", (s, r, r.err[-2000:])
    assert int(s.kv["eintr"]) >= 5, s


def test_stopped_and_continued_receiver_loses_nothing(cluster, mkey):
    """The same stream, with SIGSTOP/SIGCONT instead of a handler: restarts
    are silent (eintr=0) and nothing is lost or repeated."""
    mt = MsgTool(cluster)
    qid = mt.create("node3", mkey)
    n = 3000
    snd = mt.start("node1", "sendseq", qid, n, 1, 16, 0)
    rcv = mt.start("node2", "recvseq", qid, n)
    stops = 0
    while rcv.running() and stops < 300:
        rcv.signal(signal.SIGSTOP)
        time.sleep(0.0005)
        rcv.signal(signal.SIGCONT)
        stops += 1
        time.sleep(0.002)
    r = rcv.finish(timeout=120)
    assert snd.finish(timeout=60).ok
    assert r.ok and r.kv["in_order"] == "1" and r.kv["eintr"] == "0", (r, r.err[-2000:])
    assert stops >= 20


def test_killed_receiver_takes_nothing_while_parked(cluster, mkey):
    mt = MsgTool(cluster)
    qid = mt.create("node1", mkey)
    w = mt.start_recv("node2", qid, 0)
    wait_cat(cluster, "node1", mkey, lambda s: len(s["receivers"]) == 1)
    w.kill9()
    wait_cat(cluster, "node1", mkey, lambda s: len(s["receivers"]) == 0,
             what="the killed receiver gone from the queue")
    assert mt.send("node3", qid, 1, "kept").ok
    time.sleep(0.1)
    assert mt.recv("node2", qid, 0, "n").kv["text"] == "kept"


# ---- large messages ---------------------------------------------------------------


def test_large_messages_round_trip_across_nodes(make_cluster, mkey):
    """msgmax raised to 200000 in dipc.conf: texts beyond one ioctl (16128
    bytes) take the staged path, both ways, byte-exact."""
    c = make_cluster(nodes=3, conf={"limits": {"msgmax": 200000, "msgmnb": 1000000}})
    mt = MsgTool(c)
    qid = mt.create("node1", mkey)
    sizes = [16127, 16128, 16129, 65536, 102400, 200000]
    for i, size in enumerate(sizes):
        node = ("node2", "node3")[i % 2]
        assert mt.send(node, qid, 10 + i, "@%d" % size).ok, size
    assert mt.send("node2", qid, 1, "@200001", "n").errno == "EINVAL"
    st = cat_msg(c, "node3", mkey)
    assert st["types"] == [(10 + i, 1, s) for i, s in enumerate(sizes)], st
    for i, size in enumerate(sizes):
        node = ("node3", "node1", "node2")[i % 3]
        r = mt.recv(node, qid, 10 + i, None, 300000)
        assert r.ok and r.kv["size"] == str(size) and r.kv["pattern_ok"] == "1", (size, r)
        assert int(r.kv["crc"], 16) == zlib.crc32(pattern(10 + i, size)), size
    # a staged message and small buffers: E2BIG leaves it, MSG_NOERROR truncates
    assert mt.send("node2", qid, 3, "@102400").ok
    assert mt.recv("node3", qid, 0, "n", 100000).errno == "E2BIG"
    assert mt.recv("node3", qid, 0, "n", 1000).errno == "E2BIG"
    r = mt.recv("node1", qid, 0, "en", 20000)
    assert r.kv["size"] == "20000" and r.kv["pattern_ok"] == "1", r
    assert mt.send("node3", qid, 4, "@102400").ok
    r = mt.recv("node2", qid, 0, "en", 100)
    assert r.kv["size"] == "100" and r.kv["pattern_ok"] == "1", r
    assert mt.stat("node1", qid)["qnum"] == 0
    # a blocked staged receiver, woken by a large send from another node
    w = mt.start_recv("node2", qid, 0, None, 300000)
    wait_cat(c, "node1", mkey, lambda s: len(s["receivers"]) == 1)
    assert mt.send("node3", qid, 5, "@150000").ok
    r = w.finish(timeout=10)
    assert r.kv["size"] == "150000" and r.kv["pattern_ok"] == "1", r
    # a large message to a blocked sender
    mt.must("node1", "set", qid, "-", "-", "-", 150000)
    assert mt.send("node1", qid, 6, "@100000").ok
    w = mt.start_send("node3", qid, 7, "@100000")
    wait_cat(c, "node2", mkey, lambda s: len(s["senders"]) == 1)
    assert mt.recv("node2", qid, 6, None, 200000).kv["pattern_ok"] == "1"
    assert w.finish(timeout=10).ok
    r = mt.recv("node1", qid, 7, None, 200000)
    assert r.kv["size"] == "100000" and r.kv["pattern_ok"] == "1", r
    no_kernel_queue(mkey)
