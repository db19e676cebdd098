"""HTTP routes of the supervisor console. Wire with `add_routes(app, store, portal, departments)`.

- GET  /console                               the page (supervisors; others get a 403 page)
- GET  /api/v1/console/objections             tickets returned by a department, with its reason
- POST /api/v1/console/objections/{id}        {"decision": "uphold", "department": code, "note"?}:
                                              the objection stands, the ticket goes to another
                                              department with a fresh deadline (from today);
                                              {"decision": "refuse", "note"?}: back to the
                                              department that returned it, its deadline as before
- GET  /api/v1/console/extensions             pending extension requests
- POST /api/v1/console/extensions/{id}        {"decision": "approve"|"refuse", "note"?}
- GET  /api/v1/console/lists                  overdue, due soon, escalated, recently closed
- GET  /api/v1/console/hot?days=1&min_size=3  open tickets of the last days that cluster
- POST /api/v1/console/events                 {"tickets": [ids]}: mark them as one event

Supervise and reopen are the workflow's actions (`/api/v1/tickets/{id}/actions/supervise|reopen`);
the live queue, agents, pause/log out and listen/whisper/barge are the ACD's routes
(`/api/v1/queue`, `/api/v1/agents`, `/api/v1/agents/{id}/{op}`, `/api/v1/calls/{linkedid}/spy`).
The page uses those: one place decides each thing.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from core.errors import BadRequest
from portal.store import PortalStore
from tickets import deadlines as dl, workflow as wf
from web.app import IDENTITY, _id, _int, dumps, json_object, role_page, roles

from console import hot
from console.store import ConsoleStore

CONSOLE = web.AppKey("console", ConsoleStore)
CONSOLE_PORTAL = web.AppKey("console_portal", PortalStore)
DEPARTMENTS = web.AppKey("console_departments", dict)
PAGES = Path(__file__).with_name("pages")


def supervisor(request: web.Request) -> wf.Actor:
    ident = request[IDENTITY]
    return wf.Actor(name=ident.name, role=ident.role)


def _note(body: dict) -> str | None:
    note = body.get("note")
    if note is None or note == "":
        return None
    if not isinstance(note, str) or len(note) > 2000:
        raise BadRequest("note must be a text of at most 2000 characters", field="note")
    return note.strip() or None


@roles("supervisor")
async def objections(request: web.Request) -> web.Response:
    return web.json_response({"items": await request.app[CONSOLE].objections()}, dumps=dumps)


@roles("supervisor")
async def decide_objection(request: web.Request) -> web.Response:
    """Uphold (reassign elsewhere, fresh deadline) or refuse (back to the department)."""
    ticket_id = _id(request, "ticket id")
    body = await json_object(request, {"decision", "department", "category", "note"})
    decision, note = body.get("decision"), _note(body)
    store = request.app[CONSOLE].store
    t = await store.workflow_ticket(ticket_id)
    if t["status"] != wf.Status.RETURNED.value:
        raise wf.TransitionRefused(f"ticket {ticket_id} is {t['status']}: no objection to decide", status=t["status"])
    returned_from = t["department"]
    category = body.get("category") or t["category"]
    if not category:
        raise BadRequest("the ticket has no category: give one", field="category")
    args: dict = {"category": category}
    if note:
        args["note"] = note
    who = supervisor(request)
    if decision == "uphold":
        dept = body.get("department")
        if not isinstance(dept, str) or dept not in request.app[DEPARTMENTS]:
            raise BadRequest("department must be a department of the centre", field="department")
        if dept == returned_from:
            raise BadRequest(f"the objection says {returned_from} is not responsible: reassign to another department",
                             field="department")
        now = store._wf_now()
        due = dl.due_at(now, category, store._wf_calendar(), getattr(store, "deadline_days", None))
        result = await store.transition(ticket_id, "dispatch", who, who.role, department=dept, due=due,
                                        extra_details={"objection": "upheld", "returned_from": returned_from},
                                        **args)
    elif decision == "refuse":
        if not returned_from:
            raise BadRequest("the ticket names no department to send it back to")
        full = await store.ticket(ticket_id)
        if full.get("matter"):
            args["matter"] = full["matter"]
        result = await store.transition(ticket_id, "dispatch", who, who.role, department=returned_from,
                                        due=_parse(t["due_at"]),
                                        extra_details={"objection": "refused", "returned_from": returned_from},
                                        **args)
    else:
        raise BadRequest('decision must be "uphold" or "refuse"', field="decision")
    return web.json_response(result, dumps=dumps)


def _parse(iso: str | None):
    from datetime import datetime
    return datetime.fromisoformat(iso) if iso else None


@roles("supervisor")
async def extensions(request: web.Request) -> web.Response:
    return web.json_response({"items": await request.app[CONSOLE_PORTAL].extensions()}, dumps=dumps)


@roles("supervisor")
async def decide_extension(request: web.Request) -> web.Response:
    request_id = _id(request, "extension request id")
    body = await json_object(request, {"decision", "note"})
    if body.get("decision") not in ("approve", "refuse"):
        raise BadRequest('decision must be "approve" or "refuse"', field="decision")
    got = await request.app[CONSOLE_PORTAL].decide_extension(request_id, body["decision"] == "approve",
                                                             supervisor(request), _note(body))
    return web.json_response(got, dumps=dumps)


@roles("supervisor")
async def lists(request: web.Request) -> web.Response:
    return web.json_response(await request.app[CONSOLE].lists(), dumps=dumps)


@roles("supervisor")
async def hot_topics(request: web.Request) -> web.Response:
    days = _int(request, "days", 1)
    size = _int(request, "min_size", 3)
    if not 1 <= days <= 90 or not 2 <= size <= 100:
        raise BadRequest("days must be 1-90 and min_size 2-100")
    rows = await request.app[CONSOLE].open_since(days)
    return web.json_response({"days": days, "min_size": size, "clusters": hot.clusters(rows, min_size=size)},
                             dumps=dumps)


@roles("supervisor")
async def link_event(request: web.Request) -> web.Response:
    body = await json_object(request, {"tickets"})
    return web.json_response(await request.app[CONSOLE].link_event(body.get("tickets"), supervisor(request)),
                             dumps=dumps)


def add_routes(app: web.Application, store, portal: PortalStore, departments: dict[str, str]) -> None:
    """`departments`: code -> name of the centre's departments (the reassignment's choices)."""
    app[CONSOLE] = ConsoleStore(store)
    app[CONSOLE_PORTAL] = portal
    app[DEPARTMENTS] = dict(departments)
    app.router.add_get("/console", role_page("console.html", PAGES, frozenset({"supervisor"})))
    app.router.add_get("/api/v1/console/departments", department_list)
    app.router.add_get("/api/v1/console/objections", objections)
    app.router.add_post("/api/v1/console/objections/{id}", decide_objection)
    app.router.add_get("/api/v1/console/extensions", extensions)
    app.router.add_post("/api/v1/console/extensions/{id}", decide_extension)
    app.router.add_get("/api/v1/console/lists", lists)
    app.router.add_get("/api/v1/console/hot", hot_topics)
    app.router.add_post("/api/v1/console/events", link_event)


@roles("supervisor")
async def department_list(request: web.Request) -> web.Response:
    return web.json_response({"items": [{"code": c, "name": n} for c, n in sorted(request.app[DEPARTMENTS].items())]},
                             dumps=dumps)
