"""The fault matrix (issue #17): Asterisk, the engine, the agents' phones failing while calls
are up, on real Asterisk. Each case prints its figures (calls, lost, doubled, recovery
seconds); docs/faults.md holds them.

These kill or restart Asterisk or the engine, so they are marked `faults` and run in a pytest
process of their own after the others (scripts/test.sh, HOTLINE_TEST_SLOT=2): channel names
restart with Asterisk and other tests match the verbose log by channel name.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import statistics
import subprocess
import time

import pytest

from acd.model import OFFERED, ON_CALL, PAUSED, READY
from acd.service import UNREACHABLE
from acd.softphones import Softphones
from asterisk_conf import install, process
from calls.record import Disposition
from core import contract

from .conftest import PG_URL, Harness, _none, call, own_database, registered, ticket_for, until
from .proxy import CuttableProxy

pytestmark = pytest.mark.faults

DEPARTMENT_NUMBERS = ["12315", "12366", "12333", "12369", "12329", "12358"]


def figures(case: str, **kw) -> None:
    """One line per case, grep-able from the test log: `FAULT <case> calls=.. lost=.. ...`."""
    print(f"\nFAULT {case} " + " ".join(f"{k}={v}" for k, v in kw.items()), flush=True)


def asterisk_pid(s) -> int:
    return int((s.host_path(s.inst_in_root) / "run" / "asterisk.pid").read_text().strip())


async def kill_asterisk(s) -> None:
    """SIGKILL: no hangup handler runs, no journal gets its end line."""
    pid = asterisk_pid(s)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"Asterisk {pid} outlived SIGKILL")


async def tickets_of(store, ids: list[str], timeout: float = 60) -> tuple[list[dict], int, int]:
    """(the ticket of each call, calls without one, calls with more than one)."""
    found = []
    deadline = time.monotonic() + timeout   # for all of them: a test that lost calls fails soon
    for i in ids:
        try:
            found.append(await ticket_for(store, i, timeout=max(0.5, deadline - time.monotonic())))
        except AssertionError:
            found.append(None)
    lost = sum(t is None for t in found)
    doubled = 0
    for i in ids:
        doubled += len(await store.tickets(linkedid=i)) > 1
    return found, lost, doubled


async def answered_after(store, linkedid: str, timeout: float = 60) -> float | None:
    """Seconds from the call reaching the centre to an agent answering (None: never)."""
    from datetime import datetime
    t = await ticket_for(store, linkedid, timeout=timeout)
    if not t["answered_at"]:
        return None
    return (datetime.fromisoformat(t["answered_at"]) - datetime.fromisoformat(t["started_at"])).total_seconds()


@pytest.fixture(scope="session")
async def restarted_phones(phones):
    """The demo phones' baresip run again by a test (see `fresh_phones`), stopped at the end."""
    tasks: list[asyncio.Task] = []
    yield tasks
    for t in tasks:
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await t


async def fresh_phones(s, phones, tasks) -> None:
    """After a SIGKILL of Asterisk the phones still hold the calls it had (no BYE ever came;
    baresip has no RTP timeout) and keep playing into them, a core's worth of CPU: a person
    would hang up. Here the phones' baresip starts again, registering afresh."""
    proc = phones.proc
    if proc is not None and proc.returncode is None:
        proc.terminate()
        await proc.wait()
    tasks.append(asyncio.create_task(phones.run()))
    endpoints = [a.endpoint for a in phones.agents]
    await until(lambda: _all(registered(s, endpoints), len(endpoints)), 20, "the demo phones registered again")


async def _all(coro, n: int) -> bool:
    return len(await coro) == n


