"""What a cluster costs with no calls: CPU per process over an idle window.

    .venv/bin/python -m bench.cluster_idle [--nodes 3] [--seconds 30] [--id 7] [--db-url postgresql+asyncpg://...]
                                          [--py-spy DIR]

`cluster up` (cluster id `--id`, the capacity bench's ports), the engines ready, 5 s to
settle, then user + system CPU of every process of the cluster (each node's Asterisk,
each engine, Kamailio) and of the PostgreSQL server's backends over `--seconds`, read with
psutil, per node and per kind, in CPU-milliseconds per second. `--py-spy DIR` also
records each engine's samples over the window (py-spy, flame graphs in DIR).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import psutil

from bench.cluster_capacity import PORTS, cpu_of, engines_ready, kind, processes
from bench.table import load_average, markdown
from cluster import net, service
from cluster.topology import Topology
from core import settings as settings_mod


def postgres() -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] and p.info["name"].startswith("postgres"):
            out.append(p)
    return out


def node_of(t: Topology, pid: int) -> str:
    for n in t.nodes:
        if pid in set(net.pids(n.netns)) or pid == service.engine_pid(t, n):
            return n.name
    return "-"


async def one(base, cid: int, count: int, seconds: float, spy: Path | None) -> list[dict]:
    t = Topology(cid, count, base)
    await asyncio.to_thread(service.down, t)
    await asyncio.to_thread(service.up, t)
    try:
        await asyncio.to_thread(service.wait_healthy, t)
        await engines_ready(t)
        await asyncio.sleep(5)
        procs, pg = processes(t), postgres()
        spies = []
        if spy is not None:
            spy.mkdir(parents=True, exist_ok=True)
            for n in t.nodes:
                ep = service.engine_pid(t, n)
                spies.append(subprocess.Popen(
                    [str(Path(os.sys.executable).parent / "py-spy"), "record", "-p", str(ep), "-d",
                     str(int(seconds)), "-r", "100", "--gil", "-f", "raw", "-o", str(spy / f"{count}-{n.name}.txt")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        c0, p0 = cpu_of(procs), cpu_of(pg)
        await asyncio.sleep(seconds)
        c1, p1 = cpu_of(procs), cpu_of(pg)
        for s in spies:
            s.wait()
        rows: dict[tuple[str, str], float] = {}
        for p in procs:
            key = (node_of(t, p.pid), kind(t, p))
            rows[key] = rows.get(key, 0.0) + c1.get(p.pid, c0.get(p.pid, 0)) - c0.get(p.pid, 0)
        pg_cpu = sum(p1.get(pid, p0.get(pid, 0)) - p0.get(pid, 0) for pid in p0)
        out = [{"nodes": count, "node": k[0], "what": k[1], "ms_per_s": 1000 * v / seconds}
               for k, v in sorted(rows.items())]
        out.append({"nodes": count, "node": "-", "what": "postgres (all backends)", "ms_per_s": 1000 * pg_cpu / seconds})
        out.append({"nodes": count, "node": "all", "what": "cluster (without postgres)",
                    "ms_per_s": 1000 * sum(rows.values()) / seconds})
        return out
    finally:
        await asyncio.to_thread(service.down, t)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--id", type=int, default=7)
    ap.add_argument("--db-url", default="")
    ap.add_argument("--py-spy", default="")
    ap.add_argument("--only", type=int, default=0, help="measure this node count only")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hotline-bench-idle-"))
    root = os.environ.get("HOTLINE_ASTERISK_ROOT", "/var/lib/hotline/asterisk-root")
    base = settings_mod.load(env={}, home=str(home), asterisk_root=root, local_agents=24, db_url=args.db_url,
                             **PORTS)
    print(f"# cluster idle {datetime.now():%Y-%m-%d %H:%M}, {psutil.cpu_count()} CPUs, {args.seconds:.0f} s, "
          f"load {load_average()}, database {'PostgreSQL' if args.db_url.startswith('postgres') else 'SQLite'}",
          flush=True)
    rows = []
    for count in ((args.only,) if args.only else (1, args.nodes)):
        rows += await one(base, args.id, count, args.seconds, Path(args.py_spy) if args.py_spy else None)
    print(markdown([("nodes", lambda r: r["nodes"]), ("node", lambda r: r["node"]), ("process", lambda r: r["what"]),
                    ("CPU ms per s", lambda r: f"{r['ms_per_s']:.1f}")], rows))


if __name__ == "__main__":
    asyncio.run(main())
