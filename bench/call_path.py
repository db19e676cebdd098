"""Benchmark of the real call path: the engine's menu versus the same menu in dialplan.

    .venv/bin/python -m bench.call_path [--sizes 50,100,200] [--talk 4] [--repeat 2]

Runs its own Asterisk instance ('bench', own ports) with Local answering agents and the
engine as a separate process (`hotline serve`), places N concurrent citizens' calls
(12345, keys 1 then 2, then talk) through AMI Originate, and prints one table:
AGI round trip p50/p99 (SET VARIABLE, from the engine's Prometheus histogram), CPU seconds
per call of the engine and of Asterisk, total against the native-dialplan peer, failed
calls, and the engine's memory after each run.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from hotline import contract, settings as settings_mod
from hotline.ami.session import AmiSession
from hotline.asterisk import install, process, secrets
from hotline.dialer import SimCall, new_linkedid, originate
from ivr import loader, prompts
from tickets.store import Store

PORTS = dict(ami_port=45038, agi_port=44573, sip_port=45060, phones_port=45070, rtp_start=46000,
             rtp_end=46999, http_port=48345)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def asterisk_proc(s) -> psutil.Process:
    conf = f"{s.inst_in_root}/etc/asterisk.conf"
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.info["name"] == "asterisk" and conf in (p.info["cmdline"] or []):
            return p
    raise RuntimeError("bench Asterisk process not found")


def rtt_buckets(text: str) -> dict[float, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith("hotline_agi_roundtrip_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def percentile(before: dict, after: dict, q: float) -> float | None:
    """From cumulative histogram buckets, interpolating linearly inside the bucket."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0) for b in bounds]
    total = counts[-1]
    if total <= 0:
        return None
    target, prev_bound, prev_count = q * total, 0.0, 0.0
    for b, c in zip(bounds, counts):
        if c >= target:
            if b == float("inf"):
                return prev_bound
            frac = (target - prev_count) / max(c - prev_count, 1e-9)
            return prev_bound + (b - prev_bound) * frac
        prev_bound, prev_count = b, c
    return bounds[-2]


class Bench:
    def __init__(self, s, engine: psutil.Process, ast: psutil.Process, ami: AmiSession, store: Store,
                 talk: float, ramp: float):
        self.s, self.engine, self.ast, self.ami, self.store = s, engine, ast, ami, store
        self.talk, self.ramp = talk, ramp

    async def metrics(self) -> dict:
        async with aiohttp.ClientSession() as http, http.get(f"{self.s.http_url}/metrics") as r:
            return rtt_buckets(await r.text())

    async def place(self, n: int, native: bool) -> tuple[list[str], int]:
        ids, failed = [], 0
        for i in range(n):
            linkedid = new_linkedid(self.s.node)
            try:
                if native:
                    cid = base64.b64encode(f"1390000{i:04d}".encode()).decode()
                    await self.ami.action(
                        "Originate", Channel=f"Local/s@{contract.SIM_CALLER}", Context=contract.NATIVE_MENU,
                        Exten="s", Priority=1, Async="true", ChannelId=linkedid,
                        OtherChannelId=linkedid + "-c", CallerID=f"1390000{i:04d}",
                        Variable=[f"{contract.V_SIM_CID}={cid}", f"{contract.V_SIM_DTMF}=1w2",
                                  f"{contract.V_SIM_WAIT}=1", f"{contract.V_SIM_TALK}={self.talk:g}"])
                else:
                    await originate(self.ami, SimCall(to=self.s.centre.centre_number, caller=f"1380000{i:04d}",
                                                      dtmf="1w2", talk=self.talk, wait=1), linkedid)
                ids.append(linkedid)
            except Exception as e:  # counted as a failed call, the run goes on
                failed += 1
                log(f"originate failed: {e}")
            await asyncio.sleep(self.ramp / max(n, 1))  # all N within the ramp
        return ids, failed

    async def run(self, n: int, native: bool) -> dict:
        before_rtt = await self.metrics()
        e0, a0, t0 = cpu(self.engine), cpu(self.ast), time.monotonic()
        psutil.cpu_percent()  # starts the machine-wide measurement window
        ids, failed = await self.place(n, native)
        deadline = time.monotonic() + self.talk + 90
        tickets: dict[str, dict] = {}
        while time.monotonic() < deadline and len(tickets) < len(ids):
            await asyncio.sleep(1)
            for linkedid in ids:
                if linkedid not in tickets:
                    found = await self.store.tickets(linkedid=linkedid, limit=1)
                    if found:
                        tickets[linkedid] = found[0]
        e1, a1 = cpu(self.engine), cpu(self.ast)
        machine = psutil.cpu_percent()
        after_rtt = await self.metrics()
        bad = [t for t in tickets.values() if t["disposition"] != "answered" or t["department"] != "tax"]
        failed += len(ids) - len(tickets) + len(bad)
        p50, p95, p99 = (percentile(before_rtt, after_rtt, q) for q in (0.5, 0.95, 0.99))
        return {"calls": n, "path": "dialplan" if native else "engine", "failed": failed,
                "engine_cpu": (e1 - e0) / n, "asterisk_cpu": (a1 - a0) / n,
                "p50": p50, "p95": p95, "p99": p99, "machine": machine, "rss": self.engine.memory_info().rss / 2**20,
                "seconds": time.monotonic() - t0}


