"""Render asterisk_conf/templates with the settings into the instance's etc folder."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from asterisk_conf import TEMPLATES

from .. import contract
from ..settings import Settings
from . import secrets

# Events the engine consumes; everything else is filtered out by Asterisk itself.
AMI_EVENTS = (
    "UserEvent", "FullyBooted", "OriginateResponse",
    "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon",
    "AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer",
    "QueueMemberStatus", "QueueMemberPause", "QueueMemberAdded", "QueueMemberRemoved",
    "QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete",
    "CoreShowChannel", "CoreShowChannelsComplete",
)


@dataclass(frozen=True)
class Member:
    interface: str
    penalty: int
    name: str


@dataclass(frozen=True)
class QueueDef:
    name: str
    members: tuple[Member, ...]


def sipsafe(value: str) -> str:
    """Names end up inside quoted config values: keep letters, digits, spaces, dots, dashes."""
    return re.sub(r"[^\w .\-]", "", str(value))


def queues(settings: Settings) -> list[QueueDef]:
    centre = settings.centre
    out = []
    for d in centre.departments:
        members = [Member(f"PJSIP/{a.endpoint}", 0, a.name) for a in centre.members(d.code)]
        if d.code == centre.fallback_department:
            # The fallback department also reaches every other agent, after its own.
            own = {m.interface for m in members}
            members += [Member(f"PJSIP/{a.endpoint}", 5, a.name) for a in centre.agents
                        if f"PJSIP/{a.endpoint}" not in own]
        members += [Member(f"Local/b{i}@{contract.LOCAL_AGENTS}", 0, f"b{i}")
                    for i in range(1, settings.local_agents + 1)]
        out.append(QueueDef(d.queue, tuple(members)))
    return out


def moddir(root: Path) -> str:
    for cand in ("usr/lib/x86_64-linux-gnu/asterisk/modules", "usr/lib/aarch64-linux-gnu/asterisk/modules",
                 "usr/lib/asterisk/modules", "usr/lib64/asterisk/modules"):
        if (root / cand).is_dir():
            return "/" + cand
    return "/usr/lib/asterisk/modules"


def render(settings: Settings) -> dict[str, str]:
    """Return {file name: text}. Pure apart from reading (or creating) the secrets."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["sipsafe"] = sipsafe
    centre = settings.centre
    ctx = dict(
        s=settings, C=contract, moddir=moddir(settings.root),
        ami_user=secrets.AMI_USER, ami_secret=secrets.ami_secret(settings.state_dir),
        ami_events=AMI_EVENTS,
        agents=centre.agents,
        passwords={a.id: secrets.agent_password(settings.state_dir, a.id) for a in centre.agents},
        queues=queues(settings),
        entries=centre.entry_numbers(),
        fallback=centre.department(centre.fallback_department),
    )
    return {name[:-3]: env.get_template(name).render(**ctx)
            for name in sorted(os.listdir(TEMPLATES)) if name.endswith(".j2")}


def write(settings: Settings, uid: int, gid: int) -> Path:
    """Write the rendered tree into the instance folder inside the Asterisk root."""
    etc = settings.host_path(settings.inst_in_root) / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    for name, text in render(settings).items():
        path = etc / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        # manager.conf and pjsip.conf hold secrets: readable by Asterisk's group only
        os.chmod(tmp, 0o640)
        os.chown(tmp, 0, gid)
        os.replace(tmp, path)
    for sub in ("cache", "lib", "spool", "run", "log", "journal", "recordings"):
        d = etc.parent / sub
        d.mkdir(exist_ok=True)
        os.chown(d, uid, gid)
    return etc
