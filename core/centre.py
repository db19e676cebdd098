"""The centre as data: departments, skills, agents and their lines (the centre file, TOML)."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from core import contract
from core.errors import ConfigInvalid

# the demo centre; a deployment points HOTLINE_CONFIG at its own
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "hotline" / "demo.toml"
_NUMBER = re.compile(r"[0-9]{3,20}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_AGENT_ID = re.compile(r"[0-9]{3,8}")


def _is(pattern: re.Pattern, value) -> bool:
    """Whole-string match of a string; anything else (a TOML integer...) is not valid."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


@dataclass(frozen=True)
class Department:
    code: str
    digit: str
    name: dict[str, str]
    number: str | None = None
    provider: bool = False   # a member service provider (suspended after 3 unsatisfied follow-ups)

    @property
    def queue(self) -> str:
        return f"hl-{self.code}"


@dataclass(frozen=True)
class Skill:
    department: str
    language: str
    level: int


AGENT_LINES = ("sip", "local-talk", "local-ring", "local-brief")


@dataclass(frozen=True)
class Agent:
    """`line`: "sip" is a PJSIP phone (endpoint agent<id>); the Local lines stand in for a
    person in tests and benchmarks: local-talk answers and stays, local-ring never answers,
    local-brief answers, talks 4-10 s and hangs up."""
    id: str
    name: str
    skills: tuple[Skill, ...]
    line: str = "sip"

    @property
    def endpoint(self) -> str:
        return f"agent{self.id}"

    @property
    def interface(self) -> str:
        if self.line == "sip":
            return f"PJSIP/{self.endpoint}"
        return f"Local/{self.id}@{contract.LOCAL_AGENTS}"


@dataclass(frozen=True)
class DialplanTimers:
    """The [acd] values the rendered dialplan itself needs. acd/config.py reads the same keys
    with the rest of [acd] and validates them (`hotline check`, engine start)."""
    ring_seconds: int = 15       # an offered call rings this long before RONA
    wait_chunk: int = 5          # seconds between the waiting call's checks (heartbeat, announcement)
    beat_timeout: int = 15       # no engine heartbeat for this long: waiting calls fall back
    rate_calls: str = "agent"    # "all": every answered call goes to the rating prompt (一次一评)

    @classmethod
    def of(cls, acd: dict) -> "DialplanTimers":
        try:
            rate = {"rate_calls": str(acd["rate_calls"])} if "rate_calls" in acd else {}
            return cls(**{k: int(acd[k]) for k in ("ring_seconds", "wait_chunk", "beat_timeout") if k in acd}, **rate)
        except (TypeError, ValueError) as e:
            raise ConfigInvalid(f"[acd] dialplan timers must be whole seconds: {e}") from e


@dataclass(frozen=True)
class Centre:
    centre_number: str
    fallback_department: str
    departments: tuple[Department, ...]
    agents: tuple[Agent, ...]
    fax_number: str | None = None
    acd: dict = field(default_factory=dict, compare=False, hash=False)  # [acd] table, read by acd/config.py
    survey: dict = field(default_factory=dict, compare=False, hash=False)  # [survey], tickets/survey_config.py
    # [[trunks]], [outbound], [numbering]: read and validated by trunks/model.py
    trunks: tuple | list = field(default=(), compare=False, hash=False)
    outbound: dict = field(default_factory=dict, compare=False, hash=False)
    numbering: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def timers(self) -> DialplanTimers:
        return DialplanTimers.of(self.acd)

    @property
    def sip_agents(self) -> tuple[Agent, ...]:
        return tuple(a for a in self.agents if a.line == "sip")

    def department(self, code: str) -> Department:
        for d in self.departments:
            if d.code == code:
                return d
        raise KeyError(code)

    def entry_numbers(self) -> dict[str, Department | None]:
        """Dialled number -> department it goes straight to (None: the centre menu)."""
        entries: dict[str, Department | None] = {self.centre_number: None}
        for d in self.departments:
            if d.number:
                entries[d.number] = d
        return entries

    def members(self, department: str) -> list[Agent]:
        return [a for a in self.agents if any(s.department == department for s in a.skills)]


