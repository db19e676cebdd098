"""Turn finished journals into call records and tickets, exactly once.

Asterisk writes the journal; this folds it when its "end" line exists, stores the record
and its ticket in one transaction keyed by linkedid, and only then deletes the file. If
the engine was down, the files wait; if the database is down, they stay and are retried.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from hotline import contract
from hotline.errors import DatabaseUnavailable
from tickets.store import Store

from . import journal, record

log = logging.getLogger(__name__)

_LINKEDID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_JOURNAL = 1024 * 1024
BATCH = 200


class Intake:
    def __init__(self, store: Store, journal_dir: Path, sweep_seconds: float = 2.0,
                 on_stored: Callable[[record.CallRecord], None] | None = None,
                 media: Callable[[record.CallRecord], Awaitable[list[dict]]] | None = None):
        self.store = store
        self.media = media  # recording/voicemail/fax processing: the attachments of a record
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
        """Store every finished journal, in batches; returns how many were stored."""
        try:
            files = sorted(self.dir.glob("*" + contract.JOURNAL_SUFFIX))
        except OSError as e:
            log.warning("journal folder %s unreadable: %s", self.dir, e)
            return 0
        done = 0
        for start in range(0, len(files), BATCH):
            ready = [item for item in map(self._read, files[start:start + BATCH]) if item is not None]
            if not ready:
                continue
            # media first (concurrently: each waits for its recording to close); if we stop
            # midway the journal is still there and this repeats
            media = (await asyncio.gather(*(self.media(rec) for _, rec, _ in ready))
                     if self.media is not None else [None] * len(ready))
            items = [(rec, text, m) for (_, rec, text), m in zip(ready, media)]
            try:
                stored = await self.store.ingest_many(items)
            except DatabaseUnavailable as e:
                if self.db_ok:
                    log.warning("database unavailable, journals kept for retry: %s", e)
                self.db_ok = False
                self.stats["db_errors"] += 1
                return done
            self.db_ok = True
            for path, rec, _ in ready:
                ticket_id, created = stored[rec.linkedid]
                self.stats["ingested" if created else "duplicates"] += 1
                if created:
                    if self.on_stored is not None:
                        self.on_stored(rec)
                    log.info("call %s: %s, ticket %s", rec.linkedid, rec.disposition, ticket_id)
                # only now, with the record committed, may the journal go
                path.unlink(missing_ok=True)
                done += 1
        return done

    def _read(self, path: Path) -> tuple[Path, record.CallRecord, str] | None:
        """A finished journal folded into its record; None while the call is still going."""
        linkedid = path.name[: -len(contract.JOURNAL_SUFFIX)]
        try:
            if not _LINKEDID.match(linkedid) or path.stat().st_size > MAX_JOURNAL:
                self.stats["bad_files"] += 1
                bad = path.with_name(path.name + ".bad")
                path.rename(bad)
                log.error("journal %s is not one of ours; moved to %s", path.name, bad.name)
                return None
            text = path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return None
        entries = journal.parse(text)
        if not journal.is_complete(entries):
            return None
        return path, record.fold(linkedid, entries), text
