"""Demo agents on real SIP phones: one baresip process registering every demo agent's
PJSIP endpoint, auto-answering and playing a spoken loop while connected."""
from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from hotline.asterisk import secrets
from hotline.settings import Agent, Settings

log = logging.getLogger(__name__)

AGENT_SPEECH = "您好，这里是一二三四五热线，请问有什么可以帮您？"


def audio_file(state_dir: Path) -> Path:
    """A long 8 kHz mono file: baresip ends the call when its source file ends."""
    path = state_dir / "phones" / "agent-voice.wav"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(raw), AGENT_SPEECH], check=True, capture_output=True)
        one = Path(tmp) / "one.wav"
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(one), "pad", "0", "0.5"],
                       check=True, capture_output=True)
        # ~30 minutes of the same sentence
        subprocess.run(["sox", str(one), str(path), "repeat", "400"], check=True, capture_output=True)
    return path


def write_config(settings: Settings, agents: list[Agent], folder: Path, ctrl_port: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    voice = audio_file(settings.state_dir)
    lines = [
        "poll_method epoll",
        f"sip_listen {settings.bind}:{settings.phones_port}",
        f"net_interface {settings.bind}",
        "audio_player alsa,null",
        f"audio_source aufile,{voice}",
        "audio_alert alsa,null",
        f"rtp_ports {settings.rtp_end + 1}-{settings.rtp_end + 1000}",
        "module_path /usr/lib/baresip/modules",
        "module g711.so", "module alsa.so", "module aufile.so", "module account.so",
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


class Softphones:
    """Runs baresip for the given agents for as long as run() is awaited."""

    def __init__(self, settings: Settings, agents: list[Agent], folder: Path, ctrl_port: int | None = None):
        self.settings, self.agents, self.folder, self.ctrl_port = settings, agents, folder, ctrl_port
        self.proc: asyncio.subprocess.Process | None = None

    async def run(self) -> None:
        if shutil.which("baresip") is None:
            raise RuntimeError("baresip is not installed (scripts/bootstrap.sh installs baresip-core)")
        await asyncio.to_thread(write_config, self.settings, self.agents, self.folder, self.ctrl_port)
        log_file = open(self.folder / "baresip.log", "ab")
        self.proc = await asyncio.create_subprocess_exec(
            "baresip", "-f", str(self.folder), stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
        log.info("softphones: baresip pid %s for %d agents", self.proc.pid, len(self.agents))
        try:
            await self.proc.wait()
            log.warning("softphones: baresip exited with %s", self.proc.returncode)
        finally:
            if self.proc.returncode is None:
                self.proc.terminate()
                try:
                    await asyncio.wait_for(self.proc.wait(), 5)
                except TimeoutError:
                    self.proc.kill()
                    await self.proc.wait()
            log_file.close()
