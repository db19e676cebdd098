"""What the supervisor console reads and writes beside the workflow: objections (tickets a
department returned), the overdue, escalated and recently closed lists, hot topics, and
linking tickets as one event."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from core.errors import BadRequest, DatabaseUnavailable, NotFound
from db.database import DB_ERRORS, _iso
from db.models import Ticket, TicketHistory
from tickets import deadlines as dl, workflow as wf

OPEN = [s.value for s in wf.Status if s not in (wf.Status.CLOSED, wf.Status.MERGED)]


def _epoch(dt: datetime | None) -> float | None:
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _row(t: Ticket, now: datetime, cal) -> dict:
    held = t.status in wf.HELD_BY_DEPARTMENT and t.due_at is not None
    out = {"id": t.id, "status": t.status, "subject": t.subject, "address": t.address, "district": t.district,
           "department": t.department, "category": t.category, "owner": t.owner, "escalated": bool(t.escalated),
           "created_at": _iso(t.created_at), "due_at": _iso(t.due_at), "event_of": t.event_of,
           "deadline": dl.state_at(t.due_at, now, cal) if held else None}
    if held:
        out["working_days_left"] = dl.working_days_left(dl.local_date(t.due_at, cal), dl.local_date(now, cal), cal)
    return out


class ConsoleStore:
    def __init__(self, store):
        self.store = store

    async def _rows(self, q) -> list:
        try:
            async with self.store.sessions() as s:
                return list((await s.execute(q)).all())
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e

    async def objections(self, limit: int = 200) -> list[dict]:
        """Tickets a department returned, waiting for a supervisor: the department's reason,
        who returned it and when (the last return of each)."""
        now, cal = self.store._wf_now(), self.store._wf_calendar()
        last = (select(TicketHistory.ticket_id, func.max(TicketHistory.id).label("hid"))
                .where(TicketHistory.action == wf.Act.RETURN.value).group_by(TicketHistory.ticket_id).subquery())
        q = (select(Ticket, TicketHistory).join(last, last.c.ticket_id == Ticket.id)
             .join(TicketHistory, TicketHistory.id == last.c.hid)
             .where(Ticket.status == wf.Status.RETURNED.value).order_by(TicketHistory.at, Ticket.id).limit(limit))
        out = []
        for t, h in await self._rows(q):
            out.append({**_row(t, now, cal), "reason": (h.details or {}).get("reason"), "returned_by": h.actor,
                        "returned_at": _iso(h.at), "returned_from": t.department})
        return out

    async def lists(self, limit: int = 200) -> dict:
        """The console's lists: overdue (and due within a working day) while a department holds
        them, escalated open tickets, and the latest closed ones (to reopen)."""
        now, cal = self.store._wf_now(), self.store._wf_calendar()
        held = (select(Ticket).where(Ticket.status.in_([s.value for s in wf.HELD_BY_DEPARTMENT]),
                                     Ticket.due_at.is_not(None), Ticket.due_at < now + timedelta(days=4))
                .order_by(Ticket.due_at, Ticket.id).limit(limit))
        escalated = (select(Ticket).where(Ticket.escalated.is_(True), Ticket.status.in_(OPEN))
                     .order_by(Ticket.id.desc()).limit(limit))
        closed = select(Ticket).where(Ticket.status == wf.Status.CLOSED.value).order_by(Ticket.updated_at.desc(),
                                                                                        Ticket.id.desc()).limit(50)
        late = [_row(t, now, cal) for (t,) in await self._rows(held)]
        for item in late:
            if item["deadline"] == dl.OVERDUE:
                item["working_days_late"] = -item["working_days_left"]
        return {"overdue": [i for i in late if i["deadline"] == dl.OVERDUE],
                "due_soon": [i for i in late if i["deadline"] == dl.WARNING],
                "escalated": [_row(t, now, cal) for (t,) in await self._rows(escalated)],
                "closed": [_row(t, now, cal) for (t,) in await self._rows(closed)]}

    async def open_since(self, days: int) -> list[dict]:
        """Open tickets created in the last `days` days (the hot topics' input)."""
        now = self.store._wf_now()
        q = (select(Ticket.id, Ticket.subject, Ticket.address, Ticket.district, Ticket.created_at, Ticket.event_of,
                    Ticket.status)
             .where(Ticket.status.in_(OPEN), Ticket.created_at >= now - timedelta(days=days))
             .order_by(Ticket.id).limit(5000))
        return [{"id": r[0], "subject": r[1], "address": r[2], "district": r[3], "created_at": _epoch(r[4]),
                 "event_of": r[5], "status": r[6]} for r in await self._rows(q)]

    async def link_event(self, ids: list[int], who: wf.Actor) -> dict:
        """Mark tickets as one event: each points at the event's first ticket (`event_of`),
        one history row `link_event` per ticket. Tickets already in an event bring it along:
        the result is one event."""
        if (not isinstance(ids, list) or not 2 <= len(ids) <= 500
                or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in ids)):
            raise BadRequest("tickets must be a list of 2-500 ticket ids", field="tickets")
        now = self.store._wf_now()
        ids = sorted(set(ids))
        try:
            async with self.store.sessions.begin() as s:
                rows = (await s.scalars(select(Ticket).where(Ticket.id.in_(ids)))).all()
                missing = set(ids) - {t.id for t in rows}
                if missing:
                    raise NotFound(f"no ticket {min(missing)}")
                lead = min([t.id for t in rows] + [t.event_of for t in rows if t.event_of])
                already = [t.event_of for t in rows if t.event_of]
                members = set(ids)
                if already:   # the tickets of the events they were in already
                    members |= set((await s.scalars(select(Ticket.id).where(Ticket.event_of.in_(already)))).all())
                    members |= set(already)
                await s.execute(update(Ticket).where(Ticket.id.in_(sorted(members)))
                                .values(event_of=lead).execution_options(synchronize_session=False))
                for t in rows:
                    s.add(TicketHistory(ticket_id=t.id, at=now, actor=who.name, role=who.role, action="link_event",
                                        from_status=t.status, to_status=t.status,
                                        details={"event": lead, "tickets": ids}))
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        return {"event": lead, "tickets": sorted(members)}