async def test_asterisk_sigkill_with_calls_up_every_call_becomes_one_record(hotline, asterisk, phones, driver,
                                                                           restarted_phones):
    s, engine = hotline.settings, hotline.engine
    acd = engine.acd
    sip = [a.endpoint for a in s.centre.sip_agents if a.id.startswith("1")]
    await until(lambda: all(acd.board.agent(a.id).state == READY for a in s.centre.sip_agents
                            if a.id.startswith("1")), 30, "every demo agent ready")
    # talking: one per department agent; waiting: a second round behind them; menu: the
    # centre number with nobody pressing a key (its menu takes ~30 s to give up)
    talking = []
    for i, n in enumerate(DEPARTMENT_NUMBERS + ["12366"]):
        # one at a time: seven phones ringing at once in one baresip miss their 5 s on a busy machine
        talking.append(await call(driver, s, n, caller=f"1391000{i:04d}", talk=300, wait=0.3))
        await until(lambda: (a := acd.agent_of(talking[-1])) and acd.board.agent(a).state == ON_CALL, 30,
                    f"call to {n} answered")
    waiting = [await call(driver, s, n, caller=f"1392000{i:04d}", talk=300, wait=0.3)
               for i, n in enumerate(DEPARTMENT_NUMBERS * 2)]
    menu = [await call(driver, s, "12345", caller=f"1393000{i:04d}", talk=300, wait=60) for i in range(6)]
    ids = talking + waiting + menu
    await until(lambda: all(i in acd.waiting or i in acd.delivering for i in waiting), 40,
                "the second round with the ACD")
    journals = s.host_path(s.journal_dir)
    await until(lambda: all((journals / f"{i}.log").exists() for i in ids), 20, "every call journalled")
    in_menu = sum(i not in acd.waiting and i not in acd.delivering for i in menu)
    await kill_asterisk(s)
    killed = time.monotonic()
    await asyncio.sleep(1.0)
    await asyncio.to_thread(process.up, s)
    back = time.monotonic()
    await driver.wait_connected(10)
    # the agents hang up the calls that died (their phones never got a BYE): here their
    # baresip starts again; then new calls, answered within 10 s
    await fresh_phones(s, phones, restarted_phones)
    # new calls as soon as Asterisk is back: answered within 10 s
    # (callers who would wait 15 s, the GB/T 33358 answer target)
    after = [await call(driver, s, n, caller=f"1394000{i:04d}", talk=15, wait=0.3)
             for i, n in enumerate(["12366", "12315", "12369"])]
    tickets, lost, doubled = await tickets_of(engine.store, ids, timeout=90)
    closed = time.monotonic() - back
    dispositions = {t["disposition"] for t in tickets if t}
    answer = [await answered_after(engine.store, i) for i in after]
    stale = [i for i in ids if i in acd.waiting or i in acd.delivering or i in acd.board.calls]
    stuck = [a.id for a in acd.board.agents.values() if a.call in ids]
    figures("asterisk-sigkill", calls=len(ids), talking=len(talking), waiting=len(waiting), menu=in_menu,
            lost=lost, doubled=doubled, records_after_s=round(closed, 1),
            down_s=round(back - killed, 1), new_calls_answered_s=answer)
    assert (lost, doubled) == (0, 0)
    assert dispositions == {Disposition.CUT_BY_CRASH.value}, dispositions
    # a talking call keeps its agent and its talk time up to the crash
    for t in tickets[:len(talking)]:
        assert t["agent"] and t["talk_seconds"] and t["talk_seconds"] > 0, \
            {k: t[k] for k in ("linkedid", "dialed", "agent", "talk_seconds", "started_at", "answered_at", "ended_at")}
    assert all(t["department"] for t in tickets[len(talking):len(talking) + len(waiting)])
    assert not stale and not stuck, (stale, stuck)
    assert all(a is not None and a <= 10 for a in answer), answer
    assert await registered(s, sip) == set(sip)


LOAD_DEPARTMENTS = {"12315": "market", "12366": "tax", "12333": "hrss", "12369": "ecology", "12329": "housing",
                    "12358": "prices"}
LOAD_LINES_PER_DEPARTMENT = 6      # Local lines that answer and stay on the line: 36 agents
LOAD_WAITING_PER_DEPARTMENT = 7    # callers behind them: 42 waiting
LOAD_MENU = 22                     # and 22 in the centre number's menu: 100 calls up


@contextlib.asynccontextmanager
async def local_agents(hotline, per_department: int, reserve: int = 0):
    """`per_department` Local `local-talk` lines per department, logged in, and `reserve` more
    per department logged out in the engine (only app_queue rings them: lines for the native
    path once the engine is gone); the demo's SIP agents logged out meanwhile (their one
    baresip is not the load's subject), then restored. Yields the logged-in lines' ids."""
    from acd.directory import parse_new
    engine = hotline.engine
    d, acd = engine.directory, engine.acd
    ids, spare = [], []
    for k, dep in enumerate(LOAD_DEPARTMENTS.values()):
        for j in range(per_department + reserve):
            i = f"3{k}{j:02d}"
            (ids if j < per_department else spare).append(i)
            await d.rows.add(parse_new({"id": i, "name": f"load line {i}", "line": "local-talk",
                                        "skills": [f"{dep}:cmn:4"]}, d.departments), "test")
    await d.refresh()
    await until(lambda: all(i in acd.agents for i in ids + spare), 15, "the engine to see the load lines")
    demo = [a.id for a in engine.settings.centre.sip_agents if a.id.startswith("1")]
    for a in demo + spare:
        if acd.board.agent(a).state != "logged_out":
            await acd.agent_action(a, "logout", by="test")
    for i in ids:
        await acd.agent_action(i, "login", by="test")
    try:
        yield ids
    finally:
        d, acd = hotline.engine.directory, hotline.engine.acd   # the engine may have been restarted
        for i in ids + spare:
            with contextlib.suppress(Exception):
                await acd.agent_action(i, "logout", by="test")
            await d.rows.remove(i, "test")
        await d.refresh()
        for a in demo:
            await acd.agent_action(a, "login", by="test")


async def place_load(driver, s, acd, numbers, prefix: str, talk: tuple[float, float, float], menu_wait: float):
    """The 100 calls: one per load line talking, then callers waiting behind them in every
    department, then callers in the 12345 menu; `talk` for each group, in that order."""
    talking = [await call(driver, s, n, caller=f"{prefix}{k:01d}00{j:04d}", talk=talk[0], wait=0.3)
               for j in range(LOAD_LINES_PER_DEPARTMENT) for k, n in enumerate(numbers)]
    await until(lambda: all((a := acd.agent_of(i)) and acd.board.agent(a).state == ON_CALL for i in talking),
                60, "every load line talking")
    waiting = [await call(driver, s, n, caller=f"{prefix}{k:01d}10{j:04d}", talk=talk[1], wait=0.3)
               for j in range(LOAD_WAITING_PER_DEPARTMENT) for k, n in enumerate(numbers)]
    await until(lambda: all(i in acd.waiting for i in waiting), 60, "the callers behind them waiting")
    menu = [await call(driver, s, "12345", caller=f"{prefix}90{j:05d}", talk=talk[2], wait=menu_wait)
            for j in range(LOAD_MENU)]
    return talking, waiting, menu


