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
import contextlib
import math
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from core import contract
from ami.protocol import Message
from core.errors import BadRequest, Conflict, HotlineError, NotFound
from core.numbers import CALLABLE
from calls.record import parse_path
from core import events as ev

from acd import announce, callback_hours, callbacks
from acd.config import AcdConfig
from acd.model import (LOGGED_OUT, NORMAL, OFFERED, ON_CALL, PAUSED, READY, WRAPUP, AgentState, WaitingCall,
                    priority_name)
from acd.policy import Board, Decision, Refused, explain

log = logging.getLogger(__name__)

UNREACHABLE = "unreachable"   # pause reason: the agent's phone could not be rung at all
# AMI ContactStatus values of a phone that can be rung (Removed and Unreachable: it cannot)
PHONE_UP = {"Created", "Reachable", "NonQualified", "Updated", "Unknown"}
DEVICE_DOWN = {"UNAVAILABLE", "INVALID", "UNKNOWN", None}   # AMI DeviceStateList states
SPY_MODES = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}
COMMAND = "command"           # inbox kind: a change from the API, the directory or a reload
COMMAND_TIMEOUT = 10.0
CLAIMS_FRESH = 0.5             # a cluster node: the other nodes' claims, at most this old when calls wait
# per-call memory is bounded: a lost event or a record never stored cannot grow it for ever
MAX_REMEMBERED = 10_000        # linkedids the ACD remembers after its part of a call
FREE_TO_RING_SAMPLES = 4096


class AcdBusy(HotlineError):
    id, status = "acd-busy", 503


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
    missed: bool = False        # a missed call the centre calls back (not booked by the caller)


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
    # the newest samples of "agent free -> phone rings" (bounded: memory stays flat)
    free_to_ring: deque = field(default_factory=lambda: deque(maxlen=FREE_TO_RING_SAMPLES))
    free_to_ring_total: int = 0   # samples ever taken: a reader asks for those after its last

    def free_to_ring_since(self, start: int) -> tuple[int, list[float]]:
        """(the next index, the samples from `start` on that the ring still holds)."""
        held = min(len(self.free_to_ring), max(0, self.free_to_ring_total - start))
        return self.free_to_ring_total, list(self.free_to_ring)[len(self.free_to_ring) - held:]


def _remember(seen: dict[str, None], key: str) -> None:
    """Add to an insertion-ordered set, forgetting the oldest beyond MAX_REMEMBERED."""
    seen[key] = None
    if len(seen) > MAX_REMEMBERED:
        del seen[next(iter(seen))]


