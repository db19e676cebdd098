"""The ticket store: SQLAlchemy 2 async over SQLite (default) or PostgreSQL."""
from __future__ import annotations

import hashlib
import itertools
import logging
import secrets
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Select, bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from calls.record import CallRecord
from core.errors import BadRequest, DatabaseUnavailable, NotFound
from tickets import work_orders
from db.database import DB_ERRORS, Database, _iso, _ts

from db.models import AccessAudit, ApiToken, Attachment, CallRecord as CallRow, CallerPref, Ticket

log = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "department", "ops", "auditor")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_CALLER_LANGUAGE = select(CallerPref.language).where(CallerPref.caller == bindparam("caller"))


class Store(Database):
    """Call records, tickets, attachments and tokens (the workflow's transitions included)."""

    def __init__(self, url: str):
        super().__init__(url)
        # async (session, ticket id, history entry, now) callables run inside every workflow
        # transition's transaction, set by the composition root: what they write (a scheduled
        # survey call) commits with the ticket's change or not at all
        self.in_transition: list = []

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
            channel=rec.channel, journal=journal, transfers=list(getattr(rec, "transfers", []) or []),
            trunk=rec.trunk, raw_caller=rec.raw_caller,
            raw_dialed=rec.raw_dialed, sip_call_id=rec.sip_call_id, sip_response=rec.sip_response,
            rating=getattr(rec, "rating", None))
        # a voicemail is work for the department's next working day: call the citizen back
        category = "callback_needed" if (rec.voicemail or rec.callback_requested) else None
        channel = "fax" if getattr(rec, "fax", None) else "voicemail" if getattr(rec, "voicemail", None) else "phone"
        ticket = dict(linkedid=rec.linkedid, caller=rec.caller, dialed=rec.dialed, language=rec.language,
                      department=rec.department, category=category, status="new", created_at=now, updated_at=now,
                      due_at=_ts(rec.due_at) if getattr(rec, "due_at", None) else None, channel=channel)
        return call, ticket

    async def ingest_many(self, items: list[tuple]) -> dict[str, tuple[int, bool]]:
        """Batch form of ingest(): one transaction, one existence query, bulk inserts.
        Items are (record, journal) or (record, journal, attachment dict or None).
        Returns linkedid -> (ticket id, created). Exactly once per linkedid, like ingest()."""
        now = datetime.now(UTC)
        unique = {it[0].linkedid: (it[0], it[1]) for it in items}
        attachments = {it[0].linkedid: (it[2] if isinstance(it[2], list) else [it[2]])
                       for it in items if len(it) > 2 and it[2]}
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
                    extra = [{**a, "ticket_id": result[lid][0], "linkedid": lid, "created_at": now}
                             for lid, group in attachments.items() if result.get(lid, (0, False))[1]
                             for a in group]
                    if extra:
                        await s.execute(insert(Attachment), extra)
                    await self._remember_languages(s, [rec for lid, (rec, _) in unique.items()
                                                       if result.get(lid, (0, False))[1]], now)
                    await work_orders.opened(s, [(result[lid][0], rec) for lid, (rec, _) in unique.items()
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
        # one bulk UPDATE by key and one bulk INSERT for the batch, not a statement per caller
        old = [{"caller": c, "language": lang, "updated_at": now} for c, lang in latest.items() if c in known]
        new = [{"caller": c, "language": lang, "updated_at": now} for c, lang in latest.items() if c not in known]
        if old:
            await s.execute(update(CallerPref), old)
        if new:
            await s.execute(insert(CallerPref), new)

    async def caller_language(self, caller: str) -> str | None:
        # every call's menu asks: a Core connection and one reused statement, no ORM session
        try:
            async with self.engine.connect() as c:
                return (await c.execute(_CALLER_LANGUAGE, {"caller": caller})).scalar()
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
                await work_orders.opened(s, [(t.id, rec)], now)
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
        q = _LIST_QUERIES[(caller is not None, dialed is not None, linkedid is not None)]
        params = {"caller": caller, "dialed": dialed, "linkedid": linkedid, "limit": limit, "offset": offset}
        try:
            # a Core connection, not an ORM session: list pages are read-only, and building
            # (and identity-mapping) two ORM objects per row was most of the page's cost
            async with self.engine.connect() as conn:
                rows = (await conn.execute(q, {k: v for k, v in params.items() if v is not None})).all()
                calls = await work_orders.calls_of(conn, [r[0] for r in rows])
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        return work_orders.with_calls([_list_json(r) for r in rows], calls)

    async def ticket(self, ticket_id: int) -> dict:
        async with self.sessions() as s:
            row = (await s.execute(select(Ticket, CallRow).outerjoin(CallRow, CallRow.linkedid == Ticket.linkedid)
                                   .where(Ticket.id == ticket_id))).first()
            if row is None:
                raise NotFound(f"no ticket {ticket_id}")
            calls = await work_orders.calls_of(s, [ticket_id])
        return work_orders.with_calls([ticket_json(*row)], calls)[0]

    async def call_record(self, linkedid: str) -> dict | None:
        """The stored call record, journal included (for audits and tests)."""
        async with self.sessions() as s:
            row = await s.scalar(select(CallRow).where(CallRow.linkedid == linkedid))
        if row is None:
            return None
        return {c.name: getattr(row, c.name) for c in CallRow.__table__.columns}

    async def attachments(self, ticket_id: int) -> list[dict]:
        async with self.sessions() as s:
            rows = (await s.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id)
                                    .order_by(Attachment.id))).all()
        return [{c.name: (_iso(getattr(r, c.name)) if c.name == "created_at" else getattr(r, c.name))
                 for c in Attachment.__table__.columns} for r in rows]

    async def attachment(self, attachment_id: int) -> dict:
        async with self.sessions() as s:
            r = await s.scalar(select(Attachment).where(Attachment.id == attachment_id))
        if r is None:
            raise NotFound(f"no attachment {attachment_id}")
        return {c.name: getattr(r, c.name) for c in Attachment.__table__.columns}

    async def audit(self, *, actor: str, role: str, attachment_id: int | None, action: str, allowed: bool,
                    detail: str = "") -> None:
        async with self.sessions.begin() as s:
            s.add(AccessAudit(at=datetime.now(UTC), actor=actor[:64], role=role[:16], attachment_id=attachment_id,
                              action=action, allowed=allowed, detail=detail[:2000]))

    async def audit_log(self, attachment_id: int | None = None, limit: int = 100) -> list[dict]:
        q = select(AccessAudit).order_by(AccessAudit.id.desc()).limit(limit)
        if attachment_id is not None:
            q = q.where(AccessAudit.attachment_id == attachment_id)
        async with self.sessions() as s:
            rows = (await s.scalars(q)).all()
        return [{c.name: (_iso(getattr(r, c.name)) if c.name == "at" else getattr(r, c.name))
                 for c in AccessAudit.__table__.columns} for r in rows]

    async def set_hold(self, attachment_id: int, hold: bool) -> None:
        async with self.sessions.begin() as s:
            done = await s.execute(update(Attachment).where(Attachment.id == attachment_id).values(legal_hold=hold))
            if done.rowcount == 0:
                raise NotFound(f"no attachment {attachment_id}")

    async def retention_candidates(self) -> list[dict]:
        """Audio attachments still on disk, with their ticket's category."""
        q = (select(Attachment, Ticket.category).join(Ticket, Ticket.id == Attachment.ticket_id)
             .where(Attachment.kind.in_(("recording", "voicemail")), Attachment.deleted_at.is_(None)))
        async with self.sessions() as s:
            rows = (await s.execute(q)).all()
        out = []
        for a, category in rows:
            item = {c.name: getattr(a, c.name) for c in Attachment.__table__.columns}
            if item["created_at"] is not None and item["created_at"].tzinfo is None:
                item["created_at"] = item["created_at"].replace(tzinfo=UTC)
            item["category"] = category
            out.append(item)
        return out

    async def mark_deleted(self, attachment_id: int) -> None:
        async with self.sessions.begin() as s:
            await s.execute(update(Attachment).where(Attachment.id == attachment_id)
                            .values(deleted_at=datetime.now(UTC)))

    async def callbacks(self, department: str | None, limit: int = 100) -> list[dict]:
        """The morning shift's list: tickets waiting for a call back, oldest first."""
        q = (select(*_LIST_COLUMNS).outerjoin(CallRow, CallRow.linkedid == Ticket.linkedid)
             .where(Ticket.category == "callback_needed", Ticket.status == "new"))
        if department:
            q = q.where(Ticket.department == department)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.order_by(Ticket.created_at, Ticket.id).limit(limit))).all()
            calls = await work_orders.calls_of(conn, [r[0] for r in rows])
        return work_orders.with_calls([_list_json(r) for r in rows], calls)

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

    # -- ticket workflow (tickets/workflow.py, tickets/deadlines.py) --------------------
    # The composition root may set `store.calendar` (hours.model.Calendar),
    # `store.deadline_days` ({category: working days}) and `store.clock` (() -> aware
    # datetime); the defaults are chinese-calendar in Asia/Shanghai,
    # tickets.deadlines.DEFAULT_DAYS and the wall clock.
    def _wf_calendar(self, calendar=None):
        return calendar or getattr(self, "calendar", None)

    def _wf_now(self, now: datetime | None = None) -> datetime:
        """`now`, else `store.clock()` when the composition root set one, else the wall clock."""
        clock = getattr(self, "clock", None)
        return (now or (clock() if clock else datetime.now(UTC))).astimezone(UTC)

    @staticmethod
    def _wf_state(t: Ticket, call_agent: str | None, now: datetime, cal):
        from tickets import deadlines as dl, workflow as wf
        if t.status not in {x.value for x in wf.Status}:
            raise wf.TransitionRefused(f"ticket {t.id} is {t.status}: not a workflow status", status=t.status)
        held = t.status in wf.HELD_BY_DEPARTMENT
        overdue = bool(held and t.due_at is not None and dl.state_at(t.due_at, now, cal) == dl.OVERDUE)
        return wf.TicketState(status=wf.Status(t.status), department=t.department, category=t.category,
                              district=t.district,
                              owner=t.owner or call_agent, escalated=bool(t.escalated), reply=t.reply,
                              satisfaction=t.satisfaction, overdue=overdue)

    @staticmethod
    def _wf_json(t: Ticket, call_agent: str | None, now: datetime, cal) -> dict:
        from tickets import deadlines as dl, workflow as wf
        deadline = None
        if t.status in wf.HELD_BY_DEPARTMENT and t.due_at is not None:
            deadline = dl.state_at(t.due_at, now, cal)
        return {"id": t.id, "status": t.status, "department": t.department, "category": t.category,
                "district": t.district,
                "owner": t.owner or call_agent, "escalated": bool(t.escalated), "reply": t.reply,
                "satisfaction": t.satisfaction, "due_at": _iso(t.due_at), "deadline": deadline,
                "created_at": _iso(t.created_at), "updated_at": _iso(t.updated_at)}

    async def _wf_read(self, s, ticket_id: int):
        """The ticket and the agent who answered its call (None when no ticket)."""
        return (await s.execute(select(Ticket, CallRow.agent).outerjoin(CallRow, CallRow.linkedid == Ticket.linkedid)
                                .where(Ticket.id == ticket_id))).first()

    async def transition(self, ticket_id: int, action: str, actor, role: str, *,
                         now: datetime | None = None, calendar=None, due_days: int | None = None,
                         extra_details: dict | None = None, due: datetime | None = None,
                         **args) -> dict:
        """Apply a workflow action: guard and act in one transaction, with its history row.
        Refuses (stale-update) when the ticket changed between the read and the write.
        Returns the ticket's workflow view plus the history entry and the actions now
        available to the same actor. A dispatch may set its deadline (`due_days`, working days:
        the dispatch catalogue's) instead of the category's, or be given as `due` (the console's
        decisions on objections: a fresh deadline after a reassignment, the same one when the
        ticket goes back); `extra_details` join the history row."""
        from tickets import deadlines as dl, workflow as wf
        from db.models import TicketHistory
        act = wf.parse_action(action, args)
        # a person (wf.Actor with their agent line as alias) or a token's name
        who = actor if isinstance(actor, wf.Actor) else wf.Actor.of(actor, role)
        now = self._wf_now(now)
        cal = self._wf_calendar(calendar)
        try:
            async with self.sessions.begin() as s:
                row = await self._wf_read(s, ticket_id)
                if row is None:
                    raise NotFound(f"no ticket {ticket_id}")
                t, call_agent = row
                read_status, read_updated = t.status, t.updated_at
                before = self._wf_state(t, call_agent, now, cal)
                if t.owner is None and who.role == "agent" and who.is_(before.owner):
                    # the person who took the call acts first: they, not their line, own the case
                    before = replace(before, owner=who.name)
                after, entry = wf.apply(before, act, who)
                values = dict(status=after.status.value, department=after.department, category=after.category,
                              district=after.district,
                              owner=after.owner, escalated=after.escalated, reply=after.reply,
                              satisfaction=after.satisfaction, updated_at=now)
                if before.owner and t.owner is None:  # the call's agent, written down now
                    entry.details.setdefault("owner", before.owner)
                entry.details.update(extra_details or {})
                if act.name is wf.Act.MERGE:
                    await work_orders._merge(s, t, act.args["into"], who.name, who.role, now)
                    values["merged_into"] = act.args["into"]
                if act.name is wf.Act.DISPATCH:
                    # the deadline runs from the day the ticket was created, or last reopened
                    start = await s.scalar(select(func.max(TicketHistory.at)).where(
                        TicketHistory.ticket_id == ticket_id, TicketHistory.action == wf.Act.REOPEN.value))
                    days = getattr(self, "deadline_days", None)
                    if due_days is not None:
                        days = {**(days or {}), after.category: due_days}
                    due = due or dl.due_at(start or t.created_at, after.category, cal, days)
                    values["matter"] = act.args.get("matter")
                    values["due_at"] = due
                    entry.details["due_at"] = _iso(due)
                res = await s.execute(
                    update(Ticket).where(Ticket.id == ticket_id, Ticket.status == read_status,
                                         Ticket.updated_at == read_updated)
                    .values(**values).execution_options(synchronize_session=False))
                if res.rowcount != 1:
                    raise wf.StaleUpdate(f"ticket {ticket_id} changed while {act.name} was decided (it was "
                                         f"{read_status}); read it again", action=str(act.name))
                h = TicketHistory(ticket_id=ticket_id, at=now, actor=entry.actor, role=entry.role,
                                  action=entry.action, from_status=entry.from_status,
                                  to_status=entry.to_status, details=entry.details)
                s.add(h)
                await s.flush()
                for hook in self.in_transition:
                    await hook(s, ticket_id, entry, now)
                history_id = h.id
                await s.refresh(t)  # the row as written
                view = self._wf_json(t, call_agent, now, cal)
                actions = wf.available(self._wf_state(t, call_agent, now, cal), who)
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        view["history"] = {"id": history_id, "at": _iso(now), "actor": entry.actor, "role": entry.role,
                           "action": entry.action, "from_status": entry.from_status,
                           "to_status": entry.to_status, "details": entry.details}
        view["actions"] = actions
        return view

    async def workflow_ticket(self, ticket_id: int, now: datetime | None = None, calendar=None) -> dict:
        """The workflow view of one ticket: status, owner, department, deadline state, ..."""
        now = self._wf_now(now)
        try:
            async with self.sessions() as s:
                row = await self._wf_read(s, ticket_id)
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        if row is None:
            raise NotFound(f"no ticket {ticket_id}")
        return self._wf_json(row[0], row[1], now, self._wf_calendar(calendar))

    async def history(self, ticket_id: int) -> list[dict]:
        """Every workflow change of the ticket, oldest first."""
        from db.models import TicketHistory
        try:
            async with self.sessions() as s:
                if await s.scalar(select(Ticket.id).where(Ticket.id == ticket_id)) is None:
                    raise NotFound(f"no ticket {ticket_id}")
                rows = (await s.scalars(select(TicketHistory).where(TicketHistory.ticket_id == ticket_id)
                                        .order_by(TicketHistory.id))).all()
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        return [{"id": h.id, "at": _iso(h.at), "actor": h.actor, "role": h.role, "action": h.action,
                 "from_status": h.from_status, "to_status": h.to_status, "details": h.details}
                for h in rows]

    async def overdue(self, department: str, now: datetime | None = None, *, warnings: bool = False,
                      calendar=None) -> list[dict]:
        """The department's late tickets (dispatched or accepted, due date passed), the
        longest late first; with warnings=True also those due within 1 working day."""
        from tickets import deadlines as dl, workflow as wf
        now = self._wf_now(now)
        cal = self._wf_calendar(calendar)
        q = (select(Ticket, CallRow.agent).outerjoin(CallRow, CallRow.linkedid == Ticket.linkedid)
             .where(Ticket.department == department, Ticket.due_at.is_not(None),
                    Ticket.status.in_([s.value for s in wf.HELD_BY_DEPARTMENT])))
        if not warnings:
            q = q.where(Ticket.due_at < now)  # due_at is the end of the due date: passed = overdue
        try:
            async with self.sessions() as s:
                rows = (await s.execute(q.order_by(Ticket.due_at, Ticket.id))).all()
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        today = dl.local_date(now, cal)
        out = []
        for t, agent in rows:
            item = self._wf_json(t, agent, now, cal)
            if item["deadline"] == dl.OVERDUE or (warnings and item["deadline"] == dl.WARNING):
                item["working_days_late"] = dl.working_days_late(dl.local_date(t.due_at, cal), today, cal)
                out.append(item)
        return out

    async def token_identity(self, token: str) -> tuple[str, str] | None:
        """(role, name) of a valid token; the name identifies the actor (agent id, or the
        department code for department tokens: "tax" or "tax/zhang")."""
        async with self.engine.connect() as conn:  # every API request asks: no ORM object for it
            row = (await conn.execute(select(ApiToken.role, ApiToken.name).where(
                ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False)))).first()
        return (row[0], row[1]) if row else None

