"""ACD routing policy by example: skills and relaxation, RONA, wrap-up, priority classes,
explanations and refused transitions. The properties are in test_acd_policy_properties."""
from __future__ import annotations

import pytest

from acd import policy as P
from acd.model import (CALLBACK, ELDERLY_DISABLED, EMERGENCY, LOGGED_OUT, NO_ANSWER, NORMAL, OFFERED, ON_CALL,
                       PAUSED, READY, WRAPUP, AgentState, Policy, RelaxStep, Skills, WaitingCall, standard_steps)
from core import settings

# tax: Cantonese level >= 3 first, any Cantonese level after 30 s, Mandarin after 60 s,
# the general department (Mandarin) after 120 s.
TAX = (RelaxStep(0, 3), RelaxStep(30, 1), RelaxStep(60, 1, language_override="cmn"),
       RelaxStep(120, 1, "general", "cmn"))
POLICY = Policy(steps={"tax": TAX}, default_steps=(RelaxStep(0, 1),), wrapup_seconds=20, rona_max_misses=2)


def agent(aid, *skills, state=READY, idle=0.0, **kw):
    levels = {(d, lang): int(lv) for d, lang, lv in (s.split(":") for s in skills)}
    return AgentState(aid, Skills(levels), state, idle_since=idle, **kw)


def call(lid, dept="tax", lang="yue", priority=NORMAL, arrived=0.0, **kw):
    return WaitingCall(lid, dept, lang, priority, arrived, **kw)


def routed(decisions):
    return [(d.call.linkedid, d.agent.id) for d in decisions]


# -- skills and relaxation ----------------------------------------------------------------------
def test_cantonese_tax_call_goes_to_the_cantonese_agent_not_the_idle_mandarin_one():
    mandarin = agent("1001", "tax:cmn:5", idle=-3600)   # idle an hour, best level
    cantonese = agent("1002", "tax:yue:4", idle=-10)
    [d] = P.assign([mandarin, cantonese], [call("c1")], 5.0, POLICY)
    assert (d.agent.id, d.step_index) == ("1002", 0)
    assert [c.agent_id for c in d.candidates] == ["1002"]  # the Mandarin agent is not a candidate yet


def test_mandarin_agent_becomes_eligible_after_the_relaxation_time():
    mandarin = agent("1001", "tax:cmn:5", idle=-3600)
    busy = agent("1002", "tax:yue:4", state=ON_CALL, call="other")
    c = call("c1", arrived=100.0)
    assert P.assign([mandarin, busy], [c], 159.9, POLICY) == []
    [d] = P.assign([mandarin, busy], [c], 160.0, POLICY)   # 60 s: step 3, Mandarin allowed
    assert (d.agent.id, d.step_index, d.current_step) == ("1001", 2, 2)
    assert "tax:cmn level>=1 (overflow to language cmn)" in d.rule
    text = P.explain(d)
    assert "agent 1001 by step 3 of 4" in text and "earlier steps 1-2 had no ready agent" in text


def test_levels_relax_then_overflow_department():
    junior = agent("1003", "tax:yue:1", idle=-50)
    general = agent("1000", "general:cmn:4", idle=-500)
    c = call("c1")
    assert P.assign([junior, general], [c], 29.0, POLICY) == []          # level >= 3 only
    assert routed(P.assign([junior, general], [c], 30.0, POLICY)) == [("c1", "1003")]
    assert routed(P.assign([general], [c], 119.0, POLICY)) == []
    [d] = P.assign([general], [c], 120.0, POLICY)
    assert (d.agent.id, d.step_index) == ("1000", 3) and "overflow to department general" in d.rule


def test_a_stricter_match_goes_before_a_longer_idle_relaxed_one():
    senior = agent("1004", "tax:yue:3", idle=0.0)
    junior = agent("1003", "tax:yue:2", idle=-999)
    [d] = P.assign([junior, senior], [call("c1")], 45.0, POLICY)
    assert d.agent.id == "1004"
    assert [(c.agent_id, c.step_index) for c in d.candidates] == [("1004", 0), ("1003", 1)]


def test_best_level_then_longest_idle_then_id():
    a = agent("1005", "tax:yue:4", idle=-10)
    b = agent("1006", "tax:yue:5", idle=0)
    c = agent("1007", "tax:yue:5", idle=-20)
    d = agent("1008", "tax:yue:5", idle=-20)
    calls = [call(f"c{i}", arrived=float(i)) for i in range(4)]
    assert routed(P.assign([a, b, c, d], calls, 10.0, POLICY)) == [
        ("c0", "1007"), ("c1", "1008"), ("c2", "1006"), ("c3", "1005")]


