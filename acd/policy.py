"""The ACD's routing policy: which ready agent gets which waiting call, and why.

Pure: no clock, no I/O, no randomness. Times are passed in; the same agents, calls, time and
policy always give the same decisions, whatever order the inputs come in.

Routing rule (one pass, `assign`):

1. Waiting calls form ONE line across all departments, ordered by
   (priority class, arrival, linkedid). A call that rang out on an agent (RONA) keeps its
   arrival, so it returns to the head of its class; a callback carries the time the citizen
   asked for it, so it neither jumps the line nor loses its place.
2. In that order each call takes the best ready agent it is allowed at its current
   relaxation step (step i applies from `arrived + after_seconds_i` on; steps widen, never
   narrow). "Best": agents who already let this call ring out come last; then the earliest
   (strictest) step the agent matches; then the highest level in that step's skill; then
   the fewest skills (among equally skilled agents the least versatile one takes the call,
   so that the multilingual and cross-trained stay free for the calls only they can take);
   then the longest idle; then the agent id.
3. A call no ready agent may take stays waiting and does not hold up the calls behind it.
   The pass ends when no waiting call is allowed any remaining ready agent.

Waits cut short (`Board.hasten`, run before `assign`): a step's wait exists so that a
better-matched agent (the caller's language, a higher level) can free up for the call. When
an agent of a later step in the call's OWN department is ready, but no agent of the call's
current steps is ready or due out of wrap-up before that later step's time, the wait cannot
pay off as far as the board can know, and the later step applies at once. A step that hands
the call to another department (an overflow) always waits its time: it takes that
department's agents from that department's own callers.

Every `Decision` says which call (and its place in line), which step rule, and the best
candidates it was chosen among; `explain` turns it into text.

Cost: ready agents are indexed by (department, language) skill, sorted best first, and
waiting calls by the (skill, minimum level) their active steps accept, sorted by rank. A
decision looks at the agent's own skills and the call's own steps, never at all agents or
all calls; one agent becoming free is one heap pop (see `Board`, and `bench.routing`).

State transitions (`login`, `offer`, `answer`, `rona`, `cancel`, `hangup`, `tick`, `pause`,
`unpause`, `logout`) are pure functions on `AgentState`; each refuses (`Refused`) a
transition that does not fit the agent's current state, so a stale event cannot silently
overwrite newer state. `Board` keeps the indexes in step with them for a running engine.
"""
from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, replace

from acd.model import (EMERGENCY, LOGGED_OUT, NO_ANSWER, OFFERED, ON_CALL, PAUSED, READY, WRAPUP, AgentState, Policy,
                    RelaxStep, SkillKey, WaitingCall, priority_name)

__all__ = [
    "Refused", "Candidate", "Decision", "Board", "assign", "explain", "current_step", "eligible_step",
    "login", "logout", "offer", "answer", "rona", "cancel", "hangup", "tick", "pause", "unpause",
]


class Refused(ValueError):
    """A transition or update that does not fit the current state."""


# -- steps -----------------------------------------------------------------------------------
def current_step(call: WaitingCall, now: float, policy: Policy) -> int:
    """Index of the call's current relaxation step; -1 before it arrived.
    Step i applies once `call.arrived + steps[i].after_seconds <= now` (one definition,
    used by the index as well, so rounding cannot make them disagree), or once the board cut
    the wait for it short (`call.hastened`, see `Board.hasten`)."""
    steps = policy.steps_for(call.department)
    s = -1
    for i, step in enumerate(steps):
        if call.arrived + step.after_seconds <= now:
            s = i
        else:
            break
    if s >= 0 and call.hastened > s:
        s = min(call.hastened, len(steps) - 1)   # the policy may have fewer steps since a reload
    return s


def eligible_step(agent: AgentState, call: WaitingCall, now: float, policy: Policy) -> int | None:
    """The first (strictest) step, up to the call's current one, whose skill the agent has
    at the step's level; None when the agent may not take the call now."""
    steps = policy.steps_for(call.department)
    for j in range(current_step(call, now, policy) + 1):
        step = steps[j]
        if agent.skills.get(step.key(call), 0) >= step.min_level:
            return j
    return None


