"""HTTP routes of the satisfaction survey.

- POST /api/v1/tickets/{id}/survey   call the citizen now (takes over a scheduled row).
- GET /api/v1/followups?limit=&offset=   {"items": [ticket + "survey": {...}]}: tickets whose
  satisfaction survey call used every attempt (no answer / no key), the longest waiting first.
"""
from __future__ import annotations

from aiohttp import web

from surveys.service import Surveys
from web.app import _id, _int, dumps, for_role, roles

SURVEYS = web.AppKey("surveys", Surveys)


@roles("agent", "supervisor")
async def start_survey(request: web.Request) -> web.Response:
    """Call the citizen back for the satisfaction survey (one key: 1/2/3)."""
    ticket_id = _id(request, "ticket id")
    return web.json_response(await request.app[SURVEYS].start(ticket_id), status=202, dumps=dumps)


@roles("agent", "supervisor")
async def followups(request: web.Request) -> web.Response:
    """Tickets whose survey call ran out of attempts: a person calls these citizens."""
    limit, offset = _int(request, "limit", 50), _int(request, "offset", 0)
    items = await request.app[SURVEYS].calls.followups(limit=limit, offset=offset)
    return web.json_response({"items": [for_role(request, t) for t in items], "limit": limit, "offset": offset},
                             dumps=dumps)


def add_routes(app: web.Application, surveys: Surveys) -> None:
    app[SURVEYS] = surveys
    app.router.add_post("/api/v1/tickets/{id}/survey", start_survey)
    app.router.add_get("/api/v1/followups", followups)
