"""The ACD on Asterisk: the one owner of routing state (`acd.policy.Board`).

Thin I/O around the pure board. Facts come in as AMI events (queued calls, deliveries,
answers, hang-ups, feature codes from the agents' phones) and API calls; they are applied
in order by one task. Decisions go out as AMI actions: Redirect a waiting call to DELIVER
(which rings the chosen agent), Originate an agent's leg for a callback, Redirect to
MAX_WAIT. Every change is appended to the event log; logins and pauses are persisted so they
survive a restart, and waiting calls are found again from Asterisk's channels.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from hotline import contract
from hotline.ami.protocol import Message
from hotline.errors import BadRequest, Conflict, HotlineError, NotFound
from reports import events as ev

from . import announce, callback_hours
from .config import AcdConfig
from .model import (LOGGED_OUT, NORMAL, OFFERED, ON_CALL, PAUSED, READY, WRAPUP, AgentState, WaitingCall,
                    priority_name)
from .policy import Board, Decision, Refused, explain

log = logging.getLogger(__name__)

UNREACHABLE = "unreachable"   # pause reason: the agent's phone could not be rung at all
CALLABLE = re.compile(r"\+?[0-9]{3,20}")
CALLBACK_ATTEMPTS = 3
CALLBACK_RETRY_SECONDS = 120.0
SPY_MODES = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}


@dataclass
class Waiting:
    """What the engine knows of a waiting call beyond the board's routing view."""
    channel: str
    number: str = ""            # callable caller number ("" when it cannot be called back)
    caller: str = ""            # the caller ID as presented (for the agent's screen pop)
    callback: bool = False      # the caller hung up and waits for a call back, keeping the place
    attempts: int = 0
    announced: float = 0.0
    call: WaitingCall | None = None   # as it first waited: a retried callback keeps this place


@dataclass
class Delivery:
    """A call with an agent: ringing, talking, or a callback leg."""
    agent: str
    leg: str = ""               # callback: the linkedid of the agent's leg (Originate)
    agent_channel: str = ""
    offered_at: float = 0.0


@dataclass
class Stats:
    decisions: int = 0
    redirect_failures: int = 0
    ronas: int = 0
    free_to_ring: deque = field(default_factory=lambda: deque(maxlen=20000))


