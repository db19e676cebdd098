"""Helpers the HTTP tests share (the app fixture `env` is in conftest.py)."""
from __future__ import annotations

from datetime import UTC, datetime

from db.models import CallRecord as CallRow, Ticket
from tickets.store import Store

LONG_AGO = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)  # Monday 2 June 2025: anything dispatched is late now


async def new_ticket(store: Store, agent: str | None = "agent1002", created: datetime = LONG_AGO,
                     department: str | None = None) -> int:
    linkedid = f"node1-{created.timestamp()}-{agent}-{id(store)}-{datetime.now().timestamp()}"
    async with store.sessions.begin() as s:
        s.add(CallRow(linkedid=linkedid, caller="13800138000", dialed="12345", ivr_path=[], started_at=created,
                      ended_at=created, agent=agent, disposition="answered"))
        await s.flush()
        t = Ticket(linkedid=linkedid, caller="13800138000", dialed="12345", status="new", created_at=created,
                   updated_at=created, department=department)
        s.add(t)
        await s.flush()
        return t.id


async def act(client, tokens, who, tid, action, body=None, raw=None):
    r = await client.post(f"/api/v1/tickets/{tid}/actions/{action}",
                          headers={"Authorization": f"Bearer {tokens[who]}"},
                          json=body if raw is None else None, data=raw)
    return r.status, await r.json()


async def get(client, tokens, who, path):
    r = await client.get(path, headers={"Authorization": f"Bearer {tokens[who]}"})
    return r.status, await r.json()
