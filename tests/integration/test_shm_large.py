# SPDX-License-Identifier: MIT
"""Large segments: a 1 GiB segment costs each daemon only what is touched,
and a process whose page-by-page write islands pass vm.max_map_count keeps
working (the shim falls back to whole-segment write ownership)."""

import re
import pytest

from test_shm_common import PAGE, ShmTool, skey  # noqa: F401 (fixture)

GIB = 1 << 30


def max_map_count():
    with open("/proc/sys/vm/max_map_count") as f:
        return int(f.read())


def rss_anon_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


@pytest.mark.deadline(240)
def test_gib_segment_sparse_and_past_max_map_count(cluster, skey):
    c = cluster
    sh = ShmTool(c)
    sh.create("node1", skey, GIB)
    # islands: one writable page in two; past max_map_count / 2 of them the
    # per-page mprotects run out of mappings
    islands = max_map_count() // 2 + 2000
    assert 2 * islands * PAGE < GIB
    r = sh("node2", "stride", hex(skey), 0, islands, 2, 1000, timeout=200)
    assert r.ok and r.out.strip() == "ok pages=%d" % islands, r
    # node2's process ran out of mappings and took the whole segment
    with open("%s/shmstat/0x%08x" % (c.mount("node1"), skey)) as f:
        status = f.read()
    assert re.search(r"^node2 +0-%d +-$" % (GIB // PAGE - 1), status, re.M), status
    # the stores are seen elsewhere, also at the far end of the segment
    for node in ("node1", "node3"):
        assert sh.peek(node, skey, 0) == 1000
        assert sh.peek(node, skey, 2 * (islands - 1) * PAGE) == 1000 + islands - 1
    r = sh("node3", "stride", hex(skey), GIB // PAGE - 3, 2, 1, 7)
    assert r.ok, r
    assert sh.peek("node1", skey, GIB - 2 * PAGE) == 8
    # no daemon holds the segment in its heap (its copy is a sparse memfd)
    for node in c.nodes:
        kib = rss_anon_kib(c.daemons[node].pid)
        assert kib < 128 * 1024, "%s: %d KiB of anonymous memory" % (node, kib)
    sh.must("node1", "rm", hex(skey))
