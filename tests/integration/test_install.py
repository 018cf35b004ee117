# SPDX-License-Identifier: MIT
"""What an operator gets from `meson install` and from the Debian package.

`meson install --destdir` of the build under test into a temporary root,
then the layout is checked against the build's own options (prefix, sbindir,
libdir, ...), so the test holds for any prefix:

  - the daemons in sbin, dipc in bin, the shim in libdir, <dipc.h> and
    dipc.pc, the units in the systemd unit directory, five man pages, the annotated dipc.conf and
    the example dipc.mount under share/doc/dipcfs/examples;
  - /sbin/mount.dipcfs for `mount -t dipcfs` (a link when /sbin is not the
    prefix's sbin);
  - <dipc.h> compiles with `pkg-config --cflags dipc` and agrees with the
    private common/dipc_abi.h;
  - `man -l` renders every page without a warning;
  - `systemd-analyze verify` accepts the units (skipped when it is absent).

The Debian package is built only when DIPC_TEST_DEB=1 (it takes a minute or
more): `dpkg-buildpackage -b -us -uc` in a copy of the tree, then the file
lists of the .debs (`dpkg -c`) are compared with what they must hold.
"""

import json
import os
import shutil
import stat
import subprocess

import pytest

from cluster import REPO, build_dir

MAN_PAGES = {"dipc.1": "man1", "dipc.7": "man7", "dipc.conf.5": "man5", "dipc-referee.8": "man8",
             "mount.dipcfs.8": "man8"}
UNITS = ("dipc-referee.service", "dipcfs@.service")


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(argv, **kw)


