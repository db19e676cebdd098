"""Render asterisk_conf/templates with the settings into the instance's etc folder."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from asterisk_conf import TEMPLATES
from trunks import model as trunks_model, render as trunks_render

from core import contract
from core.settings import Settings
from asterisk_conf import secrets

# Events the engine consumes (core/contract.py AMI_EVENTS, one list); everything else is
# filtered out by Asterisk itself. Replies to actions (CoreShowChannel, QueueMember...) are
# written to the asking session directly and pass no filter.
AMI_EVENTS = contract.AMI_FILTER


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


def fallback_penalty(agent, department: str) -> int:
    """app_queue penalty when the engine is away: 0-4 by Mandarin level (5 best), 5-9 for
    agents of the department without Mandarin."""
    levels = {s.language: s.level for s in agent.skills if s.department == department}
    if "cmn" in levels:
        return 5 - levels["cmn"]
    return 10 - max(levels.values())


def queues(settings: Settings, agents=None) -> list[QueueDef]:
    centre = settings.centre
    out = []
    agents = settings.agents if agents is None else agents
    for d in centre.departments:
        # the native fallback knows no language: Mandarin first, best level first
        members = [Member(a.interface, fallback_penalty(a, d.code), a.name) for a in agents
                   if any(s.department == d.code for s in a.skills)]
        if d.code == centre.fallback_department:
            # The fallback department also reaches every other agent, after its own.
            own = {m.interface for m in members}
            members += [Member(a.interface, 10, a.name) for a in agents if a.interface not in own]
        out.append(QueueDef(d.queue, tuple(members)))
    return out


def moddir(root: Path) -> str:
    for cand in ("usr/lib/x86_64-linux-gnu/asterisk/modules", "usr/lib/aarch64-linux-gnu/asterisk/modules",
                 "usr/lib/asterisk/modules", "usr/lib64/asterisk/modules"):
        if (root / cand).is_dir():
            return "/" + cand
    return "/usr/lib/asterisk/modules"


def render(settings: Settings, agents=None) -> dict[str, str]:
    """Return {file name: text}. Pure apart from reading (or creating) the secrets.
    `agents`: the directory's list (default: the centre file's, plus benchmark lines)."""
    agents = tuple(settings.agents if agents is None else agents)
    sip_agents = tuple(a for a in agents if a.line == "sip")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["sipsafe"] = sipsafe
    centre = settings.centre
    ctx = dict(
        s=settings, C=contract, moddir=moddir(settings.root),
        ami_user=secrets.AMI_USER, ami_secret=secrets.ami_secret(settings.state_dir),
        ami_events=AMI_EVENTS,
        agents=sip_agents, all_agents=agents, acd=centre.timers,
        passwords={a.id: secrets.agent_password(settings.state_dir, a.id) for a in sip_agents},
        queues=queues(settings, agents),
        entries=centre.entry_numbers(),
        fallback=centre.department(centre.fallback_department),
    )
    # the centre file as it is now: a trunk change applies without restarting the engine
    plan = trunks_model.from_file(settings.config) if settings.config else trunks_model.from_centre(centre)
    ctx |= trunks_render.context(plan, settings.state_dir)
    return {name[:-3]: env.get_template(name).render(**ctx)
            for name in sorted(os.listdir(TEMPLATES)) if name.endswith(".j2")}


def write(settings: Settings, uid: int, gid: int, agents=None) -> list[str]:
    """Write the rendered tree into the instance folder inside the Asterisk root; returns
    the names of the files whose text changed."""
    etc = settings.host_path(settings.inst_in_root) / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in render(settings, agents).items():
        path = etc / name
        try:
            if path.read_text() == text:
                continue
        except (FileNotFoundError, UnicodeDecodeError):
            pass
        changed.append(name)
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
    return changed
