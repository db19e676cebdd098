"""Thin runner: executes the machine's commands on a FastAGI channel, feeds results back."""
from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import Awaitable, Callable

from agi_scripts.channel import AgiChannel

from ivr import machine, words
from ivr.model import Menu
from ivr.prompts import PromptCatalogue, Speech

log = logging.getLogger(__name__)
# A local database answers in milliseconds, even on a loaded machine; past this the menu asks
# the caller (ivr/lookups.py: the query goes on without them)
LANGUAGE_LOOKUP_SECONDS = 0.25

# (ticket number) -> (status, due date text) or None; (caller) -> remembered language
TicketLookup = Callable[[str], Awaitable[tuple[str, str | None] | None]]
LanguageLookup = Callable[[str], Awaitable[str | None]]
# (key, language) -> (entry id, answer text) or None; (entry id) -> count one use
KbLookup = Callable[[str, str], Awaitable[tuple[int, str] | None]]
KbCount = Callable[[int], Awaitable[object]]


async def _no_kb(key: str, language: str) -> None:
    return None


async def _no_count(entry: int) -> None:
    return None


class IvrRunner:
    def __init__(self, menu_source: Callable[[], Menu], prompts: PromptCatalogue, speech: Speech,
                 tickets: TicketLookup, languages: LanguageLookup,
                 closed: Callable[[str | None], str | None] = lambda department: None, clock=time.time,
                 kb: KbLookup = _no_kb, kb_used: KbCount = _no_count, kb_seconds: float = 2.0):
        self._menu_source = menu_source
        self.kb, self.kb_used = kb, kb_used
        # a caller waiting on the database hears silence: past this, the fallback prompt plays
        self.kb_seconds = kb_seconds
        self.closed = closed  # department (None: the centre) -> why it is closed now, or None
        self.prompts, self.speech = prompts, speech
        self.tickets, self.languages = tickets, languages
        self.clock = clock

    async def _remembered(self, caller: str) -> str | None:
        """The caller's language from earlier calls, if the database answers at once: a slow
        database must not hold the caller before the menu (the menu asks instead)."""
        try:
            async with asyncio.timeout(LANGUAGE_LOOKUP_SECONDS):
                return await self.languages(caller)
        except TimeoutError:
            log.info("ivr: language of %s not looked up within %.2f s", caller, LANGUAGE_LOOKUP_SECONDS)
            return None

    async def __call__(self, channel: AgiChannel) -> None:
        menu: Menu = self._menu_source()  # a call keeps the menu it started with
        # the dialplan passes the dialled number (HL_ENTRY) as the first argument
        entry = channel.headers.get("agi_arg_1", "")
        caller = channel.headers.get("agi_callerid", "")
        remembered = await self._remembered(caller) if caller.isdigit() else None
        known = menu.entries.get(entry)
        closed = self.closed(known.department if known else None)
        state, commands = machine.start(menu, machine.Started(entry, self.clock(), remembered, closed))
        uniqueid = channel.headers.get("agi_uniqueid", "")
        while commands:
            event = None
            for cmd in commands:
                if isinstance(cmd, machine.SetVars):
                    for name, value in cmd.values.items():
                        await channel.set_variable(name, value)
                elif isinstance(cmd, machine.Ask):
                    digits, _ = await channel.get_data(self.prompts.path(cmd.prompt, cmd.language),
                                                       int(cmd.timeout * 1000), cmd.max_digits)
                    event = machine.Input(digits, self.clock())
                elif isinstance(cmd, machine.Play):
                    await channel.stream(self.prompts.path(cmd.prompt, cmd.language))
                    event = machine.Played(self.clock())
                elif isinstance(cmd, machine.Speak):
                    await channel.stream(await self.speech.file_for(cmd.text, cmd.language))
                    event = machine.Played(self.clock())
                elif isinstance(cmd, machine.LookUpTicket):
                    found = await self.tickets(cmd.ticket)
                    lang = state.language or menu.default_language
                    event = machine.Looked(cmd.ticket, words.status_text(found[0], lang) if found else None,
                                           words.due_text(found[1], lang) if found else None, self.clock())
                elif isinstance(cmd, machine.LookUpKb):
                    answer_id, answer = await self._kb_answer(uniqueid, cmd.key, cmd.language)
                    event = machine.KbLooked(cmd.key, answer_id, answer, self.clock())
                elif isinstance(cmd, machine.KbUsed):
                    await self._count(uniqueid, cmd.entry)
                elif isinstance(cmd, machine.Finish):
                    log.info("ivr %s: entry %s -> %s %s path=%s", uniqueid, entry, cmd.action,
                             cmd.department, state.path_text())
                    return
            if event is None:
                return
            state, commands = machine.step(menu, state, event)

    async def _kb_answer(self, uniqueid: str, key: str, language: str) -> tuple[int | None, str | None]:
        """The answer to read out, already synthesised; (None, None) sends the machine to the
        menu's fallback prompt: no entry, a knowledge base that is away (the lookup says None)
        or too slow, or an answer that cannot be synthesised."""
        try:
            async with asyncio.timeout(self.kb_seconds):
                found = await self.kb(key, language)
        except TimeoutError:
            log.warning("ivr %s: knowledge base did not answer within %.1f s for %s: fallback prompt",
                        uniqueid, self.kb_seconds, key)
            return None, None
        if found is None:
            log.info("ivr %s: no knowledge-base answer ivr:%s in %s: fallback prompt", uniqueid, key, language)
            return None, None
        entry, text = found
        try:
            # synthesised before the machine hears of it, so that a failure here still
            # leaves the fallback prompt rather than a dead channel
            await self.speech.file_for(text, language)
        except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
            log.warning("ivr %s: knowledge-base entry %s could not be synthesised (%s): fallback prompt",
                        uniqueid, entry, e)
            return None, None
        return entry, text

    async def _count(self, uniqueid: str, entry: int) -> None:
        try:
            async with asyncio.timeout(self.kb_seconds):
                await self.kb_used(entry)
        except TimeoutError:
            log.warning("ivr %s: use of knowledge-base entry %s not counted: database too slow", uniqueid, entry)
