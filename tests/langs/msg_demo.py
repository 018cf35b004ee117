#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A message queue in Python (python3-sysv-ipc), for tests/integration/test_msg_langs.py.

    msg_demo.py ROLE KEY [ARGS]

ROLE
  send KEY TYPE TEXT  send one message, print "sent TYPE TEXT"
  recv KEY MSGTYP     receive one (blocking; MSGTYP 0, > 0 or < 0 as in
                      msgrcv(2)), print "got TYPE TEXT"
  poll KEY MSGTYP     the same without blocking: "got TYPE TEXT" or "empty"
  count KEY           print "qnum N" (messages in the queue)

Every role opens the queue KEY, creating it (mode 0666) if it is missing,
and prints "id=N" on stderr.  This is unchanged single-machine code.
sysv_ipc cannot pass IPC_DIPC (010000): it keeps only IPC_CREAT|IPC_EXCL of
`flags` and the low 9 bits of `mode`.  So the key is made cluster-wide by
the key policy instead:

    LD_PRELOAD=libdipc.so DIPC_MOUNT=<a node's mount> DIPC_KEYS=<KEY> msg_demo.py recv KEY 0
"""
import sys

import sysv_ipc


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: msg_demo.py send|recv|poll|count KEY [ARGS]")
    role, key = sys.argv[1], int(sys.argv[2], 0)
    mq = sysv_ipc.MessageQueue(key, sysv_ipc.IPC_CREAT, 0o666)
    print("id=%d" % mq.id, file=sys.stderr, flush=True)
    if role == "send":
        mtype, text = int(sys.argv[3]), sys.argv[4]
        mq.send(text.encode(), True, mtype)
        print("sent %d %s" % (mtype, text), flush=True)
    elif role in ("recv", "poll"):
        try:
            text, mtype = mq.receive(role == "recv", int(sys.argv[3]))
        except sysv_ipc.BusyError:
            print("empty", flush=True)
            return
        print("got %d %s" % (mtype, text.decode()), flush=True)
    elif role == "count":
        print("qnum %d" % mq.current_messages, flush=True)
    else:
        sys.exit("usage: msg_demo.py send|recv|poll|count KEY [ARGS]")


if __name__ == "__main__":
    main()
