"""Benchmark of the SIP call path: SIPp as the carrier, N concurrent calls over the trunk
through the full path (engine menu, ACD, journal intake) against the native-dialplan peer
(the same SIP calls, the same trunk, into the menu written as plain dialplan).

    .venv/bin/python -m bench.sip_call_path [--sizes 100,200] [--talk 8] [--rate 50]

Its own Asterisk instance ('bench-sip', own ports) with Local answering agents, the engine as
a separate process (`hotline serve`). Each call: INVITE 12345 with a +86 caller, RFC 4733
keys 1 then 2, the citizen's sentence, `talk` seconds, BYE. Printed: calls per second SIPp
offered, CPU seconds per call of the engine and of Asterisk (user + system over the run),
their ratio, the total against the peer, answered/failed (no 200, or no answered tax ticket
on the engine path), machine CPU.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.call_path import asterisk_proc, cpu, engine_healthy, log, stop_engine
from bench.table import markdown
from core import contract
from core import settings as settings_mod
from asterisk_conf import install, process
from ivr import loader, prompts
from tickets.store import Store
from trunks import carrier

PORTS = dict(ami_port=45138, agi_port=44673, sip_port=45160, phones_port=45170, rtp_start=47000,
             rtp_end=48999, http_port=48445)
SIPP_SIP, SIPP_RTP = 45180, 45190


async def run(s, engine, ast, store, n: int, native: bool, talk: float, rate: float) -> dict:
    process.rx(s, f"dialplan set global {contract.G_TNATIVE} {1 if native else 0}")
    calls = [carrier.CarrierCall(to="12345", caller=f"+86138{i:08d}", keys="12", wait=2.5, gap=1.2, talk=talk)
             for i in range(n)]
    since = time.time() - 1
    e0, a0, t0 = cpu(engine), cpu(ast), time.monotonic()
    psutil.cpu_percent()
    result = await carrier.place(s.bind, s.sip_port, calls, local_port=SIPP_SIP, media_port=SIPP_RTP, rate=rate,
                                 limit=n, timeout=talk + 120)
    seconds = time.monotonic() - t0
    # the journals of the last calls are folded by the engine (both paths): wait for them
    want = result.answered
    deadline = time.monotonic() + 60
    got: list[dict] = []
    while time.monotonic() < deadline:
        got = [t for t in await store.tickets(limit=500) if t["trunk"] and
               t["started_at"] and _epoch(t["started_at"]) >= since]
        if len(got) >= want:
            break
        await asyncio.sleep(1)
    e1, a1 = cpu(engine), cpu(ast)
    ok = [t for t in got if t["disposition"] == "answered" and (native or t["department"] == "tax")]
    return {"calls": n, "path": "dialplan" if native else "engine", "cps": rate,
            "engine": (e1 - e0) / n, "asterisk": (a1 - a0) / n, "answered": len(ok),
            "failed": n - len(ok), "machine": psutil.cpu_percent(), "seconds": round(seconds, 1)}


def _epoch(iso: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(iso).timestamp()


def table(rows: list[dict]) -> str:
    peer = {r["calls"]: r for r in rows if r["path"] == "dialplan"}

    def vs(r):
        p = peer.get(r["calls"])
        return f"{(r['engine'] + r['asterisk']) / (p['engine'] + p['asterisk']):.2f}x" if p and r["path"] == "engine" \
            and (p["engine"] + p["asterisk"]) else "-"
    return markdown([("calls", lambda r: r["calls"]), ("path", lambda r: r["path"]),
                     ("offered calls/s", lambda r: r["cps"]), ("engine CPU s/call", lambda r: f"{r['engine']:.4f}"),
                     ("Asterisk CPU s/call", lambda r: f"{r['asterisk']:.4f}"),
                     ("engine/Asterisk", lambda r: f"{r['engine'] / r['asterisk']:.2f}x" if r["asterisk"] else "-"),
                     ("total vs dialplan", vs), ("answered", lambda r: r["answered"]),
                     ("failed", lambda r: r["failed"]), ("machine CPU %", lambda r: f"{r['machine']:.0f}")], rows)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,200")
    ap.add_argument("--talk", type=float, default=8)
    ap.add_argument("--rate", type=float, default=50, help="calls per second SIPp starts")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    home = Path(tempfile.mkdtemp(prefix="hotline-bench-sip-"))
    root = os.environ.get("HOTLINE_ASTERISK_ROOT", "/var/lib/hotline/asterisk-root")
    # the demo centre, its carrier trunk taking every call the benchmark offers
    centre = home / "centre.toml"
    centre.write_text(settings_mod.DEMO_CONFIG.read_text().replace("channels = 60\ncalls_per_second = 20",
                                                                    "channels = 1000\ncalls_per_second = 1000"))
    common = dict(home=str(home), instance="bench-sip", asterisk_root=root, node="bench", local_agents=max(sizes),
                  db_url=f"sqlite+aiosqlite:///{home / 'bench.db'}", journal_sweep_seconds=0.5,
                  queue_strategy="random", config=str(centre), **PORTS)
    s = settings_mod.load(env={}, **common)
    settings_file = home / "settings.toml"
    settings_file.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in {**common, "demo_agents": False}.items()))
    log(f"bench instance in {home}; {max(sizes)} Local agents")
    prompts.build(s.root, loader.load_all(s.menus, s.centre)[0], install.asterisk_ids(s.root))
    process.down(s)
    process.up(s)
    engine_log = open(home / "engine.log", "wb")
    engine = subprocess.Popen([sys.executable, "-m", "hotline.cli", "--settings", str(settings_file), "serve",
                               "--no-agents"], stdout=engine_log, stderr=engine_log)
    store = Store(s.database_url)
    rows = []
    try:
        await engine_healthy(s.http_url, 30)
        ep, ap_ = psutil.Process(engine.pid), asterisk_proc(s)
        for n in sizes:
            for native in (False, True):
                log(f"run: {n} SIP calls via {'dialplan' if native else 'engine'}")
                rows.append(await run(s, ep, ap_, store, n, native, args.talk, args.rate))
                log(f"  {rows[-1]}")
                await asyncio.sleep(3)
    finally:
        stop_engine(engine, engine_log)
        await store.close()
        process.down(s)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
