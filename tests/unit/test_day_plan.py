"""The busy day's plan (bench/day_plan.py) and the harness's reading of what SIPp saw
(bench/busy_day.py), without Asterisk."""
from __future__ import annotations

import re
import statistics
import xml.etree.ElementTree as ET

import pytest

from bench import busy_day, day_plan
from reports import erlang


def test_arrivals_follow_the_day_curve_and_the_surge_hour():
    plan = day_plan.make(seed=3, minutes=480, peak_rate=1.0, surge_hour=10, surge=3.0)
    per_hour = [0] * 24
    for c in plan.callers:
        per_hour[c.hour] += 1
    for h in range(24):
        expected = plan.rate(h) * plan.hour_s
        # Poisson: within 4 standard deviations (and a small absolute margin for quiet hours)
        assert abs(per_hour[h] - expected) <= 4 * expected ** 0.5 + 3, (h, per_hour[h], expected)
    assert per_hour[10] > 2.4 * per_hour[9]          # the surge: 3 x 0.97 against 1.0
    assert [c.at for c in plan.callers] == sorted(c.at for c in plan.callers)
    assert all(0 <= c.at < 480 * 60 for c in plan.callers)


def test_the_same_seed_gives_the_same_day_and_another_seed_another():
    a, b = day_plan.make(seed=7, minutes=20), day_plan.make(seed=7, minutes=20)
    assert a == b
    assert day_plan.make(seed=8, minutes=20).callers != a.callers


def test_patience_is_exponential_above_three_seconds_and_capped():
    plan = day_plan.make(seed=1, minutes=600, peak_rate=1.0, patience_mean_s=45, patience_cap_s=240)
    p = [c.patience for c in plan.callers]
    assert min(p) >= 3 and max(p) <= 240
    assert 40 <= statistics.mean(p) <= 50


def test_callers_press_a_language_then_a_department_in_the_planned_mix():
    plan = day_plan.make(seed=2, minutes=600, peak_rate=1.0)
    assert {c.keys[0] for c in plan.callers} == {"1", "2", "3"}
    assert all(c.keys[1] == "w" and c.department == day_plan.DEPT[c.keys[2]] for c in plan.callers)
    share = sum(c.language == "cmn" for c in plan.callers) / len(plan.callers)
    assert 0.82 <= share <= 0.88                   # 0.85 of the mix


def test_staffing_is_the_engines_erlang_c_for_each_hours_calls():
    plan = day_plan.make(seed=1, minutes=30, peak_rate=0.5, aht_s=40, target_sl=0.95, target_s=15)
    h = plan.hour_s
    for hour in (3, 9, 10, 15):
        want = erlang.agents_needed(plan.rate(hour) * h, h, 40, 0.95, 15)
        assert plan.staffing[hour] == max(2, want)
    assert plan.staffing[10] > 2 * plan.staffing[9] - 3     # the surge is staffed
    assert day_plan.erlang_sl(plan, 40, 15) >= 0.95


def test_bad_plans_are_refused():
    with pytest.raises(ValueError):
        day_plan.make(minutes=0)
    with pytest.raises(ValueError):
        day_plan.make(surge_hour=24)


def test_the_scenario_gets_the_callers_keys_and_patience(tmp_path):
    c = day_plan.Caller(n=5, at=1.0, hour=0, keys="1w2", language="cmn", department="tax", patience=31.5)
    text = busy_day.scenario_for(c, tmp_path).read_text()
    assert not re.search(r"@[A-Z_]+@", text)          # every placeholder filled
    root = ET.fromstring(text.split("\n", 2)[2])      # after the XML declaration and the DOCTYPE
    waits = [e for e in root.iter("recv") if e.get("ontimeout") == "give_up"]
    assert [w.get("timeout") for w in waits] == ["31500"]
    keys = [e.get("play_pcap_audio") for e in root.iter("exec")]
    assert len(keys) == 2 and all(k.startswith(str(tmp_path)) for k in keys)


def test_the_tally_reads_what_each_caller_saw():
    c = day_plan.Caller(n=1, at=0, hour=0, keys="1w1", language="cmn", department="market", patience=20)
    served = busy_day.Seen(c, rc=0)
    busy_day.parse_log("answered 120\nqueued 5300\nconnected 12800 <sip:90003@127.0.0.1>\nended 40100\n", served)
    assert (served.outcome, served.wait_s, served.agent) == ("answered", 7.5, "<sip:90003@127.0.0.1>")
    gone = busy_day.Seen(c, rc=0)
    busy_day.parse_log("answered 100\nqueued 5000\ngave_up 25000\nhung_up 25000\n", gone)
    assert (gone.outcome, gone.wait_s) == ("abandoned", 20.0)
    refused = busy_day.Seen(c, rc=1)
    busy_day.parse_log("refused 40\n", refused)
    assert refused.outcome == "failed"
    assert busy_day.Seen(c, rc=-9).outcome == "failed"


def test_calls_the_two_counts_see_differently_are_listed():
    c = [day_plan.Caller(n=i, at=0, hour=0, keys="1w1", language="cmn", department="market", patience=5)
         for i in range(3)]
    seen = [busy_day.Seen(c[0], rc=0, answered=1, queued=2, connected=3),
            busy_day.Seen(c[1], rc=0, answered=1, queued=2, gave_up=5002),
            busy_day.Seen(c[2], rc=0, answered=1, queued=2, gave_up=5002)]
    engine = {"13900000000": {"disposition": "answered"}, "13900000001": {"disposition": "answered"},
              "13900000002": {"disposition": "abandoned_in_queue"}}
    differ = busy_day.disagreements(seen, engine)
    assert len(differ) == 1 and differ[0].startswith("caller 1: harness abandoned") and "engine answered" in differ[0]
