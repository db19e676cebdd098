"""Scorecards: a fixture month (November 2026) whose figures were worked out by hand, and the
page's API over the real store on SQLite (the workflow's own history rows, ratings on the
call records, roles, CSV)."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from db.models import CallRecord as CallRow
from scorecard import figures
from scorecard import routes as scorecard_routes
from tickets.providers import Providers
from tickets.routes import add_routes
from tickets.store import Store
from web.app import Deps, make_app

from .web_helpers import act, get, new_ticket

BJ = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 9) -> float:
    return datetime(2026, month, day, hour, tzinfo=BJ).timestamp()


def end_of(month: int, day: int) -> float:
    return datetime(2026, month, day, 23, 59, 59, tzinfo=BJ).timestamp()


def h(ticket, when, action, **details):
    return {"ticket": ticket, "at": when, "action": action, "details": details}


NOV, DEC = at(11, 1, 0), at(12, 1, 0)
NOW = at(12, 1, 10)
HISTORY = [
    # T1: accepted after 6 h, replied on time, satisfied
    h(1, at(11, 2), "dispatch", department="tax", due_at=end_of(11, 11)),
    h(1, at(11, 2, 15), "accept"), h(1, at(11, 5, 10), "reply"), h(1, at(11, 6), "follow_up", result="satisfied"),
    # T2: accepted after 48 h, replied late, not satisfied, reopened
    h(2, at(11, 3), "dispatch", department="tax", due_at=end_of(11, 6)),
    h(2, at(11, 5), "accept"), h(2, at(11, 9), "reply"), h(2, at(11, 10), "follow_up", result="not_satisfied"),
    h(2, at(11, 12), "reopen"),
    # T3: returned by tax, the objection upheld: housing accepts in an hour, never replies
    h(3, at(11, 4), "dispatch", department="tax", due_at=end_of(11, 13)),
    h(3, at(11, 4, 12), "return", reason="不归我们"),
    h(3, at(11, 5), "dispatch", department="housing", due_at=end_of(11, 14), objection="upheld"),
    h(3, at(11, 5, 10), "accept"),
    # T4: returned by tax, the objection refused; back at tax, accepted, extended, replied on time
    h(4, at(11, 10), "dispatch", department="tax", due_at=end_of(11, 13)),
    h(4, at(11, 10, 11), "return", reason="不归我们"),
    h(4, at(11, 11), "dispatch", department="tax", due_at=end_of(11, 13), objection="refused"),
    h(4, at(11, 11, 10), "accept"),
    h(4, at(11, 12), "extend", approved=True, due_at=end_of(11, 20)),
    h(4, at(11, 18), "reply"),
    # T5: dispatched in October: not November's
    h(5, at(10, 30), "dispatch", department="tax", due_at=end_of(11, 6)), h(5, at(11, 2), "reply"),
    # T6: dispatched on 28 November, due in December: pending
    h(6, at(11, 28), "dispatch", department="tax", due_at=end_of(12, 8)),
]


def test_the_fixture_months_department_figures_as_worked_out_by_hand():
    cards = {c.department: c for c in figures.departments(HISTORY, NOV, DEC, NOW, response_hours=24)}
    tax = cards["tax"]
    # cases T1, T2, T3, T4 (twice), T6; T5 was October's
    assert tax.dispatched == 6
    assert (tax.responded, tax.response_rate) == (2, 0.3333)           # T1 (6 h), T4's second (1 h)
    assert (tax.resolved, tax.resolution_rate) == (2, 0.3333)          # T1, T4; T2 was reopened
    assert (tax.followed_up, tax.satisfied, tax.satisfaction_rate) == (2, 1, 0.5)
    assert (tax.on_time, tax.late, tax.on_time_rate) == (2, 1, 0.6667)  # T4 on time by its extension
    assert (tax.objections, tax.upheld, tax.refused, tax.upheld_rate) == (2, 1, 1, 0.5)
    housing = cards["housing"]
    assert (housing.dispatched, housing.response_rate, housing.resolution_rate) == (1, 1.0, 0.0)
    assert (housing.on_time, housing.late, housing.on_time_rate, housing.satisfaction_rate) == (0, 1, 0.0, None)
    # without its extension T4 would have been late
    no_ext = [r for r in HISTORY if r["action"] != "extend"]
    assert {c.department: c for c in figures.departments(no_ext, NOV, DEC, NOW)}["tax"].on_time == 1


def test_the_fixture_months_agent_figures_as_worked_out_by_hand():
    calls = [{"agent": "agent1002", "talk_seconds": 100.0, "rating": 1},
             {"agent": "agent1002", "talk_seconds": 200.0, "rating": 3},
             {"agent": "agent1003", "talk_seconds": 60.0, "rating": None}]
    on_spot = [{"agent": "agent1002"}, {"agent": "agent1003"}, {"agent": "agent1003"}]
    got = [figures.public(c) for c in figures.agents(calls, on_spot)]
    assert got == [
        {"agent": "agent1002", "calls": 2, "aht": 150.0, "rated": 2, "rating": 2.0, "rating_satisfied_rate": 0.5,
         "on_spot": 1},
        {"agent": "agent1003", "calls": 1, "aht": 60.0, "rated": 0, "rating": None, "rating_satisfied_rate": None,
         "on_spot": 2}]


def test_month_bounds_are_the_centres_calendar_month():
    month, since, until = scorecard_routes.month_bounds("2026-12", datetime(2026, 12, 1, tzinfo=UTC), "Asia/Shanghai")
    assert (month, since, until) == ("2026-12", at(12, 1, 0), datetime(2027, 1, 1, tzinfo=BJ).timestamp())
    assert scorecard_routes.month_bounds(None, datetime(2026, 11, 30, 17, tzinfo=UTC), "Asia/Shanghai")[0] == "2026-12"


@pytest.fixture
async def env(tmp_path):
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/hotline.db")
    await store.migrate()
    store.clock = lambda: datetime(2026, 12, 2, 2, tzinfo=UTC)

    async def status():
        return {"ok": True}

    app = make_app(Deps(store=store, status=status))
    add_routes(app, Providers(store, set()))
    scorecard_routes.add_routes(app, store, "Asia/Shanghai", lambda: datetime(2026, 12, 2, 2, tzinfo=UTC))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    tokens = {name: await store.create_token(role, name) for role, name in [
        ("agent", "agent1002"), ("supervisor", "sup1"), ("department", "tax"), ("ops", "ops1"), ("auditor", "aud1")]}
    yield store, client, tokens
    await client.close()
    await store.close()


async def test_the_scorecard_api_reads_the_workflow_and_the_ratings(env):
    store, client, tokens = env
    created = datetime(2026, 12, 1, 2, tzinfo=UTC)
    one, two = await new_ticket(store, created=created), await new_ticket(store, created=created)
    assert (await act(client, tokens, "agent1002", one, "dispatch", {"department": "tax", "category": "complaint"}))[0] == 200
    assert (await act(client, tokens, "tax", one, "accept"))[0] == 200
    assert (await act(client, tokens, "tax", one, "reply", {"text": "已处理"}))[0] == 200
    assert (await act(client, tokens, "agent1002", two, "answer_on_spot", {"text": "已解答"}))[0] == 200
    async with store.sessions.begin() as s:
        await s.execute(CallRow.__table__.update().values(answered_at=created, talk_seconds=90.0, rating=2))
    status, body = await get(client, tokens, "sup1", "/api/v1/scorecard?month=2026-12")
    assert status == 200, body
    assert [(d["department"], d["name"], d["dispatched"], d["response_rate"], d["resolution_rate"],
             d["on_time_rate"]) for d in body["departments"]] == [("tax", "tax", 1, 1.0, 1.0, 1.0)]
    assert [(a["agent"], a["calls"], a["aht"], a["rated"], a["rating"], a["on_spot"]) for a in body["agents"]] == [
        ("agent1002", 2, 90.0, 2, 2.0, 1)]
    assert set(body["definitions"]) >= {"response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate"}
    _, nov = await get(client, tokens, "sup1", "/api/v1/scorecard?month=2026-11")
    assert nov["departments"] == [] and nov["agents"] == []
    r = await client.get("/api/v1/scorecard.csv?month=2026-12&part=agents",
                         headers={"Authorization": f"Bearer {tokens['aud1']}"})
    assert r.status == 200
    rows = list(csv.DictReader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert rows == [{"agent": "agent1002", "calls": "2", "aht": "90.0", "rated": "2", "rating": "2.0",
                     "rating_satisfied_rate": "1.0", "on_spot": "1"}]
    for who in ("agent1002", "tax"):
        assert (await get(client, tokens, who, "/api/v1/scorecard"))[0] == 403
    assert (await get(client, tokens, "sup1", "/api/v1/scorecard?month=2026-13"))[0] == 400
