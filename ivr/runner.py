"""Thin runner: executes the machine's commands on a FastAGI channel, feeds results back."""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from agi_scripts.channel import AgiChannel

from . import machine, words
from .model import Menu
from .prompts import PromptCatalogue, Speech

log = logging.getLogger(__name__)

# (ticket number) -> (status, due date text) or None; (caller) -> remembered language
TicketLookup = Callable[[str], Awaitable[tuple[str, str | None] | None]]
LanguageLookup = Callable[[str], Awaitable[str | None]]


class IvrRunner:
    def __init__(self, menu_source: Callable[[], Menu], prompts: PromptCatalogue, speech: Speech,
                 tickets: TicketLookup, languages: LanguageLookup,
                 closed: Callable[[str | None], str | None] = lambda department: None, clock=time.time):
        self._menu_source = menu_source
        self.closed = closed  # department (None: the centre) -> why it is closed now, or None
        self.prompts, self.speech = prompts, speech
        self.tickets, self.languages = tickets, languages
        self.clock = clock

    async def __call__(self, channel: AgiChannel) -> None:
        menu: Menu = self._menu_source()  # a call keeps the menu it started with
        # the dialplan passes the dialled number (HL_ENTRY) as the first argument
        entry = channel.headers.get("agi_arg_1", "")
        caller = channel.headers.get("agi_callerid", "")
        remembered = await self.languages(caller) if caller.isdigit() else None
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
                elif isinstance(cmd, machine.Finish):
                    log.info("ivr %s: entry %s -> %s %s path=%s", uniqueid, entry, cmd.action,
                             cmd.department, state.path_text())
                    return
            if event is None:
                return
            state, commands = machine.step(menu, state, event)
