#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools/demo.sh — see dipcfs work: run as root on a Debian 12 machine.
#
#   1. installs the packages it needs (apt-get), if missing
#   2. builds the tree (meson setup build; ninja -C build)
#   3. writes a demo dipc.conf into a temporary directory and starts a
#      referee and two nodes (node1, node2) on this machine, each with its
#      own mount point
#   4. runs examples/sem_pingpong spread over both nodes: "pong" on node2
#      first (it blocks, waiting for the ball), then "ping" on node1
#   5. shows the live set with `ls -l` and `cat` under the mounts while pong
#      is blocked on it, and the empty directories after the game
#   5b. runs examples/shm/matmul: the coordinator on node1 puts A and B in one
#      distributed segment, two workers on node2 compute C into it; shows the
#      segment with `ls -l` and its page holders with `cat MOUNT/shmstat/KEY`
#   6. cleans everything up (also on failure or Ctrl-C): the example
#      processes, the daemons (SIGTERM by pid, then SIGKILL), the mounts
#      (fusermount3 -u -z), the temporary directory
#
# Exits non-zero if any step fails.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DIPC_BUILD:-$REPO/build}"
ROUNDS="${DEMO_ROUNDS:-5}"
DELAY_MS="${DEMO_DELAY_MS:-150}"   # a pause before each hit, to watch the game
KEY=0xd1bc

if [ -t 1 ]; then B=$'\033[1m' R=$'\033[31m' N=$'\033[0m'; else B= R= N=; fi
say() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (FUSE mounts, apt-get)"

# ---- 1. packages, 2. build ---------------------------------------------------
. "$REPO/tools/common.sh"
ensure_packages "${BUILD_PKGS[@]}"
build_tree
REFEREE="$BUILD/referee/dipc-referee"
MOUNT="$BUILD/fs/mount.dipcfs"
SHIM="$BUILD/shim/libdipc.so"
EXAMPLE="$BUILD/examples/sem_pingpong"
for f in "$REFEREE" "$MOUNT" "$SHIM" "$EXAMPLE"; do
	[ -x "$f" ] || [ -f "$f" ] || die "missing $f after the build"
done

# ---- 3. a two-node cluster on this machine -------------------------------------
TMP="$(mktemp -d /tmp/dipc-demo.XXXXXX)"
chmod 755 "$TMP"
PIDS=()        # daemons, in start order
EXAMPLE_PIDS=()

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	echo
	echo "==> cleaning up"
	for p in "${EXAMPLE_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	# nodes first, then the referee (it was started first)
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[i]}" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$p" 2>/dev/null; then
			echo "    pid $p ignored SIGTERM: SIGKILL"
			kill -KILL "$p" 2>/dev/null
		fi
		wait "$p" 2>/dev/null
	done
	for m in "$TMP"/node1 "$TMP"/node2; do
		if grep -q " $m " /proc/self/mounts; then
			echo "    $m still mounted: fusermount3 -u -z"
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done
	if [ $rc -ne 0 ] && [ -d "$TMP" ]; then
		for l in "$TMP"/*.log; do
			[ -f "$l" ] && { echo "--- $l (last lines)"; tail -n 20 "$l"; }
		done
	fi
	rm -rf "$TMP"
	if [ $rc -eq 0 ]; then
		echo "==> demo finished: OK"
	else
		echo "==> demo FAILED (status $rc)"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r P_REF P_N1 P_N2 < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)
mkdir -m 755 "$TMP/node1" "$TMP/node2"
CONF="$TMP/dipc.conf"
cat > "$CONF" <<EOF
# demo cluster: one referee and two nodes on this machine
[cluster]
secret = demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
referee = 127.0.0.1:$P_REF
allowed_hosts = 127.0.0.0/8
heartbeat_ms = 500
dead_after_ms = 3000

[referee]
listen = 127.0.0.1:$P_REF

[node.node1]
listen = 127.0.0.1:$P_N1
mountpoint = $TMP/node1

[node.node2]
listen = 127.0.0.1:$P_N2
mountpoint = $TMP/node2
EOF
chmod 600 "$CONF"
say "configuration $CONF"
sed 's/^secret = .*/secret = (hidden)/' "$CONF"

say "starting dipc-referee on 127.0.0.1:$P_REF"
"$REFEREE" -c "$CONF" 2> "$TMP/referee.log" &
PIDS+=($!)
for n in node1 node2; do
	say "starting mount.dipcfs for $n on $TMP/$n"
	echo "    $MOUNT dipc $TMP/$n -f -o conf=$CONF,node=$n"
	"$MOUNT" dipc "$TMP/$n" -f -o "conf=$CONF,node=$n" 2> "$TMP/$n.log" &
	PIDS+=($!)
done

# wait (bounded) until both nodes see the referee and each other
ready() {
	local f="$TMP/$1/cluster"
	[ -r "$f" ] || return 1
	grep -q "^referee .* connected" "$f" && grep -q "^peer node1 .* alive" "$f" &&
		grep -q "^peer node2 .* alive" "$f"
}
for _ in $(seq 300); do
	for p in "${PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null || die "a daemon (pid $p) exited during start-up"
	done
	if ready node1 && ready node2; then
		break
	fi
	sleep 0.05
