"""The department portal and the supervisor console over the real HTTP app on SQLite: the
inbox with its countdown in working days, the citizen masked, CSV, extension requests,
objections upheld (another department, a fresh deadline) and refused (back, same deadline),
hot topics marked as one event, and who may use which route."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from console import routes as console_routes
from db.models import Ticket
from portal import routes as portal_routes
from recordings import routes as recording_routes
from tickets.providers import Providers
from tickets.routes import add_routes
from tickets.store import Store
from web.app import Deps, make_app

from .web_helpers import act, get, new_ticket

# Wednesday 2 December 2026, 10:00 in Beijing
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
CREATED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)   # Tuesday


@pytest.fixture
async def env(tmp_path):
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/hotline.db")
    await store.migrate()
    store.clock = lambda: NOW

    async def status():
        return {"ok": True}

    app = make_app(Deps(store=store, status=status))
    add_routes(app, Providers(store, set()))
    recording_routes.add_routes(app)
    portal = portal_routes.add_routes(app, store, tmp_path / "replies")
    console_routes.add_routes(app, store, portal, {"tax": "税务", "housing": "住建", "hrss": "人社"})
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    tokens = {name: await store.create_token(role, name) for role, name in [
        ("agent", "agent1002"), ("supervisor", "sup1"), ("department", "tax/zhang"), ("department", "housing"),
        ("ops", "ops1"), ("auditor", "aud1")]}
    yield store, client, tokens
    await client.close()
    await store.close()


async def dispatched(store, client, tokens, *, subject="路灯不亮", confidential=False, category="complaint",
                     department="tax", address="海淀区中关村南大街5号") -> int:
    tid = await new_ticket(store, created=CREATED)
    async with store.sessions.begin() as s:
        t = await s.get(Ticket, tid)
        t.subject, t.address, t.contact_name, t.callback_number = subject, address, "张三", "13912345678"
        t.confidential, t.description = confidential, "<script>alert(1)</script> 市民反映"
    status, body = await act(client, tokens, "agent1002", tid, "dispatch", {"department": department,
                                                                            "category": category})
    assert status == 200, body
    return tid


async def post(client, tokens, who, path, body):
    r = await client.post(path, headers={"Authorization": f"Bearer {tokens[who]}"}, json=body)
    return r.status, await r.json()


async def test_the_inbox_counts_down_in_working_days_and_masks_a_confidential_citizen(env):
    store, client, tokens = env
    tid = await dispatched(store, client, tokens, confidential=True)
    other = await dispatched(store, client, tokens, department="housing")
    status, body = await get(client, tokens, "tax/zhang", "/api/v1/portal/inbox")
    assert status == 200, body
    assert [i["id"] for i in body["items"]] == [tid]          # housing's ticket is not tax's
    item = body["items"][0]
    # a complaint is due 7 working days after Tue 1 Dec: Thu 10 Dec; from Wed 2 Dec that is 6 working days
    assert item["due_at"].startswith("2026-12-10")
    assert (item["working_days_left"], item["deadline"]) == (6, "ok")
    assert (item["contact_name"], item["callback_number"], item["caller"]) == ("张*", "139****5678", "138****8000")
    assert item["citizen_masked"] is True
    assert item["description"] == "<script>alert(1)</script> 市民反映"      # verbatim: the page writes it as text
    assert body["counts"] == {"all": 1, "dispatched": 1, "accepted": 0, "due_soon": 0, "overdue": 0}
    status, body = await get(client, tokens, "housing", "/api/v1/portal/inbox?view=dispatched")
    assert [i["id"] for i in body["items"]] == [other] and body["items"][0]["contact_name"] == "张三"
    status, body = await get(client, tokens, "tax/zhang", "/api/v1/portal/inbox?view=nosuch")
    assert status == 400


async def test_overdue_and_due_soon_views_and_the_csv(env):
    store, client, tokens = env
    late = await dispatched(store, client, tokens, subject="=HYPERLINK(\"x\")", category="consultation")
    store.clock = lambda: datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # Friday: the consultation was due Wednesday
    soon = await dispatched(store, client, tokens, subject="井盖缺失")
    async with store.sessions.begin() as s:
        (await s.get(Ticket, soon)).due_at = datetime(2026, 12, 7, 15, 59, tzinfo=UTC)   # Monday, Beijing end of day
    _, body = await get(client, tokens, "tax/zhang", "/api/v1/portal/inbox?view=overdue")
    assert [(i["id"], i["working_days_left"]) for i in body["items"]] == [(late, -2)]
    _, body = await get(client, tokens, "tax/zhang", "/api/v1/portal/inbox?view=due_soon")
    assert [(i["id"], i["working_days_left"]) for i in body["items"]] == [(soon, 1)]
    r = await client.get("/api/v1/portal/inbox.csv", headers={"Authorization": f"Bearer {tokens['tax/zhang']}"})
    assert r.status == 200 and r.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert [row["id"] for row in rows] == [str(late), str(soon)]
    assert rows[0]["subject"] == "'=HYPERLINK(\"x\")"          # a formula stays text in a spreadsheet
    assert rows[0]["working_days_left"] == "-2"


async def test_every_portal_and_console_route_admits_only_its_role(env):
    store, client, tokens = env
    for who in ("agent1002", "sup1", "ops1", "aud1"):
        for path in ("/api/v1/portal/inbox", "/api/v1/portal/inbox.csv"):
            status, _ = await get(client, tokens, who, path)
            assert status == 403, (who, path)
        status, _ = await post(client, tokens, who, "/api/v1/portal/tickets/1/extension", {"days": 2, "reason": "x"})
        assert status == 403
    for who in ("agent1002", "tax/zhang", "ops1", "aud1"):
        for path in ("/api/v1/console/objections", "/api/v1/console/extensions", "/api/v1/console/lists",
                     "/api/v1/console/hot", "/api/v1/console/departments"):
            status, _ = await get(client, tokens, who, path)
            assert status == 403, (who, path)
        status, _ = await post(client, tokens, who, "/api/v1/console/objections/1", {"decision": "refuse"})
        assert status == 403
        status, _ = await post(client, tokens, who, "/api/v1/console/events", {"tickets": [1, 2]})
        assert status == 403
    r = await client.get("/api/v1/portal/inbox")
    assert r.status == 401


async def test_an_extension_is_asked_by_the_department_and_approved_in_working_days(env):
    store, client, tokens = env
    tid = await dispatched(store, client, tokens)
    path = f"/api/v1/portal/tickets/{tid}/extension"
    assert (await post(client, tokens, "housing", path, {"days": 3, "reason": "现场勘查"}))[1]["error"] == \
        "not-own-department"
    assert (await post(client, tokens, "tax/zhang", path, {"days": 0, "reason": "x"}))[0] == 400
    status, req = await post(client, tokens, "tax/zhang", path, {"days": 3, "reason": "需要现场勘查"})
    assert status == 201 and req["status"] == "pending"
    assert (await post(client, tokens, "tax/zhang", path, {"days": 2, "reason": "again"}))[1]["error"] == \
        "extension-pending"
    _, inbox = await get(client, tokens, "tax/zhang", "/api/v1/portal/inbox")
    assert inbox["items"][0]["extension"]["days"] == 3
    _, pending = await get(client, tokens, "sup1", "/api/v1/console/extensions")
    assert [(x["ticket"], x["days"], x["reason"]) for x in pending["items"]] == [(tid, 3, "需要现场勘查")]
    status, done = await post(client, tokens, "sup1", f"/api/v1/console/extensions/{req['id']}",
                              {"decision": "approve"})
    assert status == 200, done
    # due Thu 10 Dec + 3 working days = Tue 15 Dec (the weekend does not count)
    assert done["due_at"].startswith("2026-12-15")
    assert (await store.workflow_ticket(tid))["due_at"].startswith("2026-12-15")
    history = await store.history(tid)
    assert [h["action"] for h in history][-2:] == ["extension_request", "extend"]
    assert (await post(client, tokens, "sup1", f"/api/v1/console/extensions/{req['id']}",
                       {"decision": "refuse"}))[1]["error"] == "extension-decided"
    _, pending = await get(client, tokens, "sup1", "/api/v1/console/extensions")
    assert pending["items"] == []


async def test_an_objection_upheld_goes_to_another_department_with_a_fresh_deadline(env):
    store, client, tokens = env
    tid = await dispatched(store, client, tokens, category="complaint")
    first_due = (await store.workflow_ticket(tid))["due_at"]
    status, body = await act(client, tokens, "tax/zhang", tid, "return", {"reason": "此事属住建部门管辖"})
    assert status == 200 and body["status"] == "returned"
    _, objections = await get(client, tokens, "sup1", "/api/v1/console/objections")
    assert [(o["id"], o["reason"], o["returned_from"], o["returned_by"]) for o in objections["items"]] == [
        (tid, "此事属住建部门管辖", "tax", "tax/zhang")]
    path = f"/api/v1/console/objections/{tid}"
    assert (await post(client, tokens, "sup1", path, {"decision": "uphold", "department": "tax"}))[0] == 400
    store.clock = lambda: datetime(2026, 12, 3, 2, 0, tzinfo=UTC)      # decided on Thursday
    status, body = await post(client, tokens, "sup1", path, {"decision": "uphold", "department": "housing"})
    assert status == 200, body
    assert (body["status"], body["department"]) == ("dispatched", "housing")
    # 7 working days from Thursday 3 December: Monday 14 December, not the old Thursday 10th
    assert first_due.startswith("2026-12-10") and body["due_at"].startswith("2026-12-14")
    assert body["history"]["details"]["objection"] == "upheld"
    _, inbox = await get(client, tokens, "housing", "/api/v1/portal/inbox")
    assert [(i["id"], i["working_days_left"]) for i in inbox["items"]] == [(tid, 7)]
    _, inbox = await get(client, tokens, "tax/zhang", "/api/v1/portal/inbox")
    assert inbox["items"] == []
    _, objections = await get(client, tokens, "sup1", "/api/v1/console/objections")
    assert objections["items"] == []
    assert (await post(client, tokens, "sup1", path, {"decision": "refuse"}))[1]["error"] == "transition-refused"


async def test_an_objection_refused_goes_back_with_its_deadline(env):
    store, client, tokens = env
    tid = await dispatched(store, client, tokens)
    due = (await store.workflow_ticket(tid))["due_at"]
    await act(client, tokens, "tax/zhang", tid, "return", {"reason": "不归我们管"})
    store.clock = lambda: datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    status, body = await post(client, tokens, "sup1", f"/api/v1/console/objections/{tid}",
                              {"decision": "refuse", "note": "属于税务"})
    assert status == 200, body
    assert (body["status"], body["department"], body["due_at"]) == ("dispatched", "tax", due)
    assert body["history"]["details"]["objection"] == "refused"


async def test_ten_tickets_about_one_address_are_one_cluster_and_one_event_in_the_digest(env):
    store, client, tokens = env
    ids = []
    for i in range(10):
        tid = await new_ticket(store, created=datetime(2026, 12, 2, 1, i, tzinfo=UTC))
        async with store.sessions.begin() as s:
            t = await s.get(Ticket, tid)
            t.subject = ["小区停水", "家里没水了", "自来水停了三天", "停水问题", "水压低"][i % 5]
            t.address = "朝阳区 望京西园三区 " if i % 2 else "朝阳区望京西园三区"
        ids.append(tid)
    lone = await new_ticket(store, created=datetime(2026, 12, 2, 1, 30, tzinfo=UTC))
    async with store.sessions.begin() as s:
        t = await s.get(Ticket, lone)
        t.subject, t.address = "咨询社保卡补办", "海淀区某街道"
    _, hot = await get(client, tokens, "sup1", "/api/v1/console/hot?days=1")
    assert [(c["tickets"], c["events"], c["address"]) for c in hot["clusters"]] == [(ids, 10, "朝阳区望京西园三区")]
    status, linked = await post(client, tokens, "sup1", "/api/v1/console/events", {"tickets": ids})
    assert status == 200 and linked == {"event": ids[0], "tickets": ids}
    _, hot = await get(client, tokens, "sup1", "/api/v1/console/hot?days=1")
    assert hot["clusters"][0]["events"] == 1
    from reports import digest
    from tickets.store import digest_rows
    since = datetime(2026, 12, 2, tzinfo=UTC).timestamp()
    d = digest.build(await digest_rows(store, since - 86400, since + 86400), since, since + 86400, since + 86400)
    assert (d["tickets"], d["events"]) == (11, 2)


async def test_a_reply_attachment_is_kept_by_its_hash_and_the_agents_read_it(env):
    import aiohttp
    store, client, tokens = env
    tid = await dispatched(store, client, tokens)
    pdf = b"%PDF-1.4\n% reply\n1 0 obj<<>>endobj\n%%EOF\n"

    async def upload(who, data, name="答复.pdf"):
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
        r = await client.post(f"/api/v1/portal/tickets/{tid}/attachments", data=form,
                              headers={"Authorization": f"Bearer {tokens[who]}"})
        return r.status, await r.json()

    assert (await upload("housing", pdf))[1]["error"] == "not-own-department"
    status, body = await upload("tax/zhang", b"<html><script>alert(1)</script>", "x.pdf")
    assert status == 400 and body["field"] == "file"                     # the name says PDF, the bytes do not
    status, got = await upload("tax/zhang", pdf)
    assert status == 201 and got["mime"] == "application/pdf"
    status, listed = await get(client, tokens, "agent1002", f"/api/v1/tickets/{tid}/attachments")
    assert [(a["kind"], a["mime"], a["sha256"]) for a in listed["items"]] == [("reply", "application/pdf", got["sha256"])]
    r = await client.get(got["content"], headers={"Authorization": f"Bearer {tokens['agent1002']}"})
    assert r.status == 200 and await r.read() == pdf
    history = await store.history(tid)
    assert (history[-1]["action"], history[-1]["details"]["name"]) == ("attach", "答复.pdf")
