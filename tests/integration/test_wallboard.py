"""The wall screen in headless Chromium, updating while real calls run through Asterisk."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from .conftest import browser_login, call, person, ticket_for

ARTIFACTS = Path(os.environ.get("HOTLINE_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "artifacts"))


async def test_wallboard_updates_live_while_calls_wait_and_are_answered(hotline, driver, browser, request):
    s, acd = hotline.settings, hotline.engine.acd
    page = await browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    await browser_login(page, s.http_url, await person(hotline, "supervisor"), "/wallboard")
    await page.wait_for_function("Number(document.body.dataset.updates || 0) >= 1", timeout=10_000)
    before = int(await page.text_content("#offered"))
    await acd.agent_action("1006", "pause", "meal", by="test")
    try:
        ids = [await call(driver, s, "12358", caller=f"1590000000{i}", talk=12, wait=0.5) for i in range(2)]
        # both calls wait for prices (Mandarin); the board shows them without a reload
        await page.wait_for_function("document.getElementById('waiting').textContent === '2'", timeout=10_000)
        rows = await page.locator("#queues tr").all_inner_texts()
        assert any(r.split("\t")[:3] == ["prices", "cmn", "2"] for r in rows), rows
        assert "暂停 paused (meal)" in await page.locator("#agents").inner_text()
        await asyncio.sleep(2.5)   # the longest wait ticks up on screen
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"wallboard-{request.node.callspec.id}.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        await acd.agent_action("1006", "unpause", by="test")
    await page.wait_for_function("document.getElementById('waiting').textContent === '0'", timeout=20_000)
    for lid in ids:
        await ticket_for(hotline.store, lid)
    # the answered calls reach today's figures (offered counts calls that left the queue)
    await page.wait_for_function(f"Number(document.getElementById('offered').textContent) >= {before + 2}",
                                 timeout=20_000)
    await page.close()


async def test_wallboard_refuses_a_wrong_role_and_asks_again(hotline, browser):
    s = hotline.settings
    page = await browser.new_page(bypass_csp=True)   # the test waits with page scripts of its own
    await browser_login(page, s.http_url, await person(hotline, "department", department="tax"), "/wallboard")
    await page.wait_for_selector("#login:not([hidden])", timeout=10_000)
    assert "403" in await page.text_content("#err")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{s.http_url}/api/v1/wallboard/stream") as r:
            assert r.status == 401
    await page.close()


async def test_agent_page_pops_the_callers_earlier_tickets_when_a_call_is_offered(hotline, driver, browser):
    s = hotline.settings
    caller = "13312345678"
    earlier = await ticket_for(hotline.store, await call(driver, s, "12369", caller=caller, talk=1, wait=0.3))
    other = await hotline.store.create_token("agent", "agent1001")
    page = await browser.new_page(bypass_csp=True)   # the test waits with page scripts of its own
    await browser_login(page, s.http_url, await person(hotline, "agent", agent="1004"), "/agent")
    await page.wait_for_function("document.body.dataset.connected === '1'", timeout=10_000)
    lid = await call(driver, s, "12369", caller=caller, talk=4, wait=0.3)
    await page.wait_for_selector(f"#history tr[data-ticket='{earlier['id']}']", timeout=15_000)
    assert caller in await page.text_content("#caller")
    assert lid in await page.text_content("#linkedid")
    await ticket_for(hotline.store, lid)
    # another agent may not watch 1004's calls
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{s.http_url}/api/v1/agents/1004/pops", headers={"Authorization": f"Bearer {other}"}) as r:
            assert r.status == 403
    await page.close()


async def test_digest_page_renders_the_period_from_real_tickets(hotline, driver, browser):
    s = hotline.settings
    lid = await call(driver, s, "12315", caller="13400000001", talk=1, wait=0.3)
    ticket = await ticket_for(hotline.store, lid)
    agent = await hotline.store.create_token("agent", "agent1001")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{s.http_url}/api/v1/tickets/{ticket['id']}/actions/dispatch",
                             json={"department": "market", "category": "complaint", "district": "海淀区"},
                             headers={"Authorization": f"Bearer {agent}"}) as r:
            assert r.status == 200, await r.text()
    page = await browser.new_page(bypass_csp=True)   # the test waits with page scripts of its own
    await browser_login(page, s.http_url, await person(hotline, "supervisor"), "/digest")
    await page.wait_for_function("document.body.dataset.loaded === '1'", timeout=10_000)
    row = page.locator("#cat tr[data-name='complaint'] td")
    assert int(await row.nth(2).inner_text()) >= 1
    assert "market" in await page.locator("#dept").inner_text()
    assert "海淀区" in await page.locator("#district").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "digest.png"), full_page=True)
    await page.close()
