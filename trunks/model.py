"""Trunks as data: the centre file's [[trunks]] tables, validated.

    [[trunks]]
    name = "carrier"              # [a-z][a-z0-9_]{0,23}: endpoint trunk-<name>
    direction = "both"            # in | out | both
    kind = "sip"                  # sip | sim (the simulated citizen, out only: tests and demo)
    hosts = ["127.0.0.1"]         # the carrier's SIP servers (out: tried in order)
    port = 5090
    transport = "udp"             # udp | tcp | tls
    accepts_from = ["127.0.0.1"]  # source addresses (or a.b.c.d/nn) whose calls it takes; default: hosts
    codecs = ["ulaw", "alaw"]
    dtmf_mode = "rfc4733"         # rfc4733 | inband | info | auto
    channels = 30                 # concurrent calls on the trunk, both directions
    calls_per_second = 10         # new inbound calls per second per source address
    numbers = { "12345678" = "12345" }   # extra dialled -> entry maps
    register = false              # outbound registration; credentials in the secrets file

Every entry number of the centre is mapped to itself and, with `[numbering] area_code`,
from its city forms (02112345, +862112345, 00862112345, 862112345). Registration
credentials live in a secrets file (mode 0600, `secrets_file`, default
<state>/trunks.secrets.toml: `[carrier] username = "...", password = "..."`), never here.
"""
from __future__ import annotations

import ipaddress
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from trunks import numbers, policy as policy_mod
from trunks.errors import TrunkInvalid

NAME = re.compile(r"[a-z][a-z0-9_]{0,23}")
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
DIRECTIONS = ("in", "out", "both")
KINDS = ("sip", "sim")
TRANSPORTS = ("udp", "tcp", "tls")
CODECS = ("ulaw", "alaw", "g722", "g729", "opus", "gsm")
DTMF_MODES = ("rfc4733", "inband", "info", "auto")
KEYS = {"name", "direction", "kind", "hosts", "port", "transport", "accepts_from", "codecs", "dtmf_mode",
        "channels", "calls_per_second", "numbers", "register", "secrets_file", "registration_expiry"}
CREDENTIAL_KEYS = {"password", "secret", "username", "auth", "credentials"}


@dataclass(frozen=True)
class Registration:
    username: str
    password: str = field(repr=False)
    expiry: int = 300


@dataclass(frozen=True)
class Trunk:
    name: str
    direction: str = "both"
    kind: str = "sip"
    hosts: tuple[str, ...] = ()
    port: int = 5060
    transport: str = "udp"
    accepts_from: tuple[str, ...] = ()
    codecs: tuple[str, ...] = ("ulaw", "alaw")
    dtmf_mode: str = "rfc4733"
    channels: int = 30
    calls_per_second: int = 10
    numbers: dict[str, str] = field(default_factory=dict, compare=False, hash=False)  # dialled -> entry
    register: bool = False
    secrets_file: str | None = None
    registration_expiry: int = 300

    @property
    def endpoint(self) -> str:
        return f"trunk-{self.name}"

    @property
    def inbound(self) -> bool:
        return self.kind == "sip" and self.direction in ("in", "both")

    @property
    def outbound(self) -> bool:
        return self.direction in ("out", "both")


@dataclass(frozen=True)
class TrunkPlan:
    """Everything derived from the centre file that the renderer and the engine use."""
    trunks: tuple[Trunk, ...]
    policy: policy_mod.OutboundPolicy
    centre_number: str
    area_code: str | None = None

    def named(self, name: str) -> Trunk:
        for t in self.trunks:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def inbound(self) -> tuple[Trunk, ...]:
        return tuple(t for t in self.trunks if t.inbound)

    @property
    def outbound(self) -> tuple[Trunk, ...]:
        return tuple(t for t in self.trunks if t.outbound)


def _err(i: int, name, msg: str) -> TrunkInvalid:
    return TrunkInvalid(f"[[trunks]] #{i + 1}{f' ({name})' if isinstance(name, str) else ''}: {msg}")


def _int(i, name, t, key, lo, hi, default):
    v = t.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise _err(i, name, f"{key} must be an integer {lo}-{hi}, got {v!r}")
    return v


def _choice(i, name, t, key, choices, default):
    v = t.get(key, default)
    if v not in choices:
        raise _err(i, name, f"{key} {v!r} is not one of {', '.join(choices)}")
    return v


