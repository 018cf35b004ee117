# SPDX-License-Identifier: MIT
"""Fixtures of the dipcfs integration suite.

  cluster        a fresh 3-node cluster (real referee, three real mounts)
  make_cluster   a factory for clusters with other settings: make_cluster(nodes=2,
                 conf={"policy": {"keys": "all"}}); all are stopped at teardown
  key            a semaphore key no other test (or leftover) uses

Every test runs under a watchdog (default 120 s, @pytest.mark.deadline(S) to
change it): when it fires, the test fails with a traceback of where it hung.
Preconditions (root, /dev/fuse, fusermount3, built binaries) are checked, and
a missing one fails every test with a clear message; nothing is skipped.
"""

import os
import random
import shutil
import signal

import pytest

from cluster import Cluster, build_dir, kernel_sem_keys

DEFAULT_DEADLINE = 120


def pytest_configure(config):
    config.addinivalue_line("markers", "deadline(seconds): watchdog for one test (default %d)"
                            % DEFAULT_DEADLINE)


class Deadline(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    m = item.get_closest_marker("deadline")
    seconds = m.args[0] if m else DEFAULT_DEADLINE

    def fire(signum, frame):
        raise Deadline("test still running after %ss (watchdog)" % seconds)

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


_checked = []


def preconditions():
    if _checked:
        return _checked[0]
    problems = []
    if os.geteuid() != 0:
        problems.append("the integration suite must run as root (it mounts FUSE file systems"
                        " and runs programs as nobody)")
    if not os.path.exists("/dev/fuse"):
        problems.append("/dev/fuse is missing: load the fuse module (modprobe fuse) or run the"
                        " container with --device /dev/fuse")
    for tool in ("fusermount3", "setpriv"):
        if not shutil.which(tool):
            problems.append("%s is not installed (apt-get install fuse3 util-linux)" % tool)
    b = build_dir()
    for rel in ("referee/dipc-referee", "fs/mount.dipcfs", "shim/libdipc.so",
                "tests/progs/semtest", "tests/progs/semtool", "tests/progs/pingpong",
                "tests/progs/shmtest", "tests/progs/shmtool"):
        if not os.path.exists(os.path.join(b, rel)):
            problems.append("%s/%s is missing: build first (meson setup build && ninja -C build)"
                            " or set DIPC_BUILD" % (b, rel))
    _checked.append(problems)
    return problems


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def make_cluster(tmp_path, request):
    problems = preconditions()
    if problems:
        pytest.fail("cannot run the dipcfs integration suite:\n  " + "\n  ".join(problems),
                    pytrace=False)
    made = []

    def make(**kw):
        kw.setdefault("tmpdir", str(tmp_path / ("cluster%d-logs" % len(made))))
        c = Cluster(**kw)
        made.append(c)
        return c

    yield make
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        # shown under "Captured stdout teardown" of the failed test
        for c in made:
            print("==== daemon logs (kept in %s)" % c.keep_logs_dir)
            for name, d in c.daemons.items():
                print("---- %s (last 40 lines)\n%s" % (name, d.tail(40)))
    errors = []
    for c in made:
        try:
            c.stop()
        except Exception as e:  # report every cluster's problems
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def cluster(make_cluster):
    return make_cluster(nodes=3)


_used_keys = set()


@pytest.fixture
def key():
    """A base key (with 15 free keys after it) that is unused in the kernel."""
    used = kernel_sem_keys()
    while True:
        k = 0x0D1C0000 + random.randrange(1, 0xFFF) * 16
        if k not in _used_keys and not any(k <= u < k + 16 for u in used):
            _used_keys.add(k)
            break
    yield k
    # never leave kernel sets behind (native runs create them)
    for u, semid in kernel_sem_keys().items():
        if k <= u < k + 16:
            os.system("ipcrm -s %d 2>/dev/null" % semid)
