"""The engine's trunk service fed with the AMI events our dialplan and PJSIP send."""
from __future__ import annotations

import pytest

from core import settings as settings_mod
from core import events as ev
from trunks.errors import OutboundRefused
from trunks.service import TrunkService


@pytest.fixture()
def svc(tmp_path):
    s = settings_mod.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    logged: list[ev.Event] = []
    now = [1_796_000_000.0]
    t = TrunkService(s, logged.append, clock=lambda: now[0])
    return t, logged, now


def out_attempt(number, status="ANSWER", attempt="1", trunk="carrier"):
    return {"Event": "UserEvent", "UserEvent": "HotlineTrunkOut", "linkedid": "l1", "number": number,
            "trunk": trunk, "attempt": attempt, "status": status, "cause": "", "sip": ""}


def test_refusals_are_events_with_the_reason(svc):
    t, logged, _ = svc
    for number in ("0044207946000", "16812345678", "110"):
        with pytest.raises(OutboundRefused) as e:
            t.permit(number)
        assert e.value.id == "outbound-refused"
    assert [x.data["reason"] for x in logged] == ["international", "premium-rate", "short-code"]
    assert all(x.kind == ev.OUTBOUND_REFUSED for x in logged)
    t.permit("13800138000")
    assert t.may_call("13800138000") and not t.may_call("0044207946000")


def test_real_attempts_count_against_the_day_simulated_and_refused_ones_do_not(svc):
    t, logged, now = svc
    for _ in range(5):
        t.on_ami(out_attempt("13800138000", "SIMULATED", trunk="sim"))
        t.on_ami(out_attempt("13800138000", "REFUSED"))
    t.permit("13800138000")
    for i in range(3):
        t.on_ami(out_attempt("13800138000", "CONGESTION"))
        t.on_ami(out_attempt("13800138000", "ANSWER", attempt="2"))   # a failover is the same call
    with pytest.raises(OutboundRefused, match="daily-cap"):
        t.permit("13800138000")
    now[0] += 86400
    t.permit("13800138000")
    assert sum(x.kind == ev.OUTBOUND_ATTEMPT for x in logged) == 16


def test_trunk_refusals_and_unknown_sources_are_counted_and_logged_sparingly(svc):
    t, logged, now = svc
    t.on_ami({"Event": "UserEvent", "UserEvent": "HotlineTrunk", "event": "refused", "trunk": "carrier",
              "reason": "rate", "source": "127.0.0.1", "callid": "x", "dialed": "12345"})
    for _ in range(50):
        t.on_ami({"Event": "InvalidAccountID", "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/127.0.0.2/5061"})
    now[0] += 11
    t.on_ami({"Event": "InvalidAccountID", "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/127.0.0.2/5061"})
    st = t.status()
    assert st["refused"] == {"carrier": {"rate": 1}} and st["unknown_source"] == 51
    kinds = [x.kind for x in logged]
    assert kinds == [ev.TRUNK_REFUSED, ev.TRUNK_UNKNOWN_SOURCE, ev.TRUNK_UNKNOWN_SOURCE]
    assert logged[1].data == {"source": "127.0.0.2"}