def _address(i, name, value, key) -> str:
    if not isinstance(value, str):
        raise _err(i, name, f"{key}: {value!r} is not an address")
    try:
        if "/" in value:
            return str(ipaddress.ip_network(value, strict=False))
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise _err(i, name, f"{key}: {value!r} is not an IP address or network (a.b.c.d or a.b.c.d/nn)") from None


def parse_trunk(i: int, t, entries: set[str], area_code: str | None) -> Trunk:
    if not isinstance(t, dict):
        raise _err(i, None, "must be a table")
    name = t.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise _err(i, name, f"name {name!r} must match {NAME.pattern}")
    creds = CREDENTIAL_KEYS & set(t)
    if creds:
        raise _err(i, name, f"{', '.join(sorted(creds))} must not be in the centre file: credentials belong in "
                   "the secrets file (mode 0600, see secrets_file)")
    unknown = set(t) - KEYS
    if unknown:
        raise _err(i, name, f"unknown key(s) {', '.join(sorted(unknown))}")
    kind = _choice(i, name, t, "kind", KINDS, "sip")
    direction = _choice(i, name, t, "direction", DIRECTIONS, "out" if kind == "sim" else "both")
    if kind == "sim" and direction != "out":
        raise _err(i, name, "a sim trunk (the simulated citizen) can only be direction = \"out\"")
    hosts = t.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and HOST.fullmatch(h) for h in hosts):
        raise _err(i, name, f"hosts must be a list of host names or addresses, got {hosts!r}")
    if kind == "sip" and not hosts:
        raise _err(i, name, "hosts: at least one carrier host is needed")
    if len(set(hosts)) != len(hosts):
        raise _err(i, name, "hosts are listed twice")
    accepts = t.get("accepts_from")
    if accepts is None:
        accepts = []
        for h in hosts:   # a carrier given by address accepts its own calls by default
            try:
                accepts.append(str(ipaddress.ip_address(h)))
            except ValueError:
                pass
    elif not isinstance(accepts, list):
        raise _err(i, name, "accepts_from must be a list of addresses")
    else:
        accepts = [_address(i, name, a, "accepts_from") for a in accepts]
    if kind == "sip" and direction in ("in", "both") and not accepts:
        raise _err(i, name, "an inbound trunk needs accepts_from addresses (no trunk takes calls from anywhere)")
    if any(a in ("0.0.0.0/0", "::/0") for a in accepts):
        raise _err(i, name, "accepts_from must not be everything (0.0.0.0/0): that is an anonymous endpoint")
    codecs = t.get("codecs", ["ulaw", "alaw"])
    if not isinstance(codecs, list) or not codecs or not all(c in CODECS for c in codecs):
        raise _err(i, name, f"codecs must be a non-empty list from {', '.join(CODECS)}, got {codecs!r}")
    maps: dict[str, str] = {}
    for entry in sorted(entries):
        for form in numbers.forms(entry, area_code):
            maps[form] = entry
    extra = t.get("numbers", {})
    if not isinstance(extra, dict):
        raise _err(i, name, "numbers must be a table of \"dialled\" = \"entry number\"")
    for dialled, entry in extra.items():
        if numbers.map_key(dialled) is None or len(dialled) < 3:
            raise _err(i, name, f"numbers: {dialled!r} is not a dialled number (3-20 digits, optional +)")
        if entry not in entries:
            raise _err(i, name, f"numbers: {dialled} -> {entry!r} is not one of the centre's entry numbers "
                       f"({', '.join(sorted(entries))})")
        if maps.get(dialled, entry) != entry:
            raise _err(i, name, f"numbers: {dialled} already reaches {maps[dialled]}")
        maps[dialled] = entry
    register = t.get("register", False)
    if not isinstance(register, bool):
        raise _err(i, name, "register must be true or false")
    if register and kind != "sip":
        raise _err(i, name, "only a sip trunk registers")
    secrets_file = t.get("secrets_file")
    if secrets_file is not None and (not isinstance(secrets_file, str) or not secrets_file.startswith("/")):
        raise _err(i, name, "secrets_file must be an absolute path")
    return Trunk(
        name=name, direction=direction, kind=kind, hosts=tuple(hosts),
        port=_int(i, name, t, "port", 1, 65535, 5061 if t.get("transport") == "tls" else 5060),
        transport=_choice(i, name, t, "transport", TRANSPORTS, "udp"), accepts_from=tuple(accepts),
        codecs=tuple(codecs), dtmf_mode=_choice(i, name, t, "dtmf_mode", DTMF_MODES, "rfc4733"),
        channels=_int(i, name, t, "channels", 1, 10000, 30),
        calls_per_second=_int(i, name, t, "calls_per_second", 1, 1000, 10),
        numbers=maps, register=register, secrets_file=secrets_file,
        registration_expiry=_int(i, name, t, "registration_expiry", 60, 86400, 300))


