"""Staffing advice per interval: Erlang C agents needed from the measured arrival rate and
handle time, against the agents actually logged in. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reports import erlang
from reports.kpi import KpiRow


@dataclass
class Advice:
    interval_start: datetime
    interval_s: int
    group: dict[str, str | None]
    offered: int
    aht: float | None              # measured; None when no answered call has ended yet
    traffic_erlangs: float | None  # offered / interval_s * aht
    agents_needed: int | None      # None when the handle time is unknown
    agents_logged_in: float | None  # average over the interval; None without agent data
    shortfall: float | None        # agents_needed - agents_logged_in; > 0: too few agents


def advise(rows: list[KpiRow], *, target_sl: float, target_s: float,
           max_occupancy: float | None = None, default_aht_s: float | None = None) -> list[Advice]:
    """One Advice per KPI row. Use rows computed with group_by=() (or ("agent",) summed) so
    that agents logged in are known. The arrival rate is the interval's offered calls: the
    calls that reached the queue, abandons included, since they needed an agent too.
    `default_aht_s` stands in when an interval has calls but no measured handle time."""
    out = []
    for r in rows:
        aht = r.aht if r.aht is not None else default_aht_s
        if r.offered == 0:
            traffic, needed = 0.0, 0
        elif aht is None:
            traffic, needed = None, None
        else:
            traffic = r.offered / r.interval_s * aht
            needed = erlang.agents_needed(r.offered, r.interval_s, aht, target_sl, target_s, max_occupancy)
        gap = None if needed is None or r.agents_logged_in is None else needed - r.agents_logged_in
        out.append(Advice(r.interval_start, r.interval_s, dict(r.group), r.offered, aht, traffic,
                          needed, r.agents_logged_in, gap))
    return out
