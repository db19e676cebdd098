"""The HTTP kit: app factory, auth and error middleware, and the helpers every feature's
routes use. Every /api route names the roles it admits; errors carry stable ids.
Features add their routes with their own `add_routes(app, ...)`."""
from __future__ import annotations

import hmac
import html
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

from aiohttp import web

from core.errors import BadRequest, Forbidden, HotlineError, Unauthorized
from core.numbers import mask_number

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Identity:
    """Who makes a request: a person (user account, by session cookie or by one of their API
    tokens) or a role token of the days before accounts (user_id None)."""
    role: str
    name: str                      # who acts, as history rows name them: the username
    user_id: int | None = None
    agent_id: str | None = None    # the agent line a person works on
    department: str | None = None  # the department a person belongs to
    session: str | None = None     # set when the request came with the session cookie
    csrf: str | None = None        # that session's CSRF token

    def is_agent(self, agent_id: str) -> bool:
        """Does this identity act for the agent line `agent_id`?"""
        return self.agent_id == agent_id or self.name in (agent_id, f"agent{agent_id}")

    @property
    def agent_names(self) -> tuple[str, ...]:
        """The names the call records give this person's calls ("agent1002")."""
        return (f"agent{self.agent_id}", self.agent_id) if self.agent_id else ()


class Authenticator(Protocol):
    """How the HTTP kit learns who calls; users/auth.py implements it, the composition root
    wires it into Deps."""

    async def by_token(self, token: str) -> Identity | None: ...

    async def by_session(self, session_id: str) -> Identity | None: ...


class TokensOnly:
    """The authenticator of an app without user accounts: role tokens of the store."""

    def __init__(self, store):
        self.store = store

    async def by_token(self, token: str) -> Identity | None:
        ident = await self.store.token_identity(token)
        if ident is None:
            return None
        role, name = ident
        return Identity(role=role, name=name or role)

    async def by_session(self, session_id: str) -> Identity | None:
        return None


@dataclass
class Deps:
    """What the routes may use; built by the composition root."""
    store: object
    status: Callable[[], Awaitable[dict]]
    registry: object = None  # prometheus CollectorRegistry
    auth: Authenticator | None = None   # None: role tokens only (TokensOnly over the store)

    def __post_init__(self):
        if self.auth is None:
            self.auth = TokensOnly(self.store)


DEPS = web.AppKey("deps", Deps)
ROLE = web.RequestKey("role", str)
ACTOR = web.RequestKey("actor", str)
IDENTITY = web.RequestKey("identity", Identity)
SESSION_COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(Forbidden):
    """A state-changing request made with the session cookie lacks the session's CSRF token."""
    id = "csrf-refused"


def roles(*allowed: str, audit: str | None = None):
    """Mark a handler with the roles it admits; the auth middleware enforces it. With
    `audit`, every attempt (refused ones too) is written to the access audit."""
    def mark(fn: Handler) -> Handler:
        fn.roles = frozenset(allowed)  # type: ignore[attr-defined]
        fn.audit = audit  # type: ignore[attr-defined]
        return fn
    return mark


def needs_session(fn: Handler) -> Handler:
    """Mark a page (or form handler) that only a logged-in person may open: without a
    session the browser is sent to /login."""
    fn.session = True  # type: ignore[attr-defined]
    return fn


@web.middleware
async def errors_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HotlineError as e:
        if e.status >= 500:
            log.warning("%s %s -> %s: %s", request.method, request.path, e.id, e)
        body = {"error": e.id, "message": str(e)}
        if isinstance(e.details.get("field"), str):   # which field of a form was wrong
            body["field"] = e.details["field"]
        return web.json_response(body, status=e.status)
    except web.HTTPException as e:
        if e.status >= 400:
            return web.json_response({"error": f"http-{e.status}", "message": e.reason}, status=e.status)
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": "internal-error", "message": "internal error"}, status=500)


async def _identify(request: web.Request) -> Identity | None:
    """A bearer token when the request has one (tools), else the session cookie (pages)."""
    auth = request.app[DEPS].auth
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("bearer token required")
        ident = await auth.by_token(token.strip())
        if ident is None:
            raise Unauthorized("unknown or revoked token")
        return ident
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        return await auth.by_session(sid)
    return None


async def _check_csrf(request: web.Request, ident: Identity) -> None:
    """A request that changes something and rides on the cookie must prove it comes from
    our own page: the session's token in a header (scripts) or a form field (forms)."""
    if ident.session is None or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = str((await request.post()).get(CSRF_FIELD, ""))
    if not ident.csrf or not hmac.compare_digest(sent.encode(), ident.csrf.encode()):
        raise CsrfRefused("this request needs the CSRF token of your session (reload the page)")


