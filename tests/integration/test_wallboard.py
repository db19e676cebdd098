"""The wall screen in headless Chromium, updating while real calls run through Asterisk."""
from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import async_playwright

from .conftest import call, ticket_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("HOTLINE_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "artifacts"))


@pytest.fixture()
async def browser():
    assert Path(CHROMIUM).exists(), "chromium is not installed (scripts/bootstrap.sh installs it)"
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        await b.close()


async def test_wallboard_updates_live_while_calls_wait_and_are_answered(hotline, driver, browser, request):
    s, acd = hotline.settings, hotline.engine.acd
    sup = await hotline.store.create_token("supervisor", "wall")
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    await page.goto(f"{s.http_url}/wallboard#token={sup}")
    await page.wait_for_function("Number(document.body.dataset.updates || 0) >= 1", timeout=10_000)
    before = int(await page.text_content("#offered"))
    acd.agent_action("1006", "pause", "meal", by="test")
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
        acd.agent_action("1006", "unpause", by="test")
    await page.wait_for_function("document.getElementById('waiting').textContent === '0'", timeout=20_000)
    for lid in ids:
        await ticket_for(hotline.store, lid)
    # the answered calls reach today's figures (offered counts calls that left the queue)
    await page.wait_for_function(f"Number(document.getElementById('offered').textContent) >= {before + 2}",
                                 timeout=20_000)
    await page.close()


async def test_wallboard_refuses_a_wrong_role_and_asks_again(hotline, browser):
    s = hotline.settings
    dept = await hotline.store.create_token("department", "tax")
    page = await browser.new_page()
    await page.goto(f"{s.http_url}/wallboard#token={dept}")
    await page.wait_for_selector("#login:not([hidden])", timeout=10_000)
    assert "403" in await page.text_content("#err")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{s.http_url}/api/v1/wallboard/stream") as r:
            assert r.status == 401
    await page.close()
