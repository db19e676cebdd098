"""The agent desk in headless Chromium, on real calls through real Asterisk to a real SIP phone
(agent 2004's baresip, which also dials the feature codes), on both databases: log in, go
ready, take the call, write the work order, answer from the knowledge base; merge a repeat
call; dispatch from the catalogue and read it as the department; transfer to a department's
line; and the page's security."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import aiohttp

from .conftest import PASSWORD, browser_login, call, http_login, person, ticket_for, until

ARTIFACTS = Path(os.environ.get("HOTLINE_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "artifacts"))
AGENT = "2004"   # prices:cmn:2, its own SIP phone (feature_phone), logged out unless a test logs it in


@contextlib.asynccontextmanager
async def desk(hotline, browser, feature_phone, request):
    """Agent 2004's desk, logged in as a person of that line; the prices agent 1006 paused so
    that prices calls come to 2004; everything put back after."""
    acd, s = hotline.engine.acd, hotline.settings
    if acd.board.agent("1006").state == "ready":
        await acd.agent_action("1006", "pause", "test", by="test")
    username = await person(hotline, "agent", agent=AGENT)
    # bypass_csp: the test's own waits evaluate scripts; the page must be inert without the policy too
    page = await browser.new_page(viewport={"width": 1500, "height": 1100}, bypass_csp=True)
    dialogs = watch_dialogs(page)
    await browser_login(page, s.http_url, username, "/agent")
    await page.wait_for_function("document.body.dataset.connected === '1'", timeout=10_000)
    try:
        yield page, username, dialogs
    finally:
        with contextlib.suppress(Exception):
            await until(lambda: acd.board.agent(AGENT).call is None, 40, "2004 free")
        with contextlib.suppress(Exception):
            await acd.agent_action(AGENT, "logout", by="test")
        with contextlib.suppress(Exception):
            await acd.agent_action("1006", "unpause", by="test")
        await page.close()


def watch_dialogs(page) -> list[str]:
    """Every alert() the page opens (an injected script would): the test asserts there is none."""
    seen: list[str] = []

    async def on_dialog(d):
        seen.append(d.message)
        await d.dismiss()
    page.on("dialog", on_dialog)
    return seen


async def shot(page, name: str, request) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"desk-{name}-{request.node.callspec.id}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 20_000
    return path


async def ready_by_page(page, hotline):
    await page.click("#ready")
    await until(lambda: hotline.engine.acd.board.agent(AGENT).state == "ready", 10, "2004 ready from the desk")
    await page.wait_for_function("document.body.dataset.state === 'ready'", timeout=10_000)


async def connected(page, lid: str):
    await page.wait_for_function(f"document.body.dataset.call === '{lid}'", timeout=20_000)
    await page.wait_for_selector("#call[data-phase=connected]", timeout=20_000)


async def type_in(page, selector: str, value: str):
    await page.fill(selector, value)
    await page.dispatch_event(selector, "input")


async def saved(page, before: int):
    await page.wait_for_function(f"Number(document.body.dataset.saves || 0) > {before}", timeout=10_000)
    return int(await page.evaluate("Number(document.body.dataset.saves || 0)"))


async def test_an_agent_takes_a_call_writes_the_order_answers_from_the_kb_and_merges_a_repeat_call(
        hotline, driver, browser, feature_phone, request):
    s, acd, store = hotline.settings, hotline.engine.acd, hotline.store
    await hotline.engine.kb.add("prices", "装修噪音、收费不合理怎么办？", "可向价格监督部门投诉，我们将在五个工作日内答复。",
                                "噪音 收费")
    caller, address = "13566660001", "海淀区中关村南大街5号"
    async with desk(hotline, browser, feature_phone, request) as (page, username, dialogs):
        # the phone's feature codes and the desk's buttons drive one state, both ways
        await feature_phone("*11")
        await page.wait_for_function("document.body.dataset.state === 'ready'", timeout=15_000)
        await feature_phone("*132")
        await page.wait_for_function("document.body.dataset.state === 'paused'", timeout=15_000)
        assert "meal" in await page.text_content("#state")
        await ready_by_page(page, hotline)

        lid = await call(driver, s, "12358", caller=caller, talk=30, wait=0.3)
        await connected(page, lid)
        assert caller in await page.text_content("#caller")
        assert await page.input_value("#callback_number") == caller          # prefilled from the call
        assert acd.board.agent(AGENT).state == "on_call"                       # the SIP phone answered
        n = 0
        await type_in(page, "#subject", "小区物业乱收费，楼上装修噪音")
        await type_in(page, "#description", "业主反映物业每月多收停车费五十元，且周末装修噪音很大。")
        await type_in(page, "#address", address)
        await type_in(page, "#district", "海淀区")
        n = await saved(page, n)
        # a reload in the middle of the call loses nothing
        await page.reload()
        await page.wait_for_function("document.body.dataset.connected === '1'", timeout=10_000)
        await page.wait_for_function(f"document.getElementById('address').value === '{address}'", timeout=10_000)
        assert await page.input_value("#subject") == "小区物业乱收费，楼上装修噪音"
        await page.fill("#kbq", "装修噪音收费")
        await page.click("#kbgo")
        await page.wait_for_selector("#kbresults li button.insert", timeout=10_000)
        await page.click("#kbresults li button.insert")
        assert "五个工作日" in await page.input_value("#reply")
        await shot(page, "call", request)
        await page.click("#answer")           # while the citizen talks: done when the ticket opens
        ticket = await ticket_for(store, lid, timeout=60)
        await page.wait_for_function("document.body.dataset.done === 'answer_on_spot'", timeout=30_000)
        await shot(page, "answered", request)
        t = await store.ticket(ticket["id"])
        assert (t["subject"], t["address"], t["district"], t["callback_number"]) == (
            "小区物业乱收费，楼上装修噪音", address, "海淀区", caller)
        assert t["owner"] == username and t["calls"] == [lid]
        flow = await store.workflow_ticket(t["id"])
        assert flow["status"] == "answered" and "五个工作日" in flow["reply"]
        history = await store.history(t["id"])
        assert {h["actor"] for h in history} == {username}
        assert [h["action"] for h in history][-1] == "answer_on_spot"
        if await page.is_visible("#done"):      # a wrap-up (none in the tests' ACD settings)
            await page.click("#done")

        # the same citizen calls again about the same address: merged into the first ticket
        if acd.board.agent(AGENT).state != "ready":
            await ready_by_page(page, hotline)
        again = await call(driver, s, "12358", caller=caller, talk=20, wait=0.3)
        await connected(page, again)
        await page.wait_for_selector(f"#history tr[data-ticket='{t['id']}']", timeout=10_000)
        await type_in(page, "#address", address)
        await page.wait_for_selector(f"#similar tr[data-ticket='{t['id']}'] button.merge", timeout=10_000)
        await shot(page, "repeat-call", request)
        await page.click(f"#similar tr[data-ticket='{t['id']}'] button.merge")
        await page.wait_for_function("document.getElementById('mergenote').textContent.includes('#')", timeout=10_000)
        second = await ticket_for(store, again, timeout=60)
        merged = await store.ticket(second["id"])
        first = await store.ticket(t["id"])
        assert merged["status"] == "merged" and merged["merged_into"] == t["id"]
        assert first["calls"] == [lid, again]
        mine = [x for x in await store.tickets(caller=caller) if x["status"] not in ("closed", "merged")]
        assert [x["id"] for x in mine] == [t["id"]]
        assert not dialogs


async def test_dispatch_from_the_catalogue_masked_for_the_department_and_a_transfer_to_its_line(
        hotline, driver, browser, feature_phone, request):
    s, acd, store = hotline.settings, hotline.engine.acd, hotline.store
    async with desk(hotline, browser, feature_phone, request) as (page, username, dialogs):
        await ready_by_page(page, hotline)
        lid = await call(driver, s, "12358", caller="13566660002", talk=14, wait=0.3)
        await connected(page, lid)
        await type_in(page, "#subject", "工地老板拖欠工资三个月")
        await type_in(page, "#description", "建筑工地拖欠农民工工资")
        await type_in(page, "#contact_name", "王师傅")
        await page.check("#confidential")
        await page.dispatch_event("#confidential", "change")
        await page.wait_for_selector("#suggest:not([hidden])", timeout=10_000)
        assert "欠薪" in await page.text_content("#sugname")
        assert await page.input_value("#dispto") == "hrss"
        await shot(page, "dispatch", request)
        await page.click("#dispatch")
        ticket = await ticket_for(store, lid, timeout=60)
        await page.wait_for_function("document.body.dataset.done === 'dispatch'", timeout=30_000)
        flow = await store.workflow_ticket(ticket["id"])
        matter = hotline.engine.catalogue().get("unpaid-wages")
        assert (flow["status"], flow["department"], flow["category"]) == ("dispatched", "hrss", matter.category)
        history = await store.history(ticket["id"])
        dispatch = next(h for h in history if h["action"] == "dispatch")
        assert dispatch["actor"] == username and dispatch["details"]["suggested"]["days"] == matter.days
        # the department reads it with the citizen masked (confidential)
        hrss = await person(hotline, "department", department="hrss")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http_login(http, s.http_url, hrss)
            async with http.get(f"{s.http_url}/api/v1/tickets/{ticket['id']}") as r:
                seen = await r.json()
                assert r.status == 200, seen
        assert seen["subject"] == "工地老板拖欠工资三个月" and seen["contact_name"] == "王**"
        assert seen["caller"] == "135****0002" and seen["citizen_masked"] is True
        assert seen["due_at"] == flow["due_at"]
        if await page.is_visible("#done"):
            await page.click("#done")

        # transfer: the citizen ends up talking to the tax department's line
        await until(lambda: acd.board.agent(AGENT).call is None, 30, "2004 free")
        if acd.board.agent(AGENT).state != "ready":
            await ready_by_page(page, hotline)
        other = await call(driver, s, "12358", caller="13566660003", talk=16, wait=0.3)
        await connected(page, other)
        await page.select_option("#xferto", "tax")
        await page.click("#xfer")
        await page.wait_for_function("document.body.dataset.transferred === 'tax'", timeout=10_000)

        async def bridged_to_tax():
            chans = await driver.action_list("CoreShowChannels")
            line = [c for c in chans if c.get("Channel", "").startswith("Local/tax@hl-dept-line")]
            citizen = [c for c in chans if c.get("Linkedid") == other and c.get("Channel", "").startswith("Local/s@")
                       and c.get("Channel", "").endswith(";1")]
            agent = [c for c in chans if c.get("Channel", "").startswith(f"PJSIP/agent{AGENT}-")]
            return bool(line and citizen and not agent and citizen[0].get("BridgeId")
                        and citizen[0]["BridgeId"] in {c.get("BridgeId") for c in line})
        await until(bridged_to_tax, 15, "the citizen bridged with the tax line, the agent's leg gone")
        await shot(page, "transferred", request)
        t = await ticket_for(store, other, timeout=60)
        assert [(x["to"], x["mode"], x["agent"]) for x in t["transfers"]] == [("tax", "blind", AGENT)]
        assert not dialogs


async def test_the_desks_security_no_session_no_csrf_lockout_and_inert_script(hotline, driver, browser, request):
    s, store = hotline.settings, hotline.store
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for path in ("/agent", "/wallboard", "/digest"):
            async with http.get(f"{s.http_url}{path}", allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"].startswith("/login")
        for path in ("/api/v1/tickets", "/api/v1/me", "/api/v1/agents/2004/desk"):
            async with http.get(f"{s.http_url}{path}") as r:
                assert r.status == 401
        username = await person(hotline, "agent", agent="1003")
        csrf = await http_login(http, s.http_url, username)
        t = await ticket_for(store, await call(driver, s, "12333", caller="13566660004", talk=1, wait=0.3))
        async with http.patch(f"{s.http_url}/api/v1/tickets/{t['id']}", json={"subject": "no token"}) as r:
            assert r.status == 403 and (await r.json())["error"] == "csrf-refused"
        script, img = "<script>window.__xss = 1; alert('x')</script>", '"><img src=x onerror="window.__xss = 2; alert(2)">'
        async with http.patch(f"{s.http_url}/api/v1/tickets/{t['id']}", json={"subject": script, "description": img},
                              headers={"X-CSRF-Token": csrf}) as r:
            body = await r.json()
            assert r.status == 200, body
        assert (body["subject"], body["description"]) == (script, img)        # verbatim
        sup = await person(hotline, "supervisor")
        locked = await person(hotline, "agent", agent="1003")
    # rendered inert in the browser: on the agent's screen pop when the citizen calls again
    page = await browser.new_page(bypass_csp=True)
    dialogs = watch_dialogs(page)
    await browser_login(page, s.http_url, username, "/agent")
    await page.wait_for_function("document.body.dataset.connected === '1'", timeout=10_000)
    acd = hotline.engine.acd
    if acd.board.agent("1003").state != "ready":
        await acd.agent_action("1003", "ready", by="test")
    lid = await call(driver, s, "12333", caller="13566660004", talk=6, wait=0.3)
    await page.wait_for_selector(f"#history tr[data-ticket='{t['id']}']", timeout=20_000)
    assert script in await page.inner_text(f"#history tr[data-ticket='{t['id']}']")
    assert await page.evaluate("window.__xss === undefined && document.querySelectorAll('img').length === 0")
    assert await page.evaluate("document.querySelectorAll('script').length") == 1   # the page's own
    await ticket_for(store, lid)
    assert not dialogs
    await page.close()
    # five wrong passwords lock the account, in the login form as a person meets it
    page = await browser.new_page()
    for i in range(5):
        await page.goto(f"{s.http_url}/login")
        await page.fill("#username", locked)
        await page.fill("#password", f"wrong password {i}")
        await page.click("#submit")
        await page.wait_for_selector("#message")
    assert "锁定" in await page.text_content("#message")
    await page.fill("#username", locked)
    await page.fill("#password", PASSWORD)
    await page.click("#submit")
    await page.wait_for_selector("#message")
    assert page.url.endswith("/login") and "Account locked" in await page.text_content("#message")
    await page.close()
    page = await browser.new_page()        # the lock is the person's: others log in as before
    await browser_login(page, s.http_url, sup, "/wallboard")
    await page.close()
