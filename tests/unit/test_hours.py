"""Business calendar: holidays, make-up days, office hours, closures, fallback, CLI."""
from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace
from datetime import date, datetime, timezone
from pathlib import Path

import chinese_calendar
import pytest

from core import settings
from core.errors import BadRequest
from hours import calendar as hc
from hours.cli import cmd_at, register
from hours.config import parse_hours
from hours.model import Calendar, Closure, Override

TAX = parse_hours({"weekdays": "09:00-12:00,13:30-17:30"}, "t")
CAL = Calendar(departments={"tax": TAX})
LAST = max(d.year for d in chinese_calendar.holidays)  # last year the installed library knows
NO_DATA = 2099  # far beyond any chinese-calendar release


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_national_day_closes_tax_but_not_the_centre():
    d = hc.decide(CAL, at("2026-10-01 09:00"), "tax")
    assert (d.open, d.working_day) == (False, False)
    assert "National Day holiday (国庆节)" in d.reason
    assert d.next_open == at("2026-10-08 09:00+08:00")  # first working day after the week
    centre = hc.decide(CAL, at("2026-10-01 09:00"), None)
    assert centre.open and centre.reason == "centre open 24/7" and centre.next_open is None


@pytest.mark.parametrize("day, holiday", [("2026-10-10", "National Day"),  # Saturday
                                          ("2025-09-28", "National Day"),  # Sunday
                                          ("2026-02-14", "Spring Festival")])  # Saturday
def test_make_up_working_day_opens_tax(day, holiday):
    assert date.fromisoformat(day).weekday() >= 5  # really a weekend day
    d = hc.decide(CAL, at(f"{day} 10:00"), "tax")
    assert d.open and d.working_day
    assert f"make-up working day for {holiday}" in d.reason


def test_ordinary_saturday_is_closed_until_monday():
    d = hc.decide(CAL, at("2026-10-17 10:00"), "tax")
    assert not d.open and "weekend (Saturday)" in d.reason
    assert d.next_open == at("2026-10-19 09:00+08:00")


@pytest.mark.parametrize("clock, is_open", [("08:59", False), ("09:00", True), ("11:59", True),
                                            ("12:00", False), ("12:30", False), ("13:30", True),
                                            ("17:29", True), ("17:30", False)])
def test_office_hours_boundaries_on_a_weekday(clock, is_open):
    d = hc.decide(CAL, at(f"2026-10-09 {clock}"), "tax")  # a Friday, ordinary working day
    assert d.open is is_open
    if not is_open:
        assert "outside office hours 09:00-12:00, 13:30-17:30" in d.reason


def test_lunch_break_next_open_is_the_afternoon():
    assert hc.decide(CAL, at("2026-10-09 12:30"), "tax").next_open == at("2026-10-09 13:30+08:00")


def test_one_off_closure_of_everything():
    cal = Calendar(departments={"tax": TAX}, closures=(
        Closure(at("2026-11-03 22:00"), at("2026-11-04 10:00"), "system maintenance"),))
    centre = hc.decide(cal, at("2026-11-03 23:00"), None)
    assert not centre.open
    assert centre.reason.startswith("one-off closure: system maintenance")
    assert centre.next_open == at("2026-11-04 10:00+08:00")  # the centre reopens at the end
    tax = hc.decide(cal, at("2026-11-04 09:30"), "tax")  # inside office hours, still closed
    assert not tax.open and tax.next_open == at("2026-11-04 10:00+08:00")
    assert hc.decide(cal, at("2026-11-04 10:00"), None).open  # end is exclusive


def test_department_closure_leaves_the_centre_open():
    cal = Calendar(departments={"tax": TAX}, closures=(
        Closure(at("2026-11-04 09:00"), at("2026-11-05 00:00"), "office move", ("tax",)),))
    assert hc.decide(cal, at("2026-11-04 10:00"), None).open
    tax = hc.decide(cal, at("2026-11-04 10:00"), "tax")
    assert "office move" in tax.reason and tax.next_open == at("2026-11-05 09:00+08:00")


def test_local_override_beats_the_library():
    cal = Calendar(departments={"tax": TAX}, overrides=(
        Override(date(2026, 10, 8), False, "local closure"),  # library: working Thursday
        Override(date(2026, 10, 2), True, "typhoon make-up")))  # library: National Day
    closed = hc.decide(cal, at("2026-10-08 10:00"), "tax")
    assert not closed.open and "local override: local closure" in closed.reason
    assert closed.next_open == at("2026-10-09 09:00+08:00")
    opened = hc.decide(cal, at("2026-10-02 10:00"), "tax")
    assert opened.open and "local override: typhoon make-up" in opened.reason


def test_year_without_data_uses_the_fallback_and_says_so():
    with pytest.raises(NotImplementedError):  # the premise: the library really has no data
        chinese_calendar.is_workday(date(NO_DATA, 1, 1))
    assert date(NO_DATA, 1, 1).weekday() == 3  # Thursday: would be New Year's Day
    working, reason = hc.is_working_day(date(NO_DATA, 1, 1))
    assert working and reason.startswith(f"no holiday data for {NO_DATA}: fallback rule weekdays")
    d = hc.decide(CAL, at(f"{NO_DATA}-01-01 10:00"), "tax")
    assert d.open and f"no holiday data for {NO_DATA}: fallback rule weekdays" in d.reason
    sat = hc.decide(CAL, at(f"{NO_DATA}-01-03 10:00"), "tax")
    assert not sat.open and "fallback rule weekdays (Saturday is not a working day)" in sat.reason


