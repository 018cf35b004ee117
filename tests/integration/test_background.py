# SPDX-License-Identifier: MIT
"""Mounts as an operator makes them: in the background, and from fstab.

Every other module mounts with -f (unless DIPC_TEST_BACKGROUND=1), where
mount.dipcfs never forks.  Without -f, fuse_daemonize() forks once the mount
is up and the parent exits: a thread or a libuv thread-pool request started
before that exists only in the parent, and the daemon that serves never
gets it.  That happened (shm take-backs waited for ever for an invalidation
thread that was not there; a referee given by host name was never
resolved), so here each IPC kind runs across nodes whose daemons detached
(Cluster(background=True): no -f, -o log=FILE), a referee is named by host
name, and a node is mounted by a real `mount --fstab FILE MOUNTPOINT` and
unmounted with umount(8).

mount(8) runs /sbin/mount.<type> and looks nowhere else.  So that no file
outside the test's directory is created (other test runs on this machine
may use another build's mount.dipcfs), the fstab test runs mount(8) in a
private mount namespace (unshare -m) where a directory of the test's, with
mount.dipcfs linked to this build's binary, is bind-mounted over /sbin; the
mount and its daemon live in that namespace, and the test reaches them with
nsenter.
"""

import os
import re
import subprocess

import pytest

from cluster import dipc_is_id, kernel_msg_keys, kernel_sem_keys, subreaper_hold, \
    subreaper_release, wait_until
from semtool import SemTool
from test_msg_common import MsgTool, mkey, wait_cat  # noqa: F401
from test_shm_examples import kernel_shm_keys, run_matmul, shm_path, skey  # noqa: F401


def bg_cluster(make_cluster, **kw):
    c = make_cluster(background=True, **kw)
    for n in c.nodes:  # really detached: the daemon is not the process we started
        d = c.daemons[n]
        assert d.proc.launcher.returncode == 0, d.tail()
        assert d.pid != d.proc.launcher.pid
    return c


@pytest.mark.deadline(180)
def test_shm_matmul_across_background_mounts(make_cluster, skey):
    """Workers on the three nodes: every remote write is a take-back through
    the invalidation thread of the daemon that serves."""
    c = bg_cluster(make_cluster, nodes=3)
    shmid, semid, secs = run_matmul(c, skey, "node1", ["node1", "node2", "node3"])
    assert dipc_is_id(shmid) and dipc_is_id(semid)
    assert skey not in kernel_shm_keys() and skey not in kernel_sem_keys()
    for n in c.nodes:
        assert not os.path.exists(shm_path(c, n, skey))
    print("matmul across background mounts: %.2f s" % secs)


def test_sem_across_background_mounts(make_cluster, key):
    """A set owned by node1, a waiter parked on node3, woken by node2."""
    c = bg_cluster(make_cluster, nodes=3)
    st = SemTool(c)
    sid = st.create("node1", key, 2)
    assert dipc_is_id(sid) and key not in kernel_sem_keys()
    st.must("node2", "setall", sid, 0, 5)
    w = st.start_op("node3", sid, "0:-1")
    st.wait("node1", sid, 0, "ncnt", 1)
    assert w.running()
    assert st.op("node2", sid, "0:+2,1:-1").ok
    assert w.finish().ok
    for n in c.nodes:
        assert st.getall(n, sid) == [1, 4]
    st.must("node3", "rmid", sid)


def test_msg_across_background_mounts(make_cluster, mkey):
    """A queue owned by node2, a receiver parked on node3, a sender on node1."""
    c = bg_cluster(make_cluster, nodes=3)
    mt = MsgTool(c)
    qid = mt.create("node2", mkey)
    assert dipc_is_id(qid) and mkey not in kernel_msg_keys()
    w = mt.start_recv("node3", qid, 7)
    wait_cat(c, "node2", mkey, lambda s: len(s["receivers"]) == 1, what="a parked receiver")
    assert mt.send("node1", qid, 3, "not-this-one").ok
    assert mt.send("node1", qid, 7, "hello-from-node1").ok
    r = w.finish(timeout=10)
    assert r.ok and r.kv["text"] == "hello-from-node1", r
    assert mt.recv("node3", qid, 0, "n").kv["text"] == "not-this-one"
    mt.must("node1", "rmid", qid)


def test_referee_by_host_name_in_background(make_cluster, key):
    """The referee named "localhost:PORT": its address is resolved
    (uv_getaddrinfo, in libuv's thread pool) by the daemon that serves."""
    c = make_cluster(nodes=2, background=True, start=False)
    port = c.referee_addr.rsplit(":", 1)[1]
    c.groups["cluster"]["referee"] = "localhost:%s" % port
    c.conf_path = c.write_conf("dipc.conf")
    c.start()
    for n in c.nodes:
        assert c.cluster_state(n)["referee"] == ("localhost:%s" % port, "connected")
    st = SemTool(c)
    sid = st.create("node1", key, 1)
    st.must("node2", "setall", sid, 3)
    assert st.getall("node1", sid) == [3]