def test_a_multi_skilled_agent_takes_the_oldest_call_across_departments():
    both = agent("1009", "tax:yue:3", "market:cmn:3")
    calls = [call("tax-new", arrived=20.0), call("market-old", "market", "cmn", arrived=10.0)]
    [d] = P.assign([both], calls, 30.0, POLICY)
    assert d.call.linkedid == "market-old" and d.position == 0
    # ...and a call nobody may take does not hold up the line behind it
    stuck = call("en-oldest", "tax", "en", arrived=0.0)
    [d] = P.assign([both], calls + [stuck], 30.0, POLICY)
    assert d.call.linkedid == "market-old" and d.skipped_ahead == 1


# -- priority classes ----------------------------------------------------------------------------
def test_callback_does_not_jump_emergency_but_keeps_its_place_among_callbacks():
    agents = [agent("1010", "tax:yue:5", "tax:cmn:5")]
    callback_old = call("cb-old", priority=CALLBACK, arrived=-3600.0)  # asked for an hour ago
    callback_new = call("cb-new", priority=CALLBACK, arrived=-60.0)
    emergency = call("sos", priority=EMERGENCY, arrived=50.0)
    elderly = call("elder", priority=ELDERLY_DISABLED, arrived=40.0)
    normal_old = call("normal", priority=NORMAL, arrived=-7200.0)
    line = [normal_old, callback_new, elderly, callback_old, emergency]
    order = []
    for t in (60.0, 61.0, 62.0, 63.0, 64.0):
        [d] = P.assign(agents, line, t, POLICY)
        order.append(d.call.linkedid)
        line.remove(d.call)
    assert order == ["sos", "elder", "cb-old", "cb-new", "normal"]


def test_a_callback_being_dialled_cannot_be_queued_again():
    board = P.Board(POLICY, [agent("1011", "tax:yue:5")])
    cb = call("cb", priority=CALLBACK, arrived=-60.0)
    board.put_call(cb)
    [d] = board.assign(0.0)
    board.offer(d, 0.0)
    with pytest.raises(P.Refused, match="with agent 1011"):
        board.put_call(cb)                       # no second dial while the first rings
    with pytest.raises(P.Refused, match="still waiting|with agent"):
        P.assign([board.agent("1011")], [cb], 1.0, POLICY)


# -- RONA -------------------------------------------------------------------------------------------
def test_rona_returns_the_call_to_the_head_and_pauses_the_agent_after_n_misses():
    sleepy = agent("1012", "tax:yue:5", idle=-100)
    other = agent("1013", "tax:yue:3", state=PAUSED, paused_reason="lunch")
    board = P.Board(POLICY, [sleepy, other], [call("first", arrived=0.0)])
    [d] = board.assign(1.0)
    board.offer(d, 1.0)
    board.put_call(call("second", arrived=5.0))
    a, back = board.rona("1012", 16.0)          # rang 15 s, nobody answered
    assert (a.state, a.misses, a.idle_since) == (READY, 1, 16.0)
    assert back.arrived == 0.0 and back.bounced and back.missed_by == ("1012",)
    assert [c.linkedid for c in board.waiting()] == ["first", "second"]   # back at the head
    [d] = board.assign(16.0)
    assert (d.call.linkedid, d.agent.id) == ("first", "1012")            # the only one allowed
    assert "only agents it already rang out on" in d.rule and "rang out before" in P.explain(d)
    board.offer(d, 16.0)
    a, back = board.rona("1012", 31.0)
    assert (a.state, a.paused_reason, a.misses) == (PAUSED, NO_ANSWER, 2)  # N = 2 misses
    assert board.assign(31.0) == [] and [c.linkedid for c in board.waiting()] == ["first", "second"]
    board.unpause("1013", 32.0)
    assert routed(board.assign(32.0)) == [("first", "1013")]


def test_an_agent_who_missed_a_call_is_tried_last_for_it():
    missed = agent("1014", "tax:yue:5", idle=-500)
    fresh = agent("1015", "tax:yue:3", idle=0.0)
    c = call("c1", bounced=True, missed_by=("1014",))
    [d] = P.assign([missed, fresh], [c], 10.0, POLICY)
    assert d.agent.id == "1015"
    assert [(x.agent_id, x.missed) for x in d.candidates] == [("1015", False), ("1014", True)]


