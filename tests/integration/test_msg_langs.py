# SPDX-License-Identifier: MIT
"""Python (sysv_ipc), Perl (IPC::SysV) and PHP (sysvmsg) message queues across nodes.

Each tests/langs/msg_demo.* sends, receives (blocking, with type selection),
polls and counts.  A receiver blocked in one language on one node must get
what a sender in another (or the same) language sends on another node, and
every check makes sure the queue lives in the cluster, not in the kernel
(all "nodes" share this machine's kernel, where a shim that missed a call
would still make the demo work).
"""

import os

import pytest

from cluster import REPO, dipc_is_id, kernel_msg_keys
from test_msg_common import MsgTool, mkey, wait_cat  # noqa: F401 (fixture)

LANGS = os.path.join(REPO, "tests", "langs")
CMD = {
    "python": ["/usr/bin/python3", os.path.join(LANGS, "msg_demo.py")],
    "perl": ["perl", os.path.join(LANGS, "msg_demo.pl")],
    "php": ["php", os.path.join(LANGS, "msg_demo.php")],
}


def lang_env(lang, key):
    # sysv_ipc and sysvmsg drop IPC_DIPC from their flags (see msg_demo.py,
    # msg_demo.php): the key policy makes the key cluster-wide for them;
    # Perl passes IPC_DIPC.
    return {"DIPC_KEYS": hex(key)} if lang in ("python", "php") else {}


def run(c, node, lang, key, *args):
    r = c.run(node, CMD[lang] + [args[0], hex(key)] + [str(a) for a in args[1:]],
              env=lang_env(lang, key), timeout=30)
    assert r.returncode == 0, "%s %s on %s: %r" % (lang, args, node, r)
    # Python and Perl report the id (PHP's sysvmsg does not show it); and no
    # kernel queue may have the key
    ids = [int(w[3:]) for w in r.stderr.split() if w.startswith("id=")]
    assert lang == "php" or (ids and dipc_is_id(ids[0])), \
        "%s %s on %s used a kernel queue: %r" % (lang, args, node, r.stderr)
    assert key not in kernel_msg_keys(), "%s %s on %s made a kernel queue" % (lang, args, node)
    return r.stdout.strip()


def start(c, node, lang, key, *args):
    return c.popen(node, CMD[lang] + [args[0], hex(key)] + [str(a) for a in args[1:]],
                   env=lang_env(lang, key))


def finish(p, what):
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, "%s exited %s: %r %r" % (what, p.returncode, out, err)
    return out.strip()


@pytest.mark.parametrize("lang", ["python", "perl", "php"])
def test_same_language_two_nodes(cluster, mkey, lang):
    """The language creates the queue on node2 by waiting in it; its sender
    runs on node1."""
    c = cluster
    w = start(c, "node2", lang, mkey, "recv", 0)
    st = wait_cat(c, "node1", mkey, lambda s: len(s["receivers"]) == 1,
                  what="the %s receiver parked" % lang)
    assert st["fields"]["owner"] == "node2", st
    assert run(c, "node1", lang, mkey, "send", 3, "hello-from-" + lang) == \
        "sent 3 hello-from-" + lang
    assert finish(w, lang + " recv") == "got 3 hello-from-" + lang
    # type selection, polling and counting, in the same language, two nodes
    for t, text in ((5, "five"), (2, "two"), (9, "nine")):
        run(c, "node1", lang, mkey, "send", t, text)
    assert run(c, "node2", lang, mkey, "count") == "qnum 3"
    assert run(c, "node2", lang, mkey, "recv", -4) == "got 2 two"
    assert run(c, "node1", lang, mkey, "poll", 9) == "got 9 nine"
    assert run(c, "node2", lang, mkey, "poll", 9) == "empty"
    assert run(c, "node1", lang, mkey, "poll", 0) == "got 5 five"
    assert run(c, "node2", lang, mkey, "count") == "qnum 0"
    assert mkey not in kernel_msg_keys()


@pytest.mark.parametrize("a,b,d", [
    ("python", "perl", "php"),
    ("perl", "php", "python"),
    ("php", "python", "perl"),
])
def test_mixed_languages(cluster, mkey, a, b, d):
    """C creates the queue on node3; three languages send from node1 and
    node2, and receive each other's messages on the other node."""
    c = cluster
    mt = MsgTool(c)
    qid = mt.create("node3", mkey, "666")
    # a receiver blocked in language b on node1, for type 7 only
    w = start(c, "node1", b, mkey, "recv", 7)
    wait_cat(c, "node3", mkey, lambda s: len(s["receivers"]) == 1)
    run(c, "node1", a, mkey, "send", 1, "from-" + a)
    run(c, "node2", b, mkey, "send", 2, "from-" + b)
    run(c, "node1", d, mkey, "send", 3, "from-" + d)
    assert w.poll() is None, "the type-7 receiver took another type: %r" % (w.communicate(),)
    run(c, "node2", a, mkey, "send", 7, "seven-from-" + a)
    assert finish(w, b + " recv 7") == "got 7 seven-from-" + a
    assert run(c, "node2", d, mkey, "count") == "qnum 3"
    assert run(c, "node2", b, mkey, "recv", -2) == "got 1 from-" + a
    assert run(c, "node1", d, mkey, "recv", 3) == "got 3 from-" + d
    assert run(c, "node2", a, mkey, "poll", 0) == "got 2 from-" + b
    assert run(c, "node1", b, mkey, "poll", 0) == "empty"
    # C sees what the languages sent, and they see C's
    mt.send("node3", qid, 4, "from-c")
    assert run(c, "node1", a, mkey, "recv", 0) == "got 4 from-c"
    run(c, "node2", d, mkey, "send", 6, "to-c")
    r = mt.recv("node3", qid, 6, "n")
    assert r.kv["text"] == "to-" + "c" and r.kv["type"] == "6", r
    assert mkey not in kernel_msg_keys()
