"""Did departments reply within their deadline? Pure: workflow history in, figures out.

A case is one dispatch of a ticket to a department made in the period (a ticket returned
and dispatched again is a second case, possibly for another department). Its deadline is
the one the dispatch set (history details `due_at`, tickets/deadlines.py: the end of the
due date). The first reply, return or new dispatch after it ends the case:

- on_time: replied at or before the deadline;
- late: replied after it, or still not replied when the deadline has passed at `now`;
- returned: sent back to the centre (or dispatched elsewhere) without a reply: the
  department gave it up rather than answering late, so it counts in neither;
- pending: not replied and not yet due.

on_time_rate = on_time / (on_time + late), None when there is nothing to judge.

A history row is {"ticket": id, "at": epoch, "action", "department", "due_at": epoch|None}.
"""
from __future__ import annotations

from itertools import groupby

ENDS = {"reply", "return", "dispatch"}
ON_TIME, LATE, RETURNED, PENDING = "on_time", "late", "returned", "pending"


def cases(history: list[dict], since: float, until: float, now: float) -> list[dict]:
    out = []
    rows = sorted(history, key=lambda r: (r["ticket"], r["at"]))
    for _, group in groupby(rows, key=lambda r: r["ticket"]):
        steps = list(group)
        for i, d in enumerate(steps):
            if d["action"] != "dispatch" or not since <= d["at"] < until:
                continue
            end = next((r for r in steps[i + 1:] if r["action"] in ENDS), None)
            due = d.get("due_at")
            if end is not None and end["action"] == "reply":
                outcome = ON_TIME if due is None or end["at"] <= due else LATE
            elif end is not None:
                outcome = RETURNED
            else:
                outcome = LATE if due is not None and now > due else PENDING
            out.append({"ticket": d["ticket"], "department": d.get("department"), "dispatched_at": d["at"],
                        "due_at": due, "replied_at": end["at"] if end and end["action"] == "reply" else None,
                        "outcome": outcome})
    return out


def by_department(history: list[dict], since: float, until: float, now: float) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for c in cases(history, since, until, now):
        d = out.setdefault(c["department"] or "unclassified",
                           {"dispatched": 0, ON_TIME: 0, LATE: 0, RETURNED: 0, PENDING: 0})
        d["dispatched"] += 1
        d[c["outcome"]] += 1
    for d in out.values():
        judged = d[ON_TIME] + d[LATE]
        d["on_time_rate"] = round(d[ON_TIME] / judged, 4) if judged else None
    return out
