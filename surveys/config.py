"""The centre file's [survey] table -> checked settings of the automatic satisfaction survey.

    [survey]
    enabled = true               # false: no survey is scheduled by itself (the API still calls)
    delay_minutes = 30           # after the ticket is answered on the spot or the caller informed
    hours = "09:00-20:00"        # when citizens may be called, centre timezone ([hours] timezone)
    max_attempts = 3             # calls per survey; then the ticket joins GET /api/v1/followups
    retry_minutes = 120          # between attempts (pushed into the allowed hours)
    call_timeout_seconds = 120   # a placed call with no key by then has ended without one
    poll_seconds = 5             # how often due surveys are looked for

Every error is ConfigInvalid naming the key, like [acd] (acd/config.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigInvalid
from hours.config import parse_spans
from hours.model import Span, Spans


@dataclass(frozen=True)
class SurveyConfig:
    enabled: bool = True
    delay_minutes: int = 30
    hours: Spans = (Span(9 * 60, 20 * 60),)
    max_attempts: int = 3
    retry_minutes: int = 120
    call_timeout_seconds: int = 120
    poll_seconds: float = 5.0


# key -> (type, lowest, highest)
_NUMBERS = {"delay_minutes": (int, 0, 7 * 24 * 60), "max_attempts": (int, 1, 10),
            "retry_minutes": (int, 1, 7 * 24 * 60), "call_timeout_seconds": (int, 30, 900),
            "poll_seconds": (float, 0.1, 300)}


def load(table: dict | None) -> SurveyConfig:
    """Raises ConfigInvalid naming the bad key."""
    values: dict = {}
    for key, value in dict(table or {}).items():
        where = f"[survey] {key}"
        if key in _NUMBERS:
            kind, lo, hi = _NUMBERS[key]
            # TOML booleans are ints to Python: `max_attempts = true` must not read as 1
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ConfigInvalid(f"{where} = {value!r}: must be a number from {lo} to {hi}")
            if kind is int and value != int(value):
                raise ConfigInvalid(f"{where} = {value!r}: must be a whole number")
            values[key] = kind(value)
        elif key == "enabled":
            if not isinstance(value, bool):
                raise ConfigInvalid(f"{where} = {value!r}: must be true or false")
            values[key] = value
        elif key == "hours":
            spans = parse_spans(value, where)
            if not spans:
                raise ConfigInvalid(f"{where} = {value!r}: no hours left to call in "
                                    "(set enabled = false to stop surveys)")
            values[key] = spans
        else:
            raise ConfigInvalid(f"[survey]: unknown key {key!r} (known: enabled, hours, "
                                f"{', '.join(sorted(_NUMBERS))})")
    return SurveyConfig(**values)
