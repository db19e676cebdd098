"""Call recordings: settled, moved to the recordings store, hashed; verified on read.

MixMonitor closes its file just after the hangup handler ran, so a recording is only
hashed once its size has stopped changing.
"""
from __future__ import annotations

import asyncio
import shutil
import wave
from datetime import UTC, datetime
from pathlib import Path

from recordings.stored import StoredFile, sha256_of  # noqa: F401 - sha256_of: verify() and callers


MIME = "audio/wav"


async def settled(path: Path, timeout: float = 5.0, interval: float = 0.3, run=asyncio.to_thread) -> bool:
    """True once the file exists and its size held still for one interval. `run(fn, *args)`
    runs the stat off the loop (the intake passes its own worker threads)."""
    last, waited = -1, 0.0
    while waited <= timeout:
        size = await run(_size, path)   # the disk is never waited on in the loop
        if size > 44 and size == last:
            return True
        last = size
        await asyncio.sleep(interval)
        waited += interval
    return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def archive(src: Path, store: Path, linkedid: str, started_at: float) -> StoredFile:
    """Move into <store>/<yyyy>/<mm>/<linkedid>.wav and hash it (runs in a worker thread)."""
    day = datetime.fromtimestamp(started_at or 0, UTC)
    dest = store / f"{day:%Y}" / f"{day:%m}" / f"{linkedid}.wav"
    if src.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), dest)
    elif not dest.exists():  # (an earlier attempt, stopped before its commit, moved it already)
        return StoredFile("recording", "error", MIME, error=f"recording {src.name} was not written")
    try:
        with wave.open(str(dest)) as w:
            seconds = round(w.getnframes() / w.getframerate(), 2)
    except (wave.Error, EOFError, OSError):
        seconds = None
    size = dest.stat().st_size
    if size <= 44:   # a header at most: Asterisk could not write the sound (a full disk)
        return StoredFile("recording", "error", MIME, str(dest), sha256_of(dest), size, seconds,
                          error=f"recording {src.name} holds no sound ({size} bytes): was its disk full?")
    return StoredFile("recording", "ok", MIME, str(dest), sha256_of(dest), size, seconds)


def verify(path: str, sha256: str | None) -> bool:
    p = Path(path)
    return bool(sha256) and p.is_file() and sha256_of(p) == sha256
