"""HTTP routes of tickets: the list, one ticket, the callback list, and the workflow.
Wire them with `add_routes(app, providers)` after make_app().

- GET /api/v1/tickets, /api/v1/tickets/{id}, /api/v1/callbacks: see docs/driving-calls.md.

- POST /api/v1/tickets/{id}/actions/{action}   body: the action's arguments as a JSON object
  (empty body = no arguments). 200 with the ticket's workflow view, the history entry
  written and the actions the caller may take next. Errors: bad-request (400: bad JSON,
  not an object, unknown or missing field, unknown action), role-not-allowed / not-owner /
  not-own-department (403), not-found (404), transition-refused / stale-update (409).
- GET /api/v1/tickets/{id}/history   {"ticket": view, "items": [entry, ...]} oldest first.
- GET /api/v1/departments/{code}/overdue[?warnings=1]   {"department", "items": [...]}.

The actor is the bearer token's name: the agent id for agents ("agent1002", the owner of
the tickets whose calls they answered), the department code for departments ("tax" or
"tax/zhang"). Agent and department tokens without a name may not act.
"""
from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from core.errors import BadRequest, NotFound
from web.app import (ACTOR, DEPS, IDENTITY, MASKED_ROLES, ROLE, _id, _int, dumps, for_role, json_object, parse_id,
                     roles)
from catalogue.model import Catalogue
from tickets import content, work_orders
from tickets import workflow as wf
from tickets.providers import Providers
from tickets.work_orders import WorkOrders

PROVIDERS = web.AppKey("providers", Providers)
WORK_ORDERS = web.AppKey("work_orders", WorkOrders)
LIVE_AGENT = web.AppKey("live_agent", object)
CATALOGUE = web.AppKey("catalogue_of", object)


def _view(request: web.Request, ticket: dict) -> dict:
    """A ticket as the caller's role may see it: departments and auditors get the caller
    masked, and a confidential ticket's contact name and callback number too."""
    out = for_role(request, ticket)
    return content.masked(out) if request[ROLE] in MASKED_ROLES else out


@roles("agent", "supervisor", "ops", "auditor")
async def list_tickets(request: web.Request) -> web.Response:
    """Tickets, newest first; `q`: words of the subject, description or address instead."""
    q = request.query
    limit, offset = _int(request, "limit", 50), _int(request, "offset", 0)
    if q.get("q") is not None:
        if len(q["q"]) > 200:
            raise BadRequest("q must be at most 200 characters")
        items = await request.app[WORK_ORDERS].search(q["q"], min(limit, 100), offset)
    else:
        items = await request.app[DEPS].store.tickets(
            caller=q.get("caller"), dialed=q.get("dialed"), linkedid=q.get("linkedid"), limit=limit, offset=offset)
    return web.json_response({"items": [_view(request, t) for t in items], "limit": limit, "offset": offset},
                             dumps=dumps)


@roles("agent", "supervisor", "ops", "auditor", "department")
async def get_ticket(request: web.Request) -> web.Response:
    """One ticket; a department sees only its own (citizen masked when confidential)."""
    ticket_id = _id(request, "ticket id")
    ticket = await request.app[DEPS].store.ticket(ticket_id)
    await _department_may_see(request, ticket["department"])
    return web.json_response(_view(request, ticket), dumps=dumps)


@roles("agent", "supervisor")
async def edit_ticket(request: web.Request) -> web.Response:
    """Edit the work order's content (the owner or a supervisor); `version` guards against
    overwriting a newer edit. Every change is a history row."""
    ticket_id = _id(request, "ticket id")
    body = await json_object(request)
    return web.json_response(await request.app[WORK_ORDERS].edit(ticket_id, body, await _actor(request)),
                             dumps=dumps)


@roles("agent", "supervisor")
async def similar(request: web.Request) -> web.Response:
    """The screen pop's lists: the caller's earlier tickets, and open tickets of the last 30
    days with the same address or subject words."""
    q = request.query
    for name in ("caller", "address", "subject", "exclude"):
        if len(q.get(name, "")) > 500:
            raise BadRequest(f"{name} must be at most 500 characters")
    found = await request.app[WORK_ORDERS].similar(caller=q.get("caller") or None, address=q.get("address"),
                                                   subject=q.get("subject"), exclude=q.get("exclude"))
    return web.json_response({k: [_view(request, t) for t in v] for k, v in found.items()}, dumps=dumps)


