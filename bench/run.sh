#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh — builds if needed, then runs every dipcfs benchmark once
# (bench/run.py; see bench/README.md).  Never fails because of a figure.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DIPC_BUILD:-$REPO/build}"
export DIPC_BUILD="$BUILD"
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$REPO" || exit 1
fi
ninja -C "$BUILD" || exit 1
exec /usr/bin/python3 "$REPO/bench/run.py" "$@"
