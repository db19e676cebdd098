"""Satisfaction surveys as rows, on SQLite and PostgreSQL: scheduled with the workflow
change that makes a ticket answered or informed, called when due, outcomes kept across a
restart, and the tickets whose attempts ran out on the agents' follow-up list."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import AsteriskUnreachable, Conflict
from surveys import config as survey_config
from tickets.providers import Providers
from tickets.store import Store
from surveys.service import Surveys
from surveys.store import SurveyCalls

from .helpers import local, new_ticket

CONFIG = survey_config.load({"delay_minutes": 30, "hours": "09:00-20:00", "max_attempts": 3,
                             "retry_minutes": 120, "call_timeout_seconds": 120})
DAY = "2026-09-30"   # a Wednesday


class FakeAmi:
    """Records Originates; `down` makes it behave like an unreachable Asterisk."""

    def __init__(self):
        self.originated: list[dict] = []
        self.down = False

    async def action(self, name, **fields):
        if self.down:
            raise AsteriskUnreachable("AMI not connected")
        self.originated.append({"action": name, **fields})
        return {"Response": "Success"}


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def engine_parts(store: Store, clock: Clock) -> tuple[Surveys, FakeAmi]:
    """What the composition root wires (hotline/app.py), with a fake AMI."""
    ami = FakeAmi()
    surveys = Surveys(store, ami, Providers(store, set()), "node1", CONFIG, timezone="Asia/Shanghai", clock=clock)
    store.clock = clock
    store.in_transition.append(surveys.on_transition)
    return surveys, ami


def key(call: str, digit: str) -> dict:
    return {"Event": "UserEvent", "UserEvent": "HotlineSurvey", "linkedid": call, "result": digit}


def originate_response(call: str, ok: bool) -> dict:
    return {"Event": "OriginateResponse", "Uniqueid": call, "Response": "Success" if ok else "Failure",
            "Reason": "4" if ok else "3"}


async def answered_ticket(store: Store, at: datetime) -> int:
    tid = await new_ticket(store, created=at)
    await store.transition(tid, "answer_on_spot", "agent1002", "agent", text="已告知办理时间", now=at)
    return tid


async def test_answered_or_informed_tickets_get_exactly_one_scheduled_survey(store):  # noqa: F811
    clock = Clock(local(DAY, 10))
    surveys, _ = engine_parts(store, clock)
    answered = await answered_ticket(store, clock.at)
    await store.transition(answered, "escalate", "agent1002", "agent", reason="leadership asked")
    [row] = await surveys.calls.for_ticket(answered)
    assert (row["state"], row["reason"], row["attempts"]) == ("scheduled", "answered", 0)
    assert datetime.fromisoformat(row["due_at"]) == local(DAY, 10) + timedelta(minutes=30)

    informed = await new_ticket(store)
    for action, actor, role, args in [
            ("dispatch", "agent1002", "agent", {"department": "tax", "category": "complaint"}),
            ("accept", "tax", "department", {}), ("reply", "tax", "department", {"text": "已办"}),
            ("inform", "agent1002", "agent", {})]:
        await store.transition(informed, action, actor, role, **args)
    assert [(r["state"], r["reason"]) for r in await surveys.calls.for_ticket(informed)] == [("scheduled", "informed")]

    late = await new_ticket(store)
    clock.at = local(DAY, 19) + timedelta(minutes=45)   # + 30 min is after 20:00: the next morning
    await store.transition(late, "answer_on_spot", "agent1002", "agent", text="x")
    [row] = await surveys.calls.for_ticket(late)
    assert datetime.fromisoformat(row["due_at"]) == local("2026-10-01", 9)


async def test_a_due_survey_is_called_and_the_key_becomes_the_follow_up(store):  # noqa: F811
    clock = Clock(local(DAY, 10))
    surveys, ami = engine_parts(store, clock)
    tid = await answered_ticket(store, clock.at)
    clock.at = local(DAY, 10) + timedelta(minutes=29)
    await surveys.tick()
    assert ami.originated == []                                   # not due yet
    clock.at = local(DAY, 10) + timedelta(minutes=31)
    await surveys.tick()
    [call] = ami.originated
    assert call["Channel"] == "Local/13800138000@hl-callout" and call["Context"] == "hl-survey"
    await surveys.tick()
    assert len(ami.originated) == 1                               # calling: not placed twice
    surveys.on_ami(originate_response(call["ChannelId"], True))
    surveys.on_ami(key(call["ChannelId"], "2"))
    surveys.on_ami(key(call["ChannelId"], "3"))                  # a duplicate event changes nothing
    await surveys.drain()
    view = await store.workflow_ticket(tid)
    assert (view["status"], view["satisfaction"]) == ("follow_up", "basically_satisfied")
    assert (await store.history(tid))[-1]["details"] == {"result": "basically_satisfied", "note": "survey call"}

    reopened = Store(store.url)   # another process, or the engine after a restart
    try:
        [row] = await SurveyCalls(reopened).for_ticket(tid)
    finally:
        await reopened.close()
    assert (row["state"], row["result"], row["attempts"], row["call"]) == (
        "done", "basically_satisfied", 1, call["ChannelId"])
    assert row["answered_at"] is not None


async def test_unanswered_surveys_are_retried_across_a_restart_then_listed_for_agents(store):  # noqa: F811
    clock = Clock(local(DAY, 10))
    surveys, ami = engine_parts(store, clock)
    tid = await answered_ticket(store, clock.at)
    other = await answered_ticket(store, clock.at)
    await store.transition(other, "close", "agent1002", "agent")   # closed before the call: no call
    clock.at = local(DAY, 11)
    await surveys.tick()
    [first] = [c["ChannelId"] for c in ami.originated]
    surveys.on_ami(originate_response(first, False))               # nobody picked up
    await surveys.drain()
    [row] = await surveys.calls.for_ticket(tid)
    assert (row["state"], row["attempts"], row["result"]) == ("scheduled", 1, "no_answer")
    assert datetime.fromisoformat(row["due_at"]) == local(DAY, 13)
    assert [r["state"] for r in await surveys.calls.for_ticket(other)] == ["cancelled"]

    # the engine restarts: a new store and scheduler find the row and go on from it
    restarted = Store(store.url)
    try:
        surveys, ami = engine_parts(restarted, clock)
        clock.at = local(DAY, 13)
        await surveys.tick()
        [second] = [c["ChannelId"] for c in ami.originated]
        surveys.on_ami(key(second, ""))                            # answered, no key pressed
        await surveys.drain()
        [row] = await surveys.calls.for_ticket(tid)
        assert (row["state"], row["attempts"], row["result"]) == ("scheduled", 2, "no_key")
        assert await surveys.calls.followups() == []

        clock.at = local(DAY, 19)        # due at 15:00, but the engine was away until 19:00
        await surveys.tick()
        [_, third] = [c["ChannelId"] for c in ami.originated]
        surveys.on_ami(originate_response(third, True))
        await surveys.drain()
        clock.at += timedelta(seconds=121)   # answered, then hung up on without a key
        await surveys.tick()
        [row] = await surveys.calls.for_ticket(tid)
        assert (row["state"], row["attempts"], row["due_at"]) == ("no_key", 3, None)
        assert len(ami.originated) == 2      # no fourth call
        [item] = await surveys.calls.followups()
        assert item["id"] == tid and item["caller"] == "13800138000"
        assert (item["survey"]["state"], item["survey"]["attempts"]) == ("no_key", 3)
        # an agent calls the citizen and records the follow-up: off the list
        await restarted.transition(tid, "follow_up", "agent1002", "agent", result="satisfied")
        assert await surveys.calls.followups() == []
        assert (await surveys.calls.for_ticket(tid))[0]["state"] == "no_key"   # what happened stays
    finally:
        await restarted.close()


async def test_no_calls_outside_the_allowed_hours(store):  # noqa: F811
    clock = Clock(local(DAY, 19))
    surveys, ami = engine_parts(store, clock)
    tid = await answered_ticket(store, clock.at)            # due 19:30
    clock.at = local(DAY, 21)
    await surveys.tick()
    assert ami.originated == []
    clock.at = local("2026-10-01", 9)
    await surveys.tick()
    assert len(ami.originated) == 1 and (await surveys.calls.for_ticket(tid))[0]["state"] == "calling"


async def test_a_survey_asked_for_by_hand_takes_over_the_scheduled_one(store):  # noqa: F811
    clock = Clock(local(DAY, 10))
    surveys, ami = engine_parts(store, clock)
    tid = await answered_ticket(store, clock.at)
    ami.down = True
    with pytest.raises(AsteriskUnreachable):
        await surveys.start(tid)
    [row] = await surveys.calls.for_ticket(tid)
    assert (row["state"], row["attempts"]) == ("scheduled", 0)     # Asterisk away: not an attempt
    ami.down = False
    started = await surveys.start(tid, sim_keys="1")
    with pytest.raises(Conflict):
        await surveys.start(tid)
    [row] = await surveys.calls.for_ticket(tid)
    assert (row["state"], row["call"], row["attempts"]) == ("calling", started["call"], 1)
    outcome = await surveys.record(started["call"], "1")
    assert outcome["result"] == "satisfied" and outcome["suspended"] is None
    assert [r["state"] for r in await surveys.calls.for_ticket(tid)] == ["done"]


async def test_a_manual_survey_without_the_scheduler_still_writes_a_row(store):  # noqa: F811
    # surveys disabled: nothing is scheduled by itself, the API call is still recorded
    clock = Clock(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))
    ami = FakeAmi()
    surveys = Surveys(store, ami, Providers(store, set()), "node1", survey_config.load({"enabled": False}),
                      clock=clock)
    store.in_transition.append(surveys.on_transition)
    tid = await answered_ticket(store, clock.at)
    assert await surveys.calls.for_ticket(tid) == []
    started = await surveys.start(tid)
    assert [(r["state"], r["reason"], r["call"]) for r in await surveys.calls.for_ticket(tid)] == [
        ("calling", "manual", started["call"])]
