"""Load a Calendar from the `[hours]` table of the centre TOML file.

Every error is ConfigInvalid naming the field (`hours.departments.tax.weekdays`, ...), so a
typo fails `hotline hours check` instead of silently closing or opening a line.

    [hours]
    centre = "24/7"                 # or a table like a department; default 24/7
    timezone = "Asia/Shanghai"
    fallback = "weekdays"           # rule for years chinese-calendar has no data for
    local_years = [2027]            # years fully described by the overrides below
    [hours.departments.tax]
    weekdays = "09:00-12:00,13:30-17:30"   # every working day, make-up Saturdays included
    friday = "09:00-12:00"                 # optional per-weekday hours on working days
    restdays = ""                          # weekends and holidays; default closed
    [[hours.overrides]]
    date = 2026-12-31
    working = false
    name = "local closure"
    [[hours.closures]]
    start = "2026-06-01 00:00"
    end = "2026-06-01 06:00"
    reason = "system maintenance"
    departments = ["tax"]                  # optional; default everything
"""
from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ConfigInvalid

from hours.model import ALL_DAY, FALLBACK_RULES, ROUND_THE_CLOCK, WEEKDAYS, Calendar, Closure, Override, Span, \
    Spans, WeeklyHours

_SPAN = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]|24):([0-5][0-9])")
_DAY_KEYS = tuple(d.lower() for d in WEEKDAYS)
_HOURS_KEYS = {"weekdays", "restdays", *_DAY_KEYS}


