"""Benchmark: events per second into the append-only event log (batched inserts).

    .venv/bin/python -m bench.event_log [--events 50000] [--pg postgresql+asyncpg://...]

Appends N events as the engine does (append never waits) and times until the writer has
stored them all, on SQLite and on PostgreSQL; then reads them back for today's KPIs and
times that too. Prints one table.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

from sqlalchemy import text

from core import events as ev
from reports import kpi
from reports.event_log import EventLog
from tickets.store import Store

from bench.intake_api import own_database
from bench.table import markdown

PG = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def synthetic(n: int, t0: float) -> list[ev.Event]:
    """Calls of 5 events each: start, join, offer, connect, end."""
    out = []
    for i in range(n // 5):
        lid, at = f"bench-{i}", t0 + i * 0.5
        out += [ev.Event(at, ev.CALL_START, lid), ev.Event(at + 1, ev.QUEUE_JOIN, lid, department="tax", language="cmn"),
                ev.Event(at + 2, ev.AGENT_OFFER, lid, agent="1002", data={"rule": "step 1"}),
                ev.Event(at + 3, ev.AGENT_CONNECT, lid, agent="1002"),
                ev.Event(at + 60, ev.CALL_END, lid, agent="1002", data={"disposition": "answered"})]
    return out


async def one(url: str, n: int, batch: int) -> dict:
    store = Store(url)
    await store.migrate()
    async with store.engine.begin() as c:
        await c.execute(text("DELETE FROM events"))
    log = EventLog(store, batch=batch)
    events = synthetic(n, 1_800_000_000.0)
    task = asyncio.create_task(log.run())
    t0 = time.perf_counter()
    for e in events:
        log.append(e)
    append_s = time.perf_counter() - t0
    while log.backlog:
        await asyncio.sleep(0.005)
    write_s = time.perf_counter() - t0
    task.cancel()
    t1 = time.perf_counter()
    back = await log.read(since=0)
    read_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    rows = kpi.compute(back, group_by=(), interval=86400)
    kpi_s = time.perf_counter() - t2
    await store.close()
    assert len(back) == len(events) and rows
    return {"db": url.split("+")[0], "events": len(events), "batch": batch, "append_s": append_s,
            "per_s": len(events) / write_s, "read_s": read_s, "kpi_s": kpi_s}


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--pg", default=PG)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for url in (f"sqlite+aiosqlite:///{tmp}/bench.db", await own_database(args.pg)):
            print(f"[{time.strftime('%H:%M:%S')}] {url.split('://')[0]}: {args.events} events", file=sys.stderr)
            rows.append(await one(url, args.events, args.batch))
    print(markdown([("database", lambda r: r["db"]), ("events", lambda r: r["events"]),
                    ("batch", lambda r: r["batch"]),
                    ("append µs/event", lambda r: f"{r['append_s'] / r['events'] * 1e6:.1f}"),
                    ("stored events/s", lambda r: f"{r['per_s']:,.0f}"),
                    ("read back s", lambda r: f"{r['read_s']:.2f}"), ("KPIs s", lambda r: f"{r['kpi_s']:.2f}")],
                   rows))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
