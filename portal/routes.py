"""HTTP routes of the department portal. Wire with `add_routes(app, store)`.

- GET  /portal                                the page (department users; others get a 403 page)
- GET  /api/v1/portal/inbox?view=             {"department", "view", "counts": {view: n}, "items": [...]}
                                              views: all (every ticket the department holds),
                                              dispatched, accepted, due_soon, overdue, replied
- GET  /api/v1/portal/inbox.csv?view=         the same as CSV (UTF-8 with BOM, for spreadsheets)
- POST /api/v1/portal/tickets/{id}/extension  {"days": 1-30, "reason": "..."}: ask a supervisor
                                              for more working days (one open request a ticket)
- POST /api/v1/portal/tickets/{id}/attachments  multipart, field `file`: a PDF, PNG or JPEG (under
                                              the app's 1 MB request limit) sent with the reply;
                                              201 with its id and content URL

Accept, return (with the objection's reason) and reply are the workflow's actions
(`POST /api/v1/tickets/{id}/actions/{accept|return|reply}`), guarded there: a department acts
on its own tickets only. Every route here admits the department role only; with the session
cookie a POST needs the CSRF token (web/app.py).
"""
from __future__ import annotations

import csv
import io
import urllib.parse
from pathlib import Path

from aiohttp import web

from core.errors import BadRequest
from tickets import workflow as wf
from web.app import IDENTITY, _id, dumps, json_object, role_page, roles

from portal.store import VIEWS, PortalStore, in_view

PORTAL = web.AppKey("portal", PortalStore)
PAGES = Path(__file__).with_name("pages")

CSV_COLUMNS = ("id", "status", "subject", "address", "district", "category", "urgency", "created_at", "due_at",
               "working_days_left", "deadline", "contact_name", "callback_number", "caller", "confidential")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def department_actor(request: web.Request) -> wf.Actor:
    """The department person (or a department token "tax/zhang") making the request."""
    ident = request[IDENTITY]
    if ident.user_id is not None:
        who = wf.Actor(name=ident.name, role=ident.role, department=ident.department)
    else:
        who = wf.Actor.of(ident.name, ident.role)
    if not who.department:
        raise wf.NotOwnDepartment("this department account belongs to no department")
    return who


def _view(request: web.Request) -> str:
    view = request.query.get("view", "all")
    if view not in VIEWS:
        raise BadRequest(f"view must be one of {', '.join(VIEWS)}")
    return view


@roles("department")
async def inbox(request: web.Request) -> web.Response:
    """The department's tickets in a view, the earliest due first, with the countdown in
    working days and the citizen masked when the ticket is confidential."""
    who = department_actor(request)
    view = _view(request)
    portal = request.app[PORTAL]
    every = await portal.inbox(who.department, "all")
    counts = {v: sum(1 for i in every if in_view(i, v)) for v in VIEWS if v != "replied"}
    items = every if view == "all" else await portal.inbox(who.department, view)
    return web.json_response({"department": who.department, "view": view, "counts": counts, "items": items},
                             dumps=dumps)


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):   # a countdown of -2 is a number, not a formula
        return str(v)
    s = str(v)
    # a spreadsheet runs a cell that starts like a formula: a citizen's words stay text
    return "'" + s if s.startswith(_FORMULA_START) else s


@roles("department")
async def inbox_csv(request: web.Request) -> web.Response:
    who = department_actor(request)
    view = _view(request)
    items = await request.app[PORTAL].inbox(who.department, view)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for i in items:
        w.writerow([_cell(i.get(c)) for c in CSV_COLUMNS])
    return web.Response(body=("\ufeff" + buf.getvalue()).encode(), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="inbox-{who.department}-{view}.csv"'})


@roles("department")
async def ask_extension(request: web.Request) -> web.Response:
    """Ask for more working days; a supervisor approves or refuses on the console."""
    ticket_id = _id(request, "ticket id")
    body = await json_object(request, {"days", "reason"})
    got = await request.app[PORTAL].request_extension(ticket_id, department_actor(request), body.get("days"),
                                                      body.get("reason"))
    return web.json_response(got, status=201, dumps=dumps)


@roles("department")
async def attach(request: web.Request) -> web.Response:
    """A file for the reply: the centre's agents read it with the ticket's attachments."""
    ticket_id = _id(request, "ticket id")
    who = department_actor(request)
    if not request.content_type.startswith("multipart/form-data"):
        raise BadRequest("send the file as multipart/form-data, field 'file'", field="file")
    form = await request.post()
    f = form.get("file")
    if f is None or not hasattr(f, "file"):
        raise BadRequest("the form needs a file in the field 'file'", field="file")
    data = f.file.read()
    if not data:
        raise BadRequest("the file is empty", field="file")
    # some clients percent-encode a non-ASCII file name (aiohttp's own); browsers send UTF-8
    name = urllib.parse.unquote(str(f.filename or ""))
    got = await request.app[PORTAL].add_attachment(ticket_id, who, name, data,
                                                   request.app[REPLY_FILES])
    return web.json_response(got, status=201, dumps=dumps)


REPLY_FILES = web.AppKey("portal_reply_files", Path)


def add_routes(app: web.Application, store, files: Path | None = None) -> PortalStore:
    """`files`: where the replies' attachments are kept (the engine's state folder)."""
    portal = PortalStore(store)
    app[PORTAL] = portal
    app[REPLY_FILES] = Path(files) if files is not None else Path("replies")
    app.router.add_get("/portal", role_page("portal.html", PAGES, frozenset({"department"})))
    app.router.add_get("/api/v1/portal/inbox", inbox)
    app.router.add_get("/api/v1/portal/inbox.csv", inbox_csv)
    app.router.add_post("/api/v1/portal/tickets/{id}/extension", ask_extension)
    app.router.add_post("/api/v1/portal/tickets/{id}/attachments", attach)
    return portal