async def test_asterisk_sigkill_with_100_calls_up_every_call_becomes_one_record(hotline, asterisk, phones, driver,
                                                                               restarted_phones):
    """Issue #17's load for the SIGKILL row: 100 calls up over the Local path (36 talking to
    Local lines, 42 waiting for them, 22 in the menu), Asterisk SIGKILLed and started again."""
    s, engine = hotline.settings, hotline.engine
    acd = engine.acd
    numbers = list(LOAD_DEPARTMENTS)
    async with local_agents(hotline, LOAD_LINES_PER_DEPARTMENT) as lines:
        await until(lambda: all(acd.board.agent(i).state == READY for i in lines), 15, "the load lines ready")
        t0 = time.monotonic()
        # the centre number with nobody pressing a key: its menu takes ~30 s to give up
        talking, waiting, menu = await place_load(driver, s, acd, numbers, "1395", talk=(300, 300, 300), menu_wait=60)
        ids = talking + waiting + menu
        journals = s.host_path(s.journal_dir)
        await until(lambda: all((journals / f"{i}.log").exists() for i in ids), 30, "every call journalled")
        placed_s = time.monotonic() - t0
        up = len((await driver.action_list("CoreShowChannels")))
        in_menu = sum(i not in acd.waiting and i not in acd.delivering for i in menu)
        on_call = sum(bool((a := acd.agent_of(i)) and acd.board.agent(a).state == ON_CALL) for i in talking)
        still_waiting = sum(i in acd.waiting for i in waiting)
        await kill_asterisk(s)
        killed = time.monotonic()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(process.up, s)
        back, back_wall = time.monotonic(), time.time()
        await driver.wait_connected(10)
        # new calls as soon as Asterisk is back, one per department: answered within 10 s
        # (callers who would wait 15 s, the GB/T 33358 answer target)
        after = [await call(driver, s, n, caller=f"139580{k:05d}", talk=4, wait=0.3) for k, n in enumerate(numbers)]
        tickets, lost, doubled = await tickets_of(engine.store, ids, timeout=120)
        closed = time.monotonic() - back
        answer = [await answered_after(engine.store, i) for i in after]
        new = [await ticket_for(engine.store, i) for i in after]
        from datetime import datetime
        recovery = max((datetime.fromisoformat(t["answered_at"]).timestamp() - back_wall
                        for t in new if t["answered_at"]), default=None)
        stale = [i for i in ids if i in acd.waiting or i in acd.delivering or i in acd.board.calls]
        stuck = [a.id for a in acd.board.agents.values() if a.call in ids]
        dispositions = {t["disposition"] for t in tickets if t}
        figures("asterisk-sigkill-100", calls=len(ids), channels=up, talking=on_call, waiting=still_waiting,
                menu=in_menu, placed_s=round(placed_s, 1), lost=lost, doubled=doubled,
                down_s=round(back - killed, 1), records_after_s=round(closed, 1),
                recovery_s=recovery and round(recovery, 1), new_calls_answered_s=answer)
        assert (lost, doubled) == (0, 0)
        assert dispositions == {Disposition.CUT_BY_CRASH.value}, dispositions
        # the spread the case is about held at the kill
        assert (on_call, still_waiting) == (len(talking), len(waiting)) and in_menu >= len(menu) // 2, \
            (on_call, still_waiting, in_menu)
        for t in tickets[:len(talking)]:   # talking calls keep their agent and talk time up to the crash
            assert t["agent"] in lines and t["talk_seconds"] and t["talk_seconds"] > 0, \
                {k: t[k] for k in ("linkedid", "dialed", "agent", "talk_seconds", "started_at", "answered_at")}
        assert all(t["department"] for t in tickets[len(talking):len(talking) + len(waiting)])
        assert not stale and not stuck, (stale, stuck)
        assert all(a is not None and a <= 10 for a in answer), answer
        # the new calls end (4 s of talk) before their lines go away
        await tickets_of(engine.store, after, timeout=30)
    # the demo phones: Asterisk forgot them with its restart; their baresip registers afresh
    await fresh_phones(s, phones, restarted_phones)


