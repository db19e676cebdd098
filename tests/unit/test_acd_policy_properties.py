"""Property tests of the ACD routing policy (hypothesis).

The four acceptance properties, each checked against the inputs directly (not against the
index the policy uses):

- never offered to an agent lacking a skill the call's current relaxation step allows;
- no starvation: a bounded stream of calls, with every call able to reach some agent at its
  last step, is fully served, each call within a stated bound;
- equal priority is served oldest first across departments (and classes in order);
- identical inputs give identical results, whatever order the inputs come in.

Plus: the indexed `Board` equals a brute-force reference (scan every agent for every call)
after any sequence of events, so the incremental indexes never go stale.
"""
from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings, strategies as st

from acd import policy as P
from acd.model import (LOGGED_OUT, NORMAL, OFFERED, ON_CALL, PAUSED, READY, STATES, WRAPUP, AgentState, Policy,
                       RelaxStep, Skills, WaitingCall)

DEPTS = ("tax", "market", "general")
LANGS = ("cmn", "yue", "en")
KEYS = [(d, lang) for d in DEPTS for lang in LANGS]
TIMES = (0.0, 5.0, 10.0, 10.0, 30.0, 60.0, 61.5, 90.0, 120.0)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- strategies ---------------------------------------------------------------------------------
@st.composite
def relax_steps(draw):
    n = draw(st.integers(1, 4))
    afters = [0.0] + sorted(draw(st.sets(st.sampled_from([10.0, 30.0, 60.0, 61.5, 90.0]), min_size=n - 1,
                                         max_size=n - 1)))
    return tuple(RelaxStep(a, draw(st.sampled_from((1, 1, 2, 3, 4, 5))), draw(st.sampled_from((None, None) + DEPTS)),
                           draw(st.sampled_from((None, None) + LANGS))) for a in afters)


@st.composite
def policies(draw):
    per_dept = draw(st.dictionaries(st.sampled_from(DEPTS), relax_steps(), max_size=3))
    return Policy(steps=per_dept, default_steps=draw(relax_steps()), wrapup_seconds=draw(st.sampled_from([0.0, 15.0])),
                  rona_max_misses=draw(st.integers(1, 3)), explain_top=draw(st.sampled_from([None, 1, 3])))


skills_st = st.dictionaries(st.sampled_from(KEYS), st.integers(1, 5), min_size=2, max_size=7)


@st.composite
def agent_lists(draw, max_size=12):
    n = draw(st.integers(1, max_size))
    ids = draw(st.lists(st.integers(1000, 1030), unique=True, min_size=n, max_size=n))
    out = []
    for i in ids:
        state = draw(st.sampled_from(STATES + (READY,) * 6))  # mostly ready
        kw = {}
        if state in (OFFERED, ON_CALL):
            kw["call"] = f"elsewhere-{i}"
        if state == WRAPUP:
            kw["until"] = draw(st.sampled_from(TIMES))
        if state == PAUSED:
            kw["paused_reason"] = draw(st.sampled_from(["lunch", "no answer"]))
        out.append(AgentState(str(i), Skills(draw(skills_st)), state, since=0.0,
                              idle_since=draw(st.sampled_from(TIMES)) - 200, misses=draw(st.integers(0, 2)), **kw))
    return out


@st.composite
def call_lists(draw, max_size=14, agent_ids=()):
    n = draw(st.integers(1, max_size))
    ids = draw(st.permutations(range(100, 100 + n)))
    out = []
    for k in ids:
        missed = tuple(sorted(draw(st.sets(st.sampled_from(agent_ids), max_size=2)))) if agent_ids else ()
        out.append(WaitingCall(f"n1-{k}", draw(st.sampled_from(DEPTS)), draw(st.sampled_from(LANGS)),
                               draw(st.integers(0, 3)), draw(st.sampled_from(TIMES)), bool(missed), missed))
    return out


@st.composite
def scenes(draw):
    agents = draw(agent_lists())
    calls = draw(call_lists(agent_ids=[a.id for a in agents]))
    return agents, calls, draw(st.sampled_from((10.0, 61.5, 90.0, 120.0, 150.0, 200.0, 200.0))), draw(policies())


