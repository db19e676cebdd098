"""The demo's SIP phones and the engine that starts them: killed with SIGKILL, the engine does
not leave its baresip behind holding the phones' port, and a new engine takes over phones an
earlier one left (before, the new baresip exited with 98 and the demo agents stayed unreachable)."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

from acd import softphones
from acd.softphones import Softphones

from .conftest import registered, until

ROOT = Path(__file__).resolve().parents[2]
RUN_PHONES = """
import asyncio, pickle, sys
from acd.softphones import Softphones
s, agents, folder = pickle.load(sys.stdin.buffer)
asyncio.run(Softphones(s, agents, folder).run())
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _own_ports(s, n: int):
    # beside the session's phones (phones_port, +10 feature phone, +20 directory test)
    return dataclasses.replace(s, phones_port=s.phones_port + 30 + n, rtp_end=s.rtp_end + 3000 + 500 * n)


def _agent(s, agent_id: str):
    return next(a for a in s.centre.agents if a.id == agent_id)


async def test_the_phones_die_with_the_engine_that_started_them(asterisk, tmp_path):
    s = _own_ports(asterisk, 0)
    folder = tmp_path / "phones"
    engine = subprocess.Popen([sys.executable, "-c", RUN_PHONES], stdin=subprocess.PIPE, cwd=ROOT)
    engine.stdin.write(pickle.dumps((s, [_agent(s, "2004")], folder)))
    engine.stdin.close()
    pid_file = folder / "baresip.pid"
    await until(lambda: pid_file.exists() and _alive(int(pid_file.read_text())), 20, "baresip started")
    phone_pid = int(pid_file.read_text())
    await until(lambda: registered(asterisk, ["agent2004"]), 20, "agent2004 registered")

    engine.send_signal(signal.SIGKILL)
    engine.wait()
    await until(lambda: not _alive(phone_pid), 5, "the phones to die with their engine")
    print(f"\nphones of a SIGKILLed engine: baresip {phone_pid} gone")


async def test_a_new_engine_takes_over_phones_an_earlier_one_left(asterisk, tmp_path):
    s = _own_ports(asterisk, 1)
    folder = tmp_path / "phones"
    agents = [_agent(s, "2004")]
    # an orphan as a SIGKILLed engine of before this fix left it: own session, no parent-death
    # signal, holding the phones' port
    softphones.write_config(s, agents, folder)
    orphan = subprocess.Popen(["baresip", "-f", str(folder)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    (folder / "baresip.pid").write_text(str(orphan.pid))
    try:
        await until(lambda: registered(asterisk, ["agent2004"]), 20, "the orphan registered")
        phones = Softphones(s, agents, folder)
        task = asyncio.create_task(phones.run())
        try:
            await until(lambda: orphan.poll() is not None, 10, "the orphan stopped")
            await until(lambda: phones.proc is not None and phones.proc.pid != orphan.pid, 10, "a new baresip")
            # the new phones hold the port: they register and stay up
            await until(lambda: registered(asterisk, ["agent2004"]), 20, "agent2004 registered again")
            await asyncio.sleep(1)
            assert not task.done(), f"the new baresip exited: {phones.log_tail()}"
            assert phones.proc.returncode is None
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        if orphan.poll() is None:
            os.kill(orphan.pid, signal.SIGKILL)
            orphan.wait()
