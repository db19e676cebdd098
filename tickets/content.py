"""The work order's content: what the citizen wants, where, who to call back. Pure: the
rules of each field, the masking for departments, the diff an edit writes to history.

Fields (all optional; text is stripped, "" clears a field):

- subject (1-200 chars), description (the citizen's request in their words, up to 20000,
  line breaks kept), address (up to 500), district and street (up to 64 each),
  contact_name (up to 64), callback_number (digits, optional leading +, 3-20),
  confidential (true/false: the citizen's identity hidden from departments),
  urgency (emergency | urgent | normal), channel (phone | voicemail | fax).

Text is kept verbatim (after stripping): `<script>` stays `<script>`; the pages show it as
text. A NUL or other control character (but line breaks and tabs in the description) is
refused: no database keeps it, and nobody typed it.
"""
from __future__ import annotations

import re
from typing import Any

from core.errors import BadRequest
from core.numbers import CALLABLE, mask_number
from core.text import index

URGENCIES = ("emergency", "urgent", "normal")
CHANNELS = ("phone", "voicemail", "fax")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f]")


class FieldInvalid(BadRequest):
    """One field of a work order is wrong; `field` names it."""
    id = "invalid-field"


def _text(limit: int, multiline: bool = False):
    def check(name: str, v: Any) -> str | None:
        if v is None:
            return None
        if not isinstance(v, str):
            raise FieldInvalid(f"{name} must be text", field=name)
        v = v.strip()
        if len(v) > limit:
            raise FieldInvalid(f"{name} is longer than {limit} characters", field=name)
        if (_CONTROL if multiline else _CONTROL_LINE).search(v):
            raise FieldInvalid(f"{name} contains a control character", field=name)
        return v or None
    return check


def _number(name: str, v: Any) -> str | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if not isinstance(v, str) or not CALLABLE.fullmatch(v.strip().replace(" ", "").replace("-", "")):
        raise FieldInvalid(f"{name} must be a phone number: digits, an optional leading +, 3-20 long", field=name)
    return v.strip().replace(" ", "").replace("-", "")


def _flag(name: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise FieldInvalid(f"{name} must be true or false", field=name)
    return v


def _one_of(values: tuple[str, ...]):
    def check(name: str, v: Any) -> str:
        if v not in values:
            raise FieldInvalid(f"{name} must be one of {', '.join(values)}", field=name)
        return v
    return check


FIELDS = {
    "subject": _text(200), "description": _text(20000, multiline=True), "address": _text(500),
    "district": _text(64), "street": _text(64), "contact_name": _text(64), "callback_number": _number,
    "confidential": _flag, "urgency": _one_of(URGENCIES), "channel": _one_of(CHANNELS),
}
DEFAULTS = {"confidential": False, "urgency": "normal", "channel": "phone"}


def clean(body: dict, allowed: set[str] | None = None) -> dict:
    """The fields of `body` checked (FieldInvalid names the first bad one); unknown fields refused."""
    allowed = set(FIELDS) if allowed is None else allowed
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise FieldInvalid(f"unknown field(s): {', '.join(unknown)} (fields: {', '.join(sorted(allowed))})",
                           field=unknown[0])
    out = {}
    for name, value in body.items():
        if value is None and name in DEFAULTS:
            value = DEFAULTS[name]
        out[name] = FIELDS[name](name, value)
    return out


def changes(before: dict, after: dict) -> dict:
    """{field: {"from", "to"}} for the fields `after` changes."""
    return {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}


def search_index(subject: str | None, description: str | None, address: str | None) -> str:
    return index(subject, description, address)


def mask_name(name: str | None) -> str | None:
    """张三丰 -> 张**: enough to greet, not to identify."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def masked(ticket: dict) -> dict:
    """What a department (or an auditor) sees of a confidential ticket's citizen."""
    if not ticket.get("confidential"):
        return ticket
    out = dict(ticket)
    out["contact_name"] = mask_name(ticket.get("contact_name"))
    if ticket.get("callback_number"):
        out["callback_number"] = mask_number(ticket["callback_number"])
    out["citizen_masked"] = True
    return out