class AcdService:
    def __init__(self, ami, cfg: AcdConfig, agents, *, log_event: Callable[[ev.Event], None],
                 states=None, speech=None, clock: Callable[[], float] = time.time,
                 priority_of: Callable[[str], int | None] | None = None,
                 may_call: Callable[[str], bool] | None = None, claims=None):
        self.ami, self.cfg, self.clock = ami, cfg, clock
        # a cluster node (acd/claims.py): agents are taken in the shared database before an
        # offer, and those another node holds are left out of this node's routing passes
        self.claims = claims
        self.elsewhere: set[str] = set()
        self._elsewhere_read = float("-inf")   # when the other nodes' claims were last read
        self.policy = cfg.policy()
        self.agents = {a.id: a for a in agents}
        self.by_endpoint = {a.endpoint: a.id for a in agents if a.line == "sip"}
        self.by_interface = {a.interface: a.id for a in agents}
        self.board = Board(self.policy, [AgentState.from_agent(a, state=LOGGED_OUT, now=clock()) for a in agents])
        self.states = states          # tickets.agent_states.AgentStates (persistence) or None
        self.speech = speech          # ivr.prompts.Speech for announcements, or None
        self.log_event = log_event
        self.priority_of = priority_of  # registered elderly/disabled callers (tickets/priority_callers.py)
        self.may_call = may_call      # the outbound policy (trunks/): a callback is offered only to numbers it allows
        self.waiting: dict[str, Waiting] = {}
        self.delivering: dict[str, Delivery] = {}   # call linkedid -> delivery
        self.legs: dict[str, str] = {}              # callback leg linkedid -> call linkedid
        self.free_at: dict[str, float] = {}          # agent -> when it last became ready
        self.stats = Stats()
        self.handle_times: deque[float] = deque(maxlen=200)  # recent talk times, for wait estimates
        self._talk_started: dict[str, float] = {}
        self._retry: dict[str, float] = {}
        self._cb_reported: dict[str, None] = {}      # callback legs whose result is in (bounded, oldest first)
        self._held: dict[str, str] = {}              # a live call -> the missed callback of its number it holds back
        self._inbox: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
        self._dirty: set[str] = set()
        self._dirty_set = asyncio.Event()            # an agent changed (persist() writes every 0.3 s)
        self._seen: dict[str, None] = {}             # calls the ACD logged live, oldest first (bounded)
        self.loaded = False
        self._globals_pushed = False
        self._rate_all_pushed = False
        self._event_ts: float | None = None
        self._leaving: set[str] = set()              # removed from the directory while on a call
        self._aged_at = 0.0
        self._running = False                        # the routing task applies the inbox
        self.last_call: dict[str, str] = {}          # agent -> the linkedid of the call they last answered
        self._contacts: dict[str, set[str]] = {}     # agent -> its phone's contacts seen registered

    # -- intake of facts ---------------------------------------------------------------
    def on_ami(self, msg: Message) -> None:
        """AMI handler (sync, in the AMI task): facts are queued for the routing task."""
        name = msg.get("Event")
        if name == "UserEvent":
            kind = msg.get("UserEvent", "")
            if kind in (contract.EV_QUEUED, contract.EV_CB_REQ, contract.EV_DELIVERY, contract.EV_CONNECTED,
                        contract.EV_AGENT, contract.EV_CB_DONE, contract.EV_CALL_END):
                self._inbox.put_nowait((kind, dict(msg)))
        elif name in ("DialBegin", "OriginateResponse", "ContactStatus"):
            self._inbox.put_nowait((name, dict(msg)))

    async def _submit(self, op: Callable, *args, **kw):
        """Apply a change of routing state from outside the routing task (API, directory,
        reload) in order with the AMI facts: it is queued, applied by the task between two
        routing passes, and its result or error comes back here. Before the task runs nothing
        routes, so it is applied at once."""
        if not self._running:
            return op(*args, **kw)
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait((COMMAND, {"op": op, "args": args, "kw": kw, "done": done}))
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                return await asyncio.shield(done)
        except TimeoutError:
            raise AcdBusy(f"the routing task did not take the change within {COMMAND_TIMEOUT:.0f} s") from None

    def _post(self, op: Callable, *args, **kw) -> None:
        """Queue a change without waiting for it (from a task the routing task may wait on)."""
        if not self._running:
            op(*args, **kw)
            return
        self._inbox.put_nowait((COMMAND, {"op": op, "args": args, "kw": kw, "done": None}))

    @staticmethod
    def _command(m: dict) -> None:
        done: asyncio.Future | None = m["done"]
        try:
            result = m["op"](*m["args"], **m["kw"])
        except (HotlineError, Refused) as e:
            if done is None:
                log.info("acd: change refused: %s", e)
            elif not done.done():
                done.set_exception(e if isinstance(e, HotlineError) else Conflict(str(e)))
            return
        if done is not None and not done.done():
            done.set_result(result)

    # -- the routing task ---------------------------------------------------------------
    async def run(self, agents_ready: asyncio.Event | None = None) -> None:
        if agents_ready is not None:   # the directory's list, so that persisted states find their agents
            await agents_ready.wait()
        await self._load()
        # a pause 'unreachable' read back from the database clears if the phone is back
        await self._read_phones()
        self._running = True
        while True:
            due = self.board.next_due()
            timeout = 1.0 if due is None else max(0.0, min(1.0, due - self.clock()))
            if self.elsewhere and self.board.calls:
                # calls wait and another node holds agents: its releases are read twice a second
                timeout = min(timeout, CLAIMS_FRESH)
            try:
                async with asyncio.timeout(timeout):
                    kind, msg = await self._inbox.get()
                await self._apply(kind, msg)
                while not self._inbox.empty():   # a burst is applied before one routing pass
                    kind, msg = self._inbox.get_nowait()
                    await self._apply(kind, msg)
            except TimeoutError:
                pass
            self._event_ts = None
            await self._route()

    async def _apply(self, kind: str, m: dict) -> None:
        if kind == COMMAND:
            self._command(m)
            return
        try:
            handler = {
                contract.EV_QUEUED: self._queued, contract.EV_CB_REQ: self._callback_request,
                contract.EV_DELIVERY: self._delivery, contract.EV_CONNECTED: self._connected,
                contract.EV_AGENT: self._feature_code, contract.EV_CB_DONE: self._callback_done,
                contract.EV_CALL_END: self._call_end, "DialBegin": self._dial_begin,
                "OriginateResponse": self._originate_response, "ContactStatus": self._contact_status,
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
        self._dirty_set.set()

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
        _remember(self._seen, lid)
        self._emit(ev.QUEUE_JOIN, lid, queue=f"hl-{dept}", department=dept, language=lang,
                   data={"priority": priority_name(prio)})
        n = w.caller.strip()
        if CALLABLE.fullmatch(n) and (self.may_call is None or self.may_call(n.lstrip("+"))):
            w.number = n
            self._hold_missed(lid, n)
            try:
                await self.ami.action("Setvar", Channel=chan, Variable=contract.V_CB_OK, Value="1")
            except HotlineError as e:
                log.info("acd: callback offer for %s not enabled: %s", lid, e)

    # -- missed-call callbacks (漏接电话回拨) ------------------------------------------------
    def _listed(self) -> dict[str, str]:
        """The missed calls on the callback list: linkedid -> number."""
        return {lid: w.number for lid, w in self.waiting.items() if w.missed}

    def _missed(self, lid: str, w: Waiting | None, call: WaitingCall, waited: float, where: str) -> bool:
        """An abandoned call: on the callback list, as a callback that keeps its place, unless
        callbacks.missed says why not."""
        live = {x.number for other, x in self.waiting.items() if other != lid and not x.callback and x.number}
        why = callbacks.missed(w.number if w else "", waited, enabled=self.cfg.missed_callbacks,
                               min_wait=self.cfg.missed_min_wait_seconds if where == "queue" else
                               self.cfg.missed_menu_seconds, listed=self._listed().values(), live=live)
        if why is not None:
            if why not in ("off", "no callable number"):
                log.info("acd: missed call %s not called back: %s", lid, why)
            return False
        w.callback, w.missed, w.call = True, True, call
        self.waiting[lid] = w
        self.board.put_call(call)
        self._emit(ev.MISSED_LISTED, lid, department=call.department, language=call.language,
                   data={"waited": round(waited, 1), "where": where})
        log.info("acd: missed call %s (%s s in the %s) goes on the callback list", lid, round(waited), where)
        return True

    def missed_in_menu(self, linkedid: str, number: str, department: str | None, language: str | None,
                       started: float, seconds: float) -> None:
        """A call that hung up in the menu after `seconds` (its record is stored): on the
        callback list when the setting says so (missed_menu_seconds)."""
        self._post(self._menu_missed, linkedid, number, department, language, started, seconds)

    def _menu_missed(self, lid: str, number: str, department: str | None, language: str | None,
                     started: float, seconds: float) -> None:
        if not self.cfg.missed_callbacks or not self.cfg.missed_menu_seconds or lid in self.waiting:
            return
        n = (number or "").strip()
        if not CALLABLE.fullmatch(n) or (self.may_call is not None and not self.may_call(n.lstrip("+"))):
            return
        call = WaitingCall(lid, department or "general", language or "cmn", NORMAL, arrived=started)
        self._missed(lid, Waiting(channel="", caller=n, number=n), call, seconds, "menu")

    def _hold_missed(self, lid: str, number: str) -> None:
        """The citizen calls again while their missed call waits on the list: the callback is
        held back while this call is live (never two calls with one number), ended if an agent
        answers it, back in its place if this call is abandoned too."""
        for cb in callbacks.of_number(number, self._listed(), self.delivering):
            w = self.waiting[cb]
            dropped = self.board.drop_call(cb) if cb in self.board.calls else None
            w.call = w.call or dropped
            self._retry[cb] = math.inf
            self._held[lid] = cb

    def _release_held(self, lid: str, got_through: bool) -> None:
        cb = self._held.pop(lid, None)
        if cb is None or cb not in self.waiting:
            return
        if got_through:
            self._retry.pop(cb, None)
            w = self.waiting.pop(cb)
            if cb in self.board.calls:
                self.board.drop_call(cb)
            self._emit(ev.CALLBACK_CANCELLED, cb, department=w.call.department if w.call else None,
                       data={"reason": "got through", "call": lid, "attempts": w.attempts})
            log.info("acd: missed call %s not called back: %s got through on %s", cb, w.number, lid)
        elif cb in self._retry:
            self._retry[cb] = self._now()     # back to its place at the next pass

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
        await self._unclaim(agent, lid)
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
        leg = lid in self.legs
        lid = self.legs.get(lid, lid)
        d = self.delivering.get(lid)
        if d is None or d.agent != agent:
            return
        if not leg:
            self._release_held(lid, got_through=True)
        self.board.answer(agent, lid, self._now())
        self._talk_started[lid] = self._now()
        self.last_call[agent] = lid
        self._emit(ev.AGENT_CONNECT, lid, agent=agent)

    async def _call_end(self, m: dict) -> None:
        lid = m.get("linkedid", "")
        call_lid = self.legs.pop(lid, None)
        if call_lid is not None:          # a callback leg ended
            if lid not in self._cb_reported and m.get("dialstatus"):
                # the agent hung up before the leg could report: its DIALSTATUS tells
                await self._callback_done({"of": call_lid, "status": m["dialstatus"], "linkedid": lid})
            self._cb_reported.pop(lid, None)
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
            w = self.waiting.pop(lid, None)
            self._emit(ev.QUEUE_ABANDON, lid, department=call.department, language=call.language)
            self._release_held(lid, got_through=False)
            self._missed(lid, w, call, self._now() - call.arrived, "queue")
            return
        self._release_held(lid, got_through=False)
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
        offered = agent.state == OFFERED
        new = self.board.cancel(agent_id, lid, now) if offered else self.board.hangup(agent_id, lid, now)
        await self._unclaim(agent_id, lid, 0.0 if offered else self.policy.wrapup_seconds)
        self._agent_changed(new, call=lid)
        if agent_id in self._leaving:   # removed from the directory during this call
            self._set_agents([a for a in self.agents.values() if a.id != agent_id])

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
                self.stats.free_to_ring_total += 1

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
            _remember(self._cb_reported, m["linkedid"])
        w.attempts += 1
        d = self.delivering.get(lid)
        reached = status == "ANSWER"
        again = callbacks.after_attempt(w.attempts, reached, self._now())
        self._emit(ev.CALLBACK_DONE if reached else ev.CALLBACK_FAILED, lid, agent=d.agent if d else None,
                   department=w.call.department if w.call else None,
                   data={"attempt": w.attempts, "status": status,
                         **({"missed": True, "last": again is None} if w.missed else {})})
        if again is None:
            self.waiting.pop(lid, None)
        else:
            # the agent's leg ends next; the call waits again at its old place after a pause
            self._retry[lid] = again

    # -- agents -------------------------------------------------------------------------
    async def _contact_status(self, m: dict) -> None:
        """A SIP agent's phone registered, refreshed, dropped or stopped answering qualify."""
        agent_id = self.by_endpoint.get(m.get("EndpointName") or m.get("AOR", ""))
        if agent_id is None:
            return
        # a phone registering anew may add its new contact before the old one is removed:
        # it is gone only when no contact of it is left that we know of
        uris = self._contacts.setdefault(agent_id, set())
        if m.get("ContactStatus", "") in PHONE_UP:
            uris.add(m.get("URI", ""))
        else:
            uris.discard(m.get("URI", ""))
        self._phone(agent_id, bool(uris))

    def _phone(self, agent_id: str, up: bool) -> None:
        """The phone is reachable or not: an agent whose phone is gone is paused 'unreachable'
        (calls go to the others) and is ready again when it is back, without anyone pressing
        a key. Only that pause clears by itself: a break the agent took stays a break."""
        if agent_id not in self.board.agents:
            return   # left the directory meanwhile
        agent = self.board.agent(agent_id)
        now = self._now()
        if not up and agent.state in (READY, WRAPUP):
            new = self.board.pause(agent_id, UNREACHABLE, now)
            self._agent_changed(new, cause="phone unregistered")
        elif up and agent.state == PAUSED and agent.paused_reason == UNREACHABLE:
            new = self.board.unpause(agent_id, now)
            self._agent_changed(new, cause="phone registered")

    async def _feature_code(self, m: dict) -> None:
        agent_id = self.by_endpoint.get(m.get("endpoint", ""))
        if agent_id is None:
            log.warning("acd: feature code from unknown endpoint %r", m.get("endpoint"))
            return
        op = m.get("op", "")
        reason = contract.PAUSE_REASONS.get(m.get("reason", ""), "break")
        try:
            self._agent_op(agent_id, op, reason, by="phone")
        except (Conflict, BadRequest) as e:
            log.info("acd: feature code %s from %s refused: %s", op, agent_id, e)

    async def agent_action(self, agent_id: str, op: str, reason: str = "", *, by: str = "api") -> AgentState:
        """login | logout | pause | unpause from the API: through the inbox."""
        return await self._submit(self._agent_op, agent_id, op, reason, by=by)

    def _agent_op(self, agent_id: str, op: str, reason: str = "", *, by: str = "api") -> AgentState:
        """login | logout | pause | unpause, applied by the routing task."""
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
            elif op == "done":
                new = self.board.done(agent_id, now)
            elif op == "ready":   # the desk's one button: whatever stands between the agent and the next call
                state = self.board.agent(agent_id).state
                new = {LOGGED_OUT: self.board.login, PAUSED: self.board.unpause,
                       WRAPUP: self.board.done}.get(state, lambda a, n: self.board.agent(a))(agent_id, now)
                if state not in (LOGGED_OUT, PAUSED, WRAPUP):
                    return new      # ready already, or on a call: nothing changes
            else:
                raise BadRequest("op must be login, logout, pause, unpause, ready or done")
        except Refused as e:
            raise Conflict(str(e)) from e
        self._agent_changed(new, by=by)
        return new

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
        if not self.ami.connected:
            return   # nothing can be delivered: decide when Asterisk is reachable again
        if self.board.calls:
            await self._read_elsewhere(now)
        for call in self.board.hasten(now, exclude=self.elsewhere):
            log.info("acd: %s waited %.1f s: step %d applies early (nobody of the earlier steps is free soon)",
                     call.linkedid, now - call.arrived, call.hastened + 1)
        for decision in self.board.assign(now, exclude=self.elsewhere):
            await self._deliver(decision, now)

    def _defer_callbacks(self, now: float) -> None:
        """Outside the callback hours booked callbacks leave the line until the window
        opens; they come back with their arrival time, so still in their place."""
        opening = callback_hours.next_opening(now, self.cfg.callback_hours, self.cfg.timezone)
        booked = lambda lid: (w := self.waiting.get(lid)) is not None and w.callback  # noqa: E731
        for lid in callbacks.to_defer(self.board.waiting(), booked, self.delivering, opening):
            w = self.waiting[lid]
            call = self.board.drop_call(lid)
            w.call = w.call or call
            self._retry[lid] = opening
            log.info("acd: callback %s deferred to the callback hours", lid)

    async def _requeue_callbacks(self, now: float) -> None:
        for lid in [lid for lid in self._retry if (w := self.waiting.get(lid)) is None or w.call is None]:
            del self._retry[lid]      # the call is gone (or never waited): nothing to bring back
        for lid in callbacks.due_again(self._retry, now, self.delivering):
            del self._retry[lid]
            self.board.put_call(self.waiting[lid].call)

    async def _max_wait(self, now: float) -> None:
        exempt = lambda lid: (w := self.waiting.get(lid)) is None or w.callback  # noqa: E731
        for call in callbacks.timed_out(self.board.waiting(), now, self.cfg.max_wait_seconds, exempt):
            w = self.waiting.pop(call.linkedid)
            self.board.drop_call(call.linkedid)
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
        if self.claims is not None and not await self._claim(agent_id, lid):
            return
        try:
            self.board.offer(decision, now)
        except Refused as e:
            # the board moved since the pass decided (an earlier delivery's await let an event
            # in): this decision is void, the next pass decides again
            log.info("acd: decision for %s void: %s", lid, e)
            return
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
            if not w.callback and "does not exist" in str(e):
                self.waiting.pop(lid, None)   # the caller's channel is gone: nothing left to deliver
            elif lid not in self.board.calls:
                try:
                    self.board.put_call(decision.call)   # still waiting: back at its place in the line
                except Refused as e2:
                    log.info("acd: %s not put back: %s", lid, e2)
            await self._unclaim(agent_id, lid)

    # -- agents held across nodes (cluster) ------------------------------------------------
    async def _claim(self, agent_id: str, lid: str) -> bool:
        try:
            if await self.claims.take(agent_id, lid):
                return True
        except Exception as e:  # noqa: BLE001 - the database is away: this node routes alone meanwhile
            log.warning("acd: claim of %s not checked (%s): offered from this node's view", agent_id,
                        type(e).__name__)
            return True
        log.info("acd: %s is held by another node: not offered %s", agent_id, lid)
        self.elsewhere.add(agent_id)
        return False

    async def _unclaim(self, agent_id: str, lid: str, hold: float = 0.0) -> None:
        if self.claims is None:
            return
        try:
            await self.claims.release(agent_id, lid, hold)
        except Exception as e:  # noqa: BLE001 - the lease runs out by itself
            log.info("acd: claim of %s not released (%s): it lapses", agent_id, type(e).__name__)

    async def _read_elsewhere(self, now: float) -> None:
        """Which agents the other nodes hold, read when a routing pass has calls to place
        (at most every CLAIMS_FRESH seconds): an idle node reads nothing. The claim itself
        (`_claim`) is what keeps an agent from two offers; this read only spares offers
        that would be refused."""
        if self.claims is None or now - self._elsewhere_read < CLAIMS_FRESH:
            return
        self._elsewhere_read = now
        try:
            async with asyncio.timeout(CLAIMS_FRESH * 2):   # a database away must not hold up routing
                self.elsewhere = await self.claims.elsewhere()
        except Exception as e:  # noqa: BLE001 - the last set stays; every offer is still claimed first
            log.info("acd: claims not read (%s)", type(e).__name__)

    async def claims_loop(self) -> None:
        """Keeps this node's claims alive while their calls last (every third of the lease,
        and only while this node has calls with agents)."""
        if self.claims is None:
            return
        while True:
            await asyncio.sleep(self.claims.lease / 3)
            if not self.delivering:
                continue
            try:
                await self.claims.renew(set(self.delivering))
            except Exception as e:  # noqa: BLE001 - retried; leases outlive a short outage
                log.info("acd: claims not renewed (%s)", type(e).__name__)

    async def set_agents(self, agents) -> dict:
        """The directory changed: through the inbox (see `_set_agents`)."""
        return await self._submit(self._set_agents, list(agents))

    def _set_agents(self, agents) -> dict:
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
        return {"added": added, "changed": changed, "removed": removed}

    async def configure(self, cfg: AcdConfig) -> None:
        """New timings and relaxation steps: through the inbox (see `_configure`)."""
        await self._submit(self._configure, cfg)

    def _configure(self, cfg: AcdConfig) -> None:
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
        self._globals_pushed = False

    async def push_globals(self) -> None:
        """The dialplan's copies of the timings (rendered defaults until the engine says)."""
        try:
            await self.ami.action("Setvar", Variable=contract.G_RING, Value=str(self.cfg.ring_seconds))
            await self.ami.action("Setvar", Variable=contract.G_BEAT_MAX, Value=str(self.cfg.beat_timeout))
            rate_all = self.cfg.rate_calls == "all"
            if rate_all or self._rate_all_pushed:   # the rendered default is "agent": say only a change
                await self.ami.action("Setvar", Variable=contract.G_RATE_ALL, Value="1" if rate_all else "0")
                self._rate_all_pushed = rate_all
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

    async def call_info(self, linkedid: str) -> dict:
        """What the desk shows of a call being offered: the caller as presented and the IVR
        path it took (read from its channel now: the record is written after the hang-up)."""
        w = self.waiting.get(linkedid)
        if w is None:
            return {"caller": "", "ivr_path": []}
        path: list[dict] = []
        try:
            raw = (await self.ami.action("Getvar", Channel=w.channel, Variable=contract.V_PATH)).get("Value") or ""
            steps = parse_path(raw, 0.0)
            first = next((x["t"] for x in steps if x["t"] is not None), 0.0)
            path = [{**x, "t": round(x["t"] - first, 1) if x["t"] is not None else None} for x in steps]
        except HotlineError as e:
            log.info("acd: IVR path of %s not read: %s", linkedid, e)
        return {"caller": w.caller, "ivr_path": path}

    def desk(self, agent_id: str) -> dict:
        """An agent's desk as it is now (a page reloaded mid-call finds its call again)."""
        a = self.board.agents.get(agent_id)
        if a is None:
            raise NotFound(f"no agent {agent_id}")
        now = self._now()
        call = None
        if a.call is not None:
            w = self.waiting.get(a.call)
            call = {"linkedid": a.call, "caller": w.caller if w else "",
                    "department": w.call.department if w and w.call else None,
                    "language": w.call.language if w and w.call else None,
                    "waited": round((self.delivering[a.call].offered_at if a.call in self.delivering else now)
                                    - w.call.arrived, 1) if w and w.call else None,
                    "connected": a.state == ON_CALL}
        return {"agent": agent_id, "state": a.state, "reason": a.paused_reason, "since": a.since, "now": now,
                "wrapup_until": a.until if a.state == WRAPUP else None, "wrapup_seconds": self.policy.wrapup_seconds,
                "call": call, "last_call": self.last_call.get(agent_id)}

    def agent_of(self, linkedid: str) -> str | None:
        """The agent a call is ringing or talking with now (None: not with an agent)."""
        d = self.delivering.get(linkedid)
        return d.agent if d is not None else None

    def caller_of(self, linkedid: str) -> str | None:
        w = self.waiting.get(linkedid)
        return w.caller if w is not None else None

    def forget(self, linkedid: str) -> bool:
        """The call's record is stored: True when the ACD logged its queue events live.
        The call is over for good, so what the ACD kept about it goes too (even when an
        event that should have cleared it was lost)."""
        if linkedid not in self.waiting and linkedid not in self.delivering:
            self._talk_started.pop(linkedid, None)
        return self._seen.pop(linkedid, False) is None

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
            # "agent free -> phone rings" starts only with calls waiting (as in _agent_changed):
            # an engine start is not an agent freed up
            if new.state == READY and self.board.calls:
                self.free_at[agent_id] = now
        self.loaded = True

    def _persisted(self, a: AgentState) -> dict:
        # ringing, talking and wrap-up are Asterisk's facts, not kept: the agent comes back ready
        state = a.state if a.state in (PAUSED, LOGGED_OUT) else READY
        return {"state": state, "reason": a.paused_reason if state == PAUSED else None,
                "since": a.since, "misses": a.misses}

    async def persist(self) -> None:
        try:
            while True:
                await asyncio.sleep(0.3)
                if not await self._save_states():
                    await asyncio.sleep(1)
        except asyncio.CancelledError:
            # an engine stopped on purpose keeps what its agents did in its last 0.3 s (a
            # login just before a restart came back logged out, and nobody took calls)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._save_states()
            raise

    async def _save_states(self) -> bool:
        """Write the agents changed since the last write; False if the database refused."""
        if not self._dirty or self.states is None or not self.loaded:
            return True
        self._dirty &= set(self.board.agents)   # removed agents have nothing left to keep
        batch = {aid: self._persisted(self.board.agent(aid)) for aid in self._dirty}
        try:
            await self.states.save(batch)
        except Exception as e:  # noqa: BLE001 - kept dirty, written when the database is back
            log.info("acd: agent states not saved yet (%s)", type(e).__name__)
            return False
        # an agent who changed again while the batch was written stays to be written
        self._dirty -= {aid for aid, saved in batch.items()
                        if aid not in self.board.agents or self._persisted(self.board.agent(aid)) == saved}
        return True

    async def resync(self) -> None:
        """After (re)connecting to Asterisk: find waiting calls and agents on calls that
        events did not tell us about (the engine was down or the AMI link broke)."""
        await self._beat()   # before anything else: calls waiting now must not fall back
        await self.push_globals()
        # what the ACD holds now; whatever of it Asterisk no longer has (it restarted, or the
        # call ended while the AMI link was down) ends below, like a hang-up
        known = set(self.waiting) | set(self.delivering) | set(self.legs)
        try:
            channels = await self.ami.action_list("CoreShowChannels")
        except HotlineError as e:
            log.warning("acd: resync failed: %s", e)
            return
        live = {ch.get("Linkedid", "") for ch in channels}
        gone = sorted(known - live)
        if gone:
            log.warning("acd: %d call(s) gone from Asterisk meanwhile: %s", len(gone), ", ".join(gone[:10]))
        for lid in gone:
            self._inbox.put_nowait((contract.EV_CALL_END, {"linkedid": lid}))
        await self._read_phones()
        on_calls, waiting = [], []
        for ch in channels:
            name, lid = ch.get("Channel", ""), ch.get("Linkedid", "")
            if not lid:
                continue
            agent_id = next((aid for iface, aid in self.by_interface.items()
                             if name.startswith(iface + "-") or name.startswith(iface + ";")), None)
            if agent_id is not None:
                on_calls.append((agent_id, lid, name))
                continue
            if ch.get("Context") == contract.WAIT:
                fields = {}
                for var in (contract.V_DEPT, contract.V_LANG, contract.V_PRIO, contract.V_QSINCE):
                    try:
                        fields[var] = (await self.ami.action("Getvar", Channel=name, Variable=var)).get("Value") or ""
                    except HotlineError:
                        fields[var] = ""
                waiting.append({"linkedid": lid, "channel": name, "dept": fields[contract.V_DEPT],
                                "lang": fields[contract.V_LANG], "prio": fields[contract.V_PRIO],
                                "since": fields[contract.V_QSINCE]})
        # what was found is applied by the routing task, in order with everything else; not
        # awaited here: this runs in the AMI task, which the routing task may be waiting on
        self._post(self._found_on_calls, on_calls)
        for fields in waiting:
            self._inbox.put_nowait((contract.EV_QUEUED, fields))

    async def _read_phones(self) -> None:
        """Phones registered meanwhile (their events were lost while the engine or the AMI
        link was away) free their agents' 'unreachable' pauses. Only that way round: right
        after an Asterisk restart every phone reads UNAVAILABLE until qualified, so a
        phone's loss is taken from its ContactStatus event alone, never from this list."""
        if not self.by_endpoint:
            return
        try:
            devices = await self.ami.action_list("DeviceStateList")
        except HotlineError as e:
            log.info("acd: phones not read: %s", e)
            return
        up = {d.get("Device", "") for d in devices if d.get("State") not in DEVICE_DOWN}
        for endpoint, agent_id in self.by_endpoint.items():
            if f"PJSIP/{endpoint}" in up:
                self._post(self._phone, agent_id, True)

    def _found_on_calls(self, found: list[tuple[str, str, str]]) -> None:
        for agent_id, lid, name in found:
            if lid in self.delivering or agent_id not in self.board.agents:
                continue
            a = self.board.agent(agent_id)
            if a.call is None and a.state != ON_CALL:
                with _quiet():
                    if lid in self.board.calls:
                        self.board.drop_call(lid)
                    self.board.put_agent(replace(a, state=ON_CALL, since=self._now(), call=lid,
                                                 paused_reason=None, until=None))
                    self.delivering[lid] = Delivery(agent_id, agent_channel=name)
                    self.waiting.pop(lid, None)

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

    # -- transfers (the agent desk) -----------------------------------------------------
    async def transfer(self, linkedid: str, department: str, mode: str, departments: set[str]) -> dict:
        """Put the citizen through to a department's line: `blind` (the agent's leg ends, the
        agent goes to wrap-up) or `conference` (citizen, agent and the line in one ConfBridge).
        Guard first (the call talks with an agent, the department exists), then act."""
        if mode not in ("blind", "conference"):
            raise BadRequest("mode must be blind or conference")
        if department not in departments:
            raise BadRequest(f"{department[:40]!r} is not a department of the centre")
        d = self.delivering.get(linkedid)
        agent = self.board.agents.get(d.agent) if d else None
        w = self.waiting.get(linkedid)
        if d is None or agent is None or agent.state != ON_CALL or w is None or not w.channel:
            raise Conflict(f"call {linkedid} is not talking with an agent")
        citizen = w.channel
        for var, value in ((contract.V_XFER_TO, department), (contract.V_XFER_BY, d.agent)):
            await self.ami.action("Setvar", Channel=citizen, Variable=var, Value=value)
        if mode == "blind":
            await self.ami.action("Redirect", Channel=citizen, Context=contract.TRANSFER, Exten=department, Priority=1)
            await self._submit(self._transferred, linkedid, d.agent)
        else:
            if not d.agent_channel:
                raise Conflict(f"the agent's leg of {linkedid} is not known: cannot bridge it")
            bridge = re.sub(r"[^A-Za-z0-9_-]", "-", f"hl-{linkedid}")[:60]
            await self.ami.action("Setvar", Channel=citizen, Variable=contract.V_CONF, Value=bridge)
            await self.ami.action("Setvar", Channel=d.agent_channel, Variable=contract.V_CONF, Value=bridge)
            await self.ami.action("Redirect", Channel=citizen, ExtraChannel=d.agent_channel,
                                  Context=contract.CONFERENCE, Exten="s", Priority=1, ExtraContext=contract.CONFERENCE,
                                  ExtraExten="s", ExtraPriority=1)
            await self.ami.action("Originate", Channel=f"Local/{department}@{contract.DEPT_LINE}",
                                  Context=contract.CONFERENCE, Exten="s", Priority=1, Async="true",
                                  Variable=[f"{contract.V_CONF}={bridge}"], CallerID=f"12345 <{d.agent}>")
        self._emit(ev.TRANSFER, linkedid, agent=d.agent, department=department, data={"to": department, "mode": mode})
        return {"linkedid": linkedid, "agent": d.agent, "to": department, "mode": mode}

    async def to_rating(self, linkedid: str) -> dict:
        """The agent sends the citizen to the rating prompt (一次一评): the agent's leg ends (like
        a blind transfer), the citizen presses 1/2/3, which goes on the call's record."""
        d = self.delivering.get(linkedid)
        agent = self.board.agents.get(d.agent) if d else None
        w = self.waiting.get(linkedid)
        if d is None or agent is None or agent.state != ON_CALL or w is None or not w.channel:
            raise Conflict(f"call {linkedid} is not talking with an agent")
        await self.ami.action("Redirect", Channel=w.channel, Context=contract.RATING, Exten="s", Priority=1)
        await self._submit(self._transferred, linkedid, d.agent)
        log.info("acd: %s sent to the rating prompt by %s", linkedid, d.agent)
        return {"linkedid": linkedid, "agent": d.agent, "rating": "asked"}

    def _transferred(self, linkedid: str, agent_id: str) -> None:
        """A blind transfer took the citizen away: the agent's call is over (wrap-up)."""
        d = self.delivering.pop(linkedid, None)
        a = self.board.agents.get(agent_id)
        if d is None or a is None or a.call != linkedid:
            return
        now = self._now()
        started = self._talk_started.pop(linkedid, None)
        if started is not None:
            self.handle_times.append(now - started + self.policy.wrapup_seconds)
        self._agent_changed(self.board.hangup(agent_id, linkedid, now), call=linkedid, cause="transferred")

    async def leave(self, linkedid: str) -> dict:
        """The agent leaves a three-way call: their leg hangs up, the citizen and the
        department talk on; the agent goes to wrap-up."""
        d = self.delivering.get(linkedid)
        if d is None or not d.agent_channel:
            raise Conflict(f"call {linkedid} has no agent leg to leave")
        await self.ami.action("Hangup", Channel=d.agent_channel)
        await self._submit(self._transferred, linkedid, d.agent)
        return {"linkedid": linkedid, "agent": d.agent, "left": True}

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
