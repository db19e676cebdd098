"""Server-sent events from a queue: one writer loop for every live page (wallboard, pops)."""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

from aiohttp import web


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


async def stream(request: web.Request, queue: asyncio.Queue, event: str, *, first=None,
                 close: Callable[[], None] = lambda: None, keepalive: float = 15.0) -> web.StreamResponse:
    """Send `first` (if any), then every item put on `queue`, as `event`; a comment line
    every `keepalive` seconds keeps proxies from closing an idle stream. `close` runs when
    the client goes away."""
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    try:
        await resp.write(b": connected\n\n")
        if first is not None:
            await resp.write(f"event: {event}\ndata: {_dumps(first)}\n\n".encode())
        while True:
            try:
                async with asyncio.timeout(keepalive):
                    item = await queue.get()
                await resp.write(f"event: {event}\ndata: {_dumps(item)}\n\n".encode())
            except TimeoutError:
                await resp.write(b": keep-alive\n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        close()
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp
