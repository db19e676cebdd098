"""The ACD service fed with AMI events, without sockets: what it tells Asterisk to do."""
from __future__ import annotations

import asyncio
import contextlib

import pytest

from acd import announce
from acd import config as acd_config
from acd.service import AcdService
from core import contract
from core.errors import BadRequest, Conflict, ConfigInvalid, NotFound

from .fakes import AGENTS, Clock, FakeAmi, delivered, feed, queued, service, ue  # noqa: F401


async def test_cantonese_call_goes_to_the_cantonese_agent_though_a_mandarin_agent_is_idle_longer():
    svc, ami, clock, _ = service(agents=AGENTS[:2])
    await feed(svc, queued("c1", lang="yue"))
    assert ami.of("Redirect")[-1] == delivered("c1", "1007")


async def test_relaxation_reaches_the_mandarin_agent_at_once_when_no_cantonese_agent_can_free_up():
    # the only Cantonese speaker is on a meal break: waiting the 10 s step cannot pay off,
    # so the Mandarin agent who is free takes the call now (Board.hasten)
    svc, ami, clock, _ = service(agents=AGENTS[:2])
    await svc.agent_action("1007", "pause", "meal")
    await feed(svc, queued("c1", lang="yue"))
    assert ami.of("Redirect")[-1] == delivered("c1", "1002")


async def test_relaxation_waits_for_the_cantonese_agent_who_ends_a_wrap_up_before_the_step():
    svc, ami, clock, _ = service(agents=AGENTS[:2])
    await feed(svc, queued("c0", lang="yue"))
    assert ami.of("Redirect")[-1] == delivered("c0", "1007")
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="c0", agent="1007"), ue(contract.EV_CALL_END, linkedid="c0"))
    assert svc.board.agent("1007").state == "wrapup"       # 5 s, out before the 10 s step
    await feed(svc, queued("c1", lang="yue"))
    assert len(ami.of("Redirect")) == 1                     # 1002 is free, but c1 waits for 1007
    clock.t += 5.1
    await feed(svc)
    assert ami.of("Redirect")[-1] == delivered("c1", "1007")


async def test_rona_reoffers_to_the_next_agent_and_pauses_after_n_misses():
    svc, ami, clock, events = service()
    await feed(svc, queued("c1"))
    assert ami.of("Redirect")[-1]["Exten"] == "2001"          # level 5: best skilled
    await feed(svc, ue(contract.EV_DELIVERY, linkedid="c1", agent="2001", status="NOANSWER"))
    assert ami.of("Redirect")[-1]["Exten"] == "1002"          # the next one at once
    assert svc.board.agent("2001").misses == 1
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="c1", agent="1002"),
               queued("c2"))
    assert ami.of("Redirect")[-1]["Exten"] == "2001"          # tried again for a new call...
    await feed(svc, ue(contract.EV_DELIVERY, linkedid="c2", agent="2001", status="NOANSWER"))
    a = svc.board.agent("2001")
    assert (a.state, a.paused_reason) == ("paused", "no answer")   # ...second miss: paused
    assert ami.of("Redirect")[-1]["Exten"] == "1007"
    assert [e.kind for e in events].count("agent_noanswer") == 2


async def test_wrapup_holds_the_agent_back_then_it_takes_the_next_call():
    svc, ami, clock, _ = service(agents=AGENTS[:1])
    await feed(svc, queued("c1"))
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="c1", agent="1002"))
    clock.t += 30
    await feed(svc, ue(contract.EV_CALL_END, linkedid="c1"), queued("c2"))
    assert svc.board.agent("1002").state == "wrapup"
    assert len(ami.of("Redirect")) == 1
    clock.t += 4.9
    await feed(svc)
    assert len(ami.of("Redirect")) == 1
    clock.t += 0.2
    await feed(svc)
    assert ami.of("Redirect")[-1] == delivered("c2", "1002")


