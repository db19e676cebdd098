"""Missed-call callbacks (漏接电话回拨) on real Asterisk, both databases: a caller who hangs up
after 10 s in the queue is called back exactly once, the agent's line first, then the citizen
through the outbound route, and the outcome is on the abandoned call's ticket; a caller who
hung up and then got through on a second call is not called back."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from .conftest import TEST_ACD, call, ticket_for, until

ON = dataclasses.replace(TEST_ACD, default_steps=TEST_ACD.default_steps[:2],   # no overflow: housing waits for 1005
                         missed_callbacks=True, missed_min_wait_seconds=5.0)


@pytest.fixture()
def seen(hotline):
    got = []
    unsubscribe = hotline.engine.events.subscribe(got.append)
    yield got
    unsubscribe()


@pytest.fixture()
async def missed_on(hotline):
    acd = hotline.engine.acd
    await acd.configure(ON)
    await acd.agent_action("1005", "pause", "test", by="test")
    yield acd
    if acd.board.agent("1005").state == "paused":
        await acd.agent_action("1005", "unpause", by="test")
    await until(lambda: acd.board.agent("1005").call is None, 30, "1005 free")
    await acd.configure(TEST_ACD)


async def callback_rows(store, ticket_id: int) -> list[dict]:
    return [h["details"] for h in await store.history(ticket_id) if h["action"] == "callback"]


async def test_a_caller_who_hangs_up_after_10_s_in_the_queue_is_called_back_once_agent_first(
        hotline, driver, seen, missed_on):
    s, store, acd = hotline.settings, hotline.store, missed_on
    lid = await call(driver, s, "12329", caller="13500000021", wait=1, talk=10)
    await until(lambda: any(e.kind == "queue_abandon" and e.linkedid == lid for e in seen), 30, "the abandon")
    listed = next(e for e in seen if e.kind == "missed_listed" and e.linkedid == lid)
    assert listed.data["waited"] >= 8 and listed.data["where"] == "queue"
    t = await ticket_for(store, lid)
    assert t["disposition"] == "abandoned_in_queue"
    await acd.agent_action("1005", "unpause", by="test")
    await until(lambda: any(e.kind == "callback_done" and e.linkedid == lid for e in seen), 60, "the callback")
    offer = next(e for e in seen if e.kind == "agent_offer" and e.linkedid == lid)
    assert offer.agent == "1005" and offer.data["callback"] is True
    leg = await ticket_for(store, f"{lid}-cb1")      # the agent's leg, which then dialled the citizen
    assert (leg["dialed"], leg["agent"], leg["disposition"]) == ("callback", "agent1005", "answered")
    await asyncio.sleep(8)                              # nothing more goes out
    assert [e.data["attempt"] for e in seen if e.kind in ("callback_done", "callback_failed")
            and e.linkedid == lid] == [1]
    assert not await store.tickets(linkedid=f"{lid}-cb2", limit=1)
    rows = await until(lambda: _rows_with(store, t["id"], "reached"), 30, "the outcome on the ticket")
    assert [r["result"] for r in rows] == ["listed", "reached"]
    assert rows[1]["agent"] == "1005" and rows[1]["missed"] is True


async def _rows_with(store, ticket_id, result):
    rows = await callback_rows(store, ticket_id)
    return rows if any(r["result"] == result for r in rows) else None


async def test_a_caller_who_got_through_on_a_second_call_is_not_called_back(hotline, driver, seen, missed_on):
    s, store, acd = hotline.settings, hotline.store, missed_on
    first = await call(driver, s, "12329", caller="13500000022", wait=1, talk=10)
    await until(lambda: any(e.kind == "missed_listed" and e.linkedid == first for e in seen), 30, "listed")
    second = await call(driver, s, "12329", caller="13500000022", wait=1, talk=8)
    await until(lambda: any(e.kind == "queue_join" and e.linkedid == second for e in seen), 20, "second waits")
    await acd.agent_action("1005", "unpause", by="test")
    t2 = await ticket_for(store, second, timeout=60)
    assert (t2["agent"], t2["disposition"]) == ("agent1005", "answered")
    cancelled = next(e for e in seen if e.kind == "callback_cancelled" and e.linkedid == first)
    assert cancelled.data == {"reason": "got through", "call": second, "attempts": 0}
    await asyncio.sleep(8)
    assert not any(e.kind == "agent_offer" and e.linkedid == first for e in seen)   # never dialled
    assert not await store.tickets(linkedid=f"{first}-cb1", limit=1)
    t1 = await ticket_for(store, first)
    rows = await until(lambda: _rows_with(store, t1["id"], "cancelled"), 30, "the outcome on the ticket")
    assert [r["result"] for r in rows] == ["listed", "cancelled"]