def load(tables, *, entries: set[str], centre_number: str, outbound=None, numbering=None) -> TrunkPlan:
    """The [[trunks]] tables, [outbound] and [numbering] of a centre file -> TrunkPlan;
    raises TrunkInvalid naming the table and key at fault."""
    numbering = numbering or {}
    if not isinstance(numbering, dict) or set(numbering) - {"area_code"}:
        raise TrunkInvalid("[numbering] knows one key: area_code")
    area = numbering.get("area_code")
    if area is not None and (not isinstance(area, str) or not re.fullmatch(r"[1-9][0-9]{1,3}", area)):
        raise TrunkInvalid(f"[numbering] area_code {area!r}: 2-4 digits without the leading 0, e.g. \"21\"")
    if not isinstance(tables, list):
        raise TrunkInvalid("trunks must be an array of tables ([[trunks]])")
    trunks = tuple(parse_trunk(i, t, entries, area) for i, t in enumerate(tables))
    names = [t.name for t in trunks]
    if len(set(names)) != len(names):
        raise TrunkInvalid(f"trunk names must be unique: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    seen: dict[str, str] = {}
    for t in trunks:
        if not t.inbound:
            continue
        for a in t.accepts_from:
            if a in seen:
                # one source address identifies one trunk: the second would never see a call
                raise TrunkInvalid(f"trunks {seen[a]} and {t.name} both accept {a}")
            seen[a] = t.name
    return TrunkPlan(trunks=trunks, policy=policy_mod.load(outbound or {}, area), centre_number=centre_number,
                     area_code=area)


def from_centre(centre) -> TrunkPlan:
    """The plan of a loaded hotline.settings.Centre (its raw [[trunks]], [outbound], [numbering])."""
    entries = set(centre.entry_numbers())
    if centre.fax_number:
        entries.add(centre.fax_number)
    raw = getattr(centre, "trunks", ())
    return load(list(raw) if isinstance(raw, (list, tuple)) else raw, entries=entries, centre_number=centre.centre_number,
                outbound=getattr(centre, "outbound", None), numbering=getattr(centre, "numbering", None))


def from_file(path: Path) -> TrunkPlan:
    """Read the centre file now (a trunk change applies without an engine restart)."""
    from core.centre import load_centre
    return from_centre(load_centre(path))


def secrets_path(trunk: Trunk, state_dir: Path) -> Path:
    return Path(trunk.secrets_file) if trunk.secrets_file else state_dir / "trunks.secrets.toml"


def registration(trunk: Trunk, state_dir: Path) -> Registration | None:
    """The trunk's outbound-registration credentials from its secrets file, which must be
    a regular file of mode 0600 (or stricter): anything else is refused, not read."""
    if not trunk.register:
        return None
    path = secrets_path(trunk, state_dir)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise TrunkInvalid(f"trunk {trunk.name}: registers but its secrets file {path} does not exist") from None
    if not stat.S_ISREG(st.st_mode):
        raise TrunkInvalid(f"trunk {trunk.name}: secrets file {path} is not a regular file")
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise TrunkInvalid(f"trunk {trunk.name}: secrets file {path} has mode {stat.S_IMODE(st.st_mode):04o}; "
                           "it must be 0600 (chmod 600)")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise TrunkInvalid(f"trunk {trunk.name}: secrets file {path}: {e}") from None
    own = data.get(trunk.name)
    if not isinstance(own, dict):
        raise TrunkInvalid(f"trunk {trunk.name}: secrets file {path} has no [{trunk.name}] table")
    user, password = own.get("username"), own.get("password")
    # these reach pjsip.conf values: no spaces, quotes, semicolons or line breaks
    safe = re.compile(r"[A-Za-z0-9._~+\-@!$%^*=:]{1,128}")
    if not isinstance(user, str) or not safe.fullmatch(user):
        raise TrunkInvalid(f"trunk {trunk.name}: username in {path} must be 1-128 characters without spaces, "
                           "quotes, ; or #")
    if not isinstance(password, str) or not safe.fullmatch(password):
        raise TrunkInvalid(f"trunk {trunk.name}: password in {path} must be 1-128 characters without spaces, "
                           "quotes, ; or #")
    return Registration(user, password, trunk.registration_expiry)
