"""The ACD service replaying AMI traces recorded from our own Asterisk 22
(tests/fixtures/ami/*.jsonl, written by `python -m tests.fixtures.record`, see docs/tests.md).

No sockets: the service is built with the [acd] table, agents and routing state the recording
started from, is handed every message its on_ami was handed there, at the recorded times (a
clock set from the trace; routing passes between messages as the routing task makes them),
and must decide what it decided on the real Asterisk: the same Redirects and Originates in
the same order, the same offers, ring-outs and pauses, and the agents end as they ended.
The journals Asterisk wrote for those calls (tests/fixtures/journals) say the same.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from acd import config as acd_config
from acd.model import AgentState
from acd.service import AcdService
from calls import journal
from core import contract
from core.centre import Agent, Skill
from core.errors import AmiActionFailed, HotlineError

from .fakes import Clock, FakeAmi

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRACES = FIXTURES / "ami"
JOURNALS = FIXTURES / "journals"
DECISIONS = ("Redirect", "Originate")   # what the ACD decides, as Asterisk is told it

# trace -> the story a supervisor would tell of it: offers (journal, agent) in order,
# ring-outs (journal, agent), callback legs originated, agents paused at the end, and how
# calls left the line without an agent (journal, event kind)
STORY = {
    "menu-answered": dict(offers=[("menu-answered", "1003")]),
    "answered": dict(offers=[("answered", "1002")]),
    "abandoned-in-ivr": dict(offers=[]),
    "abandoned-in-queue": dict(offers=[], left=[("abandoned-in-queue", "queue_abandon")]),
    "rona": dict(offers=[("rona", "2001"), ("rona", "2002"), ("rona-second", "2001"), ("rona-second", "2002")],
                 rang_out=[("rona", "2001"), ("rona-second", "2001")], paused={"2001": "no answer"}),
    "callback": dict(offers=[("callback", "1005")], originated=1,
                     left=[("callback", "callback_requested"), ("callback", "callback_done")]),
    "queue-timeout": dict(offers=[], left=[("queue-timeout", "queue_timeout")]),
    "voicemail": dict(offers=[]),
    "fax": dict(offers=[]),
    "fax-partial": dict(offers=[]),
}
NO_TRACE = {"fallback", "trunk-fallback"}   # the engine was down: its ACD saw nothing


def _plain(value):
    """As the trace holds it (JSON), so that replayed and recorded fields compare."""
    return json.loads(json.dumps(value))


class ReplayAmi(FakeAmi):
    """Answers each action as Asterisk answered it during the recording (the caller number a
    Getvar read, a Redirect that failed); an action never recorded gets a plain success."""

    def __init__(self, recorded: list[dict]):
        super().__init__()
        self.recorded = list(recorded)

    async def action(self, name, **fields):
        self.actions.append((name, _plain(fields)))
        for i, a in enumerate(self.recorded):
            if a["action"] == name and a["fields"] == _plain(fields):
                del self.recorded[i]
                if "error" in a:
                    raise AmiActionFailed(a["message"], action=name)
                return a["reply"]
        return {"Response": "Success"}


@dataclass
class Replay:
    head: dict
    end: dict
    recorded: list[dict]      # the trace's lines between head and end
    svc: AcdService
    ami: ReplayAmi
    events: list

    def recorded_decisions(self) -> list[tuple[str, dict]]:
        return [(a["action"], a["fields"]) for a in self.recorded if a.get("action") in DECISIONS]

    def decisions(self) -> list[tuple[str, dict]]:
        return [(n, f) for n, f in self.ami.actions if n in DECISIONS]

    def recorded_events(self) -> list[dict]:
        return [line["event"] for line in self.recorded if "event" in line]

    def journal(self, name: str) -> list[journal.Entry]:
        return journal.parse((JOURNALS / f"{name}.log").read_text())


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (TRACES / f"{name}.jsonl").read_text().splitlines()]


def agents_of(head: dict) -> list[Agent]:
    return [Agent(a["id"], a["name"], tuple(Skill(d, lang, int(lv)) for d, lang, lv in
                                            (s.split(":") for s in a["skills"])), line=a["line"])
            for a in head["agents"]]


async def replay(name: str) -> Replay:
    lines = load(name)
    head, end, body = lines[0], lines[-1]["end"], lines[1:-1]
    clock = Clock(head["t"])
    ami = ReplayAmi([line for line in body if "action" in line])
    events: list = []
    svc = AcdService(ami, acd_config.load(head["acd"]), agents_of(head), log_event=events.append, clock=clock)
    for st in head["states"]:
        svc.board.put_agent(AgentState(skills=svc.board.agent(st["id"]).skills, **st))
    svc.loaded = True
    last = head["t"]

    async def routing_pass(at: float) -> None:
        nonlocal last
        clock.t = max(clock.t, at)
        await svc._route()
        last = clock.t

    async def passes_before(t: float) -> None:
        """The routing task's own passes while no message came: at most 1 s apart, and when
        the board is due (a relaxation step, the end of a wrap-up)."""
        for _ in range(100_000):
            due = svc.board.next_due()
            at = last + 1.0 if due is None else min(last + 1.0, due)
            if at >= t:
                return
            await routing_pass(max(at, last + 0.001))
        raise AssertionError("the replay never reached the next message")

    for line in body:
        if "ami" in line:
            await passes_before(line["t"])
            clock.t = max(clock.t, line["t"])
            svc.on_ami(line["ami"])
            while not svc._inbox.empty():
                kind, m = svc._inbox.get_nowait()
                await svc._apply(kind, m)
            await routing_pass(line["t"])
        elif "command" in line:
            await passes_before(line["t"])
            clock.t = max(clock.t, line["t"])
            try:
                svc._agent_op(line["agent"], line["command"], line["reason"], by=line["by"])
            except HotlineError:
                pass   # refused there too (the recorder would have stopped otherwise)
            await routing_pass(line["t"])
    await passes_before(lines[-1]["t"])
    await routing_pass(lines[-1]["t"])
    return Replay(head, end, body, svc, ami, events)


def summary(e: dict) -> tuple:
    """An ACD event as a decision: what, for which call and agent, and why (not how long the
    call had waited to the millisecond, which differs by the replay's clock granularity)."""
    data = {k: v for k, v in e["data"].items() if k != "waited"}
    return (e["kind"], e["linkedid"], e["agent"], data)


def traces() -> list[str]:
    return sorted(p.stem for p in TRACES.glob("*.jsonl"))


def test_every_journal_fixture_has_its_trace_and_every_trace_a_story():
    in_traces = {name for t in traces() for name in load(t)[-1]["end"]["journals"]}
    assert in_traces | NO_TRACE == {p.stem for p in JOURNALS.glob("*.log")}
    assert set(traces()) == set(STORY)


@pytest.mark.parametrize("name", traces())
async def test_replayed_trace_decides_what_the_acd_decided_on_asterisk(name):
    r = await replay(name)
    assert r.decisions() == r.recorded_decisions()
    assert [summary(e.to_dict()) for e in r.events] == [summary(e) for e in r.recorded_events()]
    got = {a.id: (a.state, a.paused_reason, a.misses) for a in r.svc.board.agents.values()}
    assert got == {s["id"]: (s["state"], s["paused_reason"], s["misses"]) for s in r.end["states"]}
    assert not r.svc.board.calls and not r.svc.delivering and not r.svc.legs


@pytest.mark.parametrize("name", traces())
async def test_replayed_trace_tells_the_calls_story(name):
    r = await replay(name)
    story, lids = STORY[name], r.end["journals"]
    name_of = {lid: j for j, lid in lids.items()}
    offers = [(name_of[e.linkedid], e.agent) for e in r.events if e.kind == "agent_offer"]
    assert offers == story["offers"]
    assert len(set(offers)) == len(offers)                        # no call offered twice to one agent
    assert [(name_of[e.linkedid], e.agent) for e in r.events if e.kind == "agent_noanswer"] == \
        story.get("rang_out", [])
    paused = {a.id: a.paused_reason for a in r.svc.board.agents.values()
              if a.state == "paused" and a.paused_reason != "test"}
    assert paused == story.get("paused", {})
    originates = [f for n, f in r.decisions() if n == "Originate"]
    assert len(originates) == story.get("originated", 0)
    left = [(name_of[e.linkedid], e.kind) for e in r.events
            if e.kind in ("queue_abandon", "queue_timeout", "callback_requested", "callback_done", "callback_failed")]
    assert left == story.get("left", [])


@pytest.mark.parametrize("name", traces())
async def test_asterisk_rang_whom_the_replayed_acd_chose(name):
    """The dialplan journals each offer (DELIVER) and ring-out: the same agents, in order."""
    r = await replay(name)
    for jname, lid in r.end["journals"].items():
        entries = r.journal(jname)
        if any(e.kind == contract.J_CALLBACK for e in entries):
            continue   # a callback leg: checked below
        rang = [e.fields["agent"] for e in entries if e.kind == contract.J_OFFER]
        # a callback is offered by ringing the agent's leg (Originate), not through DELIVER
        assert rang == [e.agent for e in r.events if e.kind == "agent_offer" and e.linkedid == lid
                        and not e.data["callback"]]
        missed = [(e.fields["agent"], e.fields["status"]) for e in entries if e.kind == contract.J_RONA]
        assert missed == [(e.agent, e.data["status"]) for e in r.events
                          if e.kind == "agent_noanswer" and e.linkedid == lid]
        redirects = [f for n, f in r.decisions() if n == "Redirect" and f["Context"] == contract.DELIVER
                     and f["Channel"] == entries[0].fields.get("chan")]
        assert [f["Exten"] for f in redirects] == rang


async def test_the_booked_callback_was_originated_once_and_its_leg_called_the_citizen_once():
    r = await replay("callback")
    lid, leg = r.end["journals"]["callback"], r.end["journals"]["callback-leg"]
    [orig] = [f for n, f in r.decisions() if n == "Originate"]
    assert orig["Context"] == contract.CALLBACK and orig["ChannelId"] == leg
    assert f"{contract.V_CB_OF}={lid}" in orig["Variable"]
    assert f"{contract.V_CB_NUMBER}=13500000002" in orig["Variable"]
    # Asterisk: the caller's journal says it booked; the leg's, whose callback it was
    assert [e.kind for e in r.journal("callback")].count(contract.J_CBREQ) == 1
    kinds = [e.kind for e in r.journal("callback-leg")]
    assert kinds.count(contract.J_CALLBACK) == 1 and kinds.count(contract.J_CONNECT) == 1
    assert next(e for e in r.journal("callback-leg") if e.kind == contract.J_CALLBACK).fields["of"] == lid
    done = [e for e in r.events if e.kind == "callback_done"]
    assert [(e.linkedid, e.agent, e.data["status"], e.data["attempt"]) for e in done] == [(lid, "1005", "ANSWER", 1)]


async def test_the_longest_wait_sent_the_caller_to_the_max_wait_prompt():
    r = await replay("queue-timeout")
    lid = r.end["journals"]["queue-timeout"]
    [(name, fields)] = r.decisions()
    assert (name, fields["Context"]) == ("Redirect", contract.MAX_WAIT)
    entries = r.journal("queue-timeout")
    waited = next(e.ts for e in entries if e.kind == contract.J_QLEAVE) - \
        next(e.ts for e in entries if e.kind == contract.J_QJOIN)
    assert r.head["acd"]["max_wait_seconds"] <= waited < r.head["acd"]["max_wait_seconds"] + 2
    assert lid not in r.svc.board.calls


@pytest.mark.parametrize("name", traces())
def test_traces_speak_todays_contract(name):
    """Every UserEvent the dialplan sent carries the fields the contract names for it: a
    trace recorded before a field was added fails here (record it again)."""
    seen = [line["ami"] for line in load(name)[1:-1] if line.get("ami", {}).get("Event") == "UserEvent"]
    assert seen
    for msg in seen:
        kind = msg["UserEvent"]
        assert kind in contract.EV_FIELDS, kind
        assert set(contract.EV_FIELDS[kind]) <= set(msg), (kind, sorted(msg))