@contextlib.asynccontextmanager
async def phone_of(s, agent_id: str, folder):
    """A baresip of its own for one agent (the demo phones share one): stopping it
    unregisters that phone alone, as a person's phone losing the network or switched off."""
    agent = next(a for a in s.centre.agents if a.id == agent_id)
    mine = dataclasses.replace(s, phones_port=s.phones_port + 10, rtp_end=s.rtp_end + 1000)
    phone = Softphones(mine, [agent], folder, ctrl_port=s.phones_port + 12)
    task = asyncio.create_task(phone.run())
    try:
        await until(lambda: registered(s, [agent.endpoint]), 20, f"{agent.endpoint} registered")
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_phone_unregistering_mid_shift_pauses_its_agent_and_registering_frees_it(
        hotline, asterisk, phones, driver, tmp_path):
    s, acd = hotline.settings, hotline.engine.acd
    agent = "2004"   # prices:cmn:2 beside the demo's prices agent 1006 (prices:cmn:4)
    async with phone_of(s, agent, tmp_path / "p1"):
        await acd.agent_action(agent, "login", by="test")
        await until(lambda: acd.board.agent(agent).state == READY, 10, "2004 ready")
        gone = time.monotonic()   # the phone is switched off now
    await until(lambda: _none(registered(s, ["agent2004"])), 15, "the phone unregistered")
    await until(lambda: acd.board.agent(agent).state == PAUSED, 10, "2004 paused")
    paused_s = time.monotonic() - gone
    assert acd.board.agent(agent).paused_reason == UNREACHABLE
    # calls meanwhile: none is offered to the phone that is gone, none is lost
    offers: list[str] = []
    unsubscribe = hotline.engine.events.subscribe(
        lambda e: offers.append(e.agent) if e.kind == "agent_offer" else None)
    ids = []
    for i in range(4):
        ids.append(await call(driver, s, "12358", caller=f"1395000{i:04d}", talk=2, wait=0.3))
        await asyncio.sleep(1.5)
    tickets, lost, doubled = await tickets_of(hotline.engine.store, ids)
    unsubscribe()
    back = time.monotonic()   # switched on again (registering takes part of what follows)
    async with phone_of(s, agent, tmp_path / "p2"):
        await until(lambda: acd.board.agent(agent).state == READY, 15, "2004 ready again by itself")
        ready_s = time.monotonic() - back
        # and it takes calls again: the prices agent busy, the next prices call rings 2004
        busy = await call(driver, s, "12358", caller="13950009998", talk=20, wait=0.3)
        await until(lambda: acd.agent_of(busy) is not None and acd.board.agent(acd.agent_of(busy)).state == ON_CALL,
                    20, "the first prices call answered")
        nxt = await call(driver, s, "12358", caller="13950009999", talk=15, wait=0.3)
        t = await ticket_for(hotline.engine.store, nxt, timeout=40)
        await acd.agent_action(agent, "logout", by="test")
    figures("phone-unregistered", calls=len(ids), lost=lost, doubled=doubled, paused_after_s=round(paused_s, 2),
            ready_after_switch_on_s=round(ready_s, 2), offered_to_gone_phone=offers.count(agent))
    assert (lost, doubled) == (0, 0)
    assert all(x["disposition"] == "answered" and x["agent"] == "agent1006" for x in tickets), \
        [(x["disposition"], x["agent"]) for x in tickets]
    assert offers.count(agent) == 0
    assert (t["disposition"], {t["agent"], (await ticket_for(hotline.engine.store, busy))["agent"]}) == \
        ("answered", {"agent1006", "agent2004"})


