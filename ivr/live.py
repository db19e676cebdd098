"""The live menu: loaded at start, reloaded when the files change, refused when broken.

A call keeps the Menu object it started with, so a reload never changes a call midway.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from core import watch as core_watch
from core.centre import Centre

from ivr import loader, prompts
from ivr.model import Menu

log = logging.getLogger(__name__)


class LiveMenu:
    def __init__(self, folder: Path, centre: Centre, root: Path | None = None,
                 owner: tuple[int, int] | None = None, poll_seconds: float = 1.0):
        self.folder, self.centre, self.root, self.owner = folder, centre, root, owner
        self.poll_seconds = poll_seconds
        menu, problems = loader.load_all(folder, centre)
        if menu is None or loader.errors(problems):
            raise ValueError("menu does not pass the check:\n" + "\n".join(map(str, loader.errors(problems))))
        self.menu: Menu = menu
        self.problems = problems
        self.refused: list[str] = []
        self.reloads = 0
        self._signature = self._sig()

    def __call__(self) -> Menu:
        return self.menu

    def _sig(self) -> tuple:
        try:
            return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in self.folder.glob("*.toml")))
        except OSError:
            return ()

    async def reload(self) -> bool:
        """Apply the files if they pass the check; otherwise keep the live menu."""
        menu, problems = await asyncio.to_thread(loader.load_all, self.folder, self.centre)
        errs = loader.errors(problems)
        if menu is None or errs:
            self.refused = [str(p) for p in errs] or ["menu could not be loaded"]
            log.error("menu change refused, version %s stays live:\n%s", self.menu.version, "\n".join(self.refused))
            return False
        if self.root is not None:
            await asyncio.to_thread(prompts.build, self.root, menu, self.owner)
        self.menu, self.problems, self.refused = menu, problems, []
        self.reloads += 1
        log.info("menu %s live (%d nodes)", menu.version, len(menu.nodes))
        return True

    async def watch(self) -> None:
        await core_watch.watch(self._sig, self._signature, self.poll_seconds, self.reload)

    def status(self) -> dict:
        return {"version": self.menu.version, "reloads": self.reloads, "refused": self.refused,
                "warnings": [str(p) for p in self.problems if not p.error]}
