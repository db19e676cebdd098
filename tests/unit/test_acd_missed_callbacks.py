"""Missed-call callbacks (漏接电话回拨) in the ACD fed with AMI events, without sockets: a call
abandoned in the queue goes on the callback list and is called back once, agent first; a
caller who got through on a later call is not called back; one callback per number; the
menu's hang-ups by setting; the KPI of missed calls called back within 30 minutes."""
from __future__ import annotations

import dataclasses

from acd import callbacks
from acd import config as acd_config
from acd.outcomes import details
from core import contract
from core import events as ev
from reports import kpi

from .fakes import AGENTS, feed, queued, service, ue

ON = acd_config.load({"wrapup_seconds": 5, "rona_max_misses": 2, "relax": {"default": ["0:3", "10:1::cmn"]},
                      "missed_callbacks": True, "missed_min_wait_seconds": 5})


def caller(ami, lid, number):
    ami.vars[(f"Local/{lid};1", "CALLERID(num)")] = number


async def test_a_call_abandoned_after_10_s_is_called_back_once_agent_first():
    svc, ami, clock, events = service(ON, agents=AGENTS[:1])
    await svc.agent_action("1002", "pause", "meal")
    caller(ami, "a", "13800138001")
    await feed(svc, queued("a"))
    clock.t += 10
    await feed(svc, ue(contract.EV_CALL_END, linkedid="a"))
    kinds = [e.kind for e in events]
    assert kinds[-2:] == [ev.QUEUE_ABANDON, ev.MISSED_LISTED]
    assert events[-1].data == {"waited": 10.0, "where": "queue"}
    await svc.agent_action("1002", "unpause")
    await feed(svc)
    originates = ami.of("Originate")
    # the agent's line is rung first (into the callback context, which then dials the citizen)
    assert len(originates) == 1 and originates[0]["Context"] == contract.CALLBACK
    assert originates[0]["Channel"] == svc.agents["1002"].interface
    assert "HL_CB_NUMBER=13800138001" in originates[0]["Variable"]
    leg = originates[0]["ChannelId"]
    await feed(svc, ue(contract.EV_CONNECTED, linkedid=leg, agent="1002"))
    await feed(svc, ue(contract.EV_CB_DONE, of="a", status="ANSWER", linkedid=leg), ue(contract.EV_CALL_END, linkedid=leg))
    for _ in range(5):
        clock.t += 10
        await feed(svc)
    assert len(ami.of("Originate")) == 1
    done = [e for e in events if e.kind == ev.CALLBACK_DONE]
    assert [(e.linkedid, e.data["missed"], e.data["last"]) for e in done] == [("a", True, True)]
    assert details(done[0])["result"] == "reached"


async def test_a_caller_who_got_through_on_a_second_call_is_not_called_back():
    svc, ami, clock, events = service(ON, agents=AGENTS[:1])
    await svc.agent_action("1002", "pause", "meal")
    caller(ami, "a", "13800138002")
    caller(ami, "b", "13800138002")
    await feed(svc, queued("a"))
    clock.t += 10
    await feed(svc, ue(contract.EV_CALL_END, linkedid="a"))
    clock.t += 30
    await feed(svc, queued("b"))                  # the citizen calls again
    assert [c.linkedid for c in svc.board.waiting()] == ["b"]   # the callback is held back meanwhile
    await svc.agent_action("1002", "unpause")
    await feed(svc)
    assert ami.of("Redirect")[-1]["Channel"] == "Local/b;1"
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="b", agent="1002"))
    cancelled = [e for e in events if e.kind == ev.CALLBACK_CANCELLED]
    assert [(e.linkedid, e.data["reason"], e.data["call"]) for e in cancelled] == [("a", "got through", "b")]
    await feed(svc, ue(contract.EV_CALL_END, linkedid="b"))
    for _ in range(5):
        clock.t += 10
        await feed(svc)
    assert not ami.of("Originate") and not svc.board.calls


