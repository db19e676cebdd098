"""The leadership digest: top matters with change against the previous period."""
from __future__ import annotations

from reports import digest

DAY = 86400.0


def t(day, category, department, status="new", satisfaction=None, due=None, district=None):
    return {"created_at": day * DAY + 100, "category": category, "department": department, "status": status,
            "satisfaction": satisfaction, "due_at": due, "district": district}


def test_counts_changes_and_department_rates():
    rows = [t(0, "complaint", "market"), t(1, "complaint", "market"), t(2, "consultation", "tax"),   # before
            t(7, "complaint", "market", "closed", "satisfied"), t(8, "complaint", "market", "closed", "not_satisfied"),
            t(8, "complaint", "market", "dispatched", due=9 * DAY), t(9, "report", "ecology"),
            t(10, None, "tax", "closed", "basically_satisfied")]
    d = digest.build(rows, since=7 * DAY, until=14 * DAY, now=12 * DAY)
    assert d["tickets"] == 5 and d["previous_tickets"] == 3
    assert d["by_category"][0] == {"category": "complaint", "count": 3, "previous": 2, "change": 1, "change_pct": 0.5}
    assert {c["category"]: c["change_pct"] for c in d["by_category"]}["report"] is None   # new this period
    market = next(x for x in d["departments"] if x["department"] == "market")
    assert (market["tickets"], market["followed_up"], market["satisfied_rate"], market["overdue_open"]) == (3, 2, 0.5, 1)
    tax = next(x for x in d["departments"] if x["department"] == "tax")
    assert tax["satisfied_rate"] == 1.0
    text = digest.to_csv(d)
    assert "district,unclassified,5,3,2," in text
    assert text.splitlines()[1] == "category,complaint,3,2,1,0.5" and "unclassified" in text


def test_top_districts_with_their_change():
    rows = [t(1, "complaint", "market", district="海淀区"), t(8, "complaint", "market", district="海淀区"),
            t(9, "report", "ecology", district="海淀区"), t(9, "report", "ecology", district="朝阳区")]
    d = digest.build(rows, since=7 * DAY, until=14 * DAY, now=14 * DAY)
    assert d["by_district"] == [
        {"district": "海淀区", "count": 2, "previous": 1, "change": 1, "change_pct": 1.0},
        {"district": "朝阳区", "count": 1, "previous": 0, "change": 1, "change_pct": None}]
