# SPDX-License-Identifier: MIT
"""`dipc`, the command for people (cli/), against a live 3-node cluster.

Every command is run as a user would run it: the built binary, no shim in
its own environment, the node chosen with --mount (or DIPC_MOUNT).  One
cluster serves the whole module (each test uses its own keys) to keep it
quick; the last test kills a node, to see `status` report it dead and a
dead mount's exit code.
"""

import json
import os
import re
import subprocess

import pytest

from cluster import Cluster, REPO, build_dir, wait_until
from conftest import preconditions

DIPC = os.path.join(build_dir(), "cli", "dipc")

# the exit codes of docs/cli.md
OK, ERROR, USAGE, NOTFOUND, PERM, NOMOUNT = 0, 1, 2, 3, 4, 5


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    problems = preconditions()
    if not os.path.exists(DIPC):
        problems.append("%s is missing: build first (ninja -C %s)" % (DIPC, build_dir()))
    if problems:
        pytest.fail("cannot run the dipc tests:\n  " + "\n  ".join(problems), pytrace=False)
    c = Cluster(nodes=3, tmpdir=str(tmp_path_factory.mktemp("cli-logs")))
    try:
        yield c
    finally:
        c.stop()


def dipc(c, node, *args, user=None, env=None, mount=True):
    """Run dipc "on" node (its mount), natively; returns CompletedProcess."""
    argv = [DIPC] + (["--mount", c.mount(node)] if mount and node else []) + list(args)
    e = c.native_env(**(env or {}))
    r = subprocess.run(c.as_user(argv, user), env=e, capture_output=True, text=True, timeout=30)
    return r


def dipc_json(c, node, *args, **kw):
    r = dipc(c, node, "--json", *args, **kw)
    assert r.returncode == OK, r
    return json.loads(r.stdout)


def make(c, node, kind, key, mode="600", user=None):
    """Create a sem set (2 semaphores), queue or 8 KiB segment on node; its id."""
    if kind == "sem":
        argv = [c.prog("semtool"), "create", hex(key), "2", mode]
    elif kind == "msg":
        argv = [c.msgprog("msgtool"), "create", hex(key), mode]
    else:
        argv = [c.prog("shmtool"), "create", hex(key), "8192", mode]
    r = c.run(node, argv, user=user)
    m = re.search(r"id=(\d+)", r.stdout)
    assert m, (argv, r.stdout, r.stderr)
    return int(m.group(1))


def listed(c, node, kind=None, user=None):
    """dipc ls --json [kind] on node: {(kind, key): object}."""
    return {(o["kind"], o["key"]): o
            for o in dipc_json(c, node, "ls", *([kind] if kind else []), user=user)}


