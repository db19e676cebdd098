"""Benchmark: time from "agent free" to "agent's phone rings" on real Asterisk.

    .venv/bin/python -m bench.acd_delivery [--calls 200] [--agents 40] [--talk 6,14]

Runs its own Asterisk instance ('benchacd', own ports) and the engine as a process of its own
(`hotline serve`, as deployed: this process places the calls and watches the wallboard, and
must not share the engine's interpreter), with N Local agents (all departments and languages, level 3, no wrap-up) that answer, talk 4-10 s
and hang up; callers are patient (they stay up to --talk seconds). Places
`--calls` concurrent calls to the department numbers, so most of them wait; every time an
agent's call ends while calls are waiting, the ACD picks the next call and redirects it to
ring the agent. Only those deliveries are samples: an agent that became ready while no call
was waiting (at start, or in a lull) starts no clock. Measured from Asterisk's timestamp of the event that freed the agent (the
caller's hang-up) to Asterisk's timestamp of the DialBegin that rings the agent's line:
AMI transit both ways, the engine's routing pass and the Redirect are all inside it. The
samples are the engine's own (`GET /metrics/free-to-ring`), read after each run.
Prints one table row per run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from core import settings as settings_mod
from ami.session import AmiSession
from asterisk_conf import install, process, secrets
from bench.call_path import engine_healthy, stop_engine
from bench.table import load_average, percentile
from calls.dialer import SimCall, new_linkedid, originate
from ivr import loader, prompts
from tickets.store import Store

PORTS = dict(ami_port=35038, agi_port=34573, sip_port=35060, phones_port=35070, rtp_start=36000,
             rtp_end=36999, http_port=38345)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def centre_file(home: Path) -> Path:
    """The demo's departments and numbers, no SIP agents (the Local agents come from
    `local_agents`), no wrap-up."""
    demo = settings_mod.DEMO_CONFIG.read_text()
    head = demo[:demo.index("[[agents]]")]
    path = home / "centre.toml"
    path.write_text(head + '\n[acd]\nwrapup_seconds = 0\nring_seconds = 15\nmax_wait_seconds = 3600\n'
                    'announce_seconds = 600\n')
    return path


def pct(values: list[float], q: float) -> float:
    got = percentile(values, q)
    return float("nan") if got is None else got


async def watch_wallboard(s, token: str, latencies: list[float]) -> None:
    """A wall screen's view: every pushed board, timed from the event that changed it."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{s.http_url}/api/v1/wallboard/stream",
                            headers={"Authorization": f"Bearer {token}"}) as r:
            buf = b""
            async for chunk in r.content.iter_any():
                buf += chunk
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    for line in block.split(b"\n"):
                        if line.startswith(b"data: "):
                            board = json.loads(line[6:])
                            if board.get("changed_at"):
                                latencies.append(time.time() - board["changed_at"])


async def engine_get(http: aiohttp.ClientSession, s, path: str) -> dict:
    async with http.get(f"{s.http_url}{path}") as r:
        r.raise_for_status()
        return await r.json()


async def run_once(http: aiohttp.ClientSession, store: Store, driver: AmiSession, s, calls: int,
                   talk: tuple[float, float], seed: int, wall: list[float]) -> dict:
    rng = random.Random(seed)
    numbers = [d.number for d in s.centre.departments if d.number]
    since = (await engine_get(http, s, "/metrics/free-to-ring?since=0"))["next"]
    gc0 = (await engine_get(http, s, "/status"))["gc"]
    wall.clear()
    load0 = load_average()
    t0 = time.monotonic()
    for i in range(calls):
        await originate(driver, SimCall(to=rng.choice(numbers), caller=f"1370000{i:04d}", wait=0.5,
                                        talk=rng.uniform(*talk)), new_linkedid(s.node))
        await asyncio.sleep(0.01)
    waited = 0
    while time.monotonic() - t0 < 600:
        await asyncio.sleep(1)
        done = await store.count_calls()
        if done >= run_once.total + calls:
            break
        waited += 1
        if waited % 10 == 0:
            acd = (await engine_get(http, s, "/status"))["acd"]
            log(f"  {done - run_once.total}/{calls} records, {acd['waiting']} waiting")
    run_once.total += calls
    got = await engine_get(http, s, f"/metrics/free-to-ring?since={since}")
    samples = [x * 1000 for x in got["seconds"]]
    records = await store.tickets(limit=calls)
    answered = sum(1 for t in records if t["disposition"] == "answered")
    end = await engine_get(http, s, "/status")
    waiting_end, gc1 = end["acd"]["waiting"], end["gc"]
    return {"calls": calls, "agents": len([a for a in s.agents if a.line != "sip"]), "samples": len(samples),
            "p50": pct(samples, 0.5) if samples else float("nan"),
            "p90": pct(samples, 0.9) if samples else float("nan"),
            "p99": pct(samples, 0.99) if samples else float("nan"),
            "max": max(samples) if samples else float("nan"),
            "mean": statistics.fmean(samples) if samples else float("nan"),
            "answered": answered, "waiting_end": waiting_end, "seconds": time.monotonic() - t0,
            "wall_n": len(wall), "wall_p50": pct([x * 1000 for x in wall], 0.5) if wall else float("nan"),
            "wall_p99": pct([x * 1000 for x in wall], 0.99) if wall else float("nan"),
            "gc": f"{gc1['collections'][2] - gc0['collections'][2]} / {gc1['max_ms'][2]:.0f}",
            "load": f"{load0} -> {load_average()}"}


