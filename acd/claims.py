"""Agent claims across nodes (table agent_claims): before a node's engine rings an agent it
takes the agent's row; the row stays through the call and its wrap-up and is renewed while
the call lasts, so no other node offers that agent a call meanwhile. A row whose `until`
has passed is free: the engine that held it died, or forgot it. Portable SQL: a primary-key
insert is the atomic step on SQLite and PostgreSQL alike."""
from __future__ import annotations

import time

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from db.database import Database
from db.models import AgentClaimRow

LEASE_SECONDS = 15.0


class AgentClaims:
    def __init__(self, store: Database, node: str, *, lease: float = LEASE_SECONDS, clock=time.time):
        self.store, self.node, self.lease, self.clock = store, node, lease, clock

    async def take(self, agent_id: str, linkedid: str) -> bool:
        """True when this node may ring the agent for the call now (the row is ours)."""
        now = self.clock()
        try:
            async with self.store.sessions.begin() as s:
                await s.execute(delete(AgentClaimRow).where(and_(
                    AgentClaimRow.agent_id == agent_id,
                    or_(AgentClaimRow.until < now,
                        and_(AgentClaimRow.node == self.node, AgentClaimRow.linkedid == linkedid)))))
                s.add(AgentClaimRow(agent_id=agent_id, node=self.node, linkedid=linkedid, until=now + self.lease))
            return True
        except IntegrityError:
            return False

    async def release(self, agent_id: str, linkedid: str, hold: float = 0.0) -> None:
        """The call is over: the agent stays ours for `hold` seconds (the wrap-up), then free."""
        async with self.store.sessions.begin() as s:
            await s.execute(update(AgentClaimRow).where(and_(
                AgentClaimRow.agent_id == agent_id, AgentClaimRow.node == self.node,
                AgentClaimRow.linkedid == linkedid)).values(until=self.clock() + hold))

    async def renew(self, linkedids: set[str]) -> None:
        if not linkedids:
            return
        async with self.store.sessions.begin() as s:
            await s.execute(update(AgentClaimRow).where(and_(
                AgentClaimRow.node == self.node, AgentClaimRow.linkedid.in_(linkedids))).values(
                until=self.clock() + self.lease))

    async def elsewhere(self) -> set[str]:
        """Agents another node holds now."""
        async with self.store.sessions() as s:
            rows = await s.scalars(select(AgentClaimRow.agent_id).where(and_(
                AgentClaimRow.node != self.node, AgentClaimRow.until >= self.clock())))
            return set(rows.all())
