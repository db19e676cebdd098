"""The command centre's key figures, computed from the event log (reports.events). Pure.

Written definitions (the same text, with the thresholds filled in, is in DEFINITIONS for the
web page; `describe(Definitions(...))` gives it for other thresholds):

- Rows: one per interval (15 min, 30 min, hour or day, on the wall clock of `tz`) and group
  (any of department, language, agent, queue). A call belongs to the interval in which it
  reached the centre (call_start) and all its figures count there, even if it is answered or
  ends in the next one. Its department, language and queue are the last ones its events name;
  its agent is the agent who answered it (calls no agent answered have agent None).
- calls: calls that reached the centre (a log that begins mid-call dates such a call by its
  first event).
- ivr_entered: calls that took at least one menu step or ended in the menu (fallback calls,
  sent straight to a queue while the engine was unreachable, did not enter it).
- ivr_contained: calls that ended in the menu with disposition completed_in_ivr and did not book
  a callback (a callback still needs an agent, so it is not self-service).
  ivr_containment = ivr_contained / ivr_entered.
- offered: calls that joined an agent queue and left it: answered + abandoned + short_abandons
  + callbacks requested from the queue + timed_out. Calls still waiting when the log ends are
  in_queue and in no rate yet.
- answered: offered calls an agent answered. A call answered without a recorded queue join
  (only a trace that lost the join) counts with zero wait.
- answered_within_sl: answered calls whose wait (queue join to agent answer) was at most the
  service-level threshold (15 s; "within" includes 15.0 s, as Asterisk's servicelevel does).
- service_level = answered_within_sl / (offered - short_abandons). Callback requests and
  timeouts stay in the denominator: those callers were not answered within the threshold.
- abandoned: offered calls whose caller hung up while waiting after at least the
  short-abandon threshold (5 s). short_abandons: those who hung up sooner. Short abandons are
  counted apart and left out of both rates: a caller gone within 5 s is almost always a
  misdial or an immediate change of mind that no staffing could have answered, and counting
  it would make the rates move with noise, not with service.
- abandon_rate = abandoned / (offered - short_abandons).
- timed_out: offered calls the centre took out of the queue after the maximum wait. They are
  not abandons (the caller did not give up) and count against the service level.
- callbacks_requested: calls in which the caller asked to be called back, in the menu or from
  the queue. A request from the queue is NOT an abandon, even if the caller then hangs up.
- callbacks_completed: callbacks made and answered by the citizen, counted in the interval the
  callback was made (callback_done), grouped by its own department/language/agent.
- asa (average speed of answer): mean wait of answered calls, in seconds.
- aht (average handle time): mean talk time (answer to call end) plus wrap-up time (the agent's
  wrapup state after the call) of answered calls that have ended, in seconds.
- Agent time (only on rows grouped by nothing or by agent alone: an agent serves several
  departments and languages and their logged-in time cannot be divided among them):
  agent_logged_in_s = busy + paused + available seconds; agent_busy_s: on a call or in
  wrap-up; agent_paused_s: paused and not on a call; agents_logged_in = agent_logged_in_s /
  interval length (average agents logged in); occupancy = busy / (busy + available), i.e.
  logged-in time without pauses: breaks are shrinkage, not idle capacity, and this is the
  occupancy Erlang C's traffic/agents predicts. Before an agent's first agent_state event its
  state is unknown and not counted; time on a call always counts as busy.
- A figure whose denominator is zero is None (shown empty), never 0.
- Missed-call callbacks (漏接电话回拨, `missed_callbacks(events)`, beside the rows): missed =
  abandoned calls the ACD put on the callback list (missed_listed); called_back_30m = those a
  callback reached (callback_done) within 30 minutes of the listing; got_through = those ended
  because the citizen got through on a later call (callback_cancelled); rate_30m =
  called_back_30m / (missed - got_through): a citizen who reached an agent by themselves needed
  no call. An abandoned call stays abandoned in the figures above when its callback connects.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from core import events as ev

GROUP_KEYS = ("department", "language", "agent", "queue")
INTERVALS = (900, 1800, 3600, 86400)  # must divide a day so that intervals start at midnight
_IN_IVR = {"abandoned_in_ivr", "completed_in_ivr"}


@dataclass(frozen=True)
class Definitions:
    """The thresholds the figures depend on; see the module docstring for what they mean."""
    service_level_s: float = 15.0  # answered within this many seconds of waiting: in service
    short_abandon_s: float = 5.0   # hung up sooner than this: a short abandon, not in the rates


def describe(d: Definitions = Definitions()) -> dict[str, str]:
    """Figure name -> one-sentence definition, with the thresholds filled in."""
    sl, short = f"{d.service_level_s:g} s", f"{d.short_abandon_s:g} s"
    return {
        "calls": "Calls that reached the centre in the interval.",
        "ivr_entered": "Calls that took at least one menu step or ended in the menu.",
        "ivr_contained": "Calls that ended in the menu as self-service (completed_in_ivr) without booking a callback.",
        "ivr_containment": "ivr_contained divided by ivr_entered.",
        "offered": "Calls that joined an agent queue and left it (answered, abandoned, short abandons, callbacks from the queue, timeouts).",
        "answered": "Offered calls an agent answered.",
        "answered_within_sl": f"Answered calls that waited at most {sl} in the queue.",
        "service_level": f"Calls answered within {sl} divided by offered calls minus short abandons.",
        "abandoned": f"Callers who hung up while waiting in the queue after {short} or more.",
        "short_abandons": f"Callers who hung up within {short} of joining the queue; left out of both rates as misdials and changes of mind.",
        "abandon_rate": "Abandoned calls divided by offered calls minus short abandons.",
        "timed_out": "Offered calls the centre took out of the queue after the maximum wait; not abandons.",
        "in_queue": "Calls still waiting when the data ends; in no rate yet.",
        "callbacks_requested": "Calls in which the caller asked to be called back; never counted as abandons.",
        "callbacks_completed": "Callbacks made and answered by the citizen in the interval.",
        "asa": "Average speed of answer: mean seconds answered calls waited in the queue.",
        "aht": "Average handle time: mean seconds of talk plus wrap-up of answered calls that have ended.",
        "agent_logged_in_s": "Seconds agents were logged in (busy, paused or available).",
        "agent_busy_s": "Seconds agents were on a call or in wrap-up.",
        "agent_paused_s": "Seconds agents were paused and not on a call.",
        "agents_logged_in": "Average number of agents logged in over the interval.",
        "occupancy": "Busy time divided by busy plus available time (logged-in time without pauses).",
    }


DEFINITIONS = describe()


@dataclass
class KpiRow:
    interval_start: datetime  # aware, in the report's time zone
    interval_s: int
    group: dict[str, str | None]
    calls: int = 0
    ivr_entered: int = 0
    ivr_contained: int = 0
    ivr_containment: float | None = None
    offered: int = 0
    answered: int = 0
    answered_within_sl: int = 0
    service_level: float | None = None
    abandoned: int = 0
    short_abandons: int = 0
    abandon_rate: float | None = None
    timed_out: int = 0
    in_queue: int = 0
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    asa: float | None = None
    aht: float | None = None
    agent_logged_in_s: float | None = None
    agent_busy_s: float | None = None
    agent_paused_s: float | None = None
    agents_logged_in: float | None = None
    occupancy: float | None = None
    # Sums behind the means; not figures themselves, so not exported.
    _wait_s: float = field(default=0.0, repr=False)
    _handle_s: float = field(default=0.0, repr=False)
    _handled: int = field(default=0, repr=False)
    _available_s: float = field(default=0.0, repr=False)


def figures(row_type=KpiRow) -> list[str]:
    """The exported figure names of a row, in order (no private sums, no keys)."""
    return [f.name for f in fields(row_type)
            if not f.name.startswith("_") and f.name not in ("interval_start", "interval_s", "group")]


class _Clock:
    """Interval boundaries on the wall clock of a time zone (a day starts at local midnight)."""

    def __init__(self, interval: int, tz: str):
        if interval not in INTERVALS:
            raise ValueError(f"interval must be one of {INTERVALS} seconds")
        self.interval, self.tz = interval, ZoneInfo(tz)

    def start(self, ts: float) -> datetime:
        dt = datetime.fromtimestamp(ts, self.tz)
        midnight = dt.replace(hour=0, minute=0, second=0, microsecond=0)
        k = math.floor((dt - midnight).total_seconds() / self.interval)  # same tzinfo: wall seconds
        return midnight + timedelta(seconds=k * self.interval)

    def split(self, a: float, b: float):
        """(interval start, seconds) pieces of the time span [a, b)."""
        while a < b:
            s = self.start(a)
            nxt = max((s + timedelta(seconds=self.interval)).timestamp(), a + 1e-6)  # always advance
            e = min(b, nxt)
            yield s, e - a
            a = e


@dataclass
class _Call:
    first_ts: float
    arrived: float | None = None
    dims: dict = field(default_factory=dict)
    ivr: bool = False
    joined: float | None = None
    connected: float | None = None
    abandon_at: float | None = None
    timeout: bool = False
    callback: bool = False
    ended: float | None = None
    disposition: str | None = None
    wrap_s: float = 0.0


def _fold_calls(events: list[ev.Event]) -> dict[str, _Call]:
    calls: dict[str, _Call] = {}
    for e in events:
        if e.kind in (ev.AGENT_STATE, ev.CALLBACK_DONE) or not e.linkedid:
            continue
        c = calls.setdefault(e.linkedid, _Call(first_ts=e.ts))
        for k in ("department", "language", "queue"):
            if getattr(e, k) is not None:
                c.dims[k] = getattr(e, k)
        if e.kind == ev.CALL_START and c.arrived is None:
            c.arrived = e.ts
        elif e.kind == ev.IVR_STEP:
            c.ivr = True
        elif e.kind == ev.QUEUE_JOIN and c.joined is None:
            c.joined = e.ts
        elif e.kind == ev.AGENT_CONNECT and c.connected is None and c.abandon_at is None:
            # (a connect after an abandon is the missed call's callback: the call stays abandoned)
            c.connected, c.dims["agent"] = e.ts, e.agent
        elif e.kind == ev.QUEUE_ABANDON and c.abandon_at is None:
            c.abandon_at = e.ts
        elif e.kind == ev.QUEUE_TIMEOUT:
            c.timeout = True
        elif e.kind == ev.CALLBACK_REQUESTED:
            c.callback = True
        elif e.kind == ev.CALL_END and c.ended is None:
            c.ended, c.disposition = e.ts, e.data.get("disposition")
    return calls


def _agent_timelines(events, calls, until):
    """agent -> [(start, end, category)] with category busy | paused | available; adds each
    wrap-up's seconds to the call it wraps. One sorted sweep per agent: a month of log stays
    linear, not calls x states."""
    states = defaultdict(list)
    for e in events:
        if e.kind == ev.AGENT_STATE:
            states[e.agent].append(e)
    answered = defaultdict(list)
    for c in calls.values():
        if c.connected is not None and c.dims.get("agent"):
            answered[c.dims["agent"]].append(c)
    out = {}
    for agent in states.keys() | answered.keys():
        st = states.get(agent, [])
        mine = sorted(answered.get(agent, []), key=lambda c: c.connected)
        starts = [c.connected for c in mine]
        for i, s in enumerate(st):  # wrap-up belongs to the call it names, else the agent's last one
            if s.data["state"] == ev.WRAPUP:
                end = min(st[i + 1].ts if i + 1 < len(st) else until, until)
                target = calls.get(s.linkedid) if s.linkedid else None
                if target is None:
                    k = bisect_right(starts, s.ts)
                    target = mine[k - 1] if k else None
                if target is not None:
                    target.wrap_s += max(0.0, end - s.ts)
        marks = [(s.ts, "state", s.data["state"]) for s in st]
        for c in mine:
            marks += [(c.connected, "call", 1), (c.ended if c.ended is not None else until, "call", -1)]
        marks.sort(key=lambda m: m[0])
        spans, state, active, prev = [], None, 0, None
        for t, what, value in marks + [(until, "end", None)]:
            t = min(t, until)
            if prev is not None and t > prev:
                # on a call counts as busy whatever the state says; unknown/logged out is not counted
                cat = ("busy" if active > 0 or state == ev.WRAPUP else "paused" if state == ev.PAUSED
                       else "available" if state == ev.READY else None)
                if cat:
                    spans.append((prev, t, cat))
            if what == "state":
                state = value
            elif what == "call":
                active += value
            prev = t if prev is None else max(prev, t)
        out[agent] = spans
    return out


def compute(events: Iterable[ev.Event], *, group_by: tuple[str, ...] = ("department",),
            interval: int = 900, tz: str = "Asia/Shanghai", until: float | None = None,
            definitions: Definitions = Definitions()) -> list[KpiRow]:
    """KPI rows per interval and group, sorted by interval then group values.

    `until` is where the log is taken to end (open calls, wrap-ups and log-ins are counted up
    to it); by default the last event's time."""
    unknown = set(group_by) - set(GROUP_KEYS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}; choose from {GROUP_KEYS}")
    clock = _Clock(interval, tz)
    log = sorted(events, key=lambda e: e.ts)  # stable: equal times keep their written order
    if not log:
        return []
    until = max(e.ts for e in log) if until is None else until
    calls = _fold_calls(log)
    timelines = _agent_timelines(log, calls, until)
    rows: dict[tuple, KpiRow] = {}

    def row(start: datetime, dims: dict) -> KpiRow:
        g = tuple(dims.get(k) for k in group_by)
        key = (start.timestamp(), tuple("" if v is None else v for v in g))
        if key not in rows:
            rows[key] = KpiRow(start, interval, dict(zip(group_by, g)))
        return rows[key]

    for c in calls.values():
        count(row(clock.start(c.arrived if c.arrived is not None else c.first_ts), c.dims), c, definitions)

    for e in log:
        if e.kind == ev.CALLBACK_DONE:
            orig = calls[e.linkedid].dims if e.linkedid in calls else {}
            dims = {k: getattr(e, k) if getattr(e, k) is not None else orig.get(k) for k in GROUP_KEYS}
            row(clock.start(e.ts), dims).callbacks_completed += 1

    if set(group_by) <= {"agent"}:
        for agent, spans in timelines.items():
            for a, b, what in spans:
                for start, secs in clock.split(a, b):
                    r = row(start, {"agent": agent})
                    r.agent_logged_in_s = (r.agent_logged_in_s or 0.0) + secs
                    if what == "busy":
                        r.agent_busy_s = (r.agent_busy_s or 0.0) + secs
                    elif what == "paused":
                        r.agent_paused_s = (r.agent_paused_s or 0.0) + secs
                    else:
                        r._available_s += secs

    for r in rows.values():
        _finish(r)
    return [rows[k] for k in sorted(rows)]


