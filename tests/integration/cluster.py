# SPDX-License-Identifier: MIT
"""A real dipcfs cluster on this machine, for tests and benchmarks.

    with Cluster(nodes=3) as c:
        c.run("node2", [c.prog("semtool"), "create", "0x1234", "1", "666"])

Cluster() picks free loopback ports, writes a dipc.conf, starts the real
``dipc-referee`` and one real ``mount.dipcfs -f`` per node (node1..nodeN),
and waits (polling with deadlines, never fixed sleeps) until every node's
``MOUNT/cluster`` file shows the referee connected and every node alive.

Running a program "on node2" on this single machine means running it with
LD_PRELOAD=libdipc.so and DIPC_MOUNT pointing at node2's mount: see env(),
run() and popen().

stop() ends everything it started, by pid: SIGTERM to the mounts and the
referee, a bounded wait, then ``fusermount3 -u -z`` and SIGKILL as fallbacks;
the temporary directory is always removed.  It then raises ClusterError if
any daemon died before stop() (or did not exit cleanly on SIGTERM, or left
its mount behind), or if a daemon's stderr has a line with CRITICAL, ERROR or
assertion (see DEFAULT_BAD_STDERR; allow_stderr() adds exceptions).

Daemons and programs need not share this machine's network stack: addrs
gives the referee and nodes other listen addresses, daemon_prefixes an argv
prefix per daemon and run_prefixes one per node for run()/popen() (e.g.
["nsenter", "--net=/run/netns/NS", "--"]: see netns.py).

Background mode (Cluster(background=True), or DIPC_TEST_BACKGROUND=1 for
every cluster of a run) mounts the nodes the way `mount -t dipcfs` and
fstab do: no -f, so mount.dipcfs detaches once the mount is up, and
``-o log=NODE.log`` is where its lines go (what it says before detaching
goes to NODE.log.launch).  The harness makes itself a child subreaper, so
that the detached daemon becomes its child (only while a launcher runs),
and stop() and kill_node() signal it by pid and read its real exit status,
as in the foreground.

Binaries come from $DIPC_BUILD (default: <repo>/build): referee/dipc-referee,
fs/mount.dipcfs, shim/libdipc.so and the test programs in tests/progs/.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import ctypes
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# stderr lines that fail a test unless allowed
DEFAULT_BAD_STDERR = [r"CRITICAL", r"ERROR", r"(?i)assertion", r"Sanitizer", r"runtime error:"]

NOBODY = 65534

# IPC_DIPC (include/uapi/linux/ipc.h) and the dipc id range (common/dipc_abi.h)
IPC_DIPC = 0o10000
DIPC_ID_SLOT_BASE = 0x7F00


def dipc_is_id(i):
    """common/dipc_abi.h dipc_is_id(): is this a cluster-wide dipc id?"""
    return i >= 0 and (i & 0x7FFF) >= DIPC_ID_SLOT_BASE


def build_dir():
    return os.environ.get("DIPC_BUILD") or os.path.join(REPO, "build")


class ClusterError(Exception):
    pass


def wait_until(cond, timeout, what, interval=0.01):
    """Poll cond() until it returns a true value or the deadline passes.

    Returns that value; raises ClusterError naming `what` on time-out.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise ClusterError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (held open together, so distinct)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def kernel_sem_keys():
    """Keys of the kernel's own semaphore sets (from /proc/sysvipc/sem)."""
    keys = {}
    with open("/proc/sysvipc/sem") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts:
                keys[int(parts[0]) & 0xFFFFFFFF] = int(parts[1])
    return keys


def kernel_msg_keys():
    """Keys of the kernel's own message queues (from /proc/sysvipc/msg): {key: msqid}."""
    keys = {}
    with open("/proc/sysvipc/msg") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts:
                keys[int(parts[0]) & 0xFFFFFFFF] = int(parts[1])
    return keys


def is_mounted(path):
    """Is path a mount point?  (/proc/self/mounts, so that a mount whose daemon
    died, where stat() fails with ENOTCONN, still counts.)"""
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            w = line.split()
            if len(w) > 1 and w[1].replace("\\040", " ") == path:
                return True
    return False


def sem_name(key):
    """File name of a keyed set under MOUNT/sem/."""
    return "0x%08x" % (key & 0xFFFFFFFF)


class Daemon:
    def __init__(self, name, argv, log_path, env):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        self.died_early = None  # exit status if it exited before stop()

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, n=30):
        return "\n".join(self.text().splitlines()[-n:])


PR_SET_CHILD_SUBREAPER = 36
_subreaper_holds = []


