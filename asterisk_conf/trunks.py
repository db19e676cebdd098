"""A trunk change, applied to a running Asterisk without dropping a call: re-render the tree,
reload res_pjsip when pjsip.conf changed (calls in progress keep their channels), and set
the changed dialplan globals one by one (`dialplan set global`; removed ones are emptied).
The dialplan itself is never reloaded: that would clear the engine's heartbeat and the
agents' line globals (see hotline/asterisk/lines.py).

Like the agent directory, this takes the console (root on this host), not AMI: the AMI user
has no `config` or `command` rights on purpose.
"""
from __future__ import annotations

import logging
import re
import subprocess

from asterisk_conf import install, process, render
from core import contract as C
from core.errors import HotlineError

from trunks import model
from trunks.render import globals_of

log = logging.getLogger(__name__)
_SAFE = re.compile(r"[A-Za-z0-9_./:&@+-]*")


def rendered_globals(text: str) -> dict[str, str]:
    """The trunk globals of a rendered extensions.conf (to know which ones a change removes)."""
    out = {}
    m = re.search(r"^\[globals\]\s*$(.*?)^\[", text, flags=re.M | re.S)
    for line in (m.group(1) if m else "").splitlines():
        name, sep, value = line.partition(" = ")
        if sep and (name.startswith((C.G_TLIM_, C.G_TCPS_, C.G_TMAP_)) or name in (
                C.G_CENTRE, C.G_OUT_TARGETS, C.G_OUT_MAX, C.G_OUT_RING)):
            out[name] = value.strip()
    return out


def apply(settings, agents=None) -> dict:
    """Blocking (run it in a thread from the engine). Returns what was done; raises
    TrunkInvalid before touching anything when the centre file's trunks are not valid."""
    plan = model.from_file(settings.config)      # guard: validate first
    etc = settings.host_path(settings.inst_in_root) / "etc"
    try:
        before = rendered_globals((etc / "extensions.conf").read_text())
    except (FileNotFoundError, UnicodeDecodeError):
        before = {}
    after = globals_of(plan)
    out: dict = {"files": [], "reloaded": [], "globals": 0, "errors": []}
    try:
        uid, gid = install.asterisk_ids(settings.root)
        out["files"] = render.write(settings, uid, gid, agents)
    except (OSError, HotlineError) as e:
        out["errors"].append(f"render: {e}")
        return out
    commands = []
    if "pjsip.conf" in out["files"]:
        commands.append(("module reload res_pjsip.so", True))
    for name in sorted(set(before) | set(after)):
        value = after.get(name, "-")   # "-": gone (the dialplan reads it as unset)
        if before.get(name) != value:
            if not (_SAFE.fullmatch(name) and _SAFE.fullmatch(value)):
                out["errors"].append(f"global {name}: unsafe value refused")
                continue
            commands.append((f"dialplan set global {name} {value}", False))
    for cmd, is_reload in commands:
        try:
            r = process.rx(settings, cmd)
        except (OSError, subprocess.TimeoutExpired) as e:
            out["errors"].append(f"{cmd}: {type(e).__name__}")
            continue
        if r.returncode != 0:
            out["errors"].append(f"{cmd}: exit {r.returncode}: {r.stderr.strip()[:200]}")
        elif is_reload:
            out["reloaded"].append(cmd)
        else:
            out["globals"] += 1
    if out["errors"]:
        log.warning("trunks: asterisk not fully updated: %s", "; ".join(out["errors"]))
    else:
        log.info("trunks applied: %s trunks, files %s, %s globals", len(plan.trunks), out["files"], out["globals"])
    return out
