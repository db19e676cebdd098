"""Asterisk queue_log lines from the event log, so reporting tools written for Asterisk's
queue_log can read the hotline's calls (merged over nodes, rebuilt after the fact). Pure.

One line per queue event, as app_queue writes it (Asterisk 22, log_membername_as_agent=yes):

    epoch|callid|queuename|agent|EVENT|data1|data2|...

    ENTERQUEUE       url|callerid|position            agent NONE
    CONNECT          holdtime|agent channel uniqueid|ringtime
    COMPLETECALLER   holdtime|calltime|origposition   (COMPLETEAGENT when the agent hung up)
    ABANDON          position|origposition|waittime   agent NONE
    EXITWITHTIMEOUT  position|origposition|waittime   agent NONE
    EXITWITHKEY      key|position|origposition|waittime  (a callback requested from the queue)
    RINGNOANSWER     ringtime in ms
    ADDMEMBER        "" or PAUSED                      callid NONE
    REMOVEMEMBER     ""                                callid NONE
    PAUSE / UNPAUSE  reason                            callid NONE

callid is the linkedid (the caller channel's uniqueid, as Asterisk uses); times are whole
seconds differences of whole-second clocks, as Asterisk's time(NULL) arithmetic gives.
Positions are derived from the log (first in, first out per queue) unless the join event
carries one. Calls that never joined a queue do not appear, as in Asterisk.

Every value is sanitised: '|' would split a field and CR/LF would start a forged line, so
both (and every other control character) become '_'. That is lossy on purpose; the call
record keeps the verbatim caller ID.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from core import events as ev

_UNSAFE = re.compile(r"[|\x00-\x1f\x7f]")


def sanitize(value) -> str:
    return _UNSAFE.sub("_", "" if value is None else str(value))


@dataclass
class _InQueue:
    queue: str
    joined: float
    opos: int
    agent: str | None = None
    connected: float | None = None
    waiting: bool = True


def lines(events: Iterable[ev.Event]) -> list[str]:
    out: list[str] = []
    callers: dict[str, str] = {}
    calls: dict[str, _InQueue] = {}
    waiting: dict[str, list[str]] = {}     # queue -> linkedids in join order
    offers: dict[tuple[str, str], float] = {}
    agent_state: dict[str, str] = {}

    def emit(ts, callid, queue, agent, event, *data):
        out.append("|".join([str(int(ts)), sanitize(callid), sanitize(queue), sanitize(agent), event,
                             *(sanitize(d) for d in data)]))

    def leave(lid: str) -> int:
        """The call's current position, and take it out of the waiting line."""
        c = calls[lid]
        line = waiting[c.queue]
        pos = line.index(lid) + 1
        line.remove(lid)
        c.waiting = False
        return pos

    def secs(a: float, b: float) -> int:
        return int(a) - int(b)

    for e in sorted(events, key=lambda e: e.ts):
        lid, c = e.linkedid, calls.get(e.linkedid)
        if e.kind == ev.CALL_START:
            callers[lid] = e.data.get("caller", "")
        elif e.kind == ev.QUEUE_JOIN and c is None:
            q = e.queue or "NONE"
            waiting.setdefault(q, []).append(lid)
            c = calls[lid] = _InQueue(q, e.ts, int(e.data.get("position") or len(waiting[q])))
            emit(e.ts, lid, q, "NONE", "ENTERQUEUE", "", callers.get(lid, ""), c.opos)
        elif e.kind == ev.AGENT_OFFER:
            offers[(lid, e.agent or "")] = e.ts
        elif e.kind == ev.AGENT_NOANSWER and c is not None:
            started = offers.pop((lid, e.agent or ""), None)
            ms = e.data.get("ring_ms")
            if ms is None:
                ms = round((e.ts - started) * 1000) if started is not None else 0
            emit(e.ts, lid, c.queue, e.agent, "RINGNOANSWER", int(ms))
        elif e.kind == ev.AGENT_CONNECT and c is not None and c.waiting:
            leave(lid)
            started = offers.pop((lid, e.agent or ""), None)
            c.agent, c.connected = e.agent, e.ts
            emit(e.ts, lid, c.queue, e.agent, "CONNECT", secs(e.ts, c.joined),
                 e.data.get("peer_uniqueid", ""), secs(e.ts, started) if started is not None else 0)
        elif e.kind in (ev.QUEUE_ABANDON, ev.QUEUE_TIMEOUT) and c is not None and c.waiting:
            name = "ABANDON" if e.kind == ev.QUEUE_ABANDON else "EXITWITHTIMEOUT"
            emit(e.ts, lid, c.queue, "NONE", name, leave(lid), c.opos, secs(e.ts, c.joined))
        elif e.kind == ev.CALLBACK_REQUESTED and c is not None and c.waiting:
            emit(e.ts, lid, c.queue, "NONE", "EXITWITHKEY", e.data.get("key", ""), leave(lid), c.opos,
                 secs(e.ts, c.joined))
        elif e.kind == ev.CALL_END:
            callers.pop(lid, None)
            if c is None:
                continue
            if c.connected is not None:
                name = "COMPLETEAGENT" if e.data.get("hangup_by") == "agent" else "COMPLETECALLER"
                emit(e.ts, lid, c.queue, c.agent, name, secs(c.connected, c.joined),
                     secs(e.ts, c.connected), c.opos)
            elif c.waiting:  # ended while waiting with no exit event: the caller hung up
                name = "EXITWITHTIMEOUT" if e.data.get("disposition") == "queue_timeout" else "ABANDON"
                emit(e.ts, lid, c.queue, "NONE", name, leave(lid), c.opos, secs(e.ts, c.joined))
            del calls[lid]
        elif e.kind == ev.AGENT_STATE:
            _member(emit, e, agent_state)
    return out


def _member(emit, e: ev.Event, last: dict[str, str]) -> None:
    """ADDMEMBER / REMOVEMEMBER / PAUSE / UNPAUSE for an agent's state change. Wrap-up has no
    queue_log event (Asterisk's wrapuptime is silent); the agent counts as unpaused in it."""
    q, new, old = e.queue or "NONE", e.data["state"], last.get(e.agent, ev.LOGGED_OUT)
    reason = e.data.get("reason", "")
    last[e.agent] = new
    if new == ev.LOGGED_OUT:
        if old != ev.LOGGED_OUT:
            emit(e.ts, "NONE", q, e.agent, "REMOVEMEMBER", "")
    elif old == ev.LOGGED_OUT:
        emit(e.ts, "NONE", q, e.agent, "ADDMEMBER", "PAUSED" if new == ev.PAUSED else "")
    elif new == ev.PAUSED:
        emit(e.ts, "NONE", q, e.agent, "PAUSE", reason)
    elif old == ev.PAUSED:
        emit(e.ts, "NONE", q, e.agent, "UNPAUSE", reason)


def format_queue_log(events: Iterable[ev.Event]) -> str:
    """The queue_log file text: one line per event, each ending in a newline."""
    return "".join(line + "\n" for line in lines(events))
