"""A TCP proxy on loopback that a test can cut and restore: a database that blips. It can
also cut a connection in the middle of a transaction (when the client sends COMMIT: before
it reaches the server, or after, with the reply lost) and add a delay to every round trip."""
from __future__ import annotations

import asyncio
import contextlib


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self.up = True
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.delay = 0.0            # seconds added to each client -> server write (a slow link)
        self.cut_commits = 0        # cut every n-th COMMIT (0: never), alternately before and after it
        self.commits = 0
        self.cuts = {"before": 0, "after": 0}

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _client(self, reader, writer) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        tasks = {asyncio.create_task(self._upstream(reader, up_writer, (writer, up_writer))),
                 asyncio.create_task(self._pipe(up_reader, writer))}
        self._pipes |= tasks
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pipes -= tasks
        for w in (writer, up_writer):
            w.close()
            self._writers.discard(w)

    @staticmethod
    async def _pipe(reader, writer) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

    async def _upstream(self, reader, writer, pair) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if self.delay:
                    await asyncio.sleep(self.delay)
                when = None
                if self.cut_commits and b"COMMIT" in data.upper():
                    self.commits += 1
                    if self.commits % self.cut_commits == 0:
                        when = "before" if (self.commits // self.cut_commits) % 2 else "after"
                if when == "before":
                    self.cuts[when] += 1
                    break
                writer.write(data)
                await writer.drain()
                if when == "after":
                    self.cuts[when] += 1
                    await asyncio.sleep(0.05)   # the server commits; its reply never arrives
                    break
        for w in pair:
            w.transport.abort()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.up = False
        for w in list(self._writers):
            w.transport.abort()

    def restore(self) -> None:
        self.up = True

    async def stop(self) -> None:
        self.cut()
        if self._server:
            self._server.close()
            await self._server.wait_closed()
        for t in list(self._pipes):
            t.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
