"""Fold a call's journal entries into one call record. Pure: no I/O, no clock."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from .journal import Entry


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


_AGENT_CHAN = re.compile(r"^(?:PJSIP|SIP|IAX2)/([^-/]+)-[0-9a-f]+$|^Local/([^@]+)@")


def agent_of(channel: str) -> str:
    """'PJSIP/agent1002-0000001a' -> 'agent1002'; 'Local/agent1@agents-0001;1' -> 'agent1'."""
    m = _AGENT_CHAN.match(channel)
    return (m.group(1) or m.group(2)) if m else channel


def parse_path(text: str, started_at: float) -> list[dict]:
    """HL_PATH 'node:input@epoch,...' -> [{'node', 'input', 't'}] with t relative to the start."""
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
    for e in entries:
        f = e.fields
        if e.kind == "start" and not r.started_at:
            r.started_at = e.ts
            r.caller, r.caller_name = f.get("caller", ""), f.get("name", "")
            r.dialed, r.node = f.get("dialed", ""), f.get("node", "")
            r.recording = f.get("rec") or None
            r.channel = f.get("chan", "")
        elif e.kind == "fallback":
            r.fallback = True
        elif e.kind == "qjoin" and qjoin is None:
            qjoin, r.queue = e.ts, f.get("queue") or None
        elif e.kind == "connect" and r.answered_at is None:
            r.answered_at, r.agent = e.ts, agent_of(f.get("agent", ""))
        elif e.kind == "fax_start":
            r.fax = f.get("file") or None
        elif e.kind == "vm_start":
            r.voicemail = f.get("file") or None
        elif e.kind == "cbreq":
            cb_in_queue = True
        elif e.kind == "qleave":
            qstatus = f.get("status")
        elif e.kind == "end":
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
    if not r.started_at:  # hung up before the first line: the end line still dates the call
        r.started_at = r.ended_at
    r.ivr_path = parse_path(path_text, r.started_at)
    if r.answered_at is not None:
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
