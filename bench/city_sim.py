"""Two discrete-event simulations of one scenario (bench.city_scenario): the engine's routing
core, and a per-department FIFO baseline (what app_queue does). Both replay the same calls
(arrival, talk, patience, ring) and the same shifts; only who takes which call differs.

One event list (heapq) and a simulated clock each; no randomness here (it is all in the
scenario), so a scenario always gives the same result.

- `run_core` drives the real `acd.policy.Board` the way `acd.service` does: facts are
  applied (call queued, answered, hung up, caller gone, agent logs in/out), then one
  routing pass: `tick` (wrap-ups over), `age` at most once a second while calls wait,
  `hasten` (waits that cannot pay off cut short), `assign`, and every decision is `offer`ed. It wakes at every event, at the board's
  `next_due` (a relaxation step or a wrap-up end) and each second while calls wait (the
  service's 1 s loop, which is when ageing runs). A call still waiting `max_wait_seconds`
  after it arrived is timed out (the service sends it to voicemail).
- `run_fifo` keeps one strictly first-in first-out line per department, served only by
  agents with any skill in that department (any language, any level, no relaxation, no
  priority classes): a call arriving goes to the longest-idle free member agent; an agent
  becoming free takes the oldest head among its departments' lines. Same wrap-up, same
  maximum wait.

Callers hang up when their patience runs out, while waiting or while the agent's phone
rings (then the agent is free again). Agents always pick up after the call's ring time (no
ring-outs); at the end of a shift an agent logs out, after the call in hand if any.
"""
from __future__ import annotations

import heapq
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from acd.model import OFFERED, ON_CALL, PAUSED, READY, WRAPUP, AgentState, WaitingCall
from acd.policy import Board

from .city_scenario import Call, Scenario

ANSWERED, ABANDONED, TIMED_OUT, WAITING = "answered", "abandoned", "timed out", "waiting"

# event kinds
_LOGIN, _LOGOUT, _ARRIVE, _ANSWER, _HANGUP, _WRAPEND, _ABANDON, _TIMEOUT = range(8)


@dataclass
class Outcome:
    call: Call
    status: str | None = None      # one of ANSWERED, ABANDONED, TIMED_OUT, WAITING (at the end)
    ended: float | None = None     # answered at, or left at, or the end of the run
    agent: str | None = None       # who answered
    step: int | None = None        # core: index of the relaxation step its answering offer used
    via: tuple[str, str] | None = None   # core: the (department, language) skill that step asked for

    @property
    def wait(self) -> float:
        return self.ended - self.call.arrived


@dataclass
class Result:
    name: str
    outcomes: dict[str, Outcome]
    holds: list[list] = field(default_factory=list)     # [agent, call, from, to or None]
    offers: list[tuple[float, str, str]] = field(default_factory=list)   # (time, agent, call)
    wall_s: float = 0.0
    events: int = 0
    passes: int = 0                                      # core: routing passes


Progress = Callable[[str, float, int, int, int], None]   # (name, now, arrived, waiting, on duty)


class _Events:
    __slots__ = ("heap", "seq")

    def __init__(self):
        self.heap: list = []
        self.seq = 0

    def push(self, t: float, kind: int, *args) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, args))

    def next_time(self) -> float:
        return self.heap[0][0] if self.heap else math.inf

    def pop(self):
        return heapq.heappop(self.heap)


def _start(sc: Scenario, name: str) -> tuple[_Events, Result]:
    ev = _Events()
    for a in sc.agents:
        ev.push(a.start, _LOGIN, a.id)
        ev.push(a.end, _LOGOUT, a.id)
    for c in sc.calls:
        ev.push(c.arrived, _ARRIVE, c)
        ev.push(c.arrived + c.patience, _ABANDON, c.id)
        ev.push(c.arrived + sc.acd.max_wait_seconds, _TIMEOUT, c.id)
    return ev, Result(name, {c.id: Outcome(c) for c in sc.calls if c.arrived <= sc.end})


class _Holds:
    """Who holds which call from when to when (ringing or talking): the record the
    one-call-per-agent check reads."""

    def __init__(self, result: Result):
        self.result = result
        self.open: dict[tuple[str, str], list] = {}   # by (agent, call): a double booking stays visible

    def take(self, agent: str, call: str, now: float) -> None:
        rec = [agent, call, now, None]
        self.result.holds.append(rec)
        self.result.offers.append((now, agent, call))
        self.open[(agent, call)] = rec

    def release(self, agent: str, call: str, now: float) -> None:
        self.open.pop((agent, call))[3] = now