def _set_subreaper(on):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        raise ClusterError("prctl(PR_SET_CHILD_SUBREAPER): %s" % os.strerror(ctypes.get_errno()))


def subreaper_hold():
    """Make this process the reaper of its orphaned descendants, so that a
    daemon that detaches (fuse_daemonize: fork, the parent exits) becomes
    our child and can be waited for.  Held only while launchers run
    (subreaper_release): other tests expect their own orphans to go to init."""
    if not _subreaper_holds:
        _set_subreaper(True)
    _subreaper_holds.append(True)


def subreaper_release():
    _subreaper_holds.pop()
    if not _subreaper_holds:
        _set_subreaper(False)


def proc_children_with_arg(arg):
    """Pids of this process's children whose argv has arg (from /proc)."""
    me, found = os.getpid(), []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % e, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and arg.encode() in argv:
            found.append(int(e))
    return found


class DetachedProc:
    """What Popen is for a foreground daemon, for one that detaches: the
    launcher runs until the mount is up, then the daemon (found as our child
    with the mount point in its argv) is waited for by pid."""

    def __init__(self, launcher, mountpoint):
        self.launcher = launcher  # started under subreaper_hold()
        self.mountpoint = mountpoint
        self.daemon_pid = None
        self.returncode = None

    @property
    def pid(self):
        self.poll()
        return self.daemon_pid if self.daemon_pid else self.launcher.pid

    def poll(self):
        if self.returncode is not None:
            return self.returncode
        if self.daemon_pid is None:
            rc = self.launcher.poll()
            if rc is None:
                return None
            subreaper_release()  # the daemon, if any, is our child now
            if rc != 0:
                self.returncode = rc
                return rc
            pids = proc_children_with_arg(self.mountpoint)
            if len(pids) != 1:
                self.returncode = "no daemon after the launcher exited (%r)" % pids
                return self.returncode
            self.daemon_pid = pids[0]
        pid, status = os.waitpid(self.daemon_pid, os.WNOHANG)
        if pid == 0:
            return None
        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired("mount.dipcfs %s" % self.mountpoint, timeout)
            time.sleep(0.01)
        return self.returncode


class DetachedDaemon(Daemon):
    """A mount.dipcfs started without -f: log_path is its -o log=FILE, what
    it writes before detaching (errors) is in log_path.launch."""

    def __init__(self, name, argv, log_path, env, mountpoint):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.launch_path = log_path + ".launch"
        open(log_path, "wb").close()
        self.log = open(self.launch_path, "wb")
        subreaper_hold()
        try:
            launcher = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env, start_new_session=True)
        except BaseException:
            subreaper_release()
            raise
        self.proc = DetachedProc(launcher, mountpoint)
        self.died_early = None

    def text(self):
        out = []
        for p in (self.launch_path, self.log_path):
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)


def background_default():
    return os.environ.get("DIPC_TEST_BACKGROUND") == "1"