def count(r: KpiRow, c, d: Definitions, sign: int = 1) -> None:
    """Add one call's part of the figures to a row; sign -1 takes it away again (the
    wallboard's running day, reports/today.py, recounts a call when a late event changes it).
    `c` has the fields of `_Call`."""
    r.calls += sign
    r.ivr_entered += sign * (c.ivr or c.disposition in _IN_IVR)
    r.ivr_contained += sign * (c.disposition == "completed_in_ivr" and not c.callback)
    r.callbacks_requested += sign * c.callback
    connected = c.connected
    if connected is not None:
        wait = connected - (c.joined if c.joined is not None else connected)
        r.offered += sign
        r.answered += sign
        r.answered_within_sl += sign * (wait <= d.service_level_s)
        r._wait_s += sign * wait
        if c.ended is not None:
            r._handled += sign
            r._handle_s += sign * ((c.ended - connected) + c.wrap_s)
    elif c.joined is None:
        return
    elif c.callback:
        r.offered += sign
    elif c.timeout or c.disposition == "queue_timeout":
        r.offered += sign
        r.timed_out += sign
    elif c.abandon_at is not None or c.ended is not None:
        r.offered += sign
        left = c.abandon_at if c.abandon_at is not None else c.ended
        if left - c.joined < d.short_abandon_s:
            r.short_abandons += sign
        else:
            r.abandoned += sign
    else:
        r.in_queue += sign


