"""Member service providers (the seed's 96180 model): three "not satisfied" follow-ups in a
row suspend the provider; a suspended provider receives no dispatches until a supervisor
lifts the suspension."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from core.errors import HotlineError, NotFound

from db.models import ProviderSuspension, Ticket, TicketHistory
from db.database import Database

IN_A_ROW = 3


class ProviderSuspended(HotlineError):
    id, status = "provider-suspended", 409


class Providers:
    def __init__(self, store: Database, providers: set[str]):
        self.store, self.providers = store, set(providers)

    async def suspended(self, department: str) -> dict | None:
        async with self.store.sessions() as s:
            row = await s.scalar(select(ProviderSuspension).where(ProviderSuspension.department == department,
                                                                  ProviderSuspension.lifted_at.is_(None)))
        return None if row is None else {"department": row.department, "since": row.suspended_at.isoformat(),
                                         "reason": row.reason}

    async def check_dispatch(self, department: str) -> None:
        if department in self.providers and await self.suspended(department):
            raise ProviderSuspended(f"provider {department} is suspended after {IN_A_ROW} unsatisfied "
                                    "follow-ups; a supervisor must lift it first")

    async def after_follow_up(self, ticket_id: int) -> dict | None:
        """Called after every follow-up: suspends the ticket's provider when its last three
        results are all "not satisfied". Returns the suspension when one was made."""
        async with self.store.sessions.begin() as s:
            dept = await s.scalar(select(Ticket.department).where(Ticket.id == ticket_id))
            if dept not in self.providers:
                return None
            q = (select(TicketHistory.details).join(Ticket, Ticket.id == TicketHistory.ticket_id)
                 .where(Ticket.department == dept, TicketHistory.action == "follow_up")
                 .order_by(TicketHistory.at.desc(), TicketHistory.id.desc()).limit(IN_A_ROW))
            last = [d.get("result") for d in (await s.scalars(q)).all()]
            if len(last) < IN_A_ROW or any(r != "not_satisfied" for r in last):
                return None
            open_one = await s.scalar(select(ProviderSuspension).where(
                ProviderSuspension.department == dept, ProviderSuspension.lifted_at.is_(None)))
            if open_one is not None:
                return None
            now = datetime.now(UTC)
            s.add(ProviderSuspension(department=dept, suspended_at=now,
                                     reason=f"{IN_A_ROW} follow-ups in a row not satisfied (last ticket {ticket_id})"))
        return {"department": dept, "since": now.isoformat()}

    async def lift(self, department: str, by: str) -> None:
        async with self.store.sessions.begin() as s:
            done = await s.execute(update(ProviderSuspension).where(
                ProviderSuspension.department == department, ProviderSuspension.lifted_at.is_(None))
                .values(lifted_at=datetime.now(UTC), lifted_by=by))
            if done.rowcount == 0:
                raise NotFound(f"provider {department} is not suspended")
