"""The centre file's [acd] table -> checked ACD settings and the routing policy.

    [acd]
    ring_seconds = 15        # an offered call rings this long before RONA
    wrapup_seconds = 10      # after each call the agent is held back this long
    rona_max_misses = 3      # consecutive ring-outs that pause an agent ("no answer")
    max_wait_seconds = 600   # then the caller is offered voicemail
    announce_seconds = 30    # position / estimated wait / callback offer, repeated
    start_state = "ready"    # agents never seen before start ready (or "logged_out")
    callback_hours = "08:00-21:00"  # callbacks are dialled only then (centre timezone)
    priority_ageing_seconds = 120   # a waiting call gains one priority class per 120 s (0: strict)
    missed_callbacks = true  # call back every call abandoned in the queue (漏接电话回拨) ...
    missed_min_wait_seconds = 5     # ... that waited at least this long there
    missed_menu_seconds = 0  # also calls that hung up in the menu after this long (0: not those)
    rate_calls = "agent"     # the rating prompt after a call: when the agent sends it, or "all"
    [acd.relax]              # steps "after_seconds:min_level[:department[:language]]"
    default = ["0:3", "30:1", "90:1:general"]
    tax = ["0:3", "20:1", "45:1:tax:cmn"]
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.centre import DialplanTimers
from core.errors import ConfigInvalid
from hours.model import Spans

from acd import callback_hours
from acd.model import LOGGED_OUT, READY, Policy, RelaxStep, check_steps, standard_steps


@dataclass(frozen=True)
class AcdConfig:
    ring_seconds: int = DialplanTimers.ring_seconds
    wrapup_seconds: float = 10.0
    rona_max_misses: int = 3
    max_wait_seconds: float = 600.0
    announce_seconds: float = 30.0
    wait_chunk: int = DialplanTimers.wait_chunk
    beat_timeout: int = DialplanTimers.beat_timeout
    start_state: str = READY
    callback_hours: Spans | None = None             # daily spans; None: any time
    timezone: str = "Asia/Shanghai"                 # the business calendar's, set by the engine
    priority_ageing_seconds: float = 0.0            # 0: strict classes
    missed_callbacks: bool = False                  # abandoned calls go on the callback list
    missed_min_wait_seconds: float = 5.0            # ... when they waited this long in the queue
    missed_menu_seconds: float = 0.0                # ... and menu hang-ups after this long (0: none)
    rate_calls: str = "agent"                       # "all": every answered call is rated (一次一评)
    steps: dict[str, tuple[RelaxStep, ...]] = field(default_factory=dict, compare=False, hash=False)
    default_steps: tuple[RelaxStep, ...] = standard_steps()

    def policy(self) -> Policy:
        return Policy(steps=self.steps, default_steps=self.default_steps, wrapup_seconds=self.wrapup_seconds,
                      rona_max_misses=self.rona_max_misses)


def parse_step(text: str, where: str) -> RelaxStep:
    parts = str(text).split(":")
    if not 2 <= len(parts) <= 4:
        raise ConfigInvalid(f"{where}: step {text!r} is not after:level[:department[:language]]")
    try:
        return RelaxStep(float(parts[0]), int(parts[1]), (parts[2] or None) if len(parts) > 2 else None,
                         (parts[3] or None) if len(parts) > 3 else None)
    except ValueError as e:
        raise ConfigInvalid(f"{where}: step {text!r}: {e}") from e


_NUMBERS = {"ring_seconds": (int, 5, 120), "wrapup_seconds": (float, 0, 3600), "rona_max_misses": (int, 1, 20),
            "max_wait_seconds": (float, 10, 7200), "announce_seconds": (float, 5, 600),
            "wait_chunk": (int, 1, 30), "beat_timeout": (int, 5, 300),
            "priority_ageing_seconds": (float, 0, 86400), "missed_min_wait_seconds": (float, 0, 600),
            "missed_menu_seconds": (float, 0, 3600)}


def load(table: dict, departments: set[str] | None = None) -> AcdConfig:
    """Raises ConfigInvalid naming the bad key."""
    table = dict(table or {})
    values: dict = {}
    for key, value in table.items():
        where = f"[acd] {key}"
        if key in _NUMBERS:
            kind, lo, hi = _NUMBERS[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ConfigInvalid(f"{where} = {value!r}: must be a number from {lo} to {hi}")
            values[key] = kind(value)
        elif key == "rate_calls":
            if value not in ("agent", "all"):
                raise ConfigInvalid(f"{where} = {value!r}: must be \"agent\" or \"all\"")
            values[key] = value
        elif key == "missed_callbacks":
            if not isinstance(value, bool):
                raise ConfigInvalid(f"{where} = {value!r}: must be true or false")
            values[key] = value
        elif key == "start_state":
            if value not in (READY, LOGGED_OUT):
                raise ConfigInvalid(f"{where} = {value!r}: must be {READY!r} or {LOGGED_OUT!r}")
            values[key] = value
        elif key == "callback_hours":
            values[key] = None if value == "24h" else callback_hours.parse(value)
        elif key == "relax":
            steps = {}
            for dept, items in dict(value).items():
                if not isinstance(items, list):
                    raise ConfigInvalid(f"[acd.relax] {dept}: a list of steps is needed")
                parsed = tuple(parse_step(t, f"[acd.relax] {dept}") for t in items)
                for st in parsed:
                    for code in (st.department_override,):
                        if departments is not None and code is not None and code not in departments:
                            raise ConfigInvalid(f"[acd.relax] {dept}: unknown department {code!r}")
                try:
                    parsed = check_steps(parsed, f"[acd.relax] {dept}")
                except ValueError as e:
                    raise ConfigInvalid(str(e)) from e
                if dept == "default":
                    values["default_steps"] = parsed
                else:
                    if departments is not None and dept not in departments:
                        raise ConfigInvalid(f"[acd.relax] {dept}: unknown department")
                    steps[dept] = parsed
            values["steps"] = steps
        else:
            raise ConfigInvalid(f"[acd]: unknown key {key!r}")
    cfg = AcdConfig(**values)
    if cfg.beat_timeout <= cfg.wait_chunk:
        raise ConfigInvalid("[acd] beat_timeout must be longer than wait_chunk")
    return cfg
