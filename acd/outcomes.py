"""What became of a callback, written on the ticket of the call it calls back: each attempt's
result (reached, no answer, busy, ...) and a missed call taken off the list because the citizen
got through, as history rows `callback` (the ticket's status does not change).

The ACD logs the facts as events; this follows the event log (`on_event`, sync, never
blocking the logger) and writes in its own task. The abandoned call's ticket opens when its
record is folded, a moment after the hang-up, and a callback can be quicker: a row waits for
its ticket (up to `wait_seconds`) instead of being lost.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import select

from core import events as ev
from db.database import DB_ERRORS
from db.models import Ticket, TicketHistory

log = logging.getLogger(__name__)

FOLLOWED = frozenset({ev.CALLBACK_DONE, ev.CALLBACK_FAILED, ev.CALLBACK_CANCELLED, ev.MISSED_LISTED})


def details(e: ev.Event) -> dict:
    """The history row's details for one event."""
    if e.kind == ev.MISSED_LISTED:
        return {"result": "listed", "missed": True, "waited": e.data.get("waited"), "where": e.data.get("where")}
    if e.kind == ev.CALLBACK_CANCELLED:
        return {"result": "cancelled", "reason": e.data.get("reason"), "call": e.data.get("call"), "missed": True}
    reached = e.kind == ev.CALLBACK_DONE
    return {"result": "reached" if reached else "not reached", "status": e.data.get("status"),
            "attempt": e.data.get("attempt"), "agent": e.agent, "missed": bool(e.data.get("missed")),
            "last": bool(e.data.get("last", reached))}


class CallbackOutcomes:
    def __init__(self, store, *, wait_seconds: float = 60.0, clock=lambda: datetime.now(UTC)):
        self.store = store
        self.wait_seconds = wait_seconds
        self.clock = clock
        self._todo: asyncio.Queue[ev.Event] = asyncio.Queue(maxsize=10_000)
        self.written = 0

    def on_event(self, e: ev.Event) -> None:
        if e.kind in FOLLOWED and e.linkedid:
            try:
                self._todo.put_nowait(e)
            except asyncio.QueueFull:
                log.warning("callback outcomes: backlog full, %s of %s not written", e.kind, e.linkedid)

    async def run(self) -> None:
        while True:
            e = await self._todo.get()
            await self._write(e)

    async def _write(self, e: ev.Event) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while True:
            try:
                async with self.store.sessions.begin() as s:
                    t = (await s.execute(select(Ticket.id, Ticket.status).where(Ticket.linkedid == e.linkedid))).first()
                    if t is not None:
                        s.add(TicketHistory(ticket_id=t[0], at=self.clock(), actor=f"acd:{e.agent or 'centre'}",
                                            role="acd", action="callback", from_status=t[1], to_status=t[1],
                                            details=details(e)))
                        self.written += 1
                        return
            except DB_ERRORS as err:
                log.info("callback outcomes: %s of %s waits for the database: %s", e.kind, e.linkedid,
                         type(err).__name__)
            if loop.time() >= deadline:
                log.warning("callback outcomes: no ticket for %s within %.0f s: %s not written", e.linkedid,
                            self.wait_seconds, e.kind)
                return
            await asyncio.sleep(1.0)