async def test_caller_hanging_up_while_ringing_frees_the_agent_and_abandons_are_logged():
    svc, ami, clock, events = service(agents=AGENTS[:1])
    await feed(svc, queued("c1"), queued("c2"))
    await feed(svc, ue(contract.EV_CALL_END, linkedid="c1"))      # hung up while 1002 rang
    assert ami.of("Redirect")[-1]["Channel"] == "Local/c2;1"
    await feed(svc, ue(contract.EV_CALL_END, linkedid="c2"))
    assert svc.board.agent("1002").state == "ready"
    assert not svc.board.calls


async def test_abandon_in_line_is_logged_and_the_call_leaves_the_line():
    svc, ami, clock, events = service(agents=AGENTS[:1])
    await svc.agent_action("1002", "pause", "meal")
    await feed(svc, queued("c1"), ue(contract.EV_CALL_END, linkedid="c1"))
    assert not svc.board.calls and events[-1].kind == "queue_abandon"


async def test_callback_keeps_its_place_and_is_dialled_once():
    svc, ami, clock, events = service(agents=AGENTS[:1])
    await svc.agent_action("1002", "pause", "meal")
    ami.vars[("Local/b;1", "CALLERID(num)")] = "13800138000"
    await feed(svc, queued("a", since=990), queued("b", since=991), queued("c", since=992))
    assert ("Setvar", {"Channel": "Local/b;1", "Variable": "HL_CB_OK", "Value": "1"}) in ami.actions
    await feed(svc, ue(contract.EV_CB_REQ, linkedid="b"), ue(contract.EV_CALL_END, linkedid="b"))
    assert [c.linkedid for c in svc.board.waiting()] == ["a", "b", "c"]   # b keeps its place
    await svc.agent_action("1002", "unpause")
    await feed(svc)
    assert ami.of("Redirect")[-1]["Channel"] == "Local/a;1"
    await feed(svc, ue(contract.EV_CONNECTED, linkedid="a", agent="1002"), ue(contract.EV_CALL_END, linkedid="a"))
    clock.t += 6
    await feed(svc)
    originates = ami.of("Originate")
    assert len(originates) == 1 and originates[0]["Context"] == contract.CALLBACK
    assert "HL_CB_NUMBER=13800138000" in originates[0]["Variable"]
    leg = originates[0]["ChannelId"]
    await feed(svc, ue(contract.EV_CONNECTED, linkedid=leg, agent="1002"))
    for _ in range(3):
        clock.t += 1
        await feed(svc)
    assert len(ami.of("Originate")) == 1                       # one attempt in flight, never two
    await feed(svc, ue(contract.EV_CB_DONE, of="b", status="ANSWER", linkedid=leg),
               ue(contract.EV_CALL_END, linkedid=leg))
    clock.t += 6
    await feed(svc)
    assert ami.of("Redirect")[-1]["Channel"] == "Local/c;1"   # then c, and b is never dialled again
    assert len(ami.of("Originate")) == 1
    assert [e.kind for e in events].count("callback_done") == 1


async def test_unanswered_callback_is_retried_later_from_its_place():
    svc, ami, clock, events = service(agents=AGENTS[:1])
    ami.vars[("Local/b;1", "CALLERID(num)")] = "13800138000"
    await svc.agent_action("1002", "pause", "meal")
    await feed(svc, queued("b"), ue(contract.EV_CB_REQ, linkedid="b"), ue(contract.EV_CALL_END, linkedid="b"))
    await svc.agent_action("1002", "unpause")
    await feed(svc)
    leg = ami.of("Originate")[0]["ChannelId"]
    await feed(svc, ue(contract.EV_CONNECTED, linkedid=leg, agent="1002"),
               ue(contract.EV_CB_DONE, of="b", status="NOANSWER"), ue(contract.EV_CALL_END, linkedid=leg))
    clock.t += 60
    await feed(svc)
    assert len(ami.of("Originate")) == 1          # not before the retry pause
    clock.t += 120
    await feed(svc)
    assert len(ami.of("Originate")) == 2


