"""The wall screen's figures and alarms from a live snapshot and today's KPI row."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from core import events as ev
from reports import kpi, wallboard


def snap(waiting=(), agents=()):
    return {"now": 1000.0, "waiting": list(waiting), "agents": list(agents)}


def agent(aid, state, skills=(("tax", "cmn"),), reason=None):
    return {"id": aid, "name": aid, "state": state, "reason": reason, "seconds": 12.0,
            "skills": [{"department": d, "language": lang, "level": 3} for d, lang in skills]}


def waiting(lid, dept, lang, waited, callback=False):
    return {"linkedid": lid, "department": dept, "language": lang, "waited": waited, "callback": callback}


def test_queues_are_grouped_by_department_and_language_longest_first():
    b = wallboard.build(snap([waiting("a", "tax", "cmn", 10), waiting("b", "tax", "cmn", 40, True),
                              waiting("c", "tax", "yue", 5)], [agent("1", "ready")]), None)
    assert [(q["department"], q["language"], q["waiting"], q["longest_s"], q["callbacks"]) for q in b["queues"]] == \
        [("tax", "cmn", 2, 40, 1), ("tax", "yue", 1, 5, 0)]
    assert b["waiting"] == 3 and b["longest_wait_s"] == 40 and b["alarms"] == []


def test_agents_by_state_with_pause_reasons():
    b = wallboard.build(snap([], [agent("1", "ready"), agent("2", "paused", reason="meal"),
                                  agent("3", "paused", reason="meal"), agent("4", "on_call")]), None)
    assert b["agents"]["by_state"] == {"ready": 1, "paused": 2, "on_call": 1}
    assert b["agents"]["paused_reasons"] == {"meal": 2}


def test_alarms_cross_thresholds():
    t = wallboard.Thresholds(max_wait_s=30)
    b = wallboard.build(snap([waiting("a", "hrss", "yue", 31)], [agent("1", "ready")]), None, t)
    assert {a["id"] for a in b["alarms"]} == {"longest-wait", "no-agent"}


def row_from(events):
    [r] = kpi.compute(events, group_by=(), interval=86400, tz="Asia/Shanghai")
    return r


def test_todays_rates_from_the_event_log_and_their_alarms():
    t0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC).timestamp()
    log = []
    # 10 calls: 6 answered within 15 s, 1 answered after 40 s, 3 abandoned after 20 s
    for i in range(10):
        lid, at = f"c{i}", t0 + i * 60
        log += [ev.Event(at, ev.CALL_START, lid), ev.Event(at + 1, ev.QUEUE_JOIN, lid, department="tax")]
        if i < 6:
            log += [ev.Event(at + 5, ev.AGENT_CONNECT, lid, agent="1")]
        elif i == 6:
            log += [ev.Event(at + 41, ev.AGENT_CONNECT, lid, agent="1")]
        else:
            log += [ev.Event(at + 21, ev.QUEUE_ABANDON, lid)]
        log += [ev.Event(at + 50, ev.CALL_END, lid, data={"disposition": "answered" if i < 7 else "abandoned_in_queue"})]
    b = wallboard.build(snap(), row_from(log))
    assert b["today"]["offered"] == 10 and b["today"]["answered"] == 7
    assert b["today"]["service_level"] == 0.6 and b["today"]["abandon_rate"] == 0.3
    assert {a["id"] for a in b["alarms"]} == {"service-level", "abandon-rate"}


class _NoLog:
    def subscribe(self, fn):
        pass


async def test_a_clusters_nodes_are_read_when_a_board_is_asked_for_and_watched_only_while_a_screen_listens():
    from reports.live import Live
    live = Live(_NoLog(), lambda: {"agents": [], "calls": [], "waiting": []}, clock=lambda: 1000.0)
    reads = []

    async def refresh():
        reads.append(1)
        live.set_nodes([{"name": "node1", "healthy": len(reads) < 2}])

    live.refresh_nodes = refresh
    assert not live.watched
    board = await live.fresh_board()
    assert reads == [1] and board["nodes"] == [{"name": "node1", "healthy": True}]
    q = live.listen()
    assert live.watched
    await asyncio.wait_for(live.until_watched(), 1)
    live.unlisten(q)
    assert not live.watched
    waiting = asyncio.create_task(live.until_watched())
    await asyncio.sleep(0.01)
    assert not waiting.done()     # nobody watches: the nodes' watcher sleeps
    live.listen()
    await asyncio.wait_for(waiting, 1)
