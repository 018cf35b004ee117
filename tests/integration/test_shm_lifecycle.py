# SPDX-License-Identifier: MIT
"""Attach counts and destruction of distributed segments, across nodes.

shm_nattch counts attaches cluster-wide: fork adds one (the child inherits
the attach), exec, exit and SIGKILL take one away, wherever the process
runs.  IPC_RMID while attached on several nodes marks the segment (SHM_DEST,
key IPC_PRIVATE): it stays usable everywhere, the key is free at once, and
the segment is destroyed at the last detach anywhere -- then its id is stale
and `ls MOUNT/shm` no longer shows it.
"""

import signal

from cluster import dipc_is_id, sem_name, wait_until
from test_shm_common import (PAGE, ShmTool, kernel_shm_keys, shm_names,  # noqa: F401 (fixture)
                             skey)

SHM_DEST = 0o1000


def test_rmid_while_attached_on_several_nodes(cluster, skey):
    c = cluster
    sh = ShmTool(c)
    sid = sh.create("node1", skey, 3 * PAGE, "640")
    s1 = sh.session("node1", skey)
    s2 = sh.session("node2", skey)
    s3 = sh.session("node3", skey)
    assert s1.id == s2.id == s3.id == sid
    s2.must("w 0 before-rmid")
    sh.wait_nattch("node1", sid, 3)
    for n in c.nodes:
        assert sem_name(skey) in shm_names(c, n), n

    sh.must("node3", "rm", hex(skey))
    st = sh.stat("node2", "id:%d" % sid)
    assert st["mode"] == SHM_DEST | 0o640 and st["key"] == 0 and st["nattch"] == 3, st
    for n in c.nodes:
        r = sh(n, "get", hex(skey), 0, "0")
        assert r.errno == "ENOENT", (n, r)
    # still usable everywhere, strictly
    assert s3.text(0, 11) == "before-rmid"
    s1.must("w %d after-rmid" % (PAGE + 8))
    assert s2.text(PAGE + 8, 10) == "after-rmid"
    assert s3.stat()["mode"] & SHM_DEST
    # the key is free for a new segment meanwhile
    sid2 = sh.create("node2", skey, PAGE)
    assert sid2 != sid
    assert sh.peek("node3", skey, 0) == 0
    sh.must("node3", "rm", hex(skey))

    s2.quit()
    sh.wait_nattch("node1", sid, 2)
    s1.quit()
    sh.wait_nattch("node3", sid, 1)
    assert s3.text(PAGE + 8, 10) == "after-rmid"
    s3.quit()

    # destroyed at the last detach: stale id everywhere, gone from the listing
    for n in c.nodes:
        r = sh(n, "stat", "id:%d" % sid)
        assert r.errno == "EINVAL", (n, r)
        r = sh(n, "peek", "id:%d" % sid, 0)
        assert r.errno == "EINVAL", (n, r)
        assert sem_name(skey) not in shm_names(c, n), n
    assert skey not in kernel_shm_keys()


def test_rmid_destroys_at_last_detach_of_a_killed_process(cluster, skey):
    """The last attach goes away with a process killed by SIGKILL on another node."""
    sh = ShmTool(cluster)
    sid = sh.create("node2", skey, PAGE)
    h = sh.start("node3", "hold", hex(skey), 60)
    h.wait_line_prefix("attached")
    sh.wait_nattch("node2", sid, 1)
    sh.must("node1", "rm", "id:%d" % sid)
    assert sh.stat("node1", "id:%d" % sid)["nattch"] == 1
    h.kill9()

    def gone():
        return sh("node1", "stat", "id:%d" % sid).errno == "EINVAL"

    wait_until(gone, 10, "segment destroyed after its last holder was killed")
    for n in cluster.nodes:
        assert sem_name(skey) not in shm_names(cluster, n)


def test_nattch_fork_exit_across_nodes(cluster, skey):
    c = cluster
    sh = ShmTool(c)
    sid = sh.create("node1", skey, PAGE)
    holder = sh.start("node2", "hold", hex(skey), 60)
    holder.wait_line_prefix("attached")
    sh.wait_nattch("node1", sid, 1)

    fh = sh.start("node3", "forkhold", hex(skey))
    fh.wait_line_prefix("forked")
    # the parent's attach and the child's inherited one, counted on every node
    for n in c.nodes:
        assert sh.stat(n, "id:%d" % sid)["nattch"] == 3, n
    assert sh.peek("node1", skey, 8) == 1  # the child's store through its inherited attach
    fh.release()  # both exit: both detach
    r = fh.finish(timeout=20)
    assert r.ok, r
    sh.wait_nattch("node1", sid, 1)
    assert sh.stat("node2", "id:%d" % sid)["nattch"] == 1

    holder.release()
    r = holder.finish(timeout=20)
    assert r.ok and "detached" in r.out, r
    sh.wait_nattch("node3", sid, 0)


def test_nattch_exec_and_kill_across_nodes(cluster, skey):
    c = cluster
    sh = ShmTool(c)
    sid = sh.create("node2", skey, PAGE)
    holder = sh.start("node1", "hold", hex(skey), 60)
    holder.wait_line_prefix("attached")
    sh.wait_nattch("node2", sid, 1)

    ex = sh.start("node3", "execsleep", hex(skey), 30)
    ex.wait_line_prefix("attached")
    # exec drops the attach while the process (now sleep) runs on
    sh.wait_nattch("node1", sid, 1)
    assert ex.running()
    assert sh.peek("node2", skey, 12) == 1  # its store before exec survived
    ex.signal(signal.SIGKILL)
    ex.p.wait(timeout=10)
    assert sh.stat("node3", "id:%d" % sid)["nattch"] == 1

    # killed while attached
    h3 = sh.start("node3", "hold", hex(skey), 60)
    h3.wait_line_prefix("attached")
    sh.wait_nattch("node1", sid, 2)
    h3.kill9()
    sh.wait_nattch("node2", sid, 1)
    holder.kill9()
    sh.wait_nattch("node3", sid, 0)
    st = sh.stat("node1", "id:%d" % sid)
    assert st["dtime"] > 0 and st["atime"] > 0, st
    assert dipc_is_id(sid) and skey not in kernel_shm_keys()
