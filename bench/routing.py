"""ACD routing decisions per second: the pure policy (acd.policy) on a city-sized centre.

    .venv/bin/python -m bench.routing [--agents 750] [--departments 20] [--calls 1000]
                                      [--repeat 5] [--free 5000] [--seed 7] [--no-naive]

The centre: 20 departments x 3 languages = 60 skills; 750 agents, each with a home
department in one to three languages (levels 1-5) and sometimes a second department;
1,000 waiting calls with mixed priority classes (5 % emergency, 10 % elderly/disabled,
15 % callbacks, 70 % normal), departments, languages and ages (0-300 s, so calls sit at every
relaxation step: level >= 3, any level after 30 s, Mandarin after 60 s, the general
department after 90 s).

Scenarios, each printed as a row of one markdown table:

- full pass, all ready: every agent ready, one `assign` over the whole line (the board and
  its indexes built first and timed apart; "build + assign" is what the pure `assign()`
  function costs);
- full pass, 10 % ready: the same with 75 ready agents;
- incremental: every agent busy and the line full; one agent at a time hangs up (wrap-up
  0 s), `assign` gives it one call, the call is offered and answered and a new call joins
  the line, so the line stays at 1,000 ("decision" is the service's pass, `hasten` then
  `assign`, "cycle" includes the board updates);
- brute force (peer): the same full pass and one incremental decision computed by scanning
  every ready agent for every call, the way a queue without skill indexes would.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace

from acd import policy as P
from core import contract
from acd.model import (CALLBACK, ELDERLY_DISABLED, EMERGENCY, NORMAL, ON_CALL, READY, AgentState, Policy, RelaxStep,
                       Skills, WaitingCall)

LANGS = contract.LANGUAGES
LANG_WEIGHTS = (0.6, 0.3, 0.1)


def centre(n_agents: int, n_departments: int, n_calls: int, seed: int):
    rnd = random.Random(seed)
    depts = ["general"] + [f"d{i:02d}" for i in range(1, n_departments)]
    steps = (RelaxStep(0, 3), RelaxStep(30, 1), RelaxStep(60, 1, language_override="cmn"),
             RelaxStep(90, 1, department_override="general"))
    policy = Policy(default_steps=steps, wrapup_seconds=0.0, rona_max_misses=3, explain_top=5)
    agents = []
    for i in range(n_agents):
        home = depts[i % len(depts)]
        langs = ["cmn"] + rnd.sample(["yue", "en"], rnd.choice([0, 1, 1, 2]))
        skills = {(home, lang): rnd.randint(1, 5) for lang in langs}
        if rnd.random() < 0.3:
            skills[(rnd.choice(depts), rnd.choice(langs))] = rnd.randint(1, 5)
        agents.append(AgentState(f"{10000 + i}", Skills(skills), READY, idle_since=-rnd.uniform(0, 600)))
    now = 1000.0
    calls = [new_call(rnd, depts, k, now) for k in range(n_calls)]
    return policy, agents, calls, depts, now


def new_call(rnd: random.Random, depts, k: int, now: float) -> WaitingCall:
    priority = rnd.choices((EMERGENCY, ELDERLY_DISABLED, CALLBACK, NORMAL), (0.05, 0.10, 0.15, 0.70))[0]
    return WaitingCall(f"node1-{k}", rnd.choice(depts), rnd.choices(LANGS, LANG_WEIGHTS)[0], priority,
                       now - rnd.uniform(0, 300))


def brute_force(agents, calls, now, policy) -> int:
    """The peer: every call in line order scans every ready agent (no indexes)."""
    ready = [a for a in agents if a.state == READY]
    taken: set[str] = set()
    made = 0
    for c in sorted(calls, key=lambda c: c.rank):
        best = None
        for a in ready:
            if a.id in taken:
                continue
            j = P.eligible_step(a, c, now, policy)
            if j is None:
                continue
            step = policy.steps_for(c.department)[j]
            key = (a.id in c.missed_by, j, -a.skills[step.key(c)], len(a.skills), a.idle_since, a.id)
            if best is None or key < best[0]:
                best = (key, a.id)
        if best:
            taken.add(best[1])
            made += 1
    return made


def full_pass(policy, agents, calls, now, repeat: int) -> dict:
    builds, passes, totals, made = [], [], [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        board = P.Board(policy, agents, calls)
        board.advance(now)  # index the relaxation steps already due
        t1 = time.perf_counter()
        decisions = board.assign(now)
        t2 = time.perf_counter()
        builds.append(t1 - t0)
        passes.append(t2 - t1)
        totals.append(t2 - t0)
        made = len(decisions)
    return {"decisions": made, "build": statistics.median(builds), "pass": statistics.median(passes),
            "total": statistics.median(totals)}


def incremental(policy, agents, calls, depts, now, n_free: int, seed: int) -> dict:
    rnd = random.Random(seed + 1)
    busy = [replace(a, state=ON_CALL, since=now - 60, call=f"talk-{a.id}") for a in agents]
    board = P.Board(policy, busy, calls)
    board.assign(now)
    ids = [a.id for a in agents]
    k = len(calls)
    decided, assign_time = 0, 0.0
    t_start = time.perf_counter()
    for i in range(n_free):
        now += 0.05
        aid = ids[rnd.randrange(len(ids))]
        agent = board.agent(aid)
        board.hangup(aid, agent.call, now)          # wrap-up 0 s: ready at once
        t0 = time.perf_counter()
        board.hasten(now)   # the service's pass: waits that cannot pay off cut short, then assign
        decisions = board.assign(now)
        assign_time += time.perf_counter() - t0
        for d in decisions:
            board.offer(d, now)
            board.answer(d.agent.id, d.call.linkedid, now)
            decided += 1
            board.put_call(new_call(rnd, depts, k, now))
            k += 1
        if not decisions:  # nothing this agent may take: put it back on a call of its own
            board.put_agent(replace(board.agent(aid), state=ON_CALL, since=now, call=f"talk-{aid}-{i}"))
    cycle = time.perf_counter() - t_start
    return {"decisions": decided, "frees": n_free, "assign": assign_time, "cycle": cycle,
            "waiting": len(board.calls)}


def row(name, agents, ready, skills, waiting, decisions, seconds) -> str:
    rate = decisions / seconds if seconds else float("inf")
    per = seconds / decisions * 1e6 if decisions else float("nan")
    return (f"| {name} | {agents} | {ready} | {skills} | {waiting} | {decisions} | {seconds * 1e3:.2f} | "
            f"{rate:,.0f} | {per:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=750)
    ap.add_argument("--departments", type=int, default=20)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--free", type=int, default=5000, help="agents freed one at a time (incremental)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-naive", action="store_true", help="skip the brute-force peer (about 2 s)")
    args = ap.parse_args()

    policy, agents, calls, depts, now = centre(args.agents, args.departments, args.calls, args.seed)
    n_skills = len({k for a in agents for k in a.skills})
    rows = []
    full = full_pass(policy, agents, calls, now, args.repeat)
    rows.append(row("full pass, all ready: assign", len(agents), len(agents), n_skills, len(calls),
                    full["decisions"], full["pass"]))
    rows.append(row("full pass, all ready: build + assign", len(agents), len(agents), n_skills, len(calls),
                    full["decisions"], full["total"]))
    rnd = random.Random(args.seed + 2)
    some = {a.id for a in rnd.sample(agents, max(1, len(agents) // 10))}
    tenth = [a if a.id in some else replace(a, state=ON_CALL, call=f"talk-{a.id}") for a in agents]
    part = full_pass(policy, tenth, calls, now, args.repeat)
    rows.append(row("full pass, 10 % ready: assign", len(agents), len(some), n_skills, len(calls),
                    part["decisions"], part["pass"]))
    inc = incremental(policy, agents, calls, depts, now, args.free, args.seed)
    rows.append(row("incremental, one agent freed: hasten + assign", len(agents), 1, n_skills, inc["waiting"],
                    inc["decisions"], inc["assign"]))
    rows.append(row("incremental, one agent freed: full cycle", len(agents), 1, n_skills, inc["waiting"],
                    inc["decisions"], inc["cycle"]))
    if not args.no_naive:
        t0 = time.perf_counter()
        made = brute_force(agents, calls, now, policy)
        rows.append(row("brute force peer: full pass, all ready", len(agents), len(agents), n_skills, len(calls),
                        made, time.perf_counter() - t0))
        one = [agents[0]] + [replace(a, state=ON_CALL, call=f"talk-{a.id}") for a in agents[1:]]
        t0 = time.perf_counter()
        made = sum(brute_force(one, calls, now, policy) for _ in range(20))
        rows.append(row("brute force peer: one agent freed", len(agents), 1, n_skills, len(calls),
                        made, time.perf_counter() - t0))

    print(f"ACD routing: {len(agents)} agents, {n_skills} skills ({args.departments} departments x 3 languages), "
          f"{len(calls)} waiting calls; median of {args.repeat} full passes; {args.free} agents freed one by one "
          f"({inc['frees'] - inc['decisions']} found no call they may take)")
    print(f"board build (index {len(agents)} agents + {len(calls)} calls): {full['build'] * 1e3:.2f} ms")
    print()
    print("| scenario | agents | ready | skills | waiting calls | decisions | ms | decisions/s | µs/decision |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
