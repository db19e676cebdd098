"""Recordings governance on a real call: hash verified on read, tampering reported,
roles enforced and every access audited, retention deletes only what is due."""
from __future__ import annotations

import os
from datetime import datetime, timedelta

import aiohttp

from recordings import purge

from .conftest import call, http_login, person, ticket_for


async def test_recording_access_is_audited_verified_and_role_checked(hotline, driver):
    s = hotline.settings
    t = await ticket_for(hotline.store, await call(driver, s, "12366", caller="13811110000", talk=2, wait=0.3))
    [rec] = [a for a in await hotline.store.attachments(t["id"]) if a["kind"] == "recording"]
    agent = await hotline.store.create_token("agent", "agent1002")
    ops = await hotline.store.create_token("ops", "ops-1")
    url = f"{s.http_url}/api/v1/attachments/{rec['id']}/content"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Authorization": f"Bearer {agent}"}) as r:
            body = await r.read()
            assert r.status == 200 and body[:4] == b"RIFF" and len(body) == rec["bytes"]
        async with http.get(url, headers={"Authorization": f"Bearer {ops}"}) as r:
            assert r.status == 403
        # someone edits the stored file: it is reported, not served
        with open(rec["path"], "r+b") as f:
            f.seek(200)
            f.write(b"\x00" * 64)
        async with http.get(url, headers={"Authorization": f"Bearer {agent}"}) as r:
            assert r.status == 409 and (await r.json())["error"] == "recording-tampered"
        # the playback page needs a session and carries no data: it fetches the content with it
        async with http.get(f"{s.http_url}/play/{rec['id']}", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].startswith("/login")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:  # an IP host
        await http_login(browser, s.http_url, await person(hotline, "agent", agent="1002"))
        async with browser.get(f"{s.http_url}/play/{rec['id']}") as r:
            page = await r.text()
            assert r.status == 200 and "/api/v1/attachments/" in page and "RIFF" not in page
    log = await hotline.store.audit_log(rec["id"])
    assert [(e["actor"], e["allowed"]) for e in reversed(log)] == [("agent1002", True), ("ops-1", False),
                                                                   ("agent1002", False)]
    assert "hash mismatch" in log[0]["detail"]


async def test_retention_deletes_only_what_is_due_and_not_on_hold(hotline, driver):
    s = hotline.settings
    ids = [await call(driver, s, "12358", caller=f"1391111000{i}", talk=1, wait=0.3) for i in range(2)]
    tickets = [await ticket_for(hotline.store, i) for i in ids]
    recs = [[a for a in await hotline.store.attachments(t["id"]) if a["kind"] == "recording"][0] for t in tickets]
    await hotline.store.set_hold(recs[1]["id"], True)
    days = {"default": 180}
    created = max(a["created_at"] for a in recs)
    now = datetime.fromisoformat(created)
    # within retention: nothing goes
    report = await purge.purge(hotline.store, days, now + timedelta(days=179))
    assert {r["id"]: r["action"] for r in report}[recs[0]["id"]] == "kept: within retention"
    # past it: the held one stays, the other is deleted (file and mark)
    report = {r["id"]: r["action"] for r in await purge.purge(hotline.store, days, now + timedelta(days=181))}
    assert report[recs[0]["id"]] == "deleted" and report[recs[1]["id"]] == "kept: legal hold"
    assert not os.path.exists(recs[0]["path"]) and os.path.exists(recs[1]["path"])
    again = {r["id"] for r in await purge.purge(hotline.store, days, now + timedelta(days=400))}
    assert recs[0]["id"] not in again  # deleted ones are not reported twice