async def test_engine_killed_with_calls_in_menu_waiting_ringing_and_talking(hotline, asterisk, phones, driver,
                                                                           tmp_path):
    """The engine's task is cancelled at once: its AMI and FastAGI sockets close as on a
    SIGKILL and the heartbeat stops (what a kill adds, no cleanup, is the journals' case)."""
    s, acd = hotline.settings, hotline.engine.acd
    beat, chunk = acd.cfg.beat_timeout, s.centre.timers.wait_chunk
    ring = max(acd.cfg.ring_seconds, s.centre.timers.ring_seconds)
    await until(lambda: all(acd.board.agent(a.id).state == READY for a in s.centre.sip_agents
                            if a.id.startswith("1")), 30, "every demo agent ready")

    async def answered(lid):
        await until(lambda: (a := acd.agent_of(lid)) and acd.board.agent(a).state == ON_CALL, 30, f"{lid} answered")

    talking = []
    for i, n in enumerate(["12315", "12329"]):
        talking.append(await call(driver, s, n, caller=f"1396000{i:04d}", talk=40, wait=0.3))
        await answered(talking[-1])
    first_prices = await call(driver, s, "12358", caller="13960001000", talk=14, wait=0.3)
    await answered(first_prices)
    # (`talk` is how long a caller stays on the line in all.) Each waiting call sees the lost
    # heartbeat at the end of its own WaitExten chunk, so the two fall back up to a chunk apart,
    # in either order (an announcement shifts a call's chunks). With one prices agent the one
    # answered second had to outlast the other's whole call: it hung up in CI. A second
    # prices line (2004, logged out in the engine) registers once the engine is gone: app_queue
    # rings it, the engine never would, and each waiting call has a line.
    waiting = [await call(driver, s, "12358", caller=f"1396100{i:04d}", talk=50, wait=0.3) for i in range(2)]
    await until(lambda: all(i in acd.board.calls for i in waiting), 20, "two prices calls waiting")
    await acd.agent_action("2001", "ready", by="test")   # a line that rings and never answers
    menu = [await call(driver, s, "12345", caller=f"1396200{i:04d}", talk=20, wait=60) for i in range(3)]
    ringing = await call(driver, s, "12369", caller="13960003000", talk=35, wait=0.3)
    await until(lambda: acd.agent_of(ringing) == "2001", 20, "the ecology call ringing 2001")
    journals = s.host_path(s.journal_dir)
    await until(lambda: all((journals / f"{i}.log").exists() for i in menu), 10, "the menu calls journalled")
    await hotline.stop()
    killed = time.monotonic()
    fell_back: dict[str, float] = {}
    native = waiting + menu + [ringing]
    def watch() -> bool:
        """Notes when each call fell back; True once all have."""
        for i in native:
            p = journals / f"{i}.log"
            if i not in fell_back and p.exists() and f" {contract.J_FALLBACK} " in p.read_text():
                fell_back[i] = time.monotonic() - killed
        return len(fell_back) == len(native)

    def connected(i: str) -> bool:
        p = journals / f"{i}.log"
        return p.exists() and f" {contract.J_CONNECT} " in p.read_text()

    ids = talking + [first_prices] + native
    try:
        # the menu's calls fall back at once into the general queue, which reaches every agent
        # after its own: 2004 registers once they are answered, or it takes one of them
        await until(lambda: [watch()] and all(i in fell_back and connected(i) for i in menu), 15,
                    "the menu calls answered natively")
        async with phone_of(s, "2004", tmp_path / "p2004"):
            deadline = killed + beat + chunk + ring + 10
            while time.monotonic() < deadline and not watch():
                await asyncio.sleep(0.2)
            # let the native path answer and the calls end (the longest: talking, 40 s)
            await until(lambda: all(_ended(journals / f"{i}.log") for i in ids), 120, "every call ended")
    finally:
        await hotline.start()
    acd = hotline.engine.acd
    tickets, lost, doubled = await tickets_of(hotline.engine.store, ids)
    by = dict(zip(ids, tickets))
    figures("engine-killed", calls=len(ids), talking=len(talking), waiting=len(waiting), menu=len(menu), ringing=1,
            lost=lost, doubled=doubled, beat_timeout_s=beat,
            menu_fallback_s=max((round(fell_back.get(i, -1), 1) for i in menu)),
            waiting_fallback_s=max((round(fell_back.get(i, -1), 1) for i in waiting + [ringing])),
            native_answered=sum(bool(by[i] and by[i]["agent"]) for i in native),
            ringing_call=by[ringing] and by[ringing]["disposition"])
    assert (lost, doubled) == (0, 0)
    assert set(fell_back) == set(native), [by[i] and (by[i]["dialed"], by[i]["disposition"]) for i in native
                                           if i not in fell_back]
    # the menu's calls at once (the FastAGI link broke); waiting and ringing ones on the heartbeat
    assert max(fell_back[i] for i in menu) < 5
    assert max(fell_back[i] for i in waiting + [ringing]) <= beat + chunk + ring + 2
    for i in waiting + menu:
        assert (by[i]["disposition"], by[i]["fallback"]) == ("fallback", True) and by[i]["agent"], \
            f"fell back after {fell_back[i]:.1f} s: " + ", ".join(
                f"{k}={by[i][k]}" for k in ("dialed", "disposition", "agent", "started_at", "answered_at",
                                            "ended_at", "wait_seconds"))
    # the call that was ringing 2001 falls back too, but app_queue keeps ringing its best-
    # penalty member, 2001 itself, which never answers (docs/faults.md: a known limit)
    assert by[ringing]["fallback"] is True
    for i in talking:   # went on to the caller's end
        assert by[i]["disposition"] == "answered" and by[i]["talk_seconds"] > 35, by[i]


LOAD_RESERVE_PER_DEPARTMENT = 12   # lines only app_queue rings (72): the native path's agents