def table(rows: list[dict]) -> str:
    native = {r["calls"]: r for r in rows if r["path"] == "dialplan"}
    head = ("| calls | path | AGI RTT p50 / p95 / p99 (ms) | engine CPU s/call | Asterisk CPU s/call | "
            "engine/Asterisk | total vs dialplan | failed | machine CPU % | engine RSS MiB |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        total = r["engine_cpu"] + r["asterisk_cpu"]
        peer = native.get(r["calls"])
        vs = f"{total / (peer['engine_cpu'] + peer['asterisk_cpu']):.2f}x" if peer and r["path"] == "engine" else "-"
        rtt = (f"{r['p50'] * 1000:.2f} / {r['p95'] * 1000:.2f} / {r['p99'] * 1000:.2f}"
               if r["p50"] is not None else "-")
        ratio = f"{r['engine_cpu'] / r['asterisk_cpu']:.2f}x" if r["asterisk_cpu"] else "-"
        lines.append(f"| {r['calls']} | {r['path']} | {rtt} | {r['engine_cpu']:.4f} | {r['asterisk_cpu']:.4f} | "
                     f"{ratio} | {vs} | {r['failed']} | {r['machine']:.0f} | {r['rss']:.1f} |")
    return "\n".join(lines)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50,100,200")
    ap.add_argument("--talk", type=float, default=12, help="seconds each caller stays after the keys")
    ap.add_argument("--ramp", type=float, default=4, help="seconds over which the N calls start")
    ap.add_argument("--repeat", type=int, default=2, help="extra engine runs at the largest size (memory)")
    ap.add_argument("--db-url", default="")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    home = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    root = os.environ.get("HOTLINE_ASTERISK_ROOT", "/var/lib/hotline/asterisk-root")
    db_url = args.db_url or f"sqlite+aiosqlite:///{home / 'bench.db'}"
    s = settings_mod.load(env={}, home=str(home), instance="bench", asterisk_root=root, node="bench",
                          local_agents=max(sizes), db_url=db_url, journal_sweep_seconds=0.5,
                          queue_strategy="random", **PORTS)
    settings_file = home / "settings.toml"
    settings_file.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in dict(
        home=str(home), instance="bench", asterisk_root=root, node="bench", local_agents=max(sizes),
        db_url=db_url, journal_sweep_seconds=0.5, demo_agents=False, queue_strategy="random",
        **PORTS).items()))
    log(f"bench instance in {home}; {max(sizes)} Local agents")
    prompts.build(s.root, loader.load_all(s.menus, s.centre)[0], install.asterisk_ids(s.root))
    process.down(s)
    process.up(s)
    engine_cmd = [sys.executable, "-m", "hotline.cli", "--settings", str(settings_file), "serve", "--no-agents"]
    engine_log = open(home / "engine.log", "wb")
    engine = subprocess.Popen(engine_cmd, stdout=engine_log, stderr=engine_log)
    ami = AmiSession(s.bind, s.ami_port, secrets.AMI_USER, secrets.ami_secret(s.state_dir), events=False, name="bench")
    store = Store(s.database_url)
    rows = []
    try:
        async with asyncio.TaskGroup() as tg:
            owner = tg.create_task(ami.run())
            try:
                await ami.wait_connected(10)
                async with aiohttp.ClientSession() as http:
                    for _ in range(100):
                        with contextlib.suppress(aiohttp.ClientError):
                            async with http.get(f"{s.http_url}/status") as r:
                                if (await r.json())["ok"]:
                                    break
                        await asyncio.sleep(0.2)
                b = Bench(s, psutil.Process(engine.pid), asterisk_proc(s), ami, store, args.talk, args.ramp)
                plan = [(n, native) for n in sizes for native in (False, True)]
                plan += [(max(sizes), False)] * args.repeat
                for n, native in plan:
                    log(f"run: {n} calls via {'dialplan' if native else 'engine'}")
                    rows.append(await b.run(n, native))
                    log(f"  done in {rows[-1]['seconds']:.1f}s, failed {rows[-1]['failed']}")
                    await asyncio.sleep(2)
            finally:
                owner.cancel()
    finally:
        engine.terminate()
        engine.wait(10)
        engine_log.close()
        await store.close()
        process.down(s)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
