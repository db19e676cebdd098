"""What the department portal reads and writes beside the workflow: a department's inbox
(with the countdown in working days) and deadline extension requests.

The workflow's own changes (accept, return, reply) go through `Store.transition`, which
guards them; an extension request is not a workflow state (the department keeps working on
the ticket meanwhile), so it lives in its own table and a decided one moves the due date
with a history row `extend` in the same transaction.
"""
from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from core.errors import BadRequest, Conflict, DatabaseUnavailable, NotFound
from core.numbers import mask_number
from db.database import DB_ERRORS, _iso
from db.models import Attachment, ExtensionRequest, Ticket, TicketHistory
from tickets import content, deadlines as dl, workflow as wf

# the inbox's views; "all" is every ticket the department holds
VIEWS = ("all", "dispatched", "accepted", "due_soon", "overdue", "replied")
MAX_EXTENSION_DAYS = 30


class ExtensionPending(Conflict):
    """A ticket has one open extension request at a time."""
    id = "extension-pending"


class ExtensionDecided(Conflict):
    id = "extension-decided"


def _aware(dt: datetime | None) -> datetime | None:
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=UTC)


def inbox_item(t: Ticket, now: datetime, cal, pending: dict | None = None) -> dict:
    """One ticket as the department sees it in its inbox: the citizen masked (always the
    caller's number, the name and callback number too when confidential)."""
    held = t.status in wf.HELD_BY_DEPARTMENT
    deadline = left = None
    if t.due_at is not None and held:
        deadline = dl.state_at(t.due_at, now, cal)
        left = dl.working_days_left(dl.local_date(t.due_at, cal), dl.local_date(now, cal), cal)
    item = {"id": t.id, "status": t.status, "subject": t.subject, "description": t.description,
            "address": t.address, "district": t.district, "street": t.street, "category": t.category,
            "matter": t.matter, "urgency": t.urgency, "created_at": _iso(t.created_at), "due_at": _iso(t.due_at),
            "deadline": deadline, "working_days_left": left, "contact_name": t.contact_name,
            "callback_number": t.callback_number, "confidential": bool(t.confidential),
            "caller": mask_number(t.caller) if t.caller else t.caller, "reply": t.reply,
            "escalated": bool(t.escalated), "extension": pending}
    return content.masked(item)


def in_view(item: dict, view: str) -> bool:
    if view == "all":
        return item["status"] in wf.HELD_BY_DEPARTMENT
    if view in ("dispatched", "accepted", "replied"):
        return item["status"] == view
    if view == "due_soon":
        return item["deadline"] == dl.WARNING
    return item["deadline"] == dl.OVERDUE