async def test_hostile_caller_number_gets_no_callback_offer():
    svc, ami, clock, _ = service(agents=AGENTS[:1])
    await svc.agent_action("1002", "pause", "meal")
    ami.vars[("Local/x;1", "CALLERID(num)")] = "1380;Dial(PJSIP/evil)"
    await feed(svc, queued("x"), ue(contract.EV_CB_REQ, linkedid="x"), ue(contract.EV_CALL_END, linkedid="x"))
    assert not any(f.get("Variable") == "HL_CB_OK" for f in ami.of("Setvar"))
    assert not svc.board.calls                    # no callback: the hang-up is an abandon


async def test_feature_codes_come_from_the_authenticated_endpoint():
    svc, ami, clock, events = service()
    await feed(svc, ue(contract.EV_AGENT, endpoint="agent1002", op="pause", reason="2"))
    assert (svc.board.agent("1002").state, svc.board.agent("1002").paused_reason) == ("paused", "meal")
    await feed(svc, ue(contract.EV_AGENT, endpoint="agent1002", op="logout", reason=""))
    assert svc.board.agent("1002").state == "logged_out"
    await feed(svc, ue(contract.EV_AGENT, endpoint="agent9999", op="logout", reason=""))  # unknown: ignored
    await feed(svc, ue(contract.EV_AGENT, endpoint="agent1002", op="login", reason=""))
    assert svc.board.agent("1002").state == "ready"
    assert [e.data["state"] for e in events if e.kind == "agent_state"] == ["paused", "logged_out", "ready"]


async def test_api_actions_refuse_bad_input_with_stable_errors():
    svc, *_ = service()
    with pytest.raises(NotFound):
        await svc.agent_action("4242", "login")
    with pytest.raises(BadRequest):
        await svc.agent_action("1002", "dance")
    with pytest.raises(BadRequest):
        await svc.agent_action("1002", "pause", "x" * 41)
    with pytest.raises(Conflict):
        await svc.agent_action("1002", "login")     # already logged in


async def test_max_wait_sends_the_caller_to_voicemail():
    svc, ami, clock, events = service(cfg=acd_config.load({"max_wait_seconds": 60}), agents=AGENTS[:1])
    await svc.agent_action("1002", "logout")
    await feed(svc, queued("c1"))
    clock.t += 61
    await feed(svc)
    assert ami.of("Redirect")[-1] == {"Channel": "Local/c1;1", "Context": contract.MAX_WAIT, "Exten": "s",
                                      "Priority": 1}
    assert events[-1].kind == "queue_timeout"


def memory_states(saved: dict):
    """An agent-states table in a dict (what AcdService.persist writes, a restart loads)."""
    class States:
        async def load(self):
            return dict(saved)

        async def save(self, rows):
            saved.update(rows)
    return States


async def test_persisted_pause_survives_a_restart():
    saved = {}
    States = memory_states(saved)
    ami, clock = FakeAmi(), Clock()
    cfg = acd_config.load({})
    first = AcdService(ami, cfg, AGENTS, log_event=lambda e: None, states=States(), clock=clock)
    await first._load()
    await first.agent_action("1002", "pause", "training")
    await first.agent_action("1007", "logout")
    task = asyncio.create_task(first.persist())
    await asyncio.sleep(0.5)
    task.cancel()
    second = AcdService(ami, cfg, AGENTS, log_event=lambda e: None, states=States(), clock=clock)
    await second._load()
    got = {a.id: (a.state, a.paused_reason) for a in second.board.agents.values()}
    assert got == {"1002": ("paused", "training"), "1007": ("logged_out", None), "2001": ("ready", None)}


async def test_an_engine_stopped_right_after_a_change_keeps_it():
    """A login 0.1 s before the engine stops (inside the 0.3 s batch) is written on the way out."""
    saved = {}
    States = memory_states(saved)
    ami, clock = FakeAmi(), Clock()
    cfg = acd_config.load({})
    first = AcdService(ami, cfg, AGENTS, log_event=lambda e: None, states=States(), clock=clock)
    await first._load()
    task = asyncio.create_task(first.persist())
    await first.agent_action("1007", "logout")
    await asyncio.sleep(0.5)                 # written by the batch
    await first.agent_action("1007", "login")
    await asyncio.sleep(0.01)                # then stopped before the next batch
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert saved["1007"]["state"] == "ready"


