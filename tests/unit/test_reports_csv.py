"""CSV export of KPI rows and staffing advice."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from core import events as ev
from reports.csv_export import to_csv
from core.events import Event
from reports.kpi import KpiRow, compute, figures
from reports.staffing import Advice, advise

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SH).timestamp()


def call(lid, wait, lang, dept="tax"):
    kw = {"department": dept, "language": lang}
    return [Event(T0, ev.CALL_START, lid, **kw), Event(T0 + 1, ev.QUEUE_JOIN, lid, queue="hl-tax", **kw),
            Event(T0 + 1 + wait, ev.AGENT_CONNECT, lid, agent="a1", **kw),
            Event(T0 + 61, ev.CALL_END, lid, **kw, data={"disposition": "answered"})]


def read(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_header_and_values():
    rows = compute(call("a", 10, "cmn") + call("b", 30, "yue"), group_by=("department", "language"))
    text = to_csv(rows)
    header = text.splitlines()[0].split(",")
    assert header == ["interval_start", "interval_s", "department", "language", *figures()]
    assert not any(h.startswith("_") for h in header)
    got = read(text)
    assert [(r["department"], r["language"]) for r in got] == [("tax", "cmn"), ("tax", "yue")]
    assert got[0]["interval_start"] == "2026-03-02T10:00:00+08:00"
    assert (got[0]["interval_s"], got[0]["offered"], got[0]["service_level"]) == ("900", "1", "1.0000")
    assert (got[1]["service_level"], got[1]["asa"]) == ("0.0000", "30.0000")
    assert got[0]["occupancy"] == "" and got[0]["abandon_rate"] == "0.0000"  # None is empty, 0 is 0
    assert text.endswith("\r\n")


def test_awkward_group_values_round_trip_and_formulas_stay_text():
    rows = [KpiRow(datetime(2026, 3, 2, 10, tzinfo=SH), 900, {"agent": 'Li, "Na"\nnight'}, calls=1),
            KpiRow(datetime(2026, 3, 2, 10, tzinfo=SH), 900, {"agent": "=HYPERLINK(\"x\")"}, calls=2),
            KpiRow(datetime(2026, 3, 2, 10, tzinfo=SH), 900, {"agent": None}, calls=3)]
    got = read(to_csv(rows))
    assert [r["agent"] for r in got] == ['Li, "Na"\nnight', "'=HYPERLINK(\"x\")", ""]
    assert [r["calls"] for r in got] == ["1", "2", "3"]


def test_empty_report_keeps_its_header():
    text = to_csv([], group_by=("department",))
    assert read(text) == []
    assert text.splitlines()[0].startswith("interval_start,interval_s,department,calls,")


def test_advice_export():
    row = KpiRow(datetime(2026, 3, 2, 10, tzinfo=SH), 600, {}, offered=25, aht=180.0, agents_logged_in=12.5)
    text = to_csv(advise([row], target_sl=0.8, target_s=20))
    (got,) = read(text)
    assert (got["agents_needed"], got["traffic_erlangs"], got["shortfall"]) == ("11", "7.5000", "-1.5000")
    assert to_csv([], row_type=Advice).splitlines()[0].split(",")[:4] == [
        "interval_start", "interval_s", "offered", "aht"]
