"""What survives Asterisk dying and phones dropping, without sockets: the journals of calls
Asterisk no longer has are closed once and fold as cut; the ACD forgets calls that are gone
and follows the phones' registrations."""
from __future__ import annotations

from acd.service import UNREACHABLE
from calls import journal, orphans, record
from core import contract

from .fakes import AGENTS, delivered, feed, queued, service, ue


def write(folder, lid, *lines):
    (folder / f"{lid}{contract.JOURNAL_SUFFIX}").write_text("".join(line + "\n" for line in lines))


def fold(folder, lid):
    return record.fold(lid, journal.parse((folder / f"{lid}.log").read_text()))


def test_open_journals_without_a_live_channel_are_closed_once_and_fold_as_cut(tmp_path):
    write(tmp_path, "talking", "100.0 start caller=138 dialed=12366 chan=Local/x", "101.0 qjoin queue=hl-tax prio=5",
          "103.0 connect agent=PJSIP%2Fagent1002-00000001")
    write(tmp_path, "waiting", "100.0 start caller=139 dialed=12315", "101.0 qjoin queue=hl-market prio=5")
    write(tmp_path, "menu", "100.0 start caller=137 dialed=12345")
    write(tmp_path, "live", "100.0 start caller=136 dialed=12345")
    write(tmp_path, "ended", "100.0 start caller=135 dialed=12345", "104.0 end action=hangup cause=16")
    paths = orphans.open_journals(tmp_path)
    assert sorted(p.stem for p in paths) == ["live", "menu", "talking", "waiting"]
    closed = orphans.close(paths, live={"live"}, lost_at=130.0)
    assert sorted(closed) == ["menu", "talking", "waiting"]
    talking, waiting, menu = (fold(tmp_path, x) for x in ("talking", "waiting", "menu"))
    assert {r.disposition for r in (talking, waiting, menu)} == {record.Disposition.CUT_BY_CRASH}
    # the engine lost Asterisk at 130: the talk lasted until then, the agent stays on the record
    assert (talking.agent, talking.talk_seconds, talking.ended_at) == ("agent1002", 27.0, 130.0)
    assert (waiting.department, waiting.wait_seconds) == ("market", 29.0)
    # once: a second pass finds nothing open but the live call
    assert [p.stem for p in orphans.open_journals(tmp_path)] == ["live"]
    assert orphans.close(orphans.open_journals(tmp_path), live=set()) == ["live"]
    # without a known loss the last line dates the end
    assert fold(tmp_path, "live").ended_at == 100.0


def test_a_journal_that_ended_meanwhile_is_not_closed_again(tmp_path):
    write(tmp_path, "c", "100.0 start caller=1 dialed=12345")
    paths = orphans.open_journals(tmp_path)
    with (tmp_path / "c.log").open("a") as f:   # the hangup handler, between listing and closing
        f.write("105.0 end action=hangup cause=16\n")
    assert orphans.close(paths, live=set()) == []
    assert fold(tmp_path, "c").disposition == record.Disposition.COMPLETED_IN_IVR


async def test_after_a_resync_calls_asterisk_no_longer_has_are_dropped_and_agents_freed():
    svc, ami, clock, events = service(agents=AGENTS[:2])
    await feed(svc, queued("talk"), ue(contract.EV_CONNECTED, linkedid="talk", agent="1002"))
    await feed(svc, queued("ring"))
    assert ami.of("Redirect")[-1] == delivered("ring", "1007")
    await feed(svc, queued("wait"))
    assert set(svc.board.calls) == {"wait"} and {svc.agent_of("talk"), svc.agent_of("ring")} == {"1002", "1007"}
    # Asterisk restarted: none of these channels exist; a new call is up
    ami.lists["CoreShowChannels"] = [{"Channel": "Local/new;1", "Linkedid": "new", "Context": "x"}]
    await svc.resync()
    await feed(svc)
    assert not svc.board.calls and not svc.delivering and not svc.waiting
    assert {svc.board.agent(a).state for a in ("1002", "1007")} <= {"ready", "wrapup"}


async def test_an_unregistered_phone_pauses_its_agent_and_registering_frees_it_but_not_a_break():
    svc, ami, clock, events = service(agents=AGENTS[:2])
    svc.by_endpoint = {"agent1002": "1002", "agent1007": "1007"}
    await feed(svc, {"Event": "ContactStatus", "EndpointName": "agent1002", "ContactStatus": "Removed"})
    assert (svc.board.agent("1002").state, svc.board.agent("1002").paused_reason) == ("paused", UNREACHABLE)
    await feed(svc, queued("c1"))
    assert ami.of("Redirect")[-1] == delivered("c1", "1007")   # the call goes to the other agent
    await feed(svc, {"Event": "ContactStatus", "EndpointName": "agent1002", "ContactStatus": "Created", "URI": "a"})
    assert svc.board.agent("1002").state == "ready"
    # registering anew: the new contact may come before the old one is removed
    await feed(svc, {"Event": "ContactStatus", "EndpointName": "agent1002", "ContactStatus": "Created", "URI": "b"},
               {"Event": "ContactStatus", "EndpointName": "agent1002", "ContactStatus": "Removed", "URI": "a"})
    assert svc.board.agent("1002").state == "ready"
    # a break the agent took is theirs: a phone registering does not end it
    await svc.agent_action("1002", "pause", "meal")
    await feed(svc, {"Event": "ContactStatus", "EndpointName": "agent1002", "ContactStatus": "Reachable"})
    assert svc.board.agent("1002").paused_reason == "meal"


async def test_a_resync_frees_agents_paused_unreachable_whose_phones_are_back():
    svc, ami, clock, events = service(agents=AGENTS[:2])
    svc.by_endpoint = {"agent1002": "1002", "agent1007": "1007"}
    for a in ("1002", "1007"):
        svc.board.pause(a, UNREACHABLE, clock())
    ami.lists["CoreShowChannels"] = []
    ami.lists["DeviceStateList"] = [{"Device": "PJSIP/agent1002", "State": "NOT_INUSE"},
                                    {"Device": "PJSIP/agent1007", "State": "UNAVAILABLE"}]
    await svc.resync()
    await feed(svc)
    assert svc.board.agent("1002").state == "ready"
    # UNAVAILABLE right after an Asterisk restart proves nothing: 1007 stays as it was
    assert svc.board.agent("1007").paused_reason == UNREACHABLE


async def test_nothing_is_offered_while_asterisk_is_unreachable_and_a_failed_delivery_keeps_the_call():
    svc, ami, clock, events = service(agents=AGENTS[:2])
    ami.connected = False
    await feed(svc, queued("c1"))
    assert not ami.of("Redirect") and "c1" in svc.board.calls
    ami.connected = True

    async def refuse(name, **fields):
        from core.errors import AsteriskUnreachable
        raise AsteriskUnreachable("AMI connection lost before the reply")
    ami.action, real = refuse, ami.action
    await feed(svc)
    assert "c1" in svc.board.calls and not svc.delivering   # back in the line, nobody ringing
    ami.action = real
    await feed(svc)
    assert ami.of("Redirect")[-1] == delivered("c1", "1002")
