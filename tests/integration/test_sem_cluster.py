# SPDX-License-Identifier: MIT
"""One key space across the cluster: creation, ids, removal, inspection."""

import os
import pwd
import grp
import re
import stat
import subprocess
import time

import pytest

from cluster import dipc_is_id, kernel_sem_keys, sem_name
from catfmt import parse_sem_cat
from semtool import SemTool


def test_cluster_file_lists_every_node(cluster):
    for n in cluster.nodes:
        st = cluster.cluster_state(n)
        assert st["node"] == n
        assert st["referee"] == (cluster.referee_addr, "connected")
        assert {p: v[1] for p, v in st["peers"].items()} == {m: "alive" for m in cluster.nodes}
        assert st["peers"]["node2"][0] == cluster.addr["node2"]


def test_key_is_one_object_on_every_node(cluster, key):
    st = SemTool(cluster)
    for n in cluster.nodes:
        r = st(n, "get", hex(key), 2, "0")
        assert r.errno == "ENOENT", r
    sid = st.create("node2", key, 2, "640")
    assert dipc_is_id(sid), sid
    assert key not in kernel_sem_keys(), "the set went to the kernel"
    for n in cluster.nodes:
        assert st.must(n, "get", hex(key), 2, "0").id == sid
        assert st(n, "create", hex(key), 2, "640", "excl").errno == "EEXIST"
        assert st(n, "get", hex(key), 3, "0").errno == "EINVAL"
    # a value written on one node is read on the others
    st.must("node3", "setall", sid, 7, 9)
    for n in cluster.nodes:
        assert st.getall(n, sid) == [7, 9]
        assert os.path.exists(cluster.sem_path(n, key))


@pytest.mark.deadline(300)
def test_creation_race_exactly_one_winner(cluster, key):
    """Three nodes semget(key, IPC_CREAT|IPC_EXCL) at the same instant, many times."""
    st = SemTool(cluster)
    rounds = 25
    for i in range(rounds):
        k = key + (i % 8)
        start_at = int(time.time() * 1000) + 150
        procs = {n: cluster.popen(n, st.argv(["create", hex(k), 1, "666", "excl"],
                                             ["-A", str(start_at)]))
                 for n in cluster.nodes}
        outs = {}
        for n, p in procs.items():
            out, err = p.communicate(timeout=30)
            outs[n] = (p.returncode, out.strip(), err.strip())
        winners = [n for n, o in outs.items() if o[0] == 0 and o[1].startswith("id=")]
        losers = [n for n, o in outs.items() if o[1] == "err EEXIST"]
        assert len(winners) == 1 and len(losers) == 2, "round %d: %r" % (i, outs)
        sid = int(outs[winners[0]][1][3:])
        assert dipc_is_id(sid)
        for n in cluster.nodes:
            assert st.must(n, "get", hex(k), 1, "0").id == sid, "round %d on %s" % (i, n)
        st.must(cluster.nodes[i % 3], "rmid", sid)
    assert not [k for k in kernel_sem_keys() if key <= k < key + 8]


def test_creation_race_without_excl_gives_one_set(cluster, key):
    st = SemTool(cluster)
    for i in range(5):
        k = key + i
        start_at = int(time.time() * 1000) + 150
        procs = [cluster.popen(n, st.argv(["create", hex(k), 2, "666"], ["-A", str(start_at)]))
                 for n in cluster.nodes]
        ids = set()
        for p in procs:
            out, err = p.communicate(timeout=30)
            assert p.returncode == 0 and out.startswith("id="), (out, err)
            ids.add(int(out.strip()[3:]))
        assert len(ids) == 1, "round %d: several sets for one key: %r" % (i, ids)


