"""Benchmark of the real call path: the engine's menu versus the same menu in dialplan.

    .venv/bin/python -m bench.call_path [--sizes 50,100,200] [--talk 12] [--runs 1] [--repeat 5] [--profile]

Runs its own Asterisk instance ('bench', own ports) with Local answering agents and the
engine as a separate process (`hotline serve`, default settings: the journal sweep is the
rare safety net), places N concurrent citizens' calls (12345, keys 1 then 2, then talk)
through AMI Originate, and prints one table. The peer does the same work in native
dialplan: the same START (journal, recording, hang-up handler), the same two menu levels,
app_queue per department ringing the same Local agents, and the engine's journal intake
storing its records; engine and peer runs alternate, the same number of each (`--runs` at
every size, `--repeat` at the largest). Columns: AGI round trip p50/p95/p99 of SET/GET
VARIABLE, exact from the engine's samples of the run; CPU seconds per call of the engine
and of Asterisk; total against the peer run of the same size and round; failed calls;
machine CPU and load average (the machine is shared); the engine's RSS after the run.
Below the table: the engine's CPU while no call is up (10 s before the first run: work that
follows the clock, not the calls) and, with `--profile`, where py-spy found the engine busy
during the first engine run at the largest size.
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

from core import settings as settings_mod
from core import contract
from ami.session import AmiSession
from asterisk_conf import install, process, secrets
from bench import profile
from bench.table import load_average, percentile
from calls.dialer import SimCall, new_linkedid, originate
from ivr import loader, prompts
from tickets.store import Store

PORTS = dict(ami_port=45038, agi_port=44573, sip_port=45060, phones_port=45070, rtp_start=46000,
             rtp_end=46999, http_port=48345)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


async def engine_healthy(http_url: str, seconds: float = 30) -> None:
    """Until the engine's /status says ok (its process is started by the benchmark)."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{http_url}/status") as r:
                    if (await r.json())["ok"]:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the engine at {http_url} was not healthy within {seconds:g} s")


def stop_engine(engine: subprocess.Popen, engine_log) -> None:
    """The engine process a benchmark started: SIGTERM (it stops its tasks), then its log."""
    engine.terminate()
    try:
        engine.wait(10)
    except subprocess.TimeoutExpired:   # not stopped in 10 s: its figures are in; do not leave it
        engine.kill()
        engine.wait()
    engine_log.close()


def asterisk_proc(s) -> psutil.Process:
    conf = f"{s.inst_in_root}/etc/asterisk.conf"
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.info["name"] == "asterisk" and conf in (p.info["cmdline"] or []):
            return p
    raise RuntimeError("bench Asterisk process not found")


class Bench:
    def __init__(self, s, engine: psutil.Process, ast: psutil.Process, ami: AmiSession, store: Store,
                 talk: float, ramp: float):
        self.s, self.engine, self.ast, self.ami, self.store = s, engine, ast, ami, store
        self.talk, self.ramp = talk, ramp

    async def rtt(self, since: int) -> tuple[int, list[float]]:
        """The engine's AGI round-trip samples taken since index `since`."""
        async with aiohttp.ClientSession() as http, \
                http.get(f"{self.s.http_url}/metrics/agi-rtt", params={"since": str(since)}) as r:
            body = await r.json()
        return body["next"], body["seconds"]

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

    async def idle(self, seconds: float = 10) -> float:
        """The engine's CPU share while no call is up."""
        e0, t0 = cpu(self.engine), time.monotonic()
        await asyncio.sleep(seconds)
        return (cpu(self.engine) - e0) / (time.monotonic() - t0)

    async def run(self, n: int, native: bool) -> dict:
        mark, _ = await self.rtt(1 << 62)
        load0 = load_average()
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
        _, samples = await self.rtt(mark)
        bad = [t for t in tickets.values() if t["disposition"] != "answered" or t["department"] != "tax"]
        failed += len(ids) - len(tickets) + len(bad)
        p50, p95, p99 = (percentile(samples, q) for q in (0.5, 0.95, 0.99))
        return {"calls": n, "path": "dialplan" if native else "engine", "failed": failed,
                "engine_cpu": (e1 - e0) / n, "asterisk_cpu": (a1 - a0) / n,
                "p50": p50, "p95": p95, "p99": p99, "rtt_n": len(samples), "machine": machine,
                "load": f"{load0} -> {load_average()}", "rss": self.engine.memory_info().rss / 2**20,
                "seconds": time.monotonic() - t0}


