"""HTTP routes of the ticket workflow. Wire them with `add_routes(app)` after make_app().

- POST /api/v1/tickets/{id}/actions/{action}   body: the action's arguments as a JSON object
  (empty body = no arguments). 200 with the ticket's workflow view, the history entry
  written and the actions the caller may take next. Errors: bad-request (400: bad JSON,
  not an object, unknown or missing field, unknown action), role-not-allowed / not-owner /
  not-own-department (403), not-found (404), transition-refused / stale-update (409).
- GET /api/v1/tickets/{id}/history   {"ticket": view, "items": [entry, ...]} oldest first.
- GET /api/v1/departments/{code}/overdue[?warnings=1]   {"department", "items": [...]}.
- GET /api/v1/followups?limit=&offset=   {"items": [ticket + "survey": {...}]}: tickets whose
  satisfaction survey call used every attempt (no answer / no key), the longest waiting first.

The actor is the bearer token's name: the agent id for agents ("agent1002", the owner of
the tickets whose calls they answered), the department code for departments ("tax" or
"tax/zhang"). Agent and department tokens without a name may not act.
"""
from __future__ import annotations


from aiohttp import web

from hotline.errors import BadRequest
from hotline.http.app import ACTOR, DEPS, ROLE, _int, dumps, for_role, json_object, parse_id, roles

from . import workflow as wf
from .providers import Providers
from .survey import Surveys

PROVIDERS = web.AppKey("providers", Providers)
SURVEYS = web.AppKey("surveys", Surveys)



def _ticket_id(request: web.Request) -> int:
    value = parse_id(request.match_info["id"])
    if value is None:
        raise BadRequest("ticket id must be an integer")
    return value


async def _actor(request: web.Request) -> wf.Actor:
    """Who is calling: the token's role (checked by the auth middleware) and name."""
    role = request[ROLE]
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    ident = await request.app[DEPS].store.token_identity(token)
    name = (ident[1] if ident else "") or ""
    if not name:
        if role in ("agent", "department"):
            raise wf.RoleNotAllowed(f"this {role} token has no name: create it with "
                                    f"--name <{'agent id' if role == 'agent' else 'department code'}>")
        name = f"{role}:unnamed"
    return wf.Actor.of(name, role)


@roles("agent", "supervisor", "department")
async def post_action(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    body = await json_object(request)
    action = wf.parse_action(request.match_info["action"], body)  # unknown fields -> 400 here
    who = await _actor(request)
    providers = request.app[PROVIDERS]
    if action.name is wf.Act.DISPATCH:
        await providers.check_dispatch(action.args["department"])
    result = await request.app[DEPS].store.transition(ticket_id, action.name.value, who.name, who.role,
                                                      **action.args)
    if action.name is wf.Act.FOLLOW_UP:
        result["provider_suspended"] = await providers.after_follow_up(ticket_id)
    return web.json_response(result, dumps=dumps)


@roles("agent", "supervisor")
async def start_survey(request: web.Request) -> web.Response:
    """Call the citizen back for the satisfaction survey (one key: 1/2/3)."""
    ticket_id = _ticket_id(request)
    return web.json_response(await request.app[SURVEYS].start(ticket_id), status=202, dumps=dumps)


@roles("agent", "supervisor")
async def followups(request: web.Request) -> web.Response:
    """Tickets whose survey call ran out of attempts: a person calls these citizens."""
    limit, offset = _int(request, "limit", 50), _int(request, "offset", 0)
    items = await request.app[SURVEYS].calls.followups(limit=limit, offset=offset)
    return web.json_response({"items": [for_role(request, t) for t in items], "limit": limit, "offset": offset},
                             dumps=dumps)


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


def add_routes(app: web.Application, providers: Providers, surveys: Surveys) -> None:
    app[PROVIDERS] = providers
    app[SURVEYS] = surveys
    app.router.add_post("/api/v1/tickets/{id}/survey", start_survey)
    app.router.add_get("/api/v1/followups", followups)
    app.router.add_get("/api/v1/providers", provider_status)
    app.router.add_post("/api/v1/providers/{code}/lift", lift_suspension)
    app.router.add_post("/api/v1/tickets/{id}/actions/{action}", post_action)
    app.router.add_get("/api/v1/tickets/{id}/history", get_history)
    app.router.add_get("/api/v1/departments/{code}/overdue", get_overdue)
