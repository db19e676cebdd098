"""Carrier trunks on real Asterisk: SIPp is the carrier (no Local channel on the inbound leg)
and the citizen answering the centre's outbound calls."""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import wave
from pathlib import Path

import pytest

from trunks import carrier as sipp
from trunks.errors import OutboundRefused

from .audio import rms
from .conftest import call, slot_ports, ticket_for

SIP = slot_ports(int(os.environ.get("HOTLINE_TEST_SLOT", "0")))["sip_port"]   # the slot's Asterisk
UAS_A, UAS_B = SIP + 30, SIP + 31            # the two outbound carriers' far ends
UAC_SIP, UAC_RTP = SIP + 150, SIP + 160      # the inbound carrier's ports
UAS_A_RTP, UAS_B_RTP = SIP + 240, SIP + 260

OUT_TRUNKS = f"""
[[trunks]]
name = "carrier"
direction = "in"
hosts = ["127.0.0.1"]
port = 5090
accepts_from = ["127.0.0.1"]
channels = 60
calls_per_second = {{cps}}

[[trunks]]
name = "first"
direction = "out"
hosts = ["127.0.0.1"]
port = {UAS_A}

[[trunks]]
name = "second"
direction = "out"
hosts = ["127.0.0.1"]
port = {UAS_B}

"""


@contextlib.asynccontextmanager
async def trunks_of(hotline, text: str):
    """The centre file's [[trunks]] replaced by `text`, applied to the running Asterisk (PJSIP
    reload + globals, no restart) for the block; the original applied again after it."""
    path = Path(hotline.settings.config)
    original = path.read_text()
    start, end = original.index("[[trunks]]"), original.index("# What the centre may dial out")
    path.write_text(original[:start] + text + original[end:])
    try:
        out = await hotline.engine.trunks.apply()
        assert not out["errors"], out
        yield out
    finally:
        path.write_text(original)
        await hotline.engine.trunks.apply()


async def record_of(store, linkedid):
    return await store.call_record(linkedid)


async def trunk_tickets(store, since: float, n: int, timeout: float = 60, raw=None) -> list[dict]:
    """The tickets of trunk calls started since `since` (epoch; of these raw callers), once
    there are `n` of them."""
    deadline = time.monotonic() + timeout
    found: list[dict] = []
    while time.monotonic() < deadline:
        found = [t for t in await store.tickets(limit=100)
                 if t["trunk"] and _epoch(t["started_at"]) >= since
                 and (raw is None or (await store.call_record(t["linkedid"]))["raw_caller"] in raw)]
        if len(found) >= n:
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"{len(found)} of {n} trunk tickets within {timeout}s")


def _epoch(iso):
    from datetime import datetime
    return datetime.fromisoformat(iso).timestamp()


def trunk_in_lines(s) -> int:
    log = s.host_path(s.inst_in_root) / "log" / "verbose.log"
    return log.read_text(errors="replace").count("@hl-trunk-in:1]")


async def test_a_citizen_over_the_trunk_reaches_the_tax_agent_with_rfc4733_keys(hotline):
    s, store = hotline.settings, hotline.store
    since = time.time() - 1
    result = await sipp.place(s.bind, s.sip_port, [sipp.CarrierCall(to="12345", caller="+8613800138011", keys="12",
                                                                    wait=2.5, gap=1.2, talk=6)],
                              local_port=UAC_SIP, media_port=UAC_RTP, timeout=60)
    assert result.answered == 1, (result.responses, result.stderr)
    [t] = await trunk_tickets(store, since, 1)
    assert (t["trunk"], t["caller"], t["dialed"]) == ("carrier", "13800138011", "12345")
    assert (t["language"], t["department"], t["agent"], t["disposition"]) == ("cmn", "tax", "agent1002", "answered")
    assert [p["input"] for p in t["ivr_path"]][:2] == ["1", "2"]     # the keys came as RFC 4733 events
    rec = await store.call_record(t["linkedid"])
    assert (rec["raw_caller"], rec["raw_dialed"], rec["sip_response"]) == ("+8613800138011", "12345", "200")
    assert re.fullmatch(r"\d+-\d+@127\.0\.0\.1", rec["sip_call_id"])   # SIPp's Call-ID
    # the recording: the agent's talk segment (after the connect) holds audio, not only the
    # prompts and music before it
    [att] = [a for a in await store.attachments(t["id"]) if a["kind"] == "recording"]
    seg = Path(att["path"]).with_suffix(".talk.wav")
    started, answered = _epoch(t["started_at"]), _epoch(t["answered_at"])
    with wave.open(att["path"]) as w:
        rate = w.getframerate()
        w.setpos(min(w.getnframes(), int((answered - started + 0.5) * rate)))
        frames = w.readframes(w.getnframes())
        with wave.open(str(seg), "wb") as out:
            out.setparams(w.getparams())
            out.writeframes(frames)
    seconds, level = rms(seg)
    seg.unlink()
    assert seconds > 4 and level > 0.01, (seconds, level)


