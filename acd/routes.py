"""HTTP routes of the ACD. Wire with `add_routes(app, acd)` after make_app().

- GET  /api/v1/agents                       agents with skills and live state
- POST /api/v1/agents/{id}/{op}             op: login | logout | pause | unpause;
                                            pause body {"reason": "meal"}. Supervisors and ops
                                            act on anyone; an agent token only on itself
                                            (token name = agent id or endpoint).
- GET  /api/v1/queue                        waiting calls, head first
- GET  /api/v1/queue/{linkedid}/explain     the call's relaxation step and who could take it
- POST /api/v1/calls/{linkedid}/spy         {"mode": "listen|whisper|barge", "line": "<agent id>"}
- GET  /api/v1/agents/{id}/pops             server-sent events: a screen pop per call offered to
                                            the agent (caller, earlier tickets); agents only
                                            their own
- GET  /agent                               the agent's page (asks for the token, shows the pops)
- POST   /api/v1/agents                     {"id", "name", "line", "skills": ["tax:yue:4"]}: a new
                                            agent (logged out) with a PJSIP endpoint; ops, supervisors
- PATCH  /api/v1/agents/{id}                {"name"?, "line"?, "skills"?, "version"?}
- DELETE /api/v1/agents/{id}                refused (409 agent-busy) while the agent has a call
- GET    /api/v1/agents/{id}/sip            the phone's credentials (ops only)
"""
from __future__ import annotations

import re

from pathlib import Path

from aiohttp import web

from asterisk_conf import secrets
from core.errors import BadRequest, Conflict, Forbidden, NotFound
from web import sse
from core import contract
from web.app import ACTOR, DEPS, IDENTITY, ROLE, dumps, json_object, page, roles

from acd.directory import AgentDirectory
from acd.screen_pop import ScreenPop
from acd.service import AcdService

ACD = web.AppKey("acd", AcdService)
POPS = web.AppKey("pops", ScreenPop)
DIRECTORY = web.AppKey("directory", AgentDirectory)
SIP = web.AppKey("sip", dict)   # {"state_dir", "registrar"} for credentials
DESK = web.AppKey("desk", dict)
_LINKEDID = re.compile(r"[\w.\-]{1,64}")
_AGENT = re.compile(r"[0-9]{3,8}")

PAGES = Path(__file__).with_name("pages")



def _match(request: web.Request, name: str, pattern: re.Pattern, what: str) -> str:
    raw = request.match_info[name]
    if not pattern.fullmatch(raw):
        raise BadRequest(f"{what} is malformed")
    return raw


@roles("agent", "supervisor", "ops")
async def list_agents(request: web.Request) -> web.Response:
    snap = request.app[ACD].snapshot()
    return web.json_response({"items": snap["agents"]}, dumps=dumps)


class TicketNotSaved(Conflict):
    """The centre asks for the last call's work order before the next call (setting
    desk_ready_needs_ticket)."""
    id = "ticket-not-saved"


async def _last_ticket_saved(request: web.Request, agent_id: str) -> None:
    last = request.app[ACD].last_call.get(agent_id)
    if not last:
        return
    found = await request.app[DEPS].store.tickets(linkedid=last, limit=1)
    if found and (found[0]["subject"] or found[0]["status"] != "new"):
        return
    found = [t for t in found if t["status"] == "merged"]
    if found:
        return
    raise TicketNotSaved(f"save the work order of your last call ({last}) before you take the next one",
                         linkedid=last)


@roles("agent", "supervisor", "ops")
async def agent_op(request: web.Request) -> web.Response:
    agent_id = _match(request, "id", _AGENT, "agent id")
    op = request.match_info["op"]
    body = await json_object(request, {"reason"})
    if request[ROLE] == "agent" and not request[IDENTITY].is_agent(agent_id):
        raise Forbidden("an agent may change only their own state")
    reason = body.get("reason", "break" if op == "pause" else "")
    if not isinstance(reason, str):
        raise BadRequest("reason must be a string")
    if op in ("ready", "done", "unpause", "login") and request[ROLE] == "agent" and request.app[DESK]["ready_needs_ticket"]:
        await _last_ticket_saved(request, agent_id)
    acd = request.app[ACD]
    await acd.agent_action(agent_id, op, reason, by=f"api:{request[ACTOR]}")
    agent = next(a for a in acd.snapshot()["agents"] if a["id"] == agent_id)
    return web.json_response(agent, dumps=dumps)


