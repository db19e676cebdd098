"""Voicemail audio: trim the silence, measure, store compactly (Opus in Ogg), hash.

Runs in a worker thread (pydub calls ffmpeg). Bad input never raises: it comes back as a
result with status empty/error and a message that ends up on the ticket.
"""
from __future__ import annotations

import logging
from pathlib import Path

from recordings.stored import StoredFile, sha256_of

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024      # 8 kHz 16-bit: over an hour; anything larger is not ours
SILENCE_DBFS = -45.0
MIN_MESSAGE_MS = 300


MIME = "audio/ogg"


def process(src: Path, dest_dir: Path, name: str) -> StoredFile:
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError
    from pydub.silence import detect_leading_silence

    if not src.exists() or src.stat().st_size <= 44:
        return StoredFile("voicemail", "empty", MIME, error="no audio: the caller left no message")
    if src.stat().st_size > MAX_BYTES:
        return StoredFile("voicemail", "error", MIME, error=f"audio too large ({src.stat().st_size} bytes), kept as received: {src.name}")
    try:
        with open(src, "rb") as f:  # pydub leaves files it opens itself unclosed
            seg = AudioSegment.from_file(f, format=src.suffix.lstrip(".") or "wav")
    except (CouldntDecodeError, OSError, ValueError, IndexError) as e:
        return StoredFile("voicemail", "error", MIME, error=f"corrupt audio, kept as received ({src.name}): {str(e)[:200]}")
    lead = detect_leading_silence(seg, silence_threshold=SILENCE_DBFS)
    trail = detect_leading_silence(seg.reverse(), silence_threshold=SILENCE_DBFS)
    trimmed = seg[lead:max(lead, len(seg) - trail)]
    if len(trimmed) < MIN_MESSAGE_MS:
        return StoredFile("voicemail", "empty", MIME, seconds=0.0, error="the caller left no message (silence only)")
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / f"{name}.ogg"
    try:
        with open(out, "wb") as f:
            trimmed.export(f, format="ogg", codec="libopus", bitrate="16k")
    except Exception as e:  # ffmpeg failed: keep the original, say why  # noqa: BLE001
        log.warning("voicemail %s: transcoding failed: %s", name, e)
        return StoredFile("voicemail", "error", MIME, error=f"transcoding failed, original kept ({src.name}): {str(e)[:200]}")
    return StoredFile("voicemail", "ok", MIME, path=str(out), seconds=round(len(trimmed) / 1000, 2),
                      bytes=out.stat().st_size, sha256=sha256_of(out))
