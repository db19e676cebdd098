"""The agent directory at run time, without sockets: validation of what ops type, the ACD
following directory changes, the API's roles and errors (real app, SQLite)."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from acd import routes as acd_routes
from acd.directory import AgentDirectory, parse_name, parse_new, parse_skills
from acd.screen_pop import ScreenPop
from core import contract
from core.errors import BadRequest
from web.app import Deps, make_app
from core.centre import Agent, Skill
from acd.agent_store import AgentDirectoryStore
from tickets.store import Store

from .fakes import AGENTS, delivered, feed, queued, service, ue

DEPTS = {"tax", "hrss", "market", "general"}


@pytest.mark.parametrize("name", ['x" <sip:evil>', "a;b", "a,b", "$(reboot)", "a\nb", "a|b", "`id`", "", "  ",
                                  "x" * 65, 12, None, "a&b", "a\\b"])
def test_hostile_or_empty_names_are_refused(name):
    with pytest.raises(BadRequest):
        parse_name(name)


def test_names_in_chinese_and_with_dashes_are_kept():
    assert parse_name("何詠詩 Ho Wing-sze") == "何詠詩 Ho Wing-sze"


@pytest.mark.parametrize("skills", [["tax:yue:6"], ["tax:yue:0"], ["tax:fr:3"], ["nope:cmn:3"], ["tax:cmn"],
                                    ["tax:cmn:3:x"], [3], "tax:cmn:3", ["tax:cmn:3", "tax:cmn:4"],
                                    ["tax:cmn:3"] * 61, ["tax:cmn:03"], ["tax:cmn:3\n"]])
def test_malformed_skills_are_refused(skills):
    with pytest.raises(BadRequest):
        parse_skills(skills, DEPTS)


def test_a_new_agent_is_checked_whole():
    a = parse_new({"id": "3001", "name": "Li", "skills": ["tax:yue:5", "hrss:cmn:1"]}, DEPTS)
    assert a == Agent("3001", "Li", (Skill("tax", "yue", 5), Skill("hrss", "cmn", 1)), "sip")
    for bad in ({"id": 3001}, {"id": "30"}, {"id": "123456789"}, {"id": "3001;"}, {"id": "3001", "line": "pstn"}):
        with pytest.raises(BadRequest):
            parse_new(bad, DEPTS)


# -- the ACD follows the directory -------------------------------------------------------------
async def test_an_added_agent_starts_logged_out_and_takes_calls_after_login():
    svc, ami, clock, events = service(agents=AGENTS[:1])
    await svc.agent_action("1002", "pause", "meal")
    result = await svc.set_agents(AGENTS[:1] + [Agent("3001", "Li", (Skill("tax", "yue", 5),))])
    assert result == {"added": ["3001"], "changed": [], "removed": []}
    await feed(svc, queued("c1", lang="yue"))
    assert not ami.of("Redirect")                       # logged out: never offered
    await svc.agent_action("3001", "login")
    await feed(svc)
    assert ami.of("Redirect")[-1]["Exten"] == "3001"
    assert svc.by_endpoint["agent3001"] == "3001"       # its phone's feature codes are recognised


async def test_changed_skills_apply_to_the_next_decision():
    svc, ami, clock, _ = service(agents=AGENTS[:2])
    await svc.set_agents([AGENTS[0], Agent("1007", "Ho", (Skill("market", "yue", 4),))])
    assert svc.board.agent("1007").state == "ready"     # a skill change keeps the agent's state
    await feed(svc, queued("c1", lang="yue"))
    # nobody speaks Cantonese for tax any more, so the Mandarin step applies at once
    assert ami.of("Redirect")[-1] == delivered("c1", "1002")
    await feed(svc, queued("c2", dept="market", lang="yue"))
    assert ami.of("Redirect")[-1]["Exten"] == "1007"


async def test_an_agent_removed_during_a_call_keeps_it_and_leaves_after():
    svc, ami, clock, events = service(agents=AGENTS[:2])
    await feed(svc, queued("c1", lang="yue"))
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="c1", agent="1007"))
    result = await svc.set_agents(AGENTS[:1])
    assert result["removed"] == [] and svc.board.agent("1007").state == "on_call"
    await feed(svc, ue(contract.EV_CALL_END, linkedid="c1"))
    assert "1007" not in svc.board.agents and "1007" not in svc.agents
    await feed(svc, queued("c2", lang="yue"))
    # the Cantonese agent is gone: no wait for one, the Mandarin agent takes the call now
    assert ami.of("Redirect")[-1] == delivered("c2", "1002")


async def test_a_removed_idle_agent_is_logged_out_in_the_event_log():
    svc, ami, clock, events = service(agents=AGENTS[:2])
    assert (await svc.set_agents(AGENTS[:1]))["removed"] == ["1007"]
    assert [(e.agent, e.data.get("cause")) for e in events if e.kind == "agent_state"][-1] == ("1007", "removed")
    assert [a["id"] for a in svc.snapshot()["agents"]] == ["1002"]


# -- the API -----------------------------------------------------------------------------------
@pytest.fixture
async def api(tmp_path):
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/hotline.db")
    await store.migrate()
    svc, ami, clock, events = service(agents=AGENTS[:2])
    applied = []

    async def apply(agents):
        applied.append(agents)
        return {"acd": await svc.set_agents(agents)}

    rows = AgentDirectoryStore(store)
    directory = AgentDirectory(rows, AGENTS[:2], DEPTS, apply)
    await rows.seed(AGENTS[:2])
    await directory.refresh(force=True)

    async def status():
        return {"ok": True}

    app = make_app(Deps(store=store, status=status))
    acd_routes.add_routes(app, svc, ScreenPop(svc.caller_of, lambda caller: []), directory,
                          {"state_dir": tmp_path, "registrar": "127.0.0.1:5060"})
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    tokens = {role: await store.create_token(role, f"{role}1") for role in
              ("agent", "supervisor", "ops", "department", "auditor")}
    yield client, tokens, svc, applied
    await client.close()
    await store.close()


def bearer(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


async def test_ops_add_an_agent_who_is_listed_and_routable_after_login(api):
    client, tokens, svc, applied = api
    r = await client.post("/api/v1/agents", headers=bearer(tokens, "ops"),
                          json={"id": "3001", "name": "Li", "skills": ["tax:yue:5"]})
    assert r.status == 201
    body = await r.json()
    assert body["version"] == 1 and body["applied"]["acd"]["added"] == ["3001"]
    listed = await (await client.get("/api/v1/agents", headers=bearer(tokens, "agent"))).json()
    new = next(a for a in listed["items"] if a["id"] == "3001")
    assert new["state"] == "logged_out" and new["skills"] == [{"department": "tax", "language": "yue", "level": 5}]
    sip = await client.get("/api/v1/agents/3001/sip", headers=bearer(tokens, "ops"))
    creds = await sip.json()
    assert sip.status == 200 and creds["username"] == "agent3001" and len(creds["password"]) >= 16
    r = await client.post("/api/v1/agents", headers=bearer(tokens, "supervisor"), json={"id": "3001"})
    assert r.status == 409 and (await r.json())["error"] == "agent-exists"


@pytest.mark.parametrize("role", ["agent", "department", "auditor"])
async def test_only_ops_and_supervisors_manage_agents(api, role):
    client, tokens, svc, applied = api
    before = len(applied)
    for method, path, body in (("POST", "/api/v1/agents", {"id": "3002"}),
                               ("PATCH", "/api/v1/agents/1002", {"name": "x"}),
                               ("DELETE", "/api/v1/agents/1002", None),
                               ("GET", "/api/v1/agents/1002/sip", None)):
        r = await client.request(method, path, headers=bearer(tokens, role), json=body)
        assert r.status == 403, (method, path, role)
    r = await client.get("/api/v1/agents/1002/sip", headers=bearer(tokens, "supervisor"))
    assert r.status == 403                                # passwords: ops only
    assert len(applied) == before and "1002" in svc.agents


async def test_bad_bodies_get_clear_errors_and_change_nothing(api):
    client, tokens, svc, applied = api
    h = bearer(tokens, "ops")
    cases = [("POST", "/api/v1/agents", {"id": "3003", "skills": ["tax:yue:9"]}, "bad-request"),
             ("POST", "/api/v1/agents", {"id": "3003", "name": 'a" <sip:x>'}, "bad-request"),
             ("POST", "/api/v1/agents", {"id": "3003", "role": "admin"}, "bad-request"),
             ("PATCH", "/api/v1/agents/1002", {}, "bad-request"),
             ("PATCH", "/api/v1/agents/1002", {"skills": ["tax:cmn:5"], "version": 7}, "agent-stale"),
             ("PATCH", "/api/v1/agents/9999", {"name": "x"}, "not-found"),
             ("PATCH", "/api/v1/agents/1002;DROP", {"name": "x"}, "bad-request"),
             ("DELETE", "/api/v1/agents/9999", None, "not-found")]
    for method, path, body, error in cases:
        r = await client.request(method, path, headers=h, json=body)
        assert (await r.json())["error"] == error, (method, path, body)
    r = await client.post("/api/v1/agents", headers=h, data=b"\xff{")
    assert r.status == 400
    assert "3003" not in svc.agents and svc.agents["1002"].skills == (Skill("tax", "cmn", 4),)


async def test_skill_change_and_removal_through_the_api(api):
    client, tokens, svc, applied = api
    h = bearer(tokens, "supervisor")
    r = await client.patch("/api/v1/agents/1007", headers=h, json={"skills": ["hrss:yue:5"], "version": 1})
    assert r.status == 200 and (await r.json())["version"] == 2
    assert svc.board.agent("1007").skills == {("hrss", "yue"): 5}
    await feed(svc, queued("c1", lang="cmn"))
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="c1", agent="1002"))
    r = await client.delete("/api/v1/agents/1002", headers=h)
    assert r.status == 409 and (await r.json())["error"] == "agent-busy"
    r = await client.delete("/api/v1/agents/1007", headers=h)
    assert r.status == 200 and "1007" not in svc.agents
