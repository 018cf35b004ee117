#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""dipcfs namespace benchmark: `ls -l` of many objects, and shmat, in one run.

    /usr/bin/python3 bench/ns_run.py [--quick] [--objects N] [--ls-runs R]
                                     [--attach-n N] [--repeat R]
                                     [--passes unpinned,pinned] [--json FILE]

(after a build; DIPC_BUILD picks the build directory, default build/).  Issue
7 asks for the cost of `ls -l` on 1,000 objects and of `shmat`, before and
after the refactor of fs/.  In one 2-node cluster per pass
(tests/integration/cluster.py: a real dipc-referee and two real mount.dipcfs
on loopback ports) it measures:

  floor  one FUSE ioctl round trip: semctl(GETVAL) of a set the caller's node
         owns (bench/sem_bench getval on node1), as bench/shm_run.py measures
         it; and a raw TCP loopback round trip (bench/tcp_rtt, 64 B), so that
         a remote call can be read as a number of FUSE + TCP round trips.
  (1)    `ls -l MOUNT/sem` with N (default 1000) sets of one semaphore, all
         made by node1 (bench/ns/ns_bench mksem, through the shim with
         IPC_DIPC): on node1 (every owner local) and on node2 (every owner
         remote).  Wall time of one listing (the ls process, started and
         waited for), median of R runs after one unmeasured warm-up.  Also
         shown: `ls -f` (readdir only, no stat) on each node.
  (2)    what one listing sends: the TCP data segments each daemon sends to
         the referee and to its peers during one `ls -l`, and the bytes it
         receives, read from the kernel's own socket counters (`ss -ti`:
         data_segs_out, bytes_received) before and after.  The daemons keep
         no request counters, and a request is one small message written at
         once, so on loopback a data segment a daemon sends is about one
         request or reply (a reply larger than 64 KiB is several segments:
         read the byte counts for those).  The cluster's heartbeat is set to
         2 s (a ping is sent only after that much silence), so pings hardly
         count.
  (3)    shmat() then shmdt() of a 64 KiB segment made by node1 (shm_bench
         create), from node1 (owner local) and from node2 (owner remote):
         median latency of each call and of the pair over N rounds
         (ns_bench attach); --repeat runs, the run with the median pair kept.
         And the segments one pair sends, counted as in (2) over
         --count-rounds rounds, less those of a run of no rounds (the
         process's own start: shmget, the shim's setup).

Figures are reported as ratios against the floor of the same run, never as
pass/fail.  This VM's timing depends on where the scheduler puts the
processes (/work/shared/FUSE-NOTES.md), so there are two passes, as in the
other benchmarks: "unpinned" (default scheduling) and "pinned" (every
process, the daemons and ls included, on CPU 0).  Programs run with
DIPC_REQUIRE=1 and report their ids, so a figure served by the kernel by
mistake is refused.  A benchmark never fails: a figure that cannot be taken is
reported and the run goes on; figures not started within --budget seconds
(default 150) are skipped.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from cluster import Cluster, build_dir, dipc_is_id  # noqa: E402

PASSES = {
    "unpinned": (None, "default scheduling"),
    "pinned": ("0", "every process and the daemons on CPU 0"),
}
NODES = ("node1", "node2")
SEG_SIZE = 64 << 10
PROGS = ("bench/ns/ns_bench", "bench/shm/shm_bench", "bench/sem_bench", "bench/tcp_rtt")


def kv_of(line):
    """The numbers of one "median_us=... ops_per_s=..." line."""
    out = {}
    for w in line.split():
        k, _, v = w.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            pass
    return out if "median_us" in out else None


def labelled(text):
    """{label: figures} of the lines "LABEL median_us=..." (label "" if none)."""
    out = {}
    for line in (text or "").splitlines():
        kv = kv_of(line)
        if kv:
            first = line.split()[0]
            out["" if "=" in first else first] = kv
    return out


# ---- the kernel's socket counters --------------------------------------------