async def test_prefixed_and_withheld_callers_are_normalised_and_the_raw_value_kept(hotline):
    s, store = hotline.settings, hotline.store
    since = time.time() - 1
    calls = [sipp.CarrierCall(to="02112345", caller="013900139001", talk=1, speech=False),
             sipp.CarrierCall(to="+862112345", caller="008613900139002", talk=1, speech=False),
             sipp.CarrierCall(to="12345", caller="", talk=1, speech=False),          # withheld
             sipp.CarrierCall(to="12345", caller="+862162345678", talk=1, speech=False, pai=False)]
    result = await sipp.place(s.bind, s.sip_port, calls, local_port=UAC_SIP, media_port=UAC_RTP, rate=2, timeout=40)
    assert result.answered == 4, (result.responses, result.stderr)
    tickets = await trunk_tickets(store, since, 4, raw={"013900139001", "008613900139002", "anonymous", "+862162345678"})
    got = {}
    for t in tickets:
        rec = await store.call_record(t["linkedid"])
        got[rec["raw_caller"]] = (t["caller"], rec["raw_dialed"], t["dialed"])
    assert got == {"013900139001": ("13900139001", "02112345", "12345"),
                   "008613900139002": ("13900139002", "+862112345", "12345"),
                   "anonymous": ("anonymous", "12345", "12345"),
                   "+862162345678": ("02162345678", "12345", "12345")}


async def test_a_call_from_an_address_no_trunk_accepts_is_refused_before_the_dialplan(hotline):
    s, store, engine = hotline.settings, hotline.store, hotline.engine
    before, lines = engine.trunks.status()["unknown_source"], trunk_in_lines(s)
    since = time.time() - 1
    result = await sipp.place(s.bind, s.sip_port, [sipp.CarrierCall(to="12345", caller="+8613900139009", talk=1)],
                              source="127.0.0.2", local_port=UAC_SIP, media_port=UAC_RTP, timeout=20)
    assert result.answered == 0 and result.refused == 1, result.responses
    await asyncio.sleep(1.5)
    assert trunk_in_lines(s) == lines                       # no channel ever ran the trunk dialplan
    assert engine.trunks.status()["unknown_source"] > before
    assert not [t for t in await store.tickets(limit=50) if _epoch(t["created_at"]) >= since
                and t["caller"] in ("13900139009", "+8613900139009")]


async def test_calls_above_the_trunk_rate_get_503_and_every_admitted_call_is_served(hotline):
    s, store, engine = hotline.settings, hotline.store, hotline.engine
    async with trunks_of(hotline, OUT_TRUNKS.format(cps=3)):
        refused_before = engine.trunks.status()["refused"].get("carrier", {}).get("rate", 0)
        since = time.time() - 1
        calls = [sipp.CarrierCall(to="12345", caller=f"+86139001390{i:02d}", talk=1.5, speech=False) for i in range(12)]
        result = await sipp.place(s.bind, s.sip_port, calls, local_port=UAC_SIP, media_port=UAC_RTP, rate=12,
                                  timeout=40)
        admitted = result.answered
        assert result.responses.get(503, 0) >= 12 - 2 * 3 and admitted + result.responses.get(503, 0) == 12, \
            result.responses
        assert 1 <= admitted <= 2 * 3       # at most 3 per second (the burst may straddle a second)
        tickets = await trunk_tickets(store, since, admitted, raw={c.caller for c in calls})
        assert len(tickets) == admitted and all(t["disposition"] for t in tickets)
        await asyncio.sleep(0.5)
        assert engine.trunks.status()["refused"]["carrier"]["rate"] - refused_before == 12 - admitted
        assert (await engine.status())["ok"]


async def answered_ticket(hotline, driver, caller: str) -> dict:
    """A tax call through the Local path (exact caller bytes), answered on the spot."""
    s = hotline.settings
    t = await ticket_for(hotline.store, await call(driver, s, "12366", caller=caller, talk=1, wait=0.3))
    await hotline.store.transition(t["id"], "answer_on_spot", "agent1002", "agent", text="已答复")
    return t


