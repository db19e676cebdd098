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
- transfer            the agent put the citizen through to a department's line (to, mode:
                      blind | conference)
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
TRANSFER = "transfer"
# missed-call callbacks (acd/, issue #16): an abandoned call put on the callback list (data: waited,
# where: queue | menu), and a listed callback ended without a call (data: reason: got through |
# off the list)
MISSED_LISTED = "missed_listed"
CALLBACK_CANCELLED = "callback_cancelled"
# carrier trunks (trunks/service.py): a call refused at the trunk (data: trunk, reason channels |
# rate | number, source), a call from an address no trunk accepts (source), an outbound attempt
# (number, trunk, attempt, status, cause, sip) and a number the outbound policy refused (reason)
TRUNK_REFUSED = "trunk_refused"
TRUNK_UNKNOWN_SOURCE = "trunk_unknown_source"
OUTBOUND_ATTEMPT = "outbound_attempt"
OUTBOUND_REFUSED = "outbound_refused"
KINDS = frozenset({MISSED_LISTED, CALLBACK_CANCELLED, TRANSFER, CALL_START, IVR_STEP, QUEUE_JOIN, AGENT_OFFER, AGENT_NOANSWER, AGENT_CONNECT,
                   QUEUE_ABANDON, QUEUE_TIMEOUT, CALLBACK_REQUESTED, CALLBACK_DONE, CALLBACK_FAILED, CALL_END, SUPERVISOR,
                   AGENT_STATE, TRUNK_REFUSED, TRUNK_UNKNOWN_SOURCE, OUTBOUND_ATTEMPT, OUTBOUND_REFUSED})

# logged live by the ACD for the calls it handled; a stored record adds the rest
LIVE_KINDS = frozenset({QUEUE_JOIN, AGENT_CONNECT, QUEUE_ABANDON, QUEUE_TIMEOUT, CALLBACK_REQUESTED})

READY, PAUSED, WRAPUP, LOGGED_OUT = "ready", "paused", "wrapup", "logged_out"
AGENT_STATES = frozenset({READY, PAUSED, WRAPUP, LOGGED_OUT})


@dataclass(frozen=True, slots=True)   # slots: a day of events is held in memory by the wallboard
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
