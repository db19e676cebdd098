"""The desk's side of the ACD, without sockets: one "ready" button whatever the state, "done"
ends the wrap-up, transfers tell Asterisk the right thing (and nothing when refused), the
desk feed follows the agent, the journal's transfer line reaches the record."""
from __future__ import annotations

import asyncio

import pytest

from acd.screen_pop import ScreenPop
from calls.journal import parse
from calls.record import fold
from core import contract
from core import events as ev
from core.errors import BadRequest, Conflict

from .fakes import AGENTS, feed, queued, service, ue

DEPTS = {"tax", "general"}


async def on_call(lid="c1", agent="1002"):
    svc, ami, clock, events = service(agents=AGENTS[:1])
    await feed(svc, queued(lid))
    await feed(svc, ue(contract.EV_CONNECTED, linkedid=lid, agent=agent))
    svc.delivering[lid].agent_channel = "PJSIP/agent1002-00000001"
    return svc, ami, clock, events


async def test_ready_logs_in_unpauses_or_ends_the_wrapup_and_done_ends_it_early():
    svc, ami, clock, events = service(agents=AGENTS[:1])
    await svc.agent_action("1002", "logout")
    assert (await svc.agent_action("1002", "ready")).state == "ready"
    await svc.agent_action("1002", "pause", "meal")
    assert (await svc.agent_action("1002", "ready")).state == "ready"
    assert (await svc.agent_action("1002", "ready")).state == "ready"      # ready already: nothing changes
    svc, ami, clock, events = await on_call()
    await feed(svc, ue(contract.EV_CALL_END, linkedid="c1"))
    assert svc.board.agent("1002").state == "wrapup"
    assert svc.desk("1002")["wrapup_until"] == clock.t + 5 and svc.desk("1002")["last_call"] == "c1"
    clock.t += 1
    assert (await svc.agent_action("1002", "done")).state == "ready"
    with pytest.raises(Conflict):
        await svc.agent_action("1002", "done")                               # no wrap-up to end


async def test_a_blind_transfer_redirects_the_citizen_and_puts_the_agent_in_wrapup():
    svc, ami, clock, events = await on_call()
    out = await svc.transfer("c1", "tax", "blind", DEPTS)
    assert out == {"linkedid": "c1", "agent": "1002", "to": "tax", "mode": "blind"}
    assert {"Channel": "Local/c1;1", "Variable": contract.V_XFER_TO, "Value": "tax"} in ami.of("Setvar")
    assert ami.of("Redirect")[-1] == {"Channel": "Local/c1;1", "Context": contract.TRANSFER, "Exten": "tax",
                                      "Priority": 1}
    assert svc.board.agent("1002").state == "wrapup" and svc.agent_of("c1") is None
    assert [e.data for e in events if e.kind == ev.TRANSFER] == [{"to": "tax", "mode": "blind"}]
    # the citizen's hang-up later changes nothing for the agent
    await feed(svc, ue(contract.EV_CALL_END, linkedid="c1"))
    assert svc.board.agent("1002").state == "wrapup"


async def test_a_three_way_call_bridges_citizen_and_agent_and_rings_the_departments_line():
    svc, ami, clock, events = await on_call()
    await svc.transfer("c1", "general", "conference", DEPTS)
    redirect = ami.of("Redirect")[-1]
    assert (redirect["Channel"], redirect["ExtraChannel"], redirect["Context"]) == (
        "Local/c1;1", "PJSIP/agent1002-00000001", contract.CONFERENCE)
    origin = ami.of("Originate")[-1]
    assert origin["Channel"] == f"Local/general@{contract.DEPT_LINE}" and origin["Context"] == contract.CONFERENCE
    assert origin["Variable"] == [f"{contract.V_CONF}=hl-c1"]
    assert svc.board.agent("1002").state == "on_call"        # the agent is still in the call
    await svc.leave("c1")
    assert ami.of("Hangup")[-1] == {"Channel": "PJSIP/agent1002-00000001"}
    assert svc.board.agent("1002").state == "wrapup"


async def test_a_refused_transfer_tells_asterisk_nothing():
    svc, ami, clock, events = await on_call()
    before = len(ami.actions)
    for lid, to, mode, error in [("c1", "police", "blind", BadRequest), ("c1", "tax", "ring", BadRequest),
                                 ("nosuch", "tax", "blind", Conflict)]:
        with pytest.raises(error):
            await svc.transfer(lid, to, mode, DEPTS)
    assert len(ami.actions) == before


async def test_the_desk_feed_follows_the_agent_offer_connect_state_and_transfer():
    got = []

    async def history(caller):
        return [{"id": 1, "caller": caller}]

    async def info(lid):
        return {"caller": "13800138000", "ivr_path": [{"node": "lang", "input": "1", "t": 0.0}]}

    pops = ScreenPop(lambda lid: None, history, info)
    q = pops.listen("1002")
    for e in [ev.Event(1.0, ev.AGENT_OFFER, "c1", department="tax", language="cmn", agent="1002",
                       data={"waited": 3.5}),
              ev.Event(2.0, ev.AGENT_CONNECT, "c1", agent="1002"),
              ev.Event(3.0, ev.AGENT_STATE, agent="1002", data={"state": "wrapup", "call": "c1"}),
              ev.Event(3.0, ev.AGENT_STATE, agent="1007", data={"state": "ready"})]:
        pops.on_event(e)
    task = asyncio.create_task(pops.run())
    try:
        for _ in range(3):
            got.append(await asyncio.wait_for(q.get(), 2))
    finally:
        task.cancel()
    assert [g["kind"] for g in got] == ["offer", "connected", "state"]
    assert got[0]["caller"] == "13800138000" and got[0]["waited"] == 3.5 and got[0]["ivr_path"][0]["node"] == "lang"
    assert got[0]["history"] == [{"id": 1, "caller": "13800138000"}]
    assert got[2]["state"] == "wrapup" and q.empty()


def test_the_journals_transfer_line_is_on_the_record():
    rec = fold("c1", parse("100.0 start caller=1380 dialed=12345\n"
                           "110.0 connect agent=PJSIP%2Fagent1002-0001\n"
                           "150.5 transfer to=tax mode=blind agent=1002\n"
                           "200.0 end lang=cmn dept=general\n"))
    assert rec.transfers == [{"to": "tax", "mode": "blind", "agent": "1002", "t": 50.5}]
    assert rec.disposition == "answered"