# The work order's content (tickets/content.py), in the order a ticket's JSON gives it, after
# the call's fields and the owner
CONTENT = ("subject", "description", "address", "street", "contact_name", "callback_number", "confidential",
           "urgency", "channel", "matter", "merged_into", "version")

# What a ticket list reads: the ticket and its call's columns (not the call's journal, which
# can be long), in the order of ticket_json's fields.
_LIST_COLUMNS = (Ticket.id, Ticket.linkedid, Ticket.caller, Ticket.dialed, Ticket.language, Ticket.department,
                 Ticket.category, Ticket.district, Ticket.status, Ticket.created_at, CallRow.linkedid,
                 CallRow.ivr_path, CallRow.wait_seconds, CallRow.agent, CallRow.talk_seconds, CallRow.recording,
                 CallRow.disposition, CallRow.fallback, CallRow.callback_requested, Ticket.due_at, CallRow.node,
                 CallRow.started_at, CallRow.answered_at, CallRow.ended_at, CallRow.trunk, Ticket.owner,
                 CallRow.transfers, *(getattr(Ticket, name) for name in CONTENT))


def _list_query(caller: bool, dialed: bool, linkedid: bool) -> Select:
    q = select(*_LIST_COLUMNS).outerjoin(CallRow, CallRow.linkedid == Ticket.linkedid)
    if caller:
        q = q.where(Ticket.caller == bindparam("caller"))
    if dialed:
        q = q.where(Ticket.dialed == bindparam("dialed"))
    if linkedid:
        q = q.where(Ticket.linkedid == bindparam("linkedid"))
    return q.order_by(Ticket.id.desc()).limit(bindparam("limit")).offset(bindparam("offset"))


