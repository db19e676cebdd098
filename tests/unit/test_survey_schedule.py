"""When satisfaction survey calls happen: delay, allowed hours, attempts, and the [survey]
table of the centre file. Pure: no clock, no sockets."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.errors import ConfigInvalid
from surveys import config as survey_config
from surveys import schedule as plan

TZ = ZoneInfo("Asia/Shanghai")
CFG = survey_config.load({"delay_minutes": 30, "hours": "09:00-20:00", "max_attempts": 3, "retry_minutes": 120})


def bj(text: str) -> datetime:
    """A Beijing wall-clock time as UTC (what the store keeps)."""
    return datetime.fromisoformat(text + "+08:00").astimezone(UTC)


@pytest.mark.parametrize("reached, due", [
    ("2026-11-27T10:00", "2026-11-27T10:30"),   # daytime: just the delay
    ("2026-11-27T08:00", "2026-11-27T09:00"),   # 08:30 is too early: at opening
    ("2026-11-27T19:29", "2026-11-27T19:59"),   # still inside, one minute before the end
    ("2026-11-27T19:30", "2026-11-28T09:00"),   # 20:00 is the end (exclusive): next morning
    ("2026-11-27T23:50", "2026-11-28T09:00"),   # after midnight: that morning, not the one after
])
def test_the_first_call_comes_after_the_delay_within_the_allowed_hours(reached, due):
    assert plan.first_due(bj(reached), CFG, TZ) == bj(due)


def test_split_hours_skip_the_lunch_break():
    cfg = survey_config.load({"delay_minutes": 0, "hours": "14:00-20:00,09:00-12:00"})  # any order
    assert plan.first_due(bj("2026-11-27T12:30"), cfg, TZ) == bj("2026-11-27T14:00")
    assert plan.first_due(bj("2026-11-27T11:59"), cfg, TZ) == bj("2026-11-27T11:59")
    assert not plan.in_hours(bj("2026-11-27T13:00"), cfg.hours, TZ)


def test_hours_are_the_centres_timezone_not_utc():
    # 02:00 UTC is 10:00 in Beijing: callable; 13:00 UTC is 21:00 in Beijing: not
    assert plan.in_hours(datetime(2026, 11, 27, 2, 0, tzinfo=UTC), CFG.hours, TZ)
    assert not plan.in_hours(datetime(2026, 11, 27, 13, 0, tzinfo=UTC), CFG.hours, TZ)


def test_failed_attempts_are_retried_until_none_are_left():
    assert plan.after_attempt(1, plan.NO_ANSWER, bj("2026-11-27T10:00"), CFG, TZ) == (
        plan.SCHEDULED, bj("2026-11-27T12:00"))
    # a retry that would fall at 21:00 waits for the next morning
    assert plan.after_attempt(2, plan.NO_KEY, bj("2026-11-27T19:00"), CFG, TZ) == (
        plan.SCHEDULED, bj("2026-11-28T09:00"))
    # the third failure of three: the outcome stays, nothing more is due (a person calls)
    assert plan.after_attempt(3, plan.NO_KEY, bj("2026-11-27T10:00"), CFG, TZ) == (plan.NO_KEY, None)
    assert plan.after_attempt(3, plan.NO_ANSWER, bj("2026-11-27T10:00"), CFG, TZ) == (plan.NO_ANSWER, None)
    with pytest.raises(ValueError):
        plan.after_attempt(1, plan.DONE, bj("2026-11-27T10:00"), CFG, TZ)


@pytest.mark.parametrize("frm, to, action, note, what", [
    ("new", "answered", "answer_on_spot", None, "schedule"),
    ("returned", "answered", "answer_on_spot", None, "schedule"),
    ("replied", "informed", "inform", None, "schedule"),
    ("answered", "answered", "escalate", None, None),           # a flag, the survey stays due
    ("informed", "informed", "escalate", None, None),
    ("answered", "follow_up", "follow_up", "survey call", "done"),
    ("informed", "follow_up", "follow_up", "asked on the phone", "cancel"),  # an agent did it
    ("answered", "closed", "close", None, "cancel"),
    ("new", "dispatched", "dispatch", None, None),
])
def test_what_a_workflow_change_means_for_the_survey(frm, to, action, note, what):
    assert plan.on_transition(frm, to, action, note) == what


def test_defaults_when_the_centre_file_has_no_survey_table():
    cfg = survey_config.load(None)
    assert (cfg.enabled, cfg.delay_minutes, cfg.max_attempts, str(cfg.hours[0])) == (True, 30, 3, "09:00-20:00")


@pytest.mark.parametrize("table, key", [
    ({"delay_minutes": -1}, "[survey] delay_minutes"),
    ({"delay_minutes": "30"}, "[survey] delay_minutes"),
    ({"max_attempts": 0}, "[survey] max_attempts"),
    ({"max_attempts": True}, "[survey] max_attempts"),      # TOML true is not 1 attempt
    ({"max_attempts": 2.5}, "[survey] max_attempts"),
    ({"retry_minutes": 0}, "[survey] retry_minutes"),
    ({"call_timeout_seconds": 5}, "[survey] call_timeout_seconds"),
    ({"hours": "9-20"}, "[survey] hours"),
    ({"hours": "20:00-09:00"}, "[survey] hours"),
    ({"hours": "closed"}, "[survey] hours"),
    ({"hours": 9}, "[survey] hours"),
    ({"enabled": "yes"}, "[survey] enabled"),
    ({"delay": 30}, "unknown key 'delay'"),
])
def test_bad_values_name_the_key(table, key):
    with pytest.raises(ConfigInvalid) as e:
        survey_config.load(table)
    assert key in str(e.value) and e.value.id == "config-invalid"


def test_the_demo_centre_file_has_a_valid_survey_table(tmp_path):
    from core import settings
    cfg = survey_config.load(settings.load(env={}, home=str(tmp_path)).centre.survey)
    assert cfg.max_attempts == 3 and str(cfg.hours[0]) == "09:00-20:00"
    bad = tmp_path / "centre.toml"
    bad.write_text(settings.DEMO_CONFIG.read_text().replace('hours = "09:00-20:00"', 'hours = "9am-8pm"'))
    with pytest.raises(ConfigInvalid, match=r"\[survey\] hours"):
        survey_config.load(settings.load_centre(bad).survey)