def test_config_errors_name_the_bad_key():
    with pytest.raises(ConfigInvalid, match="ring_seconds"):
        acd_config.load({"ring_seconds": 0})
    with pytest.raises(ConfigInvalid, match="unknown key"):
        acd_config.load({"rign_seconds": 10})
    with pytest.raises(ConfigInvalid, match="first step"):
        acd_config.load({"relax": {"default": ["5:3"]}})
    with pytest.raises(ConfigInvalid, match="unknown department"):
        acd_config.load({"relax": {"tax": ["0:3", "5:1:nowhere"]}}, {"tax"})


@pytest.mark.parametrize("lang,needle", [("cmn", "前面还有2位"), ("yue", "前面仲有2位"), ("en", "2 callers ahead")])
def test_announcement_says_place_wait_and_callback_in_the_callers_language(lang, needle):
    words = announce.text(lang, 3, announce.estimate_seconds(3, 2, 120), True)
    assert needle in words and ("3" in words)   # 3 x 120 s / 2 agents = 3 minutes
    assert ("1" in words) and words != announce.text(lang, 3, 180, False)


async def test_a_registered_elderly_caller_is_served_before_earlier_normal_calls():
    registered = {"13900000001"}
    svc, ami, clock, events = service(agents=AGENTS[:1])
    svc.priority_of = lambda n: 1 if n in registered else None
    await svc.agent_action("1002", "pause", "meal")
    ami.vars[("Local/old;1", "CALLERID(num)")] = "13900000001"
    ami.vars[("Local/n1;1", "CALLERID(num)")] = "13800000001"
    await feed(svc, queued("n1", since=990), queued("old", since=995))
    assert [c.linkedid for c in svc.board.waiting()] == ["old", "n1"]
    assert [e.data["priority"] for e in events if e.kind == "queue_join"] == ["normal", "elderly/disabled"]
    await svc.agent_action("1002", "unpause")
    await feed(svc)
    assert ami.of("Redirect")[-1]["Channel"] == "Local/old;1"


async def test_an_unregistered_phone_is_paused_unreachable_at_once_and_the_call_goes_on():
    svc, ami, clock, events = service(agents=AGENTS[:2])
    await feed(svc, queued("c1", lang="cmn"))
    first = ami.of("Redirect")[-1]["Exten"]
    await feed(svc, ue(contract.EV_DELIVERY, linkedid="c1", agent=first, status="CHANUNAVAIL"))
    a = svc.board.agent(first)
    assert (a.state, a.paused_reason) == ("paused", "unreachable")     # not after N misses: now
    assert ami.of("Redirect")[-1]["Exten"] != first
    await svc.agent_action(first, "unpause")
    assert svc.board.agent(first).state == "ready"


class SlowRedirectAmi(FakeAmi):
    """A Redirect that takes until the test lets it finish: the routing pass is suspended
    between two deliveries, the moment an API change used to land in the middle of."""

    def __init__(self):
        super().__init__()
        self.gate = asyncio.Event()
        self.redirecting = asyncio.Event()

    async def action(self, name, **fields):
        if name == "Redirect":
            self.redirecting.set()
            await self.gate.wait()
        return await super().action(name, **fields)


