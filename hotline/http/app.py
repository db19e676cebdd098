"""aiohttp app factory. Every /api route names the roles it admits; errors carry stable ids."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from recordings import archive

from ..errors import BadRequest, Forbidden, HotlineError, NotFound, Tampered, Unauthorized

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Deps:
    """What the routes may use; built by the composition root."""
    store: object
    status: Callable[[], Awaitable[dict]]
    registry: object = None  # prometheus CollectorRegistry


DEPS = web.AppKey("deps", Deps)
ROLE = web.RequestKey("role", str)
ACTOR = web.RequestKey("actor", str)


def roles(*allowed: str, audit: str | None = None):
    """Mark a handler with the roles it admits; the auth middleware enforces it. With
    `audit`, every attempt (refused ones too) is written to the access audit."""
    def mark(fn: Handler) -> Handler:
        fn.roles = frozenset(allowed)  # type: ignore[attr-defined]
        fn.audit = audit  # type: ignore[attr-defined]
        return fn
    return mark


@web.middleware
async def errors_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HotlineError as e:
        if e.status >= 500:
            log.warning("%s %s -> %s: %s", request.method, request.path, e.id, e)
        return web.json_response({"error": e.id, "message": str(e)}, status=e.status)
    except web.HTTPException as e:
        if e.status >= 400:
            return web.json_response({"error": f"http-{e.status}", "message": e.reason}, status=e.status)
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": "internal-error", "message": "internal error"}, status=500)


@web.middleware
async def auth_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    allowed = getattr(request.match_info.handler, "roles", None)
    if request.path.startswith("/api/") and not getattr(request.match_info.handler, "public", False):
        if allowed is None:  # an /api route nobody marked: refuse rather than expose
            raise Forbidden("route has no role policy")
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("bearer token required")
        ident = await request.app[DEPS].store.token_identity(token.strip())
        if ident is None:
            raise Unauthorized("unknown or revoked token")
        role, name = ident
        if role not in allowed:
            action = getattr(request.match_info.handler, "audit", None)
            if action:
                target = request.match_info.get("id", "")
                await request.app[DEPS].store.audit(actor=name or role, role=role,
                                                    attachment_id=parse_id(target),
                                                    action=action, allowed=False, detail="role not allowed")
            raise Forbidden(f"role {role} may not use this route")
        request[ROLE] = role
        request[ACTOR] = name or role
        for key, value in request.query.items():
            # no database stores a NUL; say so instead of failing deep in the driver
            if "\x00" in key or "\x00" in value:
                raise BadRequest(f"query parameter {key[:40]!r} contains a NUL character")
    return await handler(request)


MAX_ID = 2**31 - 1  # ids are 32-bit integers in both databases


def parse_id(raw: str | None) -> int | None:
    """A database id from text, or None: ASCII digits only, within the column's range."""
    if not raw or not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def _id(request: web.Request, what: str = "id") -> int:
    value = parse_id(request.match_info["id"])
    if value is None:
        raise BadRequest(f"{what} must be an integer from 1 to {MAX_ID}")
    return value


LIMITS = {"limit": (1, 1000), "offset": (0, 10_000_000)}


def _int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    lo, hi = LIMITS.get(name, (0, 2**31 - 1))
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be from {lo} to {hi}")
    return value


async def status(request: web.Request) -> web.Response:
    body = await request.app[DEPS].status()
    return web.json_response(body, status=200 if body["ok"] else 503)


# Roles that work with cases, not with callers: they see 138****8000, never the number.
MASKED_ROLES = frozenset({"auditor", "department"})


def mask_number(number: str) -> str:
    n = len(number)
    if n <= 4:
        return "*" * n
    keep = 3 if n >= 8 else 0   # mobile numbers keep the carrier prefix, short ones nothing
    return number[:keep] + "*" * (n - keep - 4) + number[-4:]


