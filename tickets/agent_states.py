"""Persisted agent states (table agent_states): logins and pauses survive a restart."""
from __future__ import annotations

from sqlalchemy import select

from .models import AgentStateRow
from .store import Store


class AgentStates:
    def __init__(self, store: Store):
        self.store = store

    async def load(self) -> dict[str, dict]:
        async with self.store.sessions() as s:
            rows = (await s.scalars(select(AgentStateRow))).all()
        return {r.agent_id: {"state": r.state, "reason": r.reason, "since": r.since, "misses": r.misses}
                for r in rows}

    async def save(self, rows: dict[str, dict]) -> None:
        """Upsert, one transaction (portable: read then merge, no dialect-specific SQL)."""
        async with self.store.sessions.begin() as s:
            for agent_id, v in rows.items():
                await s.merge(AgentStateRow(agent_id=agent_id, state=v["state"], reason=v.get("reason"),
                                            since=v["since"], misses=v.get("misses", 0)))
