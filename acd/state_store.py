"""Persisted agent states (table agent_states): logins and pauses survive a restart."""
from __future__ import annotations

from sqlalchemy import insert, select, update

from db.models import AgentStateRow
from db.database import Database


class AgentStates:
    def __init__(self, store: Database):
        self.store = store

    async def load(self) -> dict[str, dict]:
        async with self.store.sessions() as s:
            rows = (await s.scalars(select(AgentStateRow))).all()
        return {r.agent_id: {"state": r.state, "reason": r.reason, "since": r.since, "misses": r.misses}
                for r in rows}

    async def save(self, rows: dict[str, dict]) -> None:
        """Upsert, one transaction and three statements whatever the number of agents
        (portable: which exist, one bulk UPDATE by key, one bulk INSERT; no dialect's upsert)."""
        if not rows:
            return
        values = [{"agent_id": aid, "state": v["state"], "reason": v.get("reason"), "since": v["since"],
                   "misses": v.get("misses", 0)} for aid, v in rows.items()]
        async with self.store.sessions.begin() as s:
            known = set((await s.scalars(select(AgentStateRow.agent_id)
                                         .where(AgentStateRow.agent_id.in_(list(rows))))).all())
            old = [v for v in values if v["agent_id"] in known]
            new = [v for v in values if v["agent_id"] not in known]
            if old:
                await s.execute(update(AgentStateRow), old)
            if new:
                await s.execute(insert(AgentStateRow), new)
