"""The ticket store: SQLAlchemy 2 async over SQLite (default) or PostgreSQL."""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError, InterfaceError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from calls.record import CallRecord
from hotline.errors import BadRequest, DatabaseUnavailable, NotFound

from .models import ApiToken, CallRecord as CallRow, CallerPref, Ticket

log = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "department", "ops", "auditor")
DB_ERRORS = (OperationalError, InterfaceError, DBAPIError, OSError, ConnectionError)
# the database is away (retry later), as opposed to a bug or a schema problem (fail loudly)
UNREACHABLE = (OperationalError, InterfaceError, OSError, ConnectionError)


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:  # SQLite returns naive values; everything is stored in UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.isoformat()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
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

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except DB_ERRORS:
            return False

    # -- call records -> tickets ------------------------------------------------
    @staticmethod
    def _rows(rec: CallRecord, journal: str, now: datetime) -> tuple[dict, dict]:
        call = dict(
            linkedid=rec.linkedid, node=rec.node, caller=rec.caller, caller_name=rec.caller_name,
            dialed=rec.dialed, language=rec.language, department=rec.department, ivr_path=rec.ivr_path,
            started_at=_ts(rec.started_at), answered_at=_ts(rec.answered_at), ended_at=_ts(rec.ended_at),
            wait_seconds=rec.wait_seconds, agent=rec.agent, talk_seconds=rec.talk_seconds, queue=rec.queue,
            recording=rec.recording, disposition=str(rec.disposition), fallback=rec.fallback,
            hangup_cause=rec.hangup_cause, callback_requested=rec.callback_requested,
            channel=rec.channel, journal=journal)
        ticket = dict(linkedid=rec.linkedid, caller=rec.caller, dialed=rec.dialed, language=rec.language,
                      department=rec.department, category=None, status="new", created_at=now, updated_at=now)
        return call, ticket

    async def ingest_many(self, items: list[tuple[CallRecord, str]]) -> dict[str, tuple[int, bool]]:
        """Batch form of ingest(): one transaction, one existence query, two bulk inserts.
        Returns linkedid -> (ticket id, created). Exactly once per linkedid, like ingest()."""
        now = datetime.now(UTC)
        unique = {rec.linkedid: (rec, journal) for rec, journal in items}
        try:
            async with self.sessions.begin() as s:
                found = (await s.execute(select(Ticket.linkedid, Ticket.id)
                                         .where(Ticket.linkedid.in_(list(unique))))).all()
                result = {linkedid: (tid, False) for linkedid, tid in found}
                fresh = [self._rows(rec, journal, now) for lid, (rec, journal) in unique.items() if lid not in result]
                if fresh:
                    await s.execute(insert(CallRow), [c for c, _ in fresh])
                    rows = await s.execute(insert(Ticket).returning(Ticket.linkedid, Ticket.id), [t for _, t in fresh])
                    result.update({linkedid: (tid, True) for linkedid, tid in rows.all()})
                    await self._remember_languages(s, [rec for lid, (rec, _) in unique.items()
                                                       if result.get(lid, (0, False))[1]], now)
                return result
        except IntegrityError:
            # another writer stored some of them meanwhile: fall back to one by one
            return {rec.linkedid: await self.ingest(rec, journal) for rec, journal in unique.values()}
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e

    @staticmethod
    async def _remember_languages(s, records: list[CallRecord], now: datetime) -> None:
        """The language of a caller's last menu walk becomes their default next time."""
        latest = {r.caller: r.language for r in sorted(records, key=lambda r: r.started_at)
                  if r.language and r.ivr_path and r.caller.isdigit() and len(r.caller) <= 64}
        if not latest:
            return
        known = set((await s.execute(select(CallerPref.caller).where(CallerPref.caller.in_(list(latest))))).scalars())
        for caller, lang in latest.items():
            if caller in known:
                await s.execute(update(CallerPref).where(CallerPref.caller == caller)
                                .values(language=lang, updated_at=now))
            else:
                s.add(CallerPref(caller=caller, language=lang, updated_at=now))

    async def caller_language(self, caller: str) -> str | None:
        try:
            async with self.sessions() as s:
                return await s.scalar(select(CallerPref.language).where(CallerPref.caller == caller))
        except DB_ERRORS:
            return None  # the menu works without it

    async def ticket_status(self, number: str) -> tuple[str, str | None] | None:
        """What a caller may hear about a ticket by its number: (status, due date)."""
        if not number.isdigit() or len(number) > 12:
            return None
        try:
            async with self.sessions() as s:
                row = (await s.execute(select(Ticket.status, Ticket.due_at).where(Ticket.id == int(number)))).first()
        except DB_ERRORS:
            return None
        if row is None:
            return None
        status, due = row
        return status, (due.date().isoformat() if due else None)

    async def ingest(self, rec: CallRecord, journal: str = "") -> tuple[int, bool]:
        """Store the call record and open its ticket, once: a second ingest of the same
        linkedid returns the existing ticket (created=False) and changes nothing."""
        now = datetime.now(UTC)
        try:
            async with self.sessions.begin() as s:
                existing = await s.scalar(select(Ticket.id).where(Ticket.linkedid == rec.linkedid))
                if existing is not None:
                    return existing, False
                call, ticket = self._rows(rec, journal, now)
                s.add(CallRow(**call))
                await s.flush()
                t = Ticket(**ticket)
                s.add(t)
                await s.flush()
                await self._remember_languages(s, [rec], now)
                return t.id, True
        except IntegrityError:
            async with self.sessions() as s:
                existing = await s.scalar(select(Ticket.id).where(Ticket.linkedid == rec.linkedid))
            if existing is None:
                raise
            return existing, False
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e

    async def tickets(self, *, caller: str | None = None, dialed: str | None = None,
                      linkedid: str | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
        if not 1 <= limit <= 500 or offset < 0:
            raise BadRequest("limit must be 1-500 and offset >= 0")
        q = select(Ticket, CallRow).outerjoin(CallRow, CallRow.linkedid == Ticket.linkedid)
        if caller is not None:
            q = q.where(Ticket.caller == caller)
        if dialed is not None:
            q = q.where(Ticket.dialed == dialed)
        if linkedid is not None:
            q = q.where(Ticket.linkedid == linkedid)
        q = q.order_by(Ticket.id.desc()).limit(limit).offset(offset)
        try:
            async with self.sessions() as s:
                rows = (await s.execute(q)).all()
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        return [ticket_json(t, c) for t, c in rows]

    async def ticket(self, ticket_id: int) -> dict:
        async with self.sessions() as s:
            row = (await s.execute(select(Ticket, CallRow).outerjoin(CallRow, CallRow.linkedid == Ticket.linkedid)
                                   .where(Ticket.id == ticket_id))).first()
        if row is None:
            raise NotFound(f"no ticket {ticket_id}")
        return ticket_json(*row)

    async def call_record(self, linkedid: str) -> dict | None:
        """The stored call record, journal included (for audits and tests)."""
        async with self.sessions() as s:
            row = await s.scalar(select(CallRow).where(CallRow.linkedid == linkedid))
        if row is None:
            return None
        return {c.name: getattr(row, c.name) for c in CallRow.__table__.columns}

    async def count_calls(self) -> int:
        async with self.sessions() as s:
            return await s.scalar(select(func.count()).select_from(CallRow))

    # -- tokens ------------------------------------------------------------------
    async def create_token(self, role: str, name: str = "") -> str:
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}")
        token = "hl_" + secrets.token_urlsafe(32)
        async with self.sessions.begin() as s:
            s.add(ApiToken(token_hash=hash_token(token), role=role, name=name, created_at=datetime.now(UTC)))
        return token

    async def token_role(self, token: str) -> str | None:
        async with self.sessions() as s:
            row = await s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                                                        ApiToken.revoked.is_(False)))
        return row.role if row else None


def ticket_json(t: Ticket, c: CallRow | None) -> dict:
    return {
        "id": t.id, "linkedid": t.linkedid, "caller": t.caller, "dialed": t.dialed,
        "language": t.language, "department": t.department, "category": t.category,
        "status": t.status, "created_at": _iso(t.created_at),
        "ivr_path": c.ivr_path if c else [],
        "wait_seconds": c.wait_seconds if c else None,
        "agent": c.agent if c else None,
        "talk_seconds": c.talk_seconds if c else None,
        "recording": c.recording if c else None,
        "disposition": c.disposition if c else None,
        "fallback": c.fallback if c else False,
        "callback_requested": c.callback_requested if c else False,
        "due_at": _iso(t.due_at),
        "node": c.node if c else None,
        "started_at": _iso(c.started_at) if c else None,
        "answered_at": _iso(c.answered_at) if c else None,
        "ended_at": _iso(c.ended_at) if c else None,
    }
