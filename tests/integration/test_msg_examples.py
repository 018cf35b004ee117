# SPDX-License-Identifier: MIT
"""The shipped message-queue examples (examples/msg/), natively and across nodes."""

import os

from cluster import dipc_is_id, kernel_msg_keys
from test_msg_common import mkey, wait_cat  # noqa: F401 (fixture)


def example(c, name):
    p = os.path.join(c.build, "examples", "msg", name)
    assert os.path.exists(p), "%s is not built" % p
    return p


def finish(p, what, timeout=60):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, "%s exited %s: %r %r" % (what, p.returncode, out, err)
    return out


def pair(c, recv_node, send_node, key, count=5):
    rcv = c.popen(recv_node, [example(c, "msg_recv"), hex(key)])
    first = rcv.stdout.readline()
    assert first.startswith("msg_recv: waiting on queue"), first
    qid = int(first.split("(id ")[1].split(")")[0])
    if recv_node is not None:
        st = wait_cat(c, send_node, key, lambda s: len(s["receivers"]) == 1,
                      what="msg_recv parked")
        assert st["fields"]["owner"] == recv_node, st
    snd = c.popen(send_node, [example(c, "msg_send"), str(count), hex(key)])
    so = finish(snd, "msg_send")
    ro = finish(rcv, "msg_recv")
    assert so.count("msg_send: sent \"hello") == count and "sent bye" in so, so
    assert ro.count("msg_recv: got \"hello") == count, ro
    assert "bye after %d greetings; queue removed" % count in ro, ro
    return qid


def test_classic_pair_across_two_nodes(cluster, mkey):
    qid = pair(cluster, "node2", "node1", mkey)
    assert dipc_is_id(qid)
    assert mkey not in kernel_msg_keys()
    for n in cluster.nodes:
        assert not os.path.exists(cluster.msg_path(n, mkey))


def test_classic_pair_natively(cluster, mkey):
    qid = pair(cluster, None, None, mkey)
    assert not dipc_is_id(qid)
    assert mkey not in kernel_msg_keys()


def run_pipeline(c, key, n, placement):
    """placement: {role: [node, ...]} for square and add workers, source, sink."""
    pl = example(c, "pipeline")
    workers = [(role, c.popen(node, [pl, role, hex(key)]))
               for role in ("square", "add") for node in placement[role]]
    for role, p in workers:   # every worker has its queues before the work starts
        line = p.stdout.readline()
        assert line.endswith(": waiting for jobs\n"), (role, line)
    source = c.popen(placement["source"], [pl, "source", str(n), hex(key)])
    sink = c.popen(placement["sink"], [pl, "sink", str(n), hex(key)])
    so = finish(sink, "sink", timeout=120)
    assert finish(source, "source").strip() == "source: %d jobs sent" % n
    nw = len(workers)
    assert "sink: %d of %d results from %d workers, sum ok, 0 bad" % (n, n, nw) in so, so
    done = {"square": 0, "add": 0}
    for role, p in workers:
        out = finish(p, role + " worker")
        assert "then the queues were removed" in out, out
        done[role] += int(out.split(": ")[1].split()[0])
    assert done == {"square": n, "add": n}, done


def test_pipeline_across_three_nodes(cluster, mkey):
    run_pipeline(cluster, mkey, 3000, {"source": "node1", "sink": "node2",
                                       "square": ["node2", "node3", "node1"],
                                       "add": ["node3", "node1"]})
    assert not [k for k in kernel_msg_keys() if mkey <= k < mkey + 3]
    for n in cluster.nodes:
        assert os.listdir(os.path.join(cluster.mounts[n], "msg")) == []


def test_pipeline_natively(cluster, mkey):
    run_pipeline(cluster, mkey, 3000, {"source": None, "sink": None,
                                       "square": [None, None], "add": [None]})
    assert not [k for k in kernel_msg_keys() if mkey <= k < mkey + 3]
