# SPDX-License-Identifier: MIT
"""Which calls go to the cluster: IPC_DIPC, the key policy, the missing mount."""

import os

from cluster import dipc_is_id, kernel_sem_keys
from semtool import SemTool


def plain(st, node, *args, **kw):
    """semtool without IPC_DIPC: an unmodified SysV program."""
    return st(node, *args, opts=["-n"], **kw)


def test_without_flag_or_policy_calls_go_to_the_kernel(cluster, key):
    st = SemTool(cluster)
    with open(os.path.join(cluster.mount("node1"), ".policy")) as f:
        assert f.read().strip() == "none"
    kid = plain(st, "node1", "create", hex(key), 1, "600", "excl").id
    assert not dipc_is_id(kid)
    assert kernel_sem_keys().get(key) == kid
    assert not os.path.exists(cluster.sem_path("node1", key))
    # IPC_DIPC wins over policy "none"
    did = st.create("node1", key + 1, 1, "600")
    assert dipc_is_id(did) and key + 1 not in kernel_sem_keys()
    # DIPC_KEYS=none does not undo an explicit IPC_DIPC either
    r = st("node2", "get", hex(key + 1), 1, "0", env={"DIPC_KEYS": "none"})
    assert r.id == did
    st.must("node1", "rmid", kid)


def test_dipc_keys_all_distributes_an_unmodified_program(cluster, key):
    st = SemTool(cluster)
    env = {"DIPC_KEYS": "all"}
    sid = plain(st, "node1", "create", hex(key), 2, "600", "excl", env=env).id
    assert dipc_is_id(sid)
    assert key not in kernel_sem_keys()
    assert os.path.exists(cluster.sem_path("node3", key))
    assert plain(st, "node2", "get", hex(key), 2, "0", env=env).id == sid
    # IPC_PRIVATE too
    pid_ = plain(st, "node2", "create", "private", 1, "600", env=env).id
    assert dipc_is_id(pid_)
    assert os.path.exists(os.path.join(cluster.mount("node1"), "sem", "private.%d" % pid_))
    # and an unmodified ping-pong runs across two nodes
    pp = cluster.prog("pingpong")
    a = cluster.popen("node1", [pp, "-n", "ping", hex(key + 1), "100"], env=env)
    b = cluster.popen("node3", [pp, "-n", "pong", hex(key + 1), "100"], env=env)
    for p in (a, b):
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and "done rounds=100" in out, (out, err)
    assert key + 1 not in kernel_sem_keys()
    assert st.getall("node2", plain(st, "node2", "get", hex(key + 1), 3, "0", env=env).id) == \
        [0, 0, 200]


def test_dipc_keys_list(cluster, key):
    st = SemTool(cluster)
    env = {"DIPC_KEYS": "%s, %d-%d, private" % (hex(key), key + 4, key + 5)}
    expect = {key: True, key + 1: False, key + 4: True, key + 5: True, key + 6: False}
    for k, distributed in expect.items():
        sid = plain(st, "node2", "create", hex(k), 1, "600", "excl", env=env).id
        assert dipc_is_id(sid) == distributed, hex(k)
        assert (k in kernel_sem_keys()) != distributed, hex(k)
    assert dipc_is_id(plain(st, "node2", "create", "private", 1, "600", env=env).id)
    env2 = {"DIPC_KEYS": hex(key)}
    assert not dipc_is_id(plain(st, "node2", "create", "private", 1, "600", env=env2).id)


def test_policy_from_dipc_conf(make_cluster, key):
    c = make_cluster(nodes=2, conf={"policy": {"keys": "%s, private" % hex(key)}})
    st = SemTool(c)
    with open(os.path.join(c.mount("node2"), ".policy")) as f:
        assert f.read().strip() == "%s, private" % hex(key)
    sid = plain(st, "node1", "create", hex(key), 1, "600", "excl").id
    assert dipc_is_id(sid)
    assert plain(st, "node2", "get", hex(key), 1, "0").id == sid
    kid = plain(st, "node1", "create", hex(key + 1), 1, "600", "excl").id
    assert not dipc_is_id(kid)
    assert dipc_is_id(plain(st, "node2", "create", "private", 1, "600").id)
    # the environment overrides the file
    kid2 = plain(st, "node1", "create", hex(key + 2), 1, "600", "excl",
                 env={"DIPC_KEYS": "none"}).id
    assert not dipc_is_id(kid2)
    # ... also for lookups: with "none" the key is looked up in the kernel
    assert plain(st, "node1", "get", hex(key), 1, "0",
                 env={"DIPC_KEYS": "none"}).errno == "ENOENT"


def test_fallback_to_kernel_when_mount_missing(cluster, key, tmp_path):
    st = SemTool(cluster)
    empty = tmp_path / "not-a-mount"
    empty.mkdir()
    for where in ("/nonexistent/dipc", str(empty)):
        k = key if where.startswith("/non") else key + 1
        r = st("node1", "create", hex(k), 1, "600", "excl", env={"DIPC_MOUNT": where})
        assert r.ok, r
        assert not dipc_is_id(r.id)
        assert kernel_sem_keys().get(k) == r.id
        assert r.err.strip(), "no warning about the missing mount"
        # the whole process stays local: the kernel id works through the shim
        assert st.getval("node1", r.id) == 0
        r2 = st("node1", "create", hex(k + 4), 1, "600", "excl",
                env={"DIPC_MOUNT": where, "DIPC_REQUIRE": "1"})
        assert r2.errno == "ENOSYS", r2
        assert k + 4 not in kernel_sem_keys()


def test_dead_daemon_is_an_error_not_a_fallback(cluster, key):
    st = SemTool(cluster)
    sid = st.create("node1", key, 1)
    cluster.kill_node("node3", unmount=False)
    cluster.allow_stderr(r"node3")
    r = st("node3", "create", hex(key + 1), 1, "600", "excl")
    assert not r.ok, r
    assert key + 1 not in kernel_sem_keys(), "fell back to the kernel with a mount present"
    r = st("node3", "getval", sid, 0)
    assert not r.ok, r
    # the rest of the cluster carries on
    st.must("node2", "op", sid, "0:+1")
    assert st.getval("node1", sid) == 1
