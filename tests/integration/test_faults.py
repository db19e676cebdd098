"""Nothing is lost: engine stopped, database cut, hostile caller IDs."""
from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from pathlib import Path

from .conftest import PG_URL, Harness, call, own_database, ticket_for, until
from .proxy import CuttableProxy


async def journal_ended(s, linkedid: str, timeout: float = 40) -> Path:
    path = s.host_path(s.journal_dir) / f"{linkedid}.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and " end " in path.read_text():
            return path
        await asyncio.sleep(0.25)
    raise AssertionError(f"call {linkedid} never ended")


async def test_engine_stopped_call_still_reaches_an_agent_and_is_recorded_later(hotline, driver):
    s = hotline.settings
    await hotline.stop()
    try:
        main = await call(driver, s, "12345", caller="13500135000", dtmf="1w2", talk=2)
        tax = await call(driver, s, "12366", caller="13500135001", talk=2, wait=0.5)
        await journal_ended(s, main)
        await journal_ended(s, tax)
    finally:
        await hotline.start()
    t = await ticket_for(hotline.store, main)
    # no engine, no menu: the centre number's native path goes to the general queue
    assert (t["disposition"], t["fallback"], t["department"]) == ("fallback", True, "general")
    assert t["agent"] == "agent1000" and t["talk_seconds"] >= 1.5
    t = await ticket_for(hotline.store, tax)
    assert (t["disposition"], t["department"], t["agent"]) == ("fallback", "tax", "agent1002")


HOSTILE = ["13800138000&PJSIP/evil", "1;2", "$(reboot)", "1380\n0138000", "a,b|c$(d)`e`'\"", "${SHELL(id)}"]


async def test_hostile_caller_ids_are_stored_verbatim_and_never_executed(hotline, driver):
    s = hotline.settings
    marker = f"/tmp/hl-pwned-{uuid.uuid4().hex[:8]}"
    callers = HOSTILE + [f"$(touch {marker})"]
    ids = [await call(driver, s, "12366", caller=c, talk=2, wait=0.3) for c in callers]
    await asyncio.sleep(1.5)
    channels = await driver.action_list("CoreShowChannels")
    names = [c.get("Channel", "") for c in channels]
    assert not [n for n in names if "evil" in n or n.startswith("PJSIP/") and "agent" not in n], names
    tickets = [await ticket_for(hotline.store, i) for i in ids]
    assert [t["caller"] for t in tickets] == callers
    assert all(t["disposition"] in ("answered", "abandoned_in_queue") for t in tickets)
    assert not Path(marker).exists() and not (s.root / marker.lstrip("/")).exists()
    # the API filter finds the exact value back
    assert [t["id"] for t in await hotline.store.tickets(caller="1;2")] == [tickets[1]["id"]]


async def test_database_cut_loses_and_doubles_nothing(hotline, asterisk, phones, driver):
    """PostgreSQL behind a proxy that is cut while calls run and end. The session's engine
    steps aside for this one (the dialplan knows one FastAGI port). Once per session the cut
    lasts 60 s with 50 calls spread over it (the acceptance case); the other database run
    repeats it short (5 calls, a few seconds)."""
    long = not hotline.settings.database_url.startswith("sqlite")
    n, outage = (50, 60.0) if long else (5, 0.0)
    await hotline.stop()
    host, port = "127.0.0.1", int(PG_URL.rsplit(":", 1)[1].split("/")[0])
    proxy = CuttableProxy(host, port)
    await proxy.start()
    # a database of its own on each run: the two databases' runs may go side by side
    own = await own_database("test_faults_" + ("pg" if long else "lite"))
    url = own.replace(f":{port}/", f":{proxy.port}/")
    h = Harness(dataclasses.replace(asterisk, db_url=url))
    await h.start()
    numbers = ["12315", "12366", "12333", "12369", "12329", "12358"]
    try:
        proxy.cut()
        t0 = time.monotonic()
        ids = []
        for i in range(n):
            ids.append(await call(driver, asterisk, numbers[i % len(numbers)], caller=f"136{i:08d}",
                                  talk=4, wait=0.2))
            await asyncio.sleep(max(0.0, (outage - 8) / n))   # spread over the outage
        for i in ids:
            await journal_ended(asterisk, i, timeout=120)
        await asyncio.sleep(max(0.0, outage - (time.monotonic() - t0)))
        # the intake tried (media first, which takes its time on a busy machine) and failed
        await until(lambda: h.engine.intake.stats["db_errors"] > 0, 60, "the intake to meet the cut database")
        assert (await h.engine.status())["db"] is False
        proxy.restore()
        tickets = [await ticket_for(h.store, i, timeout=60) for i in ids]
        assert len({t["id"] for t in tickets}) == n
        for i in ids:
            assert len(await h.store.tickets(linkedid=i)) == 1
        assert await h.store.count_calls() == n
        answered = sum(t["disposition"] == "answered" for t in tickets)
        assert answered == n, [t["disposition"] for t in tickets]
    finally:
        await h.stop()
        await proxy.stop()
        await hotline.start()
