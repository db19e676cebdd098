"""GET /api/v1/followups on the real app (auth middleware, error mapping), SQLite: the
tickets whose survey call ran out of attempts, for agents and supervisors only."""
from __future__ import annotations

from datetime import UTC, datetime

from db.models import SurveyCall

from .web_helpers import act, get, new_ticket

AT = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


async def exhausted(store, client, tokens, state="no_answer", minute=0) -> int:
    tid = await new_ticket(store)
    code, _ = await act(client, tokens, "agent1002", tid, "answer_on_spot", {"text": "已答复"})
    assert code == 200
    async with store.sessions.begin() as s:
        s.add(SurveyCall(ticket_id=tid, state=state, reason="answered", attempts=3, result=state,
                         created_at=AT, updated_at=AT.replace(minute=minute)))
    return tid


async def test_agents_and_supervisors_get_the_list_other_roles_are_refused(env):  # noqa: F811
    store, client, tokens = env
    first = await exhausted(store, client, tokens, "no_answer", minute=1)
    second = await exhausted(store, client, tokens, "no_key", minute=2)
    await exhausted(store, client, tokens, "done", minute=3)            # surveyed: nobody has to call
    for who in ("agent1002", "sup1"):
        code, body = await get(client, tokens, who, "/api/v1/followups")
        assert code == 200, body
        assert [(t["id"], t["survey"]["state"], t["survey"]["attempts"]) for t in body["items"]] == [
            (first, "no_answer", 3), (second, "no_key", 3)]         # the longest waiting first
        assert body["items"][0]["caller"] == "13800138000"          # they call the citizen back
    for who in ("tax/zhang", "ops1", "aud1"):
        code, body = await get(client, tokens, who, "/api/v1/followups")
        assert (code, body["error"]) == (403, "forbidden"), who
    r = await client.get("/api/v1/followups")
    assert r.status == 401 and (await r.json())["error"] == "unauthorized"


async def test_the_list_is_paginated_and_bad_pages_are_refused(env):  # noqa: F811
    store, client, tokens = env
    ids = [await exhausted(store, client, tokens, minute=m) for m in range(3)]
    code, body = await get(client, tokens, "sup1", "/api/v1/followups?limit=2&offset=1")
    assert code == 200 and [t["id"] for t in body["items"]] == ids[1:] and (body["limit"], body["offset"]) == (2, 1)
    for query in ("limit=0", "limit=abc", "offset=-1", "limit=1001"):
        code, body = await get(client, tokens, "sup1", f"/api/v1/followups?{query}")
        assert (code, body["error"]) == (400, "bad-request"), query
