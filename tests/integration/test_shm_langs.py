# SPDX-License-Identifier: MIT
"""Python (sysv_ipc) and PHP (shmop, sysvshm) shared memory across nodes.

tests/langs/shm_demo.* write a NUL-terminated text at an offset of a
segment, read it, wait for it (polling with plain loads, no synchronisation)
and remove the segment.  What a writer in one language stores on node1 a
reader in the same or the other language must read on node2, and the other
way round; a waiter already looking at the segment on one node must see a
store made on another.  Every check makes sure the segment lives in the
cluster, not in the kernel (all "nodes" share this machine's kernel, where a
shim that missed a call would still make the demos work).

How each call becomes cluster-wide (see the demos): sysv_ipc's SharedMemory
and PHP's shmop_open(KEY, "c", 0666 | IPC_DIPC, SIZE) pass IPC_DIPC to
shmget(); shmop_open "a"/"w" and sysvshm's shm_attach() call shmget(KEY, 0, 0)
first, so the key policy (DIPC_KEYS) names the key for those.
"""

import os

import pytest

from cluster import REPO, dipc_is_id
from test_shm_examples import kernel_shm_keys, shm_path, skey  # noqa: F401 (fixture)

LANGS = os.path.join(REPO, "tests", "langs")
CMD = {
    "python": ["/usr/bin/python3", os.path.join(LANGS, "shm_demo.py")],
    "php": ["php", os.path.join(LANGS, "shm_demo.php")],
}


def lang_env(lang, role, key):
    # PHP's write passes IPC_DIPC; its other roles cannot (shmget(KEY, 0, 0))
    return {"DIPC_KEYS": hex(key)} if lang == "php" and role != "write" else {}


def argv(lang, role, key, args):
    return CMD[lang] + [role, hex(key)] + [str(a) for a in args]


def run(c, node, lang, role, key, *args):
    r = c.run(node, argv(lang, role, key, args), env=lang_env(lang, role, key), timeout=30)
    assert r.returncode == 0, "%s %s %s on %s: %r" % (lang, role, args, node, r)
    # Python reports the id (PHP's Shmop object does not show it); and no
    # kernel segment may have the key
    ids = [int(w[3:]) for w in r.stderr.split() if w.startswith("id=")]
    if node is not None:
        assert lang == "php" or (ids and dipc_is_id(ids[0])), \
            "%s %s on %s used a kernel segment: %r" % (lang, role, node, r.stderr)
        assert key not in kernel_shm_keys(), "%s %s on %s made a kernel segment" % (lang, role,
                                                                                   node)
    return r.stdout.strip()


def start(c, node, lang, role, key, *args):
    return c.popen(node, argv(lang, role, key, args), env=lang_env(lang, role, key))


def finish(p, what):
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, "%s exited %s: %r %r" % (what, p.returncode, out, err)
    return out.strip()


def gone_everywhere(c, key):
    assert key not in kernel_shm_keys()
    for n in c.nodes:
        assert not os.path.exists(shm_path(c, n, key)), "%s still has the segment" % n


PAIRS = [("python", "python"), ("php", "php"), ("python", "php"), ("php", "python")]


@pytest.mark.parametrize("w,r", PAIRS)
def test_write_on_one_node_read_on_another(cluster, skey, w, r):
    c = cluster
    # w creates the segment on node1 (three pages) and writes in its second page
    assert run(c, "node1", w, "write", skey, "from-" + w, 5000, 12000) == "wrote from-" + w
    assert os.path.exists(shm_path(c, "node1", skey))
    assert run(c, "node2", r, "read", skey, 5000) == "read from-" + w
    # and back: r writes on node2 in the first page, w reads on node1
    assert run(c, "node2", r, "write", skey, "reply-from-" + r, 100) == "wrote reply-from-" + r
    assert run(c, "node1", w, "read", skey, 100) == "read reply-from-" + r
    assert run(c, "node1", w, "read", skey, 5000) == "read from-" + w
    # a third node overwrites what both have read
    assert run(c, "node3", w, "write", skey, "third", 5000) == "wrote third"
    assert run(c, "node2", r, "read", skey, 5000) == "read third"
    assert run(c, "node1", r, "read", skey, 5000) == "read third"
    assert run(c, "node3", r, "rm", skey) == "removed"
    gone_everywhere(c, skey)


@pytest.mark.parametrize("w,r", [("php", "python"), ("python", "php")])
def test_waiter_sees_a_remote_store(cluster, skey, w, r):
    """The waiter has the page and keeps loading from it; the writer's store
    on another node must reach it (it is never told to look again)."""
    c = cluster
    run(c, "node1", w, "write", skey, "not-yet", 300)
    waiter = start(c, "node2", r, "wait", skey, "now", 300)
    first = waiter.stdout.readline().strip()
    assert first == "waiting, have 'not-yet'", (first, waiter.poll())
    run(c, "node3", w, "write", skey, "now", 300)
    assert finish(waiter, r + " wait") == "saw now"
    run(c, "node1", "python", "rm", skey)
    gone_everywhere(c, skey)


def test_php_sysvshm_variables(cluster, skey):
    c = cluster
    assert run(c, "node1", "php", "var-put", skey, 7, "seven on node1") == "put 7 seven on node1"
    assert os.path.exists(shm_path(c, "node1", skey))
    assert run(c, "node2", "php", "var-get", skey, 7) == "got 7 seven on node1"
    assert run(c, "node2", "php", "var-put", skey, 7, "seven again") == "put 7 seven again"
    assert run(c, "node2", "php", "var-put", skey, 8, "eight") == "put 8 eight"
    assert run(c, "node3", "php", "var-get", skey, 7) == "got 7 seven again"
    assert run(c, "node1", "php", "var-get", skey, 8) == "got 8 eight"
    assert run(c, "node3", "php", "rm", skey) == "removed"
    gone_everywhere(c, skey)


def test_demos_natively(cluster, skey):
    """The same demos against the kernel (no shim): they are ordinary programs."""
    c = cluster
    for w, r in PAIRS:
        k = skey + PAIRS.index((w, r))
        assert run(c, None, w, "write", k, "native-" + w, 5000, 12000) == "wrote native-" + w
        assert k in kernel_shm_keys()
        assert run(c, None, r, "read", k, 5000) == "read native-" + w
        assert run(c, None, r, "rm", k) == "removed"
        assert k not in kernel_shm_keys()
    k = skey + 8
    assert run(c, None, "php", "var-put", k, 1, "one") == "put 1 one"
    assert run(c, None, "php", "var-get", k, 1) == "got 1 one"
    assert run(c, None, "python", "rm", k) == "removed"
