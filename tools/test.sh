#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools/test.sh — the whole test suite; run as root on a Debian 12 machine.
#
#   1. installs the packages it needs (apt-get), if missing
#   2. builds the tree (meson setup build; ninja -C build)
#   3. runs the C unit tests:        meson test -C build --print-errorlogs
#   4. runs the integration suite:   /usr/bin/python3 -m pytest -v tests/integration
#      (a real referee and three real mounts on this machine; SysV programs in
#      C, Python, Perl and PHP through the real shim)
#
# Extra arguments go to pytest (e.g. tools/test.sh -k race -x).
# DIPC_BUILD=DIR uses another build directory.  Exits non-zero on failure.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DIPC_BUILD:-$REPO/build}"
export DIPC_BUILD="$BUILD"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mtest: %s\033[0m\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (FUSE mounts, programs run as nobody, apt-get)"

. "$REPO/tools/common.sh"
# the build, plus the test drivers, the language runtimes, Redis (bench),
# setpriv/nsenter (util-linux), ip netns (iproute2), man and systemd-analyze
# (the installed pages and units), and the Debian package tools
ensure_packages "${BUILD_PKGS[@]}" "${INSTALL_TEST_PKGS[@]}" "${DEB_PKGS[@]}" \
	python3-pytest python3-sysv-ipc php8.2-cli perl redis-server util-linux iproute2
build_tree

# Some tests run programs as nobody (setpriv), through the shim in $BUILD.
# A checkout in a private directory (mktemp -d makes it 0700) hides the
# shim from nobody, and its calls would silently go to the kernel: open
# the checkout itself to others; anything above it must already be.
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$BUILD/shim/libdipc.so"; then
	chmod o+rx "$REPO" "$BUILD"
	setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$BUILD/shim/libdipc.so" ||
		die "user nobody cannot read $BUILD/shim/libdipc.so (a directory above $REPO is closed to others)"
fi

say "unit tests: meson test -C $BUILD --print-errorlogs"
meson test -C "$BUILD" --print-errorlogs

say "integration tests: /usr/bin/python3 -m pytest -v tests/integration"
cd "$REPO"
# Debian's python3 (python3-pytest, python3-sysv-ipc), whatever is first on PATH
exec /usr/bin/python3 -m pytest -v -p no:cacheprovider tests/integration "$@"
