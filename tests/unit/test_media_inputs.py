"""Voicemail and fax inputs that are empty, oversized or corrupt: a clear result, no exception."""
from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import pytest

from voicemail import fax, transcode


def tone_wav(path: Path, seconds: float, silence_before: float = 0.0, silence_after: float = 0.0) -> None:
    rate = 8000
    frames = [0] * int(silence_before * rate)
    frames += [int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate))]
    frames += [0] * int(silence_after * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(frames)}h", *frames))


def test_voicemail_is_trimmed_measured_and_hashed(tmp_path):
    src = tmp_path / "vm.wav"
    tone_wav(src, 2.0, silence_before=1.5, silence_after=3.0)
    a = transcode.process(src, tmp_path / "out", "call1")
    assert a.status == "ok" and abs(a.seconds - 2.0) < 0.15
    assert Path(a.path).suffix == ".ogg" and Path(a.path).stat().st_size < src.stat().st_size
    assert a.sha256 == transcode.sha256_of(Path(a.path))


@pytest.mark.parametrize("content, status, words", [
    (None, "empty", "no message"),
    (b"", "empty", "no message"),
    (b"RIFF\x00\x00\x00\x00WAVEgarbage" * 20, "error", "corrupt audio"),
])
def test_bad_voicemail_files(tmp_path, content, status, words):
    src = tmp_path / "vm.wav"
    if content is not None:
        src.write_bytes(content)
    a = transcode.process(src, tmp_path / "out", "call2")
    assert a.status == status and words in a.error


def test_silence_only_voicemail_is_empty(tmp_path):
    src = tmp_path / "vm.wav"
    tone_wav(src, 0.0, silence_before=5.0)
    a = transcode.process(src, tmp_path / "out", "call3")
    assert a.status == "empty" and "silence" in a.error


def test_oversized_inputs_are_refused_not_read(tmp_path, monkeypatch):
    src = tmp_path / "vm.wav"
    tone_wav(src, 1.0)
    monkeypatch.setattr(transcode, "MAX_BYTES", 100)
    assert "too large" in transcode.process(src, tmp_path, "c").error
    tif = tmp_path / "f.tif"
    tif.write_bytes(b"x" * 200)
    monkeypatch.setattr(fax, "MAX_BYTES", 100)
    assert "too large" in fax.to_pdf(tif, tmp_path, "c", "SUCCESS", 1, "").error


def test_corrupt_or_missing_fax(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00" + b"\xff" * 64)
    r = fax.to_pdf(bad, tmp_path / "out", "x", "SUCCESS", 1, "")
    assert r.status == "error" and "unreadable fax image" in r.error
    r = fax.to_pdf(tmp_path / "none.tif", tmp_path / "out", "y", "FAILED", 0, "HANGUP")
    assert r.status == "error" and "no fax image arrived" in r.error and "HANGUP" in r.error