def test_stale_id_after_removal(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    st.must("node3", "op", sid, "0:+1")
    st.must("node2", "rmid", sid)
    for n in cluster.nodes:
        assert st(n, "getval", sid, 0).errno == "EINVAL"
        assert st(n, "op", sid, "0:+1").errno == "EINVAL"
        assert st(n, "rmid", sid).errno == "EINVAL"
        assert st(n, "get", hex(key), 1, "0").errno == "ENOENT"
        assert not os.path.exists(cluster.sem_path(n, key))
    # the key can be used again; the new set has a new id and the old id stays dead
    sid2 = st.create("node3", key, 1)
    assert sid2 != sid and dipc_is_id(sid2)
    assert st.getval("node1", sid2) == 0
    assert st(n, "getval", sid, 0).errno == "EINVAL"


def test_kernel_and_cluster_sets_side_by_side(cluster, key):
    """The same key names a kernel set (no IPC_DIPC) and a cluster set (IPC_DIPC)."""
    st = SemTool(cluster)
    kid = st.must("node1", "create", hex(key), 1, "600", "excl", opts=["-n"]).id
    did = st.create("node1", key, 1, "600")
    assert not dipc_is_id(kid), "kernel id %d is in the cluster range" % kid
    assert dipc_is_id(did)
    assert kernel_sem_keys().get(key) == kid
    st.must("node1", "setval", kid, 0, 7)
    st.must("node2", "setval", did, 0, 3)
    # ids route by themselves, through the shim or not
    assert st.getval("node1", kid) == 7
    assert st.getval(None, kid) == 7
    assert st.getval("node2", did) == 3
    assert st.getval("node3", did) == 3
    assert st(None, "getval", did, 0).errno == "EINVAL", "the kernel knows a cluster id?"
    assert st.must("node1", "get", hex(key), 1, "0", opts=["-n"]).id == kid
    assert st.must("node1", "get", hex(key), 1, "0").id == did
    # removing one leaves the other
    st.must("node2", "rmid", did)
    assert st.getval("node1", kid) == 7
    st.must("node1", "rmid", kid)
    assert key not in kernel_sem_keys()


def test_many_kernel_ids_never_look_like_cluster_ids(cluster, key):
    ids = []
    try:
        for i in range(64):
            r = subprocess.run(["ipcmk", "-S", "1"], capture_output=True, text=True, timeout=10)
            m = re.search(r"(\d+)", r.stdout)
            assert m, r
            ids.append(int(m.group(1)))
        assert not [i for i in ids if dipc_is_id(i)]
    finally:
        for i in ids:
            subprocess.run(["ipcrm", "-s", str(i)], timeout=10)


def test_ls_shows_mode_uid_gid(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 3, "640")
    st.must("node1", "ipcset", sid, "604", 65534, 65534)
    for n in cluster.nodes:
        s = os.stat(cluster.sem_path(n, key))
        assert stat.S_IFMT(s.st_mode) == stat.S_IFREG
        assert stat.S_IMODE(s.st_mode) == 0o604, oct(s.st_mode)
        assert (s.st_uid, s.st_gid) == (65534, 65534)
        assert abs(s.st_mtime - time.time()) < 300, "ls -l shows %s" % time.ctime(s.st_mtime)
        out = subprocess.run(["ls", "-l", os.path.join(cluster.mount(n), "sem")],
                             capture_output=True, text=True, timeout=10).stdout
        nobody = pwd.getpwuid(65534).pw_name
        nogroup = grp.getgrgid(65534).gr_name
        assert re.search(r"^-rw----r--\s+\d+\s+%s\s+%s\s.*\s%s$" % (nobody, nogroup, sem_name(key)),
                         out, re.M), out
    # IPC_PRIVATE sets appear as private.ID
    pid_ = st.create("node2", "private", 1, "600", excl=False)
    assert os.path.exists(os.path.join(cluster.mount("node3"), "sem", "private.%d" % pid_)), \
        os.listdir(os.path.join(cluster.mount("node3"), "sem"))
    st.must("node1", "rmid", pid_)
    assert not os.path.exists(os.path.join(cluster.mount("node3"), "sem", "private.%d" % pid_))


def test_cat_shows_values_owner_waiters_undo(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 3, "660")
    st.must("node2", "setall", sid, 4, 0, 2)
    waiter = st.start_op("node3", sid, "1:-2,0:-1")
    st.wait("node2", sid, 1, "ncnt", 1)
    holder = st.start_op("node2", sid, "2:-1:u", hold=True)
    holder.wait_line("held")
    for n in cluster.nodes:
        cat = parse_sem_cat(cluster.cat(cluster.sem_path(n, key)))
        f = cat["fields"]
        assert f["key"] == sem_name(key)
        assert int(f["id"]) == sid
        assert f["owner"] == "node1"
        assert f["mode"] == "0660"
        assert f["nsems"] == "3"
        assert [s["semval"] for s in cat["sems"]] == [4, 0, 1]
        assert [s["semncnt"] for s in cat["sems"]] == [0, 1, 0]
        assert cat["sems"][2]["sempid"] == "%d@node2" % holder.pid
        assert f["waiters"] == 1
        assert cat["waiters"] == [("%d@node3" % waiter.pid, "1:-2, 0:-1")], cat["waiters"]
        assert cat["undo"] == [("%d@node2" % holder.pid, "2:+1")], cat["undo"]
    assert waiter.running()
    st.must("node1", "op", sid, "1:+2")
    assert waiter.finish().ok
    holder.release()
    assert holder.finish().ok
    st.wait_val("node3", sid, 2, 2)
    cat = parse_sem_cat(cluster.cat(cluster.sem_path("node2", key)))
    assert [s["semval"] for s in cat["sems"]] == [3, 0, 2]
    assert cat["waiters"] == [] and cat["undo"] == []
    assert cat["fields"]["otime"] != "never"
