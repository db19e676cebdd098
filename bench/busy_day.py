"""A busy day on real Asterisk: a city hotline's 24-hour curve compressed into `--minutes`,
with one surge hour, placed by SIPp carriers over the trunk; the engine routes, Local agents
answer. Two independent counts are compared at the end: the harness's own tally (from what
each SIPp caller saw) and the engine's tickets and KPI report.

    .venv/bin/python -m bench.busy_day [--minutes 30] [--peak-rate 0.5] [--surge 3] [--seed 1]

Callers (bench/day_plan.py): Poisson arrivals, menu keys (language, department) drawn from a
mix, an exponential patience (mean --patience s, capped below the centre's maximum wait).
A caller knows an agent answered from Asterisk's connected-line re-INVITE, as a phone does,
and hangs up when the patience runs out first. Agents: Local lines that talk --talk min,max
seconds (uniform) and hang up, then the centre's wrap-up; as many logged in each hour as the
engine's Erlang C (reports.erlang) says the hour's expected calls need for --target-sl
within 15 s. Its own Asterisk instance ('bench-day', own ports) and the engine as a separate
process, as in bench/sip_call_path.py.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil

from bench import day_plan
from bench.call_path import asterisk_proc, cpu, engine_healthy, log, stop_engine
from bench.table import load_average, markdown, percentile
from core import contract
from core import settings as settings_mod
from asterisk_conf import install, process
from ivr import loader, prompts
from tickets.store import Store
from trunks import carrier

PORTS = dict(ami_port=45238, agi_port=44773, sip_port=45260, phones_port=45270, rtp_start=49000,
             rtp_end=50999, http_port=48545)
SIPP_SIP, SIPP_RTP, SLOTS = 52000, 54000, 400      # caller k: SIP port 52000+k, RTP 54000+4k
SCENARIO = Path(__file__).resolve().parent / "sipp" / "day_caller.xml"
WRAPUP_S, STAY_S, TARGET_S = 10, 600, 15.0
_LOG = re.compile(r"^(answered|queued|connected|gave_up|ended|hung_up|centre_bye|refused) (\d+)(?: (.*))?$")


@dataclass
class Seen:
    """What one SIPp caller saw (the harness's own record of the call)."""
    caller: day_plan.Caller
    rc: int | None = None
    answered: float | None = None   # SIPp clock, ms
    queued: float | None = None
    connected: float | None = None
    gave_up: float | None = None
    ended: float | None = None
    agent: str = ""

    @property
    def outcome(self) -> str:
        if self.answered is None:
            return "failed"
        if self.connected is not None:
            return "answered"
        if self.gave_up is not None:
            return "abandoned"
        return "failed"

    @property
    def wait_s(self) -> float | None:
        if self.queued is None:
            return None
        end = self.connected if self.connected is not None else self.gave_up
        return None if end is None else (end - self.queued) / 1000


def centre_config(home: Path) -> Path:
    """The demo centre with the trunk open to the day's load, every department open around
    the clock (the compressed day is not the wall clock's), and no queue announcements that
    ask for keys."""
    text = settings_mod.DEMO_CONFIG.read_text()
    text = text.replace("channels = 60\ncalls_per_second = 20", "channels = 2000\ncalls_per_second = 1000")
    text = re.sub(r"\[hours\.departments\.tax\]\nweekdays = [^\n]*\n", "", text)
    text = text.replace("wrapup_seconds = 10", f"wrapup_seconds = {WRAPUP_S}")
    path = home / "centre.toml"
    path.write_text(text)
    return path


def scenario_for(c: day_plan.Caller, folder: Path) -> Path:
    media = carrier.media_block(c.keys, wait=2.5, gap=1.2, speech=False, talk=0.0, folder=folder).splitlines()
    while media and "<pause" in media[-1]:   # the wait starts with the last key: an agent may answer at once
        media.pop()
    media = "\n".join(media)
    text = (SCENARIO.read_text().replace("@MEDIA@", media)
            .replace("@PATIENCE_MS@", str(int(c.patience * 1000))).replace("@STAY_MS@", str(STAY_S * 1000)))
    path = folder / "caller.xml"
    path.write_text(text)
    return path


def parse_log(text: str, seen: Seen) -> None:
    for line in text.splitlines():
        m = _LOG.match(line.strip())
        if not m:
            continue
        what, tick = m.group(1), float(m.group(2))
        if what in ("answered", "queued", "connected", "gave_up", "ended"):
            setattr(seen, what, tick)
        if what == "connected":
            seen.agent = (m.group(3) or "").strip()


class Day:
    def __init__(self, s, plan: day_plan.Plan, sup_token: str, agents: list[str], folder: Path):
        self.folder, self.trace = folder, False
        self.s, self.plan, self.sup, self.agents = s, plan, {"Authorization": f"Bearer {sup_token}"}, agents
        self.free = list(range(SLOTS))
        self.seen: list[Seen] = []
        self.live = 0
        self.logged_in: set[str] = set(agents)

    async def one(self, c: day_plan.Caller) -> None:
        seen = Seen(c)
        self.seen.append(seen)
        while not self.free:
            await asyncio.sleep(0.05)
        slot = self.free.pop()
        self.live += 1
        try:
            # each call's scenario and SIPp logs stay in the run's folder, to read afterwards
            folder = self.folder / f"{c.n:05d}"
            folder.mkdir(parents=True)
            scenario_for(c, folder)
            call = carrier.CarrierCall(to="12345", caller=c.number, keys=c.keys)
            (folder / "callers.csv").write_text("SEQUENTIAL\n" + call.csv_row() + "\n")
            args = [shutil.which("sipp") or "sipp", f"{self.s.bind}:{self.s.sip_port}", "-sf", "caller.xml",
                    "-inf", "callers.csv", "-s", "12345", "-i", "127.0.0.1", "-m", "1", "-l", "1",
                    "-p", str(SIPP_SIP + slot), "-mp", str(SIPP_RTP + 4 * slot), "-trace_logs",
                    "-timeout", f"{int(c.patience + STAY_S + 120)}s", "-timeout_error", "-nostdin", "-nd"]
            if self.trace:
                args.append("-trace_msg")
            proc = await asyncio.create_subprocess_exec(*args, cwd=folder, stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.DEVNULL)
            try:
                seen.rc = await proc.wait()
            except asyncio.CancelledError:   # the run was stopped: no SIPp outlives it
                proc.kill()
                raise
            parse_log("".join(p.read_text(errors="replace") for p in folder.glob("*_logs.log")), seen)
        finally:
            self.live -= 1
            self.free.append(slot)

    async def staff(self, http: aiohttp.ClientSession, want: int) -> None:
        """Log agents in or out towards `want`; a busy agent is logged out on a later pass."""
        target = set(self.agents[:want])
        for a in self.agents:
            op = "login" if a in target and a not in self.logged_in else \
                 "logout" if a not in target and a in self.logged_in else None
            if op is None:
                continue
            async with http.post(f"{self.s.http_url}/api/v1/agents/{a}/{op}", headers=self.sup) as r:
                if r.status == 200:
                    (self.logged_in.add if op == "login" else self.logged_in.discard)(a)

    async def run(self) -> float:
        t0 = time.monotonic()
        tasks: set[asyncio.Task] = set()
        hour_s = self.plan.hour_s
        async with aiohttp.ClientSession() as http:
            await self.staff(http, self.plan.staffing[0])
            async with asyncio.TaskGroup() as tg:
                staffer = tg.create_task(self._staffing(http, t0))
                for c in self.plan.callers:
                    delay = t0 + c.at - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.add(tg.create_task(self.one(c)))
                await asyncio.sleep(max(0.0, t0 + self.plan.minutes * 60 - time.monotonic()))
                staffer.cancel()
                log(f"last call placed at {time.monotonic() - t0:.0f} s; {self.live} callers still on the line")
        return hour_s

    async def _staffing(self, http: aiohttp.ClientSession, t0: float) -> None:
        shown = -1
        while True:
            hour = min(23, int((time.monotonic() - t0) // self.plan.hour_s))
            await self.staff(http, self.plan.staffing[hour])
            if hour != shown:
                shown = hour
                done = [x for x in self.seen if x.rc is not None]
                log(f"hour {hour:02d}: {self.plan.rate(hour):.2f} calls/s expected, {len(self.plan.staffing) and self.plan.staffing[hour]} "
                    f"agents, {len(self.seen)} placed, {self.live} on the line, "
                    f"{sum(x.outcome == 'answered' for x in done)} answered, "
                    f"{sum(x.outcome == 'abandoned' for x in done)} abandoned, load {load_average()}")
            await asyncio.sleep(1)


async def supervisor_token(store: Store) -> str:
    """A token once the engine has migrated the database (its /status says ok a moment before)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError
    for _ in range(100):
        try:
            return await store.create_token("supervisor", "busy-day")
        except (OperationalError, ProgrammingError):
            await asyncio.sleep(0.3)
    raise RuntimeError("the engine did not migrate the database within 30 s")


async def engine_counts(s, store: Store, sup: str, since: float, until: float, callers: set[str]) -> dict:
    tickets = []
    offset = 0
    while True:
        page = await store.tickets(limit=500, offset=offset)
        tickets += page
        if len(page) < 500:
            break
        offset += 500
    ours = [t for t in tickets if t["trunk"] and _digits(t["caller"]) in callers]
    per_caller: dict[str, int] = {}
    dispositions: dict[str, dict] = {}
    for t in ours:
        per_caller[_digits(t["caller"])] = per_caller.get(_digits(t["caller"]), 0) + 1
        dispositions[_digits(t["caller"])] = {k: t.get(k) for k in ("disposition", "wait_seconds", "talk_seconds")}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{s.http_url}/api/v1/reports/kpi", headers={"Authorization": f"Bearer {sup}"},
                            params={"interval": "86400", "group_by": "", "from": str(since),
                                    "to": str(until)}) as r:
            body = await r.json()
    keys = ("calls", "offered", "answered", "answered_within_sl", "abandoned", "short_abandons", "timed_out",
            "in_queue", "callbacks_requested", "callbacks_completed")
    kpi = {k: sum(row.get(k) or 0 for row in body["items"]) for k in keys}
    return {"tickets": len(ours), "callers_with_one_ticket": sum(1 for n in per_caller.values() if n == 1),
            "callers_with_more": sum(1 for n in per_caller.values() if n > 1), "per_caller": dispositions, **kpi}


def _digits(number: str | None) -> str:
    d = re.sub(r"\D", "", number or "")
    return d[2:] if d.startswith("86") and len(d) == 13 else d


def disagreements(seen: list[Seen], per_caller: dict[str, dict]) -> list[str]:
    """Calls the two counts see differently: the harness's outcome against the engine's
    disposition (answered / abandoned_in_queue) for the same caller."""
    out = []
    for x in seen:
        eng = per_caller.get(_digits(x.caller.number)) or {}
        disp = eng.get("disposition") or "no ticket"
        same = (x.outcome == "answered") == (disp == "answered") and \
               (x.outcome == "abandoned") == disp.startswith("abandoned")
        if not same:
            out.append(f"caller {x.caller.n}: harness {x.outcome} (patience {x.caller.patience:.2f} s, waited "
                       f"{x.wait_s if x.wait_s is not None else '-'} s), engine {disp} (waited "
                       f"{eng.get('wait_seconds')} s, talked {eng.get('talk_seconds')} s)")
    return out


def report(plan: day_plan.Plan, seen: list[Seen], eng: dict, cpu_s: dict, wall: float, aht_s: float) -> str:
    placed = len(seen)
    answered = [x for x in seen if x.outcome == "answered"]
    abandoned = [x for x in seen if x.outcome == "abandoned"]
    failed = [x for x in seen if x.outcome == "failed"]
    waits = [x.wait_s for x in answered if x.wait_s is not None]
    within = sum(1 for w in waits if w <= TARGET_S)
    eng_offered = eng["offered"] - eng["short_abandons"]
    rows = [
        {"figure": "calls placed / reached the centre", "harness": placed, "engine": eng["calls"]},
        {"figure": "tickets (exactly one per caller)", "harness": placed,
         "engine": f"{eng['tickets']} ({eng['callers_with_one_ticket']} callers with one, {eng['callers_with_more']} with more)"},
        {"figure": "answered by an agent", "harness": len(answered), "engine": eng["answered"]},
        {"figure": "abandoned in the queue (short abandons included)", "harness": len(abandoned),
         "engine": f"{eng['abandoned'] + eng['short_abandons']} ({eng['short_abandons']} short)"},
        {"figure": "failed (no answer from the trunk, or SIPp error)", "harness": len(failed), "engine": "-"},
        {"figure": "timed out / still in queue", "harness": "-", "engine": f"{eng['timed_out']} / {eng['in_queue']}"},
        {"figure": "answered within 15 s", "harness": within, "engine": eng["answered_within_sl"]},
        {"figure": "service level (within 15 s / offered)", "harness": f"{within / max(1, len(answered) + len(abandoned)):.1%}",
         "engine": f"{eng['answered_within_sl'] / max(1, eng_offered):.1%} (short abandons left out)"},
        {"figure": "abandon rate", "harness": f"{len(abandoned) / max(1, len(answered) + len(abandoned)):.1%}",
         "engine": f"{eng['abandoned'] / max(1, eng_offered):.1%}"},
        {"figure": "wait p50 / p95 / max, s", "harness": " / ".join(
            f"{v:.1f}" if v is not None else "-" for v in (percentile(waits, 0.5), percentile(waits, 0.95),
                                                          max(waits) if waits else None)), "engine": "-"},
        {"figure": "callbacks requested / completed", "harness": "-",
         "engine": f"{eng['callbacks_requested']} / {eng['callbacks_completed']}"},
        {"figure": "calls lost (placed, no ticket)", "harness": "-", "engine": placed - eng["callers_with_one_ticket"] - eng["callers_with_more"]},
    ]
    head = (f"{plan.minutes:g}-minute day, peak {plan.peak_rate:g} calls/s, surge x{plan.surge:g} at hour "
            f"{plan.surge_hour:02d}, {len(plan.callers)} callers planned (expected {day_plan.expected_calls(plan):.0f}); "
            f"staffing {min(plan.staffing)}-{max(plan.staffing)} agents (Erlang C predicts "
            f"{day_plan.erlang_sl(plan, aht_s, TARGET_S):.1%} within 15 s); wall {wall:.0f} s; "
            f"CPU engine {cpu_s['engine']:.0f} s, Asterisk {cpu_s['asterisk']:.0f} s; load {load_average()}")
    differ = disagreements(seen, eng["per_caller"])
    tail = "\n\ncalls the two counts see differently: " + (f"{len(differ)}\n" + "\n".join(differ[:20])
                                                          if differ else "none")
    return head + "\n\n" + markdown([("figure", lambda r: r["figure"]), ("harness (SIPp callers)", lambda r: r["harness"]),
                                     ("engine (tickets, KPI report)", lambda r: r["engine"])], rows) + tail


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--peak-rate", type=float, default=0.5, help="calls per second at the day's peak hour")
    ap.add_argument("--surge", type=float, default=3.0)
    ap.add_argument("--surge-hour", type=int, default=10)
    ap.add_argument("--patience", type=float, default=45.0, help="mean seconds a caller waits in the queue")
    ap.add_argument("--talk", default="15,45", help="min,max seconds an agent talks")
    ap.add_argument("--target-sl", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trace", action="store_true", help="keep every SIP message of every call (SIPp -trace_msg)")
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.talk.split(","))
    if not 1 <= lo <= hi <= 3600:
        ap.error("--talk: min,max seconds, 1 <= min <= max")
    aht_s = (lo + hi) / 2 + WRAPUP_S
    plan = day_plan.make(seed=args.seed, minutes=args.minutes, peak_rate=args.peak_rate, surge_hour=args.surge_hour,
                         surge=args.surge, patience_mean_s=args.patience, aht_s=aht_s,
                         target_sl=args.target_sl, target_s=TARGET_S)
    home = Path(tempfile.mkdtemp(prefix="hotline-bench-day-"))
    root = os.environ.get("HOTLINE_ASTERISK_ROOT", "/var/lib/hotline/asterisk-root")
    n_agents = max(plan.staffing)
    common = dict(home=str(home), instance="bench-day", asterisk_root=root, node="day", local_agents=n_agents,
                  db_url=f"sqlite+aiosqlite:///{home / 'day.db'}", config=str(centre_config(home)), **PORTS)
    s = settings_mod.load(env={}, **common)
    settings_file = home / "settings.toml"
    settings_file.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in {**common, "demo_agents": False}.items()))
    log(f"busy day in {home}: {len(plan.callers)} callers over {args.minutes:g} min, "
        f"staffing per hour {list(plan.staffing)}")
    prompts.build(s.root, loader.load_all(s.menus, s.centre)[0], install.asterisk_ids(s.root))
    process.down(s)
    # the instance's folders outlive a run: journals a killed run left would be folded into
    # this run's fresh database (as the engine should), and its figures would count them
    for leftover in (s.host_path(s.journal_dir), s.host_path(s.recordings_dir)):
        shutil.rmtree(leftover, ignore_errors=True)
    process.up(s)
    for name, value in ((contract.G_BRIEF_MIN, lo), (contract.G_BRIEF_MAX, hi), (contract.G_LOCAL_ID, 1)):
        process.rx(s, f"dialplan set global {name} {value}")
    engine_log = open(home / "engine.log", "wb")
    engine = subprocess.Popen([sys.executable, "-m", "hotline.cli", "--settings", str(settings_file), "serve",
                               "--no-agents"], stdout=engine_log, stderr=engine_log)
    store = Store(s.database_url)
    try:
        await engine_healthy(s.http_url, 30)
        sup = await supervisor_token(store)
        bench_ids = [a.id for a in s.agents if a.line == "local-brief"]
        day = Day(s, plan, sup, bench_ids, home / "calls")
        day.trace = args.trace
        async with aiohttp.ClientSession() as http:   # the demo's SIP agents have no phones here
            for a in s.agents:
                if a.line == "sip":
                    await http.post(f"{s.http_url}/api/v1/agents/{a.id}/logout", headers=day.sup)
        ep, ap_ = psutil.Process(engine.pid), asterisk_proc(s)
        e0, a0, since, t0 = cpu(ep), cpu(ap_), time.time() - 2, time.monotonic()
        await day.run()
        wall = time.monotonic() - t0
        cpu_s = {"engine": cpu(ep) - e0, "asterisk": cpu(ap_) - a0}
        callers = {_digits(x.caller.number) for x in day.seen}
        eng = {}
        for _ in range(60):   # the last journals are folded after their calls end
            eng = await engine_counts(s, store, sup, since, time.time() + 1, callers)
            if eng["callers_with_one_ticket"] + eng["callers_with_more"] >= len(callers):
                break
            await asyncio.sleep(2)
        print(report(plan, day.seen, eng, cpu_s, wall, aht_s))
        out = home / "seen.json"
        out.write_text(json.dumps([{"n": x.caller.n, "keys": x.caller.keys, "patience": x.caller.patience,
                                    "outcome": x.outcome, "wait_s": x.wait_s, "agent": x.agent, "rc": x.rc}
                                   for x in day.seen], indent=1))
        log(f"per-call record: {out}; engine log: {home / 'engine.log'}")
    finally:
        stop_engine(engine, engine_log)
        await store.close()
        process.down(s)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
