"""Files watched by polling a signature of them (names, sizes, mtimes): the live menu and the
live catalogue reload this way. The signature is taken in a worker thread: a stat is a disk
wait, and the event loop is answering callers."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def watch(signature: Callable[[], object], seen: object, poll_seconds: float,
                changed: Callable[[], Awaitable[object]]) -> None:
    """Every `poll_seconds`, `changed()` once the signature differs from the last one seen
    (`seen` at first); runs until cancelled."""
    while True:
        await asyncio.sleep(poll_seconds)
        now = await asyncio.to_thread(signature)
        if now != seen:
            seen = now
            await changed()
