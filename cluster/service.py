"""`hotline cluster up | down | status`: Kamailio, N namespaced Asterisk nodes, an engine per
node, one database. `up` and `down` are idempotent; `down` removes every namespace, veth
pair and process of the cluster id, whatever an earlier, interrupted run left."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from asterisk_conf import process
from core.errors import InstallFailed
from core.settings import Settings

from cluster import kamailio, net, nodes
from cluster.topology import Node, Topology

log = logging.getLogger(__name__)


def state_file(t: Topology) -> Path:
    return t.state_dir / "cluster.json"


def read_state(base: Settings, cid: int) -> dict | None:
    try:
        return json.loads(state_file(Topology(cid, 1, base)).read_text())
    except (OSError, ValueError):
        return None


def running_database(home: Path) -> str | None:
    """The database of the one cluster running under `home` (its Kamailio alive), if any:
    while a cluster runs, the operator commands act on its database."""
    urls = set()
    for f in sorted(home.glob("hlc*/cluster.json")):
        try:
            state = json.loads(f.read_text())
            pid = int((f.parent / "kamailio" / "kamailio.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if nodes.alive(pid) and state.get("db_url"):
            urls.add(state["db_url"])
    return urls.pop() if len(urls) == 1 else None


def database_url(t: Topology) -> str:
    """One database for every node: the settings' one, else a SQLite file of the cluster's."""
    return t.base.db_url or f"sqlite+aiosqlite:///{t.state_dir / 'hotline.db'}"


def node_settings(t: Topology, n: Node) -> Settings:
    import dataclasses
    return dataclasses.replace(t.settings(n), db_url=database_url(t))


def up(t: Topology, *, engines: bool = True, standby: bool = False) -> dict:
    for n in t.nodes:
        nodes.ensure_installed(node_settings(t, n))
    t.state_dir.mkdir(parents=True, exist_ok=True)
    state = {"cid": t.cid, "nodes": t.count, "db_url": database_url(t), "engines": {},
             "proxy": {"host": t.proxy_host, "port": t.proxy_port}}
    state_file(t).write_text(json.dumps(state))
    try:
        for n in t.nodes:
            net.node_up(n)
        for n in t.nodes:
            nodes.asterisk_up(node_settings(t, n), n)
        kamailio.up(t)
        # the schema once, before the engines: three engines migrating one PostgreSQL
        # database at the same moment collide on CREATE TABLE
        migrate(database_url(t))
        if engines:
            for n in t.nodes:
                state["engines"][n.name] = engine_up(t, n)
            if standby:   # started after the engines, so that those take the leases first
                time.sleep(1.0)
                for n in t.nodes:
                    engine_up(t, n, "standby")
        state_file(t).write_text(json.dumps(state))
    except BaseException:
        down(t)   # never leave half a cluster behind
        raise
    return state


ROLES = ("engine", "standby")


def migrate(url: str) -> None:
    from db.database import Database

    async def go() -> None:
        db = Database(url)
        try:
            await db.migrate()
        finally:
            await db.close()
    asyncio.run(go())


def engine_up(t: Topology, n: Node, role: str = "engine") -> int:
    """The node's engine, or its standby (`role` "standby"): both wait for the node's routing
    lease (cluster/lease.py); whichever holds it routes, the other takes over at its death."""
    d = t.state_dir / n.name
    d.mkdir(parents=True, exist_ok=True)
    return nodes.engine_start(node_settings(t, n), d / f"{role}.log", d / f"{role}.pid")


def engine_pid(t: Topology, n: Node, role: str = "engine") -> int | None:
    try:
        p = int((t.state_dir / n.name / f"{role}.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return p if nodes.alive(p) else None


def down(t: Topology) -> dict:
    """Everything of cluster id `t.cid`, for any node count an earlier `up` used."""
    out = {"engines": 0, "asterisk": 0, "kamailio": False, "removed": []}
    known = read_state(t.base, t.cid) or {}
    wide = Topology(t.cid, max(t.count, int(known.get("nodes", 0) or 0), _highest(t)), t.base)
    for n in wide.nodes:
        for role in reversed(ROLES):   # the standby first: it would take over from the engine
            p = engine_pid(wide, n, role)
            if p:
                nodes.stop_pid(p)
                out["engines"] += 1
    out["kamailio"] = kamailio.down(wide)
    for n in wide.nodes:
        s = node_settings(wide, n)
        if n.netns in net.namespaces():
            if net.pids(n.netns):
                out["asterisk"] += 1
                nodes.asterisk_down(s, n)
        net.node_down(n)
    out["removed"] = net.leftovers(wide)   # what could not be removed (should be empty)
    state_file(t).unlink(missing_ok=True)
    return out


def _highest(t: Topology) -> int:
    best = 1
    for name in net.leftovers(Topology(t.cid, 1, t.base)):
        tail = name.rsplit("n", 1)[-1]
        if tail.isdigit():
            best = max(best, int(tail))
    return min(best, 16)


def status(t: Topology) -> dict:
    """The contract: {"proxy": {"host", "port"}, "nodes": [{"name", "address", "healthy"}]}.
    A node is healthy when the dispatcher has it active (it answered the last probe)."""
    try:
        flags = kamailio.destinations(t) if kamailio.pid(t) else {}
    except (InstallFailed, OSError):
        flags = {}
    out_nodes = []
    for n in t.nodes:
        f = flags.get(f"sip:{n.address}:{t.base.sip_port}", "")
        out_nodes.append({"name": n.name, "address": n.address, "healthy": f.startswith("A"),
                          "dispatcher": f or None, "engine": engine_pid(t, n) is not None,
                          "standby": engine_pid(t, n, "standby") is not None})
    return {"proxy": {"host": t.proxy_host, "port": t.proxy_port}, "nodes": out_nodes,
            "kamailio": kamailio.pid(t) is not None, "db_url": database_url(t)}


def wait_healthy(t: Topology, names: set[str] | None = None, timeout: float = 30.0) -> dict:
    want = names if names is not None else {n.name for n in t.nodes}
    deadline = time.monotonic() + timeout
    st = status(t)
    while time.monotonic() < deadline:
        st = status(t)
        if {n["name"] for n in st["nodes"] if n["healthy"]} >= want:
            return st
        time.sleep(0.2)
    raise InstallFailed(f"cluster nodes not healthy within {timeout}s: {st['nodes']}")


def rx(t: Topology, n: Node, command: str) -> str:
    return process.rx(node_settings(t, n), command).stdout
