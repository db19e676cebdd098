"""The city-scale day as data: callers, their calls and the agents' shifts (see bench.city_day).

Everything is drawn from random generators seeded from one number, so a seed names a day.
Each call carries what both simulations need to replay it identically: department,
language, priority class, arrival, talk time, the caller's patience and how long the
agent's phone rings before it is picked up.

- Arrivals: a Poisson process whose rate is constant within each half hour and follows
  `HOURLY_WEIGHTS` (night trough, a mid-morning peak, a lunch dip, an afternoon peak); one
  surge hour at `surge_factor` times the curve. The expected total, surge included, is
  `calls`.
- Mix: `DEPARTMENT_MIX`, then a language per department (`LANGUAGE_MIX`), then a priority
  class (`PRIORITY_MIX`: emergencies from the menu, registered elderly/disabled callers).
- Talk time: lognormal per department (`TALK_MEAN_S`, sigma `TALK_SIGMA`); patience:
  lognormal (median `PATIENCE_MEDIAN_S`, sigma `PATIENCE_SIGMA`); ring: uniform 2-6 s.
- Staffing: the engine's own advice (reports.staffing.advise, Erlang C) per department and
  half hour, from the FORECAST (the curve without the surge: a surge is what nobody
  planned for), for `target_sl` answered within `target_s`, with the handle time the
  advice would measure (talk + wrap-up) plus the ring. Shifts of `shift_hours` cover that
  need greedily; a roster of `agents` smaller than that loses shifts where the cover is
  thickest (and says so); a larger one has agents off that day, or with `fill_roster`
  works every agent, the extra shifts where the cover is thinnest.
- Agents: a home department, always Mandarin, some Cantonese and English; levels 1-5;
  some are cross-trained in a second department at a lower level.
"""
from __future__ import annotations

import math
import random
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from acd import config as acd_config
from acd.model import ELDERLY_DISABLED, EMERGENCY, NORMAL, Skills
from core import settings
from reports.kpi import KpiRow
from reports.staffing import advise