async def _may_write_draft(request: web.Request, linkedid: str) -> wf.Actor:
    who = await _actor(request)
    if who.role == "supervisor":
        return who
    live = request.app[LIVE_AGENT](linkedid)
    if live is None:
        found = await request.app[WORK_ORDERS].draft(linkedid)
        if found["ticket"] is not None:
            raise work_orders.TicketExists(f"call {linkedid} has ticket {found['ticket']}: edit the ticket",
                                           ticket=found["ticket"])
        raise NotFound(f"call {linkedid} is not with an agent now")
    if not request[IDENTITY].is_agent(live):
        raise wf.NotOwner(f"call {linkedid} is agent {live}'s", owner=live)
    return who


@roles("agent", "supervisor")
async def get_draft(request: web.Request) -> web.Response:
    """The work order written so far for a call still on the line (or its ticket's id)."""
    linkedid = _linkedid(request)
    found = await request.app[WORK_ORDERS].draft(linkedid)
    if found["ticket"] is None and found.get("author") not in (None, request[ACTOR]):
        await _may_write_draft(request, linkedid)
    return web.json_response(found, dumps=dumps)


@roles("agent", "supervisor")
async def put_draft(request: web.Request) -> web.Response:
    """Save the work order of the agent's live call; it becomes the call's ticket's content."""
    linkedid = _linkedid(request)
    who = await _may_write_draft(request, linkedid)
    body = await json_object(request)
    return web.json_response(await request.app[WORK_ORDERS].save_draft(linkedid, body, who), dumps=dumps)


def _linkedid(request: web.Request) -> str:
    raw = request.match_info["linkedid"]
    if not work_orders.LINKEDID.fullmatch(raw):
        raise BadRequest("linkedid is malformed")
    return raw


@roles("agent", "supervisor", "department", "ops")
async def callbacks(request: web.Request) -> web.Response:
    """The callback list for the morning shift (voicemails and booked callbacks)."""
    items = await request.app[DEPS].store.callbacks(request.query.get("department"), limit=_int(request, "limit", 100))
    return web.json_response({"items": [for_role(request, t) for t in items]}, dumps=dumps)


def _ticket_id(request: web.Request) -> int:
    value = parse_id(request.match_info["id"])
    if value is None:
        raise BadRequest("ticket id must be an integer")
    return value


async def _actor(request: web.Request) -> wf.Actor:
    """Who is calling: a person (their username, role, agent line, department) or a role
    token (its name)."""
    ident = request[IDENTITY]
    if ident.user_id is not None:
        return wf.Actor(name=ident.name, role=ident.role, department=ident.department,
                        aliases=ident.agent_names)
    name = ident.name if ident.name != ident.role else ""
    if not name:
        if ident.role in ("agent", "department"):
            raise wf.RoleNotAllowed(f"this {ident.role} token has no name: create it with "
                                    f"--name <{'agent id' if ident.role == 'agent' else 'department code'}>")
        name = f"{ident.role}:unnamed"
    return wf.Actor.of(name, ident.role)