class Cluster:
    """See the module docstring.

    conf: {"group": {"key": value}} merged over the generated dipc.conf
    (e.g. {"policy": {"keys": "all"}}, {"limits": {"semopm": 100}}).
    """

    def __init__(self, tmpdir=None, nodes=3, conf=None, heartbeat_ms=200,
                 dead_after_ms=2000, request_timeout_ms=5000, ready_timeout=30,
                 allow_stderr=(), start=True, daemon_env=None, daemon_prefix=(),
                 addrs=None, daemon_prefixes=None, run_prefixes=None, background=None):
        self.background = background_default() if background is None else background
        self.build = build_dir()
        self.referee_bin = os.path.join(self.build, "referee", "dipc-referee")
        self.mount_bin = os.path.join(self.build, "fs", "mount.dipcfs")
        self.shim = os.path.join(self.build, "shim", "libdipc.so")
        self.keep_logs_dir = tmpdir  # logs are copied here at stop()
        self.nodes = ["node%d" % (i + 1) for i in range(nodes)]
        self.ready_timeout = ready_timeout
        self.allowed = list(allow_stderr)
        self.bad = list(DEFAULT_BAD_STDERR)
        self.daemons = {}
        self.procs = []
        self.kernel_sets = []  # kernel semaphore ids to remove at stop()
        self.stopped = False
        self.problems = []
        self.daemon_prefix = list(daemon_prefix)  # e.g. ["taskset", "-c", "0"]
        # per daemon ("referee", "node1", ...), before daemon_prefix
        self.daemon_prefixes = {k: list(v) for k, v in (daemon_prefixes or {}).items()}
        # per node, for the programs run()/popen() start on it
        self.run_prefixes = {k: list(v) for k, v in (run_prefixes or {}).items()}
        self.daemon_env = dict(os.environ)
        self.daemon_env.update(daemon_env or {})
        for v in ("LD_PRELOAD", "DIPC_MOUNT", "DIPC_KEYS"):
            self.daemon_env.pop(v, None)

        for b in (self.referee_bin, self.mount_bin, self.shim):
            if not os.path.exists(b):
                raise ClusterError("missing %s: build first (meson setup build && ninja -C build),"
                                   " or point DIPC_BUILD at a build directory" % b)

        # Under /tmp and world-searchable: programs run as nobody must reach the mounts.
        self.dir = tempfile.mkdtemp(prefix="dipc-test-")
        os.chmod(self.dir, 0o755)
        ports = free_ports(nodes + 1)
        self.referee_addr = "127.0.0.1:%d" % ports[0]
        self.addr = {n: "127.0.0.1:%d" % ports[i + 1] for i, n in enumerate(self.nodes)}
        addrs = addrs or {}  # {"referee": "host:port", "node1": "host:port", ...}
        self.referee_addr = addrs.get("referee", self.referee_addr)
        self.addr.update({n: a for n, a in addrs.items() if n in self.addr})
        self.mounts = {n: os.path.join(self.dir, n) for n in self.nodes}
        for m in self.mounts.values():
            os.mkdir(m)
            os.chmod(m, 0o755)

        groups = {
            "cluster": {
                "secret": "test-secret-%s" % os.urandom(8).hex(),
                "referee": self.referee_addr,
                "allowed_hosts": "127.0.0.0/8",
                "heartbeat_ms": heartbeat_ms,
                "dead_after_ms": dead_after_ms,
                "request_timeout_ms": request_timeout_ms,
            },
            "referee": {"listen": self.referee_addr},
        }
        for n in self.nodes:
            groups["node." + n] = {"listen": self.addr[n], "mountpoint": self.mounts[n]}
        for g, kv in (conf or {}).items():
            groups.setdefault(g, {}).update(kv)
        self.groups = groups
        self.conf_path = self.write_conf("dipc.conf")
        if start:
            try:
                self.start()
            except BaseException:
                self.stop(check=False)
                raise

    def write_conf(self, name, overrides=None, drop=()):
        """Write the cluster's dipc.conf, with overrides {"group": {"key": v}}
        (v None removes the key) and whole groups dropped, as self.dir/name."""
        groups = {g: dict(kv) for g, kv in self.groups.items() if g not in drop}
        for g, kv in (overrides or {}).items():
            groups.setdefault(g, {})
            for k, v in kv.items():
                if v is None:
                    groups[g].pop(k, None)
                else:
                    groups[g][k] = v
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            for g, kv in groups.items():
                f.write("[%s]\n" % g)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, v))
                f.write("\n")
        os.chmod(path, 0o600)
        return path

    # ---- life cycle -------------------------------------------------------

    def start(self):
        self.start_referee()
        for n in self.nodes:
            self.start_node(n, wait=False)
        self.wait_ready()

    def start_referee(self):
        d = Daemon("referee", self.daemon_prefixes.get("referee", []) + self.daemon_prefix
                   + [self.referee_bin, "-c", self.conf_path],
                   os.path.join(self.dir, "referee.log"), self.daemon_env)
        self.daemons["referee"] = d
        return d

    def start_node(self, node, wait=True, conf_path=None):
        log = os.path.join(self.dir, "%s.log" % node)
        if node in self.daemons:  # a restart: keep the old logs
            stamp = ".%d" % time.monotonic_ns()
            for old in (log, log + ".launch"):
                if os.path.exists(old):
                    os.rename(old, old + stamp)
        opts = "conf=%s,node=%s" % (conf_path or self.conf_path, node)
        prefix = self.daemon_prefixes.get(node, []) + self.daemon_prefix
        if self.background:
            d = DetachedDaemon(node, prefix + [self.mount_bin, "dipc", self.mounts[node], "-o",
                                               opts + ",log=" + log],
                               log, self.daemon_env, self.mounts[node])
            # as mount(8) does: back once the mount is up or has failed
            # (and the subreaper window is closed before anything else runs)
            try:
                d.proc.launcher.wait(timeout=self.ready_timeout)
            except subprocess.TimeoutExpired:
                pass
            d.proc.poll()
        else:
            d = Daemon(node, prefix + [self.mount_bin, "dipc", self.mounts[node], "-f", "-o", opts],
                       log, self.daemon_env)
        self.daemons[node] = d
        if wait:
            self.wait_ready([node])
        return d

    def _check_alive(self, names=None):
        for name in names or list(self.daemons):
            d = self.daemons.get(name)
            if d is not None and not d.alive() and d.died_early is None:
                d.died_early = d.proc.returncode
                raise ClusterError("%s exited with status %s while starting/running:\n%s"
                                   % (name, d.proc.returncode, d.tail()))

    def cluster_state(self, node):
        """Parsed MOUNT/cluster of a node: {"node":..., "referee": (addr, state),
        "peers": {name: (addr, state)}}, or None if it cannot be read."""
        try:
            with open(os.path.join(self.mounts[node], "cluster")) as f:
                text = f.read()
        except OSError:
            return None
        st = {"node": None, "referee": None, "peers": {}, "text": text}
        for line in text.splitlines():
            w = line.split()
            if len(w) >= 2 and w[0] == "node":
                st["node"] = w[1]
            elif len(w) >= 3 and w[0] == "referee":
                st["referee"] = (w[1], w[2])
            elif len(w) >= 4 and w[0] == "peer":
                st["peers"][w[1]] = (w[2], w[3])
        return st

    def node_ready(self, node, alive=None):
        alive = self.nodes if alive is None else alive
        if not is_mounted(self.mounts[node]):
            return False
        st = self.cluster_state(node)
        if not st or st["node"] != node or not st["referee"] or st["referee"][1] != "connected":
            return False
        return all(st["peers"].get(n, (None, None))[1] == "alive" for n in alive)

    def wait_ready(self, nodes=None, alive=None, timeout=None):
        nodes = nodes or [n for n in self.nodes if n in self.daemons and self.daemons[n].alive()]

        def ready():
            self._check_alive(["referee"] + nodes)
            return all(self.node_ready(n, alive) for n in nodes)

        try:
            wait_until(ready, timeout or self.ready_timeout, "cluster ready (%s)" % ", ".join(nodes),
                       interval=0.02)
        except ClusterError as e:
            states = "\n".join("--- %s/cluster:\n%s" % (n, (self.cluster_state(n) or {}).get("text"))
                               for n in nodes)
            logs = "\n".join("--- %s log:\n%s" % (d.name, d.tail()) for d in self.daemons.values())
            raise ClusterError("%s\n%s\n%s" % (e, states, logs)) from None

    def kill_node(self, node, sig=signal.SIGKILL, unmount=True):
        """Kill a node's daemon (a crash, for failure tests); lazily unmount it
        unless unmount=False (then the dead mount stays until stop())."""
        d = self.daemons[node]
        d.died_early = "killed by test"
        try:
            os.kill(d.pid, sig)
        except ProcessLookupError:
            pass
        try:
            d.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(d.pid, signal.SIGKILL)
            d.proc.wait(timeout=10)
        if unmount and is_mounted(self.mounts[node]):
            subprocess.run(["fusermount3", "-u", "-z", self.mounts[node]], timeout=10,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def allow_stderr(self, pattern):
        """A regex: daemon stderr lines matching it are not failures."""
        self.allowed.append(pattern)

    def stop(self, check=True):
        """End everything (by pid), clean up, then report problems (ClusterError)."""
        if self.stopped:
            return
        self.stopped = True
        problems = self.problems
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                except ProcessLookupError:
                    pass
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    problems.append("process %d (%s) did not die" % (p.pid, p.args))
        for semid in self.kernel_sets:
            subprocess.run(["ipcrm", "-s", str(semid)], timeout=10,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for d in self.daemons.values():
            if d.died_early is None and not d.alive():
                d.died_early = d.proc.returncode
                problems.append("%s died during the test (status %s)" % (d.name, d.proc.returncode))
        order = [n for n in self.nodes if n in self.daemons] + (["referee"] if "referee" in self.daemons else [])
        for name in order:
            d = self.daemons[name]
            if not d.alive():
                continue
            os.kill(d.pid, signal.SIGTERM)
            try:
                rc = d.proc.wait(timeout=10)
                if rc != 0:
                    problems.append("%s exited with status %s on SIGTERM" % (name, rc))
            except subprocess.TimeoutExpired:
                problems.append("%s did not exit within 10s of SIGTERM" % name)
                if name in self.mounts:
                    subprocess.run(["fusermount3", "-u", "-z", self.mounts[name]], timeout=10,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                os.kill(d.pid, signal.SIGKILL)
                d.proc.wait(timeout=10)
        for name, m in self.mounts.items():
            if is_mounted(m):
                if name in self.daemons and self.daemons[name].died_early is None:
                    problems.append("%s left %s mounted after exiting" % (name, m))
                subprocess.run(["fusermount3", "-u", "-z", m], timeout=10,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for d in self.daemons.values():
            d.log.close()
            problems.extend(self._bad_lines(d))
        if self.keep_logs_dir:
            try:
                os.makedirs(self.keep_logs_dir, exist_ok=True)
                for f in os.listdir(self.dir):
                    if ".log" in f or f == "dipc.conf":
                        shutil.copy(os.path.join(self.dir, f), self.keep_logs_dir)
            except OSError:
                pass
        try:
            shutil.rmtree(self.dir)
        except OSError as e:
            problems.append("cannot remove %s: %s" % (self.dir, e))
        if check and problems:
            where = " (logs kept in %s)" % self.keep_logs_dir if self.keep_logs_dir else ""
            raise ClusterError("cluster problems%s:\n  %s" % (where, "\n  ".join(problems)))

    def _bad_lines(self, d):
        out = []
        for line in d.text().splitlines():
            if any(re.search(b, line) for b in self.bad) and \
                    not any(re.search(a, line) for a in self.allowed):
                out.append("%s stderr: %s" % (d.name, line))
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)

    # ---- running programs -------------------------------------------------

    def mount(self, node):
        return self.mounts[node]

    def prog(self, name):
        p = os.path.join(self.build, "tests", "progs", name)
        if not os.path.exists(p):
            raise ClusterError("missing test program %s (ninja -C %s)" % (p, self.build))
        return p

    def msgprog(self, name):
        """A message-queue test program (tests/msgprogs/NAME in the build)."""
        p = os.path.join(self.build, "tests", "msgprogs", name)
        if not os.path.exists(p):
            raise ClusterError("missing test program %s (ninja -C %s)" % (p, self.build))
        return p

    def env(self, node, **extra):
        """Environment that runs a program "on" node through the shim."""
        e = dict(os.environ)
        e.pop("DIPC_KEYS", None)
        e["LD_PRELOAD"] = self.shim
        e["DIPC_MOUNT"] = self.mounts[node]
        e.update({k: str(v) for k, v in extra.items()})
        return e

    @staticmethod
    def native_env(**extra):
        e = dict(os.environ)
        for v in ("LD_PRELOAD", "DIPC_MOUNT", "DIPC_KEYS"):
            e.pop(v, None)
        e.update({k: str(v) for k, v in extra.items()})
        return e

    @staticmethod
    def as_user(argv, user):
        if user is None:
            return list(argv)
        uid = NOBODY if user == "nobody" else int(user)
        return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", "--"] + list(argv)

    def _argv_for(self, node, argv, user):
        return self.run_prefixes.get(node, []) + self.as_user(argv, user)

    def _env_for(self, node, env):
        base = self.native_env() if node is None else self.env(node)
        base.update({k: str(v) for k, v in (env or {}).items()})
        for k, v in list(base.items()):
            if v == "__unset__":
                del base[k]
        return base

    def run(self, node, argv, timeout=30, user=None, env=None, input=None, check=False):
        """Run argv on node (None: natively, no shim) and wait.  Returns
        CompletedProcess with text stdout/stderr; a time-out kills it and raises."""
        try:
            return subprocess.run(self._argv_for(node, argv, user), env=self._env_for(node, env),
                                  input=input, capture_output=True, text=True, timeout=timeout,
                                  check=check)
        except subprocess.TimeoutExpired as e:
            raise ClusterError("%s on %s did not finish within %ss; stdout=%r stderr=%r"
                               % (argv, node, timeout, e.stdout, e.stderr)) from None

    def popen(self, node, argv, user=None, env=None, **kw):
        """Start argv on node in the background (text pipes by default); it is
        killed at stop() if still running."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("stdin", subprocess.PIPE)
        kw.setdefault("text", True)
        p = subprocess.Popen(self._argv_for(node, argv, user), env=self._env_for(node, env), **kw)
        self.procs.append(p)
        return p

    # ---- inspection -------------------------------------------------------

    def sem_path(self, node, key):
        return os.path.join(self.mounts[node], "sem", sem_name(key))

    def msg_path(self, node, key):
        """MOUNT/msg/0xKKKKKKKK of a keyed queue on node."""
        return os.path.join(self.mounts[node], "msg", sem_name(key))

    def cat(self, path, timeout=10):
        r = subprocess.run(["cat", path], capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise ClusterError("cat %s: %s" % (path, r.stderr.strip()))
        return r.stdout

    def logs(self):
        return {n: d.text() for n, d in self.daemons.items()}
