"""Close the journals that no Asterisk will ever finish.

A journal gets its `end` line from the call's hangup handler. If Asterisk dies (SIGKILL, a
crash, the machine losing power) the handler never runs and the file would wait for ever:
the call would never become a record. Channels do not survive their Asterisk, so when the
engine (re)connects to Asterisk - a new run, or the same run after the engine or the AMI
link was away - an open journal whose linkedid has no live channel belongs to a call that is
gone. It is closed here, once, with an `end` line saying so (`cut=asterisk`); the intake then
folds it like any other, in its one transaction keyed by linkedid, so nothing is doubled.

Order matters against races: the files are listed first, the live channels read after, and
each file is read again before it is closed. A call that ended meanwhile has its own `end`
line by then (the hangup handler writes it before the channel goes), and a call that started
meanwhile is not in the list.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from core import contract

from calls import journal

log = logging.getLogger(__name__)

CUT_FIELD = "cut"          # on the closing `end` line: who cut the call
CUT_BY_ASTERISK = "asterisk"


def open_journals(folder: Path) -> list[Path]:
    """Journals without an `end` line (calls going on, or cut)."""
    out = []
    try:
        files = sorted(folder.glob("*" + contract.JOURNAL_SUFFIX))
    except OSError as e:
        log.warning("journal folder %s unreadable: %s", folder, e)
        return out
    for path in files:
        try:
            entries = journal.parse(path.read_text("utf-8", "replace"))
        except FileNotFoundError:
            continue   # folded meanwhile
        if not journal.is_complete(entries):
            out.append(path)
    return out


def close(paths: Iterable[Path], live: set[str], lost_at: float | None = None) -> list[str]:
    """Close each journal in `paths` whose linkedid is not in `live`; returns their linkedids.

    The call ended at the latest when the engine lost Asterisk (`lost_at`, if the engine was
    connected then and that is after the journal's last line), else at its last line."""
    closed = []
    for path in paths:
        linkedid = path.name[: -len(contract.JOURNAL_SUFFIX)]
        if linkedid in live:
            continue
        try:
            text = path.read_text("utf-8", "replace")
        except FileNotFoundError:
            continue
        entries = journal.parse(text)
        if journal.is_complete(entries):
            continue   # it ended normally after the listing
        last = max((e.ts for e in entries), default=path.stat().st_mtime)
        ended = lost_at if lost_at is not None and lost_at >= last else last
        line = f"{ended:.3f} {contract.J_END} {CUT_FIELD}={CUT_BY_ASTERISK}\n"
        body = text if not text or text.endswith("\n") else text + "\n"   # a torn last line stays torn
        # a new file renamed over the old: the engine needs only the folder to be writable, as
        # for the intake's delete, and a reader sees the old journal or the closed one
        tmp = path.with_name(path.name + ".closing")
        tmp.write_text(body + line, "utf-8")
        try:
            st = path.stat()
            os.chown(tmp, st.st_uid, st.st_gid)
        except OSError:
            pass   # not ours to give away (not root): the engine's file is as good
        os.replace(tmp, path)
        closed.append(linkedid)
    return closed


async def sweep(folder: Path, live_linkedids: Callable[[], Awaitable[set[str]]], lost_at: float | None,
                run_in_thread: Callable) -> list[str]:
    """List open journals, then read the live calls, then close what no channel holds."""
    paths = await run_in_thread(open_journals, folder)
    if not paths:
        return []
    live = await live_linkedids()
    closed = await run_in_thread(close, paths, live, lost_at)
    if closed:
        log.warning("%d journal(s) of calls Asterisk no longer has closed as cut: %s", len(closed),
                    ", ".join(closed[:10]) + (" ..." if len(closed) > 10 else ""))
    return closed
