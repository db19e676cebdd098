"""The department portal and the supervisor console in headless Chromium, on tickets opened by
real calls through real Asterisk, on both databases: a department accepts and replies, the
agent's desk shows "replied" when the citizen calls again and the agent informs them (the
survey is scheduled); a department returns a ticket with an objection, the supervisor upholds
it and reassigns, the other department's inbox shows it with a fresh deadline."""
from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime, time as dtime
from zoneinfo import ZoneInfo
from pathlib import Path

import aiohttp
from sqlalchemy import select

from hours.calendar import add_working_days
from tickets import deadlines as dl

from .conftest import browser_login, call, http_login, person, ticket_for, until

ARTIFACTS = Path(os.environ.get("HOTLINE_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "artifacts"))
AGENT = "1003"   # hrss (12333), a demo agent on its own baresip phone


def decision_day(hotline, created_at: str) -> datetime:
    """10:00 in the centre's timezone, three working days after the ticket was created (by the
    wall clock: the call's real time): the department decides then, and a deadline counted
    from that day is later than one counted from the call. Derived, not a fixed date: the
    suite runs on any day (a fixed Friday 4 December broke once Beijing's date moved on)."""
    cal = hotline.engine.calendar
    created = dl.local_date(datetime.fromisoformat(created_at), cal)
    day = add_working_days(created, 3, cal)
    return datetime.combine(day, dtime(10, 0), tzinfo=ZoneInfo(cal.timezone)).astimezone(UTC)


@contextlib.asynccontextmanager
async def clock(hotline, at: datetime):
    before = hotline.engine.now
    hotline.engine.now = lambda: at
    try:
        yield
    finally:
        hotline.engine.now = before


async def shot(page, name: str, request) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{request.node.callspec.id}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 20_000
    return path


def watch_dialogs(page) -> list[str]:
    seen: list[str] = []

    async def on_dialog(d):
        seen.append(d.message)
        await d.dismiss()
    page.on("dialog", on_dialog)
    return seen


async def answered_ticket(hotline, driver, caller: str, subject: str, address: str, agent_name: str) -> int:
    """A real call answered by agent 1003 opens a ticket; its agent writes the order and
    dispatches it to tax (as a person, with the session and its CSRF token)."""
    s, acd = hotline.settings, hotline.engine.acd
    if acd.board.agent(AGENT).state != "ready":
        await acd.agent_action(AGENT, "ready", by="test")
    lid = await call(driver, s, "12333", caller=caller, talk=2, wait=0.3)
    t = await ticket_for(hotline.store, lid, timeout=60)
    assert t["agent"] == f"agent{AGENT}", t
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, s.http_url, agent_name)
        h = {"X-CSRF-Token": csrf}
        async with http.patch(f"{s.http_url}/api/v1/tickets/{t['id']}", headers=h, json={
                "subject": subject, "address": address, "description": "<script>alert(1)</script>市民来电反映",
                "contact_name": "李女士", "confidential": True}) as r:
            assert r.status == 200, await r.text()
        async with http.post(f"{s.http_url}/api/v1/tickets/{t['id']}/actions/dispatch", headers=h,
                             json={"department": "tax", "category": "complaint"}) as r:
            assert r.status == 200, await r.text()
    await until(lambda: acd.board.agent(AGENT).call is None, 30, "1003 free")
    return t["id"]


async def test_a_department_accepts_and_replies_and_the_desk_shows_replied(hotline, driver, browser, request):
    s, store, acd = hotline.settings, hotline.store, hotline.engine.acd
    agent = await person(hotline, "agent", agent=AGENT)
    caller = "13577770001"
    tid = await answered_ticket(hotline, driver, caller, "办税大厅排队时间过长", "朝阳区东三环北路1号", agent)
    tax = await person(hotline, "department", department="tax")
    created = (await store.ticket(tid))["created_at"]
    due = dl.due_at(datetime.fromisoformat(created), "complaint", hotline.engine.calendar)
    async with clock(hotline, decision_day(hotline, created)):
        page = await browser.new_page(viewport={"width": 1500, "height": 950}, bypass_csp=True)
        dialogs = watch_dialogs(page)
        await browser_login(page, s.http_url, tax, "/portal")
        row = f"#rows tr[data-ticket='{tid}']"
        await page.wait_for_selector(row, timeout=10_000)
        flow = await store.workflow_ticket(tid)
        # due 7 working days after the day of the call; three working days on, 4 are left
        assert datetime.fromisoformat(flow["due_at"]) == due
        assert "剩 4 个工作日" in await page.inner_text(f"{row} .count")
        await page.click(row)
        assert await page.inner_text("#dcontact") == "李**（保密 masked）"        # confidential
        assert "<script>" in await page.inner_text("#ddesc")                   # shown as text
        assert await page.evaluate("document.querySelectorAll('script').length") == 1
        await shot(page, "portal-inbox", request)
        await page.click("#accept")
        await page.wait_for_function("document.body.dataset.done === 'accept'", timeout=10_000)
        await page.wait_for_selector(f"{row}[data-status=accepted]", timeout=10_000)
        await page.fill("#replytext", "已增开两个窗口，高峰期排队时间缩短到二十分钟以内。")
        pdf = b"%PDF-1.4\n% 12345 reply\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        await page.set_input_files("#replyfile", files=[{"name": "处理结果.pdf", "mimeType": "application/pdf",
                                                         "buffer": pdf}])
        await page.click("#reply")
        await page.wait_for_function("document.body.dataset.done === 'reply'", timeout=10_000)
        await page.wait_for_selector(row, state="detached", timeout=10_000)   # no longer in the department's hands
        flow = await store.workflow_ticket(tid)
        assert flow["status"] == "replied" and flow["reply"].startswith("已增开两个窗口")
        history = await store.history(tid)
        assert [(h["action"], h["actor"]) for h in history][-3:] == [("accept", tax), ("attach", tax), ("reply", tax)]
        files = [a for a in await store.attachments(tid) if a["kind"] == "reply"]
        assert [(a["mime"], a["bytes"]) for a in files] == [("application/pdf", len(pdf))]
        await page.click("nav.tabs button[data-view=replied]")
        await page.wait_for_selector(row, timeout=10_000)
        await shot(page, "portal-replied", request)
        assert not dialogs
        await page.close()

    # the citizen calls again: the agent's desk shows the ticket replied, the agent informs them
    desk = await browser.new_page(viewport={"width": 1500, "height": 1000}, bypass_csp=True)
    await browser_login(desk, s.http_url, agent, "/agent")
    await desk.wait_for_function("document.body.dataset.connected === '1'", timeout=10_000)
    if acd.board.agent(AGENT).state != "ready":
        await acd.agent_action(AGENT, "ready", by="test")
    again = await call(driver, s, "12333", caller=caller, talk=6, wait=0.3)
    await desk.wait_for_selector(f"#history tr[data-ticket='{tid}']", timeout=20_000)
    assert "已回复 replied" in await desk.inner_text(f"#history tr[data-ticket='{tid}']")
    await shot(desk, "desk-replied", request)
    await ticket_for(store, again)
    await desk.close()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, s.http_url, agent)
        async with http.post(f"{s.http_url}/api/v1/tickets/{tid}/actions/inform", headers={"X-CSRF-Token": csrf},
                             json={"note": "已电话告知市民"}) as r:
            assert r.status == 200, await r.text()
    from db.models import SurveyCall
    async with store.sessions() as ss:
        surveys = (await ss.scalars(select(SurveyCall).where(SurveyCall.ticket_id == tid))).all()
    assert len(surveys) == 1     # the satisfaction survey follows the informing


