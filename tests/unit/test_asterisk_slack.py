"""Asterisk's pjproject poll loops get timer slack (asterisk_conf/process.py `slacken`):
found by thread name in the running instance (its pid file), nothing else touched."""
from __future__ import annotations

import ctypes
import dataclasses
import os
import threading

import pytest

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


@pytest.mark.skipif(os.geteuid() != 0, reason="timer slack of a thread is set as root")
def test_only_the_poll_threads_of_the_running_instance_get_the_slack(tmp_path):
    s = settings_mod.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    run = s.host_path(s.inst_in_root) / "run"
    run.mkdir(parents=True)
    (run / "asterisk.pid").write_text(f"{os.getpid()}\n")
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