class AcdService:
    def __init__(self, ami, cfg: AcdConfig, agents, *, log_event: Callable[[ev.Event], None],
                 states=None, speech=None, clock: Callable[[], float] = time.time,
                 priority_of: Callable[[str], int | None] | None = None):
        self.ami, self.cfg, self.clock = ami, cfg, clock
        self.policy = cfg.policy()
        self.agents = {a.id: a for a in agents}
        self.by_endpoint = {a.endpoint: a.id for a in agents if a.line == "sip"}
        self.by_interface = {a.interface: a.id for a in agents}
        self.board = Board(self.policy, [AgentState.from_agent(a, state=LOGGED_OUT, now=clock()) for a in agents])
        self.states = states          # tickets.agent_states.AgentStates (persistence) or None
        self.speech = speech          # ivr.prompts.Speech for announcements, or None
        self.log_event = log_event
        self.priority_of = priority_of  # registered elderly/disabled callers (tickets/priority_callers.py)
        self.waiting: dict[str, Waiting] = {}
        self.delivering: dict[str, Delivery] = {}   # call linkedid -> delivery
        self.legs: dict[str, str] = {}              # callback leg linkedid -> call linkedid
        self.free_at: dict[str, float] = {}          # agent -> when it last became ready
        self.stats = Stats()
        self.handle_times: deque[float] = deque(maxlen=200)  # recent talk times, for wait estimates
        self._talk_started: dict[str, float] = {}
        self._retry: dict[str, float] = {}
        self._cb_reported: set[str] = set()          # callback legs whose result is in           # callback linkedid -> when it may wait again
        self._inbox: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
        self._dirty: set[str] = set()
        self._seen: deque[str] = deque()             # calls the ACD logged live (bounded below)
        self._seen_set: set[str] = set()
        self.loaded = False
        self._globals_pushed = False
        self._event_ts: float | None = None
        self._leaving: set[str] = set()              # removed from the directory while on a call
        self._aged_at = 0.0

    # -- intake of facts ---------------------------------------------------------------
    def on_ami(self, msg: Message) -> None:
        """AMI handler (sync, in the AMI task): facts are queued for the routing task."""
        name = msg.get("Event")
        if name == "UserEvent":
            kind = msg.get("UserEvent", "")
            if kind in (contract.EV_QUEUED, contract.EV_CB_REQ, contract.EV_DELIVERY, contract.EV_CONNECTED,
                        contract.EV_AGENT, contract.EV_CB_DONE, contract.EV_CALL_END):
                self._inbox.put_nowait((kind, dict(msg)))
        elif name in ("DialBegin", "OriginateResponse"):
            self._inbox.put_nowait((name, dict(msg)))

    # -- the routing task ---------------------------------------------------------------
    async def run(self, agents_ready: asyncio.Event | None = None) -> None:
        if agents_ready is not None:   # the directory's list, so that persisted states find their agents
            await agents_ready.wait()
        await self._load()
        while True:
            due = self.board.next_due()
            timeout = 1.0 if due is None else max(0.0, min(1.0, due - self.clock()))
            try:
                kind, msg = await asyncio.wait_for(self._inbox.get(), timeout)
                await self._apply(kind, msg)
                while not self._inbox.empty():   # a burst is applied before one routing pass
                    kind, msg = self._inbox.get_nowait()
                    await self._apply(kind, msg)
            except TimeoutError:
                pass
            self._event_ts = None
            await self._route()

    async def _apply(self, kind: str, m: dict) -> None:
        try:
            handler = {
                contract.EV_QUEUED: self._queued, contract.EV_CB_REQ: self._callback_request,
                contract.EV_DELIVERY: self._delivery, contract.EV_CONNECTED: self._connected,
                contract.EV_AGENT: self._feature_code, contract.EV_CB_DONE: self._callback_done,
                contract.EV_CALL_END: self._call_end, "DialBegin": self._dial_begin,
                "OriginateResponse": self._originate_response,
            }[kind]
            try:
                self._event_ts = float(m["Timestamp"]) if m.get("Timestamp") else None
            except ValueError:
                self._event_ts = None
            await handler(m)
        except (Refused, KeyError, ValueError) as e:
            # a late or duplicate event (the board moved on): note it, never crash routing
            log.info("acd: %s ignored: %s", kind, e)

    def _now(self) -> float:
        return self.clock()

    def _emit(self, kind: str, linkedid: str = "", **kw) -> None:
        self.log_event(ev.Event(self._now(), kind, linkedid, **kw))

    def _agent_changed(self, agent: AgentState, **data) -> None:
        # "agent free -> phone rings" is measured only when calls are waiting at that moment,
        # from Asterisk's own timestamp of the event that freed the agent
        if agent.state == READY and self.board.calls:
            self.free_at[agent.id] = self._event_ts or self._now()
        else:
            self.free_at.pop(agent.id, None)
        if agent.state in (READY, PAUSED, WRAPUP, LOGGED_OUT):
            d = {"state": agent.state, **data}
            if agent.paused_reason:
                d["reason"] = agent.paused_reason
            self._emit(ev.AGENT_STATE, agent=agent.id, data=d)
        self._dirty.add(agent.id)

    # -- calls ----------------------------------------------------------------------------
    async def _queued(self, m: dict) -> None:
        lid, chan = m.get("linkedid", ""), m.get("channel", "")
        if not lid or lid in self.waiting or lid in self.delivering:
            return  # back from a ring-out: the board already put it back at its place
        dept, lang = m.get("dept", ""), m.get("lang", "")
        prio = int(m["prio"]) if m.get("prio", "").isdigit() else NORMAL
        since = m.get("since", "")
        arrived = float(since) if re.fullmatch(r"[0-9]{9,11}(\.[0-9]{1,6})?", since) else self._now()
        if not dept or not lang:
            log.warning("acd: queued call %s without department/language", lid)
            return
        w = Waiting(channel=chan)
        try:
            number = await self.ami.action("Getvar", Channel=chan, Variable="CALLERID(num)")
            w.caller = number.get("Value") or ""
        except HotlineError as e:
            log.info("acd: caller number of %s not read: %s", lid, e)
        registered = self.priority_of(w.caller) if self.priority_of and w.caller else None
        if registered is not None:   # a registered elderly or disabled caller
            prio = min(prio, registered)
        call = WaitingCall(lid, dept, lang, prio, arrived=min(arrived, self._now()))
        self.board.put_call(call)
        w.call = call
        self.waiting[lid] = w
        self._seen.append(lid)
        self._seen_set.add(lid)
        self._emit(ev.QUEUE_JOIN, lid, queue=f"hl-{dept}", department=dept, language=lang,
                   data={"priority": priority_name(prio)})
        n = w.caller.strip()
        if CALLABLE.fullmatch(n):
            w.number = n
            try:
                await self.ami.action("Setvar", Channel=chan, Variable="HL_CB_OK", Value="1")
            except HotlineError as e:
                log.info("acd: callback offer for %s not enabled: %s", lid, e)

    async def _callback_request(self, m: dict) -> None:
        lid = m.get("linkedid", "")
        w = self.waiting.get(lid)
        if w is None or not w.number:
            return
        w.callback = True
        call = self.board.calls.get(lid)
        self._emit(ev.CALLBACK_REQUESTED, lid, department=call.department if call else None,
                   language=call.language if call else None, data={"key": "1"})

    async def _delivery(self, m: dict) -> None:
        lid, agent, status = m.get("linkedid", ""), m.get("agent", ""), m.get("status", "")
        d = self.delivering.get(lid)
        if d is None or d.agent != agent or status == "ANSWER":
            return
        await self._ring_out(lid, agent, status)

    async def _ring_out(self, lid: str, agent: str, status: str) -> None:
        self.delivering.pop(lid, None)
        new, back = self.board.rona(agent, self._now())
        if status == "CHANUNAVAIL" and new.state == READY:
            # no phone registered (or a Local line that cannot be reached): offering it the
            # next call would only delay that call too; it is back after *14 or the API
            new = self.board.pause(agent, UNREACHABLE, self._now())
        self.stats.ronas += 1
        self._emit(ev.AGENT_NOANSWER, lid, agent=agent, department=back.department, language=back.language,
                   data={"status": status, "misses": new.misses})
        self._agent_changed(new, cause="no answer" if new.state == PAUSED else "ring out")

    async def _connected(self, m: dict) -> None:
        lid, agent = m.get("linkedid", ""), m.get("agent", "")
        lid = self.legs.get(lid, lid)
        d = self.delivering.get(lid)
        if d is None or d.agent != agent:
            return
        self.board.answer(agent, lid, self._now())
        self._talk_started[lid] = self._now()
        self._emit(ev.AGENT_CONNECT, lid, agent=agent)

    async def _call_end(self, m: dict) -> None:
        lid = m.get("linkedid", "")
        call_lid = self.legs.pop(lid, None)
        if call_lid is not None:          # a callback leg ended
            if lid not in self._cb_reported and m.get("dialstatus"):
                # the agent hung up before the leg could report: its DIALSTATUS tells
                await self._callback_done({"of": call_lid, "status": m["dialstatus"], "linkedid": lid})
            self._cb_reported.discard(lid)
            d = self.delivering.pop(call_lid, None)
            if d is not None:
                await self._release(d.agent, call_lid)
            w = self.waiting.get(call_lid)
            if w is not None and call_lid not in self._retry and call_lid not in self.board.calls:
                self.waiting.pop(call_lid, None)   # ended without a result: nothing to retry
            return
        w = self.waiting.get(lid)
        if w is not None and w.callback:
            return                        # the caller hung up after booking: the place is kept
        if lid in self.board.calls:
            call = self.board.drop_call(lid)
            self.waiting.pop(lid, None)
            self._emit(ev.QUEUE_ABANDON, lid, department=call.department, language=call.language)
            return
        self.waiting.pop(lid, None)
        d = self.delivering.pop(lid, None)
        if d is not None:
            await self._release(d.agent, lid)

    async def _release(self, agent_id: str, lid: str) -> None:
        agent = self.board.agent(agent_id)
        if agent.call != lid:
            return
        now = self._now()
        started = self._talk_started.pop(lid, None)
        if started is not None:
            self.handle_times.append(now - started + self.policy.wrapup_seconds)
        new = self.board.cancel(agent_id, lid, now) if agent.state == OFFERED else \
            self.board.hangup(agent_id, lid, now)
        self._agent_changed(new, call=lid)
        if agent_id in self._leaving:   # removed from the directory during this call
            self.set_agents([a for a in self.agents.values() if a.id != agent_id])

    async def _dial_begin(self, m: dict) -> None:
        """An agent's phone starts ringing: the end of 'agent free -> phone rings'."""
        lid = m.get("DestLinkedid") or m.get("Linkedid", "")
        d = self.delivering.get(self.legs.get(lid, lid))
        if d is None:
            return
        d.agent_channel = m.get("DestChannel", "")
        if d.offered_at:
            freed = self.free_at.pop(d.agent, None)
            ts = float(m["Timestamp"]) if m.get("Timestamp") else self._now()
            if freed is not None:
                self.stats.free_to_ring.append(max(0.0, ts - freed))

    async def _originate_response(self, m: dict) -> None:
        leg = m.get("Uniqueid", "")
        lid = self.legs.get(leg)
        if lid is None or m.get("Response") == "Success":
            return
        self.legs.pop(leg, None)
        d = self.delivering.get(lid)
        if d is not None:
            await self._ring_out(lid, d.agent, "ORIGINATE-" + m.get("Reason", "failed"))

    async def _callback_done(self, m: dict) -> None:
        lid, status = m.get("of", ""), m.get("status", "")
        w = self.waiting.get(lid)
        if w is None or m.get("linkedid") in self._cb_reported:
            return
        if m.get("linkedid"):
            self._cb_reported.add(m["linkedid"])
        w.attempts += 1
        d = self.delivering.get(lid)
        reached = status == "ANSWER"
        self._emit(ev.CALLBACK_DONE if reached else ev.CALLBACK_FAILED, lid, agent=d.agent if d else None,
                   department=w.call.department if w.call else None,
                   data={"attempt": w.attempts, "status": status})
        if reached or w.attempts >= CALLBACK_ATTEMPTS:
            self.waiting.pop(lid, None)
        else:
            # the agent's leg ends next; the call waits again at its old place after a pause
            self._retry[lid] = self._now() + CALLBACK_RETRY_SECONDS

    # -- agents -------------------------------------------------------------------------
    async def _feature_code(self, m: dict) -> None:
        agent_id = self.by_endpoint.get(m.get("endpoint", ""))
        if agent_id is None:
            log.warning("acd: feature code from unknown endpoint %r", m.get("endpoint"))
            return
        op = m.get("op", "")
        reason = contract.PAUSE_REASONS.get(m.get("reason", ""), "break")
        try:
            self.agent_action(agent_id, op, reason, by="phone")
        except Conflict as e:
            log.info("acd: feature code %s from %s refused: %s", op, agent_id, e)

    def agent_action(self, agent_id: str, op: str, reason: str = "", *, by: str = "api") -> AgentState:
        """login | logout | pause | unpause, from a phone or the API."""
        if agent_id not in self.agents:
            raise NotFound(f"no agent {agent_id}")
        now = self._now()
        try:
            if op == "login":
                new = self.board.login(agent_id, now)
            elif op == "logout":
                new = self.board.logout(agent_id, now)
            elif op == "pause":
                if not isinstance(reason, str) or not re.fullmatch(r"[\w .\-]{1,40}", reason):
                    raise BadRequest("a pause needs a reason code: 1-40 letters, digits, spaces, . or -")
                new = self.board.pause(agent_id, reason, now)
            elif op == "unpause":
                new = self.board.unpause(agent_id, now)
            else:
                raise BadRequest("op must be login, logout, pause or unpause")
        except Refused as e:
            raise Conflict(str(e)) from e
        self._agent_changed(new, by=by)
        self._poke()
        return new

    def _poke(self) -> None:
        self._inbox.put_nowait(("noop", {}))

    # -- routing ------------------------------------------------------------------------
    async def _route(self) -> None:
        now = self._now()
        self._event_ts = None
        for agent in self.board.tick(now):
            self._event_ts = agent.since   # the wrap-up's end, not when we noticed it
            self._agent_changed(agent, cause="wrap-up over")
        self._event_ts = None
        self._defer_callbacks(now)
        await self._requeue_callbacks(now)
        if self.cfg.priority_ageing_seconds and now - self._aged_at >= 1.0:
            self._aged_at = now
            for call in self.board.age(now, self.cfg.priority_ageing_seconds):
                log.info("acd: %s waited %.0f s: now %s", call.linkedid, now - call.arrived,
                         priority_name(call.priority))
        await self._max_wait(now)
        for decision in self.board.assign(now):
            await self._deliver(decision, now)

    def _defer_callbacks(self, now: float) -> None:
        """Outside the callback hours booked callbacks leave the line until the window
        opens; they come back with their arrival time, so still in their place."""
        opening = callback_hours.next_opening(now, self.cfg.callback_hours, self.cfg.timezone)
        if opening is None:
            return
        for call in self.board.waiting():
            w = self.waiting.get(call.linkedid)
            if w is not None and w.callback and call.linkedid not in self.delivering:
                self.board.drop_call(call.linkedid)
                w.call = w.call or call
                self._retry[call.linkedid] = opening
                log.info("acd: callback %s deferred to the callback hours", call.linkedid)

    async def _requeue_callbacks(self, now: float) -> None:
        for lid, due in list(self._retry.items()):
            w = self.waiting.get(lid)
            if w is None or w.call is None:
                del self._retry[lid]
            elif due <= now and lid not in self.delivering:
                del self._retry[lid]
                self.board.put_call(w.call)

    async def _max_wait(self, now: float) -> None:
        for call in self.board.waiting():
            w = self.waiting.get(call.linkedid)
            if w is None or w.callback or now - call.arrived < self.cfg.max_wait_seconds:
                continue
            self.board.drop_call(call.linkedid)
            self.waiting.pop(call.linkedid, None)
            self._emit(ev.QUEUE_TIMEOUT, call.linkedid, department=call.department, language=call.language)
            try:
                await self.ami.action("Redirect", Channel=w.channel, Context=contract.MAX_WAIT, Exten="s",
                                      Priority=1)
            except HotlineError as e:
                log.info("acd: max-wait redirect of %s failed: %s", call.linkedid, e)

    async def _deliver(self, decision: Decision, now: float) -> None:
        lid, agent_id = decision.linkedid, decision.agent_id
        w = self.waiting.get(lid)
        if w is None:      # not ours to deliver (lost track): take it out of the line
            self.board.drop_call(lid)
            return
        self.board.offer(decision, now)
        self.stats.decisions += 1
        d = Delivery(agent_id, offered_at=now)
        self.delivering[lid] = d
        self._emit(ev.AGENT_OFFER, lid, agent=agent_id, department=decision.call.department,
                   language=decision.call.language,
                   data={"rule": decision.rule, "candidates": [c.agent_id for c in decision.candidates],
                         "callback": w.callback, "waited": round(decision.waited, 3)})
        try:
            if w.callback:
                leg = f"{lid[:40]}-cb{w.attempts + 1}"
                self.legs[leg] = lid
                d.leg = leg
                await self.ami.action(
                    "Originate", Channel=self.agents[agent_id].interface, Context=contract.CALLBACK, Exten="s",
                    Priority=1, Async="true", Timeout=str(self.cfg.ring_seconds * 1000), ChannelId=leg,
                    OtherChannelId=leg + "-o",
                    Variable=[f"{contract.V_CB_NUMBER}={w.number.lstrip('+')}", f"{contract.V_CB_OF}={lid}", f"{contract.V_CB_AGENT}={agent_id}",
                              f"{contract.V_DEPT}={decision.call.department}",
                              f"{contract.V_LANG}={decision.call.language}"])
            else:
                await self.ami.action("Redirect", Channel=w.channel, Context=contract.DELIVER, Exten=agent_id,
                                      Priority=1)
        except HotlineError as e:
            self.stats.redirect_failures += 1
            log.info("acd: delivering %s to %s failed: %s", lid, agent_id, e)
            self.delivering.pop(lid, None)
            self.legs.pop(d.leg, None)
            new = self.board.cancel(agent_id, lid, now)
            self._agent_changed(new, cause="delivery failed")

    def set_agents(self, agents) -> dict:
        """The directory changed: new agents join logged out (a person must log in),
        changed skills apply to the next decision, removed agents leave routing. An agent
        with a call keeps it: removal waits for the directory's guard (the API refuses)."""
        agents = {a.id: a for a in agents}
        self._leaving -= set(agents)
        now = self._now()
        added, changed, removed = [], [], []
        for agent_id in list(self.agents):
            if agent_id not in agents:
                st = self.board.agents.get(agent_id)
                if st is not None and st.call is not None:
                    agents[agent_id] = self.agents[agent_id]   # leaves after this call
                    self._leaving.add(agent_id)
                    continue
                self._leaving.discard(agent_id)
                if st is not None:
                    self.board.remove_agent(agent_id)
                    self._emit(ev.AGENT_STATE, agent=agent_id, data={"state": LOGGED_OUT, "cause": "removed"})
                removed.append(agent_id)
        for agent_id, a in agents.items():
            old = self.agents.get(agent_id)
            fresh = AgentState.from_agent(a, state=LOGGED_OUT, now=now)
            if old is None:
                self.board.put_agent(fresh)
                self._agent_changed(fresh, cause="added")
                added.append(agent_id)
            elif old != a:
                st = self.board.agent(agent_id)
                if st.skills != fresh.skills:
                    self.board.put_agent(replace(st, skills=fresh.skills))
                changed.append(agent_id)
        self.agents = agents
        self.by_endpoint = {a.endpoint: a.id for a in agents.values() if a.line == "sip"}
        self.by_interface = {a.interface: a.id for a in agents.values()}
        self._poke()
        return {"added": added, "changed": changed, "removed": removed}

    def configure(self, cfg: AcdConfig) -> None:
        """New timings and relaxation steps (ops reload, tests). Agents and waiting calls stay;
        calls ringing or talking now finish under the old rules."""
        self.cfg, self.policy = cfg, cfg.policy()
        board = Board(self.policy)
        for a in self.board.agents.values():
            board.put_agent(a)
        for c in self.board.waiting():
            board.put_call(c)
        board._offered_calls.update(self.board._offered_calls)
        self.board = board
        self._poke()
        self._globals_pushed = False

    async def push_globals(self) -> None:
        """The dialplan's copies of the timings (rendered defaults until the engine says)."""
        try:
            await self.ami.action("Setvar", Variable="HL_RING", Value=str(self.cfg.ring_seconds))
            await self.ami.action("Setvar", Variable="HL_BEAT_MAX", Value=str(self.cfg.beat_timeout))
            self._globals_pushed = True
        except HotlineError as e:
            log.info("acd: timings not pushed: %s", e)

    # -- reading ------------------------------------------------------------------------
    def snapshot(self) -> dict:
        now = self._now()
        agents = []
        for a in self.board.agents.values():
            conf = self.agents[a.id]
            agents.append({
                "id": a.id, "name": conf.name, "line": conf.line, "state": a.state,
                "since": a.since, "seconds": round(now - a.since, 1), "reason": a.paused_reason,
                "call": a.call, "misses": a.misses,
                "skills": [{"department": d, "language": lang, "level": lv} for (d, lang), lv in sorted(a.skills.items())],
            })
        calls = []
        for i, c in enumerate(self.board.waiting()):
            w = self.waiting.get(c.linkedid)
            calls.append({"linkedid": c.linkedid, "department": c.department, "language": c.language,
                          "priority": priority_name(c.priority), "position": i + 1,
                          "waited": round(now - c.arrived, 1), "callback": bool(w and w.callback),
                          "step": self.board.current_step(c.linkedid, now) + 1})
        return {"now": now, "agents": sorted(agents, key=lambda a: a["id"]), "waiting": calls}

    def caller_of(self, linkedid: str) -> str | None:
        w = self.waiting.get(linkedid)
        return w.caller if w is not None else None

    def forget(self, linkedid: str) -> bool:
        """The call's record is stored: True when the ACD logged its queue events live."""
        while len(self._seen) > 50_000:
            self._seen_set.discard(self._seen.popleft())
        if linkedid in self._seen_set:
            self._seen_set.discard(linkedid)
            return True
        return False

    # -- start, restart, persistence -------------------------------------------------------
    async def _load(self) -> None:
        """Persisted logins/pauses (agents never seen start as configured)."""
        saved: dict[str, dict] = {}
        if self.states is not None:
            delay = 0.5
            while True:
                try:
                    saved = await self.states.load()
                    break
                except Exception as e:  # noqa: BLE001 - the database may not be migrated yet
                    log.info("acd: agent states not readable yet (%s)", type(e).__name__)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5)
        now = self._now()
        for agent_id in self.agents:
            row = saved.get(agent_id)
            state = row["state"] if row else self.cfg.start_state
            base = self.board.agent(agent_id)
            if base.call is not None or base.state != LOGGED_OUT:
                continue   # found on a live call by the resync meanwhile
            if state == PAUSED:
                new = replace(base, state=PAUSED, since=row["since"], paused_reason=row["reason"] or "break",
                              misses=row.get("misses", 0))
            elif state == READY:
                new = replace(base, state=READY, since=now, idle_since=row["since"] if row else now)
            else:
                continue
            self.board.put_agent(new)
            if new.state == READY:
                self.free_at[agent_id] = now
        self.loaded = True

    def _persisted(self, a: AgentState) -> dict:
        # ringing, talking and wrap-up are Asterisk's facts, not kept: the agent comes back ready
        state = a.state if a.state in (PAUSED, LOGGED_OUT) else READY
        return {"state": state, "reason": a.paused_reason if state == PAUSED else None,
                "since": a.since, "misses": a.misses}

    async def persist(self) -> None:
        while True:
            await asyncio.sleep(0.3)
            if not self._dirty or self.states is None or not self.loaded:
                continue
            self._dirty &= set(self.board.agents)   # removed agents have nothing left to keep
            batch = {aid: self._persisted(self.board.agent(aid)) for aid in self._dirty}
            try:
                await self.states.save(batch)
                self._dirty -= set(batch)
            except Exception as e:  # noqa: BLE001 - kept dirty, written when the database is back
                log.info("acd: agent states not saved yet (%s)", type(e).__name__)
                await asyncio.sleep(1)

    async def resync(self) -> None:
        """After (re)connecting to Asterisk: find waiting calls and agents on calls that
        events did not tell us about (the engine was down or the AMI link broke)."""
        await self._beat()   # before anything else: calls waiting now must not fall back
        await self.push_globals()
        try:
            channels = await self.ami.action_list("CoreShowChannels")
        except HotlineError as e:
            log.warning("acd: resync failed: %s", e)
            return
        for ch in channels:
            name, lid = ch.get("Channel", ""), ch.get("Linkedid", "")
            if not lid:
                continue
            agent_id = next((aid for iface, aid in self.by_interface.items()
                             if name.startswith(iface + "-") or name.startswith(iface + ";")), None)
            if agent_id is not None and lid not in self.delivering:
                a = self.board.agent(agent_id)
                if a.call is None and a.state != ON_CALL:
                    with _quiet():
                        if lid in self.board.calls:
                            self.board.drop_call(lid)
                        self.board.put_agent(replace(a, state=ON_CALL, since=self._now(), call=lid,
                                                     paused_reason=None, until=None))
                        self.delivering[lid] = Delivery(agent_id, agent_channel=name)
                        self.waiting.pop(lid, None)
                continue
            if ch.get("Context") == contract.WAIT and lid not in self.waiting and lid not in self.delivering:
                fields = {}
                for var in (contract.V_DEPT, contract.V_LANG, contract.V_PRIO, "HL_QSINCE"):
                    try:
                        fields[var] = (await self.ami.action("Getvar", Channel=name, Variable=var)).get("Value") or ""
                    except HotlineError:
                        fields[var] = ""
                self._inbox.put_nowait((contract.EV_QUEUED, {
                    "linkedid": lid, "channel": name, "dept": fields[contract.V_DEPT],
                    "lang": fields[contract.V_LANG], "prio": fields[contract.V_PRIO], "since": fields["HL_QSINCE"]}))

    async def _beat(self) -> bool:
        try:
            await self.ami.action("Setvar", Variable=contract.G_BEAT, Value=str(int(time.time())))
            return True
        except HotlineError as e:
            log.info("acd: heartbeat not set: %s", e)
            return False

    async def heartbeat(self) -> None:
        """Waiting calls fall back to app_queue when this stops (see the WAIT context)."""
        every = max(1.0, self.cfg.beat_timeout / 3)
        while True:
            ok = self.ami.connected and await self._beat()
            if ok and not self._globals_pushed:
                await self.push_globals()
            await asyncio.sleep(every if ok else 0.5)

    async def announcer(self) -> None:
        """Position, estimated wait and the callback offer, per caller, in their language."""
        while True:
            await asyncio.sleep(1.0)
            if self.speech is None:
                continue
            now = self._now()
            line = self.board.waiting()
            ready_or_busy = [a for a in self.board.agents.values() if a.state not in (LOGGED_OUT, PAUSED)]
            handle = (sum(self.handle_times) / len(self.handle_times)) if self.handle_times else 180.0
            for call in line:
                w = self.waiting.get(call.linkedid)
                if w is None or w.callback or now - w.announced < self.cfg.announce_seconds:
                    continue
                same = [c for c in line if c.department == call.department]
                position = same.index(call) + 1
                agents = sum(1 for a in ready_or_busy if any(d == call.department for d, _ in a.skills))
                words = announce.text(call.language, position,
                                      announce.estimate_seconds(position, agents, handle), bool(w.number))
                w.announced = now
                try:
                    sound = await self.speech.file_for(words, call.language)
                    await self.ami.action("Setvar", Channel=w.channel, Variable=contract.V_ANNOUNCE, Value=sound)
                except (HotlineError, OSError) as e:
                    log.info("acd: announcement for %s not set: %s", call.linkedid, e)

    # -- supervisor ------------------------------------------------------------------------
    async def spy(self, linkedid: str, mode: str, to_agent: str) -> dict:
        """Ring the supervisor's line (`to_agent`, a configured line) into ChanSpy on the
        agent's channel of a live call: listen, whisper (to the agent) or barge."""
        if mode not in SPY_MODES:
            raise BadRequest("mode must be listen, whisper or barge")
        if to_agent not in self.agents:
            raise NotFound(f"no line {to_agent} to ring for the supervisor")
        d = self.delivering.get(linkedid)
        agent = self.board.agents.get(d.agent) if d else None
        if d is None or agent is None or agent.state != ON_CALL or not d.agent_channel:
            raise Conflict(f"call {linkedid} is not talking with an agent")
        await self.ami.action("Originate", Channel=self.agents[to_agent].interface, Application="ChanSpy",
                              Data=f"{d.agent_channel},{SPY_MODES[mode]}", Async="true",
                              Timeout=str(self.cfg.ring_seconds * 1000), CallerID=f"spy {mode} <{d.agent}>")
        self._emit(ev.SUPERVISOR, linkedid, agent=d.agent, data={"mode": mode, "supervisor_line": to_agent})
        return {"linkedid": linkedid, "agent": d.agent, "mode": mode, "channel": d.agent_channel}

    def explain(self, linkedid: str) -> dict:
        """Why the call waits: its step now, and who could take it."""
        call = self.board.calls.get(linkedid)
        if call is None:
            raise NotFound(f"call {linkedid} is not waiting")
        now = self._now()
        board = Board(self.policy, [a for a in self.board.agents.values()], [call])
        decisions = board.assign(now)
        step = self.board.current_step(linkedid, now)
        steps = self.policy.steps_for(call.department)
        return {"linkedid": linkedid, "step": step + 1, "steps": [s.describe(call) for s in steps],
                "waited": round(now - call.arrived, 1),
                "decision": explain(decisions[0]) if decisions else "no ready agent is allowed at this step"}


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, Refused):
            log.info("acd: resync skipped: %s", exc)
            return True
        return False