# -- decisions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    agent_id: str
    department: str
    language: str
    level: int
    idle_since: float
    step_index: int        # the first step this agent matches
    missed: bool = False   # this agent already let the call ring out
    skills: int = 0        # how many skills the agent has (fewer goes first among equals)


@dataclass(frozen=True)
class Decision:
    call: WaitingCall
    agent: AgentState          # the agent as it was when chosen (ready)
    step_index: int            # the step rule that allowed the agent
    step: RelaxStep
    steps: int                 # how many steps the call's department has
    current_step: int          # the call's step at `now`
    rule: str
    candidates: tuple[Candidate, ...]  # best first; candidates[0] is the chosen agent
    more_candidates: bool      # more eligible agents than `policy.explain_top`
    position: int              # 0-based place in the line when the pass began
    skipped_ahead: int         # calls ahead of it left waiting (no allowed ready agent)
    now: float

    @property
    def linkedid(self) -> str:
        return self.call.linkedid

    @property
    def agent_id(self) -> str:
        return self.agent.id

    @property
    def waited(self) -> float:
        return self.now - self.call.arrived


def _rule(call: WaitingCall, j: int, step: RelaxStep, n: int, missed: bool, now: float) -> str:
    early = ", applied early: nobody of the earlier steps was ready or due out of wrap-up in time" \
        if call.arrived + step.after_seconds > now else ""
    text = (f"step {j + 1} of {n} for {call.department} (from {step.after_seconds:g} s{early}): "
            f"{step.describe(call)}; best level, then fewest other skills, then longest idle")
    if missed:
        text += "; only agents it already rang out on were left"
    return text


def explain(decision: Decision) -> str:
    """Human-readable account of one decision: the call and its place, the rule, the
    candidates."""
    c, a = decision.call, decision.agent
    place = decision.position + 1
    lines = [
        f"call {c.linkedid} ({c.department}/{c.language}, {priority_name(c.priority)}, "
        f"waiting {decision.waited:.1f} s{', returned after no answer' if c.bounced else ''}) "
        f"was #{place} in line; {decision.skipped_ahead} call(s) ahead had no allowed ready agent",
        f"-> agent {a.id} by {decision.rule}",
    ]
    if decision.step_index > 0:
        earlier = "step 1" if decision.step_index == 1 else f"steps 1-{decision.step_index}"
        lines.append(f"   earlier {earlier} had no ready agent for it (other than agents it already rang out on)")
    if decision.current_step > decision.step_index:
        lines.append(f"   (the call was at step {decision.current_step + 1}; stricter matches go first)")
    ranked = []
    for i, cand in enumerate(decision.candidates):
        mark = " [chosen]" if i == 0 else ""
        missed = ", rang out before" if cand.missed else ""
        ranked.append(f"{cand.agent_id} {cand.department}:{cand.language}:{cand.level} step {cand.step_index + 1}"
                      f" idle {decision.now - cand.idle_since:.1f} s{missed}{mark}")
    more = ", and more" if decision.more_candidates else ""
    lines.append(f"   candidates, best first: {'; '.join(ranked)}{more}")
    return "\n".join(lines)


# -- the board: indexes over agents and calls -------------------------------------------------
# A pass walks from the ready agents when they are fewer than the waiting calls by this
# factor: an agent's look-up touches one list per skill and level, and every decision makes
# the other agents that wanted the same call look again, while a call's look-up touches one
# list per step (bench.routing: the walks cross at about 30 ready agents per 1,000 calls).
_AGENT_WALK_COST = 32
_ReadyEntry = tuple[int, int, float, str]   # (-level, skills, idle_since, agent id): best first
_Rank = tuple[int, float, str]              # (priority, arrived, linkedid)


