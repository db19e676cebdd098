"""The work order over HTTP: PATCH by owner or supervisor, stable error ids with the field,
the department's view masked when confidential, search, drafts only for the call's agent."""
from __future__ import annotations

from .web_helpers import act, get, new_ticket


async def patch(client, tokens, who, tid, body):
    r = await client.patch(f"/api/v1/tickets/{tid}", json=body, headers={"Authorization": f"Bearer {tokens[who]}"})
    return r.status, await r.json()


async def test_owner_edits_another_agent_may_not_and_errors_name_the_field(env):
    store, client, tokens = env
    tid = await new_ticket(store, agent="agent1002")
    status, body = await patch(client, tokens, "agent1002", tid, {"subject": "噪音扰民", "urgency": "emergency"})
    assert status == 200 and (body["subject"], body["urgency"], body["version"]) == ("噪音扰民", "emergency", 2)
    status, body = await patch(client, tokens, "agent1003", tid, {"subject": "mine now"})
    assert status == 403 and body["error"] == "not-owner"
    status, body = await patch(client, tokens, "agent1002", tid, {"callback_number": "abc"})
    assert status == 400 and (body["error"], body["field"]) == ("invalid-field", "callback_number")
    status, body = await patch(client, tokens, "agent1002", tid, {"subject": "late", "version": 1})
    assert status == 409 and body["error"] == "stale-update"
    status, body = await patch(client, tokens, "tax/zhang", tid, {"subject": "x"})
    assert status == 403
    status, body = await patch(client, tokens, "sup1", tid, {"subject": "改正"})
    assert status == 200 and body["subject"] == "改正"


async def test_a_department_sees_its_dispatched_ticket_with_the_citizen_masked_when_confidential(env):
    store, client, tokens = env
    tid = await new_ticket(store, agent="agent1002")
    await patch(client, tokens, "agent1002", tid, {"subject": "举报偷税", "contact_name": "李四", "confidential": True,
                                                   "callback_number": "13911112222"})
    status, _ = await get(client, tokens, "tax/zhang", f"/api/v1/tickets/{tid}")
    assert status == 403          # not dispatched to tax yet: not theirs
    status, _ = await act(client, tokens, "agent1002", tid, "dispatch", {"department": "tax", "category": "report"})
    assert status == 200
    status, body = await get(client, tokens, "tax/zhang", f"/api/v1/tickets/{tid}")
    assert status == 200 and body["subject"] == "举报偷税"
    assert (body["contact_name"], body["callback_number"], body["caller"]) == ("李*", "139****2222", "138****8000")
    assert body["citizen_masked"] is True and body["caller_masked"] is True
    status, body = await get(client, tokens, "housing", f"/api/v1/tickets/{tid}")
    assert status == 403 and body["error"] == "not-own-department"
    status, body = await get(client, tokens, "agent1002", f"/api/v1/tickets/{tid}")
    assert (body["contact_name"], body["callback_number"]) == ("李四", "13911112222")   # the centre sees it


async def test_search_by_words_over_http(env):
    store, client, tokens = env
    tid = await new_ticket(store, agent="agent1002")
    await patch(client, tokens, "agent1002", tid, {"description": "小区物业乱收费", "address": "通州区新华大街"})
    status, body = await get(client, tokens, "aud1", "/api/v1/tickets?q=物业收费")
    assert status == 200 and [t["id"] for t in body["items"]] == [tid]
    status, body = await get(client, tokens, "agent1002", "/api/v1/tickets?q=" + "长" * 201)
    assert status == 400


async def test_a_draft_needs_a_call_with_an_agent_now(env):
    store, client, tokens = env
    r = await client.put("/api/v1/calls/node1-999.1/draft", json={"subject": "x"},
                         headers={"Authorization": f"Bearer {tokens['agent1002']}"})
    assert r.status == 404   # the test app knows no live call
    r = await client.put("/api/v1/calls/node1-999.1/draft", json={"subject": "督办", "urgency": "urgent"},
                         headers={"Authorization": f"Bearer {tokens['sup1']}"})
    assert r.status == 200 and (await r.json())["fields"] == {"subject": "督办", "urgency": "urgent"}
    r = await client.put("/api/v1/calls/bad%20id/draft", json={}, headers={"Authorization": f"Bearer {tokens['sup1']}"})
    assert r.status == 400
