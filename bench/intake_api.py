"""Benchmark: call records ingested per second (batched, exactly once) and API reads per
second of a ticket list page, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.intake_api [--records 20000] [--batch 200] [--seconds 10] [--pg URL]

Ingest: records built like the intake builds them, stored with `Store.ingest_many` in
batches (record + ticket in one transaction per batch), then every batch offered a second
time: the second pass must create nothing (exactly once). API: the real aiohttp app with a
bearer token, N concurrent clients reading `GET /api/v1/tickets?limit=50&offset=...` for a
fixed time; requests per second and latency percentiles. Prints one table.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time

import aiohttp
from aiohttp import web
from sqlalchemy import text

from calls.record import CallRecord, Disposition
from tickets import routes as ticket_routes
from tickets.providers import Providers
from web.app import Deps, make_app
from tickets.store import Store

from bench.table import markdown

PG = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def record(i: int, t0: float) -> CallRecord:
    return CallRecord(linkedid=f"bench-intake-{i}", node="bench", caller=f"138{i:08d}", dialed="12345",
                      language="cmn", department=random.choice(["tax", "market", "hrss", "housing"]),
                      ivr_path=[{"node": "lang", "input": "1", "t": 2.1}, {"node": "main", "input": "2", "t": 6.0}],
                      started_at=t0 + i, answered_at=t0 + i + 12, ended_at=t0 + i + 200, wait_seconds=4.0,
                      agent="agent1002", talk_seconds=188.0, queue="hl-tax", recording=f"bench-{i}.wav",
                      disposition=Disposition.ANSWERED)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


async def own_database(url: str) -> str:
    """A database of its own next to the given one (`<name>_bench`): never the tests'."""
    import asyncpg
    from sqlalchemy.engine import make_url
    u = make_url(url)
    name = f"{u.database}_bench"
    conn = await asyncpg.connect(u.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return u.set(database=name).render_as_string(hide_password=False)


async def reset(store: Store) -> None:
    async with store.engine.begin() as c:
        for table in ("attachments", "ticket_history", "tickets", "call_records", "caller_prefs"):
            await c.execute(text(f"DELETE FROM {table}"))


async def ingest(store: Store, n: int, batch: int) -> dict:
    t0 = time.time() - 86400
    recs = [record(i, t0) for i in range(n)]
    start = time.perf_counter()
    created = 0
    for i in range(0, n, batch):
        got = await store.ingest_many([(r, "") for r in recs[i:i + batch]])
        created += sum(1 for _, new in got.values() if new)
    first = time.perf_counter() - start
    start = time.perf_counter()
    again = 0
    for i in range(0, n, batch):
        got = await store.ingest_many([(r, "") for r in recs[i:i + batch]])
        again += sum(1 for _, new in got.values() if new)
    second = time.perf_counter() - start
    assert created == n and again == 0 and await store.count_calls() == n, (created, again)
    return {"per_s": n / first, "replay_per_s": n / second, "created": created, "duplicates": again}


async def reads(store: Store, seconds: float, clients: int, port: int) -> dict:
    async def status():
        return {"ok": True}

    app = make_app(Deps(store=store, status=status))
    ticket_routes.add_routes(app, Providers(store, set()))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    token = await store.create_token("supervisor", "bench")
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def client(k: int) -> None:
        rng = random.Random(k)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                async with http.get(f"http://127.0.0.1:{port}/api/v1/tickets",
                                    params={"limit": "50", "offset": str(rng.randrange(0, 1000))}) as r:
                    body = await r.json()
                    assert r.status == 200 and len(body["items"]) == 50
                latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    took = time.perf_counter() - start
    await runner.cleanup()
    ms = [x * 1000 for x in latencies]
    return {"reads_per_s": len(ms) / took, "p50": pct(ms, 0.5), "p99": pct(ms, 0.99), "mean": statistics.fmean(ms)}


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--pg", default=PG)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for url in (f"sqlite+aiosqlite:///{tmp}/bench.db", await own_database(args.pg)):
            name = url.split("+")[0]
            print(f"[{time.strftime('%H:%M:%S')}] {name}: {args.records} records", file=sys.stderr)
            store = Store(url)
            await store.migrate()
            await reset(store)
            row = {"db": name, **await ingest(store, args.records, args.batch)}
            print(f"[{time.strftime('%H:%M:%S')}] {name}: reads for {args.seconds:g} s", file=sys.stderr)
            row.update(await reads(store, args.seconds, args.clients, 38777))
            await reset(store)
            await store.close()
            rows.append(row)
    print(markdown([("database", lambda r: r["db"]), ("records", lambda r: args.records),
                    ("batch", lambda r: args.batch), ("ingested/s", lambda r: f"{r['per_s']:,.0f}"),
                    ("replayed/s (0 created)", lambda r: f"{r['replay_per_s']:,.0f}"),
                    (f"ticket-list reads/s ({args.clients} clients, 50 per page)",
                     lambda r: f"{r['reads_per_s']:,.0f}"),
                    ("p50 ms", lambda r: f"{r['p50']:.1f}"), ("p99 ms", lambda r: f"{r['p99']:.1f}")], rows))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
