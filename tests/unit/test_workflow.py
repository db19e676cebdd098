"""The ticket workflow state machine: every (state, action) pair, roles, guards, arguments."""
from __future__ import annotations

import pytest

from core.errors import BadRequest, Forbidden, HotlineError
from tickets import workflow as wf
from tickets.workflow import Actor, TicketState, apply, parse_action

STATES = ["new", "answered", "dispatched", "accepted", "returned", "replied", "informed", "follow_up", "closed",
          "merged"]
ACTIONS = ["answer_on_spot", "dispatch", "accept", "return", "reply", "inform", "follow_up", "close",
           "reopen", "escalate", "supervise", "merge"]

# Written out independently of tickets.workflow.TRANSITIONS: (state, action) -> new state.
EXPECTED = {
    ("new", "answer_on_spot"): "answered",
    ("returned", "answer_on_spot"): "answered",
    ("new", "dispatch"): "dispatched",
    ("returned", "dispatch"): "dispatched",
    ("dispatched", "accept"): "accepted",
    ("dispatched", "return"): "returned",
    ("accepted", "reply"): "replied",
    ("replied", "inform"): "informed",
    ("answered", "follow_up"): "follow_up",
    ("informed", "follow_up"): "follow_up",
    ("answered", "close"): "closed",
    ("follow_up", "close"): "closed",
    ("closed", "reopen"): "new",
    **{(s, "escalate"): s for s in STATES if s not in ("closed", "merged")},
    ("dispatched", "supervise"): "dispatched",
    ("accepted", "supervise"): "accepted",
    ("new", "merge"): "merged",          # a repeat call the centre holds joins the open case
    ("returned", "merge"): "merged",
}

WHO = {  # action -> roles that may do it
    "answer_on_spot": {"agent"}, "dispatch": {"agent", "supervisor"}, "accept": {"department"},
    "return": {"department"}, "reply": {"department"}, "inform": {"agent"}, "follow_up": {"agent"},
    "close": {"agent", "supervisor"}, "reopen": {"supervisor"}, "escalate": {"agent", "supervisor"},
    "supervise": {"supervisor"}, "merge": {"agent", "supervisor"},
}

ARGS = {
    "answer_on_spot": {"text": "The office is open 9-17."},
    "dispatch": {"department": "tax", "category": "complaint"},
    "accept": {},
    "return": {"reason": "not ours: housing fund"},
    "reply": {"text": "Refund paid on 3 March."},
    "inform": {},
    "follow_up": {"result": "satisfied"},
    "close": {},
    "reopen": {"reason": "caller called again"},
    "escalate": {"reason": "media attention"},
    "supervise": {"note": "answer by Friday"},
    "merge": {"into": 7},
}

AGENT = Actor("agent1002", "agent")
SUPERVISOR = Actor("sup1", "supervisor")
TAX = Actor("tax/zhang", "department", "tax")
ACTORS = {"agent": AGENT, "supervisor": SUPERVISOR, "department": TAX,
          "ops": Actor("ops1", "ops"), "auditor": Actor("aud1", "auditor")}


def ticket(status: str, **kw) -> TicketState:
    base = dict(status=wf.Status(status), department="tax", category="complaint", owner="agent1002",
                overdue=True, satisfaction="satisfied")
    return TicketState(**{**base, **kw})


def actor_for(action: str) -> Actor:
    return ACTORS[sorted(WHO[action])[0]]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_state_action_matrix(state, action):
    t = ticket(state)
    act = parse_action(action, ARGS[action])
    if (state, action) in EXPECTED:
        new, entry = apply(t, act, actor_for(action))
        assert new.status == EXPECTED[state, action]
        assert (entry.action, entry.from_status, entry.to_status) == (action, state, EXPECTED[state, action])
        assert entry.actor == actor_for(action).name and entry.role == actor_for(action).role
    else:
        with pytest.raises(wf.TransitionRefused) as e:
            apply(t, act, actor_for(action))
        assert e.value.id == "transition-refused" and e.value.status == 409
        assert f"cannot {action} a ticket that is {state}" in str(e.value)
        assert e.value.details == {"action": action, "status": state}


def test_table_matches_the_expected_matrix():
    table = {(s.value, a.value): to.value for a, m in wf.TRANSITIONS.items() for s, to in m.items()}
    assert table == EXPECTED
    assert {a.value: set(r) for a, r in wf.WHO.items()} == WHO
    assert [s.value for s in wf.Status] == STATES and [a.value for a in wf.Act] == ACTIONS


@pytest.mark.parametrize("role", list(ACTORS))
@pytest.mark.parametrize("action", ACTIONS)
def test_role_matrix(action, role):
    # in a state where the action is possible, so only the role decides
    state = next(s for s in STATES if (s, action) in EXPECTED)
    act = parse_action(action, ARGS[action])
    if role in WHO[action]:
        new, _ = apply(ticket(state), act, ACTORS[role])
        assert new.status == EXPECTED[state, action]
    else:
        with pytest.raises(wf.RoleNotAllowed) as e:
            apply(ticket(state), act, ACTORS[role])
        assert e.value.id == "role-not-allowed" and e.value.status == 403
        assert f"role {role} may not {action}" in str(e.value)