# One list statement per filter shape (caller?, dialed?, linkedid?), built once, values bound
# at execution: reusing the statement object lets SQLAlchemy take its cached result layout as
# it is instead of matching every column again (about 1 ms a page).
_LIST_QUERIES = {shape: _list_query(*shape) for shape in itertools.product((False, True), repeat=3)}


def _list_json(r) -> dict:
    """One row of _LIST_COLUMNS as ticket_json would give it (a test holds them equal)."""
    (tid, linkedid, caller, dialed, language, department, category, district, status, created_at, call,
     ivr_path, wait, agent, talk, recording, disposition, fallback, callback, due_at, node,
     started_at, answered_at, ended_at, trunk, owner, transfers) = r[:27]
    if call is None:  # no call record (outer join): the defaults ticket_json gives
        ivr_path, fallback, callback = [], False, False
    return {
        "id": tid, "linkedid": linkedid, "caller": caller, "dialed": dialed, "language": language,
        "department": department, "category": category, "district": district, "status": status,
        "created_at": _iso(created_at), "ivr_path": ivr_path, "wait_seconds": wait, "agent": agent,
        "talk_seconds": talk, "recording": recording, "disposition": disposition, "fallback": fallback,
        "callback_requested": callback, "due_at": _iso(due_at), "node": node, "started_at": _iso(started_at),
        "answered_at": _iso(answered_at), "ended_at": _iso(ended_at), "trunk": trunk, "owner": owner or agent,
        "transfers": transfers or [],
        **{name: (bool(v) if name == "confidential" else v) for name, v in zip(CONTENT, r[27:])},
    }