def test_answering_resets_the_miss_count():
    a = P.offer(agent("1016", "tax:yue:5", misses=1), call("c1"), 1.0, POLICY)
    assert P.answer(a, "c1", 2.0).misses == 0


# -- wrap-up and other states -------------------------------------------------------------------
def test_wrapup_holds_the_agent_back_until_it_ends():
    board = P.Board(POLICY, [agent("1017", "tax:yue:5")], [call("c1")])
    [d] = board.assign(0.0)
    board.offer(d, 0.0)
    board.answer("1017", "c1", 2.0)
    a = board.hangup("1017", "c1", 100.0)
    assert (a.state, a.until) == (WRAPUP, 120.0)
    board.put_call(call("c2", arrived=101.0))
    assert board.tick(119.9) == [] and board.assign(119.9) == []
    [ready] = board.tick(120.0)
    assert (ready.state, ready.idle_since) == (READY, 120.0)
    assert routed(board.assign(120.0)) == [("c2", "1017")]


def test_pure_tick_and_zero_wrapup():
    a = agent("1018", "tax:yue:5", state=ON_CALL, call="c1")
    w = P.hangup(a, "c1", 10.0, POLICY)
    assert P.tick(w, 29.0) == w and P.tick(w, 30.0).state == READY
    no_wrap = Policy(default_steps=(RelaxStep(0, 1),), wrapup_seconds=0)
    assert P.hangup(a, "c1", 10.0, no_wrap).state == READY


def test_paused_logged_out_offered_and_busy_agents_get_nothing():
    agents = [agent("1019", "tax:yue:5", state=PAUSED, paused_reason="training"),
              agent("1020", "tax:yue:5", state=LOGGED_OUT),
              agent("1021", "tax:yue:5", state=OFFERED, call="x"),
              agent("1022", "tax:yue:5", state=ON_CALL, call="y"),
              agent("1023", "tax:yue:5", state=WRAPUP, until=5.0)]
    assert P.assign(agents, [call("c1")], 10.0, POLICY) == []


def test_caller_leaving_while_ringing_keeps_the_agents_idle_time():
    a = P.offer(agent("1024", "tax:yue:5", idle=-300), call("c1"), 1.0, POLICY)
    back = P.cancel(a, "c1", 5.0)
    assert (back.state, back.idle_since, back.call) == (READY, -300, None)


def test_transitions_refuse_what_does_not_fit():
    ready = agent("1025", "tax:yue:5")
    with pytest.raises(P.Refused, match="cannot answer while ready"):
        P.answer(ready, "c1", 1.0)
    with pytest.raises(P.Refused, match="lacks the skill"):
        P.offer(ready, call("c1", "market", "en"), 1.0, POLICY)
    offered = P.offer(ready, call("c1"), 1.0, POLICY)
    with pytest.raises(P.Refused, match="has c1"):
        P.answer(offered, "c2", 2.0)               # a stale event for another call
    with pytest.raises(P.Refused):
        P.offer(offered, call("c2"), 2.0, POLICY)  # never two calls at once
    with pytest.raises(P.Refused):
        P.logout(offered, 2.0)
    with pytest.raises(P.Refused, match="reason"):
        P.pause(ready, " ", 1.0)
    with pytest.raises(P.Refused):
        P.unpause(ready, 1.0)
    with pytest.raises(P.Refused):
        P.login(ready, 1.0)
    out = P.logout(P.pause(ready, "lunch", 1.0), 2.0)
    assert (out.state, out.paused_reason) == (LOGGED_OUT, None)
    assert P.login(out, 3.0).idle_since == 3.0


def test_board_refuses_a_stale_decision():
    board = P.Board(POLICY, [agent("1026", "tax:yue:5")], [call("c1")])
    [d] = board.assign(0.0)
    board.pause("1026", "toilet", 0.5)
    with pytest.raises(P.Refused, match="changed since"):
        board.offer(d, 1.0)
    board.unpause("1026", 1.0)
    [d] = board.assign(1.0)
    board.drop_call("c1")                       # the caller hung up
    with pytest.raises(P.Refused, match="no longer waiting"):
        board.offer(d, 1.0)
    with pytest.raises(ValueError, match="backwards"):
        board.assign(0.0)


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="given twice"):
        P.assign([agent("1", "tax:yue:1"), agent("1", "tax:cmn:1")], [], 0.0, POLICY)
    with pytest.raises(ValueError, match="given twice"):
        P.assign([], [call("c"), call("c")], 0.0, POLICY)
    with pytest.raises(ValueError, match="first step"):
        Policy(default_steps=(RelaxStep(10, 1),))
    with pytest.raises(ValueError, match="increase"):
        Policy(steps={"tax": (RelaxStep(0, 3), RelaxStep(0, 1))})
    with pytest.raises(ValueError, match="1-5"):
        RelaxStep(0, 6)
    with pytest.raises(ValueError, match="1-5"):
        Skills({("tax", "cmn"): 0})
    with pytest.raises(ValueError):
        AgentState("1", {}, ON_CALL)            # on a call, but which?