@roles("agent", "supervisor", "department")
async def post_action(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    body = await json_object(request)
    due_days, extra = None, None
    if wf.parse_act(request.match_info["action"]) is wf.Act.DISPATCH and body.get("matter") is not None:
        due_days, extra = _from_catalogue(request, body)
    action = wf.parse_action(request.match_info["action"], body)  # unknown fields -> 400 here
    who = await _actor(request)
    providers = request.app[PROVIDERS]
    if action.name is wf.Act.DISPATCH:
        await providers.check_dispatch(action.args["department"])
    result = await request.app[DEPS].store.transition(ticket_id, action.name.value, who, who.role,
                                                      due_days=due_days, extra_details=extra, **action.args)
    if action.name is wf.Act.FOLLOW_UP:
        result["provider_suspended"] = await providers.after_follow_up(ticket_id)
    return web.json_response(result, dumps=dumps)


class UnknownMatter(BadRequest):
    id = "unknown-matter"


class OverrideNeedsReason(BadRequest):
    """Dispatching a catalogued matter elsewhere than the catalogue says takes a reason."""
    id = "override-needs-reason"


def _from_catalogue(request: web.Request, body: dict) -> tuple[int, dict]:
    """A dispatch naming the catalogue's matter type: its department and category unless the
    agent chose others (a department of their own choice needs `override_reason`), and its
    deadline in working days."""
    cat = request.app[CATALOGUE]()
    matter = cat.get(body["matter"]) if isinstance(body["matter"], str) else None
    if matter is None:
        raise UnknownMatter(f"no matter type {str(body['matter'])[:64]!r} in the dispatch catalogue", field="matter")
    body.setdefault("department", matter.department)
    body.setdefault("category", matter.category)
    overridden = body["department"] != matter.department
    if overridden and not (isinstance(body.get("override_reason"), str) and body["override_reason"].strip()):
        raise OverrideNeedsReason(f"the catalogue sends {matter.name} to {matter.department}: give override_reason "
                                  f"to dispatch it to {body['department']}", field="override_reason")
    if not overridden:
        body.pop("override_reason", None)
    return matter.days, {"suggested": {"matter": matter.code, "name": matter.name, "department": matter.department,
                                       "days": matter.days, "catalogue": cat.version},
                         "overridden": overridden}


@roles("supervisor", "ops", "department")
async def provider_status(request: web.Request) -> web.Response:
    providers = request.app[PROVIDERS]
    items = [{"department": d, "suspended": await providers.suspended(d)} for d in sorted(providers.providers)]
    return web.json_response({"items": items}, dumps=dumps)


@roles("supervisor")
async def lift_suspension(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    providers = request.app[PROVIDERS]
    if code not in providers.providers:
        raise BadRequest(f"{code[:40]!r} is not a member service provider")
    await providers.lift(code, request[ACTOR])
    return web.json_response({"department": code, "suspended": None}, dumps=dumps)


async def _department_may_see(request: web.Request, department: str | None) -> None:
    if request[ROLE] == "department":
        who = await _actor(request)
        if not department or who.department != department:
            raise wf.NotOwnDepartment(f"department {who.department} may only see its own tickets")


@roles("agent", "supervisor", "department", "ops", "auditor")
async def get_history(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    store = request.app[DEPS].store
    ticket = await store.workflow_ticket(ticket_id)
    await _department_may_see(request, ticket["department"])
    return web.json_response({"ticket": ticket, "items": await store.history(ticket_id)}, dumps=dumps)


@roles("agent", "supervisor", "department", "ops", "auditor")
async def get_overdue(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    await _department_may_see(request, code)
    flag = request.query.get("warnings", "0")
    if flag not in ("0", "1", "true", "false"):
        raise BadRequest("warnings must be 0 or 1")
    items = await request.app[DEPS].store.overdue(code, warnings=flag in ("1", "true"))
    return web.json_response({"department": code, "items": items}, dumps=dumps)


def add_routes(app: web.Application, providers: Providers,
               live_agent: Callable[[str], str | None] = lambda linkedid: None,
               catalogue: Callable[[], object] | None = None) -> None:
    """`live_agent(linkedid)`: the agent a call is with now (the ACD knows), for drafts;
    `catalogue()`: the live dispatch catalogue (catalogue/), for dispatches naming a matter."""
    app[PROVIDERS] = providers
    app[CATALOGUE] = catalogue or (lambda: Catalogue())
    app[WORK_ORDERS] = WorkOrders(app[DEPS].store)
    app[LIVE_AGENT] = live_agent
    app.router.add_get("/api/v1/tickets", list_tickets)
    app.router.add_get("/api/v1/tickets/similar", similar)
    app.router.add_get("/api/v1/tickets/{id}", get_ticket)
    app.router.add_patch("/api/v1/tickets/{id}", edit_ticket)
    app.router.add_get("/api/v1/calls/{linkedid}/draft", get_draft)
    app.router.add_put("/api/v1/calls/{linkedid}/draft", put_draft)
    app.router.add_get("/api/v1/callbacks", callbacks)
    app.router.add_get("/api/v1/providers", provider_status)
    app.router.add_post("/api/v1/providers/{code}/lift", lift_suspension)
    app.router.add_post("/api/v1/tickets/{id}/actions/{action}", post_action)
    app.router.add_get("/api/v1/tickets/{id}/history", get_history)
    app.router.add_get("/api/v1/departments/{code}/overdue", get_overdue)
