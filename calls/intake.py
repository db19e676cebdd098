"""Turn finished journals into call records and tickets, exactly once.

Asterisk writes the journal; this folds it when its "end" line exists, stores the record
and its ticket in one transaction keyed by linkedid, and only then deletes the file. If
the engine was down, the files wait; if the database is down, they stay and are retried.

Work follows the calls, not the clock: the dialplan's end-of-call UserEvent names the
journal to read (`notify`). A sweep of the folder is the safety net for events lost while
the AMI link was down or the engine was stopped; it runs at start, after a reconnect and
every `sweep_seconds`, and keeps an index of the journals it found still open (size and
mtime), so a call in progress is not re-read until its file changed. Every read, stat,
rename and unlink runs in a worker thread, a batch at a time: the event loop answers AGI
and AMI and must never wait on the disk.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core import contract
from core.errors import DatabaseUnavailable

from calls import journal, record

log = logging.getLogger(__name__)

_LINKEDID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_JOURNAL = 1024 * 1024
BATCH = 200
# ended calls remembered until read; beyond this the oldest are left to the next sweep
# (which then runs at once), so a flood of events cannot grow memory
MAX_ENDED = 10_000
RETRY_MIN, RETRY_MAX = 0.5, 5.0   # seconds between tries while the database is away
# after a call ends, wait this long for others ending with it: one transaction stores them all
LINGER = 0.05
# the intake's own worker threads: its disk work (and the media's) queues here, never in
# front of the loop's other uses of asyncio.to_thread (prompts the menu is waiting for)
WORKERS = 2


class RecordSink(Protocol):
    """Where folded records go (the ticket store): exactly once per linkedid."""

    async def ingest_many(self, items: list[tuple]) -> dict[str, tuple[int, bool]]: ...


@dataclass
class _Read:
    """What the worker thread found for one batch of journal names."""
    ready: list[tuple[str, record.CallRecord, str]]
    still_open: dict[str, tuple[int, int]]   # name -> (size, mtime_ns) of journals without "end"
    bad: int = 0


class Intake:
    def __init__(self, store: RecordSink, journal_dir: Path, sweep_seconds: float = 30.0,
                 on_stored: Callable[[record.CallRecord], None] | None = None,
                 media: Callable[[record.CallRecord], Awaitable[list[dict]]] | None = None):
        self.store = store
        self.media = media  # recording/voicemail/fax processing: the attachments of a record
        self.on_stored = on_stored
        self.dir = journal_dir
        self.sweep_seconds = sweep_seconds
        self._wake = asyncio.Event()
        self._ended: dict[str, None] = {}            # journal names whose call ended, oldest first
        self._open: dict[str, tuple[int, int]] = {}  # the sweep's index: unfinished journals
        self._rescan = True                          # sweep at the next wake-up (start, resync, overflow)
        self._lock = asyncio.Lock()                  # one batch at a time (run() and a caller's sweep())
        self._retry = 0.0                            # >0 while the database is away: the next try's delay
        self.stats = {"ingested": 0, "duplicates": 0, "db_errors": 0, "bad_files": 0, "sweeps": 0}
        self.db_ok = True
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="intake")
        # attachments made for records not stored yet (the database is away): a retry does
        # not move and hash the recordings again. Bounded like the ended calls.
        self._media_done: dict[str, list] = {}

    async def blocking(self, fn, *args):
        """Run `fn(*args)` in the intake's worker threads (for the media step too)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def notify(self, linkedid: str) -> None:
        """A call ended (AMI UserEvent): read its journal now. "" (after a reconnect, when
        events may have been lost) asks for a sweep of the whole folder."""
        if linkedid and _LINKEDID.match(linkedid):
            self._ended[linkedid + contract.JOURNAL_SUFFIX] = None
            if len(self._ended) > MAX_ENDED:
                self._ended.pop(next(iter(self._ended)))
                self._rescan = True
        else:
            self._rescan = True
        self._wake.set()

    @property
    def pending(self) -> int:
        """Journals known and not yet stored (ended calls queued plus open journals indexed)."""
        return len(self._ended) + len(self._open)

    async def backlog(self) -> int:
        """Journal files in the folder now (read when asked, in a worker thread)."""
        return await self.blocking(_count, self.dir)

    async def run(self) -> None:
        next_sweep = 0.0
        while True:
            now = time.monotonic()
            if self._rescan or now >= next_sweep:
                await self.sweep()
                next_sweep = time.monotonic() + self.sweep_seconds
            elif self._ended:
                await asyncio.sleep(LINGER)
                await self._ingest_ended()
            timeout = next_sweep - time.monotonic()
            if self._retry and self._ended:
                timeout = min(timeout, self._retry)
            self._wake.clear()
            if self._rescan or (self._ended and not self._retry):
                continue     # more calls ended (or a resync asked) while this batch was stored
            try:
                async with asyncio.timeout(max(0.0, timeout)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def sweep(self) -> int:
        """Store every finished journal in the folder, in batches; returns how many were stored."""
        self._rescan = False
        self.stats["sweeps"] += 1
        try:
            found = await self.blocking(_scan, self.dir)
        except OSError as e:
            log.warning("journal folder %s unreadable: %s", self.dir, e)
            return 0
        # the index: a journal seen open whose size and mtime did not move is not read again
        self._open = {n: sig for n, sig in self._open.items() if found.get(n) == sig}
        names = sorted(n for n in found if n not in self._open)
        self._ended.clear()   # the folder covers them
        return await self._ingest(names)

    async def _ingest_ended(self) -> int:
        names = list(self._ended)
        self._ended.clear()
        return await self._ingest(names)

    async def _ingest(self, names: list[str]) -> int:
        done = 0
        async with self._lock:
            for start in range(0, len(names), BATCH):
                batch = names[start:start + BATCH]
                got = await self.blocking(_read_many, self.dir, batch)
                self.stats["bad_files"] += got.bad
                self._open.update(got.still_open)
                if not got.ready:
                    continue
                stored = await self._store(got.ready)
                if stored is None:   # database away: the journals stay, retried soon
                    for n in names[start:]:
                        if n not in self._open:
                            self._ended[n] = None
                    return done
                for name, rec, _ in got.ready:
                    self._open.pop(name, None)
                    self._media_done.pop(rec.linkedid, None)
                    ticket_id, created = stored[rec.linkedid]
                    self.stats["ingested" if created else "duplicates"] += 1
                    if created:
                        if self.on_stored is not None:
                            self.on_stored(rec)
                        log.info("call %s: %s, ticket %s", rec.linkedid, rec.disposition, ticket_id)
                # only now, with the records committed, may the journals go
                await self.blocking(_unlink_many, self.dir, [name for name, _, _ in got.ready])
                done += len(got.ready)
        return done

    async def _media_of(self, rec: record.CallRecord) -> list[dict]:
        done = self._media_done.get(rec.linkedid)
        if done is None:
            done = self._media_done[rec.linkedid] = await self.media(rec)
            if len(self._media_done) > MAX_ENDED:
                self._media_done.pop(next(iter(self._media_done)))
        return done

    async def _store(self, ready: list[tuple[str, record.CallRecord, str]]) -> dict | None:
        # media first (concurrently: each waits for its recording to close); if we stop
        # midway the journal is still there and this repeats
        media = (await asyncio.gather(*(self._media_of(rec) for _, rec, _ in ready))
                 if self.media is not None else [None] * len(ready))
        items = [(rec, text, m) for (_, rec, text), m in zip(ready, media)]
        try:
            stored = await self.store.ingest_many(items)
        except DatabaseUnavailable as e:
            if self.db_ok:
                log.warning("database unavailable, journals kept for retry: %s", e)
            self.db_ok = False
            self.stats["db_errors"] += 1
            self._retry = min(RETRY_MAX, max(RETRY_MIN, self._retry * 2))
            return None
        self.db_ok, self._retry = True, 0.0
        return stored


# -- the worker thread's side: plain functions of the folder, no state of the intake ---------

def _count(folder: Path) -> int:
    try:
        with os.scandir(folder) as it:
            return sum(1 for e in it if e.name.endswith(contract.JOURNAL_SUFFIX))
    except FileNotFoundError:
        return 0


def _scan(folder: Path) -> dict[str, tuple[int, int]]:
    """Every journal in the folder with its (size, mtime_ns)."""
    out = {}
    with os.scandir(folder) as it:
        for e in it:
            if e.name.endswith(contract.JOURNAL_SUFFIX):
                try:
                    st = e.stat()
                except FileNotFoundError:
                    continue
                out[e.name] = (st.st_size, st.st_mtime_ns)
    return out


def _read_many(folder: Path, names: list[str]) -> _Read:
    out = _Read([], {})
    for name in names:
        path = folder / name
        linkedid = name[: -len(contract.JOURNAL_SUFFIX)]
        try:
            st = path.stat()
            if not _LINKEDID.match(linkedid) or st.st_size > MAX_JOURNAL:
                out.bad += 1
                bad = path.with_name(path.name + ".bad")
                path.rename(bad)
                log.error("journal %s is not one of ours; moved to %s", path.name, bad.name)
                continue
            text = path.read_text("utf-8", "replace")
        except FileNotFoundError:   # stored and removed already (a sweep and an event raced)
            continue
        entries = journal.parse(text)
        if not journal.is_complete(entries):
            out.still_open[name] = (st.st_size, st.st_mtime_ns)
            continue
        out.ready.append((name, record.fold(linkedid, entries), text))
    return out


def _unlink_many(folder: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).unlink(missing_ok=True)