async def test_engine_killed_with_100_calls_up_menu_and_waiting_calls_reach_agents_natively(
        hotline, asterisk, phones, driver):
    """Issue #17's load for the engine-kill row: 36 calls talking to Local lines, 42 waiting
    for them, 22 in the menu, then the engine's task cancelled (as in the 9-call case above).
    The menu's calls fall back at once, the waiting ones on the lost heartbeat, into app_queue,
    whose members include 72 Local lines the engine had logged out."""
    s, acd = hotline.settings, hotline.engine.acd
    beat, chunk = acd.cfg.beat_timeout, s.centre.timers.wait_chunk
    ring = max(acd.cfg.ring_seconds, s.centre.timers.ring_seconds)
    numbers = list(LOAD_DEPARTMENTS)
    journals = s.host_path(s.journal_dir)
    # 2001, the test line that rings and never answers, is a member of the general queue (the
    # fallback department reaches every agent): leastrecent keeps choosing it, as it never took
    # a call, and the menu call it got waited its whole 40 s (docs/faults.md: known limits).
    # Here it answers like the other Local lines, and is put back after.
    await hotline.engine.directory.update("2001", {"line": "local-talk"}, by="test")
    async with contextlib.AsyncExitStack() as undo:
        undo.push_async_callback(lambda: hotline.engine.directory.update("2001", {"line": "local-ring"}, by="test"))
        lines = await undo.enter_async_context(
            local_agents(hotline, LOAD_LINES_PER_DEPARTMENT, LOAD_RESERVE_PER_DEPARTMENT))
        await until(lambda: all(acd.board.agent(i).state == READY for i in lines), 15, "the load lines ready")
        # `talk` is how long a caller stays on the line in all
        talking, waiting, menu = await place_load(driver, s, acd, numbers, "1397", talk=(35, 45, 30), menu_wait=10)
        ids = talking + waiting + menu
        await until(lambda: all((journals / f"{i}.log").exists() for i in ids), 30, "every call journalled")
        in_menu = sum(i not in acd.waiting and i not in acd.delivering for i in menu)
        still_waiting = sum(i in acd.waiting for i in waiting)
        await hotline.stop()
        killed = time.monotonic()
        native = waiting + menu
        fell_back: dict[str, float] = {}
        reached: dict[str, float] = {}

        def watch() -> bool:
            """Notes when each call fell back and when an agent answered it natively."""
            for i in native:
                if i in reached:
                    continue
                p = journals / f"{i}.log"
                text = p.read_text() if p.exists() else ""
                if i not in fell_back and f" {contract.J_FALLBACK} " in text:
                    fell_back[i] = time.monotonic() - killed
                if i in fell_back and f" {contract.J_CONNECT} " in text:
                    reached[i] = time.monotonic() - killed
            return len(reached) == len(native)

        try:
            deadline = killed + beat + chunk + ring + 30
            while time.monotonic() < deadline and not watch():
                await asyncio.sleep(0.25)
            await until(lambda: all(_ended(journals / f"{i}.log") for i in ids), 120, "every call ended")
        finally:
            await hotline.start()
        restarted = time.monotonic()
        engine = hotline.engine
        tickets, lost, doubled = await tickets_of(engine.store, ids, timeout=120)
        by = dict(zip(ids, tickets))
        menu_fb = max((fell_back.get(i, -1) for i in menu), default=-1)
        wait_fb = max((fell_back.get(i, -1) for i in waiting), default=-1)
        figures("engine-killed-100", calls=len(ids), talking=len(talking), waiting=still_waiting, menu=in_menu,
                lost=lost, doubled=doubled, beat_timeout_s=beat, menu_fallback_s=round(menu_fb, 1),
                waiting_fallback_s=round(wait_fb, 1), native_reached=f"{len(reached)}/{len(native)}",
                reached_s=round(max(reached.values(), default=-1), 1),
                records_after_restart_s=round(time.monotonic() - restarted, 1))
        assert (lost, doubled) == (0, 0)
        assert in_menu >= len(menu) // 2 and still_waiting == len(waiting), (in_menu, still_waiting)
        assert set(fell_back) == set(native), [by[i] and (by[i]["dialed"], by[i]["disposition"]) for i in native
                                               if i not in fell_back]
        # the menu's calls at once (the FastAGI link broke); waiting ones on the heartbeat
        # (each at the end of its own WaitExten chunk; 5 s of margin for a loaded machine)
        assert menu_fb < 5, menu_fb
        assert wait_fb <= beat + chunk + 5, wait_fb
        # and an agent (a Local line app_queue rang) answered each within its ring time after that
        assert set(reached) == set(native), sorted(set(native) - set(reached))
        assert max(reached[i] - fell_back[i] for i in native) <= ring + 10
        for i in native:
            assert (by[i]["disposition"], by[i]["fallback"]) == ("fallback", True) and by[i]["agent"], \
                {k: by[i][k] for k in ("dialed", "disposition", "agent", "started_at", "answered_at", "ended_at")}
        for i in talking:   # went on to the caller's end
            assert by[i]["disposition"] == "answered" and by[i]["agent"] in lines and by[i]["talk_seconds"] > 25, \
                by[i]


def _ended(path) -> bool:
    """The call's journal has its end line (or is folded already)."""
    return not path.exists() or f" {contract.J_END} " in path.read_text()


@contextlib.asynccontextmanager
async def engine_behind_proxy(hotline, asterisk, name: str):
    """The session's engine steps aside (the dialplan knows one FastAGI port) for one on a
    PostgreSQL database of its own reached through a CuttableProxy."""
    port = int(PG_URL.rsplit(":", 1)[1].split("/")[0])
    await hotline.stop()
    proxy = CuttableProxy("127.0.0.1", port)
    await proxy.start()
    try:
        own = await own_database(name + ("_pg" if "postgres" in hotline.settings.database_url else "_lite"))
        h = Harness(dataclasses.replace(asterisk, db_url=own.replace(f":{port}/", f":{proxy.port}/")))
        await h.start()
        try:
            yield h, proxy
        finally:
            await h.stop()
    finally:
        await proxy.stop()
        await hotline.start()


async def test_database_cut_inside_commits_repeatedly_loses_and_doubles_nothing(hotline, asterisk, phones, driver):
    async with engine_behind_proxy(hotline, asterisk, "test_faults_commits") as (h, proxy):
        proxy.cut_commits = 3   # every third COMMIT: before the server has it, then after (reply lost)
        ids = []
        for i in range(16):
            ids.append(await call(driver, asterisk, DEPARTMENT_NUMBERS[i % len(DEPARTMENT_NUMBERS)],
                                  caller=f"1397000{i:04d}", talk=10, wait=0.2))
            await asyncio.sleep(1.0)
        journals = asterisk.host_path(asterisk.journal_dir)
        await until(lambda: all(_ended(journals / f"{i}.log") for i in ids), 90, "every call ended")
        await until(lambda: not any((journals / f"{i}.log").exists() for i in ids), 120, "every journal folded")
        cuts = dict(proxy.cuts)
        proxy.cut_commits = 0
        tickets, lost, doubled = await tickets_of(h.store, ids)
        stored = await h.store.count_calls()
        figures("db-cut-in-commit", calls=len(ids), lost=lost, doubled=doubled, commits=proxy.commits,
                cut_before_commit=cuts["before"], cut_after_commit=cuts["after"], records=stored,
                db_errors=h.engine.intake.stats["db_errors"], duplicates_refused=h.engine.intake.stats["duplicates"])
        # (the database is this test's own, but journals a failed test left behind may join it)
        assert (lost, doubled) == (0, 0) and stored >= len(ids)
        assert cuts["before"] and cuts["after"]
        assert all(t["disposition"] == "answered" for t in tickets), [t["disposition"] for t in tickets]


