"""The workflow's HTTP routes on the real app (auth middleware, error mapping), SQLite."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from .web_helpers import act, get, new_ticket


async def test_loop_over_http(env):
    store, client, tokens = env
    tid = await new_ticket(store)
    code, body = await act(client, tokens, "agent1002", tid, "dispatch", {"department": "tax", "category": "complaint"})
    assert code == 200 and body["status"] == "dispatched" and body["owner"] == "agent1002"
    assert body["history"]["actor"] == "agent1002" and body["actions"] == ["escalate"]
    code, body = await act(client, tokens, "tax/zhang", tid, "accept", raw=b"")  # empty body: no arguments
    assert code == 200 and body["status"] == "accepted" and body["actions"] == ["reply"]
    code, body = await act(client, tokens, "tax/zhang", tid, "reply", {"text": "已处理"})
    assert code == 200 and body["reply"] == "已处理"
    for action, args in [("inform", {}), ("follow_up", {"result": "satisfied"}), ("close", {"note": "ok"})]:
        code, body = await act(client, tokens, "agent1002", tid, action, args)
        assert code == 200, body
    assert body["status"] == "closed"
    code, hist = await get(client, tokens, "aud1", f"/api/v1/tickets/{tid}/history")
    assert code == 200 and hist["ticket"]["status"] == "closed"
    assert [h["action"] for h in hist["items"]] == ["dispatch", "accept", "reply", "inform", "follow_up", "close"]
    code, hist = await get(client, tokens, "tax/zhang", f"/api/v1/tickets/{tid}/history")
    assert code == 200
    code, err = await get(client, tokens, "housing", f"/api/v1/tickets/{tid}/history")
    assert code == 403 and err["error"] == "not-own-department"


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "body must be a JSON object"),
    (b"[1, 2]", "body must be a JSON object"),
    (b"\xff\xfe", "body must be a JSON object"),
    (b'{"reason": "x", "extra": 1}', "escalate does not take extra"),
    (b'{"reason": "x", "now": "2030-01-01T00:00:00Z"}', "escalate does not take now"),
    (b'{"reason": "x", "calendar": null}', "escalate does not take calendar"),
    (b"{}", "escalate requires reason"),
    (b'{"reason": ""}', "reason must be a non-empty string"),
])
async def test_bad_bodies(env, raw, message):
    store, client, tokens = env
    tid = await new_ticket(store)
    code, body = await act(client, tokens, "agent1002", tid, "escalate", raw=raw)
    assert code == 400 and body["error"] == "bad-request" and message in body["message"]
    assert await store.history(tid) == []


async def test_refusals_over_http(env):
    store, client, tokens = env
    tid = await new_ticket(store)
    cases = [
        ("agent1002", "accept", {}, 403, "role-not-allowed"),
        ("agent1003", "dispatch", {"department": "tax", "category": "report"}, 403, "not-owner"),
        ("unnamed-agent", "escalate", {"reason": "x"}, 403, "role-not-allowed"),
        ("ops1", "escalate", {"reason": "x"}, 403, "forbidden"),     # ops may not act at all
        ("aud1", "close", {}, 403, "forbidden"),
        ("agent1002", "inform", {}, 409, "transition-refused"),
        ("agent1002", "fly", {}, 400, "bad-request"),
        ("agent1002", "dispatch", {"department": "tax"}, 400, "bad-request"),
    ]
    for who, action, args, status, error in cases:
        code, body = await act(client, tokens, who, tid, action, args)
        assert (code, body["error"]) == (status, error), (who, action, body)
    code, body = await act(client, tokens, "agent1002", tid, "inform", {})
    assert "cannot inform a ticket that is new" in body["message"]
    code, body = await act(client, tokens, "agent1002", 999999, "close", {})
    assert (code, body["error"]) == (404, "not-found")
    code, body = await act(client, tokens, "agent1002", "abc", "close", {})
    assert (code, body["error"]) == (400, "bad-request")
    r = await client.post(f"/api/v1/tickets/{tid}/actions/close")
    assert r.status == 401
    await act(client, tokens, "agent1002", tid, "dispatch", {"department": "tax", "category": "report"})
    code, body = await act(client, tokens, "housing", tid, "accept", {})
    assert (code, body["error"]) == (403, "not-own-department")
    assert [h["action"] for h in await store.history(tid)] == ["dispatch"]


async def test_overdue_over_http(env):
    store, client, tokens = env
    late = await new_ticket(store)
    await act(client, tokens, "agent1002", late, "dispatch", {"department": "tax", "category": "consultation"})
    fresh = await new_ticket(store, created=datetime.now(UTC))
    await act(client, tokens, "agent1002", fresh, "dispatch", {"department": "tax", "category": "suggestion"})
    code, body = await get(client, tokens, "sup1", "/api/v1/departments/tax/overdue")
    assert code == 200 and body["department"] == "tax" and [t["id"] for t in body["items"]] == [late]
    assert body["items"][0]["due_at"].startswith("2025-06-03T15:59:59") and body["items"][0]["working_days_late"] > 100
    code, body = await get(client, tokens, "tax/zhang", "/api/v1/departments/tax/overdue?warnings=1")
    assert code == 200 and late in [t["id"] for t in body["items"]]
    code, body = await get(client, tokens, "housing", "/api/v1/departments/tax/overdue")
    assert (code, body["error"]) == (403, "not-own-department")
    code, body = await get(client, tokens, "sup1", "/api/v1/departments/tax/overdue?warnings=maybe")
    assert (code, body["error"]) == (400, "bad-request")
    code, body = await act(client, tokens, "sup1", late, "supervise", {"note": "answer today"})
    assert code == 200 and body["deadline"] == "overdue"
    code, body = await act(client, tokens, "sup1", fresh, "supervise", {"note": "too early"})
    assert (code, body["error"]) == (409, "transition-refused") and "not overdue" in body["message"]


async def test_three_unsatisfied_follow_ups_in_a_row_suspend_a_provider_until_lifted(env):
    store, client, tokens = env
    for i, result in enumerate(["not_satisfied", "satisfied", "not_satisfied", "not_satisfied"]):
        tid = await new_ticket(store, department="homecare")
        assert (await act(client, tokens, "agent1002", tid, "answer_on_spot", {"text": "已处理"}))[0] == 200
        status, body = await act(client, tokens, "agent1002", tid, "follow_up", {"result": result})
        assert status == 200 and body["provider_suspended"] is None   # never three in a row yet
    tid = await new_ticket(store, department="homecare")
    await act(client, tokens, "agent1002", tid, "answer_on_spot", {"text": "已处理"})
    status, body = await act(client, tokens, "agent1002", tid, "follow_up", {"result": "not_satisfied"})
    assert status == 200 and body["provider_suspended"]["department"] == "homecare"
    status, body = await get(client, tokens, "sup1", "/api/v1/providers")
    assert body["items"][0]["suspended"]["reason"].startswith("3 follow-ups in a row")
    other = await new_ticket(store)
    status, body = await act(client, tokens, "agent1002", other, "dispatch",
                             {"department": "homecare", "category": "request_for_help"})
    assert (status, body["error"]) == (409, "provider-suspended")
    r = await client.post("/api/v1/providers/homecare/lift", headers={"Authorization": f"Bearer {tokens['agent1002']}"})
    assert r.status == 403
    r = await client.post("/api/v1/providers/homecare/lift", headers={"Authorization": f"Bearer {tokens['sup1']}"})
    assert r.status == 200
    status, _ = await act(client, tokens, "agent1002", other, "dispatch",
                          {"department": "homecare", "category": "request_for_help"})
    assert status == 200


def test_numbers_are_masked_keeping_the_last_four():
    from core.numbers import mask_number
    assert mask_number("13800138000") == "138****8000"
    assert mask_number("12345") == "*2345"
    assert mask_number("1234") == "****"
    assert mask_number("+8613800138000").endswith("8000") and "38001" not in mask_number("+8613800138000")


async def test_auditors_and_departments_see_masked_callers_agents_see_the_number(env):
    store, client, tokens = env
    await new_ticket(store)
    status, body = await get(client, tokens, "aud1", "/api/v1/tickets")
    assert status == 200 and body["items"][0]["caller"] == "138****8000" and body["items"][0]["caller_masked"]
    status, body = await get(client, tokens, "agent1002", "/api/v1/tickets")
    assert body["items"][0]["caller"] == "13800138000"
    tid = body["items"][0]["id"]
    status, body = await get(client, tokens, "aud1", f"/api/v1/tickets/{tid}")
    assert body["caller"] == "138****8000"
