"""The digest's on-time figures from the real workflow history, on SQLite and PostgreSQL:
a reply at the very end of the due date is on time, one a second later is late."""
from __future__ import annotations

from datetime import datetime, timedelta

from reports import on_time
from tickets.store import dispatch_history

from .helpers import SEP30, new_ticket


async def replied(store, at_offset: timedelta) -> None:  # noqa: F811
    tid = await new_ticket(store, created=SEP30)
    view = await store.transition(tid, "dispatch", "agent1002", "agent", department="tax", category="complaint",
                                  now=SEP30)
    due = datetime.fromisoformat(view["due_at"])   # the end of the due date, to the microsecond
    await store.transition(tid, "accept", "tax", "department", now=SEP30)
    await store.transition(tid, "reply", "tax", "department", text="已办", now=due + at_offset)


async def test_replies_at_the_deadline_are_on_time_later_ones_late(store):  # noqa: F811
    await replied(store, timedelta(0))
    await replied(store, timedelta(seconds=1))
    await replied(store, timedelta(days=-3))
    since, until = SEP30.timestamp() - 3600, SEP30.timestamp() + 3600
    history = await dispatch_history(store, since, until)
    figures = on_time.by_department(history, since, until, now=until + 60 * 86400)
    assert figures["tax"] == {"dispatched": 3, "on_time": 2, "late": 1, "returned": 0, "pending": 0,
                              "on_time_rate": 0.6667}
    assert await dispatch_history(store, until, until + 3600) == []   # nothing dispatched then
