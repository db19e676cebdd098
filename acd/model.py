"""ACD data: agents' routing state, waiting calls, relaxation steps and the routing policy.

Plain frozen values, no clocks and no I/O: times are floats (seconds, any epoch) handed in
by the caller, so the same inputs always give the same routing (see `acd.policy`).

- A skill is (department, language) with a level 1-5; an agent has many.
- A call's requirements come from its number and menu path: department, language and a
  priority class (lower is more urgent). Its rank in the line is
  (priority, arrived, linkedid): a call that rang out on an agent (RONA) keeps its original
  arrival, so it goes back to the head of its class; a callback carries the time the citizen
  asked for it, so it keeps its place among other callbacks.
- While a call waits, its requirements relax in steps: step i applies from
  `arrived + steps[i].after_seconds` on, and widens (never narrows) who may take the call.
  A wait inside the call's own department that cannot pay off is cut short
  (`acd.policy.Board.hasten`); the call then carries the step it reached (`hastened`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# -- agent states --------------------------------------------------------------------------
LOGGED_OUT = "logged_out"
READY = "ready"
OFFERED = "offered"     # the agent's phone is ringing with a call
ON_CALL = "on_call"
WRAPUP = "wrapup"       # timed: ends at `until`
PAUSED = "paused"       # with a reason code
STATES = (LOGGED_OUT, READY, OFFERED, ON_CALL, WRAPUP, PAUSED)

NO_ANSWER = "no answer"  # the pause reason RONA gives after too many misses

# -- priority classes (lower = more urgent) ------------------------------------------------
EMERGENCY = 0
ELDERLY_DISABLED = 1
CALLBACK = 2
NORMAL = 3
PRIORITY_NAMES = {EMERGENCY: "emergency", ELDERLY_DISABLED: "elderly/disabled",
                  CALLBACK: "callback", NORMAL: "normal"}

LEVELS = range(1, 6)


def priority_name(priority: int) -> str:
    return PRIORITY_NAMES.get(priority, f"priority {priority}")


SkillKey = tuple[str, str]  # (department, language)


class Skills(Mapping[SkillKey, int]):
    """An immutable, hashable {(department, language): level} map (levels 1-5)."""

    __slots__ = ("_d", "_hash")

    def __init__(self, items: Mapping[SkillKey, int] | Iterable[tuple[SkillKey, int]] = ()):
        d = dict(items.items() if isinstance(items, Mapping) else items)
        for key, level in d.items():
            if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
                raise ValueError(f"skill {key!r} is not (department, language)")
            if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
                raise ValueError(f"skill {key[0]}:{key[1]}: level {level!r} is not 1-5")
        self._d = d
        self._hash = hash(frozenset(d.items()))

    def __getitem__(self, key: SkillKey) -> int:
        return self._d[key]

    def get(self, key, default=None):
        return self._d.get(key, default)

    def __iter__(self) -> Iterator[SkillKey]:
        return iter(self._d)

    def items(self):
        return self._d.items()

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        if isinstance(other, Skills):
            return self._d == other._d
        if isinstance(other, Mapping):
            return self._d == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return "Skills({" + ", ".join(f"{d}:{lang}: {lv}" for (d, lang), lv in sorted(self._d.items())) + "})"


@dataclass(frozen=True)
class AgentState:
    """One agent as routing sees it.

    `since` is when the current state began; `idle_since` is when the agent last became free
    (login, end of wrap-up, unpause, a RONA) and orders "longest idle"; a call cancelled
    while ringing leaves it unchanged. `call` is the linkedid offered to or talking with the
    agent; `until` the end of a wrap-up; `misses` the consecutive calls left ringing.
    """
    id: str
    skills: Skills
    state: str = LOGGED_OUT
    since: float = 0.0
    paused_reason: str | None = None
    misses: int = 0
    idle_since: float = 0.0
    call: str | None = None
    until: float | None = None

    def __post_init__(self):
        if not isinstance(self.skills, Skills):
            object.__setattr__(self, "skills", Skills(self.skills))
        if self.state not in STATES:
            raise ValueError(f"agent {self.id}: unknown state {self.state!r}")
        if (self.call is not None) != (self.state in (OFFERED, ON_CALL)):
            raise ValueError(f"agent {self.id}: a call belongs to offered/on_call states only")
        if (self.until is not None) != (self.state == WRAPUP):
            raise ValueError(f"agent {self.id}: `until` belongs to the wrapup state only")
        if (self.paused_reason is not None) != (self.state == PAUSED):
            raise ValueError(f"agent {self.id}: a pause reason belongs to the paused state only")
        if not all(math.isfinite(t) for t in (self.since, self.idle_since)):
            raise ValueError(f"agent {self.id}: times must be finite")

    @classmethod
    def from_agent(cls, agent, *, state: str = LOGGED_OUT, now: float = 0.0) -> "AgentState":
        """From a `hotline.settings.Agent` (skills dept:lang:level); a skill listed twice
        keeps its highest level."""
        skills: dict[SkillKey, int] = {}
        for s in agent.skills:
            key = (s.department, s.language)
            skills[key] = max(skills.get(key, 0), s.level)
        return cls(id=agent.id, skills=Skills(skills), state=state, since=now, idle_since=now)


@dataclass(frozen=True)
class WaitingCall:
    """A call waiting for an agent. `priority`: 0 emergency, 1 elderly/disabled,
    2 callback, 3 normal (lower goes first). `missed_by`: agents it rang out on, tried last."""
    linkedid: str
    department: str
    language: str
    priority: int = NORMAL
    arrived: float = 0.0
    bounced: bool = False
    missed_by: tuple[str, ...] = ()
    promoted: int = 0          # classes gained by waiting (priority ageing, Board.age)
    hastened: int = 0          # its step is at least this one: a wait cut short (Board.hasten)

    def __post_init__(self):
        if isinstance(self.priority, bool) or not isinstance(self.priority, int) or self.priority < 0:
            raise ValueError(f"call {self.linkedid}: priority {self.priority!r} is not an int >= 0")
        if not math.isfinite(self.arrived):
            raise ValueError(f"call {self.linkedid}: arrival time must be finite")

    @property
    def rank(self) -> tuple[int, float, str]:
        """Place in the one line across all departments: class, then oldest, then linkedid."""
        return (self.priority, self.arrived, self.linkedid)


@dataclass(frozen=True)
class RelaxStep:
    """From `after_seconds` of waiting on, agents with (department, language) at
    `min_level` or above may take the call; None overrides mean the call's own."""
    after_seconds: float
    min_level: int = 1
    department_override: str | None = None
    language_override: str | None = None

    def __post_init__(self):
        if not (math.isfinite(self.after_seconds) and self.after_seconds >= 0):
            raise ValueError(f"relax step: after_seconds {self.after_seconds!r} must be >= 0")
        if self.min_level not in LEVELS:
            raise ValueError(f"relax step: min_level {self.min_level!r} is not 1-5")

    def key(self, call: WaitingCall) -> SkillKey:
        return (self.department_override or call.department, self.language_override or call.language)

    def describe(self, call: WaitingCall | None = None) -> str:
        dept = self.department_override or (call.department if call else "<department>")
        lang = self.language_override or (call.language if call else "<language>")
        text = f"{dept}:{lang} level>={self.min_level}"
        notes = []
        if self.department_override and (call is None or self.department_override != call.department):
            notes.append(f"overflow to department {self.department_override}")
        if self.language_override and (call is None or self.language_override != call.language):
            notes.append(f"overflow to language {self.language_override}")
        return text + (f" ({', '.join(notes)})" if notes else "")


