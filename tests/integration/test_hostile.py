# SPDX-License-Identifier: MIT
"""Bad input gets a clear error and loses nothing.

Malformed ioctls on the control file, garbage and oversize frames on the
node and referee ports, a peer with the wrong secret: each is refused, the
daemons stay up, and the cluster keeps working (a set created before the
attack keeps its value, and new operations succeed)."""

import os
import socket
import struct
import time

from cluster import wait_until

EXPECTED = {
    "wrong_size": "ENOTTY",
    "unknown_nr": "ENOTTY",
    "other_magic": "ENOTTY",
    "no_payload": "EINVAL",
    "bad_version": "EPROTO",
    "bad_kind": "EINVAL",
    "semop_nsops_over_struct": "E2BIG",
    "semop_unknown_id": "EINVAL",
    "semop_kernel_id": "EINVAL",
    "setall_too_many": "EINVAL",
    "semarray_bad_cmd": "EINVAL",
    "msgsnd_size_over_struct": "EINVAL",
    "msgsnd_staged_nothing_staged": "EINVAL",
    "msgrcv_size_over_struct": "EINVAL",
    "staged_write_over_msgmax": "EINVAL",
    "shmat_unknown_id": "EINVAL",
    "shmdt_not_attached": "EINVAL",
    "shmfault_unknown_id": "EIDRM",
    "shmctl_unknown_id": "EINVAL",
    "shmwait_probe_bogus_ack": "0",
    "read_nothing": "0",
}


def semtool(cluster, node, *args):
    return cluster.run(node, [cluster.prog("semtool")] + [str(a) for a in args])


def make_set(cluster, key):
    r = semtool(cluster, "node1", "create", hex(key), 1, "0600")
    assert r.returncode == 0, r.stdout + r.stderr
    r = semtool(cluster, "node1", "setval", "k:%s" % hex(key), 0, 7)
    assert r.returncode == 0, r.stdout + r.stderr


def value(cluster, node, key):
    r = semtool(cluster, node, "getval", "k:%s" % hex(key), 0)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip().split("=", 1)[1]


def test_malformed_ioctls_are_refused_and_nothing_is_lost(cluster, key):
    make_set(cluster, key)
    before = value(cluster, "node2", key)
    for node in ("node1", "node2"):
        r = cluster.run(None, [cluster.prog("badioctl"), cluster.mount(node)])
        assert r.returncode == 0, r.stderr
        got = dict(line.split(": ", 1) for line in r.stdout.splitlines())
        for case, errno in EXPECTED.items():
            want = "ret=-1 errno=%s" % errno if errno != "0" else "ret=0 errno=0"
            assert got.get(case) == want, "%s on %s: %r" % (case, node, got.get(case))
    cluster._check_alive()
    assert value(cluster, "node3", key) == before


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def attack(addr, data, linger=0.2):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    try:
        s.sendall(data)
        time.sleep(linger)
        # The daemon closes on us; reading returns EOF (or reset) rather than hanging.
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()


def test_garbage_and_oversize_frames_close_the_connection_only(cluster, key):
    make_set(cluster, key)
    cluster.allow_stderr(r"rejected|bad frame|closing|oversize|malformed|handshake|EMSGSIZE|unpack")
    targets = [cluster.referee_addr, cluster.addr["node1"], cluster.addr["node2"]]
    for addr in targets:
        attack(addr, os.urandom(64))                       # random bytes
        attack(addr, struct.pack(">I", 0x7fffffff))        # a 2 GiB frame announced
        attack(addr, frame(b"\x0a\xff\xff\xff\xff\x0f"))   # a body that does not unpack
        attack(addr, frame(b""))                           # an empty frame
    cluster._check_alive()
    # Still one cluster, still the same value, still usable from every node.
    assert value(cluster, "node2", key) == "7"
    r = semtool(cluster, "node3", "op", "k:%s" % hex(key), "0:-1")
    assert r.returncode == 0, r.stderr
    assert value(cluster, "node1", key) == "6"


def test_a_peer_without_the_secret_is_not_admitted(cluster, key):
    make_set(cluster, key)
    cluster.allow_stderr(r"rejected|secret|MAC|auth|handshake")
    conf = cluster.write_conf("wrong.conf", {"cluster": {"secret": "not-the-cluster-secret-0000"},
                                            "node.node4": {"listen": "127.0.0.1:1"}})
    intruder = os.path.join(cluster.dir, "node4")
    os.mkdir(intruder)
    p = cluster.popen(None, [cluster.mount_bin, "dipc", intruder, "-f", "-o",
                             "conf=%s,node=node4" % conf])
    try:
        # It never joins: the other nodes never list it.
        time.sleep(1.0)
        for n in cluster.nodes:
            assert "node4" not in cluster.cat(os.path.join(cluster.mount(n), "cluster"))
    finally:
        p.terminate()
        p.wait(timeout=10)
        if os.path.ismount(intruder):
            os.system("fusermount3 -u -z %s" % intruder)
    cluster._check_alive()
    assert value(cluster, "node3", key) == "7"