done
ready node1 && ready node2 || die "the cluster did not come up within 15 s"
say "cluster is up: cat $TMP/node1/cluster"
cat "$TMP/node1/cluster"

# ---- 4./5. the example, spread over the two nodes -----------------------------------
on() { # on NODE CMD... : run CMD "on" NODE through the shim
	local n=$1
	shift
	LD_PRELOAD="$SHIM" DIPC_MOUNT="$TMP/$n" "$@"
}

say "node2: starting 'sem_pingpong pong' (it blocks until node1 serves)"
on node2 "$EXAMPLE" pong "$ROUNDS" "$KEY" "$DELAY_MS" 2>&1 | sed -u 's/^/    [node2] /' &
EXAMPLE_PIDS+=($!)

SEMFILE=$(printf 'sem/0x%08x' "$KEY")
for _ in $(seq 200); do
	[ -e "$TMP/node1/$SEMFILE" ] && grep -q "^waiters *1" "$TMP/node1/$SEMFILE" 2>/dev/null && break
	sleep 0.05
done
grep -q "^waiters *1" "$TMP/node1/$SEMFILE" || die "pong never blocked on the set"

say "ls -l $TMP/node1/sem $TMP/node2/sem"
ls -l "$TMP/node1/sem" "$TMP/node2/sem"
say "cat $TMP/node1/$SEMFILE   (seen from node1 while pong on node2 is blocked)"
cat "$TMP/node1/$SEMFILE"

say "node1: 'sem_pingpong ping' — the ball goes back and forth between the nodes"
on node1 "$EXAMPLE" ping "$ROUNDS" "$KEY" "$DELAY_MS" > "$TMP/ping.out" 2>&1 &
PING=$!
EXAMPLE_PIDS+=($PING)
tail -f --pid="$PING" -n +1 "$TMP/ping.out" | sed -u 's/^/    [node1] /' &
TAIL=$!
rc=0
wait "$PING" || rc=$?
wait "$TAIL" 2>/dev/null || true
[ $rc -eq 0 ] || die "ping failed (status $rc)"
wait "${EXAMPLE_PIDS[0]}" || die "pong failed"
EXAMPLE_PIDS=()
grep -q "game over" "$TMP/ping.out" || die "the game did not finish"

say "after the game: ls -l $TMP/node1/sem $TMP/node2/sem (the set is gone)"
ls -l "$TMP/node1/sem" "$TMP/node2/sem"
[ ! -e "$TMP/node1/$SEMFILE" ] || die "the set still exists after IPC_RMID"

# ---- shared memory: one segment, workers on both nodes ---------------------------------
MATMUL="$BUILD/examples/shm/matmul"
SHMKEY=$((KEY + 16))
say "shared memory: 'matmul coord' on node1 puts A and B in one segment and waits"
on node1 "$MATMUL" coord 96 2 "$SHMKEY" > "$TMP/coord.out" 2>&1 &
COORD=$!
EXAMPLE_PIDS+=($COORD)
SHMFILE=$(printf 'shm/0x%08x' "$SHMKEY")
for _ in $(seq 200); do
	[ -e "$TMP/node2/$SHMFILE" ] && break
	sleep 0.05
done
[ -e "$TMP/node2/$SHMFILE" ] || die "the segment never appeared"
say "ls -l $TMP/node2/shm   (the segment, seen from node2: its exact size)"
ls -l "$TMP/node2/shm"
# The coordinator removes the segment once the workers have reported, so its
# page holders are shown now: node1 wrote A and B, nobody else holds a page.
say "cat $TMP/node1/shmstat/${SHMFILE#shm/}   (who holds which pages, before the workers)"
cat "$TMP/node1/shmstat/${SHMFILE#shm/}"
say "node2: two workers compute C's rows straight into the segment"
on node2 "$MATMUL" worker 0 "$SHMKEY" 2>&1 | sed -u 's/^/    [node2] /' &
W0=$!
on node2 "$MATMUL" worker 1 "$SHMKEY" 2>&1 | sed -u 's/^/    [node2] /' &
W1=$!
wait "$W0" || die "worker 0 failed"
wait "$W1" || die "worker 1 failed"
wait "$COORD" || { cat "$TMP/coord.out"; die "matmul coordinator failed"; }
EXAMPLE_PIDS=()
sed 's/^/    [node1] /' "$TMP/coord.out"
grep -q "checksum" "$TMP/coord.out" || die "matmul did not check C"

say "the same binary without the shim uses the kernel's own semaphores"
"$EXAMPLE" pong 2 "$((KEY + 1))" > "$TMP/native.out" 2>&1 &
NPONG=$!
EXAMPLE_PIDS+=($NPONG)
"$EXAMPLE" ping 2 "$((KEY + 1))" | sed 's/^/    [native] /'
wait "$NPONG" || die "native pong failed"
EXAMPLE_PIDS=()
for l in "$TMP"/*.log; do
	if grep -E "CRITICAL|ERROR|ssertion" "$l"; then
		die "errors in $l"
	fi
done
