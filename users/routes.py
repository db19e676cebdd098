"""Logging in and out: the login page, the session cookie, password change, and who am I.
Wire with `add_routes(app, users)`.

- GET  /login            the form (`?next=/agent`: where to go after)
- POST /login            form fields `username`, `password` (and `next`): sets the session cookie
                         (HttpOnly, SameSite=Strict) and sends the browser on; a wrong password
                         shows the form again (401), a locked account says so (423)
- POST /logout           ends the session (form field `csrf` or the X-CSRF-Token header)
- GET|POST /password     change one's own password (current one first; other sessions end)
- GET  /api/v1/me        who the caller is, and the session's CSRF token for the pages' scripts
"""
from __future__ import annotations

import html
import logging
from pathlib import Path

from aiohttp import web

from core.errors import HotlineError
from web.app import (IDENTITY, SESSION_COOKIE, dumps, html_page, needs_session, roles)

from users.store import AccountLocked, UserStore

log = logging.getLogger(__name__)

USERS = web.AppKey("users", UserStore)
PAGES = Path(__file__).with_name("pages")
HOME = {"agent": "/agent", "supervisor": "/console", "ops": "/wallboard", "auditor": "/digest",
        "department": "/portal"}


def _next(raw: str | None, role: str | None = None) -> str:
    """Only a path of this site: never another host (//evil, https://...), never a header break."""
    if raw and raw.startswith("/") and not raw.startswith(("//", "/\\")) and all(c >= " " for c in raw) \
            and len(raw) < 500 and not raw.startswith("/login"):
        return raw
    return HOME.get(role or "", "/")


def _fill(name: str, **values: str) -> str:
    text = (PAGES / name).read_text()
    for key, value in values.items():
        text = text.replace(f"__{key.upper()}__", value)
    return text


def _login_page(message: str = "", kind: str = "err", username: str = "", nxt: str = "", status: int = 200):
    msg = f'<p class="{kind}" id="message">{html.escape(message)}</p>' if message else ""
    return html_page(_fill("login.html", message=msg, username=html.escape(username, quote=True),
                           next=html.escape(nxt, quote=True)), status=status)


def _same_origin(request: web.Request) -> bool:
    """A browser says where a form post comes from; a post from another site is refused
    (login CSRF). Tools send no Origin and are let through."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin == f"{request.scheme}://{request.host}"


async def login_form(request: web.Request) -> web.Response:
    nxt = request.query.get("next", "")
    message = "请先登录 Please log in" if nxt else ""
    return _login_page(message, "dim", nxt=nxt)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    nxt = str(form.get("next", ""))
    if not _same_origin(request):
        return _login_page("来源不符 This form was sent from another site", username=username, status=403)
    try:
        sid, who = await request.app[USERS].login(username, password)
    except AccountLocked as e:
        log.warning("login: %r locked", username[:64])
        return _login_page(f"账户已锁定 Account locked: {e}", username=username, nxt=nxt, status=423)
    except HotlineError:
        log.info("login: %r refused", username[:64])
        return _login_page("用户名或密码错误 Wrong username or password", username=username, nxt=nxt, status=401)
    log.info("login: %s (%s)", who.name, who.role)
    resp = web.Response(status=303, headers={"Location": _next(nxt, who.role)})
    resp.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Strict", path="/", secure=request.secure,
                    max_age=int(request.app[USERS].session_hours * 3600))
    return resp


@needs_session
async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[USERS].logout(request[IDENTITY].session)
    resp = web.Response(status=303, headers={"Location": "/login"})
    resp.del_cookie(SESSION_COOKIE, path="/")
    return resp


def _password_page(request: web.Request, message: str = "", kind: str = "err", status: int = 200):
    who = request[IDENTITY]
    msg = f'<p class="{kind}" id="message">{html.escape(message)}</p>' if message else ""
    return html_page(_fill("password.html", message=msg, username=html.escape(who.name),
                           csrf=html.escape(who.csrf or "", quote=True), home=HOME.get(who.role, "/")),
                     status=status)


@needs_session
async def password_form(request: web.Request) -> web.Response:
    return _password_page(request)


@needs_session
async def change_password(request: web.Request) -> web.Response:
    form = await request.post()
    who = request[IDENTITY]
    new, again = str(form.get("new", "")), str(form.get("again", ""))
    if new != again:
        return _password_page(request, "两次输入不一致 The new passwords differ", status=400)
    try:
        await request.app[USERS].change_password(who.user_id, str(form.get("current", "")), new,
                                                 keep_session=who.session)
    except HotlineError as e:
        return _password_page(request, f"未修改 Not changed: {e}", status=e.status)
    return _password_page(request, "密码已修改 Password changed", "ok")


@roles("agent", "supervisor", "department", "ops", "auditor")
async def me(request: web.Request) -> web.Response:
    """Who is calling: name, role, agent line, department, and the session's CSRF token."""
    who = request[IDENTITY]
    return web.json_response({"username": who.name, "role": who.role, "agent_id": who.agent_id,
                              "department": who.department, "user": who.user_id is not None,
                              "csrf": who.csrf}, dumps=dumps)


def add_routes(app: web.Application, users: UserStore) -> None:
    app[USERS] = users
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/password", password_form)
    app.router.add_post("/password", change_password)
    app.router.add_get("/api/v1/me", me)