def parse_spans(text, field: str) -> Spans:
    """Spans from "09:00-12:00,13:30-17:30"; "" or "closed" gives none, "24h" the whole day."""
    if not isinstance(text, str):
        raise ConfigInvalid(f"{field}: {text!r} must be a string like \"09:00-12:00,13:30-17:30\"")
    text = text.strip().lower()
    if text in ("", "closed"):
        return ()
    if text == "24h":
        return ALL_DAY
    spans = []
    for part in text.split(","):
        m = _SPAN.fullmatch(part.strip())
        if not m:
            raise ConfigInvalid(f"{field}: {part.strip()!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = map(int, m.groups())
        span = Span(h1 * 60 + m1, h2 * 60 + m2)
        if span.end > 1440 or span.start >= span.end:
            raise ConfigInvalid(f"{field}: {part.strip()!r} must end after it starts, by 24:00 "
                                "(split a night shift at midnight)")
        spans.append(span)
    spans.sort()
    for a, b in zip(spans, spans[1:]):
        if b.start < a.end:
            raise ConfigInvalid(f"{field}: {a} and {b} overlap")
    return tuple(spans)


def parse_hours(value, field: str) -> WeeklyHours:
    if value == "24/7":
        return ROUND_THE_CLOCK
    if not isinstance(value, dict):
        raise ConfigInvalid(f"{field}: must be \"24/7\" or a table with weekdays = \"HH:MM-HH:MM,...\"")
    unknown = set(value) - _HOURS_KEYS
    if unknown:
        raise ConfigInvalid(f"{field}: unknown key(s) {', '.join(sorted(unknown))} "
                            f"(known: {', '.join(sorted(_HOURS_KEYS))})")
    base = parse_spans(value.get("weekdays", ""), f"{field}.weekdays")
    working = tuple(parse_spans(value[k], f"{field}.{k}") if k in value else base for k in _DAY_KEYS)
    return WeeklyHours(working=working, rest=parse_spans(value.get("restdays", ""), f"{field}.restdays"))


def _date(value, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigInvalid(f"{field}: {value!r} is not a date YYYY-MM-DD") from None


def _datetime(value, field: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigInvalid(f"{field}: {value!r} is not a date and time \"YYYY-MM-DD HH:MM\"") from None


def _text(item: dict, key: str, field: str) -> str:
    v = item.get(key)
    if not isinstance(v, str) or not v.strip():
        raise ConfigInvalid(f"{field}.{key}: must be a non-empty string")
    return v.strip()


def _overrides(items, field: str) -> tuple[Override, ...]:
    out: dict[date, Override] = {}
    for i, item in enumerate(_list_of_tables(items, field)):
        f = f"{field}[{i}]"
        day = _date(item.get("date"), f"{f}.date")
        if not isinstance(item.get("working"), bool):
            raise ConfigInvalid(f"{f}.working: must be true or false")
        if day in out:  # two answers for one day: refuse rather than pick one
            raise ConfigInvalid(f"{f}.date: {day} is overridden twice")
        out[day] = Override(day, item["working"], _text(item, "name", f))
    return tuple(out.values())


def _closures(items, field: str, departments: set[str] | None) -> tuple[Closure, ...]:
    out = []
    for i, item in enumerate(_list_of_tables(items, field)):
        f = f"{field}[{i}]"
        start, end = _datetime(item.get("start"), f"{f}.start"), _datetime(item.get("end"), f"{f}.end")
        if (start.tzinfo is None) != (end.tzinfo is None):
            raise ConfigInvalid(f"{f}: start and end must both have a UTC offset or neither")
        if end <= start:
            raise ConfigInvalid(f"{f}.end: {end} is not after start {start}")
        deps = item.get("departments", [])
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise ConfigInvalid(f"{f}.departments: must be a list of department codes")
        _known(deps, departments, f"{f}.departments")
        out.append(Closure(start, end, _text(item, "reason", f), tuple(deps)))
    return tuple(out)


def _list_of_tables(items, field: str) -> list[dict]:
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        raise ConfigInvalid(f"{field}: must be an array of tables ([[{field}]])")
    return items


def _known(codes, departments: set[str] | None, field: str) -> None:
    if departments is not None:
        for code in codes:
            if code not in departments:
                raise ConfigInvalid(f"{field}: {code!r} is not a department of the centre")


def from_table(table: dict, departments: set[str] | None = None) -> Calendar:
    """`departments`: the centre's department codes, to refuse hours for unknown ones."""
    if not isinstance(table, dict):
        raise ConfigInvalid("hours: must be a table")
    known = {"centre", "departments", "overrides", "closures", "timezone", "fallback", "local_years"}
    unknown = set(table) - known
    if unknown:
        raise ConfigInvalid(f"hours: unknown key(s) {', '.join(sorted(unknown))}")
    tz = table.get("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigInvalid(f"hours.timezone: {tz!r} is not a known IANA timezone") from None
    fallback = table.get("fallback", "weekdays")
    if fallback not in FALLBACK_RULES:
        raise ConfigInvalid(f"hours.fallback: {fallback!r} is not one of {', '.join(FALLBACK_RULES)}")
    years = table.get("local_years", [])
    if not isinstance(years, list) or not all(type(y) is int for y in years):
        raise ConfigInvalid("hours.local_years: must be a list of years like [2027]")
    deps = table.get("departments", {})
    if not isinstance(deps, dict):
        raise ConfigInvalid("hours.departments: must be a table of [hours.departments.<code>]")
    _known(deps, departments, "hours.departments")
    return Calendar(
        centre=parse_hours(table.get("centre", "24/7"), "hours.centre"),
        departments={code: parse_hours(v, f"hours.departments.{code}") for code, v in deps.items()},
        overrides=_overrides(table.get("overrides", []), "hours.overrides"),
        closures=_closures(table.get("closures", []), "hours.closures", departments),
        timezone=tz, fallback=fallback, local_years=tuple(years))


def load_file(path: Path, departments: set[str] | None = None) -> Calendar:
    """The `[hours]` table of a centre file; a file without one gets the 24/7 default."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigInvalid(f"{path}: {e}") from e
    try:
        return from_table(data.get("hours", {}), departments)
    except ConfigInvalid as e:
        raise ConfigInvalid(f"{path}: {e}") from None