def project_version():
    with open(os.path.join(REPO, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


# ---- the command line -------------------------------------------------------

def test_version_help_and_usage_errors(live):
    r = subprocess.run([DIPC, "--version"], capture_output=True, text=True)
    assert r.returncode == OK and r.stdout.strip() == "dipc " + project_version(), r
    r = subprocess.run([DIPC, "--help"], capture_output=True, text=True)
    assert r.returncode == OK
    for code in range(6):
        assert re.search(r"^\s+%d\s+\S" % code, r.stdout, re.M), r.stdout
    for argv in ([], ["frob"], ["ls", "--bogus"], ["ls", "queues"], ["stat"],
                 ["stat", "nope"], ["stat", "0"], ["rm", "sem", "1", "2"], ["run"],
                 ["run", "--keys", "0x12-zz", "true"], ["status", "extra"]):
        r = dipc(live, "node1", *argv)
        assert r.returncode == USAGE, (argv, r)
        assert r.stderr.strip(), argv  # says why


def test_mount_not_reachable(live, tmp_path):
    for argv in (["status"], ["ls"], ["stat", "0x1234"], ["rm", "0x1234"], ["--json", "ls"]):
        r = subprocess.run([DIPC, "--mount", str(tmp_path)] + argv, capture_output=True,
                           text=True, env=live.native_env())
        assert r.returncode == NOMOUNT, (argv, r)
        assert "not reachable" in r.stderr and str(tmp_path) in r.stderr, r.stderr


# ---- status -----------------------------------------------------------------

def test_status(live):
    st = dipc_json(live, "node2", "status")
    assert st["node"] == "node2"
    assert st["mount"] == live.mount("node2")
    assert st["referee"]["connected"] is True and st["referee"]["address"]
    assert st["listen"]
    assert {p["name"]: p["alive"] for p in st["peers"]} == \
        {"node1": True, "node2": True, "node3": True}
    assert isinstance(st["owned"], int) and isinstance(st["parked"], int)
    # the human form says the same; DIPC_MOUNT is the default mount
    r = dipc(live, "node2", "status", mount=False, env={"DIPC_MOUNT": live.mount("node2")})
    assert r.returncode == OK, r
    assert re.search(r"^node\s+node2$", r.stdout, re.M), r.stdout
    assert re.search(r"^referee\s+\S+ connected$", r.stdout, re.M), r.stdout
    assert re.search(r"^peers\s+3 alive, 0 dead$", r.stdout, re.M), r.stdout
    for n in ("node1", "node2", "node3"):
        assert re.search(r"^\s+%s\s+\S+\s+alive$" % n, r.stdout, re.M), r.stdout


# ---- run --------------------------------------------------------------------

def test_run(live, key):
    # a program under the shim on node2: its set is cluster-wide
    r = dipc(live, "node2", "run", live.prog("semtool"), "create", hex(key), "1", "600")
    assert r.returncode == OK, r
    sid = int(re.search(r"id=(\d+)", r.stdout).group(1))
    o = listed(live, "node1", "sem")[("sem", "0x%08x" % key)]
    assert o["id"] == sid and o["owner"] == "node2"
    # --mount of run, and --keys: a key without IPC_DIPC made distributed
    r = subprocess.run([DIPC, "run", "--mount", live.mount("node3"), "--keys", hex(key + 1),
                        live.prog("semtool"), "-n", "create", hex(key + 1), "1", "600"],
                       env=live.native_env(), capture_output=True, text=True, timeout=30)
    assert r.returncode == OK, r
    assert listed(live, "node1", "sem")[("sem", "0x%08x" % (key + 1))]["owner"] == "node3"
    # the environment is the shim's, and the status is the program's
    r = dipc(live, "node1", "run", "--keys", "0x10-0x20", "sh", "-c",
             'echo "$LD_PRELOAD|$DIPC_MOUNT|$DIPC_KEYS"; exit 7',
             env={"DIPC_SHIM": live.shim})
    assert r.returncode == 7, r
    assert r.stdout.strip() == "%s|%s|0x10-0x20" % (os.path.realpath(live.shim),
                                                    live.mount("node1")), r.stdout
    r = dipc(live, "node1", "run", "/nonexistent/prog")
    assert r.returncode == 127 and "/nonexistent/prog" in r.stderr, r
    # a shim that is not there is an error, not a silent run without it
    r = dipc(live, "node1", "run", "true", env={"DIPC_SHIM": "/nonexistent/libdipc.so"})
    assert r.returncode == ERROR and "/nonexistent/libdipc.so" in r.stderr, r
    for k in (key, key + 1):
        assert dipc(live, "node1", "rm", "sem", hex(k)).returncode == OK


# ---- ls and stat ------------------------------------------------------------

def test_ls(live, key):
    ids = {"sem": make(live, "node1", "sem", key, "640"),
           "msg": make(live, "node2", "msg", key + 1, "604"),
           "shm": make(live, "node3", "shm", key + 2, "644")}
    owners = {"sem": "node1", "msg": "node2", "shm": "node3"}
    for node in live.nodes:  # the same cluster-wide view from every node
        objs = listed(live, node)
        for i, kind in enumerate(("sem", "msg", "shm")):
            o = objs[(kind, "0x%08x" % (key + i))]
            assert o["id"] == ids[kind] and o["owner"] == owners[kind], o
            assert (o["uid"], o["gid"]) == (0, 0), o
        assert objs[("sem", "0x%08x" % key)]["mode"] == "0640"
        assert objs[("sem", "0x%08x" % key)]["nsems"] == 2
        assert objs[("msg", "0x%08x" % (key + 1))]["qnum"] == 0
        assert objs[("shm", "0x%08x" % (key + 2))]["segsz"] == 8192
    assert all(k == "msg" for k, _ in listed(live, "node1", "msg"))
    r = dipc(live, "node3", "ls")
    assert r.returncode == OK
    assert r.stdout.split("\n")[0].split() == ["KIND", "KEY", "ID", "OWNER", "MODE", "UID",
                                               "GID", "DETAIL"]
    assert re.search(r"^shm\s+0x%08x\s+%d\s+node3\s+0644\s+0\s+0\s+segsz=8192 nattch=0$"
                     % (key + 2, ids["shm"]), r.stdout, re.M), r.stdout
    # a user who may not read an object's status still sees it listed
    objs = listed(live, "node2", user="nobody")
    o = objs[("sem", "0x%08x" % key)]
    assert o["readable"] is False and o["mode"] == "0640" and o["owner"] is None
    assert objs[("msg", "0x%08x" % (key + 1))]["owner"] == "node2"
    for i, kind in enumerate(("sem", "msg", "shm")):
        assert dipc(live, "node1", "rm", kind, hex(key + i)).returncode == OK


def test_stat(live, key):
    sid = make(live, "node2", "sem", key)
    qid = make(live, "node3", "msg", key)       # the same key, another kind
    r = dipc(live, "node1", "stat", hex(key))
    assert r.returncode == ERROR and "sem" in r.stderr and "msg" in r.stderr, r
    # by kind and key: the status text as `cat` shows it
    r = dipc(live, "node1", "stat", "sem", hex(key))
    assert r.returncode == OK, r
    assert r.stdout == live.cat(live.sem_path("node1", key))
    # by id, kind-less; and parsed with --json
    for target in (str(sid), "id:%d" % sid):
        st = dipc_json(live, "node1", "stat", target)
        assert st["kind"] == "sem" and st["id"] == sid and st["owner"] == "node2", st
        assert st["key"] == "0x%08x" % key and st["nsems"] == 2 and st["mode"] == "0600"
        assert st["tables"][0]["columns"][:2] == ["sem", "semval"]
        assert len(st["tables"][0]["rows"]) == 2
    st = dipc_json(live, "node2", "stat", "msg", "key:%d" % key)
    assert st["id"] == qid and st["owner"] == "node3" and st["qnum"] == 0, st
    # a private set by its name
    pid_ = int(re.search(r"id=(\d+)", live.run(
        "node1", [live.prog("semtool"), "create", "private", "1", "600"]).stdout).group(1))
    st = dipc_json(live, "node3", "stat", "private.%d" % pid_)
    assert st["id"] == pid_ and st["key"] == "0x00000000" and st["owner"] == "node1"
    # not found; unreadable
    r = dipc(live, "node1", "stat", hex(key + 5))
    assert r.returncode == NOTFOUND and "0x%08x" % (key + 5) in r.stderr, r
    r = dipc(live, "node1", "stat", "sem", hex(key), user="nobody")
    assert r.returncode == PERM and "ermission denied" in r.stderr, r
    for argv in (["sem", hex(key)], ["msg", hex(key)], ["private.%d" % pid_]):
        assert dipc(live, "node1", "rm", *argv).returncode == OK, argv


# ---- rm ---------------------------------------------------------------------

def test_rm(live, key):
    ids = {"sem": make(live, "node1", "sem", key),
           "msg": make(live, "node2", "msg", key + 1),
           "shm": make(live, "node3", "shm", key + 2)}
    # by key (from another node than the owner), by id, by kind and id
    assert dipc(live, "node3", "rm", hex(key)).returncode == OK
    assert dipc(live, "node1", "rm", str(ids["msg"])).returncode == OK
    r = dipc(live, "node2", "rm", "shm", "id:%d" % ids["shm"])
    assert r.returncode == OK, r
    objs = listed(live, "node1")
    for i, kind in enumerate(("sem", "msg", "shm")):
        assert (kind, "0x%08x" % (key + i)) not in objs
    # the programs see them gone (the real IPC_RMID ran)
    r = live.run("node2", [live.prog("semtool"), "get", hex(key), "0", "0"])
    assert "ENOENT" in r.stdout, r
    # gone: not found
    r = dipc(live, "node1", "rm", "sem", hex(key))
    assert r.returncode == NOTFOUND, r
    r = dipc(live, "node1", "rm", str(ids["sem"]))
    assert r.returncode == NOTFOUND, r


def test_rm_refused_for_another_uid(live, key):
    sid = make(live, "node1", "sem", key, "600")         # root's, unreadable to nobody
    qid = make(live, "node2", "msg", key + 1, "666")     # root's, readable to all
    mine = make(live, "node3", "sem", key + 2, "600", user="nobody")
    # by key, by id of an object nobody cannot even read, and a readable one
    for node, argv in (("node2", ["sem", hex(key)]), ("node3", [str(sid)]),
                       ("node1", ["msg", hex(key + 1)]), ("node3", [str(qid)])):
        r = dipc(live, node, "rm", *argv, user="nobody")
        assert r.returncode == PERM, (argv, r)
        assert "Operation not permitted" in r.stderr and "65534" in r.stderr, r.stderr
    objs = listed(live, "node1")
    assert objs[("sem", "0x%08x" % key)]["id"] == sid
    assert objs[("msg", "0x%08x" % (key + 1))]["id"] == qid
    # nobody may remove its own; root may remove anyone's
    r = dipc(live, "node1", "rm", "sem", hex(key + 2), user="nobody")
    assert r.returncode == OK, r
    assert dipc(live, "node2", "rm", str(sid)).returncode == OK
    assert dipc(live, "node2", "rm", str(qid)).returncode == OK
    objs = listed(live, "node3")
    assert not any(o["id"] in (sid, qid, mine) for o in objs.values())


# ---- last: a dead node ------------------------------------------------------

def test_status_shows_a_dead_peer(live):
    live.allow_stderr(r".")  # the survivors log the loss
    live.kill_node("node3")

    def node3_dead():
        st = dipc_json(live, "node1", "status")
        return {p["name"]: p["alive"] for p in st["peers"]}.get("node3") is False
    wait_until(node3_dead, 15, "node1's dipc status to show node3 dead", interval=0.1)
    r = dipc(live, "node1", "status")
    assert re.search(r"^\s+node3\s+\S+\s+dead$", r.stdout, re.M), r.stdout
    assert re.search(r"^peers\s+2 alive, 1 dead$", r.stdout, re.M), r.stdout
    r = dipc(live, "node3", "status")
    assert r.returncode == NOMOUNT, r
