"""The engine's side of the trunks: the outbound guard, the trunk events, the counters, and
applying a change of the centre file's trunks while calls go on.

- `permit(number)` (surveys) raises OutboundRefused unless the outbound policy allows the
  number now; `may_call(number)` (callback offers) says the same without raising. Every
  refusal is an `outbound_refused` event.
- AMI in: the trunk dialplan's UserEvents (a call refused at a trunk, each outbound attempt)
  and Asterisk's security events (a SIP request from an address no trunk accepts) become
  events of the log and counters in /status; outbound attempts feed the daily-attempt cap.
- `watch()` re-reads the centre file when it changes: valid trunks are applied (PJSIP reload
  and dialplan globals, asterisk_conf/trunks.py), invalid ones refused and shown in /status while the
  running ones stay.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core import contract
from core.errors import HotlineError
from core import events as ev

from asterisk_conf import trunks as apply_mod
from trunks import model, policy
from trunks.errors import OutboundRefused

log = logging.getLogger(__name__)

# statuses of attempts that never reached a carrier (not counted against the number: the
# simulated citizen is no one to protect)
NOT_DIALLED = {"REFUSED", "CAP", "FULL", "NOTRUNK", "SIMULATED"}
UNKNOWN_EVENT_EVERY = 10.0   # seconds: one event per unknown source and interval, every request counted


class TrunkService:
    def __init__(self, settings, log_event: Callable[[ev.Event], None], *, timezone: str = "Asia/Shanghai",
                 clock: Callable[[], float] = time.time, agents: Callable[[], object] | None = None):
        self.settings = settings
        self.log_event = log_event
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        self.agents = agents or (lambda: None)   # the agent directory's list, for a re-render
        self.plan = model.from_centre(settings.centre)
        self.ledger = policy.Ledger()
        self.counts = {"refused": {}, "unknown_source": 0, "outbound_attempts": 0, "outbound_refused": 0}
        self.refused_file: str | None = None     # why the centre file's latest trunks were refused
        self.applied: dict | None = None
        self._unknown_seen: dict[str, float] = {}
        self._mtime = self._stat()
        self._calls: dict[str, str] = {}          # linkedid of an outbound call -> number (under way)

    # -- outbound guard -------------------------------------------------------------
    def _day(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).astimezone(self.tz).date().isoformat()

    def decide(self, number: str) -> str | None:
        return policy.decide(self.plan.policy, self.ledger, number, self._day(), self.clock())

    def permit(self, number: str) -> None:
        why = self.decide(number)
        if why:
            self._refused(number, why)
            raise OutboundRefused(f"the outbound policy refuses {number!r}: {why}", reason=why)

    def may_call(self, number: str) -> bool:
        why = self.decide(number)
        if why:
            self._refused(number, why)
        return why is None

    def _refused(self, number: str, why: str) -> None:
        self.counts["outbound_refused"] += 1
        log.info("outbound: %r refused (%s)", number[:40], why)
        self.log_event(ev.Event(self.clock(), ev.OUTBOUND_REFUSED, data={"number": number[:40], "reason": why}))

    # -- AMI ------------------------------------------------------------------------
    def on_ami(self, msg) -> None:
        event = msg.get("Event")
        if event == "UserEvent" and msg.get("UserEvent") == contract.EV_TRUNK:
            trunk, reason = msg.get("trunk", "")[:32], msg.get("reason", "")[:16]
            per = self.counts["refused"].setdefault(trunk or "-", {})
            per[reason] = per.get(reason, 0) + 1
            self.log_event(ev.Event(self.clock(), ev.TRUNK_REFUSED, linkedid=msg.get("linkedid", "")[:64],
                                    data={"trunk": trunk, "reason": reason, "source": msg.get("source", "")[:64],
                                          "dialed": msg.get("dialed", "")[:40]}))
        elif event == "UserEvent" and msg.get("UserEvent") == contract.EV_TRUNK_OUT:
            number, status = msg.get("number", "")[:40], msg.get("status", "")[:16]
            self.counts["outbound_attempts"] += 1
            if status not in NOT_DIALLED and msg.get("attempt") == "1":
                self.ledger.attempted(number, self._day())   # one attempt per call, whatever the failovers
            self.log_event(ev.Event(self.clock(), ev.OUTBOUND_ATTEMPT, linkedid=msg.get("linkedid", "")[:64],
                                    data={"number": number, "trunk": msg.get("trunk", "")[:32],
                                          "attempt": msg.get("attempt", ""), "status": status,
                                          "cause": msg.get("cause", "")[:8], "sip": msg.get("sip", "")[:8]}))
        elif event == "InvalidAccountID" and msg.get("Service") == "PJSIP":
            self._unknown(msg.get("RemoteAddress", ""))

    def _unknown(self, remote: str) -> None:
        # "IPV4/UDP/127.0.0.2/5060" -> 127.0.0.2
        parts = remote.split("/")
        source = parts[2] if len(parts) >= 3 else remote[:64]
        self.counts["unknown_source"] += 1
        now = self.clock()
        if now - self._unknown_seen.get(source, -1e9) >= UNKNOWN_EVENT_EVERY:
            self._unknown_seen[source] = now
            if len(self._unknown_seen) > 10000:   # a scan from many addresses: forget the oldest
                for key in sorted(self._unknown_seen, key=self._unknown_seen.get)[:5000]:
                    del self._unknown_seen[key]
            log.warning("trunks: SIP request from %s, which no trunk accepts: refused", source)
            self.log_event(ev.Event(now, ev.TRUNK_UNKNOWN_SOURCE, data={"source": source}))

    # -- applying a change ------------------------------------------------------------
    def _stat(self) -> float | None:
        try:
            return Path(self.settings.config).stat().st_mtime
        except OSError:
            return None

    async def apply(self) -> dict:
        """Re-read the centre file's trunks; apply them if valid (raises TrunkInvalid if not)."""
        plan = await asyncio.to_thread(model.from_file, self.settings.config)
        out = await asyncio.to_thread(apply_mod.apply, self.settings, self.agents())
        self.plan, self.refused_file, self.applied = plan, None, out
        return out

    async def watch(self, every: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every)
            mtime = self._stat()
            if mtime == self._mtime:
                continue
            self._mtime = mtime
            try:
                await self.apply()
            except HotlineError as e:
                self.refused_file = str(e)
                log.warning("trunks: the centre file's trunks are refused, the running ones stay: %s", e)

    def status(self) -> dict:
        return {"trunks": [t.name for t in self.plan.trunks], "outbound": [t.name for t in self.plan.outbound],
                **self.counts, "refused_file": self.refused_file,
                "applied": {k: v for k, v in (self.applied or {}).items() if k != "files"} or None}
