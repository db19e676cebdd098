"""The append-only event log and the persisted agent states on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

from core import events as ev
from acd.state_store import AgentStates
from reports.event_log import EventLog



async def test_events_are_written_in_order_and_read_back_by_period(store):  # noqa: F811
    log = EventLog(store, batch=7)
    seen = []
    log.subscribe(seen.append)
    for i in range(50):
        log.append(ev.Event(1000.0 + i, ev.QUEUE_JOIN, f"c{i}", department="tax", language="yue",
                            data={"priority": "normal", "text": "排队 ' OR 1=1 --"}))
    assert len(seen) == 50 and log.backlog == 50      # listeners see events before they are stored
    assert await log.flush() == 50 and log.backlog == 0
    got = await log.read(since=1010.0, until=1020.0)
    assert [e.linkedid for e in got] == [f"c{i}" for i in range(10, 20)]
    assert got[0].data["text"] == "排队 ' OR 1=1 --" and got[0].language == "yue"


async def test_a_database_outage_keeps_events_until_it_is_back(store):  # noqa: F811
    log = EventLog(store, retry=0.05)
    real = store.sessions
    broken = True

    class Down:
        def begin(self):
            if broken:
                raise ConnectionError("database down")
            return real.begin()

        def __call__(self):
            return real()

    store.sessions = Down()
    task = asyncio.create_task(log.run())
    try:
        for i in range(20):
            log.append(ev.Event(2000.0 + i, ev.AGENT_OFFER, f"d{i}", agent="1002"))
        await asyncio.sleep(0.3)
        assert log.backlog == 20 and log.stats["write_errors"] >= 1
        broken = False
        for _ in range(100):
            if log.backlog == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        store.sessions = real
    got = await log.read(since=2000.0)
    assert [e.linkedid for e in got] == [f"d{i}" for i in range(20)]   # all of them, once each


async def test_agent_states_upsert_and_load(store):  # noqa: F811
    states = AgentStates(store)
    await states.save({"1002": {"state": "paused", "reason": "meal", "since": 5.0, "misses": 0}})
    await states.save({"1002": {"state": "ready", "reason": None, "since": 9.0, "misses": 1},
                       "1007": {"state": "logged_out", "reason": None, "since": 3.0}})
    assert await states.load() == {"1002": {"state": "ready", "reason": None, "since": 9.0, "misses": 1},
                                   "1007": {"state": "logged_out", "reason": None, "since": 3.0, "misses": 0}}
