"""The ticket workflow in the store, on SQLite and on PostgreSQL: history rows, owner,
stale concurrent updates refused, deadlines and the overdue list per department.

PostgreSQL: a database of its own (`<test database>_workflow`, created when missing, its
schema public dropped and recreated before each test), so these tests never touch the
schema the end-to-end tests run the engine on.
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text

from calls.record import CallRecord, Disposition
from core.errors import NotFound
from tickets import workflow as wf
from db.models import Ticket, TicketHistory
from tickets.store import Store

from .helpers import SEP30, local, new_ticket, row  # noqa: F401


async def test_schema_after_migration(store):
    async with store.engine.connect() as c:
        cols = await c.run_sync(lambda sc: {x["name"] for x in inspect(sc).get_columns("tickets")})
        hist = await c.run_sync(lambda sc: [x["name"] for x in inspect(sc).get_columns("ticket_history")])
        fks = await c.run_sync(lambda sc: inspect(sc).get_foreign_keys("ticket_history"))
    assert {"owner", "escalated", "reply", "satisfaction"} <= cols
    assert hist == ["id", "ticket_id", "at", "actor", "role", "action", "from_status", "to_status", "details"]
    assert fks[0]["referred_table"] == "tickets" and fks[0]["constrained_columns"] == ["ticket_id"]


async def test_full_loop_from_a_real_intake_writes_history(store):
    # through the intake, so the mapping's new columns work for the existing insert path
    rec = CallRecord(linkedid="node1-loop", caller="13900139000", dialed="12366", department="tax",
                     started_at=SEP30.timestamp(), answered_at=SEP30.timestamp() + 5,
                     ended_at=SEP30.timestamp() + 60, agent="agent1002", disposition=Disposition.ANSWERED)
    tid, created = await store.ingest(rec, "journal")
    assert created
    before = await row(store, tid)
    assert before.owner is None and before.escalated is False  # server default
    t0 = datetime.now(UTC)
    steps = [("dispatch", "agent1002", "agent", {"department": "tax", "category": "complaint"}),
             ("accept", "tax/zhang", "department", {}),
             ("reply", "tax/zhang", "department", {"text": "退款已于3月3日支付"}),
             ("inform", "agent1002", "agent", {}),
             ("follow_up", "agent1002", "agent", {"result": "basically_satisfied"}),
             ("close", "agent1002", "agent", {})]
    for action, actor, role, args in steps:
        view = await store.transition(tid, action, actor, role, **args)
        assert view["history"]["action"] == action and view["history"]["actor"] == actor
    assert view["status"] == "closed" and view["actions"] == []
    t = await row(store, tid)
    assert (t.status, t.owner, t.department, t.category, t.reply, t.satisfaction, t.escalated) == (
        "closed", "agent1002", "tax", "complaint", "退款已于3月3日支付", "basically_satisfied", False)
    items = await store.history(tid)
    assert [(h["action"], h["actor"], h["role"], h["from_status"], h["to_status"]) for h in items] == [
        ("dispatch", "agent1002", "agent", "new", "dispatched"),
        ("accept", "tax/zhang", "department", "dispatched", "accepted"),
        ("reply", "tax/zhang", "department", "accepted", "replied"),
        ("inform", "agent1002", "agent", "replied", "informed"),
        ("follow_up", "agent1002", "agent", "informed", "follow_up"),
        ("close", "agent1002", "agent", "follow_up", "closed")]
    assert items[0]["details"]["category"] == "complaint" and items[0]["details"]["owner"] == "agent1002"
    assert items[0]["details"]["due_at"] == view["due_at"]
    assert items[2]["details"] == {"text": "退款已于3月3日支付"}
    for h in items:
        at = datetime.fromisoformat(h["at"])
        assert at.tzinfo is not None and t0 - timedelta(seconds=1) <= at <= datetime.now(UTC)
    assert [h["id"] for h in items] == sorted(h["id"] for h in items)


async def test_dispatch_sets_the_deadline_from_the_created_date(store):
    tid = await new_ticket(store, created=SEP30)
    view = await store.transition(tid, "dispatch", "agent1002", "agent", department="tax", category="complaint",
                                  now=SEP30)
    # 7 working days: 8, 9, 10 (make-up Saturday), 12, 13, 14, 15 October
    assert datetime.fromisoformat(view["due_at"]) == local("2026-10-15", 0) + timedelta(days=1, microseconds=-1)
    assert view["deadline"] == "ok"
    assert (await store.ticket_status(str(tid))) == ("dispatched", "2026-10-15")


async def test_the_owner_is_the_agent_who_took_the_call(store):
    tid = await new_ticket(store, agent="agent1002")
    with pytest.raises(wf.NotOwner):
        await store.transition(tid, "answer_on_spot", "agent1003", "agent", text="x")
    assert (await row(store, tid)).status == "new" and await store.history(tid) == []
    view = await store.transition(tid, "escalate", "sup1", "supervisor", reason="leadership")
    assert view["owner"] == "agent1002" and view["escalated"] and view["status"] == "new"
    assert (await row(store, tid)).owner == "agent1002"  # written down on the first change


async def test_an_unowned_ticket_is_taken_by_the_first_agent(store):
    tid = await new_ticket(store, agent=None)  # voicemail: no agent answered
    view = await store.transition(tid, "answer_on_spot", "agent1005", "agent", text="call back done",
                                  category="consultation")
    assert view["owner"] == "agent1005" and view["status"] == "answered" and view["reply"] == "call back done"
    assert (await store.history(tid))[0]["details"]["owner"] == "agent1005"
    with pytest.raises(wf.NotOwner):
        await store.transition(tid, "close", "agent1002", "agent")


async def test_refusals_change_nothing(store):
    tid = await new_ticket(store)
    with pytest.raises(wf.TransitionRefused) as e:
        await store.transition(tid, "accept", "tax", "department")
    assert e.value.id == "transition-refused" and "cannot accept a ticket that is new" in str(e.value)
    with pytest.raises(wf.RoleNotAllowed):
        await store.transition(tid, "dispatch", "tax", "department", department="tax", category="report")
    await store.transition(tid, "dispatch", "agent1002", "agent", department="tax", category="report")
    with pytest.raises(wf.NotOwnDepartment):
        await store.transition(tid, "accept", "housing/li", "department")
    with pytest.raises(wf.BadRequest, match="return requires reason"):
        await store.transition(tid, "return", "tax", "department")
    assert [h["action"] for h in await store.history(tid)] == ["dispatch"]
    assert (await row(store, tid)).status == "dispatched"


async def test_missing_ticket(store):
    with pytest.raises(NotFound):
        await store.transition(999999, "close", "sup1", "supervisor")
    with pytest.raises(NotFound):
        await store.history(999999)


async def race(store: Store, ticket_id: int, their_change: dict, our_change: dict):
    """Another process makes `their_change` between our read and our write of `our_change`:
    returns (what they got, the error we got)."""
    other = Store(store.url)  # a second process, its own connections
    original = Store._wf_read
    raced = []

    async def read_then_race(self, s, tid):
        got = await original(self, s, tid)
        if self is store and not raced:
            raced.append(await other.transition(tid, **their_change))
        return got

    try:
        store._wf_read = read_then_race.__get__(store)
        with pytest.raises(wf.StaleUpdate) as e:
            await store.transition(ticket_id, **our_change)
    finally:
        del store._wf_read
        await other.close()
    return raced[0], e.value


async def test_stale_update_is_refused(store):
    """Another writer changes the ticket between our read and our write: refused."""
    tid = await new_ticket(store)
    await store.transition(tid, "dispatch", "agent1002", "agent", department="tax", category="complaint")
    theirs, err = await race(store, tid, dict(action="return", actor="tax/wu", role="department", reason="not ours"),
                             dict(action="accept", actor="tax/zhang", role="department"))
    assert err.id == "stale-update" and err.status == 409 and "changed while accept was decided (it was dispatched)" in str(err)
    assert theirs["status"] == "returned"
    assert [h["action"] for h in await store.history(tid)] == ["dispatch", "return"]
    assert (await row(store, tid)).status == "returned"


async def test_stale_update_without_a_status_change_is_refused(store):
    """escalate does not change the status: the version stamp still catches the race."""
    tid = await new_ticket(store)
    await race(store, tid, dict(action="escalate", actor="sup2", role="supervisor", reason="first"),
               dict(action="escalate", actor="sup1", role="supervisor", reason="second"))
    # the first change also writes down the owner (the agent who took the call)
    assert [(h["actor"], h["details"]) for h in await store.history(tid)] == [
        ("sup2", {"reason": "first", "owner": "agent1002"})]

async def test_concurrent_accepts_one_wins(store):
    tid = await new_ticket(store)
    await store.transition(tid, "dispatch", "agent1002", "agent", department="tax", category="complaint")
    results = await asyncio.gather(*(store.transition(tid, "accept", f"tax/p{i}", "department") for i in range(4)),
                                   return_exceptions=True)
    ok = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, wf.TransitionRefused)]  # stale-update is one too
    assert len(ok) == 1 and len(refused) == 3, results
    assert [h["action"] for h in await store.history(tid)] == ["dispatch", "accept"]


async def test_supervise_only_when_overdue(store):
    tid = await new_ticket(store, created=SEP30)
    await store.transition(tid, "dispatch", "agent1002", "agent", department="tax", category="complaint", now=SEP30)
    with pytest.raises(wf.TransitionRefused, match="not overdue"):
        await store.transition(tid, "supervise", "sup1", "supervisor", note="hurry", now=local("2026-10-15", 23))
    view = await store.transition(tid, "supervise", "sup1", "supervisor", note="hurry", now=local("2026-10-16", 0))
    assert view["status"] == "dispatched" and view["deadline"] == "overdue"
    await store.transition(tid, "accept", "tax", "department", now=local("2026-10-16", 9))
    await store.transition(tid, "supervise", "sup1", "supervisor", note="still late", now=local("2026-10-16", 10))
    assert [h["action"] for h in await store.history(tid)] == ["dispatch", "supervise", "accept", "supervise"]


async def test_overdue_list_per_department(store):
    ids = {}
    for name, dept, category in [("consult", "tax", "consultation"), ("complaint", "tax", "complaint"),
                                 ("report", "tax", "report"), ("replied", "tax", "consultation"),
                                 ("housing", "housing", "consultation")]:
        tid = await new_ticket(store, created=SEP30, department=None)
        await store.transition(tid, "dispatch", "agent1002", "agent", department=dept, category=category, now=SEP30)
        ids[name] = tid
    await store.transition(ids["complaint"], "accept", "tax", "department", now=SEP30)
    await store.transition(ids["replied"], "accept", "tax", "department", now=SEP30)
    await store.transition(ids["replied"], "reply", "tax", "department", text="done", now=SEP30)
    never = await new_ticket(store, created=SEP30)  # new, no deadline yet

    # Friday 16 October: the consultation (due Thu 8) and the complaint (due Thu 15) are late
    late = await store.overdue("tax", local("2026-10-16"))
    assert [t["id"] for t in late] == [ids["consult"], ids["complaint"]]
    assert [t["working_days_late"] for t in late] == [7, 1]  # 9, 10 (make-up), 12, 13, 14, 15, 16
    assert {t["deadline"] for t in late} == {"overdue"} and late[1]["status"] == "accepted"
    assert [t["id"] for t in await store.overdue("housing", local("2026-10-16"))] == [ids["housing"]]
    assert await store.overdue("ecology", local("2026-10-16")) == []

    # Wednesday 14 October: the complaint is due tomorrow (warning), the consultation late
    early = await store.overdue("tax", local("2026-10-14"), warnings=True)
    assert [(t["id"], t["deadline"]) for t in early] == [(ids["consult"], "overdue"), (ids["complaint"], "warning")]
    assert [t["id"] for t in await store.overdue("tax", local("2026-10-14"))] == [ids["consult"]]
    # during the holiday nothing is late yet; the consultation is due on the 8th, the next working day
    assert [(t["id"], t["deadline"]) for t in await store.overdue("tax", local("2026-10-05"), warnings=True)] == [
        (ids["consult"], "warning")]
    assert never not in [t["id"] for t in await store.overdue("tax", local("2027-01-01"))]


async def test_reopened_ticket_gets_a_new_deadline_from_the_reopen_day(store):
    tid = await new_ticket(store, created=SEP30)
    await store.transition(tid, "answer_on_spot", "agent1002", "agent", text="x", now=SEP30)
    await store.transition(tid, "close", "agent1002", "agent", now=SEP30)
    await store.transition(tid, "reopen", "sup1", "supervisor", reason="called again", now=local("2026-11-27"))
    view = await store.transition(tid, "dispatch", "agent1002", "agent", department="tax", category="consultation",
                                  now=local("2026-11-27"))
    assert view["due_at"].startswith("2026-11-30T15:59:59")  # Friday + 1 working day = Monday, end of day
    assert view["deadline"] == "warning"


async def test_history_rows_are_in_the_table(store):
    tid = await new_ticket(store)
    await store.transition(tid, "escalate", "agent1002", "agent", reason="mayor's office")
    async with store.sessions() as s:
        rows = (await s.scalars(select(TicketHistory).where(TicketHistory.ticket_id == tid))).all()
    assert [(r.actor, r.role, r.action, r.from_status, r.to_status, r.details) for r in rows] == [
        ("agent1002", "agent", "escalate", "new", "new", {"reason": "mayor's office", "owner": "agent1002"})]


async def test_token_identity(store):
    tok = await store.create_token("department", "tax/zhang")
    assert await store.token_identity(tok) == ("department", "tax/zhang")
    assert await store.token_identity("nope") is None


async def test_migration_0004_backfills_owner_and_downgrades(store):
    from pathlib import Path

    from alembic import command
    from alembic.config import Config
    cfg = Config(str(Path(__file__).parents[2] / "db" / "alembic.ini"))

    def to(rev):
        def run(conn):
            cfg.attributes["connection"] = conn
            (command.downgrade if rev == "0003" else command.upgrade)(cfg, rev)
        return run

    async with store.engine.begin() as c:
        await c.run_sync(to("0003"))
        assert "ticket_history" not in await c.run_sync(lambda sc: inspect(sc).get_table_names())
        await c.execute(text("INSERT INTO call_records (linkedid, node, caller, caller_name, dialed, ivr_path,"
                             " started_at, ended_at, disposition, agent, fallback, journal, callback_requested,"
                             " channel) VALUES ('old-1', '', '1', '', '12345', '[]', :t, :t, 'answered',"
                             " 'agent1004', false, '', false, '')"), {"t": SEP30})
        await c.execute(text("INSERT INTO tickets (linkedid, caller, dialed, status, created_at, updated_at)"
                             " VALUES ('old-1', '1', '12345', 'new', :t, :t)"), {"t": SEP30})
        await c.run_sync(to("head"))
    async with store.sessions() as s:
        t = await s.scalar(select(Ticket).where(Ticket.linkedid == "old-1"))
    assert (t.owner, t.escalated, t.reply, t.satisfaction) == ("agent1004", False, None, None)


async def test_clock_calendar_and_days_from_the_composition_root(store):
    from datetime import date

    from hours.model import Calendar, Override
    store.clock = lambda: SEP30
    store.calendar = Calendar(overrides=(Override(date(2026, 10, 10), False, "no make-up here"),))
    store.deadline_days = {"complaint": 7}
    tid = await new_ticket(store, created=SEP30)
    view = await store.transition(tid, "dispatch", "agent1002", "agent", department="tax", category="complaint")
    assert view["due_at"].startswith("2026-10-16T15:59:59")  # the 10th no longer counts
    assert (await store.history(tid))[0]["at"].startswith("2026-09-30T02:00:00")
    store.clock = lambda: local("2026-10-17")
    assert [t["id"] for t in await store.overdue("tax")] == [tid]
    store.deadline_days = {"complaint": 1}
    tid2 = await new_ticket(store, created=SEP30)
    view = await store.transition(tid2, "dispatch", "agent1002", "agent", department="tax", category="complaint")
    assert view["due_at"].startswith("2026-10-08T15:59:59") and view["deadline"] == "overdue"


async def test_a_status_outside_the_workflow_is_refused_not_a_crash(store):
    tid = await new_ticket(store)
    async with store.sessions.begin() as s:
        await s.execute(text("UPDATE tickets SET status = 'archived' WHERE id = :i"), {"i": tid})
    with pytest.raises(wf.TransitionRefused, match="archived: not a workflow status"):
        await store.transition(tid, "escalate", "sup1", "supervisor", reason="x")
    assert await store.history(tid) == []


async def test_dispatch_records_the_district_for_the_digest(store):
    from tickets.store import digest_rows
    tid = await new_ticket(store, agent="agent1002")
    view = await store.transition(tid, "dispatch", "agent1002", "agent", department="ecology", category="report",
                                  district="海淀区", now=SEP30)
    assert view["district"] == "海淀区" and (await row(store, tid)).district == "海淀区"
    rows = await digest_rows(store, SEP30.timestamp() - 10, SEP30.timestamp() + 10)
    assert [(r["district"], r["category"], r["department"]) for r in rows] == [("海淀区", "report", "ecology")]
