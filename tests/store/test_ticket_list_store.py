"""The ticket list (GET /api/v1/tickets, the callback list) on SQLite and PostgreSQL: the
fast list path gives every ticket exactly as the single-ticket read does, field for field and
in the same order, with and without a call record; filters, paging and order hold."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calls.record import CallRecord, Disposition
from db.models import Ticket


T0 = datetime(2026, 9, 30, 2, 0, 5, 250000, tzinfo=UTC).timestamp()


def rec(i: int, **kw) -> CallRecord:
    base = dict(linkedid=f"list-{i}", node="node1", caller=f"1380000{i:04d}", dialed="12345", language="yue",
                department="tax", ivr_path=[{"node": "lang", "input": "2", "t": 1.5},
                                            {"node": "kb", "input": "17", "t": 9.25}],
                started_at=T0 + i, answered_at=T0 + i + 12.5, ended_at=T0 + i + 60, wait_seconds=4.5,
                agent="agent1002", talk_seconds=47.5, queue="hl-tax", recording=f"r-{i}.wav",
                disposition=Disposition.ANSWERED, fallback=True, callback_requested=True)
    base.update(kw)
    return CallRecord(**base)


async def test_list_items_are_the_single_ticket_reads_field_for_field(store):  # noqa: F811
    await store.ingest_many([(rec(1), "journal text"), (rec(2, answered_at=None, agent=None, talk_seconds=None,
                                                            wait_seconds=None, recording=None,
                                                            disposition=Disposition.ABANDONED_IN_IVR,
                                                            fallback=False, callback_requested=False), "")])
    async with store.sessions.begin() as s:   # a ticket without a call (a fax or a hand-made one)
        s.add(Ticket(linkedid=None, caller="", dialed="", status="new", category="callback_needed",
                     department="tax", created_at=datetime.fromtimestamp(T0, UTC),
                     updated_at=datetime.fromtimestamp(T0, UTC),
                     due_at=datetime.fromtimestamp(T0, UTC) + timedelta(days=1)))
    items = await store.tickets(limit=50)
    assert len(items) == 3 and [t["id"] for t in items] == sorted((t["id"] for t in items), reverse=True)
    for t in items:
        assert list(t.items()) == list((await store.ticket(t["id"])).items())
    bare = items[0]
    assert (bare["ivr_path"], bare["fallback"], bare["callback_requested"], bare["agent"]) == ([], False, False, None)
    answered = next(t for t in items if t["linkedid"] == "list-1")
    assert answered["ivr_path"][1] == {"node": "kb", "input": "17", "t": 9.25}
    assert answered["fallback"] is True and answered["started_at"].endswith("+00:00")
    callbacks = await store.callbacks("tax")   # the booked callback and the bare ticket
    assert {t["id"] for t in callbacks} == {bare["id"], answered["id"]}
    for t in callbacks:
        assert list(t.items()) == list((await store.ticket(t["id"])).items())


async def test_filters_and_paging(store):  # noqa: F811
    await store.ingest_many([(rec(i, dialed="12366" if i % 2 else "12345"), "") for i in range(10)])
    assert [t["linkedid"] for t in await store.tickets(caller="13800000003")] == ["list-3"]
    assert [t["linkedid"] for t in await store.tickets(linkedid="list-7")] == ["list-7"]
    assert await store.tickets(linkedid="list-7", caller="13800000003") == []
    odd = await store.tickets(dialed="12366", limit=2, offset=1)
    assert [t["linkedid"] for t in odd] == ["list-7", "list-5"]
    everything = await store.tickets(limit=500)
    assert [t["linkedid"] for t in everything] == [f"list-{i}" for i in range(9, -1, -1)]
    assert [t["id"] for t in await store.tickets(limit=3, offset=3)] == [t["id"] for t in everything[3:6]]
    assert await store.tickets(offset=10) == []
