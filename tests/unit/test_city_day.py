"""The city-day simulation (bench.city_*) on small seeded scenarios: nothing lost, one call
per agent, the baseline really is first-in first-out, and the core's relaxation serves a
call the baseline leaves waiting."""
from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict

import pytest

from acd.model import ELDERLY_DISABLED, NORMAL, Skills
from bench import city_scenario as S
from bench.city_day import figures, report
from bench.city_sim import ABANDONED, ANSWERED, TIMED_OUT, WAITING, Result, run_core, run_fifo

STATUSES = {ANSWERED, ABANDONED, TIMED_OUT, WAITING}


@pytest.fixture(scope="module")
def small():
    """A few agents, a few hundred calls; cut off inside the surge hour so that calls are
    still waiting when the run ends."""
    sc = S.city_day(S.DayShape(calls=800, agents=20, seed=7))
    sc = dataclasses.replace(sc, end=13.6 * 3600)
    return sc, run_core(sc), run_fifo(sc)


def arrived(sc):
    return [c for c in sc.calls if c.arrived <= sc.end]


@pytest.mark.parametrize("which", [1, 2], ids=["core", "fifo"])
def test_every_call_is_answered_abandoned_timed_out_or_still_waiting(small, which):
    sc, result = small[0], small[which]
    calls = arrived(sc)
    assert set(result.outcomes) == {c.id for c in calls}
    status = Counter(o.status for o in result.outcomes.values())
    assert set(status) <= STATUSES, status
    assert sum(status.values()) == len(calls)
    # the scenario reaches every outcome, so each bucket is really counted
    assert all(status[s] > 0 for s in (ANSWERED, ABANDONED, WAITING)), status
    f = figures(result.outcomes.values())
    assert f["answered"] + f["abandoned"] + f["short"] + f["timed_out"] + f["waiting"] == len(calls)
    per_dept = Counter(c.department for c in calls)
    for dept, n in per_dept.items():
        g = figures(o for o in result.outcomes.values() if o.call.department == dept)
        assert g["answered"] + g["abandoned"] + g["short"] + g["timed_out"] + g["waiting"] == n
    # an answered call was answered after it arrived, by someone, and within the run
    for o in result.outcomes.values():
        assert o.call.arrived <= o.ended <= sc.end
        assert (o.agent is not None) == (o.status == ANSWERED)


@pytest.mark.parametrize("which", [1, 2], ids=["core", "fifo"])
def test_no_agent_ever_holds_two_calls_and_only_on_shift(small, which):
    sc, result = small[0], small[which]
    shifts = {a.id: a for a in sc.agents}
    by_agent = defaultdict(list)
    for agent, call, start, end in result.holds:
        by_agent[agent].append((start, sc.end if end is None else end, call))
    assert sum(len(v) for v in by_agent.values()) > 50     # the check has material
    for agent, spans in by_agent.items():
        spans.sort()
        for (s1, e1, c1), (s2, _, c2) in zip(spans, spans[1:]):
            assert s2 >= e1, f"agent {agent} held {c1} until {e1} and got {c2} at {s2}"
        for start, _, call in spans:
            a = shifts[agent]
            assert a.start <= start < a.end, f"{call} offered to {agent} off shift"
            o = result.outcomes[call]
            if result.name == "core":   # the skill its relaxation step asked for
                assert o.via in a.skills and o.via[1] in (o.call.language, "cmn"), (o, a)
            else:                       # FIFO: any skill in the call's department
                assert o.call.department in {d for d, _ in a.skills}
    assert len({h[1] for h in result.holds}) == len(result.holds)   # no call offered twice (no ring-outs)
    answered = Counter(o.agent for o in result.outcomes.values() if o.status == ANSWERED)
    assert all(answered[a] <= len(by_agent[a]) for a in answered)


def line_leaves(result: Result, sc) -> dict[str, float]:
    """When each call left its line: offered, or gone (abandoned, timed out), or the end."""
    left = {lid: o.ended for lid, o in result.outcomes.items()}
    for t, _, lid in result.offers:
        left[lid] = min(left[lid], t)
    return left


def fifo_violations(result: Result, sc) -> list[str]:
    """Calls offered while an earlier call of the same department was still in its line."""
    left = line_leaves(result, sc)
    offered_at = {}
    for t, _, lid in result.offers:
        offered_at.setdefault(lid, t)
    bad = []
    by_dept = defaultdict(list)
    for c in arrived(sc):
        by_dept[c.department].append(c)
    for calls in by_dept.values():
        calls.sort(key=lambda c: (c.arrived, c.id))
        latest_leave, latest_id = float("-inf"), None
        for c in calls:
            t = offered_at.get(c.id)
            if t is not None and latest_leave > t:
                bad.append(f"{c.id} offered at {t:.1f} while {latest_id} waited until {latest_leave:.1f}")
            if left[c.id] > latest_leave:
                latest_leave, latest_id = left[c.id], c.id
    return bad


def test_fifo_baseline_is_first_in_first_out_within_a_department(small):
    sc, core, fifo = small
    assert len(fifo.offers) > 50
    assert fifo_violations(fifo, sc) == []


