# SPDX-License-Identifier: MIT
"""The shipped shared-memory example (examples/shm/matmul), natively and across nodes.

A coordinator creates ONE segment holding A, B and C and a semaphore set;
workers started on node1..node3 compute bands of C's rows straight into the
segment; the coordinator checks C element by element.  The same binary runs
natively (all processes on the kernel's segment) and through the shim, and
both must give the checksum this module computes on its own.  Through the
shim the segment and the set must be the cluster's (dipc ids, no kernel
object with the key, gone from every mount at the end), in page mode,
segment mode and with the nodes in different modes.

Also home of what the shared-memory test modules share: `skey` (a fixture:
a base key with 15 free keys after it, unused by the kernel's segments and
semaphore sets, kernel leftovers removed afterwards), kernel_shm_keys() and
shm_path().
"""

import functools
import os
import random
import re
import subprocess
import time

import pytest

from cluster import dipc_is_id, kernel_sem_keys, sem_name

N = 128
MASK = (1 << 64) - 1


def kernel_shm_keys():
    """Keys of the kernel's own segments (from /proc/sysvipc/shm): {key: shmid}."""
    keys = {}
    with open("/proc/sysvipc/shm") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts:
                keys[int(parts[0]) & 0xFFFFFFFF] = int(parts[1])
    return keys


def shm_path(c, node, key):
    """MOUNT/shm/0xKKKKKKKK of a keyed segment on node."""
    return os.path.join(c.mounts[node], "shm", sem_name(key))


_used = set()


@pytest.fixture
def skey():
    def busy(k):
        used = list(kernel_shm_keys()) + list(kernel_sem_keys())
        return k in _used or any(k <= u < k + 16 for u in used)

    k = 0x5D1C0000 + random.randrange(1, 0xFFF) * 16
    while busy(k):
        k = 0x5D1C0000 + random.randrange(1, 0xFFF) * 16
    _used.add(k)
    yield k
    # never leave kernel objects behind (native runs create them)
    for u, shmid in kernel_shm_keys().items():
        if k <= u < k + 16:
            subprocess.run(["ipcrm", "-m", str(shmid)], capture_output=True)
    for u, semid in kernel_sem_keys().items():
        if k <= u < k + 16:
            subprocess.run(["ipcrm", "-s", str(semid)], capture_output=True)


@functools.lru_cache(maxsize=None)
def expected_checksum(n):
    """matmul.c's checksum of C = A x B, computed here independently."""
    a = [[(i * 7 + k * 3) % 17 - 8 for k in range(n)] for i in range(n)]
    b = [[(k * 5 + j * 11) % 13 - 6 for j in range(n)] for k in range(n)]
    s = 0
    for i in range(n):
        row = [0] * n
        for k in range(n):
            x = a[i][k]
            if x:
                row = [r + x * y for r, y in zip(row, b[k])]
        for j, v in enumerate(row):
            idx = i * n + j
            s += (v & MASK) * (2 * idx + 1)
    return s & MASK


def example(c):
    p = os.path.join(c.build, "examples", "shm", "matmul")
    assert os.path.exists(p), "%s is not built" % p
    return p


def finish(p, what, timeout=60):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, "%s exited %s: %r %r" % (what, p.returncode, out, err)
    return out


def run_matmul(c, key, coord_node, worker_nodes, n=N):
    """Coordinator on coord_node, worker i on worker_nodes[i] (None: natively).
    Returns (shmid, semid, seconds)."""
    mm = example(c)
    w = len(worker_nodes)
    t0 = time.monotonic()
    co = c.popen(coord_node, [mm, "coord", str(n), str(w), hex(key)])
    first = co.stdout.readline()
    assert first.startswith("matmul: segment id "), (first, co.poll())
    shmid = int(first.split("segment id ")[1].split()[0])
    semid = int(first.split("semaphores id ")[1].split(";")[0])
    workers = [c.popen(node, [mm, "worker", str(i), hex(key)])
               for i, node in enumerate(worker_nodes)]
    for i, p in enumerate(workers):
        out = finish(p, "worker %d" % i)
        assert "matmul: worker %d: rows " % i in out, out
    out = finish(co, "coordinator")
    secs = time.monotonic() - t0
    want = expected_checksum(n)
    assert ("matmul: C = A x B (%dx%d) by %d workers: checksum 0x%016x (expected 0x%016x),"
            " 0 wrong elements, %d of %d rows reported" % (n, n, w, want, want, n, n)) in out, out
    for i, node in enumerate(worker_nodes):  # each worker's report, from where it ran
        assert re.search(r"matmul: worker %d \(pid \d+ on %s\): rows \d+-\d+, checksum ok"
                         % (i, node or "local"), out), out
    return shmid, semid, secs


def test_matmul_natively(cluster, skey):
    shmid, semid, _ = run_matmul(cluster, skey, None, [None, None, None])
    assert not dipc_is_id(shmid) and not dipc_is_id(semid)
    assert skey not in kernel_shm_keys() and skey not in kernel_sem_keys()


MODES = {
    "page": ("page", "page", "page"),
    "segment": ("segment", "segment", "segment"),
    "mixed": ("page", "segment", "page"),
}


@pytest.mark.parametrize("modes", list(MODES))
def test_matmul_across_three_nodes(make_cluster, skey, modes):
    """Coordinator on node1 (the segment's owner), workers on node1..node3."""
    c = make_cluster(nodes=3, conf={"node.node%d" % (i + 1): {"shm_mode": m}
                                    for i, m in enumerate(MODES[modes])})
    shmid, semid, secs = run_matmul(c, skey, "node1", ["node1", "node2", "node3"])
    assert dipc_is_id(shmid), "segment %d is not a cluster segment" % shmid
    assert dipc_is_id(semid), "set %d is not a cluster set" % semid
    assert skey not in kernel_shm_keys() and skey not in kernel_sem_keys()
    for n in c.nodes:
        assert not os.path.exists(shm_path(c, n, skey))
        assert os.listdir(os.path.join(c.mounts[n], "shm")) == []
    print("matmul %dx%d, 3 workers on 3 nodes, %s mode: %.2f s" % (N, N, modes, secs))


def test_matmul_workers_first_four_workers(cluster, skey):
    """Workers may start before the coordinator (they create the set and
    wait for their ticket); two workers share node2."""
    c = cluster
    mm = example(c)
    nodes = ["node2", "node3", "node2", "node1"]
    workers = [c.popen(node, [mm, "worker", str(i), hex(skey)]) for i, node in enumerate(nodes)]
    co = c.popen("node3", [mm, "coord", "96", "4", hex(skey)])
    for i, p in enumerate(workers):
        finish(p, "worker %d" % i)
    out = finish(co, "coordinator")
    want = expected_checksum(96)
    assert "checksum 0x%016x (expected 0x%016x), 0 wrong elements, 96 of 96 rows" \
        % (want, want) in out, out
    shmid = int(out.split("segment id ")[1].split()[0])
    assert dipc_is_id(shmid)
    assert skey not in kernel_shm_keys() and skey not in kernel_sem_keys()
