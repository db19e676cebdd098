"""Who is where in a cluster on one machine: pure names and addresses, no side effects.

Cluster `cid` (0-63; the tests use their slot) owns 10.177.<cid>.0/24. Node k (1-based) is
network namespace `hlc<cid>-n<k>` joined to the root namespace by a veth pair whose root end
`hlc<cid>n<k>` holds 10.177.<cid>.<4k+1>/30 (Kamailio's and the engine's side) and whose
namespace end `eth0` holds 10.177.<cid>.<4k+2> (the node's Asterisk). Every address is
either loopback or inside these namespaces: nothing here ever targets another host.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from core.errors import BadRequest
from core.settings import Settings

PREFIX = "hlc"
MAX_NODES = 16


@dataclass(frozen=True)
class Node:
    cid: int
    index: int

    @property
    def name(self) -> str:
        return f"node{self.index}"

    @property
    def netns(self) -> str:
        return f"{PREFIX}{self.cid}-n{self.index}"

    @property
    def veth(self) -> str:           # root end; at most 15 characters
        return f"{PREFIX}{self.cid}n{self.index}"

    @property
    def host_side(self) -> str:      # root namespace end: Kamailio and the node's engine
        return f"10.177.{self.cid}.{4 * self.index + 1}"

    @property
    def address(self) -> str:        # inside the namespace: the node's Asterisk
        return f"10.177.{self.cid}.{4 * self.index + 2}"

    @property
    def instance(self) -> str:
        return f"{PREFIX}{self.cid}n{self.index}"


@dataclass(frozen=True)
class Topology:
    cid: int
    count: int
    base: Settings = dataclasses.field(repr=False)

    def __post_init__(self):
        if not 0 <= self.cid <= 63:
            raise BadRequest(f"cluster id must be 0-63, got {self.cid}")
        if not 1 <= self.count <= MAX_NODES:
            raise BadRequest(f"--nodes must be 1-{MAX_NODES}, got {self.count}")

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(Node(self.cid, k) for k in range(1, self.count + 1))

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise BadRequest(f"no node {name!r} in this cluster")

    # where carriers and agents' phones reach the proxy
    @property
    def proxy_host(self) -> str:
        return "127.0.0.1"

    @property
    def proxy_port(self) -> int:
        return self.base.sip_port + 100

    @property
    def phones_host(self) -> str:
        """Agents' phones bind a root-side address, so that nodes' media reaches them too."""
        return self.nodes[0].host_side

    @property
    def state_dir(self) -> Path:
        return self.base.home / f"{PREFIX}{self.cid}"

    @property
    def kamailio_dir(self) -> Path:
        return self.state_dir / "kamailio"

    def settings(self, node: Node) -> Settings:
        """The node's settings: its Asterisk and its engine read the same ones."""
        return dataclasses.replace(
            self.base, instance=node.instance, node=node.name, bind=node.address, agi_host=node.host_side,
            http_host="127.0.0.1", http_port=self.base.http_port + node.index,
            sip_proxy=f"{node.host_side}:{self.proxy_port}", demo_agents=False,
            cluster_ctl=str(self.kamailio_dir / "kamailio.ctl"))
