"""Ticket deadlines in working days per category, on the business calendar. Pure.

due date = the n-th working day after the day the ticket was created (in the calendar's
timezone, Asia/Shanghai by default), n per category; holidays do not count, make-up
working days do (hours.calendar.add_working_days). A ticket is due at the end of its due
date (23:59:59.999999 local time). While a department holds it:

- `warning`: due within 1 working day – the due date is today or the next working day;
- `overdue`: the due date has passed;
- `ok` otherwise.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from hours.calendar import add_working_days
from hours.model import Calendar

from tickets.workflow import Category

# The seed: consultations are answered within a working day, departments answer in 7 to 14.
DEFAULT_DAYS: dict[str, int] = {
    Category.CONSULTATION: 1,
    Category.REQUEST_FOR_HELP: 7,
    Category.COMPLAINT: 7,
    Category.REPORT: 14,
    Category.SUGGESTION: 14,
}

OK, WARNING, OVERDUE = "ok", "warning", "overdue"

_DEFAULT_CAL = Calendar()


def _cal(cal: Calendar | None) -> Calendar:
    return cal or _DEFAULT_CAL


def local_date(at: datetime, cal: Calendar | None = None) -> date:
    """The calendar day of `at` in the calendar's timezone (naive values are UTC, as stored)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(_cal(cal).timezone)).date()


def days_for(category: str, days: Mapping[str, int] | None = None) -> int:
    table = {**DEFAULT_DAYS, **(days or {})}  # a partial table keeps the defaults for the rest
    try:
        return table[category]
    except KeyError:
        raise ValueError(f"no deadline for category {category!r}") from None


def due_date(created: date, category: str, cal: Calendar | None = None,
             days: Mapping[str, int] | None = None) -> date:
    return add_working_days(created, days_for(category, days), _cal(cal))


def due_at(created_at: datetime, category: str, cal: Calendar | None = None,
           days: Mapping[str, int] | None = None) -> datetime:
    """The end of the due date, local time, as an aware UTC datetime (what the store keeps)."""
    cal = _cal(cal)
    day = due_date(local_date(created_at, cal), category, cal, days)
    return datetime.combine(day, time.max, tzinfo=ZoneInfo(cal.timezone)).astimezone(UTC)


def state_on(due: date, today: date, cal: Calendar | None = None) -> str:
    """ok | warning | overdue for a ticket due on `due`, looked at on `today`."""
    if today > due:
        return OVERDUE
    if due <= add_working_days(today, 1, _cal(cal)):
        return WARNING
    return OK


def state_at(due: datetime, now: datetime, cal: Calendar | None = None) -> str:
    """The same for stored values: the due moment and the current moment."""
    return state_on(local_date(due, cal), local_date(now, cal), cal)


def working_days_late(due: date, today: date, cal: Calendar | None = None) -> int:
    """Working days that have passed since the due date (0 when not late)."""
    cal = _cal(cal)
    n, day = 0, due
    while day < today:
        day = add_working_days(day, 1, cal)
        if day <= today:
            n += 1
    return n


def working_days_left(due: date, today: date, cal: Calendar | None = None) -> int:
    """The countdown a department reads: working days from today to the due date (0 when due
    today), negative when late (-1 the first working day after it)."""
    cal = _cal(cal)
    if today > due:
        return -working_days_late(due, today, cal)
    n, day = 0, today
    while True:
        day = add_working_days(day, 1, cal)
        if day > due:
            return n
        n += 1


def extend(due: datetime, days: int, cal: Calendar | None = None) -> datetime:
    """A due moment moved `days` working days on (an approved extension), end of that day."""
    cal = _cal(cal)
    day = add_working_days(local_date(due, cal), days, cal)
    return datetime.combine(day, time.max, tzinfo=ZoneInfo(cal.timezone)).astimezone(UTC)
