"""The leadership digest: the most common matters over a period, by category and department,
with the change against the previous period of the same length, and each department's
satisfaction and overdue figures. Pure: ticket rows in, a dict out.

A row is {"created_at": epoch, "category", "department", "district", "status", "satisfaction",
"due_at"}.
- events: the period's tickets with those linked as one event (the console's hot topics:
  `event_of`, the event's first ticket) counted once; tickets without an event are one each.
- count: tickets created in the period; change: count - previous period's count; change_pct
  is None when the previous count is 0.
- satisfied_rate: (satisfied + basically_satisfied) / tickets with a follow-up result.
- overdue_open: tickets of the period past their deadline at `now` and not closed.
- on_time_rate (next to satisfied_rate): of the dispatches to the department made in the
  period, the share replied within their deadline (reports/on_time.py; `history` rows),
  with the counts dispatched, on_time, late, returned and pending.
"""
from __future__ import annotations

import csv
import io
from collections import Counter

from reports import on_time

UNKNOWN = "unclassified"
CLOSED = {"closed", "answered_on_spot"}
GOOD = {"satisfied", "basically_satisfied"}


def _top(now_rows, before_rows, key: str, top: int) -> list[dict]:
    cur = Counter((r.get(key) or UNKNOWN) for r in now_rows)
    prev = Counter((r.get(key) or UNKNOWN) for r in before_rows)
    out = []
    for name, n in sorted(cur.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        p = prev.get(name, 0)
        out.append({key: name, "count": n, "previous": p, "change": n - p,
                    "change_pct": None if p == 0 else round((n - p) / p, 4)})
    return out


def _department(name: str) -> dict:
    return {"department": name, "tickets": 0, "followed_up": 0, "satisfied": 0, "overdue_open": 0,
            "dispatched": 0, "on_time": 0, "late": 0, "returned": 0, "pending": 0, "on_time_rate": None}


def build(rows: list[dict], since: float, until: float, now: float, top: int = 10,
          history: list[dict] | None = None) -> dict:
    span = until - since
    cur = [r for r in rows if since <= r["created_at"] < until]
    prev = [r for r in rows if since - span <= r["created_at"] < since]
    depts: dict[str, dict] = {}
    for r in cur:
        name = r.get("department") or UNKNOWN
        d = depts.setdefault(name, _department(name))
        d["tickets"] += 1
        if r.get("satisfaction"):
            d["followed_up"] += 1
            d["satisfied"] += r["satisfaction"] in GOOD
        if r.get("due_at") and r["due_at"] < now and r.get("status") not in CLOSED:
            d["overdue_open"] += 1
    # dispatches of the period, whenever their tickets were created
    for name, figures in on_time.by_department(history or [], since, until, now).items():
        depts.setdefault(name, _department(name)).update(figures)
    for d in depts.values():
        d["satisfied_rate"] = round(d["satisfied"] / d["followed_up"], 4) if d["followed_up"] else None
    events = len({r.get("event_of") or r.get("id") or ("row", i) for i, r in enumerate(cur)})
    return {"from": since, "to": until, "tickets": len(cur), "events": events, "previous_tickets": len(prev),
            "by_category": _top(cur, prev, "category", top), "by_department": _top(cur, prev, "department", top),
            "by_district": _top(cur, prev, "district", top),
            "departments": sorted(depts.values(), key=lambda d: (-d["tickets"], d["department"]))}


def to_csv(d: dict) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "name", "count", "previous", "change", "change_pct"])
    for section, key in (("category", "category"), ("department", "department"), ("district", "district")):
        for r in d[f"by_{key}"]:
            w.writerow([section, r[key], r["count"], r["previous"], r["change"],
                        "" if r["change_pct"] is None else r["change_pct"]])
    w.writerow([])
    # new columns go at the end: spreadsheets made from earlier exports keep their columns
    w.writerow(["department", "tickets", "followed_up", "satisfied", "satisfied_rate", "overdue_open",
                "dispatched", "on_time", "late", "on_time_rate"])
    for r in d["departments"]:
        w.writerow([r["department"], r["tickets"], r["followed_up"], r["satisfied"],
                    "" if r["satisfied_rate"] is None else r["satisfied_rate"], r["overdue_open"],
                    r["dispatched"], r["on_time"], r["late"], "" if r["on_time_rate"] is None else r["on_time_rate"]])
    return out.getvalue()
