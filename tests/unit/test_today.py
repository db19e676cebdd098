"""The wallboard's running day (reports/today.py) gives the figures `kpi.compute` gives for the
same events, whatever order they arrive in, without keeping the events."""
from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from core import events as ev
from reports import kpi
from reports.live import Live
from reports.today import Today

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC).timestamp()   # 09:00 in Shanghai
DAY = datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai"))

# one call's life: (kind, seconds after it reached the centre); every case the figures tell apart
STORIES = {
    "menu_only": [(ev.CALL_START, 0), (ev.IVR_STEP, 2), (ev.CALL_END, 9, "completed_in_ivr")],
    "menu_callback": [(ev.CALL_START, 0), (ev.IVR_STEP, 2), (ev.CALLBACK_REQUESTED, 5),
                      (ev.CALL_END, 9, "completed_in_ivr")],
    "answered_fast": [(ev.CALL_START, 0), (ev.IVR_STEP, 2), (ev.QUEUE_JOIN, 4), (ev.AGENT_CONNECT, 10),
                      (ev.CALL_END, 70, "answered")],
    "answered_slow": [(ev.CALL_START, 0), (ev.QUEUE_JOIN, 3), (ev.AGENT_CONNECT, 40)],   # still talking
    "abandoned": [(ev.CALL_START, 0), (ev.QUEUE_JOIN, 3), (ev.QUEUE_ABANDON, 30), (ev.CALL_END, 30, "abandoned_in_queue")],
    "short_abandon": [(ev.CALL_START, 0), (ev.QUEUE_JOIN, 3), (ev.QUEUE_ABANDON, 5), (ev.CALL_END, 5, "abandoned_in_queue")],
    "abandoned_then_called_back": [(ev.CALL_START, 0), (ev.QUEUE_JOIN, 3), (ev.QUEUE_ABANDON, 30),
                                   (ev.CALL_END, 30, "abandoned_in_queue"), (ev.AGENT_CONNECT, 900)],
    "timed_out": [(ev.CALL_START, 0), (ev.QUEUE_JOIN, 3), (ev.QUEUE_TIMEOUT, 603), (ev.CALL_END, 603, "queue_timeout")],
    "queue_callback": [(ev.CALL_START, 0), (ev.QUEUE_JOIN, 3), (ev.CALLBACK_REQUESTED, 20),
                       (ev.CALL_END, 21, "callback_requested")],
    "transferred": [(ev.CALL_START, 0), (ev.QUEUE_JOIN, 3), (ev.AGENT_CONNECT, 10), (ev.QUEUE_JOIN, 60),
                    (ev.AGENT_CONNECT, 75), (ev.CALL_END, 120, "answered"), (ev.CALL_END, 121, "answered")],
    "waiting": [(ev.CALL_START, 0), (ev.QUEUE_JOIN, 3)],
    "hung_up_in_menu": [(ev.CALL_START, 0), (ev.CALL_END, 4, "abandoned_in_ivr")],
    "no_start_line": [(ev.QUEUE_JOIN, 3), (ev.AGENT_CONNECT, 8), (ev.CALL_END, 50, "answered")],
}


def events_of(stories: list[str]) -> list[ev.Event]:
    out = []
    for i, name in enumerate(stories):
        at = T0 + 37 * i
        for kind, dt, *disp in STORIES[name]:
            out.append(ev.Event(at + dt + i * 1e-3, kind, f"c{i}", department="tax", agent="1002",
                                data={"disposition": disp[0]} if disp else {}))
    return out


CALL_FIGURES = [f for f in kpi.figures() if not f.startswith("agent") and f != "occupancy"]


def same(a: kpi.KpiRow, b: kpi.KpiRow) -> None:
    """Every call figure alike (the wall reads no agent time: those stay None there)."""
    for f in CALL_FIGURES:
        x, y = getattr(a, f), getattr(b, f)
        if isinstance(x, float) or isinstance(y, float):
            assert x is not None and y is not None and math.isclose(x, y, abs_tol=1e-9), f
        else:
            assert x == y, f


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(sorted(STORIES)), min_size=1, max_size=30), st.randoms())
def test_the_running_day_equals_the_refolded_log_in_any_arrival_order(stories, rnd):
    log = events_of(stories)
    [want] = kpi.compute(log, group_by=(), interval=86400, tz="Asia/Shanghai")
    arrived = list(log)
    rnd.shuffle(arrived)   # the intake's record events come after the ACD's live ones
    day = Today(DAY)
    for e in arrived:
        day.add(e)
    same(day.row(), want)
    assert day.row().agent_logged_in_s is None
    assert day.row().interval_start == want.interval_start


def test_an_update_touches_only_its_own_call():
    day = Today(DAY)
    for e in events_of(["answered_fast"] * 200):
        day.add(e)
    before = day.row()
    assert before.answered == 200 and before.service_level == 1.0
    day.add(ev.Event(T0 + 5000, ev.CALL_START, "late"))
    day.add(ev.Event(T0 + 5003, ev.QUEUE_JOIN, "late"))
    now = day.row()
    assert (now.calls, now.in_queue, now.answered) == (201, 1, 200)


class _Log:
    def __init__(self, earlier):
        self.earlier = earlier

    def subscribe(self, fn):
        self.fn = fn

    async def read(self, since):
        return self.earlier


async def test_the_board_counts_an_event_seen_both_live_and_in_the_log_once():
    log = events_of(["answered_fast", "abandoned"])
    source = _Log(log)
    live = Live(source, lambda: {}, clock=lambda: T0 + 100, min_interval=0)
    live.day_start = live._midnight(T0)
    live.on_event(log[0])   # came live while the engine read the day's log, which has it too
    task = asyncio.create_task(live.run())
    try:
        while not live.loaded:
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    row = live.today()
    assert (row.calls, row.answered, row.abandoned) == (2, 1, 1)


def test_a_new_day_starts_from_nothing():
    live = Live(_Log([]), lambda: {}, clock=lambda: T0)
    live.day_start, live._early = live._midnight(T0), None
    for e in events_of(["answered_fast"] * 3):
        live.on_event(e)
    assert live.today().calls == 3
    tomorrow = T0 + 86400
    live.on_event(ev.Event(tomorrow, ev.CALL_START, "next-day"))
    assert live.today().calls == 1 and list(live.day.calls) == ["next-day"]