async def test_a_slow_database_keeps_calls_flowing(hotline, asterisk, phones, driver):
    async with engine_behind_proxy(hotline, asterisk, "test_faults_slow") as (h, proxy):
        async def answer_times(delay: float, tag: int) -> list[float]:
            proxy.delay = delay
            ids = []
            for i, n in enumerate(DEPARTMENT_NUMBERS):
                ids.append(await call(driver, asterisk, n, caller=f"139{tag}00{i:05d}", talk=10, wait=0.2))
                await asyncio.sleep(0.5)
            proxy.delay = 0.0   # the records are not what is measured
            answers = [await answered_after(h.store, i, timeout=90) for i in ids]
            # where the time went: before the queue (start, menu) and waiting in it
            queued = [(await ticket_for(h.store, i))["wait_seconds"] for i in ids]
            return answers, [round(a - q, 2) if a is not None and q is not None else None
                             for a, q in zip(answers, queued)]
        base, base_menu = await answer_times(0.0, 8)
        slow, slow_menu = await answer_times(0.2, 9)
        figures("db-slow-200ms", calls=len(base) + len(slow), answer_s_normal=base, answer_s_slow=slow,
                before_queue_s_normal=base_menu, before_queue_s_slow=slow_menu)
        assert None not in base + slow
        # Every call answered, and the bar: routing never waits on the database, at most
        # 0.5 s more on the median. What the caller still waits for is the menu's language lookup,
        # bounded at 0.25 s (ivr/lookups.py; cancelling the query itself used to cost 1.1 s).
        assert statistics.median(slow) <= statistics.median(base) + 0.5, (base, slow, base_menu, slow_menu)
        assert max(m for m in slow_menu if m is not None) < 0.6, slow_menu


async def test_ami_reset_during_routing_resyncs_and_offers_no_call_twice(hotline, asterisk, phones, driver):
    """The engine's AMI link goes through a proxy that resets it three times while calls
    arrive, wait, ring and end: their events in the gaps are lost and the resync finds them."""
    await hotline.stop()
    proxy = CuttableProxy(asterisk.bind, asterisk.ami_port)
    await proxy.start()
    h = Harness(dataclasses.replace(hotline.settings, ami_port=proxy.port))
    offers: list[tuple[str, str]] = []
    try:
        await h.start()
        unsubscribe = h.engine.events.subscribe(
            lambda e: offers.append((e.linkedid, e.agent)) if e.kind == "agent_offer" else None)
        acd, ids, resync_s = h.engine.acd, [], []
        for i in range(18):
            ids.append(await call(driver, asterisk, DEPARTMENT_NUMBERS[i % len(DEPARTMENT_NUMBERS)],
                                  caller=f"1398000{i:04d}", talk=12, wait=0.2))
            await asyncio.sleep(0.7)
            if i % 6 == 3:
                before = h.engine.ami.connects
                proxy.cut()
                await asyncio.sleep(0.5)   # events meanwhile are lost
                proxy.restore()
                t0 = time.monotonic()
                await until(lambda: h.engine.ami.connects > before and h.engine.ami.connected, 10, "AMI back")
                resync_s.append(round(time.monotonic() - t0, 2))
        tickets, lost, doubled = await tickets_of(h.store, ids, timeout=90)
        await until(lambda: not acd.board.calls and not acd.waiting and not acd.delivering, 20, "nothing left waiting")
        unsubscribe()
        twice = len(offers) - len(set(offers))
        figures("ami-reset", calls=len(ids), resets=len(resync_s), lost=lost, doubled=doubled,
                reconnect_s=max(resync_s), offered_twice_to_one_agent=twice,
                answered=sum(t is not None and t["disposition"] in ("answered", "fallback") for t in tickets))
        assert (lost, doubled, twice) == (0, 0, 0)
        assert max(resync_s) < 5
        assert all(t["disposition"] in ("answered", "fallback") for t in tickets), [t["disposition"] for t in tickets]
    finally:
        await h.stop()
        await proxy.stop()
        await hotline.start()


