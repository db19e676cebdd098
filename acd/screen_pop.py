"""Screen pop: when a call is offered to an agent, the agent's page gets the caller's
earlier tickets (pushed over server-sent events, see acd/http_routes.py)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from reports import events as ev

log = logging.getLogger(__name__)


class ScreenPop:
    def __init__(self, caller_of: Callable[[str], str | None],
                 history: Callable[[str], Awaitable[list[dict]]]):
        self.caller_of, self.history = caller_of, history
        self._listeners: dict[str, set[asyncio.Queue]] = {}
        self._todo: asyncio.Queue[ev.Event] = asyncio.Queue()

    def on_event(self, e: ev.Event) -> None:
        if e.kind == ev.AGENT_OFFER and e.agent in self._listeners:
            self._todo.put_nowait(e)

    def listen(self, agent_id: str) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=20)
        self._listeners.setdefault(agent_id, set()).add(q)
        return q

    def unlisten(self, agent_id: str, q: asyncio.Queue) -> None:
        self._listeners.get(agent_id, set()).discard(q)

    async def run(self) -> None:
        while True:
            e = await self._todo.get()
            caller = self.caller_of(e.linkedid) or ""
            try:
                earlier = await self.history(caller) if caller else []
            except Exception as exc:  # noqa: BLE001 - the pop still shows the call, without history
                log.info("screen pop: history of %s unavailable: %s", e.linkedid, exc)
                earlier = None
            pop = {"linkedid": e.linkedid, "agent": e.agent, "caller": caller, "department": e.department,
                   "language": e.language, "callback": bool(e.data.get("callback")), "at": e.ts,
                   "history": earlier, "history_available": earlier is not None}
            for q in list(self._listeners.get(e.agent or "", ())):
                if q.full():
                    q.get_nowait()
                q.put_nowait(pop)
