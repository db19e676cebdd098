"""The work order of a ticket: its content, edited with history (PATCH), drafts written while
the citizen is on the line, the calls of a ticket and merging repeat calls into one case,
search by words, and the screen pop's "looks like the same matter".

Drafts: the ticket opens only when the call's record is stored (after the hang-up), but the
agent writes the work order while the citizen talks. So the desk saves a draft per call
(linkedid); the intake writes it into the ticket in the transaction that opens it (history
row "edit" by the draft's author, who becomes the owner when it was their call), or merges
the call into the ticket the agent chose. One call, one ticket: never a second one.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update

from core.errors import Conflict, NotFound
from core.text import like, terms
from db.database import DB_ERRORS, _iso
from db.models import CallRecord as CallRow, Ticket, TicketCall, TicketDraft, TicketHistory
from core.errors import DatabaseUnavailable

from tickets import content as ct
from tickets import workflow as wf

LINKEDID = re.compile(r"[\w.\-]{1,64}")
EDITABLE = {"subject", "description", "address", "district", "street", "contact_name", "callback_number",
            "confidential", "urgency", "channel"}
SIMILAR_DAYS = 30
CLOSED = {wf.Status.CLOSED.value, wf.Status.MERGED.value}


class TicketExists(Conflict):
    """The call's ticket is open already: edit the ticket, not a draft."""
    id = "ticket-exists"


class MergeRefused(wf.TransitionRefused):
    id = "merge-refused"


def _who_json(who: wf.Actor) -> dict:
    return {"author": who.name, "role": who.role, "agent_names": list(who.aliases)}


async def calls_of(conn, ticket_ids: list[int]) -> dict[int, list[str]]:
    """ticket id -> the linkedids of its calls, oldest first."""
    if not ticket_ids:
        return {}
    rows = (await conn.execute(select(TicketCall.ticket_id, TicketCall.linkedid)
                               .where(TicketCall.ticket_id.in_(ticket_ids)).order_by(TicketCall.id))).all()
    out: dict[int, list[str]] = {}
    for tid, lid in rows:
        out.setdefault(tid, []).append(lid)
    return out


def with_calls(items: list[dict], calls: dict[int, list[str]]) -> list[dict]:
    """A ticket made outside the intake (no rows) has its own call, unless merged away."""
    for t in items:
        own = [t["linkedid"]] if t.get("linkedid") and not t.get("merged_into") else []
        t["calls"] = calls.get(t["id"], own)
    return items


async def _history(s, ticket_id: int, now: datetime, who_name: str, role: str, action: str, status: str,
                   details: dict) -> None:
    s.add(TicketHistory(ticket_id=ticket_id, at=now, actor=who_name, role=role, action=action,
                        from_status=status, to_status=status, details=details))


async def _merge(s, source: Ticket, into: int, who_name: str, role: str, now: datetime) -> None:
    """Move `source`'s calls to ticket `into` and close `source` as merged, with history on both."""
    if into == source.id:
        raise MergeRefused(f"ticket {into} cannot be merged into itself")
    target = await s.get(Ticket, into, with_for_update=True)
    if target is None:
        raise NotFound(f"no ticket {into} to merge into")
    if target.status in CLOSED:
        raise MergeRefused(f"ticket {into} is {target.status}: merge into an open ticket")
    moved = list((await s.scalars(select(TicketCall.linkedid).where(TicketCall.ticket_id == source.id))).all())
    if not moved and source.linkedid:
        s.add(TicketCall(ticket_id=into, linkedid=source.linkedid, how="merged", added_at=now, added_by=who_name))
        moved = [source.linkedid]
    else:
        await s.execute(update(TicketCall).where(TicketCall.ticket_id == source.id)
                        .values(ticket_id=into, how="merged", added_at=now, added_by=who_name))
    await _history(s, into, now, who_name, role, "merge_in", target.status,
                   {"from_ticket": source.id, "calls": moved})
    target.updated_at = now