async def test_an_objection_upheld_reaches_the_other_departments_inbox_with_a_fresh_deadline(
        hotline, driver, browser, request):
    s, store = hotline.settings, hotline.store
    agent = await person(hotline, "agent", agent=AGENT)
    tid = await answered_ticket(hotline, driver, "13577770002", "公积金提取被拒", "海淀区学院路20号", agent)
    first_due = (await store.workflow_ticket(tid))["due_at"]
    tax, housing = (await person(hotline, "department", department="tax"),
                    await person(hotline, "department", department="housing"))
    sup = await person(hotline, "supervisor")
    decided = decision_day(hotline, (await store.ticket(tid))["created_at"])
    async with clock(hotline, decided):
        page = await browser.new_page(viewport={"width": 1500, "height": 950}, bypass_csp=True)
        dialogs = watch_dialogs(page)
        await browser_login(page, s.http_url, tax, "/portal")
        row = f"#rows tr[data-ticket='{tid}']"
        await page.wait_for_selector(row, timeout=10_000)
        await page.click(row)
        await page.fill("#returnreason", "公积金提取属住房公积金中心，不属税务")
        await page.click("#return")
        await page.wait_for_function("document.body.dataset.done === 'return'", timeout=10_000)
        await page.wait_for_selector(row, state="detached", timeout=10_000)
        await page.close()

        con = await browser.new_page(viewport={"width": 1500, "height": 1200}, bypass_csp=True)
        dialogs += watch_dialogs(con)
        await browser_login(con, s.http_url, sup, "/console")
        obj = f"#objrows tr[data-ticket='{tid}']"
        await con.wait_for_selector(obj, timeout=10_000)
        assert "不属税务" in await con.inner_text(obj)
        await con.select_option(f"{obj} select.reassign", "housing")
        await shot(con, "console", request)
        await con.click(f"{obj} button.uphold")
        await con.wait_for_function(f"document.body.dataset.done === '#{tid} uphold'", timeout=10_000)
        await con.wait_for_selector(obj, state="detached", timeout=10_000)
        await con.close()
        flow = await store.workflow_ticket(tid)
        # fresh: 7 working days from the decision day (not from the call, as the first dispatch's)
        assert (flow["status"], flow["department"]) == ("dispatched", "housing")
        cal = hotline.engine.calendar
        assert datetime.fromisoformat(flow["due_at"]) == dl.due_at(decided, "complaint", cal)
        assert datetime.fromisoformat(flow["due_at"]) > datetime.fromisoformat(first_due)

        other = await browser.new_page(viewport={"width": 1500, "height": 950}, bypass_csp=True)
        dialogs += watch_dialogs(other)
        await browser_login(other, s.http_url, housing, "/portal")
        row = f"#rows tr[data-ticket='{tid}']"
        await other.wait_for_selector(row, timeout=10_000)
        assert "剩 7 个工作日" in await other.inner_text(f"{row} .count")
        await shot(other, "portal-reassigned", request)
        await other.close()
    history = await store.history(tid)
    last = history[-1]
    assert (last["action"], last["actor"], last["details"]["objection"]) == ("dispatch", sup, "upheld")
    # the scorecard of the month of the first dispatch (the engine's clock: 27 November) counts tax's objection
    card = await browser.new_page(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    dialogs += watch_dialogs(card)
    await browser_login(card, s.http_url, sup, "/scorecard")
    await card.wait_for_function("Number(document.body.dataset.loaded) >= 1", timeout=10_000)
    await card.fill("#month", "2026-11")
    await card.dispatch_event("#month", "change")
    await card.wait_for_function("Number(document.body.dataset.loaded) >= 2", timeout=10_000)
    tax_row = await card.inner_text("#depts tr[data-department=tax]")
    cells = tax_row.split("\t")
    assert cells[0] == "税务 tax" and int(cells[6]) >= 1          # objections
    await shot(card, "scorecard-departments", request)
    await card.close()
    assert not dialogs


async def test_ten_calls_about_one_address_are_one_cluster_on_the_console_and_one_event_in_the_digest(
        hotline, driver, browser, request):
    import asyncio
    import time
    s, store = hotline.settings, hotline.store
    started = time.time()
    # ten citizens call within a minute and hang up in the menu: ten tickets, written up by a supervisor
    lids = await asyncio.gather(*(call(driver, s, "12345", caller=f"1360000{i:04d}", talk=1, wait=0.3)
                                  for i in range(10)))
    tickets = [await ticket_for(store, lid, timeout=60) for lid in lids]
    ids = sorted(t["id"] for t in tickets)
    sup = await person(hotline, "supervisor")
    subjects = ["望京西园三区停水", "小区没水了", "西园三区自来水停了一天", "停水没有通知", "水压太低"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, s.http_url, sup)
        for i, tid in enumerate(ids):
            body = {"subject": subjects[i % 5], "address": "朝阳区望京西园三区" if i % 2 else "朝阳区 望京西园三区 "}
            async with http.patch(f"{s.http_url}/api/v1/tickets/{tid}", json=body,
                                  headers={"X-CSRF-Token": csrf}) as r:
                assert r.status == 200, await r.text()
    page = await browser.new_page(viewport={"width": 1500, "height": 1200}, bypass_csp=True)
    dialogs = watch_dialogs(page)
    await browser_login(page, s.http_url, sup, "/console")
    cluster = f".cluster[data-tickets='{','.join(map(str, ids))}']"
    await page.wait_for_selector(cluster, timeout=10_000)
    assert (await page.inner_text(f"{cluster} .big")) == "10"
    assert "朝阳区望京西园三区" in (await page.inner_text(cluster)).replace(" ", "")
    await page.locator(cluster).scroll_into_view_if_needed()
    await shot(page, "console-hot", request)
    await page.click(f"{cluster} button.link")
    await page.wait_for_selector(f"{cluster}[data-events='1']", timeout=10_000)
    assert "已并为一事 one event" in await page.inner_text(cluster)
    await page.close()
    assert {(await store.ticket(tid))["id"] for tid in ids} == set(ids)
    history = await store.history(ids[-1])
    assert history[-1]["action"] == "link_event" and history[-1]["details"]["event"] == ids[0]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http_login(http, s.http_url, sup)
        # the digest of the minute the ten calls came in: ten tickets, one event
        async with http.get(f"{s.http_url}/api/v1/reports/digest",
                            params={"from": str(int(started) - 1), "to": str(int(time.time()) + 1)}) as r:
            d = await r.json()
            assert r.status == 200, d
    assert d["tickets"] >= 10 and d["tickets"] - d["events"] == 9
    assert not dialogs


async def test_the_console_listens_to_an_agents_live_call_and_pauses_an_agent(hotline, driver, browser, request):
    s, acd = hotline.settings, hotline.engine.acd
    await acd.agent_action("2003", "login", by="test")
    await acd.agent_action("2003", "pause", "supervising", by="test")   # the supervisor's line, never routed to
    seen = []
    unsubscribe = hotline.engine.events.subscribe(seen.append)
    sup = await person(hotline, "supervisor")
    page = await browser.new_page(viewport={"width": 1500, "height": 1200}, bypass_csp=True)
    dialogs = watch_dialogs(page)
    try:
        await browser_login(page, s.http_url, sup, "/console")
        await page.fill("#spyline", "2003")
        await page.dispatch_event("#spyline", "change")
        lid = await call(driver, s, "12369", caller="13577770041", talk=14)
        await until(lambda: acd.board.agent("1004").state == "on_call", 15, "agent 1004 talking")
        listen = "#agentrows tr[data-agent='1004'] button.spy.listen"
        await page.wait_for_selector(listen, timeout=10_000)      # the live list refreshes by itself
        await shot(page, "console-live", request)
        await page.click(listen)
        await page.wait_for_function("document.body.dataset.done === 'listen 1004'", timeout=10_000)

        async def spying():
            chans = await driver.action_list("CoreShowChannels")
            return [c for c in chans if c.get("Application") == "ChanSpy" and "Local/2003@" in c.get("Channel", "")]
        await until(spying, 10, "a ChanSpy channel on the supervisor's line")
        sup_event = next(e for e in seen if e.kind == "supervisor" and e.linkedid == lid)
        assert sup_event.data == {"mode": "listen", "supervisor_line": "2003"}
        # pause an agent from the console: the ACD's state, as the wallboard shows it
        await acd.agent_action("1000", "ready", by="test")
        await page.click("#agentrows tr[data-agent='1000'] button:has-text('暂停')")
        await until(lambda: acd.board.agent("1000").state == "paused", 10, "1000 paused from the console")
        assert acd.board.agent("1000").paused_reason == "supervisor"
        await page.wait_for_selector("#agentrows tr[data-agent='1000'] .state[data-state=paused]", timeout=10_000)
        assert not dialogs
    finally:
        unsubscribe()
        await page.close()
        await acd.agent_action("1000", "unpause", by="test")
        await until(lambda: acd.board.agent("1004").call is None, 30, "1004 free")
        await acd.agent_action("2003", "logout", by="test")