# -- an independent, brute-force reading of the rules -------------------------------------------
def step_now(call, now, policy):
    """The call's current step, straight from the documented definition: the last step
    whose start time has come (stated independently of the implementation's loop)."""
    started = [i for i, step in enumerate(policy.steps_for(call.department))
               if call.arrived + step.after_seconds <= now]
    return max(started, default=-1)


def allowed_step(agent, call, now, policy):
    steps = policy.steps_for(call.department)
    for j in range(step_now(call, now, policy) + 1):
        st_ = steps[j]
        dept = st_.department_override or call.department
        lang = st_.language_override or call.language
        if agent.skills.get((dept, lang), 0) >= st_.min_level:
            return j
    return None


def reference(agents, calls, now, policy):
    """Every call in line order takes its best allowed ready agent, scanning all agents."""
    ready = sorted((a for a in agents if a.state == READY), key=lambda a: a.id)
    taken, out = set(), []
    for c in sorted(calls, key=lambda c: (c.priority, c.arrived, c.linkedid)):
        best = None
        for a in ready:
            if a.id in taken:
                continue
            j = allowed_step(a, c, now, policy)
            if j is None:
                continue
            st_ = policy.steps_for(c.department)[j]
            level = a.skills[(st_.department_override or c.department, st_.language_override or c.language)]
            key = (a.id in c.missed_by, j, -level, len(a.skills), a.idle_since, a.id)
            if best is None or key < best[0]:
                best = (key, a, j)
        if best:
            taken.add(best[1].id)
            out.append((c.linkedid, best[1].id, best[2]))
    return out


def summary(decisions):
    return [(d.call.linkedid, d.agent.id, d.step_index) for d in decisions]


# -- properties ---------------------------------------------------------------------------------
@PROPS
@given(scenes())
def test_assign_equals_the_brute_force_reading_of_the_rules(scene):
    agents, calls, now, policy = scene
    expected = reference(agents, calls, now, policy)
    assert summary(P.assign(agents, calls, now, policy)) == expected
    # both walks (down the line; from the ready agents) give the very same decisions
    by_line = P.Board(policy, agents, calls).assign(now, method="line")
    assert summary(by_line) == expected
    assert P.Board(policy, agents, calls).assign(now, method="agents") == by_line


@PROPS
@given(scenes())
def test_never_offered_to_an_agent_lacking_a_required_skill(scene):
    agents, calls, now, policy = scene
    decisions = P.assign(agents, calls, now, policy)
    by_id = {a.id: a for a in agents}
    assert len({d.agent.id for d in decisions}) == len(decisions), "an agent got two calls"
    assert len({d.call.linkedid for d in decisions}) == len(decisions), "a call was offered twice"
    for d in decisions:
        agent = by_id[d.agent.id]
        assert agent == d.agent and agent.state == READY
        s = step_now(d.call, now, policy)
        assert 0 <= d.step_index <= s == d.current_step
        step = policy.steps_for(d.call.department)[d.step_index]
        assert d.step == step
        key = (step.department_override or d.call.department, step.language_override or d.call.language)
        assert agent.skills.get(key, 0) >= step.min_level, f"{agent.id} lacks {key} >= {step.min_level}"
        assert d.candidates[0].agent_id == agent.id
        assert P.offer(agent, d.call, now, policy).state == OFFERED  # the transition agrees
        assert P.explain(d)
    # maximal: nothing left that could be matched
    used = {d.agent.id for d in decisions} | {d.call.linkedid for d in decisions}
    for c in calls:
        if c.linkedid in used:
            continue
        for a in agents:
            if a.state == READY and a.id not in used:
                assert allowed_step(a, c, now, policy) is None, f"{c.linkedid} left waiting beside {a.id}"


