# SPDX-License-Identifier: MIT
"""The docs say what the code reads: every dipc.conf key of the schema in
common/conf.c is explained in the annotated dipc.conf and in dipc.conf(5),
and every mount.dipcfs option in fs/main.c is in mount.dipcfs(8).

No daemon is started: this reads the sources, so that a key added to the
code without its documentation fails here, not in an operator's hands.
"""
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*path):
    with open(os.path.join(REPO, *path)) as f:
        return f.read()


def schema():
    """{group: [keys]} from the *_keys arrays of common/conf.c."""
    src = read("common", "conf.c")
    out = {}
    for group, body in re.findall(r"static const char \*const (\w+)_keys\[\] = \{(.*?)\};",
                                  src, re.S):
        out[group] = re.findall(r'"([a-z_]+)"', body)
    return out


def test_schema_is_found():
    s = schema()
    for group in ("cluster", "referee", "node", "limits"):
        assert s.get(group), "no %s_keys array in common/conf.c" % group


def test_every_key_in_the_annotated_conf():
    conf = read("dipc.conf")
    missing = [(g, k) for g, keys in schema().items() for k in keys
               if not re.search(r"^#?\s*%s\s*=" % re.escape(k), conf, re.M)]
    assert not missing, "keys of common/conf.c not in dipc.conf: %s" % missing


def test_every_key_in_the_man_page():
    page = read("man", "dipc.conf.5.scd")
    missing = [(g, k) for g, keys in schema().items() for k in keys
               if "*%s*" % k not in page]
    assert not missing, "keys of common/conf.c not in dipc.conf(5): %s" % missing


def test_every_mount_option_in_the_man_page():
    src = read("fs", "main.c")
    page = read("man", "mount.dipcfs.8.scd")
    opts = re.findall(r'OPT\("([a-z]+)=%s"', src)
    assert opts, "no -o KEY=%s options found in fs/main.c"
    missing = [o for o in opts if "*-o %s=*" % o not in page]
    assert not missing, "mount.dipcfs options not in mount.dipcfs(8): %s" % missing
