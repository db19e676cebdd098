"""The live catalogue: loaded at start, reloaded when the file changes, a broken change
refused (the last good one stays), like the voice menus (ivr/live.py)."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from core import watch as core_watch

from catalogue import loader
from catalogue.model import Catalogue

log = logging.getLogger(__name__)


class LiveCatalogue:
    def __init__(self, path: Path, departments: set[str], categories: set[str], poll_seconds: float = 1.0):
        self.path, self.departments, self.categories = Path(path), departments, categories
        self.poll_seconds = poll_seconds
        catalogue, problems = loader.load(self.path, departments, categories)
        if catalogue is None:
            raise ValueError("the dispatch catalogue does not pass the check:\n"
                             + "\n".join(map(str, loader.errors(problems))))
        self.catalogue: Catalogue = catalogue
        self.problems = problems
        self.refused: list[str] = []
        self.reloads = 0
        self._signature = self._sig()

    def __call__(self) -> Catalogue:
        return self.catalogue

    def _sig(self) -> tuple:
        try:
            st = self.path.stat()
            return st.st_mtime_ns, st.st_size
        except OSError:
            return ()

    async def reload(self) -> bool:
        catalogue, problems = await asyncio.to_thread(loader.load, self.path, self.departments, self.categories)
        if catalogue is None:
            self.refused = [str(p) for p in loader.errors(problems)] or ["catalogue could not be loaded"]
            log.error("catalogue change refused, version %s stays live:\n%s", self.catalogue.version,
                      "\n".join(self.refused))
            return False
        self.catalogue, self.problems, self.refused = catalogue, problems, []
        self.reloads += 1
        log.info("catalogue %s live (%d matter types)", catalogue.version, len(catalogue.matters))
        return True

    async def watch(self) -> None:
        await core_watch.watch(self._sig, self._signature, self.poll_seconds, self.reload)

    def status(self) -> dict:
        return {"version": self.catalogue.version, "matters": len(self.catalogue.matters), "reloads": self.reloads,
                "refused": self.refused, "warnings": [str(p) for p in self.problems if not p.error]}