# A reasonable default: the best-skilled first, any level after 30 s, the centre's general
# department after 90 s.
def standard_steps(overflow_department: str | None = "general", overflow_language: str | None = None,
                   *, strict_level: int = 3, any_level_after: float = 30.0,
                   overflow_after: float = 90.0) -> tuple[RelaxStep, ...]:
    steps = [RelaxStep(0.0, strict_level), RelaxStep(any_level_after, 1)]
    if overflow_department or overflow_language:
        steps.append(RelaxStep(overflow_after, 1, overflow_department, overflow_language))
    return tuple(steps)


def check_steps(steps: tuple[RelaxStep, ...], where: str = "steps") -> tuple[RelaxStep, ...]:
    steps = tuple(steps)
    if not steps:
        raise ValueError(f"{where}: at least one relax step is needed")
    if steps[0].after_seconds != 0:
        raise ValueError(f"{where}: the first step must apply from 0 s")
    for a, b in zip(steps, steps[1:]):
        if not b.after_seconds > a.after_seconds:
            raise ValueError(f"{where}: after_seconds must increase step by step")
    return steps


@dataclass(frozen=True)
class Policy:
    """Relaxation steps per department (`default_steps` for the others), the wrap-up time,
    how many consecutive ring-outs pause an agent, and how many best candidates a decision
    keeps for its explanation (None: all)."""
    steps: Mapping[str, tuple[RelaxStep, ...]] = field(default_factory=dict)
    default_steps: tuple[RelaxStep, ...] = standard_steps()
    wrapup_seconds: float = 30.0
    rona_max_misses: int = 3
    explain_top: int | None = 5

    def __post_init__(self):
        checked = {dept: check_steps(s, f"steps of {dept}") for dept, s in dict(self.steps).items()}
        object.__setattr__(self, "steps", MappingProxyType(checked))
        object.__setattr__(self, "default_steps", check_steps(self.default_steps, "default steps"))
        if not (math.isfinite(self.wrapup_seconds) and self.wrapup_seconds >= 0):
            raise ValueError("wrapup_seconds must be >= 0")
        if isinstance(self.rona_max_misses, bool) or not isinstance(self.rona_max_misses, int) \
                or self.rona_max_misses < 1:
            raise ValueError("rona_max_misses must be an int >= 1")
        if self.explain_top is not None and self.explain_top < 1:
            raise ValueError("explain_top must be >= 1 or None")

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.steps.items())), self.default_steps, self.wrapup_seconds,
                     self.rona_max_misses, self.explain_top))

    def steps_for(self, department: str) -> tuple[RelaxStep, ...]:
        return self.steps.get(department, self.default_steps)