@pytest.mark.parametrize("state", STATES)
def test_role_is_checked_before_the_state(state):
    with pytest.raises(wf.RoleNotAllowed):
        apply(ticket(state), parse_action("reopen", ARGS["reopen"]), AGENT)


def test_dispatched_loop_end_to_end():
    t = TicketState(owner="agent1002")
    steps = [("dispatch", AGENT), ("accept", TAX), ("reply", TAX), ("inform", AGENT),
             ("follow_up", AGENT), ("close", AGENT)]
    entries = []
    for action, who in steps:
        t, e = apply(t, parse_action(action, ARGS[action]), who)
        entries.append((e.from_status, e.action, e.to_status))
    assert t.status == "closed" and t.department == "tax" and t.category == "complaint"
    assert t.reply == "Refund paid on 3 March." and t.satisfaction == "satisfied" and t.owner == "agent1002"
    assert entries == [("new", "dispatch", "dispatched"), ("dispatched", "accept", "accepted"),
                       ("accepted", "reply", "replied"), ("replied", "inform", "informed"),
                       ("informed", "follow_up", "follow_up"), ("follow_up", "close", "closed")]


def test_answered_on_the_spot_keeps_the_answer_and_category():
    t, e = apply(TicketState(), parse_action("answer_on_spot", {"text": "open 9-17", "category": "consultation"}),
                 AGENT)
    assert (t.status, t.reply, t.category, t.owner) == ("answered", "open 9-17", "consultation", "agent1002")
    assert e.details == {"text": "open 9-17", "category": "consultation", "owner": "agent1002"}
    t, _ = apply(t, parse_action("close"), AGENT)
    assert t.status == "closed"


def test_return_and_dispatch_elsewhere():
    t = ticket("dispatched", department="tax")
    t, e = apply(t, parse_action("return_", {"reason": "housing fund matter"}), TAX)
    assert t.status == "returned" and e.details == {"reason": "housing fund matter"}
    t, e = apply(t, parse_action("dispatch", {"department": "housing", "category": "request_for_help"}), AGENT)
    assert (t.status, t.department, t.category) == ("dispatched", "housing", "request_for_help")
    assert e.details["previous_department"] == "tax"
    with pytest.raises(wf.NotOwnDepartment):  # tax no longer holds it
        apply(t, parse_action("accept"), TAX)


def test_only_the_owner_agent_acts_and_supervisors_do_not_take_over():
    t = ticket("new", owner="agent1002")
    with pytest.raises(wf.NotOwner) as e:
        apply(t, parse_action("dispatch", ARGS["dispatch"]), Actor("agent1003", "agent"))
    assert e.value.id == "not-owner" and e.value.status == 403 and isinstance(e.value, Forbidden)
    assert "owned by agent agent1002" in str(e.value)
    t2, e2 = apply(t, parse_action("dispatch", ARGS["dispatch"]), SUPERVISOR)
    assert t2.owner == "agent1002" and "owner" not in e2.details


def test_unowned_ticket_is_taken_by_the_first_agent():
    t = TicketState(owner=None)  # e.g. a voicemail: no agent answered the call
    t2, e = apply(t, parse_action("escalate", {"reason": "x"}), SUPERVISOR)
    assert t2.owner is None
    t3, e = apply(t2, parse_action("dispatch", ARGS["dispatch"]), Actor("agent1005", "agent"))
    assert t3.owner == "agent1005" and e.details["owner"] == "agent1005"
    with pytest.raises(wf.NotOwner):
        apply(ticket("replied", owner="agent1005"), parse_action("inform"), AGENT)


@pytest.mark.parametrize("action", ["accept", "return", "reply"])
@pytest.mark.parametrize("dept", ["housing", None])
def test_department_acts_only_on_its_own(action, dept):
    state = next(s for s in STATES if (s, action) in EXPECTED)
    with pytest.raises(wf.NotOwnDepartment) as e:
        apply(ticket(state, department=dept), parse_action(action, ARGS[action]), TAX)
    assert e.value.id == "not-own-department" and e.value.status == 403


def test_actor_names():
    assert Actor.of("tax/zhang", "department") == Actor("tax/zhang", "department", "tax")
    assert Actor.of("tax", "department").department == "tax"
    assert Actor.of("agent1002", "agent").department is None
    with pytest.raises(BadRequest):
        Actor.of("x", "citizen")


