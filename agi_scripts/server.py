"""FastAGI server that survives bad clients: header size cap, read timeout, early EOF."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from agi_scripts.channel import AgiChannel, AgiProtocolError, ChannelHungUp, parse_headers

log = logging.getLogger(__name__)

Route = Callable[[AgiChannel], Awaitable[None]]


class FastAgiServer:
    def __init__(self, host: str, port: int, routes: dict[str, Route], *,
                 header_limit: int = 16 * 1024, header_timeout: float = 5.0, command_timeout: float = 120.0,
                 on_rtt: Callable[[float], None] | None = None):
        self.on_rtt = on_rtt
        self.host, self.port, self.routes = host, port, routes
        self.header_limit, self.header_timeout, self.command_timeout = header_limit, header_timeout, command_timeout
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task] = set()
        self.stats = {"sessions": 0, "bad_clients": 0, "unknown_route": 0, "errors": 0, "hangups": 0,
                      "commands": 0, "command_seconds": 0.0}
        self.last_error: BaseException | None = None

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port,
                                                  limit=self.header_limit, reuse_address=True)
        log.info("FastAGI listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self._session(reader, writer)
        except asyncio.CancelledError:
            # stop() cancels sessions it owns; returning keeps asyncio's start_server
            # callback from reporting the cancellation as an error
            pass
        finally:
            self._sessions.discard(task)
            writer.close()

    async def _read_header(self, reader: asyncio.StreamReader) -> bytes:
        """Asterisk ends its header with agi_threadid and the arguments; a caller ID holding
        a blank line ends the first block early. The rest follows at once, so wait a moment
        for it; a header without agi_threadid (other clients) costs that moment only."""
        block = await reader.readuntil(b"\n\n")
        for _ in range(3):
            if b"\nagi_threadid: " in block:
                break
            try:
                async with asyncio.timeout(0.05):
                    block += await reader.readuntil(b"\n\n")
            except TimeoutError:
                break
            if len(block) > self.header_limit:
                raise asyncio.LimitOverrunError("AGI header too large", len(block))
        return block

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.header_timeout):
                block = await self._read_header(reader)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError) as e:
            self.stats["bad_clients"] += 1
            log.info("FastAGI: dropped a client before its header ended: %s", type(e).__name__)
            return
        channel = AgiChannel(reader, writer, parse_headers(block), self.command_timeout, self.on_rtt)
        route = self.routes.get(channel.script)
        if route is None:
            self.stats["unknown_route"] += 1
            log.warning("FastAGI: unknown route %r", channel.script)
            return
        self.stats["sessions"] += 1
        started = time.perf_counter()
        try:
            await route(channel)
        except ChannelHungUp:
            self.stats["hangups"] += 1
        except (AgiProtocolError, ConnectionError) as e:
            self.stats["errors"] += 1
            log.warning("FastAGI %s on %s: %s", channel.script, channel.headers.get("agi_channel"), e)
        except Exception as e:  # a bug in a route must not take the server down; it is counted
            self.stats["errors"] += 1
            self.last_error = e
            log.exception("FastAGI route %s failed", channel.script)
        finally:
            self.stats["commands"] += channel.commands
            self.stats["command_seconds"] += time.perf_counter() - started
