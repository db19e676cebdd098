"""HTTP routes of the knowledge base. Wire with `add_routes(app, kb)`.

- GET  /api/v1/kb?q=...&department=...&limit=10   search (agents, supervisors, ops)
- POST /api/v1/kb        {"department", "question", "answer", "keywords", "ivr_key", "language"}
                         (supervisors, ops); ivr_key: the voice menu reads it out (kb = "<key>")
- POST /api/v1/kb/{id}/used                          an agent read this answer out: counted
"""
from __future__ import annotations


from aiohttp import web

from core.errors import BadRequest
from web.app import dumps, json_object, parse_id, roles

from kb.store import KnowledgeBase

KB = web.AppKey("kb", KnowledgeBase)



@roles("agent", "supervisor", "ops")
async def search(request: web.Request) -> web.Response:
    q = request.query.get("q", "")
    raw = request.query.get("limit", "10")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 50:
        raise BadRequest("limit must be 1-50")
    dept = request.query.get("department") or None
    if dept is not None and (len(dept) > 32 or "\x00" in dept):
        raise BadRequest("department is malformed")
    items = await request.app[KB].search(q, dept, int(raw))
    return web.json_response({"q": q, "items": items}, dumps=dumps)


@roles("supervisor", "ops")
async def add(request: web.Request) -> web.Response:
    body = await json_object(request, {"department", "question", "answer", "keywords", "ivr_key", "language"})
    if not {"department", "question", "answer"} <= set(body):
        raise BadRequest('body must be {"department", "question", "answer"[, "keywords", "ivr_key", "language"]}')
    entry = await request.app[KB].add(body["department"], body["question"], body["answer"],
                                      body.get("keywords", ""), body.get("ivr_key"), body.get("language"))
    return web.json_response(entry, status=201, dumps=dumps)


@roles("agent", "supervisor")
async def used(request: web.Request) -> web.Response:
    entry_id = parse_id(request.match_info["id"])
    if entry_id is None:
        raise BadRequest("entry id must be an integer")
    return web.json_response(await request.app[KB].used(entry_id), dumps=dumps)


def add_routes(app: web.Application, kb: KnowledgeBase) -> None:
    app[KB] = kb
    app.router.add_get("/api/v1/kb", search)
    app.router.add_post("/api/v1/kb", add)
    app.router.add_post("/api/v1/kb/{id}/used", used)
