"""Turn finished journals into call records and tickets, exactly once.

Asterisk writes the journal; this folds it when its "end" line exists, stores the record
and its ticket in one transaction keyed by linkedid, and only then deletes the file. If
the engine was down, the files wait; if the database is down, they stay and are retried.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from pathlib import Path

from hotline import contract
from hotline.errors import DatabaseUnavailable
from tickets.store import Store

from . import journal, record

log = logging.getLogger(__name__)

_LINKEDID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_JOURNAL = 1024 * 1024


class Intake:
    def __init__(self, store: Store, journal_dir: Path, sweep_seconds: float = 2.0,
                 on_stored: Callable[[record.CallRecord], None] | None = None):
        self.store = store
        self.on_stored = on_stored
        self.dir = journal_dir
        self.sweep_seconds = sweep_seconds
        self._wake = asyncio.Event()
        self.stats = {"ingested": 0, "duplicates": 0, "db_errors": 0, "bad_files": 0}
        self.db_ok = True

    def notify(self, linkedid: str) -> None:
        """A call ended (AMI UserEvent): sweep now rather than at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self.sweep()
            try:
                await asyncio.wait_for(self._wake.wait(), self.sweep_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def sweep(self) -> int:
        done = 0
        try:
            files = sorted(self.dir.glob("*" + contract.JOURNAL_SUFFIX))
        except OSError as e:
            log.warning("journal folder %s unreadable: %s", self.dir, e)
            return 0
        for path in files:
            try:
                if await self.ingest_file(path):
                    done += 1
            except DatabaseUnavailable as e:
                if self.db_ok:
                    log.warning("database unavailable, journals kept for retry: %s", e)
                self.db_ok = False
                self.stats["db_errors"] += 1
                return done
        self.db_ok = True
        return done

    async def ingest_file(self, path: Path) -> bool:
        linkedid = path.name[: -len(contract.JOURNAL_SUFFIX)]
        if not _LINKEDID.match(linkedid) or path.stat().st_size > MAX_JOURNAL:
            self.stats["bad_files"] += 1
            bad = path.with_name(path.name + ".bad")
            path.rename(bad)
            log.error("journal %s is not one of ours; moved to %s", path.name, bad.name)
            return False
        text = path.read_text("utf-8", "replace")
        entries = journal.parse(text)
        if not journal.is_complete(entries):
            return False
        rec = record.fold(linkedid, entries)
        ticket_id, created = await self.store.ingest(rec, text)
        self.stats["ingested" if created else "duplicates"] += 1
        if created and self.on_stored is not None:
            self.on_stored(rec)
        if created:
            log.info("call %s: %s, ticket %s", linkedid, rec.disposition, ticket_id)
        path.unlink(missing_ok=True)
        return True
