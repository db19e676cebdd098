"""HTTP routes of the priority-caller register (supervisors):

- GET    /api/v1/priority_callers              registered numbers (limit, offset)
- PUT    /api/v1/priority_callers/{number}     {"reason": "elderly|disabled", "note": "..."}
- DELETE /api/v1/priority_callers/{number}
"""
from __future__ import annotations

from aiohttp import web

from web.app import ACTOR, _int, dumps, json_object, roles
from acd.priority_callers import PriorityCallers

CALLERS = web.AppKey("priority_callers", PriorityCallers)


@roles("supervisor", "ops")
async def list_callers(request: web.Request) -> web.Response:
    """Registered elderly and disabled callers, served ahead of normal calls."""
    limit, offset = _int(request, "limit", 100), _int(request, "offset", 0)
    items = await request.app[CALLERS].list(limit, offset)
    return web.json_response({"items": items, "limit": limit, "offset": offset}, dumps=dumps)


@roles("supervisor")
async def put_caller(request: web.Request) -> web.Response:
    """Register (or update) a caller's number for priority."""
    body = await json_object(request, {"reason", "note"})
    row = await request.app[CALLERS].put(request.match_info["number"], body.get("reason"), body.get("note", ""),
                                         by=request[ACTOR])
    return web.json_response(row, dumps=dumps)


@roles("supervisor")
async def remove_caller(request: web.Request) -> web.Response:
    """Take a number off the register."""
    await request.app[CALLERS].remove(request.match_info["number"])
    return web.json_response({"removed": request.match_info["number"]}, dumps=dumps)


def add_routes(app: web.Application, callers: PriorityCallers) -> None:
    app[CALLERS] = callers
    app.router.add_get("/api/v1/priority_callers", list_callers)
    app.router.add_put("/api/v1/priority_callers/{number}", put_caller)
    app.router.add_delete("/api/v1/priority_callers/{number}", remove_caller)
