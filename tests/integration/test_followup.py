"""The satisfaction survey: an outbound call on Asterisk, one key, the ticket's follow-up."""
from __future__ import annotations

import asyncio
import time

import aiohttp

from .conftest import call, ticket_for


async def test_survey_call_records_the_citizens_key_as_the_follow_up(hotline, driver):
    s, engine = hotline.settings, hotline.engine
    t = await ticket_for(hotline.store, await call(driver, s, "12366", caller="13700000077", talk=1, wait=0.3))
    assert t["agent"] == "agent1002"
    agent = await hotline.store.create_token("agent", "agent1002")
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {agent}"}
        async with http.post(f"{s.http_url}/api/v1/tickets/{t['id']}/survey", headers=auth) as r:
            assert r.status == 409 and (await r.json())["error"] == "state-conflict"   # not answered yet
        async with http.post(f"{s.http_url}/api/v1/tickets/{t['id']}/actions/answer_on_spot",
                             json={"text": "已告知办税时间"}, headers=auth) as r:
            assert r.status == 200
    started = await engine.surveys.start(t["id"], sim_keys="2")
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not any(o.get("call") == started["call"] for o in engine.surveys.results):
        await asyncio.sleep(0.3)
    [outcome] = [o for o in engine.surveys.results if o.get("call") == started["call"]]
    assert outcome["result"] == "basically_satisfied"
    view = await hotline.store.workflow_ticket(t["id"])
    assert (view["status"], view["satisfaction"]) == ("follow_up", "basically_satisfied")
    history = await hotline.store.history(t["id"])
    assert history[-1]["action"] == "follow_up" and history[-1]["details"]["note"] == "survey call"