def test_log_file_and_pid(make_cluster):
    """-o log=FILE gets the lines of the detached daemon, the "mounted" line
    among them; SIGTERM unmounts and exits 0 (stop() checks both)."""
    c = bg_cluster(make_cluster, nodes=2)
    for n in c.nodes:
        d = c.daemons[n]
        with open(d.log_path) as f:
            text = f.read()
        assert re.search(r"^\S+ mount\.dipcfs\[%s\]: mounted %s as node %s \(peers reach it at %s\)$"
                         % (n, re.escape(c.mounts[n]), n, re.escape(c.addr[n])),
                         text, re.M), text
    c.kill_node("node2", sig=15, unmount=False)
    d = c.daemons["node2"]
    assert d.proc.returncode == 0, d.tail()
    assert not os.path.ismount(c.mounts["node2"])
    with open(d.log_path) as f:
        assert "signal 15: unmounting %s" % c.mounts["node2"] in f.read()


def test_errors_before_detaching_fail_the_command(make_cluster):
    """A listen address already taken: the command fails, and says why on
    its stderr (not in a log nobody reads)."""
    c = make_cluster(nodes=2, background=True)
    extra = os.path.join(c.dir, "extra")
    os.mkdir(extra)
    r = subprocess.run([c.mount_bin, "dipc", extra, "-o", "conf=%s,node=node2,listen=%s,log=%s"
                        % (c.conf_path, c.addr["node1"], os.path.join(c.dir, "extra.log"))],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "cannot listen on %s" % c.addr["node1"] in r.stderr, r.stderr
    assert not os.path.ismount(extra)


# ---- mount --fstab, in a private mount namespace ---------------------------


def ns_run(pid, argv, timeout=30, **kw):
    """argv in the mount namespace of process pid."""
    return subprocess.run(["nsenter", "-t", str(pid), "-m", "--"] + list(argv),
                          capture_output=True, text=True, timeout=timeout, **kw)


@pytest.mark.deadline(120)
def test_fstab_mount_and_umount(make_cluster, key, tmp_path):
    """node1 as usual; node2 from an fstab line, as at boot:
    `dipc MP dipcfs conf=...,node=node2,_netdev,nofail 0 0`."""
    c = make_cluster(nodes=2, background=True, start=False)
    c.start_referee()
    c.start_node("node1", wait=False)
    mp = c.mounts["node2"]
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    os.symlink(c.mount_bin, str(sbin / "mount.dipcfs"))
    fstab = tmp_path / "fstab"
    fstab.write_text("# written by test_background.py\n"
                     "dipc %s dipcfs conf=%s,node=node2,_netdev,nofail 0 0\n" % (mp, c.conf_path))
    subreaper_hold()  # the daemon mount(8)'s helper leaves becomes our child
    held = True
    holder = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "--", "sh", "-c",
         'mount --bind "$1" /sbin && mount --fstab "$2" "$3" && echo mounted && exec cat',
         "sh", str(sbin), str(fstab), mp],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        subreaper_release()
        held = False
        assert line == "mounted\n", (line, holder.stderr.read() if holder.poll() is not None else "")
        ns = holder.pid  # its mount namespace holds the mount
        r = ns_run(ns, ["findmnt", "-n", "-o", "SOURCE,FSTYPE", mp])
        assert r.stdout.split() == ["dipc", "fuse.dipcfs"], r
        assert not os.path.ismount(mp)  # not in ours: the namespace is private
        c.wait_ready(["node1"])

        def node2_ready():
            r = ns_run(ns, ["cat", os.path.join(mp, "cluster")])
            return r.returncode == 0 and "referee %s connected" % c.referee_addr in r.stdout \
                and re.search(r"^peer node1 \S+ alive$", r.stdout, re.M)
        wait_until(node2_ready, 30, "node2 (from fstab) ready")
        # one set, seen from both nodes; semtool on node2 runs in the namespace
        st = SemTool(c)
        sid = st.create("node1", key, 1)
        r = ns_run(ns, ["env", "LD_PRELOAD=%s" % c.shim, "DIPC_MOUNT=%s" % mp,
                        c.prog("semtool"), "setall", str(sid), "9"])
        assert r.returncode == 0 and r.stdout.strip() == "ok", r
        assert st.getall("node1", sid) == [9]
        daemon = [p for p in ns_pids(ns) if "mount.dipcfs" in cmdline(p)]
        assert len(daemon) == 1, daemon
        r = ns_run(ns, ["umount", mp])
        assert r.returncode == 0, r
        # detached from the mount.dipcfs that mount(8) ran: our child (we were
        # a subreaper then), so its exit status is ours to read
        status = wait_until(lambda: reaped(daemon[0]), 10, "the fstab daemon to exit after umount")
        assert os.waitstatus_to_exitcode(status[0]) == 0
        r = ns_run(ns, ["findmnt", mp])
        assert r.returncode != 0, r
    finally:
        if held:
            subreaper_release()
        for p in ns_pids(holder.pid) if holder.poll() is None else []:
            if p != holder.pid and "mount.dipcfs" in cmdline(p):
                os.kill(p, 15)
        if holder.poll() is None:
            subprocess.run(["nsenter", "-t", str(holder.pid), "-m", "--", "umount", "-l", mp],
                           capture_output=True, timeout=10)
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()
        holder.stderr.close()


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def reaped(pid):
    """The wait status of our child pid once it has exited, else None."""
    got, status = os.waitpid(pid, os.WNOHANG)
    return [status] if got else None


def ns_pids(pid):
    """Pids in the mount namespace of pid."""
    try:
        mine = os.readlink("/proc/%d/ns/mnt" % pid)
    except OSError:
        return []
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                if os.readlink("/proc/%s/ns/mnt" % e) == mine:
                    out.append(int(e))
            except OSError:
                pass
    return out
