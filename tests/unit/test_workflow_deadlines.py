"""Ticket deadlines in working days: National Day 2026 (1-7 October) and the make-up
working day Saturday 10 October 2026, as chinese-calendar records them."""
from __future__ import annotations

from datetime import UTC, date, datetime

import chinese_calendar
import pytest

from hours.model import Calendar, Override
from tickets import deadlines as dl


def test_the_calendar_data_the_tests_rely_on():
    for d in range(1, 8):
        assert not chinese_calendar.is_workday(date(2026, 10, d))  # National Day week
    assert date(2026, 10, 10).weekday() == 5 and chinese_calendar.is_workday(date(2026, 10, 10))  # make-up
    assert chinese_calendar.is_workday(date(2026, 9, 30)) and chinese_calendar.is_workday(date(2026, 10, 8))


def test_default_days_per_category():
    assert dl.DEFAULT_DAYS == {"consultation": 1, "request_for_help": 7, "complaint": 7, "report": 14,
                               "suggestion": 14}
    with pytest.raises(ValueError, match="no deadline for category 'callback_needed'"):
        dl.due_date(date(2026, 9, 30), "callback_needed")


@pytest.mark.parametrize("created, category, due", [
    # Wednesday before National Day: the holiday week does not count
    ("2026-09-30", "consultation", "2026-10-08"),
    # ... and Saturday 10 October (make-up) does: 8, 9, 10, 12, 13, 14, 15
    ("2026-09-30", "complaint", "2026-10-15"),
    ("2026-09-30", "request_for_help", "2026-10-15"),
    # 8 9 10 12 13 14 15 16 19 20 21 22 23 26
    ("2026-09-30", "report", "2026-10-26"),
    ("2026-09-30", "suggestion", "2026-10-26"),
    # created on a holiday: the first working day after it is day 1
    ("2026-10-03", "consultation", "2026-10-08"),
    # created Friday 9 October: the make-up Saturday is the next working day
    ("2026-10-09", "consultation", "2026-10-10"),
    # an ordinary week: Friday + 1 working day = Monday
    ("2026-11-27", "consultation", "2026-11-30"),
    ("2026-11-27", "complaint", "2026-12-08"),
])
def test_due_date(created, category, due):
    assert dl.due_date(date.fromisoformat(created), category) == date.fromisoformat(due)


def test_without_the_make_up_day_the_deadline_would_be_a_day_later():
    # a local override that turns the make-up Saturday into a rest day moves the complaint
    cal = Calendar(overrides=(Override(date(2026, 10, 10), False, "test: no make-up"),))
    assert dl.due_date(date(2026, 9, 30), "complaint", cal) == date(2026, 10, 16)


def test_due_at_is_the_end_of_the_due_date_in_beijing():
    # 30 September 2026 20:00 in Beijing is 12:00 UTC: the local date decides
    at = dl.due_at(datetime(2026, 9, 30, 12, 0, tzinfo=UTC), "complaint")
    assert at == datetime(2026, 10, 15, 15, 59, 59, 999999, tzinfo=UTC)  # 23:59:59.999999 +08:00
    # 30 September 17:00 UTC is already 1 October in Beijing (a holiday): same due date
    assert dl.due_at(datetime(2026, 9, 30, 17, 0, tzinfo=UTC), "complaint") == at
    # naive values are UTC, as SQLite returns them
    assert dl.due_at(datetime(2026, 9, 30, 12, 0), "complaint") == at
    # a local date moved by the timezone: 29 September 23:00 UTC = 30 September 07:00 local
    assert dl.due_at(datetime(2026, 9, 29, 23, 0, tzinfo=UTC), "consultation").date() == date(2026, 10, 8)


def test_custom_days():
    assert dl.due_date(date(2026, 9, 30), "complaint", days={"complaint": 1}) == date(2026, 10, 8)
    # a partial table keeps the defaults for the other categories
    assert dl.due_date(date(2026, 9, 30), "report", days={"complaint": 1}) == date(2026, 10, 26)


@pytest.mark.parametrize("today, state", [
    ("2026-09-30", "ok"),        # due 15 Oct: far away
    ("2026-10-07", "ok"),        # holiday: the next working day (8th) is not the due date
    ("2026-10-13", "ok"),
    ("2026-10-14", "warning"),   # due the next working day
    ("2026-10-15", "warning"),   # due today
    ("2026-10-16", "overdue"),
    ("2026-10-18", "overdue"),
])
def test_warning_before_overdue_after(today, state):
    assert dl.state_on(date(2026, 10, 15), date.fromisoformat(today)) == state


def test_warning_across_holiday_and_make_up_day():
    # due Thursday 8 October; on Wednesday 30 September the next working day is the 8th
    assert dl.state_on(date(2026, 10, 8), date(2026, 9, 30)) == "warning"
    assert dl.state_on(date(2026, 10, 8), date(2026, 9, 29)) == "ok"
    # due Monday 12 October; on Friday 9th the next working day is the make-up Saturday 10th
    assert dl.state_on(date(2026, 10, 12), date(2026, 10, 9)) == "ok"
    assert dl.state_on(date(2026, 10, 12), date(2026, 10, 10)) == "warning"
    assert dl.state_on(date(2026, 10, 12), date(2026, 10, 11)) == "warning"  # Sunday


def test_state_at_uses_beijing_days():
    due = dl.due_at(datetime(2026, 9, 30, 2, 0, tzinfo=UTC), "complaint")  # end of 15 October +08:00
    assert dl.state_at(due, datetime(2026, 10, 15, 15, 59, tzinfo=UTC)) == "warning"
    assert dl.state_at(due, datetime(2026, 10, 15, 16, 0, tzinfo=UTC)) == "overdue"  # 16 Oct 00:00 local


@pytest.mark.parametrize("today, late", [("2026-10-15", 0), ("2026-10-16", 1), ("2026-10-18", 1),
                                         ("2026-10-19", 2)])
def test_working_days_late(today, late):
    assert dl.working_days_late(date(2026, 10, 15), date.fromisoformat(today)) == late


def test_working_days_late_counts_the_make_up_day():
    # due Friday 9 October 2026: Saturday 10th is a make-up working day, Monday 12th the next
    assert dl.working_days_late(date(2026, 10, 9), date(2026, 10, 12)) == 2
