"""People, not tokens: logging in on the engine's real app, the session cookie, CSRF on every
change made with it, lockout, logout, password change, and tokens that act as a person."""
from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core import settings
from hotline.app import Engine

from .web_helpers import new_ticket

PASSWORD = "correct horse 12345"


@pytest.fixture
async def app(tmp_path):
    s = settings.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    engine = Engine(s, phones=False)
    await engine.store.migrate()
    users = engine.users
    await users.add("wang", PASSWORD, "agent", agent_id="1002")
    await users.add("li", PASSWORD, "agent", agent_id="1001")
    await users.add("boss", PASSWORD, "supervisor")
    await users.add("zhang", PASSWORD, "department", department="tax")
    client = TestClient(TestServer(engine.http, host="127.0.0.1"))
    await client.start_server()
    yield engine, client
    await client.close()
    await engine.store.close()


async def login(client, username="wang", password=PASSWORD, **extra):
    return await client.post("/login", data={"username": username, "password": password, **extra},
                             allow_redirects=False)


async def me(client) -> dict:
    r = await client.get("/api/v1/me")
    assert r.status == 200, await r.text()
    return await r.json()


async def test_a_page_without_a_session_sends_the_browser_to_the_login_page(app):
    _, client = app
    for path in ("/agent", "/wallboard", "/digest", "/play/1", "/password"):
        r = await client.get(path, allow_redirects=False)
        assert r.status == 303, path
        assert unquote(r.headers["Location"]) == "/login?next=" + path, path
    r = await client.get("/login?next=%2Fagent")
    html = await r.text()
    assert r.status == 200 and 'name="username"' in html and 'name="password"' in html
    assert 'value="/agent"' in html
    assert (await client.get("/", allow_redirects=False)).status == 200   # the landing page stays open


