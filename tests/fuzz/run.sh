#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets of tests/fuzz/ with Debian's clang and run each
# for a bounded time over its committed seed corpus.
#
#   bash tests/fuzz/run.sh [SECONDS]        (default 15 per target)
#
# The libraries are built by meson in their own directory ($FUZZ_BUILD,
# default <repo>/build-fuzz) with clang, ASan+UBSan and libFuzzer's coverage
# instrumentation; the targets are linked here.  Each run starts from
# tests/fuzz/corpus/<target>/ and adds what it finds to a scratch copy (the
# committed corpus stays as it is).  A crash leaves its input in
# $FUZZ_BUILD/artifacts/ and makes this script fail.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ_BUILD=${FUZZ_BUILD:-$REPO/build-fuzz}
SECONDS_EACH=${1:-15}
TARGETS=(frame envelope conf policy)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'fuzz: %s\n' "$*" >&2; exit 1; }

# shellcheck source=../../tools/common.sh
. "$REPO/tools/common.sh"
ensure_packages "${BUILD_PKGS[@]}" "${FUZZ_PKGS[@]}"

say "building the libraries in $FUZZ_BUILD (clang, ASan+UBSan, fuzzer coverage)"
if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
	CC=clang meson setup "$FUZZ_BUILD" "$REPO" --buildtype=debug -Db_lundef=false \
		-Dc_args="$SAN -fsanitize=fuzzer-no-link" -Dc_link_args="$SAN" >/dev/null
fi
ninja -C "$FUZZ_BUILD" common/libdipccommon.a common/libdipcengine.a proto/libdipcproto.a >/dev/null

DEPS=$(pkg-config --cflags --libs glib-2.0 libuv libprotobuf-c libsodium)
INC=(-I"$REPO/common" -I"$FUZZ_BUILD" -I"$FUZZ_BUILD/proto")
LIBS=("$FUZZ_BUILD/common/libdipccommon.a" "$FUZZ_BUILD/common/libdipcengine.a"
      "$FUZZ_BUILD/proto/libdipcproto.a")
mkdir -p "$FUZZ_BUILD/fuzz" "$FUZZ_BUILD/artifacts"
for t in "${TARGETS[@]}"; do
	# shellcheck disable=SC2086
	clang -g -O1 -D_GNU_SOURCE $SAN -fsanitize=fuzzer "${INC[@]}" \
		"$REPO/tests/fuzz/fuzz_$t.c" "${LIBS[@]}" $DEPS -ldl \
		-o "$FUZZ_BUILD/fuzz/fuzz_$t"
done

fail=0
for t in "${TARGETS[@]}"; do
	work="$FUZZ_BUILD/corpus/$t"
	rm -rf "$work"
	mkdir -p "$work"
	cp "$REPO/tests/fuzz/corpus/$t/"* "$work/"
	say "fuzz_$t for ${SECONDS_EACH}s ($(ls "$REPO/tests/fuzz/corpus/$t" | wc -l) seeds)"
	if ! "$FUZZ_BUILD/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len=8192 \
		-rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_BUILD/artifacts/${t}-" "$work" \
		>"$FUZZ_BUILD/fuzz_$t.log" 2>&1; then
		tail -40 "$FUZZ_BUILD/fuzz_$t.log" >&2
		say "fuzz_$t FOUND A CRASH (input in $FUZZ_BUILD/artifacts/)"
		fail=1
	else
		grep -E "stat::number_of_executed_units|stat::new_units_added" \
			"$FUZZ_BUILD/fuzz_$t.log" | tr '\n' ' '
		echo
	fi
done
exit $fail
