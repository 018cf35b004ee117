<?php
// SPDX-License-Identifier: MIT
//
// A cluster-wide mutex in PHP (the sysvsem extension), for
// tests/integration/test_langs.py.
//
//     php sem_demo.php ROLE KEY
//
// ROLE: hold | acquire | try, as in sem_demo.py.  sem_get() keeps PHP's own
// three-semaphore layout (0 = the mutex, 1 = PHP users, 2 = a lock for
// initialisation) and sem_acquire()/sem_release() use SEM_UNDO.  The only
// change from single-machine code is IPC_DIPC (010000) in the permissions
// argument, which sysvsem passes to semget() untouched.  PHP loads sysvsem
// with dlopen(), so this also proves the shim reaches a plugin's calls.

const IPC_DIPC = 010000;

if ($argc < 3) {
    fwrite(STDERR, "usage: php sem_demo.php hold|acquire|try KEY\n");
    exit(2);
}
$role = $argv[1];
$key = intval($argv[2], 0);

$sem = sem_get($key, 1, 0666 | IPC_DIPC, false);
if ($sem === false) {
    fwrite(STDERR, "sem_get failed\n");
    exit(1);
}

switch ($role) {
case "hold":
    if (!sem_acquire($sem)) exit(1);
    echo "held\n";
    fgets(STDIN);
    sem_release($sem);
    echo "released\n";
    break;
case "acquire":
    if (!sem_acquire($sem)) exit(1);
    echo "acquired\n";
    sem_release($sem);
    echo "released\n";
    break;
case "try":
    if (sem_acquire($sem, true)) {
        echo "acquired\n";
        sem_release($sem);
    } else {
        echo "busy\n";
    }
    break;
default:
    fwrite(STDERR, "usage: php sem_demo.php hold|acquire|try KEY\n");
    exit(2);
}
exit(0);