@PROPS
@given(scenes())
def test_line_order_across_departments(scene):
    """No call ranked ahead (more urgent class, or same class and older) that could have
    taken an agent is left waiting while a call behind it gets that agent."""
    agents, calls, now, policy = scene
    decisions = P.assign(agents, calls, now, policy)
    served = {d.call.linkedid for d in decisions}
    ranks = [d.call.rank for d in decisions]
    assert ranks == sorted(ranks), "decisions come in line order"
    for d in decisions:
        for c in calls:
            if c.rank < d.call.rank and c.linkedid not in served:
                assert allowed_step(d.agent, c, now, policy) is None, (
                    f"{c.linkedid} ({c.department}, p{c.priority}, {c.arrived}) waits while the younger or "
                    f"less urgent {d.call.linkedid} ({d.call.department}) got {d.agent.id}")


@PROPS
@given(scenes(), st.randoms(use_true_random=False))
def test_identical_inputs_identical_results(scene, rnd):
    agents, calls, now, policy = scene
    first = P.assign(agents, calls, now, policy)
    assert P.assign(agents, calls, now, policy) == first
    shuffled_agents = [AgentState(a.id, Skills(rnd.sample(sorted(a.skills.items()), len(a.skills))), a.state, a.since,
                                  a.paused_reason, a.misses, a.idle_since, a.call, a.until) for a in agents]
    rnd.shuffle(shuffled_agents)
    shuffled_calls = list(calls)
    rnd.shuffle(shuffled_calls)
    again = P.assign(shuffled_agents, shuffled_calls, now, policy)
    assert again == first
    assert [P.explain(d) for d in again] == [P.explain(d) for d in first]


# -- no starvation --------------------------------------------------------------------------------
TALK_MAX = 20.0
RING = 2.0     # a phone that is not answered rings this long, then RONA
DT = 1.0       # the simulation's routing tick


@st.composite
def streams(draw):
    """A bounded arrival stream and agents; every department's last step overflows to
    general:cmn level 1 and at least one agent has it, so every call can reach someone."""
    steps = {d: draw(relax_steps()) for d in DEPTS}
    last = max(s[-1].after_seconds for s in steps.values()) + 30.0
    steps = {d: s + (RelaxStep(max(last, s[-1].after_seconds + 1), 1, "general", "cmn"),) for d, s in steps.items()}
    policy = Policy(steps=steps, wrapup_seconds=draw(st.sampled_from([0.0, 5.0, 15.0])), rona_max_misses=1000)
    n_agents = draw(st.integers(1, 6))
    agents = []
    for i in range(n_agents):
        skills = dict(draw(skills_st))
        if i == 0:
            skills[("general", "cmn")] = draw(st.integers(1, 5))
        agents.append(AgentState(str(2000 + i), Skills(skills), READY, idle_since=float(-i)))
    n = draw(st.integers(1, 25))
    calls = [(WaitingCall(f"s-{k}", draw(st.sampled_from(DEPTS)), draw(st.sampled_from(LANGS)), draw(st.integers(0, 3)),
                          float(draw(st.integers(0, 120)))), float(draw(st.integers(1, int(TALK_MAX)))))
             for k in range(n)]
    misses = draw(st.lists(st.booleans(), max_size=10))  # the first offers may ring out
    return policy, agents, calls, misses


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_no_starvation_bounded_stream_is_served_within_the_bound(stream):
    """Bound: a call is offered by  arrived + S_last + (n + m) * (TALK_MAX + W + RING + DT) + DT,
    with S_last its last step's start, n the calls in the stream, m the ring-outs.
    Why: from S_last on, a general:cmn agent g may take it; each time g is free the pass
    gives g to this call or to one ranked ahead of it (never one behind); at most n - 1
    other calls and m re-offers can come first, each holding g at most one talk, wrap-up,
    ring and tick."""
    policy, agents, calls, misses = stream
    board = P.Board(policy, agents)
    pending = sorted(calls, key=lambda ct: (ct[0].arrived, ct[0].linkedid))
    talk = {c.linkedid: t for c, t in calls}
    ends: dict[str, tuple[float, str, str]] = {}  # agent -> (time, "answer"/"rona"/"hangup", linkedid)
    served: dict[str, float] = {}
    misses = list(misses)
    n, m_used = len(calls), 0
    slot = TALK_MAX + policy.wrapup_seconds + RING + DT
    horizon = max(c.arrived for c, _ in calls) + max(s[-1].after_seconds for s in policy.steps.values()) \
        + (n + len(misses)) * slot + 2 * DT
    t = 0.0
    while len(served) < n:
        assert t <= horizon, f"calls starved: {sorted(set(talk) - set(served))}"
        while pending and pending[0][0].arrived <= t:
            board.put_call(pending.pop(0)[0])
        for aid, (when, what, lid) in sorted(ends.items()):
            if when <= t:
                del ends[aid]
                if what == "rona":
                    board.rona(aid, t)
                elif what == "hangup":
                    board.hangup(aid, lid, t)
        board.tick(t)
        for d in board.assign(t):
            assert allowed_step(d.agent, d.call, t, policy) is not None
            board.offer(d, t)
            if misses and misses.pop(0):
                m_used += 1
                ends[d.agent.id] = (t + RING, "rona", d.call.linkedid)
            else:
                board.answer(d.agent.id, d.call.linkedid, t)
                served.setdefault(d.call.linkedid, t)
                ends[d.agent.id] = (t + talk[d.call.linkedid], "hangup", d.call.linkedid)
        t += DT
    for c, _ in calls:
        s_last = policy.steps_for(c.department)[-1].after_seconds
        bound = c.arrived + s_last + (n + m_used) * slot + DT
        assert served[c.linkedid] <= bound, (c, served[c.linkedid], bound)


