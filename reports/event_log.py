"""The append-only event log in the database (table `events`), fed by the engine.

`append` never waits and never fails: events queue in memory, the writer task inserts them
in batches, one transaction each, and keeps them queued while the database is away
(bounded: past `limit` the oldest are dropped and counted, so a long outage cannot eat the
engine's memory). Subscribers (the wallboard's live feed) see each event at once.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable

from sqlalchemy import insert, select

from core.events import Event

from db.models import EventRow
from db.database import DB_ERRORS, Database

log = logging.getLogger(__name__)


def _row(e: Event) -> dict:
    data = dict(e.data)
    if e.queue:
        data.setdefault("queue", e.queue)
    return {"at": e.ts, "kind": e.kind, "linkedid": e.linkedid or None, "agent": e.agent,
            "department": e.department, "language": e.language, "data": data}


def _event(r: EventRow) -> Event:
    data = dict(r.data or {})
    return Event(ts=r.at, kind=r.kind, linkedid=r.linkedid or "", queue=data.get("queue"),
                 department=r.department, language=r.language, agent=r.agent, data=data)


class EventLog:
    def __init__(self, store: Database, *, batch: int = 500, limit: int = 200_000, retry: float = 1.0,
                 linger: float = 0.2):
        self.store = store
        self.batch, self.limit, self.retry = batch, limit, retry
        # after the first event of a burst, wait this long so one transaction takes the burst
        # (a call's events come in a handful of AMI events): writes follow calls, not events
        self.linger = linger
        self._pending: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._subscribers: list[Callable[[Event], None]] = []
        self.stats = {"appended": 0, "written": 0, "dropped": 0, "write_errors": 0, "transactions": 0}

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def append(self, event: Event) -> None:
        if len(self._pending) >= self.limit:
            self._pending.popleft()
            self.stats["dropped"] += 1
        self._pending.append(event)
        self.stats["appended"] += 1
        self._wake.set()
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception:  # a broken listener must not stop the log
                log.exception("event subscriber failed")

    @property
    def backlog(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Write what is queued; returns how many rows were written."""
        written = 0
        while self._pending:
            chunk = list(itertools.islice(self._pending, self.batch))   # (indexing a deque is O(n))
            async with self.store.sessions.begin() as s:
                await s.execute(insert(EventRow), [_row(e) for e in chunk])
            self.stats["transactions"] += 1
            for _ in chunk:
                self._pending.popleft()
            written += len(chunk)
            self.stats["written"] += len(chunk)
        return written

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.linger)
            self._wake.clear()
            try:
                await self.flush()
            except DB_ERRORS as e:
                self.stats["write_errors"] += 1
                log.warning("event log: database write failed (%s); %d events kept", type(e).__name__,
                            len(self._pending))
                await asyncio.sleep(self.retry)
                self._wake.set()

    async def read(self, since: float = 0.0, until: float | None = None, limit: int = 100_000) -> list[Event]:
        q = select(EventRow).where(EventRow.at >= since)
        if until is not None:
            q = q.where(EventRow.at < until)
        async with self.store.sessions() as s:
            rows = (await s.scalars(q.order_by(EventRow.at, EventRow.id).limit(limit))).all()
        return [_event(r) for r in rows]
