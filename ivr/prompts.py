"""Prompts per language, synthesised with espeak-ng from the menu's text, at 8 kHz.

A studio recording dropped in as <sounds>/<lang>/hotline/<id>.wav (without our .txt stamp)
wins over synthesis. Sentences made at call time (ticket status) are synthesised off the
event loop into a cache folder.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ivr.model import LANGUAGES, Menu

log = logging.getLogger(__name__)

VOICES = {"cmn": "cmn", "yue": "yue", "en": "en"}
SPEED = "200"


def in_root(root: Path, path: Path) -> Path:
    """Follow symlinks the way the chrooted Asterisk sees them (absolute = inside the root)."""
    for _ in range(16):
        if not path.is_symlink():
            return path
        target = Path(os.readlink(path))
        path = root / str(target).lstrip("/") if target.is_absolute() else (path.parent / target)
    return path


def _need_tools() -> None:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise RuntimeError("espeak-ng and sox are needed to synthesise prompts (scripts/bootstrap.sh installs them)")


def synthesise(segments: list[tuple[str, str]], target: Path) -> None:
    """espeak-ng per segment (its own voice), joined and converted to 8 kHz mono 16-bit."""
    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for i, (voice, text) in enumerate(segments):
            raw, words = Path(tmp) / f"{i}.wav", Path(tmp) / f"{i}.txt"
            # from a file, never argv: espeak-ng reads options anywhere on its command line, so an
            # answer text like "-f /etc/shadow" or "--stdout" would be obeyed, not spoken
            words.write_text(text, encoding="utf-8")
            subprocess.run(["espeak-ng", "-v", VOICES.get(voice, "cmn"), "-s", SPEED, "-w", str(raw),
                            "-f", str(words)], check=True, capture_output=True)
            parts.append(str(raw))
        tmp_target = Path(tmp) / "out.wav"
        subprocess.run(["sox", *parts, "-r", "8000", "-c", "1", "-b", "16", str(tmp_target)],
                       check=True, capture_output=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        # copied next to the target, then renamed: Asterisk (another call) never plays half a file
        partial = target.with_name(f".{target.name}.{os.getpid()}.{id(segments):x}.part")
        shutil.move(str(tmp_target), partial)
        os.chmod(partial, 0o644)
        os.replace(partial, target)


class PromptCatalogue:
    """Which prompt file a caller hears: the prompt in their language, else the fallback."""

    def __init__(self, menu_source):
        self._menu = menu_source

    def path(self, prompt: str, language: str) -> str:
        menu: Menu = self._menu()
        p = menu.prompts.get(prompt)
        lang = language if (p is None or p.voices or language in p.texts) else menu.default_language
        return f"{lang}/hotline/{prompt}"


def build(root: Path, menu: Menu, owner: tuple[int, int] | None = None) -> int:
    """Synthesise what is missing or changed; returns how many files were written."""
    _need_tools()
    sounds = root / "usr/share/asterisk/sounds"
    written = 0
    for pid, prompt in menu.prompts.items():
        for lang in LANGUAGES:
            segments = prompt.segments(lang)
            if not segments:
                continue
            target = in_root(root, sounds / lang) / "hotline" / f"{pid}.wav"
            stamp = target.with_suffix(".txt")
            digest = hashlib.sha256(repr((SPEED, segments)).encode()).hexdigest()
            if target.exists() and (not stamp.exists() or stamp.read_text().strip() == digest):
                continue  # up to date, or a studio recording without our stamp
            synthesise(segments, target)
            stamp.write_text(digest + "\n")
            if owner:
                for p in (target, stamp, target.parent):
                    os.chown(p, *owner)
            written += 1
    return written


MAX_KNOWN = 10_000


def _ensure(language: str, text: str, target: Path) -> None:
    if not target.exists():
        synthesise([(language, text)], target)


class Speech:
    """Sentences made at call time: synthesised once per text, cached, never on the loop."""

    def __init__(self, root: Path):
        self.folder = root / "usr/share/asterisk/sounds/hotline-tts"
        self._made: set[str] = set()   # files known to exist: asked again, no disk and no thread

    async def file_for(self, text: str, language: str) -> str:
        digest = hashlib.sha256(f"{language}:{text}".encode()).hexdigest()[:20]
        if digest not in self._made:
            await asyncio.to_thread(_ensure, language, text, self.folder / f"{digest}.wav")   # (a disk wait)
            if len(self._made) >= MAX_KNOWN:   # distinct sentences are few; a bound all the same
                self._made.clear()
            self._made.add(digest)
        return f"hotline-tts/{digest}"