def test_explain_names_call_rule_and_candidates():
    agents = [agent("1027", "tax:yue:4", idle=-30), agent("1028", "tax:yue:3", idle=-90)]
    [d] = P.assign(agents, [call("n1-77", priority=ELDERLY_DISABLED, arrived=0.0)], 12.0, POLICY)
    text = P.explain(d)
    assert "call n1-77 (tax/yue, elderly/disabled, waiting 12.0 s) was #1 in line" in text
    assert "-> agent 1027 by step 1 of 4 for tax (from 0 s): tax:yue level>=3" in text
    assert "1027 tax:yue:4 step 1 idle 42.0 s [chosen]; 1028 tax:yue:3 step 1 idle 102.0 s" in text


def test_explain_top_limits_the_candidates_kept():
    agents = [agent(str(1100 + i), "tax:yue:5", idle=-i) for i in range(8)]
    one = Policy(steps={"tax": TAX}, explain_top=2)
    [d] = P.assign(agents, [call("c1")], 1.0, one)
    assert [c.agent_id for c in d.candidates] == ["1107", "1106"] and d.more_candidates
    everyone = Policy(steps={"tax": TAX}, explain_top=None)
    [d] = P.assign(agents, [call("c1")], 1.0, everyone)
    assert len(d.candidates) == 8 and not d.more_candidates


def test_agents_from_the_demo_centre():
    centre = settings.load_centre(settings.DEMO_CONFIG)
    states = [AgentState.from_agent(a) for a in centre.agents]
    assert all(s.state == LOGGED_OUT and s.skills for s in states)
    policy = Policy(default_steps=standard_steps(centre.fallback_department))
    ready = [P.login(s, 0.0) for s in states]
    calls = [call("tax-cmn", "tax", "cmn", arrived=0.0), call("tax-yue", "tax", "yue", arrived=1.0)]
    # tax:cmn:4 beats 1007's tax:cmn:3; the Cantonese call goes to 1007 (tax:yue:4)
    assert routed(P.assign(ready, calls, 2.0, policy)) == [("tax-cmn", "1002"), ("tax-yue", "1007")]
    # with 1007 away nobody speaks Cantonese in tax: after 90 s the general desk (1000,
    # general:yue:2) takes it
    without = [s for s in ready if s.id != "1007"]
    assert routed(P.assign(without, calls, 2.0, policy)) == [("tax-cmn", "1002")]
    assert routed(P.assign(without, calls, 91.0, policy)) == [("tax-cmn", "1002"), ("tax-yue", "1000")]


def test_an_old_wrapup_timer_does_not_end_a_newer_wrapup():
    board = P.Board(POLICY, [agent("1029", "tax:yue:5")], [call("c1")])
    board.offer(board.assign(0.0)[0], 0.0)
    board.answer("1029", "c1", 1.0)
    board.hangup("1029", "c1", 10.0)               # wrap-up until 30
    board.pause("1029", "supervisor", 12.0)        # pulled away during wrap-up
    board.unpause("1029", 14.0)
    board.put_call(call("c2", arrived=14.0))
    board.offer(board.assign(14.0)[0], 14.0)
    board.answer("1029", "c2", 15.0)
    board.hangup("1029", "c2", 25.0)               # a new wrap-up, until 45
    assert board.tick(30.0) == [] and board.agent("1029").state == WRAPUP
    assert [a.id for a in board.tick(45.0)] == ["1029"]


def test_next_due_names_the_next_step_or_wrapup_end():
    board = P.Board(POLICY, [agent("1030", "tax:yue:5", state=ON_CALL, call="c0")])
    assert board.next_due() is None
    board.put_call(call("c1", arrived=100.0))            # tax steps at 100, 130, 160, 220
    assert board.next_due() == 100.0
    board.advance(131.0)
    assert board.next_due() == 160.0
    board.hangup("1030", "c0", 135.0)                    # wrap-up until 155
    assert board.next_due() == 155.0
    board.drop_call("c1")
    board.tick(155.0)
    assert board.next_due() is None