def ticket_json(t: Ticket, c: CallRow | None) -> dict:
    return {
        "id": t.id, "linkedid": t.linkedid, "caller": t.caller, "dialed": t.dialed,
        "language": t.language, "department": t.department, "category": t.category, "district": t.district,
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
        "trunk": c.trunk if c else None,
        "owner": t.owner or (c.agent if c else None),
        "transfers": (c.transfers or []) if c else [],
        **{name: (bool(getattr(t, name)) if name == "confidential" else getattr(t, name)) for name in CONTENT},
    }


async def digest_rows(store: Store, since: float, until: float) -> list[dict]:
    """Tickets created in [since, until) (the digest's input, see reports/digest.py)."""
    q = (select(Ticket.created_at, Ticket.category, Ticket.department, Ticket.status, Ticket.satisfaction,
                Ticket.due_at, Ticket.district, Ticket.id, Ticket.event_of)
         .where(Ticket.created_at >= _ts(since), Ticket.created_at < _ts(until)))
    async with store.sessions() as s:
        rows = (await s.execute(q)).all()
    def epoch(dt):
        if dt is None:
            return None
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    return [{"created_at": epoch(r[0]), "category": r[1], "department": r[2], "status": r[3],
             "satisfaction": r[4], "due_at": epoch(r[5]), "district": r[6], "id": r[7], "event_of": r[8]}
            for r in rows]