async def opened(s, created: list[tuple[int, object]], now: datetime) -> None:
    """Inside the intake's transaction, for the tickets it just opened: their call row, and the
    draft the agent wrote during the call (content, or a merge into an earlier ticket)."""
    if not created:
        return
    await s.execute(insert(TicketCall), [{"ticket_id": tid, "linkedid": rec.linkedid, "how": "opened",
                                          "added_at": now, "added_by": ""} for tid, rec in created])
    by_lid = {rec.linkedid: (tid, rec) for tid, rec in created}
    drafts = (await s.scalars(select(TicketDraft).where(TicketDraft.linkedid.in_(list(by_lid))))).all()
    for d in drafts:
        tid, rec = by_lid[d.linkedid]
        t = await s.get(Ticket, tid)
        fields = ct.clean(dict(d.fields or {}), EDITABLE)   # checked when saved; again, cheaply
        before = {k: getattr(t, k) for k in fields}
        changed = ct.changes(before, fields)
        for k, v in fields.items():
            setattr(t, k, v)
        t.search_text = ct.search_index(t.subject, t.description, t.address)
        agent = getattr(rec, "agent", None)
        if d.role == "agent" and agent and agent in (d.agent_names or []):
            t.owner = d.author        # the person who took the call owns the case (首问负责)
        if changed:
            await _history(s, tid, now, d.author, d.role, "edit", t.status, {"changed": changed, "draft": True})
        if d.merge_into:
            await s.flush()
            await _merge(s, t, d.merge_into, d.author, d.role, now)
            s.add(TicketHistory(ticket_id=tid, at=now, actor=d.author, role=d.role, action="merge",
                                from_status=t.status, to_status=wf.Status.MERGED.value,
                                details={"into": d.merge_into}))
            t.status, t.merged_into = wf.Status.MERGED.value, d.merge_into
        await s.delete(d)