class Board:
    """Agents and waiting calls with the indexes routing needs.

    `assign(now)` computes decisions without changing the board; apply them with `offer`
    (or `put_agent`/`drop_call`). Time given to `assign` must not go backwards. The other
    methods wrap the pure transitions and keep the indexes current; a stale decision or event
    (agent or call changed since) is refused.
    """

    def __init__(self, policy: Policy, agents: Iterable[AgentState] = (), calls: Iterable[WaitingCall] = ()):
        self.policy = policy
        self._agents: dict[str, AgentState] = {}
        self._calls: dict[str, WaitingCall] = {}
        self._steps: dict[str, tuple[RelaxStep, ...]] = {}
        self._line: list[_Rank] = []                                   # every waiting call, by rank
        self._by_department: dict[str, set[str]] = {}                 # department -> its waiting calls
        self._ready: set[str] = set()
        self._agent_lists: dict[str, tuple[tuple[SkillKey, int], ...]] = {}  # ready agent -> (skill, level) lists
        self._ready_by_key: dict[SkillKey, list[_ReadyEntry]] = {}
        self._active: dict[tuple[SkillKey, int], list[tuple[_Rank, int]]] = {}  # (skill, min level)
        self._call_active: dict[str, list[tuple[SkillKey, int, int]]] = {}
        self._timers: list[tuple[float, int, str, int]] = []          # (due, generation, linkedid, step)
        self._gen: dict[str, int] = {}
        self._seq = 0
        self._now = float("-inf")
        self._holding: dict[str, str] = {}                            # linkedid -> agent offered/talking
        self._offered_calls: dict[str, WaitingCall] = {}              # linkedid -> call while ringing
        self._wrapups: list[tuple[float, str]] = []
        for a in agents:
            if a.id in self._agents:
                raise ValueError(f"agent {a.id} given twice")
            self.put_agent(a)
        for c in calls:
            if c.linkedid in self._calls:
                raise ValueError(f"call {c.linkedid} given twice")
            self.put_call(c)

    # -- reading ----------------------------------------------------------------------------
    @property
    def agents(self) -> dict[str, AgentState]:
        return dict(self._agents)

    @property
    def calls(self) -> dict[str, WaitingCall]:
        return dict(self._calls)

    def agent(self, agent_id: str) -> AgentState:
        return self._agents[agent_id]

    def waiting(self) -> list[WaitingCall]:
        """The line, head first."""
        return [self._calls[r[2]] for r in self._line]

    def ready_count(self) -> int:
        return len(self._ready)

    # -- agents -----------------------------------------------------------------------------
    def put_agent(self, agent: AgentState) -> None:
        """Set an agent's state (replacing the old one) and re-index it."""
        old = self._agents.get(agent.id)
        if agent.call is not None:
            holder = self._holding.get(agent.call)
            if holder is not None and holder != agent.id:
                raise Refused(f"call {agent.call} is already with agent {holder}")
            if agent.call in self._calls:
                raise Refused(f"call {agent.call} is still waiting in line; take it out first")
        if old is not None:
            if old.id in self._ready:
                self._ready.discard(old.id)
                del self._agent_lists[old.id]
                for key, level in old.skills.items():
                    lst = self._ready_by_key[key]
                    del lst[bisect_left(lst, (-level, len(old.skills), old.idle_since, old.id))]
            if old.call is not None and old.call != agent.call:
                self._holding.pop(old.call, None)
                self._offered_calls.pop(old.call, None)
        self._agents[agent.id] = agent
        if agent.call is not None:
            self._holding[agent.call] = agent.id
            if agent.state != OFFERED:
                self._offered_calls.pop(agent.call, None)
        if agent.state == READY:
            self._ready.add(agent.id)
            self._agent_lists[agent.id] = tuple(((key, m) for key, level in agent.skills.items()
                                                 for m in range(1, level + 1)))
            for key, level in agent.skills.items():
                insort(self._ready_by_key.setdefault(key, []),
                       (-level, len(agent.skills), agent.idle_since, agent.id))
        elif agent.state == WRAPUP:
            heapq.heappush(self._wrapups, (agent.until, agent.id))

    def remove_agent(self, agent_id: str) -> AgentState:
        agent = self._agents[agent_id]
        if agent.call is not None:
            raise Refused(f"agent {agent_id} has call {agent.call}")
        self.put_agent(replace(agent, state=LOGGED_OUT, paused_reason=None, until=None))
        return self._agents.pop(agent_id)

    # -- calls ------------------------------------------------------------------------------
    def put_call(self, call: WaitingCall) -> None:
        """Put a call in the line (or update a waiting one). A call offered to or talking with
        an agent cannot be queued again: one call is never offered twice at once."""
        holder = self._holding.get(call.linkedid)
        if holder is not None:
            raise Refused(f"call {call.linkedid} is with agent {holder}; it cannot wait in line too")
        if call.linkedid in self._calls:
            self.drop_call(call.linkedid)
        lid = call.linkedid
        self._calls[lid] = call
        insort(self._line, call.rank)
        self._by_department.setdefault(call.department, set()).add(lid)
        steps = self.policy.steps_for(call.department)
        self._steps[lid] = steps
        self._seq += 1
        self._gen[lid] = self._seq
        self._call_active[lid] = []
        for j, step in enumerate(steps):
            due = call.arrived if j <= call.hastened else call.arrived + step.after_seconds
            heapq.heappush(self._timers, (due, self._seq, lid, j))

    def age(self, now: float, every: float) -> list[WaitingCall]:
        """Priority ageing: a call gains one class per `every` seconds waited, up to
        emergency, so that no flood of urgent calls holds the others back for ever. Among
        calls of one class the oldest still goes first. Returns the promoted calls."""
        out = []
        for call in list(self._calls.values()):
            due = int(max(0.0, now - call.arrived) // every)
            if due > call.promoted and call.priority > EMERGENCY:
                new = replace(call, priority=max(EMERGENCY, call.priority - (due - call.promoted)), promoted=due)
                self.put_call(new)
                out.append(new)
        return out

    def drop_call(self, linkedid: str) -> WaitingCall:
        """Take a call out of the line (offered, abandoned, timed out)."""
        call = self._calls.pop(linkedid)
        del self._line[bisect_left(self._line, call.rank)]
        self._by_department[call.department].discard(linkedid)
        rank = call.rank
        for key, m, j in self._call_active.pop(linkedid):
            lst = self._active[(key, m)]
            del lst[bisect_left(lst, (rank, j))]
        del self._steps[linkedid]
        del self._gen[linkedid]
        return call

    def advance(self, now: float) -> None:
        """Activate the relaxation steps due by `now` (`assign` does this first)."""
        if now < self._now:
            raise ValueError(f"time went backwards: {now} < {self._now}")
        self._now = now
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, gen, lid, j = heapq.heappop(timers)
            if self._gen.get(lid) != gen:
                continue  # the call left or was put again since
            call = self._calls[lid]
            step = self._steps[lid][j]
            key = step.key(call)
            insort(self._active.setdefault((key, step.min_level), []), (call.rank, j))
            self._call_active[lid].append((key, step.min_level, j))

    def hasten(self, now: float, exclude: frozenset[str] | set[str] = frozenset()) -> list[WaitingCall]:
        """Cut short the relaxation waits that cannot pay off (see the module doc); returns
        the calls whose step moved on, each put back in the line carrying the step it reached
        (`hastened`, kept through a RONA and a rebuilt board). `exclude`: ready agents another
        node holds (as for `assign`).

        A step of the call's own department applies early when (1) a ready agent matches it,
        so the cut helps now, (2) no ready agent matches the call's current steps, and (3) no
        agent in wrap-up who does is due out before that step's own time. Agents on a call are
        not counted: the board cannot know when a call ends, and a hotline call lasts minutes
        against a step's wait of seconds. A step that hands the call to another department
        (and the steps after it) keeps its time."""
        self.advance(now)
        if not self._calls or not self._ready:
            return []
        # Only a call of a department some ready agent works in can be cut short (a later step
        # of its own department needs such an agent), so only those are looked at: with one
        # agent freed and 1,000 calls waiting in 20 departments, a fiftieth of the line. The
        # outcome for one call does not depend on the others', so the order is the line's only
        # for the returned list.
        departments = {key[0] for aid in self._ready if aid not in exclude for key in self._agents[aid].skills}
        lids = [lid for d in departments for lid in self._by_department.get(d, ())]
        out = []
        for lid in sorted(lids, key=lambda x: self._calls[x].rank):
            call = self._calls[lid]
            act, steps = self._call_active[lid], self._steps[lid]
            if not act or len(act) == len(steps):
                continue  # not arrived yet, or at its last step
            stricter = [(key, m) for key, m, _ in act]
            if any(self._any_ready(key, m, exclude) for key, m in stricter):
                continue  # (2) it may be taken at its current steps now
            for k in range(len(act), len(steps)):
                step = steps[k]
                if step.department_override not in (None, call.department):
                    break  # a hand-over to another department waits its time
                if not self._any_ready(step.key(call), step.min_level, exclude):
                    stricter.append((step.key(call), step.min_level))
                    continue  # (1) nobody this step would add is ready: look further
                if not self._wrapping_up(stricter, call.arrived + step.after_seconds):
                    new = replace(call, hastened=k)
                    self.put_call(new)
                    out.append(new)
                break
        return out

    def _any_ready(self, key: SkillKey, min_level: int, exclude: frozenset[str] | set[str]) -> bool:
        for neg_level, _, _, aid in self._ready_by_key.get(key, ()):
            if -neg_level < min_level:
                return False
            if aid not in exclude:
                return True
        return False

    def _wrapping_up(self, skills: list[tuple[SkillKey, int]], by: float) -> bool:
        """Some agent in wrap-up with one of these (skill, minimum level) is due out by `by`."""
        for until, aid in self._wrapups:
            agent = self._agents.get(aid)
            if (until <= by and agent is not None and agent.state == WRAPUP and agent.until == until
                    and any(agent.skills.get(key, 0) >= m for key, m in skills)):
                return True
        return False

    def next_due(self) -> float | None:
        """When the board next changes by itself (a call's next relaxation step or the end of
        a wrap-up): the engine sleeps until then, then runs `tick` and `assign`."""
        while self._timers and self._gen.get(self._timers[0][2]) != self._timers[0][1]:
            heapq.heappop(self._timers)  # a stale timer of a call that left
        while self._wrapups:
            until, aid = self._wrapups[0]
            agent = self._agents.get(aid)
            if agent is not None and agent.state == WRAPUP and agent.until == until:
                break
            heapq.heappop(self._wrapups)
        due = [h[0][0] for h in (self._timers, self._wrapups) if h]
        return min(due) if due else None

    def current_step(self, linkedid: str, now: float) -> int:
        return current_step(self._calls[linkedid], now, self.policy)

    # -- routing ----------------------------------------------------------------------------
    def assign(self, now: float, *, method: str | None = None, exclude: frozenset[str] | set[str] = frozenset()
               ) -> list[Decision]:
        """One routing pass at `now` (see the module doc). Does not change agents or calls.

        Two walks give the same decisions: down the line, each call looking up its steps'
        skills among the ready agents (cheap when many agents are ready), or from the ready
        agents, each looking up the first call its skills allow, the smallest first (cheap
        when few are: one agent freed costs a few look-ups, not a walk of the line).
        `method` ("line" or "agents") forces one; tests check they agree. `exclude`: ready
        agents that another node holds now (acd/claims.py): nobody here offers them a call."""
        self.advance(now)
        if not self._ready or not self._calls:
            return []
        if method is None:
            method = "agents" if len(self._ready) * _AGENT_WALK_COST < len(self._calls) else "line"
        if method == "line":
            return self._assign_by_line(now, exclude)
        if method != "agents":
            raise ValueError(f"unknown method {method!r}")
        taken_calls: set[str] = set()
        taken_agents: set[str] = set(exclude)
        call_heads: dict[tuple[SkillKey, int], int] = {}
        agent_heads: dict[SkillKey, int] = {}
        heap: list[tuple[_Rank, str]] = []
        for aid in self._ready:
            if aid in taken_agents:
                continue
            top = self._top_call(self._agents[aid], taken_calls, call_heads)
            if top is not None:
                heap.append((top, aid))
        heapq.heapify(heap)
        decisions: list[Decision] = []
        while heap:
            rank, aid = heap[0]
            if aid in taken_agents:
                heapq.heappop(heap)
                continue
            if rank[2] in taken_calls:
                top = self._top_call(self._agents[aid], taken_calls, call_heads)
                if top is None:
                    heapq.heappop(heap)
                else:
                    heapq.heapreplace(heap, (top, aid))
                continue
            # `rank` is the first call in line that any remaining ready agent may take
            call = self._calls[rank[2]]
            decisions.append(self._decide(call, now, taken_agents, agent_heads, len(decisions)))
            taken_calls.add(call.linkedid)
            taken_agents.add(decisions[-1].agent.id)
        return decisions

    def _assign_by_line(self, now: float, exclude: frozenset[str] | set[str] = frozenset()) -> list[Decision]:
        taken_agents: set[str] = set(exclude)
        heads: dict[SkillKey, int] = {}
        decisions: list[Decision] = []
        left = len(set(self._ready) - taken_agents)
        if not left:
            return decisions
        call_active = self._call_active
        for position, rank in enumerate(self._line):
            if not call_active[rank[2]]:
                continue  # not arrived yet
            d = self._decide(self._calls[rank[2]], now, taken_agents, heads, len(decisions), position)
            if d is not None:
                decisions.append(d)
                taken_agents.add(d.agent.id)
                left -= 1
                if not left:
                    break
        return decisions

    def _top_call(self, agent: AgentState, taken: set[str],
                  heads: dict[tuple[SkillKey, int], int]) -> _Rank | None:
        """The first call in line (not yet taken in this pass) the agent may take now."""
        best = None
        active = self._active
        for km in self._agent_lists[agent.id]:
            lst = active.get(km)
            if not lst:
                continue
            i = heads.get(km, 0)
            n = len(lst)
            while i < n and lst[i][0][2] in taken:
                i += 1
            heads[km] = i
            if i < n and (best is None or lst[i][0] < best):
                best = lst[i][0]
        return best

    def _decide(self, call: WaitingCall, now: float, taken: set[str], heads: dict[SkillKey, int],
                made: int, position: int | None = None) -> Decision | None:
        steps = self._steps[call.linkedid]
        s = len(self._call_active[call.linkedid]) - 1  # active steps are a prefix
        limit = self.policy.explain_top
        want = None if limit is None else limit + 1
        found: list[Candidate] = []
        missed_found: list[Candidate] = []
        seen: set[str] = set()
        missed_by = call.missed_by
        for j in range(s + 1):
            step = steps[j]
            key = step.key(call)
            lst = self._ready_by_key.get(key)
            if not lst:
                continue
            i = heads.get(key, 0)
            n = len(lst)
            while i < n and lst[i][2] in taken:
                i += 1
            heads[key] = i
            neg_min = -step.min_level
            while i < n:
                neg_level, n_skills, idle, aid = lst[i]
                i += 1
                if neg_level > neg_min:
                    break
                if aid in taken or aid in seen:
                    continue
                seen.add(aid)
                cand = Candidate(aid, key[0], key[1], -neg_level, idle, j, aid in missed_by, n_skills)
                (missed_found if cand.missed else found).append(cand)
                if want is not None and len(found) >= want:
                    break
            if want is not None and len(found) >= want:
                break
        ranked = found + missed_found
        if not ranked:
            return None
        chosen = ranked[0]
        shown = tuple(ranked if limit is None else ranked[:limit])
        if position is None:
            position = bisect_left(self._line, call.rank)
        return Decision(
            call=call, agent=self._agents[chosen.agent_id], step_index=chosen.step_index,
            step=steps[chosen.step_index], steps=len(steps), current_step=s,
            rule=_rule(call, chosen.step_index, steps[chosen.step_index], len(steps), chosen.missed, now),
            candidates=shown, more_candidates=limit is not None and len(ranked) > limit,
            position=position, skipped_ahead=position - made, now=now)

    # -- transitions kept in step with the indexes -----------------------------------------
    def offer(self, decision: Decision, now: float) -> AgentState:
        """Apply a decision: the call leaves the line and rings the agent. Refused when the
        agent or the call changed since the decision was made."""
        agent = self._agents.get(decision.agent.id)
        if agent != decision.agent:
            raise Refused(f"agent {decision.agent.id} changed since the decision")
        if self._calls.get(decision.call.linkedid) != decision.call:
            raise Refused(f"call {decision.call.linkedid} is no longer waiting as decided")
        new = offer(agent, decision.call, now, self.policy)
        self.drop_call(decision.call.linkedid)
        self.put_agent(new)
        self._offered_calls[decision.call.linkedid] = decision.call
        return new

    def answer(self, agent_id: str, linkedid: str, now: float) -> AgentState:
        new = answer(self._agents[agent_id], linkedid, now)
        self.put_agent(new)
        return new

    def rona(self, agent_id: str, now: float, call: WaitingCall | None = None) -> tuple[AgentState, WaitingCall]:
        """The agent let the call ring out: the call goes back to its place at the head.
        `call` is needed only when the offer was not made through this board (a rebuilt one)."""
        agent = self._agents[agent_id]
        if call is None:
            call = self._offered_calls.get(agent.call) if agent.call else None
        if call is None:
            raise Refused(f"agent {agent_id} has no call ringing")
        new, back = rona(agent, call, now, self.policy)
        self.put_agent(new)
        self._offered_calls.pop(call.linkedid, None)
        self.put_call(back)
        return new, back

    def cancel(self, agent_id: str, linkedid: str, now: float) -> AgentState:
        """The caller hung up while the agent's phone rang."""
        new = cancel(self._agents[agent_id], linkedid, now)
        self.put_agent(new)
        return new

    def hangup(self, agent_id: str, linkedid: str, now: float) -> AgentState:
        new = hangup(self._agents[agent_id], linkedid, now, self.policy)
        self.put_agent(new)
        return new

    def tick(self, now: float) -> list[AgentState]:
        """End the wrap-ups due by `now`; returns the agents made ready."""
        done = []
        while self._wrapups and self._wrapups[0][0] <= now:
            until, aid = heapq.heappop(self._wrapups)
            agent = self._agents.get(aid)
            if agent is None or agent.state != WRAPUP or agent.until != until:
                continue
            new = tick(agent, now)
            self.put_agent(new)
            done.append(new)
        return done

    def done(self, agent_id: str, now: float) -> AgentState:
        new = done(self._agents[agent_id], now)
        self.put_agent(new)
        return new

    def login(self, agent_id: str, now: float) -> AgentState:
        new = login(self._agents[agent_id], now)
        self.put_agent(new)
        return new

    def logout(self, agent_id: str, now: float) -> AgentState:
        new = logout(self._agents[agent_id], now)
        self.put_agent(new)
        return new

    def pause(self, agent_id: str, reason: str, now: float) -> AgentState:
        new = pause(self._agents[agent_id], reason, now)
        self.put_agent(new)
        return new

    def unpause(self, agent_id: str, now: float) -> AgentState:
        new = unpause(self._agents[agent_id], now)
        self.put_agent(new)
        return new


def assign(agents: Iterable[AgentState], calls: Iterable[WaitingCall], now: float,
           policy: Policy) -> list[Decision]:
    """Match ready agents to waiting calls at `now`; decisions come in line order.
    Raises ValueError on a repeated agent id or linkedid, Refused when a waiting call is
    also offered to or talking with an agent."""
    return Board(policy, agents, calls).assign(now)


# -- pure state transitions ---------------------------------------------------------------------
def _need(agent: AgentState, allowed: tuple[str, ...], what: str) -> None:
    if agent.state not in allowed:
        raise Refused(f"agent {agent.id}: cannot {what} while {agent.state}")


def login(agent: AgentState, now: float) -> AgentState:
    _need(agent, (LOGGED_OUT,), "log in")
    return replace(agent, state=READY, since=now, idle_since=now, misses=0)


def logout(agent: AgentState, now: float) -> AgentState:
    _need(agent, (READY, PAUSED, WRAPUP), "log out")
    return replace(agent, state=LOGGED_OUT, since=now, paused_reason=None, until=None)


def offer(agent: AgentState, call: WaitingCall, now: float, policy: Policy) -> AgentState:
    """Ring the agent with the call; refused unless the agent is ready and holds a skill the
    call's current step allows."""
    _need(agent, (READY,), f"be offered call {call.linkedid}")
    if eligible_step(agent, call, now, policy) is None:
        raise Refused(f"agent {agent.id} lacks the skill call {call.linkedid} needs at step "
                      f"{current_step(call, now, policy) + 1}")
    return replace(agent, state=OFFERED, since=now, call=call.linkedid)


def _same_call(agent: AgentState, linkedid: str, what: str) -> None:
    if agent.call != linkedid:
        raise Refused(f"agent {agent.id}: cannot {what} call {linkedid}: the agent has {agent.call}")


def answer(agent: AgentState, linkedid: str, now: float) -> AgentState:
    _need(agent, (OFFERED,), "answer")
    _same_call(agent, linkedid, "answer")
    return replace(agent, state=ON_CALL, since=now, misses=0)


def rona(agent: AgentState, call: WaitingCall, now: float, policy: Policy) -> tuple[AgentState, WaitingCall]:
    """Ring, no answer: the agent counts a miss (pausing with reason 'no answer' at
    `policy.rona_max_misses` consecutive misses, else ready again but last in idle order);
    the call keeps its arrival, so it returns to the head of its class, and is marked so the
    same agent is tried last for it."""
    _need(agent, (OFFERED,), "ring out")
    _same_call(agent, call.linkedid, "ring out")
    misses = agent.misses + 1
    if misses >= policy.rona_max_misses:
        new = replace(agent, state=PAUSED, since=now, paused_reason=NO_ANSWER, misses=misses, call=None)
    else:
        new = replace(agent, state=READY, since=now, idle_since=now, misses=misses, call=None)
    missed_by = call.missed_by if agent.id in call.missed_by else call.missed_by + (agent.id,)
    return new, replace(call, bounced=True, missed_by=missed_by)


def cancel(agent: AgentState, linkedid: str, now: float) -> AgentState:
    """The caller left while the agent's phone rang: ready again, keeping its idle time."""
    _need(agent, (OFFERED,), "cancel")
    _same_call(agent, linkedid, "cancel")
    return replace(agent, state=READY, since=now, call=None)


def hangup(agent: AgentState, linkedid: str, now: float, policy: Policy) -> AgentState:
    """The call ended: timed wrap-up until now + wrapup_seconds (ready at once if 0)."""
    _need(agent, (ON_CALL,), "hang up")
    _same_call(agent, linkedid, "hang up")
    if policy.wrapup_seconds <= 0:
        return replace(agent, state=READY, since=now, idle_since=now, call=None)
    return replace(agent, state=WRAPUP, since=now, call=None, until=now + policy.wrapup_seconds)


def tick(agent: AgentState, now: float) -> AgentState:
    """End a wrap-up that is due; any other agent is returned unchanged."""
    if agent.state == WRAPUP and agent.until <= now:
        return replace(agent, state=READY, since=agent.until, idle_since=agent.until, until=None)
    return agent


def done(agent: AgentState, now: float) -> AgentState:
    """The agent ends the wrap-up early ("done" on the desk): ready now."""
    _need(agent, (WRAPUP,), "end the wrap-up")
    return replace(agent, state=READY, since=now, idle_since=now, until=None)


def pause(agent: AgentState, reason: str, now: float) -> AgentState:
    if not isinstance(reason, str) or not reason.strip():
        raise Refused(f"agent {agent.id}: a pause needs a reason code")
    _need(agent, (READY, WRAPUP, PAUSED), "pause")
    return replace(agent, state=PAUSED, since=now, paused_reason=reason, until=None)


def unpause(agent: AgentState, now: float) -> AgentState:
    _need(agent, (PAUSED,), "unpause")
    return replace(agent, state=READY, since=now, idle_since=now, paused_reason=None, misses=0)
