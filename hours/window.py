"""Daily windows in the centre's timezone ("09:00-20:00"): when citizens may be called
(satisfaction surveys, callbacks). Spans come from hours.config.parse_spans."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hours.model import Spans


def _start_of(day: date, minute: int, tz: ZoneInfo) -> datetime:
    return (datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=minute)).astimezone(UTC)


def _minute(local: datetime) -> float:
    return local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60


def in_hours(at: datetime, spans: Spans, tz: ZoneInfo) -> bool:
    minute = _minute(at.astimezone(tz))
    return any(s.start <= minute < s.end for s in spans)


def allowed_at(at: datetime, spans: Spans, tz: ZoneInfo) -> datetime:
    """`at` itself when citizens may be called then, else the next moment they may."""
    if in_hours(at, spans, tz):
        return at
    local = at.astimezone(tz)
    minute = _minute(local)
    for span in spans:   # sorted by the loader
        if minute < span.start:
            return _start_of(local.date(), span.start, tz)
    return _start_of(local.date() + timedelta(days=1), spans[0].start, tz)