def load_centre(path: Path) -> Centre:
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigInvalid(f"{path}: {e}") from e
    deps = []
    for d in data.get("departments", []):
        if not _is(_CODE, d.get("code", "")):
            raise ConfigInvalid(f"{path}: department code {d.get('code')!r} must match {_CODE.pattern}")
        if d.get("number") is not None and not _is(_NUMBER, d["number"]):
            raise ConfigInvalid(f"{path}: department {d['code']}: number {d['number']!r} is not digits")
        if not re.fullmatch(r"[0-9]", str(d.get("digit", ""))):
            raise ConfigInvalid(f"{path}: department {d['code']}: digit must be one of 0-9")
        if not isinstance(d.get("provider", False), bool):
            raise ConfigInvalid(f"{path}: department {d['code']}: provider must be true or false")
        deps.append(Department(code=d["code"], digit=str(d["digit"]), name=dict(d.get("name", {})),
                               number=d.get("number"), provider=d.get("provider", False)))
    codes = {d.code for d in deps}
    if len(codes) != len(deps) or len({d.digit for d in deps}) != len(deps):
        raise ConfigInvalid(f"{path}: department codes and digits must be unique")
    centre_number = data.get("centre_number", "12345")
    if not _is(_NUMBER, centre_number):
        raise ConfigInvalid(f"{path}: centre_number {centre_number!r} must be 3-20 digits in quotes")
    numbers = [d.number for d in deps if d.number]
    if len(set(numbers)) != len(numbers) or centre_number in numbers:
        raise ConfigInvalid(f"{path}: department numbers must be unique and differ from centre_number")
    agents = []
    for a in data.get("agents", []):
        if not _is(_AGENT_ID, a.get("id", "")):
            raise ConfigInvalid(f"{path}: agent id {a.get('id')!r} must be 3-8 digits")
        skills = []
        for s in a.get("skills", []):
            try:
                dep, lang, level = s.split(":")
                skill = Skill(dep, lang, int(level))
            except ValueError as e:
                raise ConfigInvalid(f"{path}: agent {a['id']}: skill {s!r} is not dept:lang:level") from e
            if dep not in codes or lang not in contract.LANGUAGES or not 1 <= skill.level <= 5:
                raise ConfigInvalid(f"{path}: agent {a['id']}: skill {s!r} names an unknown "
                                    "department or language, or a level outside 1-5")
            skills.append(skill)
        line = a.get("line", "sip")
        if line not in AGENT_LINES:
            raise ConfigInvalid(f"{path}: agent {a['id']}: line {line!r} is not one of {', '.join(AGENT_LINES)}")
        agents.append(Agent(id=str(a["id"]), name=a.get("name", a["id"]), skills=tuple(skills), line=line))
    if len({a.id for a in agents}) != len(agents):
        raise ConfigInvalid(f"{path}: agent ids must be unique")
    fax_number = data.get("fax_number")
    if fax_number is not None and (not _is(_NUMBER, fax_number) or fax_number in numbers + [centre_number]):
        raise ConfigInvalid(f"{path}: fax_number {fax_number!r} must be digits and differ from the other numbers")
    centre = Centre(centre_number=centre_number, fax_number=fax_number,
                    fallback_department=data.get("fallback_department", "general"),
                    departments=tuple(deps), agents=tuple(agents), acd=dict(data.get("acd", {})),
                    survey=dict(data.get("survey", {})), trunks=data.get("trunks", ()),
                    outbound=data.get("outbound", {}), numbering=data.get("numbering", {}))
    if centre.fallback_department not in codes:
        raise ConfigInvalid(f"{path}: fallback_department {centre.fallback_department!r} is not a department")
    return centre
