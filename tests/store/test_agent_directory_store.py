"""The agent directory's rows on SQLite and PostgreSQL: seeding never overwrites, every
change bumps the generation engines poll, stale edits are refused, removal keeps history."""
from __future__ import annotations

import asyncio

import pytest

from core.errors import NotFound
from core.centre import Agent, Skill
from acd.agent_store import AgentDirectoryStore, AgentExists, StaleAgent


FILE = (Agent("1002", "Wang Qiang", (Skill("tax", "cmn", 4),)),
        Agent("1007", "Ho Wing-sze", (Skill("tax", "yue", 4), Skill("tax", "cmn", 3))))


async def test_seed_adds_only_unknown_agents_and_never_overwrites(store):  # noqa: F811
    rows = AgentDirectoryStore(store)
    assert await rows.seed(FILE) == ["1002", "1007"]
    gen, agents = await rows.load()
    assert gen == 1 and [a.id for a in agents] == ["1002", "1007"]
    assert agents[1].skills == (Skill("tax", "yue", 4), Skill("tax", "cmn", 3))
    await rows.update("1002", by="ops1", skills=(Skill("tax", "cmn", 5),))
    # the file still says level 4: the directory keeps what ops set, and nothing changes
    assert await rows.seed(FILE) == []
    gen2, agents = await rows.load()
    assert gen2 == gen + 1 and agents[0].skills == (Skill("tax", "cmn", 5),)


async def test_every_change_moves_the_generation_and_is_attributed(store):  # noqa: F811
    rows = AgentDirectoryStore(store)
    await rows.seed(FILE)
    g0 = await rows.generation()
    row = await rows.add(Agent("3001", "新同事 李", (Skill("hrss", "yue", 5),), "local-talk"), by="sup1")
    assert row["version"] == 1 and row["updated_by"] == "sup1" and row["name"] == "新同事 李"
    assert await rows.generation() == g0 + 1
    with pytest.raises(AgentExists):
        await rows.add(Agent("3001", "again", ()), by="sup1")
    row = await rows.update("3001", by="ops1", name="Li", version=1)
    assert row["version"] == 2 and await rows.generation() == g0 + 2
    with pytest.raises(StaleAgent):   # someone else's edit was based on version 1
        await rows.update("3001", by="sup1", name="Lee", version=1)
    assert (await rows.get("3001"))["name"] == "Li"


async def test_removed_agents_leave_the_list_stay_removed_and_can_come_back(store):  # noqa: F811
    rows = AgentDirectoryStore(store)
    await rows.seed(FILE)
    await rows.remove("1007", by="ops1")
    assert [a.id for a in (await rows.load())[1]] == ["1002"]
    with pytest.raises(NotFound):
        await rows.get("1007")
    with pytest.raises(NotFound):
        await rows.remove("1007", by="ops1")
    assert await rows.seed(FILE) == []          # the centre file does not resurrect it
    assert [a.id for a in (await rows.load())[1]] == ["1002"]
    back = await rows.add(Agent("1007", "Ho", (Skill("tax", "yue", 5),)), by="ops1")
    assert back["version"] == 3 and back["skills"] == ["tax:yue:5"]


async def test_a_change_by_another_process_reaches_a_running_directory_without_a_poll(store):  # noqa: F811
    """The engine is told (PostgreSQL) or reads one number (SQLite); the agents are re-read
    only when it moved."""
    from acd.directory import AgentDirectory
    from tickets.store import Store

    rows = AgentDirectoryStore(store)
    await rows.seed(FILE[:1])
    loads = []

    class Counting(AgentDirectoryStore):
        async def load(self):
            loads.append(1)
            return await super().load()

    applied = []

    async def apply(agents):
        applied.append(tuple(a.id for a in agents))
        return {}

    watched = Counting(store)
    # on PostgreSQL the safety check is an hour away: only the notice can bring the change
    directory = AgentDirectory(watched, (), {"tax"}, apply, poll_seconds=3600 if watched.can_watch else 0.05)
    assert directory.watching == (store.engine.dialect.name == "postgresql")
    db = asyncio.Event()
    db.set()
    task = asyncio.create_task(directory.run(db))
    try:
        await asyncio.wait_for(directory.ready.wait(), 10)
        await asyncio.sleep(0.3)               # listening (PostgreSQL), a few checks (SQLite)
        assert len(loads) == 1                 # nothing moved: the agents were not re-read
        other = Store(store.url)               # the CLI: another process, its own connection
        try:
            await AgentDirectoryStore(other).add(FILE[1], by="cli")
        finally:
            await other.close()
        for _ in range(200):
            if applied[-1] == ("1002", "1007"):
                break
            await asyncio.sleep(0.05)
        assert applied[-1] == ("1002", "1007")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