def for_role(request: web.Request, ticket: dict) -> dict:
    if request[ROLE] in MASKED_ROLES and ticket.get("caller"):
        return {**ticket, "caller": mask_number(ticket["caller"]), "caller_masked": True}
    return ticket


@roles("agent", "supervisor", "ops", "auditor")
async def list_tickets(request: web.Request) -> web.Response:
    q = request.query
    items = await request.app[DEPS].store.tickets(
        caller=q.get("caller"), dialed=q.get("dialed"), linkedid=q.get("linkedid"),
        limit=_int(request, "limit", 50), offset=_int(request, "offset", 0))
    return web.json_response({"items": [for_role(request, t) for t in items], "limit": _int(request, "limit", 50),
                              "offset": _int(request, "offset", 0)}, dumps=_dumps)


@roles("agent", "supervisor", "ops", "auditor")
async def get_ticket(request: web.Request) -> web.Response:
    ticket_id = _id(request, "ticket id")
    return web.json_response(for_role(request, await request.app[DEPS].store.ticket(ticket_id)), dumps=_dumps)


@roles("agent", "supervisor", "department", "ops")
async def callbacks(request: web.Request) -> web.Response:
    """The callback list for the morning shift (voicemails and booked callbacks)."""
    items = await request.app[DEPS].store.callbacks(request.query.get("department"), limit=_int(request, "limit", 100))
    return web.json_response({"items": [for_role(request, t) for t in items]}, dumps=_dumps)


@roles("agent", "supervisor", "ops", "auditor")
async def ticket_attachments(request: web.Request) -> web.Response:
    ticket_id = _id(request, "ticket id")
    items = await request.app[DEPS].store.attachments(ticket_id)
    for a in items:
        a.pop("path", None)  # files are fetched through the API, never by path
        a["content"] = f"/api/v1/attachments/{a['id']}/content"
    return web.json_response({"items": items}, dumps=_dumps)


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
    return web.json_response({"items": items}, dumps=_dumps)


PAGES = Path(__file__).with_name("pages")


async def json_object(request: web.Request, allowed: set[str] | None = None) -> dict:
    """The request body as a JSON object ({} when empty); unknown fields refused when
    `allowed` is given. Every route with a body reads it here."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    if allowed is not None and set(body) - allowed:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(set(body) - allowed))}")
    return body


def page(name: str) -> Handler:
    """A static page of pages/: it holds no data, it asks for a token and uses the API."""
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=(PAGES / name).read_text(), content_type="text/html")
    handler.__name__ = f"page_{name.removesuffix('.html')}"
    return handler


async def player_page(request: web.Request) -> web.Response:
    """The page holds no data: it asks for the user's token and fetches through the API."""
    if not request.match_info["id"].isdigit():
        raise NotFound("no such attachment")
    return web.Response(text=(PAGES / "player.html").read_text(), content_type="text/html")


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; loopback-only like everything else."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    body = generate_latest(request.app[DEPS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def dumps(obj) -> str:
    """JSON for every response: Chinese as text, dates and odd values as strings."""
    return json.dumps(obj, ensure_ascii=False, default=str)


_dumps = dumps


def make_app(deps: Deps) -> web.Application:
    app = web.Application(middlewares=[errors_mw, auth_mw], client_max_size=1024 * 1024)
    app[DEPS] = deps
    app.router.add_get("/status", status)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/v1/tickets", list_tickets)
    app.router.add_get("/api/v1/tickets/{id}", get_ticket)
    app.router.add_get("/api/v1/tickets/{id}/attachments", ticket_attachments)
    app.router.add_get("/api/v1/attachments/{id}/content", attachment_content)
    app.router.add_get("/api/v1/callbacks", callbacks)
    app.router.add_post("/api/v1/attachments/{id}/hold", attachment_hold)
    app.router.add_get("/api/v1/audit", audit_log)
    app.router.add_get("/play/{id}", player_page)
    return app