class PortalStore:
    """Reads and writes of the portal over the ticket store (its sessions, clock, calendar)."""

    def __init__(self, store):
        self.store = store

    def _now(self) -> datetime:
        return self.store._wf_now()

    def _cal(self):
        return self.store._wf_calendar()

    async def inbox(self, department: str, view: str = "all", limit: int = 500) -> list[dict]:
        """The department's tickets in `view`, the most urgent first (earliest due)."""
        if view not in VIEWS:
            raise BadRequest(f"view must be one of {', '.join(VIEWS)}")
        statuses = [s.value for s in wf.HELD_BY_DEPARTMENT] + ([wf.Status.REPLIED.value] if view == "replied" else [])
        now, cal = self._now(), self._cal()
        q = (select(Ticket).where(Ticket.department == department, Ticket.status.in_(statuses))
             .order_by(Ticket.due_at, Ticket.id).limit(limit))
        try:
            async with self.store.sessions() as s:
                rows = (await s.scalars(q)).all()
                pending = await self._pending(s, [t.id for t in rows])
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        items = [inbox_item(t, now, cal, pending.get(t.id)) for t in rows]
        return [i for i in items if in_view(i, view)]

    @staticmethod
    async def _pending(s, ids: list[int]) -> dict[int, dict]:
        if not ids:
            return {}
        rows = (await s.scalars(select(ExtensionRequest).where(ExtensionRequest.ticket_id.in_(ids),
                                                               ExtensionRequest.status == "pending"))).all()
        return {r.ticket_id: extension_json(r) for r in rows}

    # -- extension requests -----------------------------------------------------------
    async def request_extension(self, ticket_id: int, who: wf.Actor, days: object, reason: object) -> dict:
        """A department asks for `days` more working days on a ticket it holds."""
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_EXTENSION_DAYS:
            raise BadRequest(f"days must be a whole number of working days, 1-{MAX_EXTENSION_DAYS}", field="days")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
            raise BadRequest("reason must be a non-empty text of at most 2000 characters", field="reason")
        now = self._now()
        async with self.store.sessions.begin() as s:
            t = await s.get(Ticket, ticket_id)
            if t is None:
                raise NotFound(f"no ticket {ticket_id}")
            if t.department != who.department:
                raise wf.NotOwnDepartment(f"ticket {ticket_id} is not department {who.department}'s")
            if t.status not in wf.HELD_BY_DEPARTMENT or t.due_at is None:
                raise wf.TransitionRefused(f"ticket {ticket_id} is {t.status}: only a ticket your department "
                                           "holds has a deadline to extend", status=t.status)
            if await self._pending(s, [ticket_id]):
                raise ExtensionPending(f"ticket {ticket_id} has an extension request waiting for a supervisor")
            r = ExtensionRequest(ticket_id=ticket_id, department=t.department, requested_by=who.name, days=days,
                                 reason=reason.strip(), status="pending", created_at=now)
            s.add(r)
            s.add(TicketHistory(ticket_id=ticket_id, at=now, actor=who.name, role=who.role,
                                action="extension_request", from_status=t.status, to_status=t.status,
                                details={"days": days, "reason": reason.strip()}))
            await s.flush()
            return extension_json(r)

    async def add_attachment(self, ticket_id: int, who: wf.Actor, name: str, data: bytes, folder) -> dict:
        """A file the department sends with its reply (a PDF, a photo): kept by its hash under
        `folder`, listed with the ticket's attachments (kind `reply`), served through the
        attachments API with its hash checked. Guard first: the ticket is the department's and
        it works on it now; the type is read from the file itself, not from its name."""
        mime, ext = sniff(data)
        if mime is None:
            raise BadRequest("a reply's attachment must be a PDF, PNG or JPEG file", field="file")
        now = self._now()
        async with self.store.sessions() as s:
            t = await s.get(Ticket, ticket_id)
        if t is None:
            raise NotFound(f"no ticket {ticket_id}")
        if t.department != who.department:
            raise wf.NotOwnDepartment(f"ticket {ticket_id} is not department {who.department}'s")
        if t.status not in wf.HELD_BY_DEPARTMENT:
            raise wf.TransitionRefused(f"ticket {ticket_id} is {t.status}: attach files while your department holds it",
                                       status=t.status)
        digest = hashlib.sha256(data).hexdigest()
        path = Path(folder) / str(ticket_id) / f"{digest}{ext}"
        await asyncio.to_thread(_write, path, data)
        async with self.store.sessions.begin() as s:
            linkedid = f"reply-{ticket_id}-{digest[:24]}"
            found = await s.scalar(select(Attachment).where(Attachment.linkedid == linkedid))
            if found is None:
                found = Attachment(ticket_id=ticket_id, linkedid=linkedid, kind="reply", path=str(path), mime=mime,
                                   bytes=len(data), sha256=digest, status="ok", created_at=now)
                s.add(found)
                s.add(TicketHistory(ticket_id=ticket_id, at=now, actor=who.name, role=who.role, action="attach",
                                    from_status=t.status, to_status=t.status,
                                    details={"name": (name or "")[:200], "bytes": len(data), "mime": mime}))
                await s.flush()
            return {"id": found.id, "ticket": ticket_id, "name": (name or "")[:200], "mime": mime, "bytes": len(data),
                    "sha256": digest, "content": f"/api/v1/attachments/{found.id}/content"}

    async def extensions(self, status: str = "pending", limit: int = 200) -> list[dict]:
        async with self.store.sessions() as s:
            rows = (await s.execute(select(ExtensionRequest, Ticket.subject, Ticket.due_at, Ticket.status)
                                    .join(Ticket, Ticket.id == ExtensionRequest.ticket_id)
                                    .where(ExtensionRequest.status == status)
                                    .order_by(ExtensionRequest.created_at, ExtensionRequest.id).limit(limit))).all()
        return [{**extension_json(r), "subject": subject, "due_at": _iso(due), "ticket_status": st}
                for r, subject, due, st in rows]

    async def decide_extension(self, request_id: int, approve: bool, who: wf.Actor, note: str | None) -> dict:
        """A supervisor approves (the due date moves on by the days asked, in working days) or
        refuses; either way a history row on the ticket."""
        now, cal = self._now(), self._cal()
        async with self.store.sessions.begin() as s:
            r = await s.get(ExtensionRequest, request_id)
            if r is None:
                raise NotFound(f"no extension request {request_id}")
            if r.status != "pending":
                raise ExtensionDecided(f"extension request {request_id} is {r.status} already")
            t = await s.get(Ticket, r.ticket_id)
            details: dict = {"request": r.id, "days": r.days, "approved": approve}
            if note:
                details["note"] = note
            if approve:
                if t.status not in wf.HELD_BY_DEPARTMENT or t.due_at is None:
                    raise wf.TransitionRefused(f"ticket {t.id} is {t.status}: no deadline to extend now",
                                               status=t.status)
                new_due = dl.extend(_aware(t.due_at), r.days, cal)
                details |= {"from": _iso(t.due_at), "due_at": _iso(new_due)}
                await s.execute(update(Ticket).where(Ticket.id == t.id).values(due_at=new_due, updated_at=now)
                                .execution_options(synchronize_session=False))
            r.status = "approved" if approve else "refused"
            r.decided_by, r.decided_at, r.note = who.name, now, note
            s.add(TicketHistory(ticket_id=t.id, at=now, actor=who.name, role=who.role, action="extend",
                                from_status=t.status, to_status=t.status, details=details))
            await s.flush()
            return {**extension_json(r), "due_at": details.get("due_at", _iso(t.due_at))}


def sniff(data: bytes) -> tuple[str | None, str]:
    """The file's type from its first bytes: PDF, PNG or JPEG, else None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf", ".pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", ".jpg"
    return None, ""


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def extension_json(r: ExtensionRequest) -> dict:
    return {"id": r.id, "ticket": r.ticket_id, "department": r.department, "requested_by": r.requested_by,
            "days": r.days, "reason": r.reason, "status": r.status, "created_at": _iso(r.created_at),
            "decided_by": r.decided_by, "decided_at": _iso(r.decided_at), "note": r.note}