async def test_a_burst_of_api_writes_during_routing_gets_no_5xx(hotline, asterisk, phones, driver):
    import aiohttp
    s, engine = hotline.settings, hotline.engine
    sup = await engine.store.create_token("supervisor", "burst")
    first = await call(driver, s, "12369", caller="13990000000", talk=1, wait=0.3)
    ticket = await ticket_for(engine.store, first)
    ids = [await call(driver, s, DEPARTMENT_NUMBERS[i % len(DEPARTMENT_NUMBERS)], caller=f"1399100{i:04d}",
                      talk=10, wait=0.2) for i in range(12)]
    base = s.http_url
    codes: dict[int, int] = {}

    async def one(http, i: int) -> None:
        kind = i % 4
        if kind == 0:
            req = http.patch(f"{base}/api/v1/tickets/{ticket['id']}", json={"subject": f"burst {i}"},
                             headers={"Authorization": f"Bearer {sup}"})
        elif kind == 1:
            req = http.post(f"{base}/api/v1/agents/2003/{'pause' if i % 8 == 1 else 'unpause'}", json={},
                            headers={"Authorization": f"Bearer {sup}"})
        elif kind == 2:
            req = http.put(f"{base}/api/v1/priority_callers/1399200{i:04d}", json={"reason": "elderly"},
                           headers={"Authorization": f"Bearer {sup}"})
        else:
            req = http.get(f"{base}/status")
        async with req as r:
            await r.read()
            codes[r.status] = codes.get(r.status, 0) + 1

    await engine.acd.agent_action("2003", "login", by="test")   # paused and unpaused by the burst
    t0 = time.monotonic()
    async with aiohttp.ClientSession() as http:
        for start in range(0, 400, 40):   # 40 at a time, 400 in all
            await asyncio.gather(*(one(http, i) for i in range(start, start + 40)))
    burst_s = time.monotonic() - t0
    await engine.acd.agent_action("2003", "logout", by="test")
    tickets, lost, doubled = await tickets_of(engine.store, ids)
    status = await engine.status()
    answer = [await answered_after(engine.store, i) for i in ids]
    figures("api-burst", requests=sum(codes.values()), burst_s=round(burst_s, 1), codes=codes, calls=len(ids),
            lost=lost, doubled=doubled, answered=sum(a is not None for a in answer),
            slowest_answer_s=max((a for a in answer if a is not None), default=None))
    # the row: no 5xx, the engine up - and no call lost or doubled. That every caller is
    # answered within their patience during the burst is not held yet (docs/faults.md, limits):
    # the burst and routing share the one event loop, and on this machine one to four of the 12
    # callers give up.
    assert not [c for c in codes if c >= 500], codes
    assert status["ok"] and (lost, doubled) == (0, 0)
    assert len(tickets) == len(ids)


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=20)


async def test_a_full_recordings_disk_alarms_calls_go_on_unrecorded_and_recording_resumes(
        hotline, asterisk, phones, driver):
    """A 4 MB tmpfs over the recordings folder. Asterisk runs in a mount namespace of its own,
    made when it starts: it is restarted to see the mount, and the mount is taken out of its
    namespace again at the end (nsenter)."""
    s, engine = hotline.settings, hotline.engine
    rec = s.host_path(s.recordings_dir)
    uid, gid = install.asterisk_ids(s.root)
    _sh("mount", "-t", "tmpfs", "-o", f"size=4m,uid={uid},gid={gid},mode=0770", "tmpfs", str(rec))
    try:
        await asyncio.to_thread(process.down, s)
        await asyncio.to_thread(process.up, s)
        await driver.wait_connected(10)
        await until(lambda: engine.ami.connected, 15, "the engine back on AMI")
        filler = rec / "filler"
        with contextlib.suppress(OSError):   # ENOSPC: the disk is full
            with open(filler, "wb") as f:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
        full = await engine.status()
        unrecorded = [await call(driver, s, n, caller=f"1399300{i:04d}", talk=4, wait=0.3)
                      for i, n in enumerate(["12315", "12369", "12329"])]
        tickets, lost, doubled = await tickets_of(engine.store, unrecorded)
        atts = [await engine.store.attachments(t["id"]) for t in tickets]
        filler.unlink()
        freed = time.monotonic()
        await until(lambda: _no_alarm(engine), 10, "the alarm cleared")
        cleared_s = time.monotonic() - freed
        recorded = await call(driver, s, "12315", caller="13993009999", talk=4, wait=0.3)
        again = await ticket_for(engine.store, recorded)
        att_again = await engine.store.attachments(again["id"])
    finally:
        pid = str((rec.parent / "run" / "asterisk.pid").read_text().strip()) if (rec.parent / "run" / "asterisk.pid").exists() else ""
        if pid:
            with contextlib.suppress(subprocess.CalledProcessError):
                _sh("nsenter", "-t", pid, "-m", "umount", "-l", str(rec))
        _sh("umount", "-l", str(rec))
    rec_status = lambda a: [x["status"] for x in a if x["kind"] == "recording"]  # noqa: E731
    figures("recordings-disk-full", calls=len(unrecorded) + 1, lost=lost, doubled=doubled,
            alarm=full["alarms"], unrecorded=[rec_status(a) for a in atts], alarm_cleared_s=round(cleared_s, 1),
            recorded_after=rec_status(att_again))
    assert full["alarms"] == ["recordings disk full"] and full["ok"]
    assert (lost, doubled) == (0, 0)
    assert all(t["disposition"] == "answered" for t in tickets), [t["disposition"] for t in tickets]
    assert all(rec_status(a) == ["error"] for a in atts), atts   # nothing claims a sound it has not
    assert again["disposition"] == "answered" and rec_status(att_again) == ["ok"]


async def _no_alarm(engine) -> bool:
    return not (await engine.status())["alarms"]
