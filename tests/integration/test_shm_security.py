# SPDX-License-Identifier: MIT
"""Shared memory against a hostile local user (issue 9).

As uid 65534 (nobody), against real daemons: a huge shmget and a huge raw
GET ioctl, a raw SHMAT that claims to be a fork child, faults and a helper
wait without an attach, and the owner's internal attach/detach commands
through the SHMCTL row.  Each gets an errno -- the kernel's where the kernel
has the call (the shmget is compared with the same call against the
kernel) -- the segment's attach count does not move, and the daemons keep
serving a legitimate user throughout."""

from cluster import dipc_is_id
from test_shm_common import PAGE, ShmTool, kernel_shm_keys, skey  # noqa: F401 (fixture)

NOBODY = 65534


def hostile(c, node, case, *args):
    r = c.run(node, [c.prog("shmhostile"), c.mount(node), case] + [str(a) for a in args],
              user=NOBODY)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().split(": ", 1)[1]


# shmget against the kernel as the same user, without IPC_DIPC (to the kernel
# that is SHM_NORESERVE, which skips the memory accounting this compares).
KERNEL_SHMGET = """
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
r = libc.shmget(0, int(sys.argv[1]), 0o1600)
if r >= 0:
    libc.shmctl(r, 0, None)
print(errno.errorcode[ctypes.get_errno()] if r < 0 else "0")
"""


def kernel_errno(c, size):
    r = c.run(None, ["/usr/bin/python3", "-c", KERNEL_SHMGET, str(size)], user=NOBODY)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def still_serving(c, sh, sid, skey):
    """The daemons are up, and root's segment still works from every node."""
    c._check_alive()
    s = sh.session("node2", skey)
    s.must("w 0 legit")
    assert s.text(0, 5) == "legit"
    s.quit()
    assert sh.stat("node3", "id:%d" % sid)["nattch"] == 0


def test_huge_shmget_is_the_kernels_errno(cluster, skey):
    c, sh = cluster, ShmTool(cluster)
    sid = sh.create("node1", skey, PAGE, "600")
    for size in (1 << 44, 1 << 50, (1 << 64) - 1):
        kern = kernel_errno(c, size)
        for node in c.nodes:
            r = sh(node, "create", "private", size, "600", user=NOBODY)
            assert r.errno == kern, (size, node, r.out, kern)
        # over shmmax EINVAL, else more than the node's memory: ENOMEM
        assert kern == ("EINVAL" if size == (1 << 64) - 1 else "ENOMEM"), (size, kern)
    for node in c.nodes:
        assert hostile(c, node, "get_huge") == "ret=-1 errno=ENOMEM", node
    still_serving(c, sh, sid, skey)


def test_forged_fork_attach_and_faults_without_attach(cluster, skey):
    c, sh = cluster, ShmTool(cluster)
    sid = sh.create("node1", skey, 4 * PAGE, "600")
    assert dipc_is_id(sid)
    s = sh.session("node1", skey)      # root holds an attach on node1 and node2
    s.must("w 0 secret")
    s2 = sh.session("node2", skey)
    for node in c.nodes:
        # no attach: EINVAL where the node has a copy, EIDRM (an unknown
        # segment) on node3, which has none
        nofault = "ret=-1 errno=%s" % ("EIDRM" if node == "node3" else "EINVAL")
        assert hostile(c, node, "shmat_fork", sid) == "ret=-1 errno=EACCES", node
        assert hostile(c, node, "shmfault", sid) == nofault, node
        assert hostile(c, node, "shmfault_read", sid) == nofault, node
        assert hostile(c, node, "shmwait") == "ret=-1 errno=EBUSY", node
        assert hostile(c, node, "shmctl_attach", sid) == "ret=-1 errno=EINVAL", node
        assert hostile(c, node, "shmctl_detach", sid) == "ret=-1 errno=EINVAL", node
    # nothing was counted, nothing was taken: root's attach and bytes stand
    assert sh.stat("node2", "id:%d" % sid)["nattch"] == 2
    assert s2.text(0, 6) == "secret"
    s2.quit()
    # root's IPC_RMID still destroys it at root's last detach
    sh.must("node3", "rm", hex(skey))
    s.quit()
    r = sh("node2", "stat", "id:%d" % sid)
    assert r.errno == "EINVAL", r.out
    sid = sh.create("node1", skey, PAGE, "600")
    still_serving(c, sh, sid, skey)