async def test_login_sets_an_httponly_strict_cookie_and_opens_the_pages_and_the_api(app):
    _, client = app
    r = await login(client, next="/agent")
    assert r.status == 303 and r.headers["Location"] == "/agent"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("hotline_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    page = await client.get("/agent", allow_redirects=False)
    assert page.status == 200
    assert "script-src 'nonce-" in page.headers["Content-Security-Policy"]
    who = await me(client)
    assert (who["username"], who["role"], who["agent_id"], who["user"]) == ("wang", "agent", "1002", True)
    assert len(who["csrf"]) >= 32
    r = await client.get("/api/v1/tickets")
    assert r.status == 200


async def test_a_next_that_leaves_the_site_goes_home_instead(app):
    _, client = app
    for bad in ("//evil.example/x", "https://evil.example/", "/\\evil", "/login"):
        r = await login(client, next=bad)
        assert r.headers["Location"] == "/agent", bad


async def test_wrong_password_shows_the_form_again_and_five_lock_the_account(app):
    engine, client = app
    for i in range(4):
        r = await login(client, password=f"wrong-{i}")
        assert r.status == 401
        assert "用户名或密码错误 Wrong username or password" in await r.text()
        assert "Set-Cookie" not in r.headers
    r = await login(client, password="wrong-5")
    assert r.status == 423 and "Account locked" in await r.text()
    # locked: the right password does not open it either
    r = await login(client)
    assert r.status == 423 and "Set-Cookie" not in r.headers
    assert (await engine.users.user("wang"))["locked_until"]
    # ops resets it: a new password, unlocked
    await engine.users.reset("wang", "another good password")
    r = await login(client, password="another good password")
    assert r.status == 303


async def test_a_right_password_resets_the_count_of_wrong_ones(app):
    _, client = app
    for i in range(4):
        assert (await login(client, password=f"wrong-{i}")).status == 401
    assert (await login(client)).status == 303
    for i in range(4):
        assert (await login(client, password=f"wrong-{i}")).status == 401
    assert (await login(client)).status == 303


async def test_an_unknown_user_and_a_disabled_one_get_the_same_answer_as_a_wrong_password(app):
    engine, client = app
    r = await login(client, username="nobody")
    assert r.status == 401
    await engine.users.disable("li")
    r = await login(client, username="li")
    assert r.status == 401


async def test_a_change_made_with_the_cookie_needs_the_sessions_csrf_token(app):
    engine, client = app
    tid = await new_ticket(engine.store, agent="agent1002")
    await login(client)
    csrf = (await me(client))["csrf"]
    url = f"/api/v1/tickets/{tid}/actions/answer_on_spot"
    r = await client.post(url, json={"text": "已答复"})
    assert r.status == 403 and (await r.json())["error"] == "csrf-refused"
    r = await client.post(url, json={"text": "已答复"}, headers={"X-CSRF-Token": "forged" + csrf[6:]})
    assert r.status == 403 and (await r.json())["error"] == "csrf-refused"
    r = await client.post(url, json={"text": "已答复"}, headers={"X-CSRF-Token": csrf})
    assert r.status == 200, await r.text()
    # the person is named: owner and history actor are the username, not the line
    body = await r.json()
    assert body["owner"] == "wang" and body["history"]["actor"] == "wang"
    history = await engine.store.history(tid)
    assert [h["actor"] for h in history] == ["wang"]


async def test_logout_needs_the_csrf_token_and_ends_the_session(app):
    _, client = app
    await login(client)
    csrf = (await me(client))["csrf"]
    r = await client.post("/logout", data={}, allow_redirects=False)
    assert r.status == 403
    r = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login"
    assert (await client.get("/api/v1/me")).status == 401
    assert (await client.get("/agent", allow_redirects=False)).status == 303


async def test_a_form_posted_from_another_site_cannot_log_anyone_in(app):
    _, client = app
    r = await client.post(
        "/login", data={"username": "wang", "password": PASSWORD}, headers={"Origin": "http://evil.example"},
        allow_redirects=False)
    assert r.status == 403 and "Set-Cookie" not in r.headers


async def test_password_change_needs_the_current_password_and_ends_other_sessions(app):
    engine, client = app
    other = TestClient(TestServer(engine.http, host="127.0.0.1"))
    await other.start_server()
    try:
        await login(other)
        assert (await other.get("/api/v1/me")).status == 200
        await login(client)
        page = await (await client.get("/password")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        r = await client.post("/password", data={"csrf": csrf, "current": "wrong", "new": "a new password 1",
                                                 "again": "a new password 1"})
        assert r.status == 401 and "Not changed" in await r.text()
        r = await client.post("/password", data={"csrf": csrf, "current": PASSWORD, "new": "short",
                                                 "again": "short"})
        assert r.status == 400
        r = await client.post("/password", data={"csrf": csrf, "current": PASSWORD, "new": "a new password 1",
                                                 "again": "a new password 1"})
        assert r.status == 200 and "Password changed" in await r.text()
        assert (await client.get("/api/v1/me")).status == 200     # this session goes on
        assert (await other.get("/api/v1/me")).status == 401      # the other one ended
        assert (await login(client, password=PASSWORD)).status == 401
        assert (await login(client, password="a new password 1")).status == 303
    finally:
        await other.close()


async def test_a_token_of_a_person_acts_as_them_and_stops_when_they_are_disabled(app):
    engine, client = app
    token = await engine.users.create_token("zhang")
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    who = await r.json()
    assert (who["username"], who["role"], who["department"], who["csrf"]) == ("zhang", "department", "tax", None)
    # a bearer token needs no CSRF token: the browser never sends it by itself
    tid = await new_ticket(engine.store, agent="agent1002")
    boss = await engine.users.create_token("boss")
    r = await client.post(f"/api/v1/tickets/{tid}/actions/dispatch", json={"department": "tax", "category": "complaint"},
                          headers={"Authorization": f"Bearer {boss}"})
    assert r.status == 200, await r.text()
    r = await client.post(f"/api/v1/tickets/{tid}/actions/accept", json={},
                          headers={"Authorization": f"Bearer {token}"})
    assert r.status == 200, await r.text()
    assert [(h["actor"], h["role"]) for h in await engine.store.history(tid)] == [("boss", "supervisor"),
                                                                               ("zhang", "department")]
    await engine.users.disable("zhang")
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status == 401


async def test_old_role_tokens_keep_working(app):
    engine, client = app
    token = await engine.store.create_token("agent", "agent1002")
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert (await r.json())["username"] == "agent1002"
    tid = await new_ticket(engine.store, agent="agent1002")
    r = await client.post(f"/api/v1/tickets/{tid}/actions/answer_on_spot", json={},
                          headers={"Authorization": f"Bearer {token}"})
    assert r.status == 200


async def test_another_agent_may_not_act_on_a_ticket_wang_took(app):
    engine, client = app
    tid = await new_ticket(engine.store, agent="agent1002")
    await login(client, username="li")
    csrf = (await me(client))["csrf"]
    r = await client.post(f"/api/v1/tickets/{tid}/actions/answer_on_spot", json={}, headers={"X-CSRF-Token": csrf})
    assert r.status == 403 and (await r.json())["error"] == "not-owner"


def test_hotline_users_add_reads_the_password_from_stdin_and_lists_the_account(tmp_path, monkeypatch, capsys):
    import io
    import json
    from hotline import cli
    for name in [k for k in __import__("os").environ if k.startswith("HOTLINE_")]:
        monkeypatch.delenv(name)
    home = ["--home", str(tmp_path)]
    monkeypatch.setattr("sys.stdin", io.StringIO("a good password\n"))
    assert cli.main([*home, "users", "add", "wang", "--role", "agent", "--agent", "1002"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a good password\n"))
    assert cli.main([*home, "users", "add", "zhang", "--role", "department", "--department", "nosuch"]) == 2
    assert "not a department" in capsys.readouterr().err
    assert cli.main([*home, "users", "disable", "wang"]) == 0
    capsys.readouterr()
    assert cli.main([*home, "users", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["username"], r["role"], r["agent_id"], r["disabled"]) for r in rows] == [("wang", "agent", "1002", True)]
    monkeypatch.setattr("sys.stdin", io.StringIO("a newer password\n"))
    assert cli.main([*home, "users", "reset", "wang"]) == 0
    assert cli.main([*home, "token", "create", "--user", "wang"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("hl_")
