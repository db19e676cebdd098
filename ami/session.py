"""The one owner of the AMI connection.

Why not panoramisk's Manager: after a reconnect it re-sends actions that never got a
reply (an Originate can run twice) and fires async callbacks without keeping the task.
Here a lost connection fails the pending actions (the caller decides), events are handed
to one consumer in order, and the resync callback runs in the owner task after login.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from core.errors import AmiActionFailed, AsteriskUnreachable
from ami.protocol import Message, decode, encode

log = logging.getLogger(__name__)

EventHandler = Callable[[Message], Awaitable[None] | None]
MAX_BLOCK = 256 * 1024


class AmiSession:
    def __init__(self, host: str, port: int, username: str, secret: str, *,
                 events: bool = True, name: str = "ami", known: Iterable[str] | None = None):
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.events_on = events
        self.name = name
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._handlers: dict[str | None, list[EventHandler]] = {}   # event name (None: all) -> handlers
        # the names Asterisk lets through (the manager.conf filter): a handler subscribing
        # to anything else would wait forever, so that is refused when it is wired
        self.known = frozenset(known) if known is not None else None
        self._on_connect: list[Callable[[], Awaitable[None]]] = []
        self.connects = 0
        self.events_seen = 0
        self.lost_at: float | None = None   # epoch the last logged-in connection was lost

    # -- wiring -----------------------------------------------------------------
    def on_event(self, handler: EventHandler, events: Iterable[str] | None = None) -> None:
        """`handler` gets the events named (all of them when None: tools and tests)."""
        if events is None:
            self._handlers.setdefault(None, []).append(handler)
            return
        events = tuple(events)
        if self.known is not None and not set(events) <= self.known:
            raise ValueError(f"AMI events {sorted(set(events) - self.known)} are not in the filter "
                             "(core/contract.py AMI_EVENTS)")
        for name in events:
            self._handlers.setdefault(name, []).append(handler)

    def on_connect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Called after each (re)login, in the owner task: resync state here."""
        self._on_connect.append(callback)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError as e:
            raise AsteriskUnreachable(f"AMI {self.host}:{self.port} not connected after {timeout}s") from e

    # -- the owner loop -----------------------------------------------------------
    async def run(self) -> None:
        """Connect, read, reconnect with backoff; runs until cancelled."""
        delay = 0.2
        while True:
            try:
                await self._session()
                delay = 0.2
            except (OSError, asyncio.IncompleteReadError, ConnectionError, AmiActionFailed,
                    asyncio.LimitOverrunError, TimeoutError) as e:
                log.warning("%s: connection to %s:%s lost: %s", self.name, self.host, self.port, e)
            finally:
                self._drop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _drop(self) -> None:
        if self._connected.is_set():
            self.lost_at = time.time()
        self._connected.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for pending in self._pending.values():
            pending.fail(AsteriskUnreachable("AMI connection lost before the reply"))
        self._pending.clear()

    async def _session(self) -> None:
        async with asyncio.timeout(5):
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_BLOCK)
        self._writer = writer
        async with asyncio.timeout(5):
            banner = await reader.readline()
        if not banner.startswith(b"Asterisk Call Manager"):
            raise ConnectionError(f"not an AMI server: {banner[:60]!r}")
        reader_task = asyncio.ensure_future(self._read(reader))
        try:
            reply = await self._send("Login", {"Username": self.username, "Secret": self.secret,
                                               "Events": "on" if self.events_on else "off"}, 5)
            if reply.get("Response") != "Success":
                raise AmiActionFailed(f"AMI login refused: {reply.get('Message')}")
            self.connects += 1
            self._connected.set()
            log.info("%s: logged in to %s:%s", self.name, self.host, self.port)
            for cb in self._on_connect:
                await cb()
            await reader_task
        finally:
            reader_task.cancel()
            try:
                await reader_task
            except (asyncio.CancelledError, Exception):  # the reader's error was already raised above
                pass

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            block = await reader.readuntil(b"\r\n\r\n")
            msg = decode(block)
            await self._dispatch(msg)

    async def _dispatch(self, msg: Message) -> None:
        aid = msg.get("ActionID")
        pending = self._pending.get(aid) if aid else None
        if "Event" in msg:
            if pending is not None and pending.items is not None:
                if msg.get("EventList") == "Complete":
                    self._pending.pop(aid)
                    pending.finish()
                else:
                    pending.items.append(msg)
                return
            self.events_seen += 1
            for h in (*self._handlers.get(msg["Event"], ()), *self._handlers.get(None, ())):
                r = h(msg)
                if r is not None:
                    await r
            return
        if pending is None:
            return
        pending.reply = msg
        if msg.get("EventList") == "start" and pending.items is not None:
            return
        self._pending.pop(aid)
        pending.finish()

    # -- actions ------------------------------------------------------------------
    async def _send(self, action: str, fields: dict, timeout: float, as_list: bool = False):
        if self._writer is None:
            raise AsteriskUnreachable("AMI not connected")
        aid = f"{self.name}-{next(self._ids)}"
        data = encode(action, fields, aid)
        pending = _Pending(asyncio.get_running_loop().create_future(), [] if as_list else None)
        self._pending[aid] = pending
        self._writer.write(data)
        try:
            await self._writer.drain()
            async with asyncio.timeout(timeout):
                await asyncio.shield(pending.future)
        except TimeoutError as e:
            raise AsteriskUnreachable(f"AMI action {action} got no reply in {timeout}s") from e
        finally:
            self._pending.pop(aid, None)
        return (pending.reply, pending.items) if as_list else pending.reply

    async def action(self, action: str, timeout: float = 10, **fields) -> Message:
        """Send one action; raise AmiActionFailed on 'Response: Error'."""
        if not self.connected:
            raise AsteriskUnreachable("AMI not connected")
        reply = await self._send(action, fields, timeout)
        if reply.get("Response") == "Error":
            raise AmiActionFailed(f"{action}: {reply.get('Message')}", action=action)
        return reply

    async def action_list(self, action: str, timeout: float = 10, **fields) -> list[Message]:
        """An action answered by a list of events (QueueStatus, CoreShowChannels...)."""
        if not self.connected:
            raise AsteriskUnreachable("AMI not connected")
        reply, items = await self._send(action, fields, timeout, as_list=True)
        if reply.get("Response") == "Error":
            raise AmiActionFailed(f"{action}: {reply.get('Message')}", action=action)
        return items


class _Pending:
    __slots__ = ("future", "items", "reply")

    def __init__(self, future: asyncio.Future, items: list[Message] | None):
        self.future, self.items, self.reply = future, items, {}

    def finish(self) -> None:
        if not self.future.done():
            self.future.set_result(None)

    def fail(self, exc: Exception) -> None:
        if not self.future.done():
            self.future.set_exception(exc)
            # its waiter may be gone (timed out, cancelled): the error is not news to anyone then
            self.future.exception()
