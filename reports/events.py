"""The reporting event log: one immutable Event per thing that happened to a call or an agent.

The log is append-only; every figure in `reports.kpi` and every `queue_log` line is derived
from it, so a figure can always be traced back to the events that made it.

Kinds (data keys in brackets, all optional unless said):

- call_start          a call reached the centre (caller, dialed, node, fallback)
- ivr_step            a key, timeout or invalid input in the menu (node, input)
- queue_join          the call entered an agent queue; `queue` names it (position)
- agent_offer         an agent's phone started ringing for the call; `agent`
- agent_noanswer      that agent did not answer (ring_ms)
- agent_connect       an agent answered; `agent` (peer_uniqueid: the agent channel's uniqueid)
- queue_abandon       the caller hung up while waiting
- queue_timeout       the centre took the call out of the queue after the maximum wait
- callback_requested  the caller asked to be called back (key: the digit pressed in the queue)
- callback_done       the centre called the citizen back and reached them; `linkedid` is the
                      original call's, `agent` the one who called
- callback_failed     a callback attempt did not reach the citizen (attempt, status)
- supervisor          a supervisor listens, whispers or barges on the call (mode)
- call_end            the call ended (disposition: a calls.record.Disposition value, cause,
                      hangup_by: "caller" or "agent")
- agent_state         `agent` changed state (state: ready | paused | wrapup | logged_out,
                      reason: for paused; a wrapup event may carry the wrapped call's linkedid)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CALL_START = "call_start"
IVR_STEP = "ivr_step"
QUEUE_JOIN = "queue_join"
AGENT_OFFER = "agent_offer"
AGENT_NOANSWER = "agent_noanswer"
AGENT_CONNECT = "agent_connect"
QUEUE_ABANDON = "queue_abandon"
QUEUE_TIMEOUT = "queue_timeout"
CALLBACK_REQUESTED = "callback_requested"
CALLBACK_DONE = "callback_done"
CALLBACK_FAILED = "callback_failed"
CALL_END = "call_end"
SUPERVISOR = "supervisor"
AGENT_STATE = "agent_state"
KINDS = frozenset({CALL_START, IVR_STEP, QUEUE_JOIN, AGENT_OFFER, AGENT_NOANSWER, AGENT_CONNECT,
                   QUEUE_ABANDON, QUEUE_TIMEOUT, CALLBACK_REQUESTED, CALLBACK_DONE, CALLBACK_FAILED, CALL_END, SUPERVISOR,
                   AGENT_STATE})

# logged live by the ACD for the calls it handled; a stored record adds the rest
LIVE_KINDS = frozenset({QUEUE_JOIN, AGENT_CONNECT, QUEUE_ABANDON, QUEUE_TIMEOUT, CALLBACK_REQUESTED})

READY, PAUSED, WRAPUP, LOGGED_OUT = "ready", "paused", "wrapup", "logged_out"
AGENT_STATES = frozenset({READY, PAUSED, WRAPUP, LOGGED_OUT})


@dataclass(frozen=True)
class Event:
    ts: float
    kind: str
    linkedid: str = ""
    queue: str | None = None
    department: str | None = None
    language: str | None = None
    agent: str | None = None
    # Read-only by convention; excluded from the hash so events stay hashable.
    data: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Refuse malformed events when they are written, not when a report reads them.
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        if self.kind == AGENT_STATE and (not self.agent or self.data.get("state") not in AGENT_STATES):
            raise ValueError("agent_state needs an agent and data['state'] in " + ", ".join(sorted(AGENT_STATES)))
        object.__setattr__(self, "data", dict(self.data))  # a private copy: the caller's dict may change

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the append-only log."""
        return {"ts": self.ts, "kind": self.kind, "linkedid": self.linkedid, "queue": self.queue,
                "department": self.department, "language": self.language, "agent": self.agent,
                "data": dict(self.data)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        return cls(ts=float(d["ts"]), kind=d["kind"], linkedid=d.get("linkedid", ""),
                   queue=d.get("queue"), department=d.get("department"),
                   language=d.get("language"), agent=d.get("agent"), data=d.get("data") or {})


def from_call_record(rec) -> list[Event]:
    """The events a finished calls.record.CallRecord implies, in time order.

    A record knows less than the live log: no ring attempts, completed callbacks or agent
    states, and a callback request is placed at the end of the call; the queue join is reconstructed as (answered_at or ended_at) - wait_seconds, which is exactly
    how the fold computed wait_seconds."""
    from calls.record import Disposition  # local: keep this module importable on its own

    disp = Disposition(rec.disposition)
    common = {"linkedid": rec.linkedid, "department": rec.department, "language": rec.language}
    out = [Event(rec.started_at, CALL_START, **common,
                 data={"caller": rec.caller, "dialed": rec.dialed, "node": rec.node,
                       "fallback": rec.fallback})]
    for step in rec.ivr_path:
        t = step.get("t")
        # A step without a time (a torn path) is placed at the start rather than dropped.
        out.append(Event(rec.started_at + (t or 0.0), IVR_STEP, **common,
                         data={"node": step.get("node"), "input": step.get("input")}))
    if rec.wait_seconds is not None:
        left = rec.answered_at if rec.answered_at is not None else rec.ended_at
        out.append(Event(left - rec.wait_seconds, QUEUE_JOIN, queue=rec.queue, **common))
    if rec.answered_at is not None:
        out.append(Event(rec.answered_at, AGENT_CONNECT, queue=rec.queue, agent=rec.agent, **common))
    elif disp == Disposition.ABANDONED_IN_QUEUE:
        out.append(Event(rec.ended_at, QUEUE_ABANDON, queue=rec.queue, **common))
    elif disp == Disposition.QUEUE_TIMEOUT:
        out.append(Event(rec.ended_at, QUEUE_TIMEOUT, queue=rec.queue, **common))
    if getattr(rec, "callback_requested", False):  # booked in the menu; the record has no time
        out.append(Event(rec.ended_at, CALLBACK_REQUESTED, queue=rec.queue, **common))
    out.append(Event(rec.ended_at, CALL_END, queue=rec.queue, agent=rec.agent, **common,
                     data={"disposition": disp.value, "cause": rec.hangup_cause}))
    out.sort(key=lambda e: e.ts)  # stable: equal times keep their causal order
    return out