def _finish(result: Result, sc: Scenario, waiting, ringing, wall0: float) -> Result:
    for lid in list(waiting) + list(ringing):
        out = result.outcomes[lid]
        out.status, out.ended = WAITING, sc.end
    result.wall_s = time.perf_counter() - wall0
    return result


def run_core(sc: Scenario, progress: Progress | None = None) -> Result:
    """The scenario through the engine's routing core (acd.policy.Board)."""
    wall0 = time.perf_counter()
    cfg = sc.acd
    board = Board(cfg.policy(), [AgentState(a.id, a.skills) for a in sc.agents])
    ev, result = _start(sc, "core")
    out = result.outcomes
    holds = _Holds(result)
    waiting: set[str] = set()
    ringing: dict[str, str] = {}      # call -> agent whose phone rings
    talking: dict[str, str] = {}
    off_shift: set[str] = set()
    on_duty = arrived = 0
    ageing = cfg.priority_ageing_seconds
    aged_at = -math.inf
    now = 0.0
    next_report = 3600.0

    def leave_if_off_shift(aid: str) -> None:
        nonlocal on_duty
        if aid in off_shift:
            board.logout(aid, now)
            on_duty -= 1

    while True:
        t = ev.next_time()
        due = board.next_due()
        if due is not None and due < t:
            t = due
        if waiting and ageing:
            t = min(t, max(now, aged_at + 1.0))
        if t > sc.end:
            break
        now = t
        while ev.heap and ev.heap[0][0] <= now:
            _, _, kind, args = ev.pop()
            result.events += 1
            if kind == _ARRIVE:
                c = args[0]
                board.put_call(WaitingCall(c.id, c.department, c.language, c.priority, c.arrived))
                waiting.add(c.id)
                arrived += 1
            elif kind == _ABANDON or kind == _TIMEOUT:
                lid = args[0]
                if lid in waiting:
                    board.drop_call(lid)
                    waiting.discard(lid)
                    out[lid].status, out[lid].ended = (ABANDONED if kind == _ABANDON else TIMED_OUT), now
                elif kind == _ABANDON and lid in ringing:
                    # the caller gave up while the phone rang (the service never times out a
                    # call it is delivering)
                    aid = ringing.pop(lid)
                    board.cancel(aid, lid, now)
                    holds.release(aid, lid, now)
                    out[lid].status, out[lid].ended = ABANDONED, now
                    leave_if_off_shift(aid)
            elif kind == _ANSWER:
                aid, lid = args
                if ringing.get(lid) == aid:
                    del ringing[lid]
                    board.answer(aid, lid, now)
                    talking[lid] = aid
                    o = out[lid]
                    o.status, o.ended, o.agent = ANSWERED, now, aid
                    ev.push(now + o.call.talk, _HANGUP, aid, lid)
            elif kind == _HANGUP:
                aid, lid = args
                del talking[lid]
                board.hangup(aid, lid, now)
                holds.release(aid, lid, now)
                leave_if_off_shift(aid)
            elif kind == _LOGIN:
                board.login(args[0], now)
                on_duty += 1
            elif kind == _LOGOUT:
                aid = args[0]
                off_shift.add(aid)
                if board.agent(aid).state in (READY, WRAPUP, PAUSED):
                    leave_if_off_shift(aid)
        # one routing pass, as acd.service._route does it
        result.passes += 1
        board.tick(now)
        if ageing and waiting and now >= aged_at + 1.0:   # the same sum as the wake-up: no float gap
            aged_at = now
            board.age(now, ageing)
        board.hasten(now)
        for d in board.assign(now):
            lid, aid = d.call.linkedid, d.agent.id
            board.offer(d, now)
            waiting.discard(lid)
            ringing[lid] = aid
            holds.take(aid, lid, now)
            o = out[lid]
            o.step, o.via = d.step_index, d.step.key(d.call)
            ev.push(now + o.call.ring, _ANSWER, aid, lid)
        if progress is not None and now >= next_report:
            progress("core", now, arrived, len(waiting), on_duty)
            next_report += 3600.0

    # the board's own books must agree with the simulation's
    if set(board.calls) != waiting:
        raise AssertionError(f"board waits for {len(board.calls)} calls, the simulation for {len(waiting)}")
    held = {a.call: a.id for a in board.agents.values() if a.state in (OFFERED, ON_CALL)}
    if held != {**ringing, **talking}:
        raise AssertionError("the board's agents hold other calls than the simulation's")
    return _finish(result, sc, waiting, ringing, wall0)


