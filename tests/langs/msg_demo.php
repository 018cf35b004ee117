<?php
// SPDX-License-Identifier: MIT
//
// A message queue in PHP (the sysvmsg extension), for
// tests/integration/test_msg_langs.py.
//
//     php msg_demo.php ROLE KEY [ARGS]
//
// ROLE: send KEY TYPE TEXT | recv KEY MSGTYP | poll KEY MSGTYP | count KEY,
// as in msg_demo.py ("sent TYPE TEXT", "got TYPE TEXT", "empty", "qnum N").
// msg_get_queue() opens the queue or creates it (mode 0666).  Unchanged
// single-machine code: sysvmsg keeps only the permission bits of its
// argument, so IPC_DIPC cannot be passed and the key is made cluster-wide by
// the key policy (DIPC_KEYS=<KEY>), as for Python.  msg_send() and
// msg_receive() serialize by default; plain strings go with serialize =
// false, so that other languages read them.  PHP loads sysvmsg with
// dlopen(), so this also proves the shim reaches a plugin's calls.

if ($argc < 3) {
    fwrite(STDERR, "usage: php msg_demo.php send|recv|poll|count KEY [ARGS]\n");
    exit(2);
}
$role = $argv[1];
$key = intval($argv[2], 0);

$q = msg_get_queue($key, 0666);
if ($q === false) {
    fwrite(STDERR, "msg_get_queue failed\n");
    exit(1);
}
$st = msg_stat_queue($q);

switch ($role) {
case "send":
    $type = intval($argv[3]);
    $err = 0;
    if (!msg_send($q, $type, $argv[4], false, true, $err)) {
        fwrite(STDERR, "msg_send: error $err\n");
        exit(1);
    }
    echo "sent $type {$argv[4]}\n";
    break;
case "recv":
case "poll":
    $type = 0;
    $text = "";
    $err = 0;
    $flags = $role == "poll" ? MSG_IPC_NOWAIT : 0;
    if (msg_receive($q, intval($argv[3]), $type, 8192, $text, false, $flags, $err)) {
        echo "got $type $text\n";
    } elseif ($role == "poll" && $err == MSG_ENOMSG) {
        echo "empty\n";
    } else {
        fwrite(STDERR, "msg_receive: error $err\n");
        exit(1);
    }
    break;
case "count":
    echo "qnum {$st['msg_qnum']}\n";
    break;
default:
    fwrite(STDERR, "usage: php msg_demo.php send|recv|poll|count KEY [ARGS]\n");
    exit(2);
}
exit(0);
