#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A shared-memory segment in Python (python3-sysv-ipc), for tests/integration/test_shm_langs.py.

    shm_demo.py ROLE KEY [ARGS]

ROLE
  write KEY TEXT [OFFSET [SIZE]]  open the segment KEY, creating it (SIZE
                                  bytes, default 8192, mode 0666) if missing;
                                  store TEXT and a NUL at OFFSET (default 0);
                                  print "wrote TEXT"
  read KEY [OFFSET]               print "read TEXT" (the bytes at OFFSET up to
                                  the first NUL)
  wait KEY TEXT [OFFSET]          poll the bytes at OFFSET (plain loads from
                                  the attached segment, no call in between
                                  reaches dipcfs) until they are TEXT: print
                                  "waiting, have 'OLD'" after the first look,
                                  "saw TEXT" at the end; gives up after 20 s
  rm KEY                          remove the segment, print "removed"

Every role prints "id=N" on stderr.  This is unchanged single-machine code
plus IPC_DIPC (010000) in the flags: unlike its Semaphore and MessageQueue,
sysv_ipc's SharedMemory hands `flags` to shmget() whole (IPC_CREAT|IPC_DIPC
when creating, IPC_DIPC when opening), so no key policy is needed.  (The
kernel reads the bit as SHM_NORESERVE: natively it changes nothing.)

    LD_PRELOAD=libdipc.so DIPC_MOUNT=<a node's mount> shm_demo.py write KEY hello
"""
import sys
import time

import sysv_ipc

IPC_DIPC = 0o10000


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: shm_demo.py write|read|wait|rm KEY [ARGS]")
    role, key, args = sys.argv[1], int(sys.argv[2], 0), sys.argv[3:]
    if role == "write":
        off = int(args[1]) if len(args) > 1 else 0
        size = int(args[2]) if len(args) > 2 else 8192
        shm = sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREAT | IPC_DIPC, 0o666, size)
    else:
        shm = sysv_ipc.SharedMemory(key, IPC_DIPC)
    print("id=%d" % shm.id, file=sys.stderr, flush=True)
    if role == "write":
        shm.write(args[0].encode() + b"\0", off)
        print("wrote %s" % args[0], flush=True)
    elif role in ("read", "wait"):
        off = int(args[-1]) if len(args) > (1 if role == "wait" else 0) else 0
        n = min(256, shm.size - off)
        text = shm.read(n, off).split(b"\0")[0].decode()
        if role == "read":
            print("read %s" % text, flush=True)
            return
        print("waiting, have %r" % text, flush=True)
        deadline = time.monotonic() + 20
        while text != args[0]:
            if time.monotonic() > deadline:
                sys.exit("waited 20 s for %r, have %r" % (args[0], text))
            time.sleep(0.001)
            text = shm.read(n, off).split(b"\0")[0].decode()
        print("saw %s" % text, flush=True)
    elif role == "rm":
        shm.detach()
        shm.remove()
        print("removed", flush=True)
    else:
        sys.exit("usage: shm_demo.py write|read|wait|rm KEY [ARGS]")


if __name__ == "__main__":
    main()
