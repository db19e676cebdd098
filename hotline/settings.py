"""Typed, layered settings: defaults < TOML file < HOTLINE_* environment < CLI."""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import contract
from .errors import ConfigInvalid

DEMO_CONFIG = Path(__file__).with_name("demo.toml")
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
class Centre:
    centre_number: str
    fallback_department: str
    departments: tuple[Department, ...]
    agents: tuple[Agent, ...]
    fax_number: str | None = None
    acd: dict = field(default_factory=dict, compare=False, hash=False)  # [acd] table, read by acd/config.py
    survey: dict = field(default_factory=dict, compare=False, hash=False)  # [survey], tickets/survey_config.py

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


@dataclass(frozen=True)
class Settings:
    home: Path = Path("/var/lib/hotline")
    instance: str = "main"
    node: str = "node1"
    asterisk_root: Path | None = None  # None: <home>/asterisk-root (or the system Asterisk)
    bind: str = "127.0.0.1"
    ami_port: int = 5038
    agi_port: int = 4573
    sip_port: int = 5060
    phones_port: int = 5070
    rtp_start: int = 10000
    rtp_end: int = 10999
    http_port: int = 8345
    db_url: str = ""
    config: Path = DEMO_CONFIG
    menus: Path = Path(__file__).resolve().parent.parent / "ivr" / "flows"
    demo_agents: bool = True
    queue_timeout: int = 600
    voicemail_max_seconds: int = 120
    journal_sweep_seconds: float = 2.0
    queue_strategy: str = "leastrecent"  # app_queue strategy of the department queues
    verbose_log: bool = False  # Asterisk writes verbose(3) to log/verbose.log (tests: which prompt played)
    local_agents: int = 0  # benchmarks: this many Local answering agents join every queue
    centre: Centre = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def agents(self) -> tuple[Agent, ...]:
        """The centre's agents plus `local_agents` answering Local lines (ids 9xxxx) that
        speak every department and language at level 3: the benchmarks' staff."""
        extra = tuple(Agent(id=f"9{i:04d}", name=f"bench {i}", line="local-brief",
                            skills=tuple(Skill(d.code, lang, 3) for d in self.centre.departments
                                         for lang in contract.LANGUAGES))
                      for i in range(1, self.local_agents + 1))
        return self.centre.agents + extra

    # -- derived paths -------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.home / self.instance

    @property
    def root(self) -> Path:
        return self.asterisk_root or (self.home / "asterisk-root")

    @property
    def inst_in_root(self) -> str:
        """The instance folder as Asterisk sees it (inside its root)."""
        return f"/srv/hotline/{self.instance}"

    def host_path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    @property
    def journal_dir(self) -> str:
        return f"{self.inst_in_root}/journal"

    @property
    def recordings_dir(self) -> str:
        return f"{self.inst_in_root}/recordings"

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite+aiosqlite:///{self.state_dir / 'hotline.db'}"

    @property
    def http_url(self) -> str:
        return f"http://{self.bind}:{self.http_port}"


def _coerce(name: str, value):
    f = {f.name: f for f in dataclasses.fields(Settings)}[name]
    try:
        if f.type == "int":
            return int(value)
        if f.type == "float":
            return float(value)
        if f.type == "bool":
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        if f.type in ("Path", "Path | None"):
            return Path(value) if value not in (None, "") else None
    except ValueError as e:
        raise ConfigInvalid(f"setting {name}: {value!r} is not a valid {f.type}") from e
    return value


def load(file: Path | None = None, env: dict | None = None, **cli) -> Settings:
    """Build settings; raises ConfigInvalid with a message naming the bad value."""
    env = os.environ if env is None else env
    names = {f.name for f in dataclasses.fields(Settings)} - {"centre"}
    values: dict = {}
    file = file or (Path(env["HOTLINE_SETTINGS"]) if env.get("HOTLINE_SETTINGS") else None)
    if file:
        try:
            data = tomllib.loads(Path(file).read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigInvalid(f"{file}: {e}") from e
        for k, v in data.items():
            if k not in names:
                raise ConfigInvalid(f"{file}: unknown setting {k!r}")
            values[k] = _coerce(k, v)
    for k in names:
        v = env.get(f"HOTLINE_{k.upper()}")
        if v is not None:
            values[k] = _coerce(k, v)
    for k, v in cli.items():
        if v is not None:
            if k not in names:
                raise ConfigInvalid(f"unknown setting {k!r}")
            values[k] = _coerce(k, v)
    s = Settings(**values)
    return dataclasses.replace(s, centre=load_centre(s.config))


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
            if dep not in codes or lang not in ("cmn", "yue", "en") or not 1 <= skill.level <= 5:
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
                    survey=dict(data.get("survey", {})))
    if centre.fallback_department not in codes:
        raise ConfigInvalid(f"{path}: fallback_department {centre.fallback_department!r} is not a department")
    return centre
