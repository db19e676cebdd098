"""KPIs and queue_log from recorded journals: the dialplan's journal lines are folded into call
records (calls.record.fold, as intake does), turned into events and measured.

tests/fixtures/reports/journals.txt, from 20:30:00 Shanghai time (t in seconds after it):
  j1 tax   joins 4.5, answered 10.5 (wait 6), ends 70.5 (talk 60)
  j2 tax   joins 35, answered 55 (wait 20), ends 175 (talk 120)
  j3 tax   joins 65, hangs up 68 (wait 3: short abandon)
  j4 market joins 95, hangs up 140 (wait 45: abandon)
  j5 tax   joins 105, taken out at 405 (queue timeout), ends 406
  j6 -     self-service in the menu (action=hangup)
  j7 housing books a callback in the menu
  j8 -     hangs up in the greeting, no key pressed
  j9 tax   starts 900 (20:45), joins 905, answered 910 (wait 5), ends 940 (talk 30)
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calls import journal, record
from calls.record import record_events as from_call_record
from reports.kpi import compute
from reports.queue_log import lines

FIXTURE = Path(__file__).parent.parent / "fixtures" / "reports" / "journals.txt"
SH = ZoneInfo("Asia/Shanghai")


def recorded_events():
    blocks: dict[str, list[str]] = {}
    for line in FIXTURE.read_text().splitlines():
        if line.startswith("== "):
            current = blocks.setdefault(line[3:], [])
        elif line and not line.startswith("#"):
            current.append(line)
    recs = [record.fold(lid, journal.parse("\n".join(ls))) for lid, ls in blocks.items()]
    return [e for rec in recs for e in from_call_record(rec)]


def test_recorded_trace_per_interval():
    first, second = compute(recorded_events(), group_by=())
    assert first.interval_start == datetime(2026, 11, 29, 20, 30, tzinfo=SH)
    assert second.interval_start == datetime(2026, 11, 29, 20, 45, tzinfo=SH)
    # 20:30: j1..j8. Entered the menu: all 8 (j8 ended in it without a key);
    # contained: j6 only (j7 booked a callback)
    assert (first.calls, first.ivr_entered, first.ivr_contained) == (8, 8, 1)
    # offered j1..j5; answered j1, j2; within 15 s: j1; short j3; abandoned j4; timed out j5
    assert (first.offered, first.answered, first.answered_within_sl) == (5, 2, 1)
    assert (first.short_abandons, first.abandoned, first.timed_out) == (1, 1, 1)
    assert first.callbacks_requested == 1
    assert first.service_level == pytest.approx(1 / 4)  # 1 / (5 - 1 short)
    assert first.abandon_rate == pytest.approx(1 / 4)
    assert first.asa == pytest.approx((6 + 20) / 2)
    assert first.aht == pytest.approx((60 + 120) / 2)
    # 20:45: j9 alone
    assert (second.calls, second.offered, second.answered, second.service_level) == (1, 1, 1, 1.0)
    assert (second.asa, second.aht) == (pytest.approx(5), pytest.approx(30))


def test_recorded_trace_per_department_for_the_day():
    rows = {r.group["department"]: r for r in compute(recorded_events(), interval=86400)}
    assert set(rows) == {"tax", "market", "housing", None}
    tax = rows["tax"]  # j1, j2, j3, j5, j9: within 15 s j1 (6) and j9 (5); j3 short; j5 timed out
    assert (tax.offered, tax.answered, tax.answered_within_sl, tax.short_abandons, tax.timed_out) == (5, 3, 2, 1, 1)
    assert tax.service_level == pytest.approx(2 / 4)
    assert (rows["market"].abandoned, rows["market"].abandon_rate) == (1, 1.0)
    assert (rows["housing"].callbacks_requested, rows["housing"].offered) == (1, 0)
    assert (rows[None].calls, rows[None].ivr_contained, rows[None].ivr_containment) == (2, 1, 0.5)


def test_recorded_trace_as_queue_log():
    out = lines(recorded_events())
    events = [line.split("|")[4] for line in out]
    assert events.count("ENTERQUEUE") == 6
    assert events.count("CONNECT") == events.count("COMPLETECALLER") == 3
    assert events.count("ABANDON") == 2 and events.count("EXITWITHTIMEOUT") == 1
    assert "1795955495|node1-j4|hl-market|NONE|ENTERQUEUE||+85291234567|1" in out
    # the record knows only the end of the call (406), not the qleave (405)
    assert "1795955806|node1-j5|hl-tax|NONE|EXITWITHTIMEOUT|1|1|301" in out
