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


def h(ticket, day, action, department=None, due=None):
    """A workflow history row as tickets.store.dispatch_history returns it (days as epoch)."""
    return {"ticket": ticket, "at": day * DAY, "action": action, "department": department,
            "due_at": None if due is None else due * DAY}


def test_on_time_rate_per_department_of_the_dispatches_in_the_period():
    history = [
        h(1, 7, "dispatch", "market", due=8), h(1, 8, "reply"),                  # exactly at the deadline: on time
        h(2, 7.5, "dispatch", "market", due=8), h(2, 8 + 1 / DAY, "reply"),      # one second late
        h(3, 8, "dispatch", "market", due=10), h(3, 9, "reply"),                 # early
        h(4, 9, "dispatch", "market", due=11),                                   # no reply, due passed: late
        h(5, 9, "dispatch", "market", due=13),                                   # no reply, not due: pending
        h(6, 9, "dispatch", "market", due=10), h(6, 9.5, "return"),              # given back: not judged
        h(6, 10, "dispatch", "tax", due=12), h(6, 11, "reply"),                  # ...then tax on time
        h(7, 5, "dispatch", "market", due=6), h(7, 8, "reply"),                  # dispatched before the period
        h(8, 10, "dispatch", "ecology", due=13),                                 # ticket created before the period
    ]
    rows = [t(7, "complaint", "market", "closed", "satisfied"), t(8, "complaint", "market", "closed", "not_satisfied"),
            t(10, "consultation", "tax", "closed", "basically_satisfied")]
    d = digest.build(rows, since=7 * DAY, until=14 * DAY, now=12 * DAY, history=history)
    by = {x["department"]: x for x in d["departments"]}
    market = by["market"]
    # 6 dispatches: 2 on time (1, 3), 2 late (2, 4), 1 returned (6), 1 pending (5) -> 2 / 4
    assert (market["dispatched"], market["on_time"], market["late"], market["returned"], market["pending"]) == (
        6, 2, 2, 1, 1)
    assert (market["on_time_rate"], market["satisfied_rate"]) == (0.5, 0.5)
    assert (by["tax"]["dispatched"], by["tax"]["on_time_rate"], by["tax"]["satisfied_rate"]) == (1, 1.0, 1.0)
    assert (by["ecology"]["tickets"], by["ecology"]["dispatched"], by["ecology"]["on_time_rate"]) == (0, 1, None)
    lines = digest.to_csv(d).splitlines()
    assert ("department,tickets,followed_up,satisfied,satisfied_rate,overdue_open,"
            "dispatched,on_time,late,on_time_rate") in lines
    assert "market,2,2,1,0.5,0,6,2,2,0.5" in lines and "ecology,0,0,0,,0,1,0,0," in lines


def test_without_history_the_on_time_figures_are_empty_not_zero():
    d = digest.build([t(8, "complaint", "market")], since=7 * DAY, until=14 * DAY, now=9 * DAY)
    [market] = d["departments"]
    assert (market["dispatched"], market["on_time_rate"]) == (0, None)
