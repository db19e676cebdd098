"""The survey_calls table: what the survey scheduler (tickets/survey.py) reads and writes.

Every write that moves a row out of a state names that state in its WHERE clause, so two
engines on one database (or a late AMI event) can never both act on the same call."""
from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import func, select, update

from core.errors import Conflict, DatabaseUnavailable

from db.models import CallRecord as CallRow, SurveyCall, Ticket
from db.database import DB_ERRORS, Database, _iso
from tickets.store import ticket_json
from surveys.schedule import CALLING, EXHAUSTED, OPEN, SCHEDULED, SURVEYED

def row_json(r: SurveyCall) -> dict:
    return {"id": r.id, "ticket": r.ticket_id, "state": r.state, "reason": r.reason, "attempts": r.attempts,
            "due_at": _iso(r.due_at), "call": r.call_id, "called_at": _iso(r.called_at),
            "answered_at": _iso(r.answered_at), "result": r.result, "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at)}

class SurveyCalls:
    def __init__(self, store: Database):
        self.store = store

    @asynccontextmanager
    async def _tx(self):
        try:
            async with self.store.sessions.begin() as s:
                yield s
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e

    async def _change(self, where, now: datetime, **values) -> bool:
        async with self._tx() as s:
            res = await s.execute(update(SurveyCall).where(*where).values(updated_at=now, **values)
                                  .execution_options(synchronize_session=False))
            return res.rowcount == 1

    # -- inside a ticket's workflow transaction (Store.in_transition) ------------------
    @staticmethod
    async def schedule_in(s, ticket_id: int, reason: str, due_at: datetime, now: datetime) -> bool:
        """A scheduled survey unless the ticket has an open one already (False then)."""
        open_id = await s.scalar(select(SurveyCall.id).where(SurveyCall.ticket_id == ticket_id,
                                                             SurveyCall.state.in_(OPEN)))
        if open_id is not None:
            return False
        s.add(SurveyCall(ticket_id=ticket_id, state=SCHEDULED, reason=reason, attempts=0, due_at=due_at,
                         created_at=now, updated_at=now))
        await s.flush()
        return True

    @staticmethod
    async def close_open_in(s, ticket_id: int, state: str, result: str | None, now: datetime) -> None:
        await s.execute(update(SurveyCall).where(SurveyCall.ticket_id == ticket_id, SurveyCall.state.in_(OPEN))
                        .values(state=state, result=result, due_at=None, updated_at=now)
                        .execution_options(synchronize_session=False))

    # -- the scheduler ---------------------------------------------------------------
    async def due(self, now: datetime, limit: int = 20) -> list[dict]:
        async with self._tx() as s:
            rows = (await s.scalars(select(SurveyCall).where(SurveyCall.state == SCHEDULED,
                                                             SurveyCall.due_at <= now)
                                    .order_by(SurveyCall.due_at, SurveyCall.id).limit(limit))).all()
        return [row_json(r) for r in rows]

    async def unanswered_since(self, before: datetime) -> list[dict]:
        """Calls placed before `before` that still wait for a result."""
        async with self._tx() as s:
            rows = (await s.scalars(select(SurveyCall).where(SurveyCall.state == CALLING,
                                                             SurveyCall.called_at < before))).all()
        return [row_json(r) for r in rows]

    async def claim(self, row_id: int, call_id: str, now: datetime) -> bool:
        """scheduled -> calling with this call id; False when someone else took it first."""
        return await self._change((SurveyCall.id == row_id, SurveyCall.state == SCHEDULED), now,
                                  state=CALLING, call_id=call_id, called_at=now, answered_at=None,
                                  attempts=SurveyCall.attempts + 1)

    async def take(self, ticket_id: int, call_id: str, now: datetime) -> None:
        """For a call placed by hand: the ticket's scheduled survey becomes this call, or a new
        row is opened for it. Conflict when a survey call of the ticket is under way."""
        async with self._tx() as s:
            row = await s.scalar(select(SurveyCall).where(SurveyCall.ticket_id == ticket_id,
                                                          SurveyCall.state.in_(OPEN)))
            if row is not None and row.state == CALLING:
                raise Conflict(f"a survey call for ticket {ticket_id} is already under way")
            if row is None:
                s.add(SurveyCall(ticket_id=ticket_id, state=CALLING, reason="manual", attempts=1, due_at=now,
                                 call_id=call_id, called_at=now, created_at=now, updated_at=now))
            else:
                row.state, row.call_id, row.called_at, row.answered_at = CALLING, call_id, now, None
                row.attempts, row.updated_at = row.attempts + 1, now

    async def release(self, call_id: str, now: datetime) -> None:
        """The call was never placed (Asterisk unreachable): not the citizen's fault, so the
        attempt does not count and the row is due again."""
        await self._change((SurveyCall.call_id == call_id, SurveyCall.state == CALLING), now,
                           state=SCHEDULED, call_id=None, called_at=None, attempts=SurveyCall.attempts - 1)

    async def answered(self, call_id: str, now: datetime) -> None:
        await self._change((SurveyCall.call_id == call_id, SurveyCall.state == CALLING), now, answered_at=now)

    async def end_attempt(self, call_id: str, state: str, due_at: datetime | None, result: str,
                          now: datetime) -> bool:
        return await self._change((SurveyCall.call_id == call_id, SurveyCall.state == CALLING), now,
                                  state=state, due_at=due_at, result=result)

    async def settle(self, row_id: int, state: str, result: str, now: datetime) -> bool:
        """An open survey that cannot go on (failed, cancelled)."""
        return await self._change((SurveyCall.id == row_id, SurveyCall.state.in_(OPEN)), now,
                                  state=state, due_at=None, result=result)

    async def postpone(self, row_id: int, due_at: datetime, now: datetime) -> bool:
        return await self._change((SurveyCall.id == row_id, SurveyCall.state == SCHEDULED), now, due_at=due_at)

    # -- reads -------------------------------------------------------------------------
    async def by_call(self, call_id: str) -> dict | None:
        async with self._tx() as s:
            r = await s.scalar(select(SurveyCall).where(SurveyCall.call_id == call_id))
        return None if r is None else row_json(r)

    async def for_ticket(self, ticket_id: int) -> list[dict]:
        """The ticket's surveys, oldest first."""
        async with self._tx() as s:
            rows = (await s.scalars(select(SurveyCall).where(SurveyCall.ticket_id == ticket_id)
                                    .order_by(SurveyCall.id))).all()
        return [row_json(r) for r in rows]

    async def followups(self, limit: int = 50, offset: int = 0) -> list[dict]:
        """Tickets whose survey used every attempt and that nobody has followed up since:
        the agents' list of citizens to call in person, the longest waiting first."""
        latest = select(func.max(SurveyCall.id)).group_by(SurveyCall.ticket_id)
        q = (select(SurveyCall, Ticket, CallRow).join(Ticket, Ticket.id == SurveyCall.ticket_id)
             .outerjoin(CallRow, CallRow.linkedid == Ticket.linkedid)
             .where(SurveyCall.id.in_(latest), SurveyCall.state.in_(EXHAUSTED), Ticket.status.in_(SURVEYED))
             .order_by(SurveyCall.updated_at, SurveyCall.id).limit(limit).offset(offset))
        async with self._tx() as s:
            rows = (await s.execute(q)).all()
        return [{**ticket_json(t, c), "survey": row_json(r)} for r, t, c in rows]
