"""Call recordings: settled, moved to the recordings store, hashed; verified on read.

MixMonitor closes its file just after the hangup handler ran, so a recording is only
hashed once its size has stopped changing.
"""
from __future__ import annotations

import asyncio
import hashlib
import shutil
import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Archived:
    status: str                 # ok | error
    path: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    seconds: float | None = None
    error: str | None = None
    mime: str = "audio/wav"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


async def settled(path: Path, timeout: float = 5.0, interval: float = 0.3) -> bool:
    """True once the file exists and its size held still for one interval."""
    last, waited = -1, 0.0
    while waited <= timeout:
        size = path.stat().st_size if path.exists() else -1
        if size > 44 and size == last:
            return True
        last = size
        await asyncio.sleep(interval)
        waited += interval
    return False


def archive(src: Path, store: Path, linkedid: str, started_at: float) -> Archived:
    """Move into <store>/<yyyy>/<mm>/<linkedid>.wav and hash it (runs in a worker thread)."""
    day = datetime.fromtimestamp(started_at or 0, UTC)
    dest = store / f"{day:%Y}" / f"{day:%m}" / f"{linkedid}.wav"
    if src.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), dest)
    elif not dest.exists():  # (an earlier attempt, stopped before its commit, moved it already)
        return Archived("error", error=f"recording {src.name} was not written")
    try:
        with wave.open(str(dest)) as w:
            seconds = round(w.getnframes() / w.getframerate(), 2)
    except (wave.Error, EOFError, OSError):
        seconds = None
    return Archived("ok", str(dest), sha256_of(dest), dest.stat().st_size, seconds)


def verify(path: str, sha256: str | None) -> bool:
    p = Path(path)
    return bool(sha256) and p.is_file() and sha256_of(p) == sha256
