"""The satisfaction survey call: after a ticket is answered or the caller informed, the
engine calls the citizen (the outbound route, CALLOUT) and asks for one key: 1 satisfied,
2 basically satisfied, 3 not satisfied. The key becomes the ticket's follow-up, recorded on
behalf of the ticket's owner; providers are checked for suspension afterwards.

Surveys are rows of survey_calls, not tasks (rules in tickets/survey_schedule.py): the
workflow change that makes a ticket answered or informed schedules one in the same
transaction (`on_transition`, wired into Store.in_transition by the composition root);
`run()` places due calls within the allowed hours and folds the AMI events of the calls
into the rows, so an engine restart finds every survey that is due or under way.
"""
from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core import contract
from core.errors import AsteriskUnreachable, BadRequest, Conflict, DatabaseUnavailable, HotlineError
from core.numbers import CALLABLE

from surveys import schedule as plan
from tickets.providers import Providers
from db.database import Database
from surveys.config import SurveyConfig
from surveys.store import SurveyCalls

log = logging.getLogger(__name__)

RESULTS = {"1": "satisfied", "2": "basically_satisfied", "3": "not_satisfied"}


class NotSurveyed(Conflict):
    """The ticket is not (or no longer) answered or informed: nothing to ask about."""


class Surveys:
    def __init__(self, store: Database, ami, providers: Providers, node: str, config: SurveyConfig | None = None,
                 *, timezone: str = "Asia/Shanghai", clock: Callable[[], datetime] | None = None,
                 ready: Callable[[], bool] = lambda: True, outbound: Callable[[str], None] | None = None):
        """`ready`: whether the database is migrated (the loop waits for it quietly)."""
        self.store, self.ami, self.providers, self.node = store, ami, providers, node
        self.config = config or SurveyConfig()
        self.tz = ZoneInfo(timezone)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.ready = ready
        self.outbound = outbound   # the outbound policy (trunks/): raises OutboundRefused before any dial
        self.calls = SurveyCalls(store)
        self._inbox: asyncio.Queue[tuple] = asyncio.Queue()

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def _call_id(self) -> str:
        return f"{self.node}-survey-{uuid.uuid4().hex[:12]}"

    # -- scheduling, inside the workflow transaction -----------------------------------
    async def on_transition(self, s, ticket_id: int, entry, now: datetime) -> None:
        what = plan.on_transition(entry.from_status, entry.to_status, entry.action, entry.details.get("note"))
        if what == "schedule" and self.config.enabled:
            if await self.calls.schedule_in(s, ticket_id, entry.to_status,
                                            plan.first_due(now, self.config, self.tz), now):
                log.info("survey of ticket %s scheduled (%s)", ticket_id, entry.to_status)
        elif what == "done":
            await self.calls.close_open_in(s, ticket_id, plan.DONE, entry.details.get("result"), now)
        elif what == "cancel":
            why = f"ticket {entry.action} by {entry.actor}"[:64]
            await self.calls.close_open_in(s, ticket_id, plan.CANCELLED, why, now)

    # -- placing calls -------------------------------------------------------------------
    async def _target(self, ticket_id: int) -> tuple[str, str]:
        """Guard: the number to call and the language, or Conflict/BadRequest."""
        t = await self.store.workflow_ticket(ticket_id)
        if t["status"] not in plan.SURVEYED:
            raise NotSurveyed(f"ticket {ticket_id} is {t['status']}: a survey follows an answer or the caller "
                              "being informed")
        if not t.get("owner"):
            raise Conflict(f"ticket {ticket_id} has no owner to record the follow-up for")
        ticket = await self.store.ticket(ticket_id)
        raw = ticket["caller"].strip()
        if not CALLABLE.fullmatch(raw):
            raise BadRequest(f"ticket {ticket_id}: the caller's number cannot be called")
        return raw, ticket.get("language") or "cmn"

    async def _originate(self, ticket_id: int, call_id: str, number: str, language: str, sim_keys: str = "") -> None:
        if self.outbound is not None:
            self.outbound(number.lstrip("+"))
        variables = [f"{contract.V_TICKET}={ticket_id}", f"{contract.V_LANG}={language}"]
        if sim_keys:
            variables += [f"__{contract.V_SIM_DTMF}={sim_keys}", f"__{contract.V_SIM_WAIT}=4",
                          f"__{contract.V_SIM_TALK}=3"]
        await self.ami.action("Originate", Channel=f"Local/{number.lstrip('+')}@{contract.CALLOUT}",
                              Context=contract.SURVEY, Exten="s", Priority=1, Async="true",
                              Timeout="30000", ChannelId=call_id, OtherChannelId=call_id + "-o",
                              Variable=variables)

    async def start(self, ticket_id: int, *, sim_keys: str = "") -> dict:
        """A survey call now, asked for by a person (the allowed hours are theirs to judge).
        `sim_keys`: what the simulated citizen presses (the demo has no trunk)."""
        number, language = await self._target(ticket_id)
        if sim_keys and not re.fullmatch(r"[0-9*#w]{1,10}", sim_keys):
            raise BadRequest("sim_keys must be DTMF digits")
        call_id, now = self._call_id(), self._now()
        await self.calls.take(ticket_id, call_id, now)
        try:
            await self._originate(ticket_id, call_id, number, language, sim_keys)
        except HotlineError:
            # the row goes back to scheduled: the scheduler tries again within the hours
            await self.calls.release(call_id, now)
            raise
        log.info("survey call %s for ticket %s placed by hand", call_id, ticket_id)
        return {"ticket": ticket_id, "call": call_id}

    async def tick(self) -> None:
        """One round: calls that never came back are ended, due surveys are called."""
        if not self.ready():
            return
        now = self._now()
        for row in await self.calls.unanswered_since(now - timedelta(seconds=self.config.call_timeout_seconds)):
            # Asterisk reports no hangup to the engine: an answered call with no key by now
            # was hung up on (or the key event was lost), an unanswered one never rang through
            await self._attempt_failed(row["call"], plan.NO_KEY if row["answered_at"] else plan.NO_ANSWER, now)
        if not plan.in_hours(now, self.config.hours, self.tz):
            return
        for row in await self.calls.due(now):
            try:
                number, language = await self._target(row["ticket"])
            except HotlineError as e:
                # a ticket that moved on needs no survey; one without owner or number cannot have one
                state = plan.CANCELLED if isinstance(e, NotSurveyed) else plan.FAILED
                await self.calls.settle(row["id"], state, str(e)[:64], now)
                log.warning("survey of ticket %s %s: %s", row["ticket"], state, e)
                continue
            call_id = self._call_id()
            if not await self.calls.claim(row["id"], call_id, now):
                continue   # another engine took it
            try:
                await self._originate(row["ticket"], call_id, number, language)
            except AsteriskUnreachable as e:
                await self.calls.release(call_id, now)
                log.warning("survey calls wait: %s", e)
                return
            except HotlineError as e:   # Asterisk refused the Originate: counts as not reached
                log.warning("survey call %s for ticket %s refused: %s", call_id, row["ticket"], e)
                await self._attempt_failed(call_id, plan.NO_ANSWER, now)
                continue
            log.info("survey call %s for ticket %s placed (attempt %s)", call_id, row["ticket"],
                     row["attempts"] + 1)

    # -- outcomes ------------------------------------------------------------------------
    async def _attempt_failed(self, call_id: str, outcome: str, now: datetime) -> None:
        row = await self.calls.by_call(call_id)
        if row is None or row["state"] != plan.CALLING:
            return
        state, due = plan.after_attempt(row["attempts"], outcome, now, self.config, self.tz)
        if await self.calls.end_attempt(call_id, state, due, outcome, now):
            log.info("survey call %s for ticket %s: %s, now %s%s", call_id, row["ticket"], outcome, state,
                     f" until {due.isoformat()}" if due else "")

    def on_ami(self, msg) -> None:
        event = msg.get("Event")
        if event == "UserEvent" and msg.get("UserEvent") == contract.EV_SURVEY:
            self._inbox.put_nowait(("key", msg.get("linkedid", ""), msg.get("result", "")))
        elif event == "OriginateResponse" and msg.get("Uniqueid", "").startswith(f"{self.node}-survey-"):
            self._inbox.put_nowait(("originate", msg["Uniqueid"], msg.get("Response") == "Success",
                                    msg.get("Reason", "")))

    async def _handle(self, item: tuple) -> None:
        if item[0] == "key":
            await self.record(item[1], item[2])
        elif item[2]:
            await self.calls.answered(item[1], self._now())
        else:
            log.info("survey call %s not answered (reason %s)", item[1], item[3])
            await self._attempt_failed(item[1], plan.NO_ANSWER, self._now())

    async def _guarded(self, work) -> None:
        try:
            await work
        except HotlineError as e:   # database away, ...: the rows wait for the next round
            log.warning("surveys: %s", e)

    async def drain(self) -> None:
        """Handle every AMI event received so far (tests; run() does this as they come)."""
        while not self._inbox.empty():
            await self._guarded(self._handle(self._inbox.get_nowait()))

    async def run(self) -> None:
        """The one owner of survey calls: events in order, and a round every poll_seconds."""
        loop = asyncio.get_running_loop()
        next_round = loop.time()
        while True:
            wait = next_round - loop.time()
            if wait <= 0:
                await self._guarded(self.tick())
                next_round = loop.time() + self.config.poll_seconds
                continue
            try:
                async with asyncio.timeout(wait):
                    item = await self._inbox.get()
            except TimeoutError:
                continue
            await self._guarded(self._handle(item))

    async def record(self, call_id: str, key: str) -> dict | None:
        """A key from the survey call: the follow-up (the row becomes done in the same
        transaction, see on_transition), or another attempt when no valid key came."""
        row = await self.calls.by_call(call_id)
        if row is None or row["state"] != plan.CALLING:
            return None   # not ours, or late: the survey was settled meanwhile
        now = self._now()
        result = RESULTS.get(key)
        if result is None:
            await self._attempt_failed(call_id, plan.NO_KEY, now)
            return {"ticket": row["ticket"], "call": call_id, "key": key, "result": None}
        ticket_id = row["ticket"]
        try:
            t = await self.store.workflow_ticket(ticket_id)
            await self.store.transition(ticket_id, "follow_up", t["owner"], "agent", result=result,
                                        note=plan.SURVEY_NOTE)
        except DatabaseUnavailable:
            raise   # the row stays calling: the call timeout gives it another attempt
        except HotlineError as e:
            log.warning("survey %s: not recorded: %s", call_id, e)
            await self.calls.settle(row["id"], plan.FAILED, e.id, now)
            return {"ticket": ticket_id, "call": call_id, "key": key, "result": result, "error": e.id}
        log.info("survey call %s for ticket %s: %s", call_id, ticket_id, result)
        suspended = await self.providers.after_follow_up(ticket_id)
        return {"ticket": ticket_id, "call": call_id, "key": key, "result": result, "suspended": suspended}
