"""Registered priority callers (table priority_callers): elderly and disabled citizens whose
calls wait in the elderly/disabled class. The ACD asks `priority_of` for every queued call,
so the numbers are kept in memory and re-read when changed here or every `refresh` seconds
(a change made by another engine)."""
from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import delete, select

from acd.model import ELDERLY_DISABLED
from core.errors import BadRequest, NotFound
from core.numbers import CALLABLE

from db.models import PriorityCallerRow
from db.database import Database

log = logging.getLogger(__name__)

REASONS = ("elderly", "disabled")


def normalise(number: str) -> str:
    """The form numbers are kept and compared in: digits only, no leading +."""
    return number.strip().lstrip("+")


class PriorityCallers:
    def __init__(self, store: Database, clock=lambda: datetime.now(UTC), refresh_seconds: float = 30.0):
        self.store, self.clock, self.refresh_seconds = store, clock, refresh_seconds
        self.numbers: dict[str, str] = {}

    def priority_of(self, caller: str) -> int | None:
        """For the ACD: the class a caller waits in, None for everyone else."""
        return ELDERLY_DISABLED if normalise(caller or "") in self.numbers else None

    async def reload(self) -> None:
        async with self.store.sessions() as s:
            rows = (await s.execute(select(PriorityCallerRow.number, PriorityCallerRow.reason))).all()
        self.numbers = {n: r for n, r in rows}

    async def run(self, database_ready: asyncio.Event) -> None:
        await database_ready.wait()
        while True:
            try:
                await self.reload()
            except Exception as e:  # noqa: BLE001 - the last list stays in use
                log.info("priority callers not re-read (%s)", type(e).__name__)
            await asyncio.sleep(self.refresh_seconds)

    @staticmethod
    def _checked(number: str) -> str:
        if not isinstance(number, str) or not CALLABLE.fullmatch(number):
            raise BadRequest("number must be 3-20 digits, optionally after +")
        return normalise(number)

    async def put(self, number: str, reason, note, by: str) -> dict:
        number = self._checked(number)
        if reason not in REASONS:
            raise BadRequest(f"reason must be one of {', '.join(REASONS)}")
        if not isinstance(note, str) or len(note) > 500 or "\x00" in note:
            raise BadRequest("note must be text of at most 500 characters")
        async with self.store.sessions.begin() as s:
            row = await s.get(PriorityCallerRow, number)
            if row is None:
                row = PriorityCallerRow(number=number)
                s.add(row)
            row.reason, row.note, row.added_by, row.added_at = reason, note, by, self.clock()
            out = self._json(row)
        self.numbers[number] = reason
        return out

    async def remove(self, number: str) -> None:
        number = self._checked(number)
        async with self.store.sessions.begin() as s:
            result = await s.execute(delete(PriorityCallerRow).where(PriorityCallerRow.number == number))
            if result.rowcount == 0:
                raise NotFound(f"{number} is not registered")
        self.numbers.pop(number, None)

    async def list(self, limit: int = 100, offset: int = 0) -> list[dict]:
        async with self.store.sessions() as s:
            rows = (await s.scalars(select(PriorityCallerRow).order_by(PriorityCallerRow.number)
                                    .limit(limit).offset(offset))).all()
        return [self._json(r) for r in rows]

    @staticmethod
    def _json(row: PriorityCallerRow) -> dict:
        return {"number": row.number, "reason": row.reason, "note": row.note, "added_by": row.added_by,
                "added_at": row.added_at.isoformat() if row.added_at else None}
