"""Only the AMI events the engine consumes reach it: one list (core/contract.py AMI_EVENTS)
is both what each handler is given and Asterisk's manager.conf filter."""
from __future__ import annotations

import re

import pytest

from ami.protocol import decode
from ami.session import AmiSession
from asterisk_conf import render
from core import contract
from core import settings as settings_mod
from hotline.app import Engine


def block(**fields) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode() + b"\r\n"


def test_manager_filter_is_the_union_of_the_subscriptions(tmp_path):
    s = settings_mod.load(env={}, home=str(tmp_path))
    conf = render.render(s)["manager.conf"]
    assert sorted(re.findall(r"^eventfilter = Event: (\S+)$", conf, re.M)) == sorted(contract.AMI_FILTER)
    # the per-call queue events of app_queue are not among them (the engine routes itself)
    assert "QueueCallerJoin" not in contract.AMI_FILTER and "AgentConnect" not in contract.AMI_FILTER


def test_the_engine_subscribes_only_to_listed_events(tmp_path):
    engine = Engine(settings_mod.load(env={}, home=str(tmp_path)), phones=False)
    subscribed = {name for name in engine.ami._handlers if name is not None}
    assert subscribed == set(contract.AMI_FILTER)
    assert None not in engine.ami._handlers    # no handler takes every event


def test_a_subscription_outside_the_filter_is_refused_when_wired():
    ami = AmiSession("127.0.0.1", 1, "u", "p", known=contract.AMI_FILTER)
    with pytest.raises(ValueError, match="QueueCallerJoin"):
        ami.on_event(lambda m: None, ("UserEvent", "QueueCallerJoin"))


async def test_each_handler_gets_only_its_events_parsed_once():
    ami = AmiSession("127.0.0.1", 1, "u", "p", known=("UserEvent", "DialBegin"))
    got: dict[str, list] = {"a": [], "b": []}
    ami.on_event(got["a"].append, ("UserEvent",))
    ami.on_event(got["b"].append, ("UserEvent", "DialBegin"))
    for b in (block(Event="UserEvent", UserEvent="X"), block(Event="DialBegin"), block(Event="Newexten")):
        await ami._dispatch(decode(b))
    assert [m["Event"] for m in got["a"]] == ["UserEvent"]
    assert [m["Event"] for m in got["b"]] == ["UserEvent", "DialBegin"]
    assert got["a"][0] is got["b"][0]           # one parsed message shared by its consumers
