"""What happens to booked callbacks and long waits: pure decisions next to the policy.

The service (acd/service.py) keeps the facts (who booked, attempts, when a retry is due) and
acts on Asterisk; these functions only decide, so they are tested without sockets or clocks.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from acd.model import WaitingCall

ATTEMPTS = 3            # a callback that did not reach the citizen this often is given up
RETRY_SECONDS = 120.0   # after an unanswered attempt the callback waits this long, then rejoins its place


def after_attempt(attempts: int, reached: bool, now: float, *, max_attempts: int = ATTEMPTS,
                  retry_seconds: float = RETRY_SECONDS) -> float | None:
    """After an attempt (`attempts` counts it): None when the callback is over (the citizen was
    reached, or the attempts ran out), else the time it may wait in the line again."""
    if reached or attempts >= max_attempts:
        return None
    return now + retry_seconds


def to_defer(line: Iterable[WaitingCall], booked: Callable[[str], bool], delivering: Mapping | set,
             opening: float | None) -> list[str]:
    """Outside the callback hours (`opening` = when they open next; None = open now) the booked
    callbacks leave the line until then. A callback being dialled now is left alone."""
    if opening is None:
        return []
    return [c.linkedid for c in line if booked(c.linkedid) and c.linkedid not in delivering]


def due_again(retry: Mapping[str, float], now: float, delivering: Mapping | set) -> list[str]:
    """Callbacks whose pause is over and that are not being dialled: back to their place."""
    return [lid for lid, due in retry.items() if due <= now and lid not in delivering]


def timed_out(line: Iterable[WaitingCall], now: float, max_wait: float, exempt: Callable[[str], bool]) -> list[WaitingCall]:
    """Calls that waited `max_wait` seconds (they are offered voicemail); booked callbacks and
    calls the service does not know are exempt."""
    return [c for c in line if not exempt(c.linkedid) and now - c.arrived >= max_wait]


def missed(number: str, waited: float, *, enabled: bool, min_wait: float, listed: Iterable[str],
           live: Iterable[str] = ()) -> str | None:
    """Why a call abandoned after `waited` seconds is NOT put on the callback list (漏接电话回拨),
    or None when it is: the list is off, the number cannot be called, the caller gave up too
    soon, or the number is on the list already (one callback per number: never two in flight)."""
    if not enabled:
        return "off"
    if not number:
        return "no callable number"
    if waited < min_wait:
        return "short"
    if number in set(listed):
        return "listed already"
    if number in set(live):
        return "calling now"
    return None


def of_number(number: str, listed: Mapping[str, str], delivering: Mapping | set) -> list[str]:
    """The listed missed callbacks (linkedid -> number) of `number` not being dialled now: a
    call from that number that an agent answers ends them (the citizen got through)."""
    return [lid for lid, n in listed.items() if n == number and lid not in delivering]