def table(rows: list[dict]) -> str:
    head = ("| calls | path | AGI RTT p50 / p95 / p99 ms (samples) | engine CPU s/call | Asterisk CPU s/call | "
            "engine/Asterisk | total vs peer | failed | machine CPU % | load avg before -> after | "
            "engine RSS MiB |")
    lines = [head, "|" + "---|" * 11]
    for i, r in enumerate(rows):
        total = r["engine_cpu"] + r["asterisk_cpu"]
        # the peer of an engine run: the dialplan run of the same size next to it
        peer = next((p for p in rows[max(0, i - 1):i + 2] if p["path"] == "dialplan" and p["calls"] == r["calls"]),
                    None)
        vs = f"{total / (peer['engine_cpu'] + peer['asterisk_cpu']):.2f}x" if peer and r["path"] == "engine" else "-"
        rtt = (f"{r['p50'] * 1000:.2f} / {r['p95'] * 1000:.2f} / {r['p99'] * 1000:.2f} ({r['rtt_n']})"
               if r["p50"] is not None else "-")
        ratio = f"{r['engine_cpu'] / r['asterisk_cpu']:.2f}x" if r["asterisk_cpu"] else "-"
        lines.append(f"| {r['calls']} | {r['path']} | {rtt} | {r['engine_cpu']:.4f} | {r['asterisk_cpu']:.4f} | "
                     f"{ratio} | {vs} | {r['failed']} | {r['machine']:.0f} | {r['load']} | {r['rss']:.1f} |")
    big = max(r["calls"] for r in rows)
    rss = [r["rss"] for r in rows if r["path"] == "engine" and r["calls"] == big]
    if len(rss) > 1:
        lines.append(f"\nEngine RSS over the {len(rss)} engine runs of {big} calls: "
                     f"{min(rss):.1f}-{max(rss):.1f} MiB (spread {max(rss) - min(rss):.2f} MiB).")
    return "\n".join(lines)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50,100,200")
    ap.add_argument("--talk", type=float, default=12, help="seconds each caller stays after the keys")
    ap.add_argument("--ramp", type=float, default=4, help="seconds over which the N calls start")
    ap.add_argument("--runs", type=int, default=1, help="engine/peer pairs at every size")
    ap.add_argument("--repeat", type=int, default=5, help="engine/peer pairs at the largest size (memory)")
    ap.add_argument("--db-url", default="")
    ap.add_argument("--profile", action="store_true",
                    help="py-spy on the engine during the first engine run at the largest size")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    home = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    root = os.environ.get("HOTLINE_ASTERISK_ROOT", "/var/lib/hotline/asterisk-root")
    db_url = args.db_url or f"sqlite+aiosqlite:///{home / 'bench.db'}"
    s = settings_mod.load(env={}, home=str(home), instance="bench", asterisk_root=root, node="bench",
                          local_agents=max(sizes), db_url=db_url, queue_strategy="random", **PORTS)
    settings_file = home / "settings.toml"
    settings_file.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in dict(
        home=str(home), instance="bench", asterisk_root=root, node="bench", local_agents=max(sizes),
        db_url=db_url, demo_agents=False, queue_strategy="random",
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
    rows, notes = [], []
    try:
        async with asyncio.TaskGroup() as tg:
            owner = tg.create_task(ami.run())
            try:
                await ami.wait_connected(10)
                await engine_healthy(s.http_url, 20)
                await asyncio.sleep(5)   # the engine's start (directory, Asterisk config, prompts) is not a run's
                b = Bench(s, psutil.Process(engine.pid), asterisk_proc(s), ami, store, args.talk, args.ramp)
                plan = []
                for n in sizes:   # alternating, the same number of each
                    pairs = args.repeat if n == max(sizes) else args.runs
                    plan += [(n, native) for _ in range(pairs) for native in (False, True)]
                idle = await b.idle()
                notes.append(f"Engine CPU with no call up (10 s before the first run): {idle:.2%} of a core.")
                profiled = not args.profile
                for n, native in plan:
                    log(f"run: {n} calls via {'dialplan' if native else 'engine'}")
                    if not profiled and n == max(sizes) and not native:
                        profiled = True
                        with profile.recording(engine.pid, home / "engine.pyspy") as raw:
                            rows.append(await b.run(n, native))
                        notes.append(f"Engine profile, {n} calls via the engine (py-spy, 100 Hz):\n\n"
                                     + profile.summarise(raw.read_text()))
                    else:
                        rows.append(await b.run(n, native))
                    log(f"  done in {rows[-1]['seconds']:.1f}s, failed {rows[-1]['failed']}")
                    await asyncio.sleep(2)
            finally:
                owner.cancel()
    finally:
        stop_engine(engine, engine_log)
        await store.close()
        process.down(s)
    print(table(rows))
    for note in notes:
        print("\n" + note)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
