"""一次一评 on real Asterisk, both databases: the agent sends an answered call to the rating
prompt from the desk's API and the citizen's key lands on the call record; with the setting
"all", a call the agent hangs up goes to the prompt by itself."""
from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from .conftest import TEST_ACD, browser_login, call, http_login, person, ticket_for, until

ARTIFACTS = Path(os.environ.get("HOTLINE_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "artifacts"))

AGENT = "1003"   # hrss (12333), a demo agent on its own baresip phone
KEY_LATER = "w" * 24     # the simulated citizen presses its key about 12 s into the call


async def on_call(acd, lid):
    await until(lambda: acd.board.agent(AGENT).state == "on_call" and acd.board.agent(AGENT).call == lid, 20,
                f"{AGENT} talking on {lid}")


async def agent_card(http, base: str, month: str) -> dict:
    async with http.get(f"{base}/api/v1/scorecard?month={month}") as r:
        body = await r.json()
        assert r.status == 200, body
    return next((a for a in body["agents"] if a["agent"] == f"agent{AGENT}"), {"rated": 0, "calls": 0})


async def test_the_agent_sends_the_call_to_the_rating_and_the_key_is_on_the_record(hotline, driver, browser,
                                                                                    request):
    s, acd, store = hotline.settings, hotline.engine.acd, hotline.store
    agent = await person(hotline, "agent", agent=AGENT)
    if acd.board.agent(AGENT).state != "ready":
        await acd.agent_action(AGENT, "ready", by="test")
    sup = await person(hotline, "supervisor")
    month = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")   # the calls' month
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http_login(http, s.http_url, sup)
        before = await agent_card(http, s.http_url, month)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, s.http_url, agent)
        lid = await call(driver, s, "12333", caller="13577770031", dtmf=KEY_LATER + "1", wait=0.3, talk=10)
        await on_call(acd, lid)
        async with http.post(f"{s.http_url}/api/v1/calls/{lid}/rating", headers={"X-CSRF-Token": csrf}) as r:
            body = await r.json()
            assert r.status == 200, body
    assert body == {"linkedid": lid, "agent": AGENT, "rating": "asked"}
    await until(lambda: acd.board.agent(AGENT).call is None, 10, "the agent's part over")
    t = await ticket_for(store, lid)
    rec = await store.call_record(lid)
    assert (t["agent"], rec["rating"]) == (f"agent{AGENT}", 1)
    assert " rating key=1" in rec["journal"]
    # ... and in the agent's figures on the scorecard
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http_login(http, s.http_url, sup)
        after = await agent_card(http, s.http_url, month)
    assert (after["calls"], after["rated"]) == (before["calls"] + 1, before["rated"] + 1)
    assert after["rating"] is not None and after["rating_satisfied_rate"] is not None
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    await browser_login(page, s.http_url, sup, "/scorecard")
    await page.wait_for_function("Number(document.body.dataset.loaded) >= 1", timeout=10_000)
    await page.fill("#month", month)
    await page.dispatch_event("#month", "change")
    await page.wait_for_function("Number(document.body.dataset.loaded) >= 2", timeout=10_000)
    row = await page.inner_text(f"#agents tr[data-agent='agent{AGENT}']")
    assert str(after["rated"]) in row
    assert await page.locator("#ddefs dt").count() >= 5           # the definitions beside the figures
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"scorecard-{request.node.callspec.id}.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    await page.close()


async def test_with_the_setting_every_call_the_agent_ends_is_rated(hotline, driver):
    s, acd, store = hotline.settings, hotline.engine.acd, hotline.store
    await acd.configure(dataclasses.replace(TEST_ACD, rate_calls="all"))
    try:
        async def pushed():     # the engine tells the dialplan (its heartbeat pushes the globals)
            return (await driver.action("Getvar", Variable="HL_RATE_ALL")).get("Value") == "1"
        await until(pushed, 10, "HL_RATE_ALL pushed")
        if acd.board.agent(AGENT).state != "ready":
            await acd.agent_action(AGENT, "ready", by="test")
        lid = await call(driver, s, "12333", caller="13577770032", dtmf=KEY_LATER + "3", wait=0.3, talk=10)
        await on_call(acd, lid)
        channel = await until(lambda: acd.delivering.get(lid) and acd.delivering[lid].agent_channel, 10,
                              "the agent's channel")
        await driver.action("Hangup", Channel=channel)      # the agent ends the call
        t = await ticket_for(store, lid)
        rec = await store.call_record(lid)
    finally:
        await acd.configure(TEST_ACD)
    assert (t["agent"], t["disposition"], rec["rating"]) == (f"agent{AGENT}", "answered", 3)
