"""Pure decisions over a Calendar: is a day a working day, is a line open at a moment.

Order of authority for a day: local override > chinese-calendar > explicit fallback rule.
Every answer carries a human-readable reason, so `hotline hours at` can show why a call
would be closed before it happens (FreePBX time conditions fail silently; ours must not).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar.constants import Holiday

from hours.model import WEEKDAYS, Calendar, Spans, WeeklyHours

_DEFAULT = Calendar()
_SEARCH_DAYS = 400  # next_open looks this far ahead: longer than any holiday or sane closure


@dataclass(frozen=True)
class Decision:
    open: bool
    reason: str
    department: str | None
    working_day: bool
    next_open: datetime | None  # None when open, or when nothing opens within _SEARCH_DAYS


def has_library_data(year: int) -> bool:
    """Ask chinese-calendar itself, so its own range rule decides (it raises for unknown years)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _holiday_label(name: str, words: str = "") -> str:
    # "National Day holiday (国庆节)": English for the logs, Chinese for the operator
    try:
        return f"{name}{words} ({Holiday(name).chinese})"
    except ValueError:  # a name newer than the enum: still say it in English
        return f"{name}{words}"


def is_working_day(day: date, cal: Calendar | None = None) -> tuple[bool, str]:
    cal = cal or _DEFAULT
    wd = WEEKDAYS[day.weekday()]
    o = cal.override(day)
    if o is not None:
        return o.working, f"local override: {o.name} ({'working day' if o.working else 'not a working day'})"
    ordinary = day.weekday() < 5
    if day.year in cal.local_years:
        return ordinary, f"{day.year} schedule from local overrides: ordinary {wd}"
    if not has_library_data(day.year):
        verdict = "a working day" if ordinary else "not a working day"
        return ordinary, f"no holiday data for {day.year}: fallback rule {cal.fallback} ({wd} is {verdict})"
    working = chinese_calendar.is_workday(day)
    _, name = chinese_calendar.get_holiday_detail(day)
    if working and not ordinary:
        # chinese-calendar names the holiday a weekend workday makes up for
        return True, f"make-up working day for {_holiday_label(name) if name else 'a holiday'}"
    if not working and name:
        return False, _holiday_label(name, " holiday")
    if working:
        return True, f"working day ({wd})"
    return False, f"weekend ({wd})"


def add_working_days(start: date, n: int, cal: Calendar | None = None) -> date:
    """The n-th working day after `start` (start itself not counted); n == 0 gives start.
    Holidays are skipped and make-up days count, as for ticket deadlines."""
    if n < 0:
        raise ValueError("n must be >= 0")
    day = start
    while n:
        day += timedelta(days=1)
        if is_working_day(day, cal)[0]:
            n -= 1
    return day


def coverage(today: date, cal: Calendar | None = None) -> list[str]:
    """Warnings for the current and next year when no holiday schedule is known."""
    cal = cal or _DEFAULT
    out = []
    for year in (today.year, today.year + 1):
        if year in cal.local_years or has_library_data(year):
            continue
        out.append(f"no statutory holiday data for {year} (chinese-calendar {_lib_range()}): "
                   f"fallback rule {cal.fallback} applies (Mon-Fri working, weekends not, no holidays); "
                   f"upgrade chinese-calendar, or add {year}'s days as [[hours.overrides]] and "
                   f"list {year} in hours.local_years")
    return out


def _lib_range() -> str:
    years = [d.year for d in chinese_calendar.holidays]
    return f"{getattr(chinese_calendar, '__version__', '?')} covers {min(years)}-{max(years)}"


def _aware(dt: datetime, tz: ZoneInfo) -> datetime:
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt.astimezone(tz)


def _at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    # minute may be 1440 (24:00): adding a timedelta rolls over to the next midnight
    return datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=minute)


def _fmt(spans: Spans) -> str:
    return ", ".join(map(str, spans)) or "none"


def _hours_for(cal: Calendar, department: str | None) -> tuple[WeeklyHours, str]:
    if department is None:
        return cal.centre, "centre"
    if department in cal.departments:
        return cal.departments[department], department
    return cal.centre, f"{department} (centre hours: no [hours.departments.{department}])"


def decide(cal: Calendar, at: datetime, department: str | None = None) -> Decision:
    """What a call at `at` to `department` (None: the centre) gets, and why.
    A naive `at` is in the calendar's timezone."""
    tz = ZoneInfo(cal.timezone)
    at = _aware(at, tz)
    hours, who = _hours_for(cal, department)
    working, day_reason = is_working_day(at.date(), cal)
    closure = _closure_at(cal, at, department, tz)
    if closure is not None:
        reason = f"one-off closure: {closure.reason} (until {_aware(closure.end, tz):%Y-%m-%d %H:%M})"
        return Decision(False, reason, department, working, _next_open(cal, hours, at, department, tz))
    spans = hours.spans(at.weekday(), working)
    second = at.hour * 3600 + at.minute * 60 + at.second
    if any(s.start * 60 <= second < s.end * 60 for s in spans):
        what = "24/7" if hours.always else f"{_fmt(spans)}; {day_reason}"
        return Decision(True, f"{who} open {what}", department, working, None)
    if not spans and not working:
        reason = day_reason  # e.g. "National Day holiday (国庆节)": the day says it all
    else:
        reason = f"outside office hours {_fmt(spans)}; {day_reason}"
    return Decision(False, f"{who} closed: {reason}", department, working,
                    _next_open(cal, hours, at, department, tz))


def _closure_at(cal: Calendar, t: datetime, department: str | None, tz: ZoneInfo):
    for c in cal.closures:
        if c.applies_to(department) and _aware(c.start, tz) <= t < _aware(c.end, tz):
            return c
    return None


def _next_open(cal: Calendar, hours: WeeklyHours, at: datetime, department: str | None,
               tz: ZoneInfo) -> datetime | None:
    for offset in range(_SEARCH_DAYS):
        day = at.date() + timedelta(days=offset)
        working, _ = is_working_day(day, cal)
        for span in hours.spans(day.weekday(), working):
            t, end = max(at, _at(day, span.start, tz)), _at(day, span.end, tz)
            while t < end:
                c = _closure_at(cal, t, department, tz)
                if c is None:
                    return t
                t = _aware(c.end, tz)  # skip past the closure, maybe into a later span
    return None
