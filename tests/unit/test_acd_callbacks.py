"""Booked callbacks and long waits: the pure decisions of acd/callbacks.py."""
from __future__ import annotations

from acd import callbacks
from acd.model import NORMAL, WaitingCall


def call(lid: str, arrived: float = 0.0) -> WaitingCall:
    return WaitingCall(lid, "tax", "cmn", NORMAL, arrived=arrived)


def test_an_unanswered_attempt_waits_then_returns_and_the_last_attempt_ends_it():
    assert callbacks.after_attempt(1, False, 1000.0) == 1000.0 + callbacks.RETRY_SECONDS
    assert callbacks.after_attempt(2, False, 1000.0) == 1000.0 + callbacks.RETRY_SECONDS
    assert callbacks.after_attempt(callbacks.ATTEMPTS, False, 1000.0) is None     # given up
    assert callbacks.after_attempt(1, True, 1000.0) is None                        # reached
    assert callbacks.after_attempt(1, False, 0.0, max_attempts=1) is None
    assert callbacks.after_attempt(1, False, 5.0, retry_seconds=10) == 15.0


def test_outside_the_hours_only_booked_callbacks_not_being_dialled_leave_the_line():
    line = [call("live"), call("booked"), call("dialling")]
    booked = {"booked", "dialling"}.__contains__
    assert callbacks.to_defer(line, booked, {"dialling": object()}, opening=9000.0) == ["booked"]
    assert callbacks.to_defer(line, booked, {}, opening=None) == []               # the hours are open


def test_a_paused_callback_comes_back_when_due_unless_it_is_being_dialled():
    retry = {"a": 100.0, "b": 200.0, "c": 50.0}
    assert callbacks.due_again(retry, 150.0, {"c"}) == ["a"]
    assert sorted(callbacks.due_again(retry, 200.0, set())) == ["a", "b", "c"]    # due at exactly now
    assert callbacks.due_again(retry, 10.0, set()) == []


def test_max_wait_takes_calls_that_waited_long_enough_but_never_booked_callbacks():
    line = [call("old", arrived=0.0), call("new", arrived=550.0), call("booked", arrived=0.0), call("edge", arrived=0.0)]
    exempt = {"booked"}.__contains__
    out = [c.linkedid for c in callbacks.timed_out(line, 600.0, 600.0, exempt)]
    assert out == ["old", "edge"]
    assert [c.linkedid for c in callbacks.timed_out(line, 599.9, 600.0, exempt)] == []
