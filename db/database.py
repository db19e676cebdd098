"""The database kit: one async engine per process over SQLite (default) or PostgreSQL,
sessions, Alembic migrations, and the error families every store handles alike."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

DB_ERRORS = (OperationalError, InterfaceError, DBAPIError, OSError, ConnectionError)
# the database is away (retry later), as opposed to a bug or a schema problem (fail loudly)
UNREACHABLE = (OperationalError, InterfaceError, OSError, ConnectionError)


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:  # SQLite returns naive values; everything is stored in UTC
        return dt.isoformat() + "+00:00"  # what .replace(tzinfo=UTC).isoformat() says, without the copy
    return dt.isoformat()


class Database:
    """The engine and session factory every feature's store is built on (one per engine)."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(url, connect_args={"timeout": 30})
        else:
            self.engine = create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def close(self) -> None:
        await self.engine.dispose()

    async def migrate(self) -> None:
        cfg = Config(str(Path(__file__).with_name("alembic.ini")))

        def upgrade(conn):
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    @property
    def can_listen(self) -> bool:
        """PostgreSQL tells listeners of a change (LISTEN/NOTIFY); SQLite cannot."""
        return self.engine.dialect.name == "postgresql"

    async def notify(self, session, channel: str, payload: str = "") -> None:
        """Tell listeners on `channel` when `session`'s transaction commits (PostgreSQL only)."""
        if self.can_listen:
            await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})

    async def listen(self, channel: str, on_notify, on_listening=None) -> None:
        """Call `on_notify()` for every NOTIFY on `channel`, until the connection is lost
        (then this returns or raises: the caller listens again). `on_listening()` is called
        once the listener is in place (whatever changed before is for the caller to read).
        A connection of its own, outside the pool: the pool's slots are the requests'."""
        import asyncpg
        from sqlalchemy.engine import make_url
        url = make_url(self.url).set(drivername="postgresql")
        conn = await asyncpg.connect(url.render_as_string(hide_password=False), timeout=5)
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c: lost.set())
            await conn.add_listener(channel, lambda *_args: on_notify())
            if on_listening is not None:
                on_listening()
            await lost.wait()
        finally:
            conn.terminate()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except DB_ERRORS:
            return False
