"""The satisfaction survey call: after a ticket is answered or the caller informed, the
engine calls the citizen (the outbound route, CALLOUT) and asks for one key: 1 satisfied,
2 basically satisfied, 3 not satisfied. The key becomes the ticket's follow-up, recorded on
behalf of the ticket's owner; providers are checked for suspension afterwards."""
from __future__ import annotations

import asyncio
import logging
import re
import uuid

from hotline import contract
from hotline.errors import BadRequest, Conflict, HotlineError, NotFound

from .providers import Providers
from .store import Store

log = logging.getLogger(__name__)

RESULTS = {"1": "satisfied", "2": "basically_satisfied", "3": "not_satisfied"}
CALLABLE = re.compile(r"\+?[0-9]{3,20}")


class Surveys:
    def __init__(self, store: Store, ami, providers: Providers, node: str):
        self.store, self.ami, self.providers, self.node = store, ami, providers, node
        self.pending: dict[str, int] = {}   # survey call id -> ticket id
        self.results: list[dict] = []       # recent outcomes (API/tests)
        self._inbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def start(self, ticket_id: int, *, sim_keys: str = "") -> dict:
        """`sim_keys`: what the simulated citizen presses (the demo has no trunk)."""
        t = await self.store.workflow_ticket(ticket_id)
        if t["status"] not in ("answered", "informed"):
            raise Conflict(f"ticket {ticket_id} is {t['status']}: a survey follows an answer or the caller being informed")
        if not t.get("owner"):
            raise Conflict(f"ticket {ticket_id} has no owner to record the follow-up for")
        raw = (await self.store.ticket(ticket_id))["caller"].strip()
        if not CALLABLE.fullmatch(raw):
            raise BadRequest(f"ticket {ticket_id}: the caller's number cannot be called")
        if ticket_id in self.pending.values():
            raise Conflict(f"a survey call for ticket {ticket_id} is already under way")
        if sim_keys and not re.fullmatch(r"[0-9*#w]{1,10}", sim_keys):
            raise BadRequest("sim_keys must be DTMF digits")
        call_id = f"{self.node}-survey-{uuid.uuid4().hex[:12]}"
        self.pending[call_id] = ticket_id
        variables = [f"HL_TICKET={ticket_id}", f"{contract.V_LANG}={t.get('language') or 'cmn'}"]
        if sim_keys:
            variables += [f"__{contract.V_SIM_DTMF}={sim_keys}", f"__{contract.V_SIM_WAIT}=4",
                          f"__{contract.V_SIM_TALK}=3"]
        try:
            await self.ami.action("Originate", Channel=f"Local/{raw.lstrip('+')}@{contract.CALLOUT}",
                                  Context=contract.SURVEY, Exten="s", Priority=1, Async="true",
                                  Timeout="30000", ChannelId=call_id, OtherChannelId=call_id + "-o",
                                  Variable=variables)
        except HotlineError:
            self.pending.pop(call_id, None)
            raise
        return {"ticket": ticket_id, "call": call_id}

    def on_ami(self, msg) -> None:
        if msg.get("Event") == "UserEvent" and msg.get("UserEvent") == contract.EV_SURVEY:
            self._inbox.put_nowait((msg.get("linkedid", ""), msg.get("result", "")))

    async def run(self) -> None:
        while True:
            call_id, key = await self._inbox.get()
            try:
                await self.record(call_id, key)
            except HotlineError as e:   # e.g. the ticket moved on meanwhile: kept in results
                log.warning("survey %s: not recorded: %s", call_id, e)
                self.results.append({"call": call_id, "key": key, "error": e.id})

    async def record(self, call_id: str, key: str) -> dict | None:
        ticket_id = self.pending.pop(call_id, None)
        if ticket_id is None:
            return None
        result = RESULTS.get(key)
        outcome = {"ticket": ticket_id, "call": call_id, "key": key, "result": result}
        if result is None:
            outcome["error"] = "no valid key pressed"
        else:
            t = await self.store.workflow_ticket(ticket_id)
            await self.store.transition(ticket_id, "follow_up", t["owner"], "agent", result=result,
                                        note="survey call")
            outcome["suspended"] = await self.providers.after_follow_up(ticket_id)
        self.results.append(outcome)
        del self.results[:-200]
        return outcome
