"""Typed, layered settings: defaults < TOML file < HOTLINE_* environment < CLI."""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from core import contract
from core.centre import DEMO_CONFIG, Agent, Centre, Skill, load_centre
from core.errors import ConfigInvalid


@dataclass(frozen=True)
class Settings:
    home: Path = Path("/var/lib/hotline")
    instance: str = "main"
    node: str = "node1"
    asterisk_root: Path | None = None  # None: <home>/asterisk-root (or the system Asterisk)
    bind: str = "127.0.0.1"
    # A cluster node (cluster/): Asterisk binds `bind` inside its network namespace while its
    # engine, outside, serves FastAGI on `agi_host` and HTTP on `http_host` (empty: `bind`),
    # and `sip_proxy` (host:port, Kamailio's address towards this node) is where agents' phones
    # are reached and which the inbound trunks accept calls from.
    agi_host: str = ""
    http_host: str = ""
    sip_proxy: str = ""
    cluster_ctl: str = ""   # Kamailio's RPC socket: /status and the wallboard show the nodes' health
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
    catalogue: Path = Path(__file__).resolve().parent.parent / "catalogue" / "catalogue.toml"
    desk_ready_needs_ticket: bool = False   # the desk: no "ready" before the last call's ticket is saved
    demo_agents: bool = True
    queue_timeout: int = 600
    voicemail_max_seconds: int = 120
    journal_sweep_seconds: float = 30.0  # the safety net; calls are read when their end event arrives
    queue_strategy: str = "leastrecent"  # app_queue strategy of the department queues
    verbose_log: bool = False  # Asterisk writes verbose(3) to log/verbose.log (tests: which prompt played)
    # timer slack of Asterisk's two pjproject poll loops, which wake every 10 ms (0: left alone);
    # see asterisk_conf/process.py `slacken`
    poll_slack_ms: int = 40
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
        return f"http://{self.http_host or self.bind}:{self.http_port}"

    @property
    def agi_address(self) -> str:
        return self.agi_host or self.bind


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
