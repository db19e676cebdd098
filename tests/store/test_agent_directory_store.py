"""The agent directory's rows on SQLite and PostgreSQL: seeding never overwrites, every
change bumps the generation engines poll, stale edits are refused, removal keeps history."""
from __future__ import annotations

import pytest

from hotline.errors import NotFound
from hotline.settings import Agent, Skill
from tickets.agent_directory import AgentDirectoryStore, AgentExists, StaleAgent

from .test_workflow_store import store  # noqa: F401 - the two-database fixture

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
