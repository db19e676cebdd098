"""Live figures for the wallboard: today's figures kept up as events arrive (loaded from the
event log at start, then fed by it; reports/today.py) and a snapshot pushed to every listener
when something happens."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from core import events as ev
from reports import kpi, wallboard
from reports.today import Today

log = logging.getLogger(__name__)


class Live:
    def __init__(self, event_log, snapshot: Callable[[], dict], *, tz: str = "Asia/Shanghai",
                 thresholds: wallboard.Thresholds = wallboard.Thresholds(), clock: Callable[[], float] = time.time,
                 min_interval: float = 0.25):
        self.log, self.snapshot, self.tz, self.thresholds = event_log, snapshot, ZoneInfo(tz), thresholds
        self.clock, self.min_interval = clock, min_interval
        self.day_start = 0.0
        self.day = Today(self._day(0.0))
        self._early: set[tuple] | None = set()   # keys of events that came before the log was read
        self._listeners: set[asyncio.Queue] = set()
        self._changed = asyncio.Event()
        self._kpi_cache: tuple[tuple, kpi.KpiRow | None] = ((), None)
        self.loaded = False
        self.changed_at = 0.0   # when the newest event arrived (update latency is measured from it)
        self.nodes: list[dict] | None = None   # a cluster's nodes (None: a single node)
        # a cluster: reads the nodes' health afresh (briefly cached) before a board is served
        self.refresh_nodes: Callable[[], Awaitable[None]] | None = None
        self._watched = asyncio.Event()          # a screen listens: the nodes are watched meanwhile

    def _midnight(self, now: float) -> float:
        local = datetime.fromtimestamp(now, self.tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def _day(self, start: float) -> datetime:
        return datetime.fromtimestamp(start, self.tz)

    def on_event(self, e: ev.Event) -> None:
        self.changed_at = self.clock()
        if self.day_start and e.ts >= self.day_start + 86400:
            self._next_day(e.ts)
        if _counts(e) and e.ts >= self.day_start:
            if self._early is not None:
                self._early.add(_key(e))
            self.day.add(e)
        self._changed.set()

    def _next_day(self, now: float) -> None:
        self.day_start = self._midnight(now)
        self.day = Today(self._day(self.day_start))

    def today(self) -> kpi.KpiRow | None:
        key = (id(self.day), self.day.version)
        if self._kpi_cache[0] != key:
            self._kpi_cache = (key, self.day.row())
        return self._kpi_cache[1]

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
        self.day = Today(self._day(self.day_start))
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
        seen, self._early = self._early or set(), None
        for e in earlier:
            if _counts(e) and e.ts >= self.day_start and _key(e) not in seen:
                self.day.add(e)
        self.loaded = True
        while True:
            try:
                async with asyncio.timeout(2.0):  # and a tick for the clocks on screen
                    await self._changed.wait()
            except TimeoutError:
                pass
            self._changed.clear()
            if self.clock() >= self.day_start + 86400:
                self._next_day(self.clock())
            if self._listeners:
                board = self.board()
                for q in list(self._listeners):
                    if q.full():
                        q.get_nowait()   # a slow screen gets the newest board, not a backlog
                    q.put_nowait(board)
            await asyncio.sleep(self.min_interval)


def _key(e: ev.Event) -> tuple:
    return (e.ts, e.kind, e.linkedid, e.agent)


def _counts(e: ev.Event) -> bool:
    """Whether the wall's figures (today's calls) read this event (the KPI pages read the log
    for the rest: agent states, callbacks made)."""
    return bool(e.linkedid) and e.kind not in (ev.AGENT_STATE, ev.CALLBACK_DONE)