# -- the least versatile of equally skilled agents; waits cut short -------------------------------
def test_of_equally_skilled_agents_the_one_without_cantonese_takes_the_mandarin_call():
    # the bilingual agent has been idle longer, but keeping them free is what lets the
    # Cantonese caller who rings a moment later be answered in Cantonese at once
    bilingual = agent("1001", "tax:cmn:4", "tax:yue:4", idle=-600)
    mandarin = agent("1002", "tax:cmn:4", idle=-10)
    board = P.Board(POLICY, [bilingual, mandarin], [call("c1", lang="cmn")])
    [d] = board.assign(0.0)
    assert d.agent.id == "1002"
    assert [c.agent_id for c in d.candidates] == ["1002", "1001"]
    assert "fewest other skills" in P.explain(d)
    board.offer(d, 0.0)
    board.put_call(call("c2", arrived=1.0))
    assert routed(board.assign(1.0)) == [("c2", "1001")]


def test_a_higher_level_still_goes_before_fewer_skills():
    bilingual = agent("1001", "tax:cmn:5", "tax:yue:4")
    mandarin = agent("1002", "tax:cmn:4", idle=-600)
    assert routed(P.assign([bilingual, mandarin], [call("c1", lang="cmn")], 0.0, POLICY)) == [("c1", "1001")]


def test_the_wait_for_a_cantonese_agent_is_cut_short_when_none_can_free_up():
    mandarin = agent("1001", "tax:cmn:5")
    on_call = agent("1002", "tax:yue:4", state=ON_CALL, call="other")      # the end of a call is unknown
    meal = agent("1003", "tax:yue:5", state=PAUSED, paused_reason="meal")
    board = P.Board(POLICY, [mandarin, on_call, meal], [call("c1", arrived=0.0)])
    assert board.assign(2.0) == []                       # by the clock the Mandarin step is 58 s away
    [hastened] = board.hasten(2.0)
    assert (hastened.linkedid, hastened.hastened) == ("c1", 2)   # step 2 (any Cantonese) added nobody
    assert board.current_step("c1", 2.0) == 2
    [d] = board.assign(2.0)
    assert (d.agent.id, d.step_index) == ("1001", 2)
    assert "applied early" in d.rule
    board.offer(d, 2.0)                                  # the transition agrees with the board
    assert board.agent("1001").state == OFFERED


def test_the_wait_is_kept_for_a_cantonese_agent_out_of_wrap_up_before_the_step():
    mandarin = agent("1001", "tax:cmn:5")
    wrapping = agent("1002", "tax:yue:4", state=WRAPUP, until=20.0)
    board = P.Board(POLICY, [mandarin, wrapping], [call("c1", arrived=0.0)])
    assert board.hasten(2.0) == [] and board.assign(2.0) == []
    assert routed(board.tick(20.0) and board.assign(20.0)) == [("c1", "1002")]
    # out only after the Mandarin step would apply anyway: no point waiting for them
    late = P.Board(POLICY, [mandarin, agent("1002", "tax:yue:4", state=WRAPUP, until=70.0)], [call("c1")])
    assert [c.hastened for c in late.hasten(2.0)] == [2]


def test_the_hand_over_to_another_department_always_waits_its_time():
    general = agent("1001", "general:cmn:5")
    board = P.Board(POLICY, [general], [call("c1", lang="cmn", arrived=0.0)])
    assert board.hasten(2.0) == [] and board.assign(119.0) == []
    assert board.hasten(119.0) == []
    assert routed(board.assign(120.0)) == [("c1", "1001")]


def test_a_cut_wait_is_kept_by_the_call_through_a_rona_and_a_rebuilt_board():
    mandarin = agent("1001", "tax:cmn:5")
    board = P.Board(POLICY, [mandarin], [call("c1")])
    [c] = board.hasten(1.0)
    rebuilt = P.Board(POLICY, [mandarin], [c])            # e.g. another node taking over
    assert rebuilt.current_step("c1", 1.0) == 2 and P.current_step(c, 1.0, POLICY) == 2
    d = rebuilt.assign(1.0)[0]
    rebuilt.offer(d, 1.0)
    _, back = rebuilt.rona("1001", 3.0)
    assert back.hastened == 2
