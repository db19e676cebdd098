"""Which engine routes a node's calls: the holder of the node's lease. A standby engine
(`hotline serve --lease`) waits for it and takes over when the holder dies.

PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection of its own;
the server releases it when that connection dies with its process, so a standby polling
every 0.2 s takes over within a fraction of a second of the kill. SQLite (one machine):
an exclusive `flock` on a file beside the database, released by the kernel at the
holder's death. Either way the holder that loses its lease (its lock connection broke)
stops routing at once rather than route beside a successor."""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import zlib
from pathlib import Path

log = logging.getLogger(__name__)


def _key(name: str) -> int:
    return zlib.crc32(f"hotline-routing:{name}".encode()) & 0x7FFFFFFF


class Lease:
    def __init__(self, db_url: str, name: str, lock_dir: Path, *, poll: float = 0.2):
        self.db_url, self.name, self.lock_dir, self.poll = db_url, name, lock_dir, poll
        self._conn = None
        self._fd: int | None = None

    @property
    def postgres(self) -> bool:
        return self.db_url.startswith("postgresql")

    async def acquire(self) -> None:
        """Returns once this process holds the lease (waits as long as another holds it)."""
        while not await self._try():
            await asyncio.sleep(self.poll)
        log.info("lease %s: held by pid %s", self.name, os.getpid())

    async def _try(self) -> bool:
        if self.postgres:
            import asyncpg
            from sqlalchemy.engine import make_url
            try:
                if self._conn is None:
                    url = make_url(self.db_url).set(drivername="postgresql")
                    self._conn = await asyncpg.connect(url.render_as_string(hide_password=False))
                return bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", _key(self.name)))
            except (OSError, asyncpg.PostgresError) as e:
                log.info("lease %s: database not reached (%s)", self.name, type(e).__name__)
                await self._drop()
                return False
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        if self._fd is None:
            self._fd = os.open(self.lock_dir / f"{self.name}.routing.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    async def lost(self) -> None:
        """Returns when the lease is no longer ours (PostgreSQL: the lock's connection broke)."""
        if not self.postgres:
            await asyncio.Event().wait()   # a flock is ours until this process ends
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._conn.fetchval("SELECT 1")
            except Exception as e:  # noqa: BLE001 - any failure of the lock's connection ends the lease
                log.error("lease %s lost (%s): this engine stops routing", self.name, type(e).__name__)
                return

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def release(self) -> None:
        await self._drop()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
