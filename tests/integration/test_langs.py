# SPDX-License-Identifier: MIT
"""Python (sysv_ipc), Perl (IPC::SysV) and PHP (sysvsem) across nodes.

Each tests/langs/sem_demo.* is a cluster-wide mutex: "hold" takes it and
waits for a line on stdin, "acquire" blocks until it is free, "try" does not
block.  A process blocked in one language on one node must be woken when a
process in another (or the same) language on another node lets go.  Every
check also makes sure the set really lives in the cluster, not in the
kernel (all "nodes" share this machine's kernel, where a shim that missed
the calls would still make the demo work).
"""

import os

import pytest

from cluster import REPO, dipc_is_id, kernel_sem_keys
from semtool import SemTool

LANGS = os.path.join(REPO, "tests", "langs")
CMD = {
    "python": ["/usr/bin/python3", os.path.join(LANGS, "sem_demo.py")],
    "perl": ["perl", os.path.join(LANGS, "sem_demo.pl")],
    "php": ["php", os.path.join(LANGS, "sem_demo.php")],
}


def lang_env(lang, key):
    # sysv_ipc drops IPC_DIPC from its flags (see sem_demo.py): the key policy
    # makes the key cluster-wide for Python; Perl and PHP pass IPC_DIPC.
    return {"DIPC_KEYS": hex(key)} if lang == "python" else {}


def start(c, node, lang, role, key):
    return c.popen(node, CMD[lang] + [role, hex(key)], env=lang_env(lang, key))


def run(c, node, lang, role, key):
    return c.run(node, CMD[lang] + [role, hex(key)], env=lang_env(lang, key), timeout=30)


def read_line(p, want, what):
    line = p.stdout.readline().strip()
    if line != want:
        out, err = p.communicate(timeout=10)
        raise AssertionError("%s: expected %r, got %r; rest %r; stderr %r"
                             % (what, want, line, out, err))


def finish(p, what):
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, "%s exited %s: %r %r" % (what, p.returncode, out, err)
    return out.split()


def handoff(c, key, hold_lang, hold_node, wait_lang, wait_node, try_lang, try_node):
    st = SemTool(c)
    holder = start(c, hold_node, hold_lang, "hold", key)
    read_line(holder, "held", "%s hold on %s" % (hold_lang, hold_node))
    sid = st.must("node1", "get", hex(key), 1, "0").id
    assert dipc_is_id(sid) and key not in kernel_sem_keys(), "the set is not in the cluster"

    r = run(c, try_node, try_lang, "try", key)
    assert r.returncode == 0 and r.stdout.split() == ["busy"], \
        "%s try on %s while held: %r" % (try_lang, try_node, r)

    waiter = start(c, wait_node, wait_lang, "acquire", key)
    st.wait("node1", sid, 0, "ncnt", 1)
    assert waiter.poll() is None, "%s acquire on %s did not block: %r" % (
        wait_lang, wait_node, waiter.communicate(timeout=10))
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert finish(holder, "holder") == ["released"]
    assert finish(waiter, "waiter") == ["acquired", "released"]
    assert st.getval("node3", sid, 0) == 1
    assert key not in kernel_sem_keys()

    r = run(c, try_node, try_lang, "try", key)
    assert r.stdout.split() == ["acquired"], r


@pytest.mark.parametrize("lang", ["python", "perl", "php"])
def test_same_language_two_nodes(cluster, key, lang):
    """The language creates the set itself on node1; its waiter runs on node2."""
    handoff(cluster, key, lang, "node1", lang, "node2", lang, "node3")


@pytest.mark.parametrize("hold_lang,wait_lang,try_lang", [
    ("python", "php", "perl"),
    ("php", "perl", "python"),
    ("perl", "python", "php"),
    ("php", "php", "python"),
])
def test_mixed_languages(cluster, key, hold_lang, wait_lang, try_lang):
    """A set laid out for all three (PHP's 3 semaphores: mutex 1, users 1, lock 0),
    created by C on node3; holder on node1, waiter on node2, try on node3."""
    st = SemTool(cluster)
    sid = st.create("node3", key, 3, "666")
    st.setall("node3", sid, 1, 1, 0)
    handoff(cluster, key, hold_lang, "node1", wait_lang, "node2", try_lang, "node3")
    # PHP's usage count is back to our 1: every PHP process's SEM_UNDO was applied
    st.wait_val("node1", sid, 1, 1)
    assert st.getall("node2", sid) == [1, 1, 0]
