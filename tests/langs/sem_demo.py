#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A cluster-wide mutex in Python (python3-sysv-ipc), for tests/integration/test_langs.py.

    sem_demo.py ROLE KEY

ROLE
  hold     open the set KEY (creating it with one semaphore of value 1 if
           missing), take the mutex (semaphore 0, -1 with SEM_UNDO), print
           "held", wait for a line on stdin, give it back, print "released"
  acquire  open (or create) the set, take the mutex, blocking until it is
           free, print "acquired", give it back, print "released"
  try      one attempt that does not block: "acquired" (then give it back)
           or "busy"

This is unchanged single-machine code.  sysv_ipc cannot pass IPC_DIPC
(010000): it keeps only IPC_CREAT|IPC_EXCL of `flags` and the low 9 bits of
`mode` before calling semget().  So the key is made cluster-wide by the key
policy instead:

    LD_PRELOAD=libdipc.so DIPC_MOUNT=<a node's mount> DIPC_KEYS=<KEY> sem_demo.py hold KEY

(or `keys = ...` in the [policy] group of dipc.conf).
"""
import sys

import sysv_ipc

def open_set(key):
    try:
        return sysv_ipc.Semaphore(key, sysv_ipc.IPC_CREX, 0o666, initial_value=1)
    except sysv_ipc.ExistentialError:
        return sysv_ipc.Semaphore(key, 0, 0o666)


def main():
    role, key = sys.argv[1], int(sys.argv[2], 0)
    sem = open_set(key)
    sem.undo = True
    print("id=%d" % sem.id, file=sys.stderr, flush=True)
    if role == "hold":
        sem.acquire()
        print("held", flush=True)
        sys.stdin.readline()
        sem.release()
        print("released", flush=True)
    elif role == "acquire":
        sem.acquire()
        print("acquired", flush=True)
        sem.release()
        print("released", flush=True)
    elif role == "try":
        try:
            sem.acquire(0)
        except sysv_ipc.BusyError:
            print("busy", flush=True)
            return 0
        print("acquired", flush=True)
        sem.release()
    else:
        print("usage: sem_demo.py hold|acquire|try KEY", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
