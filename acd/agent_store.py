"""The agent directory's rows (tables agents, agent_directory): who the agents are, their
skills and lines. Every change bumps one generation number in the same transaction, so an
engine (or a second one beside another Asterisk node) sees that something changed by
reading one integer."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select

from core.errors import Conflict, NotFound
from core.centre import Agent, Skill

from db.models import AgentDirectoryRow, AgentRow
from db.database import Database


CHANGED = "hotline_agents"   # the NOTIFY channel of directory changes (PostgreSQL)


class AgentExists(Conflict):
    id = "agent-exists"


class StaleAgent(Conflict):
    """The caller edited an older version of the agent than the one stored."""

    id = "agent-stale"


def skill_text(s: Skill) -> str:
    return f"{s.department}:{s.language}:{s.level}"


def to_agent(row: AgentRow) -> Agent:
    skills = []
    for text in row.skills or []:
        dep, lang, level = str(text).split(":")
        skills.append(Skill(dep, lang, int(level)))
    return Agent(id=row.id, name=row.name, skills=tuple(skills), line=row.line)


def _json(row: AgentRow) -> dict:
    return {"id": row.id, "name": row.name, "line": row.line, "skills": list(row.skills or []),
            "active": row.active, "version": row.version,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None, "updated_by": row.updated_by}


class AgentDirectoryStore:
    def __init__(self, store: Database, clock=lambda: datetime.now(UTC)):
        self.store, self.clock = store, clock

    async def _bump(self, s) -> int:
        row = await s.get(AgentDirectoryRow, 1, with_for_update=True)
        if row is None:
            row = AgentDirectoryRow(id=1, generation=0)
            s.add(row)
        row.generation += 1
        # other engines listening hear of it when this commits (PostgreSQL; SQLite engines
        # read the generation number)
        await self.store.notify(s, CHANGED, str(row.generation))
        return row.generation

    @property
    def can_watch(self) -> bool:
        return self.store.can_listen

    async def watch(self, on_change) -> None:
        """Until the connection is lost: `on_change()` whenever another process changed the
        directory, and once when listening starts (a change may have come before)."""
        await self.store.listen(CHANGED, on_change, on_change)

    async def generation(self) -> int:
        async with self.store.sessions() as s:
            row = await s.get(AgentDirectoryRow, 1)
            return row.generation if row else 0

    async def seed(self, agents: Iterable[Agent], by: str = "centre file") -> list[str]:
        """Add the centre file's agents the database does not know yet (never overwrites:
        once an agent is in the directory, the API and CLI own it; a removed one stays
        removed). Returns the ids added."""
        added: list[str] = []
        async with self.store.sessions.begin() as s:
            known = set((await s.scalars(select(AgentRow.id))).all())
            for a in agents:
                if a.id in known:
                    continue
                s.add(AgentRow(id=a.id, name=a.name, line=a.line, skills=[skill_text(k) for k in a.skills],
                               active=True, version=1, updated_at=self.clock(), updated_by=by))
                added.append(a.id)
            if added:
                await self._bump(s)
        return added

    async def load(self) -> tuple[int, tuple[Agent, ...]]:
        """(generation, active agents by id) read in one transaction."""
        async with self.store.sessions() as s:
            gen_row = await s.get(AgentDirectoryRow, 1)
            rows = (await s.scalars(select(AgentRow).where(AgentRow.active.is_(True)).order_by(AgentRow.id))).all()
            return (gen_row.generation if gen_row else 0), tuple(to_agent(r) for r in rows)

    async def get(self, agent_id: str) -> dict:
        async with self.store.sessions() as s:
            row = await s.get(AgentRow, agent_id)
            if row is None or not row.active:
                raise NotFound(f"no agent {agent_id}")
            return _json(row)

    async def add(self, agent: Agent, by: str) -> dict:
        async with self.store.sessions.begin() as s:
            row = await s.get(AgentRow, agent.id, with_for_update=True)
            if row is not None and row.active:
                raise AgentExists(f"agent {agent.id} exists already")
            if row is None:
                row = AgentRow(id=agent.id, version=0)
                s.add(row)
            # a removed id comes back as a new version of the same row: history stays one row
            row.name, row.line, row.skills = agent.name, agent.line, [skill_text(k) for k in agent.skills]
            row.active, row.version = True, (row.version or 0) + 1
            row.updated_at, row.updated_by = self.clock(), by
            await self._bump(s)
            return _json(row)

    async def update(self, agent_id: str, *, by: str, name: str | None = None, line: str | None = None,
                     skills: tuple[Skill, ...] | None = None, version: int | None = None) -> dict:
        async with self.store.sessions.begin() as s:
            row = await s.get(AgentRow, agent_id, with_for_update=True)
            if row is None or not row.active:
                raise NotFound(f"no agent {agent_id}")
            if version is not None and version != row.version:
                raise StaleAgent(f"agent {agent_id} is at version {row.version}, not {version}: reload and retry")
            if name is not None:
                row.name = name
            if line is not None:
                row.line = line
            if skills is not None:
                row.skills = [skill_text(k) for k in skills]
            row.version += 1
            row.updated_at, row.updated_by = self.clock(), by
            await self._bump(s)
            return _json(row)

    async def remove(self, agent_id: str, by: str) -> dict:
        async with self.store.sessions.begin() as s:
            row = await s.get(AgentRow, agent_id, with_for_update=True)
            if row is None or not row.active:
                raise NotFound(f"no agent {agent_id}")
            row.active = False
            row.version += 1
            row.updated_at, row.updated_by = self.clock(), by
            await self._bump(s)
            return _json(row)