def test_fifo_ignores_priority_classes_the_core_honours_them():
    """An elderly caller behind a normal one in the same department: the core serves the
    elderly caller first (the check above catches that), FIFO keeps arrival order."""
    shift = dict(start=0.0, end=5000.0)
    agents = (S.Agent("t1", Skills({("tax", "cmn"): 4}), **shift),)
    calls = (S.Call("c1", "tax", "cmn", NORMAL, 1.0, 100.0, 1000.0, 3.0),
             S.Call("c2", "tax", "cmn", NORMAL, 10.0, 100.0, 1000.0, 3.0),
             S.Call("c3", "tax", "cmn", ELDERLY_DISABLED, 20.0, 100.0, 1000.0, 3.0))
    sc = S.Scenario(agents, calls, S.demo_acd(), end=4000.0, departments=("general", "tax"))
    core, fifo = run_core(sc), run_fifo(sc)
    assert [lid for _, _, lid in fifo.offers] == ["c1", "c2", "c3"]
    assert fifo_violations(fifo, sc) == []
    assert [lid for _, _, lid in core.offers] == ["c1", "c3", "c2"]
    assert fifo_violations(core, sc) == [f"c3 offered at {1 + 3 + 100 + 10:.1f} while c2 waited until "
                                         f"{1 + 3 + 100 + 10 + 3 + 100 + 10:.1f}"]


def test_simulations_are_deterministic(small):
    sc, core, fifo = small
    again = run_core(sc), run_fifo(sc)
    for first, second in zip((core, fifo), again):
        assert {k: (o.status, o.ended, o.agent) for k, o in first.outcomes.items()} == \
               {k: (o.status, o.ended, o.agent) for k, o in second.outcomes.items()}


def test_the_core_relaxes_to_the_general_desk_where_fifo_leaves_the_call_waiting():
    acd = S.demo_acd()      # the demo's relaxation: ..., "60:1:general"
    long_shift = dict(start=0.0, end=5000.0)
    tax = S.Agent("t1", Skills({("tax", "cmn"): 4}), **long_shift)
    desk = S.Agent("g1", Skills({("general", "cmn"): 4}), **long_shift)
    busy = S.Call("c1", "tax", "cmn", 3, arrived=1.0, talk=2000.0, patience=1000.0, ring=3.0)
    second = S.Call("c2", "tax", "cmn", 3, arrived=10.0, talk=100.0, patience=500.0, ring=3.0)
    sc = S.Scenario((tax, desk), (busy, second), acd, end=4000.0, departments=("general", "tax"))
    core, fifo = run_core(sc), run_fifo(sc)

    for r in (core, fifo):
        assert (r.outcomes["c1"].status, r.outcomes["c1"].agent) == (ANSWERED, "t1")
    # FIFO: only tax agents serve the tax line; the idle general agent never rings
    assert fifo.outcomes["c2"].status == ABANDONED and fifo.outcomes["c2"].ended == pytest.approx(510.0)
    assert [h for h in fifo.holds if h[0] == "g1"] == []
    # core: once the call has waited 60 s the general desk may take it, and does
    o = core.outcomes["c2"]
    assert (o.status, o.agent, o.via) == (ANSWERED, "g1", ("general", "cmn"))
    assert acd.default_steps[o.step].department_override == "general"
    assert o.ended == pytest.approx(10.0 + 60.0 + 3.0)   # not before the step is due


def test_relaxation_is_what_the_config_says():
    """With no overflow step configured, the core keeps the call for its own department too."""
    acd = S.demo_acd(["0:3", "15:1"])
    long_shift = dict(start=0.0, end=5000.0)
    agents = (S.Agent("t1", Skills({("tax", "cmn"): 4}), **long_shift),
              S.Agent("g1", Skills({("general", "cmn"): 4}), **long_shift))
    calls = (S.Call("c1", "tax", "cmn", 3, 1.0, 2000.0, 1000.0, 3.0),
             S.Call("c2", "tax", "cmn", 3, 10.0, 100.0, 500.0, 3.0))
    core = run_core(S.Scenario(agents, calls, acd, end=4000.0, departments=("general", "tax")))
    assert core.outcomes["c2"].status == ABANDONED


def test_staffing_covers_the_erlang_advice_when_the_roster_allows():
    shape = S.DayShape(calls=3000, agents=1, seed=3)
    needed = S.needed_agents(shape, wrapup_s=10.0)
    roster = len(S.cover(needed, shift_hours=8)) + 5
    plan, notes = S.shifts(needed, roster=roster, shift_hours=8, fill=True)
    assert len(plan) == roster and len(notes) == 1
    assert len(S.shifts(needed, roster=roster, shift_hours=8)[0]) == roster - 5    # the rest are off today
    length = 8 * 3600 // S.INTERVAL_S
    for dept, need in needed.items():
        duty = [sum(1 for d, s in plan if d == dept and s <= i < s + length) for i in range(S.INTERVALS)]
        assert all(duty[i] >= need[i] for i in range(S.INTERVALS)), dept
    # the day has its peaks: more agents are needed at 10:00 than at 04:00
    assert sum(v[20] for v in needed.values()) > 2 * sum(v[8] for v in needed.values())


def test_report_prints_both_sides(small):
    sc, core, fifo = small
    text = report(sc, core, fifo)
    assert "| department | calls | SL core | SL FIFO |" in text
    assert "Fairness (max - min service level across departments): core" in text
    for dept in {c.department for c in arrived(sc)}:
        assert f"| {dept} |" in text
