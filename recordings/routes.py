"""HTTP routes of stored media (recordings, voicemails, faxes): listed per ticket, served
audited and hash-checked, put on legal hold; the access audit; the playback page."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web

from core.errors import BadRequest, NotFound, Tampered
from recordings import archive
from web.app import ACTOR, DEPS, ROLE, _id, _int, dumps, html_page, needs_session, parse_id, roles

PAGES = Path(__file__).with_name("pages")


@roles("agent", "supervisor", "ops", "auditor")
async def ticket_attachments(request: web.Request) -> web.Response:
    ticket_id = _id(request, "ticket id")
    items = await request.app[DEPS].store.attachments(ticket_id)
    for a in items:
        a.pop("path", None)  # files are fetched through the API, never by path
        a["content"] = f"/api/v1/attachments/{a['id']}/content"
    return web.json_response({"items": items}, dumps=dumps)


@roles("agent", "supervisor", audit="read")
async def attachment_content(request: web.Request) -> web.StreamResponse:
    """A recording, voicemail or fax: audited, and a recording whose hash no longer
    matches is reported as tampered instead of being served."""
    attachment_id = _id(request, "attachment id")
    store = request.app[DEPS].store
    a = await store.attachment(attachment_id)
    path = Path(a["path"] or "")
    who = dict(actor=request[ACTOR], role=request[ROLE], attachment_id=attachment_id, action="read")
    if a["deleted_at"] is not None or not path.is_file():
        await store.audit(**who, allowed=False, detail="no file")
        raise NotFound(f"attachment {attachment_id} has no file ({a['status']}: {a['error'] or 'deleted or missing'})")
    if a["sha256"] and not await asyncio.to_thread(archive.verify, str(path), a["sha256"]):
        await store.audit(**who, allowed=False, detail="hash mismatch: file changed since it was stored")
        raise Tampered(f"attachment {attachment_id} does not match its stored sha256")
    await store.audit(**who, allowed=True)
    return web.FileResponse(path, headers={"Content-Type": a["mime"] or "application/octet-stream"})


@roles("supervisor", audit="hold")
async def attachment_hold(request: web.Request) -> web.Response:
    attachment_id = _id(request, "attachment id")
    try:
        body = await request.json()
    except (ValueError, json.JSONDecodeError):
        raise BadRequest("body must be JSON like {\"hold\": true}") from None
    if not isinstance(body, dict) or set(body) != {"hold"} or not isinstance(body["hold"], bool):
        raise BadRequest("body must be JSON like {\"hold\": true}")
    store = request.app[DEPS].store
    await store.set_hold(attachment_id, body["hold"])
    await store.audit(actor=request[ACTOR], role=request[ROLE], attachment_id=attachment_id, action="hold",
                      allowed=True, detail=f"legal hold {'set' if body['hold'] else 'lifted'}")
    return web.json_response({"id": attachment_id, "legal_hold": body["hold"]})


@roles("auditor", "supervisor")
async def audit_log(request: web.Request) -> web.Response:
    raw = request.query.get("attachment")
    items = await request.app[DEPS].store.audit_log(parse_id(raw),
                                                    limit=_int(request, "limit", 100))
    return web.json_response({"items": items}, dumps=dumps)




@needs_session
async def player_page(request: web.Request) -> web.Response:
    """The page holds no data: it fetches through the API with the person's session."""
    if not request.match_info["id"].isdigit():
        raise NotFound("no such attachment")
    return html_page((PAGES / "player.html").read_text())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/tickets/{id}/attachments", ticket_attachments)
    app.router.add_get("/api/v1/attachments/{id}/content", attachment_content)
    app.router.add_post("/api/v1/attachments/{id}/hold", attachment_hold)
    app.router.add_get("/api/v1/audit", audit_log)
    app.router.add_get("/play/{id}", player_page)