# -- the board stays consistent through any sequence of events ----------------------------------
OPS = ("time", "answer", "hangup", "call", "tick", "rona", "login", "logout", "pause", "unpause", "cancel",
       "abandon", "any", "call", "time", "answer", "hangup", "tick")
ops = st.integers(15, 70).flatmap(lambda n: st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 40), st.integers(0, 3)), min_size=n, max_size=n))
# the states each event applies to; "any" sends a random event to a random agent (mostly refused)
APPLIES = {"login": (LOGGED_OUT,), "logout": (READY, PAUSED, WRAPUP), "pause": (READY, WRAPUP),
           "unpause": (PAUSED,), "answer": (OFFERED,), "rona": (OFFERED,), "cancel": (OFFERED,),
           "hangup": (ON_CALL,)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(), agent_lists(max_size=8), ops)
def test_board_after_any_events_equals_the_reference(policy, agents, events):
    """Random events, each followed (unless y == 3) by a routing pass whose decisions are
    offered, the way the engine will run it; before every pass the board must agree with the
    brute-force reading of its own state, whichever walk it uses."""
    agents = [AgentState(a.id, a.skills, READY if int(a.id) % 3 else LOGGED_OUT) for a in agents]
    board = P.Board(policy, agents)
    now, k = 0.0, 0
    for op, x, y in events:
        if op == "call":
            k += 1
            board.put_call(WaitingCall(f"n1-{k}", DEPTS[x % 3], LANGS[y % 3], (x + y) % 4, now - (x % 5) * 15))
        elif op == "time":
            now += (5.0, 10.0, 30.0, 61.5)[y]
        elif op == "abandon":
            line = board.waiting()
            if line:
                board.drop_call(line[x % len(line)].linkedid)
        elif op == "tick":
            board.tick(now)
        else:
            if op == "any":
                op = ("login", "logout", "pause", "unpause", "answer", "rona", "cancel", "hangup")[(x + y) % 8]
                pool = sorted(board.agents)
            else:
                pool = sorted(a.id for a in board.agents.values() if a.state in APPLIES[op])
            if not pool:
                continue
            aid = pool[x % len(pool)]
            before = board.agent(aid)
            try:
                if op in ("answer", "cancel", "hangup"):
                    getattr(board, op)(aid, before.call or "none", now)
                elif op == "pause":
                    board.pause(aid, "break", now)
                else:
                    getattr(board, op)(aid, now)
            except P.Refused:
                assert board.agent(aid) == before and before.state not in APPLIES[op]
        # the indexed board answers exactly as a fresh brute-force scan of its state, both walks
        expected = reference(list(board.agents.values()), list(board.calls.values()), now, policy)
        assert summary(board.assign(now, method="agents")) == expected
        assert summary(board.assign(now, method="line")) == expected
        assert summary(P.assign(list(board.agents.values()), list(board.calls.values()), now, policy)) == expected
        held = [a.call for a in board.agents.values() if a.call]
        assert len(held) == len(set(held)) and not set(held) & set(board.calls), "a call is in two places"
        if y != 3:
            for d in board.assign(now):
                assert allowed_step(d.agent, d.call, now, policy) is not None
                board.offer(d, now)