def test_escalate_is_a_flag_once():
    t, e = apply(ticket("accepted", escalated=False), parse_action("escalate", {"reason": "leadership asked"}),
                 AGENT)
    assert t.escalated and t.status == "accepted" and e.from_status == e.to_status == "accepted"
    with pytest.raises(wf.TransitionRefused, match="already escalated"):
        apply(t, parse_action("escalate", {"reason": "again"}), SUPERVISOR)
    t, _ = apply(t, parse_action("reply", ARGS["reply"]), TAX)  # the loop goes on while escalated
    assert t.escalated and t.status == "replied"


def test_supervise_only_when_overdue():
    with pytest.raises(wf.TransitionRefused, match="not overdue") as e:
        apply(ticket("dispatched", overdue=False), parse_action("supervise", ARGS["supervise"]), SUPERVISOR)
    assert e.value.id == "transition-refused"
    t, entry = apply(ticket("accepted", overdue=True), parse_action("supervise", ARGS["supervise"]), SUPERVISOR)
    assert t.status == "accepted" and entry.details == {"note": "answer by Friday"}


def test_unsatisfied_follow_up_is_closed_by_a_supervisor_only():
    t, _ = apply(ticket("informed"), parse_action("follow_up", {"result": "not_satisfied"}), AGENT)
    assert t.satisfaction == "not_satisfied"
    with pytest.raises(wf.RoleNotAllowed, match="supervisor decides"):
        apply(t, parse_action("close"), AGENT)
    t, _ = apply(t, parse_action("close", {"note": "explained twice"}), SUPERVISOR)
    assert t.status == "closed"
    t, _ = apply(ticket("follow_up", satisfaction="basically_satisfied"), parse_action("close"), AGENT)
    assert t.status == "closed"


def test_reopen_clears_satisfaction_keeps_owner_and_reply():
    t = ticket("closed", satisfaction="not_satisfied", reply="paid", owner="agent1002")
    t, e = apply(t, parse_action("reopen", {"reason": "not paid after all"}), SUPERVISOR)
    assert (t.status, t.satisfaction, t.reply, t.owner) == ("new", None, "paid", "agent1002")
    assert e.details == {"reason": "not paid after all"}


@pytest.mark.parametrize("action, args, message", [
    ("dispatch", {"department": "tax"}, "dispatch requires category"),
    ("dispatch", {"category": "complaint"}, "dispatch requires department"),
    ("dispatch", {"department": "tax", "category": "gossip"}, "category must be one of consultation"),
    ("dispatch", {"department": "Tax Office", "category": "complaint"}, "department code"),
    ("dispatch", {"department": 7, "category": "complaint"}, "department code"),
    ("return", {}, "return requires reason"),
    ("return", {"reason": "   "}, "reason must be a non-empty string"),
    ("return", {"reason": None}, "return requires reason"),
    ("reopen", {}, "reopen requires reason"),
    ("escalate", {}, "escalate requires reason"),
    ("escalate", {"reason": 5}, "reason must be a non-empty string"),
    ("supervise", {}, "supervise requires note"),
    ("reply", {}, "reply requires text"),
    ("reply", {"text": "x" * 20001}, "longer than 20000"),
    ("follow_up", {"result": "happy"}, "result must be one of satisfied, basically_satisfied, not_satisfied"),
    ("accept", {"reason": "x"}, "accept does not take reason (it takes: note)"),
    ("close", {"status": "closed"}, "close does not take status"),
    ("fly", {}, "unknown action 'fly'"),
])
def test_bad_arguments(action, args, message):
    with pytest.raises(BadRequest, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        parse_action(action, args)
    assert e.value.id == "bad-request" and e.value.status == 400


def test_arguments_are_cleaned():
    a = parse_action("return_", {"reason": "  not ours  "})
    assert a.name is wf.Act.RETURN and a.args == {"reason": "not ours"}
    assert parse_action("accept", {"note": None}).args == {}


def test_categories_are_the_five_of_the_issue():
    assert [c.value for c in wf.Category] == ["consultation", "request_for_help", "complaint", "report",
                                              "suggestion"]


def test_available_actions():
    assert wf.available(ticket("new", escalated=False), AGENT) == ["answer_on_spot", "dispatch", "escalate", "merge"]
    assert wf.available(ticket("dispatched", overdue=True), SUPERVISOR) == ["escalate", "supervise"]
    assert wf.available(ticket("dispatched"), TAX) == ["accept", "return"]
    assert wf.available(ticket("closed"), ACTORS["auditor"]) == []


def test_errors_are_hotline_errors_with_stable_ids():
    for cls, ident, status in [(wf.TransitionRefused, "transition-refused", 409),
                               (wf.StaleUpdate, "stale-update", 409),
                               (wf.RoleNotAllowed, "role-not-allowed", 403),
                               (wf.NotOwner, "not-owner", 403),
                               (wf.NotOwnDepartment, "not-own-department", 403)]:
        assert issubclass(cls, HotlineError) and (cls.id, cls.status) == (ident, status)