def finish(r: KpiRow) -> KpiRow:
    """The rates and means of a row from its counts (public: reports/today.py)."""
    _finish(r)
    return r


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _finish(r: KpiRow) -> None:
    base = r.offered - r.short_abandons
    r.service_level = _ratio(r.answered_within_sl, base)
    r.abandon_rate = _ratio(r.abandoned, base)
    r.ivr_containment = _ratio(r.ivr_contained, r.ivr_entered)
    r.asa = _ratio(r._wait_s, r.answered)
    r.aht = _ratio(r._handle_s, r._handled)
    if r.agent_logged_in_s is not None:
        r.agent_busy_s = r.agent_busy_s or 0.0
        r.agent_paused_s = r.agent_paused_s or 0.0
        r.agents_logged_in = r.agent_logged_in_s / r.interval_s
        r.occupancy = _ratio(r.agent_busy_s, r.agent_busy_s + r._available_s)


def missed_callbacks(events: Iterable[ev.Event], within_s: float = 1800.0) -> dict:
    """The share of missed calls called back within `within_s` (see the module's definitions)."""
    listed: dict[str, float] = {}
    reached: dict[str, float] = {}
    through: set[str] = set()
    for e in events:
        if e.kind == ev.MISSED_LISTED:
            listed.setdefault(e.linkedid, e.ts)
        elif e.kind == ev.CALLBACK_DONE and e.linkedid in listed:
            reached.setdefault(e.linkedid, e.ts)
        elif e.kind == ev.CALLBACK_CANCELLED and e.linkedid in listed:
            through.add(e.linkedid)
    soon = sum(1 for lid, ts in reached.items() if ts - listed[lid] <= within_s)
    due = len(listed) - len(through)
    return {"missed": len(listed), "called_back": len(reached), "called_back_30m": soon,
            "got_through": len(through), "rate_30m": round(soon / due, 4) if due else None}
