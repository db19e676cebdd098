"""Live figures for the wallboard: today's events kept in memory (loaded from the event log
at start, then fed by it) and a snapshot pushed to every listener when something happens."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core import events as ev
from reports import kpi, wallboard

log = logging.getLogger(__name__)


class Live:
    def __init__(self, event_log, snapshot: Callable[[], dict], *, tz: str = "Asia/Shanghai",
                 thresholds: wallboard.Thresholds = wallboard.Thresholds(), clock: Callable[[], float] = time.time,
                 min_interval: float = 0.25):
        self.log, self.snapshot, self.tz, self.thresholds = event_log, snapshot, ZoneInfo(tz), thresholds
        self.clock, self.min_interval = clock, min_interval
        self.events: list[ev.Event] = []
        self.day_start = 0.0
        self._listeners: set[asyncio.Queue] = set()
        self._changed = asyncio.Event()
        self._kpi_cache: tuple[int, kpi.KpiRow | None] = (-1, None)
        self.loaded = False
        self.changed_at = 0.0   # when the newest event arrived (update latency is measured from it)
        self.nodes: list[dict] | None = None   # a cluster's nodes (None: a single node)
        # a cluster: reads the nodes' health afresh (briefly cached) before a board is served
        self.refresh_nodes: Callable[[], Awaitable[None]] | None = None
        self._watched = asyncio.Event()          # a screen listens: the nodes are watched meanwhile

    def _midnight(self, now: float) -> float:
        local = datetime.fromtimestamp(now, self.tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def on_event(self, e: ev.Event) -> None:
        self.changed_at = self.clock()
        if _counts(e) and e.ts >= self.day_start:
            self.events.append(e)
        self._changed.set()

    def today(self) -> kpi.KpiRow | None:
        if self._kpi_cache[0] == len(self.events):
            return self._kpi_cache[1]
        rows = kpi.compute(self.events, group_by=(), interval=86400, tz=str(self.tz), until=self.clock())
        row = next((r for r in rows if r.interval_start.timestamp() >= self.day_start - 1), None)
        self._kpi_cache = (len(self.events), row)
        return row

    def set_nodes(self, nodes: list[dict]) -> None:
        """A cluster's nodes and their health (hotline/app.py reads them from the proxy)."""
        self.nodes = nodes
        self.changed_at = self.clock()
        self._changed.set()

    def board(self) -> dict:
        out = wallboard.build(self.snapshot(), self.today(), self.thresholds)
        out["changed_at"] = self.changed_at
        if self.nodes is not None:
            out["nodes"] = self.nodes
        return out

    def listen(self) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=2)
        self._listeners.add(q)
        self._watched.set()
        return q

    def unlisten(self, q: asyncio.Queue) -> None:
        self._listeners.discard(q)
        if not self._listeners:
            self._watched.clear()

    @property
    def watched(self) -> bool:
        return bool(self._listeners)

    async def until_watched(self) -> None:
        """Returns once a screen listens (at once if one does)."""
        await self._watched.wait()

    async def fresh_board(self) -> dict:
        """The board, the nodes' health read first when it is not fresh (a cluster)."""
        if self.refresh_nodes is not None:
            await self.refresh_nodes()
        return self.board()

    async def run(self) -> None:
        now = self.clock()
        self.day_start = self._midnight(now)
        self.log.subscribe(self.on_event)   # first: nothing logged while we read is missed
        delay = 0.5
        while True:
            try:
                earlier = await self.log.read(since=self.day_start)
                break
            except Exception as e:  # noqa: BLE001 - the database may be starting
                log.info("wallboard: event log not readable yet (%s)", type(e).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
        seen = {(e.ts, e.kind, e.linkedid, e.agent) for e in self.events}
        self.events[:0] = [e for e in earlier if _counts(e) and (e.ts, e.kind, e.linkedid, e.agent) not in seen]
        self.loaded = True
        while True:
            try:
                async with asyncio.timeout(2.0):  # and a tick for the clocks on screen
                    await self._changed.wait()
            except TimeoutError:
                pass
            self._changed.clear()
            if self.clock() >= self.day_start + 86400:
                self.day_start = self._midnight(self.clock())
                self.events = [e for e in self.events if e.ts >= self.day_start]
            if self._listeners:
                board = self.board()
                for q in list(self._listeners):
                    if q.full():
                        q.get_nowait()   # a slow screen gets the newest board, not a backlog
                    q.put_nowait(board)
            await asyncio.sleep(self.min_interval)


def _counts(e: ev.Event) -> bool:
    """Whether the wall's figures (today's calls) read this event: the rest is not kept, so
    a day of agent state changes costs no memory here (the KPI pages read the log)."""
    return bool(e.linkedid) and e.kind not in (ev.AGENT_STATE, ev.CALLBACK_DONE)