async def dispatch_history(store: Store, since: float, until: float) -> list[dict]:
    """The dispatches made in [since, until) and every dispatch, reply and return of their
    tickets, whenever made (the digest's on-time figures, see reports/on_time.py)."""
    from db.models import TicketHistory
    actions = ("dispatch", "reply", "return")
    dispatched = (select(TicketHistory.ticket_id)
                  .where(TicketHistory.action == "dispatch", TicketHistory.at >= _ts(since),
                         TicketHistory.at < _ts(until)))
    q = (select(TicketHistory.ticket_id, TicketHistory.at, TicketHistory.action, TicketHistory.details)
         .where(TicketHistory.ticket_id.in_(dispatched), TicketHistory.action.in_(actions))
         .order_by(TicketHistory.ticket_id, TicketHistory.id))
    try:
        async with store.sessions() as s:
            rows = (await s.execute(q)).all()
    except DB_ERRORS as e:
        raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e

    def epoch(dt):
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    out = []
    for ticket_id, at, action, details in rows:
        due = (details or {}).get("due_at") if action == "dispatch" else None
        out.append({"ticket": ticket_id, "at": epoch(at), "action": action,
                    "department": (details or {}).get("department"),
                    "due_at": epoch(datetime.fromisoformat(due)) if due else None})
    return out
