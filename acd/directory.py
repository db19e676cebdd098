"""The agent directory at run time: one owner of "who the agents are".

The database holds the agents (tickets/agent_directory.py); the centre file only seeds
agents the database does not know. A change made through the API is written, then applied
at once; a change made elsewhere (the CLI, a second engine) is found by polling the
directory's generation number: on PostgreSQL the change is announced (LISTEN/NOTIFY) and
the number is read when it is; on SQLite only that one number is read every few seconds,
and the agents themselves only when it moved. Applying means: the ACD's candidates (skills, lines) and
Asterisk's view (PJSIP endpoints with generated credentials, the dialplan's line globals,
the native fallback queues) follow the same list.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable

from core import contract
from core.errors import BadRequest
from core.centre import AGENT_LINES, Agent, Skill

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9]{3,8}")
# names end up in a quoted caller id and on wallboards: printable, no quotes or separators
_NAME = re.compile(r"[^\x00-\x1f\x7f\"'<>;,\\&|$()`]{1,64}")


def parse_skills(value, departments: set[str]) -> tuple[Skill, ...]:
    if not isinstance(value, list) or len(value) > 60:
        raise BadRequest('skills must be a list (at most 60) of "department:language:level"')
    out: dict[tuple[str, str], Skill] = {}
    for item in value:
        parts = item.split(":") if isinstance(item, str) else []
        if len(parts) != 3 or parts[0] not in departments or parts[1] not in contract.LANGUAGES \
                or parts[2] not in ("1", "2", "3", "4", "5"):
            raise BadRequest(f"skill {str(item)[:60]!r} is not department:language:level with a known department, "
                             f"a language of {', '.join(contract.LANGUAGES)} and a level 1-5")
        key = (parts[0], parts[1])
        if key in out:
            raise BadRequest(f"skill {parts[0]}:{parts[1]} is listed twice")
        out[key] = Skill(parts[0], parts[1], int(parts[2]))
    return tuple(out.values())


def parse_name(value) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value) or not value.strip():
        raise BadRequest("name must be 1-64 printable characters without quotes, <>, ;, ,, \\, &, |, $, (, ) or `")
    return value.strip()


def parse_line(value) -> str:
    if value not in AGENT_LINES:
        raise BadRequest(f"line must be one of {', '.join(AGENT_LINES)}")
    return value


def parse_new(body: dict, departments: set[str]) -> Agent:
    agent_id = body.get("id")
    if not isinstance(agent_id, str) or not _ID.fullmatch(agent_id):
        raise BadRequest("id must be 3-8 digits, as text")
    return Agent(id=agent_id, name=parse_name(body.get("name", agent_id)),
                 skills=parse_skills(body.get("skills", []), departments), line=parse_line(body.get("line", "sip")))


class AgentDirectory:
    """`apply(agents)` is the engine's: it updates the ACD and Asterisk; this class decides
    when (at start, after each API change, when the generation moved)."""

    def __init__(self, rows, seed: Iterable[Agent], departments: set[str],
                 apply: Callable[[tuple[Agent, ...]], Awaitable[dict]], poll_seconds: float | None = None):
        self.rows, self.seed_agents, self.departments = rows, tuple(seed), departments
        self.watching = bool(getattr(rows, "can_watch", False))
        # told of changes: the generation is read rarely, as a safety net; else a cheap poll
        self._apply = apply
        self.poll_seconds = poll_seconds if poll_seconds is not None else (60.0 if self.watching else 5.0)
        self._changed = asyncio.Event()
        self.generation: int | None = None
        self.agents: tuple[Agent, ...] = ()
        self.last_apply: dict = {}
        self._lock = asyncio.Lock()
        self.ready = asyncio.Event()

    async def refresh(self, force: bool = False) -> bool:
        """Re-read and apply when the generation moved. True when something was applied."""
        async with self._lock:
            gen, agents = await self.rows.load()
            if not force and gen == self.generation:
                return False
            self.generation, self.agents = gen, agents
            self.last_apply = await self._apply(agents)
            return True

    async def run(self, database_ready: asyncio.Event) -> None:
        await database_ready.wait()
        delay = 0.5
        while True:
            try:
                added = await self.rows.seed(self.seed_agents)
                if added:
                    log.info("agents: %d from the centre file added to the directory", len(added))
                await self.refresh(force=True)
                break
            except Exception as e:  # noqa: BLE001 - the database blinked: the file's agents keep working
                log.warning("agents: directory not readable yet (%s)", type(e).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
        self.ready.set()
        async with asyncio.TaskGroup() as tg:
            if self.watching:
                tg.create_task(self._listen(), name="agent-directory-listen")
            while True:
                try:
                    async with asyncio.timeout(self.poll_seconds):
                        await self._changed.wait()
                except TimeoutError:
                    pass
                self._changed.clear()
                try:
                    if await self.rows.generation() != self.generation:   # one row, not the agents
                        await self.refresh()
                except Exception as e:  # noqa: BLE001 - next check retries; routing keeps the last list
                    log.info("agents: directory check failed (%s)", type(e).__name__)

    async def _listen(self) -> None:
        """PostgreSQL's change notices; after a lost connection, listen again (once listening,
        the generation is read: a change may have been missed meanwhile)."""
        delay = 0.5
        while True:
            started = asyncio.get_running_loop().time()
            try:
                await self.rows.watch(self._changed.set)
            except Exception as e:  # noqa: BLE001 - the database blinked: the safety poll covers it
                log.info("agents: change notices lost (%s)", type(e).__name__)
            if asyncio.get_running_loop().time() - started > 30:
                delay = 0.5   # it listened for a while: a new outage starts the backoff afresh
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    # -- changes from the API and CLI ---------------------------------------------------------
    async def add(self, body: dict, by: str) -> dict:
        agent = parse_new(body, self.departments)
        row = await self.rows.add(agent, by)
        return await self._after(row)

    async def update(self, agent_id: str, body: dict, by: str) -> dict:
        kw: dict = {}
        if "name" in body:
            kw["name"] = parse_name(body["name"])
        if "line" in body:
            kw["line"] = parse_line(body["line"])
        if "skills" in body:
            kw["skills"] = parse_skills(body["skills"], self.departments)
        if "version" in body:
            if isinstance(body["version"], bool) or not isinstance(body["version"], int):
                raise BadRequest("version must be an integer")
            kw["version"] = body["version"]
        if not kw.keys() - {"version"}:
            raise BadRequest("nothing to change: give name, line and/or skills")
        row = await self.rows.update(agent_id, by=by, **kw)
        return await self._after(row)

    async def remove(self, agent_id: str, by: str) -> dict:
        row = await self.rows.remove(agent_id, by)
        return await self._after(row)

    async def _after(self, row: dict) -> dict:
        await self.refresh()
        return {**row, "applied": self.last_apply}
