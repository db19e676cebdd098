"""Fold a call's journal entries into one call record. Pure: no I/O, no clock."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from calls.journal import Entry
from core import contract as C
from core.events import (AGENT_CONNECT, CALL_END, CALL_START, CALLBACK_REQUESTED, IVR_STEP, QUEUE_ABANDON,
                         QUEUE_JOIN, QUEUE_TIMEOUT, Event)


class Disposition(StrEnum):
    ANSWERED = "answered"
    FALLBACK = "fallback"                  # answered by an agent while the engine was unreachable
    ABANDONED_IN_IVR = "abandoned_in_ivr"
    ABANDONED_IN_QUEUE = "abandoned_in_queue"
    QUEUE_TIMEOUT = "queue_timeout"        # the centre gave up after the maximum wait
    COMPLETED_IN_IVR = "completed_in_ivr"  # self-service, no agent needed
    VOICEMAIL = "voicemail"                # after hours: the caller was offered voicemail
    FAX = "fax"                            # a fax call (whole or partial)
    CALLBACK = "callback"                  # left the queue asking to be called back (not an abandon)
    CUT_BY_CRASH = "cut_by_crash"          # Asterisk died with the call up (calls/orphans.py closed it)


@dataclass
class CallRecord:
    linkedid: str
    node: str = ""
    caller: str = ""
    caller_name: str = ""
    dialed: str = ""
    language: str | None = None
    department: str | None = None
    ivr_path: list[dict] = field(default_factory=list)
    started_at: float = 0.0
    answered_at: float | None = None
    ended_at: float = 0.0
    wait_seconds: float | None = None
    agent: str | None = None
    talk_seconds: float | None = None
    queue: str | None = None
    recording: str | None = None
    disposition: Disposition = Disposition.ABANDONED_IN_IVR
    fallback: bool = False
    hangup_cause: int | None = None
    callback_requested: bool = False
    channel: str = ""
    voicemail: str | None = None   # recorded file name, when the caller reached voicemail
    due_at: float | None = None    # set by the intake from the business calendar (voicemail)
    fax: str | None = None         # received TIFF file name, when this was a fax call
    fax_status: str = ""           # Asterisk's FAXSTATUS (SUCCESS / FAILED / ...)
    fax_pages: int | None = None
    fax_error: str = ""
    trunk: str | None = None        # the carrier trunk the call came in on (or left through: callbacks)
    raw_caller: str | None = None   # the caller number exactly as the trunk presented it
    raw_dialed: str | None = None   # the dialled number as the trunk presented it (02112345, +86...)
    sip_call_id: str | None = None
    sip_response: str | None = None  # final SIP response: 200 answered; an outbound call's last attempt's
    transfers: list[dict] = field(default_factory=list)   # [{"to", "mode", "agent", "t"}] from the desk
    rating: int | None = None       # the citizen's key after the call (一次一评): 1 satisfied, 2 basically, 3 not


_AGENT_CHAN = re.compile(r"^(?:PJSIP|SIP|IAX2)/([^-/]+)-[0-9a-f]+$|^Local/([^@]+)@")


def agent_of(channel: str) -> str:
    """'PJSIP/agent1002-0000001a' -> 'agent1002'; 'Local/agent1@agents-0001;1' -> 'agent1'."""
    m = _AGENT_CHAN.match(channel)
    return (m.group(1) or m.group(2)) if m else channel


def parse_path(text: str, started_at: float) -> list[dict]:
    """The IVR path (contract.V_PATH) 'node:input@epoch,...' -> [{'node', 'input', 't'}] with t relative to the start."""
    steps = []
    for item in filter(None, text.split(",")):
        node, _, rest = item.partition(":")
        digits, sep, at = rest.rpartition("@")
        try:
            t = round(float(at) - started_at, 3) if sep else None
        except ValueError:
            t = None
        if t is None:
            digits = rest
        steps.append({"node": node, "input": digits, "t": t})
    return steps


def fold(linkedid: str, entries: list[Entry]) -> CallRecord:
    r = CallRecord(linkedid=linkedid)
    qjoin = None
    qstatus = None
    cb_in_queue = False
    path_text = ""
    action = ""
    cut = False
    for e in entries:
        f = e.fields
        if e.kind == C.J_START and not r.started_at:
            r.started_at = e.ts
            r.caller, r.caller_name = f.get("caller", ""), f.get("name", "")
            r.dialed, r.node = f.get("dialed", ""), f.get("node", "")
            r.recording = f.get("rec") or None
            r.channel = f.get("chan", "")
        elif e.kind == C.J_TRUNK and r.trunk is None:
            r.trunk = f.get("trunk") or None
            r.raw_caller, r.raw_dialed = f.get("rawcaller", ""), f.get("rawdialed", "")
            r.sip_call_id = f.get("callid") or None
        elif e.kind == C.J_TRUNK_OUT:   # a callback's citizen leg: the trunk that answered, else the last tried
            if r.sip_response != "200":
                r.trunk = f.get("trunk") or r.trunk
                r.sip_response = f.get("sip") or ("200" if f.get("status") == "ANSWER" else r.sip_response)
        elif e.kind == C.J_FALLBACK:
            r.fallback = True
        elif e.kind == C.J_QJOIN and qjoin is None:
            qjoin, r.queue = e.ts, f.get("queue") or None
        elif e.kind == C.J_CONNECT and r.answered_at is None:
            r.answered_at, r.agent = e.ts, agent_of(f.get("agent", ""))
        elif e.kind == C.J_FAX_START:
            r.fax = f.get("file") or None
        elif e.kind == C.J_VM_START:
            r.voicemail = f.get("file") or None
        elif e.kind == C.J_CBREQ:
            cb_in_queue = True
        elif e.kind == C.J_QLEAVE:
            qstatus = f.get("status")
        elif e.kind == C.J_TRANSFER:
            r.transfers.append({"to": f.get("to", ""), "mode": f.get("mode", ""), "agent": f.get("agent") or None,
                                "t": e.ts})
        elif e.kind == C.J_RATING:
            key = f.get("key", "")
            r.rating = int(key) if key in ("1", "2", "3") else r.rating
        elif e.kind == C.J_END:
            r.ended_at = e.ts
            r.language = f.get("lang") or None
            r.department = f.get("dept") or None
            path_text = f.get("path", "")
            r.fallback = r.fallback or f.get("fallback") == "1"
            r.callback_requested = f.get("callback") == "1" or cb_in_queue
            r.fax_status, r.fax_error = f.get("faxstatus", ""), f.get("faxerror", "")
            r.fax_pages = int(f["faxpages"]) if f.get("faxpages", "").isdigit() else None
            action = f.get("action", "")
            cause = f.get("cause", "")
            r.hangup_cause = int(cause) if cause.isdigit() else None
            cut = bool(f.get("cut"))
    if r.trunk is not None and r.sip_response is None and r.channel:
        r.sip_response = "200"   # a trunk call reaches the journal's start line only once answered
    if not r.started_at:  # hung up before the first line: the end line still dates the call
        r.started_at = r.ended_at
    if r.department is None and r.queue and r.queue.startswith("hl-") and len(r.queue) > 3:
        r.department = r.queue[3:]   # a cut call has no end line of Asterisk's: its queue tells
    r.ivr_path = parse_path(path_text, r.started_at)
    for x in r.transfers:   # seconds from the start of the call, like the IVR path
        x["t"] = round(x["t"] - r.started_at, 3)
    if cut:   # whatever it was doing, the call ended because Asterisk did; the times stay
        r.disposition = Disposition.CUT_BY_CRASH
        if r.answered_at is not None:
            r.talk_seconds = round(max(0.0, r.ended_at - r.answered_at), 3)
    elif r.answered_at is not None:
        r.disposition = Disposition.FALLBACK if r.fallback else Disposition.ANSWERED
        r.talk_seconds = round(max(0.0, r.ended_at - r.answered_at), 3)
    elif r.fax is not None:
        r.disposition = Disposition.FAX
    elif r.voicemail is not None:
        r.disposition = Disposition.VOICEMAIL
    elif cb_in_queue:
        r.disposition = Disposition.CALLBACK
    elif qjoin is not None:
        r.disposition = Disposition.QUEUE_TIMEOUT if qstatus == "TIMEOUT" else Disposition.ABANDONED_IN_QUEUE
    elif action == "hangup" or r.callback_requested:
        r.disposition = Disposition.COMPLETED_IN_IVR  # self-service or callback booked: no agent needed
    else:
        r.disposition = Disposition.ABANDONED_IN_IVR
    if qjoin is not None:
        r.wait_seconds = round(max(0.0, (r.answered_at or r.ended_at) - qjoin), 3)
    return r


def record_events(rec: CallRecord) -> list[Event]:
    """The events a finished record implies, in time order.

    A record knows less than the live log: no ring attempts, completed callbacks or agent
    states, and a callback request is placed at the end of the call; the queue join is reconstructed as (answered_at or ended_at) - wait_seconds, which is exactly
    how the fold computed wait_seconds."""
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
