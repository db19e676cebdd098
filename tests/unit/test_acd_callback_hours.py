"""Callback hours: a callback whose turn comes at night waits for the window, in its place."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from acd import callback_hours
from acd import config as acd_config
from core import contract
from core.errors import ConfigInvalid

from .fakes import AGENTS, feed, queued, service, ue

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SH).timestamp()


def test_next_opening_is_today_before_the_window_and_tomorrow_after_it():
    w = callback_hours.parse("08:00-21:00")
    assert callback_hours.next_opening(at("2026-11-30 12:00"), w, "Asia/Shanghai") is None
    assert callback_hours.next_opening(at("2026-11-30 07:59"), w, "Asia/Shanghai") == at("2026-11-30 08:00")
    assert callback_hours.next_opening(at("2026-11-30 21:00"), w, "Asia/Shanghai") == at("2026-12-01 08:00")
    assert callback_hours.next_opening(at("2026-11-30 23:59"), None, "Asia/Shanghai") is None
    assert callback_hours.next_opening(at("2026-11-30 23:59"), callback_hours.parse("24h"), "Asia/Shanghai") is None
    lunch = callback_hours.parse("08:00-12:00,13:00-21:00")
    assert callback_hours.next_opening(at("2026-11-30 12:30"), lunch, "Asia/Shanghai") == at("2026-11-30 13:00")


@pytest.mark.parametrize("bad", ["8-21", "21:00-08:00", "08:00-08:00", "25:00-26:00", "08:00-21:00;", 8, "", "closed"])
def test_bad_windows_are_refused_naming_the_key(bad):
    with pytest.raises(ConfigInvalid, match="callback_hours"):
        acd_config.load({"callback_hours": bad})


async def test_a_callback_due_at_night_waits_for_the_window_and_keeps_its_place():
    svc, ami, clock, events = service(agents=AGENTS[:1])
    svc.cfg = dataclasses.replace(svc.cfg, callback_hours=callback_hours.parse("08:00-21:00"))
    clock.t = at("2026-11-30 20:58")
    await svc.agent_action("1002", "pause", "meal")
    ami.vars[("Local/b;1", "CALLERID(num)")] = "13800138000"
    await feed(svc, queued("a", since=clock.t - 10), queued("b", since=clock.t - 9))
    await feed(svc, ue(contract.EV_CB_REQ, linkedid="b"), ue(contract.EV_CALL_END, linkedid="b"))
    clock.t = at("2026-11-30 21:30")
    await feed(svc, queued("c", since=clock.t))
    await svc.agent_action("1002", "unpause")
    await feed(svc)
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="a", agent="1002"), ue(contract.EV_CALL_END, linkedid="a"))
    clock.t += 6
    await feed(svc)
    # 21:30: nobody is called back; the live caller c is served instead
    assert not ami.of("Originate")
    assert ami.of("Redirect")[-1]["Channel"] == "Local/c;1"
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="c", agent="1002"), ue(contract.EV_CALL_END, linkedid="c"))
    clock.t = at("2026-12-01 07:59")
    await feed(svc, queued("d", since=clock.t))
    await feed(svc)
    assert ami.of("Redirect")[-1]["Channel"] == "Local/d;1"
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="d", agent="1002"), queued("e", since=clock.t + 1))
    await feed(svc, ue(contract.EV_CALL_END, linkedid="d"))
    clock.t = at("2026-12-01 08:00")
    await feed(svc)
    # 08:00: the callback is back, ahead of e who called after it booked
    originates = ami.of("Originate")
    assert len(originates) == 1 and "HL_CB_NUMBER=13800138000" in originates[0]["Variable"]
    assert [c.linkedid for c in svc.board.waiting()] == ["e"]