async def test_a_second_call_abandoned_too_leaves_one_callback_in_the_first_ones_place():
    svc, ami, clock, events = service(ON, agents=AGENTS[:1])
    await svc.agent_action("1002", "pause", "meal")
    for lid in ("a", "b"):
        caller(ami, lid, "13800138003")
    await feed(svc, queued("a"))
    clock.t += 10
    await feed(svc, ue(contract.EV_CALL_END, linkedid="a"), queued("b"))
    clock.t += 10
    await feed(svc, ue(contract.EV_CALL_END, linkedid="b"))
    assert [e.linkedid for e in events if e.kind == ev.MISSED_LISTED] == ["a"]   # one per number
    await feed(svc)
    assert [c.linkedid for c in svc.board.waiting()] == ["a"]
    await svc.agent_action("1002", "unpause")
    await feed(svc)
    assert len(ami.of("Originate")) == 1


async def test_short_abandons_unknown_numbers_and_the_setting_off_get_no_callback():
    svc, ami, clock, events = service(ON, agents=AGENTS[:1])
    await svc.agent_action("1002", "pause", "meal")
    caller(ami, "a", "13800138004")
    await feed(svc, queued("a"), queued("b"))    # b: no callable number
    clock.t += 3
    await feed(svc, ue(contract.EV_CALL_END, linkedid="a"))   # gone after 3 s: a short abandon
    clock.t += 10
    await feed(svc, ue(contract.EV_CALL_END, linkedid="b"))
    assert not [e for e in events if e.kind == ev.MISSED_LISTED] and not svc.board.calls
    off, ami2, clock2, events2 = service(agents=AGENTS[:1])       # the default: off
    await off.agent_action("1002", "pause", "meal")
    caller(ami2, "c", "13800138005")
    await feed(off, queued("c"))
    clock2.t += 20
    await feed(off, ue(contract.EV_CALL_END, linkedid="c"))
    assert not off.board.calls


async def test_a_hang_up_in_the_menu_is_listed_only_by_setting():
    svc, ami, clock, events = service(ON, agents=AGENTS[:1])
    svc.missed_in_menu("m1", "13800138006", "tax", "cmn", clock() - 40, 40)
    assert not svc.board.calls
    svc.cfg = dataclasses.replace(ON, missed_menu_seconds=30)
    await svc.agent_action("1002", "pause", "meal")
    svc.missed_in_menu("m2", "13800138006", "tax", "cmn", clock() - 20, 20)     # too short
    svc.missed_in_menu("m3", "13800138006", "tax", "cmn", clock() - 40, 40)
    assert [c.linkedid for c in svc.board.waiting()] == ["m3"]
    assert events[-1].data["where"] == "menu"


def test_the_pure_decision_says_why_not():
    kw = dict(enabled=True, min_wait=5, listed=["139"], live=["137"])
    assert callbacks.missed("138", 10, **kw) is None
    assert callbacks.missed("139", 10, **kw) == "listed already"
    assert callbacks.missed("137", 10, **kw) == "calling now"
    assert callbacks.missed("138", 4.9, **kw) == "short"
    assert callbacks.missed("", 10, **kw) == "no callable number"
    assert callbacks.missed("138", 10, **{**kw, "enabled": False}) == "off"


def test_the_share_of_missed_calls_called_back_within_30_minutes():
    e = ev.Event
    log = [e(0, ev.QUEUE_JOIN, "a"), e(10, ev.QUEUE_ABANDON, "a"), e(10, ev.MISSED_LISTED, "a"),
           e(100, ev.AGENT_CONNECT, "a", agent="1002"), e(120, ev.CALLBACK_DONE, "a"),           # 110 s: in time
           e(0, ev.MISSED_LISTED, "b"), e(2000, ev.CALLBACK_DONE, "b"),                           # too late
           e(0, ev.MISSED_LISTED, "c"), e(50, ev.CALLBACK_CANCELLED, "c", data={"reason": "got through"}),
           e(0, ev.MISSED_LISTED, "d")]                                                           # not yet
    assert kpi.missed_callbacks(log) == {"missed": 4, "called_back": 2, "called_back_30m": 1, "got_through": 1,
                                         "rate_30m": round(1 / 3, 4)}
    # the callback's connect does not turn the abandoned call into an answered one
    rows = kpi.compute([x for x in log if x.linkedid == "a"], group_by=(), interval=3600, until=4000)
    assert (rows[0].answered, rows[0].abandoned) == (0, 1)