DAY_S = 86400.0
INTERVAL_S = 1800
INTERVALS = int(DAY_S // INTERVAL_S)

DEPARTMENTS = ("general", "market", "tax", "hrss", "ecology", "housing", "prices")
DEPARTMENT_MIX = {"general": 0.18, "market": 0.16, "tax": 0.14, "hrss": 0.22, "ecology": 0.08,
                  "housing": 0.14, "prices": 0.08}
LANGUAGES = ("cmn", "yue", "en")
LANGUAGE_MIX = {"general": (0.78, 0.12, 0.10)}
DEFAULT_LANGUAGE_MIX = (0.87, 0.09, 0.04)
PRIORITY_MIX = ((EMERGENCY, 0.01), (ELDERLY_DISABLED, 0.06), (NORMAL, 0.93))
# Calls per hour of the day, relative: 0:00 .. 23:00.
HOURLY_WEIGHTS = (0.9, 0.6, 0.45, 0.4, 0.4, 0.5, 0.9, 2.0, 4.6, 7.2, 7.8, 7.0,
                  4.6, 5.2, 7.0, 7.4, 6.6, 5.0, 3.6, 3.0, 2.6, 2.1, 1.6, 1.2)
TALK_MEAN_S = {"general": 170.0, "market": 200.0, "tax": 240.0, "hrss": 230.0, "ecology": 200.0,
               "housing": 220.0, "prices": 180.0}
TALK_SIGMA = 0.6
PATIENCE_MEDIAN_S = 90.0
PATIENCE_SIGMA = 0.9
RING_S = (2.0, 6.0)
# Agents: home level weights for levels 1-5; who speaks what; cross-training.
LEVEL_WEIGHTS = (0.08, 0.20, 0.37, 0.25, 0.10)
SPEAKS = {"yue": 0.22, "en": 0.10}
SPEAKS_GENERAL = {"yue": 0.35, "en": 0.30}
SECOND_DEPARTMENT = 0.20


@dataclass(frozen=True)
class Call:
    id: str
    department: str
    language: str
    priority: int
    arrived: float
    talk: float       # answer to hang-up
    patience: float   # the caller hangs up after waiting this long unanswered
    ring: float       # the agent's phone rings this long before the agent picks up


@dataclass(frozen=True)
class Agent:
    id: str
    skills: Skills
    start: float      # shift: logs in
    end: float        # logs out (after the call in hand, if any)
    home: str = ""


@dataclass(frozen=True)
class Scenario:
    agents: tuple[Agent, ...]
    calls: tuple[Call, ...]          # by arrival
    acd: acd_config.AcdConfig
    end: float                       # the simulation stops here
    departments: tuple[str, ...] = DEPARTMENTS
    notes: tuple[str, ...] = ()      # what the generator had to say (staffing fit)
    surge_hour: int | None = None
    needed: dict[str, list[int]] = field(default_factory=dict)   # Erlang C advice per half hour
    on_duty: dict[str, list[int]] = field(default_factory=dict)  # agents on shift per half hour


@dataclass(frozen=True)
class DayShape:
    calls: float = 56_000
    agents: int = 750
    seed: int = 12345
    surge_hour: int | None = 13
    surge_factor: float = 3.0
    surge_department: str | None = None   # None: the surge hits every department
    shift_hours: int = 8
    fill_roster: bool = False             # every agent of the roster works, beyond the advice
    target_sl: float = 0.80
    target_s: float = 15.0


def demo_acd(default_steps: list[str] | None = None) -> acd_config.AcdConfig:
    """The demo centre's [acd] table (hotline/demo.toml), optionally with other default
    relaxation steps ("after:level[:department[:language]]"), checked as the engine checks it."""
    data = tomllib.loads(settings.DEMO_CONFIG.read_text())
    table = dict(data.get("acd", {}))
    if default_steps is not None:
        table["relax"] = {**dict(table.get("relax", {})), "default": list(default_steps)}
    return acd_config.load(table, {d["code"] for d in data.get("departments", [])})


def _hour_rates(shape: DayShape) -> list[float]:
    """Expected calls per second for each hour of the forecast (the curve without the
    surge), scaled so that the day WITH the surge totals `shape.calls`."""
    total = sum(HOURLY_WEIGHTS)
    if shape.surge_hour is not None:
        total += HOURLY_WEIGHTS[shape.surge_hour] * (shape.surge_factor - 1.0)
    return [shape.calls * w / total / 3600.0 for w in HOURLY_WEIGHTS]


def _dept_rate(shape: DayShape, base: list[float], hour: int, dept: str, with_surge: bool) -> float:
    rate = base[hour] * DEPARTMENT_MIX[dept]
    if with_surge and hour == shape.surge_hour:
        extra = base[hour] * (shape.surge_factor - 1.0)
        if shape.surge_department is None:
            rate += extra * DEPARTMENT_MIX[dept]
        elif dept == shape.surge_department:
            rate += extra
    return rate


def arrivals(shape: DayShape) -> list[Call]:
    rnd = random.Random(f"{shape.seed}:calls")
    base = _hour_rates(shape)
    calls: list[Call] = []
    for i in range(INTERVALS):
        t0, t1 = i * INTERVAL_S, (i + 1) * INTERVAL_S
        hour = i * INTERVAL_S // 3600
        for dept in DEPARTMENTS:
            rate = _dept_rate(shape, base, hour, dept, with_surge=True)
            if rate <= 0:
                continue
            t = t0 + rnd.expovariate(rate)
            while t < t1:
                calls.append(_call(rnd, dept, t))
                t += rnd.expovariate(rate)
    calls.sort(key=lambda c: c.arrived)
    return [Call(f"c{k:06d}", c.department, c.language, c.priority, c.arrived, c.talk, c.patience, c.ring)
            for k, c in enumerate(calls)]


def _call(rnd: random.Random, dept: str, t: float) -> Call:
    language = rnd.choices(LANGUAGES, LANGUAGE_MIX.get(dept, DEFAULT_LANGUAGE_MIX))[0]
    priority = rnd.choices([p for p, _ in PRIORITY_MIX], [w for _, w in PRIORITY_MIX])[0]
    mean = TALK_MEAN_S[dept]
    talk = rnd.lognormvariate(math.log(mean) - TALK_SIGMA ** 2 / 2, TALK_SIGMA)
    patience = rnd.lognormvariate(math.log(PATIENCE_MEDIAN_S), PATIENCE_SIGMA)
    return Call("", dept, language, priority, t, talk, patience, rnd.uniform(*RING_S))


def needed_agents(shape: DayShape, wrapup_s: float) -> dict[str, list[int]]:
    """Erlang C advice per department and half hour for the forecast (no surge)."""
    base = _hour_rates(shape)
    day = datetime(2026, 3, 2, tzinfo=UTC)
    out = {}
    for dept in DEPARTMENTS:
        aht = TALK_MEAN_S[dept] + wrapup_s + sum(RING_S) / 2
        rows = [KpiRow(day + timedelta(seconds=i * INTERVAL_S), INTERVAL_S, {"department": dept},
                       offered=round(_dept_rate(shape, base, i * INTERVAL_S // 3600, dept, False) * INTERVAL_S),
                       aht=aht)
                for i in range(INTERVALS)]
        advice = advise(rows, target_sl=shape.target_sl, target_s=shape.target_s)
        out[dept] = [a.agents_needed or 0 for a in advice]
    return out


def cover(needed: dict[str, list[int]], shift_hours: int) -> list[tuple[str, int]]:
    """(department, first half hour) per shift: the greedy cover of the advice (a shift
    starts whenever the agents on duty fall short of the need)."""
    length = shift_hours * 3600 // INTERVAL_S
    out: list[tuple[str, int]] = []
    for d, need in needed.items():
        duty = [0] * INTERVALS
        for i in range(INTERVALS):
            if duty[i] < need[i]:
                k = need[i] - duty[i]
                out += [(d, i)] * k
                for j in range(i, min(INTERVALS, i + length)):
                    duty[j] += k
    return out


def shifts(needed: dict[str, list[int]], roster: int, shift_hours: int,
           fill: bool = False) -> tuple[list[tuple[str, int]], list[str]]:
    """The cover of the advice fitted to the roster: when the cover needs more agents than
    the roster has, shifts are taken away where the cover stays thickest without them;
    when it needs fewer, the rest of the roster is off that day, or with `fill` works extra
    shifts where they relieve most (thin cover relative to the need). Returns the shifts
    and notes on the fit."""
    length = shift_hours * 3600 // INTERVAL_S
    out = cover(needed, shift_hours)
    duty = {d: [0] * INTERVALS for d in needed}

    def add(d: str, s: int, k: int = 1) -> None:
        for i in range(s, min(INTERVALS, s + length)):
            duty[d][i] += k

    for d, s in out:
        add(d, s)
    notes = [f"Erlang C advice (80/15 per department and half hour) is covered by {len(out)} shifts "
             f"of {shift_hours} h; the roster has {roster} agents"]
    if len(out) < roster and not fill:
        notes.append(f"{roster - len(out)} agents of the roster are off today (--fill-roster puts them on shifts)")
    while fill and len(out) < roster:
        _, d, s = max((sum(needed[d][i] / (duty[d][i] + 1) for i in range(s, min(INTERVALS, s + length))), d, s)
                      for d in needed for s in range(INTERVALS - length + 1))
        out.append((d, s))
        add(d, s)
    short = False

    def room(shift: tuple[str, int]) -> float:
        d, s = shift
        return min(((duty[d][i] - 1) / needed[d][i] if needed[d][i] else math.inf)
                   for i in range(s, min(INTERVALS, s + length)))

    while len(out) > roster:
        best = max(set(out), key=lambda sh: (room(sh), sh))
        short = short or room(best) < 1
        out.remove(best)
        add(*best, -1)
    if short:
        notes.append("The roster is smaller than the advice: some half hours are staffed below it")
    return sorted(out, key=lambda sh: (sh[1], sh[0])), notes


def agent_skills(rnd: random.Random, home: str) -> Skills:
    levels = range(1, 6)
    level = rnd.choices(levels, LEVEL_WEIGHTS)[0]
    skills = {(home, "cmn"): level}
    speaks = SPEAKS_GENERAL if home == "general" else SPEAKS
    for lang, p in speaks.items():
        if rnd.random() < p:
            skills[(home, lang)] = rnd.choices(levels, LEVEL_WEIGHTS)[0]
    if rnd.random() < SECOND_DEPARTMENT:
        other = rnd.choice([d for d in DEPARTMENTS if d != home])
        for (_, lang), lv in list(skills.items()):
            skills[(other, lang)] = max(1, min(lv, rnd.choice((1, 2, 3))))
    return Skills(skills)


def city_day(shape: DayShape, acd: acd_config.AcdConfig | None = None) -> Scenario:
    acd = acd or demo_acd()
    needed = needed_agents(shape, acd.wrapup_seconds)
    plan, notes = shifts(needed, shape.agents, shape.shift_hours, shape.fill_roster)
    rnd = random.Random(f"{shape.seed}:agents")
    agents = []
    length = shape.shift_hours * 3600
    on_duty = {d: [0] * INTERVALS for d in DEPARTMENTS}
    for k, (dept, s) in enumerate(plan):
        start = float(s * INTERVAL_S)
        agents.append(Agent(f"a{k:04d}", agent_skills(rnd, dept), start, start + length, dept))
        for i in range(s, min(INTERVALS, s + length // INTERVAL_S)):
            on_duty[dept][i] += 1
    return Scenario(tuple(agents), tuple(arrivals(shape)), acd, DAY_S, DEPARTMENTS, tuple(notes), shape.surge_hour,
                    needed, on_duty)