run_once.total = 0


def table(rows: list[dict]) -> str:
    head = ("| calls | agents | free->ring samples | p50 ms | p90 ms | p99 ms | max ms | answered | "
            "wallboard pushes | push p50 ms | push p99 ms | full GCs in run / longest ms so far | run s | "
            "load avg before -> after |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    lines = [f"| {r['calls']} | {r['agents']} | {r['samples']} | {r['p50']:.1f} | {r['p90']:.1f} | "
             f"{r['p99']:.1f} | {r['max']:.1f} | {r['answered']}/{r['calls']} | {r['wall_n']} | "
             f"{r['wall_p50']:.1f} | {r['wall_p99']:.1f} | {r['gc']} | {r['seconds']:.0f} | {r['load']} |" for r in rows]
    return "\n".join([head, *lines])


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--agents", type=int, default=40)
    ap.add_argument("--talk", default="150,180", help="min,max seconds a caller is willing to stay")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--db-url", default="")
    args = ap.parse_args()
    talk = tuple(float(x) for x in args.talk.split(","))
    home = Path(tempfile.mkdtemp(prefix="hotline-bench-acd-"))
    root = os.environ.get("HOTLINE_ASTERISK_ROOT", "/var/lib/hotline/asterisk-root")
    own = dict(home=str(home), instance="benchacd", asterisk_root=root, node="benchacd",
               local_agents=args.agents, db_url=args.db_url or f"sqlite+aiosqlite:///{home / 'b.db'}",
               demo_agents=False, config=str(centre_file(home)), **PORTS)
    s = settings_mod.load(env={}, **own)
    settings_file = home / "settings.toml"
    settings_file.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in own.items()))
    log(f"bench instance in {home}; {args.agents} Local agents, {args.calls} calls per run")
    prompts.build(s.root, loader.load_all(s.menus, s.centre)[0], install.asterisk_ids(s.root))
    process.down(s)
    process.up(s)
    engine_log = open(home / "engine.log", "wb")
    engine = subprocess.Popen([sys.executable, "-m", "hotline.cli", "--settings", str(settings_file), "serve",
                               "--no-agents"], stdout=engine_log, stderr=engine_log)
    driver = AmiSession(s.bind, s.ami_port, secrets.AMI_USER, secrets.ami_secret(s.state_dir), events=False,
                        name="bench")
    store = Store(s.database_url)
    rows = []
    try:
        async with asyncio.TaskGroup() as tg, aiohttp.ClientSession() as http:
            drv = tg.create_task(driver.run())
            try:
                await driver.wait_connected(10)
                await engine_healthy(s.http_url, 30)
                for _ in range(200):   # every Local agent known and ready
                    if (await engine_get(http, s, "/status"))["acd"]["ready"] >= args.agents:
                        break
                    await asyncio.sleep(0.1)
                token = await store.create_token("supervisor", "bench")
                wall: list[float] = []
                watcher = tg.create_task(watch_wallboard(s, token, wall))
                for i in range(args.repeat):
                    log(f"run {i + 1}: {args.calls} calls")
                    rows.append(await run_once(http, store, driver, s, args.calls, talk, seed=i, wall=wall))
                    log(f"  p50 {rows[-1]['p50']:.1f} ms, p99 {rows[-1]['p99']:.1f} ms "
                        f"over {rows[-1]['samples']} samples")
                watcher.cancel()
            finally:
                drv.cancel()
    except* asyncio.CancelledError:
        pass
    finally:
        stop_engine(engine, engine_log)
        await store.close()
        process.down(s)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
