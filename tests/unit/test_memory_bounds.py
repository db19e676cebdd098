"""Memory stays flat however many calls pass: every per-call structure is bounded or
expires (a lost event, or a record that is never stored, must not grow it for ever)."""
from __future__ import annotations

import pytest

from acd import service as acd_service
from core import contract
from core import events as ev
from reports.live import Live

from .fakes import AGENTS, feed, queued, service, ue


async def test_calls_the_acd_logged_live_are_forgotten_when_stored(monkeypatch):
    svc, *_ = service(agents=AGENTS[:1])
    await feed(svc, queued("c1"), ue(contract.EV_CONNECTED, linkedid="c1", agent="1002"),
               ue(contract.EV_CALL_END, linkedid="c1"))
    assert svc.forget("c1") is True          # its queue events were logged live
    assert svc.forget("c1") is False         # and nothing of it is kept afterwards
    assert "c1" not in svc._seen and "c1" not in svc._talk_started


async def test_calls_whose_record_never_comes_are_bounded(monkeypatch):
    monkeypatch.setattr(acd_service, "MAX_REMEMBERED", 50)
    svc, *_ = service(agents=AGENTS[:1])
    for i in range(300):   # each call queued and then gone without a stored record
        await feed(svc, queued(f"c{i}"), ue(contract.EV_CALL_END, linkedid=f"c{i}"))
    assert len(svc._seen) == 50
    assert "c299" in svc._seen and "c0" not in svc._seen   # the oldest go first


def test_callback_legs_reported_are_bounded(monkeypatch):
    monkeypatch.setattr(acd_service, "MAX_REMEMBERED", 10)
    seen: dict[str, None] = {}
    for i in range(100):
        acd_service._remember(seen, f"leg{i}")
    assert list(seen) == [f"leg{i}" for i in range(90, 100)]


def test_free_to_ring_samples_are_bounded():
    stats = acd_service.Stats()
    for i in range(acd_service.FREE_TO_RING_SAMPLES + 500):
        stats.free_to_ring.append(0.01)
    assert len(stats.free_to_ring) == acd_service.FREE_TO_RING_SAMPLES


def test_free_to_ring_samples_are_read_from_where_a_reader_left_off():
    stats = acd_service.Stats(free_to_ring=acd_service.deque(maxlen=4))
    for i in range(6):
        stats.free_to_ring.append(float(i))
        stats.free_to_ring_total += 1
    assert stats.free_to_ring_since(0) == (6, [2.0, 3.0, 4.0, 5.0])   # only what the ring holds
    assert stats.free_to_ring_since(4) == (6, [4.0, 5.0])
    assert stats.free_to_ring_since(6) == (6, [])


class _Log:
    def subscribe(self, fn):
        pass


def test_the_wallboard_keeps_one_small_state_a_call_not_the_days_events():
    live = Live(_Log(), lambda: {}, clock=lambda: 1000.0)
    live.day_start = 500.0
    live._early = None   # the log has been read
    for _ in range(1000):
        live.on_event(ev.Event(1000.0, ev.AGENT_STATE, agent="1002", data={"state": "ready"}))
    for i in range(500):   # each call's menu, queue, answer and end
        for k, kind in enumerate((ev.CALL_START, ev.IVR_STEP, ev.QUEUE_JOIN, ev.AGENT_CONNECT)):
            live.on_event(ev.Event(1000.0 + k, kind, linkedid=f"c{i}", agent="1002"))
        live.on_event(ev.Event(1010.0, ev.CALL_END, linkedid=f"c{i}", data={"disposition": "answered"}))
    live.on_event(ev.Event(100.0, ev.CALL_START, linkedid="yesterday"))   # before today's start
    assert list(live.day.calls) == [f"c{i}" for i in range(500)]
    assert not hasattr(live.day.calls["c0"], "__dict__")   # slots: a few hundred bytes a call
    assert not hasattr(live, "events")
    assert live.today().calls == 500 and live.today().answered == 500


def test_events_have_no_per_instance_dict():
    e = ev.Event(1.0, ev.CALL_START, linkedid="c1")
    with pytest.raises(AttributeError):
        e.__dict__   # slots: a day of events costs a third less


def test_agi_round_trip_samples_are_a_fixed_ring():
    from hotline.metrics import Samples
    ring = Samples(size=8)
    for i in range(20):
        ring.add(float(i))
    nxt, got = ring.since(0)
    assert nxt == 20 and got == [float(i) for i in range(12, 20)]   # only what the ring still holds
    assert ring.since(18) == (20, [18.0, 19.0]) and ring.since(20) == (20, [])
    assert len(ring.ring) == 8


async def test_free_to_ring_counts_only_agents_freed_while_calls_wait():
    """Agents ready at start with no call waiting start no clock: their first ring is not
    an 'agent free -> ring' sample (benchmarks would mix the engine's start into it)."""
    svc, ami, clock, _ = service(agents=AGENTS[:1])
    await svc._load()
    assert svc.free_at == {}
    await feed(svc, queued("c1"))
    await feed(svc, {"Event": "DialBegin", "DestLinkedid": "c1", "DestChannel": "Local/1002@x",
                     "Timestamp": str(clock.t + 0.05)})
    assert list(svc.stats.free_to_ring) == []


def test_collector_pauses_are_counted_by_generation_while_installed():
    import gc
    from hotline.metrics import GcPauses
    pauses = GcPauses()
    pauses.install()
    try:
        gc.collect()   # a full collection
    finally:
        pauses.remove()
    gc.collect()       # not counted once removed
    got = pauses.status()
    assert got["collections"][2] == 1 and got["max_ms"][2] > 0
