# SPDX-License-Identifier: MIT
# Shared by tools/demo.sh and tools/test.sh (sourced, not run): the package
# lists BUILD_PKGS, INSTALL_TEST_PKGS, DEB_PKGS, FUZZ_PKGS, and
#   ensure_packages PKG...   apt-get install what is missing (root, Debian)
#   build_tree               meson setup $BUILD (once) and ninja -C $BUILD
# Both expect say() and die() and the variables REPO and BUILD.

# The libraries and tools every build needs.
# (scdoc: the man pages; without it they are skipped, and test_install.py fails.)
BUILD_PKGS=(libfuse3-dev fuse3 libglib2.0-dev libuv1-dev libprotobuf-c-dev protobuf-c-compiler
            libsodium-dev meson ninja-build pkg-config gcc python3 scdoc)
# What tests/integration/test_install.py uses beyond the build: man -l of the
# pages, systemd-analyze verify of the units (and systemd.pc for the unit dir).
INSTALL_TEST_PKGS=(man-db systemd)
# What `dpkg-buildpackage -b -us -uc` needs beyond the build (DIPC_TEST_DEB=1).
DEB_PKGS=(dpkg-dev debhelper build-essential)
# What tests/fuzz/run.sh needs on top: clang with libFuzzer and the sanitizers.
FUZZ_PKGS=(clang libclang-rt-14-dev)

ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q "${missing[@]}"
	else
		say "packages: all present"
	fi
	[ -e /dev/fuse ] || die "/dev/fuse is missing (modprobe fuse, or give the container --device /dev/fuse)"
}

build_tree() {
	say "building in $BUILD"
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$REPO"
	fi
	ninja -C "$BUILD"
}
