"""One node: Asterisk inside the node's namespace, its engine beside it in the root namespace.

Asterisk's files (config, journals, recordings) live in its instance folder of the shared
Asterisk root on this machine's disk, not in the namespace: a node killed with SIGKILL leaves
its journals where its engine, or the next one, ingests them.
"""
from __future__ import annotations

import dataclasses
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from asterisk_conf import install, process
from core.errors import InstallFailed
from core.settings import Settings

from cluster import net
from cluster.topology import Node

REPO = Path(__file__).resolve().parent.parent


def asterisk_up(s: Settings, n: Node, wait: float = 30.0) -> None:
    if process.running(s):
        return
    process.prepare(s)
    inst = s.host_path(s.inst_in_root)
    for sub in ("log", "journal", "recordings"):
        (inst / sub).mkdir(parents=True, exist_ok=True)
    with open(inst / "log" / "console.log", "ab") as log:
        subprocess.run(["setsid", "--fork", "ip", "netns", "exec", n.netns] + process.command(s),
                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=True)
    process.wait_booted(s, wait)


def asterisk_kill(n: Node) -> int:
    """SIGKILL, as a crash: no `end` lines, no BYEs."""
    return net.kill_all(n.netns, signal.SIGKILL)


def asterisk_down(s: Settings, n: Node, wait: float = 10.0) -> None:
    if process.running(s):
        process.rx(s, "core stop now")
    deadline = time.monotonic() + wait
    while net.pids(n.netns) and time.monotonic() < deadline:
        time.sleep(0.1)
    net.kill_all(n.netns)


def env_of(s: Settings) -> dict[str, str]:
    """The settings as HOTLINE_* variables: the engine process reads exactly these."""
    out = {}
    for f in dataclasses.fields(Settings):
        if f.name == "centre":
            continue
        v = getattr(s, f.name)
        if v is None:
            continue
        out[f"HOTLINE_{f.name.upper()}"] = ("1" if v else "0") if isinstance(v, bool) else str(v)
    return out


def engine_start(s: Settings, log_path: Path, pid_path: Path, wait: float = 5.0) -> int:
    """`hotline serve` for the node, detached (setsid --fork: not our child, it outlives this
    command) and stopped by the pid it writes first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")} | env_of(s)
    pid_path.unlink(missing_ok=True)
    inner = f'echo $$ > {shlex.quote(str(pid_path))}; exec "$0" -m hotline.cli serve --no-agents --lease'
    with open(log_path, "ab") as log:
        subprocess.run(["setsid", "--fork", "/bin/sh", "-c", inner, sys.executable], cwd=REPO, env=env,
                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            return int(pid_path.read_text().strip())
        except (OSError, ValueError):
            time.sleep(0.05)
    raise InstallFailed(f"engine of {s.node} did not start; see {log_path}")


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie child of ours is gone for every purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def stop_pid(pid: int | None, wait: float = 5.0) -> None:
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)


def ensure_installed(s: Settings) -> None:
    if not install.is_installed(s.root):
        raise InstallFailed(f"no Asterisk root at {s.root}: run scripts/bootstrap.sh")
