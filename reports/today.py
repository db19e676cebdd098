"""Today's figures for the wallboard, kept up as events arrive: one small state per call and
the day's sums, so an update costs the same at the day's first call and its 56,000th.

Refolding the day's events on every board (what `kpi.compute` does for a report) grew with the
day twice over: the events themselves stayed in memory (about 3.7 KB a call), and every push
to a wall screen sorted and folded all of them (a city's peak day: about half a million events,
four times a second). Here an event changes only its own call: that call's part of the sums is
taken away, the event applied, and the new part added (`kpi.count` both ways), so the figures
are the ones `kpi.compute` gives for the same events, whatever order they arrive in. The
record's events of a call come from the intake after it ended, later than the ACD's live ones
but with earlier times: each field keeps the earliest time, as the sorted fold does.

Pure: no clock, no I/O. The wallboard reads no agent states: the row's agent-time figures stay
None, and the handle time here is talk time without wrap-up (as before this module).
"""
from __future__ import annotations

from datetime import datetime

from core import events as ev
from reports import kpi


class DayCall:
    """What the day's figures need of one call (the fields `kpi.count` reads)."""

    __slots__ = ("first_ts", "arrived", "ivr", "joined", "connect_ts", "abandon_at", "timeout",
                 "callback", "ended", "disposition", "wrap_s")

    def __init__(self, ts: float):
        self.first_ts, self.arrived, self.ivr, self.joined = ts, None, False, None
        self.connect_ts, self.abandon_at, self.timeout, self.callback = None, None, False, False
        self.ended, self.disposition, self.wrap_s = None, None, 0.0

    @property
    def connected(self) -> float | None:
        # in time order a connect counts only before the first abandon (a later one is the
        # missed call's callback: the call stays abandoned)
        if self.connect_ts is not None and (self.abandon_at is None or self.connect_ts < self.abandon_at):
            return self.connect_ts
        return None

    def apply(self, e: ev.Event) -> None:
        self.first_ts = min(self.first_ts, e.ts)
        k = e.kind
        if k == ev.CALL_START:
            self.arrived = _earliest(self.arrived, e.ts)
        elif k == ev.IVR_STEP:
            self.ivr = True
        elif k == ev.QUEUE_JOIN:
            self.joined = _earliest(self.joined, e.ts)
        elif k == ev.AGENT_CONNECT:
            self.connect_ts = _earliest(self.connect_ts, e.ts)
        elif k == ev.QUEUE_ABANDON:
            self.abandon_at = _earliest(self.abandon_at, e.ts)
        elif k == ev.QUEUE_TIMEOUT:
            self.timeout = True
        elif k == ev.CALLBACK_REQUESTED:
            self.callback = True
        elif k == ev.CALL_END and (self.ended is None or e.ts < self.ended):
            self.ended, self.disposition = e.ts, e.data.get("disposition")


def _earliest(a: float | None, b: float) -> float:
    return b if a is None or b < a else a


class Today:
    """The day's calls and their figures as one KPI row (the wallboard's "today")."""

    def __init__(self, start: datetime, definitions: kpi.Definitions = kpi.Definitions()):
        self.start, self.d = start, definitions
        self.calls: dict[str, DayCall] = {}
        self._sums = kpi.KpiRow(start, 86400, {})
        self.version = 0   # changes with every event that counts (the board's cache key)

    def add(self, e: ev.Event) -> None:
        if not e.linkedid or e.kind in (ev.AGENT_STATE, ev.CALLBACK_DONE):
            return
        c = self.calls.get(e.linkedid)
        if c is None:
            c = self.calls[e.linkedid] = DayCall(e.ts)
        else:
            kpi.count(self._sums, c, self.d, -1)
        c.apply(e)
        kpi.count(self._sums, c, self.d)
        self.version += 1

    def row(self) -> kpi.KpiRow | None:
        """Today's row, like `kpi.compute(..., group_by=(), interval=86400)` gives it (None
        before the day's first call)."""
        if not self.calls:
            return None
        r = kpi.KpiRow(self.start, 86400, {})
        for f in _COUNTED:
            setattr(r, f, getattr(self._sums, f))
        return kpi.finish(r)


_COUNTED = ("calls", "ivr_entered", "ivr_contained", "offered", "answered", "answered_within_sl",
            "abandoned", "short_abandons", "timed_out", "in_queue", "callbacks_requested",
            "_wait_s", "_handle_s", "_handled")
