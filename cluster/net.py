"""The nodes' network namespaces and veth pairs (`ip netns` + `ip link`), made and removed
idempotently. Only names with the cluster's prefix are ever touched."""
from __future__ import annotations

import os
import signal
import subprocess
import time

from core.errors import InstallFailed

from cluster.topology import PREFIX, Node, Topology


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise InstallFailed(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def namespaces() -> set[str]:
    out = _ip("netns", "list", check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def links() -> set[str]:
    out = _ip("-o", "link", "show", check=False).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line.count(":") >= 2}


def node_up(n: Node) -> None:
    if n.netns not in namespaces():
        _ip("netns", "add", n.netns)
    if n.veth not in links():
        _ip("link", "add", n.veth, "type", "veth", "peer", "name", "eth0", "netns", n.netns)
    _ip("addr", "replace", f"{n.host_side}/30", "dev", n.veth)
    _ip("link", "set", n.veth, "up")
    ns = ("-n", n.netns)
    _ip(*ns, "addr", "replace", f"{n.address}/30", "dev", "eth0")
    _ip(*ns, "link", "set", "eth0", "up")
    _ip(*ns, "link", "set", "lo", "up")
    # the other nodes' root-side addresses (where the agents' phones and the engines
    # listen) are reached through this node's own link
    _ip(*ns, "route", "replace", "default", "via", n.host_side)


def pids(netns: str) -> list[int]:
    r = _ip("netns", "pids", netns, check=False)
    return [int(p) for p in r.stdout.split() if p.isdigit()]


def kill_all(netns: str, sig: int = signal.SIGKILL) -> int:
    """Every process in the namespace (all of them ours: the namespace is the cluster's)."""
    got = pids(netns)
    for p in got:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass
    return len(got)


def node_down(n: Node) -> None:
    if n.netns in namespaces():
        kill_all(n.netns, signal.SIGTERM)
        deadline = time.monotonic() + 3
        while pids(n.netns) and time.monotonic() < deadline:
            time.sleep(0.1)
        kill_all(n.netns, signal.SIGKILL)
        _ip("netns", "del", n.netns, check=False)
    if n.veth in links():   # deleting the namespace takes the pair with it; this is the leftover case
        _ip("link", "del", n.veth, check=False)


def leftovers(t: Topology) -> list[str]:
    """Namespaces and links of this cluster id, whatever node count made them."""
    mine = f"{PREFIX}{t.cid}"
    return sorted({x for x in namespaces() if x.startswith(mine + "-n")} |
                  {x for x in links() if x.startswith(mine + "n")})
