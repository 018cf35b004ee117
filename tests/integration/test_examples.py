# SPDX-License-Identifier: MIT
"""The shipped example (examples/sem_pingpong.c), natively and across two nodes."""

import os

from cluster import dipc_is_id, kernel_sem_keys


def example(c):
    p = os.path.join(c.build, "examples", "sem_pingpong")
    assert os.path.exists(p), "%s is not built" % p
    return p


def play(c, pong_node, ping_node, key, rounds=20):
    ex = example(c)
    pong = c.popen(pong_node, [ex, "pong", str(rounds), hex(key)])
    ping = c.popen(ping_node, [ex, "ping", str(rounds), hex(key)])
    po, pe = ping.communicate(timeout=60)
    qo, qe = pong.communicate(timeout=60)
    assert ping.returncode == 0, (po, pe)
    assert pong.returncode == 0, (qo, qe)
    assert po.count("ping ->") == rounds and "game over, set removed" in po, po
    assert qo.count("<- pong") == rounds, qo
    return po, qo


def test_example_across_two_nodes(cluster, key):
    po, qo = play(cluster, "node2", "node1", key)
    sid = int(po.split("(id ")[1].split(")")[0])
    assert dipc_is_id(sid), po
    assert key not in kernel_sem_keys()
    assert not os.path.exists(cluster.sem_path("node3", key))


def test_example_natively(cluster, key):
    po, qo = play(cluster, None, None, key)
    sid = int(po.split("(id ")[1].split(")")[0])
    assert not dipc_is_id(sid)