# -- the baseline ----------------------------------------------------------------------------
_OFF, _FREE, _RING, _TALK, _WRAP = range(5)


def run_fifo(sc: Scenario, progress: Progress | None = None) -> Result:
    """The scenario through per-department first-in first-out lines (app_queue)."""
    wall0 = time.perf_counter()
    wrapup = sc.acd.wrapup_seconds
    ev, result = _start(sc, "fifo")
    out = result.outcomes
    holds = _Holds(result)
    departments = {a.id: sorted({d for d, _ in a.skills}) for a in sc.agents}
    lines: dict[str, deque[str]] = {d: deque() for d in sc.departments}
    free: dict[str, set[str]] = {d: set() for ds in departments.values() for d in ds}
    state = {a.id: _OFF for a in sc.agents}
    idle_since: dict[str, float] = {}
    waiting: set[str] = set()
    ringing: dict[str, str] = {}
    off_shift: set[str] = set()
    on_duty = arrived = 0
    now = 0.0
    next_report = 3600.0

    def head(dept: str) -> str | None:
        line = lines[dept]
        while line and line[0] not in waiting:
            line.popleft()   # abandoned or timed out: gone from the line
        return line[0] if line else None

    def ring(aid: str, lid: str) -> None:
        dept = out[lid].call.department
        if head(dept) != lid:
            raise AssertionError(f"FIFO baseline: {lid} is not the head of the {dept} line")
        lines[dept].popleft()
        waiting.discard(lid)
        for d in departments[aid]:
            free[d].discard(aid)
        state[aid] = _RING
        ringing[lid] = aid
        holds.take(aid, lid, now)
        ev.push(now + out[lid].call.ring, _ANSWER, aid, lid)

    def freed(aid: str, idle_from: float | None) -> None:
        """The agent can take a call: the oldest head among its departments' lines, or wait."""
        nonlocal on_duty
        if aid in off_shift:
            state[aid] = _OFF
            on_duty -= 1
            return
        if idle_from is not None:
            idle_since[aid] = idle_from
        best = None
        for d in departments[aid]:
            lid = head(d)
            if lid is not None and (best is None or (out[lid].call.arrived, lid) < (out[best].call.arrived, best)):
                best = lid
        if best is not None:
            ring(aid, best)
            return
        state[aid] = _FREE
        for d in departments[aid]:
            free[d].add(aid)

    while ev.heap and ev.next_time() <= sc.end:
        t, _, kind, args = ev.pop()
        now = t
        result.events += 1
        if kind == _ARRIVE:
            c = args[0]
            arrived += 1
            waiting.add(c.id)
            lines[c.department].append(c.id)
            members = free.get(c.department)
            if members:
                ring(min(members, key=lambda a: (idle_since[a], a)), c.id)
        elif kind == _ABANDON or kind == _TIMEOUT:
            lid = args[0]
            if lid in waiting:
                waiting.discard(lid)
                out[lid].status, out[lid].ended = (ABANDONED if kind == _ABANDON else TIMED_OUT), now
            elif kind == _ABANDON and lid in ringing:
                aid = ringing.pop(lid)
                holds.release(aid, lid, now)
                out[lid].status, out[lid].ended = ABANDONED, now
                freed(aid, None)
        elif kind == _ANSWER:
            aid, lid = args
            if ringing.get(lid) == aid:
                del ringing[lid]
                state[aid] = _TALK
                o = out[lid]
                o.status, o.ended, o.agent = ANSWERED, now, aid
                ev.push(now + o.call.talk, _HANGUP, aid, lid)
        elif kind == _HANGUP:
            aid, lid = args
            holds.release(aid, lid, now)
            if aid in off_shift or wrapup <= 0:
                freed(aid, now)
            else:
                state[aid] = _WRAP
                ev.push(now + wrapup, _WRAPEND, aid)
        elif kind == _WRAPEND:
            if state[args[0]] == _WRAP:
                freed(args[0], now)
        elif kind == _LOGIN:
            on_duty += 1
            freed(args[0], now)
        elif kind == _LOGOUT:
            aid = args[0]
            off_shift.add(aid)
            if state[aid] == _FREE:
                for d in departments[aid]:
                    free[d].discard(aid)
            if state[aid] in (_FREE, _WRAP):
                state[aid] = _OFF
                on_duty -= 1
        if progress is not None and now >= next_report:
            progress("fifo", now, arrived, len(waiting), on_duty)
            next_report += 3600.0
    return _finish(result, sc, waiting, ringing, wall0)