@roles("agent", "supervisor", "ops")
async def queue(request: web.Request) -> web.Response:
    return web.json_response({"items": request.app[ACD].snapshot()["waiting"]}, dumps=dumps)


@roles("supervisor", "ops")
async def explain(request: web.Request) -> web.Response:
    lid = _match(request, "linkedid", _LINKEDID, "linkedid")
    return web.json_response(request.app[ACD].explain(lid), dumps=dumps)


@roles("supervisor")
async def spy(request: web.Request) -> web.Response:
    lid = _match(request, "linkedid", _LINKEDID, "linkedid")
    body = await json_object(request, {"mode", "line"})
    mode, line = body.get("mode"), body.get("line")
    if not isinstance(mode, str) or not isinstance(line, str) or not _AGENT.fullmatch(line):
        raise BadRequest('body must be {"mode": "listen|whisper|barge", "line": "<agent id of your phone>"}')
    return web.json_response(await request.app[ACD].spy(lid, mode, line), dumps=dumps)


@roles("agent", "supervisor")
async def pops(request: web.Request) -> web.StreamResponse:
    """Screen pops for one agent, as server-sent events."""
    agent_id = _match(request, "id", _AGENT, "agent id")
    if request[ROLE] == "agent" and not request[IDENTITY].is_agent(agent_id):
        raise Forbidden("an agent may watch only their own calls")
    if agent_id not in request.app[ACD].agents:
        raise NotFound(f"no agent {agent_id}")
    hub = request.app[POPS]
    q = hub.listen(agent_id)
    return await sse.stream(request, q, "pop", close=lambda: hub.unlisten(agent_id, q))


@roles("agent", "supervisor")
async def desk_view(request: web.Request) -> web.Response:
    """The agent's desk now: state, the call they have (or had last), wrap-up, departments."""
    agent_id = _match(request, "id", _AGENT, "agent id")
    if request[ROLE] == "agent" and not request[IDENTITY].is_agent(agent_id):
        raise Forbidden("an agent may read only their own desk")
    acd = request.app[ACD]
    if agent_id not in acd.agents:
        raise NotFound(f"no agent {agent_id}")
    cfg = request.app[DESK]
    body = {**acd.desk(agent_id), "ready_needs_ticket": cfg["ready_needs_ticket"],
            "departments": [{"code": c, "name": n} for c, n in sorted(cfg["department_names"].items())],
            "pause_reasons": list(dict.fromkeys(contract.PAUSE_REASONS.values()))}   # the phone's order
    return web.json_response(body, dumps=dumps)


async def _own_call(request: web.Request) -> str:
    lid = _match(request, "linkedid", _LINKEDID, "linkedid")
    agent = request.app[ACD].agent_of(lid)
    if agent is None:
        raise Conflict(f"call {lid} is not with an agent")
    if request[ROLE] == "agent" and not request[IDENTITY].is_agent(agent):
        raise Forbidden("an agent may transfer only their own call")
    return lid


@roles("agent", "supervisor")
async def transfer(request: web.Request) -> web.Response:
    """Put the citizen through to a department's line: blind, or a three-way call."""
    lid = await _own_call(request)
    body = await json_object(request, {"to", "mode"})
    to, mode = body.get("to"), body.get("mode", "blind")
    if not isinstance(to, str) or not isinstance(mode, str):
        raise BadRequest('body must be {"to": "<department code>", "mode": "blind|conference"}')
    return web.json_response(await request.app[ACD].transfer(lid, to, mode, request.app[DESK]["departments"]),
                             dumps=dumps)


@roles("agent", "supervisor")
async def rating(request: web.Request) -> web.Response:
    """Send the citizen to the rating prompt (一次一评): the agent's part of the call ends."""
    lid = await _own_call(request)
    await json_object(request, set())
    return web.json_response(await request.app[ACD].to_rating(lid), dumps=dumps)


