"""Scorecards: each department's and each agent's figures for a month. Pure: rows in, figures out.

Departments (the regulation scores each unit on response, resolution and satisfaction). A
**case** is one dispatch of a ticket to a department made in the month (a ticket returned and
dispatched again is a second case). The next return or dispatch of the ticket ends the case.

- dispatched: the month's cases.
- responded: cases the department accepted within `response_hours` (24) of the dispatch.
  response_rate = responded / dispatched.
- resolved: cases the department replied to and whose ticket was not reopened after that reply.
  resolution_rate = resolved / dispatched.
- followed_up / satisfied: cases replied to whose first follow-up after the reply has a result /
  is satisfied or basically satisfied. satisfaction_rate = satisfied / followed_up.
- on_time: replied at or before the deadline (the dispatch's, moved by approved extensions made
  before the reply); late: replied after it, or not replied when it passed (at `now`); a case
  returned without a reply is neither, nor is one not yet due. on_time_rate = on_time /
  (on_time + late).
- objections: cases the department returned (退单); upheld / refused: the supervisor's decision
  (the next dispatch's `objection`). upheld_rate = upheld / (upheld + refused).

Agents (the call's agent on the record):
- calls: answered calls; aht: their mean talk seconds (answer to hang-up, wrap-up not included).
- rated: calls the citizen rated (一次一评); rating: their mean key (1 satisfied, 2 basically,
  3 not); rating_satisfied_rate = keys 1 and 2 / rated.
- on_spot: tickets of the agent's calls answered on the spot (answer_on_spot) in the month.

A rate whose denominator is zero is None (shown empty), never 0.

History rows: {"ticket", "at" (epoch), "action", "details"}; call rows: {"agent", "talk_seconds",
"rating"}; on-spot rows: {"agent"}.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from itertools import groupby

GOOD = {"satisfied", "basically_satisfied"}

DEFINITIONS = {
    "dispatched": "Dispatches of a ticket to the department made in the month (each is one case).",
    "response_rate": "Cases the department accepted within the response time (hours) of the dispatch / cases.",
    "resolution_rate": "Cases replied to by the department and not reopened after the reply / cases.",
    "satisfaction_rate": "Satisfied or basically satisfied follow-ups after the reply / follow-ups with a result.",
    "on_time_rate": "Replies at or before the deadline (moved by approved extensions) / replies and cases past their "
                    "deadline without a reply.",
    "objections": "Cases the department returned (退单); upheld: the supervisor reassigned them, refused: sent back.",
    "calls": "Calls the agent answered in the month.",
    "aht": "Mean talk seconds of those calls (answer to hang-up, without wrap-up).",
    "rating": "Mean key of the citizens' ratings of those calls (1 satisfied, 2 basically, 3 not; 一次一评).",
    "rating_satisfied_rate": "Ratings 1 or 2 / calls rated.",
    "on_spot": "Tickets of the agent's calls answered on the spot in the month.",
}


@dataclass
class DepartmentCard:
    department: str
    dispatched: int = 0
    responded: int = 0
    resolved: int = 0
    followed_up: int = 0
    satisfied: int = 0
    on_time: int = 0
    late: int = 0
    objections: int = 0
    upheld: int = 0
    refused: int = 0
    response_rate: float | None = None
    resolution_rate: float | None = None
    satisfaction_rate: float | None = None
    on_time_rate: float | None = None
    upheld_rate: float | None = None


@dataclass
class AgentCard:
    agent: str
    calls: int = 0
    aht: float | None = None
    rated: int = 0
    rating: float | None = None
    rating_satisfied_rate: float | None = None
    on_spot: int = 0
    _talk: float = 0.0
    _keys: int = 0
    _good: int = 0


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def departments(history: list[dict], since: float, until: float, now: float,
                response_hours: float = 24.0) -> list[DepartmentCard]:
    cards: dict[str, DepartmentCard] = {}
    rows = sorted(history, key=lambda r: (r["ticket"], r["at"]))
    for _, group in groupby(rows, key=lambda r: r["ticket"]):
        steps = list(group)
        for i, d in enumerate(steps):
            if d["action"] != "dispatch" or not since <= d["at"] < until:
                continue
            dept = (d.get("details") or {}).get("department")
            if not dept:
                continue
            c = cards.setdefault(dept, DepartmentCard(dept))
            c.dispatched += 1
            rest = steps[i + 1:]
            end = next((j for j, r in enumerate(rest) if r["action"] in ("dispatch", "return")), len(rest))
            during, after = rest[:end], rest[end:]
            due = (d.get("details") or {}).get("due_at")
            accept = next((r for r in during if r["action"] == "accept"), None)
            reply = next((r for r in during if r["action"] == "reply"), None)
            if accept is not None and accept["at"] - d["at"] <= response_hours * 3600:
                c.responded += 1
            if reply is not None:
                later = [r for r in steps if r["at"] > reply["at"]]
                if not any(r["action"] == "reopen" for r in later):
                    c.resolved += 1
                follow = next((r for r in later if r["action"] == "follow_up"), None)
                if follow is not None and (follow.get("details") or {}).get("result"):
                    c.followed_up += 1
                    c.satisfied += follow["details"]["result"] in GOOD
                for r in during:   # approved extensions before the reply move the deadline
                    x = r.get("details") or {}
                    if r["action"] == "extend" and x.get("approved") and x.get("due_at") is not None \
                            and r["at"] <= reply["at"]:
                        due = x["due_at"]
                if due is None or reply["at"] <= due:
                    c.on_time += 1
                else:
                    c.late += 1
            elif end < len(rest) and rest[end]["action"] == "return":
                c.objections += 1
                decision = next((r for r in after if r["action"] == "dispatch"), None)
                verdict = (decision.get("details") or {}).get("objection") if decision else None
                c.upheld += verdict == "upheld"
                c.refused += verdict == "refused"
            elif end == len(rest):
                for r in during:
                    x = r.get("details") or {}
                    if r["action"] == "extend" and x.get("approved") and x.get("due_at") is not None:
                        due = x["due_at"]
                if due is not None and due < now:
                    c.late += 1
    for c in cards.values():
        c.response_rate = _rate(c.responded, c.dispatched)
        c.resolution_rate = _rate(c.resolved, c.dispatched)
        c.satisfaction_rate = _rate(c.satisfied, c.followed_up)
        c.on_time_rate = _rate(c.on_time, c.on_time + c.late)
        c.upheld_rate = _rate(c.upheld, c.upheld + c.refused)
    return sorted(cards.values(), key=lambda c: (-c.dispatched, c.department))


def agents(calls: list[dict], on_spot: list[dict]) -> list[AgentCard]:
    cards: dict[str, AgentCard] = defaultdict(lambda: AgentCard(""))
    for r in calls:
        if not r.get("agent"):
            continue
        c = cards[r["agent"]]
        c.agent = r["agent"]
        c.calls += 1
        c._talk += r.get("talk_seconds") or 0.0
        if r.get("rating") in (1, 2, 3):
            c.rated += 1
            c._keys += r["rating"]
            c._good += r["rating"] in (1, 2)
    for r in on_spot:
        if r.get("agent"):
            c = cards[r["agent"]]
            c.agent = r["agent"]
            c.on_spot += 1
    for c in cards.values():
        c.aht = round(c._talk / c.calls, 1) if c.calls else None
        c.rating = round(c._keys / c.rated, 2) if c.rated else None
        c.rating_satisfied_rate = _rate(c._good, c.rated)
    return sorted(cards.values(), key=lambda c: (-c.calls, c.agent))


def public(card) -> dict:
    return {k: v for k, v in asdict(card).items() if not k.startswith("_")}


def columns(kind: type) -> list[str]:
    return [f.name for f in fields(kind) if not f.name.startswith("_")]
