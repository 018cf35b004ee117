# SPDX-License-Identifier: MIT
"""Distributed segments as files: `ls -l MOUNT/shm/`, `cat`/`dd` of
MOUNT/shm/0xKKKKKKKK (reads see what programs on other nodes wrote, writes
are seen by programs attached on other nodes), and the status text
MOUNT/shmstat/0xKKKKKKKK."""

import os
import stat
import subprocess

from cluster import sem_name
from test_shm_common import PAGE, ShmTool, shm_path, skey, stat_line_re  # noqa: F401 (fixture)


def ls_line(c, node, key):
    r = subprocess.run(["ls", "-ln", os.path.join(c.mount(node), "shm")], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    for line in r.stdout.splitlines():
        if line.split()[-1:] == [sem_name(key)]:
            return line.split()
    raise AssertionError("%s not listed by ls -l on %s:\n%s" % (sem_name(key), node, r.stdout))


def test_ls_shows_size_mode_owner(cluster, skey):
    c = cluster
    sh = ShmTool(c)
    sh.create("node2", skey, 10000, "640")
    sh.must("node2", "ipcset", hex(skey), "604", 1234, 5678)
    for n in c.nodes:
        w = ls_line(c, n, skey)
        assert w[0] == "-rw----r--", (n, w)
        assert (w[2], w[3], w[4]) == ("1234", "5678", "10000"), (n, w)
        st = os.stat(shm_path(c, n, skey))
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o604, (n, st)
        assert (st.st_uid, st.st_gid, st.st_size) == (1234, 5678, 10000), (n, st)
    # a second segment with another size and mode, created elsewhere
    sh.create("node3", skey + 1, 3 * PAGE + 1, "600")
    w = ls_line(c, "node1", skey + 1)
    assert w[0] == "-rw-------" and (w[2], w[3], w[4]) == ("0", "0", str(3 * PAGE + 1)), w


def test_cat_and_dd_read_what_another_node_wrote(cluster, skey):
    c = cluster
    sh = ShmTool(c)
    size = 3 * PAGE + 100
    sh.create("node1", skey, size)
    sh.must("node2", "write", hex(skey), 0, "hello-from-node2")
    # written by a process still attached (and holding the page) on node3
    s3 = sh.session("node3", skey)
    s3.must("w %d second-page" % (PAGE + 5))
    s3.must("w %d tail" % (size - 4))

    r = subprocess.run(["cat", shm_path(c, "node1", skey)], capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    data = r.stdout
    assert len(data) == size
    assert data[:16] == b"hello-from-node2"
    assert data[PAGE + 5:PAGE + 16] == b"second-page"
    assert data[-4:] == b"tail"
    assert data[16:PAGE + 5] == bytes(PAGE + 5 - 16)

    r = subprocess.run(["dd", "if=" + shm_path(c, "node2", skey), "bs=1", "skip=%d" % (PAGE + 5),
                        "count=11", "status=none"], capture_output=True, timeout=20)
    assert r.returncode == 0 and r.stdout == b"second-page", r
    s3.quit()


def test_dd_write_seen_by_program_attached_elsewhere(cluster, skey):
    c = cluster
    sh = ShmTool(c)
    sh.create("node2", skey, 2 * PAGE)
    s3 = sh.session("node3", skey)
    # node3 has read the page: its copy must be invalidated by the write below
    assert s3.text(300, 7) == "......."
    s1 = sh.session("node1", skey, rdonly=True)
    assert s1.val(PAGE + 8) == 0
    r = subprocess.run(["dd", "of=" + shm_path(c, "node1", skey), "bs=1", "seek=300",
                        "conv=notrunc", "status=none"], input=b"DDWRITE", capture_output=True,
                       timeout=20)
    assert r.returncode == 0, r
    assert s3.text(300, 7) == "DDWRITE"
    assert sh.must("node2", "read", hex(skey), 300, 7).kv["text"] == "DDWRITE"
    # a second page, written through the file on node3, seen by node1's attach
    r = subprocess.run(["dd", "of=" + shm_path(c, "node3", skey), "bs=4", "seek=%d"
                        % ((PAGE + 8) // 4), "conv=notrunc", "status=none"],
                       input=(0x01020304).to_bytes(4, "little"), capture_output=True, timeout=20)
    assert r.returncode == 0, r
    assert s1.val(PAGE + 8) == 0x01020304
    # the file keeps its size
    assert os.stat(shm_path(c, "node2", skey)).st_size == 2 * PAGE
    s3.quit()
    s1.quit()


def test_shmstat_file(cluster, skey):
    """The status text of a segment (MOUNT/shmstat/0xKKKKKKKK): owner node and
    cluster-wide attach count.  The one place that knows its format."""
    c = cluster
    sh = ShmTool(c)
    sh.create("node2", skey, PAGE)
    holders = [sh.start(n, "hold", hex(skey), 60) for n in ("node1", "node3")]
    for h in holders:
        h.wait_line_prefix("attached")
    path = os.path.join(c.mount("node3"), "shmstat", sem_name(skey))
    text = c.cat(path)
    owner = stat_line_re("owner").search(text)
    nattch = stat_line_re("nattch").search(text)
    assert owner and owner.group(1) == "node2", text
    assert nattch and nattch.group(1) == "2", text
    for h in holders:
        h.release()
        assert h.finish(timeout=20).ok
