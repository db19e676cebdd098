"""Thin runner: executes the machine's commands on a FastAGI channel, feeds results back."""
from __future__ import annotations

import logging
import time

from agi_scripts.channel import AgiChannel

from . import machine
from .model import Menu
from .prompts import PromptCatalogue

log = logging.getLogger(__name__)


class IvrRunner:
    def __init__(self, menu_source, prompts: PromptCatalogue, clock=time.time):
        self._menu_source = menu_source   # callable returning the live Menu (hot reload)
        self.prompts = prompts
        self.clock = clock

    async def __call__(self, channel: AgiChannel) -> None:
        menu: Menu = self._menu_source()  # a call keeps the menu it started with
        # the dialplan passes the dialled number (HL_ENTRY) as the first argument
        entry = channel.headers.get("agi_arg_1", "")
        state, commands = machine.start(menu, machine.Started(entry, self.clock()))
        linkedid = channel.headers.get("agi_uniqueid", "")
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
                elif isinstance(cmd, machine.Finish):
                    log.info("ivr %s: entry %s -> %s %s path=%s", linkedid, entry, cmd.action,
                             cmd.department, state.path_text())
                    return
            if event is None:
                return
            state, commands = machine.step(menu, state, event)