@roles("agent", "supervisor")
async def leave(request: web.Request) -> web.Response:
    """The agent leaves a three-way call; the citizen and the department talk on."""
    lid = await _own_call(request)
    await json_object(request, set())
    return web.json_response(await request.app[ACD].leave(lid), dumps=dumps)


class AgentBusy(Conflict):
    id = "agent-busy"


@roles("supervisor", "ops")
async def add_agent(request: web.Request) -> web.Response:
    """Add an agent: skills, line and a PJSIP endpoint with generated credentials."""
    body = await json_object(request, {"id", "name", "line", "skills"})
    row = await request.app[DIRECTORY].add(body, by=request[ACTOR])
    return web.json_response(row, status=201, dumps=dumps)


@roles("supervisor", "ops")
async def change_agent(request: web.Request) -> web.Response:
    """Change an agent's name, line or skills (the next routing decision uses them)."""
    agent_id = _match(request, "id", _AGENT, "agent id")
    body = await json_object(request, {"name", "line", "skills", "version"})
    row = await request.app[DIRECTORY].update(agent_id, body, by=request[ACTOR])
    return web.json_response(row, dumps=dumps)


@roles("supervisor", "ops")
async def remove_agent(request: web.Request) -> web.Response:
    """Remove an agent: out of routing, endpoint gone; history keeps the id."""
    agent_id = _match(request, "id", _AGENT, "agent id")
    state = request.app[ACD].board.agents.get(agent_id)
    if state is not None and state.call is not None:
        raise AgentBusy(f"agent {agent_id} has a call ({state.state}); remove them after it")
    row = await request.app[DIRECTORY].remove(agent_id, by=request[ACTOR])
    return web.json_response(row, dumps=dumps)


@roles("ops")
async def sip_credentials(request: web.Request) -> web.Response:
    """The agent's SIP phone settings: username, password, registrar."""
    agent_id = _match(request, "id", _AGENT, "agent id")
    agent = request.app[ACD].agents.get(agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    if agent.line != "sip":
        raise Conflict(f"agent {agent_id} is on a {agent.line} line, not a SIP phone")
    sip = request.app[SIP]
    return web.json_response({"agent": agent_id, "username": agent.endpoint, "registrar": sip["registrar"],
                              "password": secrets.agent_password(sip["state_dir"], agent_id)}, dumps=dumps)


def add_routes(app: web.Application, acd: AcdService, screen_pop: ScreenPop,
               directory: AgentDirectory | None = None, sip: dict | None = None, desk: dict | None = None) -> None:
    """`desk`: {"ready_needs_ticket", "departments", "department_names"} for the agent desk."""
    app[ACD] = acd
    app[POPS] = screen_pop
    app[DESK] = {"ready_needs_ticket": False, "departments": set(), "department_names": {}, **(desk or {})}
    app.router.add_get("/api/v1/agents/{id}/desk", desk_view)
    app.router.add_post("/api/v1/calls/{linkedid}/transfer", transfer)
    app.router.add_post("/api/v1/calls/{linkedid}/leave", leave)
    app.router.add_post("/api/v1/calls/{linkedid}/rating", rating)
    if directory is not None:
        app[DIRECTORY] = directory
        app[SIP] = sip or {}
        app.router.add_post("/api/v1/agents", add_agent)
        app.router.add_patch("/api/v1/agents/{id}", change_agent)
        app.router.add_delete("/api/v1/agents/{id}", remove_agent)
        app.router.add_get("/api/v1/agents/{id}/sip", sip_credentials)
    app.router.add_get("/agent", page("agent.html", PAGES))
    app.router.add_get("/api/v1/agents/{id}/pops", pops)
    app.router.add_get("/api/v1/agents", list_agents)
    app.router.add_post("/api/v1/agents/{id}/{op}", agent_op)
    app.router.add_get("/api/v1/queue", queue)
    app.router.add_get("/api/v1/queue/{linkedid}/explain", explain)
    app.router.add_post("/api/v1/calls/{linkedid}/spy", spy)