SS_NUM = re.compile(r"\b(data_segs_out|bytes_received):(\d+)")
SS_PID = re.compile(r"pid=(\d+)")


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def socket_counts(c):
    """{daemon: {"referee"|"peers": {"segs_out": n, "bytes_in": n}}} of the
    established TCP sockets of the cluster's daemons, from `ss -tinp`."""
    ref = port_of(c.referee_addr)
    ports = [ref] + [port_of(c.addr[n]) for n in c.nodes]
    filt = " or ".join("sport = :%d or dport = :%d" % (p, p) for p in ports)
    r = subprocess.run(["ss", "-tinpH", "state", "established", "( %s )" % filt],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise RuntimeError("ss: %s" % r.stderr.strip())
    by_pid = {d.pid: name for name, d in c.daemons.items()}
    out = {name: {"referee": {"segs_out": 0, "bytes_in": 0},
                  "peers": {"segs_out": 0, "bytes_in": 0}} for name in c.daemons}
    # ss prints each socket as a line of addresses, then indented lines of counters
    socks = []
    for line in r.stdout.splitlines():
        if line[:1].isspace() and socks:
            socks[-1][1] += " " + line
        elif line.strip():
            socks.append([line, ""])
    for head, info in socks:
        w = head.split()
        m = SS_PID.search(head)
        if len(w) < 4 or not m or int(m.group(1)) not in by_pid:
            continue
        name = by_pid[int(m.group(1))]
        if name == "referee":
            cls = "peers"  # the referee's own sockets: all to nodes
        else:
            cls = "referee" if port_of(w[3]) == ref else "peers"
        for k, v in SS_NUM.findall(info):
            out[name][cls]["segs_out" if k == "data_segs_out" else "bytes_in"] += int(v)
    return out


def counts_diff(a, b):
    return {n: {cls: {k: b[n][cls][k] - a[n][cls][k] for k in b[n][cls]} for cls in b[n]}
            for n in b if n in a}


# ---- one pass ------------------------------------------------------------------

class Pass:
    def __init__(self, name, args, key):
        self.name = name
        pin, self.title = PASSES[name]
        self.prefix = ["taskset", "-c", pin] if pin is not None else []
        self.args = args
        self.key = key
        self.build = build_dir()
        self.R = {"title": self.title}
        self.problems = []
        self.c = None

    def bin(self, path):
        return os.path.join(self.build, path)

    def fail(self, what, err):
        self.problems.append("%s: %s" % (what, str(err)[-300:]))
        print("    %-46s FAILED: %s" % (what, str(err)[-300:]), flush=True)

    def figure(self, what, fn):
        """fn() -> figures; a failure is reported, never raised."""
        if time.monotonic() > self.args.deadline:
            self.fail(what, "skipped: the run is over its time budget (--budget)")
            return None
        try:
            return fn()
        except Exception as e:  # a benchmark never fails
            self.fail(what, e)
            return None

    def run1(self, node, argv, timeout=120, check_ids=True):
        env = self.c.env(node, DIPC_REQUIRE=1) if node else Cluster.native_env()
        try:
            r = subprocess.run(self.prefix + argv, env=env, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError("%s: timed out after %ss" % (" ".join(argv[:3]), timeout))
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv[:3]), (r.stdout + r.stderr).strip()))
        if check_ids and node:
            ids = [int(w[3:]) for w in r.stderr.split() if w.startswith("id=")]
            if not ids or not all(dipc_is_id(i) for i in ids):
                raise RuntimeError("not served by dipcfs (ids %r)" % ids)
        if self.c:
            dead = [n for n, d in self.c.daemons.items() if not d.alive()]
            if dead:
                raise RuntimeError("daemons gone: %s" % ", ".join(dead))
        return r

    # ---- the floor -------------------------------------------------------------

    def floor(self):
        def getval():
            r = self.run1("node1", [self.bin("bench/sem_bench"), "getval",
                                    hex(self.key + 0xF000), str(self.args.rtt_n)])
            return labelled(r.stdout)[""]

        def rtt():
            runs = [labelled(self.run1(None, [self.bin("bench/tcp_rtt"),
                                              str(self.args.rtt_n)]).stdout)[""]
                    for _ in range(self.args.repeat)]
            return sorted(runs, key=lambda kv: kv["median_us"])[len(runs) // 2]

        for name, what, fn in (("fuse_rtt", "FUSE round trip (semctl GETVAL, own node)", getval),
                               ("tcp_rtt", "raw TCP loopback round trip, 64 B", rtt)):
            kv = self.figure(what, fn)
            if kv:
                self.R[name] = kv
                print("    %-46s %10.2f us  (p90 %.2f)" % (what, kv["median_us"], kv["p90_us"]),
                      flush=True)

    # ---- (1), (2): ls ------------------------------------------------------------

    def ls_once(self, node, flags):
        argv = self.prefix + ["ls", flags, "--color=never",
                              os.path.join(self.c.mounts[node], "sem")]
        t0 = time.monotonic()
        r = subprocess.run(argv, env=Cluster.native_env(LC_ALL="C"), capture_output=True,
                           text=True, timeout=120)
        dt = time.monotonic() - t0
        if r.returncode != 0:
            raise RuntimeError("ls %s on %s: %s" % (flags, node, r.stderr.strip()[-200:]))
        names = [ln for ln in r.stdout.splitlines() if "0x" in ln]
        if len(names) < self.args.objects:
            raise RuntimeError("ls %s on %s shows %d sets of %d"
                               % (flags, node, len(names), self.args.objects))
        return dt

    def ls(self, node, flags, runs):
        def fn():
            self.ls_once(node, flags)  # warm-up: the kernel's and the daemons' first touch
            times = [self.ls_once(node, flags) for _ in range(runs)]
            return {"median_ms": statistics.median(times) * 1e3,
                    "min_ms": min(times) * 1e3, "max_ms": max(times) * 1e3, "runs": len(times)}

        what = "(1) ls %s on %s (%s)" % (flags, node,
                                          "owner local" if node == "node1" else "owner remote")
        kv = self.figure(what, fn)
        if kv:
            self.R.setdefault("ls", {}).setdefault(flags, {})[node] = kv
            print("    %-46s %10.1f ms  (min %.1f, max %.1f; %d runs)"
                  % (what, kv["median_ms"], kv["min_ms"], kv["max_ms"], kv["runs"]), flush=True)

    def ls_counts(self, node):
        def fn():
            before = socket_counts(self.c)
            self.ls_once(node, "-l")
            return counts_diff(before, socket_counts(self.c))

        what = "(2) messages of one ls -l on %s" % node
        d = self.figure(what, fn)
        if d:
            self.R.setdefault("ls_counts", {})[node] = d
            me = d[node]
            print("    %-46s referee: %6d segs out, %9d B in;  peers: %6d segs out, %9d B in"
                  % (what, me["referee"]["segs_out"], me["referee"]["bytes_in"],
                     me["peers"]["segs_out"], me["peers"]["bytes_in"]), flush=True)

    def objects(self):
        base, n = self.key, self.args.objects
        nb = self.bin("bench/ns/ns_bench")

        def mk():
            t0 = time.monotonic()
            self.run1("node1", [nb, "mksem", hex(base), str(n)], timeout=300)
            return time.monotonic() - t0

        dt = self.figure("make %d sets on node1" % n, mk)
        if dt is None:
            return
        self.R["mksem_s"] = dt
        print("    %-46s %10.2f s" % ("made %d sets on node1 (one process)" % n, dt), flush=True)
        try:
            for node in NODES:
                self.ls(node, "-l", self.args.ls_runs)
            for node in NODES:
                self.ls_counts(node)
            for node in NODES:
                self.ls(node, "-f", max(1, self.args.ls_runs // 2))
        finally:
            try:
                self.run1("node1", [nb, "rmsem", hex(base), str(n)], timeout=300,
                          check_ids=False)
            except Exception as e:
                self.problems.append("rmsem: %s" % e)

    # ---- (3): shmat ----------------------------------------------------------------

    def shmat(self):
        k = self.key + 0xE000
        sb, nb = self.bin("bench/shm/shm_bench"), self.bin("bench/ns/ns_bench")

        def fn(node):
            runs = []
            for _ in range(self.args.repeat):
                r = self.run1(node, [nb, "attach", hex(k), str(self.args.attach_n),
                                     str(self.args.attach_warm)])
                runs.append(labelled(r.stdout))
            runs.sort(key=lambda x: x["both"]["median_us"])
            return runs[len(runs) // 2]

        if self.figure("create a %d KiB segment on node1" % (SEG_SIZE >> 10),
                       lambda: self.run1("node1", [sb, "create", hex(k), str(SEG_SIZE)])) is None:
            return
        try:
            for node in NODES:
                what = "(3) shmat+shmdt on %s (%s)" % (node, "owner local" if node == "node1"
                                                      else "owner remote")
                r = self.figure(what, lambda: fn(node))
                if r:
                    self.R.setdefault("shmat", {})[node] = r
                    print("    %-46s %10.2f us  (shmat %.2f, shmdt %.2f; p90 %.2f)"
                          % (what, r["both"]["median_us"], r["shmat"]["median_us"],
                             r["shmdt"]["median_us"], r["both"]["p90_us"]), flush=True)
            for node in NODES:
                self.shmat_counts(node, k)
        finally:
            try:
                self.run1("node1", [sb, "rm", hex(k)], check_ids=False)
            except Exception as e:
                self.problems.append("shm rm: %s" % e)

    def shmat_counts(self, node, k):
        rounds = self.args.count_rounds

        def counted(n):
            before = socket_counts(self.c)
            self.run1(node, [self.bin("bench/ns/ns_bench"), "attach", hex(k), str(n), "0"])
            return counts_diff(before, socket_counts(self.c))

        def fn():
            # the same process with no rounds: what shmget and the shim's start cost
            base, d = counted(0), counted(rounds)
            return {n: {cls: {x: (v - base[n][cls][x]) / rounds for x, v in kv.items()}
                        for cls, kv in cl.items()} for n, cl in d.items() if n in base}

        what = "(3) messages of one shmat+shmdt on %s" % node
        d = self.figure(what, fn)
        if d:
            self.R.setdefault("shmat_counts", {})[node] = d
            me = d[node]
            print("    %-46s referee: %6.2f segs out, %9.0f B in;  peers: %6.2f segs out,"
                  " %9.0f B in" % (what, me["referee"]["segs_out"], me["referee"]["bytes_in"],
                     me["peers"]["segs_out"], me["peers"]["bytes_in"]), flush=True)

    # ---- the pass ------------------------------------------------------------------

    def run(self):
        print("\n== pass %s: %s" % (self.name, self.title), flush=True)
        try:
            self.c = Cluster(nodes=2, daemon_prefix=self.prefix, heartbeat_ms=2000,
                             dead_after_ms=20000)
        except Exception as e:
            self.fail("cluster start", e)
            return self.R
        try:
            self.floor()
            self.objects()
            self.shmat()
        finally:
            try:
                self.c.stop()
            except Exception as e:
                self.problems.append("cluster problems: %s" % e)
        self.ratios()
        self.R["problems"] = self.problems
        return self.R

    def ratios(self):
        R = self.R
        fuse = R.get("fuse_rtt", {}).get("median_us")
        tcp = R.get("tcp_rtt", {}).get("median_us")
        rat = {}
        if fuse:
            for node, kv in R.get("ls", {}).get("-l", {}).items():
                rat["ls_l_%s_per_object_over_fuse" % node] = \
                    kv["median_ms"] * 1e3 / self.args.objects / fuse
            for node, r in R.get("shmat", {}).items():
                rat["shmat_shmdt_%s_over_fuse" % node] = r["both"]["median_us"] / fuse
                if tcp:
                    rat["shmat_shmdt_%s_over_fuse_plus_tcp" % node] = \
                        r["both"]["median_us"] / (fuse + tcp)
        if fuse and tcp:
            for node, kv in R.get("ls", {}).get("-l", {}).items():
                rat["ls_l_%s_per_object_over_fuse_plus_tcp" % node] = \
                    kv["median_ms"] * 1e3 / self.args.objects / (fuse + tcp)
        R["ratios"] = rat


def summary(name, R, objects):
    def g(*path):
        v = R
        for p in path:
            if not isinstance(v, dict) or p not in v:
                return None
            v = v[p]
        return v

    def cell(x, fmt):
        return fmt % x if x is not None else "-"

    fuse, tcp = g("fuse_rtt", "median_us"), g("tcp_rtt", "median_us")
    print("\n  pass %s: summary (medians; ratios against this pass's floor)" % name)
    print("  floor: FUSE round trip %s us, TCP round trip %s us"
          % (cell(fuse, "%.2f"), cell(tcp, "%.2f")))
    print("  %-30s %12s %12s %12s %12s" % ("", "node1 local", "x FUSE", "node2 remote",
                                            "x FUSE"))
    for label, flags in (("ls -l, ms per listing", "-l"), ("ls -f, ms per listing", "-f")):
        a, b = g("ls", flags, "node1", "median_ms"), g("ls", flags, "node2", "median_ms")
        print("  %-30s %12s %12s %12s %12s"
              % (label, cell(a, "%.1f"), "", cell(b, "%.1f"), ""))
    a, b = g("ls", "-l", "node1", "median_ms"), g("ls", "-l", "node2", "median_ms")
    per = [x * 1e3 / objects if x is not None else None for x in (a, b)]
    print("  %-30s %12s %12s %12s %12s"
          % ("ls -l, us per object", cell(per[0], "%.1f"),
             cell(per[0] / fuse if per[0] and fuse else None, "%.1f"),
             cell(per[1], "%.1f"), cell(per[1] / fuse if per[1] and fuse else None, "%.1f")))
    for node in NODES:
        me = g("ls_counts", node, node)
        if me:
            print("  %-30s referee %d segs out / %d B in; peers %d segs out / %d B in"
                  % ("ls -l messages, " + node, me["referee"]["segs_out"],
                     me["referee"]["bytes_in"], me["peers"]["segs_out"],
                     me["peers"]["bytes_in"]))
    for label, k in (("shmat+shmdt, us", "both"), ("  shmat, us", "shmat"),
                     ("  shmdt, us", "shmdt")):
        a, b = g("shmat", "node1", k, "median_us"), g("shmat", "node2", k, "median_us")
        print("  %-30s %12s %12s %12s %12s"
              % (label, cell(a, "%.1f"), cell(a / fuse if a and fuse else None, "%.1f"),
                 cell(b, "%.1f"), cell(b / fuse if b and fuse else None, "%.1f")))
    for node in NODES:
        me = g("shmat_counts", node, node)
        if me:
            print("  %-30s referee %.2f segs out / %.0f B in; peers %.2f segs out / %.0f B in"
                  % ("shmat+shmdt messages, " + node, me["referee"]["segs_out"],
                     me["referee"]["bytes_in"], me["peers"]["segs_out"],
                     me["peers"]["bytes_in"]))
    b = g("shmat", "node2", "both", "median_us")
    if b and fuse and tcp:
        print("  shmat+shmdt remote / (FUSE + TCP round trip) = %.2f" % (b / (fuse + tcp)))
    for pr in R.get("problems", []):
        print("  problem: %s" % pr)


def main():
    ap = argparse.ArgumentParser(description="dipcfs namespace benchmark (ls -l, shmat)")
    ap.add_argument("--objects", type=int, default=1000, help="semaphore sets listed")
    ap.add_argument("--ls-runs", type=int, default=9, help="timed ls -l runs per node")
    ap.add_argument("--attach-n", type=int, default=1000, help="shmat+shmdt rounds per run")
    ap.add_argument("--attach-warm", type=int, default=50, help="untimed rounds first")
    ap.add_argument("--count-rounds", type=int, default=100,
                    help="shmat+shmdt rounds whose messages are counted")
    ap.add_argument("--repeat", type=int, default=5, help="runs of (3) and tcp_rtt (median kept)")
    ap.add_argument("--rtt-n", type=int, default=5000, help="round trips of the floor")
    ap.add_argument("--quick", action="store_true", help="fewer iterations")
    ap.add_argument("--passes", default=",".join(PASSES), help="of: " + ", ".join(PASSES))
    ap.add_argument("--budget", type=float, default=150,
                    help="seconds; figures not started by then are skipped")
    ap.add_argument("--json", help="write the figures to this file")
    a = ap.parse_args()
    if a.quick:
        a.ls_runs, a.attach_n, a.repeat, a.rtt_n, a.count_rounds = 2, 200, 1, 1000, 50
    print("dipcfs namespace benchmark, %s, %d CPUs, build %s"
          % (time.strftime("%Y-%m-%d %H:%M:%S"), os.cpu_count(), build_dir()))
    print("(1) ls of %d sets, median of %d runs; (3) %d shmat+shmdt rounds, median of %d runs"
          % (a.objects, a.ls_runs, a.attach_n, a.repeat))
    missing = [p for p in PROGS if not os.path.exists(os.path.join(build_dir(), p))]
    if missing:
        print("not built: %s (ninja -C %s)" % (", ".join(missing), build_dir()))
        return 0
    t0 = time.monotonic()
    a.deadline = t0 + a.budget
    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpus": os.cpu_count(),
           "build": build_dir(), "objects": a.objects, "ls_runs": a.ls_runs,
           "attach_n": a.attach_n, "repeat": a.repeat, "passes": {}}
    try:
        out["commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"],
                                       capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    for i, name in enumerate(x for x in a.passes.split(",") if x):
        if name not in PASSES:
            print("unknown pass %r" % name)
            continue
        key = 0x5C000000 + (os.getpid() & 0xFFF) * 0x20000 + i * 0x10000
        out["passes"][name] = Pass(name, a, key).run()
    for name, R in out["passes"].items():
        summary(name, R, a.objects)
    out["seconds"] = time.monotonic() - t0
    print("(%.0f s)" % out["seconds"])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
            f.write("\n")
        print("figures written to %s" % a.json)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a benchmark never fails
        print("benchmark aborted: %r" % e)
        sys.exit(0)