def test_local_years_replace_the_fallback():
    cal = Calendar(local_years=(NO_DATA,), overrides=(Override(date(NO_DATA, 1, 1), False, "元旦"),))
    assert hc.is_working_day(date(NO_DATA, 1, 1), cal) == (False, "local override: 元旦 (not a working day)")
    working, reason = hc.is_working_day(date(NO_DATA, 1, 2), cal)
    assert working and "fallback" not in reason and "local overrides" in reason


def test_coverage_warns_when_next_year_is_missing():
    assert hc.coverage(date(LAST - 1, 6, 1)) == []  # both years known
    warnings = hc.coverage(date(LAST, 6, 1))
    assert len(warnings) == 1 and f"no statutory holiday data for {LAST + 1}" in warnings[0]
    assert "fallback rule weekdays" in warnings[0]
    assert len(hc.coverage(date(LAST + 1, 6, 1))) == 2  # current year missing too
    assert hc.coverage(date(LAST, 6, 1), Calendar(local_years=(LAST + 1,))) == []


@pytest.mark.parametrize("start, n, expected", [
    ("2026-09-30", 0, "2026-09-30"),
    ("2026-09-30", 1, "2026-10-08"),  # the whole National Day week skipped
    ("2026-09-30", 3, "2026-10-10"),  # Thu, Fri, then the make-up Saturday counts
    ("2026-09-30", 4, "2026-10-12"),  # Sunday 11th is an ordinary weekend day
    ("2025-09-26", 1, "2025-09-28"),  # make-up Sunday right after a Friday
])
def test_add_working_days(start, n, expected):
    assert hc.add_working_days(date.fromisoformat(start), n) == date.fromisoformat(expected)


def test_add_working_days_respects_overrides_and_refuses_negative():
    cal = Calendar(overrides=(Override(date(2026, 10, 8), False, "local closure"),))
    assert hc.add_working_days(date(2026, 9, 30), 1, cal) == date(2026, 10, 9)
    with pytest.raises(ValueError):
        hc.add_working_days(date(2026, 9, 30), -1)


def test_aware_time_is_converted_to_the_calendar_timezone():
    # 01:30 UTC is 09:30 in Shanghai: open; naive 01:30 would be closed
    assert hc.decide(CAL, datetime(2026, 10, 9, 1, 30, tzinfo=timezone.utc), "tax").open
    assert not hc.decide(CAL, at("2026-10-09 01:30"), "tax").open


def test_department_without_hours_uses_the_centre_and_says_so():
    d = hc.decide(CAL, at("2026-10-01 03:00"), "market")
    assert d.open and "centre hours: no [hours.departments.market]" in d.reason


def test_department_that_never_opens_has_no_next_open():
    cal = Calendar(departments={"tax": parse_hours({}, "t")})
    d = hc.decide(cal, at("2026-10-09 10:00"), "tax")
    assert not d.open and d.next_open is None


# -- CLI -------------------------------------------------------------------

CENTRE = '''
centre_number = "12345"
fallback_department = "general"
[[departments]]
code = "general"
digit = "0"
[[departments]]
code = "tax"
number = "12366"
digit = "2"
[hours]
centre = "24/7"
[hours.departments.tax]
weekdays = "09:00-12:00,13:30-17:30"
'''


@pytest.fixture
def load_settings(tmp_path: Path):
    path = tmp_path / "centre.toml"
    path.write_text(CENTRE, encoding="utf-8")
    return lambda args: settings.Settings(config=path, centre=settings.load_centre(path))


def test_cli_at_json_for_a_department_number(load_settings, capsys):
    assert cmd_at(Namespace(when="2026-10-01 09:00", to="12366", json=True), load_settings) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["open"] is False and "National Day holiday (国庆节)" in out["reason"]
    assert out["department"] == "tax" and out["next_open"] == "2026-10-08T09:00:00+08:00"


def test_cli_at_json_for_the_centre_number(load_settings, capsys):
    cmd_at(Namespace(when="2026-10-01 09:00", to=None, json=True), load_settings)
    out = json.loads(capsys.readouterr().out)
    assert out["open"] is True and out["number"] == "12345" and out["department"] is None


def test_cli_at_text_and_unknown_number(load_settings, capsys):
    cmd_at(Namespace(when="2026-10-09 12:30", to="12366", json=False), load_settings)
    line = capsys.readouterr().out
    assert line.startswith("12366 at 2026-10-09 12:30 Asia/Shanghai: CLOSED") and "13:30" in line
    with pytest.raises(BadRequest, match="not an entry number"):
        cmd_at(Namespace(when="2026-10-09 12:30", to="99999", json=False), load_settings)


def test_register_wires_at_and_check(load_settings, capsys):
    p = ArgumentParser()
    register(p.add_subparsers(dest="cmd", required=True), load_settings)
    args = p.parse_args(["hours", "check", "--today", f"{LAST}-06-01"])
    assert args.fn(args) == 1 and f"{LAST + 1}" in capsys.readouterr().out
    args = p.parse_args(["hours", "check", "--today", f"{LAST - 1}-06-01"])
    assert args.fn(args) == 0 and capsys.readouterr().out.startswith("hours ok")
    args = p.parse_args(["hours", "at", "2026-10-10 10:00", "--to", "12366", "--json"])
    assert args.fn(args) == 0 and json.loads(capsys.readouterr().out)["open"] is True
