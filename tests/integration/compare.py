# SPDX-License-Identifier: MIT
"""Running a comparison program (tests/progs/semtest, tests/msgprogs/msgtest)
natively and through dipcfs, and comparing what it printed.

Such a program prints one normalised line per step on stdout (the output that
must be byte-identical) and "# id NAME ID" lines on stderr, from which the
tests tell which side -- kernel or cluster -- served each object.
"""

import difflib

from cluster import dipc_is_id


def run_prog(c, node, path, key, precreated=False, timeout=90):
    """Run path [-p] KEY on node (None: natively); returns (result, {name: id})."""
    argv = [path] + (["-p"] if precreated else []) + [hex(key)]
    r = c.run(node, argv, timeout=timeout)
    ids = {}
    for line in r.stderr.splitlines():
        if line.startswith("# id "):
            _, _, name, oid = line.split()
            ids[name] = int(oid)
    return r, ids


def assert_same(native, dipc, what, prog):
    if native != dipc:
        diff = "".join(difflib.unified_diff(native.splitlines(True), dipc.splitlines(True),
                                            "native", what))
        raise AssertionError("%s output differs natively and %s:\n%s" % (prog, what, diff))


def check_native(r, ids, prog):
    """A native run finished, its harness found no problem, its ids are the kernel's."""
    assert r.returncode == 0, "%s failed natively: %s\n%s" % (prog, r.stdout[-2000:], r.stderr)
    assert "done: harness_ok=1" in r.stdout
    assert ids and not any(dipc_is_id(i) for i in ids.values()), ids
