"""HTTP routes of the dispatch catalogue. Wire with `add_routes(app, live, due)`.

- GET /api/v1/catalogue                  every matter type (code, name, category, department,
                                         days, keywords) and the catalogue's version
- GET /api/v1/catalogue/suggest?text=…   the matter types the words point to, best first, each
                                         with the words that matched and its due date if
                                         dispatched now (`due(days)`, the centre's working days)
"""
from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from core.errors import BadRequest
from web.app import dumps, roles

from catalogue.live import LiveCatalogue

LIVE = web.AppKey("catalogue", LiveCatalogue)
DUE = web.AppKey("catalogue_due", object)


@roles("agent", "supervisor", "ops", "department")
async def list_matters(request: web.Request) -> web.Response:
    cat = request.app[LIVE]()
    return web.json_response({"version": cat.version, "items": [m.json() for m in cat.matters]}, dumps=dumps)


@roles("agent", "supervisor")
async def suggest(request: web.Request) -> web.Response:
    """Which matter type, department and deadline the citizen's words point to."""
    text = request.query.get("text", "")
    if len(text) > 20000:
        raise BadRequest("text must be at most 20000 characters")
    due: Callable[[int], str] = request.app[DUE]
    items = [{**m.json(), "hits": hits, "due_at": due(m.days)} for m, hits in request.app[LIVE]().suggest(text)]
    return web.json_response({"items": items}, dumps=dumps)


def add_routes(app: web.Application, live: LiveCatalogue, due: Callable[[int], str]) -> None:
    app[LIVE] = live
    app[DUE] = due
    app.router.add_get("/api/v1/catalogue", list_matters)
    app.router.add_get("/api/v1/catalogue/suggest", suggest)
