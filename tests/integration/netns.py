# SPDX-License-Identifier: MIT
"""Network namespaces joined by one virtual switch, for real network faults.

    with Switch({"ref": 1, "n1": 11, "n2": 12}) as net:
        net.prefix("n1")       # ["nsenter", "--net=/run/netns/...", "--"]
        net.ip("n1")           # "10.231.0.11"
        net.cut("n1")          # the cable of n1 is pulled (switch side down)
        net.heal("n1")

Every host is its own network namespace with one interface, eth0, holding
SUBNET.N/24; its cable is a veth pair whose other end is a port of the bridge
br0 in a namespace of its own (the switch).  Nothing is created in the
caller's network namespace, so the addresses cannot clash with the host's,
and parallel runs cannot clash with each other: every name carries this
process's pid and a random tag.

Programs enter a host with ``nsenter --net=/run/netns/NAME`` (prefix()),
which, unlike ``ip netns exec``, keeps the caller's mount namespace: a FUSE
mount made inside is visible to the test.

close() deletes every namespace it created (which destroys their interfaces)
and is safe to call twice; end the processes running inside first.
remove_stale() deletes what runs killed before their clean-up left behind.
"""

import os
import re
import shutil
import subprocess

SUBNET = "10.231.0"   # a /24 of the switch (the namespaces are private: no host route)


class NetnsError(Exception):
    pass


def ip(*args, check=True):
    r = subprocess.run(["ip"] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=20)
    if check and r.returncode != 0:
        raise NetnsError("ip %s: %s" % (" ".join(str(a) for a in args),
                                         (r.stderr or r.stdout).strip()))
    return r


def missing_tools():
    """What this module needs and this machine lacks (a list of sentences)."""
    out = []
    for tool, pkg in (("ip", "iproute2"), ("nsenter", "util-linux")):
        if not shutil.which(tool):
            out.append("%s is not installed (apt-get install %s)" % (tool, pkg))
    if os.geteuid() != 0:
        out.append("network namespaces need root")
    return out


def remove_stale():
    """Delete namespaces left by runs that were killed before their clean-up
    (names dipct-PID-*, PID no longer running).  Returns their names."""
    gone = []
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return gone
    for name in names:
        m = re.match(r"dipct-(\d+)-[0-9a-f]{6}-", name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue            # its run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        if ip("netns", "del", name, check=False).returncode == 0:
            gone.append(name)
    return gone


class Switch:
    def __init__(self, hosts, subnet=SUBNET):
        """hosts: {name: last octet}; the namespaces exist when this returns."""
        self.tag = "dipct-%d-%s" % (os.getpid(), os.urandom(3).hex())
        self.subnet = subnet
        self.sw = self.tag + "-sw"
        self.hosts = dict(hosts)
        self.ns = {h: "%s-%s" % (self.tag, h) for h in self.hosts}
        self.port = {h: "p%d" % i for i, h in enumerate(self.hosts)}  # switch side
        self.created = []
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _add_ns(self, name):
        ip("netns", "add", name)
        self.created.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def _build(self):
        self._add_ns(self.sw)
        ip("-n", self.sw, "link", "add", "br0", "type", "bridge", "stp_state", "0",
           "forward_delay", "0")
        ip("-n", self.sw, "link", "set", "br0", "up")
        for h, octet in self.hosts.items():
            ns = self.ns[h]
            self._add_ns(ns)
            ip("-n", self.sw, "link", "add", self.port[h], "type", "veth",
               "peer", "name", "eth0", "netns", ns)
            ip("-n", ns, "addr", "add", "%s/24" % self.ip(h), "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", self.sw, "link", "set", self.port[h], "master", "br0", "up")

    def ip(self, host):
        return "%s.%d" % (self.subnet, self.hosts[host])

    def cidr(self):
        return "%s.0/24" % self.subnet

    def path(self, host):
        return "/run/netns/" + self.ns[host]

    def prefix(self, host):
        """argv prefix that runs a program in host's network namespace."""
        return ["nsenter", "--net=" + self.path(host), "--"]

    def cut(self, host):
        """Pull host's cable: its switch port goes down (the host is not told)."""
        ip("-n", self.sw, "link", "set", self.port[host], "down")

    def heal(self, host=None):
        for h in [host] if host else self.hosts:
            ip("-n", self.sw, "link", "set", self.port[h], "up")

    def is_up(self, host):
        r = ip("-n", self.sw, "-o", "link", "show", self.port[host])
        return ",UP" in r.stdout or "<UP" in r.stdout

    def close(self):
        """Delete every namespace made here (best effort, all of them); raises
        NetnsError at the end if one could not be deleted."""
        failed = []
        while self.created:
            name = self.created.pop()
            r = ip("netns", "del", name, check=False)
            if r.returncode != 0 and os.path.exists("/run/netns/" + name):
                failed.append("%s: %s" % (name, r.stderr.strip()))
        if failed:
            raise NetnsError("cannot delete namespaces: " + "; ".join(failed))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
