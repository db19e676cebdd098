"""Helpers the store tests share: the two-database store fixture lives in conftest.py."""
from __future__ import annotations

import os
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from db.models import CallRecord as CallRow, Ticket
from tickets.store import Store

PG_URL = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

SEP30 = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # Wednesday 30 September 2026, 10:00 in Beijing


def local(day: str, hour: int = 10) -> datetime:
    """A Beijing wall-clock time as UTC."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00").astimezone(UTC)


async def workflow_pg_url() -> str:
    url = make_url(PG_URL)
    name = f"{url.database}_workflow"
    dsn = url.set(drivername="postgresql")
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # a parallel run created it
    finally:
        await conn.close()
    wf_url = url.set(database=name).render_as_string(hide_password=False)
    eng = create_async_engine(wf_url)
    async with eng.begin() as c:
        await c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await c.execute(text("CREATE SCHEMA public"))
    await eng.dispose()
    return wf_url


_seq = 0


async def new_ticket(store: Store, *, agent: str | None = "agent1002", created: datetime = SEP30,
                     department: str | None = "tax") -> int:
    """A ticket as the intake leaves it (status new), created when the test says."""
    global _seq
    _seq += 1
    linkedid = f"node1-{_seq}-{id(store)}"
    async with store.sessions.begin() as s:
        s.add(CallRow(linkedid=linkedid, caller="13800138000", dialed="12345", ivr_path=[], started_at=created,
                      ended_at=created, agent=agent, disposition="answered" if agent else "voicemail"))
        await s.flush()
        t = Ticket(linkedid=linkedid, caller="13800138000", dialed="12345", department=department,
                   status="new", created_at=created, updated_at=created)
        s.add(t)
        await s.flush()
        return t.id


async def row(store: Store, ticket_id: int) -> Ticket:
    async with store.sessions() as s:
        return await s.scalar(select(Ticket).where(Ticket.id == ticket_id))
