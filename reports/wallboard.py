"""What the wall screen shows, built from the ACD's live snapshot and today's KPI row. Pure.

Alarms (ids are stable; thresholds come from `Thresholds`):
- longest-wait       a call has waited longer than `max_wait_s`
- service-level      today's share answered within 15 s is below `min_service_level`
- abandon-rate       today's abandon rate is above `max_abandon_rate`
- no-agent           calls wait in a department with no agent logged in who has its skill
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from reports.kpi import KpiRow


@dataclass(frozen=True)
class Thresholds:
    max_wait_s: float = 60.0
    min_service_level: float = 0.80
    max_abandon_rate: float = 0.05
    min_calls_for_rates: int = 5    # rates on fewer offered calls are noise, not alarms


def build(snapshot: dict, today: KpiRow | None, t: Thresholds = Thresholds()) -> dict:
    waiting = snapshot.get("waiting", [])
    agents = snapshot.get("agents", [])
    queues: dict[tuple[str, str], dict] = {}
    for c in waiting:
        q = queues.setdefault((c["department"], c["language"]),
                              {"department": c["department"], "language": c["language"], "waiting": 0,
                               "longest_s": 0.0, "callbacks": 0})
        q["waiting"] += 1
        q["longest_s"] = max(q["longest_s"], c["waited"])
        q["callbacks"] += bool(c.get("callback"))
    by_state: dict[str, int] = defaultdict(int)
    reasons: dict[str, int] = defaultdict(int)
    for a in agents:
        by_state[a["state"]] += 1
        if a["state"] == "paused":
            reasons[a["reason"] or "?"] += 1
    figures = {
        "offered": today.offered if today else 0,
        "answered": today.answered if today else 0,
        "answered_within_15s": today.answered_within_sl if today else 0,
        "service_level": today.service_level if today else None,
        "abandoned": today.abandoned if today else 0,
        "abandon_rate": today.abandon_rate if today else None,
        "short_abandons": today.short_abandons if today else 0,
        "callbacks_requested": today.callbacks_requested if today else 0,
        "asa": today.asa if today else None,
    }
    alarms = []
    longest = max((c["waited"] for c in waiting), default=0.0)
    if longest > t.max_wait_s:
        alarms.append({"id": "longest-wait", "text": f"a call has waited {longest:.0f} s (limit {t.max_wait_s:.0f} s)"})
    base = (today.offered - today.short_abandons) if today else 0
    if base >= t.min_calls_for_rates:
        if figures["service_level"] is not None and figures["service_level"] < t.min_service_level:
            alarms.append({"id": "service-level", "text": f"answered within 15 s: {figures['service_level']:.0%} "
                                                          f"(target {t.min_service_level:.0%})"})
        if figures["abandon_rate"] is not None and figures["abandon_rate"] > t.max_abandon_rate:
            alarms.append({"id": "abandon-rate", "text": f"abandon rate {figures['abandon_rate']:.0%} "
                                                         f"(limit {t.max_abandon_rate:.0%})"})
    staffed = {s["department"] for a in agents if a["state"] not in ("logged_out",) for s in a["skills"]}
    for dept in sorted({c["department"] for c in waiting} - staffed):
        alarms.append({"id": "no-agent", "text": f"calls wait for {dept} and no agent with that skill is logged in"})
    return {
        "at": snapshot.get("now"),
        "queues": sorted(queues.values(), key=lambda q: (-q["longest_s"], q["department"], q["language"])),
        "waiting": len(waiting), "longest_wait_s": longest,
        "agents": {"by_state": dict(by_state), "paused_reasons": dict(reasons),
                   "list": [{k: a[k] for k in ("id", "name", "state", "reason", "seconds")} for a in agents]},
        "today": figures, "alarms": alarms,
    }
