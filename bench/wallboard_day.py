"""What one wallboard update costs as the day fills: the running day (reports/today.py) against
refolding the day's events (`kpi.compute`, what the wallboard did before), and the memory each
keeps, at a day of N calls (default: 2,000, 20,000 and Beijing's peak day of 56,000).

    .venv/bin/python -m bench.wallboard_day [--calls 2000,20000,56000]

Each call has the events of an answered call through the menu (start, two menu steps, queue
join, offer, connect, end). "update" is one event added and the row read, as a push does.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from datetime import UTC, datetime

from bench.table import markdown
from core import events as ev
from reports import kpi
from reports.today import Today

T0 = datetime(2026, 12, 1, 0, 30, tzinfo=UTC).timestamp()


def day_of(n: int) -> list[ev.Event]:
    out = []
    for i in range(n):
        at, lid = T0 + i * 1.5, f"1764550000.{i}"
        out += [ev.Event(at, ev.CALL_START, lid, department="tax", language="cmn"),
                ev.Event(at + 2, ev.IVR_STEP, lid, data={"node": "root"}),
                ev.Event(at + 5, ev.IVR_STEP, lid, data={"node": "tax"}),
                ev.Event(at + 6, ev.QUEUE_JOIN, lid, queue="tax-cmn", department="tax", language="cmn"),
                ev.Event(at + 9, ev.AGENT_OFFER, lid, agent="1002"),
                ev.Event(at + 12, ev.AGENT_CONNECT, lid, agent="1002"),
                ev.Event(at + 200, ev.CALL_END, lid, data={"disposition": "answered"})]
    return out


def measure(n: int) -> dict:
    events = day_of(n)
    kept = list(events)   # what the wallboard kept before: the day's events
    start = datetime.fromtimestamp(T0, kpi.ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, second=0)

    t = time.perf_counter()
    reps = 3
    for _ in range(reps):
        kpi.compute(kept, group_by=(), interval=86400, tz="Asia/Shanghai")
    refold_ms = (time.perf_counter() - t) / reps * 1000

    del kept
    gc.collect()
    tracemalloc.start()
    day = Today(start)
    for e in events:
        day.add(e)
    today_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    late = [ev.Event(T0 + n * 1.5 + k, ev.CALL_START, f"late.{k}") for k in range(1000)]
    t = time.perf_counter()
    for e in late:
        day.add(e)
        day.row()
    update_us = (time.perf_counter() - t) / len(late) * 1e6
    return {"calls": f"{n:,}", "events": f"{len(events):,}",
            "refold update ms": f"{refold_ms:.1f}", "running day update µs": f"{update_us:.1f}",
            "events kept MiB": f"{_events_mib(events):.1f}", "running day MiB": f"{today_bytes / 2**20:.1f}"}


def _events_mib(events: list[ev.Event]) -> float:
    """The events' own memory (built again under tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    copy = [ev.Event.from_dict(e.to_dict()) for e in events]
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del copy
    return size / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", default="2000,20000,56000")
    args = ap.parse_args()
    rows = []
    for n in (int(x) for x in args.calls.split(",")):
        print(f"[{time.strftime('%H:%M:%S')}] a day of {n:,} calls", file=sys.stderr, flush=True)
        rows.append(measure(n))
    print(markdown([(k, lambda r, k=k: r[k]) for k in rows[0]], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