@web.middleware
async def auth_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    fn = request.match_info.handler
    allowed = getattr(fn, "roles", None)
    api = request.path.startswith("/api/") and not getattr(fn, "public", False)
    if api:
        if allowed is None:  # an /api route nobody marked: refuse rather than expose
            raise Forbidden("route has no role policy")
        ident = await _identify(request)
        if ident is None:
            raise Unauthorized("bearer token or session required")
        if ident.role not in allowed:
            action = getattr(fn, "audit", None)
            if action:
                target = request.match_info.get("id", "")
                await request.app[DEPS].store.audit(actor=ident.name, role=ident.role,
                                                    attachment_id=parse_id(target),
                                                    action=action, allowed=False, detail="role not allowed")
            raise Forbidden(f"role {ident.role} may not use this route")
        await _check_csrf(request, ident)
        request[IDENTITY] = ident
        request[ROLE] = ident.role
        request[ACTOR] = ident.name
        for key, value in request.query.items():
            # no database stores a NUL; say so instead of failing deep in the driver
            if "\x00" in key or "\x00" in value:
                raise BadRequest(f"query parameter {key[:40]!r} contains a NUL character")
    elif getattr(fn, "session", False):
        sid = request.cookies.get(SESSION_COOKIE)
        ident = await request.app[DEPS].auth.by_session(sid) if sid else None
        if ident is None:
            if request.method in SAFE_METHODS:
                raise web.HTTPSeeOther(f"/login?{urlencode({'next': request.path_qs})}")
            raise Unauthorized("log in first")
        await _check_csrf(request, ident)
        request[IDENTITY] = ident
        request[ROLE] = ident.role
        request[ACTOR] = ident.name
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


ROLES = ("agent", "supervisor", "department", "ops", "auditor")

# Roles that work with cases, not with callers: they see 138****8000, never the number.
MASKED_ROLES = frozenset({"auditor", "department"})


def for_role(request: web.Request, ticket: dict) -> dict:
    if request[ROLE] in MASKED_ROLES and ticket.get("caller"):
        return {**ticket, "caller": mask_number(ticket["caller"]), "caller_masked": True}
    return ticket


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


def page(name: str, folder: Path = PAGES, *, login: bool = True) -> Handler:
    """A static page of a feature's pages/ folder: it holds no data and reads the API with
    the session cookie. Only a logged-in person gets it (`login=False`: anyone)."""
    async def handler(request: web.Request) -> web.Response:
        return html_page((folder / name).read_text())
    handler.__name__ = f"page_{name.removesuffix('.html')}"
    return needs_session(handler) if login else handler


def role_page(name: str, folder: Path, allowed: frozenset[str]):
    """A static page for some roles only: a person of another role reads why, and where to go."""
    @needs_session
    async def handler(request: web.Request) -> web.Response:
        if request[ROLE] not in allowed:
            who = html.escape(request[ROLE])
            return html_page(f'<!doctype html><meta charset="utf-8"><title>403</title><p>此页面仅供 '
                             f'{html.escape(" / ".join(sorted(allowed)))} 使用；您的角色是 {who}. '
                             f'This page is not for the {who} role. <a href="/">首页 Home</a></p>', status=403)
        return html_page((folder / name).read_text())
    handler.__name__ = f"page_{name.removesuffix('.html')}"
    return handler


def html_page(text: str, status: int = 200, headers: dict | None = None) -> web.Response:
    """An HTML page with our security headers. Its own <script> tags get this response's
    nonce; the policy runs no other script (an injected <script> or onerror= stays inert)."""
    nonce = secrets.token_urlsafe(16)
    text = text.replace("<script>", f'<script nonce="{nonce}">')
    policy = (f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data:; media-src 'self' blob:; frame-ancestors 'none'; form-action 'self'; "
              "base-uri 'none'")
    return web.Response(text=text, status=status, content_type="text/html",
                        headers={"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
                                 **(headers or {})})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; loopback-only like everything else."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    body = generate_latest(request.app[DEPS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def dumps(obj) -> str:
    """JSON for every response: Chinese as text, dates and odd values as strings."""
    return json.dumps(obj, ensure_ascii=False, default=str)


def make_app(deps: Deps) -> web.Application:
    app = web.Application(middlewares=[errors_mw, auth_mw], client_max_size=1024 * 1024)
    app[DEPS] = deps
    app.router.add_get("/", page("index.html", login=False))  # the landing page: what runs, where to go
    app.router.add_get("/status", status)
    app.router.add_get("/metrics", metrics)
    return app
