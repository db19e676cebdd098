"""The agent's desk feed (server-sent events, see acd/routes.py): when a call is offered to
an agent, its screen pop (caller, language, department, IVR path, wait, earlier tickets);
then every change of the agent's state and of the call (connected, transferred), so that
the desk and the phone's feature codes stay in step."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core import events as ev

log = logging.getLogger(__name__)

FOLLOWED = frozenset({ev.AGENT_OFFER, ev.AGENT_STATE, ev.AGENT_CONNECT, ev.TRANSFER, ev.AGENT_NOANSWER})


class ScreenPop:
    def __init__(self, caller_of: Callable[[str], str | None],
                 history: Callable[[str], Awaitable[list[dict]]],
                 call_info: Callable[[str], Awaitable[dict]] | None = None):
        self.caller_of, self.history, self.call_info = caller_of, history, call_info
        self._listeners: dict[str, set[asyncio.Queue]] = {}
        self._todo: asyncio.Queue[ev.Event] = asyncio.Queue()

    def on_event(self, e: ev.Event) -> None:
        if e.kind in FOLLOWED and e.agent in self._listeners:
            self._todo.put_nowait(e)

    def listen(self, agent_id: str) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=50)
        self._listeners.setdefault(agent_id, set()).add(q)
        return q

    def unlisten(self, agent_id: str, q: asyncio.Queue) -> None:
        self._listeners.get(agent_id, set()).discard(q)

    async def _offer(self, e: ev.Event) -> dict:
        info = {"caller": self.caller_of(e.linkedid) or "", "ivr_path": []}
        if self.call_info is not None:
            info = await self.call_info(e.linkedid)
        caller = info["caller"]
        try:
            earlier = await self.history(caller) if caller else []
        except Exception as exc:  # noqa: BLE001 - the pop still shows the call, without history
            log.info("screen pop: history of %s unavailable: %s", e.linkedid, exc)
            earlier = None
        return {"kind": "offer", "linkedid": e.linkedid, "agent": e.agent, "caller": caller,
                "department": e.department, "language": e.language, "callback": bool(e.data.get("callback")),
                "at": e.ts, "waited": e.data.get("waited"), "ivr_path": info["ivr_path"],
                "history": earlier, "history_available": earlier is not None}

    async def run(self) -> None:
        while True:
            e = await self._todo.get()
            if e.kind == ev.AGENT_OFFER:
                item = await self._offer(e)
            elif e.kind == ev.AGENT_STATE:
                item = {"kind": "state", "agent": e.agent, "at": e.ts, **e.data}
            else:
                item = {"kind": {ev.AGENT_CONNECT: "connected", ev.TRANSFER: "transferred",
                                 ev.AGENT_NOANSWER: "missed"}[e.kind],
                        "agent": e.agent, "linkedid": e.linkedid, "at": e.ts, **e.data}
            for q in list(self._listeners.get(e.agent or "", ())):
                if q.full():
                    q.get_nowait()
                q.put_nowait(item)
