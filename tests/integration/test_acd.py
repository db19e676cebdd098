"""Skill-based routing on real Asterisk: SIP phones (baresip) and Local lines, the engine
choosing each agent and ringing it (acd/service.py), feature codes dialled from a phone."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

import aiohttp
import pytest

from acd import config as acd_config
from asterisk_conf import secrets

from .conftest import TEST_ACD, call, ticket_for, until


@contextlib.asynccontextmanager
async def only_ready(acd, *keep: str, pause: tuple[str, ...] = ()):
    """Pause the given agents for the test (reason 'test'), and unpause them after."""
    paused = []
    for agent_id in pause:
        if acd.board.agent(agent_id).state == "ready":
            await acd.agent_action(agent_id, "pause", "test", by="test")
            paused.append(agent_id)
    for agent_id in keep:
        if acd.board.agent(agent_id).state == "logged_out":
            await acd.agent_action(agent_id, "login", by="test")
    try:
        yield
    finally:
        for agent_id in keep:
            with contextlib.suppress(Exception):
                await until(lambda a=agent_id: acd.board.agent(a).call is None, 30, f"{agent_id} free")
        for agent_id in paused:
            with contextlib.suppress(Exception):
                await acd.agent_action(agent_id, "unpause", by="test")


@pytest.fixture()
def seen(hotline):
    """Every event the engine logs during the test (the live feed the wallboard uses)."""
    got = []
    unsubscribe = hotline.engine.events.subscribe(got.append)
    yield got
    unsubscribe()


async def test_cantonese_tax_call_goes_to_the_cantonese_agent_while_a_mandarin_agent_is_idle(hotline, driver, seen):
    acd = hotline.engine.acd
    a1002, a1007 = acd.board.agent("1002"), acd.board.agent("1007")
    assert a1002.state == "ready" and a1007.state == "ready"
    # 1002 (tax:cmn:4, no Cantonese) is the longest idle or not: it must not matter
    t = await ticket_for(hotline.store, await call(driver, hotline.settings, "12345", dtmf="2w2", talk=4))
    assert (t["language"], t["department"], t["agent"], t["disposition"]) == ("yue", "tax", "agent1007", "answered")
    offer = next(e for e in seen if e.kind == "agent_offer" and e.linkedid == t["linkedid"])
    assert offer.agent == "1007" and "tax:yue level>=3" in offer.data["rule"]
    assert "1002" not in offer.data["candidates"]


async def test_relaxation_reaches_the_mandarin_agent_at_once_when_no_cantonese_agent_can_free_up(hotline, driver,
                                                                                              seen):
    acd = hotline.engine.acd
    async with only_ready(acd, pause=("1007",)):
        lid = await call(driver, hotline.settings, "12345", dtmf="2w2", talk=9)
        t = await ticket_for(hotline.store, lid)
    assert (t["language"], t["department"], t["agent"]) == ("yue", "tax", "agent1002")
    # the test policy's Mandarin step is due at 4 s, but the only Cantonese speaker is
    # paused: the wait cannot pay off, so the step applies at once (Board.hasten)
    assert t["wait_seconds"] < 4
    offer = next(e for e in seen if e.kind == "agent_offer" and e.linkedid == lid)
    assert "overflow to language cmn" in offer.data["rule"] and "applied early" in offer.data["rule"]


async def test_rona_reoffers_to_the_next_agent_and_pauses_the_first_after_n_misses(hotline, driver, seen):
    acd, s = hotline.engine.acd, hotline.settings
    async with only_ready(acd, "2001", "2002", pause=("1004",)):
        first = await call(driver, s, "12369", talk=8)
        t = await ticket_for(hotline.store, first)
        # 2001 (level 5) rang for ring_seconds and did not answer; 2002 took the call
        assert t["agent"] == "2002" and t["disposition"] == "answered"
        assert TEST_ACD.ring_seconds <= t["wait_seconds"] < TEST_ACD.ring_seconds + 4
        assert acd.board.agent("2001").misses == 1 and acd.board.agent("2001").state == "ready"
        second = await call(driver, s, "12369", talk=8)
        await ticket_for(hotline.store, second)
        agent = acd.board.agent("2001")
        assert (agent.state, agent.paused_reason) == ("paused", "no answer")   # rona_max_misses = 2
    misses = [e for e in seen if e.kind == "agent_noanswer"]
    assert [(e.linkedid, e.agent) for e in misses] == [(first, "2001"), (second, "2001")]
    await acd.agent_action("2001", "logout", by="test")


async def test_wrapup_holds_the_agent_back(hotline, driver, seen):
    acd, s = hotline.engine.acd, hotline.settings
    # no overflow to another department in this test: the second call can only wait for 1005
    await acd.configure(dataclasses.replace(TEST_ACD, wrapup_seconds=5.0, default_steps=TEST_ACD.default_steps[:2]))
    try:
        one = await call(driver, s, "12329", talk=2, wait=0.5)
        await asyncio.sleep(1.0)
        two = await call(driver, s, "12329", talk=8, wait=0.5)
        t1, t2 = await ticket_for(hotline.store, one), await ticket_for(hotline.store, two)
    finally:
        await acd.configure(TEST_ACD)
    assert t1["agent"] == t2["agent"] == "agent1005"     # housing's only agent
    states = [(e.ts, e.data["state"]) for e in seen if e.kind == "agent_state" and e.agent == "1005"]
    wrap = next(ts for ts, st in states if st == "wrapup")
    ready = next(ts for ts, st in states if st == "ready" and ts > wrap)
    offer = next(e.ts for e in seen if e.kind == "agent_offer" and e.linkedid == two)
    assert 4.9 <= ready - wrap <= 6.0          # held back for the wrap-up time
    assert ready <= offer <= ready + 1.5       # then given the waiting call at once
    assert t2["wait_seconds"] >= 3


async def test_feature_codes_from_a_sip_phone_log_in_pause_and_log_out(hotline, feature_phone):
    acd = hotline.engine.acd
    assert secrets.agent_password(hotline.settings.state_dir, "2004")
    await feature_phone("*11")
    await until(lambda: acd.board.agent("2004").state == "ready", 15, "login by *11")
    await feature_phone("*132")
    await until(lambda: acd.board.agent("2004").state == "paused", 15, "pause by *132")
    assert acd.board.agent("2004").paused_reason == "meal"
    await feature_phone("*14")
    await until(lambda: acd.board.agent("2004").state == "ready", 15, "unpause by *14")
    await feature_phone("*12")
    await until(lambda: acd.board.agent("2004").state == "logged_out", 15, "logout by *12")


async def test_callback_keeps_its_place_and_is_dialled_once(hotline, driver, seen):
    acd, s = hotline.engine.acd, hotline.settings
    await acd.configure(dataclasses.replace(TEST_ACD, default_steps=TEST_ACD.default_steps[:2]))  # no overflow
    await acd.agent_action("1005", "pause", "test", by="test")
    try:
        a = await call(driver, s, "12329", caller="13500000001", wait=1, talk=8)
        await asyncio.sleep(0.5)
        b = await call(driver, s, "12329", caller="13500000002", dtmf="1", wait=3, talk=1)
        await until(lambda: any(e.kind == "callback_requested" and e.linkedid == b for e in seen), 15,
                    "callback booked")
        await asyncio.sleep(0.5)
        c = await call(driver, s, "12329", caller="13500000003", wait=1, talk=16)
        tb = await ticket_for(hotline.store, b)       # the booking call ended: not an abandon
        assert tb["disposition"] == "callback" and tb["callback_requested"]
        assert [x.linkedid for x in acd.board.waiting()] == [a, b, c]   # b kept its place
    finally:
        await acd.agent_action("1005", "unpause", by="test")
    await until(lambda: any(e.kind == "agent_offer" and e.linkedid == c for e in seen), 60, "c offered")
    offers = [(e.linkedid, e.data["callback"]) for e in seen if e.kind == "agent_offer" and e.agent == "1005"]
    assert offers == [(a, False), (b, True), (c, False)]
    done = [e for e in seen if e.kind == "callback_done" and e.linkedid == b]
    assert len(done) == 1 and done[0].data["attempt"] == 1
    # exactly one call went out to the citizen: one callback call record
    leg = await ticket_for(hotline.store, f"{b}-cb1")
    assert (leg["dialed"], leg["agent"], leg["disposition"]) == ("callback", "agent1005", "answered")
    assert not await hotline.store.tickets(linkedid=f"{b}-cb2", limit=1)
    await ticket_for(hotline.store, c, timeout=60)
    await acd.configure(TEST_ACD)


async def test_supervisor_listens_to_a_live_call(hotline, driver):
    acd, s = hotline.engine.acd, hotline.settings
    await acd.agent_action("2003", "login", by="test")
    await acd.agent_action("2003", "pause", "supervising", by="test")   # a line, never routed to
    sup = await hotline.store.create_token("supervisor", "lead")
    agent_tok = await hotline.store.create_token("agent", "agent1004")
    lid = await call(driver, s, "12369", talk=12)
    await until(lambda: acd.board.agent("1004").state == "on_call", 15, "agent1004 talking")
    async with aiohttp.ClientSession() as http:
        url = f"{s.http_url}/api/v1/calls/{lid}/spy"
        async with http.post(url, json={"mode": "listen", "line": "2003"},
                             headers={"Authorization": f"Bearer {agent_tok}"}) as r:
            assert r.status == 403
        async with http.post(url, json={"mode": "peek", "line": "2003"},
                             headers={"Authorization": f"Bearer {sup}"}) as r:
            assert r.status == 400 and (await r.json())["error"] == "bad-request"
        async with http.post(url, json={"mode": "whisper", "line": "2003"},
                             headers={"Authorization": f"Bearer {sup}"}) as r:
            body = await r.json()
            assert r.status == 200, body
            assert body["agent"] == "1004" and body["channel"].startswith("PJSIP/agent1004-")

        async def spying():
            chans = await driver.action_list("CoreShowChannels")
            return [c for c in chans if c.get("Application") == "ChanSpy"
                    and "Local/2003@" in c.get("Channel", "")]
        got = await until(spying, 10, "a ChanSpy channel on the supervisor's line")
        assert body["channel"] in got[0].get("ApplicationData", "")
        async with http.post(f"{s.http_url}/api/v1/calls/nosuchcall/spy", json={"mode": "listen", "line": "2003"},
                             headers={"Authorization": f"Bearer {sup}"}) as r:
            assert r.status == 409 and (await r.json())["error"] == "state-conflict"
    await ticket_for(hotline.store, lid)
    await acd.agent_action("2003", "logout", by="test")


async def test_agents_api_lists_live_state_and_changes_it_by_role(hotline):
    s = hotline.settings
    sup = await hotline.store.create_token("supervisor", "lead")
    own = await hotline.store.create_token("agent", "agent1006")
    other = await hotline.store.create_token("agent", "agent1001")
    dept = await hotline.store.create_token("department", "tax")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{s.http_url}/api/v1/agents") as r:
            assert r.status == 401
        async with http.get(f"{s.http_url}/api/v1/agents", headers={"Authorization": f"Bearer {dept}"}) as r:
            assert r.status == 403
        async with http.get(f"{s.http_url}/api/v1/agents", headers={"Authorization": f"Bearer {sup}"}) as r:
            items = {a["id"]: a for a in (await r.json())["items"]}
        assert {"department": "tax", "language": "yue", "level": 4} in items["1007"]["skills"]
        assert items["1006"]["state"] == "ready" and items["1006"]["line"] == "sip"
        url = f"{s.http_url}/api/v1/agents/1006/pause"
        async with http.post(url, json={"reason": "meal"}, headers={"Authorization": f"Bearer {other}"}) as r:
            assert r.status == 403
        async with http.post(url, json={"reason": "meal"}, headers={"Authorization": f"Bearer {own}"}) as r:
            body = await r.json()
            assert r.status == 200 and (body["state"], body["reason"]) == ("paused", "meal")
        async with http.post(url, json={"reason": ["x"]}, headers={"Authorization": f"Bearer {sup}"}) as r:
            assert r.status == 400
        async with http.post(f"{s.http_url}/api/v1/agents/1006/login",
                             headers={"Authorization": f"Bearer {sup}"}) as r:
            assert r.status == 409 and (await r.json())["error"] == "state-conflict"
    # the pause survives an engine restart (persisted), then is lifted
    await until(lambda: not hotline.engine.acd._dirty, 5, "state persisted")
    await hotline.stop()
    await hotline.start()
    agent = hotline.engine.acd.board.agent("1006")
    assert (agent.state, agent.paused_reason) == ("paused", "meal")
    await hotline.engine.acd.agent_action("1006", "unpause", by="test")


async def test_a_call_waiting_while_the_engine_restarts_is_found_again_and_delivered(hotline, driver):
    s = hotline.settings
    await hotline.engine.acd.agent_action("1006", "pause", "test", by="test")
    await until(lambda: not hotline.engine.acd._dirty, 5, "state persisted")
    # the caller hangs up `talk` s after the menu, answered or not: long enough to outlast the
    # restart (stop, 3 s, start, resync) with margin on a loaded machine
    lid = await call(driver, s, "12358", talk=45)
    await until(lambda: lid in hotline.engine.acd.board.calls, 10, "call waiting")
    await hotline.stop()
    await asyncio.sleep(3)        # shorter than the heartbeat timeout: no fallback
    await hotline.start()
    await until(lambda: lid in hotline.engine.acd.board.calls, 30, "call found again after the restart")
    await hotline.engine.acd.agent_action("1006", "unpause", by="test")
    t = await ticket_for(hotline.store, lid, timeout=60)
    assert (t["agent"], t["disposition"]) == ("agent1006", "answered")


async def test_registered_elderly_caller_is_offered_before_an_earlier_normal_caller(hotline, driver, seen):
    acd, s = hotline.engine.acd, hotline.settings
    sup = {"Authorization": f"Bearer {await hotline.store.create_token('supervisor', 'sup-prio')}"}
    async with aiohttp.ClientSession(s.http_url) as http:
        r = await http.put("/api/v1/priority_callers/13900000001", headers=sup,
                           json={"reason": "elderly", "note": "独居老人"})
        assert r.status == 200
        await acd.configure(dataclasses.replace(TEST_ACD, default_steps=TEST_ACD.default_steps[:2]))  # no overflow
        try:
            async with only_ready(acd, pause=("1005",)):
                # the simulated caller hangs up `talk` s after the menu, answered or not: long enough
                normal = await call(driver, s, "12329", caller="13800000007", talk=15)
                await until(lambda: any(c.linkedid == normal for c in acd.board.waiting()), 20, "normal waiting")
                elderly = await call(driver, s, "12329", caller="13900000001", talk=2)
                await until(lambda: any(c.linkedid == elderly for c in acd.board.waiting()), 20, "elderly waiting")
                line = (await (await http.get("/api/v1/queue", headers=sup)).json())["items"]
                assert [(c["linkedid"], c["priority"]) for c in line] == [(elderly, "elderly/disabled"),
                                                                          (normal, "normal")]
            await ticket_for(hotline.store, normal)
            await ticket_for(hotline.store, elderly)
        finally:
            await acd.configure(TEST_ACD)
            await http.delete("/api/v1/priority_callers/13900000001", headers=sup)
    offers = [e.linkedid for e in seen if e.kind == "agent_offer" and e.linkedid in (normal, elderly)]
    assert offers[:2] == [elderly, normal]


async def test_agents_paused_and_unpaused_through_the_api_in_a_tight_loop_while_calls_are_routed(hotline, driver):
    """Issue 12's defect: API changes used to reach the routing board in the middle of a
    routing pass, and a refused offer ended the ACD task and the engine with it."""
    s = hotline.settings
    acd = hotline.engine.acd
    sup = await hotline.store.create_token("supervisor", "loop")
    toggled = ("1002", "1007", "1003")      # tax (cmn, yue) and social security
    numbers = ["12366", "12333"]
    statuses: list[int] = []
    last: dict[str, str] = {}
    lids = [await call(driver, s, numbers[i % 2], caller=f"1390000{i:04d}", talk=4.5) for i in range(10)]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {sup}"}) as http:
        deadline = time.monotonic() + 10
        i = 0
        while time.monotonic() < deadline:
            agent = toggled[i % len(toggled)]
            op = "pause" if (i // len(toggled)) % 2 == 0 else "unpause"
            async with http.post(f"{s.http_url}/api/v1/agents/{agent}/{op}",
                                 json={"reason": "loop"} if op == "pause" else None) as r:
                statuses.append(r.status)
                if r.status == 200:
                    last[agent] = (await r.json())["state"]
            i += 1
        # end ready, so that every call is answered
        for agent in toggled:
            async with http.post(f"{s.http_url}/api/v1/agents/{agent}/unpause") as r:
                statuses.append(r.status)
                if r.status == 200:
                    last[agent] = (await r.json())["state"]
    assert not [st for st in statuses if st >= 500], statuses
    assert len(statuses) > 50 and statuses.count(200) > 10      # a tight loop, mostly applied
    tickets = [await ticket_for(hotline.store, lid, timeout=90) for lid in lids]
    for lid, t in zip(lids, tickets):
        assert len(await hotline.store.tickets(linkedid=lid, limit=5)) == 1
        # a caller stays 6 s: answered, or left while every agent was paused
        assert t["disposition"] in ("answered", "abandoned_in_queue"), (lid, t["disposition"])
    assert any(t["disposition"] == "answered" for t in tickets)
    assert not hotline.task.done()          # the engine (and its ACD task) is up
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{s.http_url}/status") as r:
            assert r.status == 200 and (await r.json())["acd"]["decisions"] > 0
    for agent in toggled:
        await until(lambda a=agent: acd.board.agent(a).call is None, 30, f"{agent} free")
        state = acd.board.agent(agent).state
        assert state in ("ready", "wrapup") and last.get(agent, "ready") == "ready", (agent, state, last)
