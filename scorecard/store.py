"""The rows a month's scorecard is computed from (scorecard/figures.py): the workflow history
of the tickets dispatched in the month, the answered calls, the on-the-spot answers."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from core.errors import DatabaseUnavailable
from db.database import DB_ERRORS, _ts
from db.models import CallRecord, Ticket, TicketHistory

ACTIONS = ("dispatch", "accept", "return", "reply", "reopen", "follow_up", "extend")


def _epoch(dt: datetime | None) -> float | None:
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _details(action: str, details: dict | None) -> dict:
    d = dict(details or {})
    if d.get("due_at"):   # stored as ISO text; the figures compare epochs
        d["due_at"] = _epoch(datetime.fromisoformat(d["due_at"]))
    return d


async def rows(store, since: float, until: float) -> tuple[list[dict], list[dict], list[dict]]:
    dispatched = (select(TicketHistory.ticket_id).where(TicketHistory.action == "dispatch",
                                                        TicketHistory.at >= _ts(since), TicketHistory.at < _ts(until)))
    hq = (select(TicketHistory.ticket_id, TicketHistory.at, TicketHistory.action, TicketHistory.details)
          .where(TicketHistory.ticket_id.in_(dispatched), TicketHistory.action.in_(ACTIONS))
          .order_by(TicketHistory.ticket_id, TicketHistory.id))
    cq = (select(CallRecord.agent, CallRecord.talk_seconds, CallRecord.rating)
          .where(CallRecord.started_at >= _ts(since), CallRecord.started_at < _ts(until),
                 CallRecord.answered_at.is_not(None), CallRecord.agent.is_not(None)))
    sq = (select(CallRecord.agent).select_from(TicketHistory)
          .join(Ticket, Ticket.id == TicketHistory.ticket_id)
          .join(CallRecord, CallRecord.linkedid == Ticket.linkedid)
          .where(TicketHistory.action == "answer_on_spot", TicketHistory.at >= _ts(since),
                 TicketHistory.at < _ts(until)))
    try:
        async with store.engine.connect() as conn:
            history = [{"ticket": t, "at": _epoch(at), "action": a, "details": _details(a, d)}
                       for t, at, a, d in (await conn.execute(hq)).all()]
            calls = [{"agent": a, "talk_seconds": talk, "rating": rating}
                     for a, talk, rating in (await conn.execute(cq)).all()]
            on_spot = [{"agent": a} for (a,) in (await conn.execute(sq)).all()]
    except DB_ERRORS as e:
        raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
    return history, calls, on_spot
