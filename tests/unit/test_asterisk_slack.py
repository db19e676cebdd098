"""Asterisk's pjproject poll loops get timer slack (asterisk_conf/process.py `slacken`):
found by thread name in the running instance (its pid file), nothing else touched."""
from __future__ import annotations

import ctypes
import dataclasses
import os
import threading

from asterisk_conf import process
from core import settings as settings_mod

PR_SET_NAME = 15


def named_thread(name: str):
    ready, stop, tid = threading.Event(), threading.Event(), []

    def run():
        ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode(), 0, 0, 0)
        tid.append(threading.get_native_id())
        ready.set()
        stop.wait(10)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(5)
    return tid[0], stop


def slack(tid: int) -> int:
    with open(f"/proc/{tid}/timerslack_ns") as f:
        return int(f.read())


def instance(tmp_path, pid: int):
    s = settings_mod.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    run = s.host_path(s.inst_in_root) / "run"
    run.mkdir(parents=True)
    (run / "asterisk.pid").write_text(f"{pid}\n")
    return s


def test_the_slack_goes_to_the_two_poll_threads_only(tmp_path):
    """Which threads and what value, on a /proc tree of the test's own (no privilege needed)."""
    proc = tmp_path / "proc"
    threads = {"101": "asterisk", "102": "SIP", "103": "timer", "104": "bridge_channel"}
    for tid, name in threads.items():
        (proc / "100" / "task" / tid).mkdir(parents=True)
        (proc / "100" / "task" / tid / "comm").write_text(name + "\n")
        (proc / tid).mkdir()
        (proc / tid / "timerslack_ns").write_text("50000\n")
    s = instance(tmp_path, 100)
    assert process.slacken(s, proc=str(proc)) == 2
    got = {threads[tid]: (proc / tid / "timerslack_ns").read_text().strip() for tid in threads}
    assert got == {"asterisk": "50000", "SIP": "40000000", "timer": "40000000", "bridge_channel": "50000"}
    assert process.slacken(dataclasses.replace(s, poll_slack_ms=0), proc=str(proc)) == 0


def test_the_kernel_takes_the_slack_of_a_running_poll_thread(tmp_path):
    """The real /proc: writing another thread's timerslack_ns needs CAP_SYS_NICE, and the suite
    runs as root like the hotline (scripts/test.sh): as anyone else this fails, it does not skip."""
    assert os.geteuid() == 0, "run the suite as root: the hotline sets Asterisk's thread slack as root"
    s = instance(tmp_path, os.getpid())
    sip, stop_sip = named_thread("SIP")
    other, stop_other = named_thread("asterisk")
    try:
        before = slack(other)
        assert process.slacken(s) == 1
        assert slack(sip) == 40_000_000 and slack(other) == before
        assert process.slacken(dataclasses.replace(s, poll_slack_ms=0)) == 0
    finally:
        stop_sip.set()
        stop_other.set()


def test_no_running_instance_changes_nothing(tmp_path):
    s = settings_mod.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    assert process.pid(s) is None and process.slacken(s) == 0
