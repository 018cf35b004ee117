# SPDX-License-Identifier: MIT
"""The shim's fault paths: bad pointers and segments that are gone.

tests/progs/efaulttest gives every semop/semtimedop/semctl/shmctl argument
the kernel copies a pointer that cannot be read or written ((void *)-1, a
PROT_NONE page, a buffer that runs into one) and prints what each call
returned; natively and through dipcfs the output must be byte-identical:
EFAULT, in the kernel's order against the other checks, nothing changed, no
crash.  A run removes all it made, so a second run with the same keys (the
LTP semop02 -> semop03 effect of a crash that leaked its sets) creates them
afresh.

tests/progs/faultbus stores into a segment page after its node's daemon
died: the program's own SIGBUS handler runs with BUS_ADRERR at the faulting
address, as for a file mapping whose file went away; without a handler, or
with SIGBUS blocked, the process dies of SIGBUS.
"""

import os
import signal

import pytest

from cluster import dipc_is_id, kernel_msg_keys, kernel_sem_keys, sem_name
from compare import assert_same, check_native


def run_efault(c, node, key, *flags):
    """efaulttest [flags] KEY on node (None: natively): (result, {name: id})."""
    r = c.run(node, [c.prog("efaulttest")] + list(flags) + [hex(key)], timeout=60)
    ids = {}
    for line in r.stderr.splitlines():
        if line.startswith("# id "):
            _, _, name, oid = line.split()
            ids[name] = int(oid)
    return r, ids


def check_dipc_run(c, r, ids, node, key):
    assert r.returncode == 0, "efaulttest through dipcfs: %s\n%s" % (r.stdout[-2000:], r.stderr)
    assert "done: harness_ok=1" in r.stdout
    assert ids and all(dipc_is_id(i) for i in ids.values()), ids
    # nothing left behind, in the cluster or the kernel
    for n in c.mounts:
        assert not os.path.exists(c.sem_path(n, key)), "set leaked on %s" % n
        assert sem_name(key + 1) not in os.listdir(os.path.join(c.mount(n), "shm"))
    assert not [k for k in kernel_sem_keys() if key <= k < key + 3]


def test_efault_native_vs_dipcfs(cluster, key):
    rn, idn = run_efault(cluster, None, key)
    check_native(rn, idn, "efaulttest")
    rd, idd = run_efault(cluster, "node1", key + 8)
    check_dipc_run(cluster, rd, idd, "node1", key + 8)
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node1", "efaulttest")


def test_efault_leaks_nothing_rerun(cluster, key):
    """The same keys again, from another node: IPC_CREAT | IPC_EXCL succeeds
    because the first run crashed nowhere and removed its objects."""
    r1, ids1 = run_efault(cluster, "node2", key)
    check_dipc_run(cluster, r1, ids1, "node2", key)
    r2, ids2 = run_efault(cluster, "node3", key)
    check_dipc_run(cluster, r2, ids2, "node3", key)
    assert_same(r1.stdout, r2.stdout, "on node3 after node2", "efaulttest")


def test_efault_without_process_vm(cluster, key):
    """Under a seccomp filter that refuses process_vm_readv/writev the shim
    copies through a pipe: the same results."""
    rn, idn = run_efault(cluster, None, key)
    check_native(rn, idn, "efaulttest")
    rs, ids = run_efault(cluster, "node1", key + 8, "-s")
    check_dipc_run(cluster, rs, ids, "node1", key + 8)
    assert_same(rn.stdout, rs.stdout, "through dipcfs without process_vm_*", "efaulttest")


def start_faultbus(c, mode, key):
    p = c.popen("node1", [c.prog("faultbus"), mode, hex(key)])
    line = p.stdout.readline()
    assert line.startswith("attached"), (line, p.stderr.read() if p.poll() is not None else "")
    c.kill_node("node1", unmount=False)
    p.stdin.write("go\n")
    p.stdin.flush()
    out, err = p.communicate(timeout=30)
    return p.returncode, line + out, err


def test_sigbus_reaches_program_handler(cluster, key):
    rc, out, err = start_faultbus(cluster, "handler", key)
    assert rc == 0, (rc, out, err)
    assert "sigbus: code=BUS_ADRERR addr_ok=1" in out, (out, err)
    assert "unavailable" in err, err


def test_sigbus_default_kills(cluster, key):
    rc, out, err = start_faultbus(cluster, "default", key)
    assert rc == -signal.SIGBUS, (rc, out, err)
    assert "no fault" not in out


def test_sigbus_blocked_kills(cluster, key):
    rc, out, err = start_faultbus(cluster, "blocked", key)
    assert rc == -signal.SIGBUS, (rc, out, err)
    assert "no fault" not in out


def test_efault_msg_native_vs_dipcfs(cluster, key):
    rn, idn = run_efault(cluster, None, key, "-m")
    check_native(rn, idn, "efaulttest -m")
    rd, idd = run_efault(cluster, "node1", key + 8, "-m")
    check_dipc_run(cluster, rd, idd, "node1", key + 8)
    assert not [k for k in kernel_msg_keys() if key + 8 <= k < key + 11]
    assert_same(rn.stdout, rd.stdout, "through dipcfs on node1", "efaulttest -m")
