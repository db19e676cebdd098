"""Asterisk's side of the agent directory: PJSIP endpoints, line globals, fallback queues.

The AMI user has no `config`/`system`/`command` rights on purpose, so endpoint changes take
the privileged path the engine host already has: rewrite the rendered files and ask the
instance, over its console socket (root on this host only), to reload res_pjsip and the
queue members. The dialplan is never reloaded for this (clearglobalvars would reset the
engine's heartbeat): the lines' dial strings are globals the engine sets over AMI.
"""
from __future__ import annotations

import asyncio
import subprocess
import logging

from core import contract
from core.errors import HotlineError

from core.settings import Settings
from core.centre import Agent
from asterisk_conf import install, process, render

log = logging.getLogger(__name__)


class AsteriskLines:
    def __init__(self, settings: Settings, ami):
        self.settings, self.ami = settings, ami
        self.known: set[str] = {a.id for a in settings.agents}  # what the rendered dialplan defines

    async def apply(self, agents: tuple[Agent, ...]) -> dict:
        """Returns what was done, for the API's answer and the logs; never raises for an
        Asterisk that is down (the files are right for its next start)."""
        out: dict = {"files": [], "reloaded": [], "errors": []}
        try:
            uid, gid = install.asterisk_ids(self.settings.root)
            out["files"] = await asyncio.to_thread(render.write, self.settings, uid, gid, agents)
        except (OSError, HotlineError) as e:
            out["errors"].append(f"render: {e}")
            return out
        reloads = []
        if "pjsip.conf" in out["files"]:
            reloads.append("module reload res_pjsip.so")
        if "queues.conf" in out["files"]:
            reloads.append("queue reload members")
        for cmd in reloads:
            try:
                r = await asyncio.to_thread(process.rx, self.settings, cmd)
                if r.returncode != 0:
                    out["errors"].append(f"{cmd}: exit {r.returncode}: {r.stderr.strip()[:200]}")
                else:
                    out["reloaded"].append(cmd)
            except (OSError, subprocess.TimeoutExpired) as e:
                out["errors"].append(f"{cmd}: {type(e).__name__}: {e}")
        err = await self.push(agents)
        if err:
            out["errors"].append(err)
        if out["errors"]:
            log.warning("agents: asterisk not fully updated: %s", "; ".join(out["errors"]))
        return out

    async def push(self, agents: tuple[Agent, ...]) -> str | None:
        """Set the dial-string globals (again after every AMI reconnect: an Asterisk restart
        forgets them and falls back to the rendered file)."""
        ids = {a.id for a in agents}
        values = {f"{contract.G_IF_}{a.id}": a.interface for a in agents}
        values |= {f"{contract.G_LINE_}{a.id}": a.line for a in agents if a.line != "sip"}
        values |= {f"{contract.G_IF_}{i}": "" for i in self.known - ids}
        try:
            for name, value in values.items():
                await self.ami.action("Setvar", Variable=name, Value=value)
        except HotlineError as e:
            return f"globals: {e}"
        self.known = ids
        return None
