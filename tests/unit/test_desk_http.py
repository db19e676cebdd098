"""The desk's routes on the engine's real app (no Asterisk): the desk view, the optional rule
that an agent goes ready only once the last call's work order is saved, and who may transfer."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from acd.service import Delivery
from calls.record import CallRecord, Disposition
from core import settings
from hotline.app import Engine


@pytest.fixture
async def engine_client(tmp_path):
    s = settings.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"), desk_ready_needs_ticket=True)
    engine = Engine(s, phones=False)
    await engine.store.migrate()
    client = TestClient(TestServer(engine.http, host="127.0.0.1"))
    await client.start_server()
    tokens = {"1002": await engine.store.create_token("agent", "agent1002"),
              "1001": await engine.store.create_token("agent", "agent1001"),
              "sup": await engine.store.create_token("supervisor", "boss")}
    yield engine, client, tokens
    await client.close()
    await engine.store.close()


def auth(tokens, who):
    return {"Authorization": f"Bearer {tokens[who]}"}


async def test_the_desk_view_says_state_call_departments_and_the_rule(engine_client):
    engine, client, tokens = engine_client
    r = await client.get("/api/v1/agents/1002/desk", headers=auth(tokens, "1002"))
    body = await r.json()
    assert r.status == 200 and body["state"] == "logged_out" and body["call"] is None
    assert body["ready_needs_ticket"] is True and body["pause_reasons"][:2] == ["break", "meal"]
    assert {"code": "tax", "name": {"cmn": "税务", "yue": "稅務", "en": "tax"}} in body["departments"]
    r = await client.get("/api/v1/agents/1002/desk", headers=auth(tokens, "1001"))
    assert r.status == 403


async def test_no_ready_before_the_last_calls_work_order_is_saved(engine_client):
    engine, client, tokens = engine_client
    assert (await client.post("/api/v1/agents/1002/ready", json={}, headers=auth(tokens, "1002"))).status == 200
    await engine.acd.agent_action("1002", "pause", "meal")
    engine.acd.last_call["1002"] = "node1-desk.1"
    r = await client.post("/api/v1/agents/1002/ready", json={}, headers=auth(tokens, "1002"))
    assert r.status == 409 and (await r.json())["error"] == "ticket-not-saved"     # no ticket yet
    now = datetime.now(UTC).timestamp()
    tid, _ = await engine.store.ingest(CallRecord(linkedid="node1-desk.1", caller="13800138000", dialed="12345",
                                                  started_at=now - 60, answered_at=now - 50, ended_at=now,
                                                  agent="agent1002", disposition=Disposition.ANSWERED))
    r = await client.post("/api/v1/agents/1002/ready", json={}, headers=auth(tokens, "1002"))
    assert r.status == 409                                                          # a ticket, but empty
    r = await client.patch(f"/api/v1/tickets/{tid}", json={"subject": "咨询社保卡"}, headers=auth(tokens, "1002"))
    assert r.status == 200
    r = await client.post("/api/v1/agents/1002/ready", json={}, headers=auth(tokens, "1002"))
    assert r.status == 200 and (await r.json())["state"] == "ready"
    # a supervisor is not held by the rule
    await engine.acd.agent_action("1002", "pause", "meal")
    engine.acd.last_call["1002"] = "node1-desk.2"
    r = await client.post("/api/v1/agents/1002/ready", json={}, headers=auth(tokens, "sup"))
    assert r.status == 200


async def test_only_a_call_with_an_agent_is_transferred_and_only_by_that_agent(engine_client):
    engine, client, tokens = engine_client
    r = await client.post("/api/v1/calls/node1-x.1/transfer", json={"to": "tax"}, headers=auth(tokens, "1002"))
    assert r.status == 409                                     # not with an agent
    engine.acd.delivering["node1-x.2"] = Delivery("1002")   # as if 1002 talked on it (no Asterisk here)
    r = await client.post("/api/v1/calls/node1-x.2/transfer", json={"to": "tax"}, headers=auth(tokens, "1001"))
    assert r.status == 403                                     # another agent's call
    r = await client.post("/api/v1/calls/node1-x.2/transfer", json={"to": "tax", "mode": "ring"},
                          headers=auth(tokens, "1002"))
    assert r.status == 400
