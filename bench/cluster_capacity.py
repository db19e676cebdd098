"""Capacity of a cluster against one node: the same harness, the same run, calls carried per
CPU-second of the whole cluster (every node's Asterisk, every engine, Kamailio).

    .venv/bin/python -m bench.cluster_capacity [--nodes 3] [--calls 24] [--rate 2] [--talk 4]
                                              [--id 7] [--db-url postgresql+asyncpg://...]

For 1 node, then N nodes: `cluster up` (cluster id `--id`, its own ports), Local answering
agents (`local_agents`, enough for every call at once), SIPp placing `--calls` calls
through Kamailio at `--rate` per second (12345, keys 1 then 2: Mandarin tax, `--talk`
seconds after the keys), then the tickets counted. CPU is user + system time of every
process of the cluster over the load (from the first INVITE until the last ticket is in),
read with psutil; "vs 1 node" is (carried per CPU-second of N nodes) / (the same of one).
On a machine with fewer cores than nodes this is the honest measure of what an added node
costs: total throughput cannot grow beyond the cores, efficiency can be compared.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import psutil

from bench.table import markdown
from cluster import kamailio, net, service
from cluster.topology import Topology
from core import settings as settings_mod
from tickets.store import Store
from trunks import carrier

PORTS = dict(ami_port=31038, agi_port=31073, sip_port=31060, phones_port=31070, rtp_start=31400, rtp_end=31999,
             http_port=31345)


def processes(t: Topology) -> list[psutil.Process]:
    pids: set[int] = set()
    kp = kamailio.pid(t)
    if kp:
        pids.add(kp)
        pids |= {c.pid for c in psutil.Process(kp).children(recursive=True)}
    for n in t.nodes:
        pids |= set(net.pids(n.netns))
        ep = service.engine_pid(t, n)
        if ep:
            pids.add(ep)
    out = []
    for p in pids:
        try:
            out.append(psutil.Process(p))
        except psutil.NoSuchProcess:
            pass
    return out


def cpu_of(procs: list[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in procs:
        try:
            c = p.cpu_times()
            out[p.pid] = c.user + c.system
        except psutil.NoSuchProcess:
            pass
    return out


def kind(t: Topology, p: psutil.Process) -> str:
    try:
        name = p.name()
    except psutil.NoSuchProcess:
        return "gone"
    return "kamailio" if name == "kamailio" else "asterisk" if "asterisk" in name or name in ("unshare", "sh") \
        else "engine"


async def engines_ready(t: Topology, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pending = set(t.nodes)
    async with aiohttp.ClientSession() as http:
        while pending and time.monotonic() < deadline:
            for n in list(pending):
                try:
                    async with http.get(f"{service.node_settings(t, n).http_url}/status") as r:
                        if (await r.json()).get("ok"):
                            pending.discard(n)
                except (aiohttp.ClientError, OSError, ValueError):
                    pass
            await asyncio.sleep(0.5)
    if pending:
        raise RuntimeError(f"engines not ready: {[n.name for n in pending]}")


async def one(base, cid: int, count: int, calls: int, rate: float, talk: float) -> dict:
    t = Topology(cid, count, base)
    await asyncio.to_thread(service.down, t)
    await asyncio.to_thread(service.up, t)
    store = Store(service.database_url(t))
    try:
        await asyncio.to_thread(service.wait_healthy, t)
        await engines_ready(t)
        await asyncio.sleep(2)   # start-up work (migrations, first sweeps) out of the figure
        procs = processes(t)
        tag = f"{count}{int(time.time()) % 100000:05d}"
        cs = [carrier.CarrierCall(to="12345", caller=f"+8613{tag}{i:03d}", keys="12", wait=1.5, gap=0.8,
                                  talk=talk, speech=False) for i in range(calls)]
        c0, t0 = cpu_of(procs), time.monotonic()
        result = await carrier.place(t.proxy_host, t.proxy_port, cs, proxy=True, media_ip=t.phones_host,
                                     local_port=base.sip_port + 120, media_port=base.sip_port + 130, rate=rate,
                                     timeout=talk + 90)
        want = {c.caller.removeprefix("+86") for c in cs}
        deadline = time.monotonic() + 60
        got: list[dict] = []
        while time.monotonic() < deadline:
            got = [tk for tk in await store.tickets(limit=500) if tk["caller"] in want]
            if len(got) >= len(want):
                break
            await asyncio.sleep(0.5)
        seconds = time.monotonic() - t0
        c1 = cpu_of(procs)
        by: dict[str, float] = {}
        for p in procs:
            by[kind(t, p)] = by.get(kind(t, p), 0.0) + c1.get(p.pid, c0.get(p.pid, 0)) - c0.get(p.pid, 0)
        carried = sum(1 for tk in got if tk["disposition"] == "answered" and tk["department"] == "tax")
        total = sum(by.values())
        nodes_used = sorted({tk["node"] for tk in got})
        return {"nodes": count, "calls": calls, "sipp_answered": result.answered, "carried": carried,
                "asterisk": by.get("asterisk", 0.0), "engine": by.get("engine", 0.0),
                "kamailio": by.get("kamailio", 0.0), "cpu": total, "per_cpu": carried / total if total else 0.0,
                "seconds": seconds, "spread": "/".join(str(sum(1 for tk in got if tk["node"] == n))
                                                      for n in nodes_used)}
    finally:
        await store.close()
        await asyncio.to_thread(service.down, t)


def table(rows: list[dict]) -> str:
    one_node = next((r for r in rows if r["nodes"] == 1), None)
    vs = lambda r: f"{r['per_cpu'] / one_node['per_cpu']:.2f}" if one_node and one_node["per_cpu"] else "-"  # noqa: E731
    return markdown([
        ("nodes", lambda r: r["nodes"]), ("calls", lambda r: r["calls"]), ("carried", lambda r: r["carried"]),
        ("per node", lambda r: r["spread"]),
        ("Asterisk CPU s", lambda r: f"{r['asterisk']:.2f}"), ("engines CPU s", lambda r: f"{r['engine']:.2f}"),
        ("Kamailio CPU s", lambda r: f"{r['kamailio']:.2f}"), ("total CPU s", lambda r: f"{r['cpu']:.2f}"),
        ("calls per CPU-s", lambda r: f"{r['per_cpu']:.2f}"), ("vs 1 node", vs),
        ("wall s", lambda r: f"{r['seconds']:.0f}")], rows)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--calls", type=int, default=24)
    ap.add_argument("--rate", type=float, default=2.0)
    ap.add_argument("--talk", type=float, default=4.0)
    ap.add_argument("--id", type=int, default=7)
    ap.add_argument("--db-url", default="")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hotline-bench-cluster-"))
    root = os.environ.get("HOTLINE_ASTERISK_ROOT", "/var/lib/hotline/asterisk-root")
    base = settings_mod.load(env={}, home=str(home), asterisk_root=root, local_agents=args.calls,
                             db_url=args.db_url, **PORTS)
    print(f"# cluster capacity {datetime.now():%Y-%m-%d %H:%M}, {psutil.cpu_count()} CPUs, "
          f"{args.calls} calls at {args.rate}/s, talk {args.talk} s, database "
          f"{'PostgreSQL' if args.db_url.startswith('postgres') else 'SQLite'}", flush=True)
    rows = []
    for count in (1, args.nodes):
        rows.append(await one(base, args.id, count, args.calls, args.rate, args.talk))
        print(table(rows[-1:]), flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    asyncio.run(main())
