"""Demo agents on real SIP phones: one baresip process registering every demo agent's
PJSIP endpoint, auto-answering and playing a spoken loop while connected."""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from asterisk_conf import secrets
from core.settings import Settings
from core.centre import Agent

log = logging.getLogger(__name__)

AGENT_SPEECH = "您好，这里是一二三四五热线，请问有什么可以帮您？"


def audio_file(state_dir: Path) -> Path:
    """A 10-minute 8 kHz mono file: baresip ends the call when its source file ends, and it
    reads the whole file into memory at the start of every call (an hour-long file cost each
    phone process seconds of CPU per call and 55 MB per live call)."""
    path = state_dir / "phones" / "agent-voice-10min.wav"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(raw), AGENT_SPEECH], check=True, capture_output=True)
        one = Path(tmp) / "one.wav"
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(one), "pad", "0", "0.5"],
                       check=True, capture_output=True)
        # the sentence and its pause last ~8.7 s: 70 more make ~10 minutes
        subprocess.run(["sox", str(one), str(path), "repeat", "70"], check=True, capture_output=True)
    return path


def write_config(settings: Settings, agents: list[Agent], folder: Path, ctrl_port: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    voice = audio_file(settings.state_dir)
    lines = [
        "poll_method epoll",
        f"sip_listen {settings.bind}:{settings.phones_port}",
        f"net_interface {settings.bind}",
        # nothing plays what the phones hear: an aubridge device with no source of the same name
        # never runs (ALSA's null device is not paced: its player thread spun a core per call)
        "audio_player aubridge,hl-unheard",
        f"audio_source aufile,{voice}",
        "audio_alert aubridge,hl-unheard",
        f"rtp_ports {settings.rtp_end + 1}-{settings.rtp_end + 1000}",
        "module_path /usr/lib/baresip/modules",
        "module g711.so", "module aubridge.so", "module aufile.so", "module account.so",
        "module_app menu.so",
    ]
    if ctrl_port:
        lines += ["module_app ctrl_tcp.so", f"ctrl_tcp_listen {settings.bind}:{ctrl_port}"]
    (folder / "config").write_text("\n".join(lines) + "\n")
    accounts = []
    for a in agents:
        password = secrets.agent_password(settings.state_dir, a.id)
        accounts.append(f"<sip:{a.endpoint}@{settings.bind}:{settings.sip_port};transport=udp>"
                        f";auth_pass={password};answermode=auto;regint=300")
    (folder / "accounts").write_text("\n".join(accounts) + "\n")
    (folder / "contacts").write_text("")
    return folder


def _baresip_pid(pidfile: Path, folder: Path) -> int | None:
    """The pid in `pidfile` if it is still a baresip running on `folder` (a pid is reused)."""
    try:
        pid = int(pidfile.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if any(c.endswith(b"baresip") for c in cmdline) and str(folder).encode() in cmdline else None


def take_over(folder: Path, grace: float = 3.0) -> int | None:
    """Stop a baresip an earlier engine left running on `folder` (killed with SIGKILL, its phones
    went on holding the port and a new baresip would exit with 98). Returns the stopped pid."""
    pid = _baresip_pid(folder / "baresip.pid", folder)
    if pid is None:
        return None
    log.warning("softphones: stopping baresip pid %s left by an earlier engine", pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _baresip_pid(folder / "baresip.pid", folder) == pid:
        time.sleep(0.05)
    if _baresip_pid(folder / "baresip.pid", folder) == pid:
        os.kill(pid, signal.SIGKILL)
    return pid


class Softphones:
    """Runs baresip for the given agents for as long as run() is awaited. The phones die with
    the process that started them (parent-death signal), and a new engine takes over phones an
    earlier one left behind."""

    def __init__(self, settings: Settings, agents: list[Agent], folder: Path, ctrl_port: int | None = None):
        self.settings, self.agents, self.folder, self.ctrl_port = settings, agents, folder, ctrl_port
        self.proc: asyncio.subprocess.Process | None = None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join((self.folder / "baresip.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def run(self) -> None:
        if shutil.which("baresip") is None:
            raise RuntimeError("baresip is not installed (scripts/bootstrap.sh installs baresip-core)")
        await asyncio.to_thread(write_config, self.settings, self.agents, self.folder, self.ctrl_port)
        await asyncio.to_thread(take_over, self.folder)
        log_file = open(self.folder / "baresip.log", "ab")
        argv = ["baresip", "-f", str(self.folder)]
        if shutil.which("setpriv"):
            argv = ["setpriv", "--pdeathsig", "TERM", *argv]
        self.proc = await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
        (self.folder / "baresip.pid").write_text(str(self.proc.pid))
        log.info("softphones: baresip pid %s for %d agents", self.proc.pid, len(self.agents))
        try:
            await self.proc.wait()
            log.error("softphones: baresip exited with %s: %s", self.proc.returncode, self.log_tail(5))
        finally:
            if self.proc.returncode is None:
                self.proc.terminate()
                try:
                    async with asyncio.timeout(5):
                        await self.proc.wait()
                except TimeoutError:
                    self.proc.kill()
                    await self.proc.wait()
            (self.folder / "baresip.pid").unlink(missing_ok=True)
            log_file.close()