class WorkOrders:
    def __init__(self, store):
        self.store = store

    def _now(self) -> datetime:
        return self.store._wf_now()

    async def edit(self, ticket_id: int, body: dict, who: wf.Actor) -> dict:
        """Change the content (owner or supervisor); `version` (optional) must be the one read.
        Every change is one history row naming who, when and each field's before and after."""
        version = body.pop("version", None)
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise ct.FieldInvalid("version must be an integer", field="version")
        fields = ct.clean(body, EDITABLE)
        now = self._now()
        try:
            async with self.store.sessions.begin() as s:
                row = (await s.execute(select(Ticket, CallRow.agent).outerjoin(CallRow, CallRow.linkedid == Ticket.linkedid)
                                       .where(Ticket.id == ticket_id))).first()
                if row is None:
                    raise NotFound(f"no ticket {ticket_id}")
                t, call_agent = row
                if who.role not in ("agent", "supervisor"):
                    raise wf.RoleNotAllowed(f"role {who.role} may not edit a work order")
                owner = t.owner or call_agent
                if who.role == "agent" and owner and not who.is_(owner):
                    raise wf.NotOwner(f"ticket is owned by {owner}; {who.name} may not edit it", owner=owner)
                if t.status in CLOSED:
                    raise wf.TransitionRefused(f"ticket {ticket_id} is {t.status}: its work order is final",
                                               status=t.status)
                if version is not None and version != t.version:
                    raise wf.StaleUpdate(f"ticket {ticket_id} is at version {t.version}, you edited {version}: "
                                         "read it again", version=t.version)
                changed = ct.changes({k: getattr(t, k) for k in fields}, fields)
                if changed:
                    values = dict(fields, version=t.version + 1, updated_at=now)
                    merged = {**{k: getattr(t, k) for k in ("subject", "description", "address")}, **fields}
                    values["search_text"] = ct.search_index(merged["subject"], merged["description"], merged["address"])
                    if who.role == "agent" and t.owner is None:
                        values["owner"] = who.name       # the first agent who takes the case owns it
                        changed["owner"] = {"from": None, "to": who.name}
                    res = await s.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.version == t.version)
                                          .values(**values).execution_options(synchronize_session=False))
                    if res.rowcount != 1:
                        raise wf.StaleUpdate(f"ticket {ticket_id} changed meanwhile: read it again")
                    await _history(s, ticket_id, now, who.name, who.role, "edit", t.status, {"changed": changed})
        except DB_ERRORS as e:
            raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        out = await self.store.ticket(ticket_id)
        out["changed"] = sorted(changed)
        return out

    # -- drafts --------------------------------------------------------------------
    async def _ticket_of_call(self, s, linkedid: str) -> int | None:
        found = await s.scalar(select(TicketCall.ticket_id).where(TicketCall.linkedid == linkedid))
        return found if found is not None else await s.scalar(select(Ticket.id).where(Ticket.linkedid == linkedid))

    async def save_draft(self, linkedid: str, body: dict, who: wf.Actor) -> dict:
        """The work order of a call still on the line (TicketExists once its ticket opened)."""
        if not LINKEDID.fullmatch(linkedid or ""):
            raise ct.FieldInvalid("linkedid is malformed", field="linkedid")
        has_merge = "merge_into" in body
        merge_into = body.pop("merge_into", None)
        if merge_into is not None and (not isinstance(merge_into, int) or isinstance(merge_into, bool)
                                       or not 0 < merge_into < 2**31):
            raise ct.FieldInvalid("merge_into must be a ticket id", field="merge_into")
        fields = ct.clean(body, EDITABLE)
        now = self._now()
        async with self.store.sessions.begin() as s:
            tid = await self._ticket_of_call(s, linkedid)
            if tid is not None:
                raise TicketExists(f"call {linkedid} has ticket {tid}: edit the ticket", ticket=tid)
            if merge_into is not None:
                target = await s.get(Ticket, merge_into)
                if target is None:
                    raise NotFound(f"no ticket {merge_into} to merge into")
                if target.status in CLOSED:
                    raise MergeRefused(f"ticket {merge_into} is {target.status}: merge into an open ticket")
            d = await s.get(TicketDraft, linkedid, with_for_update=True)
            if d is not None and d.author != who.name and who.role != "supervisor":
                raise wf.NotOwner(f"{d.author} writes the work order of this call", owner=d.author)
            if d is None:
                d = TicketDraft(linkedid=linkedid, fields={}, **_who_json(who), updated_at=now)
                s.add(d)
            d.fields = {**(d.fields or {}), **fields}
            if has_merge:   # null takes a chosen merge back
                d.merge_into = merge_into
            d.updated_at = now
        return await self.draft(linkedid)

    async def draft(self, linkedid: str) -> dict:
        """The call's draft; once its ticket is open: {"ticket": id} (the draft is in it)."""
        async with self.store.sessions() as s:
            tid = await self._ticket_of_call(s, linkedid)
            d = await s.get(TicketDraft, linkedid)
        if tid is not None:
            return {"linkedid": linkedid, "ticket": tid, "fields": {}, "merge_into": None}
        if d is None:
            return {"linkedid": linkedid, "ticket": None, "fields": {}, "merge_into": None}
        return {"linkedid": linkedid, "ticket": None, "fields": d.fields or {}, "merge_into": d.merge_into,
                "author": d.author, "updated_at": _iso(d.updated_at)}

    # -- finding ---------------------------------------------------------------------
    async def search(self, query: str, limit: int = 20, offset: int = 0) -> list[dict]:
        """Tickets whose subject, description or address share words with `query` (Chinese
        as character pairs), the most shared first, then the newest."""
        wanted = terms(query)[:30]
        if not wanted:
            return []
        q = (select(Ticket.id, Ticket.search_text)
             .where(or_(*[Ticket.search_text.like(like(t), escape="\\") for t in wanted]))
             .order_by(Ticket.id.desc()).limit(2000))
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        ranked = sorted(((-sum(1 for t in wanted if f" {t} " in text), -tid) for tid, text in rows))
        ids = [-tid for _, tid in ranked[offset:offset + limit]]
        return [await self.store.ticket(tid) for tid in ids]

    async def similar(self, *, caller: str | None, address: str | None, subject: str | None,
                      exclude: str | None = None, days: int = SIMILAR_DAYS) -> dict:
        """The screen pop: the caller's earlier tickets, and open tickets of the last `days`
        that look like the same matter (the same address, or two words of the subject)."""
        since = self._now() - timedelta(days=days)
        earlier = await self.store.tickets(caller=caller, limit=10) if caller else []
        earlier = [t for t in earlier if t["linkedid"] != exclude]
        conds = []
        addr = (address or "").strip()
        if addr:
            conds.append(Ticket.address == addr)
        words = terms(subject)[:20]
        if words:
            conds += [Ticket.search_text.like(like(w), escape="\\") for w in words]
        matches: list[dict] = []
        if conds:
            q = (select(Ticket.id, Ticket.address, Ticket.search_text)
                 .where(Ticket.created_at >= since, Ticket.status.not_in(list(CLOSED)), or_(*conds))
                 .order_by(Ticket.id.desc()).limit(200))
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(q)).all()
            for tid, t_addr, text in rows:
                shared = [w for w in words if f" {w} " in (text or "")]
                same_place = bool(addr) and t_addr == addr
                if same_place or len(shared) >= min(2, len(words)):
                    item = await self.store.ticket(tid)
                    if item["linkedid"] == exclude:
                        continue
                    item["why"] = (["same address"] if same_place else []) + ([f"words: {' '.join(shared[:6])}"]
                                                                              if shared else [])
                    matches.append(item)
        return {"earlier": earlier, "similar": matches[:10]}
