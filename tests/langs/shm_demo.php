<?php
// SPDX-License-Identifier: MIT
//
// A shared-memory segment in PHP (the shmop and sysvshm extensions), for
// tests/integration/test_shm_langs.py.
//
//     php shm_demo.php ROLE KEY [ARGS]
//
// ROLE: write KEY TEXT [OFFSET [SIZE]] | read KEY [OFFSET] |
// wait KEY TEXT [OFFSET] | rm KEY, as in shm_demo.py ("wrote TEXT",
// "read TEXT", "waiting, have 'OLD'" then "saw TEXT", "removed"; TEXT is
// stored with a NUL after it, so the two languages read each other's
// bytes), with shmop; and
//
//   var-put KEY NAME TEXT   sysvshm: shm_put_var() of TEXT as variable NAME
//                           (an integer) in the segment KEY (created with
//                           8192 bytes if missing), print "put NAME TEXT"
//   var-get KEY NAME        print "got NAME TEXT"
//
// (sysvshm keeps its own serialised layout: PHP reads it, other languages
// see PHP's bytes.)
//
// Unchanged single-machine code.  How the key becomes cluster-wide differs
// by call, because of what each extension hands to shmget():
//   - shmop_open(KEY, "c", 0666 | IPC_DIPC, SIZE) (write) passes the mode
//     bits whole: IPC_DIPC reaches the shim, no policy needed;
//   - shmop_open(KEY, "a", 0, 0) (read, wait: read-only, SHM_RDONLY) and
//     "w" (rm) call shmget(KEY, 0, 0), and sysvshm's shm_attach() first
//     probes with shmget(KEY, 0, 0) before creating with its permissions:
//     no flag can reach the shim, so the key policy names the key
//     (DIPC_KEYS=<KEY>).
// PHP loads both extensions with dlopen(), so this also proves the shim
// reaches a plugin's calls.

const IPC_DIPC = 010000;

function usage()
{
    fwrite(STDERR, "usage: php shm_demo.php write|read|wait|rm|var-put|var-get KEY [ARGS]\n");
    exit(2);
}

function text_at($shm, $off)
{
    $n = min(256, shmop_size($shm) - $off);
    $bytes = shmop_read($shm, $off, $n);
    $nul = strpos($bytes, "\0");
    return $nul === false ? $bytes : substr($bytes, 0, $nul);
}

if ($argc < 3) usage();
$role = $argv[1];
$key = intval($argv[2], 0);

switch ($role) {
case "write":
    $off = $argc > 4 ? intval($argv[4]) : 0;
    $size = $argc > 5 ? intval($argv[5]) : 8192;
    $shm = shmop_open($key, "c", 0666 | IPC_DIPC, $size);
    if ($shm === false) exit(1);
    shmop_write($shm, $argv[3] . "\0", $off);
    echo "wrote {$argv[3]}\n";
    break;
case "read":
case "wait":
    $shm = shmop_open($key, "a", 0, 0);
    if ($shm === false) exit(1);
    $want = $role == "wait" ? $argv[3] : null;
    $offarg = $role == "wait" ? 4 : 3;
    $off = $argc > $offarg ? intval($argv[$offarg]) : 0;
    $text = text_at($shm, $off);
    if ($role == "read") {
        echo "read $text\n";
        break;
    }
    echo "waiting, have '$text'\n";
    fflush(STDOUT);
    $deadline = microtime(true) + 20;
    while ($text !== $want) {
        if (microtime(true) > $deadline) {
            fwrite(STDERR, "waited 20 s for '$want', have '$text'\n");
            exit(1);
        }
        usleep(1000);
        $text = text_at($shm, $off);
    }
    echo "saw $text\n";
    break;
case "rm":
    $shm = shmop_open($key, "w", 0, 0);
    if ($shm === false || !shmop_delete($shm)) exit(1);
    echo "removed\n";
    break;
case "var-put":
case "var-get":
    $seg = shm_attach($key, 8192, 0666);
    if ($seg === false) exit(1);
    $name = intval($argv[3]);
    if ($role == "var-put") {
        if (!shm_put_var($seg, $name, $argv[4])) exit(1);
        echo "put $name {$argv[4]}\n";
    } else {
        if (!shm_has_var($seg, $name)) {
            fwrite(STDERR, "no variable $name\n");
            exit(1);
        }
        echo "got $name " . shm_get_var($seg, $name) . "\n";
    }
    shm_detach($seg);
    break;
default:
    usage();
}
exit(0);
