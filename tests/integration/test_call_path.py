"""The foundation's call path on real Asterisk 22, real SIP phones, SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from .audio import rms
from .conftest import call, ticket_for

FIELDS = {"id", "linkedid", "caller", "dialed", "language", "department", "ivr_path", "wait_seconds",
          "agent", "talk_seconds", "recording", "disposition", "status", "created_at"}


async def recording_path(store, ticket) -> Path:
    """Recordings leave Asterisk's folder for the recordings store once closed and hashed."""
    [rec] = [a for a in await store.attachments(ticket["id"]) if a["kind"] == "recording"]
    assert rec["status"] == "ok" and len(rec["sha256"]) == 64 and rec["path"].endswith(ticket["recording"])
    return Path(rec["path"])


async def settled(path: Path, timeout: float = 10) -> Path:
    """MixMonitor closes the file just after hangup: wait until it exists and stops growing."""
    deadline, last = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        size = path.stat().st_size if path.exists() else -1
        if size > 44 and size == last:
            return path
        last = size
        await asyncio.sleep(0.3)
    raise AssertionError(f"recording {path} never settled")


async def test_menu_language_department_agent_ticket(hotline, driver):
    s = hotline.settings
    # Mandarin, tax; and Cantonese, social security - at the same time
    tax = await call(driver, s, "12345", caller="13800138000", dtmf="1w2", talk=4)
    hrss = await call(driver, s, "12345", caller="13900139000", dtmf="2w3", talk=4)
    t = await ticket_for(hotline.store, tax)
    assert FIELDS <= set(t)
    assert t["linkedid"] == tax
    assert (t["caller"], t["dialed"], t["language"], t["department"]) == ("13800138000", "12345", "cmn", "tax")
    assert [(p["node"], p["input"]) for p in t["ivr_path"]] == [("lang", "1"), ("main", "2")]
    assert 0 < t["ivr_path"][0]["t"] < t["ivr_path"][1]["t"] < 15
    assert t["agent"] == "agent1002"            # the tax department's SIP phone
    assert t["disposition"] == "answered" and t["status"] == "new"
    assert 0 <= t["wait_seconds"] < 10
    assert 3.0 <= t["talk_seconds"] <= 6.0
    duration, level = rms(await settled(await recording_path(hotline.store, t)))
    assert duration >= t["talk_seconds"] and level > 0.01, (duration, level)

    c = await ticket_for(hotline.store, hrss)
    assert (c["language"], c["department"], c["agent"]) == ("yue", "hrss", "agent1003")
    assert c["disposition"] == "answered"


async def test_english_caller_reaches_market_regulation(hotline, driver):
    # nobody in market speaks English: waiting for the test policy's Mandarin step (4 s)
    # cannot pay off, so it applies at once and the Mandarin agent takes the call
    s = hotline.settings
    t = await ticket_for(hotline.store, await call(driver, s, "12345", dtmf="3w1", talk=12))
    assert (t["language"], t["department"], t["agent"]) == ("en", "market", "agent1001")
    assert 0 <= t["wait_seconds"] < 4


async def test_department_number_skips_the_menu(hotline, driver):
    s = hotline.settings
    t = await ticket_for(hotline.store, await call(driver, s, "12366", talk=2, wait=0.5))
    assert (t["dialed"], t["department"], t["agent"], t["disposition"]) == ("12366", "tax", "agent1002", "answered")
    assert t["ivr_path"] == []
    assert t["wait_seconds"] < 5


async def test_hangup_mid_menu_keeps_the_path(hotline, driver):
    s = hotline.settings
    # picks Mandarin, then hangs up while the department prompt plays
    t = await ticket_for(hotline.store, await call(driver, s, "12345", dtmf="1", talk=1))
    assert t["disposition"] == "abandoned_in_ivr"
    assert [(p["node"], p["input"]) for p in t["ivr_path"]] == [("lang", "1")]
    assert t["language"] == "cmn" and t["agent"] is None and t["wait_seconds"] is None


async def test_exactly_one_record_per_call(hotline, driver):
    s = hotline.settings
    ids = [await call(driver, s, "12358", caller=f"1370000000{i}", talk=1, wait=0.2) for i in range(3)]
    tickets = [await ticket_for(hotline.store, i) for i in ids]
    assert len({t["id"] for t in tickets}) == 3
    for linkedid in ids:
        assert len(await hotline.store.tickets(linkedid=linkedid)) == 1
    # a second sweep finds nothing left to ingest
    assert await hotline.engine.intake.sweep() == 0
