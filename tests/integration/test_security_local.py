# SPDX-License-Identifier: MIT
"""A hostile or changing local caller, against real daemons (issue 9).

- A privilege drop counts at once: tests/progs/dropperm drops from root with
  seteuid and setresuid, waits 0, 100 and 1000 ms and tries root's 0600 set,
  queue and segment; natively and through dipcfs it prints the same.
- MOUNT/.control handles are bounded ([limits] control_handles_per_process,
  control_handles, staged_bytes): nobody staging 200 texts of 4 MiB gets
  ENOMEM once the node's bytes are taken, the daemon's memory stays bounded,
  and a legitimate user keeps working meanwhile.
"""

import json
import os
import textwrap

from cluster import dipc_is_id
from compare import assert_same, check_native, run_prog
from semtool import SemTool

MIB = 1 << 20


def test_privilege_drop_native_vs_dipcfs(make_cluster, key):
    c = make_cluster(nodes=2)
    rn, idn = run_prog(c, None, c.prog("dropperm"), key)
    check_native(rn, idn, "dropperm")
    assert "dropped: sem IPC_STAT: ret=-1 errno=EACCES" in rn.stdout
    rd, idd = run_prog(c, "node1", c.prog("dropperm"), key + 4)
    assert rd.returncode == 0, rd.stdout[-2000:] + rd.stderr
    assert idd and all(dipc_is_id(i) for i in idd.values()), idd
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node1", "dropperm")


# Run as nobody: open N handles of MOUNT/.control and write SIZE bytes to
# each, in 1 MiB writes; print one JSON line of what each handle got ("ok",
# or the errno name at "open" or "write"), then hold the handles until stdin
# closes.
HOLDER = textwrap.dedent("""
    import errno, json, os, sys
    path, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    fds, got, chunk = [], [], b"x" * (1 << 20)
    for i in range(n):
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError as e:
            got.append("open " + errno.errorcode[e.errno])
            continue
        fds.append(fd)
        done, res = 0, "ok"
        while done < size:
            try:
                done += os.write(fd, chunk[:min(len(chunk), size - done)])
            except OSError as e:
                res = "write " + errno.errorcode[e.errno]
                break
        got.append(res)
    print(json.dumps(got), flush=True)
    sys.stdin.read()
""")


def hold_handles(c, node, n, size):
    """Start nobody holding n handles of size bytes; returns (proc, results)."""
    p = c.popen(None, ["/usr/bin/python3", "-c", HOLDER, os.path.join(c.mount(node), ".control"),
                       str(n), str(size)], user="nobody")
    line = p.stdout.readline()
    assert line, "holder died: %s" % p.stderr.read()
    return p, json.loads(line)


def release(p):
    p.stdin.close()
    assert p.wait(timeout=30) == 0, p.stderr.read()


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS for %d" % pid)


def legit_user_works(c, key):
    """A user of the node, unaffected: a set made, operated on, removed."""
    st = SemTool(c)
    sid = st.create("node1", key, 1, "600")
    assert st.op("node1", sid, "0:+1").ok
    assert st.getval("node2", sid) == 1
    st.must("node1", "rmid", sid)


def test_staged_bytes_bounded(make_cluster, key):
    """200 handles x 4 MiB as nobody (824 MiB of daemon before the limit)."""
    c = make_cluster(nodes=2, conf={"limits": {"msgmax": 4 * MIB, "max_frame": 8 * MIB}})
    pid = c.daemons["node1"].pid
    before = rss_mib(pid)
    p, got = hold_handles(c, "node1", 200, 4 * MIB)
    # The node's 64 MiB (staged_bytes' default) hold 16 whole texts.
    assert got[:16] == ["ok"] * 16, got[:20]
    assert set(got[16:]) == {"write ENOMEM"}, sorted(set(got[16:]))
    grown = rss_mib(pid) - before
    assert grown < 64 + 32, "daemon grew %.0f MiB" % grown
    legit_user_works(c, key)
    release(p)
    # Released: the bytes are the node's again, for anyone.
    p, got = hold_handles(c, "node1", 16, 4 * MIB)
    assert got == ["ok"] * 16, got
    release(p)
    legit_user_works(c, key + 1)


def test_handle_limits(make_cluster, key):
    c = make_cluster(nodes=2, conf={"limits": {"control_handles_per_process": 20,
                                               "control_handles": 30}})
    a, got_a = hold_handles(c, "node1", 25, 0)
    assert got_a == ["ok"] * 20 + ["open ENOMEM"] * 5, got_a
    b, got_b = hold_handles(c, "node1", 25, 0)
    assert got_b == ["ok"] * 10 + ["open ENOMEM"] * 15, got_b
    # root (CAP_SYS_ADMIN) may go past the node's limit, as past fs.file-max;
    # another node is not affected at all
    legit_user_works(c, key)
    release(a)
    release(b)
    a, got_a = hold_handles(c, "node1", 20, 0)
    assert got_a == ["ok"] * 20, got_a
    release(a)


def test_userns_capabilities_grant_nothing(make_cluster, key):
    """nobody in a user namespace of its own (unshare -U -r) shows a full
    CapEff; the kernel still refuses it root's 0600 set, and so does dipcfs."""
    from semtool import Result
    c = make_cluster(nodes=2)
    st = SemTool(c)
    ksid = st.create(None, key, 1, "600")
    sid = st.create("node1", key + 1, 1, "600")
    for node, i in ((None, ksid), ("node1", sid)):
        for args, want in ((["stat", i], "EACCES"), (["setval", i, 0, 5], "EACCES"),
                           (["rmid", i], "EPERM")):
            r = Result(c.run(node, ["unshare", "-U", "-r"] + st.argv(args), user="nobody"))
            assert r.errno == want, (node, args, r)
    assert st.getval(None, ksid) == 0 and st.getval("node2", sid) == 0
    st.must(None, "rmid", ksid)
    st.must("node1", "rmid", sid)
