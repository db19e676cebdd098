"""The caller's remembered language, looked up for the menu by a few workers of its own.

A caller waits for the answer only a moment (the runner's bound); the query itself is never
cancelled. Cancelling one mid-flight makes SQLAlchemy finish the connection's cleanup first
(a rollback, shielded): on a database 200 ms away the caller waited 1.1 s for a lookup bounded
at 0.5 s. Here the caller stops waiting on a future; the worker finishes its query and drops
the answer. A request whose caller already gave up is not sent at all, and with the queue
full (a database that stopped answering) a call asks nobody: the menu asks the caller.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class LanguageLookups:
    def __init__(self, lookup: Callable[[str], Awaitable[str | None]], workers: int = 4, depth: int = 64):
        self.lookup, self.workers = lookup, workers
        self._queue: asyncio.Queue[tuple[str, asyncio.Future]] = asyncio.Queue(depth)
        self.stats = {"asked": 0, "answered": 0, "late": 0, "not_sent": 0, "queue_full": 0, "errors": 0}

    async def language(self, caller: str) -> str | None:
        """The remembered language or None; cancelling this (the runner's timeout) cancels
        only the wait."""
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((caller, future))
        except asyncio.QueueFull:
            self.stats["queue_full"] += 1
            return None
        self.stats["asked"] += 1
        return await future

    async def run(self) -> None:
        """The workers (in the engine's task group)."""
        async with asyncio.TaskGroup() as tg:
            for i in range(self.workers):
                tg.create_task(self._work(), name=f"language-lookup-{i}")

    async def _work(self) -> None:
        while True:
            caller, future = await self._queue.get()
            if future.done():   # its caller stopped waiting before a worker was free
                self.stats["not_sent"] += 1
                continue
            try:
                found = await self.lookup(caller)
            except Exception as e:  # noqa: BLE001 - the menu works without it
                self.stats["errors"] += 1
                log.info("language lookup for a caller failed: %s", type(e).__name__)
                found = None
            if future.done():
                self.stats["late"] += 1
            else:
                self.stats["answered"] += 1
                future.set_result(found)