async def test_an_api_pause_during_a_routing_pass_is_applied_in_order_and_never_ends_the_acd():
    ami, clock, events = SlowRedirectAmi(), Clock(), []
    cfg = acd_config.load({"wrapup_seconds": 5, "relax": {"default": ["0:3"]}})
    svc = AcdService(ami, cfg, AGENTS[:2], log_event=events.append, clock=clock)
    for a in AGENTS[:2]:
        svc.board.login(a.id, clock())
    task = asyncio.create_task(svc.run())
    try:
        svc.on_ami(queued("c1"))
        svc.on_ami(queued("c2"))
        await asyncio.wait_for(ami.redirecting.wait(), 2)
        # the pass decided c1 -> one agent and c2 -> the other, and waits on the first Redirect
        pauses = [asyncio.create_task(svc.agent_action(aid, "pause", "meal")) for aid in ("1002", "1007")]
        await asyncio.sleep(0.05)
        assert all(not p.done() for p in pauses)      # queued behind the pass, not applied inside it
        ami.gate.set()
        results = await asyncio.gather(*pauses, return_exceptions=True)
        assert not task.done()                         # the routing task is alive
        # both calls were delivered as decided; the pauses then met ringing agents: refused
        # with a stable error (409), nothing half-done
        assert sorted(r["Channel"] for r in ami.of("Redirect")) == ["Local/c1;1", "Local/c2;1"]
        assert all(isinstance(r, Conflict) for r in results), results
        assert {svc.board.agent(a).state for a in ("1002", "1007")} == {"offered"}
        # and the next change goes through once the agents are free again
        await feed_live(svc, ue(contract.EV_CALL_END, linkedid="c1"), ue(contract.EV_CALL_END, linkedid="c2"))
        assert (await svc.agent_action("1002", "pause", "meal")).state == "paused"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def feed_live(svc, *msgs):
    """Events into a running service: wait until its task has applied them."""
    for m in msgs:
        svc.on_ami(m)
    for _ in range(100):
        if svc._inbox.empty():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)


class FakeClaims:
    """acd/claims.py's interface in memory: what another node holds, and how often it is read."""
    lease = 15.0

    def __init__(self, held=()):
        self.held, self.reads, self.renewed, self.taken = set(held), 0, [], []

    async def elsewhere(self):
        self.reads += 1
        return set(self.held)

    async def take(self, agent_id, lid):
        if agent_id in self.held:
            return False
        self.taken.append(agent_id)
        return True

    async def release(self, agent_id, lid, hold=0.0):
        pass

    async def renew(self, lids):
        self.renewed.append(set(lids))


def claimed_service(held=()):
    svc, ami, clock, events = service(agents=AGENTS[:2])
    svc.claims = FakeClaims(held)
    return svc, ami, clock, svc.claims


async def test_an_idle_cluster_node_reads_no_claims_and_reads_them_when_a_call_waits():
    svc, ami, clock, claims = claimed_service(held={"1002"})
    for _ in range(5):           # routing passes with nobody waiting: nothing to decide, nothing read
        clock.t += 1
        await feed(svc)
    assert claims.reads == 0
    await feed(svc, queued("c1"))   # a call to place: the other nodes' claims are read first
    assert claims.reads == 1
    assert ami.of("Redirect")[-1] == delivered("c1", "1007")   # 1002 is another node's: not offered
    assert claims.taken == ["1007"]


async def test_claims_are_read_at_most_twice_a_second_while_calls_wait():
    svc, ami, clock, claims = claimed_service(held={"1002", "1007"})
    await feed(svc, queued("c1"))
    assert claims.reads == 1 and not ami.of("Redirect")
    clock.t += 0.2
    await feed(svc)
    assert claims.reads == 1        # fresh enough
    claims.held = {"1007"}          # the other node let 1002 go
    clock.t += 0.4
    await feed(svc)
    assert claims.reads == 2
    assert ami.of("Redirect")[-1] == delivered("c1", "1002")


async def test_claims_are_renewed_only_while_the_node_has_calls_with_agents(monkeypatch):
    svc, ami, clock, claims = claimed_service()
    sleeps = []

    async def sleep(s):
        sleeps.append(s)
        if len(sleeps) == 1:
            return
        if len(sleeps) == 2:
            await feed(svc, queued("c1"))
            return
        raise asyncio.CancelledError

    monkeypatch.setattr("acd.service.asyncio.sleep", sleep)
    with contextlib.suppress(asyncio.CancelledError):
        await svc.claims_loop()
    assert sleeps[0] == claims.lease / 3
    assert claims.renewed == [{"c1"}]   # the first round had nothing to renew
