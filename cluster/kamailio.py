"""Kamailio in front of the nodes: its config rendered from the centre file and the topology,
the process started and stopped by its pid file, the dispatcher's view read over its RPC socket.

The config is never edited by hand: `hotline kamailio render` prints what `cluster up` writes.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import jinja2

from core.errors import InstallFailed
from trunks import model as trunks_model

from cluster.topology import Topology

TEMPLATES = Path(__file__).resolve().parent / "templates"
MPATHS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules/", "/usr/lib/aarch64-linux-gnu/kamailio/modules/",
          "/usr/lib/kamailio/modules/")
PING_SECONDS = 1
FR_TIMER_MS = 1000


def _mpath() -> str:
    return next((p for p in MPATHS if Path(p).is_dir()), MPATHS[0])


def files(t: Topology) -> dict[str, Path]:
    d = t.kamailio_dir
    return {"dir": d, "cfg": d / "kamailio.cfg", "list": d / "dispatcher.list", "pid": d / "kamailio.pid",
            "ctl": d / "kamailio.ctl", "log": d / "kamailio.log"}


def carriers(t: Topology) -> list[str]:
    """The source addresses of the centre's inbound trunks: the only ones whose INVITEs pass."""
    plan = trunks_model.from_file(t.base.config) if t.base.config else trunks_model.from_centre(t.base.centre)
    return sorted({a for tr in plan.trunks if tr.inbound for a in tr.accepts_from})


def dispatcher_list(t: Topology) -> str:
    lines = ["# setid destination flags priority attrs (rendered by `hotline kamailio render`)"]
    for n in t.nodes:
        lines.append(f"1 sip:{n.address}:{t.base.sip_port} 0 0 "
                     f"socket=udp:{n.host_side}:{t.proxy_port};name={n.name}")
    return "\n".join(lines) + "\n"


def render(t: Topology) -> dict[str, str]:
    f = files(t)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    cfg = env.get_template("kamailio.cfg.j2").render(
        t=t, carriers=carriers(t), ping=PING_SECONDS, fr_timer_ms=FR_TIMER_MS, mpath=_mpath(),
        list_file=str(f["list"]), ctl=str(f["ctl"]), children=2)
    return {"kamailio.cfg": cfg, "dispatcher.list": dispatcher_list(t)}


def write(t: Topology) -> None:
    f = files(t)
    f["dir"].mkdir(parents=True, exist_ok=True)
    out = render(t)
    f["cfg"].write_text(out["kamailio.cfg"])
    f["list"].write_text(out["dispatcher.list"])


def pid(t: Topology) -> int | None:
    try:
        p = int(files(t)["pid"].read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(p, 0)
    except ProcessLookupError:
        return None
    return p


def up(t: Topology, wait: float = 10.0) -> None:
    if pid(t):
        return
    write(t)
    f = files(t)
    check = subprocess.run(["kamailio", "-c", "-f", str(f["cfg"])], capture_output=True, text=True)
    if check.returncode != 0:
        raise InstallFailed(f"kamailio config check failed: {check.stderr[-1500:]}")
    f["ctl"].unlink(missing_ok=True)
    with open(f["log"], "ab") as log:
        # -DD: stays in the foreground of its own session (we stop it by its pid file)
        subprocess.run(["setsid", "--fork", "kamailio", "-f", str(f["cfg"]), "-P", str(f["pid"]), "-Y", str(f["dir"]),
                        "-w", str(f["dir"]), "-DD", "-E", "-m", "64", "-M", "8"],
                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if pid(t) and f["ctl"].exists():
            return
        time.sleep(0.1)
    raise InstallFailed(f"kamailio did not start within {wait}s; see {f['log']}")


def down(t: Topology, wait: float = 5.0) -> bool:
    p = pid(t)
    if not p:
        return False
    # the main process leads its session (setsid): the children go with the group
    os.killpg(p, signal.SIGTERM) if _leads_group(p) else os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and pid(t):
        time.sleep(0.1)
    if pid(t):
        os.killpg(p, signal.SIGKILL) if _leads_group(p) else os.kill(p, signal.SIGKILL)
    files(t)["pid"].unlink(missing_ok=True)
    return True


def _leads_group(p: int) -> bool:
    try:
        return os.getpgid(p) == p
    except ProcessLookupError:
        return False


def rpc(t: Topology, *command: str, timeout: float = 5) -> str:
    r = subprocess.run(["kamcmd", "-s", f"unix:{files(t)['ctl']}", *command], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise InstallFailed(f"kamcmd {' '.join(command)}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


_DST = re.compile(r"URI:\s*(\S+).*?FLAGS:\s*(\S+)", re.S)
_NAMED = re.compile(r"URI:\s*sip:([^:\s]+)\S*.*?FLAGS:\s*(\S+).*?BODY:[^\n]*name=([A-Za-z0-9_-]+)", re.S)


def nodes_at(ctl: str, timeout: float = 3) -> list[dict]:
    """What an engine shows on /status and the wallboard: every node the dispatcher knows,
    by name, with its address and health (active in the dispatcher), read over `ctl`."""
    r = subprocess.run(["kamcmd", "-s", f"unix:{ctl}", "dispatcher.list"], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise InstallFailed(f"kamcmd dispatcher.list: {r.stderr.strip() or r.stdout.strip()}")
    out = [{"name": name, "address": addr, "healthy": flags.startswith("A")}
           for addr, flags, name in _NAMED.findall(r.stdout)]
    return sorted(out, key=lambda n: (len(n["name"]), n["name"]))


def destinations(t: Topology) -> dict[str, str]:
    """sip URI -> dispatcher flags ('AP' active and probed, 'IP' inactive, 'DX' disabled)."""
    return {uri: flags for uri, flags in _DST.findall(rpc(t, "dispatcher.list"))}
