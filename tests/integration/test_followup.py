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
    # answering scheduled the survey (due later: the engine's clock stands still at 10:00)
    [row] = await engine.surveys.calls.for_ticket(t["id"])
    assert (row["state"], row["reason"]) == ("scheduled", "answered")
    started = await engine.surveys.start(t["id"], sim_keys="2")   # a person calls it now
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and (await engine.surveys.calls.for_ticket(t["id"]))[0]["state"] == "calling":
        await asyncio.sleep(0.3)
    [row] = await engine.surveys.calls.for_ticket(t["id"])   # the scheduled row became this call
    assert (row["state"], row["result"], row["call"], row["attempts"]) == (
        "done", "basically_satisfied", started["call"], 1)
    assert row["answered_at"] is not None   # the OriginateResponse of the real call was folded in
    view = await hotline.store.workflow_ticket(t["id"])
    assert (view["status"], view["satisfaction"]) == ("follow_up", "basically_satisfied")
    history = await hotline.store.history(t["id"])
    assert history[-1]["action"] == "follow_up" and history[-1]["details"]["note"] == "survey call"


async def test_a_citizen_hanging_up_without_a_key_is_known_at_once_and_retried(hotline, driver):
    s, engine = hotline.settings, hotline.engine
    t = await ticket_for(hotline.store, await call(driver, s, "12366", caller="13700000078", talk=1, wait=0.3))
    agent = await hotline.store.create_token("agent", t["agent"])
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{s.http_url}/api/v1/tickets/{t['id']}/actions/answer_on_spot",
                             json={"text": "已答复"}, headers={"Authorization": f"Bearer {agent}"}) as r:
            assert r.status == 200
    began = time.monotonic()
    await engine.surveys.start(t["id"], sim_keys="w")     # answers, presses nothing, hangs up after ~7 s
    while time.monotonic() - began < 40 and (await engine.surveys.calls.for_ticket(t["id"]))[0]["state"] == "calling":
        await asyncio.sleep(0.3)
    [row] = await engine.surveys.calls.for_ticket(t["id"])
    # heard from the hang-up (the dialplan's h extension), long before the 120 s call timeout
    assert time.monotonic() - began < 30
    assert (row["state"], row["result"], row["attempts"]) == ("scheduled", "no_key", 1)
    assert (await hotline.store.workflow_ticket(t["id"]))["status"] == "answered"   # no follow-up invented