async def test_a_survey_leaves_through_the_out_trunks_failing_over_from_503(hotline, driver):
    engine = hotline.engine
    t = await answered_ticket(hotline, driver, "13700000091")
    async with trunks_of(hotline, OUT_TRUNKS.format(cps=20)):
        async with sipp.Citizen(UAS_A, unavailable=True) as first, \
                sipp.Citizen(UAS_B, key="1", wait=4.5, hold=3, media_port=UAS_B_RTP) as second:
            started = await engine.surveys.start(t["id"])
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and \
                    (await engine.surveys.calls.for_ticket(t["id"]))[0]["state"] == "calling":
                await asyncio.sleep(0.3)
        [row] = await engine.surveys.calls.for_ticket(t["id"])
        assert (row["state"], row["result"], row["call"]) == ("done", "satisfied", started["call"])
        assert [(i.uri_user, i.from_user) for i in first.invites] == [("13700000091", "12345")]
        assert [(i.uri_user, i.from_user, i.pai_user) for i in second.invites] == [("13700000091", "12345", "12345")]
    await engine.events.flush()
    attempts = [e.data for e in await engine.events.read(since=time.time() - 120)
                if e.kind == "outbound_attempt" and e.linkedid == started["call"]]
    assert [(a["trunk"], a["status"], a["sip"]) for a in attempts] == [("first", "CONGESTION", "503"),
                                                                    ("second", "ANSWER", "200")]


@pytest.mark.parametrize("caller, reason", [("0044207946000", "international"), ("16812345678", "premium-rate"),
                                            ("110", "short-code")])
async def test_international_premium_and_short_numbers_are_never_dialled(hotline, driver, caller, reason):
    engine = hotline.engine
    t = await answered_ticket(hotline, driver, caller)
    async with trunks_of(hotline, OUT_TRUNKS.format(cps=20)):
        async with sipp.Citizen(UAS_A, key="1", media_port=UAS_A_RTP) as first:
            with pytest.raises(OutboundRefused) as e:
                await engine.surveys.start(t["id"])
            assert e.value.details["reason"] == reason
            await asyncio.sleep(2)
        assert first.invites == []
    [row] = await engine.surveys.calls.for_ticket(t["id"])
    assert row["state"] == "scheduled"   # given back: nobody was called


async def test_a_callback_booked_on_a_trunk_call_leaves_through_the_out_trunk(hotline):
    import dataclasses
    from .conftest import TEST_ACD
    s, store, acd = hotline.settings, hotline.store, hotline.engine.acd
    await acd.configure(dataclasses.replace(TEST_ACD, default_steps=TEST_ACD.default_steps[:2]))   # housing agents only
    async with trunks_of(hotline, OUT_TRUNKS.format(cps=20)):
        async with sipp.Citizen(UAS_A, unavailable=True), \
                sipp.Citizen(UAS_B, wait=1, hold=2, media_port=UAS_B_RTP) as citizen:
            await acd.agent_action("1005", "pause", "test", by="test")
            try:
                since = time.time() - 1
                # the housing number as the carrier presents it; the caller presses 1 while waiting
                booked = await sipp.place(s.bind, s.sip_port, [sipp.CarrierCall(
                    to="+862112329", caller="+8613500000099", keys="1", wait=4, talk=1, speech=False)],
                    local_port=UAC_SIP, media_port=UAC_RTP, timeout=40)
                assert booked.answered == 1, booked.responses
                [t] = await trunk_tickets(store, since, 1, raw={"+8613500000099"})
                assert (t["disposition"], t["caller"], t["dialed"], t["trunk"]) == (
                    "callback", "13500000099", "12329", "carrier")
            finally:
                await acd.agent_action("1005", "unpause", by="test")
            leg = await ticket_for(store, f"{t['linkedid']}-cb1", timeout=60)
        assert (leg["dialed"], leg["agent"], leg["disposition"], leg["trunk"]) == (
            "callback", "agent1005", "answered", "second")
        rec = await store.call_record(leg["linkedid"])
        assert rec["sip_response"] == "200"
        assert [(i.uri_user, i.from_user) for i in citizen.invites] == [("13500000099", "12345")]
    await acd.configure(TEST_ACD)


async def test_a_trunk_change_applied_during_a_call_drops_no_call(hotline):
    """A PJSIP reload with new trunk data while a carrier call talks to an agent: the call
    goes on to its own end, and the new limit holds for the next call."""
    s, store = hotline.settings, hotline.store
    since = time.time() - 1
    talking = asyncio.create_task(sipp.place(
        s.bind, s.sip_port, [sipp.CarrierCall(to="12366", caller="+8613800138077", wait=1, talk=10, speech=True)],
        local_port=UAC_SIP, media_port=UAC_RTP, timeout=60))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(a.state == "on_call" for a in hotline.engine.acd.board.agents.values()):
        await asyncio.sleep(0.2)
    assert any(a.state == "on_call" for a in hotline.engine.acd.board.agents.values()), "the call never connected"
    async with trunks_of(hotline, OUT_TRUNKS.format(cps=7)):
        assert hotline.engine.trunks.plan.trunks[0].calls_per_second == 7   # the change is live
        result = await talking
    assert result.answered == 1 and result.returncode == 0, (result.responses, result.stderr)
    [t] = await trunk_tickets(store, since, 1, raw={"+8613800138077"})
    assert (t["disposition"], t["agent"], t["trunk"]) == ("answered", "agent1002", "carrier")
    assert t["talk_seconds"] >= 8, t["talk_seconds"]      # talked to the end, not cut at the reload
