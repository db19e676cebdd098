"""Small audio checks without deprecated modules (audioop is gone in 3.13)."""
from __future__ import annotations

import array
import math
import wave
from pathlib import Path


def rms(path: Path) -> tuple[float, float]:
    """(duration seconds, RMS of 16-bit samples scaled to 0..1)."""
    with wave.open(str(path)) as w:
        frames = w.readframes(w.getnframes())
        duration = w.getnframes() / w.getframerate()
        assert w.getsampwidth() == 2
    samples = array.array("h", frames)
    if not samples:
        return duration, 0.0
    return duration, math.sqrt(sum(x * x for x in samples) / len(samples)) / 32768