class Layout:
    """Where the build under test installs things (absolute, without destdir)."""

    def __init__(self, build):
        r = run(["meson", "introspect", build, "--buildoptions"], check=True)
        opts = {o["name"]: o["value"] for o in json.loads(r.stdout)}
        p = opts["prefix"]
        self.prefix = p
        self.sbindir = os.path.join(p, opts["sbindir"])
        self.bindir = os.path.join(p, opts["bindir"])
        self.libdir = os.path.join(p, opts["libdir"])
        self.includedir = os.path.join(p, opts["includedir"])
        self.mandir = os.path.join(p, opts["mandir"])
        self.examples = os.path.join(p, opts["datadir"], "doc", "dipcfs", "examples")
        self.sbin_link = opts["sbin_link"]
        self.unitdir = opts["systemdunitdir"]
        if not self.unitdir:
            r = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"])
            self.unitdir = (r.stdout.strip() if r.returncode == 0 and r.stdout.strip()
                            else os.path.join(p, "lib", "systemd", "system"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    build = build_dir()
    if not os.path.exists(os.path.join(build, "build.ninja")):
        pytest.fail("%s is not a meson build directory: build first" % build, pytrace=False)
    if not shutil.which("scdoc"):
        pytest.fail("scdoc is not installed, so no man pages are built"
                    " (apt-get install scdoc; tools/common.sh lists it)", pytrace=False)
    root = str(tmp_path_factory.mktemp("destdir"))
    r = run(["meson", "install", "-C", build, "--destdir", root, "--quiet"])
    assert r.returncode == 0, "meson install failed:\n%s%s" % (r.stdout, r.stderr)
    lay = Layout(build)

    def at(path):
        return root + path

    lay.root = root
    lay.at = at
    return lay


def assert_file(path, executable=False):
    assert os.path.isfile(path), "%s was not installed" % path
    if executable:
        assert os.stat(path).st_mode & stat.S_IXUSR, "%s is not executable" % path


def test_layout(installed):
    lay = installed
    for daemon in ("dipc-referee", "mount.dipcfs"):
        assert_file(lay.at(os.path.join(lay.sbindir, daemon)), executable=True)
        assert not os.path.exists(lay.at(os.path.join(lay.prefix, "bin", daemon))), \
            "%s is also in bin" % daemon
    assert_file(lay.at(os.path.join(lay.bindir, "dipc")), executable=True)
    assert_file(lay.at(os.path.join(lay.libdir, "libdipc.so")))
    assert_file(lay.at(os.path.join(lay.includedir, "dipc.h")))
    assert_file(lay.at(os.path.join(lay.libdir, "pkgconfig", "dipc.pc")))
    for unit in UNITS:
        assert_file(lay.at(os.path.join(lay.unitdir, unit)))
    for page, sect in MAN_PAGES.items():
        assert_file(lay.at(os.path.join(lay.mandir, sect, page)))
    conf = lay.at(os.path.join(lay.examples, "dipc.conf"))
    assert_file(conf)
    with open(conf) as a, open(os.path.join(REPO, "dipc.conf")) as b:
        assert a.read() == b.read(), "the installed example is not the annotated dipc.conf"
    assert_file(lay.at(os.path.join(lay.examples, "dipc.mount")))


def test_installed_daemons_run(installed):
    lay = installed
    r = run([lay.at(os.path.join(lay.sbindir, "mount.dipcfs")), "--version"])
    assert r.returncode == 0 and r.stdout.startswith("mount.dipcfs "), r.stdout + r.stderr
    r = run([lay.at(os.path.join(lay.sbindir, "dipc-referee")), "--help"])
    assert r.returncode == 0 and "--config" in r.stdout, r.stdout + r.stderr


def test_sbin_mount_helper(installed):
    """mount(8) looks for helpers in /sbin only."""
    lay = installed
    link = lay.at("/sbin/mount.dipcfs")
    target = os.path.join(lay.sbindir, "mount.dipcfs")
    if os.path.realpath("/sbin") == os.path.realpath(lay.sbindir):
        assert not os.path.islink(link), "a link in /sbin, which is already %s" % lay.sbindir
        return
    if not lay.sbin_link:
        assert not os.path.lexists(link), "-Dsbin_link=false, yet /sbin/mount.dipcfs"
        return
    assert os.path.islink(link), "no /sbin/mount.dipcfs for mount -t dipcfs"
    assert os.readlink(link) == target


def pkgconfig(lay, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=lay.at(os.path.join(lay.libdir, "pkgconfig")),
               PKG_CONFIG_SYSROOT_DIR=lay.root)
    r = run(["pkg-config"] + list(args) + ["dipc"], env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


# The public header alone, as a program uses it; then with the private ABI
# header, whose values it must repeat exactly (a redefinition with other
# tokens is an error, -Werror makes it fail the build).
PUBLIC_PROG = r"""
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <dipc.h>
_Static_assert(IPC_DIPC == 010000, "IPC_DIPC");
int main(void) { return !(dipc_is_cluster_id(0x7f00) && !dipc_is_cluster_id(0x7eff)); }
"""

AGREE_PROG = r"""
#include <stdio.h>
#include <dipc.h>
#include "dipc_abi.h"
_Static_assert(IPC_DIPC == 010000, "IPC_DIPC");
int main(void)
{
	if (DIPC_SEMOPM_MAX != 1000 || DIPC_SEMMSL_MAX != 8000 || DIPC_MSGMAX_MAX != (16u << 20))
		return 2;
	if (strcmp(DIPC_DEFAULT_MOUNT, "/dipc") != 0)
		return 3;
	for (long id = -70000; id < (1L << 22); id++)
		if (dipc_is_cluster_id((int)id) != dipc_is_id((int)id)) {
			printf("disagree at %ld\n", id);
			return 1;
		}
	for (unsigned s = 1; s < (1u << 24); s += 4099)
		if (!dipc_is_cluster_id(dipc_id_from_serial(s)))
			return 4;
	return 0;
}
"""


def test_header_and_pkgconfig(installed, tmp_path):
    lay = installed
    info = json.loads(run(["meson", "introspect", build_dir(), "--projectinfo"],
                          check=True).stdout)
    assert pkgconfig(lay, "--modversion") == info["version"]
    shim = pkgconfig(lay, "--variable=shim")
    assert shim == lay.at(os.path.join(lay.libdir, "libdipc.so")) or \
        shim == os.path.join(lay.libdir, "libdipc.so"), shim
    cflags = pkgconfig(lay, "--cflags").split()
    cc = shutil.which("cc") or "gcc"
    for name, src, extra in (("public", PUBLIC_PROG, []),
                             ("agree", "#include <string.h>\n" + AGREE_PROG,
                              ["-I" + os.path.join(REPO, "common")])):
        c = tmp_path / (name + ".c")
        c.write_text(src)
        exe = str(tmp_path / name)
        r = run([cc, "-std=c11", "-Wall", "-Werror", "-O1"] + cflags + extra +
                ["-o", exe, str(c)])
        assert r.returncode == 0, "%s.c does not compile:\n%s" % (name, r.stderr)
        r = run([exe])
        assert r.returncode == 0, "%s: exit %d %s" % (name, r.returncode, r.stdout)


@pytest.mark.parametrize("page", sorted(MAN_PAGES))
def test_man_page_renders(installed, page):
    lay = installed
    path = lay.at(os.path.join(lay.mandir, MAN_PAGES[page], page))
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    r = run(["man", "--warnings", "-E", "UTF-8", "-l", path], env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", "man -l %s warns:\n%s" % (page, r.stderr)
    name, sect = page.rsplit(".", 1)
    assert r.stdout.startswith("%s(%s)" % (name, sect)), r.stdout[:200]
    for heading in ("NAME", "DESCRIPTION", "SEE ALSO"):
        assert "\n%s\n" % heading in r.stdout, "%s has no %s section" % (page, heading)
    for var in ("VERSION", "LIBDIR", "INCLUDEDIR", "EXAMPLESDIR"):
        assert "@%s@" % var not in r.stdout, "%s: @%s@ was not substituted" % (page, var)


def test_units_verify(installed, tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed: the units are not verified")
    lay = installed
    # A template is verified through an instance: /dipc.
    names = {"dipc-referee.service": "dipc-referee.service",
             "dipcfs@.service": "dipcfs@dipc.service"}
    paths = []
    for unit, as_name in names.items():
        dst = tmp_path / as_name
        shutil.copy(lay.at(os.path.join(lay.unitdir, unit)), dst)
        paths.append(str(dst))
    dst = tmp_path / "dipc.mount"
    shutil.copy(lay.at(os.path.join(lay.examples, "dipc.mount")), dst)
    paths.append(str(dst))
    # The man pages of Documentation= are looked up in the destdir.
    env = dict(os.environ, MANPATH=lay.at(lay.mandir), SYSTEMD_LOG_COLOR="0")
    r = run(["systemd-analyze", "verify"] + paths, env=env)
    # The binaries are in the destdir, not yet at their paths: those lines
    # are expected, and the files must be in the destdir instead.
    problems = []
    for line in (r.stdout + r.stderr).splitlines():
        word = "is not executable: No such file or directory"
        if " Command " in line and word in line:
            cmd = line.split(" Command ", 1)[1].split(" ", 1)[0]
            if cmd.startswith(lay.sbindir + "/") and os.access(lay.at(cmd), os.X_OK):
                continue
        problems.append(line)
    assert not problems, "systemd-analyze verify:\n" + "\n".join(problems)
    for unit in UNITS:
        with open(lay.at(os.path.join(lay.unitdir, unit))) as f:
            text = f.read()
        assert "After=network-online.target" in text
        assert "ExecStart=%s/" % lay.sbindir in text
        assert "Restart=on-failure" in text


# ---- the Debian package ----------------------------------------------------

DEB_FILES = {
    "dipcfs": {
        "./usr/bin/dipc", "./usr/sbin/dipc-referee", "./usr/sbin/mount.dipcfs",
        "./lib/systemd/system/dipc-referee.service", "./lib/systemd/system/dipcfs@.service",
        "./usr/share/man/man1/dipc.1.gz", "./usr/share/man/man5/dipc.conf.5.gz", "./usr/share/man/man7/dipc.7.gz",
        "./usr/share/man/man8/dipc-referee.8.gz", "./usr/share/man/man8/mount.dipcfs.8.gz",
        "./usr/share/doc/dipcfs/examples/dipc.conf", "./usr/share/doc/dipcfs/examples/dipc.mount",
        "./usr/share/doc/dipcfs/copyright", "./usr/share/doc/dipcfs/changelog.gz",
    },
    "dipcfs-dev": {
        "./usr/include/dipc.h",
        "./usr/share/doc/dipcfs-dev/copyright", "./usr/share/doc/dipcfs-dev/changelog.gz",
    },
}


def deb_files(deb):
    r = run(["dpkg", "-c", deb], check=True)
    files = set()
    for line in r.stdout.splitlines():
        f = line.split()
        if not f[0].startswith("d"):
            files.add(f[5])
    return files


@pytest.mark.deadline(1200)
def test_debian_package(tmp_path):
    if os.environ.get("DIPC_TEST_DEB") != "1":
        pytest.skip("the .deb is built only with DIPC_TEST_DEB=1 (slow)")
    for tool in ("dpkg-buildpackage", "dh"):
        assert shutil.which(tool), "%s is missing (apt-get install dpkg-dev debhelper)" % tool
    # A copy of the tree as git sees it: no build directories, and the .debs
    # land in tmp_path, not beside the checkout.
    src = tmp_path / "dipcfs"
    src.mkdir()
    ls = run(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard", "-z"], check=True)
    for rel in filter(None, ls.stdout.split("\0")):
        p = os.path.join(REPO, rel)
        if os.path.isfile(p):
            os.makedirs(os.path.dirname(src / rel), exist_ok=True)
            shutil.copy2(p, src / rel)
    r = run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=str(src), timeout=1100)
    assert r.returncode == 0, "dpkg-buildpackage failed:\n%s\n%s" % (r.stdout[-4000:],
                                                                    r.stderr[-4000:])
    debs = {f.split("_")[0]: str(tmp_path / f) for f in os.listdir(tmp_path)
            if f.endswith(".deb")}
    for pkg, want in DEB_FILES.items():
        assert pkg in debs, "no %s .deb among %s" % (pkg, sorted(debs))
        got = deb_files(debs[pkg])
        libs = {f for f in got if f.startswith("./usr/lib/")}
        missing = want - got
        assert not missing, "%s lacks %s" % (pkg, sorted(missing))
        extra = got - want - libs
        assert not extra, "%s has unexpected files %s" % (pkg, sorted(extra))
        if pkg == "dipcfs":
            assert any(f.endswith("/libdipc.so") for f in libs), sorted(libs)
        else:
            assert any(f.endswith("/pkgconfig/dipc.pc") for f in libs), sorted(libs)