def test_reference_is_not_trivially_empty():
    """Guard the generators: most scenes route something."""
    rnd = random.Random(3)
    agents = [AgentState(str(1000 + i), Skills({rnd.choice(KEYS): rnd.randint(1, 5)}), READY) for i in range(10)]
    calls = [WaitingCall(f"n1-{i}", rnd.choice(DEPTS), rnd.choice(LANGS), NORMAL, 0.0) for i in range(10)]
    assert reference(agents, calls, 200.0, Policy(default_steps=(RelaxStep(0, 1),)))


# -- priority ageing: no starvation behind an endless flood of urgent calls ----------------------
@settings(max_examples=60, deadline=None)
@given(every=st.sampled_from([20.0, 60.0, 120.0]), gap=st.sampled_from([1.0, 2.0, 4.0]),
       talk=st.sampled_from([5.0, 10.0, 20.0]), start=st.sampled_from([0.0, 4.0, 33.0]))
def test_ageing_serves_a_normal_call_while_emergencies_never_stop(every, gap, talk, start):
    """One agent, an emergency every `gap` seconds (always more than it can take) and one
    normal call. Strict classes would starve the normal call; with ageing it becomes an
    emergency after 3 x `every` and, being older than every emergency that came after it,
    is taken within one more talk (plus the calls of its new class that came before it)."""
    from acd.model import EMERGENCY
    policy = Policy(default_steps=(RelaxStep(0.0, 1),), wrapup_seconds=0.0, rona_max_misses=1000)
    board = P.Board(policy, [AgentState("a1", Skills({("tax", "cmn"): 3}), state=READY)])
    normal = WaitingCall("normal", "tax", "cmn", NORMAL, arrived=start)
    t, k, busy_until, served = 0.0, 0, 0.0, None
    emergency_before = 0
    horizon = start + 3 * every + (start / gap + 2) * talk + 10 * DT
    while served is None:
        assert t <= horizon, "the normal call starved"
        while k * gap <= t:
            board.put_call(WaitingCall(f"e{k:05d}", "tax", "cmn", EMERGENCY, arrived=k * gap))
            emergency_before += k * gap < start
            k += 1
        if t == start:
            board.put_call(normal)
        board.age(t, every)
        if busy_until <= t and board.agent("a1").call is not None:
            board.hangup("a1", board.agent("a1").call, t)
        for d in board.assign(t):
            board.offer(d, t)
            board.answer("a1", d.call.linkedid, t)
            busy_until = t + talk
            if d.call.linkedid == "normal":
                served = t
                assert d.call.priority == EMERGENCY and d.call.promoted == 3
        t += DT
    # the emergencies older than it still go first: each holds the agent one talk at most
    assert served <= start + 3 * every + talk + emergency_before * talk + DT


def test_without_ageing_classes_stay_strict():
    board = P.Board(Policy(default_steps=(RelaxStep(0.0, 1),)), [])
    board.put_call(WaitingCall("n", "tax", "cmn", NORMAL, arrived=0.0))
    assert board.age(10_000.0, 10_000_000.0) == [] and board.calls["n"].priority == NORMAL
    promoted = board.age(250.0, 100.0)
    assert [(c.priority, c.promoted) for c in promoted] == [(NORMAL - 2, 2)]
