"""When callbacks may be dialled: daily spans in the centre's timezone ("08:00-21:00").
A callback whose turn comes outside them waits, keeping its place, until they open:
nobody is rung at midnight because they pressed 1 at 23:55."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hours.config import parse_spans
from hours.model import Spans
from hours.window import allowed_at

from core.errors import ConfigInvalid


def parse(text, where: str = "[acd] callback_hours") -> Spans:
    spans = parse_spans(text, where)
    if not spans:
        raise ConfigInvalid(f'{where} = {text!r}: give at least one span, e.g. "08:00-21:00" (or "24h")')
    return spans


def next_opening(now: float, spans: Spans | None, tz: str) -> float | None:
    """None when callbacks may be dialled at `now` (epoch seconds); else when they may."""
    if spans is None:
        return None
    at = datetime.fromtimestamp(now, UTC)
    allowed = allowed_at(at, spans, ZoneInfo(tz))
    return None if allowed == at else allowed.timestamp()
